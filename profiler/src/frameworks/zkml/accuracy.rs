//! Accuracy loss of zkml's circuit without proving: zkml's own `test_circuit` (a MockProver
//! run of the circuit, which prints the circuit's outputs) on N real test images, each
//! converted by zkml's `input_converter.py`, against the float model (tract on the ONNX
//! file). Unmeasured: these runs are evaluations, not steps.

use super::{failed, npy_f32, parse, State};
use crate::frameworks::{inputs, provision, Collected, FrameworkError};
use crate::suite::Cell;
use std::path::Path;

/// The binary this needs, relative to the installation (built by upstream's `cargo build`).
pub const TEST_CIRCUIT: &str = "target/release/test_circuit";

/// Circuit outputs for `n` test inputs, compared with the float model.
pub fn evaluate(
    cell: &Cell,
    workdir: &Path,
    st: &State,
    n: usize,
) -> Result<Collected, FrameworkError> {
    let test_circuit = st.home.join(TEST_CIRCUIT);
    if !test_circuit.is_file() {
        return Err(failed(format!(
            "accuracy needs zkml's {} (its MockProver path), not found in {}",
            TEST_CIRCUIT,
            st.home.display()
        )));
    }
    let onnx = cell
        .model
        .onnx
        .as_deref()
        .ok_or_else(|| failed("no ONNX file for the float reference"))?;
    let shape = crate::model::onnx::info(onnx)
        .map_err(|e| failed(format!("cannot read {}: {e}", onnx.display())))?
        .input_shape;
    let len: usize = shape.iter().product();
    let set = inputs::test_set_for(&cell.model, len, n);
    let dir = workdir.join("accuracy");
    std::fs::create_dir_all(&dir)
        .map_err(|e| failed(format!("cannot create {}: {e}", dir.display())))?;
    let reference = crate::model::reference::Reference::load(onnx, &shape).ok();
    let mut circuit = Vec::new();
    let mut float = Vec::new();
    for (i, x) in set.inputs.iter().enumerate() {
        let npy = dir.join(format!("input-{i}.npy"));
        let msgpack = dir.join(format!("input-{i}.msgpack"));
        std::fs::write(&npy, npy_f32(x))
            .map_err(|e| failed(format!("cannot write {}: {e}", npy.display())))?;
        let p = |x: &Path| x.display().to_string();
        let converter = p(&st.home.join("python/input_converter.py"));
        let (py, model, npy_s, out) = (p(&st.python), p(&st.model), p(&npy), p(&msgpack));
        provision::run(
            &[
                &py,
                &converter,
                "--model_config",
                &model,
                "--inputs",
                &npy_s,
                "--output",
                &out,
            ],
            Some(&dir),
            "zkml's input converter",
        )?;
        let tc = p(&test_circuit);
        let text = provision::run(&[&tc, &model, &out], Some(&dir), "zkml's test_circuit")?;
        let (_, outputs) = parse::last_outputs(&text).map_err(|e| failed(e.to_string()))?;
        circuit.push(outputs.iter().map(|&v| v as f32).collect());
        if let Some(r) = &reference {
            if let Ok(f) = r.run(x) {
                float.push(f);
            }
        }
        let _ = std::fs::remove_file(&msgpack);
        let _ = std::fs::remove_file(&npy);
    }
    let float = (float.len() == circuit.len()).then_some(float);
    let mut c = inputs::accuracy(
        float.as_deref(),
        &circuit,
        set.labels.as_deref(),
        &format!("{} (zkml test_circuit, MockProver)", set.source),
    );
    c.info.insert(
        "accuracy_method".into(),
        "zkml's test_circuit (MockProver, no proof) per input".into(),
    );
    Ok(c)
}
