//! Helpers shared by every area of the integration tests: the binary under test, its output
//! as text, the repository's paths and fixtures, and the rules for what may be skipped.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `zkprof` binary under test: this build's, or `$ZKPROF_TEST_BIN` (to run these
/// tests against another build, e.g. to show that a test fails on an older one). Its temp
/// dir is one under the build's target directory, so what a test leaves behind (logs of
/// failed runs) stays out of the machine's `/tmp`.
pub fn zkprof() -> Command {
    let mut cmd = match std::env::var_os("ZKPROF_TEST_BIN").filter(|v| !v.is_empty()) {
        Some(bin) => Command::new(bin),
        None => Command::new(env!("CARGO_BIN_EXE_zkprof")),
    };
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("zkprof-tests");
    if std::fs::create_dir_all(&tmp).is_ok() {
        cmd.env("TMPDIR", tmp);
    }
    cmd
}

/// Runs zkprof with `args` and returns its output.
pub fn run(args: &[&str]) -> Output {
    zkprof().args(args).output().expect("zkprof runs")
}

/// Exit status, stdout and stderr, labelled, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// stdout followed by stderr, unlabelled: what a user sees on the terminal.
pub fn combined(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// (stdout, stderr) as text, for tests that check the two streams apart.
pub fn streams(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Parses stdout as JSON.
pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", text(out)))
}

/// True in CI (`CI=true` or `CI=1`), where nothing that matters may be skipped.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// True with `ZKPROF_REQUIRE_DOCKER=1` (`.ci/run` sets it): the tests that need a docker
/// engine, its base image or the pinned tools it installs fail instead of skipping.
pub fn docker_required() -> bool {
    std::env::var("ZKPROF_REQUIRE_DOCKER").is_ok_and(|v| v == "1")
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

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `profiler/tests/fixtures/<name>`: captured real output, fixture trees, report inputs.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// `profiler/tests/assets/<name>`: stand-in installations and step scripts.
pub fn asset(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/assets")
        .join(name)
}

/// Copies a fixture tree into a fresh temporary directory (for tests that change it).
pub fn copy_fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_tree(&fixture(name), dir.path());
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}
