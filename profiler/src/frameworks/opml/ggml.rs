//! The ggml model file that opML's MLP guests read, written from a dense network.
//!
//! Layout (all big-endian): the magic `0x67676d6c` ("ggml") as i32, then for each tensor in
//! order (layer 1 weight, layer 1 bias, layer 2 weight, ...): `n_dims` as i32, the
//! dimensions innermost first (a weight `[out][in]` is written `in, out`; a bias `[out]` is
//! written `out`), then the values as f32, row-major in the `[out][in]` order. This is the
//! file the 2024 ZKML-Benchmark wrote from a PyTorch `state_dict` (`struct.pack("!i", ..)`,
//! `astype(">f4")`); the guests check the magic and take the layer sizes from the dims.

use crate::model::onnx::{DenseLayer, Mlp};

/// The ggml magic, `b"ggml"` read as a big-endian i32.
pub const MAGIC: u32 = 0x6767_6d6c;

/// Why a ggml file cannot be read.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum GgmlError {
    #[error("not a ggml model file (magic {0:#010x}, expected 0x67676d6c)")]
    BadMagic(u32),
    #[error("ggml file truncated at byte {0}")]
    Truncated(usize),
    #[error("tensor {index} at byte {at}: {why}")]
    Tensor {
        index: usize,
        at: usize,
        why: String,
    },
    #[error("ggml file has no layers")]
    Empty,
}

/// The file for a dense network: `[out][in]` weights and `[out]` biases, layer by layer.
/// Activations are not stored (the guest applies ReLU between layers and a softmax at the end).
pub fn write(mlp: &Mlp) -> Vec<u8> {
    write_layers(&mlp.layers)
}

/// [`write`] from the layers alone.
pub fn write_layers(layers: &[DenseLayer]) -> Vec<u8> {
    let size: usize = layers
        .iter()
        .map(|l| 4 * (5 + l.inputs() * l.outputs() + l.outputs()))
        .sum();
    let mut out = Vec::with_capacity(4 + size);
    out.extend_from_slice(&MAGIC.to_be_bytes());
    let dim = |out: &mut Vec<u8>, v: usize| out.extend_from_slice(&(v as i32).to_be_bytes());
    for l in layers {
        dim(&mut out, 2);
        dim(&mut out, l.inputs());
        dim(&mut out, l.outputs());
        for row in &l.weights {
            for w in row {
                out.extend_from_slice(&w.to_be_bytes());
            }
        }
        dim(&mut out, 1);
        dim(&mut out, l.outputs());
        for b in &l.bias {
            out.extend_from_slice(&b.to_be_bytes());
        }
    }
    out
}

/// One tensor of a ggml file: dims as written (innermost first) and its values.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub dims: Vec<usize>,
    pub values: Vec<f32>,
}

