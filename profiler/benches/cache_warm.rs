//! Cache benchmark: a quickstart-like suite (a 196-16-10 MLP through EZKL and circom, one
//! repetition) run three times: cold (empty cache: toolchains installed, keys and SRS made),
//! cold artifacts (toolchains kept, artifacts cleared), and warm (everything cached).
//! Prints the wall time of each run and the ratios; the target is warm >= 5x faster than cold.
//!
//!   cargo bench -p zkprof --bench cache_warm
//!
//! Uses the shared 2^14 ptau (`shared/ptau`) when present, else a native one (cached; about
//! a second at 2^14). Needs python3, node/npm and network access to PyPI/npm when cold.

use std::path::Path;
use std::process::Command;
use std::time::Instant;
use zkprof::model::onnx::{write_mlp, DenseLayer};

fn layer(outputs: usize, inputs: usize, relu: bool) -> DenseLayer {
    DenseLayer {
        weights: (0..outputs)
            .map(|o| {
                (0..inputs)
                    .map(|i| ((o * 7 + i * 3) % 11) as f32 / 55.0 - 0.09)
                    .collect()
            })
            .collect(),
        bias: vec![0.01; outputs],
        relu,
    }
}

fn run(dir: &Path, cache: &Path, label: &str) -> f64 {
    let t = Instant::now();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zkprof"));
    cmd.arg("run")
        .arg(dir.join("suite.toml"))
        .arg("-o")
        .arg(dir.join(format!("out-{label}")))
        .env("ZKPROF_CACHE", cache);
    if let Some(p) = zkprof::paths::shared_dir()
        .map(|s| s.join("ptau/pot14_final.ptau"))
        .filter(|p| p.is_file())
    {
        cmd.arg("--ptau").arg(p);
    }
    let out = cmd.output().expect("run zkprof");
    let secs = t.elapsed().as_secs_f64();
    let results =
        std::fs::read_to_string(dir.join(format!("out-{label}/results.json"))).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&results).unwrap_or_default();
    for c in v["cells"].as_array().into_iter().flatten() {
        let steps: Vec<String> = c["repetitions"][0]["steps"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                format!(
                    "{} {:.2}s",
                    s["step"].as_str().unwrap_or("?"),
                    s["wall_s"].as_f64().unwrap_or(0.0)
                )
            })
            .collect();
        println!(
            "  {label:16} {:40} {:8} {}",
            c["id"].as_str().unwrap_or("?"),
            c["status"].as_str().unwrap_or("?"),
            steps.join(", ")
        );
    }
    if !out.status.success() {
        eprintln!(
            "{label}: zkprof exited {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    secs
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("cache_warm: bench");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("cache");
    std::fs::write(
        dir.path().join("model.onnx"),
        write_mlp(&[layer(16, 196, true), layer(10, 16, false)]),
    )
    .expect("write model");
    let suite = "[suite]\nname = \"quickstart-like\"\nrepetitions = 1\ntimeout_s = 1800\n\
                 [[model]]\nname = \"mlp-196-16-10\"\nonnx = \"model.onnx\"\n\
                 [[framework]]\nname = \"ezkl\"\nsettings = [{ calibration = \"resources\", scales = [2, 7] }]\n\
                 [[framework]]\nname = \"circom\"\nsettings = [{ decimals = 18 }]\n";
    std::fs::write(dir.path().join("suite.toml"), suite).expect("write suite");
    let cold = run(dir.path(), &cache, "cold");
    std::fs::remove_dir_all(cache.join("artifacts")).expect("clear artifacts");
    let cold_artifacts = run(dir.path(), &cache, "cold-artifacts");
    let warm = run(dir.path(), &cache, "warm");
    println!("cold (empty cache)          {cold:8.1} s");
    println!("cold artifacts (envs kept)  {cold_artifacts:8.1} s");
    println!("warm                        {warm:8.1} s");
    println!(
        "ratio cold / warm           {:8.1}x (target >= 5x)",
        cold / warm
    );
    println!("ratio cold artifacts / warm {:8.1}x", cold_artifacts / warm);
}
