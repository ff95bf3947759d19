//! Energy-derived metrics of a cell, and the ZK-Score calibration (`score/calibration.rs`).
//!
//! Only measured energy is used: a cell whose steps have no energy readings gets no
//! energy metric at all (unmeasured stays unmeasured; nothing is estimated).
//!
//! Metrics, each the median over the measured repetitions whose step succeeded:
//! - `{step}.energy_j.{sensor}.{domain}`: joules of one domain (`prove.energy_j.rapl.package-0`,
//!   `prove.energy_j.nvml.gpu0`);
//! - `{step}.energy_j`: joules of the step, [`StepRun::energy_j`] (RAPL `energy.total`
//!   plus NVML `gpu.energy.total`: every measured source, nothing counted twice);
//! - `{step}.power_w`: that energy over the step's wall time, watts;
//! - `proofs_per_kj`: 1000 / `prove.energy_j`.
//!
//! RAPL and NVML measure the whole socket or card, so these numbers include whatever
//! else ran on the host; the readings' notes say so.

pub mod calibration;

use crate::results::{CellResult, StepRun};
use std::collections::BTreeMap;

/// `energy.package-0` -> `package-0`, `gpu0.energy` -> `gpu0`, `gpu.energy.total` -> `gpu.total`.
fn domain_of(metric: &str) -> String {
    metric
        .split('.')
        .filter(|p| *p != "energy")
        .collect::<Vec<_>>()
        .join(".")
}

/// The energy metrics of one step run, keyed without the step prefix
/// (`energy_j.rapl.package-0`, `energy_j`, `power_w`).
pub fn step_energy(run: &StepRun) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for r in run
        .readings
        .iter()
        .filter(|r| r.unit == "J" && r.value.is_finite())
    {
        out.insert(
            format!("energy_j.{}.{}", r.sensor, domain_of(&r.metric)),
            r.value,
        );
    }
    if let Some(j) = run.energy_j() {
        out.insert("energy_j".into(), j);
        if run.wall_s > 0.0 {
            out.insert("power_w".into(), j / run.wall_s);
        }
    }
    out
}

/// The energy-derived metrics of a cell (see the module documentation). Empty when no
/// step of a measured repetition has an energy reading.
pub fn cell_energy_metrics(cell: &CellResult) -> BTreeMap<String, f64> {
    let mut samples: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for rep in cell.repetitions.iter().filter(|r| !r.warmup) {
        for step in rep.steps.iter().filter(|s| s.succeeded()) {
            for (key, value) in step_energy(step) {
                samples
                    .entry(format!("{}.{key}", step.step))
                    .or_default()
                    .push(value);
            }
        }
    }
    let mut out: BTreeMap<String, f64> = samples
        .into_iter()
        .map(|(k, v)| (k, crate::results::Summary::of(&v).median))
        .collect();
    if let Some(&j) = out.get("prove.energy_j") {
        if j > 0.0 {
            out.insert("proofs_per_kj".into(), 1000.0 / j);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{CellStatus, Reading, Repetition};

    /// A successful step run with these energy readings (other fields take their defaults).
    fn run(step: &str, wall_s: f64, readings: &[(&str, &str, f64)]) -> StepRun {
        let mut r: StepRun = serde_json::from_value(serde_json::json!({
            "wall_s": wall_s, "user_s": 0.0, "sys_s": 0.0, "peak_tree_bytes": 0,
            "peak_process_bytes": 0, "memory_method": "proc_sampling", "exit_code": 0,
            "signal": null, "oom_killed": false, "timed_out": false, "step": step,
        }))
        .unwrap();
        r.readings = readings
            .iter()
            .map(|(s, m, v)| Reading {
                sensor: (*s).into(),
                metric: (*m).into(),
                value: *v,
                unit: "J".into(),
                note: None,
            })
            .collect();
        r
    }

    fn cell(reps: Vec<(bool, Vec<StepRun>)>) -> CellResult {
        CellResult {
            id: "m/f/s/native".into(),
            model: "m".into(),
            framework: "f".into(),
            settings: BTreeMap::new(),
            runtime: "native".into(),
            status: CellStatus::Ok,
            reason: None,
            repetitions: reps
                .into_iter()
                .enumerate()
                .map(|(i, (warmup, steps))| Repetition {
                    index: i as u32,
                    warmup,
                    steps,
                })
                .collect(),
            summary: BTreeMap::new(),
            metrics: BTreeMap::new(),
            info: BTreeMap::new(),
            host_id: String::new(),
            started_at: String::new(),
            finished_at: String::new(),
            warnings: vec![],
        }
    }

    #[test]
    fn energy_metrics_take_medians_and_skip_warmup() {
        let prove = |j: f64| {
            run(
                "prove",
                2.0,
                &[
                    ("rapl", "energy.package-0", j - 1.0),
                    ("rapl", "energy.package-0.core", j / 2.0),
                    ("rapl", "energy.total", j),
                    ("nvml", "gpu.energy.total", 10.0),
                ],
            )
        };
        let c = cell(vec![
            (true, vec![prove(1000.0)]),
            (false, vec![run("setup", 1.0, &[]), prove(40.0)]),
            (false, vec![prove(50.0)]),
            (false, vec![prove(60.0)]),
        ]);
        let m = cell_energy_metrics(&c);
        assert_eq!(m["prove.energy_j.rapl.total"], 50.0);
        assert_eq!(m["prove.energy_j.rapl.package-0.core"], 25.0);
        assert_eq!(m["prove.energy_j.nvml.gpu.total"], 10.0);
        // The core domain is inside the package: not added again.
        assert_eq!(m["prove.energy_j"], 60.0);
        assert_eq!(m["prove.power_w"], 30.0);
        assert!((m["proofs_per_kj"] - 1000.0 / 60.0).abs() < 1e-9);
        assert!(!m.keys().any(|k| k.starts_with("setup.")), "{m:?}");
    }

    #[test]
    fn unmeasured_stays_unmeasured() {
        let c = cell(vec![(false, vec![run("prove", 2.0, &[])])]);
        assert!(cell_energy_metrics(&c).is_empty());
    }
}
