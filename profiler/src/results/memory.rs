//! How peak memory figures were measured (`MemoryMethod`) and how exact the headline is
//! (`MemoryPrecision`).

use serde::{Deserialize, Serialize};

/// How a peak memory figure of the whole process tree was measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryMethod {
    /// The tree's working set: the resident pages of its processes, pages that several of
    /// them map counted once (`/proc/PID/stat` every sample, `smaps_rollup` for trees of
    /// two or more processes; see `measure/workingset.rs`). Page cache that no process
    /// maps is not in it. The headline method of results v2.
    WorkingSet,
    /// cgroup v2 `memory.peak` of a cgroup made for the step (exact; includes page cache).
    CgroupV2Peak,
    /// cgroup v1 `memory.max_usage_in_bytes` of a cgroup made for the step (exact; includes page cache).
    CgroupV1MaxUsage,
    /// Maximum over samples of the summed RSS of every live process of the tree, from /proc
    /// (results v1: a page mapped by two processes counts twice).
    ProcSampling,
    /// The container's own cgroup (Docker runtime; includes page cache).
    ContainerCgroup,
}

impl MemoryMethod {
    /// A short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            MemoryMethod::WorkingSet => "working set",
            MemoryMethod::CgroupV2Peak => "cgroup v2 memory.peak, includes page cache",
            MemoryMethod::CgroupV1MaxUsage => {
                "cgroup v1 memory.max_usage_in_bytes, includes page cache"
            }
            MemoryMethod::ProcSampling => "sum of sampled RSS (results v1)",
            MemoryMethod::ContainerCgroup => "container cgroup, includes page cache",
        }
    }

    /// Whether the figure includes page cache charged to the step (a cgroup's counter).
    pub fn includes_page_cache(self) -> bool {
        matches!(
            self,
            MemoryMethod::CgroupV2Peak
                | MemoryMethod::CgroupV1MaxUsage
                | MemoryMethod::ContainerCgroup
        )
    }
}

/// How exact a step's peak working set is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryPrecision {
    /// One process alive at a time (one process, or processes run one after another): the
    /// working set is that process's RSS, and the kernel's high-water marks (`wait4`'s
    /// `ru_maxrss`) give the exact peak, spikes of any length included.
    HighWaterMark,
    /// Several processes: the maximum of the working set sampled every interval. A spike
    /// shorter than the interval can be missed; the figure is never below the largest
    /// process's high-water mark.
    #[default]
    Sampled,
}

impl MemoryPrecision {
    /// A short phrase for terminals and reports.
    pub fn label(self) -> &'static str {
        match self {
            MemoryPrecision::HighWaterMark => "exact: kernel high-water mark",
            MemoryPrecision::Sampled => "sampled",
        }
    }
}
