//! An image build context (`images/<framework>/`): its files, their content hash and a
//! deterministic tar of them.
//!
//! The content hash names the image (`zkprof/<framework>:ctx-<hash>`), so a context whose
//! bytes and build arguments are unchanged maps to the same tag and is not rebuilt.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Version of the hashing scheme; bump it when the hash input changes.
const HASH_SCHEME: &str = "zkprof-context-v1";

/// One regular file of a context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextFile {
    /// Path relative to the context root, with `/` separators.
    pub path: String,
    /// Unix permission bits (only the executable bit matters to builds).
    pub mode: u32,
    pub bytes: Vec<u8>,
}

/// A build context read into memory (recipes are a few small files).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    pub dir: PathBuf,
    /// Sorted by path.
    pub files: Vec<ContextFile>,
}

impl Context {
    /// Reads every regular file below `dir` (skipping `.git` and dot-directories).
    /// Errors name the path that failed.
    pub fn load(dir: &Path) -> Result<Context, String> {
        let mut files = Vec::new();
        walk(dir, dir, &mut files)?;
        files.sort_by(|a, b| a.path.cmp(&b.path));
        if !files.iter().any(|f| f.path == "Dockerfile") {
            return Err(format!("{} has no Dockerfile", dir.display()));
        }
        Ok(Context {
            dir: dir.to_path_buf(),
            files,
        })
    }

    /// SHA-256 (hex) over the scheme, every file's path, mode and bytes, and the build
    /// arguments: equal hashes mean an equal build input.
    pub fn hash(&self, build_args: &BTreeMap<String, String>) -> String {
        let mut h = Sha256::new();
        h.update(HASH_SCHEME.as_bytes());
        for f in &self.files {
            h.update([0u8]);
            h.update(f.path.as_bytes());
            h.update([0u8]);
            h.update((f.mode & 0o111 != 0).to_string().as_bytes());
            h.update([0u8]);
            h.update((f.bytes.len() as u64).to_le_bytes());
            h.update(&f.bytes);
        }
        for (k, v) in build_args {
            h.update([1u8]);
            h.update(k.as_bytes());
            h.update([0u8]);
            h.update(v.as_bytes());
        }
        hex::encode(h.finalize())
    }

    /// SHA-256 of each file, keyed by its path (recorded in results as lock hashes).
    pub fn file_hashes(&self) -> BTreeMap<String, String> {
        self.files
            .iter()
            .map(|f| (f.path.clone(), hex::encode(Sha256::digest(&f.bytes))))
            .collect()
    }

    /// The `Dockerfile` text.
    pub fn dockerfile(&self) -> &str {
        self.files
            .iter()
            .find(|f| f.path == "Dockerfile")
            .map(|f| std::str::from_utf8(&f.bytes).unwrap_or(""))
            .unwrap_or("")
    }

    /// A tar of the context with fixed owners and times (same bytes for the same files).
    pub fn tar(&self) -> Result<Vec<u8>, String> {
        let mut builder = tar::Builder::new(Vec::new());
        for f in &self.files {
            let mut header = tar::Header::new_gnu();
            header.set_size(f.bytes.len() as u64);
            header.set_mode(if f.mode & 0o111 != 0 { 0o755 } else { 0o644 });
            header.set_mtime(0);
            header.set_uid(0);
            header.set_gid(0);
            header.set_entry_type(tar::EntryType::Regular);
            builder
                .append_data(&mut header, &f.path, f.bytes.as_slice())
                .map_err(|e| format!("cannot pack {} into the build context: {e}", f.path))?;
        }
        builder
            .into_inner()
            .map_err(|e| format!("cannot finish the build context tar: {e}"))
    }

    /// The value of a `# zkprof: KEY VALUE` directive in the Dockerfile, if present.
    pub fn directive(&self, key: &str) -> Option<String> {
        directive(self.dockerfile(), key)
    }

