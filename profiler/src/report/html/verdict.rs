//! The verdict at the top of the HTML report: the answer first (who has the fastest prove
//! step, what did not succeed, how the hosts compare) in one line, then one line per metric
//! (prove time, prove + setup, memory, proof size, accuracy loss), from the rows alone.
//! Cells are named by framework and the settings that differ between the cells only.

use crate::report::labels::{Names, SEP};
use crate::report::view::{self, Row};
use crate::results::{CellResult, CellStatus};
use crate::units::{format_bytes, format_seconds};

/// The label of a row in the verdict: framework and the settings that differ.
fn who_with(names: &Names, row: &Row) -> String {
    let mut parts = vec![row.cell.framework.clone()];
    parts.extend(names.settings(row.cell));
    parts.join(SEP)
}

/// The answer first, in one line: who proves fastest, what did not succeed, and how the
/// hosts compare when there are several.
pub fn verdict(rows: &[Row]) -> String {
    let names = Names::of(rows);
    let who = |r: &Row| who_with(&names, r);
    let n = rows.len();
    let ok: Vec<&Row> = rows
        .iter()
        .filter(|r| r.cell.status == CellStatus::Ok && view::prove_wall(r.cell).is_some())
        .collect();
    let mut not_ok: Vec<(&'static str, usize)> = Vec::new();
    for r in rows.iter().filter(|r| r.cell.status != CellStatus::Ok) {
        let w = view::status_word(r.cell.status);
        match not_ok.iter_mut().find(|(s, _)| *s == w) {
            Some((_, k)) => *k += 1,
            None => not_ok.push((w, 1)),
        }
    }
    let tail = if not_ok.is_empty() && n == 1 {
        "The one cell succeeded.".to_string()
    } else if not_ok.is_empty() {
        format!("All {n} cells succeeded.")
    } else {
        let parts: Vec<String> = not_ok.iter().map(|(w, k)| format!("{k} {w}")).collect();
        format!(
            "{} of {n} cells succeeded; {}.",
            n - not_ok.iter().map(|(_, k)| k).sum::<usize>(),
            parts.join(", ")
        )
    };
    if ok.is_empty() {
        return format!("No cell proved. {tail}");
    }
    let median = |r: &Row| view::prove_wall(r.cell).map_or(f64::INFINITY, |w| w.median);
    let mut models: Vec<&str> = Vec::new();
    for r in &ok {
        if !models.contains(&r.cell.model.as_str()) {
            models.push(&r.cell.model);
        }
    }
    let hosts = view::several_hosts(rows);
    let mut head = if ok.len() == 1 && !hosts {
        let only = ok[0];
        let mut s = format!(
            "Only {} proved {}: {} median",
            who(only),
            only.cell.model,
            format_seconds(median(only))
        );
        if let Some(m) = view::prove_peak(only.cell) {
            s.push_str(&format!(", {} peak working set", format_bytes(m.median)));
        }
        s + "."
    } else if models.len() == 1 && !hosts {
        let mut by: Vec<&Row> = ok.clone();
        by.sort_by(|a, b| median(a).total_cmp(&median(b)));
        let best = by[0];
        let mut s = format!(
            "{} has the fastest prove step on {}: {} median",
            who(best),
            models[0],
            format_seconds(median(best))
        );
        if let Some(m) = view::prove_peak(best.cell) {
            s.push_str(&format!(", {} peak working set", format_bytes(m.median)));
        }
        if let Some(next) = by.get(1) {
            s.push_str(&format!(
                "; {} takes {}x as long",
                who(next),
                view::num(median(next) / median(best), 1)
            ));
        }
        s + "."
    } else {
        let mut wins: Vec<(String, usize)> = Vec::new();
        for m in &models {
            let best = ok
                .iter()
                .filter(|r| r.cell.model == *m)
                .min_by(|a, b| median(a).total_cmp(&median(b)));
            if let Some(b) = best {
                let w = who(b);
                match wins.iter_mut().find(|(x, _)| *x == w) {
                    Some((_, k)) => *k += 1,
                    None => wins.push((w, 1)),
                }
            }
        }
        wins.sort_by_key(|w| std::cmp::Reverse(w.1));
        let list: Vec<String> = wins
            .iter()
            .map(|(w, k)| format!("{w} on {k} of {}", models.len()))
            .collect();
        format!(
            "Fastest prover per model: {}{}.",
            list.join(", "),
            if models.len() > 1 {
                " models"
            } else {
                " model"
            }
        )
    };
    if hosts {
        if let Some(s) = host_ratio(&ok) {
            head = format!("{head} {s}");
        }
    }
    format!("{head} {tail}")
}

/// "Host A proves 2.5x faster than host B (median over 12 cells run on both)."
fn host_ratio(ok: &[&Row]) -> Option<String> {
    let all: Vec<Row> = ok.iter().map(|r| **r).collect();
    let labels = Names::of(&all).hosts;
    let mut hosts: Vec<&str> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for r in ok {
        let id = view::host_id(r);
        if !hosts.contains(&id) {
            hosts.push(id);
            names.push(labels.get(id).cloned().unwrap_or_else(|| id.to_string()));
        }
    }
    let (a, b) = (*hosts.first()?, *hosts.get(1)?);
    let mut ratios: Vec<f64> = ok
        .iter()
        .filter(|r| view::host_id(r) == a)
        .filter_map(|ra| {
            let rb = ok
                .iter()
                .find(|r| view::host_id(r) == b && r.cell.id == ra.cell.id)?;
            let (ta, tb) = (
                view::prove_wall(ra.cell)?.median,
                view::prove_wall(rb.cell)?.median,
            );
            (ta > 0.0 && tb > 0.0).then(|| tb / ta)
        })
        .collect();
    if ratios.is_empty() {
        return None;
    }
    ratios.sort_by(f64::total_cmp);
    let m = crate::results::Summary::of(&ratios).median;
    let (fast, slow, x) = if m >= 1.0 {
        (&names[0], &names[1], m)
    } else {
        (&names[1], &names[0], 1.0 / m)
    };
    Some(format!(
        "Host {fast} proves {}x as fast as {slow} (median over {} cells run on both).",
        view::num(x, 2),
        ratios.len()
    ))
}

/// One metric of the per-metric verdict: its name, how to read it from a cell, its units.
struct Metric {
    name: &'static str,
    value: fn(&CellResult) -> Option<f64>,
    format: fn(f64) -> String,
    /// What the best is called (`fastest`, `least`, `smallest`, `lowest`).
    best: &'static str,
}

/// Prove plus setup wall time (medians), seconds; the prove time alone where the cell has
/// no separate setup step.
fn prove_and_setup(c: &CellResult) -> Option<f64> {
    let prove = view::prove_wall(c)?.median;
    Some(prove + view::step(c, "setup").map_or(0.0, |s| s.wall_s.median))
}

const METRICS: [Metric; 5] = [
    Metric {
        name: "Prove time",
        value: |c| view::prove_wall(c).map(|s| s.median),
        format: format_seconds,
        best: "fastest",
    },
    Metric {
        name: "Prove + setup",
        value: prove_and_setup,
        format: format_seconds,
        best: "fastest",
    },
    Metric {
        name: "Prove memory",
        value: |c| view::prove_peak(c).map(|s| s.median),
        format: format_bytes,
        best: "least",
    },
    Metric {
        name: "Proof size",
        value: |c| view::metric(c, view::PROOF_SIZE),
        format: format_bytes,
        best: "smallest",
    },
    Metric {
        name: "Accuracy loss",
        value: |c| view::metric(c, view::ACCURACY_LOSS),
        format: |v| format!("{} %", view::num(v, 2)),
        best: "lowest",
    },
];

/// The circuit's and the float model's accuracy beside an accuracy loss, when recorded.
fn accuracy_note(c: &CellResult) -> String {
    let circuit = view::metric(c, "circuit_accuracy_pct");
    let float = view::metric(c, "float_accuracy_pct");
    let n = view::first_metric(c, &view::ACCURACY_SAMPLES_KEYS);
    match (circuit, float) {
        (Some(a), Some(b)) => format!(
            " (circuit {} %, float {} %{})",
            view::num(a, 2),
            view::num(b, 2),
            n.map_or(String::new(), |n| format!(", {} images", view::num(n, 0)))
        ),
        _ => String::new(),
    }
}

/// One line per metric: with one model on one host, the best cell and the runner-up with
/// its ratio; otherwise who is best on how many of the (model, host) pairs.
pub fn metric_verdicts(rows: &[Row]) -> Vec<(String, String)> {
    let names = Names::of(rows);
    let ok: Vec<&Row> = rows
        .iter()
        .filter(|r| r.cell.status == CellStatus::Ok)
        .collect();
    let mut contests: Vec<(String, &str)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for r in &ok {
        if seen.insert((r.cell.model.as_str(), view::host_id(r))) {
            contests.push((r.cell.model.clone(), view::host_id(r)));
        }
    }
    let mut out = Vec::new();
    for m in &METRICS {
        let valued: Vec<(&Row, f64)> = ok
            .iter()
            .filter_map(|r| Some((*r, (m.value)(r.cell)?)))
            .collect();
        if valued.len() < 2 {
            continue;
        }
        let is_accuracy = m.name == "Accuracy loss";
        let line = if contests.len() == 1 {
            let mut by = valued.clone();
            by.sort_by(|a, b| a.1.total_cmp(&b.1));
            let (best, v) = by[0];
            let mut line = format!(
                "{} {}: {}{}",
                who_with(&names, best),
                m.best,
                (m.format)(v),
                if is_accuracy {
                    accuracy_note(best.cell)
                } else {
                    String::new()
                }
            );
            let (next, w) = by[1];
            line.push_str(&format!(
                "; then {}: {}",
                who_with(&names, next),
                (m.format)(w)
            ));
            if v > 0.0 && !is_accuracy {
                line.push_str(&format!(" (×{})", view::num(w / v, 2)));
            }
            if is_accuracy {
                line.push_str(&accuracy_note(next.cell));
            }
            line
        } else {
            // The best cell of each (model, host), in one pass.
            let mut best: std::collections::HashMap<(&str, &str), (&Row, f64)> =
                std::collections::HashMap::new();
            for (r, v) in &valued {
                let key = (r.cell.model.as_str(), view::host_id(r));
                match best.get(&key) {
                    Some((_, b)) if *b <= *v => {}
                    _ => {
                        best.insert(key, (r, *v));
                    }
                }
            }
            let mut wins: Vec<(String, usize)> = Vec::new();
            let mut judged = 0;
            for (model, host) in &contests {
                if let Some((r, _)) = best.get(&(model.as_str(), *host)) {
                    judged += 1;
                    let w = who_with(&names, r);
                    match wins.iter_mut().find(|(x, _)| *x == w) {
                        Some((_, k)) => *k += 1,
                        None => wins.push((w, 1)),
                    }
                }
            }
            wins.sort_by_key(|w| std::cmp::Reverse(w.1));
            let what = if names.several_hosts() {
                "model × host pairs"
            } else {
                "models"
            };
            let list: Vec<String> = wins
                .iter()
                .map(|(w, k)| format!("{w} on {k} of {judged} {what}"))
                .collect();
            format!("{}: {}", m.best, list.join("; "))
        };
        out.push((m.name.to_string(), line));
    }
    out
}
