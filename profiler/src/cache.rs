//! The content-addressed artifact cache.
//!
//! Proving artifacts (settings, compiled circuits, keys, SRS/ptau) live in
//! `<cache>/artifacts/<framework>/<key>/`, where `key` is the SHA-256 of the framework
//! version, the model's SHA-256 and the canonical settings (see [`cache_key`]). An entry is
//! complete when its `zkprof-cache.json` manifest exists; the manifest holds the SHA-256 and
//! size of every file, so a corrupt or truncated artifact is detected ([`Entry::state`]) and
//! the entry rebuilt. A directory without a manifest is an interrupted build and is wiped.
//! Toolchains (venvs, npm trees) live beside it in `<cache>/envs/`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The manifest file of an entry.
pub const MANIFEST: &str = "zkprof-cache.json";

/// The key of an artifact: SHA-256 (hex) over its identifying parts, each length-prefixed
/// so that no two different part lists hash alike.
pub fn cache_key(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

/// SHA-256 (hex) and size in bytes of a file, streamed.
pub fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        n += k as u64;
        h.update(&buf[..k]);
    }
    Ok((hex::encode(h.finalize()), n))
}

/// One file of an entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileHash {
    pub sha256: String,
    /// Size, bytes.
    pub bytes: u64,
}

/// What an entry holds and what it was made from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub framework: String,
    pub version: String,
    /// SHA-256 of the model (or of the circuit source), when the entry belongs to one.
    #[serde(default)]
    pub model_sha256: String,
    #[serde(default)]
    pub settings: serde_json::Value,
    pub created_at: String,
    /// Relative path -> hash.
    pub files: BTreeMap<String, FileHash>,
    /// Facts learnt while building (constraint counts, SRS label, ...).
    #[serde(default)]
    pub meta: BTreeMap<String, String>,
}

/// The state of an entry on disk.
#[derive(Clone, Debug, PartialEq)]
pub enum EntryState {
    /// No directory.
    Missing,
    /// A directory without a manifest: a build that did not finish.
    Incomplete,
    /// A file is missing or does not match its hash; the text says which.
    Corrupt(String),
    /// Every file matches its manifest.
    Complete(Manifest),
}

/// One cache entry (a directory).
#[derive(Clone, Debug)]
pub struct Entry {
    pub dir: PathBuf,
}

impl Entry {
    /// The entry at `<root>/<framework>/<key>`.
    pub fn new(root: &Path, framework: &str, key: &str) -> Entry {
        Entry {
            dir: root.join(framework).join(key),
        }
    }

