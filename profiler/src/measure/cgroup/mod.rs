//! A memory (and CPU accounting) cgroup made for one step, and removed after it.
//!
//! cgroup v1: a child of zkprof's own `memory` cgroup (peak from
//! `memory.max_usage_in_bytes`, OOM kills from `memory.oom_control`) and, where the
//! `cpuacct` controller is mounted, of its `cpuacct` cgroup (`cpuacct.usage_user`/`_sys`);
//! for a step confined to some CPUs, also of its `cpuset` cgroup.
//! cgroup v2: a child of zkprof's own cgroup (`memory.peak`, `memory.events`, `cpu.stat`,
//! `cpuset.cpus` for a confined step).
//!
//! A cpuset that cannot be made is not an error: the step is then confined by CPU affinity
//! alone, and [`StepCgroup::cpuset_note`] says why.
//!
//! `parent.rs`: the parent cgroup a step container of the docker runtime is put in, read
//! with the same layout and the same CPU-time readers as a step cgroup.

mod parent;

pub use parent::ParentCgroup;

use crate::results::MemoryMethod;
use crate::roots::{read_trimmed, read_u64, Roots};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// Numbers the cgroups this process makes, so their names are unique.
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Where a cgroup made by zkprof lives, by cgroup version.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Layout {
    V1 {
        memory: PathBuf,
        cpuacct: Option<PathBuf>,
        cpuset: Option<PathBuf>,
    },
    V2 {
        dir: PathBuf,
    },
}

/// A cgroup made for one step. Dropping it removes the directories (best effort).
#[derive(Debug)]
pub struct StepCgroup {
    layout: Layout,
    /// Why the step's CPUs are not confined by a cpuset, when CPUs were asked for and the
    /// cpuset could not be made; `None` otherwise.
    cpuset_note: Option<String>,
    /// Files the sampler reads every tick, kept open and re-read with `pread`.
    hot: HotFiles,
}

/// `cgroup.procs` is not among them: cgroup v1 builds its pid list when the file is
/// opened, so a re-read of an open file shows stale pids.
#[derive(Debug, Default)]
struct HotFiles {
    memory_current: Option<File>,
    cpu_total: Option<File>,
}

/// Reads a whole small file from offset 0 with `pread`.
fn pread_text(f: &File) -> Option<String> {
    let mut buf = vec![0u8; 4096];
    let mut len = 0;
    loop {
        match f.read_at(&mut buf[len..], len as u64) {
            Ok(0) => break,
            Ok(n) => {
                let asked = buf.len() - len;
                len += n;
                if n < asked {
                    break; // a short read is the end of these small files
                }
                buf.resize(buf.len() * 2, 0);
            }
            Err(_) => return None,
        }
    }
    buf.truncate(len);
    String::from_utf8(buf).ok()
}

/// Parses `/proc/self/cgroup` lines (`id:controllers:path`) into (controllers, path).
pub fn parse_proc_cgroup(text: &str) -> Vec<(Vec<String>, String)> {
    text.lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let _id = parts.next()?;
            let controllers = parts.next()?;
            let path = parts.next()?;
            let list = controllers
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect();
            Some((list, path.to_string()))
        })
        .collect()
}

/// Finds the v1 mount directory of `controller` under the cgroup root (`memory`, or a
/// combined one such as `cpu,cpuacct`).
fn v1_mount(cgroup_root: &Path, controller: &str) -> Option<PathBuf> {
    let direct = cgroup_root.join(controller);
    if direct.join("cgroup.procs").exists() {
        return Some(direct);
    }
    std::fs::read_dir(cgroup_root).ok()?.find_map(|e| {
        let e = e.ok()?;
        let name = e.file_name().to_str()?.to_string();
        (name.split(',').any(|c| c == controller) && e.path().join("cgroup.procs").exists())
            .then(|| e.path())
    })
}

fn join_rel(base: &Path, rel: &str) -> PathBuf {
    base.join(rel.trim_start_matches('/'))
}

