//! The headline peak memory is the tree's working set, whatever the page cache holds:
//! truth tests with workloads whose memory is known, under `/proc` alone and with a
//! per-step cgroup. Each figure is compared with the same script holding nothing, run the
//! same way (the interpreter's own footprint), so the tolerance applies to what the
//! workload adds. The figures are printed (`--nocapture`) for comparison across versions.

use crate::support::{cgroup_available, json, run, text, write};
use serde_json::Value;
use std::path::Path;

const MIB: f64 = 1024.0 * 1024.0;

/// The interpreter itself, not a launcher (`python3` may be a shim script that runs
/// several processes before the interpreter: a one-process step must be one process).
fn python() -> &'static str {
    static PY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PY.get_or_init(|| {
        let out = std::process::Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .expect("python3 runs");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    })
}

/// Runs `python script args...` once under `zkprof exec` and returns the run's record.
fn exec(method: &str, interval_ms: u32, script: &str, args: &[String]) -> Value {
    let interval = interval_ms.to_string();
    let mut argv = vec![
        "exec",
        "--json",
        "-n",
        "1",
        "--no-series",
        "--interval-ms",
        &interval,
        "--memory-method",
        method,
        "--",
        python(),
        script,
    ];
    argv.extend(args.iter().map(String::as_str));
    let out = run(&argv);
    assert!(out.status.success(), "{}", text(&out));
    let r = json(&out)["runs"][0].clone();
    assert_eq!(r["memory_method"], "working_set", "{r}");
    r
}

fn mib(r: &Value, key: &str) -> f64 {
    r[key].as_f64().unwrap_or(f64::NAN) / MIB
}

/// Asserts that `full` holds `expect_mib` more than `base` (within `tol`), and prints both.
fn check_added(what: &str, method: &str, base: &Value, full: &Value, expect_mib: f64, tol: f64) {
    let (b, f) = (mib(base, "peak_tree_bytes"), mib(full, "peak_tree_bytes"));
    let added = f - b;
    eprintln!(
        "{what} [{method}]: working set {f:.1} MiB (baseline {b:.1}, added {added:.1}, expected {expect_mib}); \
         charged {:.1} MiB; sum of RSS {:.1} MiB; child RSS {:.1} MiB; {}",
        mib(full, "peak_charged_bytes"),
        mib(full, "peak_tree_rss_bytes"),
        mib(full, "child_peak_rss_bytes"),
        full["memory_precision"]
    );
    let err = (added - expect_mib).abs() / expect_mib;
    assert!(
        err <= tol,
        "{what} [{method}]: the workload added {added:.1} MiB to the working set \
         ({f:.1} against a baseline of {b:.1}), expected {expect_mib} MiB ± {:.0}%",
        tol * 100.0
    );
}

/// The methods to test on this host: `/proc` always, the cgroup where one can be made
/// (in CI a host without one fails).
fn methods() -> Vec<&'static str> {
    let mut m = vec!["proc"];
    if cgroup_available() {
        m.push("cgroup");
    }
    m
}

/// Writes `write_mb` MB to a file beside the script (1 MiB at a time), then holds
/// `hold_mib` MiB for 1 s.
const PAGE_CACHE: &str = r#"
import os, sys, time
write_mb, hold_mib = int(sys.argv[1]), int(sys.argv[2])
chunk = b"w" * (1 << 20)
with open(sys.argv[3], "wb") as f:
    for _ in range(write_mb * 1000 * 1000 >> 20):
        f.write(chunk)
del chunk
held = b"h" * (hold_mib << 20)
time.sleep(1.0)
"#;

#[test]
fn page_cache_written_by_the_step_is_not_in_the_working_set() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "pc.py", PAGE_CACHE);
    let data = dir.path().join("written.bin").display().to_string();
    for method in methods() {
        let base = exec(method, 10, &script, &["0".into(), "0".into(), data.clone()]);
        let full = exec(
            method,
            10,
            &script,
            &["600".into(), "300".into(), data.clone()],
        );
        check_added(
            "300 MiB held, 600 MB written",
            method,
            &base,
            &full,
            300.0,
            0.03,
        );
        assert_eq!(full["memory_precision"], "high_water_mark", "{full}");
        if method == "cgroup" {
            // The other view is kept, named for what it is: the cgroup's charge includes
            // the written file's page cache.
            let charged = mib(&full, "peak_charged_bytes");
            assert!(
                charged > mib(&full, "peak_tree_bytes") + 200.0,
                "charged peak {charged:.1} MiB should include the 600 MB written: {full}"
            );
            assert!(full["charged_method"]
                .as_str()
                .unwrap()
                .starts_with("cgroup_"));
        }
        let _ = std::fs::remove_file(&data);
    }
}

