//! Convolution blocks to circom, on circomlib-ml's `Conv2D`, `ReLU`, `MaxPooling2D` and
//! `SumPooling2D` templates, with the same range-checked rescaling as the dense layers.
//!
//! circomlib-ml lays tensors out as `[row][col][channel]`; ONNX is channel-major. The input
//! signal stays flat in ONNX's order (`in[c*H*W + i*W + j]`) and the last block is
//! flattened in ONNX's order too, so the dense weights need no permutation.
//!
//! Per block `k`: `Conv2D` (scale `S^2`), `Rescale` to scale `S` with prover-supplied
//! `cq{k}`, `cr{k}`, an optional `ReLU`, then an optional pooling: `MaxPooling2D`, or
//! `SumPooling2D` followed by a `Rescale` by `size^2` (`pq{k}`, `pr{k}`: the average rounded
//! down, where the float model keeps the fraction). Weights `cw{k}` and biases `cb{k}` are
//! private inputs, as for the dense layers.

use super::transpile::{div_floor, fixed, Scaling};
use crate::model::onnx::{ConvLayer, PoolKind};
use num_bigint::BigInt;
use std::fmt::Write;

/// Why the circuit cannot express these blocks, if it cannot.
pub fn check(convs: &[ConvLayer]) -> Result<(), String> {
    for (k, l) in convs.iter().enumerate() {
        if l.pool.is_some_and(|p| p.kind == PoolKind::Max) && !l.relu {
            // circomlib-ml's Max compares field elements as integers below 2^252: a negative
            // value (a huge field element) would win.
            return Err(format!(
                "convolution block {k}: max pooling without a ReLU before it (circomlib-ml's Max needs non-negative values)"
            ));
        }
    }
    Ok(())
}

/// The templates the blocks use.
pub fn includes(convs: &[ConvLayer]) -> String {
    let mut s = String::new();
    if !convs.is_empty() {
        s.push_str("include \"circomlib-ml/circuits/Conv2D.circom\";\n");
    }
    if convs
        .iter()
        .any(|l| l.pool.is_some_and(|p| p.kind == PoolKind::Max))
    {
        s.push_str("include \"circomlib-ml/circuits/MaxPooling2D.circom\";\n");
    }
    if convs
        .iter()
        .any(|l| l.pool.is_some_and(|p| p.kind == PoolKind::Average))
    {
        s.push_str("include \"circomlib-ml/circuits/SumPooling2D.circom\";\n");
    }
    s
}

/// Bits that hold any remainder below `d`.
fn bits(d: usize) -> u64 {
    BigInt::from(d).bits().max(1)
}

