//! Where zkprof keeps things between runs.

use std::path::PathBuf;

/// The cache directory: `$ZKPROF_CACHE`, else `$XDG_CACHE_HOME/zkprof`, else `~/.cache/zkprof`,
/// else `.zkprof-cache` in the working directory. Environments (venvs, npm trees),
/// datasets, trained models and proving artifacts live below it, one subdirectory each.
/// Made (with zkprof's cache marker, see [`crate::cache_marker`]) when missing.
pub fn cache_dir() -> PathBuf {
    let dir = cache_dir_path();
    crate::cache_marker::ensure_marked(&dir);
    dir
}

/// Where the cache is, without making it (for `cache ls` and `cache clear`).
pub fn cache_dir_path() -> PathBuf {
    if let Some(p) = std::env::var_os("ZKPROF_CACHE").filter(|v| !v.is_empty()) {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(p).join("zkprof");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home).join(".cache/zkprof");
    }
    PathBuf::from(".zkprof-cache")
}

/// The repository's `shared/` data directory beside the checkout, when present
/// (`<repo>/../shared`): the real MNIST test set, finished powers of tau and the 2024
/// reference table. Tests use it when it exists and generate small data otherwise.
/// `$ZKPROF_SHARED` overrides the location (a checkout elsewhere than beside `shared/`).
pub fn shared_dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ZKPROF_SHARED").filter(|v| !v.is_empty()) {
        let p = PathBuf::from(p);
        return p.is_dir().then_some(p);
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared");
    p.is_dir().then(|| p.canonicalize().unwrap_or(p))
}
