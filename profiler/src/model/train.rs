//! Deterministic training of dense MLPs: plain code, single-threaded, fixed order of every
//! floating-point operation, so a seed gives the same weights bit for bit on every run.
//!
//! Recipe: He-uniform initialisation from a SplitMix64 stream, zero biases, softmax
//! cross-entropy, mini-batch SGD (batch 32) with momentum 0.9, learning rate 0.1 times 0.7
//! after each epoch, the training set shuffled by the same stream each epoch.
pub use super::layers::{argmax, forward_dense, Dense, TrainConfig};
use super::layers::{backprop_dense, init_dense, sgd, softmax_delta};
pub use crate::data::rng::SplitMix64;

/// A trained MLP.
#[derive(Clone, Debug, PartialEq)]
pub struct Mlp {
    pub layers: Vec<Dense>,
}

impl Mlp {
    /// He-uniform initial weights for `widths` (input, hidden..., output).
    pub fn init(widths: &[usize], rng: &mut SplitMix64) -> Mlp {
        Mlp {
            layers: init_dense(widths, rng),
        }
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
