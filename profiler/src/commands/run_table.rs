//! The table `zkprof run` prints at the end: one line per cell with a short label (model,
//! framework, and only the settings that tell its cells apart; the full id is in the
//! results), then, under the table, why cells failed or were unsupported, why accuracy
//! was not measured, and what was provisioned outside the measured steps. Fits 100 columns.

use crate::report::view;
use crate::results::{CellResult, CellStatus, ResultsFile};
use crate::units::{format_bytes, format_seconds};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// The widest a cell label gets (characters), so that a line fits 100 columns.
pub const LABEL_MAX: usize = 34;
/// Lines under the table are wrapped at this width.
const WIDTH: usize = 100;

/// Short labels, one per cell: `model framework` plus the settings whose values differ
/// between cells of the same model and framework, plus the runtime when not native.
pub fn short_labels(cells: &[CellResult]) -> Vec<String> {
    let mut groups: BTreeMap<(&str, &str), Vec<&CellResult>> = BTreeMap::new();
    for c in cells {
        groups
            .entry((c.model.as_str(), c.framework.as_str()))
            .or_default()
            .push(c);
    }
    cells
        .iter()
        .map(|c| {
            let group = &groups[&(c.model.as_str(), c.framework.as_str())];
            let keys: BTreeSet<&String> = group.iter().flat_map(|g| g.settings.keys()).collect();
            let differing: Vec<String> = keys
                .into_iter()
                .filter(|k| {
                    let vals: BTreeSet<String> = group
                        .iter()
                        .map(|g| {
                            g.settings
                                .get(*k)
                                .map(|v| v.to_string())
                                .unwrap_or_default()
                        })
                        .collect();
                    vals.len() > 1
                })
                .map(|k| {
                    let v = c.settings.get(k).map_or("-".into(), |v| match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    });
                    format!("{k}={v}")
                })
                .collect();
            let mut label = format!("{} {}", c.model, c.framework);
            if !differing.is_empty() {
                let _ = write!(label, " {}", differing.join(","));
            }
            if c.runtime != crate::runtime::RuntimeKind::Native.name() {
                let _ = write!(label, " ({})", c.runtime);
            }
            shorten(&crate::terminal::escape(&label), LABEL_MAX)
        })
        .collect()
}

/// `text` cut to `max` characters, with `…` where it was cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max - 1).collect();
    s.push('…');
    s
}

/// `median ± σ` for several repetitions; the median alone for one (no spread to show).
pub fn time_text(s: &crate::results::Summary) -> String {
    if s.n > 1 {
        format!(
            "{} ± {}",
            format_seconds(s.median),
            format_seconds(s.stddev)
        )
    } else {
        format_seconds(s.median)
    }
}

fn accuracy_text(c: &CellResult) -> String {
    if let Some(a) = view::metric(c, view::ACCURACY_LOSS) {
        format!("{} %", view::num(a, 2))
    } else if c
        .info
        .contains_key(crate::frameworks::inputs::ACCURACY_NOT_MEASURED)
    {
        "not measured".into()
    } else {
        "-".into()
    }
}