impl StepCgroup {
    /// Makes a cgroup for a step below zkprof's own, with an optional memory limit in bytes
    /// and an optional CPU list (`0-1,4`) for its cpuset. The error says why the host does
    /// not allow it.
    pub fn create(
        roots: &Roots,
        memory_limit: Option<u64>,
        cpus: Option<&str>,
    ) -> Result<StepCgroup, String> {
        let mut cpuset_note = None;
        let self_cgroup = std::fs::read_to_string(roots.proc.join("self/cgroup"))
            .map_err(|e| format!("cannot read {}/self/cgroup: {e}", roots.proc.display()))?;
        let entries = parse_proc_cgroup(&self_cgroup);
        // `zkprof-<pid>.<start time>-<n>`: the next zkprof tells a dead owner's cgroups
        // from a live one's, also across pid reuse (see `hygiene::clean_stale`).
        let name = format!(
            "zkprof-{}-{}",
            super::hygiene::self_tag(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let v1_path = |controller: &str| {
            entries
                .iter()
                .find(|(c, _)| c.iter().any(|x| x == controller))
                .map(|(_, p)| p.clone())
        };
        let layout = if let (Some(rel), Some(mount)) =
            (v1_path("memory"), v1_mount(&roots.cgroup, "memory"))
        {
            let memory = join_rel(&join_rel(&mount, &rel), &name);
            std::fs::create_dir(&memory)
                .map_err(|e| format!("cannot create memory cgroup {}: {e}", memory.display()))?;
            let cpuacct = match (v1_path("cpuacct"), v1_mount(&roots.cgroup, "cpuacct")) {
                (Some(rel), Some(mount)) => {
                    let dir = join_rel(&join_rel(&mount, &rel), &name);
                    std::fs::create_dir(&dir).ok().map(|_| dir)
                }
                _ => None,
            };
            let cpuset = match (cpus, v1_path("cpuset"), v1_mount(&roots.cgroup, "cpuset")) {
                (Some(list), Some(rel), Some(mount)) => {
                    let parent = join_rel(&mount, &rel);
                    let dir = parent.join(&name);
                    match v1_cpuset(&parent, &dir, list) {
                        Ok(()) => Some(dir),
                        Err(why) => {
                            let _ = std::fs::remove_dir(&dir);
                            cpuset_note = Some(why);
                            None
                        }
                    }
                }
                (Some(_), _, _) => {
                    cpuset_note = Some("no cpuset cgroup controller mounted".into());
                    None
                }
                _ => None,
            };
            Layout::V1 {
                memory,
                cpuacct,
                cpuset,
            }
        } else if roots.cgroup.join("cgroup.controllers").exists() {
            let rel = entries
                .iter()
                .find(|(c, _)| c.is_empty())
                .map(|(_, p)| p.clone())
                .ok_or("no cgroup v2 entry in /proc/self/cgroup")?;
            let parent = join_rel(&roots.cgroup, &rel);
            let subtree =
                std::fs::read_to_string(parent.join("cgroup.subtree_control")).unwrap_or_default();
            if !subtree.split_whitespace().any(|c| c == "memory") {
                std::fs::write(parent.join("cgroup.subtree_control"), "+memory").map_err(|e| {
                    format!(
                        "cannot enable the memory controller below {} ({e}); run zkprof in a cgroup of its own \
                         (e.g. `systemd-run --user --scope -p Delegate=yes zkprof ...`)",
                        parent.display()
                    )
                })?;
            }
            let dir = parent.join(&name);
            std::fs::create_dir(&dir)
                .map_err(|e| format!("cannot create cgroup {}: {e}", dir.display()))?;
            if !dir.join("memory.peak").exists() {
                let _ = std::fs::remove_dir(&dir);
                return Err("cgroup v2 without memory.peak (kernel older than 5.19)".into());
            }
            if let Some(list) = cpus {
                if let Err(why) = v2_cpuset(&parent, &dir, list) {
                    cpuset_note = Some(why);
                }
            }
            Layout::V2 { dir }
        } else {
            return Err(format!(
                "no memory cgroup controller under {} (cgroups not mounted)",
                roots.cgroup.display()
            ));
        };
        let hot = match &layout {
            Layout::V1 {
                memory, cpuacct, ..
            } => HotFiles {
                memory_current: File::open(memory.join("memory.usage_in_bytes")).ok(),
                cpu_total: cpuacct
                    .as_ref()
                    .and_then(|c| File::open(c.join("cpuacct.usage")).ok()),
            },
            Layout::V2 { dir } => HotFiles {
                memory_current: File::open(dir.join("memory.current")).ok(),
                cpu_total: File::open(dir.join("cpu.stat")).ok(),
            },
        };
        let cg = StepCgroup {
            layout,
            cpuset_note,
            hot,
        };
        if let Some(limit) = memory_limit {
            cg.set_memory_limit(limit)?;
        }
        Ok(cg)
    }

    fn set_memory_limit(&self, limit: u64) -> Result<(), String> {
        let write = |p: PathBuf| {
            std::fs::write(&p, limit.to_string())
                .map_err(|e| format!("cannot set memory limit in {}: {e}", p.display()))
        };
        match &self.layout {
            Layout::V1 { memory, .. } => {
                write(memory.join("memory.limit_in_bytes"))?;
                let memsw = memory.join("memory.memsw.limit_in_bytes");
                if memsw.exists() {
                    write(memsw)?;
                }
            }
            Layout::V2 { dir } => {
                write(dir.join("memory.max"))?;
                let swap = dir.join("memory.swap.max");
                if swap.exists() {
                    let _ = std::fs::write(swap, "0");
                }
            }
        }
        Ok(())
    }

    /// Why CPUs asked for are not confined by a cpuset (affinity alone), if so.
    pub fn cpuset_note(&self) -> Option<&str> {
        self.cpuset_note.as_deref()
    }

    /// The `cgroup.procs` files the child must write its pid into before exec.
    pub fn procs_files(&self) -> Vec<PathBuf> {
        match &self.layout {
            Layout::V1 {
                memory,
                cpuacct,
                cpuset,
            } => {
                let mut v = vec![memory.join("cgroup.procs")];
                for c in cpuacct.iter().chain(cpuset) {
                    v.push(c.join("cgroup.procs"));
                }
                v
            }
            Layout::V2 { dir } => vec![dir.join("cgroup.procs")],
        }
    }

    /// How the peak is measured.
    pub fn memory_method(&self) -> MemoryMethod {
        match self.layout {
            Layout::V1 { .. } => MemoryMethod::CgroupV1MaxUsage,
            Layout::V2 { .. } => MemoryMethod::CgroupV2Peak,
        }
    }

    fn memory_dir(&self) -> &Path {
        match &self.layout {
            Layout::V1 { memory, .. } => memory,
            Layout::V2 { dir } => dir,
        }
    }

    /// The pids in the cgroup now.
    pub fn pids(&self) -> Vec<i32> {
        // Opened anew each time (v1 builds the list at open); read without a stat call.
        let text = File::open(self.memory_dir().join("cgroup.procs"))
            .ok()
            .and_then(|f| pread_text(&f))
            .unwrap_or_default();
        text.lines().filter_map(|l| l.trim().parse().ok()).collect()
    }

    /// Current memory use, bytes.
    pub fn memory_current(&self) -> Option<u64> {
        if let Some(v) = self.hot.memory_current.as_ref().and_then(pread_text) {
            return v.trim().parse().ok();
        }
        match &self.layout {
            Layout::V1 { memory, .. } => read_u64(&memory.join("memory.usage_in_bytes")),
            Layout::V2 { dir } => read_u64(&dir.join("memory.current")),
        }
    }

    /// Peak memory use since creation, bytes.
    pub fn memory_peak(&self) -> Option<u64> {
        match &self.layout {
            Layout::V1 { memory, .. } => read_u64(&memory.join("memory.max_usage_in_bytes")),
            Layout::V2 { dir } => read_u64(&dir.join("memory.peak")),
        }
    }

    /// Resets the peak counter to the current use (cgroup v1 `memory.max_usage_in_bytes`),
    /// so the next [`memory_peak`](Self::memory_peak) covers only what follows. cgroup v2's
    /// `memory.peak` resets only per open file (kernel 6.12+): false there.
    pub fn reset_peak(&self) -> bool {
        match &self.layout {
            Layout::V1 { memory, .. } => {
                std::fs::write(memory.join("memory.max_usage_in_bytes"), "0").is_ok()
            }
            Layout::V2 { .. } => false,
        }
    }

    /// OOM kills inside the cgroup since creation.
    pub fn oom_kills(&self) -> u64 {
        let (file, key) = match &self.layout {
            Layout::V1 { memory, .. } => (memory.join("memory.oom_control"), "oom_kill"),
            Layout::V2 { dir } => (dir.join("memory.events"), "oom_kill"),
        };
        parse_keyed(&std::fs::read_to_string(file).unwrap_or_default(), key).unwrap_or(0)
    }

    /// CPU time of every process that ran in the cgroup: (user, system) in seconds.
    pub fn cpu_times(&self) -> Option<(f64, f64)> {
        match &self.layout {
            Layout::V1 { cpuacct, .. } => v1_cpu_times(cpuacct.as_ref()?),
            Layout::V2 { dir } => v2_cpu_times(dir),
        }
    }

    /// Total CPU time so far, seconds (for the CPU-use series); cheap to read.
    pub fn cpu_total(&self) -> Option<f64> {
        if let Some(text) = self.hot.cpu_total.as_ref().and_then(pread_text) {
            return match self.layout {
                Layout::V1 { .. } => text.trim().parse::<u64>().ok().map(|ns| ns as f64 / 1e9),
                Layout::V2 { .. } => parse_keyed(&text, "usage_usec").map(|us| us as f64 / 1e6),
            };
        }
        match &self.layout {
            Layout::V1 { cpuacct, .. } => {
                read_u64(&cpuacct.as_ref()?.join("cpuacct.usage")).map(|ns| ns as f64 / 1e9)
            }
            Layout::V2 { dir } => {
                let text = std::fs::read_to_string(dir.join("cpu.stat")).ok()?;
                parse_keyed(&text, "usage_usec").map(|us| us as f64 / 1e6)
            }
        }
    }

    /// SIGKILLs every process in the cgroup; returns how many were signalled.
    pub fn kill_all(&self) -> u32 {
        if let Layout::V2 { dir } = &self.layout {
            if std::fs::write(dir.join("cgroup.kill"), "1").is_ok() {
                return self.pids().len() as u32;
            }
        }
        let mut n = 0;
        for pid in self.pids() {
            // SAFETY: kill(2) has no memory-safety preconditions.
            if unsafe { libc::kill(pid, libc::SIGKILL) } == 0 {
                n += 1;
            }
        }
        n
    }

    fn dirs(&self) -> Vec<PathBuf> {
        match &self.layout {
            Layout::V1 {
                memory,
                cpuacct,
                cpuset,
            } => {
                let mut v = vec![memory.clone()];
                v.extend(cpuacct.clone());
                v.extend(cpuset.clone());
                v
            }
            Layout::V2 { dir } => vec![dir.clone()],
        }
    }
}

impl Drop for StepCgroup {
    fn drop(&mut self) {
        self.hot = HotFiles::default();
        for dir in self.dirs() {
            // A dying process may still be charged for a moment: retry briefly.
            for _ in 0..200 {
                match std::fs::remove_dir(&dir) {
                    Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                        self.kill_all();
                        std::thread::sleep(std::time::Duration::from_millis(10));
                    }
                    _ => break,
                }
            }
        }
    }
}

/// Makes the v1 cpuset cgroup `dir` below `parent`, on the CPUs `list`: a v1 cpuset needs
/// its memory nodes set before a process may join, so the parent's are copied.
fn v1_cpuset(parent: &Path, dir: &Path, list: &str) -> Result<(), String> {
    std::fs::create_dir(dir)
        .map_err(|e| format!("cannot create cpuset cgroup {}: {e}", dir.display()))?;
    let mems = read_trimmed(&parent.join("cpuset.mems")).unwrap_or_default();
    let write = |file: &str, value: &str| {
        std::fs::write(dir.join(file), value)
            .map_err(|e| format!("cannot write {value} to {}: {e}", dir.join(file).display()))
    };
    write("cpuset.mems", if mems.is_empty() { "0" } else { &mems })?;
    write("cpuset.cpus", list)
}

/// Confines the v2 cgroup `dir` to the CPUs `list`, enabling the cpuset controller below
/// `parent` first where needed.
fn v2_cpuset(parent: &Path, dir: &Path, list: &str) -> Result<(), String> {
    let subtree =
        std::fs::read_to_string(parent.join("cgroup.subtree_control")).unwrap_or_default();
    if !subtree.split_whitespace().any(|c| c == "cpuset") {
        std::fs::write(parent.join("cgroup.subtree_control"), "+cpuset").map_err(|e| {
            format!(
                "cannot enable the cpuset controller below {} ({e})",
                parent.display()
            )
        })?;
    }
    std::fs::write(dir.join("cpuset.cpus"), list).map_err(|e| {
        format!(
            "cannot write {list} to {}: {e}",
            dir.join("cpuset.cpus").display()
        )
    })
}

/// (user, system) CPU seconds from a cgroup v1 `cpuacct` directory.
///
/// The total is `cpuacct.usage`, the scheduler's exact runtime. `usage_user`/`usage_sys`
/// come from tick sampling, which can undercount badly (seen: 0.76 s of 1.11 s in a VM), so
/// they only split the exact total, as the kernel does for `getrusage`.
pub fn v1_cpu_times(dir: &Path) -> Option<(f64, f64)> {
    let user = read_u64(&dir.join("cpuacct.usage_user"))?;
    let sys = read_u64(&dir.join("cpuacct.usage_sys"))?;
    let total = read_u64(&dir.join("cpuacct.usage")).unwrap_or(user + sys);
    Some(split_total(total as f64 / 1e9, user as f64, sys as f64))
}

/// Splits an exact total between user and system time in the ratio of sampled counts.
pub fn split_total(total: f64, user: f64, sys: f64) -> (f64, f64) {
    if user + sys <= 0.0 {
        return (total, 0.0);
    }
    let u = total * user / (user + sys);
    (u, total - u)
}

/// (user, system) CPU seconds from a cgroup v2 directory's `cpu.stat`.
pub fn v2_cpu_times(dir: &Path) -> Option<(f64, f64)> {
    let text = std::fs::read_to_string(dir.join("cpu.stat")).ok()?;
    let user = parse_keyed(&text, "user_usec")?;
    let sys = parse_keyed(&text, "system_usec")?;
    Some((user as f64 / 1e6, sys as f64 / 1e6))
}

/// Reads `key value` lines (memory.events, cpu.stat, memory.oom_control).
pub fn parse_keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let mut it = l.split_whitespace();
        (it.next()? == key).then(|| it.next()?.parse().ok())?
    })
}

