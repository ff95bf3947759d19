//! DeepProve (Lagrange-Labs/deep-prove: sumcheck and logup-GKR over Goldilocks, Basefold
//! commitments): an external framework, only ever the user's own build. Its `zkml` crate's
//! licence allows testing and evaluation only; zkprof holds none of its code and never
//! builds it.
//!
//! zkprof finds the installation (`home`, or `$ZKPROF_DEEPPROVE_HOME`; see `external.rs`): a
//! checkout built with `cargo build --release` (upstream pins nightly-2025-05-22), whose
//! `target/release/bench` is run. Per cell zkprof writes `io.json` (one real test input; the
//! float model's output, from tract on the ONNX file, as both `output_data` and
//! `pytorch_output`) and runs `bench --onnx <model> --io io.json --bench bench.csv
//! --num-samples 1` as the `prove` step with `RUST_LOG=info`.
//!
//! `bench` loads the model, makes the context (setup), runs inference, proves and verifies
//! in one process, and logs `== <span> metrics: elapsed=<duration> ==` as each span ends, so
//! the step has phases seen live ([`phase_spec`]) with DeepProve's own durations beside ours;
//! its CSV (`parse.rs`) is parsed and kept as metrics (`deepprove_prove_s`, ...). A failed
//! verification panics (`invalid proof`), so `verified` is the `Verify` row.

pub mod parse;

use super::external::External;
use super::provision::setting_u64;
use super::read_log;
use super::{inputs, CellContext, Collected, Framework, FrameworkError, PlannedStep};
use super::{PreparedCell, Provisioned};
use crate::measure::{PhaseRule, PhaseSpec};
use crate::results::StepRun;
use crate::suite::Cell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The commit of Lagrange-Labs/deep-prove whose `bench` output this adapter reads.
pub const COMMIT: &str = "7d21c35e5e1cb006e413f4a9676333e9e1506a87";

/// The installation zkprof looks for.
pub const EXTERNAL: External = External {
    kind: "deepprove",
    label: "DeepProve",
    repo: "https://github.com/Lagrange-Labs/deep-prove",
    commit: COMMIT,
    build_doc: "https://github.com/Lagrange-Labs/deep-prove/tree/master/zkml#readme",
    build_hint: "`cargo build --release` with its pinned nightly; its licence allows testing and evaluation only",
    binaries: &["target/release/bench"],
    files: &[],
};

const SETTINGS: [&str; 1] = ["input_index"];

fn failed(msg: impl Into<String>) -> FrameworkError {
    FrameworkError::Failed(msg.into())
}

/// The spans `bench` logs as they end, in order.
pub fn phase_spec() -> PhaseSpec {
    let rule = |name: &str, ends_at: &str, note: Option<&str>| PhaseRule {
        name: name.into(),
        ends_at: ends_at.into(),
        timer_after: Some("elapsed=".into()),
        note: note.map(str::to_string),
    };
    PhaseSpec {
        phases: vec![
            rule(
                "load",
                "== Reading model metrics:",
                Some("process start, reading io.json, loading and quantising the ONNX model"),
            ),
            rule(
                "accuracy",
                "== Accuracy metrics:",
                Some("the float model on the input"),
            ),
            rule(
                "setup",
                "== Context creation metrics:",
                Some("DeepProve's context (its setup)"),
            ),
            rule("inference", "== Running model metrics:", None),
            rule("check", "== Checking accuracy metrics:", None),
            rule(
                "prove",
                "== Proving metrics:",
                Some("proving and serialising the proof (MessagePack), as DeepProve times it"),
            ),
            rule("verify", "== Verifier metrics:", None),
        ],
        tail: "exit".into(),
        headline: Some("prove".into()),
    }
}

/// The DeepProve adapter (stateless: `provision` returns the cell's `State`).
pub struct DeepProve;

/// A provisioned cell: what `provision` prepared, owned by the cell for its later calls.
#[derive(Clone, Debug)]
struct State {
    home: PathBuf,
    onnx: PathBuf,
    run_dir: PathBuf,
}

impl Framework for DeepProve {
    fn kind(&self) -> super::FrameworkKind {
        super::FrameworkKind::DeepProve
    }

    fn status(&self) -> Vec<crate::results::SensorStatus> {
        vec![EXTERNAL.status()]
    }

    /// The user's build is checked before any work (the model is not trained for nothing).
    fn preflight(&self, cell: &Cell) -> Result<(), FrameworkError> {
        EXTERNAL
            .locate(cell.framework.home.as_deref())
            .map(|_| ())
            .map_err(FrameworkError::Failed)
    }

