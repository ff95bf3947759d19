//! Energy metrics end to end: a suite whose prove step moves a fixture RAPL counter.

use crate::support::{copy_fixture, zkprof};

#[test]
fn run_records_energy_per_step_and_proofs_per_kj() {
    let sys = copy_fixture("sys-rapl-wrap");
    let work = tempfile::tempdir().unwrap();
    let counter = sys.path().join("sys/class/powercap/intel-rapl:0/energy_uj");
    // package-0 starts at 262_143_000_000 µJ; the step adds 2 J across the wrap point.
    let suite = format!(
        r#"
[suite]
name = "energy"
repetitions = 1

[[model]]
name = "none"

[[framework]]
name = "fake"
kind = "command"
steps = {{ setup = ["true"], prove = ["sh", "-c", "sleep 0.05; echo 1671150 > '{}'; sleep 0.05"] }}
"#,
        counter.display()
    );
    let suite_path = work.path().join("suite.toml");
    std::fs::write(&suite_path, suite).unwrap();
    let out_dir = work.path().join("out");
    let out = zkprof()
        .args(["run", "--json", "-o"])
        .arg(&out_dir)
        .arg(&suite_path)
        .env("ZKPROF_SYS_ROOT", sys.path().join("sys"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let m = &v["cells"][0]["metrics"];
    let pkg = m["prove.energy_j.rapl.package-0"]
        .as_f64()
        .unwrap_or_else(|| panic!("{m}"));
    assert!((pkg - 2.0).abs() < 1e-6, "{m}");
    assert!(
        (m["prove.energy_j"].as_f64().unwrap() - 2.0).abs() < 1e-6,
        "{m}"
    );
    assert!(
        (m["proofs_per_kj"].as_f64().unwrap() - 500.0).abs() < 1e-3,
        "{m}"
    );
    let wall = v["cells"][0]["repetitions"][0]["steps"][1]["wall_s"]
        .as_f64()
        .unwrap();
    assert!(
        (m["prove.power_w"].as_f64().unwrap() - 2.0 / wall).abs() < 1e-6,
        "{m}"
    );
    // The setup step used no energy, and says so with a measured zero.
    assert_eq!(m["setup.energy_j"].as_f64(), Some(0.0));
    assert_eq!(v["host"]["rapl_domains"][0], "package-0");
}
