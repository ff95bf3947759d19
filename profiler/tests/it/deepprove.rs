//! The DeepProve adapter against a fake installation: a script that logs the spans DeepProve's
//! `bench` logs and writes its CSV layout (tests/fixtures/deepprove), paced and scaled down.
//! Checks the live phases, the headline, the CSV's figures as metrics, a verifier panic as
//! the failure reason, and `doctor`'s line.

use crate::support::{asset, fixture, text, zkprof};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use zkprof::model::onnx::{write_mlp, DenseLayer};

const MIB: f64 = 1024.0 * 1024.0;

fn bench_csv() -> PathBuf {
    fixture("deepprove/bench.csv")
}

/// A DeepProve checkout as `cargo build --release` leaves it, at the pinned commit.
pub fn fake_home(dir: &Path) -> PathBuf {
    let home = dir.join("deep-prove");
    let dest = home.join("target/release/bench");
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    std::fs::copy(asset("deepprove-fake/bench"), &dest).unwrap();
    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(home.join(".git")).unwrap();
    std::fs::write(
        home.join(".git/HEAD"),
        format!("{}\n", zkprof::frameworks::deepprove::COMMIT),
    )
    .unwrap();
    home
}

/// A small 196x12x10 MLP.
pub fn model(dir: &Path) -> PathBuf {
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
    let onnx = dir.join("mlp.onnx");
    std::fs::write(
        &onnx,
        write_mlp(&[layer(12, 196, true), layer(10, 12, false)]),
    )
    .unwrap();
    onnx
}

fn run_suite(dir: &Path, home: &Path, envs: &[(&str, &str)]) -> Value {
    let suite = dir.join("suite.toml");
    std::fs::write(
        &suite,
        format!(
            "[suite]\nname = \"dp\"\nrepetitions = 1\ntimeout_s = 120\n\n[[model]]\nname = \"mlp\"\nonnx = \"{}\"\n\n[[framework]]\nname = \"deepprove\"\nhome = \"{}\"\n",
            model(dir).display(),
            home.display()
        ),
    )
    .unwrap();
    let out_dir = dir.join("out");
    let mut cmd = zkprof();
    cmd.arg("run")
        .arg(&suite)
        .arg("--out")
        .arg(&out_dir)
        .env("ZKPROF_CACHE", dir.join("cache"))
        .env("DEEPPROVE_FAKE_CSV", bench_csv())
        .env("DEEPPROVE_FAKE_SCALE", "0.5")
        .env("DEEPPROVE_FAKE_PROVE_MIB", "64")
        .env_remove("ZKPROF_DEEPPROVE_HOME");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let output = cmd.output().unwrap();
    let bytes = std::fs::read(out_dir.join("results.json"))
        .unwrap_or_else(|_| panic!("no results.json: {}", text(&output)));
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn fake_deepprove_proves_with_live_phases_and_its_csv() {
    let dir = tempfile::tempdir().unwrap();
    let home = fake_home(dir.path());
    let r = run_suite(dir.path(), &home, &[]);
    let cell = &r["cells"][0];
    assert_eq!(cell["status"], "ok", "{cell:#}");
    assert_eq!(
        cell["info"]["deepprove_commit"],
        zkprof::frameworks::deepprove::COMMIT
    );
    // io.json holds the input and the float model's output.
    let io: Value = serde_json::from_str(
        &std::fs::read_to_string(
            walk(&dir.path().join("out"), "io.json").expect("io.json in the cell's directory"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(io["input_data"][0].as_array().unwrap().len(), 196);
    assert_eq!(io["output_data"][0].as_array().unwrap().len(), 10);
    assert_eq!(io["output_data"], io["pytorch_output"]);

    let m = &cell["metrics"];
    assert_eq!(m["proof_size_bytes"], 128512.0);
    assert_eq!(m["verified"], 1.0);
    assert_eq!(m["deepprove_physical_mem_bytes"], 412000256.0);
    let prove = &cell["repetitions"][0]["steps"][0];
    let phases = prove["phases"].as_array().unwrap();
    let names: Vec<&str> = phases.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "load",
            "accuracy",
            "setup",
            "inference",
            "check",
            "prove",
            "verify",
            "exit"
        ]
    );
    let h = &prove["headline"];
    assert_eq!(h["phase"], "prove");
    assert_eq!(h["prove_source"], "prover_timer");
    let timer = h["prover_timer_s"].as_f64().unwrap();
    // 1,234 ms in the fixture at a scale of 0.5.
    assert!(timer >= 0.6, "{timer}");
    let own = m["deepprove_prove_s"].as_f64().unwrap();
    assert!((own - timer).abs() < 0.002, "{own} vs {timer}");
    // The prove phase holds the 64 MiB the setup phase did not.
    let peak = |i: usize| phases[i]["peak_tree_bytes"].as_f64().unwrap();
    assert!(peak(5) - peak(2) > 50.0 * MIB, "{} vs {}", peak(5), peak(2));
    assert!(cell["info"]["deepprove_csv"]
        .as_str()
        .unwrap()
        .contains("Proving 0="));
}

#[test]
fn a_deepprove_verifier_panic_is_the_failure_reason() {
    let dir = tempfile::tempdir().unwrap();
    let home = fake_home(dir.path());
    let r = run_suite(dir.path(), &home, &[("DEEPPROVE_FAKE_INVALID", "1")]);
    let cell = &r["cells"][0];
    assert_eq!(cell["status"], "failed", "{cell:#}");
    let reason = cell["reason"].as_str().unwrap();
    assert!(
        reason.contains("DeepProve panicked at zkml/src/bin/bench.rs:421:10: invalid proof"),
        "{reason}"
    );
}

#[test]
fn doctor_lists_deepprove_and_where_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = zkprof()
        .arg("doctor")
        .env_remove("ZKPROF_DEEPPROVE_HOME")
        .output()
        .unwrap();
    let t = text(&out);
    let line = t
        .lines()
        .find(|l| l.trim_start().starts_with("no   deepprove"))
        .unwrap_or_else(|| panic!("no deepprove line in doctor: {t}"));
    assert!(
        line.contains("ZKPROF_DEEPPROVE_HOME") && line.contains("testing and evaluation only"),
        "{line}"
    );
    let home = fake_home(dir.path());
    let out = zkprof()
        .arg("doctor")
        .env("ZKPROF_DEEPPROVE_HOME", &home)
        .output()
        .unwrap();
    let t = text(&out);
    assert!(
        t.lines()
            .any(|l| l.trim_start().starts_with("yes  deepprove")),
        "{t}"
    );
}

/// The first file named `name` under `dir`.
pub fn walk(dir: &Path, name: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(f) = walk(&p, name) {
                return Some(f);
            }
        } else if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
    }
    None
}
