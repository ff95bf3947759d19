//! Reading zkml's output (all of it goes to stdout; a panic goes to stderr).
//!
//! `time_circuit` prints its own timings as Rust `Debug` durations. Two labels mislead:
//! "filling circuit" times writing the pkey to disk (the witness fill runs after that
//! clock was read), and "Proving time" includes the witness fill (a MockProver run) as
//! well as `create_proof`. The model's outputs are printed as `final out[j] x: <int>
//! (<float>)` lines each time the circuit is synthesized; the last block is the proven one.

use crate::measure::phases::parse_duration;

/// What `time_circuit` reported.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TimeCircuit {
    /// "params construction" (loading or generating the KZG params), seconds.
    pub params_s: Option<f64>,
    /// "generating vkey", seconds.
    pub vkey_s: Option<f64>,
    pub vkey_bytes: Option<u64>,
    /// "generating pkey" (includes writing the vkey), seconds.
    pub pkey_s: Option<f64>,
    pub pkey_bytes: Option<u64>,
    /// The "filling circuit" line: in fact the time to write the pkey, seconds.
    pub pkey_write_s: Option<f64>,
    pub public_vals_bytes: Option<u64>,
    /// "Proving time": witness fill + `create_proof`, seconds.
    pub proving_s: f64,
    pub proof_bytes: Option<u64>,
    /// "Verifying time" (in-process verification, includes writing the proof), seconds.
    pub verifying_s: Option<f64>,
    /// The circuit's outputs, fixed point, from the last `final out` block.
    pub outputs: Vec<i64>,
    /// The same outputs as zkml prints them in floating point.
    pub outputs_float: Vec<f64>,
}

impl TimeCircuit {
    /// The predicted class: the index of the largest output (the first on ties).
    pub fn predicted_class(&self) -> Option<usize> {
        let max = self.outputs.iter().max()?;
        self.outputs.iter().position(|v| v == max)
    }
}

/// What `verify_circuit` reported.
#[derive(Clone, Debug, PartialEq)]
pub struct Verified {
    pub verifying_s: Option<f64>,
}

/// Why zkml's output could not be read.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum ParseError {
    /// zkml panicked: its own message.
    #[error("zkml panicked at {location}: {message}")]
    Panic { location: String, message: String },
    /// The output is not what this adapter knows.
    #[error("could not parse zkml output: {0}")]
    Unknown(String),
}

/// zkml's panic message from stderr (`thread 'main' (N) panicked at FILE:L:C:` then the
/// message up to the `note:` line), if it panicked.
pub fn panic_message(stderr: &str) -> Option<ParseError> {
    let mut lines = stderr.lines();
    let head = lines.find(|l| l.contains("panicked at "))?;
    let location = head
        .split_once("panicked at ")
        .map(|(_, rest)| rest.trim_end_matches(':').trim().to_string())
        .unwrap_or_default();
    // Older toolchains print the message on the same line after a comma.
    let (location, inline) = match location.split_once("', ") {
        Some((msg, loc)) => (
            loc.to_string(),
            Some(msg.trim_start_matches('\'').to_string()),
        ),
        None => (location, None),
    };
    let message: Vec<&str> = lines
        .take_while(|l| !l.starts_with("note:") && !l.starts_with("stack backtrace:"))
        .filter(|l| !l.trim().is_empty())
        .collect();
    let message = inline.unwrap_or_else(|| message.join(" "));
    Some(ParseError::Panic { location, message })
}

/// The value after `label` on the first line containing it.
fn after<'a>(text: &'a str, label: &str) -> Option<&'a str> {
    text.lines()
        .find_map(|l| l.find(label).map(|i| l[i + label.len()..].trim()))
}

fn duration(text: &str, label: &str) -> Result<Option<f64>, ParseError> {
    match after(text, label) {
        None => Ok(None),
        Some(v) => parse_duration(v).map(Some).ok_or_else(|| {
            ParseError::Unknown(format!("`{label}` is followed by `{v}`, not a duration"))
        }),
    }
}

fn bytes(text: &str, label: &str) -> Result<Option<u64>, ParseError> {
    match after(text, label) {
        None => Ok(None),
        Some(v) => v
            .strip_suffix("bytes")
            .and_then(|n| n.trim().parse().ok())
            .map(Some)
            .ok_or_else(|| {
                ParseError::Unknown(format!("`{label}` is followed by `{v}`, not a size"))
            }),
    }
}

