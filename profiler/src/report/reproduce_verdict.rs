//! Did a published row reproduce? Versions, the published method's time, and a verdict per
//! row, with the summary line `reproduce` ends on.
//!
//! A row is **reproduced** when our cell ran the published framework version and its
//! accuracy loss is within [`ACCURACY_TOLERANCE_PP`] of the published one. Time and memory
//! are ratios, never part of the verdict: the published hardware is unknown.

use crate::results::CellResult;
use serde::Serialize;
use std::collections::BTreeMap;

/// How far our accuracy loss may be from the published one, percentage points.
pub const ACCURACY_TOLERANCE_PP: f64 = 0.5;

/// The answer for one published row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Same version, accuracy loss within the tolerance.
    Reproduced,
    /// Same version, accuracy loss outside the tolerance.
    NotReproduced,
    /// Ran, with another framework version: not a reproduction.
    OtherVersion,
    /// Ran, but the cell does not say which version (older results): not a reproduction.
    UnknownVersion,
    /// Ran with the same version, but its accuracy loss is over another number of test images
    /// than the row's (e.g. the row's 10,000 against our 2,500): not comparable.
    OtherTestSize,
    /// Ran with the same version (or an unknown published one) but a figure the verdict needs
    /// (accuracy loss) was not measured.
    Incomplete,
    /// No cell of ours ran it (the status says why).
    NotRun,
}

impl Verdict {
    /// The word in tables.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Reproduced => "reproduced",
            Verdict::NotReproduced => "not reproduced",
            Verdict::OtherVersion => "other version",
            Verdict::UnknownVersion => "version unknown",
            Verdict::OtherTestSize => "other test size",
            Verdict::Incomplete => "incomplete",
            Verdict::NotRun => "not run",
        }
    }
}

/// The framework version a cell ran: `info.framework_version`, else what its adapter records
/// (`ezkl_version`, `<family>_commit`, circom's `tools`).
pub fn framework_version(cell: &CellResult, family: &str) -> Option<String> {
    let keys = [
        "framework_version".to_string(),
        format!("{family}_version"),
        format!("{family}_commit"),
        "tools".to_string(),
    ];
    keys.iter()
        .find_map(|k| cell.info.get(k))
        .filter(|v| !v.is_empty() && v.as_str() != "unknown")
        .cloned()
}

/// Whether our version is the published one: equal, or for commits, one a prefix of the other
/// (`43789582` and the full hash).
pub fn versions_match(published: &str, ours: &str) -> bool {
    let (p, o) = (published.trim(), ours.trim());
    if p.eq_ignore_ascii_case(o) {
        return true;
    }
    let hex = |s: &str| s.len() >= 7 && s.chars().all(|c| c.is_ascii_hexdigit());
    hex(p) && hex(o) && (o.starts_with(p) || p.starts_with(o))
}

/// The steps whose wall time the published number covers, by framework family: the 2024
/// EZKL pipeline timed one subprocess that calibrated, compiled, set up and proved; zkml's
/// `time_circuit` is one process (our prove step, whole); the others timed the prove alone.
pub fn published_method_steps(family: &str) -> &'static [&'static str] {
    match family {
        "ezkl" => &["compile", "setup", "witness", "prove"],
        _ => &["prove"],
    }
}

/// Our time by the published method, seconds: the sum over [`published_method_steps`] of
/// each step's median whole-step wall time (a phased step counts whole, as the published
/// subprocess did). `None` when one of the steps never ran in the cell (e.g. compile and setup
/// came from zkprof's cache: rerun with an empty cache for this figure).
pub fn published_method_seconds(cell: &CellResult, family: &str) -> Option<f64> {
    let mut total = 0.0;
    for step in published_method_steps(family) {
        let walls: Vec<f64> = cell
            .repetitions
            .iter()
            .filter(|r| !r.warmup)
            .flat_map(|r| r.steps.iter())
            .filter(|s| s.step == *step && s.succeeded())
            .map(|s| s.wall_s)
            .collect();
        if walls.is_empty() {
            return None;
        }
        total += crate::results::Summary::of(&walls).median;
    }
    Some(total)
}

/// The verdict of a row that ran: `versions` is (published, ours) when both are known,
/// `test_sizes` (published, ours) the images the accuracy losses are over.
pub fn verdict(
    versions: (Option<&str>, Option<&str>),
    test_sizes: (u32, Option<f64>),
    loss_diff_pp: Option<f64>,
) -> Verdict {
    match versions {
        (Some(p), Some(o)) if !versions_match(p, o) => return Verdict::OtherVersion,
        (Some(_), None) => return Verdict::UnknownVersion,
        _ => {}
    }
    if let (published, Some(ours)) = test_sizes {
        if loss_diff_pp.is_some() && (ours - published as f64).abs() > 0.5 {
            return Verdict::OtherTestSize;
        }
    }
    match loss_diff_pp {
        None => Verdict::Incomplete,
        Some(d) if d.abs() <= ACCURACY_TOLERANCE_PP + 1e-9 => Verdict::Reproduced,
        Some(_) => Verdict::NotReproduced,
    }
}

