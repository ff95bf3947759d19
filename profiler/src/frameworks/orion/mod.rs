//! Orion (gizatechxyz/orion, ONNX operators in Cairo), proven by stwo-cairo.
//!
//! The 2024 benchmark could not prove Orion locally (Giza's prover was a hosted service).
//! zkprof generates the Cairo program for a dense ONNX model itself (`cairo.rs`: Orion's
//! Gemm, Relu and Softmax in FP16x16, weights as constant tensors as Orion's tooling wrote
//! them), compiles it against the user's checkouts of Orion v0.2.5, cubit, alexandria and the
//! Cairo 2.15 corelib (external frameworks: `home`, or `ZKPROF_<KIND>_HOME`), and runs each
//! stage as a measured step of zkprof's own Cairo backend (`backend.rs`):
//!
//! - `compile`: Cairo -> executable (Cairo 2.15 compiler crates);
//! - `execute`: the standalone entry point in cairo-vm (proof mode) on one real test image,
//!   writing the stwo prover input;
//! - `prove`: stwo-cairo 1.3 (its tracing spans are the step's phases and the prover's own
//!   timings, `stwo_*_s`);
//! - `verify`: stwo-cairo's verifier.
//!
//! Metrics: `cairo_steps`, `bytecode_felts`, `proof_size_bytes`, `verified`,
//! `predicted_class`, the prover's phase timings, and with `accuracy_samples = N` the
//! accuracy loss over N test images executed without proving (one unmeasured `execute`).
//! The program's outputs are also predicted by zkprof's FP16x16 interpreter (`fixed.rs`);
//! a difference is a warning.
//!
//! With `weights = "data"` the weights are the program's argument and its output starts with
//! their Poseidon hash, which zkprof recomputes from the model file (`commit.rs`). The
//! compile and prove steps' phases are the backend's spans (`phases.rs`).

pub mod backend;
pub mod cairo;
pub mod commit;
pub mod fixed;
pub mod parse;
pub mod phases;
mod setup;

use super::external::External;
use super::read_log;
use super::{CellContext, Collected, Framework, FrameworkError, PlannedStep};
use super::{PreparedCell, Provisioned};
use crate::measure::PhaseSpec;
use crate::results::StepRun;
use crate::suite::Cell;
pub use phases::{compile_phases, prove_phases};
use std::path::Path;

pub use setup::SETTINGS;

/// Orion v0.2.5.
pub const EXTERNAL: External = External {
    kind: "orion",
    label: "Orion",
    repo: "https://github.com/gizatechxyz/orion",
    commit: "9c62277084487c05a7e99872cf70108c4cd41354",
    build_doc: "tag v0.2.5",
    build_hint: "a checkout is all zkprof needs; it compiles the operators itself",
    binaries: &[],
    files: &["src/lib.cairo", "src/operators/nn/functional/gemm.cairo"],
};

/// cubit, Orion's fixed-point dependency (the revision Orion v0.2.5's Scarb.toml pins).
pub const CUBIT: External = External {
    kind: "cubit",
    label: "cubit (Orion's dependency)",
    repo: "https://github.com/influenceth/cubit",
    commit: "62756082bf2555d7ab25c69d9c7bc30574ff1ce8",
    build_doc: "Orion v0.2.5's Scarb.toml",
    build_hint: "a checkout, nothing to build",
    binaries: &[],
    files: &["src/lib.cairo"],
};

/// alexandria, Orion's data-structure dependency (the revision Orion v0.2.5 pins).
pub const ALEXANDRIA: External = External {
    kind: "alexandria",
    label: "alexandria (Orion's dependency)",
    repo: "https://github.com/keep-starknet-strange/alexandria",
    commit: "800f5ad217847b5ded63c0302a444161766ee9d6",
    build_doc: "Orion v0.2.5's Scarb.toml",
    build_hint: "a checkout, nothing to build",
    binaries: &[],
    files: &[
        "src/data_structures/src/lib.cairo",
        "src/sorting/src/lib.cairo",
        "src/merkle_tree/src/lib.cairo",
    ],
};

/// The Cairo corelib (no crate ships it): starkware-libs/cairo at tag v2.15.0.
pub const CORELIB: External = External {
    kind: "cairo",
    label: "the Cairo 2.15 corelib",
    repo: "https://github.com/starkware-libs/cairo",
    commit: "5d7ea1812129b8d2b4b436ecbba867761fe76442",
    build_doc: "tag v2.15.0",
    build_hint: "a checkout; zkprof reads corelib/src",
    binaries: &[],
    files: &["corelib/src/lib.cairo"],
};

