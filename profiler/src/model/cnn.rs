//! Deterministic training of small CNNs (the 2024 benchmark's LeNet-style models): each
//! convolution is 'valid' with stride 1, followed by ReLU and 2x2 max pooling (stride 2,
//! floor), then the flattened maps (channel-major, as ONNX `Flatten` of NCHW) feed dense
//! layers with ReLU between them. Same recipe and determinism as the MLP trainer (the shared
//! pieces are in [`super::layers`]).

use super::layers::{
    backprop_dense, forward_dense, init_dense, sgd, softmax_delta, Conv, Dense, TrainConfig,
};
use crate::data::rng::SplitMix64;

/// Side after a 'valid' convolution of kernel `k` and 2x2/2 max pooling (floor).
pub fn pooled_side(side: usize, k: usize) -> usize {
    let conv = side + 1 - k;
    conv / 2
}

/// A trained CNN over `channels` x `side` x `side` inputs (planes first).
#[derive(Clone, Debug, PartialEq)]
pub struct Cnn {
    pub channels: usize,
    pub side: usize,
    pub convs: Vec<Conv>,
    pub dense: Vec<Dense>,
}

/// What one conv block computed for one input, kept for backpropagation.
struct Block {
    /// Input side.
    side: usize,
    /// Pre-activation conv output `[cout][o][o]`, `o = side - k + 1`.
    z: Vec<f32>,
    /// Pooled output `[cout][o/2][o/2]`.
    pooled: Vec<f32>,
    /// Index into `z` of each pooled maximum.
    argmax: Vec<usize>,
}

impl Conv {
    /// Convolution + ReLU + 2x2 max pool of `a` (`cin` x `side` x `side`).
    fn forward(&self, a: &[f32], side: usize) -> Block {
        let (k, o) = (self.k, side - self.k + 1);
        let mut z = vec![0.0f32; self.cout * o * o];
        for co in 0..self.cout {
            for y in 0..o {
                for x in 0..o {
                    let mut s = self.bias[co];
                    for ci in 0..self.cin {
                        let w = &self.weights
                            [(co * self.cin + ci) * k * k..(co * self.cin + ci + 1) * k * k];
                        let plane = &a[ci * side * side..(ci + 1) * side * side];
                        for ky in 0..k {
                            let row = &plane[(y + ky) * side + x..(y + ky) * side + x + k];
                            s += w[ky * k..(ky + 1) * k]
                                .iter()
                                .zip(row)
                                .map(|(w, v)| w * v)
                                .sum::<f32>();
                        }
                    }
                    z[(co * o + y) * o + x] = s;
                }
            }
        }
        let p = o / 2;
        let mut pooled = vec![0.0f32; self.cout * p * p];
        let mut argmax = vec![0usize; self.cout * p * p];
        for co in 0..self.cout {
            for py in 0..p {
                for px in 0..p {
                    let mut best = (co * o + 2 * py) * o + 2 * px;
                    for (dy, dx) in [(0, 1), (1, 0), (1, 1)] {
                        let i = (co * o + 2 * py + dy) * o + 2 * px + dx;
                        if z[i] > z[best] {
                            best = i;
                        }
                    }
                    pooled[(co * p + py) * p + px] = z[best].max(0.0);
                    argmax[(co * p + py) * p + px] = best;
                }
            }
        }
        Block {
            side,
            z,
            pooled,
            argmax,
        }
    }
}

impl Cnn {
    /// He-uniform initial weights.
    pub fn init(
        channels: usize,
        side: usize,
        conv: &[usize],
        k: usize,
        hidden: &[usize],
        classes: usize,
        rng: &mut SplitMix64,
    ) -> Cnn {
        let mut convs = Vec::new();
        let (mut cin, mut s) = (channels, side);
        for &cout in conv {
            let limit = (6.0 / (cin * k * k) as f32).sqrt();
            convs.push(Conv {
                cin,
                cout,
                k,
                weights: (0..cout * cin * k * k)
                    .map(|_| (rng.next_f32() * 2.0 - 1.0) * limit)
                    .collect(),
                bias: vec![0.0; cout],
            });
            cin = cout;
            s = pooled_side(s, k);
        }
        let mut widths = vec![cin * s * s];
        widths.extend(hidden);
        widths.push(classes);
        let dense = init_dense(&widths, rng);
        Cnn {
            channels,
            side,
            convs,
            dense,
        }
    }

