//! opML (ora-io/opml): ML inference in a MIPS VM whose state root a fraud-proof game can
//! dispute. **A fraud proof (optimistic), not a zero-knowledge proof**: nothing is proven
//! unless a challenger disputes the root, and the model, input and trace are public. Every
//! result carries `proof_kind = "fraud_proof"` and the reports say so beside every figure.
//!
//! zkprof runs the user's own build (see [`install`]): it writes the model as a ggml file
//! ([`ggml`]), builds its own generic MLP guest program (`assets/opml/guest.go`, Go, reads
//! the layer shapes from the model file) with the user's Go toolchain and opML's
//! `mlgo/compile.py` into the artifact cache, and measures:
//! - `compile`: the guest build (skipped when cached);
//! - `prove`: one `mlvm` execution of the guest on one test input, what a submitter runs to
//!   post a state root;
//! - `verify`: the same execution repeated by a validator, whose root must equal the
//!   submitter's (`verified = 1`).
//!
//! Exit status 0 of `mlvm` does not mean success: a step also fails when its output has no
//! final state or no prediction (e.g. `invalid model file (bad magic)`), with the tool's words.
//!
//! Settings: `accuracy_samples` (test images, one unmeasured `mlvm` run each, default 0);
//! `accuracy_jobs` (parallel runs, default: the CPUs); `guest`: `zkprof` (default), a guest
//! `.bin` laid out by `compile.py`, or a directory of the 2024 benchmark's guests named
//! `mlgo_<inputs>_I<D per dense layer>.bin` (e.g. `mlgo_196_IDD.bin`); `input_format`: `f32`
//! (big-endian floats; zkprof's guest) or `u8` (pixels x 255 truncated, as the 2024 guests
//! read them; the default for a supplied guest).

pub mod ggml;
pub mod install;
pub mod parse;
mod run;

use super::provision::{setting_str, setting_u64};
use super::{inputs, CellContext, Collected, Framework, FrameworkError, PlannedStep};
use super::{PreparedCell, Provisioned};
use crate::cache::{cache_key, Entry, Manifest};
use crate::model::onnx;
use crate::results::StepRun;
use crate::suite::Cell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use run::{encode_input, InputFormat};

/// `info["proof_kind"]` of every opML result.
pub const PROOF_KIND: &str = "fraud_proof";
/// The label reports print beside an opML figure.
pub const PROOF_LABEL: &str = "fraud proof (optimistic): no zero-knowledge proof";
/// zkprof's generic MLP guest (Go source, built with the user's opML toolchain).
pub const GUEST_SRC: &str = include_str!("../../../assets/opml/guest.go");

fn failed(msg: impl Into<String>) -> FrameworkError {
    FrameworkError::Failed(msg.into())
}

/// The opML adapter (stateless: `provision` returns the cell's `State`).
pub struct Opml;

/// A provisioned cell: what `provision` prepared, owned by the cell for its later calls.
#[derive(Clone)]
struct State {
    inst: install::Installation,
    /// The guest program (`.bin`) the VM runs.
    guest: PathBuf,
    /// The cache entry of zkprof's guest and whether it must be built (compile step).
    build: Option<Entry>,
    model: PathBuf,
    mlp: onnx::Mlp,
    format: InputFormat,
    proof_input: PathBuf,
}

impl Framework for Opml {
    fn kind(&self) -> super::FrameworkKind {
        super::FrameworkKind::Opml
    }

    fn status(&self) -> Vec<crate::results::SensorStatus> {
        let (mut found, mut why) = install::doctor_status(None);
        if found {
            // Ready only with what a run needs besides the checkout.
            let problems = install::locate(None)
                .and_then(|h| install::check(&h))
                .map(|inst| run::toolchain_problems(&inst))
                .unwrap_or_default();
            if !problems.is_empty() {
                found = false;
                why = format!("{why}; but {}", problems.join("; "));
            }
        }
        vec![if found {
            crate::results::SensorStatus::available_with("opml", why)
        } else {
            crate::results::SensorStatus::unavailable("opml", why)
        }]
    }

    fn preflight(&self, cell: &Cell) -> Result<(), FrameworkError> {
        let home =
            install::locate(cell.framework.home.as_deref()).map_err(|e| failed(e.to_string()))?;
        let inst = install::check(&home).map_err(|e| failed(e.to_string()))?;
        // A guest of the user's own needs neither Go nor the Python modules.
        if setting_str(cell, "guest").is_some_and(|g| g != "zkprof") {
            return Ok(());
        }
        match run::toolchain_problems(&inst).as_slice() {
            [] => Ok(()),
            problems => Err(failed(format!(
                "opML at {}: {}",
                inst.home.display(),
                problems.join("; ")
            ))),
        }
    }

