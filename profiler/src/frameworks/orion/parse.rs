//! Reading the output of the Cairo backend's commands (and of upstream's `cairo-execute`
//! and stwo-cairo's `prove`/`verify`, which print the same lines): bytecode size, program
//! output and steps, the prover's tracing spans (its own phase timings) and verification.

use crate::measure::phases::parse_duration;

/// Strips ANSI colour sequences (upstream's binaries print coloured tracing lines).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `Bytecode size (felt252 count): N` of a compilation.
pub fn bytecode_size(text: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        l.trim()
            .strip_prefix("Bytecode size (felt252 count):")
            .and_then(|v| v.trim().parse().ok())
    })
}

/// One execution: its output felts (as printed) and steps, when printed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Execution {
    /// The `--args` file of the run, when several ran.
    pub input: Option<String>,
    pub steps: Option<u64>,
    pub output: Vec<String>,
    /// Why the run failed (`Run failed: ...`, e.g. the program panicked), when it did.
    pub failed: Option<String>,
}

/// The executions in an `execute` log, in order. Each `Program Output:` block runs until
/// the first line that is not an integer.
pub fn executions(text: &str) -> Vec<Execution> {
    let mut runs = Vec::new();
    let mut cur = Execution::default();
    let mut in_output = false;
    for line in text.lines() {
        let t = line.trim();
        if in_output {
            let is_int = !t.is_empty()
                && t.strip_prefix('-')
                    .unwrap_or(t)
                    .chars()
                    .all(|c| c.is_ascii_digit());
            if is_int {
                cur.output.push(t.to_string());
                continue;
            }
            in_output = false;
            runs.push(std::mem::take(&mut cur));
        }
        if let Some(p) = t.strip_prefix("Input:") {
            cur.input = Some(p.trim().to_string());
        } else if let Some(why) = t.strip_prefix("Run failed:") {
            cur.failed = Some(why.trim().to_string());
            runs.push(std::mem::take(&mut cur));
        } else if let Some(s) = t.strip_prefix("Steps:") {
            cur.steps = s.trim().parse().ok();
        } else if t == "Program Output:" {
            in_output = true;
        }
    }
    if in_output {
        runs.push(cur);
    }
    runs
}

/// A closed tracing span: its path (`prove:prove_cairo:Write base trace`) and busy time.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    pub path: String,
    pub busy_s: f64,
}

/// The closed spans of a tracing log, in the order they closed.
pub fn spans(text: &str) -> Vec<Span> {
    let text = strip_ansi(text);
    text.lines()
        .filter_map(|l| {
            let (head, rest) = l.split_once(": close time.busy=")?;
            // head: `<time>  INFO <span path>: <target>`
            let head = head.split_once(" INFO ").map_or(head, |(_, h)| h).trim();
            let (path, _target) = head.rsplit_once(": ")?;
            Some(Span {
                path: path.to_string(),
                busy_s: parse_duration(rest)?,
            })
        })
        .collect()
}

/// The prover's own phase timings: the spans directly under the top span `prove` and
/// under `prove:prove_cairo`, as `(metric name, seconds)`; the top span is `total`.
pub fn prover_phases(text: &str) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for s in spans(text) {
        let parts: Vec<&str> = s.path.split(':').collect();
        let name = match parts.as_slice() {
            ["prove"] => "total".to_string(),
            ["prove", p] => snake(p),
            ["prove", "prove_cairo", p] => format!("prove_cairo_{}", snake(p)),
            _ => continue,
        };
        out.push((name, s.busy_s));
    }
    out
}

fn snake(s: &str) -> String {
    let mut o = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            o.push(c.to_ascii_lowercase());
        } else if !o.ends_with('_') {
            o.push('_');
        }
    }
    o.trim_matches('_').to_string()
}

/// The backend's `Preprocessed trace: <variant>` line of a prove (the variant it used).
pub fn preprocessed_trace(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("Preprocessed trace: "))
        .map(|v| v.trim().to_string())
}

/// stwo's `proof_size_estimate=N` (bytes of the proof's binary form).
pub fn proof_size_estimate(text: &str) -> Option<u64> {
    strip_ansi(text).lines().find_map(|l| {
        let at = l.find("proof_size_estimate=")? + "proof_size_estimate=".len();
        l[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    })
}

/// Whether a verify log says the proof verified; otherwise why not (a panic's message or
/// the verifier's error), in its own words.
pub fn verified(text: &str) -> Result<(), String> {
    let text = strip_ansi(text);
    if text.contains("Proof verified successfully") {
        return Ok(());
    }
    let lines: Vec<&str> = text.lines().collect();
    if let Some(i) = lines.iter().position(|l| l.contains("panicked at")) {
        let msg = lines.get(i + 1).map(|m| m.trim()).unwrap_or("");
        return Err(format!("the verifier panicked: {msg}"));
    }
    if let Some(e) = lines.iter().find(|l| l.trim_start().starts_with("Error:")) {
        return Err(format!("the verifier failed: {}", e.trim()));
    }
    Err("the verify log does not say the proof verified".into())
}
