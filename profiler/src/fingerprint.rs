//! The host fingerprint: what machine a number was taken on.
//!
//! `fingerprint_id` is a hash over the hardware fields only (CPU model, logical CPUs,
//! memory size rounded to GiB, GPUs), so it is stable across runs and reboots and
//! changes when the hardware does.

use crate::roots::{read_trimmed, Roots};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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
    /// `virtual machine (kvm)`, `bare metal`, or `unknown`.
    pub virtualization: String,
    /// `docker`, `podman`, ... when zkprof itself runs in a container.
    pub container: Option<String>,
    /// `v1`, `v2`, `hybrid` or `none`.
    pub cgroup_version: String,
}

impl Host {
    /// Reads the host through `roots`. Missing files leave fields empty.
    pub fn detect(roots: &Roots) -> Host {
        let cpuinfo = std::fs::read_to_string(roots.proc.join("cpuinfo")).unwrap_or_default();
        let field = |name: &str| {
            cpuinfo
                .lines()
                .find(|l| l.split(':').next().map(str::trim) == Some(name))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_default()
        };
        let logical_cpus = cpuinfo.lines().filter(|l| l.starts_with("processor")).count() as u32;
        let flags = field("flags");
        let memory_bytes = std::fs::read_to_string(roots.proc.join("meminfo"))
            .ok()
            .and_then(|m| parse_meminfo_total(&m))
            .unwrap_or(0);
        let mut host = Host {
            fingerprint_id: String::new(),
            hostname: read_trimmed(&roots.proc.join("sys/kernel/hostname")).unwrap_or_default(),
            os: read_os_release(roots),
            kernel: read_trimmed(&roots.proc.join("sys/kernel/osrelease")).unwrap_or_default(),
            arch: std::env::consts::ARCH.to_string(),
            cpu_vendor: field("vendor_id"),
            cpu_model: field("model name"),
            logical_cpus,
            memory_bytes,
            virtualization: detect_virtualization(roots, &flags),
            container: detect_container(roots),
            cgroup_version: detect_cgroup_version(roots),
        };
        host.fingerprint_id = host.compute_id();
        host
    }

    /// The hash over hardware fields (not hostname, kernel or OS).
    pub fn compute_id(&self) -> String {
        let gib = (self.memory_bytes as f64 / (1u64 << 30) as f64).round() as u64;
        let text = format!(
            "cpu={}|vendor={}|threads={}|mem_gib={}|arch={}",
            self.cpu_model, self.cpu_vendor, self.logical_cpus, gib, self.arch
        );
        let digest = Sha256::digest(text.as_bytes());
        hex::encode(&digest[..8])
    }

    /// One line for terminals: `Intel Xeon ... (2 threads), 23.5 GiB, virtual machine (kvm)`.
    pub fn one_line(&self) -> String {
        format!(
            "{} ({} threads), {}, {}",
            if self.cpu_model.is_empty() { "unknown CPU" } else { &self.cpu_model },
            self.logical_cpus,
            crate::units::Bytes(self.memory_bytes),
            self.virtualization
        )
    }
}

fn parse_meminfo_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn read_os_release(roots: &Roots) -> String {
    let text = std::fs::read_to_string(roots.etc.join("os-release")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_default()
}

fn detect_virtualization(roots: &Roots, flags: &str) -> String {
    let dmi_vendor = read_trimmed(&roots.sys.join("class/dmi/id/sys_vendor")).unwrap_or_default();
    let product = read_trimmed(&roots.sys.join("class/dmi/id/product_name")).unwrap_or_default();
    let hyp = read_trimmed(&roots.sys.join("hypervisor/type"));
    let known = [
        ("QEMU", "kvm"),
        ("KVM", "kvm"),
        ("Firecracker", "firecracker"),
        ("VMware", "vmware"),
        ("VirtualBox", "virtualbox"),
        ("Microsoft Corporation", "hyperv"),
        ("Amazon EC2", "kvm"),
        ("Google", "kvm"),
        ("Xen", "xen"),
    ];
    for (needle, name) in known {
        if dmi_vendor.contains(needle) || product.contains(needle) {
            return format!("virtual machine ({name})");
        }
    }
    if let Some(h) = hyp {
        return format!("virtual machine ({h})");
    }
    if flags.split_whitespace().any(|f| f == "hypervisor") {
        return "virtual machine (hypervisor cpu flag)".into();
    }
    if flags.is_empty() {
        "unknown".into()
    } else {
        "bare metal".into()
    }
}

fn detect_container(roots: &Roots) -> Option<String> {
    if roots.proc.join("../.dockerenv").exists() || std::path::Path::new("/.dockerenv").exists()
    {
        return Some("docker".into());
    }
    let cg = std::fs::read_to_string(roots.proc.join("1/cgroup")).unwrap_or_default();
    for (needle, name) in [("docker", "docker"), ("kubepods", "kubernetes"), ("libpod", "podman")] {
        if cg.contains(needle) {
            return Some(name.into());
        }
    }
    None
}

fn detect_cgroup_version(roots: &Roots) -> String {
    let v2 = roots.cgroup.join("cgroup.controllers").exists();
    let v1 = roots.cgroup.join("memory").is_dir() || roots.cgroup.join("cpuacct").is_dir();
    match (v1, v2) {
        (true, _) if roots.cgroup.join("unified").is_dir() => "hybrid".into(),
        (true, _) => "v1".into(),
        (false, true) => "v2".into(),
        _ => "none".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_total_in_bytes() {
        assert_eq!(
            parse_meminfo_total("MemTotal:       24609880 kB\nMemFree: 1 kB\n"),
            Some(24_609_880 * 1024)
        );
    }

    #[test]
    fn id_ignores_hostname_and_follows_cpu_model() {
        let a = Host {
            cpu_model: "Test CPU 1".into(),
            logical_cpus: 4,
            memory_bytes: 8 << 30,
            hostname: "a".into(),
            ..Host::default()
        };
        let b = Host { hostname: "b".into(), ..a.clone() };
        let c = Host { cpu_model: "Test CPU 2".into(), ..a.clone() };
        assert_eq!(a.compute_id(), b.compute_id());
        assert_ne!(a.compute_id(), c.compute_id());
        assert_eq!(a.compute_id().len(), 16);
    }
}
