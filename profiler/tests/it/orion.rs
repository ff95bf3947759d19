//! The Orion adapter against fake checkouts and a stand-in for zkprof's Cairo backend that
//! replays output captured from real runs (tests/fixtures/orion): the four measured steps,
//! stwo's spans as the prove step's phases, the metrics, the interpreter's check of the
//! program's outputs, a failed verification's reason, and `doctor`'s lines. The real backend
//! and a real proof are a manual check (docs/orion.md).

use crate::support::{self, text, zkprof};
use serde_json::Value;
use std::path::{Path, PathBuf};
use zkprof::frameworks::orion;
use zkprof::model::onnx::{write_mlp, DenseLayer};

fn asset() -> PathBuf {
    support::asset("orion-fake/zkprof-cairo-prover")
}

fn fixtures() -> PathBuf {
    support::fixture("orion")
}

/// Checkouts with the files zkprof checks, at the pinned commits.
fn fake_checkouts(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    [
        &orion::EXTERNAL,
        &orion::CUBIT,
        &orion::ALEXANDRIA,
        &orion::CORELIB,
    ]
    .iter()
    .map(|e| {
        let home = dir.join(e.kind);
        for f in e.files {
            let p = home.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "// fake\n").unwrap();
        }
        std::fs::create_dir_all(home.join(".git")).unwrap();
        std::fs::write(home.join(".git/HEAD"), format!("{}\n", e.commit)).unwrap();
        if e.kind == orion::CORELIB.kind {
            corelib_version(&home, "2.15.0");
        }
        (e.kind, home)
    })
    .collect()
}

/// Writes the corelib's manifest with `version`.
fn corelib_version(home: &Path, version: &str) {
    std::fs::write(
        home.join("corelib/Scarb.toml"),
        format!("[package]\nname = \"core\"\nversion = \"{version}\"\n"),
    )
    .unwrap();
}

/// The test model's layers (4 -> 3 ReLU -> 2).
fn layers() -> Vec<DenseLayer> {
    let layer = |o: usize, i: usize, relu| DenseLayer {
        weights: (0..o)
            .map(|r| {
                (0..i)
                    .map(|c| ((r * 7 + c * 3) % 5) as f32 / 10.0)
                    .collect()
            })
            .collect(),
        bias: vec![0.1; o],
        relu,
    };
    vec![layer(3, 4, true), layer(2, 3, false)]
}

fn model(dir: &Path) -> PathBuf {
    let onnx = dir.join("4_3_2.onnx");
    std::fs::write(&onnx, write_mlp(&layers())).unwrap();
    onnx
}

fn run_suite(dir: &Path, envs: &[(&str, &str)]) -> Value {
    run_suite_with(dir, "{}", envs, |_| {})
}

