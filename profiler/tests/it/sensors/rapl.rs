use crate::support::{copy_fixture, fixture};
use std::time::Duration;
use zkprof::roots::Roots;
use zkprof::sensors::rapl::{discover, RaplSensor};
use zkprof::sensors::{Sensor, Target};

const MAX_PKG: u64 = 262_143_328_850;
const MAX_DRAM: u64 = 65_712_999_613;

fn set(root: &std::path::Path, zone: &str, uj: u64) {
    let p = root.join("sys/class/powercap").join(zone).join("energy_uj");
    std::fs::write(p, format!("{uj}\n")).unwrap();
}

fn reading(readings: &[zkprof::results::Reading], metric: &str) -> f64 {
    readings
        .iter()
        .find(|r| r.metric == metric)
        .unwrap_or_else(|| panic!("no {metric} in {readings:?}"))
        .value
}

#[test]
fn domains_are_labelled_and_nested_ones_stay_out_of_the_total() {
    let d = discover(&fixture("sys-rapl-wrap/sys")).unwrap();
    let labels: Vec<(&str, bool)> = d.iter().map(|d| (d.label.as_str(), d.in_total)).collect();
    assert_eq!(
        labels,
        vec![
            ("package-0", true),
            ("package-0.core", false),
            ("package-0.dram", true),
            ("psys", false)
        ]
    );
}

#[test]
fn wrap_mid_run_gives_the_right_joules() {
    let dir = copy_fixture("sys-rapl-wrap");
    let root = dir.path();
    let mut s = RaplSensor::new(&Roots::under(root));
    assert!(s.status().available, "{:?}", s.status());
    s.start(&Target { pid: 1, pgid: 1 }).unwrap();
    let mut cols = Vec::new();
    // package-0 starts at 262_143_000_000 µJ, 328_850 µJ below its wrap point.
    set(root, "intel-rapl:0", 262_143_300_000);
    set(root, "intel-rapl:0:0", 100_200_000);
    set(root, "intel-rapl:0:1", 5_100_000);
    s.sample(Duration::from_millis(10), &mut cols);
    set(root, "intel-rapl:0", 400_000); // wrapped
    set(root, "intel-rapl:0:1", MAX_DRAM - 10); // dram close to its own wrap
    s.sample(Duration::from_millis(20), &mut cols);
    set(root, "intel-rapl:0", 2_400_000);
    set(root, "intel-rapl:0:1", 90); // dram wrapped too
    set(root, "intel-rapl:1", 950_000_000);
    let r = s.stop(Duration::from_millis(40));

    let pkg_uj = (262_143_300_000 - 262_143_000_000)
        + (MAX_PKG - 262_143_300_000 + 400_000)
        + (2_400_000 - 400_000);
    let dram_uj = (5_100_000 - 5_000_000) + (MAX_DRAM - 10 - 5_100_000) + (10 + 90);
    let pkg_j = pkg_uj as f64 / 1e6;
    let dram_j = dram_uj as f64 / 1e6;
    assert!(
        (reading(&r, "energy.package-0") - pkg_j).abs() < 1e-9,
        "{r:?}"
    );
    assert!((pkg_j - 2.72885).abs() < 1e-9);
    assert!((reading(&r, "energy.package-0.dram") - dram_j).abs() < 1e-9);
    assert!((reading(&r, "energy.package-0.core") - 0.2).abs() < 1e-9);
    assert!((reading(&r, "energy.psys") - 50.0).abs() < 1e-9);
    // Total: package + dram; core is inside the package, psys covers everything.
    let total = reading(&r, "energy.total");
    assert!((total - (pkg_j + dram_j)).abs() < 1e-9, "{total}");
    assert!((reading(&r, "power.avg") - total / 0.040).abs() < 1e-6);
    assert!(r
        .iter()
        .all(|x| x.note.as_deref().unwrap_or("").contains("whole host")));
    // A power column for the series: ticks at 10 and 20 ms, the second after the wrap.
    assert_eq!(cols.len(), 1);
    assert_eq!(cols[0].0, "cpu.power_w");
}

#[test]
fn missing_powercap_gives_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let s = RaplSensor::new(&Roots::under(dir.path()));
    let st = s.status();
    assert!(!st.available);
    let why = st.reason.unwrap();
    assert!(
        why.contains("class/powercap") && why.contains("no RAPL"),
        "{why}"
    );
}

#[test]
fn powercap_without_rapl_zones_says_which_driver() {
    let st = RaplSensor::new(&Roots::under(&fixture("sys-powercap-empty"))).status();
    assert!(!st.available);
    assert!(st.reason.unwrap().contains("intel_rapl_msr"));
}

#[test]
fn unreadable_energy_uj_gives_the_reason() {
    let st = RaplSensor::new(&Roots::under(&fixture("sys-rapl-unreadable"))).status();
    assert!(!st.available);
    let why = st.reason.unwrap();
    assert!(
        why.contains("intel-rapl:0/energy_uj") && why.starts_with("cannot read"),
        "{why}"
    );
}

#[test]
fn permission_denied_energy_uj_gives_the_fix() {
    // Root reads any file whatever its mode, so only a non-root run can provoke EACCES;
    // as root the message itself is covered by the unit test in sensors/rapl.rs.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = copy_fixture("sys-rapl-wrap");
    let p = dir.path().join("sys/class/powercap/intel-rapl:0/energy_uj");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
    let why = RaplSensor::new(&Roots::under(dir.path()))
        .status()
        .reason
        .unwrap();
    assert!(
        why.contains("permission denied") && why.contains("chmod o+r"),
        "{why}"
    );
}

#[test]
fn reads_too_far_apart_for_a_safe_wrap_are_flagged() {
    let dir = copy_fixture("sys-rapl-wrap");
    let mut s = RaplSensor::new(&Roots::under(dir.path()));
    s.start(&Target { pid: 1, pgid: 1 }).unwrap();
    // dram wraps at 65.7 kJ: at up to 1 kW that is 65.7 s; package wraps at 262 kJ (262 s).
    let r = s.stop(Duration::from_secs(100));
    let note = |m: &str| {
        r.iter()
            .find(|x| x.metric == m)
            .unwrap()
            .note
            .clone()
            .unwrap()
    };
    assert!(
        note("energy.package-0.dram").contains("reads were up to 100.0 s apart"),
        "{r:?}"
    );
    assert!(!note("energy.package-0").contains("apart"), "{r:?}");
}
