//! The layers both trainers build on (dense and convolution parameters), their shared
//! pieces (dense forward pass, softmax gradient, dense backpropagation) and the mini-batch
//! SGD loop. Plain code, single-threaded, fixed order of every floating-point operation, so
//! a seed gives the same weights bit for bit on every run. `train.rs` (MLPs) and
//! `cnn.rs` (CNNs) both import this; neither imports the other.

use crate::data::rng::SplitMix64;

/// One dense layer: `y = W x + b`, `W` row-major `[out][in]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Dense {
    pub inputs: usize,
    pub outputs: usize,
    /// `outputs * inputs` weights, row `o` = weights of output `o`.
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    /// ReLU after this layer (all but the last).
    pub relu: bool,
}

/// One convolution: `weights` `[cout][cin][k][k]`, `bias` `[cout]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Conv {
    pub cin: usize,
    pub cout: usize,
    pub k: usize,
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
}

/// Training hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainConfig {
    pub seed: u64,
    pub epochs: u32,
    pub batch: usize,
    pub learning_rate: f32,
    pub momentum: f32,
    /// Learning-rate factor applied after each epoch.
    pub decay: f32,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            seed: 1,
            epochs: 5,
            batch: 32,
            learning_rate: 0.1,
            momentum: 0.9,
            decay: 0.7,
        }
    }
}

/// He-uniform initial weights for dense layers of `widths` (input, hidden..., output),
/// zero biases, ReLU after all but the last.
pub fn init_dense(widths: &[usize], rng: &mut SplitMix64) -> Vec<Dense> {
    let n = widths.len().saturating_sub(1);
    (0..n)
        .map(|i| {
            let (inputs, outputs) = (widths[i], widths[i + 1]);
            let limit = (6.0 / inputs as f32).sqrt();
            Dense {
                inputs,
                outputs,
                weights: (0..inputs * outputs)
                    .map(|_| (rng.next_f32() * 2.0 - 1.0) * limit)
                    .collect(),
                bias: vec![0.0; outputs],
                relu: i + 1 < n,
            }
        })
        .collect()
}

/// Activations of dense `layers` for one input (`acts[0]` = input, last = output).
pub fn forward_dense(layers: &[Dense], x: &[f32]) -> Vec<Vec<f32>> {
    let mut acts = vec![x.to_vec()];
    for l in layers {
        let a = acts.last().map(Vec::as_slice).unwrap_or(&[]);
        let mut out = l.bias.clone();
        for (o, v) in out.iter_mut().enumerate() {
            let row = &l.weights[o * l.inputs..(o + 1) * l.inputs];
            *v += row.iter().zip(a).map(|(w, x)| w * x).sum::<f32>();
            if l.relu && *v < 0.0 {
                *v = 0.0;
            }
        }
        acts.push(out);
    }
    acts
}

/// Index of the largest value (first on ties); 0 for an empty slice.
pub fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}

/// Gradients of one example: `(weights, bias)` per parameter layer, convolutions first.
pub(crate) type Grads = Vec<(Vec<f32>, Vec<f32>)>;

/// Per-example gradient function: (dense layers, conv layers, input, label, grads to add to).
pub(crate) type GradFn<'a> =
    dyn Fn(&[Dense], &[Conv], &[f32], usize, &mut [(Vec<f32>, Vec<f32>)]) + 'a;

/// Mini-batch SGD with momentum over conv layers then dense layers; `grad` adds one
/// example's gradient. Shuffles with `rng` each epoch.
pub(crate) fn sgd(
    dense: &mut [Dense],
    convs: &mut [Conv],
    xs: &[Vec<f32>],
    ys: &[u8],
    cfg: &TrainConfig,
    rng: &mut SplitMix64,
    grad: &GradFn<'_>,
) {
    let shapes: Vec<(usize, usize)> = convs
        .iter()
        .map(|c| (c.weights.len(), c.bias.len()))
        .chain(dense.iter().map(|l| (l.weights.len(), l.bias.len())))
        .collect();
    let zeros = || -> Grads {
        shapes
            .iter()
            .map(|&(w, b)| (vec![0.0; w], vec![0.0; b]))
            .collect()
    };
    let mut vel = zeros();
    let mut order: Vec<usize> = (0..xs.len()).collect();
    let mut lr = cfg.learning_rate;
    for _ in 0..cfg.epochs {
        for i in (1..order.len()).rev() {
            let j = rng.below(i + 1);
            order.swap(i, j);
        }
        for batch in order.chunks(cfg.batch.max(1)) {
            let mut grads = zeros();
            for &k in batch {
                grad(dense, convs, &xs[k], ys[k] as usize, &mut grads);
            }
            let scale = lr / batch.len() as f32;
            let params = convs
                .iter_mut()
                .map(|c| (&mut c.weights, &mut c.bias))
                .chain(dense.iter_mut().map(|l| (&mut l.weights, &mut l.bias)));
            for ((w, b), ((gw, gb), (vw, vb))) in params.zip(grads.iter().zip(vel.iter_mut())) {
                for ((p, g), v) in w.iter_mut().zip(gw).zip(vw.iter_mut()) {
                    *v = cfg.momentum * *v - scale * g;
                    *p += *v;
                }
                for ((p, g), v) in b.iter_mut().zip(gb).zip(vb.iter_mut()) {
                    *v = cfg.momentum * *v - scale * g;
                    *p += *v;
                }
            }
        }
        lr *= cfg.decay;
    }
}

/// Gradient of softmax cross-entropy with respect to the logits.
pub(crate) fn softmax_delta(logits: &[f32], label: usize) -> Vec<f32> {
    let max = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|v| (v - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    let mut delta: Vec<f32> = exps.iter().map(|e| e / sum).collect();
    if let Some(d) = delta.get_mut(label) {
        *d -= 1.0;
    }
    delta
}

/// Backpropagates `delta` (gradient at the output) through dense `layers` with activations
/// `acts`, adding to `grads` (one entry per layer, the last `layers.len()` of the slice).
/// Returns the gradient at the input when `input_grad`.
pub(crate) fn backprop_dense(
    layers: &[Dense],
    acts: &[Vec<f32>],
    mut delta: Vec<f32>,
    grads: &mut [(Vec<f32>, Vec<f32>)],
    input_grad: bool,
) -> Option<Vec<f32>> {
    let off = grads.len() - layers.len();
    for li in (0..layers.len()).rev() {
        let l = &layers[li];
        let input = &acts[li];
        let (gw, gb) = &mut grads[off + li];
        for (o, d) in delta.iter().enumerate() {
            gb[o] += d;
            let row = &mut gw[o * l.inputs..(o + 1) * l.inputs];
            for (g, a) in row.iter_mut().zip(input) {
                *g += d * a;
            }
        }
        if li == 0 && !input_grad {
            return None;
        }
        let mut next = vec![0.0f32; l.inputs];
        for (o, d) in delta.iter().enumerate() {
            let row = &l.weights[o * l.inputs..(o + 1) * l.inputs];
            for (n, w) in next.iter_mut().zip(row) {
                *n += d * w;
            }
        }
        if li > 0 && layers[li - 1].relu {
            for (n, a) in next.iter_mut().zip(input) {
                if *a <= 0.0 {
                    *n = 0.0;
                }
            }
        }
        delta = next;
    }
    Some(delta)
}
