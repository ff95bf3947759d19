//! The self-contained HTML report: one file, no network (inline CSS and SVG, no script).
//!
//! A serializable context is filled from the results and rendered by a minijinja template
//! (`templates/report.html`) with HTML auto-escaping for every value; only the SVG charts,
//! which plotters escapes itself, are inserted as markup. A Content-Security-Policy meta tag
//! forbids scripts and every fetch, as a second line of defence.

use super::charts::Chart;
use super::html_sections::{
    absent, facts, failure, hosts, matrix, Absent, Facts, Failure, HostRow, MatrixRow,
};
use super::view::{self, Row};
use super::{Exporter, Format, Loaded, ReportError};
use crate::results::CellStatus;
use crate::units::{format_bytes, format_seconds};
use minijinja::{AutoEscape, Environment};
use serde::Serialize;

const TEMPLATE: &str = include_str!("templates/report.html");
const STYLE: &str = include_str!("templates/style.css");
/// Failed cells listed in full; the rest are counted.
const MAX_FAILURES: usize = 200;

/// The HTML exporter.
pub struct HtmlExporter;

/// A table value, or why it is absent.
#[derive(Debug, Serialize)]
pub struct Val {
    pub text: String,
    /// Why the value is absent ("not measured: ..."); `None` when present.
    pub missing: Option<String>,
}

impl Val {
    fn of(v: Option<String>, row: &Row, what: &str) -> Val {
        match v {
            Some(text) => Val {
                text,
                missing: None,
            },
            None => Val {
                text: String::new(),
                missing: Some(view::absent_reason(row, what)),
            },
        }
    }
}

/// One row of the summary table. `values` are the numeric columns in the order of
/// [`VALUE_COLUMNS`] (a list, so the template needs no per-value macro call).
#[derive(Debug, Serialize)]
struct CellCtx {
    file: String,
    host: String,
    model: String,
    framework: String,
    settings: String,
    runtime: String,
    status: &'static str,
    reason: String,
    n: usize,
    values: [Val; 10],
}

/// Headers of the numeric columns of the summary table.
const VALUE_COLUMNS: [&str; 10] = [
    "prove (median ± σ)",
    "peak memory",
    "energy / proof",
    "proofs / kJ",
    "accuracy loss",
    "proof size",
    "verify",
    "setup",
    "circuit size",
    "params",
];

#[derive(Debug, Serialize)]
struct ChartCtx {
    title: String,
    svg: Option<String>,
    note: Option<String>,
}

#[derive(Debug, Serialize)]
struct FileCtx {
    label: String,
    suite: String,
    suite_version: u32,
    zkprof_version: String,
    created_at: String,
    updated_at: String,
    cells: usize,
}

#[derive(Debug, Serialize)]
struct Ctx {
    style: &'static str,
    files: Vec<FileCtx>,
    multi: bool,
    /// The cells come from more than one host: show a host column.
    multi_host: bool,
    host_labels: Vec<String>,
    host_rows: Vec<HostRow>,
    value_columns: [&'static str; 10],
    cells: Vec<CellCtx>,
    charts: Vec<ChartCtx>,
    matrix_models: Vec<String>,
    matrix: Vec<MatrixRow>,
    failures: Vec<Failure>,
    failures_hidden: usize,
    absent: Vec<Absent>,
    other_metric_keys: Vec<String>,
    other_metrics: Vec<(String, Vec<String>)>,
    warnings: Vec<String>,
    facts: Vec<Facts>,
}

impl Exporter for HtmlExporter {
    fn format(&self) -> Format {
        Format::Html
    }

    fn render(&self, files: &[Loaded]) -> Result<Vec<u8>, ReportError> {
        let ctx = context(files)?;
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| AutoEscape::Html);
        env.add_template("report.html", TEMPLATE)
            .map_err(|e| ReportError::Template(e.to_string()))?;
        let tmpl = env
            .get_template("report.html")
            .map_err(|e| ReportError::Template(e.to_string()))?;
        let html = tmpl
            .render(&ctx)
            .map_err(|e| ReportError::Template(format!("{e:#}")))?;
        Ok(html.into_bytes())
    }
}

fn secs(s: Option<&crate::results::StepSummary>) -> Option<String> {
    s.map(|s| format_seconds(s.wall_s.median))
}

