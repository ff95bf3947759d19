//! EZKL (Halo2, KZG) through its Python API, pinned from PyPI with hashes.
//!
//! zkprof makes one venv per EZKL version in `<cache>/envs/` and installs `ezkl==<version>`
//! with `pip --require-hashes` (setting `version`: [`env::VERSIONS`], default
//! [`EZKL_VERSION`]); the same script drives 7.x and 23.x. Each step is one process of
//! `zkprof_ezkl.py` (embedded below):
//! compile (gen_settings + calibrate_settings + compile_circuit) -> setup (SRS + keys) ->
//! witness -> prove -> verify. compile and setup write into a cache entry keyed by the EZKL
//! version, the model's SHA-256 and the settings, and are skipped when it is complete.
//!
//! Settings (suite `settings`): `version` (`23.0.5`, `7.1.4`), `softmax` (`keep`, `drop`),
//! `input_visibility`, `param_visibility`, `output_visibility` (`public`, `private`,
//! `fixed`, `hashed`; defaults public/fixed/public as in the 2024 report), `calibration`
//! (`resources`, `accuracy`, `none`; default resources), `scales` (e.g. `[2, 7]`), `srs`
//! (`auto`: the public SRS, else a labelled test SRS; `public`; `test`), `accuracy_samples`
//! (test inputs whose circuit outputs are compared with the float model, witness only;
//! default 0), `calibration_samples` (inputs given to `calibrate_settings` as that many
//! batches; default 10).

mod env;
mod logs;

pub use env::{ensure_venv, known_versions, EZKL_VERSION, VERSIONS};
pub(crate) use logs::skipped_note;
pub use logs::{agrees, logged_seconds, proof_took, unsupported_line};

use super::provision::{self, setting_u64};
use super::{inputs, CellContext, Collected, Framework, FrameworkError, PlannedStep};
use super::{PreparedCell, Provisioned};
use crate::cache::{cache_key, Entry, Manifest};
use crate::model::onnx;
use crate::results::StepRun;
use crate::suite::Cell;
use env::{calibration_json, json_inputs, read_settings};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const SCRIPT: &str = include_str!("../../../assets/ezkl/zkprof_ezkl.py");
const ENTRY_FILES: [&str; 5] = [
    "settings.json",
    "network.compiled",
    "vk.key",
    "pk.key",
    "srs.label",
];

/// The EZKL adapter (stateless: `provision` returns the cell's `State`).
pub struct Ezkl;

/// A provisioned cell: what `provision` prepared, owned by the cell for its later calls.
#[derive(Clone)]
struct State {
    /// The EZKL version the cell runs.
    version: String,
    python: PathBuf,
    script: PathBuf,
    /// EZKL's own directory (`$EZKL_REPO_PATH`: lookup tables), inside the environment.
    ezkl_home: PathBuf,
    entry: Entry,
    /// compile and setup are cached (skipped).
    cached: bool,
    /// The entry was complete when the cell started.
    hit: bool,
    onnx: PathBuf,
    input_json: PathBuf,
    input_len: usize,
    srs_dir: PathBuf,
    settings: BTreeMap<String, String>,
}

fn failed(msg: impl Into<String>) -> FrameworkError {
    FrameworkError::Failed(msg.into())
}

