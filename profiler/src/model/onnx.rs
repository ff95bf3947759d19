//! The one ONNX codec of zkprof (tract's prost types of onnx.proto): export of trained
//! models, reading of ONNX files (structure, sizes), and the networks the transpilers and
//! adapters take from them (`read.rs`: dense + ReLU layers after optional convolution blocks,
//! `conv.rs`; `write.rs`: small graphs for tests). Float inference of a model for accuracy is
//! tract's only ([`super::reference`]); the reader's plain-f32 `forward` exists for tests.
//!
//! Exported graphs are what EZKL and the circom transpiler accept: input `input` of shape
//! `[1, N]` f32, then per layer `Gemm(transB = 1)` with `fcK.weight` `[out, in]` and `fcK.bias`,
//! `Relu` between layers, output `output` = the logits `[1, classes]` (no Softmax: argmax is the
//! same and circuits stay smaller). Opset 13, IR version 8 — the layout PyTorch writes.

mod conv;
mod read;
mod write;

pub use conv::{ConvLayer, Pool, PoolKind};
#[cfg(test)]
pub use read::forward;
pub use read::{input_shape, op_types, read_mlp, DenseLayer, Mlp, OnnxError};
pub use write::{write_mlp, write_with_op};

use super::train;
use super::ModelError;
use prost::Message;
use std::path::Path;
use tract_onnx::pb;

/// ONNX `TensorProto.DataType.FLOAT`.
const FLOAT: i32 = 1;

pub(super) fn value_info(name: &str, dims: &[i64]) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{dimension::Value, Dimension};
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: FLOAT,
                shape: Some(pb::TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|d| Dimension {
                            value: Some(Value::DimValue(*d)),
                            ..Dimension::default()
                        })
                        .collect(),
                }),
            })),
            ..pb::TypeProto::default()
        }),
        ..pb::ValueInfoProto::default()
    }
}

pub(super) fn tensor(name: &str, dims: &[i64], data: &[f32]) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: FLOAT,
        raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..pb::TensorProto::default()
    }
}

pub(super) fn attr_int(name: &str, i: i64) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Int as i32,
        i,
        ..pb::AttributeProto::default()
    }
}

fn attr_float(name: &str, f: f32) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Float as i32,
        f,
        ..pb::AttributeProto::default()
    }
}

/// The ONNX bytes of an MLP (deterministic: same weights, same bytes).
pub fn mlp_to_onnx(mlp: &train::Mlp, doc: &str) -> Vec<u8> {
    let mut nodes = Vec::new();
    let mut inits = Vec::new();
    let mut prev = "input".to_string();
    let n = mlp.layers.len();
    for (i, l) in mlp.layers.iter().enumerate() {
        let k = i + 1;
        let (w, b) = (format!("fc{k}.weight"), format!("fc{k}.bias"));
        inits.push(tensor(&w, &[l.outputs as i64, l.inputs as i64], &l.weights));
        inits.push(tensor(&b, &[l.outputs as i64], &l.bias));
        let out = if i + 1 == n && !l.relu {
            "output".to_string()
        } else {
            format!("/fc{k}/Gemm_output_0")
        };
        nodes.push(pb::NodeProto {
            input: vec![prev.clone(), w, b],
            output: vec![out.clone()],
            name: format!("/fc{k}/Gemm"),
            op_type: "Gemm".into(),
            attribute: vec![
                attr_float("alpha", 1.0),
                attr_float("beta", 1.0),
                attr_int("transB", 1),
            ],
            ..pb::NodeProto::default()
        });
        prev = out;
        if l.relu {
            let out = if i + 1 == n {
                "output".to_string()
            } else {
                format!("/Relu_{k}_output_0")
            };
            nodes.push(pb::NodeProto {
                input: vec![prev.clone()],
                output: vec![out.clone()],
                name: format!("/Relu_{k}"),
                op_type: "Relu".into(),
                ..pb::NodeProto::default()
            });
            prev = out;
        }
    }
    let inputs = mlp.layers.first().map_or(0, |l| l.inputs) as i64;
    let outputs = mlp.layers.last().map_or(0, |l| l.outputs) as i64;
    let model = pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        producer_name: "zkprof".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: doc.into(),
        graph: Some(pb::GraphProto {
            node: nodes,
            name: "mlp".into(),
            initializer: inits,
            input: vec![value_info("input", &[1, inputs])],
            output: vec![value_info("output", &[1, outputs])],
            ..pb::GraphProto::default()
        }),
        ..pb::ModelProto::default()
    };
    model.encode_to_vec()
}

