//! Short, distinct names for cells shown side by side: `196_25_10 · ezkl · calibration=accuracy`.
//!
//! A cell's id spells every setting (`m/ezkl/accuracy_samples=100,calibration=resources,.../native`),
//! which makes a chart label or a table column unreadable. Among the cells being shown
//! together, a label keeps the model and the framework, and of the settings and the runtime
//! only those that differ between the cells; settings that only say how much was measured
//! ([`MEASUREMENT_ONLY`]) are never part of the shown identity. Full settings stay in the
//! details tables.

use crate::results::CellResult;
use std::collections::{BTreeMap, BTreeSet};

/// Settings that change how much is measured, not what is proved: left out of labels.
pub const MEASUREMENT_ONLY: [&str; 3] = ["accuracy_samples", "testing_size", "input_index"];

/// Separator between the parts of a label.
pub const SEP: &str = " · ";

/// A setting's value as text (`resources`, `[2,7]`, `2`).
pub fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The settings keys (and whether the runtime) that differ between `cells` of the same
/// framework, measurement-only keys left out: a key one framework has and another lacks
/// (EZKL's `calibration`, circom's `decimals`) names nothing the framework does not already.
/// Within a framework, a key missing from some cells differs from one that is present.
pub fn varying(cells: &[&CellResult]) -> (Vec<String>, bool) {
    let mut by_framework: BTreeMap<&str, Vec<&CellResult>> = BTreeMap::new();
    for c in cells {
        by_framework
            .entry(c.framework.as_str())
            .or_default()
            .push(c);
    }
    let mut keys: BTreeSet<&str> = BTreeSet::new();
    for group in by_framework.values() {
        let group_keys: BTreeSet<&str> = group
            .iter()
            .flat_map(|c| c.settings.keys().map(String::as_str))
            .filter(|k| !MEASUREMENT_ONLY.contains(k))
            .collect();
        for k in group_keys {
            // Compared as values, without making text of them: this runs for every chart.
            let first = group[0].settings.get(k);
            if group.iter().any(|c| c.settings.get(k) != first) {
                keys.insert(k);
            }
        }
    }
    let runtimes: BTreeSet<&str> = cells.iter().map(|c| c.runtime.as_str()).collect();
    (
        keys.into_iter().map(str::to_string).collect(),
        runtimes.len() > 1,
    )
}

/// The label of `cell` given what varies (see [`varying`]).
pub fn label_with(cell: &CellResult, keys: &[String], runtime: bool) -> String {
    let mut parts = vec![cell.model.clone(), cell.framework.clone()];
    for k in keys {
        if let Some(v) = cell.settings.get(k) {
            parts.push(format!("{k}={}", value_text(v)));
        }
    }
    if runtime {
        parts.push(cell.runtime.clone());
    }
    parts.join(SEP)
}

/// Labels for `cells`, one each, in order: only the differing settings (see the module doc).
/// Two cells that differ only in measurement-only settings get the same label.
pub fn short_labels(cells: &[&CellResult]) -> Vec<String> {
    let (keys, runtime) = varying(cells);
    cells
        .iter()
        .map(|c| label_with(c, &keys, runtime))
        .collect()
}

/// The settings that are the same in every one of `cells` (measurement-only ones included),
/// as `key=value` in key order: what a page says once instead of in every label.
pub fn common_settings(cells: &[&CellResult]) -> Vec<String> {
    let Some(first) = cells.first() else {
        return Vec::new();
    };
    first
        .settings
        .iter()
        .filter(|(k, v)| cells.iter().all(|c| c.settings.get(*k) == Some(v)))
        .map(|(k, v)| format!("{k}={}", value_text(v)))
        .collect()
}

