//! The commands through the real binary: outputs, exit codes, and bad input.

use super::fixtures;
use crate::support::{repo, streams, zkprof};
use std::path::Path;
use std::process::Output;

/// zkprof with `args`, run in `cwd`.
fn run_in(args: &[&str], cwd: &Path) -> Output {
    zkprof()
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("zkprof runs")
}

#[test]
fn report_writes_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let a = fixtures().join("a.json");
    let a = a.to_str().unwrap();
    for (format, file, needle) in [
        ("html", "r.html", "<!DOCTYPE html>"),
        ("csv", "r.csv", "Framework,Architecture"),
        ("markdown", "r.md", "## zkprof results"),
        ("bencher", "r.bmf.json", "\"latency\""),
        ("github-action-benchmark", "r.gab.json", "\"unit\": \"s\""),
    ] {
        let o = run_in(&["report", a, "--format", format, "-o", file], dir.path());
        assert!(o.status.success(), "{format}: {:?}", streams(&o));
        let body = std::fs::read_to_string(dir.path().join(file)).unwrap();
        assert!(body.contains(needle), "{format}");
    }
    // Default: html to report.html; other formats to stdout.
    let o = run_in(&["report", a], dir.path());
    assert!(o.status.success());
    assert!(dir.path().join("report.html").exists());
    let o = run_in(&["report", a, "--format", "csv"], dir.path());
    assert!(streams(&o).0.starts_with("Framework,"));
}

#[test]
fn bad_results_files_are_clear_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(fixtures().join("a.json")).unwrap();
    let cases = [
        (
            "other-version.json",
            good.replacen("zkprof/results/v1", "zkprof/results/v9", 1),
            "not supported",
        ),
        (
            "truncated.json",
            good[..good.len() / 2].to_string(),
            "not valid JSON",
        ),
        ("empty.json", String::new(), "empty file"),
        (
            "wrong-shape.json",
            "{\"schema\": \"zkprof/results/v1\", \"cells\": 3}".into(),
            "does not match",
        ),
    ];
    let a = fixtures().join("a.json");
    let a = a.to_str().unwrap();
    for (name, body, expect) in cases {
        std::fs::write(dir.path().join(name), body).unwrap();
        for args in [
            vec!["report", name],
            vec!["report", name, "--format", "csv"],
            vec!["compare", a, name],
            vec!["compare", name, a],
            vec!["reproduce", "--reference", "ref.json", name],
        ] {
            let mut args = args.clone();
            let refp = repo().join("reports/reference/zkml-benchmark-2024.json");
            let refs = refp.to_str().unwrap().to_string();
            for x in args.iter_mut() {
                if *x == "ref.json" {
                    *x = &refs;
                }
            }
            let o = run_in(&args, dir.path());
            let (_, err) = streams(&o);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
            assert!(
                err.contains(name) && err.contains(expect),
                "{args:?}: {err}"
            );
            assert!(!err.contains("panicked"), "{err}");
        }
    }
    let o = run_in(&["report", "missing.json"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(streams(&o).1.contains("missing.json"));
}

#[test]
fn bad_reference_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (name, body, expect) in [
        ("empty.csv", "", "empty file"),
        ("cut.json", "{\"schema\": \"zkprof/reference/v1\", \"rows\": [", "line 1"),
        ("v9.json", "{\"schema\": \"zkprof/reference/v9\", \"source\": {\"title\": \"\", \"url\": \"\"}, \"hardware\": \"\", \"rows\": []}", "not supported"),
        ("header.csv", "a,b,c\n1,2,3\n", "not the 2024"),
    ] {
        std::fs::write(dir.path().join(name), body).unwrap();
        let o = run_in(&["reproduce", "--reference", name], dir.path());
        let (_, err) = streams(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(name) && err.contains(expect), "{name}: {err}");
    }
}