/// Counts of verdicts, and why rows did not run.
#[derive(Debug, Default, Serialize)]
pub struct Tally {
    pub rows: usize,
    pub reproduced: usize,
    pub not_reproduced: usize,
    pub other_version: usize,
    pub unknown_version: usize,
    pub other_test_size: usize,
    pub incomplete: usize,
    pub not_run: usize,
    /// Why rows did not run, with how many.
    pub not_run_why: BTreeMap<String, usize>,
}

impl Tally {
    /// Adds one row.
    pub fn add(&mut self, v: Verdict, status: &str) {
        self.rows += 1;
        match v {
            Verdict::Reproduced => self.reproduced += 1,
            Verdict::NotReproduced => self.not_reproduced += 1,
            Verdict::OtherVersion => self.other_version += 1,
            Verdict::UnknownVersion => self.unknown_version += 1,
            Verdict::OtherTestSize => self.other_test_size += 1,
            Verdict::Incomplete => self.incomplete += 1,
            Verdict::NotRun => {
                self.not_run += 1;
                *self.not_run_why.entry(short_why(status)).or_default() += 1;
            }
        }
    }

    /// `N of 41 rows reproduced, ...`.
    pub fn line(&self) -> String {
        let mut s = format!(
            "{} of {} rows reproduced (same version, accuracy loss within ±{ACCURACY_TOLERANCE_PP} pp)",
            self.reproduced, self.rows
        );
        for (n, what) in [
            (self.not_reproduced, "did not reproduce"),
            (self.other_version, "ran with other versions"),
            (
                self.unknown_version,
                "ran with versions the results do not record",
            ),
            (
                self.other_test_size,
                "measured accuracy over another number of test images",
            ),
            (self.incomplete, "ran without an accuracy figure"),
        ] {
            if n > 0 {
                s.push_str(&format!(", {n} {what}"));
            }
        }
        if self.not_run > 0 {
            let why: Vec<String> = if self.not_run_why.len() == 1 {
                self.not_run_why.keys().cloned().collect()
            } else {
                self.not_run_why
                    .iter()
                    .map(|(w, n)| format!("{n}: {w}"))
                    .collect()
            };
            s.push_str(&format!(", {} not run ({})", self.not_run, why.join("; ")));
        }
        s.push('.');
        s
    }
}

/// The reason of a not-run status without per-row detail (`not run: no cell for ezkl 196x25x10
/// in the results` -> `no cell in the results`).
fn short_why(status: &str) -> String {
    let s = status.strip_prefix("not run: ").unwrap_or(status);
    if s.starts_with("no cell for ") {
        return "no cell in the results".into();
    }
    s.split(':').next().unwrap_or(s).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_match_exactly_or_by_commit_prefix() {
        assert!(versions_match("7.1.4", "7.1.4"));
        assert!(!versions_match("7.1.4", "23.0.5"));
        assert!(versions_match(
            "43789582",
            "43789582671f16148dd02cbac5654f462d4fe3e4"
        ));
        assert!(!versions_match("43789582", "d1e05279aaaa"));
        assert!(
            !versions_match("7.1", "7.1.4"),
            "a version is not a prefix match"
        );
    }

    #[test]
    fn verdicts() {
        let same = (Some("7.1.4"), Some("7.1.4"));
        let n = (2500, Some(2500.0));
        assert_eq!(verdict(same, n, Some(0.4)), Verdict::Reproduced);
        assert_eq!(verdict(same, n, Some(-0.5)), Verdict::Reproduced);
        assert_eq!(verdict(same, n, Some(0.6)), Verdict::NotReproduced);
        assert_eq!(verdict(same, n, None), Verdict::Incomplete);
        assert_eq!(
            verdict(same, (10_000, Some(2500.0)), Some(0.1)),
            Verdict::OtherTestSize
        );
        assert_eq!(verdict(same, (2500, None), Some(0.1)), Verdict::Reproduced);
        let other = (Some("7.1.4"), Some("23.0.5"));
        assert_eq!(verdict(other, n, Some(0.0)), Verdict::OtherVersion);
        assert_eq!(
            verdict((None, Some("23.0.5")), n, Some(0.1)),
            Verdict::Reproduced
        );
        assert_eq!(
            verdict((Some("7.1.4"), None), n, Some(0.1)),
            Verdict::UnknownVersion
        );
    }

    #[test]
    fn the_summary_line_counts_and_groups_why() {
        let mut t = Tally::default();
        t.add(Verdict::Reproduced, "ok");
        t.add(Verdict::OtherVersion, "ok");
        t.add(Verdict::OtherTestSize, "ok");
        t.add(
            Verdict::NotRun,
            "not run: no cell for ezkl 196x25x10 in the results",
        );
        t.add(
            Verdict::NotRun,
            "not run: no cell for zkml 784x56x10 in the results",
        );
        t.add(Verdict::NotRun, "failed: out of memory");
        assert_eq!(
            t.line(),
            "1 of 6 rows reproduced (same version, accuracy loss within ±0.5 pp), 1 ran with other \
             versions, 1 measured accuracy over another number of test images, 3 not run (1: \
             failed; 2: no cell in the results)."
        );
    }
}