impl Framework for Ezkl {
    fn proof_system(&self) -> Option<&'static str> {
        Some("Halo2 (PLONKish, KZG commitments over BN254)")
    }

    fn kind(&self) -> super::FrameworkKind {
        super::FrameworkKind::Ezkl
    }

    fn status(&self) -> Vec<crate::results::SensorStatus> {
        vec![env::status()]
    }

    fn provision(
        &self,
        cell: &Cell,
        workdir: &Path,
        _opts: &super::RunOptions,
    ) -> Result<Provisioned, FrameworkError> {
        let workdir = &super::absolute(workdir);
        let settings = read_settings(cell)?;
        let (onnx_path, bytes) = super::model_onnx(cell, "EZKL proves ONNX models")?;
        let (onnx_path, bytes, dropped) = without_softmax(&settings, onnx_path, bytes, workdir)?;
        let model_sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        let input_len = match onnx::read_mlp(&bytes) {
            Ok(m) => m.input_shape.iter().product(),
            Err(onnx::OnnxError::Malformed(e)) => {
                return Err(failed(format!("{}: {e}", onnx_path.display())))
            }
            // Not an MLP: EZKL may still prove it; it needs the input size only.
            Err(onnx::OnnxError::Unsupported(_)) => input_size(&bytes).ok_or_else(|| {
                FrameworkError::Unsupported(format!(
                    "{}: cannot tell the model's input size",
                    onnx_path.display()
                ))
            })?,
        };
        let version = settings["version"].clone();
        let (python, took) = ensure_venv(&version)?;
        let mut info = BTreeMap::new();
        info.insert("ezkl_version".into(), version.clone());
        if dropped {
            info.insert(
                "model_transform".into(),
                "final Softmax dropped (softmax = \"drop\"; argmax unchanged)".into(),
            );
        }
        info.insert("framework_version".into(), version.clone());
        info.insert("python".into(), python.display().to_string());
        if let Some(t) = took {
            info.insert("provisioned_s".into(), format!("{t:.1}"));
        }
        let env_dir = python
            .parent()
            .and_then(Path::parent)
            .and_then(Path::parent)
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let script = env_dir.join("zkprof_ezkl.py");
        provision::write_if_changed(&script, SCRIPT)?;

        let cal_n: usize = settings["calibration_samples"].parse().unwrap_or(10);
        let set = inputs::test_set_for(&cell.model, input_len, cal_n);
        let canonical = serde_json::to_string(&settings).unwrap_or_default();
        let key = cache_key(&[
            "ezkl",
            &version,
            SCRIPT,
            &model_sha,
            &canonical,
            &calibration_json(&set.inputs),
        ]);
        let root = crate::paths::cache_dir().join("artifacts");
        let entry = Entry::new(&root, "ezkl", &key[..32]);
        let cached = match entry.lookup(&key, &mut info).map_err(failed)? {
            Some(m) => {
                if let Some(l) = m.meta.get("srs") {
                    info.insert("srs".into(), l.clone());
                }
                true
            }
            None => {
                provision::write_if_changed(
                    &entry.path("calibration.json"),
                    &calibration_json(&set.inputs),
                )?;
                false
            }
        };
        let input_json = workdir.join("input.json");
        let first = inputs::test_set_for(&cell.model, input_len, 1);
        provision::write_if_changed(&input_json, &json_inputs(&first.inputs))?;
        info.insert("proof_input".into(), first.source);
        info.insert("model_sha256".into(), model_sha);
        // One SRS directory per version: zkprof does not rely on two versions reading each
        // other's SRS files (7.1.4 and 23.0.5 did, when tried by hand).
        let srs_dir = if version == EZKL_VERSION {
            root.join("ezkl-srs")
        } else {
            root.join(format!("ezkl-srs-{version}"))
        };
        let prepared = State {
            version,
            python,
            ezkl_home: env_dir.join("ezkl-home"),
            script,
            entry,
            cached,
            hit: cached,
            onnx: onnx_path,
            input_json,
            input_len,
            srs_dir,
            settings,
        };
        Ok(Provisioned {
            info,
            cell: Box::new(prepared),
        })
    }
}

