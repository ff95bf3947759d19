//! Which charts the HTML report draws, chosen to fit the data: bars when each framework has
//! one model, scaling lines (log axes past 10x) over several models, host-vs-host bars when
//! several hosts are present, and the prove step's memory and power over time. A chart with
//! nothing to draw is not drawn; it is listed with the reason instead.

use super::plot::{group, plot, Plot, MIB};
use crate::report::charts::{Chart, Series};
use crate::report::labels::{Names, SEP};
use crate::report::view::{self, Row};
use crate::report::Loaded;
use crate::results::CellStatus;

/// Most bars (categories) in one bar chart.
const MAX_BARS: usize = 40;
/// Groups `(x, y)` points of successful cells by framework.
fn grouped(files: &[Loaded], rows: &[Row], f: impl Fn(&Row) -> Option<(f64, f64)>) -> Vec<Series> {
    let names = Names::of(rows);
    let mut out: Vec<Series> = Vec::new();
    for r in rows.iter().filter(|r| r.cell.status == CellStatus::Ok) {
        let Some(p) = f(r) else { continue };
        let name = group(files, &names, r);
        match out.iter_mut().find(|s| s.name == name) {
            Some(s) => s.points.push(p),
            None => out.push(Series {
                name,
                points: vec![p],
                ..Series::default()
            }),
        }
    }
    out
}

/// Like `grouped`, for a chart against parameters: each series' line joins only its models
/// of its most common depth (a parameter sweep at fixed depth); models of other depths
/// (a depth sweep at fixed size) stay as markers, so the line does not zigzag between
/// depths at nearly the same parameter count.
fn grouped_by_depth(
    files: &[Loaded],
    rows: &[Row],
    f: impl Fn(&Row) -> Option<(f64, f64)>,
) -> Vec<Series> {
    let names = Names::of(rows);
    let depth = |r: &Row| view::metric(r.cell, view::LAYERS).map(f64::to_bits);
    let mut out: Vec<Series> = Vec::new();
    let mut points: Vec<(String, Option<u64>, (f64, f64))> = Vec::new();
    for r in rows.iter().filter(|r| r.cell.status == CellStatus::Ok) {
        if let Some(p) = f(r) {
            points.push((group(files, &names, r), depth(r), p));
        }
    }
    for (name, _, _) in &points {
        if !out.iter().any(|s| &s.name == name) {
            out.push(Series {
                name: name.clone(),
                ..Series::default()
            });
        }
    }
    for series in &mut out {
        let mine: Vec<&(String, Option<u64>, (f64, f64))> = points
            .iter()
            .filter(|(n, _, _)| *n == series.name)
            .collect();
        // The most common depth; ties go to the shallowest (the fixed-depth sweep).
        let mut counts: Vec<(Option<u64>, usize)> = Vec::new();
        for (_, d, _) in &mine {
            match counts.iter_mut().find(|(x, _)| x == d) {
                Some((_, n)) => *n += 1,
                None => counts.push((*d, 1)),
            }
        }
        counts.sort_by(|a, b| {
            b.1.cmp(&a.1).then(
                a.0.map(f64::from_bits)
                    .unwrap_or(0.0)
                    .total_cmp(&b.0.map(f64::from_bits).unwrap_or(0.0)),
            )
        });
        let modal = counts.first().map(|(d, _)| *d);
        for (_, d, p) in mine {
            if Some(*d) == modal {
                series.points.push(*p);
            } else {
                series.unlined.push(*p);
            }
        }
    }
    out
}

/// The label of a row's bar: framework and settings, with the model, file and host when
/// the chart holds several.
fn bar_label(files: &[Loaded], rows: &[&Row], names: &Names, r: &Row) -> String {
    let mut parts = Vec::new();
    if rows.iter().any(|o| o.cell.model != r.cell.model) {
        parts.push(r.cell.model.clone());
    }
    parts.push(r.cell.framework.clone());
    parts.extend(names.settings(r.cell));
    let mut s = parts.join(SEP);
    if files.len() > 1 {
        s = format!("{s} ({})", files[r.file].label);
    }
    s + &names.host_suffix(r)
}