    fn blocks(&self, x: &[f32]) -> Vec<Block> {
        let mut blocks: Vec<Block> = Vec::new();
        let mut side = self.side;
        for c in &self.convs {
            let b = c.forward(blocks.last().map_or(x, |b| &b.pooled), side);
            side = pooled_side(side, c.k);
            blocks.push(b);
        }
        blocks
    }

    /// Logits for one input.
    pub fn forward(&self, x: &[f32]) -> Vec<f32> {
        let blocks = self.blocks(x);
        let flat = blocks.last().map_or(x, |b| &b.pooled);
        forward_dense(&self.dense, flat).pop().unwrap_or_default()
    }

    /// Parameters (weights + biases).
    pub fn params(&self) -> u64 {
        let c: usize = self
            .convs
            .iter()
            .map(|c| c.weights.len() + c.bias.len())
            .sum();
        let d: usize = self
            .dense
            .iter()
            .map(|l| l.weights.len() + l.bias.len())
            .sum();
        (c + d) as u64
    }

    /// SHA-256 of all weights and biases (little-endian f32, layer by layer).
    pub fn weights_hash(&self) -> String {
        let mut bytes = Vec::new();
        for c in &self.convs {
            c.weights
                .iter()
                .chain(&c.bias)
                .for_each(|v| bytes.extend(v.to_le_bytes()));
        }
        for l in &self.dense {
            l.weights
                .iter()
                .chain(&l.bias)
                .for_each(|v| bytes.extend(v.to_le_bytes()));
        }
        crate::data::sha256_hex(&bytes)
    }
}

/// Adds the gradient of one example to `grads` (convolutions first, then dense layers).
fn gradient(
    cnn_convs: &[Conv],
    dense: &[Dense],
    x: &[f32],
    label: usize,
    grads: &mut [(Vec<f32>, Vec<f32>)],
    side0: usize,
) {
    let mut blocks: Vec<Block> = Vec::new();
    let mut side = side0;
    for c in cnn_convs {
        let b = c.forward(blocks.last().map_or(x, |b| &b.pooled), side);
        side = pooled_side(side, c.k);
        blocks.push(b);
    }
    let flat = blocks.last().map_or(x, |b| &b.pooled);
    let acts = forward_dense(dense, flat);
    let delta = softmax_delta(&acts[acts.len() - 1], label);
    let Some(mut dpool) = backprop_dense(dense, &acts, delta, grads, true) else {
        return;
    };
    for (li, c) in cnn_convs.iter().enumerate().rev() {
        let b = &blocks[li];
        let (k, s, o) = (c.k, b.side, b.side - c.k + 1);
        // Through pooling and ReLU: only each window's maximum, and only where it was positive.
        let mut dz = vec![0.0f32; b.z.len()];
        for (i, &at) in b.argmax.iter().enumerate() {
            if b.z[at] > 0.0 {
                dz[at] += dpool[i];
            }
        }
        let input = if li == 0 { x } else { &blocks[li - 1].pooled };
        let mut dinput = if li > 0 {
            vec![0.0f32; input.len()]
        } else {
            Vec::new()
        };
        let (gw, gb) = &mut grads[li];
        for co in 0..c.cout {
            for y in 0..o {
                for xx in 0..o {
                    let d = dz[(co * o + y) * o + xx];
                    if d == 0.0 {
                        continue;
                    }
                    gb[co] += d;
                    for ci in 0..c.cin {
                        let wo = (co * c.cin + ci) * k * k;
                        for ky in 0..k {
                            for kx in 0..k {
                                let ii = ci * s * s + (y + ky) * s + xx + kx;
                                gw[wo + ky * k + kx] += d * input[ii];
                                if li > 0 {
                                    dinput[ii] += d * c.weights[wo + ky * k + kx];
                                }
                            }
                        }
                    }
                }
            }
        }
        dpool = dinput;
    }
}

