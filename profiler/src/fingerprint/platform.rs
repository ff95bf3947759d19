//! The platform part of the fingerprint: OS, memory, virtualization, container, cgroups.

use crate::roots::{read_trimmed, Roots};

/// `MemTotal` of /proc/meminfo, bytes.
pub fn parse_meminfo_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// `PRETTY_NAME` of /etc/os-release.
pub fn read_os_release(roots: &Roots) -> String {
    let text = std::fs::read_to_string(roots.etc.join("os-release")).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|v| v.trim_matches('"').to_string())
        .unwrap_or_default()
}

/// The hypervisor vendor from CPUID leaf 0x4000_0000, on x86 when the `hypervisor`
/// flag is set (only meaningful on the real host, not on fixture trees).
pub fn cpuid_hypervisor() -> Option<String> {
    #[cfg(target_arch = "x86_64")]
    {
        // CPUID exists on every x86_64 CPU; leaf 1 is always valid.
        let leaf1 = std::arch::x86_64::__cpuid(1);
        if leaf1.ecx & (1 << 31) == 0 {
            return None;
        }
        // With the hypervisor bit set, leaf 0x4000_0000 is the hypervisor's.
        let r = std::arch::x86_64::__cpuid(0x4000_0000);
        let mut bytes = Vec::with_capacity(12);
        for word in [r.ebx, r.ecx, r.edx] {
            bytes.extend_from_slice(&word.to_le_bytes());
        }
        let sig = String::from_utf8_lossy(&bytes)
            .trim_matches(char::from(0))
            .trim()
            .to_string();
        (!sig.is_empty()).then_some(sig)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        None
    }
}

/// A short hypervisor name from a CPUID signature (`KVMKVMKVM` -> `kvm`).
pub fn hypervisor_from_signature(sig: &str) -> String {
    let known = [
        ("KVMKVMKVM", "kvm"),
        ("Microsoft Hv", "hyperv"),
        ("VMwareVMware", "vmware"),
        ("XenVMMXenVMM", "xen"),
        ("TCGTCGTCGTCG", "qemu"),
        ("VBoxVBoxVBox", "virtualbox"),
        ("bhyve bhyve", "bhyve"),
        ("ACRNACRNACRN", "acrn"),
    ];
    known
        .iter()
        .find(|(s, _)| sig.starts_with(s))
        .map(|(_, n)| n.to_string())
        .unwrap_or_else(|| sig.to_string())
}

/// `virtual machine (NAME, from EVIDENCE)`, `bare metal` or `unknown`. Evidence in order:
/// DMI vendor/product, /sys/hypervisor, the CPUID hypervisor signature, the `hypervisor`
/// CPU flag.
pub fn detect_virtualization(roots: &Roots, flags: &str, cpuid_sig: Option<&str>) -> String {
    let dmi_vendor = read_trimmed(&roots.sys.join("class/dmi/id/sys_vendor")).unwrap_or_default();
    let product = read_trimmed(&roots.sys.join("class/dmi/id/product_name")).unwrap_or_default();
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
            return format!("virtual machine ({name}, from DMI)");
        }
    }
    if let Some(h) = read_trimmed(&roots.sys.join("hypervisor/type")) {
        return format!("virtual machine ({h}, from /sys/hypervisor)");
    }
    let has_flag = flags.split_whitespace().any(|f| f == "hypervisor");
    if let Some(sig) = cpuid_sig {
        return format!(
            "virtual machine ({}, from CPUID)",
            hypervisor_from_signature(sig)
        );
    }
    if has_flag {
        return "virtual machine (hypervisor cpu flag)".into();
    }
    if flags.is_empty() {
        "unknown".into()
    } else {
        "bare metal".into()
    }
}

/// `docker`, `kubernetes`, `podman`, `lxc` when zkprof itself runs in a container.
pub fn detect_container(roots: &Roots) -> Option<String> {
    let real = roots.proc == std::path::Path::new("/proc");
    if roots.proc.join("../.dockerenv").exists()
        || (real && std::path::Path::new("/.dockerenv").exists())
    {
        return Some("docker".into());
    }
    if roots.proc.join("../run/.containerenv").exists() {
        return Some("podman".into());
    }
    let cg = std::fs::read_to_string(roots.proc.join("1/cgroup")).unwrap_or_default();
    for (needle, name) in [
        ("docker", "docker"),
        ("kubepods", "kubernetes"),
        ("libpod", "podman"),
        ("lxc", "lxc"),
    ] {
        if cg.contains(needle) {
            return Some(name.into());
        }
    }
    None
}

/// `v1`, `v2`, `hybrid` or `none`.
pub fn detect_cgroup_version(roots: &Roots) -> String {
    let v2 = roots.cgroup.join("cgroup.controllers").exists();
    let v1 = roots.cgroup.join("memory").is_dir() || roots.cgroup.join("cpuacct").is_dir();
    match (v1, v2) {
        (true, _) if roots.cgroup.join("unified").is_dir() => "hybrid".into(),
        (true, _) => "v1".into(),
        (false, true) => "v2".into(),
        _ => "none".into(),
    }
}

/// The configured speed of the installed DIMMs (MT/s) from `dmidecode --type 17` output:
/// the most common non-zero value.
pub fn parse_dmidecode_speed(text: &str) -> Option<u32> {
    let num = |v: &str| {
        v.split_whitespace()
            .next()?
            .parse::<u32>()
            .ok()
            .filter(|&n| n > 0)
    };
    let values = |prefixes: &[&str]| -> Vec<u32> {
        text.lines()
            .map(str::trim)
            .filter_map(|l| prefixes.iter().find_map(|p| l.strip_prefix(p)))
            .filter_map(num)
            .collect()
    };
    let mut speeds = values(&["Configured Memory Speed:", "Configured Clock Speed:"]);
    if speeds.is_empty() {
        speeds = values(&["Speed:"]);
    }
    let count = |s: u32| speeds.iter().filter(|&&x| x == s).count();
    speeds.iter().copied().max_by_key(|&s| (count(s), s))
}

/// DIMM speed through `dmidecode` (needs root and DMI tables); the speed, or why not.
pub fn dimm_speed() -> Result<u32, String> {
    let out = std::process::Command::new("dmidecode")
        .args(["--type", "17"])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                "dmidecode is not installed (apt-get install dmidecode)".to_string()
            }
            _ => format!("cannot run dmidecode: {e}"),
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "dmidecode failed: {}",
            err.lines().next().unwrap_or("no output").trim()
        ));
    }
    parse_dmidecode_speed(&text).ok_or_else(|| {
        "dmidecode reports no DIMM speed (no SMBIOS memory devices; usual in a virtual machine)"
            .into()
    })
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
    fn dimm_speed_prefers_configured() {
        let text = "Memory Device\n\tSpeed: 3200 MT/s\n\tConfigured Memory Speed: 2933 MT/s\n\
                    Memory Device\n\tSpeed: Unknown\n\
                    Memory Device\n\tSpeed: 3200 MT/s\n\tConfigured Memory Speed: 2933 MT/s\n";
        assert_eq!(parse_dmidecode_speed(text), Some(2933));
        assert_eq!(
            parse_dmidecode_speed("Memory Device\n\tSpeed: Unknown\n"),
            None
        );
    }

    #[test]
    fn signatures_name_the_hypervisor() {
        assert_eq!(hypervisor_from_signature("KVMKVMKVM"), "kvm");
        assert_eq!(hypervisor_from_signature("Microsoft Hv"), "hyperv");
        assert_eq!(hypervisor_from_signature("NewVisor"), "NewVisor");
    }
}
