//! Merging results files: the shards of a matrix, or runs from several machines.
//!
//! Rules:
//! - every input must come from the same suite (name, version and SHA-256 of the file)
//!   unless [`MergeOptions::allow_different_suites`];
//! - hosts are a dimension: a cell's identity is (cell id, host fingerprint). The same suite
//!   run on several machines merges into one file; each cell keeps the host it ran on
//!   (`CellResult::host_id`; hosts other than the first input's are listed in `other_hosts`);
//! - a cell present in several inputs on the same host is kept once when it is the same run
//!   (same start and finish time), e.g. a shard merged again into a file that already
//!   holds it; two different runs of one cell on one host are an error unless
//!   [`DuplicatePolicy::Newest`];
//! - cells of a shard's plan that no input holds are reported as missing, per host: a
//!   shard record names the host that ran it, and each host that ran a shard of a plan is
//!   expected to hold the whole plan;
//! - `host`, `sensors` and `suite` are the first input's (a warning says when the
//!   inputs' sensors differ).
//!
//! The output depends only on the inputs' content and order, never on the clock, so
//! merging the same files twice gives the same bytes, and merging a merged file again
//! with the shards it came from changes nothing.

use crate::results::{CellResult, ResultsFile, ShardRecord, RESULTS_SCHEMA};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// Prefix of the warnings `merge` writes; they are recomputed, not carried, on a re-merge.
pub const MERGE_WARNING_PREFIX: &str = "merge: ";

/// What to do with two different runs of the same cell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DuplicatePolicy {
    /// Refuse to merge (exit 2), naming the cell and both files.
    #[default]
    Error,
    /// Keep the finished run over an interrupted one, then the one that finished last.
    Newest,
}

/// Options of a merge.
#[derive(Clone, Debug, Default)]
pub struct MergeOptions {
    /// Merge results of different suites (or versions of one suite); the first input's
    /// suite names the output and a warning lists the others.
    pub allow_different_suites: bool,
    /// What to do with two different runs of one cell.
    pub duplicates: DuplicatePolicy,
}

/// One input: where it came from (for messages) and its content.
#[derive(Clone, Debug)]
pub struct MergeInput {
    pub path: PathBuf,
    pub results: ResultsFile,
}

/// Why inputs cannot be merged. Every message names the files involved.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("nothing to merge: give at least one results file")]
    NoInputs,
    #[error(
        "{other}: suite {other_suite} differs from {first}: suite {first_suite}; \
         merge results of one suite, or pass --allow-different-suites"
    )]
    DifferentSuites {
        first: String,
        first_suite: String,
        other: String,
        other_suite: String,
    },
    #[error(
        "cell `{id}` was run twice on one host: in {first} ({first_run}) and in {other} ({other_run}); \
         leave one file out, or pass --duplicates newest to keep the newest run"
    )]
    ConflictingCell {
        id: String,
        first: String,
        first_run: String,
        other: String,
        other_run: String,
    },
}

/// The result of a merge: the merged file and what was noticed on the way.
#[derive(Clone, Debug)]
pub struct MergeOutcome {
    pub merged: ResultsFile,
    /// Cells found in more than one input as the same run (kept once): id and the files.
    pub identical_duplicates: Vec<(String, Vec<String>)>,
    /// Cells with two different runs where `--duplicates newest` chose one: id, the kept file, the dropped file.
    pub replaced: Vec<(String, String, String)>,
    /// Cells of a shard's plan that no input holds, sorted.
    pub missing_cells: Vec<String>,
    /// Shards (`I/N of plan <hash>`) of which no input holds a record.
    pub missing_shards: Vec<String>,
}

/// A short description of one run of a cell, for messages.
fn describe_run(c: &CellResult) -> String {
    let status = format!("{:?}", c.status).to_lowercase();
    let host = if c.host_id.is_empty() {
        "unknown host"
    } else {
        c.host_id.as_str()
    };
    format!(
        "{status} on host {host}, finished {}",
        if c.finished_at.is_empty() {
            "?"
        } else {
            &c.finished_at
        }
    )
}

/// True when `a` and `b` are the same run of a cell (not two runs that happen to agree).
fn same_run(a: &CellResult, b: &CellResult) -> bool {
    if a.started_at.is_empty() && a.finished_at.is_empty() {
        return a == b;
    }
    a.id == b.id
        && a.host_id == b.host_id
        && a.started_at == b.started_at
        && a.finished_at == b.finished_at
}

/// RFC 3339 text to a comparable instant; unparseable text sorts first.
fn instant(t: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    chrono::DateTime::parse_from_rfc3339(t).ok()
}

/// True when `b` should replace `a` under [`DuplicatePolicy::Newest`].
fn newer(a: &CellResult, b: &CellResult) -> bool {
    match (a.status.is_finished(), b.status.is_finished()) {
        (false, true) => return true,
        (true, false) => return false,
        _ => {}
    }
    instant(&b.finished_at) > instant(&a.finished_at)
}

