//! CIFAR-10 binary batches (www.cs.toronto.edu/~kriz/cifar.html, "binary version").
//!
//! Each batch file (`data_batch_1.bin` .. `data_batch_5.bin`, `test_batch.bin`) is a run of
//! 3073-byte records: 1 label byte (0..=9), then 1024 red, 1024 green and 1024 blue bytes of
//! a 32x32 image, row-major. An official batch holds 10,000 records (30,730,000 bytes).

use super::{DataError, Images};
use std::path::{Path, PathBuf};

/// Image side, pixels.
pub const SIDE: usize = 32;
/// Bytes of one record: label + 3 planes of 32x32.
pub const RECORD: usize = 1 + 3 * SIDE * SIDE;
/// Records in an official batch file.
pub const BATCH_RECORDS: usize = 10_000;
/// The training batch file names.
pub const TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
/// The test batch file name.
pub const TEST_FILE: &str = "test_batch.bin";

/// Parses the bytes of one batch file; `path` names it in errors.
pub fn parse_batch(path: &Path, bytes: &[u8], into: &mut Images) -> Result<(), DataError> {
    if bytes.is_empty() {
        return Err(DataError::format(path, "empty file: not a CIFAR-10 batch"));
    }
    if !bytes.len().is_multiple_of(RECORD) {
        let whole = bytes.len() / RECORD;
        return Err(DataError::format(
            path,
            format!(
                "{} bytes is not a whole number of {RECORD}-byte records: record {} is truncated ({} of {RECORD} bytes); the file is incomplete, fetch it again",
                bytes.len(),
                whole + 1,
                bytes.len() - whole * RECORD
            ),
        ));
    }
    for (i, rec) in bytes.chunks_exact(RECORD).enumerate() {
        if rec[0] > 9 {
            return Err(DataError::format(
                path,
                format!(
                    "record {} has label {} (byte offset {}); CIFAR-10 labels are 0..=9",
                    i + 1,
                    rec[0],
                    i * RECORD
                ),
            ));
        }
        into.labels.push(rec[0]);
        into.pixels.extend_from_slice(&rec[1..]);
    }
    Ok(())
}

/// Loads batch files (in the given order, each plain or gzipped) into one set of 32x32x3
/// images.
pub fn load_batches(paths: &[PathBuf]) -> Result<Images, DataError> {
    let mut images = Images {
        rows: SIDE,
        cols: SIDE,
        channels: 3,
        pixels: Vec::new(),
        labels: Vec::new(),
    };
    for p in paths {
        let bytes = super::read_maybe_gz(p)?;
        parse_batch(p, &bytes, &mut images)?;
    }
    Ok(images)
}

/// The test file of a directory: the official `test_batch.bin`, or its first `n` records as
/// `test_batch_first<n>.bin` (a partial copy; the count is checked on load).
#[derive(Clone, Debug, PartialEq)]
pub struct TestFile {
    pub path: PathBuf,
    /// `Some(n)` for a partial copy holding test images `0..n`.
    pub first: Option<usize>,
}

/// The CIFAR-10 batch files present in a directory (plain or `.gz`): any of the five
/// training batches and the test batch, whole or its first images. The official archive
/// unpacks into `cifar-10-batches-bin/`; both that and the directory itself are tried.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Layout {
    /// `(batch number 1..=5, path)`, in batch order.
    pub train: Vec<(u8, PathBuf)>,
    pub test: Option<TestFile>,
}

impl Layout {
    /// Reads which batch files `dir` holds (nothing is parsed).
    pub fn of(dir: &Path) -> Layout {
        let base = if dir.join("cifar-10-batches-bin").is_dir() {
            dir.join("cifar-10-batches-bin")
        } else {
            dir.to_path_buf()
        };
        let find = |name: &str| {
            [base.join(name), base.join(format!("{name}.gz"))]
                .into_iter()
                .find(|p| p.is_file())
        };
        let train = (1u8..=5)
            .filter_map(|b| find(TRAIN_FILES[usize::from(b) - 1]).map(|p| (b, p)))
            .collect();
        let test = find(TEST_FILE)
            .map(|path| TestFile { path, first: None })
            .or_else(|| partial_test_file(&base));
        Layout { train, test }
    }

