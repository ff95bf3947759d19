//! The options several commands share: `GlobalArgs` (every command) and `MeasureArgs`
//! (`run` and `exec`). Each command's own arguments live in its file.

use crate::measure::MemoryPreference;
use crate::roots::Roots;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// Options every subcommand takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More log output (-v info, -vv debug); logs go to stderr.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Root of /proc (for tests on fixture trees).
    #[arg(long, global = true, env = "ZKPROF_PROC_ROOT", hide = true)]
    pub proc_root: Option<PathBuf>,
    /// Root of /sys (for tests on fixture trees).
    #[arg(long, global = true, env = "ZKPROF_SYS_ROOT", hide = true)]
    pub sys_root: Option<PathBuf>,
    /// Root of the cgroup mount (for tests on fixture trees).
    #[arg(long, global = true, env = "ZKPROF_CGROUP_ROOT", hide = true)]
    pub cgroup_root: Option<PathBuf>,
}

impl GlobalArgs {
    /// The filesystem roots to read.
    pub fn roots(&self) -> Roots {
        let mut r = Roots::from_env();
        if let Some(p) = &self.proc_root {
            r.proc = p.clone();
        }
        if let Some(p) = &self.sys_root {
            r.sys = p.clone();
        }
        if let Some(p) = &self.cgroup_root {
            r.cgroup = p.clone();
        }
        r
    }
}

/// Measurement options shared by `run` and `exec`.
#[derive(Debug, Args, Clone)]
pub struct MeasureArgs {
    /// Sampling interval in milliseconds.
    #[arg(long, default_value_t = 10, value_name = "MS")]
    pub interval_ms: u64,
    /// How to measure the tree's peak memory.
    #[arg(long, value_enum, default_value_t = MemoryMethodArg::Auto)]
    pub memory_method: MemoryMethodArg,
    /// Fail (exit 3) instead of going on when this sensor is unavailable (repeatable).
    #[arg(long, value_name = "SENSOR")]
    pub require: Vec<String>,
}

/// `--memory-method` values.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum MemoryMethodArg {
    /// A per-step cgroup where the host allows it, else /proc sampling.
    Auto,
    /// A per-step cgroup, or exit 3.
    Cgroup,
    /// /proc sampling only.
    Proc,
}

impl From<MemoryMethodArg> for MemoryPreference {
    fn from(m: MemoryMethodArg) -> Self {
        match m {
            MemoryMethodArg::Auto => MemoryPreference::Auto,
            MemoryMethodArg::Cgroup => MemoryPreference::Cgroup,
            MemoryMethodArg::Proc => MemoryPreference::Proc,
        }
    }
}
