//! The benchmark matrix simulated locally: the shards of `suites/matrix-smoke.toml` run as
//! separate `zkprof run --shard I/N` processes, `zkprof merge` combines them, and the
//! result is compared with one unsharded run. Also the errors of bad shard and merge input.

use crate::support::{combined, repo, zkprof};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

const SHARDS: u32 = 3;

fn suite() -> PathBuf {
    repo().join("suites/matrix-smoke.toml")
}

/// zkprof in `dir`, without the log level of the calling environment.
fn run_in(dir: &Path, args: &[&str]) -> Output {
    zkprof()
        .args(args)
        .current_dir(dir)
        .env_remove("ZKPROF_LOG")
        .output()
        .expect("zkprof runs")
}

fn load(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// (id, status) of every cell of a results file.
fn cells(v: &Value) -> BTreeSet<(String, String)> {
    v["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn ids(v: &Value) -> BTreeSet<String> {
    cells(v).into_iter().map(|(id, _)| id).collect()
}

/// A directory holding `full/` (one unsharded run) and `s1/`..`sN/` (the shards, run
/// as concurrent processes), made once for all tests of this file.
fn fixture() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let suite = suite();
        let suite = suite.to_str().unwrap();
        let common = ["--reps", "1", "--memory-method", "proc"];
        let mut args = vec!["run", suite, "--out", "full"];
        args.extend(common);
        let full = run_in(dir.path(), &args);
        assert_eq!(full.status.code(), Some(0), "{}", combined(&full));
        let children: Vec<_> = (1..=SHARDS)
            .map(|i| {
                zkprof()
                    .args([
                        "run",
                        suite,
                        "--out",
                        &format!("s{i}"),
                        "--shard",
                        &format!("{i}/{SHARDS}"),
                    ])
                    .args(common)
                    .current_dir(dir.path())
                    .output()
            })
            .collect();
        for (i, c) in children.into_iter().enumerate() {
            let c = c.expect("shard runs");
            assert_eq!(
                c.status.code(),
                Some(0),
                "shard {}: {}",
                i + 1,
                combined(&c)
            );
        }
        dir
    })
    .path()
}

fn shard_file(i: u32) -> PathBuf {
    fixture().join(format!("s{i}/results.json"))
}

#[test]
fn shards_partition_the_plan_and_merge_to_the_unsharded_cells() {
    let dir = fixture();
    let full = load(&dir.join("full/results.json"));
    assert_eq!(ids(&full).len(), 8, "the smoke suite has 8 cells");
    let mut seen = BTreeSet::new();
    for i in 1..=SHARDS {
        let s = load(&shard_file(i));
        let rec = &s["shards"][0];
        assert_eq!(
            (rec["index"].as_u64(), rec["count"].as_u64()),
            (Some(i as u64), Some(SHARDS as u64))
        );
        assert_eq!(rec["costs"], "uniform");
        let plan: BTreeSet<String> = serde_json::from_value(rec["plan"].clone()).unwrap();
        assert_eq!(plan, ids(&full), "every shard records the whole plan");
        let mine = ids(&s);
        assert!(!mine.is_empty() && mine.len() <= 3, "shard {i}: {mine:?}");
        assert!(
            mine.is_disjoint(&seen),
            "shard {i} repeats a cell of an earlier shard"
        );
        seen.extend(mine);
    }
    assert_eq!(seen, ids(&full));

    let shards: Vec<String> = (1..=SHARDS).map(|i| format!("s{i}")).collect();
    let mut args = vec!["merge"];
    args.extend(shards.iter().map(String::as_str));
    args.extend(["-o", "merged-all.json"]);
    let out = run_in(dir, &args);
    assert_eq!(out.status.code(), Some(0), "{}", combined(&out));
    assert!(
        combined(&out).contains("8 cells (ok 8"),
        "{}",
        combined(&out)
    );
    let merged = load(&dir.join("merged-all.json"));
    assert_eq!(
        cells(&merged),
        cells(&full),
        "same cells, same outcomes as the unsharded run"
    );
    assert_eq!(merged["shards"].as_array().unwrap().len(), SHARDS as usize);
    let host = full["host"]["fingerprint_id"].as_str().unwrap();
    assert!(merged["cells"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["host_id"] == host));
}

