//! The circom toolchain: node and npm on PATH, the npm tree with the pinned tools (circom2,
//! snarkjs, circomlib-ml from the lock file) in zkprof's cache, and its `zkprof doctor` line.

use super::super::provision;
use super::super::FrameworkError;
use super::compiler;
use crate::cache::cache_key;
use crate::results::SensorStatus;
use std::path::{Path, PathBuf};

/// The pinned tool versions (also in the lock file).
pub const TOOLS: &str = "circom2 0.2.23, snarkjs 0.7.6, circomlib-ml 1.4.4";
/// The pinned tools besides the compiler.
pub(super) const LIBRARIES: &str = "snarkjs 0.7.6, circomlib-ml 1.4.4";
const PACKAGE_JSON: &str = include_str!("../../../assets/circom/package.json");
pub(super) const PACKAGE_LOCK: &str = include_str!("../../../assets/circom/package-lock.json");
pub(super) const HELPER: &str = include_str!("../../../assets/circom/zkprof_circom.js");
fn failed(msg: impl Into<String>) -> FrameworkError {
    FrameworkError::Failed(msg.into())
}

/// `node` and `npm` on PATH, or what to install.
pub(super) fn node_and_npm() -> Result<(PathBuf, PathBuf), FrameworkError> {
    let node = provision::which("node")
        .ok_or_else(|| failed("node not found on PATH: the circom adapter needs Node.js >= 18 and npm (Debian: apt-get install nodejs npm)"))?;
    let npm = provision::which("npm")
        .ok_or_else(|| failed("npm not found on PATH: the circom adapter installs its pinned tools with npm (Debian: apt-get install npm)"))?;
    Ok((node, npm))
}

/// The directory of the npm tree with the pinned tools (under the cache's `envs/`).
fn tools_dir() -> PathBuf {
    let tag = &cache_key(&[PACKAGE_LOCK])[..12];
    crate::paths::cache_dir()
        .join("envs")
        .join(format!("circom-{tag}"))
}

/// For `zkprof doctor`: installed, installable on first use, or what is missing.
pub fn status() -> SensorStatus {
    let node = match node_and_npm() {
        Ok((node, _)) => node,
        Err(e) => return SensorStatus::unavailable("circom", e.to_string()),
    };
    let dir = tools_dir();
    let why = if dir.join(provision::READY).is_file() {
        format!(
            "{TOOLS} installed in {} (node {})",
            dir.display(),
            node.display()
        )
    } else {
        format!(
            "not installed yet: the first circom cell installs {TOOLS} from npm into {}",
            dir.display()
        )
    };
    let compiler = match std::env::var_os("ZKPROF_CIRCOM_BIN").filter(|v| !v.is_empty()) {
        None => {
            "; compiler: circom2 (set ZKPROF_CIRCOM_BIN or `circom_bin` for your own native circom)"
                .to_string()
        }
        Some(p) => match compiler::native(Path::new(&p), "ZKPROF_CIRCOM_BIN") {
            Ok(c) => format!("; compiler: {}", c.label()),
            Err(e) => return SensorStatus::unavailable("circom", e.to_string()),
        },
    };
    SensorStatus::available_with("circom", format!("{why}{compiler}"))
}

/// The npm tree with the pinned tools; returns (node, env dir, seconds provisioning took).
pub fn ensure_tools() -> Result<(PathBuf, PathBuf, Option<f64>), FrameworkError> {
    let (node, npm) = node_and_npm()?;
    let dir = tools_dir();
    let what = format!("circom: installing {TOOLS} with npm ci (first use)");
    let took = provision::ensure_env(&dir, &what, |dir| {
        provision::write_if_changed(&dir.join("package.json"), PACKAGE_JSON)?;
        provision::write_if_changed(&dir.join("package-lock.json"), PACKAGE_LOCK)?;
        let npm = npm.display().to_string();
        let argv = [
            npm.as_str(),
            "ci",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ];
        provision::run(&argv, Some(dir), &format!("installing {TOOLS} (npm ci)"))?;
        Ok(())
    })?;
    provision::write_if_changed(&dir.join("zkprof_circom.js"), HELPER)?;
    Ok((node, dir, took))
}
