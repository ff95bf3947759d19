//! The rows of the HTML report's summary and details tables, and the one-line verdict.
//!
//! Every value is either present (with its spread or qualifier beside it) or absent with a
//! short reason printed in place ("not measured: no RAPL") and the full reason as a title.

use crate::report::view::{self, Row};
use crate::report::Loaded;
use crate::results::CellStatus;
use crate::units::{format_bytes, format_seconds};
use serde::Serialize;

/// A table value, or why it is absent.
#[derive(Debug, Serialize)]
pub struct Val {
    pub text: String,
    /// A second line: the spread of a measured value, or a qualifier ("synthetic inputs").
    pub sub: Option<String>,
    /// The qualifier changes what the value means (shown highlighted).
    pub qualified: bool,
    /// Why the value is absent, in a few words printed under the dash; `None` when present.
    pub missing: Option<String>,
    /// The full reason or source, for the title attribute.
    pub title: Option<String>,
}

impl Val {
    fn some(text: String) -> Val {
        Val {
            text,
            sub: None,
            qualified: false,
            missing: None,
            title: None,
        }
    }

    fn of(v: Option<String>, row: &Row, what: &str) -> Val {
        match v {
            Some(text) => Val::some(text),
            None => Val {
                text: String::new(),
                sub: None,
                qualified: false,
                missing: Some(short_reason(row, what)),
                title: Some(view::absent_reason(row, what)),
            },
        }
    }
}

/// Headers of the summary table's value columns.
pub const SUMMARY_COLUMNS: [&str; 5] = [
    "prove time (median)",
    "peak working set",
    "energy / proof",
    "accuracy loss",
    "proof size",
];

/// Headers of the details table's value columns.
pub const DETAIL_COLUMNS: [&str; 9] = [
    "proof system",
    "setup",
    "verify",
    "proofs / kJ",
    "circuit size",
    "prove figures from",
    "params",
    "layers",
    "runs",
];

/// One row of the summary table.
#[derive(Debug, Serialize)]
pub struct CellCtx {
    file: String,
    host: String,
    host_id: String,
    model: String,
    /// Rows this row's file/host/model cells span (0: covered by the row above).
    span: usize,
    framework: String,
    /// `key=value` settings, empty for the defaults.
    settings: String,
    runtime: String,
    status: &'static str,
    reason: String,
    /// One per shown column (see [`Summary::columns`]).
    values: Vec<Val>,
    /// The cell did not succeed and has none of the values: one cell spans the columns.
    none: bool,
    /// Why, for the spanning cell: `the cell failed`.
    none_why: String,
}

/// One row of the details table: the cell by model, framework, its full settings and host
/// (the id in a title), then the values.
#[derive(Debug, Serialize)]
pub struct DetailCtx {
    id: String,
    model: String,
    framework: String,
    /// Every setting, `key=value, ...` (the summary shows only those that differ).
    settings: String,
    runtime: String,
    host: String,
    status: &'static str,
    values: Vec<Val>,
}

/// `the cell failed`, `the cell is unsupported`, `the cell was interrupted`.
fn the_cell(status: CellStatus) -> String {
    match status {
        CellStatus::Ok => "the cell succeeded".into(),
        CellStatus::Failed => "the cell failed".into(),
        CellStatus::Unsupported => "the cell is unsupported".into(),
        CellStatus::Interrupted => "the cell was interrupted".into(),
        CellStatus::Skipped => "the cell was skipped past its framework's frontier".into(),
    }
}

/// The short reason printed under a dash.
pub fn short_reason(row: &Row, what: &str) -> String {
    if row.cell.status != CellStatus::Ok {
        return the_cell(row.cell.status);
    }
    let text = match what {
        "energy" => return energy_short(row),
        // Facts, not measurements; results of older zkprof versions lack them.
        "proof_system" | "prove_source" => return "not recorded for this cell".into(),
        "accuracy" if view::synthetic_inputs(row.cell) => "synthetic inputs",
        "prove" => "no successful prove",
        "verify" => "no verify step",
        "setup" if row.cell.info.contains_key("skipped_steps") => {
            return "skipped: its artifacts were cached".into()
        }
        "setup" => "no setup step",
        "params" => "not in the results",
        _ => "not recorded by the adapter",
    };
    format!("not measured: {text}")
}

fn energy_short(row: &Row) -> String {
    match view::energy_absent_short(&row.results.sensors) {
        s if s == "not recorded for this cell" => s,
        s => format!("not measured: {s}"),
    }
}

fn secs(s: Option<&crate::results::StepSummary>) -> Option<String> {
    s.map(|s| format_seconds(s.wall_s.median))
}

fn prove(row: &Row) -> Val {
    let mut v = Val::of(
        view::prove_wall(row.cell).map(|w| format_seconds(w.median)),
        row,
        "prove",
    );
    if let Some(w) = view::prove_wall(row.cell) {
        v.sub = Some(if w.n > 1 {
            format!("± {} (σ), n={}", format_seconds(w.stddev), w.n)
        } else {
            "one run: no spread".into()
        });
        v.title = Some(format!(
            "median of {} runs; min {}, max {}",
            w.n,
            format_seconds(w.min),
            format_seconds(w.max)
        ));
    }
    v
}

