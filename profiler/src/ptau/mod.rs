//! Powers of tau for BN254 Groth16 in snarkjs's `.ptau` format, made natively.
//!
//! [`generate`] writes a phase-2-prepared file (sections 1-7 and the Lagrange sections
//! 12-15, as `snarkjs powersoftau prepare phase2` writes them) from secrets drawn from the
//! operating system's random number generator. One process knew the secrets, so the file
//! is insecure: fine for benchmarks, never for production. Its single contribution is named
//! [`INSECURE_NAME`], and every label zkprof derives from it says "insecure".
//!
//! [`pick`] chooses the file a circom cell uses: a supplied one, a cached one, the public
//! Hermez file (blake2b-checked), or a native one made here.

pub mod format;
pub mod generate;
pub mod pick;

pub use generate::{generate, Secrets};

/// The largest power generated natively: snarkjs's Lagrange sections go up to 2^(power+1)
/// points, which must fit BN254's 2-adic subgroup (2^28).
pub const MAX_POWER: u32 = 27;

/// The name of the single contribution in a generated file (at most 64 bytes, snarkjs's limit).
pub const INSECURE_NAME: &str = "zkprof native ptau, INSECURE: one process knew tau";

/// What can go wrong making or choosing a powers-of-tau file.
#[derive(Debug, thiserror::Error)]
pub enum PtauError {
    /// The power asked for cannot be generated.
    #[error("power {0} is out of range: use 1 to {MAX_POWER}")]
    Power(u32),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
    /// A file is not what it should be.
    #[error("{0}")]
    Invalid(String),
}

impl PtauError {
    /// An I/O error on `path`.
    pub fn io(path: &std::path::Path, source: std::io::Error) -> PtauError {
        PtauError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