/// The suite of a file, for comparisons and messages.
fn suite_key(r: &ResultsFile) -> (String, u32, String) {
    (
        r.suite.name.clone(),
        r.suite.version,
        r.suite.sha256.clone(),
    )
}

fn suite_text(r: &ResultsFile) -> String {
    let sha: String = r.suite.sha256.chars().take(12).collect();
    format!(
        "`{}` version {} (sha256 {sha}…)",
        r.suite.name, r.suite.version
    )
}

/// Appends `w` to `list` unless it is there already.
fn push_warning(w: String, list: &mut Vec<String>) {
    if !list.contains(&w) {
        list.push(w);
    }
}

/// The first `max` items joined by `, `, and how many more there are.
pub fn abbreviate(items: &[String], max: usize) -> String {
    let mut s = items
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > max {
        s.push_str(&format!(" and {} more", items.len() - max));
    }
    s
}

/// Merges `inputs` (at least one) in the given order.
pub fn merge(inputs: &[MergeInput], opts: &MergeOptions) -> Result<MergeOutcome, MergeError> {
    let first = inputs.first().ok_or(MergeError::NoInputs)?;
    let name = |i: &MergeInput| i.path.display().to_string();
    let mut warnings: Vec<String> = Vec::new();

    // Suites.
    let mut other_suites: BTreeSet<String> = BTreeSet::new();
    for input in &inputs[1..] {
        if suite_key(&input.results) != suite_key(&first.results) {
            if !opts.allow_different_suites {
                return Err(MergeError::DifferentSuites {
                    first: name(first),
                    first_suite: suite_text(&first.results),
                    other: name(input),
                    other_suite: suite_text(&input.results),
                });
            }
            other_suites.insert(suite_text(&input.results));
        }
    }

    // Cells, keyed by (id, host): first occurrence wins unless a policy says otherwise.
    let mut cells: BTreeMap<(String, String), (CellResult, usize)> = BTreeMap::new();
    let mut identical: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut replaced = Vec::new();
    for (k, input) in inputs.iter().enumerate() {
        for cell in &input.results.cells {
            let mut cell = cell.clone();
            if cell.host_id.is_empty() {
                cell.host_id = input.results.host.fingerprint_id.clone();
            }
            let key = (cell.id.clone(), cell.host_id.clone());
            match cells.get(&key) {
                None => {
                    cells.insert(key, (cell, k));
                }
                Some((kept, kk)) if same_run(kept, &cell) => {
                    let files = identical
                        .entry(cell.id.clone())
                        .or_insert_with(|| vec![name(&inputs[*kk])]);
                    files.push(name(input));
                }
                Some((kept, kk)) => match opts.duplicates {
                    DuplicatePolicy::Error => {
                        return Err(MergeError::ConflictingCell {
                            id: cell.id.clone(),
                            first: name(&inputs[*kk]),
                            first_run: describe_run(kept),
                            other: name(input),
                            other_run: describe_run(&cell),
                        })
                    }
                    DuplicatePolicy::Newest => {
                        let kk = *kk;
                        if newer(kept, &cell) {
                            replaced.push((cell.id.clone(), name(input), name(&inputs[kk])));
                            cells.insert(key, (cell, k));
                        } else {
                            replaced.push((cell.id.clone(), name(&inputs[kk]), name(input)));
                        }
                    }
                },
            }
        }
    }
    // Sorted by (id, host), whatever the order of the inputs: the same cell on several
    // hosts side by side (the HTML report groups them by host).
    let cells: Vec<CellResult> = cells.into_values().map(|(c, _)| c).collect();

    // Hosts: the first input's is the file's host; every other host that ran a kept cell is listed.
    let host = first.results.host.clone();
    let mut known_hosts = BTreeMap::new();
    for input in inputs {
        known_hosts
            .entry(input.results.host.fingerprint_id.clone())
            .or_insert_with(|| input.results.host.clone());
        for (id, h) in &input.results.other_hosts {
            known_hosts.entry(id.clone()).or_insert_with(|| h.clone());
        }
    }
    let used: BTreeSet<&str> = cells.iter().map(|c| c.host_id.as_str()).collect();
    let other_hosts: BTreeMap<_, _> = known_hosts
        .into_iter()
        .filter(|(id, _)| id != &host.fingerprint_id && used.contains(id.as_str()))
        .collect();

    // Shards: every record once; missing shards and cells.
    let shards: Vec<ShardRecord> = inputs
        .iter()
        .flat_map(|i| i.results.shards.iter().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // A plan's cell is present when any host holds it. Shards of one matrix may run on
    // machines whose fingerprints differ (cloud runners of one type land on several CPU
    // models), so a shard is expected as often as the plan's most-run shard, not per host.
    let present: BTreeSet<&str> = cells.iter().map(|c| c.id.as_str()).collect();
    let mut missing_cells: BTreeSet<String> = BTreeSet::new();
    // Per (plan, shard count): the records per shard index and the cost sources used.
    type Group<'a> = (BTreeMap<u32, usize>, BTreeSet<&'a str>);
    let mut groups: BTreeMap<(&str, u32), Group> = BTreeMap::new();
    for s in &shards {
        missing_cells.extend(
            s.plan
                .iter()
                .filter(|id| !present.contains(id.as_str()))
                .cloned(),
        );
        let g = groups.entry((s.plan_sha256.as_str(), s.count)).or_default();
        *g.0.entry(s.index).or_default() += 1;
        g.1.insert(s.costs.as_str());
    }
    let mut missing_shards = Vec::new();
    for ((plan, count), (runs, costs)) in &groups {
        let short: String = plan.chars().take(12).collect();
        let most = runs.values().copied().max().unwrap_or(0);
        for i in 1..=*count {
            match runs.get(&i).copied().unwrap_or(0) {
                0 => missing_shards.push(format!("{i}/{count} of plan {short}")),
                n if n < most => missing_shards.push(format!(
                    "{i}/{count} of plan {short} (run on {n} host(s), other shards on {most})"
                )),
                _ => {}
            }
        }
        if costs.len() > 1 {
            let list: Vec<&str> = costs.iter().copied().collect();
            push_warning(
                format!(
                    "{MERGE_WARNING_PREFIX}the shards of plan {short} were balanced with different costs ({}); \
                     give every shard the same --shard-costs file",
                    list.join(", ")
                ),
                &mut warnings,
            );
        }
    }
    let missing_cells: Vec<String> = missing_cells.into_iter().collect();

    // Warnings: the inputs' own (not earlier merges'), then this merge's.
    let mut all_warnings: Vec<String> = Vec::new();
    for input in inputs {
        for w in &input.results.warnings {
            if !w.starts_with(MERGE_WARNING_PREFIX) {
                push_warning(w.clone(), &mut all_warnings);
            }
        }
    }
    if !other_suites.is_empty() {
        let list: Vec<String> = other_suites.into_iter().collect();
        push_warning(
            format!(
                "{MERGE_WARNING_PREFIX}merged with --allow-different-suites: cells also come from suite {}",
                list.join(", ")
            ),
            &mut warnings,
        );
    }
    if !missing_cells.is_empty() {
        push_warning(
            format!(
                "{MERGE_WARNING_PREFIX}{} cell(s) of the plan are in no input: {}",
                missing_cells.len(),
                abbreviate(&missing_cells, 20)
            ),
            &mut warnings,
        );
    }
    let available = |r: &ResultsFile| -> BTreeSet<(String, bool)> {
        r.sensors
            .iter()
            .map(|s| (s.name.clone(), s.available))
            .collect()
    };
    if inputs[1..]
        .iter()
        .any(|i| available(&i.results) != available(&first.results))
    {
        push_warning(
            format!(
                "{MERGE_WARNING_PREFIX}the inputs' hosts could measure different things; \
                 `sensors` lists those of host {} (the first input's)",
                first.results.host.fingerprint_id
            ),
            &mut warnings,
        );
    }
    let versions: BTreeSet<&str> = inputs
        .iter()
        .map(|i| i.results.zkprof_version.as_str())
        .collect();
    let zkprof_version = if versions.len() == 1 {
        first.results.zkprof_version.clone()
    } else {
        let list: Vec<&str> = versions.iter().copied().collect();
        push_warning(
            format!(
                "{MERGE_WARNING_PREFIX}inputs were written by different zkprof versions: {}",
                list.join(", ")
            ),
            &mut warnings,
        );
        env!("CARGO_PKG_VERSION").to_string()
    };
    for w in warnings {
        push_warning(w, &mut all_warnings);
    }

    let created_at = inputs
        .iter()
        .map(|i| i.results.created_at.clone())
        .min_by(|a, b| instant(a).cmp(&instant(b)).then_with(|| a.cmp(b)))
        .unwrap_or_default();
    let updated_at = inputs
        .iter()
        .map(|i| i.results.updated_at.clone())
        .max_by(|a, b| instant(a).cmp(&instant(b)).then_with(|| a.cmp(b)))
        .unwrap_or_default();

    let merged = ResultsFile {
        schema: RESULTS_SCHEMA.into(),
        zkprof_version,
        suite: first.results.suite.clone(),
        created_at,
        updated_at,
        host,
        other_hosts,
        sensors: first.results.sensors.clone(),
        cells,
        warnings: all_warnings,
        shards,
    };
    Ok(MergeOutcome {
        merged,
        identical_duplicates: identical.into_iter().collect(),
        replaced,
        missing_cells,
        missing_shards,
    })
}

#[cfg(test)]
#[path = "merge_tests.rs"]
mod tests;
