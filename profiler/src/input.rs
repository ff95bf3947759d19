//! Reading the files users give (suites, results files, ONNX models) with a size cap, so
//! that `/dev/zero` or any endless stream is an error naming the file, not a hang that eats
//! memory.

use std::io::Read;
use std::path::Path;

/// Reads at most `max` bytes of `path`; a longer file is an `InvalidData` error whose
/// message says "`what` is larger than ...". A regular file's size is checked before
/// reading; a device or pipe is read until the cap.
pub fn read_capped(path: &Path, max: u64, what: &str) -> std::io::Result<Vec<u8>> {
    let too_big = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{what} is larger than {}; is it the right file?",
                crate::units::format_bytes(max as f64)
            ),
        )
    };
    let f = std::fs::File::open(path)?;
    let meta = f.metadata()?;
    if meta.is_dir() {
        return Err(std::io::Error::other(format!(
            "{} is a directory, not a {what}",
            path.display()
        )));
    }
    if meta.is_file() && meta.len() > max {
        return Err(too_big());
    }
    let mut bytes = Vec::with_capacity(if meta.is_file() {
        meta.len() as usize
    } else {
        0
    });
    f.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(too_big());
    }
    Ok(bytes)
}

/// [`read_capped`], as UTF-8 text.
pub fn read_capped_text(path: &Path, max: u64, what: &str) -> std::io::Result<String> {
    String::from_utf8(read_capped(path, max, what)?).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{what} is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_file_is_an_error_not_a_hang() {
        let t = std::time::Instant::now();
        let err = read_capped(Path::new("/dev/zero"), 1 << 20, "suite").unwrap_err();
        assert!(
            err.to_string().contains("suite is larger than 1.0 MiB"),
            "{err}"
        );
        assert!(t.elapsed().as_secs() < 10);
    }

    #[test]
    fn small_files_are_read_and_big_ones_refused_before_reading() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, "hello").unwrap();
        assert_eq!(read_capped(&p, 5, "x").unwrap(), b"hello");
        assert!(read_capped(&p, 4, "x").is_err());
        std::fs::write(&p, [0xff, 0xfe]).unwrap();
        assert!(read_capped_text(&p, 10, "suite")
            .unwrap_err()
            .to_string()
            .contains("not UTF-8"));
    }
}
