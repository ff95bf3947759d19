//! Framework adapters: how a cell becomes measured steps.
//!
//! An adapter provisions its toolchain, turns a cell into the steps of one repetition
//! (compile -> setup -> witness -> prove -> verify, each its own process), and after a
//! repetition reads cell-level metrics (proof size, circuit size, ...). The prove step
//! is the headline; the others are recorded separately.
//!
//! Adding an adapter: a new file (and its `pub mod` line here), one variant in
//! [`FrameworkKind`] (`kinds.rs`), one match arm in [`FrameworkKind::adapter`].

pub mod chunked;
pub mod circom;
pub mod command;
pub mod deepprove;
pub mod external;
pub mod ezkl;
#[cfg(test)]
pub mod fake;
pub mod inputs;
pub mod opml;
pub mod orion;
pub mod provision;
pub mod zkml;
pub mod zktorch;

pub use crate::kinds::FrameworkKind;

use crate::results::SensorStatus;
use crate::results::StepRun;
use crate::suite::Cell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What an adapter sees of the cell it runs.
pub struct CellContext<'a> {
    pub cell: &'a Cell,
    /// The cell's own directory (artifacts and logs), kept across repetitions.
    pub workdir: &'a Path,
    /// Repetition index, warmups included (0-based).
    pub rep: u32,
    /// The CPUs every step of the cell is confined to (the `cpus` setting), if any.
    pub cpus: Option<&'a crate::measure::cpus::CpuChoice>,
}

impl CellContext<'_> {
    /// This repetition's directory in the cell's: where its steps' logs
    /// (`<step>.stdout`, `<step>.stderr`, `<step>.timeline.tsv`) and per-run files go.
    pub fn rep_dir(&self) -> PathBuf {
        self.workdir.join(format!("rep-{}", self.rep))
    }
}

/// One step of a repetition, ready to run.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedStep {
    /// `compile`, `setup`, `witness`, `prove` or `verify`.
    pub name: String,
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: Option<PathBuf>,
}

/// Why a cell cannot run.
#[derive(Debug, thiserror::Error)]
pub enum FrameworkError {
    /// The framework cannot handle this model or setting (the suite goes on).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Provisioning or preparation failed (the suite goes on).
    #[error("{0}")]
    Failed(String),
}

/// Cell-level numbers and facts an adapter reports.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Collected {
    /// `proof_size_bytes`, `constraints`, `logrows`, `verified`, `accuracy_loss_pct`, ...
    pub metrics: BTreeMap<String, f64>,
    /// `srs`, `cache`, `skipped_steps`, ...
    pub info: BTreeMap<String, String>,
    /// Things the user should know (e.g. the prover's own time disagrees with ours).
    pub warnings: Vec<String>,
}

/// Run-wide options that reach every adapter as values (from the command line; the CLI
/// reads their environment variables once, adapters never do).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunOptions {
    /// A finished powers-of-tau file for every cell that needs one (`--ptau`, else
    /// `$ZKPROF_PTAU`); a cell's own `ptau` setting wins.
    pub ptau: Option<PathBuf>,
}

/// What `provision` hands back: facts for the results and the cell's prepared state.
pub struct Provisioned {
    /// Facts for `CellResult.info` (`version`, `tools`, ...).
    pub info: BTreeMap<String, String>,
    /// The cell, ready to run: every later call of the cell goes through it.
    pub cell: Box<dyn PreparedCell>,
}

impl Provisioned {
    /// `cell` with no facts.
    pub fn new(cell: impl PreparedCell + 'static) -> Provisioned {
        Provisioned {
            info: BTreeMap::new(),
            cell: Box::new(cell),
        }
    }
}

/// A framework adapter, stateless: [`FrameworkKind::adapter`] makes one, and
/// `provision` returns the per-cell state ([`PreparedCell`]) that every later call takes.
pub trait Framework {
    /// The kind named in suites (`command`, `ezkl`, ...).
    fn kind(&self) -> FrameworkKind;
    /// Makes sure the toolchain exists (installing it into `crate::paths::cache_dir()` if
    /// needed) and prepares the cell's model; returns the prepared cell and facts for the
    /// results (`version`, ...). `opts` are the run's options (a powers-of-tau file, ...).
    fn provision(
        &self,
        cell: &Cell,
        workdir: &Path,
        opts: &RunOptions,
    ) -> Result<Provisioned, FrameworkError>;
    /// Checks, in a second and before anything is prepared (no model trained, no toolchain
    /// installed), what a run of `cell` needs that zkprof cannot install: an external
    /// framework's build, its toolchains and modules. The error says what to do.
    fn preflight(&self, _cell: &Cell) -> Result<(), FrameworkError> {
        Ok(())
    }
    /// For `zkprof doctor`: whether the framework can run here (found, installable on
    /// first use, or missing and what to install). The first entry is the kind itself,
    /// named like it; further entries are parts it needs (a backend, libraries).
    fn status(&self) -> Vec<SensorStatus>;
    /// What the framework's proof is when it is not a zero-knowledge proof (opML:
    /// `fraud_proof`); recorded as `info["proof_kind"]` before anything runs, so that even a
    /// failed cell is labelled in the reports.
    fn proof_kind(&self) -> Option<&'static str> {
        None
    }
    /// The proof system, in words (`Groth16 (BN254)`, `STARK (stwo: ...)`); recorded as
    /// `info["proof_system"]` before anything runs and shown in the reports' details.
    fn proof_system(&self) -> Option<&'static str> {
        None
    }
}