/// The proof's size on disk; with its format and the binary size the prover estimates
/// (stwo) as a second line when the adapter recorded them.
fn proof_size(row: &Row) -> Val {
    let c = row.cell;
    let mut v = Val::of(
        view::metric(c, view::PROOF_SIZE).map(format_bytes),
        row,
        "proof_size",
    );
    if v.missing.is_none() {
        if let Some(est) = view::metric(c, view::PROOF_SIZE_ESTIMATE) {
            let file = match c.info.get("proof_format") {
                Some(f) if f.contains("JSON") => "JSON file; ",
                _ => "",
            };
            v.sub = Some(format!("{file}binary ~{} (estimate)", format_bytes(est)));
        }
        v.title = c
            .info
            .get("proof_format")
            .map(|f| format!("file format: {f}"));
    }
    v
}

/// The prove step's peak working set, how exact it is, and the other memory views in the
/// title (the cgroup's charged peak, the direct child's and the largest process's RSS).
fn peak(row: &Row) -> Val {
    let c = row.cell;
    let mut v = Val::of(
        view::prove_peak(c).map(|m| format_bytes(m.median)),
        row,
        "prove",
    );
    let Some(step) = view::step(c, "prove") else {
        return v;
    };
    let run = c
        .repetitions
        .iter()
        .filter(|r| !r.warmup)
        .flat_map(|r| r.steps.iter())
        .find(|s| s.step == "prove" && s.succeeded());
    if let Some(run) = run {
        v.sub = Some(if run.headline.is_some() {
            "prove phase, sampled".to_string()
        } else if run.memory_method != crate::results::MemoryMethod::WorkingSet {
            run.memory_method.label().to_string()
        } else {
            run.memory_precision.label().to_string()
        });
    }
    let mut views = vec![format!(
        "working set: resident pages of the tree, shared ones counted once, page cache not mapped left out; largest process {}",
        format_bytes(step.peak_process_bytes.median)
    )];
    if let Some(ch) = &step.peak_charged_bytes {
        views.push(format!(
            "charged to the cgroup {} (includes page cache)",
            format_bytes(ch.median)
        ));
    }
    if let Some(rss) = &step.child_peak_rss_bytes {
        views.push(format!(
            "direct child's RSS {} (the 2024 benchmark's method)",
            format_bytes(rss.median)
        ));
    }
    v.title = Some(views.join("; "));
    v
}

fn accuracy(row: &Row) -> Val {
    let c = row.cell;
    let mut v = Val::of(
        view::metric(c, view::ACCURACY_LOSS).map(|a| format!("{} %", view::num(a, 2))),
        row,
        "accuracy",
    );
    let source = c.info.get("accuracy_inputs");
    if v.missing.is_none() {
        let n = view::first_metric(c, &view::ACCURACY_SAMPLES_KEYS);
        if view::synthetic_inputs(c) {
            v.sub = Some("synthetic inputs: not an accuracy".into());
            v.qualified = true;
        } else if let Some(n) = n {
            v.sub = Some(format!("over {} inputs", view::num(n, 0)));
        }
        v.title = source.cloned();
    } else if let Some(s) = source {
        v.title = Some(format!(
            "{} (inputs: {s})",
            v.title.take().unwrap_or_default()
        ));
    }
    v
}

/// Removes the columns (from `keep` on) that no successful row has, for one and the same
/// reason, and returns `column: reason` for each: the reason is then said once, not under
/// every dash.
fn drop_absent_columns(
    columns: &mut Vec<&'static str>,
    rows: &mut [(&str, &mut Vec<Val>)],
    keep: usize,
) -> Vec<String> {
    let mut dropped = Vec::new();
    for k in (keep..columns.len()).rev() {
        let ok: Vec<&Vec<Val>> = rows
            .iter()
            .filter(|(status, _)| *status == "ok")
            .map(|(_, v)| &**v)
            .collect();
        let reasons: std::collections::BTreeSet<&str> =
            ok.iter().filter_map(|v| v[k].missing.as_deref()).collect();
        let none_has = !ok.is_empty() && ok.iter().all(|v| v[k].missing.is_some());
        if let (true, [reason]) = (none_has, reasons.iter().collect::<Vec<_>>().as_slice()) {
            dropped.insert(0, format!("{}: {reason}", columns[k]));
            columns.remove(k);
            for (_, v) in rows.iter_mut() {
                v.remove(k);
            }
        }
    }
    dropped
}

/// The summary table: its value columns, its rows, and one line per column left out because
/// no cell has its value for one and the same reason (said once instead of under every dash).
#[derive(Debug)]
pub struct Summary {
    pub columns: Vec<&'static str>,
    pub cells: Vec<CellCtx>,
    pub dropped: Vec<String>,
}