    fn provision(
        &self,
        cell: &Cell,
        workdir: &Path,
        _opts: &super::RunOptions,
    ) -> Result<Provisioned, FrameworkError> {
        let workdir = &super::absolute(workdir);
        let home =
            install::locate(cell.framework.home.as_deref()).map_err(|e| failed(e.to_string()))?;
        let inst = install::check(&home).map_err(|e| failed(e.to_string()))?;
        let mut info = BTreeMap::new();
        info.insert("proof_kind".into(), PROOF_KIND.into());
        info.insert("proof_note".into(), PROOF_LABEL.into());
        info.insert("opml_home".into(), inst.home.display().to_string());
        info.insert(
            "opml_commit".into(),
            inst.commit
                .clone()
                .unwrap_or_else(|| "unknown (not a git checkout)".into()),
        );
        let (onnx_path, bytes) =
            super::model_onnx(cell, "zkprof writes opML's ggml model from ONNX")?;
        let mlp = onnx::read_mlp(&bytes).map_err(|e| match e {
            onnx::OnnxError::Malformed(e) => failed(format!("{}: {e}", onnx_path.display())),
            onnx::OnnxError::Unsupported(e) => FrameworkError::Unsupported(format!(
                "opML's MLP guests run dense + ReLU networks only: {e}"
            )),
        })?;
        if !mlp.convs.is_empty() {
            return Err(FrameworkError::Unsupported(format!(
                "opML's MLP guests run dense + ReLU networks only: {} has {} convolution block(s)",
                onnx_path.display(),
                mlp.convs.len()
            )));
        }
        let model = workdir.join("model.ggml");
        let ggml_bytes = ggml::write(&mlp);
        write_bytes(&model, &ggml_bytes)?;
        info.insert("ggml_bytes".into(), ggml_bytes.len().to_string());
        let guest_setting = setting_str(cell, "guest").unwrap_or_else(|| "zkprof".into());
        let (guest, build) = if guest_setting == "zkprof" {
            let (guest, build) = run::zkprof_guest(&inst, &mut info)?;
            (guest, build)
        } else {
            let g = run::supplied_guest(Path::new(&guest_setting), &mlp)?;
            info.insert("guest".into(), g.display().to_string());
            (g, None)
        };
        let format = match setting_str(cell, "input_format").as_deref() {
            None if guest_setting == "zkprof" => InputFormat::F32,
            None | Some("u8") => InputFormat::U8,
            Some("f32") => InputFormat::F32,
            Some(x) => {
                return Err(failed(format!(
                    "setting `input_format` of framework `{}`: `{x}`; use \"f32\" or \"u8\"",
                    cell.framework.name
                )))
            }
        };
        info.insert("input_format".into(), format.name().into());
        let n_in = mlp.layers.first().map_or(0, onnx::DenseLayer::inputs);
        let first = inputs::test_set_for(&cell.model, n_in, 1);
        let x = first
            .inputs
            .first()
            .ok_or_else(|| failed("no test input for the proof"))?;
        let proof_input = workdir.join("input-proof.bin");
        write_bytes(&proof_input, &encode_input(x, format))?;
        info.insert("proof_input".into(), first.source);
        let prepared = State {
            inst,
            guest,
            build,
            model,
            mlp,
            format,
            proof_input,
        };
        Ok(Provisioned {
            info,
            cell: Box::new(prepared),
        })
    }

    fn proof_kind(&self) -> Option<&'static str> {
        Some(PROOF_KIND)
    }
}

impl PreparedCell for State {
    fn steps(&self, ctx: &CellContext) -> Result<Vec<PlannedStep>, FrameworkError> {
        let st = self;
        let rep = super::absolute(&ctx.rep_dir());
        let mut steps = Vec::new();
        if let Some(entry) = &st.build {
            steps.push(run::compile_step(&st.inst, entry)?);
        }
        for name in ["prove", "verify"] {
            let base = rep.join(format!("{name}-vm"));
            std::fs::create_dir_all(&base)
                .map_err(|e| failed(format!("cannot create {}: {e}", base.display())))?;
            steps.push(PlannedStep {
                name: name.into(),
                argv: run::mlvm_argv(&st.inst, &base, &st.guest, &st.model, &st.proof_input),
                env: Vec::new(),
                cwd: Some(rep.clone()),
            });
        }
        Ok(steps)
    }