impl PreparedCell for State {
    fn steps(&self, ctx: &CellContext) -> Result<Vec<PlannedStep>, FrameworkError> {
        let st = self;
        let rep = super::absolute(&ctx.rep_dir());
        std::fs::create_dir_all(&rep)
            .map_err(|e| failed(format!("cannot create {}: {e}", rep.display())))?;
        let p = |x: &Path| x.display().to_string();
        let e = |f: &str| p(&st.entry.path(f));
        let r = |f: &str| p(&rep.join(f));
        let s = &st.settings;
        let mut steps = Vec::new();
        // EZKL keeps lookup tables under $EZKL_REPO_PATH (default ~/.ezkl): keep them in our cache.
        let env = vec![("EZKL_REPO_PATH".to_string(), p(&st.ezkl_home))];
        let mut step = |name: &str, args: Vec<String>| {
            let mut argv = vec![p(&st.python), p(&st.script), name.to_string()];
            argv.extend(args);
            steps.push(PlannedStep {
                name: name.into(),
                argv,
                env: env.clone(),
                cwd: Some(rep.clone()),
            });
        };
        if !st.cached {
            let mut a = vec![
                "--model".into(),
                p(&st.onnx),
                "--settings".into(),
                e("settings.json"),
                "--compiled".into(),
                e("network.compiled"),
                "--calibration".into(),
                e("calibration.json"),
            ];
            for k in ["input_visibility", "param_visibility", "output_visibility"] {
                a.extend([format!("--{}", k.replace('_', "-")), s[k].clone()]);
            }
            a.extend([
                "--target".into(),
                s["calibration"].clone(),
                "--scales".into(),
                s["scales"].clone(),
            ]);
            step("compile", a);
            step(
                "setup",
                vec![
                    "--settings".into(),
                    e("settings.json"),
                    "--compiled".into(),
                    e("network.compiled"),
                    "--vk".into(),
                    e("vk.key"),
                    "--pk".into(),
                    e("pk.key"),
                    "--srs-dir".into(),
                    p(&st.srs_dir),
                    "--srs-link".into(),
                    e("kzg.srs"),
                    "--srs-label".into(),
                    e("srs.label"),
                    "--srs-mode".into(),
                    s["srs"].clone(),
                ],
            );
        }
        step(
            "witness",
            vec![
                "--data".into(),
                p(&st.input_json),
                "--compiled".into(),
                e("network.compiled"),
                "--out".into(),
                r("witness.json"),
            ],
        );
        step(
            "prove",
            vec![
                "--witness".into(),
                r("witness.json"),
                "--compiled".into(),
                e("network.compiled"),
                "--pk".into(),
                e("pk.key"),
                "--proof".into(),
                r("proof.json"),
                "--srs".into(),
                e("kzg.srs"),
            ],
        );
        step(
            "verify",
            vec![
                "--proof".into(),
                r("proof.json"),
                "--settings".into(),
                e("settings.json"),
                "--vk".into(),
                e("vk.key"),
                "--srs".into(),
                e("kzg.srs"),
            ],
        );
        Ok(steps)
    }

