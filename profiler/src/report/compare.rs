//! `compare`: machines and results files side by side. Every (file, host) is a side (see
//! `compare_sides.rs`); the first side, or `--baseline`, is the baseline. Per cell (matched by
//! id; cells that differ only in their `version` setting pair up) each side's prove time,
//! peak memory and energy per proof, its ratio to the baseline and a noise-aware verdict;
//! per side the geometric mean of the ratios over the cells every side ran, the cost per
//! proof where a price was given, and how its fingerprint differs from the baseline's.
//!
//! Verdict rule: the spread of a cell is its [min, max] over repetitions. Overlapping
//! spreads mean "no clear difference"; otherwise the ratio (other / baseline, of medians)
//! says how much faster or slower. With a single repetition on either side the noise is
//! unknown and the verdict says so. A difference of less than [`MIN_EFFECT`] is reported as
//! no clear difference even when the spreads are apart (peak memory often varies by a few
//! pages only, which separates the spreads without mattering).

use super::compare_sides::{self, Side, SideCells, SideError};
use super::view;
use super::Loaded;
use crate::results::Summary;
use crate::results::{CellResult, CellStatus};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

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

/// A host field that differs.
#[derive(Debug, Serialize, PartialEq)]
pub struct FieldDiff {
    pub field: String,
    pub base: String,
    pub other: String,
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

/// What to compare against, and prices.
#[derive(Clone, Debug, Default)]
pub struct CompareOptions {
    /// The baseline side (hostname, fingerprint id or file); the first side when `None`.
    pub baseline: Option<String>,
    /// `HOST=USD_PER_HOUR` for cost per proof.
    pub prices: Vec<String>,
}

/// One side's figures for one cell.
#[derive(Debug, Serialize)]
pub struct SideCell {
    /// `ok`, `failed`, ..., or `None` when the side did not run the cell.
    pub status: Option<String>,
    /// Wall time of the prove step, seconds.
    pub prove_s: Option<Summary>,
    /// Peak working set of the prove step's process tree, bytes.
    pub peak_bytes: Option<Summary>,
    /// Energy of one prove step, joules.
    pub energy_j: Option<Summary>,
    /// US dollars per proof: the side's price per hour times the prove time (derived from
    /// the price given, not measured).
    pub cost_usd: Option<f64>,
    pub time: Verdict,
    pub memory: Verdict,
    pub energy: Verdict,
    /// Why the side has no figures (not run, failed and why).
    pub note: Option<String>,
}

/// One cell across the sides.
#[derive(Debug, Serialize)]
pub struct CellRow {
    /// The cell id (without `version=` when cells of several versions pair up).
    pub id: String,
    /// A short label (see `labels.rs`).
    pub label: String,
    /// One entry per side, in side order.
    pub sides: Vec<SideCell>,
    /// What applies to the whole row (framework versions paired, proof kind).
    pub note: String,
}

/// Geometric means of one side's ratios to the baseline.
#[derive(Debug, Default, Serialize)]
pub struct GeoMean {
    /// Prove time ratio, over the cells with a prove time on every side.
    pub time: Option<f64>,
    /// How many cells `time` is over.
    pub time_cells: usize,
    /// Peak memory ratio, over the same cells.
    pub memory: Option<f64>,
    /// Energy per proof ratio, over the cells with energy on every side.
    pub energy: Option<f64>,
    pub energy_cells: usize,
}

/// A side's fingerprint against the baseline's.
#[derive(Debug, Serialize)]
pub struct HostDiff {
    pub side: String,
    pub fields: Vec<FieldDiff>,
}

/// The whole comparison.
#[derive(Debug, Serialize)]
pub struct Comparison {
    pub sides: Vec<Side>,
    /// Index of the baseline in `sides`.
    pub baseline: usize,
    /// One entry per non-baseline side.
    pub host_diff: Vec<HostDiff>,
    pub cells: Vec<CellRow>,
    /// One entry per side (the baseline's ratios are 1).
    pub geomean: Vec<GeoMean>,
    /// Why no side has energy figures, per file (the sensors that could not measure).
    pub energy_absent: Vec<String>,
}

/// The framework version a cell ran, for the note of a row pairing two versions.
fn version_of(c: &CellResult) -> String {
    let fam = super::reproduce::family(&c.framework);
    super::reproduce_verdict::framework_version(c, &fam).unwrap_or_else(|| "unknown".into())
}

/// The row keys: ids every side holds as they are; otherwise cells that differ only in
/// their `version` setting, at most one per side, pair up under the version-blind id.
fn row_keys<'a>(cells: &[SideCells<'a>]) -> Vec<(String, Vec<Option<&'a CellResult>>)> {
    let mut ids: Vec<&str> = Vec::new();
    let mut seen = BTreeSet::new();
    for side in cells {
        for (id, c) in side {
            let _ = c;
            if seen.insert(*id) {
                ids.push(id);
            }
        }
    }
    let everywhere = |id: &str| cells.iter().all(|s| s.contains_key(id));
    // Per version-blind id, per side: the cells not held by every side.
    let mut blind: BTreeMap<String, Vec<Vec<&'a CellResult>>> = BTreeMap::new();
    for id in &ids {
        if everywhere(id) {
            continue;
        }
        let e = blind
            .entry(version_blind(id))
            .or_insert_with(|| vec![Vec::new(); cells.len()]);
        for (k, side) in cells.iter().enumerate() {
            if let Some(c) = side.get(id) {
                e[k].push(c);
            }
        }
    }
    let pairs = |b: &str| {
        let g = blind.get(b)?;
        let distinct: BTreeSet<&str> = g.iter().flatten().map(|c| c.id.as_str()).collect();
        (g.iter().all(|v| v.len() <= 1)
            && g.iter().filter(|v| v.len() == 1).count() > 1
            && distinct.len() > 1)
            .then(|| g.iter().map(|v| v.first().copied()).collect::<Vec<_>>())
    };
    let mut out = Vec::new();
    let mut done = BTreeSet::new();
    for id in ids {
        if !everywhere(id) {
            let b = version_blind(id);
            if let Some(row) = pairs(&b) {
                if done.insert(b.clone()) {
                    out.push((b, row));
                }
                continue;
            }
        }
        out.push((
            id.to_string(),
            cells.iter().map(|s| s.get(id).copied()).collect(),
        ));
    }
    out
}