/// Reads every tensor of a ggml file (any number of dims from 1 to 4).
pub fn read(bytes: &[u8]) -> Result<Vec<Tensor>, GgmlError> {
    let mut at = 0usize;
    let word = |at: &mut usize| -> Result<u32, GgmlError> {
        let s = bytes.get(*at..*at + 4).ok_or(GgmlError::Truncated(*at))?;
        *at += 4;
        Ok(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    };
    let magic = word(&mut at)?;
    if magic != MAGIC {
        return Err(GgmlError::BadMagic(magic));
    }
    let mut tensors = Vec::new();
    while at < bytes.len() {
        let start = at;
        let bad = |why: String| GgmlError::Tensor {
            index: tensors.len(),
            at: start,
            why,
        };
        let n = word(&mut at)? as usize;
        if !(1..=4).contains(&n) {
            return Err(bad(format!("n_dims {n} (expected 1 to 4)")));
        }
        let mut dims = Vec::with_capacity(n);
        for _ in 0..n {
            dims.push(word(&mut at)? as usize);
        }
        let count = dims
            .iter()
            .try_fold(1usize, |a, d| a.checked_mul(*d))
            .filter(|c| *c <= bytes.len() / 4)
            .ok_or_else(|| bad(format!("dims {dims:?} larger than the file")))?;
        let data = bytes
            .get(at..at + 4 * count)
            .ok_or(GgmlError::Truncated(bytes.len()))?;
        at += 4 * count;
        let values = data
            .chunks_exact(4)
            .map(|c| f32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        tensors.push(Tensor { dims, values });
    }
    if tensors.is_empty() {
        return Err(GgmlError::Empty);
    }
    Ok(tensors)
}

/// The layer sizes `[in, hidden.., out]` of a ggml MLP file (weight/bias pairs that chain).
pub fn layer_sizes(bytes: &[u8]) -> Result<Vec<usize>, GgmlError> {
    let t = read(bytes)?;
    if t.len() % 2 != 0 {
        return Err(GgmlError::Tensor {
            index: t.len() - 1,
            at: 0,
            why: "a weight without its bias (odd number of tensors)".into(),
        });
    }
    let mut sizes = Vec::new();
    for (i, pair) in t.chunks_exact(2).enumerate() {
        let (w, b) = (&pair[0], &pair[1]);
        let bad = |why: String| GgmlError::Tensor {
            index: 2 * i,
            at: 0,
            why,
        };
        let [inp, out] = w.dims[..] else {
            return Err(bad(format!("weight dims {:?}, expected 2", w.dims)));
        };
        if b.dims != [out] {
            return Err(bad(format!("bias dims {:?} for {out} outputs", b.dims)));
        }
        match sizes.last() {
            None => sizes.push(inp),
            Some(&prev) if prev == inp => {}
            Some(&prev) => return Err(bad(format!("{inp} inputs after a layer of {prev}"))),
        }
        sizes.push(out);
    }
    Ok(sizes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(out: usize, inp: usize, seed: f32) -> DenseLayer {
        DenseLayer {
            weights: (0..out)
                .map(|o| (0..inp).map(|i| seed + (o * inp + i) as f32).collect())
                .collect(),
            bias: (0..out).map(|o| -(o as f32) - seed).collect(),
            relu: true,
        }
    }

    #[test]
    fn layout_is_magic_dims_reversed_big_endian() {
        let bytes = write_layers(&[layer(2, 3, 0.5)]);
        assert_eq!(&bytes[..4], b"ggml");
        assert_eq!(&bytes[4..8], &2i32.to_be_bytes());
        assert_eq!(&bytes[8..16], &[0, 0, 0, 3, 0, 0, 0, 2]);
        assert_eq!(&bytes[16..20], &0.5f32.to_be_bytes());
        // Row-major [out][in]: the second value is weights[0][1].
        assert_eq!(&bytes[20..24], &1.5f32.to_be_bytes());
        assert_eq!(bytes.len(), 4 + 12 + 24 + 8 + 8);
    }

    #[test]
    fn round_trips_and_reports_sizes() {
        let bytes = write_layers(&[layer(4, 6, 1.0), layer(3, 4, 2.0)]);
        assert_eq!(layer_sizes(&bytes).unwrap(), vec![6, 4, 3]);
        let t = read(&bytes).unwrap();
        assert_eq!(t[2].dims, vec![4, 3]);
        assert_eq!(t[3].values, vec![-2.0, -3.0, -4.0]);
    }

    #[test]
    fn bad_files_are_errors_not_panics() {
        assert_eq!(read(b"lmgg\0\0\0\0"), Err(GgmlError::BadMagic(0x6c6d_6767)));
        assert_eq!(read(b"gg"), Err(GgmlError::Truncated(0)));
        assert_eq!(read(b"ggml"), Err(GgmlError::Empty));
        let mut b = write_layers(&[layer(2, 2, 0.0)]);
        b.truncate(b.len() - 1);
        assert!(matches!(read(&b), Err(GgmlError::Truncated(_))));
        let mut huge = b"ggml".to_vec();
        huge.extend_from_slice(&[0, 0, 0, 2, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff]);
        assert!(matches!(read(&huge), Err(GgmlError::Tensor { .. })));
        let mut chain = write_layers(&[layer(4, 6, 1.0)]);
        chain.extend_from_slice(&write_layers(&[layer(3, 5, 1.0)])[4..]);
        assert!(layer_sizes(&chain)
            .unwrap_err()
            .to_string()
            .contains("5 inputs"));
    }

    /// The 2024 ZKML-Benchmark's ggml files, rewritten from the original ONNX models.
    #[test]
    fn matches_the_2024_ggml_files_byte_for_byte() {
        let Some(shared) = crate::paths::shared_dir() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI needs the shared data directory"
            );
            return;
        };
        let refdir = shared.join("reference/zkml-benchmark-2024");
        for (arch, name) in [
            ("input-dense-dense", "196_25_10"),
            ("input-dense-dense", "784_56_10"),
            ("input-dense-dense-dense", "196_24_14_10"),
        ] {
            let onnx = std::fs::read(refdir.join(format!("models/{arch}/{name}.onnx"))).unwrap();
            let want =
                std::fs::read(refdir.join(format!("opml-models/ggml-model-{name}.bin"))).unwrap();
            let mlp = crate::model::onnx::read_mlp(&onnx).unwrap();
            let got = write(&mlp);
            assert_eq!(got.len(), want.len(), "{name}: length");
            let first = got.iter().zip(&want).position(|(a, b)| a != b);
            assert_eq!(first, None, "{name}: first differing byte");
        }
    }
}