/// One `final out[j] x: <int> (<float>)` line.
fn final_out(line: &str) -> Option<(usize, i64, f64)> {
    let rest = line.trim().strip_prefix("final out[")?;
    let (j, rest) = rest.split_once(']')?;
    let rest = rest.trim().strip_prefix("x:")?.trim();
    let (x, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let f = rest.trim().trim_start_matches('(').trim_end_matches(')');
    Some((
        j.parse().ok()?,
        x.parse().ok()?,
        f.parse().unwrap_or(f64::NAN),
    ))
}

/// The last block of `final out[0..n]` lines.
pub fn last_outputs(stdout: &str) -> Result<(Vec<i64>, Vec<f64>), ParseError> {
    let mut block: Vec<(i64, f64)> = Vec::new();
    let mut last: Vec<(i64, f64)> = Vec::new();
    for line in stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("final out["))
    {
        let Some((j, x, f)) = final_out(line) else {
            return Err(ParseError::Unknown(format!(
                "unexpected output line `{}`",
                line.trim()
            )));
        };
        if j == 0 {
            block.clear();
        }
        if j != block.len() {
            return Err(ParseError::Unknown(format!(
                "output index {j} out of order in `{}`",
                line.trim()
            )));
        }
        block.push((x, f));
        last.clone_from(&block);
    }
    if last.is_empty() {
        return Err(ParseError::Unknown("no `final out[j]` lines".into()));
    }
    Ok(last.into_iter().unzip())
}

/// Reads `time_circuit`'s stdout and stderr. A panic is reported with zkml's own message.
pub fn time_circuit(stdout: &str, stderr: &str) -> Result<TimeCircuit, ParseError> {
    if let Some(p) = panic_message(stderr) {
        return Err(p);
    }
    let proving_s = duration(stdout, "Proving time:")?.ok_or_else(|| {
        ParseError::Unknown(
            "no `Proving time:` line (zkml stopped before proving finished?)".into(),
        )
    })?;
    let (outputs, outputs_float) = last_outputs(stdout)?;
    Ok(TimeCircuit {
        params_s: duration(stdout, "Time elapsed in params construction:")?,
        vkey_s: duration(stdout, "Time elapsed in generating vkey:")?,
        vkey_bytes: bytes(stdout, "vkey size:")?,
        pkey_s: duration(stdout, "Time elapsed in generating pkey:")?,
        pkey_bytes: bytes(stdout, "pkey size:")?,
        pkey_write_s: duration(stdout, "Time elapsed in filling circuit:")?,
        public_vals_bytes: bytes(stdout, "Public vals size:")?,
        proving_s,
        proof_bytes: bytes(stdout, "Proof size:")?,
        verifying_s: duration(stdout, "Verifying time:")?,
        outputs,
        outputs_float,
    })
}

