//! The ZK-Score calibration: modular multiplication throughput of this host on the
//! BN254 and BLS12-381 scalar fields (arkworks, Montgomery form), on every core, in
//! million operations per second (MMOPS), and MMOPS per watt where CPU power is measured
//! (RAPL), in the style of Ingonyama's ZK Score.
//!
//! Each thread runs four independent multiplication chains (so the number is throughput,
//! not the latency of one dependent chain) in batches, until the main thread says stop;
//! its rate is its own operations over its own elapsed time, and the host's rate is the
//! sum over threads. Power is the RAPL total over the same interval; RAPL covers the
//! whole host, so run it on an otherwise idle machine.

use crate::roots::Roots;
use crate::sensors::rapl::RaplSensor;
use crate::sensors::{Sensor, Target};
use ark_ff::Field;
use serde::{Deserialize, Serialize};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The schema string of `zkprof zkscore --json`.
pub const ZKSCORE_SCHEMA: &str = "zkprof/zkscore/v1";

/// The result for one field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FieldScore {
    /// `bn254-fr` or `bls12-381-fr`.
    pub field: String,
    pub threads: u32,
    /// Multiplications done, all threads.
    pub ops: u64,
    /// Wall time of the run, seconds.
    pub seconds: f64,
    /// Million modular multiplications per second, all threads.
    pub mmops: f64,
    /// Average CPU power over the run, watts (measured only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_w: Option<f64>,
    /// `mmops / power_w` (measured only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mmops_per_w: Option<f64>,
}

/// How power was measured, or why it was not.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PowerSource {
    pub measured: bool,
    /// Sensors used (`rapl`) and their domains.
    pub sensors: Vec<String>,
    /// Why power is unmeasured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The whole calibration, as `zkprof zkscore --json` prints it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ZkScore {
    pub schema: String,
    pub zkprof_version: String,
    /// `release` or `debug` (a debug build is far slower; its numbers are not comparable).
    pub build: String,
    pub fields: Vec<FieldScore>,
    pub power: PowerSource,
    pub host: crate::results::Host,
}

/// Multiplies four independent chains by `b` until `stop`; returns (multiplications, seconds).
fn worker<F: Field>(seed: u64, stop: &AtomicBool) -> (u64, f64) {
    let b = F::from(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
        .square()
        .square();
    let mut acc = [
        F::from(seed + 3),
        F::from(seed + 5),
        F::from(seed + 7),
        F::from(seed + 11),
    ];
    const BATCH: u64 = 256;
    let started = Instant::now();
    let mut ops = 0u64;
    while !stop.load(Ordering::Relaxed) {
        for _ in 0..BATCH {
            for a in acc.iter_mut() {
                *a *= b;
            }
        }
        ops += BATCH * acc.len() as u64;
        acc = black_box(acc);
    }
    black_box(acc);
    (ops, started.elapsed().as_secs_f64())
}

/// Runs `threads` workers on field `F` for `duration`, sampling `rapl` every 10 ms when given.
fn run_field<F: Field>(
    name: &str,
    threads: u32,
    duration: Duration,
    rapl: Option<&mut RaplSensor>,
) -> FieldScore {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let stop = stop.clone();
            std::thread::spawn(move || worker::<F>(u64::from(i) + 1, &stop))
        })
        .collect();
    let target = Target {
        pid: std::process::id() as i32,
        pgid: 0,
    };
    let mut rapl = rapl.and_then(|r| r.start(&target).is_ok().then_some(r));
    let mut columns = Vec::new();
    while started.elapsed() < duration {
        std::thread::sleep(
            Duration::from_millis(10).min(duration.saturating_sub(started.elapsed())),
        );
        if let Some(r) = rapl.as_mut() {
            r.sample(started.elapsed(), &mut columns);
            columns.clear();
        }
    }
    stop.store(true, Ordering::Relaxed);
    let results: Vec<(u64, f64)> = handles.into_iter().filter_map(|h| h.join().ok()).collect();
    let seconds = started.elapsed().as_secs_f64();
    let power_w = rapl
        .map(|r| r.stop(started.elapsed()))
        .and_then(|readings| {
            readings
                .iter()
                .find(|r| r.metric == "energy.total")
                .map(|r| r.value / seconds)
        });
    let ops = results.iter().map(|(o, _)| o).sum();
    let mmops = results
        .iter()
        .filter(|(_, s)| *s > 0.0)
        .map(|(o, s)| *o as f64 / s)
        .sum::<f64>()
        / 1e6;
    FieldScore {
        field: name.into(),
        threads,
        ops,
        seconds,
        mmops,
        power_w,
        mmops_per_w: power_w.filter(|w| *w > 0.0).map(|w| mmops / w),
    }
}

/// Runs the calibration: `seconds` per field on `threads` threads (all logical CPUs when `None`).
pub fn calibrate(roots: &Roots, seconds: f64, threads: Option<u32>) -> ZkScore {
    let threads = threads
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get() as u32)
                .unwrap_or(1)
        })
        .max(1);
    let duration = Duration::from_secs_f64(seconds.max(0.0));
    let mut rapl = RaplSensor::new(roots);
    let status = rapl.status();
    let power = if status.available {
        let domains: Vec<&str> = rapl
            .domains()
            .iter()
            .filter(|d| d.in_total)
            .map(|d| d.label.as_str())
            .collect();
        PowerSource {
            measured: true,
            sensors: vec![format!("rapl ({})", domains.join(" + "))],
            reason: None,
        }
    } else {
        PowerSource {
            measured: false,
            sensors: Vec::new(),
            reason: status.reason.clone(),
        }
    };
    let mut rapl_opt = status.available.then_some(&mut rapl);
    let bn = run_field::<ark_bn254::Fr>("bn254-fr", threads, duration, rapl_opt.as_deref_mut());
    let bls = run_field::<ark_bls12_381::Fr>("bls12-381-fr", threads, duration, rapl_opt);
    ZkScore {
        schema: ZKSCORE_SCHEMA.into(),
        zkprof_version: env!("CARGO_PKG_VERSION").into(),
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
        .into(),
        fields: vec![bn, bls],
        power,
        host: crate::fingerprint::detect(roots),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_counts_whole_batches() {
        // A loaded machine may start the thread late: retry until it has done some work.
        for _ in 0..20 {
            let stop = Arc::new(AtomicBool::new(false));
            let s2 = stop.clone();
            let t = Instant::now();
            let h = std::thread::spawn(move || worker::<ark_bn254::Fr>(1, &s2));
            std::thread::sleep(Duration::from_millis(50));
            stop.store(true, Ordering::Relaxed);
            let (ops, secs) = h.join().unwrap();
            let outer = t.elapsed().as_secs_f64();
            assert!(ops % 1024 == 0, "{ops} is not whole batches");
            assert!(
                secs <= outer,
                "worker time {secs} exceeds the wall time around it {outer}"
            );
            if ops > 0 {
                assert!(secs > 0.0);
                return;
            }
        }
        panic!("the worker never completed a batch");
    }
}
