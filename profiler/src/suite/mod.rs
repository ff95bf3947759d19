//! Suite files (TOML): models x frameworks x settings x runtimes, with repetitions.
//!
//! ```toml
//! [suite]
//! name = "quickstart"
//! version = 1            # bump when the cells change meaning; `merge` compares it
//! repetitions = 3
//! warmup = 0
//! timeout_s = 600        # per step
//! memory_limit = "8G"    # per step, optional
//!
//! [[model]]
//! name = "tiny"
//! onnx = "models/tiny.onnx"   # optional, relative to the suite file
//! # or a published model, fetched with `zkprof data fetch zkml-benchmark-2024`:
//! # reference = "zkml-benchmark-2024/196_25_10"
//!
//! [[framework]]
//! name = "fake-prover"
//! kind = "command"            # defaults to the name
//! settings = [{ level = 1 }, { level = 2 }]
//! steps = { setup = ["sh", "-c", "..."], prove = ["./prove", "{model_path}", "{setting.level}"] }
//! image = "ezkl"              # docker/nix runtimes: the environment (defaults to the kind)
//! cpuset = "0-3"              # docker runtime: CPUs a step container may use
//! home = "../opml"            # external frameworks (opml): the user's own build, relative
//!                             # to the suite file (else `ZKPROF_<KIND>_HOME`)
//! ```
//!
//! Every error names `file:line:col`, the field, and the valid values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::kinds::{FrameworkKind, RuntimeKind};

/// The steps a framework can have, in the order they run.
pub const STEP_ORDER: [&str; 5] = ["compile", "setup", "witness", "prove", "verify"];

/// A suite that could not be read or is invalid.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error("cannot read suite {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}:{col}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        col: usize,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    Plan { path: PathBuf, message: String },
}

/// A parsed, validated suite.
#[derive(Clone, Debug, PartialEq)]
pub struct Suite {
    pub path: PathBuf,
    pub name: String,
    pub version: u32,
    pub description: String,
    pub repetitions: u32,
    pub warmup: u32,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    pub models: Vec<Model>,
    pub frameworks: Vec<FrameworkSpec>,
    pub runtimes: Vec<RuntimeKind>,
}

/// A model of a suite.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Model {
    pub name: String,
    pub description: String,
    /// Absolute path of its ONNX file, when it has one.
    pub onnx: Option<PathBuf>,
    /// The published model it is (`reference = "<set>/<model>"`): its fetched files.
    pub reference: Option<crate::data::reference::ModelFiles>,
    /// Architecture, dataset and training recipe (see `model::spec`).
    pub spec: crate::model::ModelSpec,
    /// Parameters known before preparing (from the spec of a model zkprof trains, from the
    /// file of an ONNX import); `None` when the file cannot be read.
    pub params: Option<u64>,
    /// Run this model only with these frameworks (by name); empty: with all.
    pub frameworks: Vec<String>,
}

impl Model {
    /// What the model pipeline needs of this model (`model::prepare`, `model::test_inputs`).
    pub fn def(&self) -> crate::model::ModelDef {
        crate::model::ModelDef {
            name: self.name.clone(),
            onnx: self.onnx.clone(),
            spec: self.spec.clone(),
        }
    }
}

/// A framework entry of a suite.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameworkSpec {
    pub name: String,
    pub kind: FrameworkKind,
    /// Settings variants (at least one, possibly empty).
    pub settings: Vec<BTreeMap<String, serde_json::Value>>,
    /// For `command`: step name -> argv template, in `STEP_ORDER`.
    pub steps: Vec<(String, Vec<String>)>,
    /// Per-step timeout, seconds.
    pub timeout_s: Option<f64>,
    /// Per-step memory limit, bytes.
    pub memory_limit: Option<u64>,
    /// The environment for the docker/nix runtimes (`images/<image>/`, flake `env-<image>`);
    /// defaults to the kind.
    pub image: Option<String>,
    /// CPUs a container step may use (`--cpuset-cpus`, e.g. `0-3`).
    pub cpuset: Option<String>,
    /// An external framework's installation (the user's own build; relative to the suite
    /// file). Unset: `$ZKPROF_<KIND>_HOME`.
    pub home: Option<PathBuf>,
    /// For `command`: the phases of a step (see `suite/phases.rs`), by step name.
    pub phases: BTreeMap<String, Vec<crate::measure::PhaseRule>>,
}

/// One cell of the plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// `model/framework/settings/runtime`.
    pub id: String,
    pub model: Model,
    pub framework: FrameworkSpec,
    pub settings: BTreeMap<String, serde_json::Value>,
    pub runtime: RuntimeKind,
}

/// Filters and overrides from the command line.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// Keep only these frameworks (by name or kind); empty keeps all.
    pub frameworks: Vec<String>,
    /// Keep only the models these names match (`*` matches any run of characters, e.g.
    /// `mnist-d*`); empty keeps all.
    pub models: Vec<String>,
    /// Run every cell in this runtime instead of the suite's.
    pub runtime: Option<String>,
    /// Override the suite's repetitions.
    pub repetitions: Option<u32>,
    /// Skip models with more parameters than this (known counts only), so a small machine
    /// runs the small end of a scaling suite.
    pub max_params: Option<u64>,
    /// Evaluate accuracy on this many test inputs instead of the suite's `accuracy_samples`
    /// (cells of frameworks that evaluate accuracy; 0 turns evaluation off).
    pub accuracy_samples: Option<u64>,
}

/// Framework kinds whose adapters read the `accuracy_samples` setting.
pub const ACCURACY_KINDS: [FrameworkKind; 5] = [
    FrameworkKind::Ezkl,
    FrameworkKind::Circom,
    FrameworkKind::Zkml,
    FrameworkKind::Opml,
    FrameworkKind::Orion,
];

impl Suite {
    /// Reads and validates a suite file.
    pub fn load(path: &Path) -> Result<Suite, SuiteError> {
        let text = crate::input::read_capped_text(path, crate::limits::MAX_SUITE_BYTES, "suite")
            .map_err(|source| SuiteError::Read {
                path: path.to_path_buf(),
                source,
            })?;
        Suite::parse(path, &text)
    }
}

mod checks;
mod expand;
pub mod model;
pub mod phases;
mod schema;
mod validate;

pub use expand::{cell_dir_name, fill_placeholders, settings_label};
pub use validate::{line_col, PLACEHOLDERS};

#[cfg(test)]
mod tests;
