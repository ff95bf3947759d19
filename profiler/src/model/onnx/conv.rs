//! Convolution blocks of a CNN read from ONNX: `Conv` (valid padding), an optional `Relu`,
//! an optional `MaxPool` or `AveragePool` (no padding), repeated, before the dense layers.
//!
//! Tensors are channel-major (`[C][H][W]`, ONNX's NCHW without the batch); convolution
//! weights are `[out][in][k][k]`. Anything else in the convolution part (padding,
//! dilations, groups, non-square kernels) is reported as unsupported with the node named.

use super::read::{constant, Node, OnnxError, Tensor};
use std::collections::BTreeMap;

/// Pooling after a convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    Max,
    Average,
}

/// A square pooling window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool {
    pub kind: PoolKind,
    /// Window side, pixels.
    pub size: usize,
    /// Step between windows, pixels.
    pub stride: usize,
}

/// One convolution block.
#[derive(Clone, Debug, PartialEq)]
pub struct ConvLayer {
    /// Input channels, height and width.
    pub input: [usize; 3],
    /// Output channels (filters).
    pub filters: usize,
    /// Kernel side, pixels.
    pub kernel: usize,
    /// Convolution stride, pixels.
    pub stride: usize,
    /// `[filters][channels][kernel][kernel]`, row-major.
    pub weights: Vec<f32>,
    /// One per filter.
    pub bias: Vec<f32>,
    pub relu: bool,
    pub pool: Option<Pool>,
}

impl ConvLayer {
    /// Height and width after the convolution (valid padding).
    pub fn conv_hw(&self) -> (usize, usize) {
        let out = |n: usize| (n - self.kernel) / self.stride + 1;
        (out(self.input[1]), out(self.input[2]))
    }
    /// `[channels, height, width]` after the whole block (convolution, then pooling).
    pub fn output(&self) -> [usize; 3] {
        let (h, w) = self.conv_hw();
        match self.pool {
            Some(p) => [
                self.filters,
                (h - p.size) / p.stride + 1,
                (w - p.size) / p.stride + 1,
            ],
            None => [self.filters, h, w],
        }
    }
    /// Values out of the block.
    pub fn output_len(&self) -> usize {
        self.output().iter().product()
    }
    /// Weight `[f][c][x][y]`.
    pub fn weight(&self, f: usize, c: usize, x: usize, y: usize) -> f32 {
        let (k, ch) = (self.kernel, self.input[0]);
        self.weights[((f * ch + c) * k + x) * k + y]
    }
}

fn unsupported(n: &Node, why: impl std::fmt::Display) -> OnnxError {
    OnnxError::Unsupported(format!("node `{}` ({}): {why}", n.name, n.op))
}

/// A list attribute that must be all `want` (or absent).
fn check_all(n: &Node, attr: &str, want: i64) -> Result<(), OnnxError> {
    match n.int_lists.get(attr) {
        Some(v) if v.iter().any(|x| *x != want) => Err(unsupported(
            n,
            format!("{attr} = {v:?} (only {want} is supported)"),
        )),
        _ => Ok(()),
    }
}

/// The one value of a square `[a, a]` list attribute, or `default`.
fn square(n: &Node, attr: &str, default: Option<usize>) -> Result<usize, OnnxError> {
    match (n.int_lists.get(attr).map(Vec::as_slice), default) {
        (Some([a, b]), _) if a == b && *a > 0 => Ok(*a as usize),
        (None, Some(d)) => Ok(d),
        (v, _) => Err(unsupported(
            n,
            format!("{attr} = {v:?} (a square window is needed)"),
        )),
    }
}