#[test]
fn merging_two_shards_twice_is_idempotent() {
    let dir = fixture();
    let (a, b) = (shard_file(1), shard_file(2));
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let first = run_in(dir, &["merge", a, b, "-o", "m12.json"]);
    assert_eq!(first.status.code(), Some(0), "{}", combined(&first));
    // Missing shard 3 is reported, not fatal.
    assert!(
        combined(&first).contains("missing shard(s): 3/3 of plan"),
        "{}",
        combined(&first)
    );
    let again = run_in(dir, &["merge", a, b, "-o", "m12-again.json"]);
    assert_eq!(again.status.code(), Some(0), "{}", combined(&again));
    let m12 = std::fs::read(dir.join("m12.json")).unwrap();
    assert_eq!(
        m12,
        std::fs::read(dir.join("m12-again.json")).unwrap(),
        "same inputs, same bytes"
    );
    // Merging the merged file again with the same shards changes nothing.
    let re = run_in(dir, &["merge", "m12.json", a, b, "-o", "m12-re.json"]);
    assert_eq!(re.status.code(), Some(0), "{}", combined(&re));
    assert!(combined(&re).contains("kept once"), "{}", combined(&re));
    assert_eq!(m12, std::fs::read(dir.join("m12-re.json")).unwrap());
    // The third shard completes it, and the missing-cells warning goes away.
    let c = shard_file(3);
    let done = run_in(
        dir,
        &["merge", "m12.json", c.to_str().unwrap(), "-o", "m123.json"],
    );
    assert_eq!(done.status.code(), Some(0), "{}", combined(&done));
    let m123 = load(&dir.join("m123.json"));
    assert_eq!(ids(&m123), ids(&load(&dir.join("full/results.json"))));
    assert!(
        m123.get("warnings")
            .is_none_or(|w| !w.to_string().contains("merge: ")),
        "{m123}"
    );
}

fn assert_input_error(o: &Output, expect: &[&str]) {
    let t = combined(o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(!t.contains("panicked"), "{t}");
    for e in expect {
        assert!(t.contains(e), "expected `{e}` in: {t}");
    }
}

#[test]
fn bad_shards_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let suite = suite();
    let suite = suite.to_str().unwrap();
    let run = |shard: &str| run_in(dir.path(), &["run", suite, "--out", "x", "--shard", shard]);
    assert_input_error(&run("0/3"), &["0/3", "numbered from 1", "1/3 to 3/3"]);
    assert_input_error(&run("4/3"), &["4/3", "past the shard count 3"]);
    assert_input_error(&run("1/0"), &["at least 1"]);
    assert_input_error(&run("two/3"), &["expected I/N"]);
    let o = run_in(
        dir.path(),
        &["run", suite, "--out", "x", "--shard-costs", "nope.json"],
    );
    assert_input_error(&o, &["--shard"]);
    let o = run_in(
        dir.path(),
        &[
            "run",
            suite,
            "--out",
            "x",
            "--shard",
            "1/2",
            "--shard-costs",
            "nope.json",
        ],
    );
    assert_input_error(&o, &["nope.json"]);
    assert!(!dir.path().join("x/results.json").exists(), "nothing ran");
}

