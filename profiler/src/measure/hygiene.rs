//! Process hygiene: no step process outlives its step, and nothing outlives zkprof.
//!
//! - Every step runs with `ZKPROF_STEP_ID=<pid>.<starttime>.<n>` in its environment (the
//!   pid and start time of the zkprof that runs it, and a counter). Children inherit it,
//!   also ones that leave the process group and session (`setsid` + double fork), so after
//!   a step without a cgroup the processes still carrying its marker are found in
//!   `/proc/*/environ` and killed ([`kill_step_processes`]); with a cgroup they are still in
//!   it and are killed with it. The next zkprof finds by the marker what a killed one left.
//! - The step's leader gets `PR_SET_PDEATHSIG(SIGKILL)` ([`die_with_parent`]): when zkprof
//!   dies, however it dies (SIGKILL included), the kernel kills the leader.
//! - What a killed zkprof could not clean up is cleaned when the next zkprof starts
//!   ([`clean_stale`]): processes whose marker names a zkprof that is no longer running, and
//!   step cgroups (`zkprof-<pid>-<n>`) of a zkprof pid that is no longer running.
//!   (Temporary files in `--out` are removed by `crate::output::remove_stale_temp_files`.)
//!
//! Nothing else is touched: a marker of a live zkprof, this process and its ancestors are
//! never signalled, and only cgroup directories named like zkprof's own are removed.

use crate::roots::Roots;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The environment variable that marks every process of a step.
pub const STEP_ENV: &str = "ZKPROF_STEP_ID";

static STEP_COUNTER: AtomicU32 = AtomicU32::new(0);