#[test]
fn reproduce_prints_a_row_per_published_dnn_cell() {
    let refp = repo().join("reports/reference/zkml-benchmark-2024.json");
    let a = fixtures().join("a.json");
    let o = run_in(
        &[
            "reproduce",
            "--reference",
            refp.to_str().unwrap(),
            "--dnn-only",
            a.to_str().unwrap(),
        ],
        &fixtures(),
    );
    let (out, err) = streams(&o);
    assert!(o.status.success(), "{err}");
    let rows: Vec<&str> = out.lines().filter(|l| l.starts_with("dnn ")).collect();
    assert_eq!(rows.len(), 25, "{out}");
    assert!(!out.lines().any(|l| l.starts_with("cnn ")));
    assert!(rows
        .iter()
        .any(|l| l.contains("opml") && l.contains("not run: no cell for opml")));
    // Without results: every row, each saying why there is nothing of ours.
    let o = run_in(
        &["reproduce", "--reference", refp.to_str().unwrap()],
        &fixtures(),
    );
    let (out, _) = streams(&o);
    assert_eq!(
        out.lines()
            .filter(|l| l.contains("not run: no results file given"))
            .count(),
        41
    );
    // The published CSV itself also loads, where it is available.
    let shared = repo().join("../shared/reference/zkml-benchmark-2024/benchmark_results.csv");
    if shared.exists() {
        let o = run_in(
            &[
                "reproduce",
                "--reference",
                shared.to_str().unwrap(),
                "--format",
                "json",
            ],
            &fixtures(),
        );
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["lines"].as_array().unwrap().len(), 41);
        assert!(v["published_hardware"]
            .as_str()
            .unwrap()
            .starts_with("unknown"));
    }
}

#[test]
fn compare_shows_verdicts_and_fingerprint_diff() {
    let dir = tempfile::tempdir().unwrap();
    // The same run, as if from another machine: a different CPU and memory size.
    let mut b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("b.json")).unwrap()).unwrap();
    b["host"]["cpu_model"] = "Other CPU 9000".into();
    b["host"]["memory_bytes"] = (64u64 << 30).into();
    std::fs::write(
        dir.path().join("b.json"),
        serde_json::to_string(&b).unwrap(),
    )
    .unwrap();
    let a = fixtures().join("a.json");
    let o = run_in(&["compare", a.to_str().unwrap(), "b.json"], dir.path());
    let (out, err) = streams(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("Fingerprint differences"), "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("cpu_model")
            && l.contains("AMD EPYC")
            && l.contains("Other CPU 9000")),
        "{out}"
    );
    assert!(out.lines().any(|l| l.starts_with("memory_bytes")));
    assert!(
        !out.lines().any(|l| l.starts_with("hostname")),
        "equal fields are not listed"
    );
    // Every cell of the suite has a line in each metric's table; failed ones point to why.
    assert_eq!(
        out.lines().filter(|l| l.starts_with("mnist-")).count(),
        2 * 15,
        "{out}"
    );
    assert!(out.contains("failed [1]"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("[1] ") && l.contains("failed: prove: exit 3")),
        "{out}"
    );
    assert!(out.lines().all(|l| l.chars().count() <= 120), "{out}");
    let o = run_in(
        &["compare", a.to_str().unwrap(), "b.json", "--format", "json"],
        dir.path(),
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["cells"].as_array().unwrap().len(), 15);
    assert_eq!(v["sides"].as_array().unwrap().len(), 2);
    let o = run_in(&["compare", a.to_str().unwrap()], dir.path());
    assert_eq!(
        o.status.code(),
        Some(2),
        "one file of one host: nothing to compare"
    );
    assert!(streams(&o).1.contains("one host only"), "{}", streams(&o).1);
}

#[test]
fn compare_and_reproduce_write_markdown_and_json() {
    let a = fixtures().join("a.json");
    let b = fixtures().join("b.json");
    let o = run_in(
        &[
            "compare",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--format",
            "markdown",
        ],
        &fixtures(),
    );
    let (out, err) = streams(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.contains("| cell | "), "{out}");
    assert!(out.contains("| geometric mean ("), "{out}");
    assert!(
        !out.contains("<script>") && out.contains("&lt;script&gt;"),
        "{out}"
    );
    let refp = repo().join("reports/reference/zkml-benchmark-2024.json");
    let o = run_in(
        &[
            "reproduce",
            "--reference",
            refp.to_str().unwrap(),
            a.to_str().unwrap(),
            "--format",
            "markdown",
        ],
        &fixtures(),
    );
    let (out, _) = streams(&o);
    assert!(out.contains("| kind | framework |"), "{out}");
    assert_eq!(out.lines().filter(|l| l.starts_with("| dnn |")).count(), 25);
}

