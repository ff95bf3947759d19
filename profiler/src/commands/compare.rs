//! `zkprof compare A.json B.json [...]`: the first file is the baseline; each other file is
//! compared with it (ratios per cell, noise-aware verdicts, fingerprint differences).

use super::GlobalArgs;
use crate::error::UserError;
use crate::report::compare::{self, Comparison};
use crate::report::table;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// Output formats of `compare` and `reproduce`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    /// Aligned text for a terminal.
    Text,
    /// GitHub markdown.
    Markdown,
    /// JSON.
    Json,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Results files: the baseline first, then one or more to compare with it.
    #[arg(required = true, num_args = 2.., value_name = "RESULTS")]
    pub results: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Text)]
    pub format: TableFormat,
    /// Write to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Renders comparisons as text or markdown.
pub fn render(comparisons: &[Comparison], format: TableFormat) -> anyhow::Result<String> {
    if format == TableFormat::Json {
        return Ok(serde_json::to_string_pretty(comparisons)? + "\n");
    }
    let md = format == TableFormat::Markdown;
    let mut out = String::new();
    for c in comparisons {
        let (b, o) = if md {
            (
                crate::report::markdown::escape(&c.base),
                crate::report::markdown::escape(&c.other),
            )
        } else {
            (c.base.clone(), c.other.clone())
        };
        out.push_str(&format!(
            "{}baseline: {b}\n{}other:    {o}\n\n",
            if md { "- " } else { "" },
            if md { "- " } else { "" }
        ));
        if c.host_diff.is_empty() {
            out.push_str("Fingerprints: identical hardware and software fields.\n\n");
        } else {
            out.push_str("Fingerprint differences:\n\n");
            let rows: Vec<Vec<String>> = c
                .host_diff
                .iter()
                .map(|d| vec![d.field.clone(), d.base.clone(), d.other.clone()])
                .collect();
            let header = ["field", "baseline", "other"];
            out.push_str(&if md {
                table::markdown(&header, &rows)
            } else {
                table::text(&header, &rows)
            });
            out.push('\n');
        }
        let rows = compare::rows(c);
        out.push_str(&if md {
            table::markdown(&compare::HEADER, &rows)
        } else {
            table::text(&compare::HEADER, &rows)
        });
        out.push_str(
            "\nratio = other / baseline (medians of the prove step); spread = [min, max] over repetitions; \
             overlapping spreads = no clear difference.\n\n",
        );
    }
    Ok(out)
}

pub fn run(_global: &GlobalArgs, args: &CompareArgs) -> anyhow::Result<i32> {
    if args.results.len() < 2 {
        return Err(UserError::Input("compare needs at least two results files".into()).into());
    }
    let files = super::report::load_all(&args.results)?;
    let comparisons: Vec<Comparison> = files[1..]
        .iter()
        .map(|o| compare::compare(&files[0], o))
        .collect();
    let text = render(&comparisons, args.format)?;
    super::report::write_output(
        args.output.as_deref().unwrap_or(std::path::Path::new("-")),
        text.as_bytes(),
    )?;
    Ok(crate::error::EXIT_OK)
}
