//! zkTorch's output: its plonky2 `TimingTree` (printed once, at the end, through the `log`
//! crate at debug level: `[<time> DEBUG plonky2::util::timing] | 0.1234s to prove`, one
//! `| ` per level below the root), the verifier's `Is verification successful? <bool>`,
//! `CQ Error: ...` (a value outside a lookup table; zkTorch then exits 0 without a proof)
//! and `Cargo run was successful.` at the very end.

/// One node of zkTorch's timing tree.
#[derive(Clone, Debug, PartialEq)]
pub struct Timer {
    /// 0 for the root, 1 for its children, ...
    pub depth: usize,
    /// zkTorch's own duration, seconds.
    pub seconds: f64,
    /// The label (`run witness generation`, `setup and encode models`, `prove`, ...).
    pub name: String,
}

/// What a run of `zk_torch` said.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Output {
    /// The timing tree, in print order (pre-order).
    pub timers: Vec<Timer>,
    /// `Is verification successful?`, when printed.
    pub verified: Option<bool>,
    /// `CQ Error: ...`, when the witness left a lookup table's range.
    pub cq_error: Option<String>,
    /// `Cargo run was successful.` came (the process reached its end).
    pub finished: bool,
}

impl Output {
    /// The top-level duration labelled `name` (summed if it repeats), seconds.
    pub fn top(&self, name: &str) -> Option<f64> {
        let v: Vec<f64> = self
            .timers
            .iter()
            .filter(|t| t.depth == 1 && t.name == name)
            .map(|t| t.seconds)
            .collect();
        (!v.is_empty()).then(|| v.iter().sum())
    }

    /// The root's duration (process start of the tree to the print), seconds.
    pub fn total(&self) -> Option<f64> {
        self.timers.iter().find(|t| t.depth == 0).map(|t| t.seconds)
    }

    /// The top-level timers, `name=seconds` joined by `, `.
    pub fn top_summary(&self) -> String {
        self.timers
            .iter()
            .filter(|t| t.depth == 1)
            .map(|t| format!("{}={:.4}s", t.name, t.seconds))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One timing line: the text after the log prefix is `(| )*<secs>s to <name>`.
fn timer(line: &str) -> Option<Timer> {
    let at = line.find("plonky2::util::timing")?;
    let rest = line[at..].split_once(']')?.1.trim_start();
    let mut depth = 0;
    let mut body = rest;
    while let Some(r) = body.strip_prefix("| ") {
        depth += 1;
        body = r;
    }
    let (secs, name) = body.split_once("s to ")?;
    let seconds: f64 = secs.trim().parse().ok()?;
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    Some(Timer {
        depth,
        seconds,
        name: name.trim_end().to_string(),
    })
}

/// Reads stdout and stderr of one `zk_torch` run.
pub fn output(stdout: &str, stderr: &str) -> Output {
    let mut out = Output::default();
    for line in stdout.lines().chain(stderr.lines()) {
        if let Some(t) = timer(line) {
            out.timers.push(t);
        } else if let Some(v) = line.split("Is verification successful?").nth(1) {
            out.verified = match v.trim() {
                "true" => Some(true),
                "false" => Some(false),
                _ => out.verified,
            };
        } else if let Some(e) = line.split("CQ Error:").nth(1) {
            out.cq_error = Some(e.trim().to_string());
        } else if line.trim() == "Cargo run was successful." {
            out.finished = true;
        }
    }
    out
}

/// A Rust panic in stderr: `<location>: <message>`.
pub fn panic_message(stderr: &str) -> Option<String> {
    match crate::frameworks::zkml::parse::panic_message(stderr)? {
        crate::frameworks::zkml::parse::ParseError::Panic { location, message } => {
            Some(format!("{location}: {message}"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_lines_with_depth() {
        let t =
            timer("[2026-12-01T17:00:00Z DEBUG plonky2::util::timing] | | 0.0123s to prove Gemm_0")
                .unwrap();
        assert_eq!(
            t,
            Timer {
                depth: 2,
                seconds: 0.0123,
                name: "prove Gemm_0".into()
            }
        );
        assert_eq!(
            timer("[x DEBUG plonky2::util::timing] 1.5000s to root").map(|t| t.depth),
            Some(0)
        );
        assert!(timer("| 0.1s to prove").is_none());
        assert!(timer("[x DEBUG plonky2::util::timing] NaNs to x").is_none());
    }

    #[test]
    fn captured_sample_run() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/zktorch");
        let read = |f: &str| std::fs::read_to_string(format!("{dir}/{f}")).unwrap();
        let o = output(&read("sample.stdout"), &read("sample.stderr"));
        assert_eq!(o.verified, Some(true));
        assert!(o.finished);
        assert_eq!(o.cq_error, None);
        assert_eq!(o.total(), Some(1.7454));
        assert_eq!(
            o.top_summary(),
            "run witness generation=0.0002s, setup and encode models=1.4050s, encode inputs=0.0036s, encode outputs=0.0037s, prove=0.1581s, verify=0.0431s"
        );
        // Per-block timers sit below the top level; labels may run over several lines.
        assert!(o.timers.iter().any(|t| t.depth == 2
            && t.name
                .starts_with("Op /lin1/MatMul | proving 4 CQLinBasicBlock")));
        assert_eq!(o.timers.iter().filter(|t| t.depth == 1).count(), 6);
    }

    #[test]
    fn verdicts_and_errors() {
        let o = output(
            "CQ Error: \"value 300 out of range\"\n",
            "[t DEBUG plonky2::util::timing] 2.0000s to root\n[t DEBUG plonky2::util::timing] | 0.5000s to prove\n[t DEBUG plonky2::util::timing] | | 0.2500s to prove\n[t DEBUG plonky2::util::timing] | 0.2500s to prove\n",
        );
        assert_eq!(o.cq_error.as_deref(), Some("\"value 300 out of range\""));
        assert_eq!(o.total(), Some(2.0));
        assert_eq!(o.top("prove"), Some(0.75));
        assert_eq!(o.verified, None);
        assert!(!o.finished);
        let o = output(
            "Is verification successful? false\nCargo run was successful.\n",
            "",
        );
        assert_eq!(o.verified, Some(false));
        assert!(o.finished);
    }
}
