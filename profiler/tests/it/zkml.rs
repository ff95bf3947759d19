//! The zkml adapter against a fake installation: scripts that replay output captured from
//! real zkml runs (tests/fixtures/zkml) with the same pacing, scaled down, and write the
//! files zkml writes. Checks the phases, the headline, statuses and metrics of `zkprof run`,
//! the KZG params cache, zkml's panics as failure reasons, and `doctor`'s frameworks line.

use crate::support::{self, text, zkprof};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use zkprof::model::onnx::{write_mlp, DenseLayer};

const MIB: f64 = 1024.0 * 1024.0;

fn asset(name: &str) -> PathBuf {
    support::asset("zkml-fake").join(name)
}

fn fixtures() -> PathBuf {
    support::fixture("zkml")
}

/// A zkml installation laid out as upstream's build leaves it, at the pinned commit.
fn fake_home(dir: &Path) -> PathBuf {
    let home = dir.join("zkml");
    for (from, to) in [
        ("time_circuit", "target/release/time_circuit"),
        ("verify_circuit", "target/release/verify_circuit"),
        ("converter.py", "python/converter.py"),
        ("input_converter.py", "python/input_converter.py"),
    ] {
        let dest = home.join(to);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(asset(from), &dest).unwrap();
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::create_dir_all(home.join(".git")).unwrap();
    std::fs::write(
        home.join(".git/HEAD"),
        format!("{}\n", zkprof::frameworks::zkml::COMMIT),
    )
    .unwrap();
    home
}

/// A 196x25x10 MLP with a (placeholder) TFLite file beside it.
fn model(dir: &Path) -> PathBuf {
    let layer = |o: usize, i: usize, relu| DenseLayer {
        weights: (0..o)
            .map(|r| {
                (0..i)
                    .map(|c| ((r * 7 + c * 3) % 5) as f32 / 50.0)
                    .collect()
            })
            .collect(),
        bias: vec![0.0; o],
        relu,
    };
    let onnx = dir.join("196_25_10.onnx");
    std::fs::write(
        &onnx,
        write_mlp(&[layer(25, 196, true), layer(10, 25, false)]),
    )
    .unwrap();
    std::fs::write(dir.join("196_25_10.tflite"), b"TFL3 placeholder").unwrap();
    onnx
}

fn suite(dir: &Path, home: &Path, onnx: &Path, reps: u32) -> PathBuf {
    let p = dir.join("suite.toml");
    let body = format!(
        r#"
[suite]
name = "zkml-fake"
repetitions = {reps}
timeout_s = 120

[[model]]
name = "196_25_10"
onnx = "{}"

[[framework]]
name = "zkml"
home = "{}"
"#,
        onnx.display(),
        home.display()
    );
    std::fs::write(&p, body).unwrap();
    p
}

fn run_suite(dir: &Path, suite: &Path, out: &str, envs: &[(&str, &str)]) -> Value {
    let out_dir = dir.join(out);
    let mut cmd = zkprof();
    cmd.arg("run")
        .arg(suite)
        .arg("--out")
        .arg(&out_dir)
        .env("ZKPROF_CACHE", dir.join("cache"))
        .env("ZKPROF_ZKML_PYTHON", "python3")
        .env("ZKML_FAKE_FIXTURES", fixtures())
        .env("ZKML_FAKE_SCALE", "0.01")
        .env("ZKML_FAKE_PROVE_MIB", "64")
        .env_remove("ZKPROF_ZKML_HOME");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let output = cmd.output().unwrap();
    let bytes = std::fs::read(out_dir.join("results.json"))
        .unwrap_or_else(|_| panic!("no results.json: {}", text(&output)));
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn fake_installation_proves_with_phases_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let home = fake_home(dir.path());
    let onnx = model(dir.path());
    let suite = suite(dir.path(), &home, &onnx, 2);
    let r = run_suite(dir.path(), &suite, "out1", &[]);
    let cell = &r["cells"][0];
    assert_eq!(cell["status"], "ok", "{cell:#}");
    assert_eq!(
        cell["info"]["zkml_commit"],
        zkprof::frameworks::zkml::COMMIT
    );
    assert!(cell["info"].get("zkml_warning").is_none(), "{cell:#}");
    assert_eq!(cell["info"]["params_cache"], "generated and cached");
    let m = &cell["metrics"];
    assert_eq!(m["k"], 17.0);
    assert_eq!(m["proof_size_bytes"], 9536.0);
    assert_eq!(m["verified"], 1.0);
    assert_eq!(m["predicted_class"], 5.0);
    assert_eq!(m["pkey_size_bytes"], 629294848.0);

    let mut headlines = Vec::new();
    for rep in cell["repetitions"].as_array().unwrap() {
        let steps = rep["steps"].as_array().unwrap();
        let names: Vec<&str> = steps.iter().map(|s| s["step"].as_str().unwrap()).collect();
        assert_eq!(names, ["prove", "verify"]);
        let prove = &steps[0];
        let phases = prove["phases"].as_array().unwrap();
        let names: Vec<&str> = phases.iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            [
                "params",
                "keygen_vk",
                "keygen_pk",
                "write_pkey",
                "prove",
                "verify",
                "exit"
            ]
        );
        // Contiguous windows inside the step.
        for w in phases.windows(2) {
            assert_eq!(w[0]["end_s"], w[1]["start_s"]);
        }
        // zkml's misleading "filling circuit" time belongs to writing the pkey.
        let write_pkey = &phases[3];
        assert!(write_pkey["prover_timer_s"].as_f64().unwrap() > 0.0);
        for p in &phases[1..6] {
            assert!(
                p["prover_timer_s"].is_number() || p["name"] == "params",
                "{p}"
            );
        }
        // The replayed prove phase is long enough that a scheduling delay on a loaded
        // machine cannot flip the 5% + 100 ms comparison; the short ones (verify: 0.2 ms
        // replayed) can, so only the prove phase must agree.
        assert_eq!(phases[4]["timer_disagrees"], false, "{}", phases[4]);
        let h = &prove["headline"];
        assert_eq!(h["phase"], "prove");
        assert_eq!(h["prove_source"], "prover_timer");
        let timer = h["prover_timer_s"].as_f64().unwrap();
        let ours = h["markers_s"].as_f64().unwrap();
        assert!(
            (timer - ours).abs() < 0.05 * timer + 0.1,
            "{timer} vs {ours}"
        );
        // Captured 230 s (warm) or 315 s (cold) at a scale of 0.01 (longer on a busy machine).
        assert!(timer >= 2.29, "{timer}");
        assert!(prove["wall_s"].as_f64().unwrap() > timer + 0.3, "{prove}");
        // The prove phase holds 64 MiB more than key generation.
        let peak = |i: usize| phases[i]["peak_tree_bytes"].as_f64().unwrap();
        assert!(peak(4) - peak(1) > 50.0 * MIB, "{} vs {}", peak(4), peak(1));
        assert_eq!(h["peak_tree_bytes"].as_f64().unwrap(), peak(4));
        assert_eq!(h["wall_s"].as_f64().unwrap(), timer);
        headlines.push(timer);
    }
    // The cell's prove summary is the prove phase, labelled with its source.
    let s = &cell["summary"]["prove"];
    assert_eq!(s["prove_source"], "prover_timer");
    let median = s["wall_s"]["median"].as_f64().unwrap();
    let expected = (headlines[0] + headlines[1]) / 2.0;
    assert!((median - expected).abs() < 1e-9, "{s} vs {headlines:?}");
    // The metric is zkml's own line of the last repetition.
    let own = m["zkml_proving_time_s"].as_f64().unwrap();
    assert!((own - headlines[1]).abs() < 1e-6, "{own} vs {headlines:?}");

    // A second run finds the KZG params in the cache.
    let r = run_suite(dir.path(), &suite, "out2", &[]);
    let cell = &r["cells"][0];
    assert_eq!(cell["status"], "ok", "{cell:#}");
    assert!(
        cell["info"]["params_cache"]
            .as_str()
            .unwrap()
            .starts_with("hit "),
        "{cell:#}"
    );
    assert!(cell["info"]["cache"].as_str().unwrap().starts_with("hit "));
}

