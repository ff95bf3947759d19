//! keras2circom / circomlib-ml (R1CS, Groth16): zkprof transpiles the model to circom.
//!
//! Toolchain: npm `circom2`, `snarkjs`, `circomlib-ml` at exact versions from a lock file
//! (`assets/circom/`), installed by `npm ci` into `<cache>/envs/`. Steps: compile
//! (`circom2 --r1cs --wasm --O2`) -> [unmeasured: a powers of tau sized from the circuit,
//! see [`ptau`]] -> setup (Groth16 keys, `zkprof_circom.js`) ->
//! witness (the circuit's wasm) -> prove / verify (`snarkjs groth16`). compile and setup
//! write into a cache entry keyed by the tool lock, the circuit source and the settings.
//!
//! The compiler is circom2 (WebAssembly, from the lock file) unless the cell names the
//! user's own native circom (`circom_bin` or `$ZKPROF_CIRCOM_BIN`, see [`compiler`]).
//!
//! Settings: `decimals` (fixed point `10^d`, default 18 as keras2circom's `-d 18`),
//! `input_visibility` (`public`/`private`, default public), `ptau` (a finished powers-of-tau
//! file; `--ptau` or `$ZKPROF_PTAU` set it for every cell through [`super::RunOptions`]),
//! `accuracy_samples`, `circom_bin`.

pub mod compiler;
mod conv;
mod heap;
pub mod ptau;
mod tools;

pub use tools::{ensure_tools, status, TOOLS};
use tools::{HELPER, LIBRARIES, PACKAGE_LOCK};
pub mod transpile;

use super::provision::{self, setting_str, setting_u64};
use super::{inputs, CellContext, Collected, Framework, FrameworkError, PlannedStep};
use super::{PreparedCell, Provisioned};
use crate::cache::{cache_key, Entry, Manifest};
use crate::model::onnx;
use crate::results::StepRun;
use crate::suite::Cell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use transpile::Scaling;

const SETTINGS: [&str; 5] = [
    "decimals",
    "input_visibility",
    "ptau",
    "accuracy_samples",
    "circom_bin",
];
const ENTRY_FILES: [&str; 6] = [
    "model.circom",
    "model.r1cs",
    "model_js/model.wasm",
    "model.zkey",
    "vk.json",
    "ptau.label",
];

/// The circom adapter (stateless: `provision` returns the cell's `State`).
pub struct Circom;

/// A provisioned cell: what `provision` prepared, owned by the cell for its later calls.
#[derive(Clone)]
struct State {
    node: PathBuf,
    compiler: compiler::Compiler,
    /// The compiler and the libraries, as recorded (`info.tools`).
    tools: String,
    env: PathBuf,
    entry: Entry,
    cached: bool,
    /// The entry was complete when the cell started.
    hit: bool,
    mlp: onnx::Mlp,
    scaling: Scaling,
    ptau: Option<PathBuf>,
    input_json: PathBuf,
    meta: BTreeMap<String, String>,
    /// `NODE_OPTIONS` of every step: node's heap raised to the step's memory (`heap.rs`).
    node_options: String,
}

fn failed(msg: impl Into<String>) -> FrameworkError {
    FrameworkError::Failed(msg.into())
}

/// The cell's settings; the powers of tau is the cell's `ptau` setting, else the run's.
fn read_settings(
    cell: &Cell,
    opts: &super::RunOptions,
) -> Result<(Scaling, Option<PathBuf>), FrameworkError> {
    for k in cell.settings.keys() {
        if !SETTINGS.contains(&k.as_str()) {
            return Err(failed(format!(
                "framework `{}`: unknown circom setting `{k}`; valid settings: {}",
                cell.framework.name,
                SETTINGS.join(", ")
            )));
        }
    }
    let decimals = setting_u64(cell, "decimals")?.unwrap_or(18);
    if !(1..=30).contains(&decimals) {
        return Err(failed(format!(
            "circom setting `decimals` = {decimals}: use 1 to 30"
        )));
    }
    let public_input = match setting_str(cell, "input_visibility").as_deref() {
        None | Some("public") => true,
        Some("private") => false,
        Some(v) => {
            return Err(failed(format!(
                "circom setting `input_visibility` = `{v}`: valid values are public, private"
            )))
        }
    };
    let ptau = setting_str(cell, "ptau")
        .map(PathBuf::from)
        .or_else(|| opts.ptau.clone());
    if let Some(p) = &ptau {
        if !p.is_file() {
            return Err(failed(format!(
                "ptau file {} does not exist; give a finished powers-of-tau file (--ptau)",
                p.display()
            )));
        }
    }
    Ok((
        Scaling {
            decimals: decimals as u32,
            public_input,
        },
        ptau,
    ))
}

