//! The process plumbing under the runner: the child's pipes, `wait4` and its rusage,
//! killing a whole tree, reaping what is left of it, joining cgroups between fork and exec, decoding exit
//! statuses, and the tail of a log file.

use super::cgroup::StepCgroup;
use super::proctree::{ProcReader, TreeTracker};
use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

/// Either pipe of the child, for one reader type.
pub(super) enum PipeEnd {
    Out(std::process::ChildStdout),
    Err(std::process::ChildStderr),
}

impl Read for PipeEnd {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            PipeEnd::Out(p) => p.read(buf),
            PipeEnd::Err(p) => p.read(buf),
        }
    }
}

impl std::os::fd::AsRawFd for PipeEnd {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        match self {
            PipeEnd::Out(p) => p.as_raw_fd(),
            PipeEnd::Err(p) => p.as_raw_fd(),
        }
    }
}

/// CPU and peak RSS from `wait4`.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Usage {
    pub(super) user_s: f64,
    pub(super) sys_s: f64,
    pub(super) maxrss_bytes: u64,
}

impl Usage {
    fn from_rusage(ru: &libc::rusage) -> Usage {
        let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        Usage {
            user_s: tv(ru.ru_utime),
            sys_s: tv(ru.ru_stime),
            // Linux reports ru_maxrss in KiB.
            maxrss_bytes: (ru.ru_maxrss.max(0) as u64) * 1024,
        }
    }

    fn add(&mut self, other: Usage) {
        self.user_s += other.user_s;
        self.sys_s += other.sys_s;
        self.maxrss_bytes = self.maxrss_bytes.max(other.maxrss_bytes);
    }
}

/// Blocks in `wait4` for the direct child. The rusage covers the child and every
/// descendant it reaped (RUSAGE_BOTH in the kernel).
pub(super) fn wait_child(pid: i32) -> (i32, Usage) {
    loop {
        let mut status = 0;
        // SAFETY: rusage is plain old data; wait4 fills it.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointers to our locals.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if r == pid {
            return (status, Usage::from_rusage(&ru));
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            tracing::warn!("wait4({pid}) failed: {err}");
            return (0, Usage::default());
        }
    }
}

/// SIGKILLs the whole tree: its process group, every member seen so far (checked by start
/// time against pid reuse) and everything in its cgroup.
pub(super) fn kill_tree(reader: &ProcReader, tracker: &TreeTracker, cgroup: Option<&StepCgroup>) {
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

/// Kills what is left of the tree after the direct child exited and reaps the orphans
/// that were reparented to zkprof. Returns how many were still alive, and their usage.
pub(super) fn reap_leftovers(
    reader: &ProcReader,
    tracker: &TreeTracker,
    root: i32,
    cgroup: Option<&StepCgroup>,
) -> (u32, Usage) {
    let mut tracker = tracker.clone();
    let candidates = match cgroup {
        Some(cg) => cg.pids(),
        None => reader.all_pids(),
    };
    let alive: Vec<i32> = tracker
        .members(reader, &candidates)
        .iter()
        .filter(|p| p.pid != root)
        .map(|p| p.pid)
        .collect();
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(-root, libc::SIGKILL) };
    kill_tree(reader, &tracker, cgroup);
    let mut usage = Usage::default();
    let mut pending: Vec<i32> = tracker
        .known_pids()
        .into_iter()
        .filter(|&p| p != root)
        .collect();
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        // Anything of the process group that was never sampled.
        loop {
            let mut status = 0;
            // SAFETY: as in wait_child.
            let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
            let r = unsafe { libc::wait4(-root, &mut status, libc::WNOHANG, &mut ru) };
            if r <= 0 {
                break;
            }
            usage.add(Usage::from_rusage(&ru));
            pending.retain(|&p| p != r);
        }
        pending.retain(|&pid| {
            let mut status = 0;
            // SAFETY: as in wait_child.
            let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
            let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut ru) };
            if r == pid {
                usage.add(Usage::from_rusage(&ru));
                false
            } else {
                // 0: still alive and ours; -1 (ECHILD): not our child or already gone.
                r == 0
            }
        });
        if pending.is_empty() || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    (alive.len() as u32, usage)
}

/// Runs in the forked child before exec: writes its pid into each `cgroup.procs`.
pub(super) fn join_cgroups(files: &[CString]) -> std::io::Result<()> {
    // SAFETY: getpid is async-signal-safe.
    let pid = unsafe { libc::getpid() };
    let mut buf = [0u8; 12];
    let mut n = pid as u32;
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for f in files {
        // SAFETY: a NUL-terminated path allocated before fork; open/write/close are
        // async-signal-safe.
        let fd = unsafe { libc::open(f.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let w = unsafe { libc::write(fd, buf[i..].as_ptr().cast(), buf.len() - i) };
        unsafe { libc::close(fd) };
        if w < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

pub(super) fn decode_status(status: i32) -> (Option<i32>, Option<i32>) {
    if libc::WIFEXITED(status) {
        (Some(libc::WEXITSTATUS(status)), None)
    } else if libc::WIFSIGNALED(status) {
        (None, Some(libc::WTERMSIG(status)))
    } else {
        (None, None)
    }
}

/// The last `n` lines of a log file (reads at most the last 64 KiB).
pub fn tail_lines(path: &Path, n: usize) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    let Ok(mut f) = File::open(path) else {
        return Vec::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(64 * 1024);
    if f.seek(SeekFrom::Start(start)).is_err() {
        return Vec::new();
    }
    let mut bytes = Vec::new();
    if f.read_to_end(&mut bytes).is_err() {
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    // A partial first line (we started mid-file) is dropped.
    let skip_partial = usize::from(start > 0 && !lines.is_empty());
    let usable = &lines[skip_partial..];
    usable[usable.len().saturating_sub(n)..]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        let text: String = (0..100).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&p, text).unwrap();
        assert_eq!(tail_lines(&p, 2), vec!["line 98", "line 99"]);
        assert!(tail_lines(&dir.path().join("missing"), 5).is_empty());
    }

    #[test]
    fn status_decoding() {
        assert_eq!(decode_status(3 << 8), (Some(3), None));
        assert_eq!(decode_status(9), (None, Some(9)));
    }
}
