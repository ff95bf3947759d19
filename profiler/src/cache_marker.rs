//! The marker that makes a directory zkprof's cache, and deletion confined to it.
//!
//! zkprof writes a `CACHEDIR.TAG` (the Cache Directory Tagging Specification, so backup
//! tools skip the cache) naming zkprof when it creates the cache directory, or finds it
//! empty. `zkprof cache clear` deletes only inside a directory that carries this marker,
//! and only paths that resolve inside it: `ZKPROF_CACHE=$HOME` or a hostile
//! `--framework ../x` can delete nothing else.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// The marker file's name.
pub const MARKER: &str = "CACHEDIR.TAG";
/// The first line the specification requires.
const SIGNATURE: &str = "Signature: 8a477f597d28d172789f06886806bc55";
/// The line that says the cache is zkprof's.
const OWNER_LINE: &str = "# This file is a cache directory tag created by zkprof.";

/// The marker's full text.
pub fn marker_text() -> String {
    format!(
        "{SIGNATURE}\n{OWNER_LINE}\n# For information about cache directory tags see https://bford.info/cachedir/\n"
    )
}

/// Makes `dir` a marked zkprof cache when it does not exist yet or is empty (best effort:
/// an unwritable location is reported later by whatever writes into it). A directory that
/// already holds other things is never marked: it was not made by zkprof.
pub fn ensure_marked(dir: &Path) {
    if dir.join(MARKER).exists() {
        return;
    }
    let fresh = match std::fs::read_dir(dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir_all(dir).is_ok(),
        Err(_) => false,
    };
    if fresh {
        let _ = std::fs::write(dir.join(MARKER), marker_text());
    }
}

/// Whether `dir` carries zkprof's marker (a regular file, not a symlink, that starts with
/// the specification's signature and names zkprof).
pub fn is_marked(dir: &Path) -> bool {
    let p = dir.join(MARKER);
    let regular = std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_file());
    if !regular {
        return false;
    }
    let mut text = String::new();
    let read = std::fs::File::open(&p)
        .and_then(|f| f.take(4096).read_to_string(&mut text))
        .is_ok();
    read && text.starts_with(SIGNATURE) && text.contains(OWNER_LINE)
}

/// Why a deletion in the cache was refused.
#[derive(Debug, thiserror::Error)]
pub enum CacheDeleteError {
    #[error(
        "{} is not a zkprof cache (it has no {MARKER} written by zkprof); nothing was deleted. \
         If it is the cache of an older zkprof, remove it by hand",
        .0.display()
    )]
    NotMarked(PathBuf),
    #[error("`{0}` is not a plain name inside the cache; nothing was deleted")]
    NotInside(String),
    #[error("cannot remove {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Removes `cache/rel` (a directory tree, a file or a symlink itself, never its target)
/// and returns the bytes freed. `rel` must be a relative path of plain names; the marked
/// cache and the resolved parent of the target must agree, or nothing is deleted.
pub fn remove_inside(cache: &Path, rel: &Path) -> Result<u64, CacheDeleteError> {
    if !is_marked(cache) {
        return Err(CacheDeleteError::NotMarked(cache.to_path_buf()));
    }
    let plain =
        !rel.as_os_str().is_empty() && rel.components().all(|c| matches!(c, Component::Normal(_)));
    if !plain {
        return Err(CacheDeleteError::NotInside(rel.display().to_string()));
    }
    let target = cache.join(rel);
    let meta = match std::fs::symlink_metadata(&target) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(source) => {
            return Err(CacheDeleteError::Io {
                path: target,
                source,
            })
        }
    };
    let io = |source| CacheDeleteError::Io {
        path: target.clone(),
        source,
    };
    let root = cache.canonicalize().map_err(io)?;
    let parent = target
        .parent()
        .map(Path::canonicalize)
        .transpose()
        .map_err(io)?
        .unwrap_or_else(|| root.clone());
    if !parent.starts_with(&root) {
        return Err(CacheDeleteError::NotInside(rel.display().to_string()));
    }
    if meta.file_type().is_dir() {
        let bytes = crate::cache::dir_bytes(&target);
        std::fs::remove_dir_all(&target).map_err(io)?;
        Ok(bytes)
    } else {
        std::fs::remove_file(&target).map_err(io)?;
        Ok(if meta.file_type().is_file() {
            meta.len()
        } else {
            0
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_or_empty_directory_is_marked_a_full_one_is_not() {
        let d = tempfile::tempdir().unwrap();
        let fresh = d.path().join("new/cache");
        ensure_marked(&fresh);
        assert!(is_marked(&fresh));
        let full = d.path().join("full");
        std::fs::create_dir(&full).unwrap();
        std::fs::write(full.join("thesis.tex"), "x").unwrap();
        ensure_marked(&full);
        assert!(!is_marked(&full));
        // Another tool's tag is not zkprof's.
        std::fs::write(full.join(MARKER), format!("{SIGNATURE}\n# by cargo\n")).unwrap();
        assert!(!is_marked(&full));
    }

    #[test]
    fn deletion_is_confined_to_the_marked_cache() {
        let d = tempfile::tempdir().unwrap();
        let cache = d.path().join("c");
        ensure_marked(&cache);
        let victim = d.path().join("victim");
        std::fs::create_dir_all(&victim).unwrap();
        std::fs::write(victim.join("precious"), "x").unwrap();
        for rel in ["../victim", "/", "", "artifacts/../../victim"] {
            let r = remove_inside(&cache, Path::new(rel));
            assert!(
                matches!(r, Err(CacheDeleteError::NotInside(_))),
                "{rel}: {r:?}"
            );
        }
        // A symlink inside the cache pointing out: the link goes, its target stays.
        std::fs::create_dir_all(cache.join("artifacts")).unwrap();
        std::os::unix::fs::symlink(&victim, cache.join("artifacts/ezkl")).unwrap();
        remove_inside(&cache, Path::new("artifacts/ezkl")).unwrap();
        assert!(victim.join("precious").exists());
        // A symlinked parent that leaves the cache is refused.
        std::fs::remove_dir_all(cache.join("artifacts")).unwrap();
        std::os::unix::fs::symlink(d.path(), cache.join("artifacts")).unwrap();
        let r = remove_inside(&cache, Path::new("artifacts/victim"));
        assert!(matches!(r, Err(CacheDeleteError::NotInside(_))), "{r:?}");
        assert!(victim.join("precious").exists());
        // An unmarked directory is never touched.
        let r = remove_inside(&victim, Path::new("precious"));
        assert!(matches!(r, Err(CacheDeleteError::NotMarked(_))), "{r:?}");
        assert!(victim.join("precious").exists());
        // Inside, it works.
        std::fs::remove_file(cache.join("artifacts")).unwrap();
        std::fs::create_dir_all(cache.join("artifacts/ezkl/k")).unwrap();
        std::fs::write(cache.join("artifacts/ezkl/k/a"), "abc").unwrap();
        assert_eq!(remove_inside(&cache, Path::new("artifacts")).unwrap(), 3);
        assert!(!cache.join("artifacts").exists());
    }
}
