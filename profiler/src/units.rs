//! Units as types, and the one place that formats them for people.
//!
//! Every quantity that zkprof records carries its unit in its type (and, in the
//! results file, in its field name: `_s`, `_bytes`, `_j`, `_w`). Serialized values are
//! the bare numbers, so the JSON stays easy to read from other tools.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A count of bytes.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Bytes(pub u64);

impl Bytes {
    /// One mebibyte (2^20 bytes).
    pub const MIB: u64 = 1 << 20;

    /// The value in mebibytes.
    pub fn as_mib(self) -> f64 {
        self.0 as f64 / Self::MIB as f64
    }
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_bytes(self.0 as f64))
    }
}

/// A duration in seconds (f64, monotonic clock unless stated otherwise).
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Seconds(pub f64);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_seconds(self.0))
    }
}

/// Energy in joules.
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Joules(pub f64);

impl fmt::Display for Joules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.abs() >= 1000.0 {
            write!(f, "{:.2} kJ", self.0 / 1000.0)
        } else {
            write!(f, "{:.2} J", self.0)
        }
    }
}

/// Power in watts.
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Watts(pub f64);

impl fmt::Display for Watts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.1} W", self.0)
    }
}

/// Formats a byte count with binary prefixes: `512 B`, `1.5 KiB`, `340.2 MiB`, `1.25 GiB`.
pub fn format_bytes(bytes: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value.abs() >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Formats seconds with a unit chosen for the magnitude: `812 µs`, `12.3 ms`, `5.021 s`, `2m 03.4s`.
pub fn format_seconds(seconds: f64) -> String {
    let abs = seconds.abs();
    if abs < 1e-3 {
        format!("{:.0} µs", seconds * 1e6)
    } else if abs < 1.0 {
        format!("{:.1} ms", seconds * 1e3)
    } else if abs < 120.0 {
        format!("{seconds:.3} s")
    } else {
        let minutes = (seconds / 60.0).floor();
        format!("{minutes:.0}m {:04.1}s", seconds - minutes * 60.0)
    }
}

/// Parses a human byte size: `512`, `64K`, `100M`, `100MiB`, `2G`, `1.5GB` (binary multiples).
pub fn parse_bytes(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, suffix) = t.split_at(split);
    let value: f64 = number.parse().ok()?;
    let multiplier: f64 = match suffix.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    Some((value * multiplier).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_format_with_binary_prefixes() {
        assert_eq!(format_bytes(512.0), "512 B");
        assert_eq!(format_bytes(1536.0), "1.5 KiB");
        assert_eq!(format_bytes(300.0 * 1024.0 * 1024.0), "300.0 MiB");
    }

    #[test]
    fn seconds_pick_a_unit() {
        assert_eq!(format_seconds(0.0005), "500 µs");
        assert_eq!(format_seconds(0.0123), "12.3 ms");
        assert_eq!(format_seconds(5.0214), "5.021 s");
        assert_eq!(format_seconds(123.4), "2m 03.4s");
    }

    #[test]
    fn byte_sizes_parse() {
        assert_eq!(parse_bytes("64M"), Some(64 << 20));
        assert_eq!(parse_bytes("1.5GiB"), Some(3 << 29));
        assert_eq!(parse_bytes("100"), Some(100));
        assert_eq!(parse_bytes("ten"), None);
        assert_eq!(parse_bytes("5 parsecs"), None);
    }
}
