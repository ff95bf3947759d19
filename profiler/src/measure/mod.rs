//! The measured runner: every step runs as its own process tree, in its own process
//! group and (where the host allows) its own memory cgroup, watched by a sampler thread.
//!
//! - `runner.rs`: spawn the step, watch it, build the `StepRun`.
//! - `process.rs`: pipes, `wait4` and rusage, killing and reaping a tree, joining cgroups,
//!   log tails.
//! - `sampler.rs`: the sampling thread (memory, CPU, other sensors; timeout and Ctrl-C).
//! - `proctree.rs`: which /proc entries belong to the tree.
//! - `workingset.rs`: the tree's working set (the headline peak memory) from /proc.
//! - `cgroup/`: the per-step cgroup (v1 and v2), and the parent cgroup of a step container.
//! - `cpus.rs`: confining a step to N CPUs (the `cpus` setting).
//! - `helper.rs`: processes outside a step (provisioning, accuracy evaluation), supervised alike.
//! - `lines.rs`: stdout/stderr through pipes, each line timestamped as it arrives.
//! - `statuses.rs`: what this host can measure (`doctor`, results, `exec --json`).
//! - `phases.rs`: phases of one step from its output markers (and the prover's timers).

pub mod cgroup;
pub mod cpus;
pub mod helper;
pub mod hygiene;
pub mod lines;
pub mod phases;
pub mod process;
pub mod proctree;
pub mod runner;
pub mod sampler;
mod statuses;
pub mod workingset;

pub use phases::{PhaseRule, PhaseSpec};
pub use runner::{MemoryPreference, RunError, Runner, RunnerConfig, StepSpec};
pub use statuses::sensor_statuses;
