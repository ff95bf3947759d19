//! The measured runner: every step runs as its own process tree, in its own process
//! group and (where the host allows) its own memory cgroup, watched by a sampler thread.
//!
//! - `runner.rs`: spawn, join the cgroup, `wait4`, reap leftovers, build the `StepRun`.
//! - `sampler.rs`: the sampling thread (memory, CPU, other sensors; timeout and Ctrl-C).
//! - `proctree.rs`: which /proc entries belong to the tree.
//! - `cgroup.rs`: the per-step cgroup (v1 and v2).
//! - `lines.rs`: stdout/stderr through pipes, each line timestamped as it arrives.
//! - `phases.rs`: phases of one step from its output markers (and the prover's timers).

pub mod cgroup;
pub mod hygiene;
pub mod lines;
pub mod phases;
pub mod proctree;
pub mod runner;
pub mod sampler;

pub use phases::{PhaseRule, PhaseSpec};
pub use runner::{MemoryPreference, RunError, Runner, RunnerConfig, StepSpec};

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
