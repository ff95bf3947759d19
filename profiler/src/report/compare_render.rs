//! `compare` as text for a terminal (fits [`TEXT_WIDTH`] columns: long labels are cut and
//! long notes go under the tables, numbered) or as GitHub markdown.

use super::compare::{CellRow, Comparison, SideCell, Verdict};
use super::labels::truncate;
use super::table;
use crate::results::Summary;
use crate::units::{format_bytes, format_seconds};

/// The width the text output keeps to, in columns.
pub const TEXT_WIDTH: usize = 120;
/// Width of one side's column in text output.
const SIDE_WIDTH: usize = 22;
/// Narrowest cell column in text output.
const MIN_CELL_WIDTH: usize = 24;

/// Notes collected while rendering, printed under the tables as `[n] text`.
#[derive(Default)]
struct Notes(Vec<String>, std::collections::HashMap<String, usize>);

impl Notes {
    /// The reference `[n]` of `text`, added once.
    fn mark(&mut self, text: &str) -> String {
        let n = match self.1.get(text) {
            Some(&i) => i,
            None => {
                self.0.push(text.to_string());
                self.1.insert(text.to_string(), self.0.len());
                self.0.len()
            }
        };
        format!("[{n}]")
    }
}

/// Cuts `s` to at most `max` characters from its start, beginning with `…` when cut (a
/// path keeps its file name).
fn truncate_start(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    let tail: String = s.chars().skip(n - max.saturating_sub(1)).collect();
    format!("…{tail}")
}

/// `text` wrapped at spaces to lines of at most `width` characters (a longer word is cut),
/// continuation lines indented by `indent`; ends with a newline.
fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > width {
            out.push_str(line.trim_end());
            out.push('\n');
            line = indent.to_string();
        } else if len > 0 {
            line.push(' ');
        }
        line.push_str(word);
        while line.chars().count() > width {
            let head: String = line.chars().take(width).collect();
            out.push_str(&head);
            out.push('\n');
            line = format!("{indent}{}", line.chars().skip(width).collect::<String>());
        }
    }
    out.push_str(line.trim_end());
    out.push('\n');
    out
}

/// Short verdict words: `faster ×0.50`, `≈`, `×0.50 (1 rep)`.
fn verdict_short(v: &Verdict, lower: &str, higher: &str) -> String {
    match v {
        Verdict::NoClearDifference => "≈".into(),
        Verdict::Lower(r) => format!("{lower} ×{r:.2}"),
        Verdict::Higher(r) => format!("{higher} ×{r:.2}"),
        Verdict::NoiseUnknown(r) => format!("×{r:.2}?"),
        Verdict::Missing => String::new(),
    }
}

/// One metric: its title, how to read a side's value, and the verdict words.
struct Metric {
    title: &'static str,
    value: fn(&SideCell) -> Option<Summary>,
    verdict: fn(&SideCell) -> &Verdict,
    format: fn(f64) -> String,
    lower: &'static str,
    higher: &'static str,
    geomean: fn(&super::compare::GeoMean) -> Option<f64>,
    cells: fn(&super::compare::GeoMean) -> usize,
}

const METRICS: [Metric; 3] = [
    Metric {
        title: "Prove time (median wall time of the prove step)",
        value: |s| s.prove_s,
        verdict: |s| &s.time,
        format: format_seconds,
        lower: "faster",
        higher: "slower",
        geomean: |g| g.time,
        cells: |g| g.time_cells,
    },
    Metric {
        title: "Prove memory (median peak working set of the prove step's process tree)",
        value: |s| s.peak_bytes,
        verdict: |s| &s.memory,
        format: format_bytes,
        lower: "less",
        higher: "more",
        geomean: |g| g.memory,
        cells: |g| g.time_cells,
    },
    Metric {
        title: "Energy per proof (median over the prove runs)",
        value: |s| s.energy_j,
        verdict: |s| &s.energy,
        format: |j| format!("{} J", super::view::num(j, 2)),
        lower: "less",
        higher: "more",
        geomean: |g| g.energy,
        cells: |g| g.energy_cells,
    },
];

/// A side's measured figure with its verdict (`2.929 s faster ×0.60`; the baseline's alone),
/// or `None` when the side has no figure for the metric.
fn figure(s: &SideCell, m: &Metric, is_base: bool) -> Option<String> {
    let v = (m.value)(s).filter(|_| s.status.as_deref() == Some("ok"))?;
    let words = if is_base {
        String::new()
    } else {
        verdict_short((m.verdict)(s), m.lower, m.higher)
    };
    Some(
        format!("{} {words}", (m.format)(v.median))
            .trim_end()
            .to_string(),
    )
}

