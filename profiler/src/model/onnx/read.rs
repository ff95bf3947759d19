//! Dense + ReLU networks (after optional convolution blocks) read from ONNX bytes decoded
//! with the crate's one ONNX codec (tract's prost types of onnx.proto). The adapters use
//! it: EZKL for the input shape of the data it proves on, circom, opML and Orion for the
//! weights they transpile. Anything that is not
//! Gemm/MatMul(+Add)/Relu, with an optional leading Flatten/Reshape and a final Softmax,
//! is reported as unsupported with the op and node named.

use prost::Message;
use std::collections::BTreeMap;
use tract_onnx::pb;

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

#[derive(Default)]
pub(super) struct Node {
    pub(super) op: String,
    pub(super) name: String,
    pub(super) inputs: Vec<String>,
    pub(super) ints: BTreeMap<String, i64>,
    pub(super) floats: BTreeMap<String, f32>,
    /// List attributes (`kernel_shape`, `strides`, `pads`, ...).
    pub(super) int_lists: BTreeMap<String, Vec<i64>>,
}

pub(super) struct Tensor {
    pub(super) dims: Vec<usize>,
    pub(super) data: Vec<f32>,
}

/// An initializer's float values (`float_data` or little-endian `raw_data`); a missing data
/// type reads as float32.
fn tensor(t: &pb::TensorProto) -> Result<Tensor, OnnxError> {
    let (name, dtype) = (&t.name, t.data_type);
    if dtype != 1 && dtype != 0 {
        return Err(OnnxError::Unsupported(format!(
            "initializer `{name}` has data type {dtype}, only float32 is supported"
        )));
    }
    let data = if t.raw_data.is_empty() {
        t.float_data.clone()
    } else {
        t.raw_data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    };
    let dims = t.dims.iter().map(|&d| d.max(0) as usize).collect();
    Ok(Tensor { dims, data })
}

fn node(n: &pb::NodeProto) -> Node {
    let mut out = Node {
        op: n.op_type.clone(),
        name: n.name.clone(),
        inputs: n.input.clone(),
        ..Node::default()
    };
    for a in &n.attribute {
        if !a.ints.is_empty() {
            out.int_lists.insert(a.name.clone(), a.ints.clone());
        }
        use pb::attribute_proto::AttributeType;
        match a.r#type {
            t if t == AttributeType::Int as i32 => {
                out.ints.insert(a.name.clone(), a.i);
            }
            t if t == AttributeType::Float as i32 => {
                out.floats.insert(a.name.clone(), a.f);
            }
            // Writers that leave the type out: a set scalar says which it is.
            _ if a.i != 0 => {
                out.ints.insert(a.name.clone(), a.i);
            }
            _ if a.f != 0.0 => {
                out.floats.insert(a.name.clone(), a.f);
            }
            _ => {}
        }
    }
    out
}

/// Name and shape of a graph input (dim_param and unknown dims read as 1).
fn value_shape(v: &pb::ValueInfoProto) -> (String, Vec<usize>) {
    let dims = v
        .r#type
        .as_ref()
        .and_then(|t| t.value.as_ref())
        .and_then(|pb::type_proto::Value::TensorType(t)| t.shape.as_ref())
        .map_or(&[][..], |s| &s.dim[..]);
    let shape = dims
        .iter()
        .map(|d| match d.value {
            Some(pb::tensor_shape_proto::dimension::Value::DimValue(v)) => (v.max(1)) as usize,
            _ => 1,
        })
        .collect();
    (v.name.clone(), shape)
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
    let model = pb::ModelProto::decode(bytes).map_err(|e| OnnxError::Malformed(e.to_string()))?;
    let g = model
        .graph
        .ok_or_else(|| OnnxError::Malformed("no graph in the model".into()))?;
    let nodes = g.node.iter().map(node).collect();
    let mut inits = BTreeMap::new();
    for t in &g.initializer {
        inits.insert(t.name.clone(), tensor(t)?);
    }
    let mut inputs: Vec<(String, Vec<usize>)> = g.input.iter().map(value_shape).collect();
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
                    return Err(OnnxError::Unsupported(format!(
                        "node `{}`: Gemm with transA=1",
                        n.name
                    )));
                }
                let alpha = n.floats.get("alpha").copied().unwrap_or(1.0);
                let beta = n.floats.get("beta").copied().unwrap_or(1.0);
                let w = get(n.inputs.get(1).map(String::as_str).unwrap_or(""), n)?;
                let trans_b = n.ints.get("transB").copied().unwrap_or(0) != 0;
                let mut layer = dense_from(w, trans_b, &n.name)?;
                layer.weights.iter_mut().flatten().for_each(|x| *x *= alpha);
                if let Some(b) = n.inputs.get(2).filter(|s| !s.is_empty()) {
                    layer.bias = bias_from(get(b, n)?, layer.outputs(), &n.name)?
                        .iter()
                        .map(|x| x * beta)
                        .collect();
                }
                layers.push(layer);
            }
            "MatMul" => {
                let w = get(n.inputs.get(1).map(String::as_str).unwrap_or(""), n)?;
                let mut layer = dense_from(w, false, &n.name)?;
                if let Some(add) = nodes.get(i + 1).filter(|a| a.op == "Add") {
                    let b = add
                        .inputs
                        .iter()
                        .find(|s| inits.contains_key(*s))
                        .map(String::as_str)
                        .unwrap_or("");
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
            "Identity" => {}
            op => {
                return Err(OnnxError::Unsupported(format!(
                    "unsupported op `{op}` (node `{}`, #{i}): op {op} is not one the dense transpiler \
                     handles (Gemm, MatMul+Add, Relu, a leading Flatten/Reshape and a final Softmax)",
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

/// The reader's network evaluated in plain f32 on one input, so tests check the transpilers'
/// reading of the weights against tract (the float reference of zkprof, `model::reference`).
#[cfg(test)]
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
