//! Reading EZKL's logs: its own prove time, start-up, unsupported ops.

/// What `info.skipped_steps` says when compile and setup came from the cache.
pub(crate) fn skipped_note(hit_at_start: bool) -> String {
    if hit_at_start {
        "compile, setup: cached artifacts reused in every repetition".into()
    } else {
        "compile, setup: built in the first repetition, cached artifacts reused after".into()
    }
}

/// The line of an EZKL compile log that says an op is not supported, if any
/// (`Unknown op: X`, tract's `Unimplemented(X)`, `unsupported operation`).
pub fn unsupported_line(log: &str) -> Option<String> {
    let pats = ["unknown op", "unimplemented(", "unsupported"];
    pats.iter()
        .find_map(|pat| log.lines().find(|l| l.to_lowercase().contains(pat)))
        .map(|l| l.trim().to_string())
}

/// EZKL's own prove time from its log: the last `proof took <seconds>`.
pub fn proof_took(log: &str) -> Option<f64> {
    logged_seconds(log, "proof took ")
}

/// The duration after the last `marker` in a log, in seconds (`1.5`, `1.5s`, `280.8ms`, `12µs`).
pub fn logged_seconds(log: &str, marker: &str) -> Option<f64> {
    log.lines().rev().find_map(|l| {
        let word = l[l.find(marker)? + marker.len()..]
            .split_whitespace()
            .next()?;
        let split = word
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(word.len());
        let v: f64 = word[..split].parse().ok()?;
        match &word[split..] {
            "" | "s" => Some(v),
            "ms" => Some(v / 1e3),
            "µs" | "us" => Some(v / 1e6),
            "ns" => Some(v / 1e9),
            _ => None,
        }
    })
}

/// Whether our wall time of the prove process agrees with the prover's own time: the
/// difference is at most 5% of the prover's time plus the process start-up (interpreter,
/// imports, key load), all in seconds.
pub fn agrees(wall_s: f64, reported_s: f64, startup_s: f64) -> bool {
    (wall_s - reported_s).abs() <= 0.05 * reported_s + startup_s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proof_took() {
        let log = "INFO ezkl.pfsys proof started...\nINFO ezkl.pfsys proof took 37.533\n";
        assert_eq!(proof_took(log), Some(37.533));
        assert_eq!(proof_took("nothing"), None);
        assert_eq!(
            logged_seconds(
                "INFO ezkl.pfsys loaded proving key in 1.509442476s",
                "loaded proving key in "
            ),
            Some(1.509442476)
        );
        assert_eq!(
            logged_seconds("loaded proving key in 280.5ms", "loaded proving key in "),
            Some(0.2805)
        );
        assert!(agrees(10.9, 10.0, 0.5));
        assert!(!agrees(11.1, 10.0, 0.5));
        assert!(!agrees(8.0, 10.0, 1.0));
    }

    #[test]
    fn finds_unsupported_ops() {
        let log = "Traceback ...\nRuntimeError: Failed to generate settings: [graph] [tract] Translating node #1 \"n0\" Unimplemented(Det) ToTypedTranslator\n";
        assert!(unsupported_line(log)
            .unwrap()
            .contains("Unimplemented(Det)"));
        let log = "Unknown op: onnx.IsNan\nunsupported operation in graph\n";
        assert_eq!(unsupported_line(log).unwrap(), "Unknown op: onnx.IsNan");
        assert_eq!(unsupported_line("exit 1: out of memory"), None);
    }
}
