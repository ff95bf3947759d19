//! The versioned results schema (`zkprof/results/v2`) and the `exec` report.
//!
//! This module imports nothing of the crate but `units` (and serde, sha2 for the host
//! id): a results file must re-render on any machine, without NVML, Docker or a
//! framework installed, and the modules that measure (`fingerprint`, `sensors`,
//! `measure`) import their types from here, never the reverse. Field names ending in
//! `_s` are seconds, `_bytes` bytes, `_j` joules, `_w` watts. Fields added later carry
//! `#[serde(default)]` so older files still load; a change that breaks readers bumps
//! the schema string.
//!
//! - `step.rs`: one measured process run (`StepRun`), its readings, series and phases.
//! - `memory.rs`: how a step's peak memory figures were measured, and how exact they are.
//! - `host.rs`: the host fingerprint (`Host`, its CPU caches, frequency scaling, GPUs).
//! - `sensor.rs`: whether a sensor works here (`SensorStatus`).
//! - `summary.rs`: summaries across repetitions and percentiles of a series.
//! - `circuit.rs`: a cell's circuit size in words, also for cells that failed.
//! - `migrate.rs`: reading results v1 (peak memory charged to a cgroup) as v2.

mod circuit;
mod host;
mod memory;
pub mod migrate;
mod sensor;
mod step;
pub(crate) mod summary;

pub use circuit::{FACT_CAIRO_STEPS, FACT_CONSTRAINTS, FACT_LOGROWS};
pub use host::{CpuCache, CpuFreq, GpuInfo, Host};
pub use memory::{MemoryMethod, MemoryPrecision};
pub use sensor::SensorStatus;
pub use step::{
    CpuMethod, Headline, Phase, PhaseMemory, ProveSource, Reading, Series, StepRun, ENERGY_TOTALS,
};
pub use summary::{SeriesPercentiles, Summary};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The schema string every results file starts with. v2: `peak_tree_bytes` is the tree's
/// working set; v1 files are read through `migrate.rs`.
pub const RESULTS_SCHEMA: &str = "zkprof/results/v2";
/// The schema string of `zkprof exec --json` (v2: `peak_tree_bytes` is the working set).
pub const EXEC_SCHEMA: &str = "zkprof/exec/v2";

/// How an adapter's failure reason begins when a step ran out of memory without being
/// killed for it (an allocator inside the prover gave up at a limit of its own): the
/// cell's reason then reads `<step>: exit 1 (out of memory: ...)`, and a sweep counts it,
/// like a kill at the memory limit, as the size where the framework stops.
pub const OUT_OF_MEMORY: &str = "out of memory";

/// Summary of `zkprof exec` across its measured (non-warmup) runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecSummary {
    pub wall_s: Summary,
    pub user_s: Summary,
    pub sys_s: Summary,
    pub peak_tree_bytes: Summary,
    pub peak_process_bytes: Summary,
}

/// The JSON object `zkprof exec --json` prints. Field names are a contract.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExecReport {
    pub schema: String,
    pub zkprof_version: String,
    pub command: Vec<String>,
    /// Warmup runs are not listed; `warmup` says how many ran.
    pub runs: Vec<StepRun>,
    pub warmup: u32,
    pub summary: ExecSummary,
    pub sensors: Vec<SensorStatus>,
    pub host: Host,
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// Where a results file came from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SuiteRef {
    pub name: String,
    /// The suite's own `version` field.
    pub version: u32,
    pub path: String,
    /// SHA-256 of the suite file's bytes.
    pub sha256: String,
}

/// The state of a cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CellStatus {
    /// Every step of every repetition succeeded.
    Ok,
    /// A step failed (non-zero exit, signal, OOM or timeout); the reason says which.
    Failed,
    /// The framework cannot handle this model or setting; the reason says why.
    Unsupported,
    /// The user stopped zkprof during this cell; `--resume` runs it again.
    Interrupted,
    /// Not run: a smaller model of the same framework already hit a timeout or ran out of
    /// memory (the sweep's frontier, see `frontier.rs`); the reason names that cell.
    Skipped,
}

impl CellStatus {
    /// A finished cell is skipped by `--resume`. Interrupted cells run again; skipped ones
    /// are decided again (the frontier skips them again, `--no-frontier` runs them).
    pub fn is_finished(self) -> bool {
        !matches!(self, CellStatus::Interrupted | CellStatus::Skipped)
    }
}

/// One repetition of a cell: its steps in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Repetition {
    pub index: u32,
    pub warmup: bool,
    pub steps: Vec<StepRun>,
}

/// Summary of one step kind of a cell across its measured repetitions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepSummary {
    pub wall_s: Summary,
    pub user_s: Summary,
    pub sys_s: Summary,
    pub peak_tree_bytes: Summary,
    pub peak_process_bytes: Summary,
    /// The cgroup's charged peak (includes page cache), over the runs that had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_charged_bytes: Option<Summary>,
    /// The direct child's peak RSS (the 2024 ZKML benchmark's method), over the runs that
    /// recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_peak_rss_bytes: Option<Summary>,
    /// Indices (into the measured repetitions) whose wall time is an outlier (MAD test).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wall_outliers: Vec<usize>,
    /// For a phased step (a monolithic prover): where `wall_s` and `peak_tree_bytes` come
    /// from (its headline phase, see [`Headline`]); absent for a step measured whole. The
    /// CPU and largest-process figures of a phased step stay the whole process's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prove_source: Option<ProveSource>,
}

