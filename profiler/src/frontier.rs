//! Where a scaling sweep stops: the failure frontier of each framework.
//!
//! A scaling suite grows its models until the frameworks give up. Once a framework fails a
//! model by timeout or out-of-memory, every larger model of the same framework (same
//! settings, same runtime) would fail the same way after burning as much time or more, so
//! `zkprof run` records those cells as [`CellStatus::Skipped`] with the reason
//! (`larger than <cell> which hit <reason>`) instead of running them. `--no-frontier` turns
//! this off. Out of memory includes a prover's own allocator giving up at a limit of its own
//! (an adapter's reason then holds [`OUT_OF_MEMORY`]). Other failures (a crash, a bad
//! model) say nothing about size and stop nothing.
//!
//! Size is the model's parameter count; cells of unknown size are never skipped and never
//! stop others.

use crate::results::{CellResult, CellStatus, ResultsFile, OUT_OF_MEMORY};
use crate::suite::Cell;
use std::collections::BTreeMap;

/// The cells of one framework that scale together: framework name, settings and runtime.
type Lane = (String, String, String);

fn lane(framework: &str, settings: &BTreeMap<String, serde_json::Value>, runtime: &str) -> Lane {
    let settings = serde_json::to_string(settings).unwrap_or_default();
    (framework.to_string(), settings, runtime.to_string())
}

/// What a resource failure stopped: the smallest model of a lane that hit it.
#[derive(Clone, Debug, PartialEq)]
struct Hit {
    cell_id: String,
    /// Parameters of the model that failed.
    params: u64,
    /// `timeout` or `out of memory`, with the step.
    reason: String,
}

/// The frontier of every lane seen so far.
#[derive(Clone, Debug, Default)]
pub struct Frontier {
    hits: BTreeMap<Lane, Hit>,
}

/// Why a failed cell failed, when the reason is a resource limit: `prove: timeout`.
pub fn resource_failure(result: &CellResult) -> Option<String> {
    if result.status != CellStatus::Failed {
        return None;
    }
    let steps = result.repetitions.iter().flat_map(|r| &r.steps);
    for s in steps {
        if s.timed_out {
            return Some(format!("{}: timeout", s.step));
        }
        if s.oom_killed {
            return Some(format!("{}: out of memory", s.step));
        }
    }
    // An adapter that recognised its prover running out of memory (see OUT_OF_MEMORY).
    let reason = result.reason.as_deref()?;
    let (step, _) = reason.split_once(": ")?;
    reason
        .contains(&format!("({OUT_OF_MEMORY}: "))
        .then(|| format!("{step}: {OUT_OF_MEMORY}"))
}

/// The parameter count a finished cell recorded, if any.
fn params_of(result: &CellResult) -> Option<u64> {
    result
        .metrics
        .get("params")
        .filter(|p| p.is_finite() && **p >= 0.0)
        .map(|p| *p as u64)
}

impl Frontier {
    /// Learns from a finished cell: a resource failure sets (or lowers) its lane's frontier.
    /// `params` is the planned size, used when the cell recorded none.
    pub fn observe(&mut self, result: &CellResult, params: Option<u64>) {
        let (Some(reason), Some(params)) = (resource_failure(result), params_of(result).or(params))
        else {
            return;
        };
        let hit = Hit {
            cell_id: result.id.clone(),
            params,
            reason,
        };
        let key = lane(&result.framework, &result.settings, &result.runtime);
        match self.hits.get(&key) {
            Some(h) if h.params <= params => {}
            _ => {
                self.hits.insert(key, hit);
            }
        }
    }

    /// Why `cell` need not run: a smaller model of its lane already hit a resource limit.
    pub fn skip_reason(&self, cell: &Cell) -> Option<String> {
        let params = cell.model.params?;
        let key = lane(&cell.framework.name, &cell.settings, cell.runtime.name());
        let hit = self.hits.get(&key)?;
        (params > hit.params && cell.id != hit.cell_id).then(|| {
            format!(
                "skipped: larger than {} which hit {} ({} > {} parameters; --no-frontier runs it anyway)",
                hit.cell_id, hit.reason, params, hit.params
            )
        })
    }
}

/// The cells in the order a sweep runs them: by model size (smallest first, unknown sizes
/// last), keeping the plan's order among equals, so that a framework meets its frontier
/// before its larger models.
pub fn by_size<'a>(cells: &[&'a Cell]) -> Vec<&'a Cell> {
    let mut v = cells.to_vec();
    v.sort_by_key(|c| c.model.params.unwrap_or(u64::MAX));
    v
}

/// A cell that the frontier stopped, as a result: nothing ran.
pub fn skipped_result(cell: &Cell, reason: String, host_id: &str) -> CellResult {
    let now = chrono::Utc::now().to_rfc3339();
    let mut metrics = BTreeMap::new();
    if let Some(p) = cell.model.params {
        metrics.insert("params".to_string(), p as f64);
    }
    CellResult {
        id: cell.id.clone(),
        model: cell.model.name.clone(),
        framework: cell.framework.name.clone(),
        settings: cell.settings.clone(),
        runtime: cell.runtime.name().into(),
        status: CellStatus::Skipped,
        reason: Some(reason),
        repetitions: Vec::new(),
        summary: BTreeMap::new(),
        metrics,
        info: BTreeMap::new(),
        host_id: host_id.to_string(),
        started_at: now.clone(),
        finished_at: now,
        warnings: Vec::new(),
    }
}

