//! Markdown for a GitHub step summary (`>> $GITHUB_STEP_SUMMARY`): the host, one table row per
//! cell, and the failures with their reasons. GitHub renders HTML inside markdown, so every
//! string from results is escaped for both (`<`, `>`, `&`, `|`, backticks, newlines).

use super::view::{self, Row};
use super::{Exporter, Format, Loaded, ReportError};
use crate::results::CellStatus;
use crate::units::{format_bytes, format_seconds};
use std::fmt::Write;

/// The markdown exporter.
pub struct MarkdownExporter;

/// Escapes text for a markdown table cell that GitHub may also read as HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("\\|"),
            '`' => out.push_str("\\`"),
            '*' | '_' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(ch);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn or_dash(v: Option<String>) -> String {
    v.unwrap_or_else(|| "—".into())
}

impl Exporter for MarkdownExporter {
    fn format(&self) -> Format {
        Format::Markdown
    }

    fn render(&self, files: &[Loaded]) -> Result<Vec<u8>, ReportError> {
        let mut s = String::new();
        let _ = writeln!(s, "## zkprof results");
        let _ = writeln!(s);
        for f in files {
            let r = &f.results;
            let _ = writeln!(
                s,
                "- **{}** (suite `{}` v{}):",
                escape(&f.label),
                escape(&r.suite.name),
                r.suite.version,
            );
            for h in std::iter::once(&r.host).chain(r.other_hosts.values()) {
                let _ = writeln!(
                    s,
                    "  - {}: {} [`{}`], {}",
                    escape(if h.hostname.is_empty() {
                        "host"
                    } else {
                        &h.hostname
                    }),
                    escape(&h.one_line()),
                    escape(&h.fingerprint_id),
                    escape(&h.os)
                );
            }
        }
        let _ = writeln!(s);
        let rows = view::rows(files);
        let ok = rows
            .iter()
            .filter(|r| r.cell.status == CellStatus::Ok)
            .count();
        let _ = writeln!(s, "{} cells: {} ok, {} not ok. Prove step only; memory is the peak working set of the whole process tree.", rows.len(), ok, rows.len() - ok);
        let _ = writeln!(s);
        let cells: Vec<&crate::results::CellResult> = rows.iter().map(|r| r.cell).collect();
        let (keys, _) = super::labels::varying(&cells);
        let common = super::labels::common_settings(&cells);
        if !common.is_empty() {
            let _ = writeln!(s, "Settings of every cell: {}.", escape(&common.join(", ")));
            let _ = writeln!(s);
        }
        let hosts = view::several_hosts(&rows);
        let _ = writeln!(s, "| model | framework | settings |{} status | prove (median ± σ) | peak working set | proof size | accuracy loss | energy / proof |", if hosts { " host |" } else { "" });
        let _ = writeln!(
            s,
            "|---|---|---|{}---|--:|--:|--:|--:|--:|",
            if hosts { "---|" } else { "" }
        );
        for row in &rows {
            let _ = writeln!(s, "{}", table_row(row, &keys, hosts));
        }
        let failed: Vec<&Row> = rows
            .iter()
            .filter(|r| r.cell.status != CellStatus::Ok)
            .collect();
        if !failed.is_empty() {
            let _ = writeln!(s);
            let _ = writeln!(s, "### Not ok");
            let _ = writeln!(s);
            for r in failed {
                let _ = writeln!(
                    s,
                    "- {}: {}",
                    escape(&r.cell.id),
                    escape(&view::status_with_reason(r.cell))
                );
            }
        }
        Ok(s.into_bytes())
    }
}

/// The prove time's median and spread; one run has no spread to show, only its time.
fn prove_text(w: crate::results::Summary) -> String {
    match w.n {
        1 => format!("{} (n=1)", format_seconds(w.median)),
        n => format!(
            "{} ± {} (n={n})",
            format_seconds(w.median),
            format_seconds(w.stddev)
        ),
    }
}

/// One cell's row: of the settings only `keys` (those that differ between the cells), the
/// host when the cells come from several.
fn table_row(row: &Row, keys: &[String], hosts: bool) -> String {
    let c = row.cell;
    let prove = view::prove_wall(c).map(prove_text);
    let mem = view::prove_peak(c).map(|m| format_bytes(m.median));
    let size = view::metric(c, view::PROOF_SIZE).map(format_bytes);
    let acc = view::metric(c, view::ACCURACY_LOSS)
        .map(|a| format!("{} %", view::num(a, 2)))
        .or_else(|| view::accuracy_not_measured(c).map(|_| "not measured".into()));
    let energy = view::energy_per_proof(c).map(|e| format!("{} J", view::num(e, 3)));
    let settings: Vec<String> = keys
        .iter()
        .filter_map(|k| {
            c.settings
                .get(k)
                .map(|v| format!("{k}={}", super::labels::value_text(v)))
        })
        .collect();
    let settings = if settings.is_empty() {
        "—".to_string()
    } else {
        settings.join(", ")
    };
    let host = if hosts {
        format!(" {} |", escape(&view::host_name(row)))
    } else {
        String::new()
    };
    format!(
        "| {} | {} | {} |{host} {} | {} | {} | {} | {} | {} |",
        escape(&c.model),
        escape(&view::framework_label(c)),
        escape(&settings),
        view::status_word(c.status),
        or_dash(prove),
        or_dash(mem),
        or_dash(size),
        or_dash(acc),
        or_dash(energy)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_html_and_table_syntax() {
        assert_eq!(
            escape("<script>a|b</script>"),
            "&lt;script&gt;a\\|b&lt;/script&gt;"
        );
        assert_eq!(escape("x\ny"), "x y");
    }

    #[test]
    fn one_run_shows_no_spread() {
        let one = crate::results::Summary::of(&[1.5]);
        assert_eq!(prove_text(one), "1.500 s (n=1)");
        let three = crate::results::Summary::of(&[1.0, 2.0, 3.0]);
        assert!(prove_text(three).contains(" ± "), "{}", prove_text(three));
    }
}
