//! Hostile and careless input: outputs that are not regular files, a cache that is not
//! zkprof's, numbers out of range, endless files, colliding and unprintable names, CSV
//! formulas. Each test is named after the defect it guards against.

use crate::support::{run, text, write, zkprof};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

const TINY: &str = "[suite]\nname = \"tiny\"\n[[model]]\nname = \"m\"\n[[framework]]\nname = \"f\"\nkind = \"command\"\nsteps = { prove = [\"true\"] }\n";

/// Runs a one-cell suite into `dir/out` and returns the results file.
fn tiny_results(dir: &Path) -> PathBuf {
    let s = write(dir, "tiny.toml", TINY);
    let out = dir.join("out");
    let o = run(&["run", &s, "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    out.join("results.json")
}

/// `zkprof run SUITE --out DIR/out` (never into the working directory).
fn run_suite(dir: &Path, suite: &str) -> Output {
    run(&["run", suite, "--out", dir.join("out").to_str().unwrap()])
}

fn assert_exit2(out: &Output, needles: &[&str]) {
    assert_eq!(out.status.code(), Some(2), "{}", text(out));
    let err = String::from_utf8_lossy(&out.stderr);
    for n in needles {
        assert!(err.contains(n), "stderr lacks `{n}`:\n{}", text(out));
    }
    assert!(!err.contains("panicked"), "{err}");
}

/// Runs zkprof with a deadline; a hang is a failure, not a stuck test.
fn run_within(args: &[&str], limit: Duration) -> Output {
    let mut child = zkprof()
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("zkprof {args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// Defect 1: writers replaced a symlink, FIFO or device node at the target.
#[test]
fn writers_never_replace_a_symlink_fifo_or_device() {
    let dir = tempfile::tempdir().unwrap();
    let results = tiny_results(dir.path());
    let r = results.to_str().unwrap();
    // Symlinks: written through, still links.
    let real = dir.path().join("real");
    for (i, args) in [
        vec!["report", r, "--format", "csv", "-o"],
        vec!["report", r, "-o"],
        vec!["merge", r, "-o"],
        vec!["exec", "-n", "1", "--out"],
    ]
    .into_iter()
    .enumerate()
    {
        let link = dir.path().join(format!("link{i}"));
        std::fs::write(&real, "").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let mut args: Vec<&str> = args;
        args.push(link.to_str().unwrap());
        if args[0] == "exec" {
            args.extend(["--", "true"]);
        }
        let o = run(&args);
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        let t = std::fs::symlink_metadata(&link).unwrap().file_type();
        assert!(t.is_symlink(), "{args:?} replaced the symlink");
        assert!(std::fs::metadata(&real).unwrap().len() > 0, "{args:?}");
    }
    // A FIFO: written through to its reader, still a FIFO.
    let fifo = dir.path().join("pipe");
    mkfifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let o = run(&["report", r, "--format", "csv", "-o", fifo.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(reader.join().unwrap().starts_with("Framework,"));
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
    // A device node (the null device, made here when allowed: root).
    let node = dir.path().join("null");
    let c = std::ffi::CString::new(node.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid path; makedev(1, 3) is the null device.
    let made = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
    if made == 0 {
        let o = run(&["report", r, "--format", "csv", "-o", node.to_str().unwrap()]);
        assert!(o.status.success(), "{}", text(&o));
        let t = std::fs::symlink_metadata(&node).unwrap().file_type();
        assert!(t.is_char_device(), "the device node became {t:?}");
    } else {
        eprintln!("skipping the device-node case: mknod needs root here");
    }
    // `-` is stdout.
    let o = run(&["report", r, "--format", "csv", "-o", "-"]);
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("Framework,"));
}

/// Defect 14: results.json was always 0600 and reports forced to 0644.
#[test]
fn every_output_follows_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let s = write(dir.path(), "tiny.toml", TINY);
    let out = dir.path().join("out");
    let report = dir.path().join("r.csv");
    for (umask, mode) in [(0o027, 0o640), (0o022, 0o644)] {
        let umasked = |args: &[&str]| {
            let mut cmd = zkprof();
            cmd.args(args);
            // SAFETY: umask is async-signal-safe.
            unsafe {
                cmd.pre_exec(move || {
                    libc::umask(umask);
                    Ok(())
                });
            }
            let o = cmd.output().unwrap();
            assert!(o.status.success(), "{}", text(&o));
        };
        let _ = std::fs::remove_file(out.join("results.json"));
        let _ = std::fs::remove_file(&report);
        umasked(&["run", &s, "--out", out.to_str().unwrap()]);
        let results = out.join("results.json");
        umasked(&[
            "report",
            results.to_str().unwrap(),
            "--format",
            "csv",
            "-o",
            report.to_str().unwrap(),
        ]);
        for p in [&results, &report] {
            let m = std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(m, mode, "{} under umask {umask:o}", p.display());
        }
    }
}

/// Defect 2: `cache clear --framework` joined its argument onto the cache path unchecked,
/// and `--all` deleted in any directory.
#[test]
fn cache_clear_deletes_only_inside_a_marked_cache() {
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim");
    std::fs::create_dir_all(victim.join("artifacts")).unwrap();
    std::fs::create_dir_all(victim.join("envs")).unwrap();
    std::fs::write(victim.join("precious"), "x").unwrap();
    let cache = dir.path().join("c");
    std::fs::create_dir_all(cache.join("artifacts/ezkl/k")).unwrap();
    std::fs::write(cache.join("artifacts/ezkl/k/a"), "abc").unwrap();
    std::fs::write(
        cache.join("CACHEDIR.TAG"),
        zkprof::cache_marker::marker_text(),
    )
    .unwrap();
    let clear = |cache: &Path, extra: &[&str]| {
        let o = zkprof()
            .env("ZKPROF_CACHE", cache)
            .args(["cache", "clear"])
            .args(extra)
            .output()
            .unwrap();
        o
    };
    let v = victim.to_str().unwrap();
    for f in [v, "../victim", "/", "bogus", "ezkl/../../victim"] {
        let o = clear(&cache, &["--framework", f]);
        assert_exit2(&o, &["unknown", "known: "]);
    }
    // An unmarked directory as the cache: nothing deleted, exit 2 with the reason.
    let o = clear(&victim, &["--all"]);
    assert_exit2(&o, &["not a zkprof cache", "CACHEDIR.TAG"]);
    assert!(victim.join("artifacts").is_dir() && victim.join("envs").is_dir());
    assert!(victim.join("precious").exists());
    // The marked cache is cleared.
    let o = clear(&cache, &["--framework", "ezkl"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(!cache.join("artifacts/ezkl").exists());
    assert!(cache.join("CACHEDIR.TAG").exists());
    // Listing a missing cache does not make one.
    let missing = dir.path().join("none");
    let o = zkprof()
        .env("ZKPROF_CACHE", &missing)
        .args(["cache", "ls"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(!missing.exists());
}

/// Defect 3: `timeout_s = 1e20` (suite) and `exec --timeout 1e20` panicked.
#[test]
fn out_of_range_numbers_are_input_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let s = write(
        dir.path(),
        "t.toml",
        "[suite]\nname = \"x\"\ntimeout_s = 1e20\n[[model]]\nname = \"m\"\n[[framework]]\nname = \"f\"\nkind = \"command\"\nsteps = { prove = [\"true\"] }\n",
    );
    assert_exit2(
        &run_suite(dir.path(), &s),
        &["t.toml:3:13", "timeout_s", "out of range"],
    );
    assert_exit2(
        &run(&["exec", "--timeout", "1e20", "--", "true"]),
        &["--timeout", "out of range"],
    );
    assert_exit2(
        &run(&["exec", "-n", "4294967295", "-w", "4294967295", "--", "true"]),
        &["--runs"],
    );
    let s = write(
        dir.path(),
        "r.toml",
        "[suite]\nname = \"x\"\nrepetitions = 4000000000\n[[model]]\nname = \"m\"\n[[framework]]\nname = \"f\"\nkind = \"command\"\nsteps = { prove = [\"true\"] }\n",
    );
    assert_exit2(
        &run_suite(dir.path(), &s),
        &["r.toml:3:1", "repetitions", "at most"],
    );
}

/// Defect 12: `memory_limit = "0"` was accepted, and `{setting.k}` without a setting `k`
/// reached the command literally.
#[test]
fn zero_memory_limits_and_unknown_setting_placeholders_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let s = write(
        dir.path(),
        "z.toml",
        "[suite]\nname = \"x\"\nmemory_limit = \"0\"\n[[model]]\nname = \"m\"\n[[framework]]\nname = \"f\"\nkind = \"command\"\nsteps = { prove = [\"true\"] }\n",
    );
    assert_exit2(
        &run_suite(dir.path(), &s),
        &["z.toml:3:16", "memory_limit", "`0`"],
    );
    assert_exit2(
        &run(&["exec", "--memory-limit", "0", "--", "true"]),
        &["--memory-limit 0", "out of range"],
    );
    let s = write(
        dir.path(),
        "p.toml",
        "[suite]\nname = \"x\"\n[[model]]\nname = \"m\"\n[[framework]]\nname = \"f\"\nkind = \"command\"\nsettings = [{ level = 1 }, { depth = 2 }]\nsteps = { prove = [\"echo\", \"{setting.level}\"] }\n",
    );
    assert_exit2(
        &run_suite(dir.path(), &s),
        &["p.toml:9:19", "{setting.level}", "variant 2", "depth"],
    );
}

/// Defect 4: the HTML report looped forever on a series value of f64::MAX.
#[test]
fn html_report_of_a_huge_series_value_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let s = write(
        dir.path(),
        "s.toml",
        "[suite]\nname = \"x\"\n[[model]]\nname = \"m\"\n[[framework]]\nname = \"f\"\nkind = \"command\"\nsteps = { prove = [\"sleep\", \"0.1\"] }\n",
    );
    let out = dir.path().join("out");
    let o = run(&["run", &s, "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    let series = &mut v["cells"][0]["repetitions"][0]["steps"][0]["series"];
    let t = series["t_s"].as_array_mut().expect("a sampled series");
    *t.last_mut().unwrap() = serde_json::json!(f64::MAX);
    let bad = dir.path().join("max.json");
    std::fs::write(&bad, serde_json::to_vec(&v).unwrap()).unwrap();
    let html = dir.path().join("r.html");
    let o = run_within(
        &[
            "report",
            bad.to_str().unwrap(),
            "-o",
            html.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(std::fs::read_to_string(&html).unwrap().contains("<svg"));
}

/// Defect 9: `/dev/zero` as a suite, results file or ONNX model hung while memory grew.
#[test]
fn endless_inputs_are_errors_naming_the_file() {
    let limit = Duration::from_secs(60);
    assert_exit2(
        &run_within(&["report", "--format", "csv", "/dev/zero"], limit),
        &["/dev/zero", "results file is larger than"],
    );
    assert_exit2(
        &run_within(&["run", "/dev/zero"], limit),
        &["/dev/zero", "suite is larger than 16.0 MiB"],
    );
    let dir = tempfile::tempdir().unwrap();
    let s = write(
        dir.path(),
        "o.toml",
        "[suite]\nname = \"x\"\n[[model]]\nname = \"m\"\nonnx = \"/dev/zero\"\n[[framework]]\nname = \"f\"\nkind = \"command\"\nsteps = { prove = [\"true\"] }\n",
    );
    assert_exit2(
        &run_within(
            &["run", &s, "--out", dir.path().join("o").to_str().unwrap()],
            limit,
        ),
        &["o.toml:5:8", "/dev/zero", "not a regular file"],
    );
}

/// Defect 10: duplicate cell ids were accepted (one silently dropped), and `a/b` and
/// `a_b` shared a work directory.
#[test]
fn duplicate_and_colliding_cell_ids_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let fw = "[[framework]]\nname = \"f\"\nkind = \"command\"\nsteps = { prove = [\"true\"] }\n";
    let s = write(
        dir.path(),
        "d.toml",
        "[suite]\nname = \"x\"\n[[model]]\nname = \"m\"\n[[framework]]\nname = \"f\"\nkind = \"command\"\nsettings = [{ a = 1 }, { a = \"1\" }]\nsteps = { prove = [\"true\"] }\n",
    );
    assert_exit2(
        &run_suite(dir.path(), &s),
        &["d.toml:4:8", "m/f/a=1/native", "twice"],
    );
    let s = write(
        dir.path(),
        "c.toml",
        &format!(
            "[suite]\nname = \"x\"\n[[model]]\nname = \"a/b\"\n[[model]]\nname = \"a_b\"\n{fw}"
        ),
    );
    assert_exit2(
        &run_suite(dir.path(), &s),
        &[
            "c.toml:6:8",
            "a/b/f/default/native",
            "a_b/f/default/native",
            "work directory",
        ],
    );
}

/// Defect 11: names with NUL, newline or terminal escapes were accepted and printed raw;
/// a 10,000-character name passed validation and failed at run time.
#[test]
fn unprintable_and_overlong_names_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let fw = "[[framework]]\nname = \"f\"\nkind = \"command\"\nsteps = { prove = [\"true\"] }\n";
    for (name, needle) in [
        ("a\\u001b[31mred", "control character"),
        ("a\\nb", "control character"),
        ("a\\u0000b", "control character"),
        (&"x".repeat(10_000), "at most 128"),
    ] {
        let s = write(
            dir.path(),
            "n.toml",
            &format!("[suite]\nname = \"x\"\n[[model]]\nname = \"{name}\"\n{fw}"),
        );
        let o = run_suite(dir.path(), &s);
        assert_exit2(&o, &["n.toml:4:8", needle]);
        assert!(!o.stderr.contains(&0x1b), "a raw ESC reached the terminal");
    }
}

/// Defect 11 (output side): a step's stderr with terminal escapes reached the terminal raw.
#[test]
fn escape_sequences_from_step_output_are_escaped_on_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let s = write(
        dir.path(),
        "e.toml",
        "[suite]\nname = \"x\"\n[[model]]\nname = \"m\"\n[[framework]]\nname = \"f\"\nkind = \"command\"\nsteps = { prove = [\"sh\", \"-c\", \"printf 'boom \\\\033]0;pwned\\\\007\\\\033[2J\\\\n' >&2; exit 3\"] }\n",
    );
    let out = dir.path().join("out");
    let o = run(&["run", &s, "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let all = [o.stdout.as_slice(), o.stderr.as_slice()].concat();
    assert!(
        !all.contains(&0x1b),
        "a raw ESC reached the terminal: {}",
        text(&o)
    );
    assert!(!all.contains(&0x07), "a raw BEL reached the terminal");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("boom \\u{1b}]0;pwned"),
        "{}",
        text(&o)
    );
}

/// Defect 8: CSV cells were not neutralised against formula injection.
#[test]
fn csv_export_neutralises_formulas() {
    let dir = tempfile::tempdir().unwrap();
    let s = write(
        dir.path(),
        "f.toml",
        "[suite]\nname = \"x\"\n[[model]]\nname = \"=cmd|' /C calc'!A0\"\n[[model]]\nname = \"@SUM(A1)\"\n[[framework]]\nname = \"+f\"\nkind = \"command\"\nsteps = { prove = [\"true\"] }\n",
    );
    let out = dir.path().join("out");
    let o = run(&["run", &s, "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let o = run(&[
        "report",
        out.join("results.json").to_str().unwrap(),
        "--format",
        "csv",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let csv = String::from_utf8_lossy(&o.stdout).into_owned();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let mut n = 0;
    for rec in reader.records() {
        let rec = rec.unwrap();
        for field in rec.iter() {
            assert!(
                !field.starts_with(['=', '+', '-', '@', '\t', '\r'])
                    || field.trim().parse::<f64>().is_ok(),
                "a formula reached the CSV: {field}"
            );
        }
        assert!(rec[0].starts_with("'+f"), "{csv}");
        n += 1;
    }
    assert_eq!(n, 2, "{csv}");
    assert!(
        csv.contains("'=cmd|' /C calc'!A0") && csv.contains("'@SUM(A1)"),
        "{csv}"
    );
}

/// Found by the suite property test: huge model widths (or a huge kernel with no
/// convolution) overflowed the parameter count and panicked while the suite was read.
#[test]
fn huge_model_dimensions_are_input_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let fw = "[[framework]]\nname = \"f\"\nkind = \"command\"\nsteps = { prove = [\"true\"] }\n";
    let s = write(
        dir.path(),
        "h.toml",
        &format!("[suite]\nname = \"x\"\n[[model]]\nname = \"m\"\nkind = \"mlp\"\nhidden = [9223372036854775807, 4294967296]\n{fw}"),
    );
    assert_exit2(
        &run_suite(dir.path(), &s),
        &["h.toml:6:10", "hidden", "at most"],
    );
    let s = write(
        dir.path(),
        "k.toml",
        &format!("[suite]\nname = \"x\"\n[[model]]\nname = \"m\"\nkind = \"cnn\"\nkernel = 9223372036854775807\nconv = []\n{fw}"),
    );
    let o = run(&["list", &s]);
    assert!(matches!(o.status.code(), Some(0 | 2)), "{}", text(&o));
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("panicked"),
        "{}",
        text(&o)
    );
}

/// `zkprof list | head -1`: a reader that goes away ends the listing quietly, the way it ends
/// other command-line tools, not with a panic.
#[test]
fn a_closed_stdout_ends_a_listing_without_a_panic() {
    use std::os::unix::process::ExitStatusExt;
    for args in [&["list"][..], &["doctor"][..]] {
        let mut child = zkprof()
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // The read end closes before zkprof has written anything.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            out.status.success() || out.status.signal() == Some(libc::SIGPIPE),
            "{args:?}: {:?} {stderr}",
            out.status
        );
    }
}
