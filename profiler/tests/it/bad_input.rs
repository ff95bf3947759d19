//! Bad input: exit code 2 and a message that names the file and place.

use crate::support::{run, text, write};

fn assert_input_error(out: &std::process::Output, needles: &[&str]) {
    assert_eq!(out.status.code(), Some(2), "{}", text(out));
    let err = String::from_utf8_lossy(&out.stderr);
    for n in needles {
        assert!(err.contains(n), "stderr lacks `{n}`:\n{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn misspelled_suite_field() {
    let dir = tempfile::tempdir().unwrap();
    let s = write(
        dir.path(),
        "bad.toml",
        "[suite]\nname = \"x\"\nrepetitons = 2\n",
    );
    assert_input_error(
        &run(&["run", &s]),
        &["bad.toml:3:1", "repetitons", "repetitions"],
    );
}

#[test]
fn absurd_timeouts_name_the_field_its_range_and_the_value_shortly() {
    let dir = tempfile::tempdir().unwrap();
    for (value, shown) in [
        (
            "18446744073709551616",
            "1.8446744073709552e19 seconds is out of range",
        ),
        ("1e300", "1e300 seconds is out of range"),
        ("-5", "-5 is not a positive number of seconds"),
        (
            "\"ten\"",
            "expected timeout_s as a number of seconds, e.g. 600",
        ),
    ] {
        let s = write(
            dir.path(),
            "bad.toml",
            &format!("[suite]\nname = \"x\"\ntimeout_s = {value}\n"),
        );
        let o = run(&["run", &s]);
        assert_input_error(&o, &["bad.toml:3:", "timeout_s", shown]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.len() < 400, "said shortly: {err}");
    }
}

#[test]
fn malformed_suite() {
    let dir = tempfile::tempdir().unwrap();
    let s = write(dir.path(), "bad.toml", "[suite\nname = 1\n");
    assert_input_error(&run(&["run", &s]), &["bad.toml:1:"]);
}

#[test]
fn missing_suite_file() {
    assert_input_error(
        &run(&["run", "no/such/suite.toml"]),
        &["no/such/suite.toml"],
    );
}

#[test]
fn missing_command() {
    assert_input_error(
        &run(&["exec", "--", "no-such-command-zkprof"]),
        &["command not found", "no-such-command-zkprof"],
    );
}

#[test]
fn unwritable_output_dir() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "a-file", "");
    let s = write(
        dir.path(),
        "s.toml",
        "[suite]\nname = \"x\"\n[[model]]\nname = \"m\"\n[[framework]]\nname = \"f\"\nkind = \"command\"\nsteps = { prove = [\"true\"] }\n",
    );
    let out_dir = format!("{file}/out");
    assert_input_error(&run(&["run", &s, "--out", &out_dir]), &["a-file/out"]);
    let out_json = format!("{file}/r.json");
    assert_input_error(
        &run(&["exec", "--out", &out_json, "--", "true"]),
        &["a-file/r.json"],
    );
}

#[test]
fn bad_flags() {
    assert_input_error(
        &run(&["exec", "--memory-limit", "lots", "--", "true"]),
        &["--memory-limit lots"],
    );
    assert_input_error(
        &run(&["exec", "--require", "warp-drive", "--", "true"]),
        &["warp-drive", "known sensors"],
    );
    let out = run(&["exec"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}
