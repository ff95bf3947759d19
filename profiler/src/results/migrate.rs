//! Reading results v1 as v2.
//!
//! v1's `peak_tree_bytes` was the step cgroup's peak where there was one: memory charged
//! to the step, page cache included (and pages first charged elsewhere left out). v2's is
//! the tree's working set. A v1 file is read as v2 thus, for every step with a cgroup
//! figure: the cgroup peak becomes `peak_charged_bytes`, and the headline becomes the
//! closest v1 figure to a working set, the sampled sum of RSS (`peak_tree_rss_bytes`, not
//! below the largest process), labelled `proc_sampling` ("sum of sampled RSS (results
//! v1)"); phases and headlines alike, and the step summaries are recomputed from them.
//! Steps measured without a cgroup keep their figures (they were already sums of RSS).

use super::{CellResult, MemoryMethod, PhaseMemory, ResultsFile, StepRun, Summary, RESULTS_SCHEMA};

/// The schema string of results files written before the working-set headline.
pub const RESULTS_SCHEMA_V1: &str = "zkprof/results/v1";

/// Turns a file read with the v1 schema string into v2 (see the module documentation).
/// Files already v2 are left as they are.
pub fn upgrade(file: &mut ResultsFile) {
    if file.schema != RESULTS_SCHEMA_V1 {
        return;
    }
    for cell in &mut file.cells {
        upgrade_cell(cell);
    }
    file.schema = RESULTS_SCHEMA.into();
    file.warnings.push(
        "read from results v1: peak memory was the cgroup's charged peak (page cache included); \
         it is kept as the charged peak, and the headline is v1's sum of sampled RSS"
            .into(),
    );
}

fn upgrade_cell(cell: &mut CellResult) {
    let mut changed = false;
    for rep in &mut cell.repetitions {
        for step in &mut rep.steps {
            changed |= upgrade_step(step);
        }
    }
    if !changed {
        return;
    }
    // The summaries' peak: over the measured repetitions whose step succeeded, the
    // headline phase's peak for a phased step (as `cellrun::summarize_steps` makes it).
    for (name, summary) in cell.summary.iter_mut() {
        let runs: Vec<&StepRun> = cell
            .repetitions
            .iter()
            .filter(|r| !r.warmup)
            .flat_map(|r| r.steps.iter())
            .filter(|s| &s.step == name && s.succeeded())
            .collect();
        if runs.is_empty() {
            continue;
        }
        let peaks: Vec<u64> = runs.iter().map(|r| r.headline_peak_bytes()).collect();
        summary.peak_tree_bytes = Summary::of_u64(&peaks);
        summary.peak_charged_bytes =
            Summary::of_present_u64(runs.iter().map(|r| r.peak_charged_bytes));
    }
}

/// Upgrades one step; true when its figures changed.
fn upgrade_step(step: &mut StepRun) -> bool {
    if !step.memory_method.includes_page_cache() {
        return false;
    }
    step.peak_charged_bytes = Some(step.peak_tree_bytes);
    step.charged_method = Some(step.memory_method);
    step.memory_method = MemoryMethod::ProcSampling;
    if step.peak_tree_rss_bytes > 0 {
        step.peak_tree_bytes = step.peak_tree_rss_bytes.max(step.peak_process_bytes);
    } else {
        // No sampled sum was recorded: the largest process is the one v1 figure left.
        step.peak_tree_bytes = step.peak_process_bytes;
    }
    for phase in &mut step.phases {
        if phase.memory == PhaseMemory::CgroupPeakReset {
            phase.peak_charged_bytes = phase.peak_tree_bytes;
            phase.peak_tree_bytes = phase.peak_tree_rss_bytes;
            phase.memory = if phase.peak_tree_bytes.is_some() {
                PhaseMemory::Sampled
            } else {
                PhaseMemory::Unmeasured
            };
        } else if phase.memory == PhaseMemory::Sampled {
            // v1 sampled the cgroup's usage where there was a cgroup.
            phase.peak_tree_bytes = phase.peak_tree_rss_bytes.or(phase.peak_tree_bytes);
        }
    }
    let step_peak = step.peak_tree_bytes;
    if let Some(h) = step.headline.as_mut() {
        let phase_peak = step
            .phases
            .iter()
            .find(|p| p.name == h.phase && p.end_marker.is_some())
            .and_then(|p| p.peak_tree_bytes);
        h.peak_tree_bytes = match h.prove_source {
            super::ProveSource::WholeStep => step_peak,
            _ => phase_peak.unwrap_or(step_peak),
        };
    }
    // The sampled series and its percentiles stay the cgroup's usage (reports label a
    // v1 series as charged memory).
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v1_step() -> StepRun {
        serde_json::from_value(serde_json::json!({
            "wall_s": 1.0, "user_s": 1.0, "sys_s": 0.0, "peak_tree_bytes": 925,
            "peak_process_bytes": 300, "memory_method": "cgroup_v1_max_usage",
            "peak_tree_rss_bytes": 314, "exit_code": 0, "signal": null,
            "oom_killed": false, "timed_out": false, "step": "prove"
        }))
        .expect("a v1 step parses")
    }

    #[test]
    fn a_cgroup_peak_becomes_the_charged_peak() {
        let mut s = v1_step();
        assert!(upgrade_step(&mut s));
        assert_eq!(s.peak_charged_bytes, Some(925));
        assert_eq!(s.charged_method, Some(MemoryMethod::CgroupV1MaxUsage));
        assert_eq!(s.peak_tree_bytes, 314);
        assert_eq!(s.memory_method, MemoryMethod::ProcSampling);
        // A second pass changes nothing.
        assert!(!upgrade_step(&mut s));
        assert_eq!(s.peak_tree_bytes, 314);
    }
}