/// Cuts `s` to at most `max` characters, ending in `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A short, readable name for each host of `rows`, by fingerprint id: the hostname, or the
/// first 8 characters of the id where the hostname is missing or shared by two hosts.
pub fn host_labels(rows: &[super::view::Row]) -> BTreeMap<String, String> {
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for r in rows {
        names
            .entry(super::view::host_id(r).to_string())
            .or_insert_with(|| super::view::host_of(r).hostname.clone());
    }
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for n in names.values() {
        *count.entry(n.as_str()).or_default() += 1;
    }
    let count: BTreeMap<String, usize> =
        count.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    names
        .iter()
        .map(|(id, n)| {
            let short: String = id.chars().take(8).collect();
            let label = if n.is_empty() {
                short
            } else if count.get(n).copied().unwrap_or(0) > 1 {
                format!("{n} ({short})")
            } else {
                n.clone()
            };
            (id.clone(), label)
        })
        .collect()
}

/// How the cells of one page are named: which settings differ, whether runtimes and hosts
/// do, and each host's short name.
#[derive(Clone, Debug, Default)]
pub struct Names {
    /// Settings keys that differ between the cells (measurement-only ones left out).
    pub keys: Vec<String>,
    pub runtime: bool,
    /// Host labels by fingerprint id; more than one entry means several hosts.
    pub hosts: BTreeMap<String, String>,
}

impl Names {
    /// The names for `rows`.
    pub fn of(rows: &[super::view::Row]) -> Names {
        let cells: Vec<&CellResult> = rows.iter().map(|r| r.cell).collect();
        let (keys, runtime) = varying(&cells);
        Names {
            keys,
            runtime,
            hosts: host_labels(rows),
        }
    }

    /// True when the rows come from several hosts.
    pub fn several_hosts(&self) -> bool {
        self.hosts.len() > 1
    }

    /// The settings of a cell for a chart: string values alone (`resources`), others with
    /// their key (`scales=[2,7]`, `cpus=2`); only the keys that differ.
    pub fn settings(&self, cell: &CellResult) -> Vec<String> {
        self.keys
            .iter()
            .filter_map(|k| {
                cell.settings.get(k).map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => format!("{k}={other}"),
                })
            })
            .chain(self.runtime.then(|| cell.runtime.clone()))
            .collect()
    }

    /// The host label of a row (`@lab-a`), empty when there is one host.
    pub fn host_suffix(&self, row: &super::view::Row) -> String {
        if !self.several_hosts() {
            return String::new();
        }
        let id = super::view::host_id(row);
        format!(" @{}", self.hosts.get(id).map_or(id, String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::CellStatus;

    fn cell(model: &str, fw: &str, settings: &[(&str, serde_json::Value)]) -> CellResult {
        CellResult {
            id: format!("{model}/{fw}/x/native"),
            model: model.into(),
            framework: fw.into(),
            settings: settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            runtime: "native".into(),
            status: CellStatus::Ok,
            reason: None,
            repetitions: Vec::new(),
            summary: BTreeMap::new(),
            metrics: BTreeMap::new(),
            info: BTreeMap::new(),
            host_id: String::new(),
            started_at: String::new(),
            finished_at: String::new(),
            warnings: Vec::new(),
        }
    }

    #[test]
    fn only_differing_settings_are_named() {
        use serde_json::json;
        let a = cell(
            "m1",
            "ezkl",
            &[
                ("calibration", json!("resources")),
                ("accuracy_samples", json!(100)),
                ("input_visibility", json!("public")),
            ],
        );
        let b = cell(
            "m1",
            "ezkl",
            &[
                ("calibration", json!("accuracy")),
                ("accuracy_samples", json!(10)),
                ("input_visibility", json!("public")),
            ],
        );
        let c = cell("m1", "circom", &[("decimals", json!(18))]);
        let labels = short_labels(&[&a, &b, &c]);
        assert_eq!(
            labels,
            [
                "m1 · ezkl · calibration=resources",
                "m1 · ezkl · calibration=accuracy",
                "m1 · circom",
            ],
            "circom's own setting and ezkl's common one name nothing"
        );
        assert_eq!(
            short_labels(&[&a, &b]),
            [
                "m1 · ezkl · calibration=resources",
                "m1 · ezkl · calibration=accuracy"
            ]
        );
        assert_eq!(
            common_settings(&[&a, &b]),
            ["input_visibility=public".to_string()]
        );
    }

    #[test]
    fn truncation_marks_the_cut() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}
