//! The host a result was measured on (detected by the `fingerprint` module).

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
            crate::units::format_bytes(self.memory_bytes as f64),
            self.virtualization
        );
        for g in &self.gpus {
            line.push_str(&format!(", {}", g.name));
        }
        line
    }
}

/// One cache level as seen from CPU 0.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CpuCache {
    pub level: u32,
    /// `Data`, `Instruction` or `Unified`.
    pub kind: String,
    /// Size of one instance, bytes.
    pub size_bytes: u64,
    /// Logical CPUs sharing one instance.
    pub shared_by: u32,
}

/// Frequency scaling, where the kernel exposes it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CpuFreq {
    /// `scaling_driver` of CPU 0 (`intel_pstate`, `amd-pstate-epp`, `acpi-cpufreq`).
    pub driver: Option<String>,
    /// `scaling_governor` of CPU 0 (`performance`, `powersave`, `schedutil`).
    pub governor: Option<String>,
    /// Turbo/boost enabled.
    pub boost: Option<bool>,
    /// `cpuinfo_max_freq`, MHz.
    pub max_mhz: Option<f64>,
    /// Why nothing is known, when nothing is.
    pub note: Option<String>,
}

/// A GPU as the fingerprint records it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GpuInfo {
    pub index: u32,
    pub name: String,
    pub uuid: String,
    pub driver_version: String,
    /// `12.4`, from the driver.
    pub cuda_version: String,
    /// Enforced power limit, watts.
    pub power_limit_w: Option<f64>,
    /// Total memory, bytes.
    pub memory_bytes: u64,
    /// PCIe bus id (`00000000:01:00.0`).
    pub pci_bus_id: String,
    /// Current PCIe link generation and width.
    pub pcie_gen: Option<u32>,
    pub pcie_width: Option<u32>,
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