#[test]
fn a_zkml_panic_is_the_failure_reason() {
    let dir = tempfile::tempdir().unwrap();
    let home = fake_home(dir.path());
    let onnx = model(dir.path());
    let suite = suite(dir.path(), &home, &onnx, 1);
    // The input vanishes between conversion and proving.
    std::fs::write(
        home.join("python/input_converter.py"),
        "import sys\nprint('wrote nothing')\n",
    )
    .unwrap();
    let r = run_suite(dir.path(), &suite, "out", &[]);
    let cell = &r["cells"][0];
    assert_eq!(cell["status"], "failed", "{cell:#}");
    let reason = cell["reason"].as_str().unwrap();
    assert!(
        reason.contains("prove: exit 101 (zkml panicked at src/utils/loader.rs:51:37: called `Result::unwrap()`"),
        "{reason}"
    );
}

#[test]
fn a_missing_installation_says_where_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let onnx = model(dir.path());
    let suite = suite(dir.path(), &dir.path().join("nowhere"), &onnx, 1);
    let r = run_suite(dir.path(), &suite, "out", &[]);
    let cell = &r["cells"][0];
    assert_eq!(cell["status"], "failed");
    let reason = cell["reason"].as_str().unwrap();
    assert!(reason.contains("is not a directory"), "{reason}");
    assert!(
        reason.contains("https://github.com/ddkang/zkml"),
        "{reason}"
    );

    let out = zkprof()
        .arg("doctor")
        .env_remove("ZKPROF_ZKML_HOME")
        .output()
        .unwrap();
    let t = text(&out);
    let line = t
        .lines()
        .find(|l| l.trim_start().starts_with("no   zkml"))
        .unwrap_or_else(|| panic!("no zkml line in doctor: {t}"));
    for needle in [
        "ZKPROF_ZKML_HOME",
        "https://github.com/ddkang/zkml",
        zkprof::frameworks::zkml::COMMIT,
        "#quickstart",
    ] {
        assert!(line.contains(needle), "{needle} missing from {line}");
    }
    let home = fake_home(dir.path());
    let out = zkprof()
        .arg("doctor")
        .env("ZKPROF_ZKML_HOME", &home)
        .output()
        .unwrap();
    let t = text(&out);
    assert!(
        t.lines().any(|l| l.trim_start().starts_with("yes  zkml")
            && l.contains(zkprof::frameworks::zkml::COMMIT)),
        "{t}"
    );
}
