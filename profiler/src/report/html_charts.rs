//! Which points go into the HTML report's charts. Series are grouped by framework (and by
//! file when several files are shown), in order of first appearance.

use super::charts::{Chart, Series};
use super::view::{self, Row};
use super::{Loaded, ReportError};
use crate::results::{CellStatus, StepRun};

/// Most lines in one time-series chart.
const MAX_LINES: usize = 8;
const MIB: f64 = (1u64 << 20) as f64;

/// The series a row belongs to: its framework, with the file and host when there are several.
fn group(files: &[Loaded], hosts: bool, row: &Row) -> String {
    let mut name = view::framework_label(row.cell);
    if files.len() > 1 {
        name = format!("{name} ({})", files[row.file].label);
    }
    if hosts {
        name = format!("{name} @{}", view::host_id(row));
    }
    name
}

/// Groups `(x, y)` points of successful cells by framework.
fn grouped(files: &[Loaded], rows: &[Row], f: impl Fn(&Row) -> Option<(f64, f64)>) -> Vec<Series> {
    let hosts = view::several_hosts(rows);
    let mut out: Vec<Series> = Vec::new();
    for r in rows.iter().filter(|r| r.cell.status == CellStatus::Ok) {
        let Some(p) = f(r) else { continue };
        let name = group(files, hosts, r);
        match out.iter_mut().find(|s| s.name == name) {
            Some(s) => s.points.push(p),
            None => out.push(Series {
                name,
                points: vec![p],
            }),
        }
    }
    out
}

/// The first measured prove step with a series, per group.
fn prove_series<'a>(files: &[Loaded], rows: &[Row<'a>]) -> Vec<(String, &'a StepRun)> {
    let mut out: Vec<(String, &StepRun)> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let hosts = view::several_hosts(rows);
    for r in rows.iter().filter(|r| r.cell.status == CellStatus::Ok) {
        let name = group(files, hosts, r);
        if out.len() >= MAX_LINES || seen.contains(&name) {
            continue;
        }
        let run = r
            .cell
            .repetitions
            .iter()
            .filter(|rep| !rep.warmup)
            .flat_map(|rep| rep.steps.iter())
            .find(|s| s.step == "prove" && s.series.as_ref().is_some_and(|x| !x.t_s.is_empty()));
        if let Some(run) = run {
            seen.push(name.clone());
            out.push((format!("{name}: {}", r.cell.model), run));
        }
    }
    out
}

/// Every chart of the report, with the note shown when it has nothing to draw.
pub fn charts(files: &[Loaded], rows: &[Row]) -> Result<Vec<(Chart, String)>, ReportError> {
    let params = |r: &Row| view::metric(r.cell, view::PARAMS);
    let no_params =
        "no successful cell has a parameter count (metric `params`) and a prove time".to_string();
    let energy_reason = files
        .first()
        .map(|f| view::energy_absent_reason(&f.results.sensors))
        .unwrap_or_default();
    let mut out = vec![
        (
            Chart {
                title: "Prove time vs parameters".into(),
                x_label: "parameters".into(),
                y_label: "prove time, median (s)".into(),
                x_log: true,
                y_log: true,
                series: grouped(files, rows, |r| {
                    Some((params(r)?, view::prove_wall(r.cell)?.median))
                }),
                ..Chart::default()
            },
            no_params.clone(),
        ),
        (
            Chart {
                title: "Prove time vs layers".into(),
                x_label: "layers".into(),
                x_integer: true,
                y_label: "prove time, median (s)".into(),
                y_log: true,
                series: grouped(files, rows, |r| {
                    Some((
                        view::metric(r.cell, view::LAYERS)?,
                        view::prove_wall(r.cell)?.median,
                    ))
                }),
                ..Chart::default()
            },
            "no successful cell has a layer count (metric `layers`) and a prove time".into(),
        ),
        (
            Chart {
                title: "Peak memory of the prove step vs parameters".into(),
                x_label: "parameters".into(),
                y_label: "peak tree memory, median (MiB)".into(),
                x_log: true,
                y_log: true,
                series: grouped(files, rows, |r| {
                    Some((params(r)?, view::prove_peak(r.cell)?.median / MIB))
                }),
                ..Chart::default()
            },
            no_params,
        ),
        (
            Chart {
                title: "Energy per proof vs parameters".into(),
                x_label: "parameters".into(),
                y_label: "energy per proof (J)".into(),
                x_log: true,
                y_log: true,
                series: grouped(files, rows, |r| {
                    Some((params(r)?, view::energy_per_proof(r.cell)?))
                }),
                ..Chart::default()
            },
            format!("not measured: {energy_reason}"),
        ),
    ];
    let runs = prove_series(files, rows);
    out.push((
        Chart {
            title: "Memory of the process tree during one prove step".into(),
            x_label: "time since start (s)".into(),
            y_label: "tree memory (MiB)".into(),
            lines: true,
            series: runs
                .iter()
                .filter_map(|(name, run)| {
                    let s = run.series.as_ref()?;
                    Some(Series {
                        name: name.clone(),
                        points: s
                            .t_s
                            .iter()
                            .zip(&s.tree_bytes)
                            .map(|(t, b)| (*t, *b as f64 / MIB))
                            .collect(),
                    })
                })
                .collect(),
            ..Chart::default()
        },
        "no prove step has a sampled series".into(),
    ));
    out.push((
        Chart {
            title: "Power during one prove step".into(),
            x_label: "time since start (s)".into(),
            y_label: "power (W)".into(),
            lines: true,
            series: runs
                .iter()
                .flat_map(|(name, run)| {
                    let s = run.series.as_ref();
                    s.into_iter().flat_map(move |s| {
                        s.extra
                            .iter()
                            .filter(|(k, _)| k.ends_with("power_w"))
                            .map(move |(k, v)| Series {
                                name: format!("{name} {k}"),
                                points: s.t_s.iter().copied().zip(v.iter().copied()).collect(),
                            })
                    })
                })
                .take(MAX_LINES)
                .collect(),
            ..Chart::default()
        },
        format!("not measured: no power column in the sampled series; {energy_reason}"),
    ));
    Ok(out)
}
