//! Reading the measured process tree from /proc (any root, so tests use fixture trees).
//!
//! Parsing is done by the `procfs` crate; this file decides which processes belong
//! to the tree: the direct child, everything in its process group, every descendant
//! by parent pid, and every process seen in the tree before (orphans reparented to
//! zkprof, or ones that left the group with `setsid`), matched by start time so a
//! reused pid is not mistaken for a member.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::os::unix::fs::FileExt;
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
    ///
    /// This is the sampler's hot path: one open and one read of `/proc/PID/stat`, parsed
    /// in place (the `procfs` crate's richer parser costs several times more per call).
    pub fn read(&self, pid: i32) -> Option<ProcSnapshot> {
        let f = self.open_stat(pid)?;
        self.read_open(&f)
    }

    /// Opens `/proc/PID/stat` for repeated reads with [`ProcReader::read_open`].
    pub fn open_stat(&self, pid: i32) -> Option<File> {
        let mut path = self.root.clone();
        path.push(pid.to_string());
        path.push("stat");
        File::open(&path).ok()
    }

    /// Reads an open stat file again from its start (`pread`; one syscall). `None` once
    /// the process is gone.
    pub fn read_open(&self, f: &File) -> Option<ProcSnapshot> {
        let mut buf = [0u8; 1024];
        let mut len = 0;
        // A read shorter than asked for is the end of these small files: one syscall
        // per sample, not two.
        while len < buf.len() {
            match f.read_at(&mut buf[len..], len as u64) {
                Ok(0) => break,
                Ok(n) => {
                    let asked = buf.len() - len;
                    len += n;
                    if n < asked {
                        break;
                    }
                }
                Err(_) => return None,
            }
        }
        parse_stat(&buf[..len], self.page_size)
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

/// Parses the fields zkprof needs from a `/proc/PID/stat` line. The command name (field 2)
/// may hold spaces and parentheses, so fields are counted after the last `)`.
pub fn parse_stat(line: &[u8], page_size: u64) -> Option<ProcSnapshot> {
    let text = std::str::from_utf8(line).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let pid: i32 = text[..open].trim().parse().ok()?;
    // Fields after the name, numbered from 3 (state) as in proc(5).
    let rest: Vec<&str> = text[close + 1..].split_whitespace().collect();
    let field = |n: usize| rest.get(n - 3).and_then(|v| v.parse::<i64>().ok());
    Some(ProcSnapshot {
        pid,
        ppid: field(4)? as i32,
        pgrp: field(5)? as i32,
        utime_ticks: field(14)?.max(0) as u64,
        stime_ticks: field(15)?.max(0) as u64,
        starttime: field(22)?.max(0) as u64,
        rss_bytes: (field(24)?.max(0) as u64).saturating_mul(page_size),
    })
}

/// Keeps track of which processes belong to one measured tree across samples.
#[derive(Debug)]
pub struct TreeTracker {
    root_pid: i32,
    pgid: i32,
    /// pid -> start time of every process seen in the tree.
    known: HashMap<i32, u64>,
    /// Pids read once and found not to belong to the tree: not read again until the next
    /// full rescan (a process cannot join the tree later, short of a reused pid).
    foreign: HashSet<i32>,
    /// Samples since the last full rescan.
    since_rescan: u32,
    /// Open stat files of the members, re-read with `pread` each sample.
    open: HashMap<i32, File>,
    /// The last reading of each member.
    last: HashMap<i32, ProcSnapshot>,
}

/// Every this many samples, pids known to be foreign are read again (pid reuse).
const RESCAN_EVERY: u32 = 100;

impl TreeTracker {
    /// A tracker for the tree of `root_pid`, whose process group is `pgid`.
    pub fn new(root_pid: i32, pgid: i32) -> TreeTracker {
        TreeTracker {
            root_pid,
            pgid,
            known: HashMap::new(),
            foreign: HashSet::new(),
            since_rescan: 0,
            open: HashMap::new(),
            last: HashMap::new(),
        }
    }

    /// The members among `candidates` (all processes, or the pids of the step's cgroup).
    /// Remembers them for later samples.
    pub fn members(&mut self, reader: &ProcReader, candidates: &[i32]) -> Vec<ProcSnapshot> {
        self.since_rescan += 1;
        if self.since_rescan >= RESCAN_EVERY {
            self.since_rescan = 0;
            self.foreign.clear();
        }
        let mut all: Vec<ProcSnapshot> = Vec::with_capacity(candidates.len().min(64));
        let mut fresh: HashMap<i32, File> = HashMap::new();
        for &pid in candidates {
            if self.foreign.contains(&pid) {
                continue;
            }
            let snapshot = match self.open.get(&pid) {
                Some(f) => reader.read_open(f),
                None => reader.open_stat(pid).and_then(|f| {
                    let s = reader.read_open(&f);
                    fresh.insert(pid, f);
                    s
                }),
            };
            all.extend(snapshot);
        }
        let members = select_members(&all, self.root_pid, self.pgid, &self.known);
        let member_pids: HashSet<i32> = members.iter().map(|m| m.pid).collect();
        for p in &all {
            if !member_pids.contains(&p.pid) {
                self.foreign.insert(p.pid);
            }
        }
        // Keep stat files open for members only; drop those of processes gone.
        self.open.retain(|pid, _| member_pids.contains(pid));
        for (pid, f) in fresh {
            if member_pids.contains(&pid) {
                self.open.insert(pid, f);
            }
        }
        self.last.clear();
        for m in &members {
            self.known.insert(m.pid, m.starttime);
            self.last.insert(m.pid, m.clone());
        }
        members
    }

    /// The members found by the last [`TreeTracker::members`] call that are still alive,
    /// without listing candidates (a process started since is not among them): those
    /// whose last reading held at least `min_rss` bytes are read again through their open
    /// stat files (one `pread` each); the others keep their last reading.
    pub fn refresh(&mut self, reader: &ProcReader, min_rss: u64) -> Vec<ProcSnapshot> {
        let mut out = Vec::with_capacity(self.open.len());
        let last = &mut self.last;
        self.open.retain(|pid, f| {
            if let Some(s) = last.get(pid).filter(|s| s.rss_bytes < min_rss) {
                out.push(s.clone());
                return true;
            }
            match reader.read_open(f) {
                Some(s) => {
                    last.insert(*pid, s.clone());
                    out.push(s);
                    true
                }
                None => {
                    last.remove(pid);
                    false
                }
            }
        });
        out.sort_by_key(|p| p.pid);
        out
    }

    /// The tree's root: the direct child.
    pub fn root_pid(&self) -> i32 {
        self.root_pid
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

impl Clone for TreeTracker {
    /// A copy of the membership state; open files are not shared (the copy reopens them).
    fn clone(&self) -> Self {
        TreeTracker {
            root_pid: self.root_pid,
            pgid: self.pgid,
            known: self.known.clone(),
            foreign: self.foreign.clone(),
            since_rescan: self.since_rescan,
            open: HashMap::new(),
            last: HashMap::new(),
        }
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
        let pids: Vec<i32> = select_members(&all, 100, 100, &known)
            .iter()
            .map(|p| p.pid)
            .collect();
        assert_eq!(pids, vec![100, 101, 102, 103, 104]);
    }

    #[test]
    fn reused_pid_is_not_a_member() {
        let all = vec![snap(100, 1, 100, 5), snap(104, 1, 104, 17)];
        let mut known = HashMap::new();
        known.insert(104, 999); // a different start time: the pid was reused
        let pids: Vec<i32> = select_members(&all, 100, 100, &known)
            .iter()
            .map(|p| p.pid)
            .collect();
        assert_eq!(pids, vec![100]);
    }

    #[test]
    fn stat_with_a_hostile_name_parses() {
        let line = b"4242 (a) b (c) S 1 4242 4242 0 -1 4194560 100 0 0 0 25 5 0 0 20 0 1 0 777 1000000 10 18446744073709551615\n";
        let s = parse_stat(line, 4096).unwrap();
        assert_eq!(
            (
                s.pid,
                s.ppid,
                s.pgrp,
                s.utime_ticks,
                s.stime_ticks,
                s.starttime,
                s.rss_bytes
            ),
            (4242, 1, 4242, 25, 5, 777, 40960)
        );
        assert!(parse_stat(b"garbage", 4096).is_none());
    }

    #[test]
    fn real_self_stat_parses() {
        let reader = ProcReader::new(Path::new("/proc"));
        let me = reader.read(std::process::id() as i32).expect("own stat");
        assert_eq!(me.pid, std::process::id() as i32);
        assert!(me.rss_bytes > 0);
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
