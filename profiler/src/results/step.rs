//! One measured process run (`StepRun`), its sensor readings, sampled series and phases.

use super::memory::{MemoryMethod, MemoryPrecision};
use super::SeriesPercentiles;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How the CPU time of the whole tree was measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CpuMethod {
    /// cgroup v1 `cpuacct.usage_user`/`usage_sys` or v2 `cpu.stat` (every process of the tree).
    Cgroup,
    /// `wait4` rusage of the direct child (which includes the descendants it reaped) plus
    /// the rusage of orphans that zkprof reaped as child subreaper.
    Rusage,
}

/// One measured process run: a step of a cell, or one run of `zkprof exec`.
///
/// The first ten fields are a contract read by other tools (`zkprof exec --json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRun {
    /// Wall time from spawn to exit, monotonic clock, seconds.
    pub wall_s: f64,
    /// User CPU time of the whole process tree, seconds.
    pub user_s: f64,
    /// System CPU time of the whole process tree, seconds.
    pub sys_s: f64,
    /// Peak working set of the whole process tree, bytes: the most memory its processes
    /// held resident at once, pages shared between them counted once, page cache that no
    /// process maps not counted (see `memory_method` and `memory_precision`).
    pub peak_tree_bytes: u64,
    /// Peak resident set of the largest single process of the tree, bytes.
    pub peak_process_bytes: u64,
    /// How `peak_tree_bytes` was measured (`working_set` in results v2).
    pub memory_method: MemoryMethod,
    /// Exit code of the direct child, when it exited normally.
    pub exit_code: Option<i32>,
    /// Signal that ended the direct child, when one did.
    pub signal: Option<i32>,
    /// The kernel's OOM killer (or zkprof enforcing the memory limit) ended the tree.
    pub oom_killed: bool,
    /// The step ran past its timeout and zkprof killed the whole tree.
    pub timed_out: bool,

    /// The name of the step (`prove`, `setup`, ... or `exec`).
    #[serde(default)]
    pub step: String,
    /// The command line that ran.
    #[serde(default)]
    pub argv: Vec<String>,
    /// The user stopped zkprof (Ctrl-C) while this step ran; the tree was killed.
    #[serde(default)]
    pub interrupted: bool,
    /// How `user_s` and `sys_s` were measured.
    #[serde(default = "default_cpu_method")]
    pub cpu_method: CpuMethod,
    /// Maximum over samples of the summed RSS of the tree, bytes (a page mapped by
    /// several processes counts once per process).
    #[serde(default)]
    pub peak_tree_rss_bytes: u64,
    /// How exact `peak_tree_bytes` is.
    #[serde(default)]
    pub memory_precision: MemoryPrecision,
    /// The peak memory charged to the step's cgroup (or the container's), bytes: the
    /// working set plus page cache the step's file I/O brought in, less pages first
    /// charged elsewhere. `None` without a cgroup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_charged_bytes: Option<u64>,
    /// The counter that gave `peak_charged_bytes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charged_method: Option<MemoryMethod>,
    /// Peak RSS of the direct child alone, bytes: what a tool polling the spawned process
    /// reports (psutil, the 2024 ZKML benchmark's method), sampled every interval (and the
    /// kernel's high-water mark when it was the only process).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_peak_rss_bytes: Option<u64>,
    /// Distinct processes seen in the tree while it ran.
    #[serde(default)]
    pub processes_seen: u32,
    /// Processes still alive after the direct child exited, killed by zkprof.
    #[serde(default)]
    pub leftover_killed: u32,
    /// Wall-clock start time (UTC, RFC 3339); informational only, never used for durations.
    #[serde(default)]
    pub started_at: String,
    /// Where stdout went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdout_path: Option<String>,
    /// Where stderr went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr_path: Option<String>,
    /// The last lines of stdout.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stdout_tail: Vec<String>,
    /// The last lines of stderr.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stderr_tail: Vec<String>,
    /// Readings of the other sensors (energy per domain, counters, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub readings: Vec<Reading>,
    /// Percentiles of the sampled tree memory (bytes), over every sample taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree_bytes_percentiles: Option<SeriesPercentiles>,
    /// The sampled time series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<Series>,
    /// Sampler ticks taken during the run.
    #[serde(default)]
    pub sampler_ticks: u64,
    /// CPU time the sampler thread used, seconds (the profiler's own cost).
    #[serde(default)]
    pub sampler_cpu_s: f64,
    /// A short note, e.g. why the run failed to start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The phases of the run, when its framework declares them (a prover that does setup,
    /// proving and verification in one process), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<Phase>,
    /// The headline figures of a phased run (its prove phase), and how they were obtained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headline: Option<Headline>,
    /// For a step confined to some CPUs (the `cpus` setting): the CPUs its leader was
    /// allowed to run on, as the kernel reported them (`Cpus_allowed_list`, e.g. `0-1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus_allowed: Option<String>,
    /// How the step was confined (`cpuset cgroup and CPU affinity`, or affinity and why
    /// no cpuset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus_method: Option<String>,
    /// Why a run that exited 0 did not do its work (its adapter's check: an opML VM that
    /// reached no final state); such a run counts as failed, and its figures are not
    /// summarized as a measurement of the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_check: Option<String>,
}