/// Why a step cgroup cannot be made here, or `None` when it can (used by `doctor`).
pub fn probe(roots: &Roots) -> Option<String> {
    match StepCgroup::create(roots, None, None) {
        Ok(cg) => {
            drop(cg);
            None
        }
        Err(e) => Some(e),
    }
}

/// The controller list of zkprof's own v2 cgroup, for diagnostics.
pub fn v2_controllers(roots: &Roots) -> Option<String> {
    read_trimmed(&roots.cgroup.join("cgroup.controllers"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hybrid_proc_cgroup() {
        let text = "9:name=systemd:/\n4:memory:/process_api/abc\n2:cpuacct:/\n0::/\n";
        let e = parse_proc_cgroup(text);
        assert_eq!(
            e[1],
            (vec!["memory".to_string()], "/process_api/abc".to_string())
        );
        assert_eq!(e[3], (vec![], "/".to_string()));
    }

    #[test]
    fn exact_total_split_by_ticks() {
        let (u, s) = split_total(1.1, 224.0, 536.0);
        assert!((u + s - 1.1).abs() < 1e-12);
        assert!((u / s - 224.0 / 536.0).abs() < 1e-9);
        assert_eq!(split_total(0.5, 0.0, 0.0), (0.5, 0.0));
    }

    #[test]
    fn keyed_values() {
        assert_eq!(
            parse_keyed("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n", "oom_kill"),
            Some(3)
        );
        assert_eq!(
            parse_keyed("usage_usec 10\nuser_usec 7\n", "user_usec"),
            Some(7)
        );
        assert_eq!(parse_keyed("low 0\n", "oom_kill"), None);
    }

    #[test]
    fn fixture_v1_tree_gives_a_cgroup_and_its_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let roots = Roots::under(dir.path());
        std::fs::create_dir_all(roots.proc.join("self")).unwrap();
        std::fs::write(
            roots.proc.join("self/cgroup"),
            "4:memory:/outer\n2:cpuacct:/\n",
        )
        .unwrap();
        std::fs::create_dir_all(roots.cgroup.join("memory/outer")).unwrap();
        std::fs::write(roots.cgroup.join("memory/cgroup.procs"), "").unwrap();
        std::fs::create_dir_all(roots.cgroup.join("cpuacct")).unwrap();
        std::fs::write(roots.cgroup.join("cpuacct/cgroup.procs"), "").unwrap();
        let cg = StepCgroup::create(&roots, None, None).expect("fixture cgroup");
        assert_eq!(cg.memory_method(), MemoryMethod::CgroupV1MaxUsage);
        let mem = cg.memory_dir().to_path_buf();
        assert!(mem.starts_with(roots.cgroup.join("memory/outer")));
        // A fixture directory does not fill itself in like the kernel does: write the files.
        std::fs::write(mem.join("memory.max_usage_in_bytes"), "314572800\n").unwrap();
        std::fs::write(
            mem.join("memory.oom_control"),
            "oom_kill_disable 0\noom_kill 1\n",
        )
        .unwrap();
        assert_eq!(cg.memory_peak(), Some(300 << 20));
        assert_eq!(cg.oom_kills(), 1);
        assert_eq!(cg.procs_files().len(), 2);
    }

    #[test]
    fn no_cgroup_mount_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let roots = Roots::under(dir.path());
        std::fs::create_dir_all(roots.proc.join("self")).unwrap();
        std::fs::write(roots.proc.join("self/cgroup"), "0::/\n").unwrap();
        let err = StepCgroup::create(&roots, None, None).unwrap_err();
        assert!(err.contains("no memory cgroup controller"), "{err}");
    }
}