/// A parent holding `argv[1]` MiB runs a child holding `argv[2]` MiB, both at once.
const TWO: &str = r#"
import subprocess, sys, time
parent_mib, child_mib = int(sys.argv[1]), int(sys.argv[2])
held = b"p" * (parent_mib << 20)
child = "import time; held = b'c' * (%d << 20); time.sleep(1.0)" % child_mib
subprocess.run([sys.executable, "-c", child], check=True)
"#;

#[test]
fn two_processes_holding_memory_at_once_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "two.py", TWO);
    for method in methods() {
        let base = exec(method, 10, &script, &["0".into(), "0".into()]);
        let full = exec(method, 10, &script, &["200".into(), "200".into()]);
        check_added(
            "two processes of 200 MiB",
            method,
            &base,
            &full,
            400.0,
            0.03,
        );
        assert_eq!(full["memory_precision"], "sampled", "{full}");
        let child = mib(&full, "child_peak_rss_bytes");
        assert!(
            (200.0..230.0).contains(&child),
            "the direct child (the parent script) held about 200 MiB, not {child:.1}"
        );
    }
}

/// Touches `argv[1]` MiB, forks; the child reads every page (writing none) and holds on
/// for 1 s while the parent waits.
const FORK: &str = r#"
import os, sys, time
held = b"p" * (int(sys.argv[1]) << 20)
pid = os.fork()
if pid == 0:
    total = sum(held[::4096])
    time.sleep(1.0)
    os._exit(0 if total >= 0 else 1)
os.waitpid(pid, 0)
"#;

#[test]
fn pages_a_forked_child_only_reads_count_once() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "fork.py", FORK);
    for method in methods() {
        let base = exec(method, 10, &script, &["0".into()]);
        let full = exec(method, 10, &script, &["300".into()]);
        // The sum of RSS counts the shared pages twice; the working set once.
        assert!(
            mib(&full, "peak_tree_rss_bytes") > mib(&full, "peak_tree_bytes") + 200.0,
            "the child shared the parent's pages: {full}"
        );
        check_added(
            "forked child reading 300 MiB",
            method,
            &base,
            &full,
            300.0,
            0.03,
        );
    }
}

/// Waits 0.3 s, holds 500 MiB for 20 ms, frees it and waits until 1.5 s.
const SPIKE: &str = r#"
import time
t0 = time.monotonic()
time.sleep(0.3)
spike = b"s" * (500 << 20)
time.sleep(0.02)
del spike
time.sleep(max(0.0, 1.5 - (time.monotonic() - t0)))
"#;

#[test]
fn a_short_spike_of_one_process_is_in_the_headline() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "spike.py", SPIKE);
    let quiet = write(dir.path(), "quiet.py", "import time\ntime.sleep(1.5)\n");
    for method in methods() {
        // Samples 1 s apart cannot see the spike: only the kernel's high-water mark can.
        let base = exec(method, 1000, &quiet, &[]);
        let full = exec(method, 1000, &script, &[]);
        assert_eq!(full["memory_precision"], "high_water_mark", "{full}");
        check_added(
            "a 20 ms spike to 500 MiB",
            method,
            &base,
            &full,
            500.0,
            0.03,
        );
    }
}

/// Reads the file `argv[1]` 1 MiB at a time, then holds 100 MiB for 0.5 s.
const READER: &str = r#"
import sys, time
with open(sys.argv[1], "rb") as f:
    while f.read(1 << 20):
        pass
held = b"r" * (100 << 20)
time.sleep(0.5)
"#;

/// Drops the page cache of `path` (fsynced first; only this file's pages).
fn evict(path: &Path) {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::open(path).unwrap();
    f.sync_all().unwrap();
    // SAFETY: posix_fadvise on a descriptor we own.
    let rc = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
    assert_eq!(rc, 0);
}

#[test]
fn cold_and_warm_page_cache_give_the_same_headline() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "reader.py", READER);
    let data = dir.path().join("input.bin");
    std::fs::write(&data, vec![7u8; 300 << 20]).unwrap();
    let arg = vec![data.display().to_string()];
    for method in methods() {
        evict(&data);
        let cold = exec(method, 10, &script, &arg);
        let warm = exec(method, 10, &script, &arg);
        let (c, w) = (mib(&cold, "peak_tree_bytes"), mib(&warm, "peak_tree_bytes"));
        eprintln!(
            "cold/warm [{method}]: working set {c:.1} / {w:.1} MiB; charged {:.1} / {:.1} MiB",
            mib(&cold, "peak_charged_bytes"),
            mib(&warm, "peak_charged_bytes")
        );
        assert!(
            (c - w).abs() / w <= 0.02,
            "[{method}] cold {c:.1} MiB and warm {w:.1} MiB differ by more than 2%"
        );
        assert!(w > 100.0, "{warm}");
    }
}
