//! Filesystem roots that every sensor, the runner and the fingerprint read through.
//!
//! Tests point them at fixture trees; users normally never touch them. Each root can be
//! set by an environment variable, and `zkprof` also takes `--proc-root`/`--sys-root`.

use std::path::{Path, PathBuf};

/// The roots of /proc, /sys, the cgroup mount and /etc.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Roots {
    /// `/proc`, or `$ZKPROF_PROC_ROOT`.
    pub proc: PathBuf,
    /// `/sys`, or `$ZKPROF_SYS_ROOT`.
    pub sys: PathBuf,
    /// `/sys/fs/cgroup`, or `$ZKPROF_CGROUP_ROOT`.
    pub cgroup: PathBuf,
    /// `/etc`, or `$ZKPROF_ETC_ROOT`.
    pub etc: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Roots {
            proc: PathBuf::from("/proc"),
            sys: PathBuf::from("/sys"),
            cgroup: PathBuf::from("/sys/fs/cgroup"),
            etc: PathBuf::from("/etc"),
        }
    }
}

impl Roots {
    /// The real roots, overridden by `ZKPROF_PROC_ROOT`, `ZKPROF_SYS_ROOT`,
    /// `ZKPROF_CGROUP_ROOT` and `ZKPROF_ETC_ROOT` where set.
    pub fn from_env() -> Roots {
        let pick = |var: &str, default: PathBuf| {
            std::env::var_os(var)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or(default)
        };
        let d = Roots::default();
        Roots {
            proc: pick("ZKPROF_PROC_ROOT", d.proc),
            sys: pick("ZKPROF_SYS_ROOT", d.sys),
            cgroup: pick("ZKPROF_CGROUP_ROOT", d.cgroup),
            etc: pick("ZKPROF_ETC_ROOT", d.etc),
        }
    }

    /// All roots under one fixture directory: `DIR/proc`, `DIR/sys`, `DIR/sys/fs/cgroup`, `DIR/etc`.
    pub fn under(dir: &Path) -> Roots {
        Roots {
            proc: dir.join("proc"),
            sys: dir.join("sys"),
            cgroup: dir.join("sys/fs/cgroup"),
            etc: dir.join("etc"),
        }
    }
}

/// Reads a small text file and trims it; `None` when it is missing or unreadable.
pub fn read_trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// Reads a file holding one unsigned integer.
pub fn read_u64(path: &Path) -> Option<u64> {
    read_trimmed(path)?.parse().ok()
}
