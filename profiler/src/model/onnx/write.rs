//! Writes small ONNX models (protobuf by hand): dense + ReLU networks for tests and demos,
//! and a one-op graph to exercise "unsupported op" paths.

use super::read::DenseLayer;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_key(out: &mut Vec<u8>, num: u64, wire: u64) {
    put_varint(out, (num << 3) | wire);
}

fn put_bytes(out: &mut Vec<u8>, num: u64, b: &[u8]) {
    put_key(out, num, 2);
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn put_int(out: &mut Vec<u8>, num: u64, v: u64) {
    put_key(out, num, 0);
    put_varint(out, v);
}

fn tensor(name: &str, dims: &[usize], data: &[f32]) -> Vec<u8> {
    let mut t = Vec::new();
    for d in dims {
        put_int(&mut t, 1, *d as u64);
    }
    put_int(&mut t, 2, 1); // FLOAT
    put_bytes(&mut t, 8, name.as_bytes());
    let raw: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
    put_bytes(&mut t, 9, &raw);
    t
}

fn value_info(name: &str, dims: &[usize]) -> Vec<u8> {
    let mut shape = Vec::new();
    for d in dims {
        let mut dim = Vec::new();
        put_int(&mut dim, 1, *d as u64);
        put_bytes(&mut shape, 1, &dim);
    }
    let mut tt = Vec::new();
    put_int(&mut tt, 1, 1); // FLOAT
    put_bytes(&mut tt, 2, &shape);
    let mut ty = Vec::new();
    put_bytes(&mut ty, 1, &tt);
    let mut v = Vec::new();
    put_bytes(&mut v, 1, name.as_bytes());
    put_bytes(&mut v, 2, &ty);
    v
}

fn node(op: &str, name: &str, inputs: &[&str], output: &str, int_attrs: &[(&str, i64)]) -> Vec<u8> {
    let mut n = Vec::new();
    for i in inputs {
        put_bytes(&mut n, 1, i.as_bytes());
    }
    put_bytes(&mut n, 2, output.as_bytes());
    put_bytes(&mut n, 3, name.as_bytes());
    put_bytes(&mut n, 4, op.as_bytes());
    for (k, v) in int_attrs {
        let mut a = Vec::new();
        put_bytes(&mut a, 1, k.as_bytes());
        put_int(&mut a, 3, *v as u64);
        put_int(&mut a, 20, 2); // AttributeType INT
        put_bytes(&mut n, 5, &a);
    }
    n
}

fn model(graph: &[u8]) -> Vec<u8> {
    let mut m = Vec::new();
    put_int(&mut m, 1, 8); // ir_version
    put_bytes(&mut m, 2, b"zkprof");
    let mut opset = Vec::new();
    put_int(&mut opset, 2, 13);
    put_bytes(&mut m, 8, &opset);
    put_bytes(&mut m, 7, graph);
    m
}

/// An ONNX model (opset 13) of `Gemm(transB=1)` layers, with `Relu` where `relu` is set;
/// input `input` of shape `[1, n_in]`, output `output`.
pub fn write_mlp(layers: &[DenseLayer]) -> Vec<u8> {
    let n_in = layers.first().map_or(0, DenseLayer::inputs);
    let n_out = layers.last().map_or(0, DenseLayer::outputs);
    let mut g = Vec::new();
    let mut cur = "input".to_string();
    for (k, l) in layers.iter().enumerate() {
        let last = k + 1 == layers.len();
        let gemm_out = if last && !l.relu {
            "output".to_string()
        } else {
            format!("h{k}")
        };
        let (w, b) = (format!("w{k}"), format!("b{k}"));
        put_bytes(
            &mut g,
            1,
            &node(
                "Gemm",
                &format!("gemm{k}"),
                &[&cur, &w, &b],
                &gemm_out,
                &[("transB", 1)],
            ),
        );
        cur = gemm_out;
        if l.relu {
            let out = if last {
                "output".to_string()
            } else {
                format!("r{k}")
            };
            put_bytes(
                &mut g,
                1,
                &node("Relu", &format!("relu{k}"), &[&cur], &out, &[]),
            );
            cur = out;
        }
    }
    put_bytes(&mut g, 2, b"mlp");
    for (k, l) in layers.iter().enumerate() {
        let flat: Vec<f32> = l.weights.iter().flatten().copied().collect();
        put_bytes(
            &mut g,
            5,
            &tensor(&format!("w{k}"), &[l.outputs(), l.inputs()], &flat),
        );
        put_bytes(
            &mut g,
            5,
            &tensor(&format!("b{k}"), &[l.outputs()], &l.bias),
        );
    }
    put_bytes(&mut g, 11, &value_info("input", &[1, n_in]));
    put_bytes(&mut g, 12, &value_info("output", &[1, n_out]));
    model(&g)
}

/// A one-node model `output = OP(input)`, input and output of shape `[1, n]`.
pub fn write_with_op(op: &str, n: usize) -> Vec<u8> {
    let mut g = Vec::new();
    put_bytes(&mut g, 1, &node(op, "n0", &["input"], "output", &[]));
    put_bytes(&mut g, 2, b"one-op");
    put_bytes(&mut g, 11, &value_info("input", &[1, n]));
    put_bytes(&mut g, 12, &value_info("output", &[1, n]));
    model(&g)
}
