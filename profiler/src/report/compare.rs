//! `compare`: results files side by side. The first file is the baseline; every other file
//! is compared with it cell by cell (matched by cell id), with a noise-aware verdict and the
//! difference between the host fingerprints.
//!
//! Verdict rule: the spread of a cell is its [min, max] over repetitions. Overlapping
//! spreads mean "no clear difference"; otherwise the ratio (other / baseline, of medians)
//! says how much faster or slower. With a single repetition on either side the noise is
//! unknown and the verdict says so. A difference of less than [`MIN_EFFECT`] is reported as
//! no clear difference even when the spreads are apart (peak memory often varies by a few
//! pages only, which separates the spreads without mattering).

use super::view;
use super::Loaded;
use crate::results::Summary;
use crate::results::{CellResult, CellStatus};
use serde::Serialize;
use std::collections::BTreeMap;

/// Smallest relative difference of medians that counts as a difference (2%).
pub const MIN_EFFECT: f64 = 0.02;

/// The verdict for one measure of one cell.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "verdict", content = "ratio")]
pub enum Verdict {
    /// The spreads overlap.
    NoClearDifference,
    /// Lower than the baseline (ratio < 1) with separated spreads.
    Lower(f64),
    /// Higher than the baseline (ratio > 1) with separated spreads.
    Higher(f64),
    /// Fewer than two repetitions on a side: the noise cannot be judged.
    NoiseUnknown(f64),
    /// Not measured on one side.
    Missing,
}

impl Verdict {
    /// Judges `other` against `base` (see the module doc).
    pub fn judge(base: Option<&Summary>, other: Option<&Summary>) -> Verdict {
        let (Some(b), Some(o)) = (base, other) else {
            return Verdict::Missing;
        };
        if b.n == 0 || o.n == 0 || b.median <= 0.0 {
            return Verdict::Missing;
        }
        let ratio = o.median / b.median;
        if b.n < 2 || o.n < 2 {
            return Verdict::NoiseUnknown(ratio);
        }
        if (o.min <= b.max && b.min <= o.max) || (ratio - 1.0).abs() < MIN_EFFECT {
            Verdict::NoClearDifference
        } else if ratio < 1.0 {
            Verdict::Lower(ratio)
        } else {
            Verdict::Higher(ratio)
        }
    }

    /// Words for a table: `faster ×0.62`, `no clear difference`, ...
    pub fn words(&self, lower: &str, higher: &str) -> String {
        match self {
            Verdict::NoClearDifference => "no clear difference".into(),
            Verdict::Lower(r) => format!("{lower} (×{r:.2})"),
            Verdict::Higher(r) => format!("{higher} (×{r:.2})"),
            Verdict::NoiseUnknown(r) => format!("×{r:.2}, noise unknown (1 repetition)"),
            Verdict::Missing => "—".into(),
        }
    }
}

/// One cell compared.
#[derive(Debug, Serialize)]
pub struct CellComparison {
    pub id: String,
    pub base_status: Option<String>,
    pub other_status: Option<String>,
    pub base_prove_s: Option<Summary>,
    pub other_prove_s: Option<Summary>,
    pub time: Verdict,
    pub base_peak_bytes: Option<Summary>,
    pub other_peak_bytes: Option<Summary>,
    pub memory: Verdict,
    /// Why a side has no numbers (status and reason, or "not in file").
    pub note: String,
}

/// A host field that differs.
#[derive(Debug, Serialize, PartialEq)]
pub struct FieldDiff {
    pub field: String,
    pub base: String,
    pub other: String,
}

/// One file compared with the baseline.
#[derive(Debug, Serialize)]
pub struct Comparison {
    pub base: String,
    pub other: String,
    pub host_diff: Vec<FieldDiff>,
    pub cells: Vec<CellComparison>,
}

fn status_of(c: Option<&CellResult>) -> Option<String> {
    c.map(|c| view::status_word(c.status).to_string())
}

fn side_note(side: &str, c: Option<&CellResult>) -> Option<String> {
    match c {
        None => Some(format!("not in {side}")),
        Some(c) if c.status != CellStatus::Ok => Some(format!(
            "{side}: {} ({})",
            view::status_word(c.status),
            c.reason.as_deref().unwrap_or("no reason given")
        )),
        _ => None,
    }
}

