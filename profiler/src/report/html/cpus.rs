//! Scaling with cores: speedup and parallel efficiency of the prove step against the CPUs a
//! cell was confined to (the `cpus` setting, `metrics.cpus`).
//!
//! Cells that differ only in `cpus` (same file, host, model, framework, other settings and
//! runtime) form one line. The speedup at n CPUs is T(n0) / T(n), where n0 is the fewest
//! CPUs of the line that proved (1 in a sweep that starts at one core); the parallel
//! efficiency is the speedup divided by n / n0 (1 = perfect scaling).

use super::plot::{plot, Plot};
use crate::measure::cpus::SETTING;
use crate::report::charts::{Chart, Series};
use crate::report::labels::{Names, SEP};
use crate::report::view::{self, Row};
use crate::results::CellStatus;

/// One line: its name and (cpus, prove seconds) points, fewest CPUs first.
type Line = (String, Vec<(f64, f64)>);

/// The lines of cells that differ only in their CPU count.
fn lines(rows: &[Row]) -> Vec<Line> {
    let names = Names::of(rows);
    // (grouping key, line).
    let mut out: Vec<(String, Line)> = Vec::new();
    for r in rows.iter().filter(|r| r.cell.status == CellStatus::Ok) {
        let (Some(n), Some(t)) = (view::metric(r.cell, "cpus"), view::prove_wall(r.cell)) else {
            continue;
        };
        let mut rest = r.cell.settings.clone();
        rest.remove(SETTING);
        let key = format!(
            "{}|{}|{}|{}|{}|{}",
            r.file,
            view::host_id(r),
            r.cell.model,
            r.cell.framework,
            serde_json::to_string(&rest).unwrap_or_default(),
            r.cell.runtime
        );
        let mut parts = vec![r.cell.model.clone(), view::framework_label(r.cell)];
        parts.extend(
            names
                .settings(r.cell)
                .into_iter()
                .filter(|s| !s.starts_with("cpus=")),
        );
        let name = parts.join(SEP) + &names.host_suffix(r);
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, (_, pts))) => pts.push((n, t.median)),
            None => out.push((key, (name, vec![(n, t.median)]))),
        }
    }
    out.into_iter()
        .filter_map(|(_, (name, mut pts))| {
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            pts.dedup_by(|a, b| a.0 == b.0);
            (pts.len() > 1).then_some((name, pts))
        })
        .collect()
}

/// Speedup and efficiency points of a line.
pub(super) fn scaling(points: &[(f64, f64)]) -> Vec<(f64, f64, f64)> {
    let Some(&(n0, t0)) = points.first() else {
        return Vec::new();
    };
    points
        .iter()
        .filter(|(n, t)| *n > 0.0 && *t > 0.0)
        .map(|&(n, t)| {
            let speedup = t0 / t;
            (n, speedup, speedup / (n / n0))
        })
        .collect()
}

/// The two charts, or nothing when no cells were run at several CPU counts.
pub(super) fn charts(rows: &[Row]) -> Vec<Plot> {
    let lines = lines(rows);
    if lines.is_empty() {
        return Vec::new();
    }
    let chart = |title: &str, y: &str, pick: fn(&(f64, f64, f64)) -> f64| Chart {
        title: title.into(),
        x_label: "CPUs the steps were confined to".into(),
        y_label: y.into(),
        x_integer: true,
        lines: true,
        series: lines
            .iter()
            .map(|(name, pts)| Series {
                name: name.clone(),
                points: scaling(pts).iter().map(|p| (p.0, pick(p))).collect(),
                ..Series::default()
            })
            .collect(),
        ..Chart::default()
    };
    vec![
        plot(
            chart(
                "Prove speedup vs CPUs",
                "speedup over the fewest CPUs (×)",
                |p| p.1,
            ),
            "no cell proved at two CPU counts",
        ),
        plot(
            chart(
                "Parallel efficiency of the prove step vs CPUs",
                "efficiency (speedup / CPU ratio)",
                |p| p.2,
            ),
            "no cell proved at two CPU counts",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::scaling;

    #[test]
    fn speedup_and_efficiency_are_relative_to_the_fewest_cpus() {
        let s = scaling(&[(1.0, 10.0), (2.0, 6.0), (4.0, 4.0)]);
        assert_eq!(s[0], (1.0, 1.0, 1.0));
        assert!((s[1].1 - 10.0 / 6.0).abs() < 1e-12 && (s[1].2 - 10.0 / 12.0).abs() < 1e-12);
        assert!((s[2].1 - 2.5).abs() < 1e-12 && (s[2].2 - 0.625).abs() < 1e-12);
        // From 2 CPUs: 4 CPUs at half the time is perfect scaling.
        let s = scaling(&[(2.0, 8.0), (4.0, 4.0)]);
        assert_eq!(s[1], (4.0, 2.0, 1.0));
    }
}
