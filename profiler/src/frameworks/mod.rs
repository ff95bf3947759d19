//! Framework adapters: how a cell becomes measured steps.
//!
//! An adapter provisions its toolchain, turns a cell into the steps of one repetition
//! (compile -> setup -> witness -> prove -> verify, each its own process), and after a
//! repetition reads cell-level metrics (proof size, circuit size, ...). The prove step
//! is the headline; the others are recorded separately.
//!
//! Adding an adapter: a new file, one line in `for_kind`, one entry in `suite::FRAMEWORK_KINDS`.

pub mod command;

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

/// A framework adapter.
pub trait Framework {
    /// The kind named in suites (`command`, `ezkl`, ...).
    fn kind(&self) -> &'static str;
    /// Makes sure the toolchain exists; returns facts for the results (`version`, ...).
    fn provision(&self, _cell: &Cell, _workdir: &Path) -> Result<BTreeMap<String, String>, FrameworkError> {
        Ok(BTreeMap::new())
    }
    /// The steps of one repetition, in order.
    fn steps(&self, ctx: &CellContext) -> Result<Vec<PlannedStep>, FrameworkError>;
    /// Cell-level metrics after a repetition (proof size, constraints, ...).
    fn collect(&self, _ctx: &CellContext, _steps: &[StepRun]) -> Result<BTreeMap<String, f64>, FrameworkError> {
        Ok(BTreeMap::new())
    }
}

/// The adapter for a framework kind.
pub fn for_kind(kind: &str) -> Option<Box<dyn Framework>> {
    match kind {
        "command" => Some(Box::new(command::CommandFramework)),
        _ => None,
    }
}
