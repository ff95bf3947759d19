//! A minimal ONNX reader (and writer, for tests) for dense + ReLU networks.
//!
//! It decodes the protobuf wire format directly: just the fields an MLP needs (graph
//! nodes, initializers, the input shape). Both adapters use it: EZKL for the input shape
//! of the data it proves on, circom for the weights it transpiles. Anything that is not
//! Gemm/MatMul(+Add)/Relu, with an optional leading Flatten/Reshape and a final Softmax,
//! is reported as unsupported with the op and node named.

use std::collections::BTreeMap;

/// One dense layer: `out[o] = sum_i weights[o][i] * in[i] + bias[o]`, then ReLU if `relu`.
#[derive(Clone, Debug, PartialEq)]
pub struct DenseLayer {
    /// `[out][in]`.
    pub weights: Vec<Vec<f32>>,
    pub bias: Vec<f32>,
    pub relu: bool,
}

impl DenseLayer {
    /// Number of inputs.
    pub fn inputs(&self) -> usize {
        self.weights.first().map_or(0, Vec::len)
    }
    /// Number of outputs.
    pub fn outputs(&self) -> usize {
        self.weights.len()
    }
}

/// A network read from ONNX: optional convolution blocks, then dense layers.
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp {
    /// Input shape without the batch dimension (e.g. `[196]`, or `[1, 14, 14]` for a CNN).
    pub input_shape: Vec<usize>,
    /// Convolution blocks before the dense layers (empty for a dense network); their output
    /// is flattened in ONNX's channel-major order.
    pub convs: Vec<super::conv::ConvLayer>,
    pub layers: Vec<DenseLayer>,
    /// The graph ends in a Softmax that was dropped (argmax is unchanged by it).
    pub dropped_softmax: bool,
}

/// Why an ONNX file cannot be read as an MLP.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    /// The bytes are not a valid ONNX protobuf.
    #[error("malformed ONNX: {0}")]
    Malformed(String),
    /// A valid model, but not a dense + ReLU network.
    #[error("{0}")]
    Unsupported(String),
}

// ---- protobuf wire format -------------------------------------------------------------

enum Field<'a> {
    Varint(u64),
    Fixed32(u32),
    Fixed64(
        #[expect(
            dead_code,
            reason = "decoded to skip the field; no MLP field is 64-bit fixed"
        )]
        u64,
    ),
    Bytes(&'a [u8]),
}

fn varint(buf: &[u8], pos: &mut usize) -> Result<u64, OnnxError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf
            .get(*pos)
            .ok_or_else(|| OnnxError::Malformed("truncated varint".into()))?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(OnnxError::Malformed("varint too long".into()))
}

/// The fields of one message, in order.
fn fields(buf: &[u8]) -> Result<Vec<(u64, Field<'_>)>, OnnxError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let key = varint(buf, &mut pos)?;
        let (num, wire) = (key >> 3, key & 7);
        let take = |pos: &mut usize, n: usize| -> Result<&[u8], OnnxError> {
            let end = pos.checked_add(n).filter(|e| *e <= buf.len());
            let end =
                end.ok_or_else(|| OnnxError::Malformed(format!("field {num} runs past the end")))?;
            let s = &buf[*pos..end];
            *pos = end;
            Ok(s)
        };
        let f = match wire {
            0 => Field::Varint(varint(buf, &mut pos)?),
            1 => Field::Fixed64(u64::from_le_bytes(
                take(&mut pos, 8)?.try_into().unwrap_or([0; 8]),
            )),
            2 => {
                let n = varint(buf, &mut pos)? as usize;
                Field::Bytes(take(&mut pos, n)?)
            }
            5 => Field::Fixed32(u32::from_le_bytes(
                take(&mut pos, 4)?.try_into().unwrap_or([0; 4]),
            )),
            w => {
                return Err(OnnxError::Malformed(format!(
                    "unknown wire type {w} for field {num}"
                )))
            }
        };
        out.push((num, f));
    }
    Ok(out)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[derive(Default)]
