//! zkTorch (uiuc-kang-lab/zk-torch: ONNX layers compiled to basic blocks, KZG on BN254,
//! Mira-style accumulation): an external framework, the user's own build.
//!
//! zkprof finds the installation (`home` of the framework in the suite, or
//! `$ZKPROF_ZKTORCH_HOME`; see `external.rs`): a checkout built with `cargo build --release
//! --bin zk_torch --features fold`. Per cell it writes zkTorch's `config.yaml` (the model's
//! ONNX file, one real test input as `{"input_data": [[...]]}`, the powers of tau, the
//! quantisation settings, output paths in the cell's run directory) and runs
//! `zk_torch config.yaml` as the `prove` step with `RUST_LOG` set so that zkTorch prints its
//! plonky2 timing tree.
//!
//! zkTorch does witness generation, setup, proving, verification and the final fold in one
//! process and prints its timing tree only at the end, so no phase boundary can be seen while
//! it runs: the step's time and memory are the whole process's, and zkTorch's own timers are
//! kept beside them (`zktorch_witness_s`, `zktorch_setup_s`, `zktorch_prove_s`,
//! `zktorch_verify_s`, ...). `verified` is its verifier's `Is verification successful?`;
//! `proof_size_bytes` is the final (folded) proof file, the other files' sizes are kept too.
//!
//! Powers of tau: a snarkjs `.ptau` file (setting `ptau`, `--ptau` or `$ZKPROF_PTAU`),
//! rewritten once into the uncompressed layout zkTorch reads (`ptau.rs`) and cached.

pub mod parse;
pub mod ptau;

use super::external::External;
use super::provision::{setting_str, setting_u64};
use super::read_log;
use super::{inputs, CellContext, Collected, Framework, FrameworkError, PlannedStep};
use super::{PreparedCell, Provisioned};
use crate::cache::{cache_key, hash_file, Entry, Manifest};
use crate::results::StepRun;
use crate::suite::Cell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The commit of uiuc-kang-lab/zk-torch this adapter reads (the newest, 2025-06-30).
pub const COMMIT: &str = "63b9c68960f3ca84026d89428dd6d8129e930d53";

/// The installation zkprof looks for.
pub const EXTERNAL: External = External {
    kind: "zktorch",
    label: "zkTorch",
    repo: "https://github.com/uiuc-kang-lab/zk-torch",
    commit: COMMIT,
    build_doc: "https://github.com/uiuc-kang-lab/zk-torch#run-the-example",
    build_hint: "`cargo build --release --bin zk_torch --features fold` with nightly Rust",
    binaries: &["target/release/zk_torch"],
    files: &[],
};

const SETTINGS: [&str; 8] = [
    "ptau",
    "input_json",
    "pow_len_log",
    "loaded_pow_len_log",
    "scale_factor_log",
    "cq_range_log",
    "cq_range_lower_log",
    "input_index",
];

/// Files zkTorch writes in the run directory (config.yaml's `prover` paths).
const OUTPUTS: [&str; 8] = [
    "models",
    "setups",
    "modelsEnc",
    "inputsEnc",
    "outputsEnc",
    "proofs",
    "acc_proofs",
    "final_proofs",
];

/// zkTorch's quantisation and SRS settings of a cell.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub ptau: PathBuf,
    /// log2 of the powers in the challenge file zkprof writes (default: the `.ptau`'s power).
    pub pow_len_log: Option<u32>,
    /// log2 of the powers zkTorch loads (default: `pow_len_log`).
    pub loaded_pow_len_log: Option<u32>,
    pub scale_factor_log: u32,
    pub cq_range_log: u32,
    pub cq_range_lower_log: u32,
    pub input_index: usize,
    /// A zkTorch input file (`{"input_data": [[...]]}`) to use instead of a test input.
    pub input_json: Option<PathBuf>,
}

fn failed(msg: impl Into<String>) -> FrameworkError {
    FrameworkError::Failed(msg.into())
}

