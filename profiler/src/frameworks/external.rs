//! External frameworks: provers that no package registry ships (zkml, opML, Orion, ...).
//!
//! zkprof never builds them and holds none of their code. The user builds upstream by its
//! own instructions; zkprof finds that installation (the framework's `home` in the suite,
//! else `$ZKPROF_<KIND>_HOME`), checks that the files it needs are there, reads the git
//! commit when `.git` is present (recorded in the results; a commit other than the pinned
//! one is a warning, not an error), and `zkprof doctor` says what is found or missing,
//! with the upstream repository, the pinned commit and upstream's build instructions.

use crate::results::SensorStatus;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// What zkprof needs to know about an external framework.
#[derive(Clone, Copy, Debug)]
pub struct External {
    /// The suite kind (`zkml`).
    pub kind: &'static str,
    /// A name for people (`Daniel Kang's zkml`).
    pub label: &'static str,
    /// The upstream repository.
    pub repo: &'static str,
    /// The commit zkprof's adapter was written and checked against.
    pub commit: &'static str,
    /// Where upstream's own build instructions are.
    pub build_doc: &'static str,
    /// One line: how to build it, for messages.
    pub build_hint: &'static str,
    /// Executables the adapter runs, relative to the installation.
    pub binaries: &'static [&'static str],
    /// Other files the adapter needs, relative to the installation.
    pub files: &'static [&'static str],
}

/// A found installation.
#[derive(Clone, Debug, PartialEq)]
pub struct Installation {
    /// Absolute path of the installation.
    pub home: PathBuf,
    /// Where the path came from (`suite`, or the variable's name).
    pub from: String,
    /// The checked-out commit, when `.git` is readable.
    pub commit: Option<String>,
    /// Set when the commit is not the pinned one, or unknown.
    pub warning: Option<String>,
}

impl External {
    /// `ZKPROF_<KIND>_HOME`.
    pub fn env_var(&self) -> String {
        format!("ZKPROF_{}_HOME", self.kind.to_ascii_uppercase())
    }

    /// How to get it, for error messages and `doctor`.
    pub fn how_to_get(&self) -> String {
        format!(
            "build {} at commit {} by upstream's instructions ({}; {}), then set `home` of the framework in the suite or {}",
            self.repo,
            self.commit,
            self.build_doc,
            self.build_hint,
            self.env_var()
        )
    }

    /// Finds and checks the installation: `home` from the suite, else the environment.
    pub fn locate(&self, home: Option<&Path>) -> Result<Installation, String> {
        let var = self.env_var();
        let (home, from) = match home {
            Some(h) => (h.to_path_buf(), "suite".to_string()),
            None => match std::env::var_os(&var).filter(|v| !v.is_empty()) {
                Some(v) => (PathBuf::from(v), var.clone()),
                None => {
                    return Err(format!(
                        "{} not found: no `home` for it in the suite and {var} is not set; {}",
                        self.label,
                        self.how_to_get()
                    ))
                }
            },
        };
        let home = std::path::absolute(&home).unwrap_or(home);
        if !home.is_dir() {
            return Err(format!(
                "{} not found: {} (from {from}) is not a directory; {}",
                self.label,
                home.display(),
                self.how_to_get()
            ));
        }
        let mut missing: Vec<String> = Vec::new();
        for b in self.binaries {
            let p = home.join(b);
            let ok = std::fs::metadata(&p)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
            if !ok {
                missing.push(format!("{b} (executable)"));
            }
        }
        for f in self.files {
            if !home.join(f).is_file() {
                missing.push((*f).to_string());
            }
        }
        if !missing.is_empty() {
            return Err(format!(
                "{} at {} (from {from}) is incomplete: missing {}; {}",
                self.label,
                home.display(),
                missing.join(", "),
                self.how_to_get()
            ));
        }
        let commit = git_head(&home);
        let warning = match &commit {
            Some(c) if c == self.commit => None,
            Some(c) => Some(format!(
                "{} at {} is at commit {c}, not the pinned {}: figures may differ",
                self.label,
                home.display(),
                self.commit
            )),
            None => Some(format!(
                "{} at {} has no readable .git: its commit is unknown (pinned: {})",
                self.label,
                home.display(),
                self.commit
            )),
        };
        Ok(Installation {
            home,
            from,
            commit,
            warning,
        })
    }

    /// For `zkprof doctor`: found (with path and commit) or missing (with how to get it).
    pub fn status(&self) -> SensorStatus {
        match self.locate(None) {
            Ok(i) => SensorStatus::available_with(self.kind, Self::found_line(&i)),
            Err(why) => SensorStatus::unavailable(self.kind, why),
        }
    }

