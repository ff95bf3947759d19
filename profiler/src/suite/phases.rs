//! The `phases` of a `command` framework's steps in a suite:
//!
//! ```toml
//! [[framework]]
//! name = "my-prover"
//! kind = "command"
//! steps = { prove = ["./prove.sh"] }
//! phases = { prove = [
//!   { name = "setup", ends_at = "keys written" },
//!   { name = "prove", ends_at = "proof written", timer_after = "proving took" },
//! ] }
//! ```
//!
//! Each phase ends at the first output line containing `ends_at`; `timer_after` names the text
//! after which the prover prints its own duration for the phase. The phase named like its step
//! (`prove`) is the step's headline.

use crate::measure::{PhaseRule, PhaseSpec};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ops::Range;
use toml::Spanned;

/// One phase as written in a suite.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPhase {
    name: Spanned<String>,
    ends_at: Spanned<String>,
    timer_after: Option<Spanned<String>>,
    note: Option<String>,
}

/// Checks the phases of every step; `steps` are the framework's step names.
pub(super) fn check<E>(
    raw: &Option<Spanned<BTreeMap<String, Vec<RawPhase>>>>,
    steps: &[String],
    invalid: &impl Fn(Option<Range<usize>>, String) -> E,
) -> Result<BTreeMap<String, Vec<PhaseRule>>, E> {
    let mut out = BTreeMap::new();
    let Some(raw) = raw else {
        return Ok(out);
    };
    for (step, phases) in raw.get_ref() {
        if !steps.contains(step) {
            return Err(invalid(
                Some(raw.span()),
                format!(
                    "framework.phases.{step}: the framework has no step `{step}` (its steps: {})",
                    steps.join(", ")
                ),
            ));
        }
        let mut rules: Vec<PhaseRule> = Vec::new();
        for p in phases {
            let name = p.name.get_ref();
            if name.is_empty() || rules.iter().any(|r| &r.name == name) {
                return Err(invalid(
                    Some(p.name.span()),
                    format!("framework.phases.{step}: phase name `{name}` is empty or used twice"),
                ));
            }
            if p.ends_at.get_ref().is_empty() {
                return Err(invalid(
                    Some(p.ends_at.span()),
                    format!("framework.phases.{step}.{name}: `ends_at` is empty; give text of the line that ends the phase"),
                ));
            }
            if p.timer_after
                .as_ref()
                .is_some_and(|t| t.get_ref().is_empty())
            {
                return Err(invalid(
                    p.timer_after.as_ref().map(|t| t.span()),
                    format!("framework.phases.{step}.{name}: `timer_after` is empty"),
                ));
            }
            rules.push(PhaseRule {
                name: name.clone(),
                ends_at: p.ends_at.get_ref().clone(),
                timer_after: p.timer_after.as_ref().map(|t| t.get_ref().clone()),
                note: p.note.clone(),
            });
        }
        out.insert(step.clone(), rules);
    }
    Ok(out)
}

/// The phase spec of a step from its rules: the phase named like the step is the headline.
pub fn spec_for(step: &str, rules: &[PhaseRule]) -> PhaseSpec {
    PhaseSpec {
        phases: rules.to_vec(),
        tail: String::new(),
        headline: rules
            .iter()
            .any(|r| r.name == step)
            .then(|| step.to_string()),
    }
}
