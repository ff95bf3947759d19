//! `reproduce`: a published table against our results, one row per published cell.
//!
//! A published row matches our cell when the framework family agrees (`ezkl`, `circom`
//! for circomlib-ml/keras2circom, `zkml`, `opml`, `orion`), the architecture agrees (layer
//! widths read from the model name, e.g. `mnist-196_25_10`, or the `params` and `layers`
//! metrics), and, where the row names an EZKL calibration mode, a cell setting
//! with that value (`resources`/`accuracy`) agrees when the cell has one.
//! Ratios are ours / published, both by the published method: time as the published
//! pipeline timed it (see `reproduce_verdict::published_method_steps`) over the published
//! mean, and peak memory as the peak RSS of the process the benchmark spawned (our prove
//! step's direct child, MiB) over the published MB. Our own headlines, the prove step alone
//! and the process tree's working set, are shown beside them. Each row gets a verdict
//! (`reproduce_verdict`).

use super::reference::{RefRow, Reference};
use super::reproduce_verdict::{self as verdict, Tally, Verdict};
use super::view;
use super::Loaded;
use crate::results::{CellResult, CellStatus};
use serde::Serialize;

/// The framework family of a name: `ezkl`, `circom`, `zkml`, `opml`, `orion`, or the name.
pub fn family(name: &str) -> String {
    let n = name.to_ascii_lowercase();
    for (needle, fam) in [
        ("ezkl", "ezkl"),
        ("circom", "circom"),
        ("opml", "opml"),
        ("orion", "orion"),
        ("zkml", "zkml"),
    ] {
        if n.contains(needle) {
            return fam.into();
        }
    }
    n.split([' ', '(']).next().unwrap_or_default().to_string()
}

/// Layer widths in a model name: the longest run of 3 or more integers joined by `_` or `x`
/// (`mnist-196_24_14_10` -> `196x24x14x10`).
pub fn dims_of_name(name: &str) -> Option<String> {
    let mut best: Option<Vec<&str>> = None;
    for token in name.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        let parts: Vec<&str> = token.split(['_', 'x']).collect();
        // The longest run of purely numeric parts.
        let mut run: Vec<&str> = Vec::new();
        for p in parts.iter().chain(std::iter::once(&"")) {
            if !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) {
                run.push(p);
            } else {
                if run.len() >= 3 && best.as_ref().is_none_or(|b| run.len() > b.len()) {
                    best = Some(run.clone());
                }
                run.clear();
            }
        }
    }
    best.map(|b| b.join("x"))
}

/// Whether a CNN named by its image side, widths and kernel (`28x6x16x10x5`, the 2024
/// repository's file names) is the published architecture (`784x6x16x10`: input size, widths).
fn cnn_name_matches(published: &str, ours: &str) -> bool {
    let p: Vec<u64> = published
        .split('x')
        .filter_map(|x| x.parse().ok())
        .collect();
    let o: Vec<u64> = ours.split('x').filter_map(|x| x.parse().ok()).collect();
    o.len() >= 4 && p.len() + 1 == o.len() && p[0] == o[0] * o[0] && p[1..] == o[1..o.len() - 1]
}

fn cell_mode(cell: &CellResult) -> Option<&'static str> {
    cell.settings
        .values()
        .find_map(|v| match v.as_str()?.to_ascii_lowercase().as_str() {
            "resources" | "resource" => Some("resources"),
            "accuracy" => Some("accuracy"),
            _ => None,
        })
}

