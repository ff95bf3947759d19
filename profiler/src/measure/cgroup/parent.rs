//! A parent cgroup that holds exactly one container, so its numbers survive the container.
//!
//! The engine removes a container's own cgroup the moment its process exits, so reading
//! `memory.max_usage_in_bytes` (v1) or `memory.peak` (v2) there afterwards fails, and
//! reading it while the container runs can miss the last moments. zkprof therefore gives
//! each step container a fresh `--cgroup-parent`: the kernel charges the container's memory
//! and CPU to the parent too (hierarchically), and the parent stays until zkprof removes it.
//! Its peak is the container's peak, since nothing else runs in it.

use super::{v1_cpu_times, v1_mount, v2_cpu_times, Layout, COUNTER};
use crate::roots::{read_u64, Roots};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

/// The parent cgroup of one step container.
#[derive(Clone, Debug)]
pub struct ParentCgroup {
    /// The value given to the engine as `CgroupParent`.
    docker_parent: String,
    /// The path below each controller's mount, without a leading `/`.
    rel: String,
    systemd: bool,
    layout: Layout,
    roots: Roots,
}

impl ParentCgroup {
    /// A fresh, unique parent for the engine's cgroup driver (`cgroupfs` or `systemd`).
    pub fn new(roots: &Roots, driver: &str) -> ParentCgroup {
        let unique = format!(
            "s{}n{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        ParentCgroup::named(roots, driver, &unique)
    }

    /// A parent named `unique` (letters and digits only; systemd reads `-` as nesting).
    pub fn named(roots: &Roots, driver: &str, unique: &str) -> ParentCgroup {
        let systemd = driver == "systemd";
        let (docker_parent, rel) = if systemd {
            (
                format!("zkprof-{unique}.slice"),
                format!("zkprof.slice/zkprof-{unique}.slice"),
            )
        } else {
            (format!("/zkprof/{unique}"), format!("zkprof/{unique}"))
        };
        let layout = if roots.cgroup.join("cgroup.controllers").exists() {
            Layout::V2 {
                dir: roots.cgroup.join(&rel),
            }
        } else {
            Layout::V1 {
                memory: roots.cgroup.join("memory").join(&rel),
                cpuacct: v1_mount(&roots.cgroup, "cpuacct").map(|m| m.join(&rel)),
                cpuset: None,
            }
        };
        ParentCgroup {
            docker_parent,
            rel,
            systemd,
            layout,
            roots: roots.clone(),
        }
    }

    /// The `CgroupParent` value for the container.
    pub fn docker_parent(&self) -> &str {
        &self.docker_parent
    }

    /// The directory holding the memory files of the parent.
    pub fn memory_dir(&self) -> &Path {
        match &self.layout {
            Layout::V1 { memory, .. } => memory,
            Layout::V2 { dir } => dir,
        }
    }

    /// The memory directory of the container's own cgroup (exists only while it runs).
    pub fn container_memory_dir(&self, container_id: &str) -> PathBuf {
        let leaf = if self.systemd {
            format!("docker-{container_id}.scope")
        } else {
            container_id.to_string()
        };
        self.memory_dir().join(leaf)
    }

    /// The peak memory of the parent (= of its one container) in bytes, and which file gave it.
    pub fn memory_peak(&self) -> Option<(u64, &'static str)> {
        match &self.layout {
            Layout::V1 { memory, .. } => read_u64(&memory.join("memory.max_usage_in_bytes"))
                .map(|b| (b, "memory.max_usage_in_bytes")),
            Layout::V2 { dir } => read_u64(&dir.join("memory.peak")).map(|b| (b, "memory.peak")),
        }
    }

    /// User and system CPU seconds of everything that ran in the parent.
    pub fn cpu_times(&self) -> Option<(f64, f64)> {
        match &self.layout {
            Layout::V1 { cpuacct, .. } => v1_cpu_times(cpuacct.as_ref()?),
            Layout::V2 { dir } => v2_cpu_times(dir),
        }
    }

    /// Removes the parent's directories (cgroupfs driver only; systemd owns its slices).
    /// Best effort: a directory still busy for a moment is retried briefly.
    pub fn remove(&self) {
        if self.systemd {
            return;
        }
        let dirs: Vec<PathBuf> = match &self.layout {
            Layout::V2 { dir } => vec![dir.clone()],
            Layout::V1 { .. } => std::fs::read_dir(&self.roots.cgroup)
                .map(|rd| {
                    rd.filter_map(|e| e.ok())
                        .map(|e| e.path().join(&self.rel))
                        .collect()
                })
                .unwrap_or_default(),
        };
        for dir in dirs.into_iter().filter(|d| d.is_dir()) {
            for _ in 0..100 {
                match std::fs::remove_dir(&dir) {
                    Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                        std::thread::sleep(std::time::Duration::from_millis(10))
                    }
                    _ => break,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn v1_cgroupfs_paths_and_numbers() {
        let d = tempfile::tempdir().unwrap();
        let roots = Roots::under(d.path());
        let cg = &roots.cgroup;
        put(
            cg,
            "memory/zkprof/t1/memory.max_usage_in_bytes",
            "201400320\n",
        );
        // A mounted v1 controller has a `cgroup.procs` at its root.
        put(cg, "cpu,cpuacct/cgroup.procs", "");
        put(cg, "cpu,cpuacct/zkprof/t1/cpuacct.usage_user", "16000000\n");
        put(cg, "cpu,cpuacct/zkprof/t1/cpuacct.usage_sys", "100000000\n");
        let p = ParentCgroup::named(&roots, "cgroupfs", "t1");
        assert_eq!(p.docker_parent(), "/zkprof/t1");
        assert_eq!(
            p.memory_peak(),
            Some((201_400_320, "memory.max_usage_in_bytes"))
        );
        let (u, s) = p.cpu_times().unwrap();
        assert!((u - 0.016).abs() < 1e-9 && (s - 0.1).abs() < 1e-9);
        assert_eq!(
            p.container_memory_dir("abc"),
            cg.join("memory/zkprof/t1/abc")
        );
    }

    #[test]
    fn v2_systemd_paths_and_numbers() {
        let d = tempfile::tempdir().unwrap();
        let roots = Roots::under(d.path());
        let cg = &roots.cgroup;
        put(cg, "cgroup.controllers", "cpu memory\n");
        put(cg, "zkprof.slice/zkprof-t2.slice/memory.peak", "4096\n");
        put(
            cg,
            "zkprof.slice/zkprof-t2.slice/cpu.stat",
            "usage_usec 3000\nuser_usec 2000\nsystem_usec 1000\n",
        );
        let p = ParentCgroup::named(&roots, "systemd", "t2");
        assert_eq!(p.docker_parent(), "zkprof-t2.slice");
        assert_eq!(p.memory_peak(), Some((4096, "memory.peak")));
        assert_eq!(p.cpu_times(), Some((0.002, 0.001)));
        assert!(p
            .container_memory_dir("abc")
            .ends_with("zkprof-t2.slice/docker-abc.scope"));
    }

    #[test]
    fn missing_files_give_none() {
        let d = tempfile::tempdir().unwrap();
        let p = ParentCgroup::new(&Roots::under(d.path()), "cgroupfs");
        assert_eq!(p.memory_peak(), None);
        assert_eq!(p.cpu_times(), None);
        p.remove();
    }
}