/// The summary rows, with file/host/model cells spanning consecutive rows that share them.
pub fn summary(files: &[Loaded], rows: &[Row]) -> Summary {
    // Only the settings that differ between the cells; all of them are in the details.
    let names = crate::report::labels::Names::of(rows);
    let mut out: Vec<CellCtx> = rows
        .iter()
        .map(|row| {
            let c = row.cell;
            let settings: Vec<String> = names
                .keys
                .iter()
                .filter_map(|k| {
                    c.settings
                        .get(k)
                        .map(|v| format!("{k}={}", crate::report::labels::value_text(v)))
                })
                .collect();
            let settings = settings.join(", ");
            CellCtx {
                file: files[row.file].label.clone(),
                host: view::host_of(row).hostname.clone(),
                host_id: view::host_id(row).to_string(),
                model: c.model.clone(),
                span: 1,
                framework: view::framework_label(c),
                settings,
                runtime: c.runtime.clone(),
                status: view::status_word(c.status),
                reason: if c.status == CellStatus::Ok {
                    String::new()
                } else {
                    c.reason.clone().unwrap_or_else(|| "no reason given".into())
                },
                values: vec![
                    prove(row),
                    peak(row),
                    Val::of(
                        view::energy_per_proof(c).map(|e| format!("{} J", view::num(e, 3))),
                        row,
                        "energy",
                    ),
                    accuracy(row),
                    proof_size(row),
                ],
                none: false,
                none_why: the_cell(c.status),
            }
        })
        .collect();
    let mut columns: Vec<&'static str> = SUMMARY_COLUMNS.to_vec();
    let dropped = {
        let mut table: Vec<(&str, &mut Vec<Val>)> =
            out.iter_mut().map(|o| (o.status, &mut o.values)).collect();
        drop_absent_columns(&mut columns, &mut table, 2)
    };
    for o in &mut out {
        o.none = o.status != "ok" && o.values.iter().all(|v| v.missing.is_some());
    }
    let mut start = 0;
    for i in 1..=out.len() {
        let same = i < out.len()
            && (&out[i].file, &out[i].host_id, &out[i].model)
                == (&out[start].file, &out[start].host_id, &out[start].model);
        if !same {
            out[start].span = i - start;
            for o in &mut out[start + 1..i] {
                o.span = 0;
            }
            start = i;
        }
    }
    Summary {
        columns,
        cells: out,
        dropped,
    }
}

/// The details table: its value columns, its rows and the columns left out (see
/// [`Summary`]).
#[derive(Debug)]
pub struct Details {
    pub columns: Vec<&'static str>,
    pub cells: Vec<DetailCtx>,
    pub dropped: Vec<String>,
}

/// The details rows: the values the summary leaves out.
pub fn details(rows: &[Row]) -> Details {
    let mut cells = detail_rows(rows);
    let mut columns = DETAIL_COLUMNS.to_vec();
    let dropped = {
        let mut table: Vec<(&str, &mut Vec<Val>)> = cells
            .iter_mut()
            .map(|d| (d.status, &mut d.values))
            .collect();
        drop_absent_columns(&mut columns, &mut table, 0)
    };
    Details {
        columns,
        cells,
        dropped,
    }
}

fn detail_rows(rows: &[Row]) -> Vec<DetailCtx> {
    let hosts = crate::report::labels::Names::of(rows);
    rows.iter()
        .map(|row| {
            let c = row.cell;
            DetailCtx {
                id: c.id.clone(),
                model: c.model.clone(),
                framework: view::framework_label(c),
                settings: match view::settings_label(c).as_str() {
                    "default" => String::new(),
                    s => s.to_string(),
                },
                runtime: c.runtime.clone(),
                host: if hosts.several_hosts() {
                    hosts
                        .hosts
                        .get(view::host_id(row))
                        .cloned()
                        .unwrap_or_default()
                } else {
                    String::new()
                },
                status: view::status_word(c.status),
                values: vec![
                    Val::of(c.info.get("proof_system").cloned(), row, "proof_system"),
                    Val::of(secs(view::step(c, "setup")), row, "setup"),
                    Val::of(secs(view::step(c, "verify")), row, "verify"),
                    Val::of(
                        view::proofs_per_kj(c).map(|p| view::num(p, 2)),
                        row,
                        "energy",
                    ),
                    Val::of(view::circuit_size(c), row, "circuit"),
                    Val::of(
                        view::step(c, "prove")
                            .and_then(|s| s.prove_source)
                            .map(|s| s.label().to_string()),
                        row,
                        "prove_source",
                    ),
                    Val::of(
                        view::metric(c, view::PARAMS).map(|p| view::num(p, 0)),
                        row,
                        "params",
                    ),
                    Val::of(
                        view::metric(c, view::LAYERS).map(|p| view::num(p, 0)),
                        row,
                        "layers",
                    ),
                    Val::some(format!(
                        "{}",
                        c.repetitions.iter().filter(|r| !r.warmup).count()
                    )),
                ],
            }
        })
        .collect()
}
