//! `zkprof report RESULTS... [-o FILE] [--format ...]`: render results files; nothing is re-run.

use super::GlobalArgs;
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
    /// Open the written file in the user's browser (`xdg-open`; `open` on macOS).
    #[arg(long)]
    pub open: bool,
    /// Add a published table against these results, as `zkprof reproduce` shows it (html and
    /// markdown): zkprof/reference/v1 JSON or 2024-schema CSV.
    #[arg(long, value_name = "FILE")]
    pub reference: Option<PathBuf>,
}

/// The program that opens a file in the user's default application.
const OPENER: &str = if cfg!(target_os = "macos") {
    "open"
} else {
    "xdg-open"
};

/// Opens `path` with [`OPENER`] when it is on PATH; says what to do otherwise. Never fails
/// the command: the report is written either way. Waits a few seconds for the opener to
/// report an error; a browser that stays in the foreground is left running.
fn open_in_browser(path: &Path) {
    let shown = path.display();
    let Some(opener) = crate::frameworks::provision::which(OPENER) else {
        eprintln!("report: cannot open it: {OPENER} is not on PATH; open {shown} in a browser");
        return;
    };
    let child = std::process::Command::new(&opener)
        .arg(path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "report: cannot start {}: {e}; open {shown} in a browser",
                opener.display()
            );
            return;
        }
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match child.try_wait() {
            Ok(Some(st)) if st.success() => {
                eprintln!("report: opened with {OPENER}");
                return;
            }
            Ok(Some(st)) => {
                eprintln!("report: {OPENER} could not open it ({st}); open {shown} in a browser");
                return;
            }
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Ok(None) => {
                eprintln!("report: opening with {OPENER}");
                return;
            }
            Err(e) => {
                eprintln!("report: {OPENER}: {e}; open {shown} in a browser");
                return;
            }
        }
    }
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
    if args.open && args.output.as_ref().is_some_and(|o| o.as_os_str() == "-") {
        return Err(UserError::Input(
            "--open needs a file to open: drop `-o -` or name a file with -o".into(),
        )
        .into());
    }
    let files = load_all(&args.results)?;
    let bytes = match &args.reference {
        None => report::exporter(args.format).render(&files)?,
        Some(path) => {
            let r = report::reproduce::reproduce(&report::reference::load(path)?, &files);
            match args.format {
                Format::Html => report::html::HtmlExporter.render_with(&files, Some(&r))?,
                Format::Markdown => {
                    let mut b = report::exporter(args.format).render(&files)?;
                    b.extend(b"\n## Published table against ours\n\n");
                    let md = super::reproduce::render(&r, super::compare::TableFormat::Markdown)?;
                    b.extend(md.into_bytes());
                    b
                }
                other => {
                    return Err(UserError::Input(format!(
                        "--reference adds a table to html and markdown reports, not to {other:?}; \
                         use `zkprof reproduce --reference FILE` for it alone"
                    ))
                    .into())
                }
            }
        }
    };
    let output = args.output.clone().unwrap_or_else(|| match args.format {
        Format::Html => PathBuf::from("report.html"),
        _ => PathBuf::from("-"),
    });
    write_output(&output, &bytes)?;
    if output.as_os_str() != "-" {
        eprintln!("report: {}", output.display());
        if args.open {
            let abs = std::path::absolute(&output).unwrap_or_else(|_| output.clone());
            open_in_browser(&abs);
        }
    }
    Ok(crate::error::EXIT_OK)
}
