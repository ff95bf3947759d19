//! The host fingerprint: what machine a number was taken on.
//!
//! `fingerprint_id` is a hash over the hardware fields only (CPU identity, topology,
//! memory size rounded to GiB, architecture, GPU models and memory), so it is stable
//! across runs, reboots, kernel and driver updates, and changes when the hardware does.
//! Everything else (kernel, governor, microcode, virtualization, container) is recorded
//! beside it as context.
//!
//! - `fingerprint/cpu.rs`: CPU identity, field-arithmetic flags, topology, caches, cpufreq.
//! - `fingerprint/platform.rs`: OS, memory, virtualization, container, cgroups, DIMMs.

mod cpu;
mod platform;

pub use cpu::{CpuCache, CpuFreq, FIELD_FLAGS};

use crate::roots::{read_trimmed, Roots};
use crate::sensors::nvml::{GpuBackend, GpuInfo, RealNvml};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The host a result was measured on. Every field is optional in files, so that a
/// results file from an older or newer zkprof still loads.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Host {
    /// 16 hex digits over the hardware fields.
    pub fingerprint_id: String,
    pub hostname: String,
    pub os: String,
    pub kernel: String,
    pub arch: String,
    pub cpu_vendor: String,
    pub cpu_model: String,
    /// Logical CPUs (hardware threads) online.
    pub logical_cpus: u32,
    /// `MemTotal`, bytes.
    pub memory_bytes: u64,
    /// `virtual machine (kvm, from CPUID)`, `bare metal`, or `unknown`.
    pub virtualization: String,
    /// `docker`, `podman`, ... when zkprof itself runs in a container.
    pub container: Option<String>,
    /// `v1`, `v2`, `hybrid` or `none`.
    pub cgroup_version: String,

    /// CPU family, model and stepping numbers (x86 `cpu family`, `model`, `stepping`).
    pub cpu_family: Option<u32>,
    pub cpu_model_number: Option<u32>,
    pub cpu_stepping: Option<u32>,
    /// Microcode revision (`0x1000065`).
    pub microcode: String,
    /// The CPU flags that matter for field arithmetic (`FIELD_FLAGS`), present or not.
    pub cpu_flags: BTreeMap<String, bool>,
    pub sockets: u32,
    /// Physical cores over all sockets.
    pub cores: u32,
    pub threads_per_core: u32,
    /// Simultaneous multithreading active.
    pub smt: Option<bool>,
    pub numa_nodes: u32,
    /// Caches seen from CPU 0.
    pub caches: Vec<CpuCache>,
    pub cpufreq: CpuFreq,
    /// Configured DIMM speed, MT/s, where dmidecode can tell.
    pub memory_speed_mts: Option<u32>,
    /// Why the DIMM speed is unknown.
    pub memory_speed_note: Option<String>,
    /// `kernel.perf_event_paranoid`.
    pub perf_event_paranoid: Option<i32>,
    /// RAPL domains found (`package-0`, `package-0.dram`, ...).
    pub rapl_domains: Vec<String>,
    /// Why there are no RAPL domains.
    pub rapl_note: Option<String>,
    /// NVIDIA GPUs seen by NVML.
    pub gpus: Vec<GpuInfo>,
    /// Why no GPU is listed.
    pub gpu_note: Option<String>,
}

impl Host {
    /// Reads the host through `roots`, GPUs through NVML. Missing files leave fields empty.
    pub fn detect(roots: &Roots) -> Host {
        Host::detect_with(roots, &RealNvml)
    }

