//! The host fingerprint: what machine a number was taken on, read into
//! [`crate::results::Host`] (the schema type, which also computes the id).
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

pub use cpu::FIELD_FLAGS;

use crate::results::Host;
use crate::roots::{read_trimmed, Roots};
use crate::sensors::nvml::{GpuBackend, RealNvml};

/// Reads the host through `roots`, GPUs through NVML. Missing files leave fields empty.
pub fn detect(roots: &Roots) -> Host {
    detect_with(roots, &RealNvml)
}

/// Reads the host through `roots`, GPUs through `gpus`. The CPUID hypervisor
/// signature and dmidecode are consulted only for the real roots (`/proc`, `/sys`).
pub fn detect_with(roots: &Roots, gpus: &dyn GpuBackend) -> Host {
    let real =
        roots.proc == std::path::Path::new("/proc") && roots.sys == std::path::Path::new("/sys");
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
        virtualization: platform::detect_virtualization(roots, &flags_line, cpuid_sig.as_deref()),
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