/// Trains a CNN on inputs `xs` (planes first) with labels `ys`.
#[allow(clippy::too_many_arguments)]
pub fn train_cnn(
    channels: usize,
    side: usize,
    conv: &[usize],
    k: usize,
    hidden: &[usize],
    classes: usize,
    xs: &[Vec<f32>],
    ys: &[u8],
    cfg: &TrainConfig,
) -> Cnn {
    let mut rng = SplitMix64::new(cfg.seed);
    let mut cnn = Cnn::init(channels, side, conv, k, hidden, classes, &mut rng);
    let side0 = cnn.side;
    sgd(
        &mut cnn.dense,
        &mut cnn.convs,
        xs,
        ys,
        cfg,
        &mut rng,
        &|dense, convs, x, label, g| gradient(convs, dense, x, label, g, side0),
    );
    cnn
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 8x8 images: class 0 = a vertical bar, 1 = a horizontal bar, 2 = a dot; random position.
    fn toy(n: usize, seed: u64) -> (Vec<Vec<f32>>, Vec<u8>) {
        let mut rng = SplitMix64::new(seed);
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for _ in 0..n {
            let c = rng.below(3);
            let mut x: Vec<f32> = (0..64).map(|_| rng.next_f32() * 0.1).collect();
            let (r, q) = (1 + rng.below(5), 1 + rng.below(5));
            for i in 0..3 {
                match c {
                    0 => x[(r + i) * 8 + q] = 1.0,
                    1 => x[r * 8 + q + i] = 1.0,
                    _ => x[r * 8 + q] = 1.0,
                }
            }
            xs.push(x);
            ys.push(c as u8);
        }
        (xs, ys)
    }

    #[test]
    fn cnn_training_is_deterministic_and_learns() {
        let (xs, ys) = toy(1500, 1);
        let cfg = TrainConfig {
            epochs: 8,
            learning_rate: 0.05,
            ..TrainConfig::default()
        };
        let a = train_cnn(1, 8, &[4], 3, &[8], 3, &xs, &ys, &cfg);
        let b = train_cnn(1, 8, &[4], 3, &[8], 3, &xs, &ys, &cfg);
        assert_eq!(a.weights_hash(), b.weights_hash());
        assert_eq!(a.params(), (4 * 9 + 4) + (4 * 3 * 3 * 8 + 8) + (8 * 3 + 3));
        let (tx, ty) = toy(200, 7);
        let right = tx
            .iter()
            .zip(&ty)
            .filter(|(x, y)| super::super::layers::argmax(&a.forward(x)) == **y as usize)
            .count();
        assert!(right >= 170, "{right}/200");
    }

    /// The analytic gradient matches a finite difference on a conv weight.
    #[test]
    fn conv_gradient_matches_finite_difference() {
        let mut rng = SplitMix64::new(5);
        let cnn = Cnn::init(1, 8, &[2, 3], 2, &[], 3, &mut rng);
        let x: Vec<f32> = (0..64).map(|_| rng.next_f32()).collect();
        let loss = |c: &Cnn| -> f64 {
            let l = c.forward(&x);
            let m = l.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
            let s: f64 = l.iter().map(|v| (*v as f64 - m).exp()).sum();
            -(l[1] as f64 - m - s.ln())
        };
        let mut grads: Vec<(Vec<f32>, Vec<f32>)> = cnn
            .convs
            .iter()
            .map(|c| (vec![0.0; c.weights.len()], vec![0.0; c.bias.len()]))
            .chain(
                cnn.dense
                    .iter()
                    .map(|l| (vec![0.0; l.weights.len()], vec![0.0; l.bias.len()])),
            )
            .collect();
        gradient(&cnn.convs, &cnn.dense, &x, 1, &mut grads, 8);
        for (layer, idx) in [(0, 3), (1, 5)] {
            let eps = 1e-3f32;
            let mut up = cnn.clone();
            up.convs[layer].weights[idx] += eps;
            let mut down = cnn.clone();
            down.convs[layer].weights[idx] -= eps;
            let numeric = (loss(&up) - loss(&down)) / (2.0 * eps as f64);
            let analytic = grads[layer].0[idx] as f64;
            assert!(
                (numeric - analytic).abs() < 1e-2 * (1.0 + numeric.abs()),
                "layer {layer}: {numeric} vs {analytic}"
            );
        }
    }
}