/// A model of a lane: its name, parameters and circuit size.
#[derive(Clone, Debug, PartialEq)]
pub struct LaneModel {
    pub model: String,
    pub params: u64,
    /// `4233120 constraints`, `2^20 rows` (see [`CellResult::circuit_size`]), when recorded.
    pub circuit: Option<String>,
}

impl LaneModel {
    fn of(cell: &CellResult, params: u64) -> LaneModel {
        LaneModel {
            model: cell.model.clone(),
            params,
            circuit: cell.circuit_size(),
        }
    }

    /// What the model is in words: `m (5142 params, 4233120 constraints)`.
    pub fn label(&self) -> String {
        match &self.circuit {
            Some(c) => format!("{} ({} params, {c})", self.model, self.params),
            None => format!("{} ({} params)", self.model, self.params),
        }
    }
}

/// One framework lane's outcome in a sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct LaneSummary {
    /// Framework name (settings and runtime appended when a suite has several lanes of it).
    pub framework: String,
    /// The largest model that finished ok.
    pub largest_ok: Option<LaneModel>,
    /// The smallest larger model that did not finish, and why.
    pub stopped_at: Option<(LaneModel, String)>,
    /// What stopped it in a few words, `setup: out of memory`, `compile: exit 1`: a chart label.
    pub stop: Option<String>,
    /// That model hit a timeout or ran out of memory (or was skipped past one): a size
    /// frontier, not a crash.
    pub resource_limit: bool,
}

/// Per framework lane: the largest model that proved, and the smallest larger model that
/// did not finish (failed or skipped) with its reason. Lanes are in name order; a lane's
/// label carries its settings and runtime only when a framework has several lanes.
pub fn summarize(results: &ResultsFile) -> Vec<LaneSummary> {
    let mut lanes: BTreeMap<Lane, Vec<(&CellResult, u64)>> = BTreeMap::new();
    for c in &results.cells {
        if let Some(params) = params_of(c) {
            let key = lane(&c.framework, &c.settings, &c.runtime);
            lanes.entry(key).or_default().push((c, params));
        }
    }
    let mut per_framework: BTreeMap<&str, usize> = BTreeMap::new();
    for key in lanes.keys() {
        *per_framework.entry(key.0.as_str()).or_default() += 1;
    }
    lanes
        .iter()
        .map(|(key, cells)| {
            let largest_ok = cells
                .iter()
                .filter(|(c, _)| c.status == CellStatus::Ok)
                .max_by_key(|(_, p)| *p)
                .map(|(c, p)| LaneModel::of(c, *p));
            let floor = largest_ok.as_ref().map(|m| m.params);
            let stopped_at = cells
                .iter()
                .filter(|(c, p)| {
                    matches!(c.status, CellStatus::Failed | CellStatus::Skipped)
                        && floor.is_none_or(|f| *p > f)
                })
                .min_by_key(|(c, p)| (*p, c.status == CellStatus::Skipped));
            let resource_limit = stopped_at.is_some_and(|(c, _)| {
                c.status == CellStatus::Skipped || resource_failure(c).is_some()
            });
            let stop = stopped_at.map(|(c, _)| short_reason(c));
            let stopped_at = stopped_at.map(|(c, p)| {
                let why = c
                    .reason
                    .clone()
                    .unwrap_or_else(|| format!("{:?}", c.status).to_lowercase());
                (LaneModel::of(c, *p), why)
            });
            let several = per_framework.get(key.0.as_str()).copied().unwrap_or(0) > 1;
            LaneSummary {
                framework: if several {
                    format!("{} {} {}", key.0, key.1, key.2)
                } else {
                    key.0.clone()
                },
                largest_ok,
                stopped_at,
                stop,
                resource_limit,
            }
        })
        .collect()
}

/// A failed or skipped cell's reason in a few words: the resource limit it (or the cell it
/// was skipped after) hit, else the reason up to its details in parentheses.
fn short_reason(c: &CellResult) -> String {
    if let Some(limit) = resource_failure(c) {
        return limit;
    }
    let why = c.reason.as_deref().unwrap_or_default();
    let why = why.split_once(" which hit ").map_or(why, |(_, hit)| hit);
    let why = why.strip_prefix("skipped: ").unwrap_or(why);
    why.split(" (").next().unwrap_or(why).to_string()
}

/// True when some lane stopped at a resource limit: the sweep met its frontier.
pub fn met(lanes: &[LaneSummary]) -> bool {
    lanes.iter().any(|l| l.resource_limit)
}

/// The terminal's frontier section: nothing unless some lane stopped at a timeout or out of
/// memory (see [`met`]); then every lane, with what stopped it, whatever it was.
pub fn lines(lanes: &[LaneSummary]) -> Vec<String> {
    if !met(lanes) {
        return Vec::new();
    }
    let mut out =
        vec!["frontier (largest model that finished; what stopped the next):".to_string()];
    let w = lanes.iter().map(|l| l.framework.len()).max().unwrap_or(0);
    for l in lanes {
        let ok = match &l.largest_ok {
            Some(m) => m.label(),
            None => "none finished".to_string(),
        };
        let next = match &l.stopped_at {
            Some((m, why)) => format!("; next {}: {why}", m.label()),
            None => "; every model finished".to_string(),
        };
        out.push(format!("  {:w$}  {ok}{next}", l.framework));
    }
    out
}

#[cfg(test)]
#[path = "frontier_tests.rs"]
mod tests;