/// Writes the input declarations and the blocks into `c` (inside the template); returns
/// the name of the flat signal the dense layers read (`in` when there are no blocks).
pub fn circuit_part(c: &mut String, convs: &[ConvLayer], sc: Scaling) -> String {
    let s = sc.scale();
    for (k, l) in convs.iter().enumerate() {
        let [ch, h, w] = l.input;
        let (f, kk) = (l.filters, l.kernel);
        let (oh, ow) = l.conv_hw();
        let _ = writeln!(
            c,
            "    signal input cw{k}[{kk}][{kk}][{ch}][{f}];\n    signal input cb{k}[{f}];\n    \
             signal input cq{k}[{oh}][{ow}][{f}];\n    signal input cr{k}[{oh}][{ow}][{f}];"
        );
        let src = if k == 0 {
            format!("in[c*{}+i*{w}+j]", h * w)
        } else {
            format!("p{}[i][j][c]", k - 1)
        };
        let _ = writeln!(
            c,
            "    component conv{k} = Conv2D({h}, {w}, {ch}, {f}, {kk}, {});\n    \
             for (var i = 0; i < {h}; i++) {{ for (var j = 0; j < {w}; j++) {{ for (var c = 0; c < {ch}; c++) {{\n        \
             conv{k}.in[i][j][c] <== {src};\n    }} }} }}\n    \
             for (var x = 0; x < {kk}; x++) {{ for (var y = 0; y < {kk}; y++) {{ for (var c = 0; c < {ch}; c++) {{ for (var m = 0; m < {f}; m++) {{\n        \
             conv{k}.weights[x][y][c][m] <== cw{k}[x][y][c][m];\n    }} }} }} }}\n    \
             for (var m = 0; m < {f}; m++) {{ conv{k}.bias[m] <== cb{k}[m]; }}",
            l.stride
        );
        let _ = writeln!(
            c,
            "    signal ca{k}[{oh}][{ow}][{f}];\n    component crs{k}[{oh}][{ow}][{f}];"
        );
        if l.relu {
            let _ = writeln!(c, "    component crelu{k}[{oh}][{ow}][{f}];");
        }
        let act = if l.relu {
            format!(
                "        crelu{k}[i][j][m] = ReLU();\n        crelu{k}[i][j][m].in <== cq{k}[i][j][m];\n        \
                 ca{k}[i][j][m] <== crelu{k}[i][j][m].out;"
            )
        } else {
            format!("        ca{k}[i][j][m] <== cq{k}[i][j][m];")
        };
        let _ = writeln!(
            c,
            "    for (var i = 0; i < {oh}; i++) {{ for (var j = 0; j < {ow}; j++) {{ for (var m = 0; m < {f}; m++) {{\n        \
             crs{k}[i][j][m] = Rescale({s}, {});\n        crs{k}[i][j][m].in <== conv{k}.out[i][j][m];\n        \
             crs{k}[i][j][m].q <== cq{k}[i][j][m];\n        crs{k}[i][j][m].r <== cr{k}[i][j][m];\n{act}\n    }} }} }}",
            sc.bits()
        );
        let [_, ph, pw] = l.output();
        let _ = writeln!(c, "    signal p{k}[{ph}][{pw}][{f}];");
        let each = format!(
            "for (var i = 0; i < {ph}; i++) {{ for (var j = 0; j < {pw}; j++) {{ for (var m = 0; m < {f}; m++) {{"
        );
        match l.pool {
            None => {
                let _ = writeln!(
                    c,
                    "    {each}\n        p{k}[i][j][m] <== ca{k}[i][j][m];\n    }} }} }}"
                );
            }
            Some(p) => {
                let (tmpl, size, st) = match p.kind {
                    PoolKind::Max => ("MaxPooling2D", p.size, p.stride),
                    PoolKind::Average => ("SumPooling2D", p.size, p.stride),
                };
                let _ = writeln!(
                    c,
                    "    component pool{k} = {tmpl}({oh}, {ow}, {f}, {size}, {st});\n    \
                     for (var i = 0; i < {oh}; i++) {{ for (var j = 0; j < {ow}; j++) {{ for (var m = 0; m < {f}; m++) {{\n        \
                     pool{k}.in[i][j][m] <== ca{k}[i][j][m];\n    }} }} }}"
                );
                if p.kind == PoolKind::Max {
                    let _ = writeln!(
                        c,
                        "    {each}\n        p{k}[i][j][m] <== pool{k}.out[i][j][m];\n    }} }} }}"
                    );
                } else {
                    let d = size * size;
                    let _ = writeln!(
                        c,
                        "    signal input pq{k}[{ph}][{pw}][{f}];\n    signal input pr{k}[{ph}][{pw}][{f}];\n    \
                         component prs{k}[{ph}][{pw}][{f}];\n    {each}\n        \
                         prs{k}[i][j][m] = Rescale({d}, {});\n        prs{k}[i][j][m].in <== pool{k}.out[i][j][m];\n        \
                         prs{k}[i][j][m].q <== pq{k}[i][j][m];\n        prs{k}[i][j][m].r <== pr{k}[i][j][m];\n        \
                         p{k}[i][j][m] <== pq{k}[i][j][m];\n    }} }} }}",
                        bits(d)
                    );
                }
            }
        }
    }
    let Some(last) = convs.last() else {
        return "in".into();
    };
    let k = convs.len() - 1;
    let [f, ph, pw] = last.output();
    let _ = writeln!(
        c,
        "    signal flat[{}];\n    for (var m = 0; m < {f}; m++) {{ for (var i = 0; i < {ph}; i++) {{ for (var j = 0; j < {pw}; j++) {{\n        \
         flat[m*{}+i*{pw}+j] <== p{k}[i][j][m];\n    }} }} }}",
        f * ph * pw,
        ph * pw
    );
    "flat".into()
}

