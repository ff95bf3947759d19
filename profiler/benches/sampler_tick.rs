//! CPU time per sampler tick with all sensors (target: at most 50 µs).
//!
//! `cargo bench -p zkprof --bench sampler_tick` prints:
//! 1. whole ticks of the real runner: steps of `sleep` and of a small process tree,
//!    sampled every 10 ms, alternately with no extra sensor (the runner's own /proc and
//!    cgroup reads) and with every sensor this host can attach; per run the sampler
//!    thread's CPU time over its ticks, and the median over runs of each;
//! 2. the same with RAPL read from a fixture powercap tree (4 domains), so the figure
//!    includes RAPL on hosts that lack it;
//! 3. `Sensor::sample` alone for each sampling sensor (RAPL on the fixture, NVML on the
//!    fake backend, which measures zkprof's own work, not the driver's), median over
//!    single calls.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;
use zkprof::measure::{Runner, RunnerConfig, StepSpec};
use zkprof::results::GpuInfo;
use zkprof::roots::Roots;
use zkprof::sensors::nvml::{FakeGpus, GpuSample, NvmlSensor};
use zkprof::sensors::rapl::RaplSensor;
use zkprof::sensors::{Sensor, Target};

/// Runs per variant (`ZKPROF_BENCH_RUNS`, default 7).
fn runs() -> usize {
    std::env::var("ZKPROF_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7)
}

fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Runs `argv` RUNS times with the runner alone and RUNS times with every sensor
/// attachable under `roots`, alternating, and prints the median CPU time per tick of each.
fn whole_ticks(label: &str, roots: &Roots, argv: &[&str]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let runner = Runner::new(
        RunnerConfig {
            roots: roots.clone(),
            sample_interval: Duration::from_millis(10),
            ..RunnerConfig::default()
        },
        Arc::new(AtomicBool::new(false)),
    );
    let names: Vec<&'static str> = zkprof::sensors::attachable(roots)
        .iter()
        .map(|s| s.name())
        .collect();
    let (mut bare_us, mut full_us) = (Vec::new(), Vec::new());
    for i in 0..2 * runs() {
        let full = i % 2 == 1;
        let spec = StepSpec {
            name: "bench".into(),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            log_dir: dir.path().to_path_buf(),
            log_stem: format!("run-{i}"),
            ..StepSpec::default()
        };
        let sensors = if full {
            zkprof::sensors::attachable(roots)
        } else {
            Vec::new()
        };
        let run = runner.run(&spec, sensors).expect("run");
        let us = run.sampler_cpu_s / run.sampler_ticks.max(1) as f64 * 1e6;
        if full {
            full_us.push(us);
        } else {
            bare_us.push(us);
        }
    }
    let (bare, full) = (median(&mut bare_us), median(&mut full_us));
    println!(
        "{label:40} all sensors {full:6.1} µs/tick, runner alone {bare:6.1} µs/tick, sensors' share {:5.1} µs  (median of {} runs each; memory via {}; sensors: {})",
        full - bare,
        runs(),
        runner.cgroup_note().map(|_| "/proc").unwrap_or("cgroup"),
        names.join(", ")
    );
}

/// Calls `sample` 5000 times, `step` apart in the sensor's time.
fn single_calls(label: &str, sensor: &mut dyn Sensor, step: Duration) {
    sensor
        .start(&Target {
            pid: std::process::id() as i32,
            pgid: 0,
        })
        .expect("start");
    let mut cols = Vec::new();
    let mut us = Vec::with_capacity(5000);
    for i in 0..5000u64 {
        let t0 = thread_cpu_ns();
        sensor.sample(step * (i as u32 + 1), &mut cols);
        us.push((thread_cpu_ns() - t0) as f64 / 1e3);
        cols.clear();
    }
    sensor.stop(Duration::from_secs(50));
    println!(
        "{label:44} median {:7.1} µs/call (5000 calls)",
        median(&mut us)
    );
}

fn main() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let host = Roots::from_env();
    println!("sampler tick cost, 10 ms interval (target: <= 50 µs of CPU per tick)");
    if std::env::var_os("ZKPROF_BENCH_QUICK").is_some() {
        whole_ticks("sleep 1, this host's sensors", &host, &["sleep", "1"]);
        return;
    }
    whole_ticks("sleep 1, this host's sensors", &host, &["sleep", "1"]);
    whole_ticks(
        "tree of 9 processes, this host's sensors",
        &host,
        &[
            "sh",
            "-c",
            "for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait",
        ],
    );
    let mut with_rapl = host.clone();
    with_rapl.sys = fixtures.join("sys-rapl-wrap/sys");
    whole_ticks(
        "sleep 1, + RAPL (fixture, 4 domains)",
        &with_rapl,
        &["sleep", "1"],
    );
    whole_ticks(
        "tree of 9 processes, + RAPL (fixture)",
        &with_rapl,
        &[
            "sh",
            "-c",
            "for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait",
        ],
    );

    single_calls(
        "RaplSensor::sample (fixture, 4 domains)",
        &mut RaplSensor::new(&Roots::under(&fixtures.join("sys-rapl-wrap"))),
        Duration::from_millis(10),
    );
    let gpus = vec![GpuInfo {
        index: 0,
        name: "fake".into(),
        ..GpuInfo::default()
    }];
    let sample = GpuSample {
        power_mw: Some(250_000),
        energy_mj: Some(1),
        util_gpu_pct: Some(50),
        ..GpuSample::default()
    };
    let mut nvml = NvmlSensor::with_backend(FakeGpus::new(Ok(gpus), vec![sample]));
    // NVML reads at most every nvml::MIN_PERIOD; each call here is a real read.
    single_calls(
        "NvmlSensor::sample (fake backend, 1 GPU)",
        &mut nvml,
        zkprof::sensors::nvml::MIN_PERIOD,
    );
    println!("(perf counters are not read per tick: they are read once, in stop)");
}