#[test]
fn a_fresh_run_renders_in_every_format() {
    // The whole path on this machine: `zkprof run` of a small command suite, then reports.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("suite.toml"),
        r#"
[suite]
name = "fresh"
repetitions = 2

[[model]]
name = "tiny-16_8_4"

[[framework]]
name = "ok-prover"
kind = "command"
steps = { setup = ["sh", "-c", "sleep 0.01"], prove = ["sh", "-c", "head -c 2000000 /dev/zero | tail -c 1 >/dev/null; sleep 0.05"] }

[[framework]]
name = "bad-prover"
kind = "command"
steps = { prove = ["sh", "-c", "echo 'no circuit for op <Foo>' >&2; exit 4"] }
"#,
    )
    .unwrap();
    let o = run_in(&["run", "suite.toml", "--out", "out"], dir.path());
    assert_eq!(
        o.status.code(),
        Some(1),
        "one cell fails: {:?}",
        streams(&o)
    );
    for format in [
        "html",
        "csv",
        "markdown",
        "bencher",
        "github-action-benchmark",
    ] {
        let o = run_in(
            &["report", "out/results.json", "--format", format, "-o", "-"],
            dir.path(),
        );
        let (out, err) = streams(&o);
        assert!(o.status.success(), "{format}: {err}");
        assert!(out.contains("ok-prover"), "{format}: {out}");
        if format == "html" {
            assert!(
                out.contains("no circuit for op &lt;Foo&gt;"),
                "the failure's stderr is shown"
            );
        }
    }
    let o = run_in(
        &["compare", "out/results.json", "out/results.json"],
        dir.path(),
    );
    let (out, _) = streams(&o);
    assert!(out.contains("Fingerprints: identical"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("tiny-16_8_4 · ok-prover") && l.contains("≈")),
        "{out}"
    );
}

#[test]
fn report_open_uses_xdg_open_or_says_how() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let a = fixtures().join("a.json");
    let a = a.to_str().unwrap();
    let run = |path: &str| {
        zkprof()
            .args(["report", a, "-o", "r.html", "--open"])
            .current_dir(dir.path())
            .env("PATH", path)
            .output()
            .expect("zkprof runs")
    };
    // No opener on PATH: the report is written and the message says what to do.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = run(empty.to_str().unwrap());
    let (_, err) = streams(&o);
    assert!(o.status.success(), "{err}");
    assert!(dir.path().join("r.html").exists());
    assert!(
        err.contains("xdg-open is not on PATH") && err.contains("r.html in a browser"),
        "{err}"
    );
    // An opener on PATH gets the report's absolute path.
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let log = dir.path().join("opened.txt");
    let script = bin.join("xdg-open");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$@\" > '{}'\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = run(&format!("{}:/usr/bin:/bin", bin.display()));
    let (_, err) = streams(&o);
    assert!(
        o.status.success() && err.contains("opened with xdg-open"),
        "{err}"
    );
    let opened = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        opened.trim(),
        dir.path()
            .join("r.html")
            .canonicalize()
            .unwrap()
            .to_str()
            .unwrap()
    );
    // A failing opener is reported, not fatal.
    std::fs::write(&script, "#!/bin/sh\nexit 4\n").unwrap();
    let o = run(&format!("{}:/usr/bin:/bin", bin.display()));
    let (_, err) = streams(&o);
    assert!(
        o.status.success() && err.contains("could not open it"),
        "{err}"
    );
    // --open with stdout is bad input.
    let o = zkprof()
        .args(["report", a, "-o", "-", "--open"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{:?}", streams(&o));
    assert!(streams(&o).1.contains("--open needs a file"));
}

#[test]
fn report_with_a_reference_shows_the_reproduction_table() {
    let refp = repo().join("reports/reference/zkml-benchmark-2024.json");
    let a = fixtures().join("a.json");
    let t = tempfile::tempdir().unwrap();
    let html = t.path().join("r.html");
    let o = run_in(
        &[
            "report",
            a.to_str().unwrap(),
            "--reference",
            refp.to_str().unwrap(),
            "-o",
            html.to_str().unwrap(),
        ],
        &fixtures(),
    );
    assert!(o.status.success(), "{:?}", streams(&o));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("id=\"reproduce\""), "no reproduction section");
    assert!(page.contains("of 41 rows reproduced"), "no summary line");
    assert!(page.contains("7.1.4"), "no published version");
    let report_as = |format: &str| {
        let args = [
            "report",
            a.to_str().unwrap(),
            "--reference",
            refp.to_str().unwrap(),
        ];
        run_in(&[&args[..], &["--format", format]].concat(), &fixtures())
    };
    let o = report_as("markdown");
    let (out, err) = streams(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        out.contains("## Published table against ours") && out.contains("rows reproduced"),
        "{out}"
    );
    let o = report_as("csv");
    let (_, err) = streams(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("zkprof reproduce --reference"), "{err}");
}

