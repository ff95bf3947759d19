//! Runtimes: where a cell's steps run.
//!
//! - `native.rs`: a process on the host, measured by [`crate::measure::Runner`].
//! - `docker/`: a container built from `images/<framework>/` (through bollard), with no
//!   network, no capabilities, a read-only root and the cell's directory mounted writable;
//!   `docker/mod.rs` is the runtime, helped by `engine.rs` (connection), `image.rs` (build
//!   by content hash), `context.rs` (recipe files, hash, tar), `base.rs` (base image
//!   without a registry) and `container.rs` (one measured step, whose numbers come from
//!   a parent cgroup: `measure::cgroup::ParentCgroup`).
//! - `nix.rs`: a host process whose `PATH` comes from the flake's per-framework environment.
//!
//! A runtime is made once per cell (`provision` builds or finds its environment and returns
//! facts for the results, such as the image id), then runs each step of each repetition.
//! Every runtime returns the same [`StepRun`], so reports never care where a step ran.
//!
//! Adding a runtime: a new file, one variant in [`RuntimeKind`], one match arm in [`for_cell`].

pub mod docker;
#[cfg(test)]
pub mod fake;
pub mod native;
pub mod nix;

use crate::measure::{RunError, Runner, StepSpec};
use crate::results::StepRun;
use crate::sensors::Sensor;
use crate::suite::Cell;
use std::collections::BTreeMap;
use std::path::Path;

pub use crate::kinds::RuntimeKind;

/// Why a runtime cannot run a cell or a step.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The runtime cannot work on this host (no daemon, no `nix`): the message says what to do.
    #[error("{0}")]
    Unavailable(String),
    /// The environment could not be made (a failing image build, a missing base image).
    #[error("{0}")]
    Provision(String),
    /// The step could not be started at all.
    #[error(transparent)]
    Run(#[from] RunError),
    /// The container engine failed while the step ran.
    #[error("{0}")]
    Engine(String),
}

/// Where a cell's steps run.
pub trait Runtime {
    /// The kind recorded in results (`native`, `docker`, `nix`).
    fn kind(&self) -> RuntimeKind;
    /// Makes the cell's environment ready (once per cell) and returns facts for
    /// `CellResult.info`: image id and digest, lock hashes, store paths.
    fn provision(
        &mut self,
        cell: &Cell,
        workdir: &Path,
    ) -> Result<BTreeMap<String, String>, RuntimeError>;
    /// Runs one step to completion and measures it. `sensors` are the host's sensors,
    /// attached to the step's processes where the runtime allows it.
    fn run_step(
        &mut self,
        spec: &StepSpec,
        sensors: Vec<Box<dyn Sensor>>,
    ) -> Result<StepRun, RuntimeError>;
}

/// The last `n` lines of a tool's output, for error messages.
pub(crate) fn last_lines(output: &[u8], n: usize) -> Vec<String> {
    let text = String::from_utf8_lossy(output);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

/// The runtime for a cell's `runtime` kind, measuring with `runner`'s settings.
pub fn for_cell<'a>(
    kind: RuntimeKind,
    runner: &'a Runner,
) -> Result<Box<dyn Runtime + 'a>, RuntimeError> {
    Ok(match kind {
        RuntimeKind::Native => Box::new(native::NativeRuntime::new(runner)),
        RuntimeKind::Docker => Box::new(docker::DockerRuntime::connect(runner)?),
        RuntimeKind::Nix => Box::new(nix::NixRuntime::new(runner)),
    })
}

/// The directory that holds the image recipes (`images/<framework>/Dockerfile`):
/// `$ZKPROF_IMAGES_DIR`, else `images/` of the source checkout this binary was built from.
pub fn images_dir() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("ZKPROF_IMAGES_DIR").filter(|v| !v.is_empty()) {
        return p.into();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../images")
}

/// The flake directory (`flake.nix`): `$ZKPROF_FLAKE_DIR`, else the source checkout's root.
pub fn flake_dir() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("ZKPROF_FLAKE_DIR").filter(|v| !v.is_empty()) {
        return p.into();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The environment (image or flake output) a cell uses: the framework's `image` from the
/// suite, else its kind (`ezkl` -> `images/ezkl/`).
pub fn environment_name(cell: &Cell) -> &str {
    cell.framework
        .image
        .as_deref()
        .unwrap_or(cell.framework.kind.name())
}
