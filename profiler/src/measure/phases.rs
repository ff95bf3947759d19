//! Phases of one step: windows of a process's run between boundaries seen in its output.
//!
//! Some provers do setup, key generation, proving and verification in one process. An
//! adapter declares the phases of such a step ([`PhaseSpec`]): each phase ends at the first
//! output line (after the previous phase ended) that contains its marker, and may name the
//! text after which the prover prints its own timer for that phase. While the step runs, a
//! [`BoundaryTracker`] sees every line as it arrives (see `lines.rs`), records the time of
//! each boundary and, where the cgroup allows (v1), reads and resets the cgroup's peak
//! counter at the boundary, which gives the charged peak (page cache included) of the
//! phase that just ended. A phase's headline memory is the peak of the sampled working
//! set within its window.
//! After the run, [`compute`] turns the boundaries and the sampled series into
//! [`Phase`] records and [`headline`] picks the figures of the headline phase.
//!
//! Times are seconds since spawn (monotonic clock); memory is bytes.

use super::cgroup::StepCgroup;
use super::lines::{LineSink, Stream};
use crate::results::{Headline, Phase, PhaseMemory, ProveSource, Series, StepRun};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Our boundary time and the prover's own timer may differ by this share of the larger ...
pub const TIMER_TOLERANCE_REL: f64 = 0.05;
/// ... plus this many seconds before it is a warning.
pub const TIMER_TOLERANCE_ABS_S: f64 = 0.1;

/// One phase of a step, as the adapter declares it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PhaseRule {
    /// The phase's name (`keygen_pk`, `prove`, ...).
    pub name: String,
    /// The phase ends at the first line containing this text.
    pub ends_at: String,
    /// The prover's own duration for this phase follows this text (Rust `Debug`
    /// durations such as `230.37s`, `13.86ms`, or plain seconds), on the phase's end line
    /// or on the first later line that contains it (a prover may print it later).
    pub timer_after: Option<String>,
    /// What the phase covers, when its markers' labels mislead.
    pub note: Option<String>,
}

/// The phases of a step, in order. The phase after the last marker runs until the process
/// exits and is called `tail`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PhaseSpec {
    pub phases: Vec<PhaseRule>,
    /// The name of the phase after the last boundary (`exit` when empty).
    pub tail: String,
    /// The phase whose time and memory are the step's headline (for a monolithic prover:
    /// its prove phase).
    pub headline: Option<String>,
}

impl PhaseSpec {
    fn tail_name(&self) -> &str {
        if self.tail.is_empty() {
            "exit"
        } else {
            &self.tail
        }
    }
}

/// A boundary seen while the step ran: the end of phase `phase`.
#[derive(Clone, Debug, PartialEq)]
pub struct Boundary {
    /// Index into `PhaseSpec::phases`.
    pub phase: usize,
    /// When the marker line arrived, seconds since spawn.
    pub t_s: f64,
    /// The marker line.
    pub line: String,
    /// The prover's own duration for the phase, seconds, when it printed one.
    pub timer_s: Option<f64>,
    /// The cgroup's charged peak since the previous boundary (includes page cache), bytes, when it could be
    /// read and reset.
    pub charged_peak: Option<u64>,
}

/// Watches lines as they arrive and records boundaries.
pub struct BoundaryTracker {
    spec: Arc<PhaseSpec>,
    next: usize,
    cgroup: Option<Arc<StepCgroup>>,
    /// Whether the cgroup's peak counter can be reset (checked at the first boundary).
    resettable: Option<bool>,
    pub boundaries: Vec<Boundary>,
}

impl BoundaryTracker {
    /// A tracker; with a cgroup whose peak can be reset, each phase gets its charged peak.
    pub fn new(spec: Arc<PhaseSpec>, cgroup: Option<Arc<StepCgroup>>) -> BoundaryTracker {
        BoundaryTracker {
            spec,
            next: 0,
            cgroup,
            resettable: None,
            boundaries: Vec::new(),
        }
    }

    /// Looks at one line; records a boundary when it carries the next expected marker
    /// (or a later one, when earlier markers never came).
    pub fn line(&mut self, t_s: f64, text: &str) {
        // Timers printed after their phase ended.
        for b in self.boundaries.iter_mut().filter(|b| b.timer_s.is_none()) {
            if let Some(after) = self.spec.phases[b.phase].timer_after.as_deref() {
                b.timer_s = timer_in(text, after);
            }
        }
        let Some(j) = (self.next..self.spec.phases.len())
            .find(|&j| text.contains(self.spec.phases[j].ends_at.as_str()))
        else {
            return;
        };
        let rule = &self.spec.phases[j];
        let timer_s = rule
            .timer_after
            .as_deref()
            .and_then(|after| timer_in(text, after));
        let mut charged_peak = None;
        if let Some(cg) = &self.cgroup {
            if self.resettable != Some(false) {
                let peak = cg.memory_peak();
                let ok = peak.is_some() && cg.reset_peak();
                self.resettable = Some(ok);
                if ok {
                    charged_peak = peak;
                }
            }
        }
        self.boundaries.push(Boundary {
            phase: j,
            t_s,
            line: text.chars().take(200).collect(),
            timer_s,
            charged_peak,
        });
        self.next = j + 1;
    }

