//! The four results files the HTML report is checked on in Chromium, made from the real
//! run fixtures (`a.json`, `b.json`):
//! - `quickstart`: one model (196-16-10, 3322 parameters) through EZKL and circom, as the
//!   quickstart records it on a virtual machine: RAPL and NVML unavailable, EZKL's accuracy
//!   computed on synthetic inputs, circom's cell failed (the failing run of the fixture);
//! - `sweep`: three models through EZKL (two settings) and circom, every cell ok;
//! - `two_hosts`: the sweep measured on two machines, merged into one results file;
//! - `failures`: failed, unsupported and interrupted cells beside successful ones, with a
//!   hostile framework name and stderr.

use super::load;
use zkprof::report::Loaded;
use zkprof::results::CellStatus;
use zkprof::results::SensorStatus;

fn rapl_nvml_down(l: &mut Loaded) {
    l.results.sensors.push(SensorStatus::unavailable(
        "rapl",
        "no /sys/class/powercap (the kernel exposes no RAPL here: a virtual machine, or the intel_rapl_common driver is not loaded)",
    ));
    l.results.sensors.push(SensorStatus::unavailable(
        "nvml",
        "libnvidia-ml.so.1 not found (no NVIDIA driver)",
    ));
}

/// One model, EZKL ok on synthetic inputs, circom failed.
pub fn quickstart() -> Vec<Loaded> {
    let mut a = load("a.json");
    a.label = "quickstart/results.json".into();
    a.results.suite.name = "quickstart".into();
    let crash = a
        .results
        .cells
        .iter()
        .find(|c| c.framework == "crashy")
        .cloned()
        .expect("a failed cell");
    a.results.cells.retain(|c| {
        c.model == "mnist-196_25_10"
            && (c.id.contains("calibration_target=resources") || c.framework == "circom")
    });
    for c in &mut a.results.cells {
        c.model = "mnist-196-16-10".into();
        c.metrics.insert("params".into(), 3322.0);
        c.settings.clear();
        if c.framework == "ezkl" {
            c.id = "mnist-196-16-10/ezkl/default/native".into();
            c.metrics.insert("accuracy_loss_pct".into(), 0.0);
            c.metrics.insert("accuracy_samples".into(), 100.0);
            c.info.insert(
                "accuracy_inputs".into(),
                "synthetic (uniform [0,1), seed 7)".into(),
            );
        } else {
            let id = "mnist-196-16-10/circom/default/native".to_string();
            *c = zkprof::results::CellResult {
                id,
                model: c.model.clone(),
                framework: "circom".into(),
                ..crash.clone()
            };
            c.metrics.insert("params".into(), 3322.0);
        }
    }
    rapl_nvml_down(&mut a);
    vec![a]
}

/// Three models, every cell ok.
pub fn sweep() -> Vec<Loaded> {
    let mut a = load("a.json");
    a.label = "sweep/results.json".into();
    a.results
        .cells
        .retain(|c| c.framework == "ezkl" || c.framework == "circom");
    rapl_nvml_down(&mut a);
    vec![a]
}

/// The sweep on two hosts, merged into one file (as `zkprof merge` writes it).
pub fn two_hosts() -> Vec<Loaded> {
    let mut a = sweep().remove(0);
    a.label = "merged/results.json".into();
    let mut b = load("b.json");
    let mut other = b.results.host.clone();
    other.hostname = "lab-epyc-2".into();
    other.cpu_model = "AMD EPYC 9654 96-Core Processor".into();
    other.logical_cpus = 8;
    other.memory_bytes = 64 << 30;
    other.fingerprint_id = other.compute_id();
    b.results
        .cells
        .retain(|c| c.framework == "ezkl" || c.framework == "circom");
    for c in &mut b.results.cells {
        c.host_id = other.fingerprint_id.clone();
    }
    a.results.cells.extend(b.results.cells);
    a.results
        .other_hosts
        .insert(other.fingerprint_id.clone(), other);
    vec![a]
}

/// Failed, unsupported and interrupted cells beside ok ones.
pub fn failures() -> Vec<Loaded> {
    let mut a = load("a.json");
    a.label = "failures/results.json".into();
    for c in a.results.cells.iter_mut() {
        if c.framework == "circom" && c.model == "mnist-784_56_10" {
            c.status = CellStatus::Unsupported;
            c.reason = Some("unsupported: circom has no circuit for operator Softmax".into());
            c.summary.clear();
            c.repetitions.clear();
            c.metrics.retain(|k, _| k == "params" || k == "layers");
        }
        if c.framework == "ezkl" && c.id.contains("accuracy") && c.model == "mnist-196_24_14_10" {
            c.status = CellStatus::Interrupted;
            c.reason = Some("prove: interrupted".into());
            c.summary.clear();
        }
    }
    rapl_nvml_down(&mut a);
    vec![a]
}

/// Every case by name.
pub fn all() -> Vec<(&'static str, Vec<Loaded>)> {
    vec![
        ("quickstart", quickstart()),
        ("sweep", sweep()),
        ("two-hosts", two_hosts()),
        ("failures", failures()),
    ]
}