impl Settings {
    /// Reads and checks a cell's settings (defaults: upstream's sample `config.yaml`).
    pub fn of(cell: &Cell, opts: &super::RunOptions) -> Result<Settings, FrameworkError> {
        if let Some(k) = cell
            .settings
            .keys()
            .find(|k| !SETTINGS.contains(&k.as_str()))
        {
            return Err(failed(format!(
                "unknown setting `{k}` for zktorch; known settings: {}",
                SETTINGS.join(", ")
            )));
        }
        let ptau = setting_str(cell, "ptau")
            .map(PathBuf::from)
            .or_else(|| opts.ptau.clone())
            .ok_or_else(|| {
                failed("zkTorch needs a powers-of-tau file: give a snarkjs .ptau with `--ptau`, $ZKPROF_PTAU or the setting `ptau`")
            })?;
        if !ptau.is_file() {
            return Err(failed(format!(
                "ptau file {} does not exist; give a snarkjs .ptau file (--ptau)",
                ptau.display()
            )));
        }
        let small = |k: &str, d: u32| -> Result<u32, FrameworkError> {
            match setting_u64(cell, k)? {
                None => Ok(d),
                Some(v) if (1..=28).contains(&v) => Ok(v as u32),
                Some(v) => Err(failed(format!("zktorch setting `{k}` = {v}: use 1 to 28"))),
            }
        };
        let s = Settings {
            ptau: super::absolute(&ptau),
            pow_len_log: setting_u64(cell, "pow_len_log")?
                .map(|_| small("pow_len_log", 0))
                .transpose()?,
            loaded_pow_len_log: setting_u64(cell, "loaded_pow_len_log")?
                .map(|_| small("loaded_pow_len_log", 0))
                .transpose()?,
            scale_factor_log: small("scale_factor_log", 3)?,
            cq_range_log: small("cq_range_log", 6)?,
            cq_range_lower_log: small("cq_range_lower_log", 5)?,
            input_index: setting_u64(cell, "input_index")?.unwrap_or(0) as usize,
            input_json: setting_str(cell, "input_json").map(|p| super::absolute(Path::new(&p))),
        };
        if let Some(p) = s.input_json.as_ref().filter(|p| !p.is_file()) {
            return Err(failed(format!(
                "zktorch setting input_json: {} does not exist",
                p.display()
            )));
        }
        if s.cq_range_lower_log >= s.cq_range_log {
            return Err(failed(format!(
                "zktorch settings: cq_range_lower_log ({}) must be below cq_range_log ({})",
                s.cq_range_lower_log, s.cq_range_log
            )));
        }
        Ok(s)
    }
}

/// zkTorch's `config.yaml` (paths absolute, outputs relative to the run directory).
pub fn config_yaml(
    model: &Path,
    input: &Path,
    challenge: &Path,
    pow: u32,
    loaded: u32,
    s: &Settings,
) -> String {
    let q = |p: &Path| serde_json::to_string(&p.display().to_string()).unwrap_or_default();
    let mut y = format!(
        "task: zkprof\nonnx:\n  model_path: {}\n  input_path: {}\nptau:\n  ptau_path: {}\n  pow_len_log: {pow}\n  loaded_pow_len_log: {loaded}\nsf:\n  scale_factor_log: {}\n  cq_range_log: {}\n  cq_range_lower_log: {}\nprover:\n",
        q(model),
        q(input),
        q(challenge),
        s.scale_factor_log,
        s.cq_range_log,
        s.cq_range_lower_log
    );
    for (key, file) in [
        ("model_path", "models"),
        ("setup_path", "setups"),
        ("enc_model_path", "modelsEnc"),
        ("enc_input_path", "inputsEnc"),
        ("enc_output_path", "outputsEnc"),
        ("proof_path", "proofs"),
        ("acc_proof_path", "acc_proofs"),
        ("final_proof_path", "final_proofs"),
    ] {
        y.push_str(&format!("  {key}: {file}\n"));
    }
    // Upstream caches CQ layer setups in `layer_setup/` across runs; every repetition here
    // does its whole setup.
    y.push_str("  enable_layer_setup: false\nverifier:\n");
    for (key, file) in [
        ("enc_model_path", "modelsEnc"),
        ("enc_input_path", "inputsEnc"),
        ("enc_output_path", "outputsEnc"),
        ("proof_path", "proofs"),
    ] {
        y.push_str(&format!("  {key}: {file}\n"));
    }
    y
}

/// The zkTorch adapter (stateless: `provision` returns the cell's `State`).
pub struct ZkTorch;

/// A provisioned cell: what `provision` prepared, owned by the cell for its later calls.
#[derive(Clone, Debug)]
struct State {
    home: PathBuf,
    run_dir: PathBuf,
    label: Option<u8>,
}