    fn provision(
        &self,
        cell: &Cell,
        workdir: &Path,
        _opts: &super::RunOptions,
    ) -> Result<Provisioned, FrameworkError> {
        if let Some(k) = cell
            .settings
            .keys()
            .find(|k| !SETTINGS.contains(&k.as_str()))
        {
            return Err(failed(format!(
                "unknown setting `{k}` for deepprove; known settings: {}",
                SETTINGS.join(", ")
            )));
        }
        let workdir = &super::absolute(workdir);
        let install = EXTERNAL
            .locate(cell.framework.home.as_deref())
            .map_err(FrameworkError::Failed)?;
        let (onnx, _) = super::model_onnx(cell, "DeepProve proves ONNX models")?;
        let mut info = BTreeMap::new();
        info.insert("deepprove_home".into(), install.home.display().to_string());
        info.insert(
            "deepprove_commit".into(),
            install.commit.clone().unwrap_or_else(|| "unknown".into()),
        );
        if let Some(w) = &install.warning {
            info.insert("deepprove_warning".into(), w.clone());
        }
        let shape = crate::model::onnx::info(&onnx)
            .map(|i| i.input_shape)
            .map_err(|e| failed(format!("cannot read the model's input shape: {e}")))?;
        let len: usize = shape.iter().product();
        let index = setting_u64(cell, "input_index")?.unwrap_or(0) as usize;
        let set = inputs::test_set_for(&cell.model, len, index + 1);
        let input = set
            .inputs
            .get(index)
            .ok_or_else(|| failed(format!("no test input {index} for `{}`", cell.model.name)))?;
        let output = crate::model::reference::Reference::load(&onnx, &shape)
            .and_then(|r| r.run(input))
            .map_err(|e| failed(format!("the float model's output for io.json: {e}")))?;
        let run_dir = workdir.join("run");
        std::fs::create_dir_all(&run_dir)
            .map_err(|e| failed(format!("cannot create {}: {e}", run_dir.display())))?;
        let io = serde_json::json!({
            "input_data": [input],
            "output_data": [output],
            "pytorch_output": [output],
        });
        let io_path = run_dir.join("io.json");
        std::fs::write(&io_path, io.to_string())
            .map_err(|e| failed(format!("cannot write {}: {e}", io_path.display())))?;
        info.insert("input".into(), format!("{} #{index}", set.source));
        if let Some(l) = set.labels.as_ref().and_then(|l| l.get(index)) {
            info.insert("input_label".into(), l.to_string());
        }
        let prepared = State {
            home: install.home,
            onnx,
            run_dir,
        };
        Ok(Provisioned {
            info,
            cell: Box::new(prepared),
        })
    }
}

impl PreparedCell for State {
    fn steps(&self, _ctx: &CellContext) -> Result<Vec<PlannedStep>, FrameworkError> {
        let s = self;
        for f in ["bench.csv", "deepprove.csv"] {
            let _ = std::fs::remove_file(s.run_dir.join(f));
        }
        Ok(vec![PlannedStep {
            name: "prove".into(),
            argv: vec![
                s.home.join("target/release/bench").display().to_string(),
                "--onnx".into(),
                s.onnx.display().to_string(),
                "--io".into(),
                "io.json".into(),
                "--bench".into(),
                "bench.csv".into(),
                "--num-samples".into(),
                "1".into(),
            ],
            env: vec![
                ("RUST_LOG".into(), "info".into()),
                ("NO_COLOR".into(), "1".into()),
                ("RUST_BACKTRACE".into(), "0".into()),
            ],
            cwd: Some(s.run_dir.clone()),
        }])
    }

    fn phases(&self, _cell: &Cell, step: &str) -> Option<PhaseSpec> {
        (step == "prove").then(phase_spec)
    }

    fn collect(
        &mut self,
        _ctx: &CellContext,
        _steps: &[StepRun],
    ) -> Result<Collected, FrameworkError> {
        let s = &*self;
        let path = s.run_dir.join("bench.csv");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            failed(format!(
                "DeepProve wrote no bench CSV ({}: {e})",
                path.display()
            ))
        })?;
        let spans = parse::bench_csv(&text, &path.display().to_string())
            .map_err(|e| failed(e.to_string()))?;
        let sum = parse::summarize(&spans);
        let mut c = Collected::default();
        let m = &mut c.metrics;
        for (key, v) in [
            ("deepprove_load_s", sum.load_s),
            ("deepprove_setup_s", sum.setup_s),
            ("deepprove_inference_s", sum.inference_s),
            ("deepprove_prove_s", sum.prove_s),
            ("deepprove_verify_s", sum.verify_s),
            ("proof_size_bytes", sum.proof_size_bytes),
            ("deepprove_physical_mem_bytes", sum.max_physical_mem),
        ] {
            if let Some(v) = v {
                m.insert(key.into(), v);
            }
        }
        if sum.proofs == 0 {
            return Err(failed(
                "DeepProve's bench CSV has no `Proving` row: no proof was made",
            ));
        }
        // `bench` panics on a proof that does not verify, before writing the Verify row.
        m.insert(
            "verified".into(),
            if sum.verified == sum.proofs { 1.0 } else { 0.0 },
        );
        if let Some((ok, n)) = sum.argmax_matches {
            c.info.insert(
                "deepprove_argmax".into(),
                format!("{ok}/{n} inputs: the quantised model's class matches the float model's"),
            );
        }
        c.info.insert(
            "deepprove_csv".into(),
            spans
                .iter()
                .map(|sp| format!("{}={:.3}s", sp.name, sp.elapsed_s))
                .collect::<Vec<_>>()
                .join(", "),
        );
        Ok(c)
    }

    fn failure_reason(&self, step: &StepRun) -> Option<String> {
        let stderr = read_log(step.stderr_path.as_ref());
        let stdout = read_log(step.stdout_path.as_ref());
        if let Some(p) = super::zktorch::parse::panic_message(&stderr) {
            return Some(format!("DeepProve panicked at {p}"));
        }
        stderr
            .lines()
            .chain(stdout.lines())
            .find(|l| l.starts_with("Error:"))
            .map(|l| format!("DeepProve: {}", l.trim_start_matches("Error:").trim()))
    }
}