/// Whether our cell is an instance of the published row.
pub fn matches(row: &RefRow, cell: &CellResult) -> bool {
    if family(&row.framework) != family(&cell.framework) {
        return false;
    }
    // By the widths in the names, else by parameters and layers (a CNN named by its kernel
    // and image side, `28_6_16_10_5`, is `784x6x16x10` in the published table).
    let by_size = view::metric(cell, view::PARAMS) == Some(row.params as f64)
        && view::metric(cell, view::LAYERS).is_none_or(|l| l == row.layers as f64);
    let arch = match (row.dims(), dims_of_name(&cell.model)) {
        (Some(a), Some(b)) => a == b || cnn_name_matches(&a, &b) || by_size,
        _ => by_size,
    };
    if !arch {
        return false;
    }
    match (row.mode(), cell_mode(cell)) {
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

/// One published row with ours beside it.
#[derive(Debug, Serialize)]
pub struct Line {
    pub kind: &'static str,
    pub published: RefRow,
    /// Our matched cell id.
    pub cell: Option<String>,
    /// The framework version the published row ran, when the table says.
    pub published_version: Option<String>,
    /// The version our cell ran.
    pub ours_version: Option<String>,
    /// Our prove step alone, median seconds.
    pub ours_prove_s: Option<f64>,
    /// Our time by the published method, seconds (EZKL: compile + setup + witness + prove).
    pub ours_published_method_s: Option<f64>,
    /// Our prove step's peak working set (the whole tree), MiB.
    pub ours_peak_mib: Option<f64>,
    /// Our prove step's direct child's peak RSS (the published method), MiB.
    pub ours_child_rss_mib: Option<f64>,
    pub ours_accuracy_loss_pct: Option<f64>,
    /// The test images our accuracy loss is over.
    pub ours_accuracy_samples: Option<f64>,
    /// Ours / published, both by the published method.
    pub time_ratio: Option<f64>,
    /// Our direct child's peak RSS / published memory (same method).
    pub memory_ratio: Option<f64>,
    /// Ours minus published, percentage points.
    pub accuracy_loss_diff_pp: Option<f64>,
    /// `ok`, or why there are no numbers of ours.
    pub status: String,
    pub verdict: Verdict,
    /// Set for rows that are no zero-knowledge proof (opML's fraud proofs, published or ours).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proof_label: Option<&'static str>,
}

/// The whole comparison.
#[derive(Debug, Serialize)]
pub struct Reproduction {
    pub source: super::reference::Source,
    pub published_hardware: String,
    pub our_hardware: Vec<String>,
    pub caveats: Vec<String>,
    pub lines: Vec<Line>,
    /// The verdicts counted.
    pub tally: Tally,
    /// Our cells of frameworks the published table has no row for (e.g. Orion in 2024).
    #[serde(default)]
    pub unpublished: Vec<Unpublished>,
}

/// One of our cells that no published row can match, and why the table has none.
#[derive(Debug, Serialize)]
pub struct Unpublished {
    pub cell: String,
    pub framework: String,
    pub model: String,
    pub ours_prove_s: Option<f64>,
    /// Our prove step's peak working set (the whole tree), MiB.
    pub ours_peak_mib: Option<f64>,
    pub ours_accuracy_loss_pct: Option<f64>,
    /// `ok`, or the cell's status and reason.
    pub status: String,
    pub why: String,
}

/// Why a published table has no row for a framework family.
pub fn why_unpublished(fam: &str) -> String {
    match fam {
        "orion" => "Orion was excluded from the 2024 benchmark: its prover was Giza's hosted service, with no local prover to measure".into(),
        _ => format!("the published table has no {fam} row"),
    }
}

/// Matches every published row against the cells of `files` (none: every row is "not run").
pub fn reproduce(reference: &Reference, files: &[Loaded]) -> Reproduction {
    let rows = view::rows(files);
    let lines = reference
        .rows
        .iter()
        .map(|p| {
            let cands: Vec<&view::Row> = rows.iter().filter(|r| matches(p, r.cell)).collect();
            let chosen = cands
                .iter()
                .find(|r| r.cell.status == CellStatus::Ok)
                .or(cands.first());
            let fam = family(&p.framework);
            let mut line = Line {
                kind: p.kind(),
                published: p.clone(),
                cell: chosen.map(|r| r.cell.id.clone()),
                published_version: reference.versions.get(&fam).cloned(),
                ours_version: chosen.and_then(|r| verdict::framework_version(r.cell, &fam)),
                ours_prove_s: None,
                ours_published_method_s: None,
                ours_peak_mib: None,
                ours_child_rss_mib: None,
                ours_accuracy_loss_pct: None,
                ours_accuracy_samples: None,
                time_ratio: None,
                memory_ratio: None,
                accuracy_loss_diff_pp: None,
                status: String::new(),
                verdict: Verdict::NotRun,
                proof_label: chosen
                    .and_then(|r| view::proof_label(r.cell))
                    .or((family(&p.framework) == "opml")
                        .then_some(crate::frameworks::opml::PROOF_LABEL)),
            };
            match chosen {
                None if files.is_empty() => line.status = "not run: no results file given".into(),
                None => {
                    line.status = format!(
                        "not run: no cell for {} {} in the results",
                        family(&p.framework),
                        p.dims().unwrap_or_else(|| p.architecture.clone())
                    )
                }
                Some(r) if r.cell.status != CellStatus::Ok => {
                    line.status = view::status_with_reason(r.cell)
                }
                Some(r) => {
                    let c = r.cell;
                    line.ours_prove_s = view::prove_wall(c).map(|s| s.median);
                    line.ours_peak_mib =
                        view::prove_peak(c).map(|s| s.median / (1u64 << 20) as f64);
                    line.ours_accuracy_loss_pct = view::metric(c, view::ACCURACY_LOSS);
                    line.ours_accuracy_samples =
                        view::first_metric(c, &view::ACCURACY_SAMPLES_KEYS);
                    line.ours_published_method_s = verdict::published_method_seconds(c, &fam);
                    line.time_ratio = line
                        .ours_published_method_s
                        .filter(|_| p.prove_time_avg_s > 0.0)
                        .map(|t| t / p.prove_time_avg_s);
                    line.ours_child_rss_mib =
                        view::prove_child_rss(c).map(|s| s.median / (1u64 << 20) as f64);
                    line.memory_ratio = line
                        .ours_child_rss_mib
                        .filter(|_| p.memory_avg_mb > 0.0)
                        .map(|m| m / p.memory_avg_mb);
                    line.accuracy_loss_diff_pp =
                        line.ours_accuracy_loss_pct.map(|a| a - p.accuracy_loss_pct);
                    let mut missing = Vec::new();
                    if line.ours_prove_s.is_none() {
                        missing.push("no prove step");
                    }
                    if line.ours_accuracy_loss_pct.is_none() {
                        missing.push("accuracy loss not measured");
                    }
                    if line.ours_prove_s.is_some() && line.ours_child_rss_mib.is_none() {
                        missing.push("no direct-child RSS (results v1): memory × not computed");
                    }
                    if line.ours_prove_s.is_some() && line.ours_published_method_s.is_none() {
                        missing.push(
                            "compile or setup did not run in this cell (cached): time × not computed",
                        );
                    }
                    line.verdict = verdict::verdict(
                        (line.published_version.as_deref(), line.ours_version.as_deref()),
                        (p.testing_size, line.ours_accuracy_samples),
                        line.accuracy_loss_diff_pp,
                    );
                    line.status = if missing.is_empty() {
                        "ok".into()
                    } else {
                        format!("ok; {}", missing.join("; "))
                    };
                }
            }
            line
        })
        .collect::<Vec<Line>>();
    let mut tally = Tally::default();
    for l in &lines {
        tally.add(l.verdict, &l.status);
    }
    let published: Vec<String> = reference
        .rows
        .iter()
        .map(|r| family(&r.framework))
        .collect();
    let unpublished = rows
        .iter()
        .filter(|r| !published.contains(&family(&r.cell.framework)))
        .filter(|r| family(&r.cell.framework) == "orion")
        .map(|r| {
            let c = r.cell;
            let ok = c.status == CellStatus::Ok;
            Unpublished {
                cell: c.id.clone(),
                framework: c.framework.clone(),
                model: c.model.clone(),
                ours_prove_s: ok.then(|| view::prove_wall(c).map(|s| s.median)).flatten(),
                ours_peak_mib: ok
                    .then(|| view::prove_peak(c).map(|s| s.median / (1u64 << 20) as f64))
                    .flatten(),
                ours_accuracy_loss_pct: ok.then(|| view::metric(c, view::ACCURACY_LOSS)).flatten(),
                status: if ok {
                    "ok".into()
                } else {
                    view::status_with_reason(c)
                },
                why: why_unpublished(&family(&c.framework)),
            }
        })
        .collect();
    Reproduction {
        unpublished,
        source: reference.source.clone(),
        published_hardware: reference.hardware.clone(),
        our_hardware: files
            .iter()
            .map(|f| {
                format!(
                    "{}: {} [{}], {}, kernel {}",
                    f.label,
                    f.results.host.one_line(),
                    f.results.host.fingerprint_id,
                    f.results.host.os,
                    f.results.host.kernel
                )
            })
            .collect(),
        caveats: reference.caveats.clone(),
        lines,
        tally,
    }
}

/// The table header matching [`table_rows`].
pub const HEADER: [&str; 18] = [
    "kind",
    "framework",
    "architecture",
    "test n (published / ours)",
    "notes",
    "verdict",
    "version (published / ours)",
    "published prove",
    "ours, published method",
    "time ×",
    "ours prove step",
    "published MiB",
    "ours RSS MiB",
    "memory ×",
    "ours working set MiB",
    "published loss %",
    "ours loss %",
    "Δ loss pp",
];

/// Rows for text or markdown output; the status goes in a last column.
pub fn table_rows(r: &Reproduction) -> Vec<Vec<String>> {
    let o = |v: Option<f64>, d: usize| v.map_or("—".to_string(), |x| view::num(x, d));
    let secs = |v: Option<f64>| v.map_or("—".into(), |t| format!("{} s", view::num(t, 3)));
    r.lines
        .iter()
        .map(|l| {
            let p = &l.published;
            let version = |v: &Option<String>| v.clone().unwrap_or_else(|| "?".into());
            vec![
                l.kind.to_string(),
                match l.proof_label {
                    Some(label) => format!("{} [{label}]", p.framework),
                    None => p.framework.clone(),
                },
                p.dims().unwrap_or_else(|| p.architecture.clone()),
                match l.ours_accuracy_samples {
                    Some(n) => format!("{} / {}", p.testing_size, view::num(n, 0)),
                    None => p.testing_size.to_string(),
                },
                p.notes.clone(),
                l.verdict.label().to_string(),
                if l.cell.is_some() {
                    format!(
                        "{} / {}",
                        version(&l.published_version),
                        version(&l.ours_version)
                    )
                } else {
                    version(&l.published_version)
                },
                format!("{} s", view::num(p.prove_time_avg_s, 3)),
                secs(l.ours_published_method_s),
                o(l.time_ratio, 2),
                secs(l.ours_prove_s),
                view::num(p.memory_avg_mb, 1),
                o(l.ours_child_rss_mib, 1),
                o(l.memory_ratio, 2),
                o(l.ours_peak_mib, 1),
                view::num(p.accuracy_loss_pct, 2),
                o(l.ours_accuracy_loss_pct, 2),
                l.accuracy_loss_diff_pp
                    .map_or("—".into(), |d| format!("{d:+.2}")),
                l.status.clone(),
            ]
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_give_dims() {
        assert_eq!(
            dims_of_name("mnist-196_25_10").as_deref(),
            Some("196x25x10")
        );
        assert_eq!(
            dims_of_name("196_24_14_10").as_deref(),
            Some("196x24x14x10")
        );
        assert_eq!(
            dims_of_name("mlp-784x56x10-v2").as_deref(),
            Some("784x56x10")
        );
        assert_eq!(dims_of_name("cifar10-mlp"), None);
        assert_eq!(dims_of_name("tiny"), None);
    }

    #[test]
    fn a_cnn_named_by_kernel_matches_its_published_row_by_size() {
        let row: RefRow = serde_json::from_value(serde_json::json!({
            "framework": "zkml (tensorflow)", "architecture": "Input-Conv2d-Conv2d-Dense (784x6x16x10)",
            "layers": 4, "params": 5142, "testing_size": 2500, "accuracy_loss_pct": 0.08,
            "memory_avg_mb": 1760.2, "memory_std_mb": 1.0, "prove_time_avg_s": 15.2,
            "prove_time_std_s": 0.1, "notes": ""
        }))
        .unwrap();
        let mut cell: CellResult = serde_json::from_value(serde_json::json!({
            "id": "28_6_16_10_5/zkml/default/native", "model": "28_6_16_10_5", "framework": "zkml",
            "settings": {}, "runtime": "native", "status": "ok", "repetitions": [], "summary": {},
            "metrics": {"params": 5142.0, "layers": 4.0}, "info": {}, "host_id": "h",
            "started_at": "", "finished_at": ""
        }))
        .unwrap();
        assert!(matches(&row, &cell));
        cell.metrics.insert("params".into(), 5185.0);
        // By the name alone (the published table's parameter counts are not always right).
        assert!(matches(&row, &cell));
        cell.model = "28_6_16_12_5".into();
        assert!(!matches(&row, &cell), "another size is another model");
    }

    #[test]
    fn families() {
        assert_eq!(family("circomlib-ml (tensorflow)"), "circom");
        assert_eq!(family("keras2circom"), "circom");
        assert_eq!(family("ezkl (pytorch)"), "ezkl");
        assert_eq!(family("zkml (tensorflow)"), "zkml");
        assert_eq!(family("ddkang-zkml"), "zkml");
        assert_eq!(family("opml (pytorch)"), "opml");
    }
}
