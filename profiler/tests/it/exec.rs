//! `zkprof exec`: the JSON contract and the human output.

use crate::support::{json, run, text, zkprof};

#[test]
fn json_has_the_contract_fields() {
    let out = run(&[
        "exec",
        "--json",
        "-n",
        "2",
        "-w",
        "1",
        "--",
        "sh",
        "-c",
        "echo hi; echo oops >&2",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let v = json(&out);
    assert_eq!(
        v["command"],
        serde_json::json!(["sh", "-c", "echo hi; echo oops >&2"])
    );
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "warmup runs are not listed");
    for r in runs {
        for field in [
            "wall_s",
            "user_s",
            "sys_s",
            "peak_tree_bytes",
            "peak_process_bytes",
            "memory_method",
            "exit_code",
            "signal",
            "oom_killed",
            "timed_out",
        ] {
            assert!(r.get(field).is_some(), "run lacks `{field}`: {r}");
        }
        assert_eq!(r["exit_code"], 0);
        assert!(r["signal"].is_null());
        assert!(r["wall_s"].as_f64().unwrap() > 0.0);
        assert!(r["peak_tree_bytes"].as_u64().unwrap() > 0);
        assert_eq!(r["stdout_tail"], serde_json::json!(["hi"]));
        assert_eq!(r["stderr_tail"], serde_json::json!(["oops"]));
    }
    for stat in ["median", "mean", "stddev", "min", "max"] {
        assert!(
            v["summary"]["wall_s"][stat].is_number(),
            "summary.wall_s.{stat}"
        );
        assert!(
            v["summary"]["peak_tree_bytes"][stat].is_number(),
            "summary.peak_tree_bytes.{stat}"
        );
    }
    let sensors = v["sensors"].as_array().unwrap();
    assert!(sensors
        .iter()
        .all(|s| s["name"].is_string() && s["available"].is_boolean()));
    assert!(sensors.iter().any(|s| s["name"] == "proc"));
    assert!(v["host"]["fingerprint_id"].as_str().unwrap().len() == 16);
    assert_eq!(v["warmup"], 1);
}

#[test]
fn failing_command_is_recorded_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("r.json");
    let out = run(&[
        "exec",
        "--json",
        "-n",
        "1",
        "--out",
        out_file.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        "exit 7",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["runs"][0]["exit_code"], 7);
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
    assert_eq!(saved, v, "--out holds the same object");
}

#[test]
fn signal_is_recorded() {
    let out = run(&[
        "exec",
        "--json",
        "-n",
        "1",
        "--",
        "sh",
        "-c",
        "kill -TERM $$",
    ]);
    let v = json(&out);
    assert_eq!(v["runs"][0]["signal"], 15, "{}", text(&out));
    assert!(v["runs"][0]["exit_code"].is_null());
}

#[test]
fn cpu_time_counts_the_whole_tree() {
    // Two busy children of a shell: the tree's CPU is about twice one child's.
    let busy =
        "python3 -c 'import time; t=time.process_time()\nwhile time.process_time()-t<0.4: pass'";
    let script = format!("{busy} & {busy} & wait");
    let out = run(&[
        "exec",
        "--json",
        "-n",
        "1",
        "--memory-method",
        "proc",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let r = &json(&out)["runs"][0];
    let cpu = r["user_s"].as_f64().unwrap() + r["sys_s"].as_f64().unwrap();
    assert!(cpu >= 0.75, "tree CPU {cpu:.3} s, expected >= 0.8 s: {r}");
}

/// The tree's CPU time agrees with the perf task-clock of the same run, whichever way it was
/// measured (cgroup accounting or wait4 rusage).
fn check_cpu_matches_task_clock(method: &str) {
    let busy = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.6: pass";
    let out = run(&[
        "exec",
        "--json",
        "-n",
        "1",
        "--memory-method",
        method,
        "--",
        "python3",
        "-c",
        busy,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let r = &json(&out)["runs"][0];
    let cpu = r["user_s"].as_f64().unwrap() + r["sys_s"].as_f64().unwrap();
    let Some(clock) = r["readings"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["metric"] == "task-clock"))
        .and_then(|x| x["value"].as_f64())
    else {
        assert!(
            !crate::support::in_ci(),
            "CI=true but perf-sw gave no task-clock: {r}"
        );
        eprintln!("skipping: no perf task-clock here");
        return;
    };
    assert!(
        cpu >= 0.6,
        "{method}: tree CPU {cpu:.3} s for a 0.6 s busy loop"
    );
    assert!(
        (cpu - clock).abs() / clock < 0.1,
        "{method}: tree CPU {cpu:.3} s, task-clock {clock:.3} s: {r}"
    );
}

#[test]
fn cpu_time_matches_task_clock_proc() {
    check_cpu_matches_task_clock("proc");
}

#[test]
fn cpu_time_matches_task_clock_cgroup() {
    if crate::support::cgroup_available() {
        check_cpu_matches_task_clock("cgroup");
    }
}

#[test]
fn human_output_reads_like_a_benchmark() {
    let out = run(&["exec", "-n", "2", "--", "true"]);
    assert!(out.status.success(), "{}", text(&out));
    let s = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "Time (median ± σ)",
        "Range (min … max)",
        "Peak working set",
        "Host:",
    ] {
        assert!(s.contains(needle), "missing `{needle}`:\n{s}");
    }
}

/// Without `--log-dir`, logs go to a new temp directory that is removed when every run
/// succeeded, and kept (and named) when one failed.
#[test]
fn temporary_logs_are_removed_after_success_and_kept_after_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let exec = |script: &str| {
        zkprof()
            .env("TMPDIR", tmp.path())
            .args(["exec", "-n", "1", "--", "sh", "-c", script])
            .output()
            .unwrap()
    };
    let entries = || std::fs::read_dir(tmp.path()).unwrap().count();
    let ok = exec("echo hello");
    assert!(ok.status.success(), "{}", text(&ok));
    assert_eq!(entries(), 0, "logs of a successful run are removed");
    assert!(!text(&ok).contains("Logs:"), "{}", text(&ok));

    let failed = exec("echo oops >&2; exit 3");
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed));
    assert_eq!(entries(), 1, "logs of a failed run are kept");
    let kept = std::fs::read_dir(tmp.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert!(text(&failed).contains(&format!("Logs: {}", kept.display())));
    let stderr = std::fs::read_to_string(kept.join("run-0.stderr")).unwrap();
    assert_eq!(stderr, "oops\n");
}