fn default_cpu_method() -> CpuMethod {
    CpuMethod::Rusage
}

impl StepRun {
    /// The run's headline peak working set, bytes: its headline phase's for a phased step
    /// (a monolithic prover), else the whole step's.
    pub fn headline_peak_bytes(&self) -> u64 {
        self.headline
            .as_ref()
            .map_or(self.peak_tree_bytes, |h| h.peak_tree_bytes)
    }

    /// True when the process exited with code 0 and was not killed.
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0)
            && !self.timed_out
            && !self.oom_killed
            && !self.interrupted
            && self.failed_check.is_none()
    }

    /// A one-word outcome for tables: `ok`, `exit 3`, `signal 9`, `oom`, `timeout`, `interrupted`.
    pub fn outcome(&self) -> String {
        if self.failed_check.is_some() {
            "exit 0, failed its check".into()
        } else if self.interrupted {
            "interrupted".into()
        } else if self.timed_out {
            "timeout".into()
        } else if self.oom_killed {
            "oom".into()
        } else if let Some(code) = self.exit_code {
            if code == 0 {
                "ok".into()
            } else {
                format!("exit {code}")
            }
        } else if let Some(sig) = self.signal {
            format!("signal {sig}")
        } else {
            "unknown".into()
        }
    }
}

/// The readings that are the energy totals of one source, counting nothing twice, as
/// (sensor, metric): RAPL packages plus DRAM (or psys alone), and the sum over GPUs.
pub const ENERGY_TOTALS: [(&str, &str); 2] =
    [("rapl", "energy.total"), ("nvml", "gpu.energy.total")];

impl StepRun {
    /// The energy of the step, joules: the sum of its [`ENERGY_TOTALS`] readings. Readings
    /// that came without a total (from another tool) are summed over the domains that do
    /// not contain each other instead: `energy.package-N` and `energy.dram*` plus GPU
    /// `gpuN.energy` (sub-domains `core`/`uncore` are inside their package, `psys`
    /// contains everything). `None` when the run has no such reading: unmeasured energy
    /// stays unmeasured.
    ///
    /// The one definition of step energy: the `{step}.energy_j` metrics, the reports'
    /// energy per proof and proofs per kJ all come from it.
    pub fn energy_j(&self) -> Option<f64> {
        let joules = || {
            self.readings
                .iter()
                .filter(|r| r.unit == "J" && r.value.is_finite())
        };
        let totals: Vec<f64> = joules()
            .filter(|r| {
                ENERGY_TOTALS
                    .iter()
                    .any(|(s, m)| r.sensor == *s && r.metric == *m)
            })
            .map(|r| r.value)
            .collect();
        if !totals.is_empty() {
            return Some(totals.iter().sum());
        }
        let parts: Vec<f64> = joules()
            .filter(|r| {
                let m = r.metric.to_ascii_lowercase();
                m.starts_with("energy.package")
                    || m.starts_with("energy.dram")
                    || (m.starts_with("gpu") && m.ends_with(".energy"))
            })
            .map(|r| r.value)
            .collect();
        (!parts.is_empty()).then(|| parts.iter().sum())
    }
}

/// One value from a sensor, with its unit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    /// The sensor that produced it (`perf`, `rapl`, `nvml`, ...).
    pub sensor: String,
    /// What was measured (`instructions`, `energy.package-0`, `gpu0.energy`, ...).
    pub metric: String,
    /// The value, in `unit`.
    pub value: f64,
    /// `J`, `W`, `count`, `bytes`, `%`, `MHz`, ...
    pub unit: String,
    /// How it was obtained, when that matters (`scaled: running 52% of enabled time`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A sampled time series, stored column-wise.
///
/// Invariant: every column has the same length as `t_s`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Requested sampling interval, milliseconds.
    pub interval_ms: f64,
    /// Sample times since spawn, seconds.
    pub t_s: Vec<f64>,
    /// Summed RSS of the tree (or cgroup usage, see the run's memory method), bytes.
    pub tree_bytes: Vec<u64>,
    /// CPU use of the tree over the preceding interval, in cores (1.0 = one core busy).
    pub cpu_cores: Vec<f64>,
    /// Other sampled columns (e.g. `gpu0.power_w`), same length as `t_s`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, Vec<f64>>,
    /// How many samples were taken before downsampling, when it happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downsampled_from: Option<usize>,
}