pub(super) struct Node {
    pub(super) op: String,
    pub(super) name: String,
    pub(super) inputs: Vec<String>,
    pub(super) outputs: Vec<String>,
    pub(super) ints: BTreeMap<String, i64>,
    pub(super) floats: BTreeMap<String, f32>,
    /// List attributes (`kernel_shape`, `strides`, `pads`, ...).
    pub(super) int_lists: BTreeMap<String, Vec<i64>>,
}

pub(super) struct Tensor {
    pub(super) dims: Vec<usize>,
    pub(super) data: Vec<f32>,
}

fn tensor(buf: &[u8]) -> Result<(String, Tensor), OnnxError> {
    let (mut name, mut dims, mut data, mut raw, mut dtype) =
        (String::new(), Vec::new(), Vec::new(), None, 1);
    for (num, f) in fields(buf)? {
        match (num, f) {
            (1, Field::Varint(v)) => dims.push(v as usize),
            (1, Field::Bytes(b)) => {
                let mut p = 0;
                while p < b.len() {
                    dims.push(varint(b, &mut p)? as usize);
                }
            }
            (2, Field::Varint(v)) => dtype = v,
            (4, Field::Bytes(b)) => data.extend(
                b.chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            ),
            (4, Field::Fixed32(v)) => data.push(f32::from_bits(v)),
            (8, Field::Bytes(b)) => name = text(b),
            (9, Field::Bytes(b)) => raw = Some(b),
            _ => {}
        }
    }
    if dtype != 1 {
        return Err(OnnxError::Unsupported(format!(
            "initializer `{name}` has data type {dtype}, only float32 is supported"
        )));
    }
    if let Some(b) = raw {
        data = b
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
    }
    Ok((name, Tensor { dims, data }))
}

fn node(buf: &[u8]) -> Result<Node, OnnxError> {
    let mut n = Node::default();
    for (num, f) in fields(buf)? {
        match (num, f) {
            (1, Field::Bytes(b)) => n.inputs.push(text(b)),
            (2, Field::Bytes(b)) => n.outputs.push(text(b)),
            (3, Field::Bytes(b)) => n.name = text(b),
            (4, Field::Bytes(b)) => n.op = text(b),
            (5, Field::Bytes(b)) => {
                let (mut name, mut i, mut fl) = (String::new(), None, None);
                let mut list: Vec<i64> = Vec::new();
                for (an, af) in fields(b)? {
                    match (an, af) {
                        (1, Field::Bytes(s)) => name = text(s),
                        (2, Field::Fixed32(v)) => fl = Some(f32::from_bits(v)),
                        (3, Field::Varint(v)) => i = Some(v as i64),
                        // `ints`: unpacked (one varint per field) or packed (one bytes field).
                        (8, Field::Varint(v)) => list.push(v as i64),
                        (8, Field::Bytes(packed)) => {
                            let mut pos = 0;
                            while pos < packed.len() {
                                list.push(varint(packed, &mut pos)? as i64);
                            }
                        }
                        _ => {}
                    }
                }
                if !list.is_empty() {
                    n.int_lists.insert(name.clone(), list);
                }
                if let Some(i) = i {
                    n.ints.insert(name.clone(), i);
                }
                if let Some(f) = fl {
                    n.floats.insert(name, f);
                }
            }
            _ => {}
        }
    }
    Ok(n)
}

