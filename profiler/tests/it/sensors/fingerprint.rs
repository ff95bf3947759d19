use crate::support::{copy_fixture, fixture, zkprof};
use zkprof::results::{GpuInfo, Host};
use zkprof::roots::Roots;
use zkprof::sensors::nvml::FakeGpus;

fn no_gpu() -> FakeGpus {
    FakeGpus::new(Err("no NVIDIA driver library (fake)".into()), vec![])
}

#[test]
fn virtual_machine_fixture_matches_expected_fields() {
    let h = zkprof::fingerprint::detect_with(&Roots::under(&fixture("host-epyc-vm")), &no_gpu());
    assert_eq!(h.cpu_vendor, "AuthenticAMD");
    assert_eq!(h.cpu_model, "AMD EPYC");
    assert_eq!(
        (h.cpu_family, h.cpu_model_number, h.cpu_stepping),
        (Some(26), Some(2), Some(1))
    );
    assert_eq!(h.microcode, "0x1000065");
    assert!(h.cpu_flags.values().all(|on| *on), "{:?}", h.cpu_flags);
    assert_eq!(h.cpu_flags.len(), 5);
    assert_eq!(
        (h.sockets, h.cores, h.logical_cpus, h.threads_per_core),
        (1, 2, 2, 1)
    );
    assert_eq!(h.smt, Some(false));
    assert_eq!(h.numa_nodes, 1);
    assert_eq!(h.caches.len(), 4);
    let l3 = h.caches.iter().find(|c| c.level == 3).unwrap();
    assert_eq!((l3.size_bytes, l3.shared_by), (32 << 20, 2));
    assert!(h.cpufreq.note.as_deref().unwrap().contains("no cpufreq"));
    assert_eq!(h.memory_bytes, 24_684_092 * 1024);
    assert_eq!(h.virtualization, "virtual machine (hypervisor cpu flag)");
    assert_eq!(h.kernel, "6.18.44-fc-v657");
    assert_eq!(h.os, "Debian GNU/Linux 12 (bookworm)");
    assert_eq!(h.hostname, "vm");
    assert_eq!(h.perf_event_paranoid, Some(2));
    assert_eq!(h.cgroup_version, "v1");
    assert!(h.rapl_domains.is_empty() && h.rapl_note.as_deref().unwrap().contains("powercap"));
    assert!(h.gpus.is_empty() && h.gpu_note.as_deref().unwrap().contains("NVIDIA"));
}

#[test]
fn bare_metal_fixture_matches_expected_fields() {
    let gpus = FakeGpus::new(
        Ok(vec![GpuInfo {
            index: 0,
            name: "NVIDIA H100 80GB HBM3".into(),
            uuid: "GPU-0000".into(),
            memory_bytes: 80 << 30,
            power_limit_w: Some(700.0),
            ..GpuInfo::default()
        }]),
        vec![],
    );
    let h = zkprof::fingerprint::detect_with(&Roots::under(&fixture("host-xeon-2s")), &gpus);
    assert_eq!(h.cpu_model, "Intel(R) Xeon(R) Gold 6430");
    assert_eq!(
        (h.sockets, h.cores, h.logical_cpus, h.threads_per_core),
        (2, 4, 8, 2)
    );
    assert_eq!(h.smt, Some(true));
    assert_eq!(h.numa_nodes, 2);
    assert_eq!(h.virtualization, "bare metal");
    assert_eq!(h.cpufreq.driver.as_deref(), Some("intel_pstate"));
    assert_eq!(h.cpufreq.governor.as_deref(), Some("performance"));
    assert_eq!(h.cpufreq.boost, Some(true));
    assert_eq!(h.cpufreq.max_mhz, Some(3400.0));
    assert_eq!(h.cgroup_version, "v2");
    assert_eq!(
        h.rapl_domains,
        vec!["package-0", "package-0.dram", "package-1", "package-1.dram"]
    );
    assert_eq!(h.gpus.len(), 1);
    assert_eq!(h.gpus[0].power_limit_w, Some(700.0));
    assert!(h.gpu_note.is_none());
    assert!(h.one_line().contains("H100"));
}

#[test]
fn fingerprint_id_is_stable_and_follows_the_cpu_model() {
    let dir = copy_fixture("host-epyc-vm");
    let roots = Roots::under(dir.path());
    let a = zkprof::fingerprint::detect_with(&roots, &no_gpu());
    let b = zkprof::fingerprint::detect_with(&roots, &no_gpu());
    assert_eq!(a.fingerprint_id, b.fingerprint_id);
    assert_eq!(a.fingerprint_id.len(), 16);
    // Software changes leave it alone.
    std::fs::write(dir.path().join("proc/sys/kernel/osrelease"), "6.19.0\n").unwrap();
    std::fs::write(dir.path().join("proc/sys/kernel/hostname"), "other\n").unwrap();
    let c = zkprof::fingerprint::detect_with(&roots, &no_gpu());
    assert_eq!(a.fingerprint_id, c.fingerprint_id);
    assert_ne!(a.kernel, c.kernel);
    // Another CPU model changes it.
    let cpuinfo = std::fs::read_to_string(dir.path().join("proc/cpuinfo")).unwrap();
    std::fs::write(
        dir.path().join("proc/cpuinfo"),
        cpuinfo.replace("AMD EPYC", "AMD EPYC 9654"),
    )
    .unwrap();
    let d = zkprof::fingerprint::detect_with(&roots, &no_gpu());
    assert_eq!(d.cpu_model, "AMD EPYC 9654");
    assert_ne!(a.fingerprint_id, d.fingerprint_id);
}

#[test]
fn fingerprint_command_reads_the_roots_it_is_given() {
    let root = fixture("host-xeon-2s");
    let out = zkprof()
        .args(["fingerprint", "--json"])
        .env("ZKPROF_PROC_ROOT", root.join("proc"))
        .env("ZKPROF_SYS_ROOT", root.join("sys"))
        .env("ZKPROF_CGROUP_ROOT", root.join("sys/fs/cgroup"))
        .env("ZKPROF_ETC_ROOT", root.join("etc"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let h: Host = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(h.cpu_model, "Intel(R) Xeon(R) Gold 6430");
    assert_eq!(h.os, "Ubuntu 24.04.1 LTS");
    assert_eq!(h.rapl_domains.len(), 4);
}

#[test]
fn fingerprint_of_this_host_names_cpu_memory_and_virtualization() {
    let out = zkprof().args(["fingerprint", "--json"]).output().unwrap();
    assert!(out.status.success());
    let h: Host = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!h.cpu_model.is_empty());
    assert!(h.memory_bytes > 0 && h.logical_cpus > 0);
    assert!(
        h.virtualization.starts_with("virtual machine") || h.virtualization == "bare metal",
        "{}",
        h.virtualization
    );
    let text = zkprof().arg("fingerprint").output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(&h.fingerprint_id) && text.contains(&h.cpu_model),
        "{text}"
    );
}
