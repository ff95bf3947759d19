//! `zkprof report RESULTS... [-o FILE] [--format ...]`: render results files; nothing is re-run.

use crate::cli::GlobalArgs;
use crate::error::UserError;
use crate::report::{self, Format, Loaded};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Results files (results.json written by `zkprof run`).
    #[arg(required = true, value_name = "RESULTS")]
    pub results: Vec<PathBuf>,
    /// Output file; `-` for stdout. Default: report.html for html, stdout for the others.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Html)]
    pub format: Format,
}

/// Loads every results file, failing on the first bad one with an error naming it.
pub fn load_all(paths: &[PathBuf]) -> Result<Vec<Loaded>, UserError> {
    paths
        .iter()
        .map(|p| {
            Ok(Loaded {
                label: p.display().to_string(),
                results: crate::store::load_results(p)?,
            })
        })
        .collect()
}

/// Writes `bytes` to `path` by the rules of [`crate::output`]: stdout for `-`, written
/// through for a symlink, device or FIFO, else an atomic replace; new files get `0666`
/// less the umask, like a file made by `>`.
pub fn write_output(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    crate::store::ensure_writable_file(path)?;
    crate::store::write_atomic(path, bytes).map_err(|e| {
        UserError::Input(format!(
            "cannot write {}: {e}; choose another with -o",
            path.display()
        ))
    })?;
    Ok(())
}

pub fn run(_global: &GlobalArgs, args: &ReportArgs) -> anyhow::Result<i32> {
    let files = load_all(&args.results)?;
    let bytes = report::exporter(args.format).render(&files)?;
    let output = args.output.clone().unwrap_or_else(|| match args.format {
        Format::Html => PathBuf::from("report.html"),
        _ => PathBuf::from("-"),
    });
    write_output(&output, &bytes)?;
    if output.as_os_str() != "-" {
        eprintln!("report: {}", output.display());
    }
    Ok(crate::error::EXIT_OK)
}
