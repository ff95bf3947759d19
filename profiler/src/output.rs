//! Writing the files a user names (`-o`, `--out`, results.json): one rule for every writer.
//!
//! - Nothing there, or a regular file: the bytes go to a temporary file beside it, are
//!   synced, and the temporary file is renamed over the target. A reader never sees a
//!   half-written file; a crash leaves the old one (and a temporary file that the next
//!   `zkprof run` into that directory removes, see [`remove_stale_temp_files`]).
//! - A symlink, a device node, a FIFO or a socket: written through, as a shell's `>`
//!   would (so `-o /dev/null`, `-o /dev/stdout` and a named pipe work); never replaced.
//! - `-`: standard output.
//! - A directory: an error.
//!
//! New files get mode `0666` less the umask, like a file made by `>`, whatever the writer.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Prefix of zkprof's temporary files; the writer's pid follows it, then `-` and a random
/// suffix (`.zkprof-tmp-1234-AbC123`), so a later run can tell a dead writer's leftovers
/// from another live process's files.
pub const TEMP_PREFIX: &str = ".zkprof-tmp-";

/// What is at an output path now, and so how it is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// `-`: standard output.
    Stdout,
    /// Nothing, or a regular file: atomic replace.
    Replace,
    /// A symlink, device, FIFO or socket: written through.
    WriteThrough,
    /// A directory: refused.
    Directory,
}

/// Classifies `path` without following a symlink at its end.
pub fn classify(path: &Path) -> std::io::Result<Target> {
    if path.as_os_str() == "-" {
        return Ok(Target::Stdout);
    }
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Target::Replace),
        Err(e) => Err(e),
        Ok(m) => {
            let t = m.file_type();
            Ok(if t.is_file() {
                Target::Replace
            } else if t.is_dir() {
                Target::Directory
            } else if t.is_symlink()
                || t.is_char_device()
                || t.is_block_device()
                || t.is_fifo()
                || t.is_socket()
            {
                Target::WriteThrough
            } else {
                Target::Replace
            })
        }
    }
}

/// Writes `bytes` to `path` following the rules of this module.
pub fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    match classify(path)? {
        Target::Stdout => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)?;
            out.flush()
        }
        Target::Directory => Err(std::io::Error::other(format!(
            "{} is a directory; name a file",
            path.display()
        ))),
        Target::WriteThrough => {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o666)
                .open(path)?;
            f.write_all(bytes)?;
            f.flush()
        }
        Target::Replace => replace_atomically(path, bytes),
    }
}

/// A new temporary file in `dir`, named with [`TEMP_PREFIX`] and this process's pid, mode
/// `0666` less the umask.
pub fn temp_file_in(dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(&format!("{TEMP_PREFIX}{}-", std::process::id()))
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(dir)
}

fn replace_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = temp_file_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    // The rename is durable once the directory is synced (best effort: some file
    // systems refuse fsync on a directory).
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Removes zkprof's temporary files in `dir` (not below it) whose writer is no longer
/// running: leftovers of a zkprof that was killed mid-write. Files of a live zkprof and
/// every other file are left alone. Returns how many were removed.
pub fn remove_stale_temp_files(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(temp_file_owner) else {
            continue;
        };
        if pid_alive(pid) {
            continue;
        }
        let is_file = e.file_type().map(|t| t.is_file()).unwrap_or(false);
        if is_file && std::fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// The pid in a temporary file's name (`.zkprof-tmp-<pid>-<random>`), if it is one.
pub fn temp_file_owner(name: &str) -> Option<i32> {
    let rest = name.strip_prefix(TEMP_PREFIX)?;
    let (pid, suffix) = rest.split_once('-')?;
    if suffix.is_empty() {
        return None;
    }
    pid.parse::<i32>().ok().filter(|&p| p > 0)
}

/// Whether a process `pid` exists (a zombie counts as gone).
pub fn pid_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

#[cfg(test)]
#[path = "output_tests.rs"]
mod tests;
