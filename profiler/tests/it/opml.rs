//! The opML adapter end to end against a fake installation: an `mlvm` script that replays the
//! captured output of a real run (`fixtures/opml/`, from ora-io/opml @ d1e05279) with pacing,
//! a fake `go` and `python` for the guest build. It checks the steps (compile cached after
//! the first repetition, prove and verify), the metrics read from the VM's output, the
//! fraud-proof label, the accuracy runs, and the failures: exit 0 without a prediction,
//! roots that differ, a missing installation, a model that is not dense.
//!
//! The real thing (the user's own opML build) is a documented manual check: see
//! `docs/opml.md`.

use crate::support::{in_ci, repo, zkprof};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use zkprof::model::onnx::{write_mlp, write_with_op, DenseLayer};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/opml");

fn layer(outputs: usize, inputs: usize, relu: bool) -> DenseLayer {
    DenseLayer {
        weights: (0..outputs)
            .map(|o| {
                (0..inputs)
                    .map(|i| ((o * 7 + i * 3) % 5) as f32 / 5.0 - 0.4)
                    .collect()
            })
            .collect(),
        bias: vec![0.1; outputs],
        relu,
    }
}

fn script(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A fake opML checkout under `dir/opml` and fake `go`/`python` under `dir/bin`.
/// `mlvm` replays the real 196_25_10 run (or, for a model without the ggml magic, the real
/// bad-magic run that exits 0), pacing its lines like the VM; with `$FAKE_OPML_DIVERGE` the
/// validator's run (basedir `verify-vm`) prints another root.
fn fake_install(dir: &Path) -> PathBuf {
    let home = dir.join("opml");
    script(
        &home.join("mlvm/mlvm"),
        &format!(
            r#"#!/bin/sh
for a in "$@"; do
  case "$a" in
    --basedir=*) base="${{a#--basedir=}}" ;;
    --model=*) model="${{a#--model=}}" ;;
    --data=*) data="${{a#--data=}}" ;;
  esac
done
[ -f "$data" ] || {{ echo "open $data: no such file or directory" >&2; exit 1; }}
fx={FIXTURES}
if [ "$(head -c 4 "$model" 2>/dev/null)" = ggml ]; then t=vm_bench_196_25_10; else t=vm_error_missing_model; fi
root_fix=
case "$base" in *verify-vm) [ -n "$FAKE_OPML_DIVERGE" ] && root_fix='s/0x4a29/0x4a30/' ;; esac
case "$base" in */input-*) [ -n "$FAKE_OPML_HANG" ] && {{ echo $$ >> "$FAKE_OPML_HANG"; exec sleep 60; }} ;; esac
head -n 2 "$fx/$t.stderr" >&2
sleep 0.05
head -n 20 "$fx/$t.stderr" | tail -n +3 >&2
sleep 0.1
tail -n +21 "$fx/$t.stderr" >&2
sleep 0.05
sed -e "s#/build/opml/run/[a-z_0-9]*#$base#" -e "$root_fix" "$fx/$t.stdout"
echo '{{}}' > "$base/checkpoint_final.json"
echo '{{}}' > "$base/checkpoint_4798775.json"
exit 0
"#
        ),
    );
    for f in [
        "mlgo/go.mod",
        "mlgo/go.sum",
        "mlgo/compile.py",
        "mlgo/startup/startup.bin",
    ] {
        std::fs::create_dir_all(home.join(f).parent().unwrap()).unwrap();
        std::fs::write(home.join(f), "").unwrap();
    }
    script(
        &dir.join("bin/go"),
        r#"#!/bin/sh
case "$1" in
  version) echo "go version go1.19.8 linux/amd64 (fake)" ;;
  build) [ "$GOARCH" = mips ] && [ "$GOMIPS" = softfloat ] && [ "$2" = -trimpath ] || exit 3
         sleep 0.1; echo "ELF guest" > "$4" ;;
  *) exit 2 ;;
esac
"#,
    );
    script(
        &dir.join("bin/python"),
        r#"#!/bin/sh
[ "$1" = -c ] && exit 0
sleep 0.05; cp "$2" "$2.bin"
"#,
    );
    home
}

