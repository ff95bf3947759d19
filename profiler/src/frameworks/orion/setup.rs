//! What the Orion adapter prepares before its steps: the checkouts, the backend, the
//! generated Cairo project, one real test input; and the accuracy evaluation.

use super::{backend, cairo, failed, fixed, parse, ALEXANDRIA, CORELIB, CUBIT, EXTERNAL};
use crate::frameworks::external::External;
use crate::frameworks::provision::{self, setting_str, setting_u64, write_if_changed};
use crate::frameworks::{inputs, model_onnx, Collected, FrameworkError};
use crate::suite::Cell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The settings the adapter knows.
pub const SETTINGS: [&str; 8] = [
    "accuracy_samples",
    "weights",
    "preprocessed_trace",
    "input_index",
    "backend",
    "cubit_home",
    "alexandria_home",
    "cairo_home",
];

/// A provisioned cell.
#[derive(Clone, Debug)]
pub struct State {
    pub backend: PathBuf,
    pub corelib: PathBuf,
    pub project: PathBuf,
    pub run_dir: PathBuf,
    pub args: PathBuf,
    pub executable: PathBuf,
    pub prover_input: PathBuf,
    pub proof: PathBuf,
    pub label: Option<u8>,
    /// Where the program holds the weights.
    pub weights: cairo::Weights,
    /// stwo's preprocessed trace (`--preprocessed-trace` of the backend's prove).
    pub preprocessed_trace: String,
    /// The serialized weights, the second argument of a `Weights::Data` program (empty for
    /// `Weights::Constant`).
    pub model_args: Vec<u64>,
    /// The interpreter's outputs for the cell's input (or why it could not run).
    pub predicted: Result<Vec<fixed::Fx>, String>,
}

fn found(
    ext: &External,
    setting: Option<&Path>,
    info: &mut BTreeMap<String, String>,
) -> Result<PathBuf, FrameworkError> {
    let i = ext.locate(setting).map_err(|e| {
        // Orion's dependencies come from settings of the orion framework, not its `home`.
        let e = if ext.kind == EXTERNAL.kind {
            e
        } else {
            e.replace(
                "no `home` for it in the suite",
                &format!("no setting `{}_home` in the suite", ext.kind),
            )
            .replace(
                "set `home` of the framework in the suite",
                &format!(
                    "set `{}_home` of the orion framework in the suite",
                    ext.kind
                ),
            )
        };
        FrameworkError::Failed(e)
    })?;
    info.insert(format!("{}_home", ext.kind), i.home.display().to_string());
    info.insert(
        format!("{}_commit", ext.kind),
        i.commit.clone().unwrap_or_else(|| "unknown".into()),
    );
    if let Some(w) = i.warning {
        info.insert(format!("{}_warning", ext.kind), w);
    }
    Ok(i.home)
}

/// For `zkprof doctor`: the corelib checkout, with whether the backend's compiler can
/// compile it.
pub fn corelib_status() -> crate::results::SensorStatus {
    use crate::results::SensorStatus;
    let i = match CORELIB.locate(None) {
        Ok(i) => i,
        Err(why) => return SensorStatus::unavailable(CORELIB.kind, why),
    };
    let compiler = backend::COMPILER_VERSION;
    let version = match backend::check_corelib(&i.home, i.commit.as_deref()) {
        Err(why) => return SensorStatus::unavailable(CORELIB.kind, why),
        Ok(Some(v)) => format!("corelib {v}, which the backend's Cairo {compiler} compiler compiles"),
        Ok(None) => format!(
            "the corelib's version is unknown (no version in corelib/Scarb.toml): the backend compiles only a {compiler}.x corelib"
        ),
    };
    SensorStatus::available_with(
        CORELIB.kind,
        format!("{}; {version}", External::found_line(&i)),
    )
}

/// The dense model of the cell as Orion will run it.
pub fn plan_of(cell: &Cell) -> Result<cairo::Plan, FrameworkError> {
    let (onnx, _) = model_onnx(cell, "Orion's program is generated from the ONNX graph")?;
    let unsupported = |e: String| {
        FrameworkError::Unsupported(format!(
            "zkprof generates Orion programs for dense models (Gemm/MatMul+Add, Relu, a final Softmax): {e}"
        ))
    };
    let layers = crate::model::dense_layers(&onnx).map_err(|e| unsupported(e.to_string()))?;
    let ops = crate::model::onnx::info(&onnx)
        .map_err(|e| unsupported(e.to_string()))?
        .ops;
    Ok(cairo::Plan {
        layers,
        softmax: ops.last().is_some_and(|o| o == "Softmax"),
    })
}

/// The executable's arguments as the backend reads them: one JSON array of the serialized
/// input, then the serialized model (`Weights::Data`; empty otherwise).
fn json_args(input: &[f32], model: &[u64]) -> String {
    let v: Vec<String> = cairo::args(input)
        .iter()
        .chain(model)
        .map(u64::to_string)
        .collect();
    format!("[{}]\n", v.join(","))
}