fn attr_ints(name: &str, ints: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Ints as i32,
        ints: ints.to_vec(),
        ..pb::AttributeProto::default()
    }
}

pub(super) fn node(
    op: &str,
    name: &str,
    inputs: &[&str],
    output: &str,
    attribute: Vec<pb::AttributeProto>,
) -> pb::NodeProto {
    pb::NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        name: name.into(),
        op_type: op.into(),
        attribute,
        ..pb::NodeProto::default()
    }
}

/// The ONNX bytes of a CNN: input `[1, C, S, S]`, per block `Conv` (valid, stride 1) ->
/// `Relu` -> `MaxPool` 2x2/2, then `Flatten` and the dense layers as in [`mlp_to_onnx`].
pub fn cnn_to_onnx(cnn: &super::cnn::Cnn, doc: &str) -> Vec<u8> {
    let mut nodes = Vec::new();
    let mut inits = Vec::new();
    let mut prev = "input".to_string();
    for (i, c) in cnn.convs.iter().enumerate() {
        let k = i + 1;
        let (w, b) = (format!("conv{k}.weight"), format!("conv{k}.bias"));
        inits.push(tensor(
            &w,
            &[c.cout as i64, c.cin as i64, c.k as i64, c.k as i64],
            &c.weights,
        ));
        inits.push(tensor(&b, &[c.cout as i64], &c.bias));
        let (z, r, p) = (
            format!("/conv{k}/Conv_output_0"),
            format!("/relu_c{k}_output_0"),
            format!("/pool{k}_output_0"),
        );
        let ks = [c.k as i64, c.k as i64];
        let conv_attrs = vec![
            attr_ints("kernel_shape", &ks),
            attr_ints("strides", &[1, 1]),
            attr_ints("pads", &[0, 0, 0, 0]),
        ];
        nodes.push(node(
            "Conv",
            &format!("/conv{k}/Conv"),
            &[&prev, &w, &b],
            &z,
            conv_attrs,
        ));
        nodes.push(node("Relu", &format!("/relu_c{k}"), &[&z], &r, Vec::new()));
        let pool_attrs = vec![
            attr_ints("kernel_shape", &[2, 2]),
            attr_ints("strides", &[2, 2]),
        ];
        nodes.push(node(
            "MaxPool",
            &format!("/pool{k}/MaxPool"),
            &[&r],
            &p,
            pool_attrs,
        ));
        prev = p;
    }
    nodes.push(node(
        "Flatten",
        "/Flatten",
        &[&prev],
        "/Flatten_output_0",
        vec![attr_int("axis", 1)],
    ));
    let head = train::Mlp {
        layers: cnn.dense.clone(),
    };
    let dense = pb::ModelProto::decode(&mlp_to_onnx(&head, "")[..])
        .ok()
        .and_then(|m| m.graph)
        .unwrap_or_default();
    for mut n in dense.node {
        for i in n.input.iter_mut().filter(|i| i.as_str() == "input") {
            *i = "/Flatten_output_0".into();
        }
        nodes.push(n);
    }
    inits.extend(dense.initializer);
    let s = cnn.side as i64;
    let classes = cnn.dense.last().map_or(0, |l| l.outputs) as i64;
    let model = pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        producer_name: "zkprof".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: doc.into(),
        graph: Some(pb::GraphProto {
            node: nodes,
            name: "cnn".into(),
            initializer: inits,
            input: vec![value_info("input", &[1, cnn.channels as i64, s, s])],
            output: vec![value_info("output", &[1, classes])],
            ..pb::GraphProto::default()
        }),
        ..pb::ModelProto::default()
    };
    model.encode_to_vec()
}

