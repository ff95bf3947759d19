//! Reading the output of one `mlvm` run (opML's MIPS VM executing an ML guest program).
//!
//! stdout carries the VM's own lines: `reach the final state, total step: N, target: -1` and
//! `writing <dir>/checkpoint_final.json len L with root 0x<64 hex>`. stderr carries the
//! guest's output, ending with `Predicted digit is  7` for the MNIST guests (`Predicted class
//! is  7` for zkprof's own). ANSI colour codes
//! (present when stdout is a terminal) are stripped first. Exit status 0 does not mean
//! success: a guest that halts early (e.g. `invalid model file (bad magic)`) still reaches a
//! final state; a run counts as an inference only with a final state and a prediction.

/// What one run printed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct VmRun {
    /// MIPS instructions executed until the guest halted.
    pub steps: Option<u64>,
    /// The Merkle root of the final VM state (`0x` + 64 hex digits), from the last checkpoint.
    pub root: Option<String>,
    /// The class the guest printed.
    pub prediction: Option<u32>,
    /// The guest's probabilities (`final tensor`), when it printed them.
    pub output: Vec<f32>,
    /// The last line the guest printed before halting, when it printed no prediction.
    pub last_guest_line: Option<String>,
}

impl VmRun {
    /// `Ok` when the run reached a final state with a root and printed a prediction; else the
    /// reason, with the tool's own last words.
    pub fn outcome(&self) -> Result<(), String> {
        match (&self.steps, &self.root, &self.prediction) {
            (Some(_), Some(_), Some(_)) => Ok(()),
            (None, _, _) | (_, None, _) => {
                Err(format!("mlvm reached no final state{}", self.tail_note()))
            }
            (_, _, None) => Err(format!(
                "the guest printed no prediction{}",
                self.tail_note()
            )),
        }
    }

    fn tail_note(&self) -> String {
        self.last_guest_line
            .as_deref()
            .map(|l| format!(": {l}"))
            .unwrap_or_default()
    }
}

/// Removes ANSI escape sequences (`ESC [ ... letter`).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Parses one run's stdout and stderr; never fails (missing facts stay `None`).
pub fn parse(stdout: &str, stderr: &str) -> VmRun {
    let stdout = strip_ansi(stdout);
    let stderr = strip_ansi(stderr);
    let mut run = VmRun::default();
    for line in stdout.lines().chain(stderr.lines()) {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("reach the final state, total step:") {
            let n = rest.split(',').next().unwrap_or("").trim();
            run.steps = n.parse().ok().or(run.steps);
        }
        if line.starts_with("writing ") {
            if let Some(root) = line.rsplit("with root ").next().and_then(hex_root) {
                run.root = Some(root);
            }
        }
    }
    let mut last = None;
    let mut in_final = false;
    for line in stderr.lines() {
        let t = line.trim();
        let said = t
            .strip_prefix("Predicted digit is")
            .or_else(|| t.strip_prefix("Predicted class is"));
        if let Some(rest) = said {
            run.prediction = rest.trim().parse().ok();
        }
        if t.starts_with("=== [ final tensor") {
            in_final = true;
        } else if in_final && t.contains("...") {
            // `0 x 10 ...` precedes the values: keep only what follows the dots.
            if let Some((_, vals)) = t.split_once("...") {
                run.output = vals
                    .split_whitespace()
                    .filter_map(|w| w.parse().ok())
                    .collect();
            }
            in_final = false;
        }
        if !t.is_empty() && !t.chars().all(|c| c == '_' || c == '*') {
            last = Some(t.to_string());
        }
    }
    if run.prediction.is_none() {
        run.last_guest_line = last;
    }
    run
}

