//! The phases of the Orion steps that are one process each but several stages: the Cairo
//! compiler's stages (`compile`) and stwo-cairo's top-level spans (`prove`), each timed by
//! the backend or the prover itself (a tracing span's `close time.busy=`).

use crate::measure::{PhaseRule, PhaseSpec};

/// A phase that ends when the backend's span `parent:span` (of tracing target `target`)
/// closes, timed by the backend itself (`close time.busy=`).
fn span_rule(parent: &str, name: &str, span: &str, target: &str, note: Option<&str>) -> PhaseRule {
    let marker = format!("{parent}:{span}: {target}: close time.busy=");
    PhaseRule {
        name: name.into(),
        ends_at: marker.clone(),
        timer_after: Some(marker),
        note: note.map(str::to_string),
    }
}

/// The phases of the `prove` step: stwo-cairo's top-level tracing spans, each timed by the
/// prover itself (`close time.busy=`).
pub fn prove_phases() -> PhaseSpec {
    let rule = |name: &str, span: &str, target: &str, note: Option<&str>| {
        span_rule("prove", name, span, target, note)
    };
    PhaseSpec {
        phases: vec![
            rule(
                "read_input",
                "Read prover input",
                "zkprof_cairo_prover",
                Some("process start and reading the prover input (JSON)"),
            ),
            rule(
                "twiddles",
                "Precompute Twiddles",
                "stwo_cairo_prover::prover",
                None,
            ),
            rule(
                "preprocessed_commitment",
                "Compute preprocessed trace commitment",
                "stwo_cairo_prover::prover",
                Some(
                    "the preprocessed trace and its commitment: a fixed cost, whatever the program",
                ),
            ),
            rule(
                "prove_cairo",
                "prove_cairo",
                "stwo_cairo_prover::prover",
                Some("the program's traces, their commitments and the STARK proof"),
            ),
            rule(
                "serialize",
                "Serialize proof",
                "cairo_air::utils",
                Some("writing the proof (JSON)"),
            ),
        ],
        tail: "exit".into(),
        headline: None,
    }
}

/// The phases of the `compile` step: the Cairo compiler's stages as the backend's spans.
/// Each stage reuses what the earlier ones computed, so each phase is that stage's own work.
pub fn compile_phases() -> PhaseSpec {
    let rule = |name: &str, span: &str, note: &str| {
        span_rule("compile", name, span, "zkprof_cairo_prover", Some(note))
    };
    PhaseSpec {
        phases: vec![
            rule(
                "load",
                "Load project",
                "process start, the corelib and the project's crates set up",
            ),
            rule(
                "diagnostics",
                "Diagnostics (parse, semantic, lowering)",
                "parsing, semantic analysis and lowering of the model crate (its diagnostics)",
            ),
            rule(
                "sierra",
                "Sierra generation",
                "Sierra code from the lowered functions",
            ),
            rule(
                "casm",
                "CASM generation",
                "Sierra to CASM and the executable's entry point",
            ),
            rule("write", "Write executable", "writing the executable (JSON)"),
        ],
        tail: "exit".into(),
        headline: None,
    }
}