/// The geometric-mean row of a metric's table, when some cells were run on every side.
fn geomean_row(c: &Comparison, m: &Metric) -> Option<Vec<String>> {
    let n = c.geomean.first().map_or(0, |g| (m.cells)(g));
    (n > 0).then(|| {
        std::iter::once(format!("geometric mean ({n} cells)"))
            .chain(
                c.geomean
                    .iter()
                    .map(|g| (m.geomean)(g).map_or("—".into(), |r| format!("×{r:.2}"))),
            )
            .collect()
    })
}

/// A side's entry in a metric's table.
fn entry(s: &SideCell, m: &Metric, is_base: bool, notes: &mut Notes, side: &str) -> String {
    match figure(s, m, is_base) {
        Some(text) => text,
        None => match &s.note {
            Some(n) if n == "not run" => "not run".into(),
            Some(n) => {
                let word = s.status.clone().unwrap_or_default();
                format!("{word} {}", notes.mark(&format!("{side}: {n}")))
            }
            None => "—".into(),
        },
    }
}

/// The cell column: the short label, cut to `width` in text (the full id in a note).
fn cell_name(r: &CellRow, width: Option<usize>, notes: &mut Notes) -> String {
    let mut name = r.label.clone();
    if !r.note.is_empty() {
        name = format!("{name} {}", notes.mark(&format!("{}: {}", r.label, r.note)));
    }
    match width {
        Some(w) if name.chars().count() > w => {
            let mark = notes.mark(&format!("{}: {}", r.label, r.id));
            format!(
                "{} {mark}",
                truncate(&r.label, w.saturating_sub(mark.len() + 1))
            )
        }
        _ => name,
    }
}

/// A plain table of one metric (0: prove time, 1: prove memory, 2: energy per proof) for
/// the HTML report: its title, the header (cell, then the sides), one row per cell (a side
/// without a figure shows its status), and the geometric-mean row when there is one.
pub fn metric_table(c: &Comparison, metric: usize) -> (String, Vec<String>, Vec<Vec<String>>) {
    let m = &METRICS[metric.min(METRICS.len() - 1)];
    let mut header = vec!["cell".to_string()];
    header.extend(c.sides.iter().map(|s| s.label.clone()));
    let mut rows: Vec<Vec<String>> = c
        .cells
        .iter()
        .map(|r| {
            let mut row = vec![r.label.clone()];
            for (k, s) in r.sides.iter().enumerate() {
                row.push(
                    figure(s, m, k == c.baseline)
                        .unwrap_or_else(|| s.status.clone().unwrap_or_else(|| "not run".into())),
                );
            }
            row
        })
        .collect();
    rows.extend(geomean_row(c, m));
    (m.title.to_string(), header, rows)
}