    /// `CIFAR-10 training batches 1-2` (or `1, 3, 5`): which images trained a model.
    pub fn train_description(&self) -> String {
        let nums: Vec<u8> = self.train.iter().map(|(b, _)| *b).collect();
        let contiguous = nums.windows(2).all(|w| w[1] == w[0] + 1);
        let list = match (nums.first(), nums.last()) {
            (Some(a), Some(b)) if contiguous && a != b => format!("batches {a}-{b}"),
            (Some(a), _) if nums.len() == 1 => format!("batch {a}"),
            _ => format!(
                "batches {}",
                nums.iter()
                    .map(u8::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        format!("CIFAR-10 training {list}")
    }

    /// A short key of the training batches (`b12`), for cache keys.
    pub fn train_key(&self) -> String {
        let nums: String = self.train.iter().map(|(b, _)| b.to_string()).collect();
        format!("b{nums}")
    }
}

/// `test_batch_first<n>.bin[.gz]` in `base`, when there is exactly such a file.
fn partial_test_file(base: &Path) -> Option<TestFile> {
    let entries = std::fs::read_dir(base).ok()?;
    let mut found: Vec<TestFile> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".gz").unwrap_or(&name);
            let n = stem
                .strip_prefix("test_batch_first")?
                .strip_suffix(".bin")?
                .parse::<usize>()
                .ok()?;
            (n > 0 && n <= BATCH_RECORDS).then(|| TestFile {
                path: e.path(),
                first: Some(n),
            })
        })
        .collect();
    // The largest partial copy wins when several are present.
    found.sort_by_key(|t| std::cmp::Reverse(t.first));
    found.into_iter().next()
}

/// `12345` as `12,345`.
fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `CIFAR-10 test images 0-999` for `n` images of the test batch.
pub fn test_description(n: usize) -> String {
    match n {
        0 => "CIFAR-10 test set (empty)".into(),
        BATCH_RECORDS => "CIFAR-10 test images 0-9,999 (the whole test batch)".into(),
        n => format!("CIFAR-10 test images 0-{}", group_digits(n as u64 - 1)),
    }
}

/// Loads the training batches present in `dir` (at least one) or its test file, with a
/// description of exactly which images they are.
pub fn load_split(dir: &Path, train: bool) -> Result<(Images, String), DataError> {
    let layout = Layout::of(dir);
    if train {
        if layout.train.is_empty() {
            return Err(DataError::Missing(format!(
                "{}: no CIFAR-10 training batch (data_batch_1.bin .. data_batch_5.bin, plain or .gz); run `zkprof data fetch cifar10` (or `--from DIR` with the binary batches)",
                dir.display()
            )));
        }
        let paths: Vec<PathBuf> = layout.train.iter().map(|(_, p)| p.clone()).collect();
        let images = load_batches(&paths)?;
        let desc = format!(
            "{} ({} images)",
            layout.train_description(),
            group_digits(images.len() as u64)
        );
        return Ok((images, desc));
    }
    let Some(test) = layout.test else {
        return Err(DataError::Missing(format!(
            "{}: no CIFAR-10 test batch (test_batch.bin, or test_batch_first<N>.bin, plain or .gz); run `zkprof data fetch cifar10` (or `--from DIR` with the binary batches)",
            dir.display()
        )));
    };
    let images = load_batches(std::slice::from_ref(&test.path))?;
    if let Some(expected) = test.first.filter(|&n| n != images.len()) {
        return Err(DataError::format(
            &test.path,
            format!(
                "{} records, but the file's name promises {expected}: the file is incomplete, fetch it again",
                images.len()
            ),
        ));
    }
    let desc = test_description(images.len());
    Ok((images, desc))
}

/// The first searched directory with CIFAR-10 test images (see `data::search_dirs`).
pub fn find_dir() -> Result<PathBuf, DataError> {
    find_dir_in(&super::search_dirs("cifar10"))
}