    fn collect(
        &mut self,
        ctx: &CellContext,
        steps: &[StepRun],
    ) -> Result<Collected, FrameworkError> {
        let st = self;
        let mut out = Collected::default();
        let label = std::fs::read_to_string(st.entry.path("srs.label")).unwrap_or_default();
        if !st.cached && steps.iter().any(|s| s.step == "setup") {
            let mut meta = BTreeMap::new();
            meta.insert("srs".to_string(), label.clone());
            let m = Manifest {
                framework: "ezkl".into(),
                version: st.version.clone(),
                model_sha256: String::new(),
                settings: serde_json::to_value(&st.settings).unwrap_or_default(),
                created_at: chrono::Utc::now().to_rfc3339(),
                files: BTreeMap::new(),
                meta,
            };
            let mut files = ENTRY_FILES.to_vec();
            files.push("kzg.srs");
            st.entry
                .seal(m, &files)
                .map_err(|e| failed(format!("cannot seal cache entry: {e}")))?;
            st.cached = true;
        }
        if !label.is_empty() {
            out.info.insert("srs".into(), label);
        }
        let settings: serde_json::Value = std::fs::read_to_string(st.entry.path("settings.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        for k in ["logrows", "input_scale", "param_scale"] {
            if let Some(v) = settings["run_args"][k].as_f64() {
                out.metrics.insert(k.into(), v);
            }
        }
        for k in ["num_rows", "total_assignments", "total_const_size"] {
            if let Some(v) = settings[k].as_f64() {
                out.metrics.insert(k.into(), v);
            }
        }
        let rep = super::absolute(&ctx.rep_dir());
        if let Ok(text) = std::fs::read_to_string(rep.join("proof.json")) {
            out.metrics
                .insert("proof_file_bytes".into(), text.len() as f64);
            let proof: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            let hex_len = match &proof["proof"] {
                serde_json::Value::String(h) => Some(h.trim_start_matches("0x").len() / 2),
                serde_json::Value::Array(a) => Some(a.len()),
                _ => None,
            };
            if let Some(n) = hex_len {
                out.metrics.insert("proof_size_bytes".into(), n as f64);
            }
        }
        if let Some(v) = steps.iter().find(|s| s.step == "verify") {
            out.metrics
                .insert("verified".into(), if v.succeeded() { 1.0 } else { 0.0 });
        }
        if let Some(prove) = steps.iter().find(|s| s.step == "prove") {
            let log = prove
                .stderr_path
                .as_ref()
                .and_then(|p| std::fs::read_to_string(p).ok())
                .unwrap_or_default();
            if let Some(t) = proof_took(&log) {
                let startup = logged_seconds(&log, "zkprof: started in ").unwrap_or(0.0);
                let pk_load = logged_seconds(&log, "loaded proving key in ").unwrap_or(0.0);
                out.metrics.insert("prover_reported_prove_s".into(), t);
                out.metrics.insert("prover_startup_s".into(), startup);
                out.metrics.insert("prover_pk_load_s".into(), pk_load);
                out.metrics
                    .insert("prove_wall_minus_reported_s".into(), prove.wall_s - t);
                let ok = agrees(prove.wall_s, t, startup + pk_load);
                out.metrics
                    .insert("prove_time_agrees".into(), if ok { 1.0 } else { 0.0 });
                if !ok {
                    out.warnings.push(format!(
                        "prove: zkprof measured {:.3} s, EZKL reports {t:.3} s (+ {:.3} s start-up and key load): \
                         more than 5% apart",
                        prove.wall_s,
                        startup + pk_load
                    ));
                }
            }
        }
        if !steps.iter().any(|s| s.step == "compile") {
            out.info
                .insert("skipped_steps".into(), skipped_note(st.hit));
        }
        Ok(out)
    }

    fn evaluate(&self, cell: &Cell, workdir: &Path) -> Result<Collected, FrameworkError> {
        let workdir = &super::absolute(workdir);
        let n = setting_u64(cell, "accuracy_samples")?.unwrap_or(0) as usize;
        if n == 0 {
            return Ok(Collected::default());
        }
        let st = self;
        let set = inputs::test_set_for(&cell.model, st.input_len, n);
        if let Some(c) = inputs::unmeasured(&set) {
            return Ok(c);
        }
        let p = |x: &Path| x.display().to_string();
        let (py, sc, comp) = (
            p(&st.python),
            p(&st.script),
            p(&st.entry.path("network.compiled")),
        );
        // One EZKL process per chunk of inputs, as many at a time as there are CPUs.
        let write = |r: std::ops::Range<usize>, path: &Path| {
            std::fs::write(
                path,
                serde_json::to_string(&set.inputs[r]).unwrap_or_default(),
            )
            .map_err(|e| failed(format!("cannot write {}: {e}", path.display())))
        };
        let argv = |inp: &Path, outp: &Path| {
            [
                py.as_str(),
                &sc,
                "outputs",
                "--inputs",
                &p(inp),
                "--compiled",
                &comp,
                "--out",
                &p(outp),
            ]
            .map(String::from)
            .to_vec()
        };
        let circuit = super::chunked::run(&super::chunked::Chunked {
            what: "EZKL witnesses for accuracy",
            total: set.inputs.len(),
            dir: workdir,
            write_inputs: &write,
            argv: &argv,
            env: &[("EZKL_REPO_PATH".into(), p(&st.ezkl_home))],
            workers: super::chunked::default_workers(),
        })?;
        let float = crate::model::reference::float_outputs_of(&st.onnx, &set.inputs);
        Ok(inputs::accuracy(
            float.as_deref(),
            &circuit,
            set.labels.as_deref(),
            &set.source,
        ))
    }

    /// Before the setup step, unmeasured: the SRS for the compiled circuit's logrows
    /// (cached; downloaded or generated on first use), so that setup only makes keys.
    fn before_step(
        &mut self,
        _ctx: &CellContext,
        step: &mut PlannedStep,
    ) -> Result<BTreeMap<String, String>, FrameworkError> {
        if step.name != "setup" {
            return Ok(BTreeMap::new());
        }
        let st = self;
        let arg = |k: &str| {
            step.argv
                .iter()
                .position(|a| a == k)
                .and_then(|i| step.argv.get(i + 1))
                .cloned()
                .unwrap_or_default()
        };
        let (settings, dir, mode) = (arg("--settings"), arg("--srs-dir"), arg("--srs-mode"));
        let (py, script) = (
            st.python.display().to_string(),
            st.script.display().to_string(),
        );
        let home = st.ezkl_home.display().to_string();
        let t = std::time::Instant::now();
        let mut phase = None;
        if !srs_cached(&settings, &dir) {
            phase = Some(crate::phase::Phase::start(
                "ezkl: preparing the SRS for this circuit (first use of its size)",
            ));
        }
        let argv = [
            py.as_str(),
            &script,
            "srs",
            "--settings",
            &settings,
            "--srs-dir",
            &dir,
            "--srs-mode",
            &mode,
        ];
        let out = provision::run_env(&argv, None, &[("EZKL_REPO_PATH".into(), home)], "EZKL SRS");
        if let Some(p) = phase {
            p.finish(if out.is_ok() { "done" } else { "failed" });
        }
        let label = out?.lines().last().unwrap_or_default().to_string();
        let mut info = BTreeMap::new();
        // The circuit's size, recorded before the setup runs (and perhaps runs out of memory).
        if let Some(k) = logrows_of(&settings) {
            info.insert(crate::results::FACT_LOGROWS.into(), k.to_string());
        }
        info.insert(
            "srs_provisioned_s".into(),
            format!("{:.2}", t.elapsed().as_secs_f64()),
        );
        if !label.is_empty() {
            info.insert("srs".into(), label);
        }
        Ok(info)
    }

    fn unsupported_reason(&self, step: &StepRun) -> Option<String> {
        if step.step != "compile" {
            return None;
        }
        let read = |p: &Option<String>| {
            p.as_ref()
                .and_then(|p| std::fs::read_to_string(p).ok())
                .unwrap_or_default()
        };
        let log = format!("{}\n{}", read(&step.stdout_path), read(&step.stderr_path));
        unsupported_line(&log)
            .map(|l| format!("EZKL {} cannot compile this model: {l}", self.version))
    }
}

/// With `softmax = "drop"`, a dense model ending in Softmax is written again without it
/// (`<workdir>/model-without-softmax.onnx`; argmax, hence the predicted class, is unchanged),
/// as the 2024 benchmark's PyTorch export had none; EZKL 7.1.4 computes wrong outputs for a
/// final Softmax. Returns the model to prove, its bytes and whether a Softmax was dropped.
fn without_softmax(
    settings: &BTreeMap<String, String>,
    path: PathBuf,
    bytes: Vec<u8>,
    workdir: &Path,
) -> Result<(PathBuf, Vec<u8>, bool), FrameworkError> {
    if settings.get("softmax").map(String::as_str) != Some("drop") {
        return Ok((path, bytes, false));
    }
    match onnx::read_mlp(&bytes) {
        Ok(m) if m.dropped_softmax && m.convs.is_empty() => {
            std::fs::create_dir_all(workdir)
                .map_err(|e| failed(format!("cannot create {}: {e}", workdir.display())))?;
            let out = workdir.join("model-without-softmax.onnx");
            let written = onnx::write_mlp(&m.layers);
            std::fs::write(&out, &written)
                .map_err(|e| failed(format!("cannot write {}: {e}", out.display())))?;
            Ok((out, written, true))
        }
        Ok(m) if m.dropped_softmax => Err(FrameworkError::Unsupported(format!(
            "{}: softmax = \"drop\" rewrites dense models only; this one has convolutions",
            path.display()
        ))),
        // No final Softmax (or not a network zkprof reads): proved as it is.
        _ => Ok((path, bytes, false)),
    }
}

/// The compiled circuit's logrows, from EZKL's `settings.json`.
fn logrows_of(settings: &str) -> Option<u64> {
    std::fs::read_to_string(settings)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["run_args"]["logrows"].as_u64())
}

/// Whether the SRS directory already holds a finished SRS for the logrows in `settings`.
fn srs_cached(settings: &str, srs_dir: &str) -> bool {
    logrows_of(settings).is_some_and(|k| {
        Path::new(srs_dir)
            .join(format!("k{k}/zkprof-cache.json"))
            .is_file()
    })
}

/// The input size of any ONNX graph via its first non-constant input (dims past the batch).
fn input_size(bytes: &[u8]) -> Option<usize> {
    onnx::input_shape(bytes).ok().map(|s| s.iter().product())
}

#[cfg(test)]
mod tests;
