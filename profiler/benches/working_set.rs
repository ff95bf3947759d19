//! The sampler's CPU share with the working-set headline (target: under 1% of one core at
//! the default 10 ms interval), A/B against another zkprof binary.
//!
//! ```text
//! cargo bench -p zkprof --bench working_set                      # this build alone
//! ZKPROF_BASELINE_BIN=/path/to/older/zkprof cargo bench -p zkprof --bench working_set
//! ```
//!
//! For each workload, runs alternate A (the baseline binary, when given) and B (this
//! build), `ZKPROF_BENCH_PAIRS` pairs (default 5), each `zkprof exec --json -n 1` with the
//! default interval, `ZKPROF_BENCH_SECONDS` long (default 5); prints per binary the median
//! of the sampler thread's CPU time over the step's wall time (% of one core) and the
//! median headline peak memory. The working set's `smaps_rollup` reads have a fixed
//! allowance per step (`BUDGET_BURST_S`, twice) beside their steady share
//! (`BUDGET_SHARE`): longer runs show the steady state.

use std::process::Command;

/// (label, script with `{S}` for the run's length in seconds).
const WORKLOADS: [(&str, &str); 3] = [
    (
        "one process holding 1 GiB",
        "import time\nheld = b'x' * (1 << 30)\ntime.sleep({S})\n",
    ),
    (
        "parent + forked child sharing 1 GiB",
        "import os, time\nheld = b'x' * (1 << 30)\npid = os.fork()\n\
         if pid == 0:\n    time.sleep({S})\n    os._exit(0)\nos.waitpid(pid, 0)\n",
    ),
    (
        "9 processes (8 sleepers)",
        "import subprocess\nps = [subprocess.Popen(['sleep', '{S}']) for _ in range(8)]\n\
         [p.wait() for p in ps]\n",
    ),
];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// One measured run: (sampler CPU share in % of one core, headline peak in MiB).
fn one(bin: &str, python: &str, script: &str) -> (f64, f64) {
    let out = Command::new(bin)
        .args(["exec", "--json", "--no-series", "-n", "1", "--"])
        .args([python, "-c", script])
        .output()
        .expect("zkprof runs");
    assert!(
        out.status.success(),
        "{bin}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let r = &v["runs"][0];
    let share = r["sampler_cpu_s"].as_f64().unwrap_or(f64::NAN)
        / r["wall_s"].as_f64().unwrap_or(f64::NAN)
        * 100.0;
    let peak = r["peak_tree_bytes"].as_f64().unwrap_or(f64::NAN) / (1u64 << 20) as f64;
    (share, peak)
}

fn main() {
    let pairs: usize = std::env::var("ZKPROF_BENCH_PAIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let seconds: u32 = std::env::var("ZKPROF_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let this = env!("CARGO_BIN_EXE_zkprof").to_string();
    // The interpreter itself, not a launcher script that runs processes of its own.
    let py = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 is needed for the workloads");
    let python = String::from_utf8_lossy(&py.stdout).trim().to_string();
    let baseline = std::env::var("ZKPROF_BASELINE_BIN").ok();
    let mut bins: Vec<(&str, String)> = Vec::new();
    if let Some(b) = &baseline {
        bins.push(("A baseline", b.clone()));
    }
    bins.push(("B this build", this));
    println!("sampler CPU share (% of one core), 10 ms interval, median of {pairs} runs each, alternating");
    for (label, script) in WORKLOADS {
        let script = script.replace("{S}", &seconds.to_string());
        let script = script.as_str();
        let mut got: Vec<(Vec<f64>, Vec<f64>)> = vec![(Vec::new(), Vec::new()); bins.len()];
        for _ in 0..pairs {
            for (i, (_, bin)) in bins.iter().enumerate() {
                let (share, peak) = one(bin, &python, script);
                got[i].0.push(share);
                got[i].1.push(peak);
            }
        }
        println!("{label}, {seconds} s");
        for ((name, _), (shares, peaks)) in bins.iter().zip(got) {
            println!(
                "  {name:13} sampler {:5.2} % of a core    headline peak {:8.1} MiB",
                median(shares),
                median(peaks)
            );
        }
    }
}
