//! Profiler overhead: a CPU-bound workload run bare and under `zkprof exec` (every sensor
//! on, 10 ms sampling), alternating A B A B, median ratio printed. Target: <= 1.01.
//!
//! Run: `cargo bench --bench overhead` (pairs: `ZKPROF_BENCH_PAIRS`, default 10).
//! The ratio compares the command's wall time as zkprof measured it with the same command's
//! wall time spawned bare by this harness; zkprof's own start-up is printed separately.

use std::process::{Command, Stdio};
use std::time::Instant;

/// The median (the library's own statistics).
fn median(v: Vec<f64>) -> f64 {
    zkprof::results::Summary::of(&v).median
}

fn real_python() -> String {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .expect("python3 is needed for the workload");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn bare(argv: &[String]) -> f64 {
    let t = Instant::now();
    let status = Command::new(&argv[0])
        .args(&argv[1..])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("workload runs");
    assert!(status.success());
    t.elapsed().as_secs_f64()
}

/// Returns (the command's wall time measured by zkprof, zkprof's whole wall time).
fn under_zkprof(argv: &[String]) -> (f64, f64) {
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_zkprof"))
        .args([
            "exec",
            "--json",
            "--no-series",
            "-n",
            "1",
            "--interval-ms",
            "10",
            "--",
        ])
        .args(argv)
        .output()
        .expect("zkprof runs");
    let outer = t.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    (v["runs"][0]["wall_s"].as_f64().expect("wall_s"), outer)
}

fn main() {
    let pairs: usize = std::env::var("ZKPROF_BENCH_PAIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let py = real_python();
    let busy = "x = 0\nfor i in range(12_000_000): x += i * i";
    let workloads: Vec<(&str, Vec<String>)> = vec![
        (
            "one busy process",
            vec![py.clone(), "-c".into(), busy.into()],
        ),
        (
            "every core busy",
            vec![
                "sh".into(),
                "-c".into(),
                format!(
                    "for i in $(seq {}); do {py} -c '{busy}' & done; wait",
                    std::thread::available_parallelism()
                        .map(|n| n.get())
                        .unwrap_or(2)
                ),
            ],
        ),
    ];
    println!("overhead of zkprof exec (10 ms sampling, all sensors), {pairs} A/B pairs each");
    for (name, argv) in workloads {
        bare(&argv); // warm the page cache
        let (mut a, mut b, mut outer, mut ratios) = (vec![], vec![], vec![], vec![]);
        for _ in 0..pairs {
            let x = bare(&argv);
            let (y, o) = under_zkprof(&argv);
            a.push(x);
            b.push(y);
            outer.push(o - y);
            ratios.push(y / x);
        }
        println!(
            "{name:18} bare median {:.3} s | under zkprof {:.3} s | median ratio {:.4} (target <= 1.01) | zkprof start-up+teardown {:.1} ms",
            median(a),
            median(b),
            median(ratios),
            median(outer) * 1e3
        );
    }
}