    /// Whether every boundary so far came with an exact peak (and at least one came).
    pub fn exact(&self) -> bool {
        self.resettable == Some(true)
    }
}

/// The duration after `after` in `text`, seconds.
fn timer_in(text: &str, after: &str) -> Option<f64> {
    let at = text.find(after)? + after.len();
    parse_duration(&text[at..])
}

/// A [`LineSink`] feeding a shared tracker.
pub struct TrackerSink(pub Arc<Mutex<BoundaryTracker>>);

impl LineSink for TrackerSink {
    fn line(&mut self, t_s: f64, _stream: Stream, text: &str) {
        if let Ok(mut t) = self.0.lock() {
            t.line(t_s, text);
        }
    }
}

/// Parses a duration as Rust's `Debug` prints it (`230.374847369s`, `13.86ms`, `702µs`,
/// `12ns`) or as plain seconds (`1.5`), at the start of `text`. Seconds.
pub fn parse_duration(text: &str) -> Option<f64> {
    let t = text.trim_start();
    let end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e' || c == '-' || c == '+'))
        .unwrap_or(t.len());
    let value: f64 = t[..end].parse().ok()?;
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    let unit = t[end..].trim_start();
    let unit = unit.split(|c: char| c.is_whitespace() || c == ',').next()?;
    let scale = match unit {
        "s" | "" | "sec" | "secs" => 1.0,
        "ms" => 1e-3,
        "µs" | "us" | "μs" => 1e-6,
        "ns" => 1e-9,
        "m" | "min" => 60.0,
        _ => return None,
    };
    Some(value * scale)
}

/// Everything [`compute`] reads.
pub struct PhaseInput<'a> {
    pub spec: &'a PhaseSpec,
    pub boundaries: &'a [Boundary],
    /// Wall time of the step (end of the last phase), seconds.
    pub wall_s: f64,
    /// The full-resolution series of the step (before downsampling).
    pub series: &'a Series,
    /// Summed RSS of the tree at each sample (same length as `series.t_s`; with a cgroup
    /// refreshed every few samples), bytes.
    pub rss_bytes: &'a [u64],
    /// Whether `boundaries` carry exact cgroup peaks; then `tail_charged_peak` is the
    /// cgroup's peak since the last boundary.
    pub exact: bool,
    pub tail_charged_peak: Option<u64>,
}

/// The phases of a step from its boundaries and samples.
pub fn compute(input: &PhaseInput) -> Vec<Phase> {
    let spec = input.spec;
    let mut phases = Vec::new();
    let mut start = 0.0;
    let mut start_marker: Option<String> = None;
    let mut prev = 0usize;
    for b in input.boundaries {
        let rule = &spec.phases[b.phase];
        let mut notes: Vec<String> = rule.note.iter().cloned().collect();
        if b.phase > prev {
            let missed: Vec<&str> = spec.phases[prev..b.phase]
                .iter()
                .map(|r| r.name.as_str())
                .collect();
            notes.push(format!(
                "includes {} (their end markers never came)",
                missed.join(", ")
            ));
        }
        let exact = if input.exact { b.charged_peak } else { None };
        let mut p = window(
            input,
            &rule.name,
            start,
            b.t_s,
            exact,
            start_marker.take(),
            Some(b.line.clone()),
        );
        p.prover_timer_s = b.timer_s;
        if let Some(timer) = b.timer_s {
            if disagree(p.duration_s, timer) {
                notes.push(format!(
                    "the prover's own timer says {timer:.3} s, our boundaries {:.3} s",
                    p.duration_s
                ));
                p.timer_disagrees = true;
            }
        }
        p.note = (!notes.is_empty()).then(|| notes.join("; "));
        phases.push(p);
        start = b.t_s;
        start_marker = Some(b.line.clone());
        prev = b.phase + 1;
    }
    let exact = if input.exact {
        input.tail_charged_peak
    } else {
        None
    };
    let mut tail = window(
        input,
        spec.tail_name(),
        start,
        input.wall_s.max(start),
        exact,
        start_marker,
        None,
    );
    if prev < spec.phases.len() {
        let missed: Vec<&str> = spec.phases[prev..]
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        tail.note = Some(format!(
            "the end markers of {} never came; this window holds what ran after the last one seen",
            missed.join(", ")
        ));
    }
    phases.push(tail);
    phases
}

/// Whether our duration and the prover's timer disagree by more than 5% + 100 ms.
pub fn disagree(ours_s: f64, timer_s: f64) -> bool {
    (ours_s - timer_s).abs() > TIMER_TOLERANCE_REL * ours_s.max(timer_s) + TIMER_TOLERANCE_ABS_S
}