/// Shape of a ValueInfoProto (dim_param and unknown dims read as 1).
fn value_shape(buf: &[u8]) -> Result<(String, Vec<usize>), OnnxError> {
    let (mut name, mut shape) = (String::new(), Vec::new());
    for (num, f) in fields(buf)? {
        match (num, f) {
            (1, Field::Bytes(b)) => name = text(b),
            (2, Field::Bytes(ty)) => {
                for (_, tt) in fields(ty)?.into_iter().filter(|(n, _)| *n == 1) {
                    let Field::Bytes(tt) = tt else { continue };
                    for (_, sh) in fields(tt)?.into_iter().filter(|(n, _)| *n == 2) {
                        let Field::Bytes(sh) = sh else { continue };
                        for (_, dim) in fields(sh)?.into_iter().filter(|(n, _)| *n == 1) {
                            let Field::Bytes(dim) = dim else { continue };
                            let v = fields(dim)?.into_iter().find_map(|(n, f)| match (n, f) {
                                (1, Field::Varint(v)) => Some(v as usize),
                                _ => None,
                            });
                            shape.push(v.unwrap_or(1).max(1));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok((name, shape))
}

/// The shape of the graph's single non-constant input, without the batch dimension.
pub fn input_shape(bytes: &[u8]) -> Result<Vec<usize>, OnnxError> {
    let (_, _, inputs) = graph(bytes)?;
    match inputs.as_slice() {
        [(_, shape)] if shape.len() > 1 => Ok(shape[1..].to_vec()),
        [(_, shape)] => Ok(shape.clone()),
        _ => Err(OnnxError::Unsupported(format!(
            "the graph has {} inputs; exactly one is supported",
            inputs.len()
        ))),
    }
}

/// The op types of the graph's nodes, in order.
pub fn op_types(bytes: &[u8]) -> Result<Vec<String>, OnnxError> {
    let (nodes, _, _) = graph(bytes)?;
    Ok(nodes.into_iter().map(|n| n.op).collect())
}

pub(super) type Graph = (
    Vec<Node>,
    BTreeMap<String, Tensor>,
    Vec<(String, Vec<usize>)>,
);

fn graph(bytes: &[u8]) -> Result<Graph, OnnxError> {
    let g = fields(bytes)?
        .into_iter()
        .find_map(|(n, f)| match (n, f) {
            (7, Field::Bytes(b)) => Some(b),
            _ => None,
        })
        .ok_or_else(|| OnnxError::Malformed("no graph in the model".into()))?;
    let (mut nodes, mut inits, mut inputs) = (Vec::new(), BTreeMap::new(), Vec::new());
    for (num, f) in fields(g)? {
        match (num, f) {
            (1, Field::Bytes(b)) => nodes.push(node(b)?),
            (5, Field::Bytes(b)) => {
                let (name, t) = tensor(b)?;
                inits.insert(name, t);
            }
            (11, Field::Bytes(b)) => inputs.push(value_shape(b)?),
            _ => {}
        }
    }
    inputs.retain(|(n, _)| !inits.contains_key(n));
    Ok((nodes, inits, inputs))
}

/// `inits` by name, or an error naming the node that needs it.
pub(super) fn constant<'a>(
    inits: &'a BTreeMap<String, Tensor>,
    name: &str,
    node: &Node,
) -> Result<&'a Tensor, OnnxError> {
    inits.get(name).ok_or_else(|| {
        OnnxError::Unsupported(format!(
            "node `{}` ({}): input `{name}` is not a constant",
            node.name, node.op
        ))
    })
}

/// Reads a dense + ReLU network.
pub fn read_mlp(bytes: &[u8]) -> Result<Mlp, OnnxError> {
    let input_shape = input_shape(bytes)?;
    let (nodes, inits, _) = graph(bytes)?;
    let (mut layers, mut dropped_softmax): (Vec<DenseLayer>, bool) = (Vec::new(), false);
    let get = |name: &str, node: &Node| constant(&inits, name, node);
    let (convs, mut i) = super::conv::read_convs(&nodes, &inits, &input_shape)?;
    while i < nodes.len() {
        let n = &nodes[i];
        let last = i + 1 == nodes.len();
        match n.op.as_str() {
            "Flatten" | "Reshape" if layers.is_empty() => {}
            "Gemm" => {
                if n.ints.get("transA").copied().unwrap_or(0) != 0 {
                    return Err(OnnxError::Unsupported(format!("node `{}`: Gemm with transA=1", n.name)));
                }
                let alpha = n.floats.get("alpha").copied().unwrap_or(1.0);
                let beta = n.floats.get("beta").copied().unwrap_or(1.0);
                let w = get(n.inputs.get(1).map(String::as_str).unwrap_or(""), n)?;
                let trans_b = n.ints.get("transB").copied().unwrap_or(0) != 0;
                let mut layer = dense_from(w, trans_b, &n.name)?;
                layer.weights.iter_mut().flatten().for_each(|x| *x *= alpha);
                if let Some(b) = n.inputs.get(2).filter(|s| !s.is_empty()) {
                    layer.bias = bias_from(get(b, n)?, layer.outputs(), &n.name)?.iter().map(|x| x * beta).collect();
                }
                layers.push(layer);
            }
            "MatMul" => {
                let w = get(n.inputs.get(1).map(String::as_str).unwrap_or(""), n)?;
                let mut layer = dense_from(w, false, &n.name)?;
                if let Some(add) = nodes.get(i + 1).filter(|a| a.op == "Add") {
                    let b = add.inputs.iter().find(|s| inits.contains_key(*s)).map(String::as_str).unwrap_or("");
                    layer.bias = bias_from(get(b, add)?, layer.outputs(), &add.name)?;
                    i += 1;
                }
                layers.push(layer);
            }
            "Relu" if !layers.is_empty() => {
                if let Some(l) = layers.last_mut() {
                    l.relu = true;
                }
            }
            "Softmax" if last && !layers.is_empty() => dropped_softmax = true,
            op => {
                return Err(OnnxError::Unsupported(format!(
                    "op {op} (node `{}`, #{i}) is not supported; the dense transpiler handles Gemm, MatMul+Add, Relu, \
                     a leading Flatten/Reshape and a final Softmax",
                    n.name
                )))
            }
        }
        i += 1;
    }
    if layers.is_empty() {
        return Err(OnnxError::Unsupported("no dense layer in the graph".into()));
    }
    let mut width: usize = match convs.last() {
        Some(c) => c.output_len(),
        None => input_shape.iter().product(),
    };
    for (k, l) in layers.iter().enumerate() {
        if l.inputs() != width {
            return Err(OnnxError::Unsupported(format!(
                "layer {k} takes {} inputs but gets {width}",
                l.inputs()
            )));
        }
        width = l.outputs();
    }
    Ok(Mlp {
        input_shape,
        convs,
        layers,
        dropped_softmax,
    })
}

fn dense_from(w: &Tensor, trans_b: bool, node: &str) -> Result<DenseLayer, OnnxError> {
    let [a, b] = w.dims.as_slice() else {
        return Err(OnnxError::Unsupported(format!(
            "node `{node}`: weights of rank {}",
            w.dims.len()
        )));
    };
    let (rows, cols) = (*a, *b);
    if w.data.len() != rows * cols {
        return Err(OnnxError::Malformed(format!(
            "node `{node}`: weights hold {} values, dims say {}",
            w.data.len(),
            rows * cols
        )));
    }
    // Stored [rows][cols]; transB means [out][in], else [in][out].
    let weights = if trans_b {
        (0..rows)
            .map(|o| w.data[o * cols..(o + 1) * cols].to_vec())
            .collect()
    } else {
        (0..cols)
            .map(|o| (0..rows).map(|i| w.data[i * cols + o]).collect())
            .collect()
    };
    let outputs = if trans_b { rows } else { cols };
    Ok(DenseLayer {
        weights,
        bias: vec![0.0; outputs],
        relu: false,
    })
}

fn bias_from(t: &Tensor, outputs: usize, node: &str) -> Result<Vec<f32>, OnnxError> {
    if t.data.len() != outputs {
        return Err(OnnxError::Unsupported(format!(
            "node `{node}`: bias has {} values for {outputs} outputs",
            t.data.len()
        )));
    }
    Ok(t.data.clone())
}

/// Float inference of the network on one input (the reference the circuits are compared with).
pub fn forward(mlp: &Mlp, input: &[f32]) -> Vec<f32> {
    let mut x = super::conv::forward_convs(&mlp.convs, input);
    for l in &mlp.layers {
        x = l
            .weights
            .iter()
            .zip(&l.bias)
            .map(|(row, b)| {
                let s = row.iter().zip(&x).map(|(w, v)| w * v).sum::<f32>() + b;
                if l.relu {
                    s.max(0.0)
                } else {
                    s
                }
            })
            .collect();
    }
    x
}

/// Index of the largest value (the first on ties).
pub fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &x)| {
            if x > bv {
                (i, x)
            } else {
                (bi, bv)
            }
        })
        .0
}