#[test]
fn reproduce_json_has_verdicts_versions_and_the_published_method() {
    let refp = repo().join("reports/reference/zkml-benchmark-2024.json");
    let a = fixtures().join("a.json");
    let o = run_in(
        &[
            "reproduce",
            "--reference",
            refp.to_str().unwrap(),
            "--format",
            "json",
            a.to_str().unwrap(),
        ],
        &fixtures(),
    );
    let (out, err) = streams(&o);
    assert!(o.status.success(), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let lines = v["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 41);
    let tally = &v["tally"];
    let counted: u64 = [
        "reproduced",
        "not_reproduced",
        "other_version",
        "unknown_version",
        "other_test_size",
        "incomplete",
        "not_run",
    ]
    .iter()
    .map(|k| tally[k].as_u64().unwrap())
    .sum();
    assert_eq!(counted, 41, "{tally}");
    for l in lines {
        let fam = l["published"]["framework"].as_str().unwrap();
        if fam.starts_with("ezkl") {
            assert_eq!(l["published_version"], "7.1.4", "{l}");
        }
        if l["verdict"] == "not_run" {
            assert!(l["ours_prove_s"].is_null(), "{l}");
            continue;
        }
        // circom's published time is the prove alone: ours by that method is our prove step.
        if fam.starts_with("circom") {
            assert_eq!(l["ours_published_method_s"], l["ours_prove_s"], "{l}");
        }
        // The fixture's EZKL cells skipped compile and setup (cached): no published-method time.
        if fam.starts_with("ezkl") {
            assert!(
                l["ours_published_method_s"].is_null() && l["time_ratio"].is_null(),
                "{l}"
            );
        }
    }
}

/// `a.json` with its EZKL cells marked as run by EZKL `version` (id and info).
fn with_ezkl_version(dir: &std::path::Path, version: &str) -> std::path::PathBuf {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("a.json")).unwrap()).unwrap();
    for c in v["cells"].as_array_mut().unwrap() {
        if c["framework"] != "ezkl" {
            continue;
        }
        let id = c["id"].as_str().unwrap().to_string();
        let mut parts: Vec<String> = id.split('/').map(String::from).collect();
        parts[2] = format!("{},version={version}", parts[2]);
        c["id"] = parts.join("/").into();
        c["info"]["ezkl_version"] = version.into();
    }
    let p = dir.join(format!("ezkl-{version}.json"));
    std::fs::write(&p, serde_json::to_string(&v).unwrap()).unwrap();
    p
}

#[test]
fn compare_pairs_the_cells_of_two_framework_versions() {
    let t = tempfile::tempdir().unwrap();
    let old = with_ezkl_version(t.path(), "7.1.4");
    let new = with_ezkl_version(t.path(), "23.0.5");
    let o = run_in(
        &[
            "compare",
            old.to_str().unwrap(),
            new.to_str().unwrap(),
            "--format",
            "json",
        ],
        &fixtures(),
    );
    let (out, err) = streams(&o);
    assert!(o.status.success(), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let cells = v["cells"].as_array().unwrap();
    let ezkl: Vec<&serde_json::Value> = cells
        .iter()
        .filter(|c| c["id"].as_str().unwrap().contains("/ezkl/"))
        .collect();
    assert!(!ezkl.is_empty());
    for c in ezkl {
        assert!(!c["id"].as_str().unwrap().contains("version="), "{c}");
        assert!(
            c["sides"][0]["status"].is_string() && c["sides"][1]["status"].is_string(),
            "unpaired: {c}"
        );
        assert!(
            c["note"]
                .as_str()
                .unwrap()
                .contains("version 7.1.4 vs 23.0.5"),
            "{c}"
        );
    }
}