/// How the peak memory of a phase was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseMemory {
    /// The step's cgroup peak counter, read and reset at each boundary (results v1 only:
    /// includes page cache; v2 keeps it as the phase's `peak_charged_bytes`).
    CgroupPeakReset,
    /// The maximum of the sampled working set within the window (a peak shorter than the
    /// sampling interval can be missed).
    Sampled,
    /// No sample fell in or after the window.
    Unmeasured,
}

/// One phase of a step: the window between two boundaries seen in its output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    pub name: String,
    /// Window start and end, seconds since spawn.
    pub start_s: f64,
    pub end_s: f64,
    /// `end_s - start_s`, seconds (our own boundary timing).
    pub duration_s: f64,
    /// Peak working set of the tree within the window, bytes (see `memory` for how).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_tree_bytes: Option<u64>,
    pub memory: PhaseMemory,
    /// The step cgroup's charged peak within the window (includes page cache), bytes,
    /// read and reset at the window's boundaries (cgroup v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_charged_bytes: Option<u64>,
    /// Maximum sampled RSS sum of the tree within the window, bytes (no page cache).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_tree_rss_bytes: Option<u64>,
    /// Samples that fell in the window.
    #[serde(default)]
    pub samples: u32,
    /// CPU time of the tree within the window (sampled), seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_s: Option<f64>,
    /// Energy per measured domain within the window (integrated sampled power), joules.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub energy_j: BTreeMap<String, f64>,
    /// The prover's own duration for this phase, seconds, when it prints one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prover_timer_s: Option<f64>,
    /// `duration_s` and `prover_timer_s` differ by more than 5% + 100 ms.
    #[serde(default)]
    pub timer_disagrees: bool,
    /// The output line that began the window (none: the spawn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_marker: Option<String>,
    /// The output line that ended the window (none: the process exit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_marker: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Where the headline prove figures of a step come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProveSource {
    /// Time: the prover's own timer for its prove phase; memory: the phase's window.
    ProverTimer,
    /// Time and memory: the window between the output markers around the prove phase.
    OutputMarkers,
    /// The whole step (no prove phase could be told apart).
    WholeStep,
}

impl ProveSource {
    /// A short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            ProveSource::ProverTimer => "prover timer",
            ProveSource::OutputMarkers => "output markers",
            ProveSource::WholeStep => "whole step",
        }
    }
}

/// The headline figures of a phased step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Headline {
    /// The headline phase's name (`prove`).
    pub phase: String,
    pub prove_source: ProveSource,
    /// Headline time, seconds.
    pub wall_s: f64,
    /// Headline peak working set of the tree, bytes.
    pub peak_tree_bytes: u64,
    /// Our own boundary timing of the phase, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub markers_s: Option<f64>,
    /// The prover's own timer, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prover_timer_s: Option<f64>,
    /// Disagreements between the two, missing markers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prove_run() -> StepRun {
        serde_json::from_value(serde_json::json!({
            "wall_s": 1.0, "user_s": 1.0, "sys_s": 0.0, "peak_tree_bytes": 1, "peak_process_bytes": 1,
            "memory_method": "proc_sampling", "exit_code": 0, "signal": null, "oom_killed": false,
            "timed_out": false, "step": "prove"
        }))
        .expect("a minimal step run parses")
    }

    fn reading(sensor: &str, metric: &str, value: f64, unit: &str) -> Reading {
        Reading {
            sensor: sensor.into(),
            metric: metric.into(),
            value,
            unit: unit.into(),
            note: None,
        }
    }

    #[test]
    fn energy_from_readings_skips_nested_domains() {
        let mut run = prove_run();
        run.readings = vec![
            reading("rapl", "energy.package-0", 10.0, "J"),
            reading("rapl", "energy.core", 7.0, "J"),
            reading("rapl", "energy.dram", 2.0, "J"),
            reading("rapl", "gpu0.energy", 30.0, "J"),
            reading("rapl", "gpu0.power", 300.0, "W"),
            reading("rapl", "energy.psys", 50.0, "J"),
        ];
        assert_eq!(run.energy_j(), Some(42.0));
        run.readings.clear();
        assert_eq!(run.energy_j(), None);
    }

    #[test]
    fn energy_is_the_sum_of_the_sensors_totals_when_they_recorded_them() {
        let mut run = prove_run();
        run.readings = vec![
            reading("rapl", "energy.package-0", 49.0, "J"),
            reading("rapl", "energy.package-0.core", 25.0, "J"),
            reading("rapl", "energy.total", 50.0, "J"),
            reading("nvml", "gpu0.energy", 10.0, "J"),
            reading("nvml", "gpu.energy.total", 10.0, "J"),
        ];
        assert_eq!(run.energy_j(), Some(60.0));
        // psys alone is RAPL's total: it counts, although it is not a top-level package.
        run.readings = vec![
            reading("rapl", "energy.psys", 8.0, "J"),
            reading("rapl", "energy.total", 8.0, "J"),
        ];
        assert_eq!(run.energy_j(), Some(8.0));
    }
}
