//! The self-contained HTML report: one file, no network (inline CSS and SVG, no script).
//!
//! Layout, answer first: the title and a one-line verdict; a compact card per host (the full
//! fingerprint folded in a `<details>`); the model x framework summary; charts that fit the
//! data; the compatibility matrix; then details. Every absent or qualified value says why
//! where it stands, so the page prints and screenshots without hover.
//!
//! A serializable context is filled from the results and rendered by a minijinja template
//! (`templates/report.html`) with HTML auto-escaping for every value; only the SVG charts,
//! which `charts` escapes itself, are inserted as markup. A Content-Security-Policy meta tag
//! forbids scripts and every fetch, as a second line of defence.

mod cells;
mod charts;
mod cpus;
mod plot;
mod sections;
mod series;
mod verdict;

use super::view::{self, Row};
use super::{Exporter, Format, Loaded, ReportError};
use crate::results::CellStatus;
use cells::{CellCtx, DetailCtx};
use minijinja::{AutoEscape, Environment};
use plot::Plot;
use sections::{
    absent, facts, failure, host_cards, hosts, matrix, Absent, Facts, Failure, HostCard, HostRow,
    MatrixRow,
};
use serde::Serialize;

const TEMPLATE: &str = include_str!("templates/report.html");
const STYLE: &str = include_str!("templates/style.css");
/// Failed cells listed in full; the rest are counted.
const MAX_FAILURES: usize = 200;

/// The HTML exporter.
pub struct HtmlExporter;

#[derive(Debug, Serialize)]
struct ChartCtx {
    title: String,
    svg: String,
}

#[derive(Debug, Serialize)]
struct OmittedCtx {
    title: String,
    why: String,
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
    title: String,
    verdict: String,
    /// One line per metric: (metric, verdict).
    metric_verdicts: Vec<(String, String)>,
    /// With several hosts: the hosts side by side (see `compare`), one table per metric.
    host_compare: Vec<HostTable>,
    /// The baseline host of `host_compare`.
    host_baseline: String,
    files: Vec<FileCtx>,
    multi: bool,
    /// The cells come from more than one host: show a host column.
    multi_host: bool,
    cards: Vec<HostCard>,
    host_labels: Vec<String>,
    host_rows: Vec<HostRow>,
    summary_columns: Vec<&'static str>,
    /// Summary columns left out (no cell has them, for one reason): `column: reason`.
    summary_dropped: Vec<String>,
    cells: Vec<CellCtx>,
    detail_columns: Vec<&'static str>,
    /// Details columns left out (no cell has them, for one reason): `column: reason`.
    details_dropped: Vec<String>,
    details: Vec<DetailCtx>,
    charts: Vec<ChartCtx>,
    omitted: Vec<OmittedCtx>,
    matrix_models: Vec<String>,
    matrix: Vec<MatrixRow>,
    failures: Vec<Failure>,
    failures_hidden: usize,
    absent: Vec<Absent>,
    other_metric_keys: Vec<String>,
    other_metrics: Vec<(String, Vec<String>)>,
    warnings: Vec<String>,
    facts: Vec<Facts>,
    frontier: Vec<FrontierCtx>,
    /// A published table against these results (`report --reference`).
    reproduction: Option<ReproductionCtx>,
}

/// `reproduce`'s table, as `zkprof reproduce` prints it.
#[derive(Debug, Serialize)]
struct ReproductionCtx {
    source: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    summary: String,
}

/// One framework lane of a sweep that met its frontier.
#[derive(Debug, Serialize)]
struct FrontierCtx {
    framework: String,
    largest_ok: String,
    stopped_at: String,
    why: String,
}

/// The sweep frontier of every file: nothing unless some lane stopped.
fn frontier(files: &[Loaded]) -> Vec<FrontierCtx> {
    let lanes: Vec<crate::frontier::LaneSummary> = files
        .iter()
        .flat_map(|f| crate::frontier::summarize(&f.results))
        .collect();
    if !crate::frontier::met(&lanes) {
        return Vec::new();
    }
    lanes
        .into_iter()
        .map(|l| {
            let (stopped_at, why) = match l.stopped_at {
                Some((m, why)) => (m.label(), why),
                None => ("—".into(), "every model finished".into()),
            };
            FrontierCtx {
                framework: l.framework,
                largest_ok: l.largest_ok.map_or_else(|| "none".into(), |m| m.label()),
                stopped_at,
                why,
            }
        })
        .collect()
}

impl Exporter for HtmlExporter {
    fn format(&self) -> Format {
        Format::Html
    }

    fn render(&self, files: &[Loaded]) -> Result<Vec<u8>, ReportError> {
        self.render_with(files, None)
    }
}

