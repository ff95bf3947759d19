//! perf counters on this host's real kernel.

use crate::support::{in_ci, zkprof};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use zkprof::measure::{Runner, RunnerConfig, StepSpec};
use zkprof::sensors::perf::{CounterKind, PerfSensor};
use zkprof::sensors::Sensor;

/// A shell loop that burns about 0.2 s of CPU in dash or bash.
const BURN: &str = "i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done";

fn software_or_skip() -> bool {
    let st = PerfSensor::new(CounterKind::Software).status();
    if st.available {
        return true;
    }
    let why = st.reason.unwrap_or_default();
    assert!(!in_ci(), "perf software counters are required in CI: {why}");
    eprintln!("skipping: perf software counters unavailable here: {why}");
    false
}

#[test]
fn software_counters_cover_children_forked_at_once() {
    if !software_or_skip() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let runner = Runner::new(RunnerConfig::default(), Arc::new(AtomicBool::new(false)));
    // The child forks two busy children immediately, before any attach after spawn could happen.
    let script = format!("({BURN}) & ({BURN}) & wait");
    let spec = StepSpec {
        name: "exec".into(),
        argv: vec!["sh".into(), "-c".into(), script],
        log_dir: dir.path().to_path_buf(),
        log_stem: "perf".into(),
        ..StepSpec::default()
    };
    let sensors: Vec<Box<dyn Sensor>> = vec![Box::new(PerfSensor::new(CounterKind::Software))];
    let run = runner.run(&spec, sensors).unwrap();
    assert!(run.succeeded(), "{run:?}");
    let task_clock = run
        .readings
        .iter()
        .find(|r| r.sensor == "perf-sw" && r.metric == "task-clock")
        .unwrap_or_else(|| panic!("no task-clock: {:?} note {:?}", run.readings, run.note));
    let cpu = run.user_s + run.sys_s;
    assert!(cpu > 0.1, "the busy loops used {cpu} s");
    // Counted from exec on, over the whole tree: close to the tree's CPU time.
    let ratio = task_clock.value / cpu;
    assert!(
        (0.7..1.5).contains(&ratio),
        "task-clock {} s vs tree CPU {cpu} s",
        task_clock.value
    );
    assert!(task_clock
        .note
        .as_deref()
        .unwrap()
        .contains("whole tree from exec"));
    assert!(run
        .readings
        .iter()
        .any(|r| r.metric == "page-faults" && r.value > 0.0));
}

#[test]
fn hardware_counters_work_or_name_the_kernel_error() {
    let st = PerfSensor::new(CounterKind::Hardware).status();
    if st.available {
        assert!(st.reason.unwrap().contains("cycles"));
    } else {
        let why = st.reason.unwrap();
        assert!(why.starts_with("hardware counters "), "{why}");
        assert!(
            why.contains("perf_event_open(cycles) failed: ") && why.contains("os error"),
            "{why}"
        );
    }
}

#[test]
fn exec_json_shows_counters_and_every_sensor() {
    if !software_or_skip() {
        return;
    }
    let out = zkprof()
        .args([
            "exec",
            "-n",
            "1",
            "--json",
            "--no-series",
            "--",
            "sh",
            "-c",
            BURN,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let readings = v["runs"][0]["readings"].as_array().unwrap();
    let tc = readings
        .iter()
        .find(|r| r["metric"] == "task-clock")
        .expect("task-clock reading");
    assert!(tc["value"].as_f64().unwrap() > 0.05, "{tc}");
    let sensors = v["sensors"].as_array().unwrap();
    for name in ["perf-sw", "perf-hw", "rapl", "nvml"] {
        let s = sensors
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        if s["available"] == false {
            assert!(!s["reason"].as_str().unwrap_or("").is_empty(), "{s}");
        }
    }
    let hw = sensors.iter().find(|s| s["name"] == "perf-hw").unwrap();
    if hw["available"] == false {
        // Unavailable hardware counters leave no readings, never zeros.
        assert!(!readings.iter().any(|r| r["sensor"] == "perf-hw"));
    }
    assert!(!v["host"]["cpu_model"].as_str().unwrap().is_empty());
    assert!(!v["host"]["fingerprint_id"].as_str().unwrap().is_empty());
}

#[test]
fn doctor_lists_every_sensor() {
    let out = zkprof().args(["doctor", "--json"]).output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v["sensors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    for name in ["proc", "cgroup", "perf-sw", "perf-hw", "rapl", "nvml"] {
        assert!(names.contains(&name), "{name} not in {names:?}");
    }
}
