//! Reading and writing results files: atomic writes, clear errors on bad files.

use crate::error::UserError;
use crate::results::migrate::{self, RESULTS_SCHEMA_V1};
use crate::results::{ResultsFile, RESULTS_SCHEMA};
use std::path::Path;

/// Writes `bytes` to `path` by the rules of [`crate::output`]: a regular file (or nothing)
/// is replaced atomically (temporary file, fsync, rename; a reader never sees a
/// half-written file, a crash leaves the old one); a symlink, device or FIFO is written
/// through; `-` is stdout. New files get `0666` less the umask.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    crate::output::write_file(path, bytes)
}

/// Checks that `dir` exists or can be made, and that a file can be written in it.
pub fn ensure_writable_dir(dir: &Path) -> Result<(), UserError> {
    std::fs::create_dir_all(dir).map_err(|e| {
        UserError::Input(format!(
            "cannot create output directory {}: {e}; choose another with --out",
            dir.display()
        ))
    })?;
    crate::output::temp_file_in(dir).map(drop).map_err(|e| {
        UserError::Input(format!(
            "output directory {} is not writable: {e}; choose another with --out",
            dir.display()
        ))
    })
}

/// Checks that the file `path` can be written (its directory exists or can be made).
/// A target that is written through (`-`, a symlink, device or FIFO) is not probed: no
/// file is made beside it (as root, beside `/dev/null` would be `/dev`).
pub fn ensure_writable_file(path: &Path) -> Result<(), UserError> {
    match crate::output::classify(path) {
        Ok(crate::output::Target::Replace) | Err(_) => {}
        Ok(crate::output::Target::Directory) => {
            return Err(UserError::Input(format!(
                "cannot write {}: it is a directory; name a file",
                path.display()
            )))
        }
        Ok(_) => return Ok(()),
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    ensure_writable_dir(dir).map_err(|_| {
        UserError::Input(format!(
            "cannot write {}: its directory is missing or not writable",
            path.display()
        ))
    })
}

/// Loads a results file, with errors that name the file and say what is wrong.
pub fn load_results(path: &Path) -> Result<ResultsFile, UserError> {
    let text =
        crate::input::read_capped_text(path, crate::limits::MAX_RESULTS_BYTES, "results file")
            .map_err(|e| {
                UserError::Input(format!("cannot read results file {}: {e}", path.display()))
            })?;
    if text.trim().is_empty() {
        return Err(UserError::Input(format!(
            "{}: empty file, not a zkprof results file",
            path.display()
        )));
    }
    // Fast path: a valid file goes straight into the typed schema (no intermediate `Value`
    // tree: files of 10,000 cells are 100+ MiB). Anything else takes the checks below,
    // which say precisely what is wrong.
    if let Ok(mut r) = serde_json::from_str::<ResultsFile>(&text) {
        if r.schema == RESULTS_SCHEMA || r.schema == RESULTS_SCHEMA_V1 {
            migrate::upgrade(&mut r);
            return Ok(r);
        }
    }
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        UserError::Input(format!(
            "{}:{}:{}: not valid JSON ({e}); the file may be truncated",
            path.display(),
            e.line(),
            e.column()
        ))
    })?;
    match value.get("schema").and_then(|s| s.as_str()) {
        Some(RESULTS_SCHEMA) | Some(RESULTS_SCHEMA_V1) => {}
        Some(other) => {
            return Err(UserError::Input(format!(
                "{}: schema \"{other}\" is not supported; this zkprof reads \"{RESULTS_SCHEMA}\" \
                 and \"{RESULTS_SCHEMA_V1}\"",
                path.display()
            )))
        }
        None => {
            return Err(UserError::Input(format!(
                "{}: no \"schema\" field; not a zkprof results file",
                path.display()
            )))
        }
    }
    let mut r: ResultsFile = serde_json::from_value(value).map_err(|e| {
        UserError::Input(format!(
            "{}: does not match {RESULTS_SCHEMA}: {e}",
            path.display()
        ))
    })?;
    migrate::upgrade(&mut r);
    Ok(r)
}

/// Serializes and writes a results file atomically.
pub fn save_results(path: &Path, results: &ResultsFile) -> std::io::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(results).map_err(std::io::Error::other)?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// Before a new run or merge writes `path`: when it holds a results file with finished
/// cells, renames it to `results.<its update time>.json` beside it (never over another file)
/// and returns the new path and how many finished cells it holds. A finished result is never
/// replaced by a rerun. Nothing happens to a missing file or one without finished cells.
pub fn keep_previous(path: &Path) -> Result<Option<(std::path::PathBuf, usize)>, UserError> {
    if !path.is_file() {
        return Ok(None);
    }
    let Ok(old) = load_results(path) else {
        return Ok(None);
    };
    let finished = old.cells.iter().filter(|c| c.status.is_finished()).count();
    if finished == 0 {
        return Ok(None);
    }
    let stamp: String = old
        .updated_at
        .chars()
        .take(19)
        .map(|c| if c.is_ascii_digit() { c } else { '-' })
        .collect();
    let stem = path
        .file_stem()
        .map_or("results".into(), |s| s.to_string_lossy().into_owned());
    let dir = path.parent().unwrap_or(Path::new("."));
    let stamp = if stamp.is_empty() {
        "previous".into()
    } else {
        stamp
    };
    for n in 1..1000 {
        let name = match n {
            1 => format!("{stem}.{stamp}.json"),
            n => format!("{stem}.{stamp}-{n}.json"),
        };
        let kept = dir.join(name);
        if kept.exists() {
            continue;
        }
        // A hard link, then the old name goes: the file is never absent, never overwritten.
        std::fs::hard_link(path, &kept).map_err(|e| {
            UserError::Input(format!(
                "cannot keep the previous results {} as {}: {e}; move it away or use --resume",
                path.display(),
                kept.display()
            ))
        })?;
        std::fs::remove_file(path)
            .map_err(|e| UserError::Input(format!("cannot move {} aside: {e}", path.display())))?;
        return Ok(Some((kept, finished)));
    }
    Err(UserError::Input(format!(
        "{} has 999 kept copies beside it; move some away",
        path.display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_v1_load_as_v2_with_their_charged_peaks_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v1.json");
        std::fs::write(&p, include_str!("../tests/fixtures/reports/a.json")).unwrap();
        let r = load_results(&p).unwrap();
        assert_eq!(r.schema, RESULTS_SCHEMA);
        assert!(r.warnings.iter().any(|w| w.contains("results v1")));
        let step = &r.cells[0].repetitions[0].steps[0];
        assert!(step.peak_charged_bytes.is_some());
        assert!(step.peak_tree_bytes <= step.peak_tree_rss_bytes.max(step.peak_process_bytes));
    }

    #[test]
    fn bad_results_files_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("empty.json", "", "empty file"),
            (
                "trunc.json",
                "{\"schema\": \"zkprof/results/v1\", \"cells\": [",
                "not valid JSON",
            ),
            (
                "other.json",
                "{\"schema\": \"zkprof/results/v9\"}",
                "not supported",
            ),
            ("none.json", "{\"a\": 1}", "no \"schema\""),
        ];
        for (name, body, expect) in cases {
            let p = dir.path().join(name);
            std::fs::write(&p, body).unwrap();
            let err = load_results(&p).unwrap_err().to_string();
            assert!(err.contains(name) && err.contains(expect), "{err}");
        }
    }

    #[test]
    fn atomic_write_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
