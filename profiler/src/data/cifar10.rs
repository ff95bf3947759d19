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

/// Loads batch files (in the given order) into one set of 32x32x3 images.
pub fn load_batches(paths: &[PathBuf]) -> Result<Images, DataError> {
    let mut images = Images {
        rows: SIDE,
        cols: SIDE,
        channels: 3,
        pixels: Vec::new(),
        labels: Vec::new(),
    };
    for p in paths {
        let bytes = std::fs::read(p).map_err(|e| DataError::io(p, e))?;
        parse_batch(p, &bytes, &mut images)?;
    }
    Ok(images)
}

/// Loads the training batches (all five) or the test batch from a directory. The official
/// archive unpacks into `cifar-10-batches-bin/`; both that and the directory itself are tried.
pub fn load_split(dir: &Path, train: bool) -> Result<Images, DataError> {
    let base = if dir.join("cifar-10-batches-bin").is_dir() {
        dir.join("cifar-10-batches-bin")
    } else {
        dir.to_path_buf()
    };
    let names: Vec<&str> = if train {
        TRAIN_FILES.to_vec()
    } else {
        vec![TEST_FILE]
    };
    let paths: Vec<PathBuf> = names.iter().map(|n| base.join(n)).collect();
    if let Some(missing) = paths.iter().find(|p| !p.is_file()) {
        return Err(DataError::Missing(format!(
            "{} is missing; run `zkprof data fetch cifar10` (or `--from DIR` with the binary batches)",
            missing.display()
        )));
    }
    load_batches(&paths)
}

/// The first searched directory with CIFAR-10 (see `data::search_dirs`).
pub fn find_dir() -> Result<PathBuf, DataError> {
    let dirs = super::search_dirs("cifar10");
    for d in &dirs {
        if d.join(TEST_FILE).is_file() || d.join("cifar-10-batches-bin").join(TEST_FILE).is_file() {
            return Ok(d.clone());
        }
    }
    Err(DataError::Missing(format!(
        "no CIFAR-10 binary batches in {}; run `zkprof data fetch cifar10`",
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
        let test = load_split(dir.path(), false).unwrap();
        assert_eq!(
            (test.len(), test.rows, test.cols, test.channels),
            (12, 32, 32, 3)
        );
        assert_eq!(test.labels[11], 1);
        let img = test.image(5);
        assert_eq!((img[0], img[1024], img[2048 + 33]), (5, 10, 33));
        let train = load_split(dir.path(), true).unwrap();
        assert_eq!(train.len(), 3 + 4 + 5 + 6 + 7);
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
            e.contains("data_batch_1.bin is missing") && e.contains("data fetch cifar10"),
            "{e}"
        );
    }
}