struct Run {
    stdout: String,
    stderr: String,
    results: Value,
}

fn run_suite(dir: &Path, suite: &str, envs: &[(&str, &str)]) -> Run {
    let suite_path = dir.join("suite.toml");
    std::fs::write(&suite_path, suite).unwrap();
    let out_dir = dir.join("out");
    let _ = std::fs::remove_dir_all(&out_dir);
    let mut cmd = zkprof();
    cmd.arg("run")
        .arg(&suite_path)
        .arg("-o")
        .arg(&out_dir)
        .env("ZKPROF_CACHE", dir.join("cache"))
        .env("ZKPROF_OPML_GO", dir.join("bin/go"))
        .env("ZKPROF_OPML_PYTHON", dir.join("bin/python"))
        .env_remove("ZKPROF_OPML_HOME");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let results = std::fs::read_to_string(out_dir.join("results.json"))
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or(Value::Null);
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
        results,
    }
}

fn cell(r: &Run) -> &Value {
    &r.results["cells"][0]
}

fn steps_of(c: &Value, rep: usize) -> Vec<String> {
    c["repetitions"][rep]["steps"]
        .as_array()
        .map(|s| {
            s.iter()
                .map(|x| x["step"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn suite(model: &str, home: Option<&Path>, settings: &str) -> String {
    let home = home
        .map(|h| format!("home = {:?}\n", h.display().to_string()))
        .unwrap_or_default();
    format!(
        "[suite]\nname = \"opml-fake\"\nrepetitions = 2\ntimeout_s = 60\n\n\
         [[model]]\nname = \"m\"\nonnx = \"{model}\"\n\n\
         [[framework]]\nname = \"opml\"\n{home}settings = [{{ {settings} }}]\n"
    )
}

#[test]
fn runs_measures_and_labels_a_fraud_proof() {
    let dir = tempfile::tempdir().unwrap();
    let home = fake_install(dir.path());
    std::fs::write(
        dir.path().join("m.onnx"),
        // 196 inputs: MNIST's test images (14x14) are its real inputs when present.
        write_mlp(&[layer(6, 196, true), layer(10, 6, false)]),
    )
    .unwrap();
    let r = run_suite(
        dir.path(),
        &suite("m.onnx", Some(&home), "accuracy_samples = 3"),
        &[],
    );
    let c = cell(&r);
    assert_eq!(c["status"], "ok", "{}\n{}", c, r.stderr);
    assert_eq!(steps_of(c, 0), ["compile", "prove", "verify"]);
    assert_eq!(steps_of(c, 1), ["prove", "verify"], "the guest is cached");
    assert_eq!(c["info"]["proof_kind"], "fraud_proof");
    assert!(c["info"]["proof_note"]
        .as_str()
        .unwrap()
        .contains("no zero-knowledge proof"));
    assert_eq!(c["metrics"]["mips_steps"], 4_798_775.0);
    assert_eq!(c["metrics"]["prediction"], 7.0);
    assert_eq!(c["metrics"]["verified"], 1.0);
    assert_eq!(
        c["info"]["state_root"],
        "0x4a29759a27abf300aedd755e1b6616a9f6d2e0d69c6d1c779d24615d60659d8c"
    );
    if zkprof::paths::shared_dir().is_none() && !in_ci() {
        // No real test images here: accuracy is never computed on synthetic inputs.
        assert!(c["info"]["accuracy_not_measured"].is_string(), "{c}");
    } else {
        assert_eq!(c["metrics"]["accuracy_samples"], 3.0, "{c}");
        let loss = c["metrics"]["accuracy_loss_pct"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&loss));
        assert!(c["info"]["accuracy_method"]
            .as_str()
            .unwrap()
            .contains("one mlvm run per input"));
    }
    assert!(c["info"]["opml_home"].as_str().unwrap().ends_with("opml"));
    // The guest was built for MIPS into the artifact cache; the duplicate checkpoint is gone.
    let cached: Vec<_> = walk(&dir.path().join("cache/artifacts/opml"));
    assert!(
        cached.iter().any(|p| p.ends_with("guest.bin")),
        "{cached:?}"
    );
    let vm = dir.path().join("out/cells");
    let checkpoints: Vec<_> = walk(&vm)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("checkpoint"))
        .collect();
    assert!(
        !checkpoints.is_empty()
            && checkpoints
                .iter()
                .all(|p| p.ends_with("checkpoint_final.json")),
        "{checkpoints:?}"
    );
    reports_say_it_is_a_fraud_proof(&dir.path().join("out/results.json"), &r.stdout);
}

const LABEL: &str = "fraud proof (optimistic): no zero-knowledge proof";

/// Terminal, CSV, markdown, HTML, compare and reproduce all carry the label.
fn reports_say_it_is_a_fraud_proof(results: &Path, terminal: &str) {
    assert!(terminal.contains(LABEL), "{terminal}");
    let zk = |args: &[&str]| {
        let out = zkprof().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let res = results.to_str().unwrap();
    let csv = zk(&["report", res, "--format", "csv", "-o", "-"]);
    assert!(csv.contains(&format!("opml [{LABEL}]")), "{csv}");
    let md = zk(&["report", res, "--format", "markdown", "-o", "-"]);
    assert!(
        md.contains("opml \\[fraud proof (optimistic): no zero-knowledge proof\\]"),
        "{md}"
    );
    let html = results.with_file_name("r.html");
    zk(&[
        "report",
        res,
        "--format",
        "html",
        "-o",
        html.to_str().unwrap(),
    ]);
    assert!(std::fs::read_to_string(&html).unwrap().contains(LABEL));
    assert!(zk(&["compare", res, res]).contains(LABEL));
    let reference = repo().join("reports/reference/zkml-benchmark-2024.json");
    let rep = zk(&["reproduce", "--reference", reference.to_str().unwrap(), res]);
    let opml_rows: Vec<&str> = rep
        .lines()
        .filter(|l| l.starts_with("dnn   opml"))
        .collect();
    assert_eq!(opml_rows.len(), 3, "{rep}");
    assert!(opml_rows.iter().all(|l| l.contains(LABEL)), "{rep}");
}

fn walk(p: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            if e.path().is_dir() {
                out.extend(walk(&e.path()));
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

#[test]
fn exit_zero_without_a_prediction_fails_the_cell_with_the_tools_words() {
    let dir = tempfile::tempdir().unwrap();
    let home = fake_install(dir.path());
    // A fake `mlvm` given a model without the magic replays the real bad-magic run (exit 0).
    std::fs::write(dir.path().join("m.onnx"), write_mlp(&[layer(10, 4, false)])).unwrap();
    let bad = r#"#!/bin/sh
for a in "$@"; do case "$a" in --model=*) m="${a#--model=}" ;; esac; done
printf 'lmgg' > "$m.bad"; exec "$0.real" "$@" --model="$m.bad"
"#;
    let mlvm = home.join("mlvm/mlvm");
    std::fs::rename(&mlvm, home.join("mlvm/mlvm.real")).unwrap();
    script(&mlvm, bad);
    let r = run_suite(dir.path(), &suite("m.onnx", Some(&home), ""), &[]);
    let c = cell(&r);
    assert_eq!(c["status"], "failed", "{c}");
    let reason = c["reason"].as_str().unwrap();
    assert!(
        reason.contains("invalid model file (bad magic)"),
        "{reason}"
    );
    assert!(reason.starts_with("prove"), "{reason}");
}

#[test]
fn a_validator_root_that_differs_is_not_verified() {
    let dir = tempfile::tempdir().unwrap();
    let home = fake_install(dir.path());
    std::fs::write(dir.path().join("m.onnx"), write_mlp(&[layer(10, 4, false)])).unwrap();
    let r = run_suite(
        dir.path(),
        &suite("m.onnx", Some(&home), ""),
        &[("FAKE_OPML_DIVERGE", "1")],
    );
    let c = cell(&r);
    assert_eq!(c["metrics"]["verified"], 0.0, "{c}");
    let w = c["warnings"].to_string();
    assert!(w.contains("differs from the submitter"), "{w}");
}

#[test]
fn missing_installations_and_unsupported_models_are_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.onnx"), write_mlp(&[layer(10, 4, false)])).unwrap();
    let r = run_suite(dir.path(), &suite("m.onnx", None, ""), &[]);
    let reason = cell(&r)["reason"].as_str().unwrap_or_default().to_string();
    assert!(reason.contains("ZKPROF_OPML_HOME"), "{reason}");
    // Even a cell that never ran is labelled.
    assert_eq!(cell(&r)["info"]["proof_kind"], "fraud_proof");
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let r = run_suite(
        dir.path(),
        &suite("m.onnx", None, ""),
        &[("ZKPROF_OPML_HOME", empty.to_str().unwrap())],
    );
    let reason = cell(&r)["reason"].as_str().unwrap_or_default().to_string();
    assert!(
        reason.contains("mlvm/mlvm") && reason.contains("ora-io/opml"),
        "{reason}"
    );

    let home = fake_install(dir.path());
    // Without Go or compile.py's Python modules the cell fails at once, saying what to do,
    // and the reason names the commit to build.
    let t = std::time::Instant::now();
    let r = run_suite(
        dir.path(),
        &suite("m.onnx", Some(&home), ""),
        &[
            ("ZKPROF_OPML_GO", ""),
            ("PATH", "/usr/bin:/bin"),
            ("ZKPROF_OPML_PYTHON", "/bin/false"),
        ],
    );
    let reason = cell(&r)["reason"].as_str().unwrap_or_default().to_string();
    assert!(reason.contains("`go` not found on PATH"), "{reason}");
    assert!(
        reason.contains("cannot import pyelftools and rangetree"),
        "{reason}"
    );
    assert!(reason.contains("pip install -r"), "{reason}");
    assert!(
        t.elapsed().as_secs() < 20,
        "fails before any work: {:?}",
        t.elapsed()
    );
    assert!(cell(&r)["repetitions"]
        .as_array()
        .is_none_or(|a| a.is_empty()));
    let r = run_suite(dir.path(), &suite("m.onnx", None, ""), &[]);
    let reason = cell(&r)["reason"].as_str().unwrap_or_default().to_string();
    assert!(
        reason.contains(&format!(
            "at commit {}",
            "d1e0527983bdc97fa9f923121e6547925d5df31e"
        )),
        "{reason}"
    );
    std::fs::write(dir.path().join("conv.onnx"), write_with_op("Conv", 4)).unwrap();
    let r = run_suite(dir.path(), &suite("conv.onnx", Some(&home), ""), &[]);
    let c = cell(&r);
    assert_eq!(c["status"], "unsupported", "{c}");
    assert!(c["reason"].as_str().unwrap().contains("dense"), "{c}");
}

#[test]
fn a_killed_zkprof_leaves_no_accuracy_run_behind() {
    if zkprof::paths::shared_dir().is_none() && !in_ci() {
        eprintln!("skipping: no real test images here, so no accuracy runs to kill");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let home = fake_install(dir.path());
    std::fs::write(
        dir.path().join("m.onnx"),
        write_mlp(&[layer(6, 196, true), layer(10, 6, false)]),
    )
    .unwrap();
    let suite_path = dir.path().join("suite.toml");
    std::fs::write(
        &suite_path,
        suite("m.onnx", Some(&home), "accuracy_samples = 4")
            .replace("repetitions = 2", "repetitions = 1"),
    )
    .unwrap();
    let pids = dir.path().join("hung.pids");
    let mut child = zkprof()
        .arg("run")
        .arg(&suite_path)
        .arg("-o")
        .arg(dir.path().join("out"))
        .env("ZKPROF_CACHE", dir.path().join("cache"))
        .env("ZKPROF_OPML_GO", dir.path().join("bin/go"))
        .env("ZKPROF_OPML_PYTHON", dir.path().join("bin/python"))
        .env("FAKE_OPML_HANG", &pids)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let hung = loop {
        let text = std::fs::read_to_string(&pids).unwrap_or_default();
        let list: Vec<i32> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
        if !list.is_empty() {
            break list;
        }
        assert!(started.elapsed().as_secs() < 60, "no accuracy run started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    std::thread::sleep(std::time::Duration::from_secs(1));
    for pid in hung {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(
            stat.is_empty() || stat.contains(") Z "),
            "accuracy run {pid} survived zkprof's SIGKILL: {stat}"
        );
    }
}
