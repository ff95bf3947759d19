//! EZKL in its pinned image gives the same outputs as EZKL installed natively.
//!
//! Runs the same `command` suite (tests/assets/ezkl_steps.py: compile, setup, witness,
//! prove, verify on the 196->25->10 dense model of the 2024 benchmark) twice through
//! `zkprof run`: natively with a venv made from images/ezkl/requirements.lock, and with
//! `--runtime docker` in the image built from images/ezkl/. Needs a docker engine with
//! the local base image (see docker.rs), PyPI for the image and the venv, and the
//! shared model; prints why it is skipped otherwise (`ZKPROF_REQUIRE_DOCKER=1` fails instead).

use crate::support::{asset, combined, docker_required, repo, zkprof};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use zkprof::results::{CellStatus, MemoryMethod, ResultsFile};
use zkprof::runtime::docker::image::LOCAL_BASE;
use zkprof::runtime::docker::Engine;

fn skip_or_fail(why: &str) {
    if docker_required() {
        panic!("ZKPROF_REQUIRE_DOCKER=1 but {why}");
    }
    eprintln!("skipping the EZKL docker-vs-native test: {why} (ZKPROF_REQUIRE_DOCKER=1 makes this a failure)");
}

/// A venv with the image's exact EZKL wheel, cached between runs.
fn native_python() -> PathBuf {
    let lock = repo().join("images/ezkl/requirements.lock");
    let bytes = std::fs::read(&lock).unwrap();
    let key = &zkprof_sha256(&bytes)[..16];
    let venv = zkprof::paths::cache_dir().join(format!("test-envs/ezkl-{key}"));
    let python = venv.join("bin/python");
    if python.exists() {
        return python;
    }
    let ok = Command::new("python3")
        .arg("-m")
        .arg("venv")
        .arg(&venv)
        .status()
        .unwrap()
        .success();
    assert!(ok, "python3 -m venv {}", venv.display());
    let status = Command::new(venv.join("bin/pip"))
        .args([
            "install",
            "-q",
            "--no-deps",
            "--require-hashes",
            "--only-binary",
            ":all:",
            "-r",
        ])
        .arg(&lock)
        .status()
        .unwrap();
    assert!(status.success(), "pip install -r {}", lock.display());
    python
}

fn zkprof_sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

