//! A minimal ONNX reader and writer for dense + ReLU networks (no ONNX runtime needed).

mod read;
mod write;

pub use read::{argmax, forward, input_shape, op_types, read_mlp, DenseLayer, Mlp, OnnxError};
pub use write::{write_mlp, write_with_op};

#[cfg(test)]
mod tests;
