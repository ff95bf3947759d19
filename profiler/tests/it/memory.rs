//! Whole-tree memory, timeouts and OOM kills, measured for real.

use crate::support::{alive, cgroup_available, json, run, text, write};

const MIB: f64 = 1024.0 * 1024.0;

/// A parent that touches `parent_mib` and, while holding it, runs a child that touches
/// `child_mib` and holds it for a while.
const TREE: &str = r#"
import subprocess, sys, time
parent_mib, child_mib = int(sys.argv[1]), int(sys.argv[2])
held = b"p" * (parent_mib << 20)
child = "import time; held = b'c' * (%d << 20); time.sleep(0.8)" % child_mib
subprocess.run([sys.executable, "-c", child], check=True)
time.sleep(0.1)
"#;

fn exec_tree(script: &str, method: &str, parent: u32, child: u32) -> serde_json::Value {
    let out = run(&[
        "exec",
        "--json",
        "-n",
        "1",
        "--memory-method",
        method,
        "--",
        "python3",
        script,
        &parent.to_string(),
        &child.to_string(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    json(&out)["runs"][0].clone()
}

fn check_tree_memory(method: &str, expect_method: &str) {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "tree.py", TREE);
    // The interpreters' own footprint, measured the same way.
    let base = exec_tree(&script, method, 0, 0);
    let full = exec_tree(&script, method, 100, 200);
    assert_eq!(full["memory_method"], expect_method);
    let baseline = base["peak_tree_bytes"].as_f64().unwrap();
    let peak = full["peak_tree_bytes"].as_f64().unwrap();
    let expected = baseline + 300.0 * MIB;
    let err = (peak - expected).abs() / expected;
    assert!(
        err <= 0.03,
        "{method}: peak_tree {:.1} MiB, expected {:.1} MiB (baseline {:.1} MiB + 300 MiB), off by {:.1}%",
        peak / MIB,
        expected / MIB,
        baseline / MIB,
        err * 100.0
    );
    let largest = full["peak_process_bytes"].as_f64().unwrap() / MIB;
    assert!(
        (200.0..240.0).contains(&largest),
        "{method}: peak_process {largest:.1} MiB, expected about 200 MiB"
    );
    assert!(full["processes_seen"].as_u64().unwrap() >= 2, "{full}");
    // The sampled series never exceeds the recorded peak (HDR keeps 3 significant digits).
    let p = &full["tree_bytes_percentiles"];
    let series_max = p["max"].as_f64().unwrap();
    assert!(
        series_max <= peak * 1.001,
        "series max {series_max} above peak {peak}"
    );
    assert!(p["p50"].as_f64().unwrap() <= p["p99"].as_f64().unwrap());
}

#[test]
fn tree_memory_by_proc_sampling() {
    check_tree_memory("proc", "working_set");
}

#[test]
fn tree_memory_by_cgroup() {
    if cgroup_available() {
        check_tree_memory("cgroup", "working_set");
    }
}

/// A tree with a child, a grandchild in a subshell and a `setsid` grandchild that leaves
/// the process group; each writes its pid.
fn check_timeout_kills_tree(method: &str) {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let script = format!(
        "sleep 300 & echo $! >> {p}; (sleep 300 & echo $! >> {p}; wait) & setsid sleep 300 & echo $! >> {p}; wait",
        p = pids.display()
    );
    let started = std::time::Instant::now();
    let out = run(&[
        "exec",
        "--json",
        "-n",
        "1",
        "--timeout",
        "1",
        "--memory-method",
        method,
        "--",
        "sh",
        "-c",
        &script,
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(started.elapsed().as_secs_f64() < 20.0);
    let r = &json(&out)["runs"][0];
    assert_eq!(r["timed_out"], true, "{r}");
    assert_eq!(r["signal"], 9, "{r}");
    let listed: Vec<i32> = std::fs::read_to_string(&pids)
        .unwrap()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert_eq!(listed.len(), 3, "three sleepers started: {listed:?}");
    // Give the kernel a moment to tear them down.
    for _ in 0..100 {
        if listed.iter().all(|&p| !alive(p)) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let survivors: Vec<i32> = listed.iter().copied().filter(|&p| alive(p)).collect();
    assert!(
        survivors.is_empty(),
        "{method}: processes of the tree survived the timeout: {survivors:?}"
    );
}

#[test]
fn timeout_kills_grandchildren_proc() {
    check_timeout_kills_tree("proc");
}

#[test]
fn timeout_kills_grandchildren_cgroup() {
    if cgroup_available() {
        check_timeout_kills_tree("cgroup");
    }
}

fn check_oom(method: &str) {
    let out = run(&[
        "exec",
        "--json",
        "-n",
        "1",
        "--memory-limit",
        "64M",
        "--memory-method",
        method,
        "--",
        "python3",
        "-c",
        "import time; b = b'x' * (400 << 20); time.sleep(2)",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r = &json(&out)["runs"][0];
    assert_eq!(r["oom_killed"], true, "{method}: {r}");
    assert_ne!(r["exit_code"], 0, "{r}");
}

#[test]
fn memory_limit_is_an_oom_kill_proc() {
    check_oom("proc");
}

#[test]
fn memory_limit_is_an_oom_kill_cgroup() {
    if cgroup_available() {
        check_oom("cgroup");
    }
}