/// Runs the fake suite with one settings table, after `tweak` changed the checkouts.
fn run_suite_with(
    dir: &Path,
    settings: &str,
    envs: &[(&str, &str)],
    tweak: impl Fn(&[(&'static str, PathBuf)]),
) -> Value {
    let homes = fake_checkouts(dir);
    tweak(&homes);
    let home = |k: &str| {
        homes
            .iter()
            .find(|(n, _)| *n == k)
            .unwrap()
            .1
            .display()
            .to_string()
    };
    let suite = dir.join("suite.toml");
    std::fs::write(
        &suite,
        format!(
            r#"
[suite]
name = "orion-fake"
repetitions = 1
timeout_s = 120

[[model]]
name = "4_3_2"
onnx = "{}"

[[framework]]
name = "orion"
kind = "orion"
home = "{}"
settings = [{}]
"#,
            model(dir).display(),
            home("orion"),
            settings,
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
        // The dependencies and the backend through the environment: as settings, their
        // absolute paths would make the cell id as long as the temporary directory's path.
        .env("ZKPROF_CUBIT_HOME", home("cubit"))
        .env("ZKPROF_ALEXANDRIA_HOME", home("alexandria"))
        .env("ZKPROF_CAIRO_HOME", home("cairo"))
        .env("ZKPROF_CAIRO_PROVER", asset())
        .env("ORION_FAKE_FIXTURES", fixtures())
        .env("ORION_FAKE_OUTPUT", "2 32768 0 32768 0");
    // A later value wins: a test may give its own program output.
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let output = cmd.output().unwrap();
    let bytes = std::fs::read(out_dir.join("results.json"))
        .unwrap_or_else(|_| panic!("no results.json: {}", text(&output)));
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn four_measured_steps_with_stwo_phases_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_suite(dir.path(), &[]);
    let cell = &r["cells"][0];
    assert_eq!(cell["status"], "ok", "{cell:#}");
    assert_eq!(cell["info"]["orion_commit"], orion::EXTERNAL.commit);
    let steps = cell["repetitions"][0]["steps"].as_array().unwrap();
    let names: Vec<&str> = steps.iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(names, ["compile", "execute", "prove", "verify"]);
    let argv: Vec<&str> = steps[0]["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        argv.contains(&"--crate") && argv.contains(&"zkprof_model"),
        "{argv:?}"
    );
    let phases: Vec<&str> = steps[2]["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    // Upstream's log has no "Read prover input" span: that phase is folded into the next.
    assert_eq!(
        phases,
        [
            "twiddles",
            "preprocessed_commitment",
            "prove_cairo",
            "serialize",
            "exit"
        ]
    );
    let m = &cell["metrics"];
    assert_eq!(m["bytecode_felts"], 9954.0);
    // The compile step's phases: the compiler's stages, timed by the backend's spans.
    let phases: Vec<(&str, f64)> = steps[0]["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap(),
                p["prover_timer_s"].as_f64().unwrap_or(-1.0),
            )
        })
        .collect();
    let names: Vec<&str> = phases.iter().map(|p| p.0).collect();
    assert_eq!(
        names,
        ["load", "diagnostics", "sierra", "casm", "write", "exit"]
    );
    assert_eq!(phases[1].1, 1.90);
    assert_eq!(phases[2].1, 1.74);
    assert_eq!(m["cairo_steps"], 710725.0);
    assert_eq!(m["verified"], 1.0);
    assert_eq!(m["proof_size_bytes"], 16900.0);
    assert_eq!(m["stwo_total_s"], 49.5);
    assert_eq!(m["stwo_prove_cairo_s"], 9.05);
    assert_eq!(m["proof_size_estimate_bytes"], 729464.0);
    assert_eq!(m["predicted_class"], 0.0);
    // The proof system, the prove step as its own headline, Orion's constant weights.
    assert!(cell["info"]["proof_system"]
        .as_str()
        .unwrap()
        .starts_with("STARK (stwo"));
    assert_eq!(cell["summary"]["prove"]["prove_source"], "whole_step");
    assert!(cell["info"]["weights"]
        .as_str()
        .unwrap()
        .starts_with("constant"));
    assert_eq!(cell["info"]["cairo_corelib_version"], "2.15.0");
    assert_eq!(cell["info"]["preprocessed_trace"], "canonical");
    // The stand-in prints [0.5, 0.5], which this model does not compute: the interpreter says so.
    let warnings = cell["warnings"].to_string();
    assert!(warnings.contains("interpreter predicted"), "{cell:#}");
    // The generated program is in the cell's directory.
    let program = cell["info"]["program"].as_str().unwrap();
    let path = program.split(' ').next().unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains("NNTrait::gemm(x, w1()"), "{text}");
}

#[test]
fn a_failed_prove_still_records_the_cairo_steps() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_suite(dir.path(), &[("ORION_FAKE_PROVE", "fail")]);
    let cell = &r["cells"][0];
    assert_eq!(cell["status"], "failed", "{cell:#}");
    // The execute step's count, kept as a fact: the frontier says how large the trace was.
    assert_eq!(cell["info"]["cairo_steps"], "710725", "{cell:#}");
    assert!(
        cell["reason"]
            .as_str()
            .unwrap()
            .contains("the prover gave up"),
        "{cell:#}"
    );
}

#[test]
fn a_failed_verification_is_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_suite(dir.path(), &[("ORION_FAKE_VERIFY", "fail")]);
    let cell = &r["cells"][0];
    assert_eq!(cell["status"], "failed", "{cell:#}");
    let reason = cell["reason"].as_str().unwrap();
    assert!(reason.contains("ECDSA segment is not empty"), "{reason}");
}

/// `zkprof doctor`'s output with the checkouts `homes` and the stand-in backend.
fn doctor_with(dir: &Path, homes: &[(&'static str, PathBuf)]) -> String {
    let mut cmd = zkprof();
    cmd.arg("doctor")
        .env("ZKPROF_CACHE", dir.join("cache"))
        .env("ZKPROF_CAIRO_PROVER", asset());
    for (kind, home) in homes {
        cmd.env(format!("ZKPROF_{}_HOME", kind.to_ascii_uppercase()), home);
    }
    text(&cmd.output().unwrap())
}

#[test]
fn doctor_lists_what_orion_needs() {
    let dir = tempfile::tempdir().unwrap();
    let vars = [
        "ZKPROF_ORION_HOME",
        "ZKPROF_CUBIT_HOME",
        "ZKPROF_ALEXANDRIA_HOME",
        "ZKPROF_CAIRO_HOME",
        "ZKPROF_CAIRO_PROVER",
    ];
    let mut cmd = zkprof();
    cmd.arg("doctor")
        .env("ZKPROF_CACHE", dir.path().join("cache"));
    for v in vars {
        cmd.env_remove(v);
    }
    let t = text(&cmd.output().unwrap());
    for e in [
        &orion::EXTERNAL,
        &orion::CUBIT,
        &orion::ALEXANDRIA,
        &orion::CORELIB,
    ] {
        let line = t
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("no   {} ", e.kind)))
            .unwrap_or_else(|| panic!("no {} line in doctor: {t}", e.kind));
        assert!(
            line.contains(&e.env_var()) && line.contains(e.commit),
            "{line}"
        );
    }
    assert!(t.lines().any(|l| l.contains("cairo-prover")), "{t}");

    let homes = fake_checkouts(dir.path());
    let t = doctor_with(dir.path(), &homes);
    for (kind, _) in &homes {
        assert!(
            t.lines()
                .any(|l| l.trim_start().starts_with(&format!("yes  {kind}"))),
            "{kind}: {t}"
        );
    }
    assert!(
        t.lines()
            .any(|l| l.trim_start().starts_with("yes  cairo-prover")
                && l.contains("ZKPROF_CAIRO_PROVER")),
        "{t}"
    );
    assert!(t.lines().any(|l| l.contains("rust-nightly")), "{t}");
    assert!(t.contains("corelib 2.15.0"), "{t}");

    // A corelib the backend's compiler cannot compile: said, with its version and commit.
    let cairo = &homes.iter().find(|(k, _)| *k == "cairo").unwrap().1;
    corelib_version(cairo, "2.12.0");
    let t = doctor_with(dir.path(), &homes);
    let line = t
        .lines()
        .find(|l| l.trim_start().starts_with("no   cairo "))
        .unwrap_or_else(|| panic!("{t}"));
    assert!(
        line.contains("2.12.0") && line.contains(orion::CORELIB.commit),
        "{line}"
    );
}

#[test]
fn weights_as_data_are_an_argument_and_the_commitment_is_recorded() {
    let plan = orion::cairo::Plan {
        layers: layers(),
        softmax: false,
    };
    let commitment = orion::commit::poseidon_printed(&orion::cairo::model_args(&plan));
    let dir = tempfile::tempdir().unwrap();
    let out = format!("{commitment} 2 32768 0 32768 0");
    let r = run_suite_with(
        dir.path(),
        r#"{ weights = "data", preprocessed_trace = "auto" }"#,
        &[("ORION_FAKE_OUTPUT", &out)],
        |_| {},
    );
    let cell = &r["cells"][0];
    assert_eq!(cell["status"], "ok", "{cell:#}");
    // The setting reaches the prove step; the backend says which variant it chose.
    assert_eq!(cell["info"]["preprocessed_trace"], "auto");
    assert_eq!(cell["info"]["model_commitment"], commitment.as_str());
    assert!(
        cell["info"]["model_commitment_check"].is_string(),
        "{cell:#}"
    );
    assert!(
        !cell["warnings"].to_string().contains("does not bind"),
        "{cell:#}"
    );
    assert!(cell["info"]["weights"]
        .as_str()
        .unwrap()
        .starts_with("data"));
    assert_eq!(cell["metrics"]["predicted_class"], 0.0);
    let program = cell["info"]["program"].as_str().unwrap();
    let src = PathBuf::from(program.split(' ').next().unwrap());
    let text = std::fs::read_to_string(&src).unwrap();
    assert!(
        text.contains("model: Array<FP16x16>") && !text.contains("data.append"),
        "{text}"
    );
    // The argument file holds the input (4 values) then the model (3x4 + 3 + 2x3 + 2 = 23).
    let run = src
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("run/input.json");
    let args: Vec<u64> = serde_json::from_str(&std::fs::read_to_string(&run).unwrap()).unwrap();
    assert_eq!(args.len(), (1 + 2 * 4) + (1 + 2 * 23), "{args:?}");
    assert_eq!((args[0], args[9]), (4, 23));

    // A program that committed to other weights: the cell says the proof does not bind them.
    let dir = tempfile::tempdir().unwrap();
    let r = run_suite_with(
        dir.path(),
        r#"{ weights = "data" }"#,
        &[("ORION_FAKE_OUTPUT", "12345 2 32768 0 32768 0")],
        |_| {},
    );
    let cell = &r["cells"][0];
    assert!(
        cell["info"].get("model_commitment_check").is_none(),
        "{cell:#}"
    );
    assert!(
        cell["warnings"]
            .to_string()
            .contains("does not bind this model"),
        "{cell:#}"
    );

    let dir = tempfile::tempdir().unwrap();
    let r = run_suite_with(
        dir.path(),
        r#"{ preprocessed_trace = "huge" }"#,
        &[],
        |_| {},
    );
    let reason = r["cells"][0]["reason"].as_str().unwrap().to_string();
    assert!(reason.contains("canonical_without_pedersen"), "{reason}");

    let dir = tempfile::tempdir().unwrap();
    let r = run_suite_with(dir.path(), r#"{ weights = "packed" }"#, &[], |_| {});
    let reason = r["cells"][0]["reason"].as_str().unwrap().to_string();
    assert!(reason.contains("weights = \"packed\""), "{reason}");
}

#[test]
fn a_corelib_of_another_version_is_refused_with_its_commit() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_suite_with(dir.path(), "{}", &[], |homes| {
        let cairo = &homes.iter().find(|(k, _)| *k == "cairo").unwrap().1;
        corelib_version(cairo, "2.12.0");
        std::fs::write(
            cairo.join(".git/HEAD"),
            "c9743105fc0000000000000000000000000000aa\n",
        )
        .unwrap();
    });
    let cell = &r["cells"][0];
    assert_eq!(cell["status"], "failed", "{cell:#}");
    let reason = cell["reason"].as_str().unwrap();
    for want in ["version 2.12.0", "c9743105fc", "tag v2.15.0"] {
        assert!(reason.contains(want), "{want}: {reason}");
    }
    assert!(
        cell["repetitions"].as_array().is_none_or(|r| r.is_empty()),
        "{cell:#}"
    );
}