/// The challenge file for `ptau` at power `pow`, converted once and cached.
fn challenge(
    s: &Settings,
    pow: u32,
    info: &mut BTreeMap<String, String>,
) -> Result<PathBuf, FrameworkError> {
    let root = crate::paths::cache_dir().join("artifacts");
    let (sha, _) =
        hash_file(&s.ptau).map_err(|e| failed(format!("cannot read {}: {e}", s.ptau.display())))?;
    let key = cache_key(&["zktorch-challenge-full", &sha, &pow.to_string()]);
    let entry = Entry::new(&root, "zktorch", &key[..32]);
    let mut cinfo = BTreeMap::new();
    if entry.lookup(&key, &mut cinfo).map_err(failed)?.is_none() {
        ptau::write_challenge(&s.ptau, pow, &entry.path("challenge")).map_err(failed)?;
        let manifest = Manifest {
            framework: "zktorch".into(),
            version: format!("challenge layout, power {pow}"),
            model_sha256: String::new(),
            settings: serde_json::json!({ "ptau_sha256": sha, "power": pow }),
            created_at: chrono::Utc::now().to_rfc3339(),
            files: BTreeMap::new(),
            meta: BTreeMap::from([(
                "origin".to_string(),
                format!("tauG1/tauG2 of {} rewritten for zkTorch", s.ptau.display()),
            )]),
        };
        entry
            .seal(manifest, &["challenge"])
            .map_err(|e| failed(format!("cannot seal the zkTorch challenge file: {e}")))?;
    }
    if let Some(c) = cinfo.remove("cache") {
        info.insert("ptau_cache".into(), c);
    }
    info.insert("ptau".into(), s.ptau.display().to_string());
    info.insert("ptau_sha256".into(), sha);
    Ok(entry.path("challenge"))
}