fn hex_root(s: &str) -> Option<String> {
    let h = s.trim().strip_prefix("0x")?;
    let h = h.get(..64)?;
    h.chars()
        .all(|c| c.is_ascii_hexdigit())
        .then(|| format!("0x{}", h.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn captured(name: &str) -> Option<String> {
        let Some(s) = crate::paths::shared_dir() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI needs the shared data directory"
            );
            return None;
        };
        let p: PathBuf = s.join("captured/opml").join(name);
        Some(std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
    }

    #[test]
    fn reads_a_real_run() {
        let (Some(out), Some(err)) = (
            captured("vm_bench_196_25_10.stdout"),
            captured("vm_bench_196_25_10.stderr"),
        ) else {
            return;
        };
        let r = parse(&out, &err);
        assert_eq!(r.steps, Some(4_798_775));
        assert_eq!(
            r.root.as_deref(),
            Some("0x4a29759a27abf300aedd755e1b6616a9f6d2e0d69c6d1c779d24615d60659d8c")
        );
        assert_eq!(r.prediction, Some(7));
        assert_eq!(r.output.len(), 10);
        assert!((r.output[7] - 0.996).abs() < 1e-6);
        assert_eq!(r.outcome(), Ok(()));
    }

    #[test]
    fn strips_colour_from_a_terminal_run() {
        let (Some(out), Some(err)) = (
            captured("vm_bench_196_25_10.ttystdout.stdout"),
            captured("vm_bench_196_25_10.ttystdout.stderr"),
        ) else {
            return;
        };
        assert!(err.contains('\u{1b}'));
        let r = parse(&out, &err);
        assert_eq!(r.prediction, Some(7));
        assert_eq!(r.output.len(), 10);
        assert!(r.steps.is_some() && r.root.is_some());
    }

    #[test]
    fn exit_zero_without_prediction_is_a_failure_with_the_tools_words() {
        let (Some(out), Some(err)) = (
            captured("vm_error_missing_model.stdout"),
            captured("vm_error_missing_model.stderr"),
        ) else {
            return;
        };
        let r = parse(&out, &err);
        assert_eq!(r.steps, Some(1_239_402));
        assert!(r.root.is_some());
        assert_eq!(r.prediction, None);
        let why = r.outcome().unwrap_err();
        assert!(why.contains("invalid model file (bad magic)"), "{why}");
    }

    #[test]
    fn a_stopped_run_has_no_final_state() {
        let (Some(out), Some(err)) = (
            captured("vm_target_1000000.stdout"),
            captured("vm_target_1000000.stderr"),
        ) else {
            return;
        };
        let r = parse(&out, &err);
        assert_eq!(r.steps, None);
        assert!(r.outcome().unwrap_err().contains("no final state"));
        let (Some(out), Some(err)) = (
            captured("vm_error_missing_program.stdout"),
            captured("vm_error_missing_program.stderr"),
        ) else {
            return;
        };
        let why = parse(&out, &err).outcome().unwrap_err();
        assert!(why.contains("no such file"), "{why}");
    }

    #[test]
    fn every_captured_run_parses_and_predictions_match_the_summary() {
        let Some(summary) = captured("mnist_t10k/summary.txt") else {
            return;
        };
        let mut n = 0;
        for line in summary.lines().filter(|l| l.contains(" img")) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (model, img) = (f[0], f[1].trim_start_matches("img"));
            let field = |k: &str| {
                f.iter()
                    .find_map(|x| x.strip_prefix(k))
                    .unwrap_or_default()
                    .to_string()
            };
            let out = captured(&format!("mnist_t10k/{model}_{img}.stdout")).unwrap();
            let err = captured(&format!("mnist_t10k/{model}_{img}.stderr")).unwrap();
            let r = parse(&out, &err);
            assert_eq!(r.prediction.map(|p| p.to_string()), Some(field("pred=")));
            assert_eq!(r.steps.map(|s| s.to_string()), Some(field("steps=")));
            n += 1;
        }
        assert_eq!(n, 15);
    }

    #[test]
    fn garbage_never_panics() {
        for (o, e) in [
            ("", ""),
            ("reach the final state, total step: x", "Predicted digit is"),
            ("writing a with root 0x12", "\u{1b}[\u{1b}"),
            ("writing with root 0xzz", "=== [ final tensor\n ... 1 x"),
            (
                "reach the final state, total step:",
                "Predicted digit is  99999999999999",
            ),
        ] {
            let r = parse(o, e);
            assert!(r.outcome().is_err());
        }
        assert_eq!(strip_ansi("\u{1b}[32mok\u{1b}[0m"), "ok");
    }
}