/// The first of `dirs` with CIFAR-10 test images.
fn find_dir_in(dirs: &[PathBuf]) -> Result<PathBuf, DataError> {
    for d in dirs {
        if Layout::of(d).test.is_some() {
            return Ok(d.clone());
        }
    }
    Err(DataError::Missing(format!(
        "no CIFAR-10 binary batches in {}; run `zkprof data fetch cifar10` (or `--from DIR` with the batch files)",
        dirs.iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Writes a batch file of `n` records in the real format: label `i % 10`, the red plane
    /// all `i`, green all `2i`, blue a gradient, so that plane order is checkable.
    pub(crate) fn write_fixture(path: &Path, n: usize) {
        let mut v = Vec::with_capacity(n * RECORD);
        for i in 0..n {
            v.push((i % 10) as u8);
            v.extend(std::iter::repeat_n(i as u8, 1024));
            v.extend(std::iter::repeat_n((2 * i) as u8, 1024));
            v.extend((0..1024).map(|p| (p % 256) as u8));
        }
        std::fs::write(path, v).unwrap();
    }

    #[test]
    fn loads_real_format_fixtures() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("cifar-10-batches-bin");
        std::fs::create_dir(&base).unwrap();
        for (k, f) in TRAIN_FILES.iter().enumerate() {
            write_fixture(&base.join(f), 3 + k);
        }
        write_fixture(&base.join(TEST_FILE), 12);
        let (test, desc) = load_split(dir.path(), false).unwrap();
        assert_eq!(desc, "CIFAR-10 test images 0-11");
        assert_eq!(
            (test.len(), test.rows, test.cols, test.channels),
            (12, 32, 32, 3)
        );
        assert_eq!(test.labels[11], 1);
        let img = test.image(5);
        assert_eq!((img[0], img[1024], img[2048 + 33]), (5, 10, 33));
        let (train, desc) = load_split(dir.path(), true).unwrap();
        assert_eq!(train.len(), 3 + 4 + 5 + 6 + 7);
        assert_eq!(desc, "CIFAR-10 training batches 1-5 (25 images)");
    }

    #[test]
    fn truncated_record_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(TEST_FILE);
        write_fixture(&p, 4);
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..3 * RECORD + 100]).unwrap();
        let e = load_split(dir.path(), false).unwrap_err().to_string();
        assert!(
            e.contains("test_batch.bin") && e.contains("record 4 is truncated (100 of 3073 bytes)"),
            "{e}"
        );
    }

    #[test]
    fn bad_label_and_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(TEST_FILE);
        let mut rec = vec![0u8; RECORD * 2];
        rec[RECORD] = 42;
        std::fs::write(&p, rec).unwrap();
        let e = load_split(dir.path(), false).unwrap_err().to_string();
        assert!(e.contains("record 2 has label 42"), "{e}");
        let e = load_split(dir.path(), true).unwrap_err().to_string();
        assert!(
            e.contains("no CIFAR-10 training batch") && e.contains("data fetch cifar10"),
            "{e}"
        );
    }

    /// The partial set as `shared/` holds it: gzipped training batches 1 and 3 only, and the
    /// first images of the test batch under their own name.
    #[test]
    fn partial_gzipped_set_is_described_exactly() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let gz = |name: &str, n: usize| {
            let raw = dir.path().join("raw");
            write_fixture(&raw, n);
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(&std::fs::read(&raw).unwrap()).unwrap();
            std::fs::write(dir.path().join(name), enc.finish().unwrap()).unwrap();
            std::fs::remove_file(raw).unwrap();
        };
        gz("data_batch_1.bin.gz", 4);
        gz("data_batch_3.bin.gz", 6);
        gz("test_batch_first7.bin.gz", 7);
        let layout = Layout::of(dir.path());
        assert_eq!(layout.train_key(), "b13");
        assert_eq!(layout.test.as_ref().unwrap().first, Some(7));
        let (train, desc) = load_split(dir.path(), true).unwrap();
        assert_eq!(train.len(), 10);
        assert_eq!(desc, "CIFAR-10 training batches 1, 3 (10 images)");
        let (test, desc) = load_split(dir.path(), false).unwrap();
        assert_eq!((test.len(), desc.as_str()), (7, "CIFAR-10 test images 0-6"));
        assert_eq!(
            find_dir_in(&[dir.path().to_path_buf()]).unwrap(),
            dir.path()
        );
        // A partial copy whose name promises more images than it holds is damaged.
        gz("test_batch_first9.bin.gz", 8);
        let e = load_split(dir.path(), false).unwrap_err().to_string();
        assert!(
            e.contains("test_batch_first9.bin.gz") && e.contains("promises 9"),
            "{e}"
        );
    }

    #[test]
    fn descriptions_group_digits() {
        assert_eq!(test_description(1000), "CIFAR-10 test images 0-999");
        assert_eq!(test_description(2500), "CIFAR-10 test images 0-2,499");
        assert_eq!(
            test_description(BATCH_RECORDS),
            "CIFAR-10 test images 0-9,999 (the whole test batch)"
        );
    }

    /// The real partial set in `shared/`, when present: 20,000 training images and the
    /// first 1,000 test images.
    #[test]
    fn shared_partial_set_loads() {
        let Some(shared) = crate::paths::shared_dir() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI needs ../shared/datasets/cifar10"
            );
            return;
        };
        let dir = shared.join("datasets/cifar10");
        let (test, desc) = load_split(&dir, false).unwrap();
        assert_eq!(
            (test.len(), desc.as_str()),
            (1000, "CIFAR-10 test images 0-999")
        );
        let layout = Layout::of(&dir);
        assert_eq!(layout.train_description(), "CIFAR-10 training batches 1-2");
    }
}
