//! The circom compiler of a cell: `circom2` (the WebAssembly build from npm, in the pinned
//! tool tree; the default) or the user's own native build of iden3/circom (the Rust binary
//! the 2024 benchmark used), given by the setting `circom_bin` or `$ZKPROF_CIRCOM_BIN`. The
//! native compiler has no 4 GiB WebAssembly memory ceiling, so larger circuits compile.
//! zkprof never builds it: it checks that the file runs, records its `--version` and path.

use super::super::provision::{self, setting_str};
use super::super::FrameworkError;
use crate::suite::Cell;
use std::path::{Path, PathBuf};

/// The npm package of the default compiler, as pinned in `assets/circom/package.json`.
pub const WASM_COMPILER: &str = "circom2 0.2.23";

/// Which compiler compiles the cell's circuit.
#[derive(Clone, Debug, PartialEq)]
pub enum Compiler {
    /// `circom2` from the pinned npm tree, run by node.
    Wasm,
    /// A native `circom` binary.
    Native {
        path: PathBuf,
        /// Its `--version` line, e.g. `circom compiler 2.1.8`.
        version: String,
    },
}

impl Compiler {
    /// The cell's compiler: `circom_bin`, else `$ZKPROF_CIRCOM_BIN`, else circom2.
    pub fn of(cell: &Cell) -> Result<Compiler, FrameworkError> {
        let given = setting_str(cell, "circom_bin")
            .map(|p| (PathBuf::from(p), "the setting `circom_bin`"))
            .or_else(|| {
                std::env::var_os("ZKPROF_CIRCOM_BIN")
                    .filter(|v| !v.is_empty())
                    .map(|p| (PathBuf::from(p), "ZKPROF_CIRCOM_BIN"))
            });
        match given {
            None => Ok(Compiler::Wasm),
            Some((path, from)) => native(&path, from),
        }
    }

    /// For results and messages: `circom2 0.2.23 (WebAssembly)` or
    /// `circom 2.1.8 (native, /path/to/circom)`.
    pub fn label(&self) -> String {
        match self {
            Compiler::Wasm => format!("{WASM_COMPILER} (WebAssembly)"),
            Compiler::Native { path, version } => {
                let v = version.strip_prefix("circom compiler ").unwrap_or(version);
                format!("circom {v} (native, {})", path.display())
            }
        }
    }

    /// The command that compiles, before its arguments: `node <tools>/circom2/cli.js` or the
    /// native binary.
    pub fn command(&self, node: &Path, tools: &Path) -> Vec<String> {
        match self {
            Compiler::Wasm => vec![
                node.display().to_string(),
                tools
                    .join("node_modules/circom2/cli.js")
                    .display()
                    .to_string(),
            ],
            Compiler::Native { path, .. } => vec![path.display().to_string()],
        }
    }
}

fn failed(msg: String) -> FrameworkError {
    FrameworkError::Failed(msg)
}

/// Checks a native compiler: a file that runs and says it is circom.
pub(super) fn native(path: &Path, from: &str) -> Result<Compiler, FrameworkError> {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    if !path.is_file() {
        return Err(failed(format!(
            "{from} = {}: no such file; build iden3/circom yourself (`cargo build --release` in its checkout) and give the path of target/release/circom, or unset it to use {WASM_COMPILER}",
            path.display()
        )));
    }
    let shown = path.display().to_string();
    let out = provision::run(
        &[&shown, "--version"],
        None,
        "the circom compiler (--version)",
    )
    .map_err(|e| failed(format!("{from} = {shown} does not run: {e}")))?;
    let version = out.lines().map(str::trim).find(|l| l.starts_with("circom")).ok_or_else(|| {
        failed(format!(
            "{from} = {shown}: `--version` printed {:?}, not a circom compiler's `circom compiler X.Y.Z`",
            out.trim()
        ))
    })?;
    Ok(Compiler::Native {
        path,
        version: version.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(settings: serde_json::Value) -> Cell {
        crate::frameworks::test_cell(crate::frameworks::FrameworkKind::Circom, settings)
    }

    fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[test]
    fn a_native_compiler_is_checked_and_recorded() {
        let t = tempfile::tempdir().unwrap();
        let good = script(t.path(), "circom", "echo 'circom compiler 2.1.8'");
        let c = Compiler::of(&cell(serde_json::json!({ "circom_bin": good }))).unwrap();
        assert_eq!(
            c,
            Compiler::Native {
                path: good.clone(),
                version: "circom compiler 2.1.8".into()
            }
        );
        assert_eq!(
            c.label(),
            format!("circom 2.1.8 (native, {})", good.display())
        );
        assert_eq!(
            c.command(Path::new("node"), Path::new("/t")),
            [good.display().to_string()]
        );

        let other = script(t.path(), "gcc", "echo 'gcc (Debian) 12.2.0'");
        let e = Compiler::of(&cell(serde_json::json!({ "circom_bin": other })))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a circom compiler"), "{e}");
        let e = Compiler::of(&cell(
            serde_json::json!({ "circom_bin": t.path().join("gone") }),
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("no such file") && e.contains("iden3/circom"),
            "{e}"
        );
    }

    #[test]
    fn the_default_is_circom2_run_by_node() {
        if std::env::var_os("ZKPROF_CIRCOM_BIN").is_some() {
            return;
        }
        let c = Compiler::of(&cell(serde_json::json!({}))).unwrap();
        assert_eq!(c, Compiler::Wasm);
        assert_eq!(
            c.command(Path::new("/usr/bin/node"), Path::new("/t")),
            ["/usr/bin/node", "/t/node_modules/circom2/cli.js"]
        );
    }
}
