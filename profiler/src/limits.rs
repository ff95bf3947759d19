//! Ranges for the numbers and names users give (suite fields and flags), checked when they
//! are parsed so that no later arithmetic can overflow, panic or loop.

use std::time::Duration;

/// The longest timeout, seconds: 30 days.
pub const MAX_TIMEOUT_S: f64 = 30.0 * 86_400.0;
/// The smallest memory limit, bytes (1 MiB): below it no prover starts.
pub const MIN_MEMORY_LIMIT: u64 = 1 << 20;
/// The largest memory limit, bytes (1 PiB).
pub const MAX_MEMORY_LIMIT: u64 = 1 << 50;
/// The most repetitions, warmups or runs.
pub const MAX_REPETITIONS: u32 = 10_000;
/// Most test inputs an accuracy evaluation may be asked for (`--accuracy-samples`).
pub const MAX_ACCURACY_SAMPLES: u64 = 1_000_000;
/// The longest free text (a description), in characters.
pub const MAX_TEXT_CHARS: usize = 4096;
/// The longest name (model, framework, suite, setting key or value), in characters.
pub const MAX_NAME_CHARS: usize = 128;
/// The longest cell directory name, bytes (file systems allow 255 per path component;
/// the rest is headroom).
pub const MAX_CELL_DIR_BYTES: usize = 200;
/// The largest suite file, bytes.
pub const MAX_SUITE_BYTES: u64 = 16 << 20;
/// The largest results file, bytes (512 MiB; 10,000 cells with series are ~100 MiB).
pub const MAX_RESULTS_BYTES: u64 = 512 << 20;
/// The largest ONNX model, bytes (2 GiB, protobuf's own limit on a message).
pub const MAX_ONNX_BYTES: u64 = 2 << 30;

/// A timeout in seconds: finite, positive, at most [`MAX_TIMEOUT_S`].
pub fn timeout_s(v: f64) -> Result<Duration, String> {
    if !(v.is_finite() && v > 0.0) {
        return Err(format!(
            "{} is not a positive number of seconds; give e.g. 600",
            short_number(v)
        ));
    }
    if v > MAX_TIMEOUT_S {
        return Err(format!(
            "{} seconds is out of range; give 1 to {MAX_TIMEOUT_S} s (30 days)",
            short_number(v)
        ));
    }
    Ok(Duration::from_secs_f64(v))
}

/// A number as a person reads it: `600`, `0.5`, or `1e300` rather than 301 digits.
pub fn short_number(v: f64) -> String {
    if v.is_finite() && v != 0.0 && !(1e-6..1e12).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// A memory limit such as `512M`: a size between [`MIN_MEMORY_LIMIT`] and
/// [`MAX_MEMORY_LIMIT`] bytes.
pub fn memory_limit(text: &str) -> Result<u64, String> {
    let Some(bytes) = crate::units::parse_bytes(text) else {
        return Err(format!(
            "`{text}` is not a size; use e.g. \"512M\" or \"8G\""
        ));
    };
    if !(MIN_MEMORY_LIMIT..=MAX_MEMORY_LIMIT).contains(&bytes) {
        return Err(format!(
            "`{text}` is out of range; give a size from 1M to 1024T (e.g. \"512M\" or \"8G\")"
        ));
    }
    Ok(bytes)
}

/// A count (`repetitions`, `--runs`, ...) between `min` and [`MAX_REPETITIONS`].
pub fn count(what: &str, v: u32, min: u32) -> Result<u32, String> {
    if v < min {
        return Err(format!("{what} must be at least {min}"));
    }
    if v > MAX_REPETITIONS {
        return Err(format!(
            "{what} = {v} is out of range; at most {MAX_REPETITIONS}"
        ));
    }
    Ok(v)
}

/// A name shown in tables and used in paths: not empty, no control characters, at most
/// [`MAX_NAME_CHARS`] characters.
pub fn name(what: &str, v: &str) -> Result<(), String> {
    if let Some(c) = v.chars().find(|c| c.is_control()) {
        return Err(format!(
            "{what} `{}` contains the control character {}; use printable characters",
            crate::terminal::escape(v),
            c.escape_unicode()
        ));
    }
    let n = v.chars().count();
    if n > MAX_NAME_CHARS {
        return Err(format!(
            "{what} is {n} characters long; at most {MAX_NAME_CHARS}"
        ));
    }
    Ok(())
}

/// A free text such as a description: at most [`MAX_TEXT_CHARS`] characters.
pub fn text(what: &str, v: &str) -> Result<(), String> {
    let n = v.chars().count();
    if n > MAX_TEXT_CHARS {
        return Err(format!(
            "{what} is {n} characters long; at most {MAX_TEXT_CHARS}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert!(timeout_s(1e20).is_err());
        assert!(timeout_s(f64::MAX).is_err());
        assert!(timeout_s(0.0).is_err());
        assert!(timeout_s(-1.0).is_err());
        assert!(timeout_s(f64::NAN).is_err());
        assert_eq!(timeout_s(2.5).unwrap(), Duration::from_millis(2500));
        assert!(memory_limit("0").is_err());
        assert!(memory_limit("0G").is_err());
        assert!(memory_limit("1e30T").is_err());
        assert!(memory_limit("99999999999999999999T").is_err());
        assert_eq!(memory_limit("2M").unwrap(), 2 << 20);
        assert!(count("repetitions", 0, 1).is_err());
        assert!(count("repetitions", u32::MAX, 1).is_err());
        assert!(count("warmup", 0, 0).is_ok());
        assert!(name("model", "a\u{1b}[31mred").is_err());
        assert!(name("model", "a\0b").is_err());
        assert!(name("model", &"x".repeat(10_000)).is_err());
        assert!(name("model", "mnist-196/16").is_ok());
        assert!(text("suite.description", &"d".repeat(5000)).is_err());
        assert!(text("suite.description", "a tiny MLP").is_ok());
    }

    #[test]
    fn absurd_numbers_are_said_shortly() {
        let e = timeout_s(1e300).unwrap_err();
        assert!(
            e.starts_with("1e300 seconds is out of range; give 1 to"),
            "{e}"
        );
        assert!(e.len() < 100, "{e}");
        let e = timeout_s(18446744073709551616.0).unwrap_err();
        assert!(e.starts_with("1.8446744073709552e19 seconds"), "{e}");
        assert_eq!(short_number(600.0), "600");
        assert_eq!(short_number(0.5), "0.5");
    }
}