/// Energy per proof over the measured prove runs (the cell metric as one value otherwise).
fn energy_summary(cell: &CellResult) -> Option<Summary> {
    let runs = view::prove_energies(cell);
    if !runs.is_empty() {
        return Some(Summary::of(&runs));
    }
    view::energy_per_proof(cell).map(|e| Summary::of(&[e]))
}

fn side_note(c: Option<&CellResult>) -> Option<String> {
    match c {
        None => Some("not run".into()),
        Some(c) if c.status != CellStatus::Ok => Some(view::status_with_reason(c)),
        _ => None,
    }
}

fn geomean(ratios: &[f64]) -> Option<f64> {
    let ok: Vec<f64> = ratios
        .iter()
        .copied()
        .filter(|r| *r > 0.0 && r.is_finite())
        .collect();
    (!ok.is_empty() && ok.len() == ratios.len())
        .then(|| (ok.iter().map(|r| r.ln()).sum::<f64>() / ok.len() as f64).exp())
}

/// Compares every side of `files` with the baseline (see the module doc).
pub fn compare(files: &[Loaded], opts: &CompareOptions) -> Result<Comparison, SideError> {
    let (mut sides, cells) = compare_sides::sides(files);
    if sides.len() < 2 {
        return Err(SideError::OneSide);
    }
    compare_sides::apply_prices(&mut sides, &opts.prices)?;
    let baseline = match &opts.baseline {
        Some(b) => compare_sides::find(&sides, b, "--baseline")?,
        None => 0,
    };
    let keys = row_keys(&cells);
    let shown: Vec<&CellResult> = keys
        .iter()
        .filter_map(|(_, v)| v.iter().flatten().next().copied())
        .collect();
    let labels = super::labels::short_labels(&shown);
    let mut rows = Vec::new();
    for ((id, row), label) in keys.into_iter().zip(labels) {
        let base = row[baseline];
        let (bt, bm, be) = (
            base.and_then(view::prove_wall),
            base.and_then(view::prove_peak),
            base.and_then(energy_summary),
        );
        let per_side: Vec<SideCell> = row
            .iter()
            .zip(&sides)
            .map(|(c, side)| {
                let c = *c;
                let t = c.and_then(view::prove_wall);
                let m = c.and_then(view::prove_peak);
                let e = c.and_then(energy_summary);
                SideCell {
                    status: c.map(|c| view::status_word(c.status).to_string()),
                    cost_usd: side
                        .price_usd_per_hour
                        .zip(t)
                        .map(|(p, t)| p / 3600.0 * t.median),
                    time: Verdict::judge(bt.as_ref(), t.as_ref()),
                    memory: Verdict::judge(bm.as_ref(), m.as_ref()),
                    energy: Verdict::judge(be.as_ref(), e.as_ref()),
                    prove_s: t,
                    peak_bytes: m,
                    energy_j: e,
                    note: side_note(c),
                }
            })
            .collect();
        let versions: BTreeSet<&str> = row.iter().flatten().map(|c| c.id.as_str()).collect();
        let mut note = Vec::new();
        if versions.len() > 1 {
            let v: Vec<String> = row
                .iter()
                .map(|c| c.map_or("—".into(), version_of))
                .collect();
            note.push(format!("version {}", v.join(" vs ")));
        }
        if let Some(l) = row.iter().flatten().find_map(|c| view::proof_label(c)) {
            note.push(l.to_string());
        }
        rows.push(CellRow {
            id,
            label,
            sides: per_side,
            note: note.join("; "),
        });
    }
    let ratio = |r: &CellRow, k: usize, f: fn(&SideCell) -> Option<Summary>| {
        let (b, o) = (f(&r.sides[baseline])?, f(&r.sides[k])?);
        (b.median > 0.0).then(|| o.median / b.median)
    };
    let all_timed: Vec<&CellRow> = rows
        .iter()
        .filter(|r| {
            r.sides
                .iter()
                .all(|s| s.prove_s.is_some() && s.status.as_deref() == Some("ok"))
        })
        .collect();
    let all_energy: Vec<&CellRow> = all_timed
        .iter()
        .copied()
        .filter(|r| r.sides.iter().all(|s| s.energy_j.is_some()))
        .collect();
    let geo = (0..sides.len())
        .map(|k| {
            let of = |rows: &[&CellRow], f: fn(&SideCell) -> Option<Summary>| {
                let v: Vec<f64> = rows.iter().filter_map(|r| ratio(r, k, f)).collect();
                (v.len() == rows.len()).then(|| geomean(&v)).flatten()
            };
            GeoMean {
                time: of(&all_timed, |s| s.prove_s),
                time_cells: all_timed.len(),
                memory: of(&all_timed, |s| s.peak_bytes),
                energy: of(&all_energy, |s| s.energy_j),
                energy_cells: all_energy.len(),
            }
        })
        .collect();
    let host_diff = (0..sides.len())
        .filter(|&k| k != baseline)
        .map(|k| HostDiff {
            side: sides[k].label.clone(),
            fields: host_fields_diff(files, &sides[baseline], &sides[k]),
        })
        .collect();
    let mut energy_absent: Vec<String> = Vec::new();
    for f in files {
        let why = view::energy_absent_reason(&f.results.sensors);
        if !energy_absent.contains(&why) {
            energy_absent.push(why);
        }
    }
    Ok(Comparison {
        sides,
        baseline,
        host_diff,
        cells: rows,
        geomean: geo,
        energy_absent,
    })
}

/// How side `o`'s host and file differ from the baseline side `b`'s.
fn host_fields_diff(files: &[Loaded], b: &Side, o: &Side) -> Vec<FieldDiff> {
    let hb = compare_sides::host_in(files, b.file_index, &b.host_id);
    let ho = compare_sides::host_in(files, o.file_index, &o.host_id);
    let mut diff = field_diff(&view::host_fields(hb), &view::host_fields(ho));
    let (rb, ro) = (&files[b.file_index].results, &files[o.file_index].results);
    for (field, x, y) in [
        ("zkprof_version", &rb.zkprof_version, &ro.zkprof_version),
        ("suite.name", &rb.suite.name, &ro.suite.name),
        ("suite.sha256", &rb.suite.sha256, &ro.suite.sha256),
    ] {
        if x != y {
            diff.push(FieldDiff {
                field: field.into(),
                base: x.clone(),
                other: y.clone(),
            });
        }
    }
    diff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geomean_needs_every_ratio() {
        assert!((geomean(&[2.0, 8.0]).unwrap() - 4.0).abs() < 1e-12);
        assert_eq!(geomean(&[2.0, 0.0]), None);
        assert_eq!(geomean(&[]), None);
    }

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
