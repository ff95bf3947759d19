use crate::support::{fixture, zkprof};
use zkprof::roots::Roots;
use zkprof::score::calibration::calibrate;

#[test]
fn calibration_measures_both_fields_and_says_power_is_unmeasured() {
    let dir = tempfile::tempdir().unwrap();
    // No powercap below this sys root.
    let roots = Roots {
        sys: dir.path().to_path_buf(),
        ..Roots::default()
    };
    let s = calibrate(&roots, 0.2, Some(1));
    let fields: Vec<&str> = s.fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, vec!["bn254-fr", "bls12-381-fr"]);
    for f in &s.fields {
        assert!(f.ops > 0 && f.mmops > 0.0, "{f:?}");
        assert!(f.seconds >= 0.2);
        assert!(
            (f.mmops - f.ops as f64 / f.seconds / 1e6).abs() / f.mmops < 0.2,
            "{f:?}"
        );
        assert!(f.power_w.is_none() && f.mmops_per_w.is_none());
    }
    assert!(!s.power.measured);
    assert!(s.power.reason.as_deref().unwrap().contains("powercap"));
}

#[test]
fn calibration_uses_rapl_where_it_exists() {
    // The fixture's counters do not move, so power is measured as 0 W: no MMOPS/W is made up.
    let roots = Roots {
        sys: fixture("sys-rapl-wrap/sys"),
        ..Roots::default()
    };
    let s = calibrate(&roots, 0.1, Some(1));
    assert!(s.power.measured);
    assert_eq!(s.power.sensors, vec!["rapl (package-0 + package-0.dram)"]);
    for f in &s.fields {
        assert_eq!(f.power_w, Some(0.0));
        assert!(f.mmops_per_w.is_none());
    }
}

#[test]
fn zkscore_command_prints_mmops_and_unmeasured_power() {
    let dir = tempfile::tempdir().unwrap();
    let out = zkprof()
        .args(["zkscore", "--seconds", "0.2", "--threads", "1"])
        .env("ZKPROF_SYS_ROOT", dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("bn254-fr") && text.contains("bls12-381-fr") && text.contains("MMOPS"),
        "{text}"
    );
    assert!(text.contains("power: unmeasured (no "), "{text}");
    let bad = zkprof()
        .args(["zkscore", "--seconds", "-1"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn zkscore_json_has_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let out = zkprof()
        .args(["zkscore", "--seconds", "0.1", "--threads", "1", "--json"])
        .env("ZKPROF_SYS_ROOT", dir.path())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema"], "zkprof/zkscore/v1");
    assert_eq!(v["fields"].as_array().unwrap().len(), 2);
    assert_eq!(v["power"]["measured"], false);
    assert!(v["host"]["cpu_model"].is_string());
}
