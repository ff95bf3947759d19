//! Finding and checking the user's own opML build (ora-io/opml with its `mlgo` and `unicorn`
//! submodules). zkprof never builds opML: it finds the checkout through the suite's `home`
//! (framework entry) or `ZKPROF_OPML_HOME`, checks the files a run needs, and records the
//! checkout's commit. What is missing is named with upstream's build instructions.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The environment variable naming the opML checkout.
pub const HOME_ENV: &str = "ZKPROF_OPML_HOME";
/// The commit the 2024 benchmark ran and this adapter was checked against.
pub const TESTED_COMMIT: &str = "d1e0527983bdc97fa9f923121e6547925d5df31e";
/// Where upstream says how to build it.
pub const UPSTREAM: &str =
    "https://github.com/ora-io/opml (README: `make build`; needs Go and cmake)";

/// A checked opML installation.
#[derive(Clone, Debug, PartialEq)]
pub struct Installation {
    /// The checkout (the directory holding `mlvm/`, `mlgo/`, `unicorn/`).
    pub home: PathBuf,
    /// The VM binary, `<home>/mlvm/mlvm`.
    pub mlvm: PathBuf,
    /// The `mlgo` module (the guest's ggml port), `<home>/mlgo`.
    pub mlgo: PathBuf,
    /// opML's layout script for guest binaries, `<home>/mlgo/compile.py`.
    pub compile_py: PathBuf,
    /// `git rev-parse HEAD` of the checkout, when it is a git checkout.
    pub commit: Option<String>,
}

/// Why no usable installation was found.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum InstallError {
    #[error(
        "opML not found: set `home` in the suite's opml framework entry or {HOME_ENV} to your \
         build of {UPSTREAM}, at commit {TESTED_COMMIT} (the one zkprof is tested with)"
    )]
    NotConfigured,
    #[error(
        "opML at {}: {what}; build it as {UPSTREAM}, at commit {TESTED_COMMIT}",
        home.display()
    )]
    Incomplete { home: PathBuf, what: String },
}

/// The home to use: the suite's `home` first, then `$ZKPROF_OPML_HOME`.
pub fn locate(suite_home: Option<&Path>) -> Result<PathBuf, InstallError> {
    suite_home
        .map(Path::to_path_buf)
        .or_else(|| {
            std::env::var_os(HOME_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .ok_or(InstallError::NotConfigured)
}

/// Checks the checkout at `home`: the `mlvm` binary (executable), `mlgo` with its `go.mod`,
/// `compile.py` and `startup/startup.bin`. Every missing file is named.
pub fn check(home: &Path) -> Result<Installation, InstallError> {
    use std::os::unix::fs::PermissionsExt;
    let home = crate::frameworks::absolute(home);
    if !home.is_dir() {
        return Err(InstallError::Incomplete {
            home,
            what: "not a directory".into(),
        });
    }
    let inst = Installation {
        mlvm: home.join("mlvm/mlvm"),
        mlgo: home.join("mlgo"),
        compile_py: home.join("mlgo/compile.py"),
        commit: git_head(&home),
        home: home.clone(),
    };
    let mut missing = Vec::new();
    let exec = std::fs::metadata(&inst.mlvm)
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    if !exec {
        missing.push("mlvm/mlvm (not built or not executable: `cd mlvm && go build`)".to_string());
    }
    for f in ["mlgo/go.mod", "mlgo/compile.py", "mlgo/startup/startup.bin"] {
        if !home.join(f).is_file() {
            missing.push(format!("{f} (submodule mlgo not checked out?)"));
        }
    }
    if missing.is_empty() {
        Ok(inst)
    } else {
        Err(InstallError::Incomplete {
            home,
            what: format!("missing {}", missing.join(", ")),
        })
    }
}

/// The commit checked out at `dir` (`git rev-parse HEAD`), if git can tell.
pub fn git_head(dir: &Path) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    let s = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && s.len() == 40 && s.chars().all(|c| c.is_ascii_hexdigit())).then_some(s)
}

/// One line for `zkprof doctor`: whether opML is usable here, and what is missing.
pub fn doctor_status(suite_home: Option<&Path>) -> (bool, String) {
    match locate(suite_home).and_then(|h| check(&h)) {
        Ok(i) => {
            let commit = i.commit.as_deref().unwrap_or("unknown commit");
            let note = if i.commit.as_deref() == Some(TESTED_COMMIT) {
                String::new()
            } else {
                format!(" (tested with {})", &TESTED_COMMIT[..8])
            };
            (
                true,
                format!(
                    "{} at {commit}{note}; fraud proof (optimistic): no zero-knowledge proof",
                    i.home.display()
                ),
            )
        }
        Err(e) => (false, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let err = check(dir.path()).unwrap_err().to_string();
        assert!(err.contains("mlvm/mlvm"), "{err}");
        assert!(err.contains("mlgo/compile.py"), "{err}");
        assert!(err.contains("github.com/ora-io/opml"), "{err}");
        assert_eq!(locate(Some(Path::new("/x"))).unwrap(), PathBuf::from("/x"));
        let err = check(&dir.path().join("nope")).unwrap_err().to_string();
        assert!(err.contains("not a directory"), "{err}");
    }
}