    fn collect(
        &mut self,
        ctx: &CellContext,
        steps: &[StepRun],
    ) -> Result<Collected, FrameworkError> {
        let st = self;
        let mut out = Collected::default();
        if let (Some(entry), true) = (&st.build, steps.iter().any(|s| s.step == "compile")) {
            run::seal_guest(entry, &st.inst)?;
            st.build = None;
        }
        let parsed = |name: &str| steps.iter().find(|s| s.step == name).map(read_run);
        let (Some(prove), verify) = (parsed("prove"), parsed("verify")) else {
            return Err(failed("no prove step ran"));
        };
        out.info.insert("proof_kind".into(), PROOF_KIND.into());
        if let Some(n) = prove.steps {
            out.metrics.insert("mips_steps".into(), n as f64);
        }
        if let Some(p) = prove.prediction {
            out.metrics.insert("prediction".into(), f64::from(p));
        }
        if let Some(r) = &prove.root {
            out.info.insert("state_root".into(), r.clone());
        }
        if let Some(v) = verify {
            let same = v.root.is_some() && v.root == prove.root;
            out.metrics
                .insert("verified".into(), if same { 1.0 } else { 0.0 });
            if !same {
                out.warnings.push(format!(
                    "verify: the validator's state root {} differs from the submitter's {}",
                    v.root.as_deref().unwrap_or("(none)"),
                    prove.root.as_deref().unwrap_or("(none)")
                ));
            }
        }
        // The numbered checkpoint duplicates checkpoint_final.json (6 MB each): keep one.
        let rep = super::absolute(&ctx.rep_dir());
        for name in ["prove", "verify"] {
            run::drop_duplicate_checkpoints(&rep.join(format!("{name}-vm")));
        }
        if let Ok(m) = std::fs::metadata(&st.guest) {
            out.metrics.insert("guest_bytes".into(), m.len() as f64);
        }
        Ok(out)
    }

    fn evaluate(&self, cell: &Cell, workdir: &Path) -> Result<Collected, FrameworkError> {
        let n = setting_u64(cell, "accuracy_samples")?.unwrap_or(0) as usize;
        if n == 0 {
            return Ok(Collected::default());
        }
        let jobs = setting_u64(cell, "accuracy_jobs")?
            .map(|j| j.max(1) as usize)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
        let st = self;
        let n_in = st.mlp.layers.first().map_or(0, onnx::DenseLayer::inputs);
        let n_out = st.mlp.layers.last().map_or(0, onnx::DenseLayer::outputs);
        let set = inputs::test_set_for(&cell.model, n_in, n);
        let dir = super::absolute(workdir).join("accuracy");
        let vm = run::Vm {
            inst: &st.inst,
            guest: &st.guest,
            model: &st.model,
            format: st.format,
        };
        let runs = vm.run_many(&dir, &set.inputs, jobs)?;
        let mut circuit = Vec::with_capacity(runs.len());
        let mut steps = Vec::new();
        for (i, r) in runs.iter().enumerate() {
            match (r.outcome(), r.prediction) {
                (Ok(()), Some(p)) if (p as usize) < n_out => {
                    let mut v = vec![0.0; n_out];
                    v[p as usize] = 1.0;
                    circuit.push(v);
                    steps.extend(r.steps.map(|s| s as f64));
                }
                (Err(why), _) => return Err(failed(format!("accuracy input {i}: {why}"))),
                (_, p) => {
                    return Err(failed(format!(
                        "accuracy input {i}: prediction {p:?} out of range"
                    )))
                }
            }
        }
        let float = cell.model.onnx.as_deref().and_then(|p| {
            crate::model::reference::float_outputs_of(&super::absolute(p), &set.inputs)
        });
        let mut out = inputs::accuracy(
            float.as_deref(),
            &circuit,
            set.labels.as_deref(),
            &set.source,
        );
        out.info.insert(
            "accuracy_method".into(),
            format!("one mlvm run per input ({}), unmeasured", st.format.name()),
        );
        if !steps.is_empty() {
            let mean = steps.iter().sum::<f64>() / steps.len() as f64;
            out.metrics.insert("accuracy_mean_mips_steps".into(), mean);
        }
        Ok(out)
    }

    fn silent_failure(&self, step: &StepRun) -> Option<String> {
        if !matches!(step.step.as_str(), "prove" | "verify") {
            return None;
        }
        read_run(step).outcome().err()
    }
}

/// Parses a step's logged stdout and stderr.
fn read_run(step: &StepRun) -> parse::VmRun {
    let read = |p: &Option<String>| {
        p.as_ref()
            .and_then(|p| std::fs::read(p).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    parse::parse(&read(&step.stdout_path), &read(&step.stderr_path))
}

fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), FrameworkError> {
    if std::fs::read(path).is_ok_and(|b| b == bytes) {
        return Ok(());
    }
    std::fs::write(path, bytes).map_err(|e| failed(format!("cannot write {}: {e}", path.display())))
}

/// The manifest of a built guest.
fn guest_manifest(inst: &install::Installation) -> Manifest {
    let mut meta = BTreeMap::new();
    meta.insert("opml_home".into(), inst.home.display().to_string());
    Manifest {
        framework: "opml".into(),
        version: inst.commit.clone().unwrap_or_default(),
        model_sha256: String::new(),
        settings: serde_json::Value::Null,
        created_at: chrono::Utc::now().to_rfc3339(),
        files: BTreeMap::new(),
        meta,
    }
}

/// The cache key of zkprof's guest for an installation and Go toolchain.
fn guest_key(inst: &install::Installation, go_version: &str) -> String {
    cache_key(&[
        "opml-guest",
        inst.commit.as_deref().unwrap_or("unknown"),
        &inst.home.display().to_string(),
        GUEST_SRC,
        go_version,
    ])
}
