//! Processes zkprof starts outside a measured step (provisioning, accuracy evaluation,
//! toolchain checks): supervised like a step. Each runs in its own process group, carries
//! the step marker (so the next zkprof's stale cleanup finds it if this one is killed), is
//! SIGKILLed by the kernel when the zkprof thread that started it dies, and leaves nothing
//! running behind it when it ends.

use super::hygiene;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output};

/// Where process facts are read; helpers run on this host's /proc.
const PROC: &str = "/proc";

/// Prepares `cmd` as a supervised helper and returns its marker (for [`reap`]).
pub fn supervise(cmd: &mut Command) -> String {
    let marker = hygiene::new_step_marker(Path::new(PROC));
    cmd.env(hygiene::STEP_ENV, &marker).process_group(0);
    // SAFETY: die_with_parent only makes async-signal-safe calls.
    unsafe {
        cmd.pre_exec(hygiene::die_with_parent(std::process::id() as i32));
    }
    marker
}

/// Kills whatever a helper left running (a daemon, a worker pool), found by its marker.
pub fn reap(marker: &str) {
    let _ = hygiene::kill_step_processes(Path::new(PROC), marker);
}

/// `cmd.output()`, supervised (see the module doc).
pub fn output(cmd: &mut Command) -> std::io::Result<Output> {
    let marker = supervise(cmd);
    let out = cmd.output();
    reap(&marker);
    out
}

/// `cmd.spawn()`, supervised; call [`Supervised::wait`] or [`Supervised::try_wait`] and the
/// leftovers are reaped when it ends or is dropped.
pub fn spawn(cmd: &mut Command) -> std::io::Result<Supervised> {
    let marker = supervise(cmd);
    let child = cmd.spawn()?;
    Ok(Supervised { child, marker })
}

/// A running supervised helper.
pub struct Supervised {
    pub child: Child,
    marker: String,
}

impl Supervised {
    /// The exit status if the helper has ended.
    pub fn try_wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Kills the helper and its process group.
    pub fn kill(&mut self) {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill();
        }
        reap(&self.marker);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_helper_leaves_nothing_behind() {
        // The helper starts a background sleeper and exits at once.
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let script = format!("sleep 30 & echo $! > {}; exit 0", pidfile.display());
        let out = output(Command::new("sh").args(["-c", &script])).unwrap();
        assert!(out.status.success());
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let gone = (0..200).any(|_| {
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let zombie_or_gone = state.is_empty() || state.contains(") Z ");
            if !zombie_or_gone {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            zombie_or_gone
        });
        assert!(gone, "the helper's background process {pid} was reaped");
    }
}