    /// A path inside the entry.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// The manifest, if present and readable (no hash check).
    pub fn manifest(&self) -> Option<Manifest> {
        let text = std::fs::read_to_string(self.dir.join(MANIFEST)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Checks every file against the manifest.
    pub fn state(&self) -> EntryState {
        if !self.dir.is_dir() {
            return EntryState::Missing;
        }
        let Some(m) = self.manifest() else {
            return if self.dir.join(MANIFEST).exists() {
                EntryState::Corrupt(format!("{MANIFEST} is unreadable"))
            } else {
                EntryState::Incomplete
            };
        };
        for (rel, want) in &m.files {
            match hash_file(&self.dir.join(rel)) {
                Ok((sha, bytes)) if sha == want.sha256 && bytes == want.bytes => {}
                Ok((sha, bytes)) => {
                    return EntryState::Corrupt(format!(
                        "{rel}: sha256 {}… ({bytes} bytes) does not match the manifest's {}… ({} bytes)",
                        &sha[..12],
                        &want.sha256[..want.sha256.len().min(12)],
                        want.bytes
                    ))
                }
                Err(e) => return EntryState::Corrupt(format!("{rel}: {e}")),
            }
        }
        EntryState::Complete(m)
    }
    /// Looks the entry up and records the outcome in `info["cache"]` (`hit KEY`, `miss KEY`,
    /// or why a damaged entry is rebuilt, with the first 12 characters of `key`). A miss
    /// resets the entry for rebuilding; a hit returns its manifest.
    pub fn lookup(
        &self,
        key: &str,
        info: &mut BTreeMap<String, String>,
    ) -> Result<Option<Manifest>, String> {
        let short = &key[..key.len().min(12)];
        let why = match self.state() {
            EntryState::Complete(m) => {
                info.insert("cache".into(), format!("hit {short}"));
                return Ok(Some(m));
            }
            EntryState::Corrupt(why) => format!("miss (corrupt entry rebuilt: {why})"),
            EntryState::Incomplete => "miss (unfinished entry rebuilt)".into(),
            _ => "miss".into(),
        };
        info.insert("cache".into(), format!("{why} {short}"));
        self.reset()
            .map_err(|e| format!("cannot reset cache entry {}: {e}", self.dir.display()))?;
        Ok(None)
    }

    /// Makes an empty directory for a build, removing whatever was there.
    pub fn reset(&self) -> std::io::Result<()> {
        if self.dir.exists() {
            std::fs::remove_dir_all(&self.dir)?;
        }
        std::fs::create_dir_all(&self.dir)
    }

    /// Hashes `files` (relative paths; symlinks are followed) and writes the manifest,
    /// which marks the entry complete. Written last and atomically.
    pub fn seal(&self, mut manifest: Manifest, files: &[&str]) -> std::io::Result<Manifest> {
        manifest.files.clear();
        for rel in files {
            let (sha256, bytes) = hash_file(&self.dir.join(rel)).map_err(|e| {
                std::io::Error::new(e.kind(), format!("{}: {e}", self.dir.join(rel).display()))
            })?;
            manifest
                .files
                .insert((*rel).to_string(), FileHash { sha256, bytes });
        }
        let text = serde_json::to_string_pretty(&manifest).map_err(std::io::Error::other)?;
        let tmp = self.dir.join(format!("{MANIFEST}.tmp"));
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, self.dir.join(MANIFEST))?;
        Ok(manifest)
    }
}

/// A row of `zkprof cache ls`.
#[derive(Clone, Debug, Serialize)]
pub struct Listed {
    pub framework: String,
    pub key: String,
    pub path: String,
    /// Total size of the directory, bytes.
    pub bytes: u64,
    /// `complete`, `incomplete`, `corrupt: why` (with `--verify`), or `unverified`.
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Manifest>,
}

/// Size of a directory tree, bytes (symlinks not followed).
pub fn dir_bytes(p: &Path) -> u64 {
    let Ok(md) = std::fs::symlink_metadata(p) else {
        return 0;
    };
    if !md.is_dir() {
        return md.len();
    }
    std::fs::read_dir(p)
        .map(|rd| rd.flatten().map(|e| dir_bytes(&e.path())).sum())
        .unwrap_or(0)
}

/// Every entry under `root` (`<root>/<framework>/<key>`), sorted; `verify` re-hashes files.
pub fn list(root: &Path, verify: bool) -> Vec<Listed> {
    let mut out = Vec::new();
    let Ok(fws) = std::fs::read_dir(root) else {
        return out;
    };
    for fw in fws.flatten().filter(|e| e.path().is_dir()) {
        let Ok(keys) = std::fs::read_dir(fw.path()) else {
            continue;
        };
        for k in keys.flatten().filter(|e| e.path().is_dir()) {
            let entry = Entry { dir: k.path() };
            let manifest = entry.manifest();
            let state = if verify {
                match entry.state() {
                    EntryState::Complete(_) => "complete".into(),
                    EntryState::Corrupt(why) => format!("corrupt: {why}"),
                    EntryState::Incomplete => "incomplete".into(),
                    EntryState::Missing => "missing".into(),
                }
            } else if manifest.is_some() {
                "complete (unverified)".into()
            } else {
                "incomplete".into()
            };
            out.push(Listed {
                framework: fw.file_name().to_string_lossy().into_owned(),
                key: k.file_name().to_string_lossy().into_owned(),
                path: k.path().display().to_string(),
                bytes: dir_bytes(&k.path()),
                state,
                manifest,
            });
        }
    }
    out.sort_by(|a, b| (&a.framework, &a.key).cmp(&(&b.framework, &b.key)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Manifest {
        Manifest {
            framework: "t".into(),
            version: "1".into(),
            model_sha256: String::new(),
            settings: serde_json::Value::Null,
            created_at: String::new(),
            files: BTreeMap::new(),
            meta: BTreeMap::new(),
        }
    }

    #[test]
    fn keys_separate_parts() {
        assert_ne!(cache_key(&["ab", "c"]), cache_key(&["a", "bc"]));
        assert_eq!(cache_key(&["x"]), cache_key(&["x"]));
        assert_eq!(cache_key(&["x"]).len(), 64);
    }

    #[test]
    fn lifecycle_detects_corruption() {
        let d = tempfile::tempdir().unwrap();
        let e = Entry::new(d.path(), "fw", "k1");
        assert_eq!(e.state(), EntryState::Missing);
        e.reset().unwrap();
        assert_eq!(e.state(), EntryState::Incomplete);
        std::fs::write(e.path("a.bin"), b"hello").unwrap();
        e.seal(manifest(), &["a.bin"]).unwrap();
        assert!(matches!(e.state(), EntryState::Complete(m) if m.files["a.bin"].bytes == 5));
        std::fs::write(e.path("a.bin"), b"hellp").unwrap();
        match e.state() {
            EntryState::Corrupt(why) => assert!(why.starts_with("a.bin: sha256"), "{why}"),
            s => panic!("{s:?}"),
        }
        std::fs::remove_file(e.path("a.bin")).unwrap();
        assert!(matches!(e.state(), EntryState::Corrupt(_)));
        let rows = list(d.path(), true);
        assert_eq!(rows.len(), 1);
        assert!(rows[0].state.starts_with("corrupt"), "{}", rows[0].state);
        e.reset().unwrap();
        assert_eq!(e.state(), EntryState::Incomplete);
        assert!(e.seal(manifest(), &["nope"]).is_err());
    }
}
