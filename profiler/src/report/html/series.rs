//! The prove step over time: tree memory and power of one measured prove run per series,
//! with the boundaries of its phases marked where the results record phases.
//!
//! Phases are read through the results schema (`phases[]` of a step record: `name`,
//! `start_s`, `end_s`, seconds since spawn), not through a Rust field, so the report draws
//! them from any results file that has them and stays silent for files that do not.

use super::plot::{group, plot, Plot, MIB};
use crate::report::charts::{Chart, Series};
use crate::report::view::Row;
use crate::report::Loaded;
use crate::results::{CellStatus, StepRun};

/// Most lines in one time-series chart.
const MAX_LINES: usize = 8;
/// Most phases marked on one chart.
const MAX_PHASES: usize = 24;
/// Most runs that get a chart of their own phases.
const MAX_PHASED: usize = 4;

/// The first measured prove step with a series, per group.
fn prove_series<'a>(files: &[Loaded], rows: &[Row<'a>]) -> Vec<(String, &'a StepRun)> {
    let mut out: Vec<(String, &StepRun)> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let names = crate::report::labels::Names::of(rows);
    for r in rows.iter().filter(|r| r.cell.status == CellStatus::Ok) {
        let name = group(files, &names, r);
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

/// A phase window: its name, start and end, seconds since the step's spawn.
type Window = (String, f64, f64);

/// The phase windows of a step record as results files write it.
pub(super) fn phase_windows(step: &serde_json::Value) -> Vec<Window> {
    let Some(phases) = step.get("phases").and_then(|p| p.as_array()) else {
        return Vec::new();
    };
    phases
        .iter()
        .filter_map(|p| {
            Some((
                p.get("name")?.as_str()?.to_string(),
                p.get("start_s")?.as_f64()?,
                p.get("end_s")?.as_f64()?,
            ))
        })
        .filter(|(_, s, e)| s.is_finite() && e.is_finite() && *s >= 0.0 && e >= s)
        .take(MAX_PHASES)
        .collect()
}

/// The phases of a run (empty when its record has none).
fn phases_of(run: &StepRun) -> Vec<Window> {
    serde_json::to_value(run)
        .map(|v| phase_windows(&v))
        .unwrap_or_default()
}

/// Vertical marks for phase windows: each phase's start, labelled with its name, and the
/// end of the last one.
pub(super) fn phase_marks(phases: &[Window]) -> Vec<(f64, String)> {
    let mut marks: Vec<(f64, String)> = phases.iter().map(|(n, s, _)| (*s, n.clone())).collect();
    if let Some((name, _, end)) = phases.last() {
        marks.push((*end, format!("end of {name}")));
    }
    marks
}

fn memory(name: &str, run: &StepRun) -> Option<Series> {
    let s = run.series.as_ref()?;
    // A step read from results v1 sampled its cgroup's usage, page cache included.
    let v1_charged = run.memory_method == crate::results::MemoryMethod::ProcSampling
        && run.charged_method.is_some();
    Some(Series {
        name: if v1_charged {
            format!("{name} (charged to the cgroup, results v1)")
        } else {
            name.to_string()
        },
        points: s
            .t_s
            .iter()
            .zip(&s.tree_bytes)
            .map(|(t, b)| (*t, *b as f64 / MIB))
            .collect(),
        ..Series::default()
    })
}

/// The memory and power charts of the prove step; one more memory chart per phased run
/// when several runs have phases.
pub(super) fn charts(files: &[Loaded], rows: &[Row], energy_reason: &str) -> Vec<Plot> {
    let runs = prove_series(files, rows);
    let phased: Vec<(&String, &StepRun, Vec<Window>)> = runs
        .iter()
        .map(|(n, r)| (n, *r, phases_of(r)))
        .filter(|(_, _, p)| !p.is_empty())
        .collect();
    let mut out = Vec::new();
    let mut all = Chart {
        title: "Working set of the process tree during one prove step".into(),
        x_label: "time since start (s)".into(),
        y_label: "working set (MiB)".into(),
        lines: true,
        series: runs.iter().filter_map(|(n, r)| memory(n, r)).collect(),
        ..Chart::default()
    };
    if let [(name, _, phases)] = phased.as_slice() {
        all.marks = phase_marks(phases);
        if runs.len() > 1 {
            all.title = format!("{} (phases of {name})", all.title);
        }
    }
    out.push(plot(all, "no prove step has a sampled series"));
    if phased.len() > 1 {
        for (name, run, phases) in phased.iter().take(MAX_PHASED) {
            out.push(plot(
                Chart {
                    title: format!("Working set by phase: {name}"),
                    x_label: "time since start (s)".into(),
                    y_label: "working set (MiB)".into(),
                    lines: true,
                    series: memory(name, run).into_iter().collect(),
                    marks: phase_marks(phases),
                    ..Chart::default()
                },
                "this prove step has phases but no sampled series",
            ));
        }
    }
    out.push(plot(
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
                                ..Series::default()
                            })
                    })
                })
                .take(MAX_LINES)
                .collect(),
            marks: match phased.as_slice() {
                [(_, _, phases)] => phase_marks(phases),
                _ => Vec::new(),
            },
            ..Chart::default()
        },
        format!("not measured: no power column in the sampled series ({energy_reason}; why: see “Not measured, and why”)"),
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_are_read_from_the_step_record() {
        let step = serde_json::json!({
            "step": "prove",
            "phases": [
                {"name": "setup", "start_s": 0.0, "end_s": 1.5, "memory": "sampled"},
                {"name": "prove", "start_s": 1.5, "end_s": 9.0, "memory": "sampled"},
                {"name": "broken", "start_s": 3.0, "end_s": 2.0},
                {"name": "nan", "start_s": "x", "end_s": 2.0}
            ]
        });
        let p = phase_windows(&step);
        assert_eq!(
            p,
            vec![
                ("setup".to_string(), 0.0, 1.5),
                ("prove".to_string(), 1.5, 9.0)
            ]
        );
        let marks = phase_marks(&p);
        assert_eq!(
            marks,
            vec![
                (0.0, "setup".to_string()),
                (1.5, "prove".to_string()),
                (9.0, "end of prove".to_string())
            ]
        );
        assert!(phase_windows(&serde_json::json!({"step": "prove"})).is_empty());
    }
}
