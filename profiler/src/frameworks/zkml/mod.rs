//! Daniel Kang's zkml (Halo2, KZG): an external framework, the user's own build.
//!
//! zkprof finds the installation (`home` of the framework in the suite, or
//! `$ZKPROF_ZKML_HOME`; see `external.rs`), converts the model's TFLite file with zkml's own
//! `python/converter.py` (settings of the 2024 benchmark by default: `--scale_factor 512 --k
//! 17 --num_cols 10 --num_randoms 1024`) into a cache entry keyed by the zkml commit, the
//! TFLite file's SHA-256 and the settings, and converts one real test image with zkml's
//! `python/input_converter.py`. The converter runs with a Python that has its packages: the
//! `python` setting, else `$ZKPROF_ZKML_PYTHON`, else a venv that zkprof makes in its cache
//! with [`CONVERTER_PACKAGES`] from PyPI.
//!
//! Steps of a repetition:
//! - `prove`: `time_circuit <model> <input> kzg`, which loads (or generates) the KZG params,
//!   makes the vkey and pkey, proves and verifies in one process. Its phases come from its
//!   output (see [`phase_spec`]); the headline is the prove phase, timed by zkml's own
//!   "Proving time" and windowed by its output lines. The KZG params live in a cache entry
//!   (`params_kzg/<k>.params`), linked into the step's directory, so only the first run
//!   generates them.
//! - `verify`: `verify_circuit <config> vkey proof public_vals kzg`, zkml's standalone verifier.
//!
//! With the setting `accuracy_samples = N`, the circuit's outputs on N test images come from
//! zkml's `test_circuit` (MockProver, no proof) and are compared with the float model
//! (`accuracy.rs`).
//!
//! Only models with a `.tflite` file beside their ONNX file can run (the 2024 models have
//! one); zkprof does not export its own models to TFLite.

mod accuracy;
pub mod parse;
mod setup;

use super::read_log;
use setup::{converter_python, tflite_of, Settings};
pub use setup::{npy_f32, CONVERTER_PACKAGES};

