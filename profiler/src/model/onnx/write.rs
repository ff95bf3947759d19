//! Writes small ONNX models with the crate's ONNX codec: dense + ReLU networks for tests and
//! demos, and a one-op graph to exercise "unsupported op" paths.

use super::read::DenseLayer;
use super::{attr_int, node, tensor, value_info};
use prost::Message;
use tract_onnx::pb;

fn model(graph: pb::GraphProto) -> Vec<u8> {
    pb::ModelProto {
        ir_version: 8,
        producer_name: "zkprof".into(),
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        graph: Some(graph),
        ..pb::ModelProto::default()
    }
    .encode_to_vec()
}

fn dims(d: &[usize]) -> Vec<i64> {
    d.iter().map(|&x| x as i64).collect()
}

/// An ONNX model (opset 13) of `Gemm(transB=1)` layers, with `Relu` where `relu` is set;
/// input `input` of shape `[1, n_in]`, output `output`.
pub fn write_mlp(layers: &[DenseLayer]) -> Vec<u8> {
    let n_in = layers.first().map_or(0, DenseLayer::inputs);
    let n_out = layers.last().map_or(0, DenseLayer::outputs);
    let mut g = pb::GraphProto {
        name: "mlp".into(),
        ..pb::GraphProto::default()
    };
    let mut cur = "input".to_string();
    for (k, l) in layers.iter().enumerate() {
        let last = k + 1 == layers.len();
        let gemm_out = if last && !l.relu {
            "output".to_string()
        } else {
            format!("h{k}")
        };
        let (w, b) = (format!("w{k}"), format!("b{k}"));
        g.node.push(node(
            "Gemm",
            &format!("gemm{k}"),
            &[&cur, &w, &b],
            &gemm_out,
            vec![attr_int("transB", 1)],
        ));
        cur = gemm_out;
        if l.relu {
            let out = if last {
                "output".to_string()
            } else {
                format!("r{k}")
            };
            g.node
                .push(node("Relu", &format!("relu{k}"), &[&cur], &out, Vec::new()));
            cur = out;
        }
    }
    for (k, l) in layers.iter().enumerate() {
        let flat: Vec<f32> = l.weights.iter().flatten().copied().collect();
        let (o, i) = (l.outputs(), l.inputs());
        g.initializer
            .push(tensor(&format!("w{k}"), &dims(&[o, i]), &flat));
        g.initializer
            .push(tensor(&format!("b{k}"), &dims(&[o]), &l.bias));
    }
    g.input.push(value_info("input", &dims(&[1, n_in])));
    g.output.push(value_info("output", &dims(&[1, n_out])));
    model(g)
}

/// A one-node model `output = OP(input)`, input and output of shape `[1, n]`.
pub fn write_with_op(op: &str, n: usize) -> Vec<u8> {
    model(pb::GraphProto {
        name: "one-op".into(),
        node: vec![node(op, "n0", &["input"], "output", Vec::new())],
        input: vec![value_info("input", &dims(&[1, n]))],
        output: vec![value_info("output", &dims(&[1, n]))],
        ..pb::GraphProto::default()
    })
}
