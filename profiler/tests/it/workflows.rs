//! The GitHub Actions workflows: actionlint passes on both, every action is pinned by a
//! commit SHA, and the matrix planner (`.ci/bench-matrix.py`) builds the matrix that
//! `bench.yml` reads.
//!
//! The tools come from `.ci/install-matrix.sh`; these tests install nothing. Where a tool
//! is missing they skip with a reason, except under `CI=true`, where they fail.

use crate::support::{combined, in_ci, repo};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Output};

const WORKFLOWS: [&str; 2] = [".github/workflows/ci.yml", ".github/workflows/bench.yml"];

/// The tool on PATH; `None` (skip) when missing, a failure when `CI=true`.
fn required_tool(tool: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let why = format!("`{tool}` is not on PATH; .ci/install-matrix.sh installs it");
        if in_ci() {
            panic!("{why} (CI=true: required)");
        }
        eprintln!("skipping: {why}");
    }
    found
}

#[test]
fn actionlint_passes_on_both_workflows() {
    let Some(actionlint) = required_tool("actionlint") else {
        return;
    };
    let version = Command::new(&actionlint)
        .arg("-version")
        .output()
        .expect("actionlint runs");
    eprintln!(
        "actionlint {}",
        combined(&version).lines().next().unwrap_or("?")
    );
    let o = Command::new(&actionlint)
        .arg("-no-color")
        .args(WORKFLOWS)
        .current_dir(repo())
        .output()
        .expect("actionlint runs");
    assert!(
        o.status.success(),
        "actionlint found problems:\n{}",
        combined(&o)
    );

    // The linter really lints: a workflow that needs a job it does not have is refused.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "on: push\njobs:\n  a:\n    needs: missing\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n",
    )
    .unwrap();
    let o = Command::new(&actionlint)
        .arg("-no-color")
        .arg(&bad)
        .output()
        .expect("actionlint runs");
    assert_eq!(o.status.code(), Some(1), "{}", combined(&o));
    assert!(combined(&o).contains("missing"), "{}", combined(&o));
}

#[test]
fn every_action_is_pinned_by_commit_sha() {
    for wf in WORKFLOWS {
        let body = std::fs::read_to_string(repo().join(wf)).unwrap();
        let mut count = 0;
        for (n, line) in body.lines().enumerate() {
            let Some(rest) = line
                .trim_start()
                .trim_start_matches("- ")
                .strip_prefix("uses:")
            else {
                continue;
            };
            let (target, comment) = rest.split_once('#').unwrap_or((rest, ""));
            let target = target.trim();
            if target.starts_with("./") {
                continue;
            }
            count += 1;
            let (action, sha) = target.split_once('@').unwrap_or((target, ""));
            assert!(
                action.contains('/'),
                "{wf}:{}: `{target}` is not owner/repo@sha",
                n + 1
            );
            assert!(
                sha.len() == 40
                    && sha
                        .chars()
                        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
                "{wf}:{}: `{target}` is not pinned by a full commit SHA",
                n + 1
            );
            assert!(
                !comment.trim().is_empty(),
                "{wf}:{}: say which release the SHA is, in a comment",
                n + 1
            );
        }
        assert!(count > 0, "{wf} uses no actions");
    }
}

fn planner(args: &[&str]) -> Option<(Output, String)> {
    let python = required_tool("python3")?;
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("github_output");
    let o = Command::new(python)
        .arg(".ci/bench-matrix.py")
        .args(args)
        .arg("--github-output")
        .arg(&out_file)
        .current_dir(repo())
        .env_remove("GITHUB_OUTPUT")
        .output()
        .expect("python3 runs");
    Some((o, std::fs::read_to_string(&out_file).unwrap_or_default()))
}

