//! Native powers of tau against snarkjs: the wall time of `zkprof ptau` (the library's
//! generator, all cores) at powers 14, 16 and 18, and, side by side at power 14, snarkjs's
//! own route to a phase-2-prepared file (`powersoftau new` + `prepare phase2`), with the
//! ratio. Target: native at least 50x faster at power 14.
//!
//!   cargo bench -p zkprof --bench ptau
//!
//! Environment: `ZKPROF_BENCH_POWERS` (default `14,16,18`), `ZKPROF_BENCH_REPS` (native
//! repetitions per power, default 3; medians printed), `ZKPROF_BENCH_SNARKJS_REPS` (snarkjs
//! runs at power 14, default 1: each takes minutes; 0 skips it). snarkjs comes from the
//! pinned npm tree zkprof installs (node and npm needed; `.ci/install-frameworks.sh`).
//! Runs alternate native and snarkjs at power 14 (A B A B).

use std::process::Command;
use std::time::Instant;
use zkprof::ptau::{generate, Secrets};

fn env_num(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(v: &[f64]) -> f64 {
    zkprof::results::Summary::of(v).median
}

fn native(dir: &std::path::Path, power: u32) -> f64 {
    let path = dir.join(format!("native{power}.ptau"));
    let secrets = Secrets::random().expect("OS random numbers");
    let t = Instant::now();
    generate(&path, power, &secrets, true, &|_, _| {}).expect("native ptau");
    let s = t.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(path);
    s
}

fn snarkjs(dir: &std::path::Path, power: u32) -> Option<f64> {
    let (node, env, _) = zkprof::frameworks::circom::ensure_tools()
        .map_err(|e| println!("snarkjs side skipped: {e}"))
        .ok()?;
    let cli = env.join("node_modules/snarkjs/build/cli.cjs");
    let (raw, prepared) = (dir.join("s.ptau"), dir.join("s_prepared.ptau"));
    let t = Instant::now();
    for args in [
        vec![
            "powersoftau".into(),
            "new".into(),
            "bn128".into(),
            power.to_string(),
            raw.display().to_string(),
        ],
        vec![
            "powersoftau".into(),
            "prepare".into(),
            "phase2".into(),
            raw.display().to_string(),
            prepared.display().to_string(),
        ],
    ] {
        let out = Command::new(&node).arg(&cli).args(&args).output().ok()?;
        if !out.status.success() {
            println!(
                "snarkjs {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            return None;
        }
    }
    let s = t.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(raw);
    let _ = std::fs::remove_file(prepared);
    Some(s)
}

fn main() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let powers: Vec<u32> = std::env::var("ZKPROF_BENCH_POWERS")
        .unwrap_or_else(|_| "14,16,18".into())
        .split(',')
        .filter_map(|p| p.trim().parse().ok())
        .collect();
    let reps = env_num("ZKPROF_BENCH_REPS", 3).max(1);
    let js_reps = env_num("ZKPROF_BENCH_SNARKJS_REPS", 1);
    println!(
        "cores: {}",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let (mut nat14, mut js14) = (Vec::new(), Vec::new());
    for &p in &powers {
        let mut times = Vec::new();
        for i in 0..reps {
            times.push(native(dir.path(), p));
            if p == 14 && i < js_reps {
                if let Some(s) = snarkjs(dir.path(), p) {
                    js14.push(s);
                    println!("  snarkjs new + prepare phase2, 2^14: {s:.1} s");
                }
            }
        }
        println!(
            "native 2^{p}: median {:.2} s over {reps} (min {:.2}, max {:.2})",
            median(&times),
            times.iter().cloned().fold(f64::INFINITY, f64::min),
            times.iter().cloned().fold(0.0, f64::max)
        );
        if p == 14 {
            nat14.extend(times);
        }
    }
    if !js14.is_empty() && !nat14.is_empty() {
        let (n, j) = (median(&nat14), median(&js14));
        println!(
            "power 14: snarkjs {j:.1} s (median of {}) / native {n:.2} s (median of {}) = {:.0}x (target >= 50x)",
            js14.len(),
            nat14.len(),
            j / n
        );
    }
}