use super::external::External;
use super::provision::{self, setting_u64};
use super::{inputs, CellContext, Collected, Framework, FrameworkError, PlannedStep};
use super::{PreparedCell, Provisioned};
use crate::cache::{cache_key, hash_file, Entry, Manifest};
use crate::measure::{PhaseRule, PhaseSpec};
use crate::results::StepRun;
use crate::suite::Cell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The commit of ddkang/zkml this adapter reads (the 2024 benchmark's, also the newest).
pub const COMMIT: &str = "43789582671f16148dd02cbac5654f462d4fe3e4";

/// The installation zkprof looks for.
pub const EXTERNAL: External = External {
    kind: "zkml",
    label: "Daniel Kang's zkml",
    repo: "https://github.com/ddkang/zkml",
    commit: COMMIT,
    build_doc: "https://github.com/ddkang/zkml#quickstart",
    build_hint: "`cargo build --release` with nightly Rust (or stable with RUSTC_BOOTSTRAP=1)",
    binaries: &[
        "target/release/time_circuit",
        "target/release/verify_circuit",
    ],
    files: &["python/converter.py", "python/input_converter.py"],
};

/// The zkml adapter (stateless: `provision` returns the cell's `State`).
pub struct Zkml;

/// A provisioned cell: what `provision` prepared, owned by the cell for its later calls.
#[derive(Clone, Debug)]
struct State {
    home: PathBuf,
    python: PathBuf,
    model: PathBuf,
    config: PathBuf,
    input: PathBuf,
    run_dir: PathBuf,
    k: u64,
    params: Entry,
    params_new: bool,
    commit: String,
    label: Option<u8>,
}

fn failed(msg: impl Into<String>) -> FrameworkError {
    FrameworkError::Failed(msg.into())
}

/// The phases of `time_circuit` (in the order it prints them) and what each covers.
pub fn phase_spec() -> PhaseSpec {
    let rule = |name: &str, ends_at: &str, timer: Option<&str>, note: Option<&str>| PhaseRule {
        name: name.into(),
        ends_at: ends_at.into(),
        timer_after: timer.map(str::to_string),
        note: note.map(str::to_string),
    };
    PhaseSpec {
        phases: vec![
            rule(
                "params",
                "Time elapsed in params construction:",
                None,
                Some("process start, model load, and loading (first run: generating and writing) the KZG params"),
            ),
            rule(
                "keygen_vk",
                "Time elapsed in generating vkey:",
                Some("Time elapsed in generating vkey:"),
                None,
            ),
            rule(
                "keygen_pk",
                "Time elapsed in generating pkey:",
                Some("Time elapsed in generating pkey:"),
                Some("includes writing the vkey"),
            ),
            rule(
                "write_pkey",
                "pkey size:",
                Some("Time elapsed in filling circuit:"),
                Some("writing the pkey to disk; zkml prints this time as \"filling circuit\""),
            ),
            rule(
                "prove",
                "Proving time:",
                Some("Proving time:"),
                Some("zkml's \"Proving time\": the witness fill (a MockProver run) and create_proof"),
            ),
            rule(
                "verify",
                "Verifying time:",
                Some("Verifying time:"),
                Some("writing and reading back the proof, then verifying it in process"),
            ),
        ],
        tail: "exit".into(),
        headline: Some("prove".into()),
    }
}

impl Framework for Zkml {
    fn proof_system(&self) -> Option<&'static str> {
        Some("Halo2 (PLONKish, KZG commitments over BN254)")
    }

    fn kind(&self) -> super::FrameworkKind {
        super::FrameworkKind::Zkml
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
        let settings = Settings::of(cell)?;
        let install = EXTERNAL
            .locate(cell.framework.home.as_deref())
            .map_err(FrameworkError::Failed)?;
        let tflite = tflite_of(cell)?;
        let commit = install.commit.clone().unwrap_or_else(|| "unknown".into());
        let mut info = BTreeMap::new();
        info.insert("zkml_home".into(), install.home.display().to_string());
        info.insert("zkml_commit".into(), commit.clone());
        if let Some(w) = &install.warning {
            info.insert("zkml_warning".into(), w.clone());
        }
        let (python, python_fact) = converter_python(cell)?;
        info.insert("converter_python".into(), python_fact);

        // The converted model, cached.
        let root = crate::paths::cache_dir().join("artifacts");
        let (tfl_sha, _) = hash_file(&tflite)
            .map_err(|e| failed(format!("cannot read {}: {e}", tflite.display())))?;
        let label = settings.args().join(" ");
        let key = cache_key(&["zkml-model", &commit, &tfl_sha, &label]);
        let entry = Entry::new(&root, "zkml", &key[..32]);
        if entry.lookup(&key, &mut info).map_err(failed)?.is_none() {
            let converter = install.home.join("python/converter.py");
            let mut argv: Vec<String> = vec![
                python.display().to_string(),
                converter.display().to_string(),
                "--model".into(),
                tflite.display().to_string(),
                "--model_output".into(),
                "converted_model.msgpack".into(),
                "--config_output".into(),
                "config.msgpack".into(),
            ];
            argv.extend(settings.args());
            let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
            let log = provision::run(&refs, Some(&entry.dir), "zkml's converter (converter.py)")?;
            let _ = std::fs::write(entry.path("convert.log"), log);
            let manifest = Manifest {
                framework: "zkml".into(),
                version: commit.clone(),
                model_sha256: tfl_sha.clone(),
                settings: serde_json::json!({ "converter": label }),
                created_at: chrono::Utc::now().to_rfc3339(),
                files: BTreeMap::new(),
                meta: BTreeMap::new(),
            };
            entry
                .seal(manifest, &["converted_model.msgpack", "config.msgpack"])
                .map_err(|e| failed(format!("cannot seal the converted model: {e}")))?;
        }
        info.insert("tflite".into(), tflite.display().to_string());
        info.insert("tflite_sha256".into(), tfl_sha);
        info.insert("converter_args".into(), label);

        // One real test input, converted by zkml's input converter.
        // Its length: from the ONNX file, else (a published CNN) from the architecture.
        let len: usize = match cell.model.onnx.as_deref() {
            Some(onnx) => crate::model::onnx::info(onnx)
                .map(|i| i.input_shape.iter().product())
                .map_err(|e| failed(format!("cannot read the model's input shape: {e}")))?,
            None => cell.model.spec.input_len(),
        };
        let index = setting_u64(cell, "input_index")?.unwrap_or(0) as usize;
        let set = inputs::test_set_for(&cell.model, len, index + 1);
        let values = set
            .inputs
            .get(index)
            .ok_or_else(|| failed(format!("no test input {index} for `{}`", cell.model.name)))?;
        let npy = workdir.join("input.npy");
        std::fs::write(&npy, npy_f32(values))
            .map_err(|e| failed(format!("cannot write {}: {e}", npy.display())))?;
        let model = entry.path("converted_model.msgpack");
        let input = workdir.join("input.msgpack");
        let argv = [
            python.display().to_string(),
            install
                .home
                .join("python/input_converter.py")
                .display()
                .to_string(),
            "--model_config".into(),
            model.display().to_string(),
            "--inputs".into(),
            npy.display().to_string(),
            "--output".into(),
            input.display().to_string(),
        ];
        let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
        provision::run(
            &refs,
            Some(workdir),
            "zkml's input converter (input_converter.py)",
        )?;
        let label_of = set.labels.as_ref().and_then(|l| l.get(index)).copied();
        info.insert("input".into(), format!("{} #{index}", set.source));
        if let Some(l) = label_of {
            info.insert("input_label".into(), l.to_string());
        }

        // The KZG params, cached across cells and runs.
        let pkey = cache_key(&["zkml-params", &commit, "kzg", &settings.k.to_string()]);
        let params = Entry::new(&root, "zkml", &pkey[..32]);
        let mut pinfo = BTreeMap::new();
        let params_new = params.lookup(&pkey, &mut pinfo).map_err(failed)?.is_none();
        if let Some(c) = pinfo.remove("cache") {
            info.insert("params_cache".into(), c);
        }
        std::fs::create_dir_all(params.path("params_kzg"))
            .map_err(|e| failed(format!("cannot create {}: {e}", params.dir.display())))?;
        let run_dir = workdir.join("run");
        std::fs::create_dir_all(&run_dir)
            .map_err(|e| failed(format!("cannot create {}: {e}", run_dir.display())))?;
        let link = run_dir.join("params_kzg");
        if std::fs::symlink_metadata(&link).is_ok() {
            std::fs::remove_file(&link)
                .map_err(|e| failed(format!("cannot replace {}: {e}", link.display())))?;
        }
        std::os::unix::fs::symlink(params.path("params_kzg"), &link)
            .map_err(|e| failed(format!("cannot link {}: {e}", link.display())))?;
        let prepared = State {
            home: install.home,
            python,
            model,
            config: entry.path("config.msgpack"),
            input,
            run_dir,
            k: settings.k,
            params,
            params_new,
            commit,
            label: label_of,
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
        // Outputs of an earlier repetition must not pass for this one's.
        for f in ["vkey", "pkey", "proof", "public_vals"] {
            let _ = std::fs::remove_file(s.run_dir.join(f));
        }
        let bin = |b: &str| s.home.join("target/release").join(b).display().to_string();
        let env = vec![("RUST_BACKTRACE".to_string(), "0".to_string())];
        Ok(vec![
            PlannedStep {
                name: "prove".into(),
                argv: vec![
                    bin("time_circuit"),
                    s.model.display().to_string(),
                    s.input.display().to_string(),
                    "kzg".into(),
                ],
                env: env.clone(),
                cwd: Some(s.run_dir.clone()),
            },
            PlannedStep {
                name: "verify".into(),
                argv: vec![
                    bin("verify_circuit"),
                    s.config.display().to_string(),
                    "vkey".into(),
                    "proof".into(),
                    "public_vals".into(),
                    "kzg".into(),
                ],
                env,
                cwd: Some(s.run_dir.clone()),
            },
        ])
    }

    fn phases(&self, _cell: &Cell, step: &str) -> Option<PhaseSpec> {
        (step == "prove").then(phase_spec)
    }

    fn collect(
        &mut self,
        _ctx: &CellContext,
        steps: &[StepRun],
    ) -> Result<Collected, FrameworkError> {
        let s = self;
        let mut c = Collected::default();
        let prove = steps
            .iter()
            .find(|r| r.step == "prove")
            .ok_or_else(|| failed("zkml: no prove step ran"))?;
        let out = parse::time_circuit(
            &read_log(prove.stdout_path.as_ref()),
            &read_log(prove.stderr_path.as_ref()),
        )
        .map_err(|e| failed(e.to_string()))?;
        let m = &mut c.metrics;
        m.insert("k".into(), s.k as f64);
        m.insert("zkml_proving_time_s".into(), out.proving_s);
        for (key, v) in [
            ("zkml_params_s", out.params_s),
            ("zkml_keygen_vk_s", out.vkey_s),
            ("zkml_keygen_pk_s", out.pkey_s),
            ("zkml_write_pkey_s", out.pkey_write_s),
            ("zkml_verifying_time_s", out.verifying_s),
        ] {
            if let Some(v) = v {
                m.insert(key.into(), v);
            }
        }
        if let Some(b) = out.vkey_bytes {
            m.insert("vkey_size_bytes".into(), b as f64);
        }
        if let Some(b) = out.pkey_bytes {
            m.insert("pkey_size_bytes".into(), b as f64);
        }
        let on_disk = std::fs::metadata(s.run_dir.join("proof"))
            .map(|md| md.len())
            .ok();
        match (on_disk, out.proof_bytes) {
            (Some(d), Some(p)) if d != p => c.warnings.push(format!(
                "zkml says the proof has {p} bytes, the file has {d}"
            )),
            _ => {}
        }
        if let Some(b) = on_disk.or(out.proof_bytes) {
            m.insert("proof_size_bytes".into(), b as f64);
        }
        if let Some(class) = out.predicted_class() {
            m.insert("predicted_class".into(), class as f64);
            let label = s.label.map(|l| format!(", label {l}")).unwrap_or_default();
            c.info.insert(
                "prediction".into(),
                format!("class {class} (circuit outputs {:?}{label})", out.outputs),
            );
        }
        if let Some(v) = steps.iter().find(|r| r.step == "verify") {
            let verified = parse::verify_circuit(
                &read_log(v.stdout_path.as_ref()),
                &read_log(v.stderr_path.as_ref()),
            );
            match verified {
                Ok(_) => {
                    m.insert("verified".into(), 1.0);
                }
                Err(e) => c.warnings.push(format!("verify: {e}")),
            }
        }
        if s.params_new {
            let rel = format!("params_kzg/{}.params", s.k);
            if s.params.path(&rel).is_file() {
                let manifest = Manifest {
                    framework: "zkml".into(),
                    version: s.commit.clone(),
                    model_sha256: String::new(),
                    settings: serde_json::json!({ "k": s.k, "scheme": "kzg" }),
                    created_at: chrono::Utc::now().to_rfc3339(),
                    files: BTreeMap::new(),
                    meta: BTreeMap::from([(
                        "origin".to_string(),
                        "generated by zkml's time_circuit (ParamsKZG::setup with a random toxic waste: not a ceremony)".to_string(),
                    )]),
                };
                match s.params.seal(manifest, &[&rel]) {
                    Ok(_) => c
                        .info
                        .insert("params_cache".into(), "generated and cached".into()),
                    Err(e) => {
                        c.warnings.push(format!("cannot cache the KZG params: {e}"));
                        None
                    }
                };
                s.params_new = false;
            }
        }
        Ok(c)
    }

    fn evaluate(&self, cell: &Cell, workdir: &Path) -> Result<Collected, FrameworkError> {
        let n = setting_u64(cell, "accuracy_samples")?.unwrap_or(0) as usize;
        if n == 0 {
            return Ok(Collected::default());
        }
        accuracy::evaluate(cell, workdir, self, n)
    }

    fn failure_reason(&self, step: &StepRun) -> Option<String> {
        let stderr = read_log(step.stderr_path.as_ref());
        parse::panic_message(&stderr).map(|p| p.to_string())
    }
}

#[cfg(test)]
mod tests;
