//! The working set of a process tree: its resident pages, with pages that several of its
//! processes map counted once. This is the headline peak memory (`peak_tree_bytes`).
//!
//! Definition, per sample, over the live processes `p` of the tree:
//!
//! ```text
//! working set = Σ_p anon_p + max( Σ_p (Pss_p − Pss_Anon_p), max_p (Rss_p − Anonymous_p) )
//! ```
//!
//! - Anonymous pages (heap, stacks, private writable mappings) can only be shared between
//!   processes related by a `fork` without `exec`, that is inside the tree (the tree's
//!   leader was exec'd with a fresh address space): the sum of their proportional shares
//!   (`Pss_Anon` of `/proc/PID/smaps_rollup`) counts each such page exactly once.
//! - File-backed and shared-memory pages (binaries, libraries, mapped files) may also be
//!   mapped outside the tree. Their union lies between the largest process's own count
//!   and the sum over processes; the sum of proportional shares undercounts pages shared
//!   with outsiders, so the larger of it and the largest process's count is taken.
//! - A one-process tree's working set is its resident set size (RSS) exactly, with no
//!   `smaps_rollup` read at all; its peak is bounded below by the kernel's high-water mark
//!   (`wait4`'s `ru_maxrss`), which no sampling interval can miss.
//!
//! Page cache that no process maps (files the step wrote or read) is not in the working
//! set; the cgroup's charged peak, which includes it, is kept beside it.
//!
//! `smaps_rollup` walks every page table of a process (about 15 ms per resident GiB), so it
//! is read only for trees of two or more processes: when the tree's membership changes,
//! for the processes whose sharing that can change (a new process and its parent; after
//! an exit, those that shared anonymous pages), and otherwise for all of them at most
//! every [`REFRESH_S`], within a CPU budget of [`BUDGET_SHARE`] of one core (a membership
//! change may borrow [`BUDGET_BURST_S`] ahead).
//! Between two reads, a process's change of RSS (read every sample from `/proc/PID/stat`)
//! is counted as a change of its private anonymous memory: an allocation between reads
//! is seen at once; a copy-on-write of a shared page is seen at the next read.

use super::proctree::ProcSnapshot;
use crate::results::MemoryPrecision;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Share of one core that `smaps_rollup` reads may use on average.
pub const BUDGET_SHARE: f64 = 0.005;
/// CPU seconds the budget may hold (a burst at the start and after quiet spells).
pub const BUDGET_BURST_S: f64 = 0.005;
/// Without a membership change, the rollups are read again at most this often, seconds.
pub const REFRESH_S: f64 = 0.1;

/// The fields of one process's `smaps_rollup` that the working set needs, bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rollup {
    /// Resident set size (`Rss`).
    pub rss: u64,
    /// Proportional set size (`Pss`).
    pub pss: u64,
    /// The anonymous part of `pss` (`Pss_Anon`, Linux 5.6+).
    pub pss_anon: u64,
    /// Resident anonymous pages, shared or not (`Anonymous`).
    pub anonymous: u64,
}

/// Parses `/proc/PID/smaps_rollup` (values in kB). `None` without the fields the
/// working set needs (kernels before 5.6 lack `Pss_Anon`).
pub fn parse_rollup(text: &str) -> Option<Rollup> {
    let mut fields: HashMap<&str, u64> = HashMap::new();
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let Some(kb) = rest.split_whitespace().next().and_then(|v| v.parse().ok()) else {
            continue;
        };
        fields.insert(key.trim(), kb);
    }
    let get = |k: &str| fields.get(k).map(|kb| kb.saturating_mul(1024));
    Some(Rollup {
        rss: get("Rss")?,
        pss: get("Pss")?,
        pss_anon: get("Pss_Anon")?,
        anonymous: get("Anonymous")?,
    })
}

/// One live process of the tree in one sample: its RSS now and its last rollup, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part {
    /// RSS now (`/proc/PID/stat`), bytes.
    pub rss_now: u64,
    /// The last rollup read, `None` when none could be read (the process then counts as
    /// if none of its pages were shared).
    pub rollup: Option<Rollup>,
}

