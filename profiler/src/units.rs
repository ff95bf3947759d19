//! The one place that formats quantities for people (and parses the sizes they type).
//!
//! Quantities are plain numbers whose unit is in their name: in the results schema the
//! field name ends in `_s` (seconds), `_bytes` (bytes), `_j` (joules) or `_w` (watts), and
//! the doc comment of every field and function says its unit. The JSON holds the bare
//! numbers, so other tools read it without knowing zkprof's types.

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

/// A metric's name with its unit, and its value formatted in that unit, from the naming
/// convention of results files (`_s` seconds, `_bytes` bytes, `_j` joules, `_w` watts,
/// `_pct` percent, `_per_kj` per kilojoule): `prove.energy_j` -> `prove.energy (J)`.
/// Other names are counts or ratios, shown as they are.
pub fn metric_with_unit(key: &str, value: f64) -> (String, String) {
    let num = |v: f64| {
        let s = format!("{v:.4}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    const UNITS: [(&str, &str); 6] = [
        ("_bytes", "bytes"),
        ("_per_kj", "per kJ"),
        ("_pct", "%"),
        ("_s", "s"),
        ("_j", "J"),
        ("_w", "W"),
    ];
    for (suffix, unit) in UNITS {
        if let Some(name) = key.strip_suffix(suffix).filter(|n| !n.is_empty()) {
            let text = match suffix {
                "_bytes" => format_bytes(value),
                "_s" => format_seconds(value),
                _ => format!("{} {unit}", num(value)),
            };
            return (format!("{name} ({unit})"), text);
        }
    }
    (key.to_string(), num(value))
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

    #[test]
    fn metric_names_carry_their_units() {
        assert_eq!(
            metric_with_unit("prove.energy_j", 2.5),
            ("prove.energy (J)".to_string(), "2.5 J".to_string())
        );
        assert_eq!(metric_with_unit("provision_s", 1.5).0, "provision (s)");
        assert_eq!(metric_with_unit("witness_bytes", 2048.0).1, "2.0 KiB");
        assert_eq!(
            metric_with_unit("cairo_steps", 12.0),
            ("cairo_steps".into(), "12".into())
        );
        assert_eq!(metric_with_unit("_s", 1.0).0, "_s");
    }
}