#[test]
fn the_planner_builds_the_matrix_bench_yml_reads() {
    let runners = r#"{"hosted": "ubuntu-latest", "gpu": {"runs-on": ["self-hosted", "gpu"], "shards": 1, "frameworks": ["gzip-stream"]}}"#;
    let Some((o, outputs)) = planner(&[
        "suites/matrix-smoke.toml",
        "--shards",
        "3",
        "--frameworks",
        "",
        "--runners",
        runners,
    ]) else {
        return;
    };
    assert!(o.status.success(), "{}", combined(&o));
    let get = |key: &str| -> Value {
        let line = outputs
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .expect(key);
        serde_json::from_str(line).unwrap()
    };
    let include = get("matrix")["include"].as_array().unwrap().clone();
    assert_eq!(get("runners"), serde_json::json!(["hosted", "gpu"]));
    // Two frameworks x three shards on the hosted runner, one framework x one shard on the GPU.
    assert_eq!(include.len(), 7, "{include:?}");
    let hosted: BTreeSet<(String, u64)> = include
        .iter()
        .filter(|j| j["runner"] == "hosted")
        .map(|j| {
            (
                j["framework"].as_str().unwrap().to_string(),
                j["shard"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(hosted.len(), 6);
    let gpu: Vec<&Value> = include.iter().filter(|j| j["runner"] == "gpu").collect();
    assert_eq!(gpu.len(), 1);
    assert_eq!(gpu[0]["runs_on"], serde_json::json!(["self-hosted", "gpu"]));
    assert_eq!(
        (gpu[0]["shard"].as_u64(), gpu[0]["shards"].as_u64()),
        (Some(1), Some(1))
    );

    // Every `matrix.KEY` that bench.yml reads is in every entry.
    let bench = std::fs::read_to_string(repo().join(".github/workflows/bench.yml")).unwrap();
    let used: BTreeSet<&str> = bench
        .match_indices("matrix.")
        .filter(|(i, _)| {
            // `matrix.KEY` in an expression, not `ci-matrix.md` in a comment.
            let before = bench[..*i].chars().next_back().unwrap_or(' ');
            !(before.is_ascii_alphanumeric() || "-_/.".contains(before))
        })
        .map(|(i, m)| {
            let rest = &bench[i + m.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .filter(|k| !k.is_empty())
        .collect();
    assert!(
        used.contains("runs_on") && used.contains("shard"),
        "{used:?}"
    );
    for job in &include {
        for key in &used {
            assert!(
                job.get(*key).is_some(),
                "bench.yml reads matrix.{key}, missing in {job}"
            );
        }
    }

    // An empty --runners means the default: a hosted x86-64 and a hosted arm64 runner.
    let (o, outputs) = planner(&["suites/matrix-smoke.toml", "--runners", ""]).unwrap();
    assert!(o.status.success(), "{}", combined(&o));
    assert!(outputs.contains("runners=[\"x64\",\"arm64\"]"), "{outputs}");

    // bench.yml's defaults (the dispatch input, and the `env:` block a release reads) are
    // the planner's.
    let script = std::fs::read_to_string(repo().join(".ci/bench-matrix.py")).unwrap();
    let default = script
        .lines()
        .find_map(|l| l.strip_prefix("DEFAULT_RUNNERS = '"))
        .and_then(|l| l.strip_suffix('\''))
        .expect("DEFAULT_RUNNERS in .ci/bench-matrix.py");
    assert_eq!(
        bench.matches(default).count(),
        2,
        "bench.yml should default to {default} in its input and its env block"
    );

    // The report job merges the shards of every runner into one multi-host results file.
    assert!(
        bench.contains("zkprof merge \"${files[@]}\" -o merged/results.json"),
        "bench.yml should merge all shards into merged/results.json"
    );
}

#[test]
fn the_planner_refuses_bad_input() {
    let cases: [(&[&str], &str); 6] = [
        (&["suites/matrix-smoke.toml", "--shards", "0"], "--shards"),
        (
            &["suites/matrix-smoke.toml", "--runners", "{not json"],
            "not valid JSON",
        ),
        (
            &["suites/matrix-smoke.toml", "--frameworks", "ezkl"],
            "`ezkl` is not in",
        ),
        (
            &[
                "suites/matrix-smoke.toml",
                "--runners",
                r#"{"big_cpu": "x"}"#,
            ],
            "letters, digits and '-'",
        ),
        (
            &["suites/matrix-smoke.toml", "--runners", r#"{"gpu": []}"#],
            "non-empty list",
        ),
        (&["suites/absent.toml"], "cannot read suite"),
    ];
    for (args, expect) in cases {
        let Some((o, outputs)) = planner(args) else {
            return;
        };
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", combined(&o));
        assert!(
            combined(&o).contains(expect),
            "{args:?}: expected `{expect}` in {}",
            combined(&o)
        );
        assert!(
            !combined(&o).contains("Traceback"),
            "{args:?}: {}",
            combined(&o)
        );
        assert!(outputs.is_empty(), "{args:?} wrote outputs: {outputs}");
    }
}
