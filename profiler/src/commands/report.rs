//! `zkprof report RESULTS... [-o FILE] [--format ...]`: render results files; nothing is re-run.

use crate::cli::GlobalArgs;
use crate::error::UserError;
use crate::report::{self, Format, Loaded};
use clap::Args;
use std::io::Write;
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

/// Writes `bytes` to `path` (atomically), or to stdout for `-`.
pub fn write_output(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if path.as_os_str() == "-" {
        let mut out = std::io::stdout().lock();
        out.write_all(bytes)?;
        out.flush()?;
        return Ok(());
    }
    crate::store::ensure_writable_file(path)?;
    crate::store::write_atomic(path, bytes).map_err(|e| {
        UserError::Input(format!(
            "cannot write {}: {e}; choose another with -o",
            path.display()
        ))
    })?;
    // Reports are meant to be shared: readable by others, like a file made by `>`.
    use std::os::unix::fs::PermissionsExt;
    if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)) {
        tracing::warn!("cannot make {} readable by others: {e}", path.display());
    }
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