fn window(
    input: &PhaseInput,
    name: &str,
    start_s: f64,
    end_s: f64,
    exact: Option<u64>,
    start_marker: Option<String>,
    end_marker: Option<String>,
) -> Phase {
    let s = input.series;
    let idx: Vec<usize> = (0..s.t_s.len())
        .filter(|&i| s.t_s[i] >= start_s && s.t_s[i] <= end_s)
        .collect();
    // A window shorter than the sampling interval: the first sample after it.
    let idx = if idx.is_empty() {
        (0..s.t_s.len())
            .find(|&i| s.t_s[i] > end_s)
            .into_iter()
            .collect()
    } else {
        idx
    };
    let sampled = idx
        .iter()
        .filter_map(|&i| s.tree_bytes.get(i))
        .max()
        .copied();
    let rss = idx
        .iter()
        .filter_map(|&i| input.rss_bytes.get(i))
        .max()
        .copied();
    let (peak, memory) = match sampled {
        Some(v) => (Some(v), PhaseMemory::Sampled),
        None => (None, PhaseMemory::Unmeasured),
    };
    // CPU seconds and joules: each sample holds the mean over its preceding interval;
    // the part of that interval inside the window counts.
    let mut cpu_s = 0.0;
    let mut energy: BTreeMap<String, f64> = BTreeMap::new();
    for i in 0..s.t_s.len() {
        let from = if i == 0 { 0.0 } else { s.t_s[i - 1] };
        let dt = s.t_s[i].min(end_s) - from.max(start_s);
        if dt <= 0.0 {
            continue;
        }
        cpu_s += s.cpu_cores.get(i).copied().unwrap_or(0.0) * dt;
        for (col, values) in &s.extra {
            if let Some(domain) = col.strip_suffix(".power_w") {
                if let Some(w) = values.get(i).filter(|w| w.is_finite()) {
                    *energy.entry(domain.to_string()).or_default() += w * dt;
                }
            }
        }
    }
    Phase {
        name: name.to_string(),
        start_s,
        end_s,
        duration_s: (end_s - start_s).max(0.0),
        peak_tree_bytes: peak,
        memory,
        peak_charged_bytes: exact,
        peak_tree_rss_bytes: rss,
        samples: idx.len() as u32,
        cpu_s: (!idx.is_empty()).then_some(cpu_s),
        energy_j: energy,
        prover_timer_s: None,
        timer_disagrees: false,
        start_marker,
        end_marker,
        note: None,
    }
}

/// The step's headline: its headline phase's time and memory, with how they were
/// obtained. `None` when the spec names no headline phase. A headline phase whose end
/// marker never came falls back to the whole step.
pub fn headline(
    spec: &PhaseSpec,
    phases: &[Phase],
    wall_s: f64,
    peak_bytes: u64,
) -> Option<Headline> {
    let name = spec.headline.as_deref()?;
    let found = phases
        .iter()
        .find(|p| p.name == name && p.end_marker.is_some());
    let mut warnings = Vec::new();
    for p in phases.iter().filter(|p| p.timer_disagrees) {
        if let Some(t) = p.prover_timer_s {
            warnings.push(format!(
                "phase {}: the prover's own timer ({t:.3} s) and our output-marker boundaries ({:.3} s) differ by more than 5% + 100 ms",
                p.name, p.duration_s
            ));
        }
    }
    Some(match found {
        Some(p) => Headline {
            phase: name.to_string(),
            prove_source: if p.prover_timer_s.is_some() {
                ProveSource::ProverTimer
            } else {
                ProveSource::OutputMarkers
            },
            wall_s: p.prover_timer_s.unwrap_or(p.duration_s),
            peak_tree_bytes: p.peak_tree_bytes.unwrap_or(peak_bytes),
            markers_s: Some(p.duration_s),
            prover_timer_s: p.prover_timer_s,
            warnings,
        },
        None => {
            warnings.push(format!(
                "the end marker of phase {name} never came: the headline is the whole step"
            ));
            Headline {
                phase: name.to_string(),
                prove_source: ProveSource::WholeStep,
                wall_s,
                peak_tree_bytes: peak_bytes,
                markers_s: None,
                prover_timer_s: None,
                warnings,
            }
        }
    })
}

/// A run of a step whose framework declares phases but whose runtime did not resolve them
/// (a container): its headline is the whole step, labelled so.
pub fn label_unphased(spec: Option<&PhaseSpec>, mut run: StepRun) -> StepRun {
    if let (Some(spec), None) = (spec, &run.headline) {
        if let Some(phase) = &spec.headline {
            run.headline = Some(Headline {
                phase: phase.clone(),
                prove_source: ProveSource::WholeStep,
                wall_s: run.wall_s,
                peak_tree_bytes: run.peak_tree_bytes,
                markers_s: None,
                prover_timer_s: None,
                warnings: vec![format!(
                    "phases are not resolved in this runtime: the {phase} figures are the whole step's"
                )],
            });
        }
    }
    run
}

#[cfg(test)]
#[path = "phases_tests.rs"]
mod tests;
