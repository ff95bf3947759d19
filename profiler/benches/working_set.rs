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
//! default interval; prints per binary the median of the sampler thread's CPU time over
//! the step's wall time (% of one core) and the median headline peak memory.

use std::process::Command;

const WORKLOADS: [(&str, &str); 3] = [
    (
        "one process holding 1 GiB for 3 s",
        "import time\nheld = b'x' * (1 << 30)\ntime.sleep(3)\n",
    ),
    (
        "parent + forked child sharing 1 GiB, 3 s",
        "import os, time\nheld = b'x' * (1 << 30)\npid = os.fork()\n\
         if pid == 0:\n    time.sleep(3)\n    os._exit(0)\nos.waitpid(pid, 0)\n",
    ),
    (
        "9 processes (8 sleepers), 3 s",
        "import subprocess\nps = [subprocess.Popen(['sleep', '3']) for _ in range(8)]\n\
         [p.wait() for p in ps]\n",
    ),
];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// One measured run: (sampler CPU share in % of one core, headline peak in MiB).
fn one(bin: &str, script: &str) -> (f64, f64) {
    let out = Command::new(bin)
        .args(["exec", "--json", "--no-series", "-n", "1", "--"])
        .args(["python3", "-c", script])
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
    let this = env!("CARGO_BIN_EXE_zkprof").to_string();
    let baseline = std::env::var("ZKPROF_BASELINE_BIN").ok();
    let mut bins: Vec<(&str, String)> = Vec::new();
    if let Some(b) = &baseline {
        bins.push(("A baseline", b.clone()));
    }
    bins.push(("B this build", this));
    println!("sampler CPU share (% of one core), 10 ms interval, median of {pairs} runs each, alternating");
    for (label, script) in WORKLOADS {
        let mut got: Vec<(Vec<f64>, Vec<f64>)> = vec![(Vec::new(), Vec::new()); bins.len()];
        for _ in 0..pairs {
            for (i, (_, bin)) in bins.iter().enumerate() {
                let (share, peak) = one(bin, script);
                got[i].0.push(share);
                got[i].1.push(peak);
            }
        }
        println!("{label}");
        for ((name, _), (shares, peaks)) in bins.iter().zip(got) {
            println!(
                "  {name:13} sampler {:5.2} % of a core    headline peak {:8.1} MiB",
                median(shares),
                median(peaks)
            );
        }
    }
}
