//! ONNX export of trained MLPs and reading of ONNX files (structure, sizes, dense layers).
//!
//! Exported graphs are what EZKL and the circom transpiler accept: input `input` of shape
//! `[1, N]` f32, then per layer `Gemm(transB = 1)` with `fcK.weight` `[out, in]` and `fcK.bias`,
//! `Relu` between layers, output `output` = the logits `[1, classes]` (no Softmax: argmax is the
//! same and circuits stay smaller). Opset 13, IR version 8 — the layout PyTorch writes.

use super::train::Mlp;
use super::{DenseLayer, ModelError};
use prost::Message;
use std::collections::HashMap;
use std::path::Path;
use tract_onnx::pb;

/// ONNX `TensorProto.DataType.FLOAT`.
const FLOAT: i32 = 1;

fn value_info(name: &str, dims: &[i64]) -> pb::ValueInfoProto {
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

fn tensor(name: &str, dims: &[i64], data: &[f32]) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: FLOAT,
        raw_data: data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..pb::TensorProto::default()
    }
}

fn attr_int(name: &str, i: i64) -> pb::AttributeProto {
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
pub fn mlp_to_onnx(mlp: &Mlp, doc: &str) -> Vec<u8> {
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

fn node(
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
    let head = Mlp {
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

/// Float values of an initializer (`float_data` or little-endian `raw_data`).
fn floats(path: &Path, t: &pb::TensorProto) -> Result<Vec<f32>, ModelError> {
    if t.data_type != FLOAT {
        return Err(ModelError::onnx(
            path,
            format!(
                "initializer `{}` has data type {}, expected FLOAT (1)",
                t.name, t.data_type
            ),
        ));
    }
    if !t.float_data.is_empty() {
        return Ok(t.float_data.clone());
    }
    if !t.raw_data.len().is_multiple_of(4) {
        return Err(ModelError::onnx(
            path,
            format!(
                "initializer `{}`: raw data of {} bytes is not f32s",
                t.name,
                t.raw_data.len()
            ),
        ));
    }
    Ok(t.raw_data
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
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
/// optional final Softmax; Flatten/Reshape/Identity are passed over).
pub fn dense_layers(path: &Path) -> Result<Vec<DenseLayer>, ModelError> {
    let m = read_proto(path)?;
    let g = m
        .graph
        .ok_or_else(|| ModelError::onnx(path, "the model has no graph"))?;
    let inits: HashMap<&str, &pb::TensorProto> =
        g.initializer.iter().map(|t| (t.name.as_str(), t)).collect();
    let weight = |name: &str, node: &str| {
        inits.get(name).copied().ok_or_else(|| {
            ModelError::onnx(path, format!("node `{node}`: `{name}` is not an initializer; only constant weights are supported"))
        })
    };
    let mut layers: Vec<DenseLayer> = Vec::new();
    let last = g.node.len().saturating_sub(1);
    for (idx, n) in g.node.iter().enumerate() {
        match n.op_type.as_str() {
            "Gemm" => {
                let get = |a: &str| n.attribute.iter().find(|x| x.name == a);
                let trans_b = get("transB").is_some_and(|a| a.i == 1);
                let alpha = get("alpha").map_or(1.0, |a| a.f);
                let beta = get("beta").map_or(1.0, |a| a.f);
                if get("transA").is_some_and(|a| a.i == 1) {
                    return Err(ModelError::onnx(path, format!("node `{}`: Gemm with transA = 1 is not supported", n.name)));
                }
                let w = weight(n.input.get(1).map_or("", |s| s.as_str()), &n.name)?;
                let mut layer = matrix(path, w, trans_b, &n.name)?;
                layer.weights.iter_mut().flatten().for_each(|v| *v *= alpha);
                if let Some(bn) = n.input.get(2).filter(|s| !s.is_empty()) {
                    let b = floats(path, weight(bn, &n.name)?)?;
                    layer.bias = b.iter().map(|v| v * beta).collect();
                }
                check_bias(path, &layer, &n.name)?;
                layers.push(layer);
            }
            "MatMul" => {
                let w = weight(n.input.get(1).map_or("", |s| s.as_str()), &n.name)?;
                layers.push(matrix(path, w, false, &n.name)?);
            }
            "Add" => {
                let Some(l) = layers.last_mut() else {
                    return Err(ModelError::onnx(path, format!("node `{}`: Add before any dense layer", n.name)));
                };
                let b = n.input.iter().find_map(|i| inits.get(i.as_str())).ok_or_else(|| {
                    ModelError::onnx(path, format!("node `{}`: Add without a constant bias is not supported", n.name))
                })?;
                l.bias = floats(path, b)?;
                check_bias(path, l, &n.name)?;
            }
            "Relu" => match layers.last_mut() {
                Some(l) if !l.relu => l.relu = true,
                _ => return Err(ModelError::onnx(path, format!("node `{}`: Relu not after a dense layer", n.name))),
            },
            "Softmax" if idx == last => {}
            "Flatten" | "Reshape" | "Identity" if layers.is_empty() => {}
            op => {
                return Err(ModelError::onnx(
                    path,
                    format!(
                        "unsupported op `{op}` (node `{}`) for a dense MLP; supported: Gemm, MatMul, Add, Relu, a final Softmax",
                        n.name
                    ),
                ))
            }
        }
    }
    if layers.is_empty() {
        return Err(ModelError::onnx(
            path,
            "no dense layers (Gemm or MatMul) in the graph",
        ));
    }
    for w in layers.windows(2) {
        if w[0].bias.len() != w[1].weights.first().map_or(0, Vec::len) {
            return Err(ModelError::onnx(
                path,
                "consecutive dense layers have mismatched sizes",
            ));
        }
    }
    Ok(layers)
}

fn matrix(
    path: &Path,
    t: &pb::TensorProto,
    trans_b: bool,
    node: &str,
) -> Result<DenseLayer, ModelError> {
    if t.dims.len() != 2 {
        return Err(ModelError::onnx(
            path,
            format!(
                "node `{node}`: weight `{}` has shape {:?}, expected 2-D",
                t.name, t.dims
            ),
        ));
    }
    let (r, c) = (t.dims[0] as usize, t.dims[1] as usize);
    let v = floats(path, t)?;
    if v.len() != r * c {
        return Err(ModelError::onnx(
            path,
            format!("weight `{}`: {} values for shape {r}x{c}", t.name, v.len()),
        ));
    }
    // ONNX Gemm: Y = A * B' (transB) with B [out, in]; else B is [in, out].
    let weights: Vec<Vec<f32>> = if trans_b {
        v.chunks_exact(c).map(<[f32]>::to_vec).collect()
    } else {
        (0..c)
            .map(|o| (0..r).map(|i| v[i * c + o]).collect())
            .collect()
    };
    let outs = weights.len();
    Ok(DenseLayer {
        weights,
        bias: vec![0.0; outs],
        relu: false,
    })
}

fn check_bias(path: &Path, l: &DenseLayer, node: &str) -> Result<(), ModelError> {
    if l.bias.len() != l.weights.len() {
        return Err(ModelError::onnx(
            path,
            format!(
                "node `{node}`: bias of {} values for {} outputs",
                l.bias.len(),
                l.weights.len()
            ),
        ));
    }
    Ok(())
}
