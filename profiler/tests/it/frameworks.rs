//! The EZKL and circom adapters end to end: they install their pinned tools into a fresh
//! cache, prove and verify a tiny MLP for real, reject a tampered proof, rebuild a corrupt
//! cached artifact, and keep going past unsupported models and missing toolchains.
//!
//! Needs python3 (with venv) and node/npm, and network access to PyPI and npm on the first
//! run (`.ci/install-frameworks.sh`). A missing prerequisite makes these tests fail.

use crate::support::zkprof;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use zkprof::model::onnx::{write_mlp, write_with_op, DenseLayer};

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

fn tiny(dir: &Path) -> PathBuf {
    let p = dir.join("tiny.onnx");
    std::fs::write(&p, write_mlp(&[layer(3, 4, true), layer(2, 3, false)])).unwrap();
    p
}

/// The shared 2^14 ptau when present (saves a local ceremony).
fn shared_ptau() -> Option<PathBuf> {
    zkprof::paths::shared_dir()
        .map(|s| s.join("ptau/pot14_final.ptau"))
        .filter(|p| p.is_file())
}

struct Run {
    code: i32,
    stderr: String,
    results: Value,
}

fn run_suite(dir: &Path, cache: &Path, suite: &str, envs: &[(&str, &str)]) -> Run {
    let suite_path = dir.join("suite.toml");
    std::fs::write(&suite_path, suite).unwrap();
    let out_dir = dir.join("out");
    let mut cmd = zkprof();
    cmd.args(["run"])
        .arg(&suite_path)
        .arg("-o")
        .arg(&out_dir)
        .env("ZKPROF_CACHE", cache);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let results = std::fs::read_to_string(out_dir.join("results.json"))
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or(Value::Null);
    Run {
        code: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
        results,
    }
}

fn cell<'a>(r: &'a Run, id_prefix: &str) -> &'a Value {
    r.results["cells"]
        .as_array()
        .and_then(|cs| {
            cs.iter()
                .find(|c| c["id"].as_str().is_some_and(|i| i.starts_with(id_prefix)))
        })
        .unwrap_or_else(|| panic!("no cell {id_prefix} in {}\nstderr: {}", r.results, r.stderr))
}

fn steps_of(c: &Value, rep: usize) -> Vec<String> {
    c["repetitions"][rep]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap().to_string())
        .collect()
}