/// The adapter (stateless: `provision` returns the cell's `State`).
pub struct Orion;

fn failed(msg: impl Into<String>) -> FrameworkError {
    FrameworkError::Failed(msg.into())
}

fn log_of(steps: &[StepRun], name: &str) -> Option<String> {
    steps.iter().find(|r| r.step == name).map(|r| {
        format!(
            "{}\n{}",
            read_log(r.stdout_path.as_ref()),
            read_log(r.stderr_path.as_ref())
        )
    })
}

impl Framework for Orion {
    fn proof_system(&self) -> Option<&'static str> {
        Some("STARK (stwo-cairo 1.3: Circle STARK over M31, Blake2s channel, 96-bit security)")
    }

    fn kind(&self) -> super::FrameworkKind {
        super::FrameworkKind::Orion
    }

    fn status(&self) -> Vec<crate::results::SensorStatus> {
        [&EXTERNAL, &CUBIT, &ALEXANDRIA]
            .iter()
            .map(|e| e.status())
            .chain([
                setup::corelib_status(),
                backend::status(),
                backend::nightly_status(),
            ])
            .collect()
    }

    fn provision(
        &self,
        cell: &Cell,
        workdir: &Path,
        _opts: &super::RunOptions,
    ) -> Result<Provisioned, FrameworkError> {
        let (state, info) = setup::provision(cell, workdir)?;
        let prepared = state;
        Ok(Provisioned {
            info,
            cell: Box::new(prepared),
        })
    }
}

impl PreparedCell for setup::State {
    fn steps(&self, _ctx: &CellContext) -> Result<Vec<PlannedStep>, FrameworkError> {
        let s = self;
        // Outputs of an earlier repetition must not pass for this one's.
        for f in [&s.executable, &s.prover_input, &s.proof] {
            let _ = std::fs::remove_file(f);
        }
        let p = |x: &Path| x.display().to_string();
        let bin = p(&s.backend);
        let step = |name: &str, args: Vec<String>| PlannedStep {
            name: name.into(),
            argv: std::iter::once(bin.clone()).chain(args).collect(),
            env: vec![("RUST_BACKTRACE".into(), "0".into())],
            cwd: Some(s.run_dir.clone()),
        };
        let a = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        Ok(vec![
            step(
                "compile",
                a(&[
                    "compile",
                    "--project",
                    &p(&s.project),
                    "--crate",
                    cairo::CRATE,
                    "--corelib",
                    &p(&s.corelib),
                    "--output",
                    &p(&s.executable),
                ]),
            ),
            step(
                "execute",
                a(&[
                    "execute",
                    "--executable",
                    &p(&s.executable),
                    "--args",
                    &p(&s.args),
                    "--prover-input",
                    &p(&s.prover_input),
                ]),
            ),
            step(
                "prove",
                a(&[
                    "prove",
                    "--prover-input",
                    &p(&s.prover_input),
                    "--proof",
                    &p(&s.proof),
                    "--preprocessed-trace",
                    &s.preprocessed_trace,
                ]),
            ),
            step("verify", a(&["verify", "--proof", &p(&s.proof)])),
        ])
    }

    /// Before `prove`: the Cairo steps the execute step printed, as a fact, so that a cell
    /// whose prove fails (out of memory) still says how large its trace was.
    fn before_step(
        &mut self,
        ctx: &CellContext,
        step: &mut PlannedStep,
    ) -> Result<std::collections::BTreeMap<String, String>, FrameworkError> {
        let mut facts = std::collections::BTreeMap::new();
        if step.name == "prove" {
            let log = ctx.rep_dir().join("execute.stdout");
            let text = std::fs::read_to_string(log).unwrap_or_default();
            if let Some(n) = parse::executions(&text).first().and_then(|r| r.steps) {
                facts.insert(crate::results::FACT_CAIRO_STEPS.into(), n.to_string());
            }
        }
        Ok(facts)
    }

    fn phases(&self, _cell: &Cell, step: &str) -> Option<PhaseSpec> {
        match step {
            "prove" => Some(prove_phases()),
            "compile" => Some(compile_phases()),
            _ => None,
        }
    }

