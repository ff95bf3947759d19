//! The Nix runtime: steps run on the host with `PATH` from the flake's per-framework
//! environment (`packages.<system>.env-<framework>` of `flake.nix`, pinned by `flake.lock`).
//!
//! The environment is realised once per cell (`nix build`), so evaluation and downloads
//! are never part of a measured step; the steps themselves are measured by the native
//! runner, exactly like native steps.

use super::{environment_name, Runtime, RuntimeError};
use crate::measure::{Runner, StepSpec};
use crate::results::StepRun;
use crate::sensors::Sensor;
use crate::suite::Cell;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs steps with a flake environment on `PATH`.
pub struct NixRuntime<'a> {
    runner: &'a Runner,
    /// The realised environment (`/nix/store/...-zkprof-env-ezkl`).
    store_path: Option<PathBuf>,
}

impl<'a> NixRuntime<'a> {
    /// A Nix runtime measuring with `runner`.
    pub fn new(runner: &'a Runner) -> NixRuntime<'a> {
        NixRuntime {
            runner,
            store_path: None,
        }
    }
}

/// The flake output holding a framework's environment.
pub fn flake_output(flake: &Path, environment: &str) -> String {
    format!("{}#env-{environment}", flake.display())
}

/// The `nix build` command that realises an environment and prints its store path.
pub fn build_command(flake: &Path, environment: &str) -> Vec<String> {
    vec![
        "nix".into(),
        "--extra-experimental-features".into(),
        "nix-command flakes".into(),
        "build".into(),
        "--no-link".into(),
        "--print-out-paths".into(),
        flake_output(flake, environment),
    ]
}

/// `PATH` with the environment's `bin` first.
pub fn path_with(store_path: &Path, current: Option<&str>) -> String {
    let bin = store_path.join("bin").display().to_string();
    match current.filter(|p| !p.is_empty()) {
        Some(p) => format!("{bin}:{p}"),
        None => bin,
    }
}

impl Runtime for NixRuntime<'_> {
    fn kind(&self) -> super::RuntimeKind {
        super::RuntimeKind::Nix
    }

    fn provision(
        &mut self,
        cell: &Cell,
        _workdir: &Path,
    ) -> Result<BTreeMap<String, String>, RuntimeError> {
        let flake = super::flake_dir();
        if !flake.join("flake.nix").is_file() {
            return Err(RuntimeError::Provision(format!(
                "no flake.nix in {}; set ZKPROF_FLAKE_DIR to the repository root",
                flake.display()
            )));
        }
        let env = environment_name(cell);
        let argv = build_command(&flake, env);
        let out = Command::new(&argv[0]).args(&argv[1..]).output().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => RuntimeError::Unavailable(
                "`nix` is not installed; install Nix (https://nixos.org/download) or use --runtime native".into(),
            ),
            _ => RuntimeError::Unavailable(format!("cannot run nix: {e}")),
        })?;
        if !out.status.success() {
            let tail = super::last_lines(&out.stderr, 15);
            return Err(RuntimeError::Provision(format!(
                "`{}` failed (nix needs to reach its binary cache or build the inputs of flake.lock):\n{}",
                argv.join(" "),
                tail.join("\n")
            )));
        }
        let path = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or("")
            .trim()
            .to_string();
        if path.is_empty() {
            return Err(RuntimeError::Provision(format!(
                "`{}` printed no store path",
                argv.join(" ")
            )));
        }
        let mut info = BTreeMap::new();
        info.insert("runtime".into(), "nix".into());
        info.insert("nix_output".into(), flake_output(&flake, env));
        info.insert("nix_store_path".into(), path.clone());
        for file in ["flake.nix", "flake.lock"] {
            if let Ok(bytes) = std::fs::read(flake.join(file)) {
                info.insert(format!("lock.{file}"), hex::encode(Sha256::digest(&bytes)));
            }
        }
        self.store_path = Some(PathBuf::from(path));
        Ok(info)
    }

    fn run_step(
        &mut self,
        spec: &StepSpec,
        sensors: Vec<Box<dyn Sensor>>,
    ) -> Result<StepRun, RuntimeError> {
        let store = self
            .store_path
            .as_ref()
            .ok_or_else(|| RuntimeError::Provision("nix runtime used before provision".into()))?;
        let mut spec = spec.clone();
        let current = spec
            .env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var("PATH").ok());
        spec.env.retain(|(k, _)| k != "PATH");
        spec.env
            .push(("PATH".into(), path_with(store, current.as_deref())));
        Ok(self.runner.run(&spec, sensors)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_command_names_the_flake_output() {
        let argv = build_command(Path::new("/src"), "ezkl");
        assert_eq!(argv.last().unwrap(), "/src#env-ezkl");
        assert!(argv.contains(&"--print-out-paths".to_string()));
    }

    #[test]
    fn path_puts_the_environment_first() {
        assert_eq!(
            path_with(Path::new("/nix/store/x"), Some("/usr/bin")),
            "/nix/store/x/bin:/usr/bin"
        );
        assert_eq!(
            path_with(Path::new("/nix/store/x"), None),
            "/nix/store/x/bin"
        );
    }
}