#[test]
fn bad_merges_are_clear_errors() {
    let dir = fixture();
    let a = shard_file(1);
    let a = a.to_str().unwrap();
    let b = shard_file(2);
    let b = b.to_str().unwrap();
    // The same file twice, by path (also through its directory) or as a copy.
    assert_input_error(
        &run_in(dir, &["merge", a, a, "-o", "x.json"]),
        &["the same file"],
    );
    assert_input_error(
        &run_in(dir, &["merge", "s1", a, "-o", "x.json"]),
        &["the same file"],
    );
    std::fs::copy(a, dir.join("copy.json")).unwrap();
    assert_input_error(
        &run_in(dir, &["merge", a, "copy.json", "-o", "x.json"]),
        &["identical copies"],
    );
    // Results of another suite (or another version of it).
    let mut other = load(Path::new(b));
    other["suite"]["name"] = "another-suite".into();
    std::fs::write(dir.join("other.json"), serde_json::to_vec(&other).unwrap()).unwrap();
    let o = run_in(dir, &["merge", a, "other.json", "-o", "x.json"]);
    assert_input_error(
        &o,
        &[
            "other.json",
            "another-suite",
            "matrix-smoke",
            "--allow-different-suites",
        ],
    );
    let mut newer = load(Path::new(b));
    newer["suite"]["version"] = 2.into();
    std::fs::write(dir.join("v2.json"), serde_json::to_vec(&newer).unwrap()).unwrap();
    assert_input_error(
        &run_in(dir, &["merge", a, "v2.json", "-o", "x.json"]),
        &["version 2", "version 1"],
    );
    let o = run_in(
        dir,
        &[
            "merge",
            a,
            "other.json",
            "--allow-different-suites",
            "-o",
            "x.json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", combined(&o));
    // Not a results file, a missing file, an incomplete merge with --complete.
    let suite = suite();
    assert_input_error(
        &run_in(dir, &["merge", suite.to_str().unwrap(), "-o", "x.json"]),
        &["matrix-smoke.toml"],
    );
    assert_input_error(
        &run_in(dir, &["merge", "absent.json", "-o", "x.json"]),
        &["absent.json", "cannot read"],
    );
    assert_input_error(
        &run_in(dir, &["merge", a, b, "--complete", "-o", "x.json"]),
        &["--complete", "in no input"],
    );
    // Two different runs of one cell.
    let mut rerun = load(Path::new(a));
    rerun["cells"][0]["finished_at"] = "2099-01-01T00:00:00+00:00".into();
    std::fs::write(dir.join("rerun.json"), serde_json::to_vec(&rerun).unwrap()).unwrap();
    let o = run_in(dir, &["merge", a, "rerun.json", "-o", "x.json"]);
    assert_input_error(&o, &["was run twice", "rerun.json", "--duplicates newest"]);
    let o = run_in(
        dir,
        &[
            "merge",
            a,
            "rerun.json",
            "--duplicates",
            "newest",
            "-o",
            "x.json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", combined(&o));
    assert!(
        combined(&o).contains("kept the run from rerun.json"),
        "{}",
        combined(&o)
    );
}

#[test]
fn shard_costs_from_an_earlier_run_still_partition_the_plan() {
    let dir = fixture();
    let tmp = tempfile::tempdir().unwrap();
    let suite = suite();
    let costs = dir.join("full/results.json");
    let mut seen = BTreeSet::new();
    for i in 1..=2 {
        let shard = format!("{i}/2");
        let args = [
            "run",
            suite.to_str().unwrap(),
            "--out",
            &format!("c{i}"),
            "--shard",
            &shard,
            "--shard-costs",
            costs.to_str().unwrap(),
            "--reps",
            "1",
            "--memory-method",
            "proc",
        ];
        let o = run_in(tmp.path(), &args);
        assert_eq!(o.status.code(), Some(0), "{}", combined(&o));
        let r = load(&tmp.path().join(format!("c{i}/results.json")));
        assert!(
            r["shards"][0]["costs"]
                .as_str()
                .unwrap()
                .starts_with("results:"),
            "{r}"
        );
        let mine = ids(&r);
        assert!(mine.is_disjoint(&seen));
        seen.extend(mine);
    }
    assert_eq!(seen, ids(&load(&costs)));
}

#[test]
fn resume_refuses_another_shard() {
    let dir = tempfile::tempdir().unwrap();
    let suite = suite();
    let s = suite.to_str().unwrap();
    let base = ["--reps", "1", "--memory-method", "proc", "--out", "r"];
    let mut first = vec!["run", s, "--shard", "1/4"];
    first.extend(base);
    let o = run_in(dir.path(), &first);
    assert_eq!(o.status.code(), Some(0), "{}", combined(&o));
    let mut other = vec!["run", s, "--shard", "2/4", "--resume"];
    other.extend(base);
    assert_input_error(&run_in(dir.path(), &other), &["--resume", "another shard"]);
    let mut same = vec!["run", s, "--shard", "1/4", "--resume"];
    same.extend(base);
    let o = run_in(dir.path(), &same);
    assert_eq!(o.status.code(), Some(0), "{}", combined(&o));
    assert!(
        combined(&o).contains("already finished"),
        "{}",
        combined(&o)
    );
}
