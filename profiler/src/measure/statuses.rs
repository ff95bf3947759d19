//! What this host can measure: the runner's own sensors (`/proc` sampling, the per-step
//! cgroup) and every sensor of `crate::sensors`, each with its status.

use crate::results::SensorStatus;
use crate::roots::Roots;

/// The status of every sensor, the runner's own included (`doctor`, results, `exec --json`).
pub fn sensor_statuses(roots: &Roots) -> Vec<SensorStatus> {
    let mut out = Vec::new();
    let proc_ok = roots.proc.join("self/stat").exists();
    out.push(if proc_ok {
        SensorStatus::available_with(
            "proc",
            "peak working set of the tree (resident pages, shared ones counted once) from /proc; \
             exact while one process at a time is alive (kernel high-water mark), else sampled",
        )
    } else {
        SensorStatus::unavailable(
            "proc",
            format!("{}/self/stat is not readable", roots.proc.display()),
        )
    });
    out.push(match super::cgroup::probe(roots) {
        None => SensorStatus::available_with(
            "cgroup",
            "CPU time of the whole tree, memory limits and the charged peak (includes page cache) \
             from a per-step cgroup",
        ),
        Some(why) => SensorStatus::unavailable(
            "cgroup",
            format!("{why}; CPU time from rusage, no charged peak"),
        ),
    });
    out.extend(crate::sensors::all(roots).iter().map(|s| s.status()));
    out
}