/// Reads `verify_circuit`'s output: verified only when it printed `Proof verified!`.
pub fn verify_circuit(stdout: &str, stderr: &str) -> Result<Verified, ParseError> {
    if let Some(p) = panic_message(stderr) {
        return Err(p);
    }
    if !stdout.lines().any(|l| l.trim() == "Proof verified!") {
        return Err(ParseError::Unknown(
            "no `Proof verified!` line from verify_circuit".into(),
        ));
    }
    Ok(Verified {
        verifying_s: duration(stdout, "Verifying time:")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_take_the_last_block() {
        let text = "final out[0] x: 0 (0)\nfinal out[1] x: 0 (0)\nfinal out[0] x: 3 (0.5)\nfinal out[1] x: 7 (1.25)\n";
        let (x, f) = last_outputs(text).unwrap();
        assert_eq!(x, [3, 7]);
        assert_eq!(f, [0.5, 1.25]);
    }

    #[test]
    fn malformed_lines_are_errors_not_panics() {
        for bad in [
            "final out[0] x: zero (0)",
            "final out[1] x: 1 (1)",
            "final out[",
            "final out[99999999999999999999] x: 1 (1)",
        ] {
            let e = last_outputs(bad).unwrap_err();
            assert!(
                e.to_string().starts_with("could not parse zkml output"),
                "{e}"
            );
        }
        let e = time_circuit("Proving time: soon\n", "").unwrap_err();
        assert!(e.to_string().contains("not a duration"), "{e}");
        let e = time_circuit("", "").unwrap_err();
        assert!(e.to_string().contains("no `Proving time:` line"), "{e}");
        assert!(time_circuit(
            "Proving time: 1s\npkey size: many bytes\nfinal out[0] x: 1 (1)",
            ""
        )
        .is_err());
    }

    const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/zkml/");

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{FIX}{name}")).unwrap()
    }

    #[test]
    fn warm_and_cold_runs_of_time_circuit() {
        let warm = time_circuit(&fixture("run2_warm.stdout"), "").unwrap();
        assert_eq!(warm.proving_s, 230.374847369);
        assert_eq!(warm.params_s, Some(0.702303851));
        assert_eq!(warm.vkey_s, Some(29.099623437));
        assert_eq!(warm.pkey_s, Some(14.322194105));
        assert_eq!(warm.pkey_write_s, Some(1.328290315));
        assert_eq!(warm.vkey_bytes, Some(148936));
        assert_eq!(warm.pkey_bytes, Some(629294848));
        assert_eq!(warm.public_vals_bytes, Some(320));
        assert_eq!(warm.proof_bytes, Some(9536));
        assert!((warm.verifying_s.unwrap() - 0.013863242).abs() < 1e-12);
        // The last of the four printouts is the proven one; the keygen ones are all zero.
        assert_eq!(warm.outputs, [0, 6, 1, 32, 0, 470, 0, 0, 3, 0]);
        assert_eq!(warm.outputs_float[5], 0.91796875);
        assert_eq!(warm.predicted_class(), Some(5));
        let cold = time_circuit(&fixture("run1_cold.stdout"), "").unwrap();
        assert_eq!(cold.proving_s, 315.070883414);
        assert_eq!(cold.params_s, Some(147.666992479));
        assert_eq!(cold.outputs, warm.outputs);
    }

    #[test]
    fn prove_only_output_has_no_keygen_lines() {
        let p = time_circuit(&fixture("run3_prove_only.stdout"), "").unwrap();
        assert_eq!(p.proving_s, 235.645193252);
        assert_eq!((p.vkey_s, p.pkey_bytes), (None, None));
        assert_eq!(p.predicted_class(), Some(5));
    }

    #[test]
    fn standalone_verifier() {
        let v = verify_circuit(&fixture("run4_verify.stdout"), "").unwrap();
        assert!((v.verifying_s.unwrap() - 0.02511567).abs() < 1e-12);
        let e = verify_circuit("Loaded configuration\n", "").unwrap_err();
        assert!(
            e.to_string().starts_with("could not parse zkml output"),
            "{e}"
        );
    }

    #[test]
    fn panics_give_zkml_s_own_message() {
        let cases = [
            ("err_bad_mode.stderr", "src/bin/time_circuit.rs:13:5", "Must specify kzg or ipa"),
            ("err_no_args.stderr", "src/bin/time_circuit.rs:8:46", "config file path"),
            (
                "err_missing_input.stderr",
                "src/utils/loader.rs:51:37",
                "called `Result::unwrap()` on an `Err` value: Os { code: 2, kind: NotFound, message: \"No such file or directory\" }",
            ),
        ];
        for (file, location, message) in cases {
            let stderr = fixture(file);
            let e = time_circuit("", &stderr).unwrap_err();
            assert_eq!(
                e,
                ParseError::Panic {
                    location: location.into(),
                    message: message.into()
                },
                "{file}"
            );
            assert!(e.to_string().starts_with("zkml panicked at "));
            assert!(verify_circuit("", &stderr).is_err());
        }
    }

    #[test]
    fn truncated_output_never_panics() {
        let full = fixture("run2_warm.stdout");
        for cut in (0..full.len()).step_by(97) {
            let Some(part) = full.get(..cut) else {
                continue;
            };
            // Before the `Proving time` line: a clear error; after it: a result.
            match time_circuit(part, "") {
                Ok(r) => assert!(part.contains("Proving time:") && r.proving_s > 0.0),
                Err(e) => assert!(
                    e.to_string().starts_with("could not parse zkml output"),
                    "{e}"
                ),
            }
        }
    }

    #[test]
    fn old_style_panic_lines() {
        let e = panic_message(
            "thread 'main' panicked at 'config file path', src/bin/time_circuit.rs:8:46\nnote: x",
        )
        .unwrap();
        assert_eq!(
            e,
            ParseError::Panic {
                location: "src/bin/time_circuit.rs:8:46".into(),
                message: "config file path".into()
            }
        );
    }
}