/// The weight and bias inputs of the blocks.
pub fn params_json(
    convs: &[ConvLayer],
    sc: Scaling,
    m: &mut serde_json::Map<String, serde_json::Value>,
) {
    let s = sc.scale();
    let s2 = &s * &s;
    for (k, l) in convs.iter().enumerate() {
        let (kk, ch, f) = (l.kernel, l.input[0], l.filters);
        let w: Vec<Vec<Vec<Vec<String>>>> = (0..kk)
            .map(|x| {
                (0..kk)
                    .map(|y| {
                        (0..ch)
                            .map(|c| {
                                (0..f)
                                    .map(|o| fixed(l.weight(o, c, x, y), &s).to_string())
                                    .collect()
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let b: Vec<String> = l.bias.iter().map(|b| fixed(*b, &s2).to_string()).collect();
        m.insert(format!("cw{k}"), serde_json::json!(w));
        m.insert(format!("cb{k}"), serde_json::json!(b));
    }
}

/// `[h][w][c]` nested JSON strings of a channel-major tensor.
fn hwc_json(v: &[BigInt], [c, h, w]: [usize; 3]) -> serde_json::Value {
    let t: Vec<Vec<Vec<String>>> = (0..h)
        .map(|i| {
            (0..w)
                .map(|j| (0..c).map(|m| v[(m * h + i) * w + j].to_string()).collect())
                .collect()
        })
        .collect();
    serde_json::json!(t)
}

/// Runs the blocks exactly as the circuit does on the fixed-point input `x` (scale `S`,
/// channel-major), adds the auxiliary inputs to `m`, and returns the flat output (scale `S`).
pub fn witness(
    convs: &[ConvLayer],
    sc: Scaling,
    x: Vec<BigInt>,
    m: &mut serde_json::Map<String, serde_json::Value>,
) -> Vec<BigInt> {
    let s = sc.scale();
    let s2 = &s * &s;
    let zero = BigInt::from(0);
    let mut cur = x;
    for (k, l) in convs.iter().enumerate() {
        let [ch, h, w] = l.input;
        let (oh, ow) = l.conv_hw();
        let f = l.filters;
        let weights: Vec<BigInt> = l.weights.iter().map(|v| fixed(*v, &s)).collect();
        let (mut q, mut r) = (
            Vec::with_capacity(f * oh * ow),
            Vec::with_capacity(f * oh * ow),
        );
        for o in 0..f {
            let bias = fixed(l.bias[o], &s2);
            for i in 0..oh {
                for j in 0..ow {
                    let mut acc = bias.clone();
                    for c in 0..ch {
                        for a in 0..l.kernel {
                            for b in 0..l.kernel {
                                let xv = &cur[(c * h + i * l.stride + a) * w + j * l.stride + b];
                                let wv = &weights[((o * ch + c) * l.kernel + a) * l.kernel + b];
                                acc += xv * wv;
                            }
                        }
                    }
                    let (qq, rr) = div_floor(&acc, &s);
                    q.push(qq);
                    r.push(rr);
                }
            }
        }
        m.insert(format!("cq{k}"), hwc_json(&q, [f, oh, ow]));
        m.insert(format!("cr{k}"), hwc_json(&r, [f, oh, ow]));
        let act: Vec<BigInt> = q
            .into_iter()
            .map(|v| if l.relu && v < zero { zero.clone() } else { v })
            .collect();
        cur = match l.pool {
            None => act,
            Some(p) => {
                let [_, ph, pw] = l.output();
                let mut out = Vec::with_capacity(f * ph * pw);
                let (mut pq, mut pr) = (Vec::new(), Vec::new());
                let d = BigInt::from(p.size * p.size);
                for o in 0..f {
                    for i in 0..ph {
                        for j in 0..pw {
                            let window = (0..p.size)
                                .flat_map(|a| (0..p.size).map(move |b| (a, b)))
                                .map(|(a, b)| {
                                    &act[(o * oh + i * p.stride + a) * ow + j * p.stride + b]
                                });
                            match p.kind {
                                PoolKind::Max => {
                                    out.push(window.max().cloned().unwrap_or_default())
                                }
                                PoolKind::Average => {
                                    let sum: BigInt = window.sum();
                                    let (qq, rr) = div_floor(&sum, &d);
                                    pq.push(qq.clone());
                                    pr.push(rr);
                                    out.push(qq);
                                }
                            }
                        }
                    }
                }
                if p.kind == PoolKind::Average {
                    m.insert(format!("pq{k}"), hwc_json(&pq, [f, ph, pw]));
                    m.insert(format!("pr{k}"), hwc_json(&pr, [f, ph, pw]));
                }
                out
            }
        };
    }
    cur
}

#[cfg(test)]
mod tests {
    use super::super::transpile::{circuit, input_json};
    use super::*;
    use crate::model::onnx::{forward, read_mlp};

    /// The witness of the 2024 14x14 CNN shape (two 3x3 blocks, max pooling, dense 44-80-10)
    /// reproduces the float model within the fixed-point bound, and the circuit wires every
    /// block.
    #[test]
    fn witness_matches_the_float_cnn() {
        let bytes = crate::model::onnx::tests_support::cnn_onnx(14, &[5, 11], 3, &[80]);
        let net = read_mlp(&bytes).unwrap();
        let sc = Scaling {
            decimals: 6,
            public_input: true,
        };
        let mut rng = crate::data::rng::SplitMix64::new(3);
        for _ in 0..3 {
            let x: Vec<f32> = (0..196).map(|_| rng.next_f32()).collect();
            let (m, outs) = input_json(&net, sc, &x);
            let float = forward(&net, &x);
            for (a, b) in outs.iter().zip(&float) {
                assert!((a - f64::from(*b)).abs() < 1e-3, "{outs:?} vs {float:?}");
            }
            assert_eq!(m["cq0"].as_array().unwrap().len(), 12, "12x12 conv rows");
            assert_eq!(m["cq1"][0][0].as_array().unwrap().len(), 11, "11 filters");
        }
        let c = circuit(&net, sc);
        for want in [
            "Conv2D(14, 14, 1, 5, 3, 1)",
            "MaxPooling2D(12, 12, 5, 2, 2)",
            "Conv2D(6, 6, 5, 11, 3, 1)",
            "signal flat[44]",
            "Dense(44, 80)",
        ] {
            assert!(c.contains(want), "{want} missing in\n{c}");
        }
    }

    #[test]
    fn average_pooling_rescales_and_max_without_relu_is_refused() {
        let mut net = read_mlp(&crate::model::onnx::tests_support::cnn_onnx(
            8,
            &[2],
            3,
            &[],
        ))
        .unwrap();
        let sc = Scaling {
            decimals: 4,
            public_input: false,
        };
        net.convs[0].pool = Some(crate::model::onnx::Pool {
            kind: PoolKind::Average,
            size: 2,
            stride: 2,
        });
        let x: Vec<f32> = (0..64).map(|i| i as f32 / 64.0).collect();
        let (m, outs) = input_json(&net, sc, &x);
        let float = forward(&net, &x);
        for (a, b) in outs.iter().zip(&float) {
            assert!((a - f64::from(*b)).abs() < 1e-2, "{outs:?} vs {float:?}");
        }
        assert!(m.contains_key("pq0") && m.contains_key("pr0"));
        assert!(circuit(&net, sc).contains("SumPooling2D(6, 6, 2, 2, 2)"));
        assert_eq!(check(&net.convs), Ok(()));
        net.convs[0].relu = false;
        net.convs[0].pool = Some(crate::model::onnx::Pool {
            kind: PoolKind::Max,
            size: 2,
            stride: 2,
        });
        assert!(check(&net.convs).unwrap_err().contains("without a ReLU"));
    }
}