fn suite(dir: &Path, python: &str, runtime: &str) -> PathBuf {
    let script = dir.join("models/ezkl_steps.py");
    let step = |name: &str| {
        format!(
            "{name} = [\"{python}\", \"{}\", \"{name}\", \"{{model_path}}\", \"{{workdir}}\"]",
            script.display()
        )
    };
    let steps: Vec<String> = ["compile", "setup", "witness", "prove", "verify"]
        .iter()
        .map(|s| step(s))
        .collect();
    let text = format!(
        "[suite]\nname = \"ezkl-{runtime}\"\nrepetitions = 1\ntimeout_s = 900\nruntimes = [\"{runtime}\"]\n\n\
         [[model]]\nname = \"dense\"\nonnx = \"models/m.onnx\"\n\n\
         [[framework]]\nname = \"ezkl-script\"\nkind = \"command\"\nimage = \"ezkl\"\n\
         steps = {{ {} }}\n",
        steps.join(", ")
    );
    let path = dir.join(format!("{runtime}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn run_suite(suite: &Path, out: &Path) -> (ResultsFile, PathBuf) {
    let o = zkprof()
        .arg("run")
        .arg(suite)
        .arg("--out")
        .arg(out)
        .env("ZKPROF_BASE_IMAGE", LOCAL_BASE)
        .output()
        .unwrap();
    let text = combined(&o);
    assert!(
        o.status.success(),
        "zkprof run {}:\n{text}",
        suite.display()
    );
    eprintln!("{text}");
    let results: ResultsFile =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    let cell_dir = std::fs::read_dir(out.join("cells"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    (results, cell_dir)
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

#[test]
fn ezkl_in_docker_gives_the_same_outputs_as_native() {
    // The repository's shared data (`../shared` beside the checkout), or $ZKPROF_SHARED_DIR.
    let shared = std::env::var_os("ZKPROF_SHARED_DIR")
        .map(PathBuf::from)
        .or_else(zkprof::paths::shared_dir);
    let Some(model) = shared
        .map(|s| s.join("reference/zkml-benchmark-2024/models/input-dense-dense/196_25_10.onnx"))
        .filter(|p| p.exists())
    else {
        return skip_or_fail("the shared 2024 benchmark models are not beside the checkout");
    };
    match Engine::connect() {
        Ok(engine) => {
            if engine
                .block_on(engine.docker.inspect_image(LOCAL_BASE))
                .is_err()
            {
                return skip_or_fail(&format!(
                    "base image {LOCAL_BASE} missing; make it with `zkprof images base`"
                ));
            }
        }
        Err(e) => return skip_or_fail(&e.to_string()),
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("models")).unwrap();
    std::fs::copy(&model, dir.path().join("models/m.onnx")).unwrap();
    std::fs::copy(
        asset("ezkl_steps.py"),
        dir.path().join("models/ezkl_steps.py"),
    )
    .unwrap();
    let python = native_python();
    let (native, native_dir) = run_suite(
        &suite(dir.path(), &python.display().to_string(), "native"),
        &dir.path().join("out-native"),
    );
    let (docker, docker_dir) = run_suite(
        &suite(dir.path(), "python3", "docker"),
        &dir.path().join("out-docker"),
    );

    let (n, d) = (&native.cells[0], &docker.cells[0]);
    assert_eq!((n.status, d.status), (CellStatus::Ok, CellStatus::Ok));
    assert_eq!(d.runtime, "docker");
    assert!(d.info["image_id"].starts_with("sha256:"), "{:?}", d.info);
    assert!(d.info["lock.requirements.lock"].len() == 64 && d.info.contains_key("lock.apt.lock"));
    assert_eq!(d.info["image_base"], LOCAL_BASE);
    for step in &d.repetitions[0].steps {
        // The working set, sampled from the host as for a native step; the container's
        // cgroup gives the charged peak beside it.
        assert_eq!(
            step.memory_method,
            MemoryMethod::WorkingSet,
            "{}",
            step.step
        );
        assert_eq!(
            step.charged_method,
            Some(MemoryMethod::ContainerCgroup),
            "{}",
            step.step
        );
        assert!(step.peak_tree_bytes > 0 && step.user_s > 0.0, "{step:?}");
    }

    // Same circuit, same witness, same public inputs of the proof.
    // EZKL writes a creation time and keeps range checks in a hash set (order varies per run).
    let strip = |mut v: Value| {
        let o = v.as_object_mut().unwrap();
        o.remove("timestamp");
        if let Some(Value::Array(checks)) = o.get_mut("required_range_checks") {
            checks.sort_by_key(|c| c.to_string());
        }
        v
    };
    assert_eq!(
        strip(json(&native_dir.join("settings.json"))),
        strip(json(&docker_dir.join("settings.json")))
    );
    let (nw, dw) = (
        json(&native_dir.join("witness.json")),
        json(&docker_dir.join("witness.json")),
    );
    assert_eq!(nw["outputs"], dw["outputs"]);
    assert_eq!(nw["inputs"], dw["inputs"]);
    let (np, dp) = (
        json(&native_dir.join("proof.json")),
        json(&docker_dir.join("proof.json")),
    );
    assert!(!dp["instances"].as_array().unwrap().is_empty());
    assert_eq!(np["instances"], dp["instances"]);
    // The proof made in the container verifies with the native EZKL.
    let out = Command::new(&python)
        .arg(dir.path().join("models/ezkl_steps.py"))
        .args(["verify", "unused"])
        .arg(&docker_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("verified"),
        "native verify of the container's proof: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("docker cell info: {:#?}", d.info);
    let wall = |r: &ResultsFile| r.cells[0].summary["prove"].wall_s.median;
    eprintln!(
        "prove median: native {:.2} s, docker {:.2} s",
        wall(&native),
        wall(&docker)
    );
}

/// The quickstart's EZKL cell, through the real adapter, natively and in its image (each
/// with a cache of its own, so compile and setup run in the container too): both prove and
/// verify, and the witness outputs of the proved input are the same.
#[test]
fn quickstart_ezkl_cell_proves_in_docker_as_natively() {
    match Engine::connect() {
        Ok(engine) => {
            if engine
                .block_on(engine.docker.inspect_image(LOCAL_BASE))
                .is_err()
            {
                return skip_or_fail(&format!(
                    "base image {LOCAL_BASE} missing; make it with `zkprof images base`"
                ));
            }
        }
        Err(e) => return skip_or_fail(&e.to_string()),
    }
    let dir = tempfile::tempdir().unwrap();
    let suite = repo().join("suites/quickstart.toml");
    let run = |runtime: &str| {
        let out = dir.path().join(format!("out-{runtime}"));
        let o = zkprof()
            .args(["run", "--framework", "ezkl", "--runtime", runtime, "--out"])
            .arg(&out)
            .arg(&suite)
            .env("ZKPROF_CACHE", dir.path().join(format!("cache-{runtime}")))
            .env("ZKPROF_BASE_IMAGE", LOCAL_BASE)
            .output()
            .unwrap();
        let text = combined(&o);
        assert!(
            o.status.success(),
            "zkprof run --runtime {runtime}:\n{text}"
        );
        let results: ResultsFile =
            serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
        let cell = results.cells[0].clone();
        let cell_dir = std::fs::read_dir(out.join("cells"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        (cell, json(&cell_dir.join("rep-0/witness.json")))
    };
    let (native, native_witness) = run("native");
    let (docker, docker_witness) = run("docker");
    for c in [&native, &docker] {
        assert_eq!(c.status, CellStatus::Ok, "{c:?}");
        assert_eq!(c.metrics["verified"], 1.0, "{:?}", c.metrics);
    }
    assert_eq!(docker.runtime, "docker");
    let steps: Vec<&str> = docker.repetitions[0]
        .steps
        .iter()
        .map(|s| s.step.as_str())
        .collect();
    assert!(
        steps.contains(&"setup") && steps.contains(&"prove"),
        "setup ran in the container: {steps:?}"
    );
    for s in &docker.repetitions[0].steps {
        assert_eq!(s.memory_method, MemoryMethod::WorkingSet, "{}", s.step);
        assert_eq!(
            s.charged_method,
            Some(MemoryMethod::ContainerCgroup),
            "{}",
            s.step
        );
    }
    assert_eq!(native.metrics["logrows"], docker.metrics["logrows"]);
    assert_eq!(
        native_witness["outputs"], docker_witness["outputs"],
        "same circuit outputs"
    );
    assert!(native_witness["outputs"].is_array());
}