/// Renders `c` as text (`md = false`) or markdown.
pub fn render(c: &Comparison, md: bool) -> String {
    let mut out = String::new();
    let mut notes = Notes::default();
    let base = &c.sides[c.baseline];
    let render_table = |header: &[&str], rows: &[Vec<String>]| {
        if md {
            table::markdown(header, rows)
        } else {
            table::text(header, rows)
        }
    };
    // Hosts.
    out.push_str(&format!(
        "{} sides, baseline {}. Ratios are side / baseline, of medians.\n\
         ≈: the spreads [min, max] overlap (no clear difference); ?: one repetition, noise unknown.\n\n",
        c.sides.len(),
        base.label
    ));
    let rows: Vec<Vec<String>> = c
        .sides
        .iter()
        .map(|s| {
            vec![
                s.label.clone(),
                s.hostname.clone(),
                s.host_id.chars().take(16).collect(),
                if md {
                    s.file.clone()
                } else {
                    truncate_start(&s.file, 40)
                },
                s.price_usd_per_hour
                    .map_or("—".into(), |p| format!("${p:.2}/h")),
            ]
        })
        .collect();
    out.push_str(&render_table(
        &["side", "hostname", "fingerprint", "file", "price"],
        &rows,
    ));
    out.push('\n');
    // Fingerprints: the union of differing fields, one column per side.
    let mut fields: Vec<&str> = Vec::new();
    for d in c.host_diff.iter().flat_map(|h| &h.fields) {
        if !fields.contains(&d.field.as_str()) {
            fields.push(&d.field);
        }
    }
    if fields.is_empty() {
        out.push_str("Fingerprints: identical hardware and software fields.\n\n");
    } else {
        out.push_str(&format!("Fingerprint differences from {}:\n\n", base.label));
        let cut = |v: &str| if md { v.to_string() } else { truncate(v, 32) };
        let rows: Vec<Vec<String>> = fields
            .iter()
            .map(|f| {
                let mut row = vec![f.to_string()];
                let base_value = c
                    .host_diff
                    .iter()
                    .flat_map(|h| &h.fields)
                    .find(|d| d.field == *f)
                    .map_or("—".to_string(), |d| d.base.clone());
                row.push(cut(&base_value));
                for h in &c.host_diff {
                    let v = h.fields.iter().find(|d| d.field == *f);
                    row.push(cut(&v.map_or("same".into(), |d| d.other.clone())));
                }
                row
            })
            .collect();
        let mut header = vec!["field", base.label.as_str()];
        header.extend(c.host_diff.iter().map(|h| h.side.as_str()));
        out.push_str(&render_table(&header, &rows));
        out.push('\n');
    }
    // One table per metric.
    let side_cols = c.sides.len() * (SIDE_WIDTH + 2);
    let cell_width = (!md).then(|| TEXT_WIDTH.saturating_sub(side_cols).max(MIN_CELL_WIDTH));
    let mut header = vec!["cell".to_string()];
    header.extend(c.sides.iter().map(|s| {
        if md {
            s.label.clone()
        } else {
            truncate(&s.label, SIDE_WIDTH)
        }
    }));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    for m in &METRICS {
        let any = c
            .cells
            .iter()
            .any(|r| r.sides.iter().any(|s| (m.value)(s).is_some()));
        if !any {
            let why = if m.title.starts_with("Energy") {
                format!(" ({})", c.energy_absent.join("; "))
            } else {
                String::new()
            };
            let line = format!("{}: not measured on any side{why}.", m.title);
            out.push_str(&if md {
                line + "\n"
            } else {
                wrap(&line, TEXT_WIDTH, "    ")
            });
            out.push('\n');
            continue;
        }
        out.push_str(&format!("{}\n\n", m.title));
        let mut rows: Vec<Vec<String>> = c
            .cells
            .iter()
            .map(|r| {
                let mut row = vec![cell_name(r, cell_width, &mut notes)];
                for (k, s) in r.sides.iter().enumerate() {
                    row.push(entry(s, m, k == c.baseline, &mut notes, &c.sides[k].label));
                }
                row
            })
            .collect();
        rows.extend(geomean_row(c, m));
        out.push_str(&render_table(&header, &rows));
        out.push('\n');
    }
    // Cost per proof, from the prices given.
    if c.sides.iter().any(|s| s.price_usd_per_hour.is_some()) {
        out.push_str(
            "Cost per proof (derived: the price given × the prove time; not measured)\n\n",
        );
        let rows: Vec<Vec<String>> = c
            .cells
            .iter()
            .map(|r| {
                let mut row = vec![cell_name(r, cell_width, &mut notes)];
                row.extend(r.sides.iter().map(|s| match s.cost_usd {
                    Some(usd) => format!("${usd:.6}"),
                    None => "—".into(),
                }));
                row
            })
            .collect();
        out.push_str(&render_table(&header, &rows));
        out.push('\n');
    }
    if !notes.0.is_empty() {
        out.push_str("Notes:\n\n");
        for (i, n) in notes.0.iter().enumerate() {
            if md {
                out.push_str(&format!("- [{}] {}\n", i + 1, super::markdown::escape(n)));
            } else {
                let text = crate::terminal::escape(&format!("[{}] {n}", i + 1));
                out.push_str(&wrap(&text, TEXT_WIDTH, "    "));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_notes_wrap_within_the_width() {
        let text = format!("[1] {}", "word ".repeat(60));
        let w = wrap(&text, 40, "    ");
        assert!(w.lines().all(|l| l.chars().count() <= 40), "{w}");
        assert!(w.lines().skip(1).all(|l| l.starts_with("    ")), "{w}");
        let long = wrap(&"x".repeat(100), 40, "  ");
        assert!(long.lines().all(|l| l.chars().count() <= 40), "{long}");
        assert_eq!(truncate_start("/a/b/c/results.json", 10), "…ults.json");
    }
}
