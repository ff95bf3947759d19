//! The measured runner: every step runs as its own process tree, in its own process
//! group and (where the host allows) its own memory cgroup, watched by a sampler thread.
//!
//! - `runner.rs`: spawn the step, watch it, build the `StepRun`.
//! - `process.rs`: pipes, `wait4` and rusage, reaping leftovers, joining cgroups, log tails.
//! - `sampler.rs`: the sampling thread (memory, CPU, other sensors; timeout and Ctrl-C).
//! - `proctree.rs`: which /proc entries belong to the tree.
//! - `cgroup/`: the per-step cgroup (v1 and v2), and the parent cgroup of a step container.
//! - `lines.rs`: stdout/stderr through pipes, each line timestamped as it arrives.
//! - `statuses.rs`: what this host can measure (`doctor`, results, `exec --json`).
//! - `phases.rs`: phases of one step from its output markers (and the prover's timers).

pub mod cgroup;
pub mod hygiene;
pub mod lines;
pub mod phases;
pub mod process;
pub mod proctree;
pub mod runner;
pub mod sampler;
mod statuses;

pub use phases::{PhaseRule, PhaseSpec};
pub use runner::{MemoryPreference, RunError, Runner, RunnerConfig, StepSpec};
pub use statuses::sensor_statuses;

use cgroup::StepCgroup;
use proctree::{ProcReader, TreeTracker};

/// SIGKILLs the whole tree: its process group, every member seen so far (checked by start
/// time against pid reuse) and everything in its cgroup.
pub(crate) fn kill_tree(reader: &ProcReader, tracker: &TreeTracker, cgroup: Option<&StepCgroup>) {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(-tracker.pgid(), libc::SIGKILL) };
    for pid in tracker.known_pids() {
        let same = reader.read(pid).map(|p| p.starttime) == tracker.known_starttime(pid);
        if same {
            // SAFETY: kill(2) has no memory-safety preconditions.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    if let Some(cg) = cgroup {
        cg.kill_all();
    }
}