fn cell_ctx(row: &Row, labels: &[String]) -> CellCtx {
    let c = row.cell;
    let prove = view::prove_wall(c);
    CellCtx {
        file: labels[row.file].clone(),
        host: view::host_id(row).to_string(),
        model: c.model.clone(),
        framework: c.framework.clone(),
        settings: view::settings_label(c),
        runtime: c.runtime.clone(),
        status: view::status_word(c.status),
        reason: c.reason.clone().unwrap_or_default(),
        n: prove.map_or(0, |p| p.n),
        values: [
            Val::of(
                prove.map(|w| {
                    format!(
                        "{} ± {}",
                        format_seconds(w.median),
                        format_seconds(w.stddev)
                    )
                }),
                row,
                "prove",
            ),
            Val::of(
                view::prove_peak(c).map(|m| format_bytes(m.median)),
                row,
                "prove",
            ),
            Val::of(
                view::energy_per_proof(c).map(|e| format!("{} J", view::num(e, 3))),
                row,
                "energy",
            ),
            Val::of(
                view::proofs_per_kj(c).map(|p| view::num(p, 2)),
                row,
                "energy",
            ),
            Val::of(
                view::metric(c, view::ACCURACY_LOSS)
                    .map(|a| format!("{} %", view::num(a, 2)))
                    .or_else(|| view::accuracy_not_measured(c).map(|_| "not measured".into())),
                row,
                "accuracy",
            ),
            Val::of(
                view::metric(c, view::PROOF_SIZE).map(format_bytes),
                row,
                "proof_size",
            ),
            Val::of(secs(view::step(c, "verify")), row, "verify"),
            Val::of(secs(view::step(c, "setup")), row, "setup"),
            Val::of(view::circuit_size(c), row, "circuit"),
            Val::of(
                view::metric(c, view::PARAMS).map(|p| view::num(p, 0)),
                row,
                "params",
            ),
        ],
    }
}

fn context(files: &[Loaded]) -> Result<Ctx, ReportError> {
    let labels: Vec<String> = files.iter().map(|f| f.label.clone()).collect();
    let rows = view::rows(files);
    let (host_labels, host_rows) = hosts(files);
    let cells: Vec<CellCtx> = rows.iter().map(|r| cell_ctx(r, &labels)).collect();
    let charts = super::html_charts::charts(files, &rows)?
        .into_iter()
        .map(|(chart, note): (Chart, String)| {
            if chart.is_empty() {
                Ok(ChartCtx {
                    title: chart.title.clone(),
                    svg: None,
                    note: Some(note),
                })
            } else {
                Ok(ChartCtx {
                    title: chart.title.clone(),
                    svg: Some(chart.to_svg()?),
                    note: None,
                })
            }
        })
        .collect::<Result<Vec<_>, ReportError>>()?;
    let (matrix_models, matrix) = matrix(&rows);
    let not_ok: Vec<&Row> = rows
        .iter()
        .filter(|r| r.cell.status != CellStatus::Ok)
        .collect();
    let failures = not_ok
        .iter()
        .take(MAX_FAILURES)
        .map(|r| failure(r))
        .collect();
    let mut other_keys: Vec<String> = rows
        .iter()
        .flat_map(|r| r.cell.metrics.keys())
        .filter(|k| !view::KNOWN_METRICS.contains(&k.as_str()))
        .cloned()
        .collect();
    other_keys.sort();
    other_keys.dedup();
    let other_metrics = if other_keys.is_empty() {
        Vec::new()
    } else {
        rows.iter()
            .map(|r| {
                let vals = other_keys
                    .iter()
                    .map(|k| {
                        view::metric(r.cell, k).map_or_else(|| "—".into(), |v| view::num(v, 4))
                    })
                    .collect();
                (r.cell.id.clone(), vals)
            })
            .collect()
    };
    let mut warnings: Vec<String> = Vec::new();
    for f in files {
        warnings.extend(
            f.results
                .warnings
                .iter()
                .map(|w| format!("{}: {w}", f.label)),
        );
    }
    for r in &rows {
        warnings.extend(
            r.cell
                .warnings
                .iter()
                .map(|w| format!("{}: {w}", r.cell.id)),
        );
    }
    warnings.truncate(500);
    Ok(Ctx {
        style: STYLE,
        files: files
            .iter()
            .map(|f| FileCtx {
                label: f.label.clone(),
                suite: f.results.suite.name.clone(),
                suite_version: f.results.suite.version,
                zkprof_version: f.results.zkprof_version.clone(),
                created_at: f.results.created_at.clone(),
                updated_at: f.results.updated_at.clone(),
                cells: f.results.cells.len(),
            })
            .collect(),
        multi: files.len() > 1,
        multi_host: view::several_hosts(&rows),
        host_labels,
        host_rows,
        value_columns: VALUE_COLUMNS,
        cells,
        charts,
        matrix_models,
        matrix,
        failures,
        failures_hidden: not_ok.len().saturating_sub(MAX_FAILURES),
        absent: absent(files, &rows),
        other_metric_keys: other_keys,
        other_metrics,
        warnings,
        facts: facts(&rows),
    })
}
