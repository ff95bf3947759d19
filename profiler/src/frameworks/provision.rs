//! Installing toolchains into the cache: a Python venv with pinned wheels, an npm tree
//! from a lock file. Each environment is a directory under `<cache>/envs/` that is complete
//! once its `.zkprof-ready` marker exists; a half-made one is wiped and made again.

use super::FrameworkError;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The marker written last into a finished environment.
pub const READY: &str = ".zkprof-ready";

/// The first `prog` on PATH.
pub fn which(prog: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(prog))
        .find(|p| {
            p.is_file() && std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
        })
}

/// Runs a provisioning command (unmeasured); on failure the error quotes the end of its output.
pub fn run(argv: &[&str], cwd: Option<&Path>, what: &str) -> Result<String, FrameworkError> {
    run_env(argv, cwd, &[], what)
}

/// [`run`] with extra environment variables.
pub fn run_env(
    argv: &[&str],
    cwd: Option<&Path>,
    env: &[(String, String)],
    what: &str,
) -> Result<String, FrameworkError> {
    run_logged(argv, cwd, env, what, None).map_err(|(e, _)| e)
}

/// [`run_env`] that keeps the whole output: written to `log` when given (its path is then
/// named in the error), and handed back with the error, so a caller can look for a known
/// failure anywhere in it, not only in the quoted tail.
pub fn run_logged(
    argv: &[&str],
    cwd: Option<&Path>,
    env: &[(String, String)],
    what: &str,
    log: Option<&Path>,
) -> Result<String, (FrameworkError, String)> {
    let mut cmd = Command::new(argv[0]);
    cmd.args(&argv[1..]);
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    if let Some(d) = cwd {
        cmd.current_dir(d);
    }
    // Supervised like a step: killed with zkprof, nothing left behind (see `helper.rs`).
    let out = crate::measure::helper::output(&mut cmd).map_err(|e| {
        (
            FrameworkError::Failed(format!("{what}: cannot run `{}`: {e}", argv[0])),
            String::new(),
        )
    })?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let kept = log.and_then(|p| std::fs::write(p, &text).ok().map(|_| p));
    if !out.status.success() {
        let tail: Vec<&str> = text
            .lines()
            .rev()
            .take(6)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let whole = kept.map_or(String::new(), |p| {
            format!(" (whole output: {})", p.display())
        });
        let e = FrameworkError::Failed(format!(
            "{what} failed ({}): `{}`: {}{whole}",
            out.status,
            argv.join(" "),
            tail.join(" | ")
        ));
        return Err((e, text));
    }
    Ok(text)
}

/// Makes `dir` (an environment) with `build` unless it is ready, showing `what` as a phase
/// on the terminal (one line each at start and end otherwise); returns the seconds
/// provisioning took, or `None` when it was already there.
pub fn ensure_env(
    dir: &Path,
    what: &str,
    build: impl FnOnce(&Path) -> Result<(), FrameworkError>,
) -> Result<Option<f64>, FrameworkError> {
    if dir.join(READY).exists() {
        return Ok(None);
    }
    let phase = crate::phase::Phase::start(what);
    let result = make_env(dir, build);
    phase.finish(if result.is_ok() { "done" } else { "failed" });
    result
}

fn make_env(
    dir: &Path,
    build: impl FnOnce(&Path) -> Result<(), FrameworkError>,
) -> Result<Option<f64>, FrameworkError> {
    let t = Instant::now();
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| {
            FrameworkError::Failed(format!(
                "cannot remove the unfinished environment {}: {e}",
                dir.display()
            ))
        })?;
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| FrameworkError::Failed(format!("cannot create {}: {e}", dir.display())))?;
    if let Err(e) = build(dir) {
        let _ = std::fs::remove_dir_all(dir);
        return Err(e);
    }
    std::fs::write(dir.join(READY), chrono::Utc::now().to_rfc3339()).map_err(|e| {
        FrameworkError::Failed(format!("cannot write {}: {e}", dir.join(READY).display()))
    })?;
    Ok(Some(t.elapsed().as_secs_f64()))
}

/// Writes `text` to `path` unless it already holds exactly that.
pub fn write_if_changed(path: &Path, text: &str) -> Result<(), FrameworkError> {
    if std::fs::read_to_string(path).is_ok_and(|t| t == text) {
        return Ok(());
    }
    std::fs::write(path, text)
        .map_err(|e| FrameworkError::Failed(format!("cannot write {}: {e}", path.display())))
}

/// A cell setting as text (`None` when absent).
pub fn setting_str(cell: &crate::suite::Cell, key: &str) -> Option<String> {
    cell.settings.get(key).map(|v| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

/// A cell setting that must be one of `valid` (`default` when absent); the error names the
/// framework (`label`), the setting, the value and the valid ones.
pub fn setting_choice(
    cell: &crate::suite::Cell,
    label: &str,
    key: &str,
    default: &str,
    valid: &[&str],
) -> Result<String, FrameworkError> {
    let v = setting_str(cell, key).unwrap_or_else(|| default.to_string());
    if valid.contains(&v.as_str()) {
        Ok(v)
    } else {
        Err(FrameworkError::Failed(format!(
            "{label} setting `{key}` = `{v}`: valid values are {}",
            valid.join(", ")
        )))
    }
}

/// A cell setting as an unsigned integer, with a clear error for other values.
pub fn setting_u64(cell: &crate::suite::Cell, key: &str) -> Result<Option<u64>, FrameworkError> {
    match cell.settings.get(key) {
        None => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| {
            FrameworkError::Failed(format!(
                "setting `{key}` of framework `{}` must be a whole number, got {v}",
                cell.framework.name
            ))
        }),
    }
}