/// The verify step's argv from the first repetition, run again by hand.
fn verify_again(c: &Value) -> bool {
    let verify = c["repetitions"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == "verify")
        .unwrap();
    let argv: Vec<String> = verify["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    Command::new(&argv[0])
        .args(&argv[1..])
        .output()
        .unwrap()
        .status
        .success()
}

fn ok(c: &Value) {
    assert_eq!(
        c["status"],
        "ok",
        "{}",
        serde_json::to_string_pretty(c).unwrap()
    );
}

#[test]
fn ezkl_proves_verifies_rejects_tampering_and_rebuilds_corrupt_cache() {
    let d = tempfile::tempdir().unwrap();
    let cache = d.path().join("cache");
    tiny(d.path());
    let suite = "[suite]\nname = \"t\"\nrepetitions = 2\n[[model]]\nname = \"tiny\"\nonnx = \"tiny.onnx\"\n\
                 [[framework]]\nname = \"ezkl\"\nsettings = [{ srs = \"test\", accuracy_samples = 10 }]\n";
    let r = run_suite(d.path(), &cache, suite, &[]);
    let c = cell(&r, "tiny/ezkl");
    ok(c);
    assert_eq!(r.code, 0);
    assert_eq!(
        steps_of(c, 0),
        ["compile", "setup", "witness", "prove", "verify"]
    );
    assert_eq!(
        steps_of(c, 1),
        ["witness", "prove", "verify"],
        "the second repetition reuses the cached keys"
    );
    let m = &c["metrics"];
    assert_eq!(m["verified"], 1.0);
    assert!(m["proof_size_bytes"].as_f64().unwrap() > 100.0, "{m}");
    assert!(m["logrows"].as_f64().unwrap() >= 1.0, "{m}");
    let before: f64 = c["info"]["circuit_logrows"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(before, m["logrows"].as_f64().unwrap(), "{}", c["info"]);
    // The tiny model has no dataset: its inputs would be synthetic, so no accuracy.
    assert!(m.get("accuracy_loss_pct").is_none(), "{m}");
    assert!(
        c["info"]["accuracy_not_measured"].as_str().is_some(),
        "{}",
        c["info"]
    );
    assert!(
        c["info"]["srs_provisioned_s"].as_str().is_some(),
        "{}",
        c["info"]
    );
    assert!(
        c["info"]["srs"]
            .as_str()
            .unwrap()
            .starts_with("test SRS (insecure)"),
        "{}",
        c["info"]
    );
    // The prover's own time agrees with ours within 5% plus start-up.
    let reported = m["prover_reported_prove_s"].as_f64().unwrap();
    let startup = m["prover_startup_s"].as_f64().unwrap() + m["prover_pk_load_s"].as_f64().unwrap();
    let wall = c["repetitions"][1]["steps"][1]["wall_s"].as_f64().unwrap();
    assert!(
        reported > 0.0 && (wall - reported).abs() <= 0.05 * reported + startup,
        "wall {wall} reported {reported} startup {startup}"
    );

    // A tampered proof fails verification.
    assert!(verify_again(c));
    let proof_path = d
        .path()
        .join("out/cells")
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("rep-0/proof.json");
    let mut proof: Value =
        serde_json::from_str(&std::fs::read_to_string(&proof_path).unwrap()).unwrap();
    // EZKL writes the proof as a list of bytes (older versions: a hex string).
    match &mut proof["proof"] {
        Value::Array(bytes) => {
            let mid = bytes.len() / 2;
            bytes[mid] = Value::from(bytes[mid].as_u64().unwrap() ^ 1);
        }
        Value::String(hex) => {
            let flip = if hex.ends_with('0') { '1' } else { '0' };
            *hex = format!("{}{flip}", &hex[..hex.len() - 1]);
        }
        other => panic!("unexpected proof field {other}"),
    }
    std::fs::write(&proof_path, proof.to_string()).unwrap();
    assert!(!verify_again(c), "a tampered EZKL proof must not verify");

    // A corrupt cached key is detected by its hash and rebuilt.
    let entry = cache
        .join("artifacts/ezkl")
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut vk = std::fs::read(entry.join("vk.key")).unwrap();
    let mid = vk.len() / 2;
    vk[mid] ^= 0xff;
    std::fs::write(entry.join("vk.key"), vk).unwrap();
    let suite1 = suite.replace("repetitions = 2", "repetitions = 1");
    let r = run_suite(d.path(), &cache, &suite1, &[]);
    let c = cell(&r, "tiny/ezkl");
    ok(c);
    let why = c["info"]["cache"].as_str().unwrap();
    assert!(
        why.contains("corrupt entry rebuilt") && why.contains("vk.key"),
        "{why}"
    );
    assert_eq!(
        steps_of(c, 0),
        ["compile", "setup", "witness", "prove", "verify"]
    );
}

#[test]
fn circom_proves_verifies_rejects_tampering_and_rebuilds_corrupt_cache() {
    let d = tempfile::tempdir().unwrap();
    let cache = d.path().join("cache");
    tiny(d.path());
    let ptau = shared_ptau()
        .map(|p| format!(", ptau = \"{}\"", p.display()))
        .unwrap_or_default();
    let suite = format!(
        "[suite]\nname = \"t\"\nrepetitions = 2\n[[model]]\nname = \"tiny\"\nonnx = \"tiny.onnx\"\n\
         [[framework]]\nname = \"circom\"\nsettings = [{{ decimals = 6, accuracy_samples = 10{ptau} }}]\n"
    );
    let r = run_suite(d.path(), &cache, &suite, &[]);
    let c = cell(&r, "tiny/circom");
    ok(c);
    assert_eq!(
        steps_of(c, 0),
        ["compile", "setup", "witness", "prove", "verify"]
    );
    assert_eq!(steps_of(c, 1), ["witness", "prove", "verify"]);
    let m = &c["metrics"];
    assert_eq!(m["verified"], 1.0);
    assert!(m["constraints_nonlinear"].as_f64().unwrap() > 100.0, "{m}");
    assert!(
        m["constraints_total"].as_f64().unwrap() >= m["constraints_nonlinear"].as_f64().unwrap()
    );
    // The size known before the setup ran (a failed setup keeps it) is the compiled one.
    let before: f64 = c["info"]["circuit_constraints"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        before,
        m["constraints_total"].as_f64().unwrap(),
        "{}",
        c["info"]
    );
    assert!(
        m.get("accuracy_loss_pct").is_none() && c["info"]["accuracy_not_measured"].is_string(),
        "no accuracy on the synthetic inputs of a model without a dataset: {m}"
    );
    assert!(
        c["info"]["ptau"].as_str().unwrap().contains("insecure"),
        "{}",
        c["info"]
    );

    // A tampered public output fails verification.
    assert!(verify_again(c));
    let rep0 = d
        .path()
        .join("out/cells")
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("rep-0");
    let public: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(rep0.join("public.json")).unwrap()).unwrap();
    let mut tampered = public.clone();
    tampered[0] = format!("{}1", tampered[0]);
    std::fs::write(
        rep0.join("public.json"),
        serde_json::to_string(&tampered).unwrap(),
    )
    .unwrap();
    assert!(
        !verify_again(c),
        "a tampered Groth16 statement must not verify"
    );

    // A corrupt proving key is detected by its hash and rebuilt.
    let entry = cache
        .join("artifacts/circom")
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut zkey = std::fs::read(entry.join("model.zkey")).unwrap();
    let at = zkey.len() - 40;
    zkey[at] ^= 0x55;
    std::fs::write(entry.join("model.zkey"), zkey).unwrap();
    let r = run_suite(
        d.path(),
        &cache,
        &suite.replace("repetitions = 2", "repetitions = 1"),
        &[],
    );
    let c = cell(&r, "tiny/circom");
    ok(c);
    let why = c["info"]["cache"].as_str().unwrap();
    assert!(
        why.contains("corrupt entry rebuilt") && why.contains("model.zkey"),
        "{why}"
    );
}

/// A CNN (conv 3x3, ReLU, 2x2 max pooling, dense) through circom: the generated circuit
/// compiles with circomlib-ml's templates, its witness satisfies the constraints, and the
/// Groth16 proof verifies.
#[test]
fn circom_proves_a_cnn() {
    let d = tempfile::tempdir().unwrap();
    let cache = d.path().join("cache");
    let mut rng = zkprof::model::train::SplitMix64::new(5);
    let cnn = zkprof::model::cnn::Cnn::init(1, 6, &[1], 3, &[], 2, &mut rng);
    std::fs::write(
        d.path().join("cnn.onnx"),
        zkprof::model::onnx::cnn_to_onnx(&cnn, "test"),
    )
    .unwrap();
    let ptau = shared_ptau()
        .map(|p| format!(", ptau = \"{}\"", p.display()))
        .unwrap_or_default();
    let suite = format!(
        "[suite]\nname = \"t\"\nrepetitions = 1\n[[model]]\nname = \"cnn\"\nonnx = \"cnn.onnx\"\n\
         [[framework]]\nname = \"circom\"\nsettings = [{{ decimals = 6{ptau} }}]\n"
    );
    let r = run_suite(d.path(), &cache, &suite, &[]);
    let c = cell(&r, "cnn/circom");
    ok(c);
    let m = &c["metrics"];
    assert_eq!(m["verified"], 1.0, "{m}");
    let nonlinear = m["constraints_nonlinear"].as_f64().unwrap();
    // 16 ReLUs and 4 max-pool windows of 254-bit comparisons dominate.
    assert!(nonlinear > 5000.0, "{m}");
}

#[test]
fn unsupported_ops_are_reported_per_cell_and_the_suite_goes_on() {
    let d = tempfile::tempdir().unwrap();
    let cache = d.path().join("cache");
    tiny(d.path());
    std::fs::write(d.path().join("det.onnx"), write_with_op("Det", 4)).unwrap();
    let ptau = shared_ptau()
        .map(|p| format!(", ptau = \"{}\"", p.display()))
        .unwrap_or_default();
    let suite = format!(
        "[suite]\nname = \"t\"\n[[model]]\nname = \"det\"\nonnx = \"det.onnx\"\n[[model]]\nname = \"tiny\"\nonnx = \"tiny.onnx\"\n\
         [[framework]]\nname = \"circom\"\nsettings = [{{ decimals = 4{ptau} }}]\n\
         [[framework]]\nname = \"ezkl\"\nsettings = [{{ srs = \"test\" }}]\n"
    );
    let r = run_suite(d.path(), &cache, &suite, &[]);
    let circom_det = cell(&r, "det/circom");
    assert_eq!(circom_det["status"], "unsupported");
    let why = circom_det["reason"].as_str().unwrap();
    assert!(
        why.starts_with("unsupported: ") && why.contains("Det"),
        "{why}"
    );
    let ezkl_det = cell(&r, "det/ezkl");
    assert_eq!(ezkl_det["status"], "unsupported", "{ezkl_det}");
    let why = ezkl_det["reason"].as_str().unwrap();
    assert!(
        why.starts_with("unsupported: EZKL") && why.contains("Det"),
        "{why}"
    );
    // The suite went on: the good model proved with both.
    ok(cell(&r, "tiny/circom"));
    ok(cell(&r, "tiny/ezkl"));
    assert_eq!(
        r.code, 0,
        "unsupported cells are not failures: {}",
        r.stderr
    );
}

#[test]
fn missing_toolchains_and_crashing_provers_fail_their_cell_only() {
    let d = tempfile::tempdir().unwrap();
    let cache = d.path().join("cache");
    tiny(d.path());
    let suite = "[suite]\nname = \"t\"\n[[model]]\nname = \"tiny\"\nonnx = \"tiny.onnx\"\n\
                 [[framework]]\nname = \"ezkl\"\n[[framework]]\nname = \"circom\"\n\
                 [[framework]]\nname = \"crash\"\nkind = \"command\"\nsteps = { prove = [\"sh\", \"-c\", \"echo prover exploded >&2; kill -SEGV $$\"] }\n\
                 [[framework]]\nname = \"fine\"\nkind = \"command\"\nsteps = { prove = [\"true\"] }\n";
    // A PATH with only `sh` and `true`: no python3, node or npm.
    let bin = d.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    for tool in ["sh", "true"] {
        let real = ["/bin", "/usr/bin"]
            .iter()
            .map(|b| Path::new(b).join(tool))
            .find(|p| p.exists())
            .unwrap();
        std::os::unix::fs::symlink(real, bin.join(tool)).unwrap();
    }
    let path = bin.display().to_string();
    let r = run_suite(
        d.path(),
        &cache,
        suite,
        &[("PATH", &path), ("ZKPROF_PYTHON", "/nonexistent/python3")],
    );
    let e = cell(&r, "tiny/ezkl");
    assert_eq!(e["status"], "failed");
    assert!(
        e["reason"]
            .as_str()
            .unwrap()
            .contains("ZKPROF_PYTHON=/nonexistent/python3 does not exist"),
        "{e}"
    );
    let c = cell(&r, "tiny/circom");
    assert_eq!(c["status"], "failed");
    let why = c["reason"].as_str().unwrap();
    assert!(
        why.contains("not found on PATH") && why.contains("Node.js"),
        "{why}"
    );
    let crash = cell(&r, "tiny/crash");
    assert_eq!(crash["status"], "failed");
    let why = crash["reason"].as_str().unwrap();
    assert!(
        why.contains("prove: signal 11") && why.contains("prover exploded"),
        "{why}"
    );
    ok(cell(&r, "tiny/fine"));
    assert_eq!(r.code, 1);
}
