//! The lock on a run's `--out` directory: one `zkprof run` writes a directory at a time.
//!
//! `DIR/.zkprof.lock` holds the pid of the run that holds it, under an exclusive `flock`.
//! The kernel drops the lock when that process exits, however it exits (SIGKILL
//! included), so a stale lock file never blocks the next run.

use crate::error::UserError;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The lock file's name inside the output directory.
pub const LOCK_FILE: &str = ".zkprof.lock";

/// A held lock; dropping it (or exiting) releases it.
#[derive(Debug)]
pub struct OutLock {
    _file: File,
    path: PathBuf,
}

impl OutLock {
    /// Locks `dir` (which must exist) for this process, or says which process holds it.
    pub fn acquire(dir: &Path) -> Result<OutLock, UserError> {
        let path = dir.join(LOCK_FILE);
        let cannot = |e: std::io::Error| {
            UserError::Input(format!(
                "cannot lock {}: {e}; choose another --out",
                path.display()
            ))
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o666)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .map_err(cannot)?;
        // A holder that was just killed can hold the lock a moment longer: a child it
        // forked keeps the descriptor until that child runs and exits (see
        // `measure::hygiene::die_with_parent`). So a busy lock is retried briefly.
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(1500);
        loop {
            // SAFETY: flock on a file descriptor we own.
            let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if r == 0 {
                break;
            }
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
                return Err(cannot(err));
            }
            if std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(20));
                continue;
            }
            let mut text = String::new();
            let _ = (&file).take(64).read_to_string(&mut text);
            let holder = text
                .trim()
                .parse::<i32>()
                .map(|p| format!("pid {p}"))
                .unwrap_or_else(|_| "another process".into());
            return Err(UserError::Input(format!(
                "{} is in use by another zkprof run ({holder}); wait for it to finish or choose another --out",
                dir.display()
            )));
        }
        file.set_len(0).map_err(cannot)?;
        file.seek(SeekFrom::Start(0)).map_err(cannot)?;
        writeln!(file, "{}", std::process::id()).map_err(cannot)?;
        file.flush().map_err(cannot)?;
        Ok(OutLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Refuses (without `force`) to start a fresh run over `results_path` when it holds the
/// results of another suite, or something that is not a results file: a run must not
/// silently replace results it did not make.
pub fn check_replace(results_path: &Path, suite: &str, force: bool) -> Result<(), UserError> {
    if force || !results_path.exists() {
        return Ok(());
    }
    let theirs = match crate::store::load_results(results_path) {
        Ok(r) if r.suite.name == suite => return Ok(()),
        Ok(r) => format!(
            "the results of suite `{}`",
            crate::terminal::escape(&r.suite.name)
        ),
        Err(e) => format!("a file that is not a results file this zkprof reads ({e})"),
    };
    Err(UserError::Input(format!(
        "{} holds {theirs}, not of `{}`; choose another --out, or pass --force to replace it",
        results_path.display(),
        crate::terminal::escape(suite)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_names_the_holder_and_a_released_lock_is_free() {
        let d = tempfile::tempdir().unwrap();
        let first = OutLock::acquire(d.path()).unwrap();
        // flock locks belong to the open file description: a second open conflicts, also
        // within one process.
        let err = OutLock::acquire(d.path()).unwrap_err().to_string();
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(first.path()).unwrap().trim(),
            std::process::id().to_string()
        );
        drop(first);
        OutLock::acquire(d.path()).unwrap();
    }

    #[test]
    fn a_symlink_as_lock_file_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("elsewhere");
        std::fs::write(&target, "keep").unwrap();
        std::os::unix::fs::symlink(&target, d.path().join(LOCK_FILE)).unwrap();
        assert!(OutLock::acquire(d.path()).is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
    }
}