/// A bar chart of one value per successful row.
fn bars(
    files: &[Loaded],
    rows: &[&Row],
    title: &str,
    x_label: &str,
    f: impl Fn(&Row) -> Option<f64>,
) -> Chart {
    let with: Vec<(&Row, f64)> = rows.iter().filter_map(|r| Some((*r, f(r)?))).collect();
    let shown: Vec<&Row> = with.iter().map(|(r, _)| *r).collect();
    let names = Names::of(&shown.iter().map(|r| **r).collect::<Vec<_>>());
    Chart {
        title: title.into(),
        x_label: x_label.into(),
        y_log: true,
        categories: shown
            .iter()
            .map(|r| bar_label(files, &shown, &names, r))
            .collect(),
        series: vec![Series {
            name: x_label.into(),
            points: with
                .iter()
                .enumerate()
                .map(|(k, (_, v))| (k as f64, *v))
                .collect(),
            ..Series::default()
        }],
        ..Chart::default()
    }
}

/// Host-vs-host bars: the prove time of every cell id measured on several hosts.
fn host_bars(rows: &[&Row]) -> Chart {
    let all: Vec<Row> = rows.iter().map(|r| **r).collect();
    let naming = Names::of(&all);
    let mut hosts: Vec<&str> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut ids: Vec<&str> = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    for r in rows {
        let h = view::host_id(r);
        if !hosts.contains(&h) {
            hosts.push(h);
            names.push(
                naming
                    .hosts
                    .get(h)
                    .cloned()
                    .unwrap_or_else(|| h.to_string()),
            );
        }
    }
    for r in rows {
        let on = rows
            .iter()
            .filter(|o| o.cell.id == r.cell.id && view::prove_wall(o.cell).is_some())
            .map(|o| view::host_id(o))
            .collect::<std::collections::BTreeSet<_>>();
        if on.len() > 1 && !ids.contains(&r.cell.id.as_str()) && ids.len() < MAX_BARS {
            ids.push(&r.cell.id);
            let mut parts = vec![r.cell.model.clone(), r.cell.framework.clone()];
            parts.extend(naming.settings(r.cell));
            labels.push(parts.join(SEP));
        }
    }
    let series = hosts
        .iter()
        .zip(&names)
        .map(|(h, name)| Series {
            name: name.clone(),
            points: ids
                .iter()
                .enumerate()
                .filter_map(|(k, id)| {
                    let r = rows
                        .iter()
                        .find(|r| r.cell.id == *id && view::host_id(r) == *h)?;
                    Some((k as f64, view::prove_wall(r.cell)?.median))
                })
                .collect(),
            ..Series::default()
        })
        .collect();
    Chart {
        title: "Prove time by host".into(),
        x_label: "prove time, median (s)".into(),
        y_log: true,
        categories: labels,
        series,
        ..Chart::default()
    }
}

/// Where each framework's sweep stopped, as vertical marks at the parameters of the first
/// model it did not finish (`ezkl stops: prove: timeout`).
fn frontier_marks(files: &[Loaded]) -> Vec<(f64, String)> {
    files
        .iter()
        .flat_map(|f| crate::frontier::summarize(&f.results))
        .filter(|l| l.resource_limit)
        .filter_map(|l| {
            let (model, _) = l.stopped_at?;
            // The step and its outcome ("prove: out of memory"); the details are in the
            // frontier table.
            let stop = l.stop.unwrap_or_default();
            let short: String = stop.chars().take(40).collect();
            Some((
                model.params as f64,
                format!("{} stops: {short}", l.framework),
            ))
        })
        .collect()
}

/// Prove time and memory against depth, when the successful cells' models have more than
/// one layer count (a depth sweep). Markers only: models of one depth may differ in width.
fn layer_charts(files: &[Loaded], rows: &[Row], ok: &[&Row]) -> Vec<Plot> {
    let layers = |r: &Row| view::metric(r.cell, view::LAYERS);
    let mut depths: Vec<u64> = ok
        .iter()
        .filter_map(|r| layers(r))
        .map(f64::to_bits)
        .collect();
    depths.sort_unstable();
    depths.dedup();
    if depths.len() < 2 {
        return Vec::new();
    }
    let chart = |title: &str, y: &str, f: &dyn Fn(&Row) -> Option<f64>| Chart {
        title: title.into(),
        x_label: "layers".into(),
        y_label: y.into(),
        x_integer: true,
        y_log: true,
        series: grouped(files, rows, |r| Some((layers(r)?, f(r)?))),
        ..Chart::default()
    };
    vec![
        plot(
            chart("Prove time vs layers", "prove time, median (s)", &|r| {
                Some(view::prove_wall(r.cell)?.median)
            }),
            "no successful cell has a layer count (metric `layers`)",
        ),
        plot(
            chart(
                "Peak working set of the prove step vs layers",
                "peak working set, median (MiB)",
                &|r| Some(view::prove_peak(r.cell)?.median / MIB),
            ),
            "no successful cell has a layer count (metric `layers`)",
        ),
    ]
}

