//! `zkprof compare RESULTS...`: hosts and files side by side (one merged multi-host file,
//! or several files); ratios to a baseline per cell, noise-aware verdicts, geometric means,
//! fingerprint differences and, with prices, cost per proof.

use super::GlobalArgs;
use crate::error::UserError;
use crate::report::compare::{self, Comparison};
use crate::report::compare_render;
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
    /// Results files: one merged file of several hosts, or several files (each host of each
    /// file is a side; the first side is the baseline unless --baseline says otherwise).
    #[arg(required = true, num_args = 1.., value_name = "RESULTS")]
    pub results: Vec<PathBuf>,
    /// The side the others are compared with: a hostname, a fingerprint id (or a prefix of
    /// at least 4 characters), or a file as given.
    #[arg(long, value_name = "HOST")]
    pub baseline: Option<String>,
    /// A machine's price in US dollars per hour (repeatable): adds the cost per proof,
    /// derived from the price and the prove time.
    #[arg(long, value_name = "HOST=USD_PER_HOUR")]
    pub price: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Text)]
    pub format: TableFormat,
    /// Write to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Renders a comparison as text, markdown or JSON.
pub fn render(c: &Comparison, format: TableFormat) -> anyhow::Result<String> {
    Ok(match format {
        TableFormat::Json => serde_json::to_string_pretty(c)? + "\n",
        TableFormat::Markdown => compare_render::render(c, true),
        TableFormat::Text => compare_render::render(c, false),
    })
}

pub fn run(_global: &GlobalArgs, args: &CompareArgs) -> anyhow::Result<i32> {
    let files = super::report::load_all(&args.results)?;
    let opts = compare::CompareOptions {
        baseline: args.baseline.clone(),
        prices: args.price.clone(),
    };
    let c = compare::compare(&files, &opts).map_err(|e| UserError::Input(e.to_string()))?;
    let text = render(&c, args.format)?;
    super::report::write_output(
        args.output.as_deref().unwrap_or(std::path::Path::new("-")),
        text.as_bytes(),
    )?;
    Ok(crate::error::EXIT_OK)
}