    /// `doctor`'s words for a found installation: path, where it came from, commit, warning.
    pub fn found_line(i: &Installation) -> String {
        format!(
            "{} (from {}), commit {}{}",
            i.home.display(),
            i.from,
            i.commit.as_deref().unwrap_or("unknown"),
            i.warning
                .as_ref()
                .map(|w| format!("; {w}"))
                .unwrap_or_default()
        )
    }
}

/// The commit checked out in `dir` (a git work tree), read from `.git` without running git:
/// `HEAD`, a loose ref, `packed-refs`; `.git` may be a file pointing elsewhere (worktrees).
pub fn git_head(dir: &Path) -> Option<String> {
    let dot = dir.join(".git");
    let gitdir = if dot.is_file() {
        let text = std::fs::read_to_string(&dot).ok()?;
        let p = text.trim().strip_prefix("gitdir:")?.trim().to_string();
        let p = PathBuf::from(p);
        if p.is_absolute() {
            p
        } else {
            dir.join(p)
        }
    } else {
        dot
    };
    // A worktree keeps its refs in the common directory.
    let common = std::fs::read_to_string(gitdir.join("commondir"))
        .ok()
        .map(|c| gitdir.join(c.trim()))
        .unwrap_or_else(|| gitdir.clone());
    let head = std::fs::read_to_string(gitdir.join("HEAD")).ok()?;
    let head = head.trim();
    let Some(r) = head.strip_prefix("ref:") else {
        return is_hash(head).then(|| head.to_string());
    };
    let r = r.trim();
    for base in [&gitdir, &common] {
        if let Ok(h) = std::fs::read_to_string(base.join(r)) {
            let h = h.trim();
            if is_hash(h) {
                return Some(h.to_string());
            }
        }
    }
    let packed = std::fs::read_to_string(common.join("packed-refs")).ok()?;
    packed.lines().find_map(|l| {
        let (h, name) = l.split_once(' ')?;
        (name.trim() == r && is_hash(h)).then(|| h.to_string())
    })
}

fn is_hash(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAKE: External = External {
        kind: "fake",
        label: "Fake prover",
        repo: "https://github.com/example/fake",
        commit: "0123456789abcdef0123456789abcdef01234567",
        build_doc: "https://github.com/example/fake#build",
        build_hint: "cargo build --release",
        binaries: &["target/release/prove"],
        files: &["python/convert.py"],
    };

    #[test]
    fn head_from_detached_ref_and_packed_refs() {
        let d = tempfile::tempdir().unwrap();
        let g = d.path().join(".git");
        std::fs::create_dir_all(g.join("refs/heads")).unwrap();
        std::fs::write(g.join("HEAD"), format!("{}\n", FAKE.commit)).unwrap();
        assert_eq!(git_head(d.path()).as_deref(), Some(FAKE.commit));
        std::fs::write(g.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        assert_eq!(git_head(d.path()), None);
        std::fs::write(
            g.join("packed-refs"),
            format!("# pack-refs\n{} refs/heads/main\n", FAKE.commit),
        )
        .unwrap();
        assert_eq!(git_head(d.path()).as_deref(), Some(FAKE.commit));
        std::fs::write(g.join("refs/heads/main"), format!("{}\n", "a".repeat(40))).unwrap();
        assert_eq!(git_head(d.path()), Some("a".repeat(40)));
    }

    #[test]
    fn locate_names_what_is_missing_and_how_to_get_it() {
        let d = tempfile::tempdir().unwrap();
        let err = FAKE.locate(Some(d.path())).unwrap_err();
        assert!(err.contains("missing target/release/prove (executable), python/convert.py"));
        assert!(
            err.contains(FAKE.repo)
                && err.contains(FAKE.commit)
                && err.contains("ZKPROF_FAKE_HOME")
        );
        std::fs::create_dir_all(d.path().join("target/release")).unwrap();
        std::fs::create_dir_all(d.path().join("python")).unwrap();
        let bin = d.path().join("target/release/prove");
        std::fs::write(&bin, "#!/bin/sh\n").unwrap();
        std::fs::write(d.path().join("python/convert.py"), "").unwrap();
        assert!(FAKE
            .locate(Some(d.path()))
            .unwrap_err()
            .contains("(executable)"));
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let found = FAKE.locate(Some(d.path())).unwrap();
        assert_eq!(found.from, "suite");
        assert!(found.warning.unwrap().contains("commit is unknown"));
        let err = FAKE.locate(Some(&d.path().join("nope"))).unwrap_err();
        assert!(err.contains("is not a directory"), "{err}");
    }
}