impl Framework for ZkTorch {
    fn kind(&self) -> super::FrameworkKind {
        super::FrameworkKind::ZkTorch
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
        opts: &super::RunOptions,
    ) -> Result<Provisioned, FrameworkError> {
        let workdir = &super::absolute(workdir);
        let s = Settings::of(cell, opts)?;
        let install = EXTERNAL
            .locate(cell.framework.home.as_deref())
            .map_err(FrameworkError::Failed)?;
        let (onnx, _) = super::model_onnx(cell, "zkTorch proves ONNX models")?;
        let mut info = BTreeMap::new();
        info.insert("zktorch_home".into(), install.home.display().to_string());
        info.insert(
            "zktorch_commit".into(),
            install.commit.clone().unwrap_or_else(|| "unknown".into()),
        );
        if let Some(w) = &install.warning {
            info.insert("zktorch_warning".into(), w.clone());
        }
        let file_power = ptau::info(&s.ptau).map_err(failed)?.power;
        let pow = s.pow_len_log.unwrap_or(file_power);
        if pow > file_power {
            return Err(failed(format!(
                "zktorch setting pow_len_log = {pow}, but {} has power {file_power}",
                s.ptau.display()
            )));
        }
        let loaded = s.loaded_pow_len_log.unwrap_or(pow);
        if loaded > pow || s.cq_range_log >= pow {
            return Err(failed(format!(
                "zktorch settings: need cq_range_log ({}) < pow_len_log ({pow}) and loaded_pow_len_log ({loaded}) <= pow_len_log",
                s.cq_range_log
            )));
        }
        let challenge = challenge(&s, pow, &mut info)?;

        let run_dir = workdir.join("run");
        std::fs::create_dir_all(&run_dir)
            .map_err(|e| failed(format!("cannot create {}: {e}", run_dir.display())))?;
        let input = run_dir.join("input.json");
        let mut label = None;
        if let Some(given) = &s.input_json {
            std::fs::copy(given, &input).map_err(|e| {
                failed(format!(
                    "cannot copy {} to {}: {e}",
                    given.display(),
                    input.display()
                ))
            })?;
            info.insert("input".into(), given.display().to_string());
        } else {
            // One real test input, as zkTorch's JSON.
            let len: usize = crate::model::onnx::info(&onnx)
                .map(|i| i.input_shape.iter().product())
                .map_err(|e| failed(format!("cannot read the model's input shape: {e}")))?;
            let set = inputs::test_set_for(&cell.model, len, s.input_index + 1);
            let values = set.inputs.get(s.input_index).ok_or_else(|| {
                failed(format!(
                    "no test input {} for `{}`",
                    s.input_index, cell.model.name
                ))
            })?;
            let json = serde_json::json!({ "input_data": [values] });
            std::fs::write(&input, json.to_string())
                .map_err(|e| failed(format!("cannot write {}: {e}", input.display())))?;
            label = set
                .labels
                .as_ref()
                .and_then(|l| l.get(s.input_index))
                .copied();
            info.insert("input".into(), format!("{} #{}", set.source, s.input_index));
            if let Some(l) = label {
                info.insert("input_label".into(), l.to_string());
            }
        }
        let yaml = config_yaml(&onnx, &input, &challenge, pow, loaded, &s);
        std::fs::write(run_dir.join("config.yaml"), &yaml)
            .map_err(|e| failed(format!("cannot write config.yaml: {e}")))?;
        info.insert(
            "zktorch_config".into(),
            format!(
                "pow_len_log {pow}, loaded_pow_len_log {loaded}, scale_factor_log {}, cq_range_log {}, cq_range_lower_log {}, layer setup cache off",
                s.scale_factor_log, s.cq_range_log, s.cq_range_lower_log
            ),
        );
        let prepared = State {
            home: install.home,
            run_dir,
            label,
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
        for f in OUTPUTS {
            let _ = std::fs::remove_file(s.run_dir.join(f));
        }
        Ok(vec![PlannedStep {
            name: "prove".into(),
            argv: vec![
                s.home.join("target/release/zk_torch").display().to_string(),
                "config.yaml".into(),
            ],
            env: vec![
                ("RUST_LOG".into(), "warn,plonky2=debug".into()),
                ("RUST_BACKTRACE".into(), "0".into()),
            ],
            cwd: Some(s.run_dir.clone()),
        }])
    }

    fn collect(
        &mut self,
        _ctx: &CellContext,
        steps: &[StepRun],
    ) -> Result<Collected, FrameworkError> {
        let s = &*self;
        let prove = steps
            .iter()
            .find(|r| r.step == "prove")
            .ok_or_else(|| failed("zktorch: no prove step ran"))?;
        let out = parse::output(
            &read_log(prove.stdout_path.as_ref()),
            &read_log(prove.stderr_path.as_ref()),
        );
        if let Some(e) = &out.cq_error {
            return Err(failed(format!(
                "zkTorch: CQ Error: {e} (a quantised value left a lookup table: raise cq_range_log or lower scale_factor_log)"
            )));
        }
        let mut c = Collected::default();
        let m = &mut c.metrics;
        match out.verified {
            Some(true) => {
                m.insert("verified".into(), 1.0);
            }
            Some(false) => {
                return Err(failed(
                    "zkTorch's verifier printed `Is verification successful? false`",
                ))
            }
            None => c
                .warnings
                .push("zkTorch printed no verification verdict".into()),
        }
        if !out.finished {
            c.warnings
                .push("zkTorch did not print `Cargo run was successful.`".into());
        }
        if out.timers.is_empty() {
            c.warnings.push(
                "zkTorch printed no timing tree (RUST_LOG=plonky2=debug was set): its own phase times are missing".into(),
            );
        }
        for (key, label) in [
            ("zktorch_witness_s", "run witness generation"),
            ("zktorch_setup_s", "setup and encode models"),
            ("zktorch_encode_inputs_s", "encode inputs"),
            ("zktorch_encode_outputs_s", "encode outputs"),
            ("zktorch_prove_s", "prove"),
            ("zktorch_verify_s", "verify"),
        ] {
            if let Some(v) = out.top(label) {
                m.insert(key.into(), v);
            }
        }
        if let Some(v) = out.total() {
            m.insert("zktorch_total_s".into(), v);
        }
        c.info.insert(
            "phases".into(),
            format!(
                "zkTorch prints its timing tree only at exit, so phase windows cannot be measured: the step is the whole process; zkTorch's own top-level timers: {}",
                out.top_summary()
            ),
        );
        let size = |f: &str| std::fs::metadata(s.run_dir.join(f)).map(|md| md.len()).ok();
        if let Some(b) = size("final_proofs") {
            m.insert("proof_size_bytes".into(), b as f64);
        } else {
            c.warnings
                .push("zkTorch wrote no final (folded) proof".into());
        }
        for (key, f) in [
            ("proofs_size_bytes", "proofs"),
            ("acc_proofs_size_bytes", "acc_proofs"),
            ("enc_model_size_bytes", "modelsEnc"),
            ("enc_input_size_bytes", "inputsEnc"),
            ("enc_output_size_bytes", "outputsEnc"),
            ("setup_size_bytes", "setups"),
        ] {
            if let Some(b) = size(f) {
                m.insert(key.into(), b as f64);
            }
        }
        if let Some(l) = s.label {
            c.info.insert("input_label".into(), l.to_string());
        }
        Ok(c)
    }

    fn silent_failure(&self, step: &StepRun) -> Option<String> {
        let out = parse::output(
            &read_log(step.stdout_path.as_ref()),
            &read_log(step.stderr_path.as_ref()),
        );
        if let Some(e) = out.cq_error {
            return Some(format!(
                "zkTorch printed `CQ Error: {e}` and made no proof (a quantised value left a lookup table: raise cq_range_log or lower scale_factor_log)"
            ));
        }
        (out.verified == Some(false))
            .then(|| "zkTorch's verifier printed `Is verification successful? false`".to_string())
    }

    fn failure_reason(&self, step: &StepRun) -> Option<String> {
        let stderr = read_log(step.stderr_path.as_ref());
        parse::panic_message(&stderr).map(|p| format!("zkTorch panicked at {p}"))
    }
}

#[cfg(test)]
mod tests;