/// Fields that differ between two flattened records (missing fields show as `—`).
pub fn field_diff(a: &[(String, String)], b: &[(String, String)]) -> Vec<FieldDiff> {
    let mut keys: Vec<&String> = a.iter().chain(b).map(|(k, _)| k).collect();
    keys.sort();
    keys.dedup();
    let get = |t: &[(String, String)], k: &str| {
        t.iter()
            .find(|(x, _)| x == k)
            .map_or("—".to_string(), |(_, v)| v.clone())
    };
    keys.into_iter()
        .filter_map(|k| {
            let (x, y) = (get(a, k), get(b, k));
            (x != y).then(|| FieldDiff {
                field: k.clone(),
                base: x,
                other: y,
            })
        })
        .collect()
}

/// Cells by id; the first cell of an id wins (a file holds each id once).
fn index(l: &Loaded) -> BTreeMap<&str, &CellResult> {
    let mut m = BTreeMap::new();
    for c in &l.results.cells {
        m.entry(c.id.as_str()).or_insert(c);
    }
    m
}

/// A cell id without its `version` setting, so that the cells of two versions of a framework
/// pair up (`m/ezkl/scales=[2,7],version=7.1.4/native` -> `m/ezkl/scales=[2,7]/native`).
pub fn version_blind(id: &str) -> String {
    id.split('/')
        .map(|part| {
            let kept: Vec<&str> = part
                .split(',')
                .filter(|kv| !kv.starts_with("version="))
                .collect();
            if kept.is_empty() {
                "default".to_string()
            } else {
                kept.join(",")
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The framework version a cell ran, for the note of a row pairing two versions.
fn version_of(c: &CellResult) -> String {
    let fam = super::reproduce::family(&c.framework);
    super::reproduce_verdict::framework_version(c, &fam).unwrap_or_else(|| "unknown".into())
}

/// The rows of a comparison: cells of the same id, then cells that differ only in their
/// `version` setting (one on each side), baseline order first.
fn pairs<'a>(
    base: &'a Loaded,
    other: &'a Loaded,
) -> Vec<(String, Option<&'a CellResult>, Option<&'a CellResult>)> {
    let (bi, oi) = (index(base), index(other));
    let mut ids: Vec<&str> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for c in base.results.cells.iter().chain(&other.results.cells) {
        if seen.insert(c.id.as_str()) {
            ids.push(&c.id);
        }
    }
    let only = |ix: &BTreeMap<&str, &'a CellResult>, there: &BTreeMap<&str, &'a CellResult>| {
        let mut m: BTreeMap<String, Vec<&'a CellResult>> = BTreeMap::new();
        for (id, c) in ix {
            if !there.contains_key(id) {
                m.entry(version_blind(id)).or_default().push(*c);
            }
        }
        m
    };
    let (b_only, o_only) = (only(&bi, &oi), only(&oi, &bi));
    let partner = |blind: &str| match (b_only.get(blind), o_only.get(blind)) {
        (Some(b), Some(o)) if b.len() == 1 && o.len() == 1 => Some((b[0], o[0])),
        _ => None,
    };
    let mut out = Vec::new();
    let mut done = std::collections::BTreeSet::new();
    for id in ids {
        if let (Some(b), Some(o)) = (bi.get(id), oi.get(id)) {
            out.push((id.to_string(), Some(*b), Some(*o)));
            continue;
        }
        let blind = version_blind(id);
        match partner(&blind) {
            Some((b, o)) => {
                if done.insert(blind.clone()) {
                    out.push((blind, Some(b), Some(o)));
                }
            }
            None => out.push((id.to_string(), bi.get(id).copied(), oi.get(id).copied())),
        }
    }
    out
}

/// Compares `other` with `base`: every cell of either file, baseline order first; cells that
/// differ only in their `version` setting are compared with each other (the regression view
/// of two framework versions on one machine).
pub fn compare(base: &Loaded, other: &Loaded) -> Comparison {
    let cells = pairs(base, other)
        .into_iter()
        .map(|(id, b, o)| {
            let bw = b.and_then(view::prove_wall);
            let ow = o.and_then(view::prove_wall);
            let bm = b.and_then(view::prove_peak);
            let om = o.and_then(view::prove_peak);
            let label = b.or(o).and_then(view::proof_label).map(String::from);
            let versions = match (b, o) {
                (Some(b), Some(o)) if b.id != o.id => {
                    Some(format!("version {} vs {}", version_of(b), version_of(o)))
                }
                _ => None,
            };
            let note = [
                versions,
                label,
                side_note("baseline", b),
                side_note("other", o),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("; ");
            CellComparison {
                id,
                base_status: status_of(b),
                other_status: status_of(o),
                time: Verdict::judge(bw.as_ref(), ow.as_ref()),
                memory: Verdict::judge(bm.as_ref(), om.as_ref()),
                base_prove_s: bw,
                other_prove_s: ow,
                base_peak_bytes: bm,
                other_peak_bytes: om,
                note,
            }
        })
        .collect();
    let mut host_diff = field_diff(
        &view::host_fields(&base.results.host),
        &view::host_fields(&other.results.host),
    );
    for (field, x, y) in [
        (
            "zkprof_version",
            &base.results.zkprof_version,
            &other.results.zkprof_version,
        ),
        (
            "suite.name",
            &base.results.suite.name,
            &other.results.suite.name,
        ),
        (
            "suite.sha256",
            &base.results.suite.sha256,
            &other.results.suite.sha256,
        ),
    ] {
        if x != y {
            host_diff.push(FieldDiff {
                field: field.into(),
                base: x.clone(),
                other: y.clone(),
            });
        }
    }
    Comparison {
        base: base.label.clone(),
        other: other.label.clone(),
        host_diff,
        cells,
    }
}

/// Table rows for text or markdown output.
pub fn rows(c: &Comparison) -> Vec<Vec<String>> {
    use crate::units::{format_bytes, format_seconds};
    let t = |s: &Option<Summary>| {
        s.map_or("—".into(), |s| match s.n {
            1 => format_seconds(s.median),
            _ => format!(
                "{} ± {}",
                format_seconds(s.median),
                format_seconds(s.stddev)
            ),
        })
    };
    let m = |s: &Option<Summary>| s.map_or("—".into(), |s| format_bytes(s.median));
    c.cells
        .iter()
        .map(|x| {
            vec![
                x.id.clone(),
                t(&x.base_prove_s),
                t(&x.other_prove_s),
                x.time.words("faster", "slower"),
                m(&x.base_peak_bytes),
                m(&x.other_peak_bytes),
                x.memory.words("less memory", "more memory"),
                x.note.clone(),
            ]
        })
        .collect()
}

/// The header matching [`rows`].
pub const HEADER: [&str; 8] = [
    "cell",
    "baseline prove",
    "other prove",
    "time",
    "baseline memory",
    "other memory",
    "memory",
    "note",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[f64]) -> Summary {
        Summary::of(v)
    }

    #[test]
    fn overlapping_spreads_are_no_clear_difference() {
        assert_eq!(
            Verdict::judge(Some(&s(&[1.0, 1.2, 1.1])), Some(&s(&[1.15, 1.3, 1.25]))),
            Verdict::NoClearDifference
        );
    }

    #[test]
    fn separated_spreads_give_a_ratio() {
        match Verdict::judge(Some(&s(&[2.0, 2.1, 2.05])), Some(&s(&[1.0, 1.1, 1.05]))) {
            Verdict::Lower(r) => assert!((r - 1.05 / 2.05).abs() < 1e-12),
            v => panic!("{v:?}"),
        }
        assert!(matches!(
            Verdict::judge(Some(&s(&[1.0, 1.1])), Some(&s(&[3.0, 3.3]))),
            Verdict::Higher(_)
        ));
    }

    #[test]
    fn tiny_differences_do_not_count() {
        let b = s(&[100.0, 100.1, 100.2]);
        let o = s(&[101.0, 101.1, 101.2]);
        assert_eq!(
            Verdict::judge(Some(&b), Some(&o)),
            Verdict::NoClearDifference
        );
    }

    #[test]
    fn single_runs_and_missing_sides_say_so() {
        assert!(matches!(
            Verdict::judge(Some(&s(&[1.0])), Some(&s(&[2.0, 2.1]))),
            Verdict::NoiseUnknown(_)
        ));
        assert_eq!(Verdict::judge(None, Some(&s(&[1.0]))), Verdict::Missing);
    }

    #[test]
    fn field_diff_lists_changed_and_missing_fields() {
        let a = vec![
            ("cpu".to_string(), "A".to_string()),
            ("os".into(), "x".into()),
        ];
        let b = vec![
            ("cpu".to_string(), "B".to_string()),
            ("os".into(), "x".into()),
            ("gpu".into(), "H100".into()),
        ];
        let d = field_diff(&a, &b);
        assert_eq!(d.len(), 2);
        assert_eq!(
            d[0],
            FieldDiff {
                field: "cpu".into(),
                base: "A".into(),
                other: "B".into()
            }
        );
        assert_eq!(d[1].field, "gpu");
        assert_eq!(d[1].base, "—");
    }
}
