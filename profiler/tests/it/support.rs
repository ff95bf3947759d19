//! Helpers shared by the integration tests.

use std::path::Path;
use std::process::{Command, Output};

/// The `zkprof` binary under test: this build's, or `$ZKPROF_TEST_BIN` (to run these
/// tests against another build, e.g. to show that a test fails on an older one).
pub fn zkprof() -> Command {
    match std::env::var_os("ZKPROF_TEST_BIN").filter(|v| !v.is_empty()) {
        Some(bin) => Command::new(bin),
        None => Command::new(env!("CARGO_BIN_EXE_zkprof")),
    }
}

/// Runs zkprof with `args` and returns its output.
pub fn run(args: &[&str]) -> Output {
    zkprof().args(args).output().expect("zkprof runs")
}

/// stdout + stderr as text, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Parses stdout as JSON.
pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", text(out)))
}

/// True in CI, where nothing that matters may be skipped.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Whether this host lets zkprof make a memory cgroup per step. In CI a host that does
/// not is a failure; elsewhere the caller skips with the printed reason.
pub fn cgroup_available() -> bool {
    let out = run(&["doctor", "--json"]);
    let v = json(&out);
    let cg = v["sensors"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["name"] == "cgroup"))
        .cloned()
        .unwrap_or_default();
    if cg["available"] == true {
        return true;
    }
    let why = cg["reason"].as_str().unwrap_or("unknown").to_string();
    assert!(
        !in_ci(),
        "CI=true but no memory cgroup can be made here: {why}"
    );
    eprintln!("skipping the cgroup variant: {why}");
    false
}

/// Whether `pid` is alive (a zombie counts as dead).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next());
            state != Some("Z")
        }
        Err(_) => false,
    }
}

/// Writes `text` to `dir/name` and returns the path as a string.
pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write fixture");
    p.display().to_string()
}
