//! Deterministic training of dense MLPs: plain code, single-threaded, fixed order of every
//! floating-point operation, so a seed gives the same weights bit for bit on every run.
//!
//! Recipe: He-uniform initialisation from a SplitMix64 stream, zero biases, softmax
//! cross-entropy, mini-batch SGD (batch 32) with momentum 0.9, learning rate 0.1 times 0.7
//! after each epoch, the training set shuffled by the same stream each epoch.

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

/// A trained MLP.
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp {
    pub layers: Vec<Dense>,
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

/// SplitMix64: a small, well-known generator whose output is fixed by its seed on every platform.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `[0, 1)`.
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

impl Mlp {
    /// He-uniform initial weights for `widths` (input, hidden..., output).
    pub fn init(widths: &[usize], rng: &mut SplitMix64) -> Mlp {
        let n = widths.len().saturating_sub(1);
        let layers = (0..n)
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
            .collect();
        Mlp { layers }
    }

    /// Activations of every layer for one input (`acts[0]` = input, last = logits).
    pub fn forward_all(&self, x: &[f32]) -> Vec<Vec<f32>> {
        forward_dense(&self.layers, x)
    }
    /// Logits for one input.
    pub fn forward(&self, x: &[f32]) -> Vec<f32> {
        self.forward_all(x).pop().unwrap_or_default()
    }

    /// Parameters (weights + biases).
    pub fn params(&self) -> u64 {
        self.layers
            .iter()
            .map(|l| (l.weights.len() + l.bias.len()) as u64)
            .sum()
    }

    /// SHA-256 of all weights and biases (little-endian f32, layer by layer).
    pub fn weights_hash(&self) -> String {
        let mut bytes = Vec::new();
        for l in &self.layers {
            for v in l.weights.iter().chain(&l.bias) {
                bytes.extend(v.to_le_bytes());
            }
        }
        crate::data::sha256_hex(&bytes)
    }
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

/// Trains an MLP of `widths` on inputs `xs` with labels `ys`.
pub fn train_mlp(widths: &[usize], xs: &[Vec<f32>], ys: &[u8], cfg: &TrainConfig) -> Mlp {
    let mut rng = SplitMix64::new(cfg.seed);
    let mut mlp = Mlp::init(widths, &mut rng);
    sgd(
        &mut mlp.layers,
        &mut Vec::new(),
        xs,
        ys,
        cfg,
        &mut rng,
        &|dense, _convs, x, label, g| {
            let acts = forward_dense(dense, x);
            let delta = softmax_delta(&acts[acts.len() - 1], label);
            backprop_dense(dense, &acts, delta, g, false);
        },
    );
    mlp
}

/// Gradients of one example: `(weights, bias)` per parameter layer, convolutions first.
pub(crate) type Grads = Vec<(Vec<f32>, Vec<f32>)>;

/// Per-example gradient function: (dense layers, conv layers, input, label, grads to add to).
pub(crate) type GradFn<'a> =
    dyn Fn(&[Dense], &[super::cnn::Conv], &[f32], usize, &mut [(Vec<f32>, Vec<f32>)]) + 'a;

/// Mini-batch SGD with momentum over conv layers then dense layers; `grad` adds one
/// example's gradient. Shuffles with `rng` each epoch.
pub(crate) fn sgd(
    dense: &mut [Dense],
    convs: &mut [super::cnn::Conv],
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A separable toy problem: class = which quarter of the input holds the bright pixel.
    fn toy(n: usize, seed: u64) -> (Vec<Vec<f32>>, Vec<u8>) {
        let mut rng = SplitMix64::new(seed);
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for _ in 0..n {
            let class = rng.below(4);
            let mut x: Vec<f32> = (0..16).map(|_| rng.next_f32() * 0.2).collect();
            x[class * 4 + rng.below(4)] = 1.0;
            xs.push(x);
            ys.push(class as u8);
        }
        (xs, ys)
    }

    #[test]
    fn same_seed_same_weights_other_seed_other_weights() {
        let (xs, ys) = toy(400, 7);
        let cfg = TrainConfig {
            epochs: 3,
            ..TrainConfig::default()
        };
        let a = train_mlp(&[16, 8, 4], &xs, &ys, &cfg);
        let b = train_mlp(&[16, 8, 4], &xs, &ys, &cfg);
        assert_eq!(a.weights_hash(), b.weights_hash());
        let c = train_mlp(&[16, 8, 4], &xs, &ys, &TrainConfig { seed: 2, ..cfg });
        assert_ne!(a.weights_hash(), c.weights_hash());
    }

    #[test]
    fn learns_a_separable_problem() {
        let (xs, ys) = toy(800, 1);
        let m = train_mlp(&[16, 12, 4], &xs, &ys, &TrainConfig::default());
        let (tx, ty) = toy(200, 99);
        let right = tx
            .iter()
            .zip(&ty)
            .filter(|(x, y)| argmax(&m.forward(x)) == **y as usize)
            .count();
        assert!(right >= 190, "{right}/200");
        assert_eq!(m.params(), 16 * 12 + 12 + 12 * 4 + 4);
    }
}