/// Every chart of the report, drawn or with the reason it is not.
pub(super) fn charts(files: &[Loaded], rows: &[Row]) -> Vec<Plot> {
    let ok: Vec<&Row> = rows
        .iter()
        .filter(|r| r.cell.status == CellStatus::Ok && view::prove_wall(r.cell).is_some())
        .collect();
    let energy_reason = files
        .first()
        .map(|f| view::energy_absent_short(&f.results.sensors))
        .unwrap_or_default();
    let no_energy = format!("not measured: {energy_reason} (why: see “Not measured, and why”)");
    let mut out = Vec::new();
    if ok.is_empty() {
        out.push(Plot::Omitted {
            title: "Prove time".into(),
            why: "no cell has a successful prove step".into(),
        });
        return out;
    }
    if view::several_hosts(rows) {
        out.push(plot(
            host_bars(&ok),
            "no cell succeeded on more than one host",
        ));
    }
    // Models per series: one each means bars; several mean scaling lines.
    let names = Names::of(rows);
    let mut models: Vec<(String, Vec<&str>)> = Vec::new();
    for r in &ok {
        let g = group(files, &names, r);
        match models.iter_mut().find(|(n, _)| *n == g) {
            Some((_, ms)) if !ms.contains(&r.cell.model.as_str()) => ms.push(&r.cell.model),
            Some(_) => {}
            None => models.push((g, vec![&r.cell.model])),
        }
    }
    let params = |r: &Row| view::metric(r.cell, view::PARAMS);
    let mut xs: Vec<u64> = ok
        .iter()
        .filter_map(|r| params(r))
        .map(f64::to_bits)
        .collect();
    xs.sort_unstable();
    xs.dedup();
    let scaling = models.iter().any(|(_, ms)| ms.len() > 1) && xs.len() > 1;
    if scaling {
        let marks = frontier_marks(files);
        let line = |title: &str, y: &str, f: &dyn Fn(&Row) -> Option<f64>| Chart {
            title: title.into(),
            x_label: "parameters".into(),
            y_label: y.into(),
            x_log: true,
            y_log: true,
            lines: true,
            marks: marks.clone(),
            series: grouped_by_depth(files, rows, |r| Some((params(r)?, f(r)?))),
            ..Chart::default()
        };
        out.push(plot(
            line("Prove time vs parameters", "prove time, median (s)", &|r| {
                Some(view::prove_wall(r.cell)?.median)
            }),
            "no successful cell has a parameter count (metric `params`)",
        ));
        out.push(plot(
            line(
                "Peak working set of the prove step vs parameters",
                "peak working set, median (MiB)",
                &|r| Some(view::prove_peak(r.cell)?.median / MIB),
            ),
            "no successful cell has a parameter count (metric `params`)",
        ));
        out.push(plot(
            line(
                "Energy per proof vs parameters",
                "energy per proof (J)",
                &|r| view::energy_per_proof(r.cell),
            ),
            no_energy.clone(),
        ));
        out.extend(layer_charts(files, rows, &ok));
    } else if ok.len() > MAX_BARS {
        out.push(Plot::Omitted {
            title: "Prove time by cell".into(),
            why: format!(
                "{} cells are too many bars and the models have no parameter counts to plot against; see the summary table",
                ok.len()
            ),
        });
    } else {
        out.push(plot(
            bars(files, &ok, "Prove time", "prove time, median (s)", |r| {
                Some(view::prove_wall(r.cell)?.median)
            }),
            "no successful prove step",
        ));
        out.push(plot(
            bars(
                files,
                &ok,
                "Peak working set of the prove step",
                "peak working set, median (MiB)",
                |r| Some(view::prove_peak(r.cell)?.median / MIB),
            ),
            "no prove step has a peak working set",
        ));
        out.push(plot(
            bars(
                files,
                &ok,
                "Energy per proof",
                "energy per proof (J)",
                |r| view::energy_per_proof(r.cell),
            ),
            no_energy.clone(),
        ));
    }
    out.extend(super::cpus::charts(rows));
    out.extend(super::series::charts(files, rows, &energy_reason));
    out
}