/// Decodes an ONNX file.
pub fn read_proto(path: &Path) -> Result<pb::ModelProto, ModelError> {
    let bytes = crate::input::read_capped(path, crate::limits::MAX_ONNX_BYTES, "ONNX model")
        .map_err(|e| ModelError::io(path, e))?;
    pb::ModelProto::decode(&bytes[..]).map_err(|e| {
        ModelError::onnx(
            path,
            format!("not an ONNX model (protobuf decode failed: {e})"),
        )
    })
}

/// What an ONNX file holds: declared input shape, parameter count, layer count, ops.
#[derive(Clone, Debug, PartialEq)]
pub struct OnnxInfo {
    /// The first graph input's shape (symbolic dimensions read as 1).
    pub input_shape: Vec<usize>,
    /// Elements of all initializers (weights, biases, constants).
    pub params: u64,
    /// Layers as the 2024 ZKML-Benchmark table counts them: the input layer plus one per
    /// weight layer (Gemm, MatMul, Conv).
    pub layers: u32,
    /// Op types in graph order.
    pub ops: Vec<String>,
}

/// Reads the structure of an ONNX file.
pub fn info(path: &Path) -> Result<OnnxInfo, ModelError> {
    let m = read_proto(path)?;
    let g = m
        .graph
        .ok_or_else(|| ModelError::onnx(path, "the model has no graph"))?;
    let init_names: Vec<&str> = g.initializer.iter().map(|t| t.name.as_str()).collect();
    let input = g.input.iter().find(|i| !init_names.contains(&i.name.as_str())).ok_or_else(|| {
        ModelError::onnx(path, "the graph has no input (a broken export); re-export the model with its input, or describe it as a `kind = \"cnn\"`/`\"mlp\"` spec")
    })?;
    use pb::tensor_shape_proto::dimension::Value;
    let input_shape = match input.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(pb::type_proto::Value::TensorType(t)) => t
            .shape
            .as_ref()
            .map(|s| {
                s.dim
                    .iter()
                    .map(|d| match d.value {
                        Some(Value::DimValue(v)) if v > 0 => v as usize,
                        _ => 1,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        None => Vec::new(),
    };
    if input_shape.is_empty() {
        return Err(ModelError::onnx(
            path,
            format!("graph input `{}` has no shape", input.name),
        ));
    }
    let params = g
        .initializer
        .iter()
        .map(|t| t.dims.iter().product::<i64>().max(0) as u64)
        .sum();
    let ops: Vec<String> = g.node.iter().map(|n| n.op_type.clone()).collect();
    let layers = 1 + ops
        .iter()
        .filter(|o| matches!(o.as_str(), "Gemm" | "MatMul" | "Conv"))
        .count() as u32;
    Ok(OnnxInfo {
        input_shape,
        params,
        layers,
        ops,
    })
}

/// Reads the dense layers of an MLP ONNX (Gemm, or MatMul + Add, with Relu between, an
/// optional final Softmax; Flatten/Reshape/Identity are passed over) with [`read_mlp`];
/// a network with convolutions is not a dense MLP.
pub fn dense_layers(path: &Path) -> Result<Vec<DenseLayer>, ModelError> {
    const DENSE: &str = "supported: Gemm, MatMul, Add, Relu, a final Softmax";
    let bytes = crate::input::read_capped(path, crate::limits::MAX_ONNX_BYTES, "ONNX model")
        .map_err(|e| ModelError::io(path, e))?;
    let mlp = read_mlp(&bytes).map_err(|e| ModelError::onnx(path, e.to_string()))?;
    if !mlp.convs.is_empty() {
        return Err(ModelError::onnx(
            path,
            format!(
                "unsupported op `Conv` for a dense MLP (the graph has {} convolution block(s)); {DENSE}",
                mlp.convs.len()
            ),
        ));
    }
    Ok(mlp.layers)
}

#[cfg(test)]
mod tests;

/// Test models shared with the transpilers' tests.
#[cfg(test)]
pub(crate) mod tests_support {
    pub(crate) use super::tests::cnn_onnx;
}
