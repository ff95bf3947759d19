//! A minimal ONNX reader and writer for dense + ReLU networks (no ONNX runtime needed).

mod conv;
mod read;
mod write;

pub use conv::{ConvLayer, Pool, PoolKind};
pub use read::{argmax, forward, input_shape, op_types, read_mlp, DenseLayer, Mlp, OnnxError};
pub use write::{write_mlp, write_with_op};

#[cfg(test)]
mod tests;

/// Test models shared with the transpilers' tests.
#[cfg(test)]
pub(crate) mod tests_support {
    pub(crate) use super::tests::cnn_onnx;
}