/// The working set of one sample, bytes (the formula of the module's documentation).
/// Never below the largest process's RSS.
pub fn combine(parts: &[Part]) -> u64 {
    if let [only] = parts {
        return only.rss_now;
    }
    let mut anon: u64 = 0;
    let mut shared_sum: u64 = 0;
    let mut shared_max: u64 = 0;
    for p in parts {
        match p.rollup {
            Some(r) => {
                // RSS changes since the rollup count as private anonymous memory; no
                // part counts more than the process holds now.
                let a = (r.pss_anon as i128 + p.rss_now as i128 - r.rss as i128).max(0);
                anon = anon.saturating_add(a as u64);
                let file_pss = r.pss.saturating_sub(r.pss_anon).min(p.rss_now);
                let file_rss = r.rss.saturating_sub(r.anonymous).min(p.rss_now);
                shared_sum = shared_sum.saturating_add(file_pss);
                shared_max = shared_max.max(file_rss);
            }
            None => anon = anon.saturating_add(p.rss_now),
        }
    }
    let largest = parts.iter().map(|p| p.rss_now).max().unwrap_or(0);
    anon.saturating_add(shared_sum.max(shared_max)).max(largest)
}

/// How many `smaps_rollup` reads a [`WorkingSet`] made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkingSetStats {
    /// `smaps_rollup` reads made.
    pub rollups: u64,
    /// Reads that failed (process gone, not permitted, old kernel).
    pub rollup_failures: u64,
}

/// Follows one tree's working set across samples (see the module documentation).
#[derive(Debug)]
pub struct WorkingSet {
    proc_root: PathBuf,
    /// (pid, start time) -> its last rollup.
    rollups: HashMap<(i32, u64), Rollup>,
    /// Membership at the last sweep, sorted.
    swept: Vec<(i32, u64)>,
    last_sweep_s: f64,
    /// CPU seconds the budget holds now (may go below zero after a dear sweep).
    tokens_s: f64,
    last_t_s: Option<f64>,
    pub stats: WorkingSetStats,
}

impl WorkingSet {
    /// A follower reading `proc_root/PID/smaps_rollup`.
    pub fn new(proc_root: &Path) -> WorkingSet {
        WorkingSet {
            proc_root: proc_root.to_path_buf(),
            rollups: HashMap::new(),
            swept: Vec::new(),
            last_sweep_s: f64::NEG_INFINITY,
            tokens_s: BUDGET_BURST_S,
            last_t_s: None,
            stats: WorkingSetStats::default(),
        }
    }

    /// The working set at `t_s` (seconds since spawn) of the tree whose live members are
    /// `members`, bytes. `cpu_now` is the calling thread's CPU clock, seconds (the cost of
    /// the rollup reads is charged to the budget).
    pub fn sample(&mut self, t_s: f64, members: &[ProcSnapshot], cpu_now: fn() -> f64) -> u64 {
        let dt = self.last_t_s.map_or(0.0, |last| (t_s - last).max(0.0));
        self.last_t_s = Some(t_s);
        self.tokens_s = (self.tokens_s + dt * BUDGET_SHARE).min(BUDGET_BURST_S);
        if members.len() >= 2 {
            let mut now: Vec<(i32, u64)> = members.iter().map(|m| (m.pid, m.starttime)).collect();
            now.sort_unstable();
            let changed = now != self.swept;
            let due = changed || t_s - self.last_sweep_s >= REFRESH_S;
            // A membership change changes who shares what: it may borrow ahead.
            let allowed = self.tokens_s > 0.0 || (changed && self.tokens_s > -BUDGET_BURST_S);
            if due && allowed {
                let c0 = cpu_now();
                let read = if changed {
                    self.affected(members, &now)
                } else {
                    now.clone()
                };
                self.sweep(&now, &read);
                self.tokens_s -= (cpu_now() - c0).max(0.0);
                self.swept = now;
                self.last_sweep_s = t_s;
            }
        }
        let parts: Vec<Part> = members
            .iter()
            .map(|m| Part {
                rss_now: m.rss_bytes,
                rollup: self.rollups.get(&(m.pid, m.starttime)).copied(),
            })
            .collect();
        combine(&parts)
    }