/// Constraint counts from circom's compile output.
pub fn parse_compile_output(text: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for line in text.lines() {
        let clean = strip_ansi(line);
        if let Some((k, v)) = clean.split_once(':') {
            let key = match k.trim() {
                "non-linear constraints" => "constraints_nonlinear",
                "linear constraints" => "constraints_linear",
                "public inputs" => "public_inputs",
                "private inputs" => "private_inputs",
                "public outputs" => "public_outputs",
                "wires" => "wires",
                _ => continue,
            };
            if let Ok(n) = v.trim().parse::<u64>() {
                m.insert(key.to_string(), n.to_string());
            }
        }
    }
    m
}

/// `text` without ANSI escape sequences (`ESC [ ... letter`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl Framework for Circom {
    fn proof_system(&self) -> Option<&'static str> {
        Some("Groth16 (BN254, snarkjs)")
    }

    fn kind(&self) -> super::FrameworkKind {
        super::FrameworkKind::Circom
    }

    fn status(&self) -> Vec<crate::results::SensorStatus> {
        vec![status()]
    }

    fn provision(
        &self,
        cell: &Cell,
        workdir: &Path,
        opts: &super::RunOptions,
    ) -> Result<Provisioned, FrameworkError> {
        let workdir = &super::absolute(workdir);
        let (scaling, ptau) = read_settings(cell, opts)?;
        let (onnx_path, bytes) = super::model_onnx(cell, "the circom transpiler reads ONNX")?;
        let mlp = onnx::read_mlp(&bytes).map_err(|e| match e {
            onnx::OnnxError::Unsupported(why) => {
                FrameworkError::Unsupported(format!("circom transpiler: {why}"))
            }
            onnx::OnnxError::Malformed(why) => failed(format!("{}: {why}", onnx_path.display())),
        })?;
        conv::check(&mlp.convs)
            .map_err(|why| FrameworkError::Unsupported(format!("circom transpiler: {why}")))?;
        let compiler = compiler::Compiler::of(cell)?;
        let (node, env, took) = ensure_tools()?;
        let tools = format!("{}, {LIBRARIES}", compiler.label());
        let mut info = BTreeMap::new();
        info.insert("tools".into(), tools.clone());
        info.insert("framework_version".into(), tools.clone());
        if let compiler::Compiler::Native { version, .. } = &compiler {
            info.insert("circom_compiler".into(), version.clone());
        }
        if let Some(t) = took {
            info.insert("provisioned_s".into(), format!("{t:.1}"));
        }
        if mlp.dropped_softmax {
            info.insert(
                "transpile".into(),
                "final Softmax left out (argmax unchanged)".into(),
            );
        }
        let source = transpile::circuit(&mlp, scaling);
        let ptau_key = ptau
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let key = cache_key(&[
            "circom",
            PACKAGE_LOCK,
            HELPER,
            &source,
            &ptau_key,
            &compiler.label(),
        ]);
        let root = crate::paths::cache_dir().join("artifacts");
        let entry = Entry::new(&root, "circom", &key[..32]);
        let (cached, meta) = match entry.lookup(&key, &mut info).map_err(failed)? {
            Some(m) => (true, m.meta),
            None => {
                provision::write_if_changed(&entry.path("model.circom"), &source)?;
                (false, BTreeMap::new())
            }
        };
        let n_in: usize = mlp.input_shape.iter().product();
        let first = inputs::test_set_for(&cell.model, n_in, 1);
        let mut input = transpile::params_json(&mlp, scaling);
        input.extend(transpile::input_json(&mlp, scaling, &first.inputs[0]).0);
        let input_json = workdir.join("input.json");
        provision::write_if_changed(&input_json, &serde_json::Value::Object(input).to_string())?;
        info.insert("proof_input".into(), first.source);
        info.insert("fixed_point".into(), format!("10^{}", scaling.decimals));
        let prepared = State {
            node,
            compiler,
            tools,
            env,
            entry,
            cached,
            hit: cached,
            mlp,
            scaling,
            ptau,
            input_json,
            meta,
            node_options: heap::node_options(
                cell.framework.memory_limit,
                std::env::var("NODE_OPTIONS").ok().as_deref(),
            ),
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
        let nm = |f: &str| p(&st.env.join("node_modules").join(f));
        let node = p(&st.node);
        let snarkjs = nm("snarkjs/build/cli.cjs");
        let mut steps = Vec::new();
        // circom2 (WASI) maps paths relative to its working directory; run it from the
        // toolchain directory, whose path has no unusual characters.
        let mut step = |name: &str, argv: Vec<String>| {
            let cwd = if name == "compile" {
                st.env.clone()
            } else {
                rep.clone()
            };
            steps.push(PlannedStep {
                name: name.into(),
                argv,
                env: vec![("NODE_OPTIONS".into(), st.node_options.clone())],
                cwd: Some(cwd),
            });
        };
        if !st.cached {
            let mut compile = st.compiler.command(&st.node, &st.env);
            compile.extend([
                e("model.circom"),
                "--r1cs".into(),
                "--wasm".into(),
                "--O2".into(),
                "-l".into(),
                p(&st.env.join("node_modules")),
                "-o".into(),
                p(&st.entry.dir),
            ]);
            step("compile", compile);
            let mut a = vec![
                node.clone(),
                p(&st.env.join("zkprof_circom.js")),
                "setup".into(),
            ];
            for (k, v) in [
                ("r1cs", "model.r1cs"),
                ("zkey", "model.zkey"),
                ("vk", "vk.json"),
                ("label", "ptau.label"),
            ] {
                a.extend([format!("--{k}"), e(v)]);
            }
            // `--ptau FILE --ptau-label TEXT` are added by `before_step`, unmeasured.
            step("setup", a);
        }
        step(
            "witness",
            vec![
                node.clone(),
                e("model_js/generate_witness.js"),
                e("model_js/model.wasm"),
                p(&st.input_json),
                r("witness.wtns"),
            ],
        );
        step(
            "prove",
            vec![
                node.clone(),
                snarkjs.clone(),
                "groth16".into(),
                "prove".into(),
                e("model.zkey"),
                r("witness.wtns"),
                r("proof.json"),
                r("public.json"),
            ],
        );
        step(
            "verify",
            vec![
                node,
                snarkjs,
                "groth16".into(),
                "verify".into(),
                e("vk.json"),
                r("public.json"),
                r("proof.json"),
            ],
        );
        Ok(steps)
    }

    fn before_step(
        &mut self,
        _ctx: &CellContext,
        step: &mut PlannedStep,
    ) -> Result<BTreeMap<String, String>, FrameworkError> {
        if step.name != "setup" {
            return Ok(BTreeMap::new());
        }
        let st = self;
        let dir = crate::paths::cache_dir().join("artifacts/ptau");
        let (chosen, info) = ptau::prepare(&st.entry.path("model.r1cs"), st.ptau.as_deref(), &dir)?;
        step.argv.extend([
            "--ptau".into(),
            chosen.path.display().to_string(),
            "--ptau-label".into(),
            chosen.label,
        ]);
        Ok(info)
    }

    fn collect(
        &mut self,
        ctx: &CellContext,
        steps: &[StepRun],
    ) -> Result<Collected, FrameworkError> {
        let st = self;
        let mut out = Collected::default();
        if !st.cached && steps.iter().any(|s| s.step == "setup") {
            let compile = steps.iter().find(|s| s.step == "compile");
            let log = compile
                .and_then(|s| s.stdout_path.as_ref())
                .and_then(|p| std::fs::read_to_string(p).ok())
                .unwrap_or_default();
            let mut meta = parse_compile_output(&log);
            meta.insert(
                "ptau".into(),
                std::fs::read_to_string(st.entry.path("ptau.label")).unwrap_or_default(),
            );
            let m = Manifest {
                framework: "circom".into(),
                version: st.tools.clone(),
                model_sha256: String::new(),
                settings: serde_json::json!({ "decimals": st.scaling.decimals, "public_input": st.scaling.public_input }),
                created_at: chrono::Utc::now().to_rfc3339(),
                files: BTreeMap::new(),
                meta: meta.clone(),
            };
            let mut files = ENTRY_FILES.to_vec();
            files.extend([
                "model_js/witness_calculator.js",
                "model_js/generate_witness.js",
            ]);
            st.entry
                .seal(m, &files)
                .map_err(|e| failed(format!("cannot seal cache entry: {e}")))?;
            st.cached = true;
            st.meta = meta;
        } else if !steps.iter().any(|s| s.step == "compile") {
            out.info
                .insert("skipped_steps".into(), super::ezkl::skipped_note(st.hit));
        }
        for (k, v) in &st.meta {
            match v.parse::<f64>() {
                Ok(n) => {
                    out.metrics.insert(k.clone(), n);
                }
                Err(_) => {
                    out.info.insert(k.clone(), v.clone());
                }
            }
        }
        if let (Some(a), Some(b)) = (
            out.metrics.get("constraints_nonlinear"),
            out.metrics.get("constraints_linear"),
        ) {
            out.metrics.insert("constraints_total".into(), a + b);
        }
        let rep = super::absolute(&ctx.rep_dir());
        if let Ok(text) = std::fs::read_to_string(rep.join("proof.json")) {
            out.metrics
                .insert("proof_file_bytes".into(), text.len() as f64);
            // A BN254 Groth16 proof: A and C in G1 (2 x 32 bytes each), B in G2 (4 x 32), uncompressed.
            out.metrics.insert("proof_size_bytes".into(), 256.0);
        }
        if let Some(v) = steps.iter().find(|s| s.step == "verify") {
            out.metrics
                .insert("verified".into(), if v.succeeded() { 1.0 } else { 0.0 });
        }
        Ok(out)
    }

    fn failure_reason(&self, step: &StepRun) -> Option<String> {
        heap::heap_failure(&super::read_log(step.stderr_path.as_ref()))
    }

    fn evaluate(&self, cell: &Cell, workdir: &Path) -> Result<Collected, FrameworkError> {
        let workdir = &super::absolute(workdir);
        let n = setting_u64(cell, "accuracy_samples")?.unwrap_or(0) as usize;
        if n == 0 {
            return Ok(Collected::default());
        }
        let st = self;
        let set = inputs::test_set_for(&cell.model, st.mlp.input_shape.iter().product(), n);
        if let Some(c) = inputs::unmeasured(&set) {
            return Ok(c);
        }
        let items: Vec<serde_json::Value> = set
            .inputs
            .iter()
            .map(|x| serde_json::Value::Object(transpile::input_json(&st.mlp, st.scaling, x).0))
            .collect();
        let base = transpile::params_json(&st.mlp, st.scaling);
        let s = st.scaling.scale();
        let scale = (&s * &s).to_string().parse::<f64>().unwrap_or(1.0);
        let p = |x: &Path| x.display().to_string();
        let n_out = st
            .mlp
            .layers
            .last()
            .map_or(0, onnx::DenseLayer::outputs)
            .to_string();
        let (node, helper, wasm) = (
            p(&st.node),
            p(&st.env.join("zkprof_circom.js")),
            p(&st.entry.path("model_js/model.wasm")),
        );
        let sc = format!("{scale:e}");
        // One witness calculator per chunk of inputs, as many at a time as there are CPUs.
        let write = |r: std::ops::Range<usize>, path: &Path| {
            let batch = serde_json::json!({ "base": &base, "items": &items[r] });
            std::fs::write(path, batch.to_string())
                .map_err(|e| failed(format!("cannot write {}: {e}", path.display())))
        };
        let argv = |inp: &Path, outp: &Path| {
            [
                node.as_str(),
                &helper,
                "outputs",
                "--wasm",
                &wasm,
                "--inputs",
                &p(inp),
                "--out",
                &p(outp),
                "--n-out",
                &n_out,
                "--scale",
                &sc,
            ]
            .map(String::from)
            .to_vec()
        };
        let circuit = super::chunked::run(&super::chunked::Chunked {
            what: "circom witnesses for accuracy",
            total: items.len(),
            dir: workdir,
            write_inputs: &write,
            argv: &argv,
            env: &[],
            workers: super::chunked::default_workers(),
        })?;
        let float = cell.model.onnx.as_deref().and_then(|p| {
            crate::model::reference::float_outputs_of(&super::absolute(p), &set.inputs)
        });
        Ok(inputs::accuracy(
            float.as_deref(),
            &circuit,
            set.labels.as_deref(),
            &set.source,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_circom_counts() {
        let out = "template instances: 12\n\u{1b}[33mnon-linear constraints: 1038\u{1b}[0m\nlinear constraints: 0\npublic inputs: 2\n\
                   private inputs: 8\npublic outputs: 2\nwires: 1043\n";
        let m = parse_compile_output(out);
        assert_eq!(m["constraints_nonlinear"], "1038");
        assert_eq!(m["constraints_linear"], "0");
        assert_eq!(m["wires"], "1043");
    }
}