/// The values of the setting `preprocessed_trace`: stwo-cairo's variants, and `auto`.
pub const PREPROCESSED_TRACES: [&str; 4] = [
    "canonical",
    "canonical_without_pedersen",
    "canonical_small",
    "auto",
];

/// The setting `preprocessed_trace` (default: stwo-cairo's default, `canonical`; `auto`:
/// without the Pedersen tables when the program uses no Pedersen builtin).
fn preprocessed_trace_of(cell: &Cell) -> Result<String, FrameworkError> {
    provision::setting_choice(
        cell,
        "orion",
        "preprocessed_trace",
        "canonical",
        &PREPROCESSED_TRACES,
    )
}

/// The setting `weights` (default: Orion's constant tensors).
fn weights_of(cell: &Cell) -> Result<cairo::Weights, FrameworkError> {
    setting_str(cell, "weights")
        .map_or(Ok(cairo::Weights::Constant), |v| cairo::Weights::parse(&v))
        .map_err(failed)
}

/// What `info.weights` says of the program's form.
pub fn weights_fact(w: cairo::Weights) -> String {
    match w {
        cairo::Weights::Constant => "constant: every weight and bias a constant tensor in the program, as Orion's tooling writes them".into(),
        cairo::Weights::Data => "data: the weights are the program's second argument; it outputs their Poseidon hash (`model_commitment`) before the prediction, so the proof binds the model by its commitment".into(),
    }
}

impl State {
    /// A run's output read: the model commitment (a `Weights::Data` program prints it
    /// first), then the prediction.
    pub fn read_output<'o>(
        &self,
        output: &'o [String],
    ) -> Result<(Option<&'o str>, Vec<f64>), FrameworkError> {
        let (commitment, rest) = match self.weights {
            cairo::Weights::Constant => (None, output),
            cairo::Weights::Data => {
                let (c, rest) = cairo::split_commitment(output).map_err(failed)?;
                (Some(c), rest)
            }
        };
        Ok((commitment, cairo::output_values(rest).map_err(failed)?))
    }
}

/// Finds the checkouts and the backend, writes the Cairo project and the input.
pub fn provision(
    cell: &Cell,
    workdir: &Path,
) -> Result<(State, BTreeMap<String, String>), FrameworkError> {
    if let Some(k) = cell
        .settings
        .keys()
        .find(|k| !SETTINGS.contains(&k.as_str()))
    {
        return Err(failed(format!(
            "unknown setting `{k}` for orion; known settings: {}",
            SETTINGS.join(", ")
        )));
    }
    let plan = plan_of(cell)?;
    let weights = weights_of(cell)?;
    let preprocessed_trace = preprocessed_trace_of(cell)?;
    let mut info = BTreeMap::new();
    let path_setting = |k: &str| setting_str(cell, k).map(PathBuf::from);
    let orion = found(&EXTERNAL, cell.framework.home.as_deref(), &mut info)?;
    let cubit = found(&CUBIT, path_setting("cubit_home").as_deref(), &mut info)?;
    let alexandria = found(
        &ALEXANDRIA,
        path_setting("alexandria_home").as_deref(),
        &mut info,
    )?;
    let cairo_home = found(&CORELIB, path_setting("cairo_home").as_deref(), &mut info)?;
    let commit = info.get("cairo_commit").cloned();
    if let Some(v) = backend::check_corelib(&cairo_home, commit.as_deref()).map_err(failed)? {
        info.insert("cairo_corelib_version".into(), v);
    }
    let (bin, facts) = backend::ensure(setting_str(cell, "backend"))?;
    info.extend(facts);

    let project = workdir.join("cairo");
    let src = project.join("src");
    std::fs::create_dir_all(&src)
        .map_err(|e| failed(format!("cannot create {}: {e}", src.display())))?;
    let program = cairo::program_for(&plan, weights);
    write_if_changed(&src.join("lib.cairo"), &program)?;
    let model_args = match weights {
        cairo::Weights::Constant => Vec::new(),
        cairo::Weights::Data => cairo::model_args(&plan),
    };
    info.insert("weights".into(), weights_fact(weights));
    let sources = cairo::Sources {
        orion: &orion,
        cubit: &cubit,
        alexandria: &alexandria,
    };
    write_if_changed(
        &project.join("cairo_project.toml"),
        &cairo::project_toml(&sources),
    )?;
    info.insert(
        "program".into(),
        format!(
            "{} (Orion Gemm{} FP16x16, {} layers)",
            src.join("lib.cairo").display(),
            if plan.softmax {
                ", Relu, Softmax;"
            } else {
                ", Relu;"
            },
            plan.layers.len()
        ),
    );

    let run_dir = workdir.join("run");
    std::fs::create_dir_all(&run_dir)
        .map_err(|e| failed(format!("cannot create {}: {e}", run_dir.display())))?;
    let index = setting_u64(cell, "input_index")?.unwrap_or(0) as usize;
    let set = inputs::test_set_for(&cell.model, plan.inputs(), index + 1);
    let x = set
        .inputs
        .get(index)
        .ok_or_else(|| failed(format!("no test input {index} for `{}`", cell.model.name)))?;
    let args = run_dir.join("input.json");
    write_if_changed(&args, &json_args(x, &model_args))?;
    let label = set.labels.as_ref().and_then(|l| l.get(index)).copied();
    info.insert("input".into(), format!("{} #{index}", set.source));
    if let Some(l) = label {
        info.insert("input_label".into(), l.to_string());
    }
    let fp: Vec<i64> = x.iter().map(|&v| cairo::to_fp(v)).collect();
    // The interpreter reads the constant form: the same computation, weights in the text.
    let predicted = fixed::Program::parse(&cairo::program(&plan)).and_then(|p| p.run(&fp));
    Ok((
        State {
            backend: bin,
            corelib: cairo_home.join("corelib/src"),
            project,
            executable: run_dir.join("model.executable.json"),
            prover_input: run_dir.join("prover_input.json"),
            proof: run_dir.join("proof.json"),
            run_dir,
            args,
            label,
            weights,
            preprocessed_trace,
            model_args,
            predicted,
        },
        info,
    ))
}