    fn collect(
        &mut self,
        _ctx: &CellContext,
        steps: &[StepRun],
    ) -> Result<Collected, FrameworkError> {
        let s = &*self;
        let mut c = Collected::default();
        let m = &mut c.metrics;
        if let Some(n) = log_of(steps, "compile").and_then(|t| parse::bytecode_size(&t)) {
            m.insert("bytecode_felts".into(), n as f64);
        }
        let exec = log_of(steps, "execute").unwrap_or_default();
        let run = parse::executions(&exec)
            .into_iter()
            .next()
            .ok_or_else(|| failed("orion: the execute step printed no program output"))?;
        if let Some(n) = run.steps {
            m.insert("cairo_steps".into(), n as f64);
        }
        let (commitment, outputs) = s.read_output(&run.output)?;
        if let Some(printed) = commitment {
            c.info
                .insert("model_commitment".into(), printed.to_string());
            let ours = commit::poseidon_printed(&s.model_args);
            if printed == ours {
                c.info.insert(
                    "model_commitment_check".into(),
                    "equals the Poseidon hash zkprof computed from the model file's weights".into(),
                );
            } else {
                c.warnings.push(format!(
                    "the program's model commitment {printed} is not the Poseidon hash of the model's weights ({ours}): the proof does not bind this model"
                ));
            }
        }
        let out32: Vec<f32> = outputs.iter().map(|&v| v as f32).collect();
        let class = crate::model::layers::argmax(&out32);
        m.insert("predicted_class".into(), class as f64);
        let label = s.label.map(|l| format!(", label {l}")).unwrap_or_default();
        c.info.insert(
            "prediction".into(),
            format!("class {class} (program outputs {outputs:?}{label})"),
        );
        match &s.predicted {
            Ok(p) if p.iter().map(|f| f.value()).collect::<Vec<_>>() == outputs => {
                c.info.insert(
                    "interpreter".into(),
                    "zkprof's FP16x16 interpreter predicted these outputs exactly".into(),
                );
            }
            Ok(p) => c.warnings.push(format!(
                "zkprof's FP16x16 interpreter predicted {:?}, the program printed {outputs:?}",
                p.iter().map(|f| f.value()).collect::<Vec<_>>()
            )),
            Err(e) => c
                .warnings
                .push(format!("zkprof's FP16x16 interpreter: {e}")),
        }
        if let Some(prove) = log_of(steps, "prove") {
            for (name, secs) in parse::prover_phases(&prove) {
                m.insert(format!("stwo_{name}_s"), secs);
            }
            if let Some(v) = parse::preprocessed_trace(&prove) {
                c.info.insert("preprocessed_trace".into(), v);
            }
            if let Some(b) = parse::proof_size_estimate(&prove) {
                m.insert("proof_size_estimate_bytes".into(), b as f64);
            }
        }
        if let Ok(md) = std::fs::metadata(&s.proof) {
            m.insert("proof_size_bytes".into(), md.len() as f64);
            c.info.insert(
                "proof_format".into(),
                "stwo-cairo JSON (Blake2s channel)".into(),
            );
        }
        if let Some(v) = log_of(steps, "verify") {
            match parse::verified(&v) {
                Ok(()) => {
                    m.insert("verified".into(), 1.0);
                }
                Err(e) => c.warnings.push(format!("verify: {e}")),
            }
        }
        Ok(c)
    }

    fn evaluate(&self, cell: &Cell, workdir: &Path) -> Result<Collected, FrameworkError> {
        let n = super::provision::setting_u64(cell, "accuracy_samples")?.unwrap_or(0) as usize;
        if n == 0 {
            return Ok(Collected::default());
        }
        setup::accuracy(cell, workdir, self, n)
    }

    fn failure_reason(&self, step: &StepRun) -> Option<String> {
        let err = read_log(step.stderr_path.as_ref());
        let text = parse::strip_ansi(&err);
        let lines: Vec<&str> = text.lines().collect();
        if let Some(i) = lines.iter().position(|l| l.contains("panicked at")) {
            let msg = lines.get(i + 1).map(|m| m.trim()).unwrap_or("");
            return Some(format!("{} panicked: {msg}", step.step));
        }
        lines.iter().position(|l| l.starts_with("Error:")).map(|i| {
            lines[i..]
                .iter()
                .take(4)
                .map(|l| l.trim())
                .collect::<Vec<_>>()
                .join(" ")
        })
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod weights_tests;