/// Reads the convolution blocks at the start of the graph; returns them and the index of
/// the first node after them. No `Conv` first means no blocks (a dense network).
pub(super) fn read_convs(
    nodes: &[Node],
    inits: &BTreeMap<String, Tensor>,
    input_shape: &[usize],
) -> Result<(Vec<ConvLayer>, usize), OnnxError> {
    let mut convs: Vec<ConvLayer> = Vec::new();
    let mut i = 0;
    while let Some(n) = nodes.get(i).filter(|n| n.op == "Conv") {
        let input = match convs.last() {
            Some(prev) => prev.output(),
            None => match input_shape {
                [c, h, w] => [*c, *h, *w],
                s => {
                    return Err(unsupported(
                        n,
                        format!("graph input of shape {s:?}; a convolution needs [C, H, W]"),
                    ))
                }
            },
        };
        check_all(n, "pads", 0)?;
        check_all(n, "dilations", 1)?;
        if n.ints.get("group").is_some_and(|g| *g != 1) {
            return Err(unsupported(n, "grouped convolution"));
        }
        let w = constant(inits, n.inputs.get(1).map_or("", String::as_str), n)?;
        let [filters, ch, k, k2] = w.dims[..] else {
            return Err(unsupported(n, format!("weights of shape {:?}", w.dims)));
        };
        if k != k2 || ch != input[0] || k > input[1] || k > input[2] {
            return Err(unsupported(
                n,
                format!(
                    "weights {:?} do not fit input {input:?} (square kernels, valid padding)",
                    w.dims
                ),
            ));
        }
        let kernel = square(n, "kernel_shape", Some(k))?;
        let stride = square(n, "strides", Some(1))?;
        if kernel != k || w.data.len() != filters * ch * k * k {
            return Err(OnnxError::Malformed(format!(
                "node `{}`: weights hold {} values for {:?}",
                n.name,
                w.data.len(),
                w.dims
            )));
        }
        let bias = match n.inputs.get(2).filter(|s| !s.is_empty()) {
            Some(b) => constant(inits, b, n)?.data.clone(),
            None => vec![0.0; filters],
        };
        if bias.len() != filters {
            return Err(unsupported(
                n,
                format!("{} biases for {filters} filters", bias.len()),
            ));
        }
        let mut layer = ConvLayer {
            input,
            filters,
            kernel,
            stride,
            weights: w.data.clone(),
            bias,
            relu: false,
            pool: None,
        };
        i += 1;
        if nodes.get(i).is_some_and(|n| n.op == "Relu") {
            layer.relu = true;
            i += 1;
        }
        if let Some(p) = nodes
            .get(i)
            .filter(|n| matches!(n.op.as_str(), "MaxPool" | "AveragePool"))
        {
            check_all(p, "pads", 0)?;
            check_all(p, "dilations", 1)?;
            if p.ints.get("ceil_mode").is_some_and(|c| *c != 0) {
                return Err(unsupported(p, "ceil_mode = 1"));
            }
            let size = square(p, "kernel_shape", None)?;
            let stride = square(p, "strides", Some(1))?;
            let (h, w) = layer.conv_hw();
            if size > h || size > w {
                return Err(unsupported(
                    p,
                    format!("a {size}x{size} window over {h}x{w}"),
                ));
            }
            let kind = if p.op == "MaxPool" {
                PoolKind::Max
            } else {
                PoolKind::Average
            };
            layer.pool = Some(Pool { kind, size, stride });
            i += 1;
        }
        convs.push(layer);
    }
    Ok((convs, i))
}

/// Float inference of the convolution blocks on a channel-major input; returns the
/// flattened (channel-major) output. No blocks: the input as it is. Tests only: the float
/// reference of zkprof is tract's.
#[cfg(test)]
pub fn forward_convs(convs: &[ConvLayer], input: &[f32]) -> Vec<f32> {
    let mut x = input.to_vec();
    for l in convs {
        let [ch, ih, iw] = l.input;
        let (oh, ow) = l.conv_hw();
        let mut y = vec![0f32; l.filters * oh * ow];
        for f in 0..l.filters {
            for i in 0..oh {
                for j in 0..ow {
                    let mut s = l.bias[f];
                    for c in 0..ch {
                        for a in 0..l.kernel {
                            for b in 0..l.kernel {
                                let v = x[(c * ih + i * l.stride + a) * iw + j * l.stride + b];
                                s += l.weight(f, c, a, b) * v;
                            }
                        }
                    }
                    y[(f * oh + i) * ow + j] = if l.relu { s.max(0.0) } else { s };
                }
            }
        }
        x = match l.pool {
            Some(p) => pool(&y, [l.filters, oh, ow], p),
            None => y,
        };
    }
    x
}

/// Pools a channel-major `[c][h][w]` tensor.
#[cfg(test)]
fn pool(x: &[f32], [c, h, w]: [usize; 3], p: Pool) -> Vec<f32> {
    let (oh, ow) = ((h - p.size) / p.stride + 1, (w - p.size) / p.stride + 1);
    let mut out = Vec::with_capacity(c * oh * ow);
    for ch in 0..c {
        for i in 0..oh {
            for j in 0..ow {
                let window = (0..p.size).flat_map(|a| {
                    (0..p.size).map(move |b| x[(ch * h + i * p.stride + a) * w + j * p.stride + b])
                });
                out.push(match p.kind {
                    PoolKind::Max => window.fold(f32::NEG_INFINITY, f32::max),
                    PoolKind::Average => window.sum::<f32>() / (p.size * p.size) as f32,
                });
            }
        }
    }
    out
}
