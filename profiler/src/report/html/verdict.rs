//! The one-line verdict at the top of the HTML report: the answer first (who proves
//! fastest, what did not succeed, how the hosts compare), from the rows alone.

use crate::report::view::{self, Row};
use crate::results::CellStatus;
use crate::units::{format_bytes, format_seconds};

/// The label of a row in the verdict: framework, settings when not the defaults.
fn who(row: &Row) -> String {
    let s = view::settings_label(row.cell);
    if s == "default" {
        row.cell.framework.clone()
    } else {
        format!("{} ({s})", row.cell.framework)
    }
}

/// The answer first, in one line: who proves fastest, what did not succeed, and how the
/// hosts compare when there are several.
pub fn verdict(rows: &[Row]) -> String {
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
            "{} proves {} fastest: {} median",
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
    let mut hosts: Vec<&str> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for r in ok {
        if !hosts.contains(&view::host_id(r)) {
            hosts.push(view::host_id(r));
            names.push(view::host_name(r));
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