/// One cell of a framework after `provision`: it owns what the adapter prepared (paths,
/// parsed model, cache entry) and runs the cell's repetitions.
pub trait PreparedCell {
    /// The steps of one repetition, in order. Steps whose artifacts are cached are left out.
    fn steps(&self, ctx: &CellContext) -> Result<Vec<PlannedStep>, FrameworkError>;
    /// Unmeasured provisioning right before `step` runs, for what depends on an earlier
    /// step's output (e.g. a powers of tau sized from the compiled circuit); it runs under
    /// no step timeout and may complete the step's arguments. Returns facts for the results.
    fn before_step(
        &mut self,
        _ctx: &CellContext,
        _step: &mut PlannedStep,
    ) -> Result<BTreeMap<String, String>, FrameworkError> {
        Ok(BTreeMap::new())
    }
    /// Cell-level metrics after a successful repetition (proof size, constraints, ...);
    /// may update the cell's state (a cache entry sealed after the first repetition).
    fn collect(
        &mut self,
        _ctx: &CellContext,
        _steps: &[StepRun],
    ) -> Result<Collected, FrameworkError> {
        Ok(Collected::default())
    }
    /// Once per cell, after every repetition succeeded: unmeasured evaluations such as
    /// the accuracy of the circuit's outputs over test inputs.
    fn evaluate(&self, _cell: &Cell, _workdir: &Path) -> Result<Collected, FrameworkError> {
        Ok(Collected::default())
    }
    /// The phases of a step that does several things in one process (setup, proving and
    /// verification): its output markers, the prover's own timers and its headline phase.
    fn phases(&self, _cell: &Cell, _step: &str) -> Option<crate::measure::PhaseSpec> {
        None
    }
    /// Why a step failed, in the framework's own words (e.g. a prover's panic message),
    /// when its output says more than its exit status.
    fn failure_reason(&self, _step: &StepRun) -> Option<String> {
        None
    }
    /// A step that exited 0 although its output shows it failed (a prover that prints an
    /// error or a rejected proof and still exits 0, opML's VM halting early): the reason,
    /// which fails the cell.
    fn silent_failure(&self, _step: &StepRun) -> Option<String> {
        None
    }
    /// A failed step whose output shows the framework cannot handle the model: the reason
    /// (the cell is then `unsupported`, not `failed`).
    fn unsupported_reason(&self, _step: &StepRun) -> Option<String> {
        None
    }
}

impl FrameworkKind {
    /// The adapter for this kind (stateless; `provision` returns the cell's state).
    pub fn adapter(self) -> Box<dyn Framework> {
        match self {
            FrameworkKind::Command => Box::new(command::CommandFramework),
            FrameworkKind::Ezkl => Box::new(ezkl::Ezkl),
            FrameworkKind::Circom => Box::new(circom::Circom),
            FrameworkKind::Zkml => Box::new(zkml::Zkml),
            FrameworkKind::Opml => Box::new(opml::Opml),
            FrameworkKind::ZkTorch => Box::new(zktorch::ZkTorch),
            FrameworkKind::DeepProve => Box::new(deepprove::DeepProve),
            FrameworkKind::Orion => Box::new(orion::Orion),
        }
    }
}

/// A step's captured output (`stdout_path`/`stderr_path` of a `StepRun`) as text; empty when
/// there is none or it cannot be read (the reason then comes from the exit status).
pub fn read_log(path: Option<&String>) -> String {
    path.and_then(|p| std::fs::read(p).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// `p` made absolute against the working directory (steps run in other directories).
pub fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The cell's ONNX file (absolute path) and its bytes. A model without one is unsupported
/// (`why` completes the sentence, e.g. "EZKL proves ONNX models").
pub fn model_onnx(cell: &Cell, why: &str) -> Result<(PathBuf, Vec<u8>), FrameworkError> {
    let path = cell.model.onnx.as_deref().map(absolute).ok_or_else(|| {
        FrameworkError::Unsupported(format!(
            "model `{}` has no ONNX file; {why}",
            cell.model.name
        ))
    })?;
    let bytes = std::fs::read(&path)
        .map_err(|e| FrameworkError::Failed(format!("cannot read {}: {e}", path.display())))?;
    Ok((path, bytes))
}

/// A cell of framework `kind` (named as the kind) with `settings` (a JSON object), an empty
/// model and the native runtime: what adapters' unit tests start from.
#[cfg(test)]
pub(crate) fn test_cell(kind: FrameworkKind, settings: serde_json::Value) -> Cell {
    Cell {
        id: format!("m/{}/x/native", kind.name()),
        model: crate::suite::Model::default(),
        framework: crate::suite::FrameworkSpec {
            name: kind.name().into(),
            kind,
            settings: Vec::new(),
            steps: Vec::new(),
            timeout_s: None,
            memory_limit: None,
            image: None,
            cpuset: None,
            home: None,
            phases: BTreeMap::new(),
        },
        settings: serde_json::from_value(settings).unwrap_or_default(),
        runtime: crate::runtime::RuntimeKind::Native,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_adapter() {
        for k in FrameworkKind::ALL {
            assert_eq!(k.adapter().kind(), *k);
        }
    }
}