    /// The members whose sharing a membership change can have changed (sorted): new
    /// processes and their parents (a fork shares the parent's pages), those never read,
    /// and, when a process left, those that shared anonymous pages (theirs may now be
    /// private). The others are read again at the next periodic sweep.
    fn affected(&self, members: &[ProcSnapshot], now: &[(i32, u64)]) -> Vec<(i32, u64)> {
        let is_new = |m: &ProcSnapshot| self.swept.binary_search(&(m.pid, m.starttime)).is_err();
        let parents: Vec<i32> = members
            .iter()
            .filter(|m| is_new(m))
            .map(|m| m.ppid)
            .collect();
        let left = self.swept.iter().any(|k| now.binary_search(k).is_err());
        let mut read: Vec<(i32, u64)> = members
            .iter()
            .filter(|m| {
                let cached = self.rollups.get(&(m.pid, m.starttime));
                let shared_anon = cached.is_some_and(|r| r.pss_anon + 4096 < r.anonymous);
                is_new(m) || parents.contains(&m.pid) || cached.is_none() || (left && shared_anon)
            })
            .map(|m| (m.pid, m.starttime))
            .collect();
        read.sort_unstable();
        read
    }

    /// Reads the rollups of `read` (members, sorted); forgets those of processes gone.
    fn sweep(&mut self, members: &[(i32, u64)], read: &[(i32, u64)]) {
        self.rollups.retain(|k, _| members.binary_search(k).is_ok());
        for &(pid, start) in read {
            self.stats.rollups += 1;
            match self.read(pid) {
                Some(r) => {
                    self.rollups.insert((pid, start), r);
                }
                None => {
                    self.stats.rollup_failures += 1;
                    self.rollups.remove(&(pid, start));
                }
            }
        }
    }

    fn read(&self, pid: i32) -> Option<Rollup> {
        let mut path = self.proc_root.clone();
        path.push(pid.to_string());
        path.push("smaps_rollup");
        let mut text = String::with_capacity(1024);
        std::fs::File::open(path)
            .ok()?
            .read_to_string(&mut text)
            .ok()?;
        parse_rollup(&text)
    }
}

/// The step's peak working set, how exact it is, and the direct child's peak RSS, bytes.
///
/// `sampled` is the sampler's (peak working set, peak RSS of the direct child), bytes;
/// `counts` is (processes seen in the tree, the most seen alive in one sample).
///
/// The working set is never below any one process's RSS, so the largest process's
/// high-water mark (`peak_process_bytes`, from `wait4` and the samples) bounds it from
/// below. While one process at a time is alive (one process, or a chain of `exec`s and
/// children run one after another), that mark is the exact peak.
pub fn step_peak(
    sampled: (u64, u64),
    peak_process_bytes: u64,
    root_maxrss: u64,
    counts: (u32, usize),
) -> (u64, MemoryPrecision, Option<u64>) {
    let (peak_working_set, peak_root_rss) = sampled;
    let (seen, max_live) = counts;
    let peak = peak_working_set.max(peak_process_bytes);
    let precision = if max_live <= 1 {
        MemoryPrecision::HighWaterMark
    } else {
        MemoryPrecision::Sampled
    };
    // `ru_maxrss` of the direct child includes the descendants it waited for: it is the
    // child's own only when it had none.
    let child = if seen <= 1 {
        peak_root_rss.max(root_maxrss)
    } else {
        peak_root_rss
    };
    (peak, precision, (child > 0).then_some(child))
}

#[cfg(test)]
#[path = "workingset_tests.rs"]
mod tests;