    /// Reads the host through `roots`, GPUs through `gpus`. The CPUID hypervisor
    /// signature and dmidecode are consulted only for the real roots (`/proc`, `/sys`).
    pub fn detect_with(roots: &Roots, gpus: &dyn GpuBackend) -> Host {
        let real = roots.proc == std::path::Path::new("/proc")
            && roots.sys == std::path::Path::new("/sys");
        let cpuinfo_text = std::fs::read_to_string(roots.proc.join("cpuinfo")).unwrap_or_default();
        let c = cpu::parse_cpuinfo(&cpuinfo_text);
        let flags_line = c.flags.iter().cloned().collect::<Vec<_>>().join(" ");
        let memory_bytes = std::fs::read_to_string(roots.proc.join("meminfo"))
            .ok()
            .and_then(|m| platform::parse_meminfo_total(&m))
            .unwrap_or(0);
        let threads_per_core = c.logical_cpus.checked_div(c.cores).unwrap_or(0);
        let cpuid_sig = if real {
            platform::cpuid_hypervisor()
        } else {
            None
        };
        let (memory_speed_mts, memory_speed_note) = if real {
            match platform::dimm_speed() {
                Ok(s) => (Some(s), None),
                Err(why) => (None, Some(why)),
            }
        } else {
            (None, Some("not read on fixture roots".into()))
        };
        let (rapl_domains, rapl_note) = match crate::sensors::rapl::discover(&roots.sys) {
            Ok(d) => (d.into_iter().map(|d| d.label).collect(), None),
            Err(why) => (Vec::new(), Some(why)),
        };
        let (gpus, gpu_note) = match gpus.gpus() {
            Ok(g) if g.is_empty() => (g, Some("NVML found no NVIDIA GPU".into())),
            Ok(g) => (g, None),
            Err(why) => (Vec::new(), Some(why)),
        };
        let mut host = Host {
            fingerprint_id: String::new(),
            hostname: read_trimmed(&roots.proc.join("sys/kernel/hostname")).unwrap_or_default(),
            os: platform::read_os_release(roots),
            kernel: read_trimmed(&roots.proc.join("sys/kernel/osrelease")).unwrap_or_default(),
            arch: std::env::consts::ARCH.to_string(),
            cpu_vendor: c.vendor.clone(),
            cpu_model: c.model_name.clone(),
            logical_cpus: c.logical_cpus,
            memory_bytes,
            virtualization: platform::detect_virtualization(
                roots,
                &flags_line,
                cpuid_sig.as_deref(),
            ),
            container: platform::detect_container(roots),
            cgroup_version: platform::detect_cgroup_version(roots),
            cpu_family: c.family,
            cpu_model_number: c.model,
            cpu_stepping: c.stepping,
            microcode: c.microcode.clone(),
            cpu_flags: cpu::field_flags(&c.flags),
            sockets: c.sockets,
            cores: c.cores,
            threads_per_core,
            smt: cpu::smt_active(roots, threads_per_core),
            numa_nodes: cpu::numa_nodes(roots),
            caches: cpu::caches(roots),
            cpufreq: cpu::cpufreq(roots),
            memory_speed_mts,
            memory_speed_note,
            perf_event_paranoid: crate::sensors::perf::paranoid_level(&roots.proc),
            rapl_domains,
            rapl_note,
            gpus,
            gpu_note,
        };
        host.fingerprint_id = host.compute_id();
        host
    }

    /// The hash over hardware fields (not hostname, kernel, OS, microcode or settings).
    pub fn compute_id(&self) -> String {
        let gib = |b: u64| (b as f64 / (1u64 << 30) as f64).round() as u64;
        let opt = |v: Option<u32>| v.map(|v| v.to_string()).unwrap_or_default();
        let mut gpus: Vec<String> = self
            .gpus
            .iter()
            .map(|g| format!("{}:{}", g.name, gib(g.memory_bytes)))
            .collect();
        gpus.sort();
        let text = format!(
            "cpu={}|vendor={}|family={}|model={}|stepping={}|sockets={}|cores={}|threads={}|mem_gib={}|arch={}|gpus={}",
            self.cpu_model,
            self.cpu_vendor,
            opt(self.cpu_family),
            opt(self.cpu_model_number),
            opt(self.cpu_stepping),
            self.sockets,
            self.cores,
            self.logical_cpus,
            gib(self.memory_bytes),
            self.arch,
            gpus.join(",")
        );
        let digest = Sha256::digest(text.as_bytes());
        hex::encode(&digest[..8])
    }

    /// One line for terminals: `AMD EPYC (2 threads), 23.5 GiB, virtual machine (kvm, from CPUID)`.
    pub fn one_line(&self) -> String {
        let mut line = format!(
            "{} ({} threads), {}, {}",
            if self.cpu_model.is_empty() {
                "unknown CPU"
            } else {
                &self.cpu_model
            },
            self.logical_cpus,
            crate::units::Bytes(self.memory_bytes),
            self.virtualization
        );
        for g in &self.gpus {
            line.push_str(&format!(", {}", g.name));
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_ignores_hostname_and_follows_cpu_model() {
        let a = Host {
            cpu_model: "Test CPU 1".into(),
            logical_cpus: 4,
            memory_bytes: 8 << 30,
            hostname: "a".into(),
            ..Host::default()
        };
        let b = Host {
            hostname: "b".into(),
            kernel: "6.1".into(),
            microcode: "0x2".into(),
            ..a.clone()
        };
        let c = Host {
            cpu_model: "Test CPU 2".into(),
            ..a.clone()
        };
        let d = Host {
            gpus: vec![GpuInfo {
                name: "GPU".into(),
                ..GpuInfo::default()
            }],
            ..a.clone()
        };
        assert_eq!(a.compute_id(), b.compute_id());
        assert_ne!(a.compute_id(), c.compute_id());
        assert_ne!(a.compute_id(), d.compute_id());
        assert_eq!(a.compute_id().len(), 16);
    }
}