/// Appends `label: text`, wrapped at [`WIDTH`] with continuation lines indented.
fn note(out: &mut String, label: &str, text: &str) {
    let head = format!("  {label}: ");
    let indent = " ".repeat(6);
    let mut line = head.clone();
    for word in text.split(' ') {
        let fresh = line.trim_end().len() <= head.trim_end().len() || line == indent;
        if !fresh && line.chars().count() + word.chars().count() > WIDTH {
            out.push_str(line.trim_end());
            out.push('\n');
            line = indent.clone();
        }
        line.push_str(word);
        line.push(' ');
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

/// The whole end-of-run report (no colour codes: it is plain text wherever it goes).
pub fn render(results: &ResultsFile) -> String {
    let cells = &results.cells;
    let labels = short_labels(cells);
    let w = labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = String::new();
    let pad = |s: &str, n: usize| format!("{s}{}", " ".repeat(n.saturating_sub(s.chars().count())));
    let _ = writeln!(
        out,
        "{}  {:11}  {:>20}  {:>11}  {:>13}",
        pad("cell", w),
        "status",
        "prove (median ± σ)",
        "working set",
        "accuracy loss"
    );
    for (c, label) in cells.iter().zip(&labels) {
        let (time, mem) = match c.summary.get("prove") {
            Some(p) => (time_text(&p.wall_s), format_bytes(p.peak_tree_bytes.median)),
            None => ("-".into(), "-".into()),
        };
        let _ = writeln!(
            out,
            "{}  {:11}  {:>20}  {:>11}  {:>13}",
            pad(label, w),
            view::status_word(c.status),
            time,
            mem,
            accuracy_text(c)
        );
    }
    let stopped: Vec<(&CellResult, &String)> = cells
        .iter()
        .zip(&labels)
        .filter(|(c, _)| c.status != CellStatus::Ok)
        .collect();
    if !stopped.is_empty() {
        out.push_str("\nwhy cells did not finish:\n");
        for (c, label) in stopped {
            let why = crate::terminal::escape(&view::status_with_reason(c));
            note(&mut out, label, &why);
        }
    }
    let kinds: Vec<(&CellResult, &String)> = cells
        .iter()
        .zip(&labels)
        .filter(|(c, _)| view::proof_label(c).is_some())
        .collect();
    if !kinds.is_empty() {
        out.push_str("\nnot zero-knowledge proofs:\n");
        for (c, label) in kinds {
            note(&mut out, label, view::proof_label(c).unwrap_or_default());
        }
    }
    // What the external adapters noticed about the installation (a checkout at another
    // commit than the pinned one): said in the terminal too, not only in doctor and the HTML.
    let mut installs = String::new();
    for (c, label) in cells.iter().zip(&labels) {
        for v in c
            .info
            .iter()
            .filter(|(k, _)| k.ends_with("_warning"))
            .map(|(_, v)| v)
        {
            note(&mut installs, label, &crate::terminal::escape(v));
        }
    }
    if !installs.is_empty() {
        out.push_str("\ninstallations:\n");
        out.push_str(&installs);
    }
    let mut accuracy = String::new();
    for (c, label) in cells.iter().zip(&labels) {
        if let Some(why) = c.info.get(crate::frameworks::inputs::ACCURACY_NOT_MEASURED) {
            note(&mut accuracy, label, &format!("not measured: {why}"));
        } else if view::metric(c, view::ACCURACY_LOSS).is_some() {
            if let Some(src) = c.info.get("accuracy_inputs") {
                let n = view::metric(c, "accuracy_samples").unwrap_or(0.0);
                note(&mut accuracy, label, &format!("{n:.0} inputs: {src}"));
            }
        }
    }
    if !accuracy.is_empty() {
        out.push_str("\naccuracy:\n");
        out.push_str(&accuracy);
    }
    let mut prov = String::new();
    for (c, label) in cells.iter().zip(&labels) {
        if let Some(s) = view::metric(c, "provision_s").filter(|s| *s >= 0.05) {
            let mut what = format!("{} unmeasured", format_seconds(s));
            if let Some(p) = c.info.get("ptau_provisioned_s") {
                let _ = write!(what, " (powers of tau made in {p} s)");
            }
            if let Some(p) = c.info.get("ptau").filter(|p| p.contains("insecure")) {
                let first = p.split(';').next().unwrap_or(p);
                let _ = write!(what, "; ptau: {first}");
            }
            note(&mut prov, label, &what);
        }
    }
    if !prov.is_empty() {
        out.push_str(
            "\nprovisioning (training, toolchains, keys material; not part of any step):\n",
        );
        out.push_str(&prov);
    }
    out
}

#[cfg(test)]
mod tests;