impl HtmlExporter {
    /// The report, with a published table against these results when `reproduction` is given.
    pub fn render_with(
        &self,
        files: &[Loaded],
        reproduction: Option<&super::reproduce::Reproduction>,
    ) -> Result<Vec<u8>, ReportError> {
        let mut ctx = context(files);
        ctx.reproduction = reproduction.map(|r| {
            let mut header: Vec<String> = super::reproduce::HEADER
                .iter()
                .map(|h| h.to_string())
                .collect();
            header.push("ours: status".into());
            ReproductionCtx {
                source: format!(
                    "{} {} (commit {})",
                    r.source.title, r.source.url, r.source.commit
                ),
                header,
                rows: super::reproduce::table_rows(r),
                summary: r.tally.line(),
            }
        });
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

/// One metric of the hosts compared.
#[derive(Debug, Serialize)]
struct HostTable {
    title: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// The hosts side by side when the rows come from several (prove time, memory, energy),
/// and the baseline's label.
fn host_compare(files: &[Loaded], rows: &[Row]) -> (Vec<HostTable>, String) {
    if !view::several_hosts(rows) {
        return (Vec::new(), String::new());
    }
    let Ok(c) = crate::report::compare::compare(files, &Default::default()) else {
        return (Vec::new(), String::new());
    };
    let tables = (0..3)
        .map(|m| crate::report::compare_render::metric_table(&c, m))
        .filter(|(_, _, rows)| {
            rows.iter().any(|r| {
                r[1..]
                    .iter()
                    .any(|v| v.chars().next().is_some_and(|ch| ch.is_ascii_digit()))
            })
        })
        .map(|(title, header, rows)| HostTable {
            title,
            header,
            rows,
        })
        .collect();
    (tables, c.sides[c.baseline].label.clone())
}

fn other_metrics(rows: &[Row]) -> (Vec<String>, Vec<(String, Vec<String>)>) {
    let mut keys: Vec<String> = rows
        .iter()
        .flat_map(|r| r.cell.metrics.keys())
        .filter(|k| !view::KNOWN_METRICS.contains(&k.as_str()))
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return (keys, Vec::new());
    }
    // Cells named by their short label (only the settings that differ), values in units.
    let cells: Vec<&crate::results::CellResult> = rows.iter().map(|r| r.cell).collect();
    let labels = crate::report::labels::short_labels(&cells);
    let table = rows
        .iter()
        .zip(labels)
        .map(|(r, label)| {
            let vals = keys
                .iter()
                .map(|k| {
                    view::metric(r.cell, k)
                        .map_or_else(|| "—".into(), |v| crate::units::metric_with_unit(k, v).1)
                })
                .collect();
            (label, vals)
        })
        .collect();
    let headers = keys
        .iter()
        .map(|k| crate::units::metric_with_unit(k, 0.0).0)
        .collect();
    (headers, table)
}

fn warnings(files: &[Loaded], rows: &[Row]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for f in files {
        out.extend(
            f.results
                .warnings
                .iter()
                .map(|w| format!("{}: {w}", f.label)),
        );
    }
    for r in rows {
        out.extend(
            r.cell
                .warnings
                .iter()
                .map(|w| format!("{}: {w}", r.cell.id)),
        );
    }
    out.truncate(500);
    out
}

fn context(files: &[Loaded]) -> Ctx {
    // Per file, one host's cells after another's (hosts in order of first appearance), each
    // host's in file order: a merged file lists a cell's hosts side by side.
    let mut rows = view::rows(files);
    let mut order: Vec<(usize, &str)> = Vec::new();
    for r in &rows {
        let key = (r.file, view::host_id(r));
        if !order.contains(&key) {
            order.push(key);
        }
    }
    rows.sort_by_key(|r| {
        order
            .iter()
            .position(|h| *h == (r.file, view::host_id(r)))
            .unwrap_or(0)
    });
    let (host_labels, host_rows) = hosts(files);
    let mut charts = Vec::new();
    let mut omitted = Vec::new();
    for p in charts::charts(files, &rows) {
        match p {
            Plot::Drawn(c) => charts.push(ChartCtx {
                svg: c.to_svg(),
                title: c.title,
            }),
            Plot::Omitted { title, why } => omitted.push(OmittedCtx { title, why }),
        }
    }
    let (matrix_models, matrix) = matrix(&rows);
    let not_ok: Vec<&Row> = rows
        .iter()
        .filter(|r| r.cell.status != CellStatus::Ok)
        .collect();
    let (other_metric_keys, other_metrics) = other_metrics(&rows);
    let (host_compare, host_baseline) = host_compare(files, &rows);
    let summary = cells::summary(files, &rows);
    let details = cells::details(&rows);
    let mut suites: Vec<String> = files.iter().map(|f| f.results.suite.name.clone()).collect();
    suites.dedup();
    Ctx {
        style: STYLE,
        title: suites.join(", "),
        verdict: verdict::verdict(&rows),
        metric_verdicts: verdict::metric_verdicts(&rows),
        host_compare,
        host_baseline,
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
        cards: host_cards(files),
        host_labels,
        host_rows,
        summary_columns: summary.columns,
        summary_dropped: summary.dropped,
        cells: summary.cells,
        detail_columns: details.columns,
        details_dropped: details.dropped,
        details: details.cells,
        charts,
        omitted,
        matrix_models,
        matrix,
        failures: not_ok
            .iter()
            .take(MAX_FAILURES)
            .map(|r| failure(r))
            .collect(),
        failures_hidden: not_ok.len().saturating_sub(MAX_FAILURES),
        absent: absent(files, &rows),
        other_metric_keys,
        other_metrics,
        warnings: warnings(files, &rows),
        facts: facts(&rows),
        frontier: frontier(files),
        reproduction: None,
    }
}