    /// The default of `ARG name=default` in the Dockerfile, if it has one.
    pub fn arg_default(&self, name: &str) -> Option<String> {
        arg_default(self.dockerfile(), name)
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<ContextFile>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        let meta =
            std::fs::metadata(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if meta.is_dir() {
            if !name.starts_with('.') {
                walk(root, &path, out)?;
            }
        } else if meta.is_file() {
            let bytes =
                std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let rel = path
                .strip_prefix(root)
                .map_err(|_| format!("{} is outside {}", path.display(), root.display()))?;
            out.push(ContextFile {
                path: rel.to_string_lossy().replace('\\', "/"),
                mode: meta.permissions().mode(),
                bytes,
            });
        }
    }
    Ok(())
}

/// Reads `# zkprof: KEY VALUE` comment lines of a Dockerfile.
pub fn directive(dockerfile: &str, key: &str) -> Option<String> {
    dockerfile.lines().find_map(|l| {
        let rest = l
            .trim()
            .strip_prefix('#')?
            .trim()
            .strip_prefix("zkprof:")?
            .trim();
        let (k, v) = rest.split_once(char::is_whitespace)?;
        (k == key).then(|| v.trim().to_string())
    })
}

/// The default value of the first `ARG name=default` line.
pub fn arg_default(dockerfile: &str, name: &str) -> Option<String> {
    dockerfile.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("ARG ")?.trim();
        let (k, v) = rest.split_once('=')?;
        (k.trim() == name).then(|| v.trim().trim_matches('"').to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn hash_follows_content_and_args_only() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        for d in [a.path(), b.path()] {
            write(d, "Dockerfile", "FROM x\n");
            write(d, "lock/requirements.txt", "ezkl==1 --hash=sha256:00\n");
        }
        let (ca, cb) = (
            Context::load(a.path()).unwrap(),
            Context::load(b.path()).unwrap(),
        );
        let args = BTreeMap::new();
        assert_eq!(
            ca.hash(&args),
            cb.hash(&args),
            "same bytes in another directory"
        );
        let with_arg = BTreeMap::from([("BASE".to_string(), "img".to_string())]);
        assert_ne!(ca.hash(&args), ca.hash(&with_arg));
        write(
            b.path(),
            "lock/requirements.txt",
            "ezkl==2 --hash=sha256:00\n",
        );
        let cb2 = Context::load(b.path()).unwrap();
        assert_ne!(ca.hash(&args), cb2.hash(&args));
        assert_eq!(cb2.file_hashes().len(), 2);
    }

    #[test]
    fn tar_is_deterministic_and_holds_every_file() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "Dockerfile", "FROM x\n");
        write(d.path(), "a/b.txt", "hello");
        write(d.path(), ".git/config", "ignored");
        let c = Context::load(d.path()).unwrap();
        let t1 = c.tar().unwrap();
        assert_eq!(t1, Context::load(d.path()).unwrap().tar().unwrap());
        let mut ar = tar::Archive::new(t1.as_slice());
        let names: Vec<String> = ar
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, vec!["Dockerfile", "a/b.txt"]);
    }

    #[test]
    fn missing_dockerfile_is_named() {
        let d = tempfile::tempdir().unwrap();
        let e = Context::load(d.path()).unwrap_err();
        assert!(e.contains("has no Dockerfile"), "{e}");
    }

    #[test]
    fn directives_and_arg_defaults() {
        let df =
            "# zkprof: build-network host\nARG BASE=debian:bookworm-slim@sha256:ab\nFROM ${BASE}\n";
        assert_eq!(directive(df, "build-network").as_deref(), Some("host"));
        assert_eq!(directive(df, "other"), None);
        assert_eq!(
            arg_default(df, "BASE").as_deref(),
            Some("debian:bookworm-slim@sha256:ab")
        );
        assert_eq!(arg_default(df, "NOPE"), None);
    }
}