/// One cell: a model x framework x settings x runtime, with its repetitions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellResult {
    /// Stable id: `model/framework/settings-label/runtime`.
    pub id: String,
    pub model: String,
    pub framework: String,
    /// The cell's settings, as given in the suite.
    #[serde(default)]
    pub settings: BTreeMap<String, serde_json::Value>,
    pub runtime: String,
    pub status: CellStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub repetitions: Vec<Repetition>,
    /// Per step name, over the measured repetitions.
    #[serde(default)]
    pub summary: BTreeMap<String, StepSummary>,
    /// Cell-level numbers: `proof_size_bytes`, `constraints`, `accuracy_loss_pct`, ...
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
    /// Cell-level facts: framework version, SRS label, image id, ...
    #[serde(default)]
    pub info: BTreeMap<String, String>,
    /// The `fingerprint_id` of the host that ran the cell (cells from several hosts can be merged).
    #[serde(default)]
    pub host_id: String,
    #[serde(default)]
    pub started_at: String,
    #[serde(default)]
    pub finished_at: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A whole results file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultsFile {
    pub schema: String,
    pub zkprof_version: String,
    pub suite: SuiteRef,
    pub created_at: String,
    pub updated_at: String,
    pub host: Host,
    /// Other hosts whose cells were merged in, by `fingerprint_id`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub other_hosts: BTreeMap<String, Host>,
    pub sensors: Vec<SensorStatus>,
    pub cells: Vec<CellResult>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The shards this file holds: one for `zkprof run --shard I/N`, several after
    /// `zkprof merge`, none for an unsharded run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<ShardRecord>,
}

/// Which part of a plan a sharded run was given (`zkprof run --shard I/N`).
///
/// Shards of one matrix share `plan_sha256`, `count` and `costs`; their `cells` are
/// disjoint and together make `plan`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ShardRecord {
    /// SHA-256 (hex) over the sorted ids of `plan`, one per line.
    pub plan_sha256: String,
    /// How many shards the plan was split into (at least 1).
    pub count: u32,
    /// This shard, 1-based (`1..=count`).
    pub index: u32,
    /// Where the cost estimates used to balance the shards came from:
    /// `uniform`, or `results:` and the SHA-256 of the results file given to `--shard-costs`.
    pub costs: String,
    /// Every cell id of the whole plan (all shards, after `--framework` filters), sorted.
    pub plan: Vec<String>,
    /// The cell ids assigned to this shard, sorted.
    pub cells: Vec<String>,
    /// The `fingerprint_id` of the host that ran the shard (empty in files written before
    /// hosts were recorded: such a shard counts for any host).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Every field of `old` is in `new` with the same value (numbers compared as f64: a
    /// metric written as `15` reads back as `15.0`). `new` may hold fields added since.
    fn contains(old: &Value, new: &Value, path: &str) -> Result<(), String> {
        match (old, new) {
            (Value::Object(a), Value::Object(b)) => a.iter().try_for_each(|(k, v)| {
                let p = format!("{path}/{k}");
                contains(v, b.get(k).ok_or(format!("{p}: dropped"))?, &p)
            }),
            (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
                .iter()
                .zip(b)
                .enumerate()
                .try_for_each(|(i, (x, y))| contains(x, y, &format!("{path}[{i}]"))),
            (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => Ok(()),
            (a, b) if a == b => Ok(()),
            (a, b) => Err(format!("{path}: {a} became {b}")),
        }
    }

    /// Results files written by earlier versions (the report fixtures are real `zkprof run`
    /// output, schema v1) load, write back every field they had with its value, and the
    /// written file loads to the same results; read as v2, their cgroup peaks become the
    /// charged peaks and the upgraded file round-trips too.
    #[test]
    fn files_written_before_still_load_and_keep_every_field() {
        for (text, v1) in [
            (include_str!("../../tests/fixtures/reports/a.json"), true),
            (include_str!("../../tests/fixtures/reports/b.json"), true),
        ] {
            let original: Value = serde_json::from_str(text).expect("fixture is JSON");
            let file: ResultsFile = serde_json::from_str(text).expect("fixture loads");
            let schema = if v1 {
                migrate::RESULTS_SCHEMA_V1
            } else {
                RESULTS_SCHEMA
            };
            assert_eq!(file.schema, schema);
            assert!(!file.cells.is_empty());
            let written = serde_json::to_value(&file).expect("serializes");
            if let Err(e) = contains(&original, &written, "") {
                panic!("{e}");
            }
            let again: ResultsFile = serde_json::from_value(written).expect("reloads");
            assert_eq!(again, file);

            let mut upgraded = file.clone();
            migrate::upgrade(&mut upgraded);
            assert_eq!(upgraded.schema, RESULTS_SCHEMA);
            let pairs = file.cells.iter().zip(&upgraded.cells);
            for (old, new) in pairs.filter(|_| v1) {
                let steps = old.repetitions.iter().flat_map(|r| &r.steps);
                let new_steps = new.repetitions.iter().flat_map(|r| &r.steps);
                for (a, b) in steps.zip(new_steps) {
                    assert!(a.memory_method.includes_page_cache());
                    {
                        assert_eq!(b.peak_charged_bytes, Some(a.peak_tree_bytes));
                        assert_eq!(b.charged_method, Some(a.memory_method));
                        assert_eq!(b.memory_method, MemoryMethod::ProcSampling);
                    }
                }
            }
            let text = serde_json::to_string(&upgraded).expect("serializes");
            let back: ResultsFile = serde_json::from_str(&text).expect("reloads");
            assert_eq!(back, upgraded);
        }
    }
}