/// Accuracy loss over `n` test images: one unmeasured `execute` of the compiled program on
/// all of them (no proving), compared with the float model (tract on the ONNX file).
pub fn accuracy(
    cell: &Cell,
    workdir: &Path,
    st: &State,
    n: usize,
) -> Result<Collected, FrameworkError> {
    if !st.executable.is_file() {
        return Err(failed(format!(
            "accuracy needs the compiled program {}, which the compile step did not leave",
            st.executable.display()
        )));
    }
    let (onnx, _) = model_onnx(cell, "accuracy needs the float model")?;
    let shape = crate::model::onnx::info(&onnx)
        .map_err(|e| failed(format!("cannot read {}: {e}", onnx.display())))?
        .input_shape;
    let len: usize = shape.iter().product();
    let set = inputs::test_set_for(&cell.model, len, n);
    let dir = workdir.join("accuracy");
    std::fs::create_dir_all(&dir)
        .map_err(|e| failed(format!("cannot create {}: {e}", dir.display())))?;
    let mut argv = vec![
        st.backend.display().to_string(),
        "execute".into(),
        "--executable".into(),
        st.executable.display().to_string(),
    ];
    for (i, x) in set.inputs.iter().enumerate() {
        let p = dir.join(format!("input-{i}.json"));
        std::fs::write(&p, json_args(x, &st.model_args))
            .map_err(|e| failed(format!("cannot write {}: {e}", p.display())))?;
        argv.push("--args".into());
        argv.push(p.display().to_string());
    }
    let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
    let text = provision::run(&refs, Some(&dir), "the Cairo backend's execute (accuracy)")?;
    let runs = parse::executions(&text);
    if runs.len() != set.inputs.len() {
        return Err(failed(format!(
            "accuracy: {} inputs but {} program outputs",
            set.inputs.len(),
            runs.len()
        )));
    }
    // None: the program panicked on that input (Orion's FP16x16 softmax overflows past a
    // logit of ~11); it counts as a wrong class.
    let mut circuit: Vec<Option<usize>> = Vec::new();
    let mut panics = Vec::new();
    for (i, r) in runs.iter().enumerate() {
        if let Some(why) = &r.failed {
            panics.push(format!("#{i}: {why}"));
            circuit.push(None);
            continue;
        }
        let (_, v) = st.read_output(&r.output)?;
        let v: Vec<f32> = v.iter().map(|&x| x as f32).collect();
        circuit.push(Some(crate::model::layers::argmax(&v)));
    }
    let reference = crate::model::reference::Reference::load(&onnx, &shape).ok();
    let float: Option<Vec<usize>> = reference.and_then(|r| {
        set.inputs
            .iter()
            .map(|x| r.run(x).ok().map(|v| crate::model::layers::argmax(&v)))
            .collect::<Option<Vec<_>>>()
    });
    for i in 0..set.inputs.len() {
        let _ = std::fs::remove_file(dir.join(format!("input-{i}.json")));
    }
    let r = crate::model::accuracy_of_classes(float.as_deref(), &circuit, set.labels.as_deref());
    let mut c = Collected::default();
    let m = &mut c.metrics;
    m.insert("accuracy_samples".into(), r.n as f64);
    m.insert("execution_panics".into(), panics.len() as f64);
    if let Some(v) = r.circuit_accuracy_pct {
        m.insert("circuit_accuracy_pct".into(), v);
    }
    if let Some(v) = r.float_accuracy_pct {
        m.insert("float_accuracy_pct".into(), v);
    }
    match r.accuracy_loss_pct {
        Some(v) => {
            m.insert("accuracy_loss_pct".into(), v);
        }
        None => c.warnings.push(
            "no float reference (tract could not run the ONNX file): accuracy loss not computed"
                .into(),
        ),
    }
    if !panics.is_empty() {
        c.info.insert("execution_panics".into(), panics.join("; "));
    }
    c.info.insert(
        "accuracy_inputs".into(),
        format!("{} (Cairo executions, no proof)", set.source),
    );
    c.info.insert(
        "accuracy_method".into(),
        "the compiled program executed by the Cairo backend (cairo-vm) per input, no proof; a run that panics counts as a wrong class"
            .into(),
    );
    Ok(c)
}