/// The start time of `pid` (clock ticks after boot, field 22 of `/proc/<pid>/stat`); with
/// the pid it names one process, also across pid reuse.
pub fn starttime(proc_root: &Path, pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(proc_root.join(pid.to_string()).join("stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    // After the command: state is field 3; starttime is field 22, so index 19 here.
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// A new marker for one step of this process: `<pid>.<start time>.<n>` (the start time
/// from the real `/proc`, whatever `proc_root` a runner reads, since it names this process).
pub fn new_step_marker(_proc_root: &Path) -> String {
    format!(
        "{}.{}",
        self_tag(),
        STEP_COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// `<pid>.<start time>` of this process (from the real `/proc`), which names it also
/// across pid reuse; step cgroups carry it in their names.
pub fn self_tag() -> &'static str {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TAG.get_or_init(|| {
        let pid = std::process::id() as i32;
        format!("{pid}.{}", starttime(Path::new("/proc"), pid).unwrap_or(0))
    })
}

/// The zkprof (pid, start time) a marker names.
pub fn marker_owner(marker: &str) -> Option<(i32, u64)> {
    let mut parts = marker.split('.');
    let pid = parts.next()?.parse().ok()?;
    let start = parts.next()?.parse().ok()?;
    parts.next()?.parse::<u32>().ok()?;
    parts.next().is_none().then_some((pid, start))
}

/// The value of [`STEP_ENV`] in an `environ` blob (NUL-separated `KEY=value`).
pub fn marker_in_environ(environ: &[u8]) -> Option<String> {
    let key = format!("{STEP_ENV}=");
    environ
        .split(|&b| b == 0)
        .find_map(|kv| kv.strip_prefix(key.as_bytes()))
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// Every process (other than this one and its ancestors) whose environment carries a step
/// marker, with the marker. Processes that cannot be read are skipped.
pub fn marked_processes(proc_root: &Path) -> Vec<(i32, String)> {
    marked_among(proc_root, &all_pids(proc_root))
}

/// The pids under `proc_root`.
fn all_pids(proc_root: &Path) -> Vec<i32> {
    std::fs::read_dir(proc_root)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
                .collect()
        })
        .unwrap_or_default()
}

/// The processes among `pids` whose environment carries a marker (never this process or
/// its ancestors).
fn marked_among(proc_root: &Path, pids: &[i32]) -> Vec<(i32, String)> {
    let protected = self_and_ancestors(proc_root);
    let mut found = Vec::new();
    for &pid in pids {
        if protected.contains(&pid) {
            continue;
        }
        let mut environ = Vec::new();
        let read = std::fs::File::open(proc_root.join(pid.to_string()).join("environ"))
            .and_then(|f| f.take(1 << 20).read_to_end(&mut environ));
        if read.is_err() {
            continue;
        }
        if let Some(marker) = marker_in_environ(&environ) {
            found.push((pid, marker));
        }
    }
    found
}

/// The parent pid of `pid` (field 4 of its `stat`).
fn ppid(proc_root: &Path, pid: i32) -> Option<i32> {
    let s = std::fs::read_to_string(proc_root.join(pid.to_string()).join("stat")).ok()?;
    let (_, rest) = s.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Every descendant of this process. zkprof is a child subreaper, so a step's orphans
/// (daemons whose parents exited) are reparented to it and stay among its descendants;
/// reading `stat` files to find them is much cheaper than reading every `environ`.
fn own_descendants(proc_root: &Path) -> Vec<i32> {
    let me = std::process::id() as i32;
    let links: Vec<(i32, i32)> = all_pids(proc_root)
        .into_iter()
        .filter_map(|p| Some((p, ppid(proc_root, p)?)))
        .collect();
    let mut found = vec![me];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            links
                .iter()
                .filter(|(p, pp)| *pp == parent && *p != me)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    found.retain(|&p| p != me);
    found
}

/// This process and its ancestors: never signalled, whatever their environment says
/// (a zkprof started from a step of another zkprof carries that step's marker).
fn self_and_ancestors(proc_root: &Path) -> Vec<i32> {
    let mut v = vec![std::process::id() as i32];
    let mut pid = v[0];
    while pid > 1 && v.len() < 4096 {
        let Some(parent) = ppid(proc_root, pid) else {
            break;
        };
        v.push(parent);
        pid = parent;
    }
    v
}

/// SIGKILLs every descendant of zkprof still carrying `marker` (a step's escaped daemons:
/// zkprof is a child subreaper, so they are its descendants) and reaps them. Returns the
/// pids killed. Repeats a few times so that a process forking while it is killed is caught.
pub fn kill_step_processes(proc_root: &Path, marker: &str) -> Vec<i32> {
    let mut killed: Vec<i32> = Vec::new();
    for _ in 0..5 {
        let now: Vec<i32> = marked_among(proc_root, &own_descendants(proc_root))
            .into_iter()
            .filter(|(_, m)| m == marker)
            .map(|(p, _)| p)
            .collect();
        if now.is_empty() {
            break;
        }
        for &pid in &now {
            // SAFETY: kill(2) has no memory-safety preconditions.
            if unsafe { libc::kill(pid, libc::SIGKILL) } == 0 && !killed.contains(&pid) {
                killed.push(pid);
            }
        }
        reap(&now, Duration::from_millis(500));
    }
    killed
}

/// Waits (up to `budget`) for the killed `pids` that are zkprof's children (orphans come
/// back to zkprof, a child subreaper) so that no zombie is left.
fn reap(pids: &[i32], budget: Duration) {
    let deadline = Instant::now() + budget;
    let mut pending: Vec<i32> = pids.to_vec();
    while !pending.is_empty() {
        pending.retain(|&pid| {
            let mut status = 0;
            // SAFETY: a valid pointer to a local.
            let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            r == 0 // still running and ours; -1 (not ours) or reaped: done
        });
        if pending.is_empty() || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// For `Command::pre_exec`: the step's leader is SIGKILLed by the kernel when the zkprof
/// thread that spawned it dies (so steps must be spawned from a thread that lives as long
/// as the step: `Runner::run` blocks until the step ends). If zkprof died between fork
/// and this call, the child exits at once. Only async-signal-safe calls.
pub fn die_with_parent(parent: i32) -> impl FnMut() -> std::io::Result<()> + Send + Sync {
    move || {
        // SAFETY: prctl and getppid with integer arguments are async-signal-safe.
        unsafe {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                libc::_exit(137);
            }
        }
        Ok(())
    }
}

/// What [`clean_stale`] removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cleaned {
    /// Step processes of a zkprof that is gone, killed.
    pub processes: u32,
    /// Step cgroups of a zkprof that is gone, removed.
    pub cgroups: u32,
}

/// Kills the step processes and removes the step cgroups that a zkprof killed before it
/// could clean up left behind. Safe to call while other zkprof runs are live: only what
/// belongs to a zkprof that is no longer running is touched.
pub fn clean_stale(roots: &Roots) -> Cleaned {
    let mut cleaned = Cleaned::default();
    for (pid, marker) in marked_processes(&roots.proc) {
        let owner_gone = match marker_owner(&marker) {
            Some((owner, start)) => !owner_alive(&roots.proc, owner, Some(start)),
            None => false,
        };
        // SAFETY: kill(2) has no memory-safety preconditions.
        if owner_gone && unsafe { libc::kill(pid, libc::SIGKILL) } == 0 {
            cleaned.processes += 1;
        }
    }
    for parent in cgroup_parents(roots) {
        let Ok(entries) = std::fs::read_dir(&parent) else {
            continue;
        };
        for e in entries.flatten() {
            let Some((owner, start)) = e.file_name().to_str().and_then(step_cgroup_tag) else {
                continue;
            };
            let owner_alive = owner_alive(&roots.proc, owner, start);
            if owner == std::process::id() as i32 || owner_alive {
                continue;
            }
            if remove_cgroup(&e.path()) {
                cleaned.cgroups += 1;
            }
        }
    }
    if cleaned != Cleaned::default() {
        tracing::info!(
            "cleaned up after an earlier zkprof that was killed: {} process(es), {} cgroup(s)",
            cleaned.processes,
            cleaned.cgroups
        );
    }
    cleaned
}

/// Whether the zkprof `pid` that started at `start` (clock ticks after boot) still runs.
/// Without a start time (older names, or 0 when it could not be read) a live process with
/// that pid counts as the owner: a stale entry is then kept rather than a live one removed.
fn owner_alive(proc_root: &Path, pid: i32, start: Option<u64>) -> bool {
    match (start, starttime(proc_root, pid)) {
        (_, None) => false,
        (Some(s), Some(now)) if s != 0 => s == now,
        _ => true,
    }
}

/// The zkprof pid in a step cgroup's name (`zkprof-<pid>.<start time>-<n>`, or
/// `zkprof-<pid>-<n>` from older versions), if it is one.
pub fn step_cgroup_owner(name: &str) -> Option<i32> {
    step_cgroup_tag(name).map(|(pid, _)| pid)
}

/// The zkprof pid and (in current names) start time in a step cgroup's name.
fn step_cgroup_tag(name: &str) -> Option<(i32, Option<u64>)> {
    let rest = name.strip_prefix("zkprof-")?;
    let (tag, n) = rest.split_once('-')?;
    n.parse::<u32>().ok()?;
    let (pid, start) = match tag.split_once('.') {
        Some((pid, start)) => (pid, Some(start.parse::<u64>().ok()?)),
        None => (tag, None),
    };
    pid.parse::<i32>()
        .ok()
        .filter(|&p| p > 0)
        .map(|p| (p, start))
}

/// The directories zkprof's step cgroups are made in (see `cgroup.rs`): its own memory,
/// cpuacct and cpuset cgroups (v1) or its own cgroup (v2).
pub fn cgroup_parents(roots: &Roots) -> Vec<PathBuf> {
    let Ok(text) = std::fs::read_to_string(roots.proc.join("self/cgroup")) else {
        return Vec::new();
    };
    let entries = super::cgroup::parse_proc_cgroup(&text);
    let rel = |p: &str| p.trim_start_matches('/').to_string();
    let mut dirs = Vec::new();
    for controller in ["memory", "cpuacct", "cpuset"] {
        let Some((_, path)) = entries
            .iter()
            .find(|(c, _)| c.iter().any(|x| x == controller))
        else {
            continue;
        };
        let mounts = std::fs::read_dir(&roots.cgroup)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| {
                        e.file_name()
                            .to_str()
                            .is_some_and(|n| n.split(',').any(|c| c == controller))
                    })
                    .map(|e| e.path())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        for m in mounts {
            let d = m.join(rel(path));
            if d.is_dir() && !dirs.contains(&d) {
                dirs.push(d);
            }
        }
    }
    if roots.cgroup.join("cgroup.controllers").exists() {
        if let Some((_, path)) = entries.iter().find(|(c, _)| c.is_empty()) {
            let d = roots.cgroup.join(rel(path));
            if d.is_dir() && !dirs.contains(&d) {
                dirs.push(d);
            }
        }
    }
    dirs
}

/// Kills what is in a stale step cgroup and removes it; true when it is gone.
fn remove_cgroup(dir: &Path) -> bool {
    let pids = || -> Vec<i32> {
        std::fs::read_to_string(dir.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let _ = std::fs::write(dir.join("cgroup.kill"), "1");
        let now = pids();
        for &pid in &now {
            // SAFETY: kill(2) has no memory-safety preconditions.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        if now.is_empty() && std::fs::remove_dir(dir).is_ok() {
            return true;
        }
        if Instant::now() >= deadline {
            tracing::warn!("cannot remove the stale cgroup {}", dir.display());
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(test)]
#[path = "hygiene_tests.rs"]
mod tests;
