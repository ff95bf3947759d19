//! NVML through the fake backend (no GPU on the machines these tests were written on),
//! plus the real backend's behaviour on a host without the NVIDIA library.

use std::time::Duration;
use zkprof::results::GpuInfo;
use zkprof::sensors::nvml::{FakeGpus, GpuSample, NvmlSensor};
use zkprof::sensors::{Sensor, Target};

fn one_gpu() -> Vec<GpuInfo> {
    vec![GpuInfo {
        index: 0,
        name: "Fake A100".into(),
        memory_bytes: 40 << 30,
        ..GpuInfo::default()
    }]
}

fn sample(power_w: u32, energy_mj: Option<u64>) -> GpuSample {
    GpuSample {
        power_mw: Some(power_w * 1000),
        energy_mj,
        util_gpu_pct: Some(90),
        util_mem_pct: Some(40),
        memory_used_bytes: Some(1 << 30),
        sm_clock_mhz: Some(1410),
        temperature_c: Some(60),
        throttle_bits: Some(0),
    }
}

fn value(r: &[zkprof::results::Reading], metric: &str) -> f64 {
    r.iter()
        .find(|x| x.metric == metric)
        .unwrap_or_else(|| panic!("no {metric}: {r:?}"))
        .value
}

#[test]
fn energy_comes_from_the_counter_delta() {
    let fake = FakeGpus::new(
        Ok(one_gpu()),
        vec![
            sample(100, Some(1_000)),
            sample(300, Some(2_000)),
            sample(300, Some(301_000)),
        ],
    );
    let mut s = NvmlSensor::with_backend(fake);
    assert!(s.status().available);
    s.start(&Target { pid: 1, pgid: 1 }).unwrap();
    let mut cols = Vec::new();
    s.sample(Duration::from_millis(500), &mut cols);
    let r = s.stop(Duration::from_secs(1));
    assert!((value(&r, "gpu0.energy") - 300.0).abs() < 1e-9, "{r:?}");
    assert!((value(&r, "gpu0.power.avg") - 300.0).abs() < 1e-9);
    assert!((value(&r, "gpu.energy.total") - 300.0).abs() < 1e-9);
    let note = r
        .iter()
        .find(|x| x.metric == "gpu0.energy")
        .unwrap()
        .note
        .clone()
        .unwrap();
    assert!(note.contains("energy counter"), "{note}");
    assert_eq!(value(&r, "gpu0.memory_used.max"), (1u64 << 30) as f64);
    let names: Vec<&str> = cols.iter().map(|c| c.0.as_str()).collect();
    assert!(
        names.contains(&"gpu0.power_w") && names.contains(&"gpu0.sm_clock_mhz"),
        "{names:?}"
    );
}

#[test]
fn without_a_counter_power_is_integrated_and_says_so() {
    let fake = FakeGpus::new(
        Ok(one_gpu()),
        vec![sample(100, None), sample(200, None), sample(200, None)],
    );
    let mut s = NvmlSensor::with_backend(fake);
    s.start(&Target { pid: 1, pgid: 1 }).unwrap();
    let mut cols = Vec::new();
    s.sample(Duration::from_secs(1), &mut cols);
    let r = s.stop(Duration::from_secs(2));
    // Trapezoids: (100+200)/2 * 1 s + (200+200)/2 * 1 s.
    assert!((value(&r, "gpu0.energy") - 350.0).abs() < 1e-9, "{r:?}");
    let note = r
        .iter()
        .find(|x| x.metric == "gpu0.energy")
        .unwrap()
        .note
        .clone()
        .unwrap();
    assert!(note.contains("integrated"), "{note}");
}

#[test]
fn throttling_is_reported_by_name() {
    let mut hot = sample(250, Some(10));
    hot.throttle_bits = Some(0x4 | 0x40);
    let fake = FakeGpus::new(Ok(one_gpu()), vec![sample(250, Some(0)), hot]);
    let mut s = NvmlSensor::with_backend(fake);
    s.start(&Target { pid: 1, pgid: 1 }).unwrap();
    let r = s.stop(Duration::from_secs(1));
    let t = r
        .iter()
        .find(|x| x.metric == "gpu0.throttled")
        .expect("throttled reading");
    assert_eq!(t.note.as_deref(), Some("hw_thermal_slowdown, sw_power_cap"));
}

#[test]
fn a_gpu_less_host_gives_a_reason() {
    let none = NvmlSensor::with_backend(FakeGpus::new(Ok(vec![]), vec![]));
    assert!(!none.status().available);
    assert_eq!(
        none.status().reason.as_deref(),
        Some("NVML found no NVIDIA GPU")
    );
    let mut no_lib = NvmlSensor::with_backend(FakeGpus::new(
        Err("no NVIDIA driver library".into()),
        vec![],
    ));
    assert!(!no_lib.status().available);
    assert!(no_lib.start(&Target { pid: 1, pgid: 1 }).is_err());
    assert!(no_lib.stop(Duration::from_secs(1)).is_empty());
}

#[test]
fn the_real_backend_never_fails_hard() {
    // On a host without libnvidia-ml this must be a reason; on a GPU host, available.
    let st = NvmlSensor::system().status();
    if !st.available {
        let why = st.reason.unwrap();
        assert!(why.contains("NVIDIA") || why.contains("NVML"), "{why}");
    }
}
