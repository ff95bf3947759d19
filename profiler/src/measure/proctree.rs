//! Reading the measured process tree from /proc (any root, so tests use fixture trees).
//!
//! Parsing is done by the `procfs` crate; this file decides which processes belong
//! to the tree: the direct child, everything in its process group, every descendant
//! by parent pid, and every process seen in the tree before (orphans reparented to
//! zkprof, or ones that left the group with `setsid`), matched by start time so a
//! reused pid is not mistaken for a member.

use procfs::process::Process;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// One process as seen in one sample.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcSnapshot {
    pub pid: i32,
    pub ppid: i32,
    pub pgrp: i32,
    /// Resident set size, bytes.
    pub rss_bytes: u64,
    /// User CPU, clock ticks.
    pub utime_ticks: u64,
    /// System CPU, clock ticks.
    pub stime_ticks: u64,
    /// Start time since boot, clock ticks (identifies the process across pid reuse).
    pub starttime: u64,
}

/// Reads processes below one /proc root.
#[derive(Clone, Debug)]
pub struct ProcReader {
    root: PathBuf,
    page_size: u64,
    ticks_per_second: u64,
}

impl ProcReader {
    /// A reader of `root` (normally `/proc`).
    pub fn new(root: &Path) -> ProcReader {
        ProcReader {
            root: root.to_path_buf(),
            page_size: procfs::page_size(),
            ticks_per_second: procfs::ticks_per_second(),
        }
    }

    /// Clock ticks per second (`USER_HZ`).
    pub fn ticks_per_second(&self) -> u64 {
        self.ticks_per_second
    }

    /// The root this reader reads.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Reads one process; `None` when it is gone or unreadable.
    pub fn read(&self, pid: i32) -> Option<ProcSnapshot> {
        let process = Process::new_with_root(self.root.join(pid.to_string())).ok()?;
        let stat = process.stat().ok()?;
        Some(ProcSnapshot {
            pid: stat.pid,
            ppid: stat.ppid,
            pgrp: stat.pgrp,
            rss_bytes: stat.rss.saturating_mul(self.page_size),
            utime_ticks: stat.utime,
            stime_ticks: stat.stime,
            starttime: stat.starttime,
        })
    }

    /// Every numeric entry of the root.
    pub fn all_pids(&self) -> Vec<i32> {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .collect()
    }
}

/// Keeps track of which processes belong to one measured tree across samples.
#[derive(Clone, Debug)]
pub struct TreeTracker {
    root_pid: i32,
    pgid: i32,
    /// pid -> start time of every process seen in the tree.
    known: HashMap<i32, u64>,
}

impl TreeTracker {
    /// A tracker for the tree of `root_pid`, whose process group is `pgid`.
    pub fn new(root_pid: i32, pgid: i32) -> TreeTracker {
        TreeTracker {
            root_pid,
            pgid,
            known: HashMap::new(),
        }
    }

    /// The members among `candidates` (all processes, or the pids of the step's cgroup).
    /// Remembers them for later samples.
    pub fn members(&mut self, reader: &ProcReader, candidates: &[i32]) -> Vec<ProcSnapshot> {
        let all: Vec<ProcSnapshot> = candidates.iter().filter_map(|&p| reader.read(p)).collect();
        let members = select_members(&all, self.root_pid, self.pgid, &self.known);
        for m in &members {
            self.known.insert(m.pid, m.starttime);
        }
        members
    }

    /// The tree's process group.
    pub fn pgid(&self) -> i32 {
        self.pgid
    }

    /// Every pid seen in the tree so far.
    pub fn known_pids(&self) -> Vec<i32> {
        let mut v: Vec<i32> = self.known.keys().copied().collect();
        v.sort_unstable();
        v
    }

    /// The start time recorded for `pid`, if it was seen.
    pub fn known_starttime(&self, pid: i32) -> Option<u64> {
        self.known.get(&pid).copied()
    }
}

