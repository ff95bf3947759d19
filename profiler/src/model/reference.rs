//! Float reference inference with tract: the numbers a circuit is compared against.

use super::ModelError;
use std::path::Path;
use tract_onnx::prelude::*;

/// A loaded, optimised model ready to run one input at a time.
pub struct Reference {
    plan: TypedRunnableModel<TypedModel>,
    input_shape: Vec<usize>,
}

impl Reference {
    /// Loads `onnx` with its input fixed to `input_shape` (f32).
    pub fn load(onnx: &Path, input_shape: &[usize]) -> Result<Reference, ModelError> {
        let err = |stage: &str, e: TractError| ModelError::onnx(onnx, format!("{stage}: {e:#}"));
        let model = tract_onnx::onnx()
            .model_for_path(onnx)
            .map_err(|e| err("cannot load the ONNX graph", e))?;
        let model = model
            .with_input_fact(0, f32::fact(input_shape).into())
            .map_err(|e| err("cannot set the input shape", e))?;
        let plan = model
            .into_optimized()
            .map_err(|e| err("unsupported or invalid graph (tract cannot analyse it)", e))?
            .into_runnable()
            .map_err(|e| err("cannot plan the graph", e))?;
        Ok(Reference {
            plan,
            input_shape: input_shape.to_vec(),
        })
    }

    /// Runs one input (flattened, `product(input_shape)` values) and returns the first
    /// output flattened.
    pub fn run(&self, input: &[f32]) -> Result<Vec<f32>, ModelError> {
        let want: usize = self.input_shape.iter().product();
        if input.len() != want {
            return Err(ModelError::Input(format!(
                "input of {} values for a model expecting {:?} = {want}",
                input.len(),
                self.input_shape
            )));
        }
        let t = Tensor::from_shape(&self.input_shape, input)
            .map_err(|e| ModelError::Input(format!("{e:#}")))?;
        let out = self
            .plan
            .run(tvec!(t.into()))
            .map_err(|e| ModelError::Input(format!("inference failed: {e:#}")))?;
        let first = out
            .first()
            .ok_or_else(|| ModelError::Input("the model produced no output".into()))?;
        let view = first
            .to_array_view::<f32>()
            .map_err(|e| ModelError::Input(format!("output is not f32: {e:#}")))?;
        Ok(view.iter().copied().collect())
    }
}

/// Float outputs of the model in `onnx` for each input, computed by tract: the reference
/// a circuit's outputs are compared with. `None` when tract cannot load or run the model
/// (the accuracy loss is then not computed, and the facts say so).
pub fn float_outputs_of(onnx: &Path, inputs: &[Vec<f32>]) -> Option<Vec<Vec<f32>>> {
    let shape = super::onnx::info(onnx).ok()?.input_shape;
    float_outputs(onnx, &shape, inputs).ok()
}

/// Float outputs (tract) of the model in `onnx`, input fixed to `input_shape` (batch
/// included), for each input.
pub fn float_outputs(
    onnx: &Path,
    input_shape: &[usize],
    inputs: &[Vec<f32>],
) -> Result<Vec<Vec<f32>>, ModelError> {
    let r = Reference::load(onnx, input_shape)?;
    inputs.iter().map(|x| r.run(x)).collect()
}
