//! `zkprof merge FILE... -o OUT`: combine the results of shards or machines into one file.

use super::GlobalArgs;
use crate::error::{UserError, EXIT_OK};
use crate::merge::{abbreviate, merge, DuplicatePolicy, MergeInput, MergeOptions};
use crate::results::CellStatus;
use clap::{Args, ValueEnum};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Results files (or directories holding a results.json), e.g. the artifacts of every shard.
    #[arg(required = true, value_name = "RESULTS")]
    pub inputs: Vec<PathBuf>,
    /// The merged results file to write (may be one of the inputs).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Merge results of different suites or suite versions (refused by default).
    #[arg(long)]
    pub allow_different_suites: bool,
    /// What to do when two inputs hold different runs of the same cell.
    #[arg(long, value_enum, default_value_t = DuplicatesArg::Error)]
    pub duplicates: DuplicatesArg,
    /// Fail (exit 2) when a cell of a shard's plan is in no input.
    #[arg(long)]
    pub complete: bool,
}

/// `--duplicates` values.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum DuplicatesArg {
    /// Refuse to merge, naming the cell and both files.
    Error,
    /// Keep a finished run over an interrupted one, then the one that finished last.
    Newest,
}

/// `DIR` means `DIR/results.json`.
fn results_path(p: &Path) -> PathBuf {
    if p.is_dir() {
        p.join("results.json")
    } else {
        p.to_path_buf()
    }
}

pub fn run(_global: &GlobalArgs, args: &MergeArgs) -> anyhow::Result<i32> {
    // The same file twice (by path or by content) is a mistake, not a merge.
    let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut inputs = Vec::new();
    for given in &args.inputs {
        let path = results_path(given);
        let bytes =
            crate::input::read_capped(&path, crate::limits::MAX_RESULTS_BYTES, "results file")
                .map_err(|e| {
                    UserError::Input(format!("cannot read results file {}: {e}", path.display()))
                })?;
        let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        let digest = hex::encode(Sha256::digest(&bytes));
        for key in [
            format!("path:{}", canonical.display()),
            format!("sha256:{digest}"),
        ] {
            if let Some(earlier) = seen.get(&key) {
                let how = if key.starts_with("path:") {
                    "the same file"
                } else {
                    "identical copies"
                };
                return Err(UserError::Input(format!(
                    "{} and {} are {how}; give each results file once",
                    earlier.display(),
                    path.display()
                ))
                .into());
            }
            seen.insert(key, path.clone());
        }
        let results = crate::store::load_results(&path)?;
        inputs.push(MergeInput { path, results });
    }
    crate::store::ensure_writable_file(&args.output)?;
    let opts = MergeOptions {
        allow_different_suites: args.allow_different_suites,
        duplicates: match args.duplicates {
            DuplicatesArg::Error => DuplicatePolicy::Error,
            DuplicatesArg::Newest => DuplicatePolicy::Newest,
        },
    };
    let out = merge(&inputs, &opts).map_err(|e| UserError::Input(e.to_string()))?;
    if args.complete && !out.missing_cells.is_empty() {
        return Err(UserError::Input(format!(
            "--complete: {} cell(s) of the plan are in no input: {}; add the missing shards' results",
            out.missing_cells.len(),
            abbreviate(&out.missing_cells, 20)
        ))
        .into());
    }
    // An existing results file that is not an input keeps its cells: moved aside, not lost.
    let is_input = inputs.iter().any(|i| {
        i.path == args.output
            || (i.path.canonicalize().ok().is_some()
                && i.path.canonicalize().ok() == args.output.canonicalize().ok())
    });
    if args.output.as_os_str() != "-" && !is_input {
        if let Some((kept, n)) = crate::store::keep_previous(&args.output)? {
            eprintln!(
                "kept the previous {} ({n} finished cell(s)) as {}",
                args.output.display(),
                kept.display()
            );
        }
    }
    crate::store::save_results(&args.output, &out.merged)
        .map_err(|e| UserError::Input(format!("cannot write {}: {e}", args.output.display())))?;

    let m = &out.merged;
    let count = |s: CellStatus| m.cells.iter().filter(|c| c.status == s).count();
    let hosts: Vec<String> = std::iter::once(&m.host)
        .chain(m.other_hosts.values())
        .map(|h| {
            let short: String = h.fingerprint_id.chars().take(8).collect();
            match h.hostname.as_str() {
                "" => short,
                name => format!("{} ({short})", crate::terminal::escape(name)),
            }
        })
        .collect();
    // With `-o -` the document alone goes to stdout; the summary to stderr.
    let mut summary = format!(
        "merged {} file(s) into {}: {} cells (ok {}, failed {}, unsupported {}, interrupted {}, skipped {}) from {} host(s): {}\n",
        inputs.len(),
        args.output.display(),
        m.cells.len(),
        count(CellStatus::Ok),
        count(CellStatus::Failed),
        count(CellStatus::Unsupported),
        count(CellStatus::Interrupted),
        count(CellStatus::Skipped),
        hosts.len(),
        hosts.join(", ")
    );
    if !out.identical_duplicates.is_empty() {
        summary.push_str(&format!(
            "  {} cell(s) were in several files as the same run and are kept once\n",
            out.identical_duplicates.len()
        ));
    }
    for (id, kept, dropped) in &out.replaced {
        summary.push_str(&format!(
            "  cell {}: kept the run from {kept}, dropped the one from {dropped} (--duplicates newest)\n",
            crate::terminal::escape(id)
        ));
    }
    if args.output.as_os_str() == "-" {
        eprint!("{summary}");
    } else {
        print!("{summary}");
    }
    if !out.missing_shards.is_empty() {
        eprintln!(
            "warning: missing shard(s): {}",
            out.missing_shards.join(", ")
        );
    }
    if !out.missing_cells.is_empty() {
        eprintln!(
            "warning: {} cell(s) of the plan are in no input: {}",
            out.missing_cells.len(),
            abbreviate(&out.missing_cells, 20)
        );
    }
    Ok(EXIT_OK)
}