/// Pure membership rule, separated from I/O for tests.
pub fn select_members(
    all: &[ProcSnapshot],
    root_pid: i32,
    pgid: i32,
    known: &HashMap<i32, u64>,
) -> Vec<ProcSnapshot> {
    let mut children: HashMap<i32, Vec<usize>> = HashMap::new();
    for (i, p) in all.iter().enumerate() {
        children.entry(p.ppid).or_default().push(i);
    }
    let mut member: HashSet<usize> = HashSet::new();
    let mut stack: Vec<usize> = Vec::new();
    for (i, p) in all.iter().enumerate() {
        let seen_before = known.get(&p.pid) == Some(&p.starttime);
        if p.pid == root_pid || p.pgrp == pgid || seen_before {
            stack.push(i);
        }
    }
    while let Some(i) = stack.pop() {
        if !member.insert(i) {
            continue;
        }
        if let Some(kids) = children.get(&all[i].pid) {
            stack.extend(kids.iter().copied());
        }
    }
    let mut out: Vec<ProcSnapshot> = member.into_iter().map(|i| all[i].clone()).collect();
    out.sort_by_key(|p| p.pid);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(pid: i32, ppid: i32, pgrp: i32, rss: u64) -> ProcSnapshot {
        ProcSnapshot {
            pid,
            ppid,
            pgrp,
            rss_bytes: rss,
            utime_ticks: 0,
            stime_ticks: 0,
            starttime: pid as u64 * 10,
        }
    }

    #[test]
    fn tree_is_descendants_group_and_known_orphans() {
        let all = vec![
            snap(1, 0, 1, 1),     // init: not ours
            snap(100, 1, 100, 5), // the step
            snap(101, 100, 100, 7),
            snap(102, 101, 102, 11), // grandchild that left the group, still a descendant
            snap(103, 1, 100, 13),   // orphan, still in the group
            snap(104, 1, 104, 17),   // setsid orphan, seen before
            snap(105, 1, 105, 19),   // stranger
        ];
        let mut known = HashMap::new();
        known.insert(104, 1040);
        let pids: Vec<i32> = select_members(&all, 100, 100, &known).iter().map(|p| p.pid).collect();
        assert_eq!(pids, vec![100, 101, 102, 103, 104]);
    }

    #[test]
    fn reused_pid_is_not_a_member() {
        let all = vec![snap(100, 1, 100, 5), snap(104, 1, 104, 17)];
        let mut known = HashMap::new();
        known.insert(104, 999); // a different start time: the pid was reused
        let pids: Vec<i32> = select_members(&all, 100, 100, &known).iter().map(|p| p.pid).collect();
        assert_eq!(pids, vec![100]);
    }

    #[test]
    fn reads_a_fixture_proc_tree() {
        let dir = tempfile::tempdir().unwrap();
        let stat = |pid: i32, ppid: i32, pgrp: i32, rss_pages: u64| {
            format!(
                "{pid} (py thon) S {ppid} {pgrp} {pgrp} 0 -1 4194560 100 0 0 0 25 5 0 0 20 0 1 0 {start} 1000000 {rss_pages} 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
                start = pid * 10
            )
        };
        for (pid, ppid, pgrp, rss) in [(100, 1, 100, 256), (101, 100, 100, 512), (7, 1, 7, 1)] {
            let d = dir.path().join(pid.to_string());
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("stat"), stat(pid, ppid, pgrp, rss)).unwrap();
        }
        let reader = ProcReader::new(dir.path());
        let mut pids = reader.all_pids();
        pids.sort_unstable();
        assert_eq!(pids, vec![7, 100, 101]);
        let mut tracker = TreeTracker::new(100, 100);
        let members = tracker.members(&reader, &pids);
        let total: u64 = members.iter().map(|m| m.rss_bytes).sum();
        assert_eq!(total, (256 + 512) * procfs::page_size());
        assert_eq!(members[0].utime_ticks, 25);
        assert_eq!(tracker.known_pids(), vec![100, 101]);
    }
}
