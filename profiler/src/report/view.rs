//! What every report reads from a cell: the prove summary, known metrics, and why a value
//! is absent. Pure functions over the results schema; formatting of units lives in `units`.

use super::Loaded;
use crate::results::SensorStatus;
use crate::results::Summary;
use crate::results::{CellResult, CellStatus, ResultsFile, StepSummary};

/// Metric keys for the energy of one prove step, joules, in order of preference.
pub const ENERGY_PER_PROOF_KEYS: [&str; 4] = [
    "prove.energy_j",
    "energy_per_proof_j",
    "prove_energy_j",
    "energy_j",
];
/// Metric key: proofs per kilojoule of prove-step energy.
pub const PROOFS_PER_KJ: &str = "proofs_per_kj";
/// Metric key: parameter count of the model.
pub const PARAMS: &str = "params";
/// Metric key: layer count of the model (input layer included, as in the 2024 table).
pub const LAYERS: &str = "layers";
/// Metric key: accuracy loss, percent of test inputs where the circuit's class differs from the float model's.
pub const ACCURACY_LOSS: &str = "accuracy_loss_pct";
/// Metric keys: how many test inputs the accuracy loss was measured on.
pub const ACCURACY_SAMPLES_KEYS: [&str; 2] = ["accuracy_samples", "testing_size"];
/// Metric key: proof size, bytes.
pub const PROOF_SIZE: &str = "proof_size_bytes";
/// The prover's estimate of a binary proof's size, where the file is another format (stwo's
/// JSON proof).
pub const PROOF_SIZE_ESTIMATE: &str = "proof_size_estimate_bytes";

/// Metric keys the report shows in their own columns; the others go to a generic table.
pub const KNOWN_METRICS: [&str; 16] = [
    PARAMS,
    LAYERS,
    ACCURACY_LOSS,
    "accuracy_samples",
    "testing_size",
    PROOF_SIZE,
    "constraints",
    "constraints_total",
    "constraints_nonlinear",
    "logrows",
    "rows",
    PROOFS_PER_KJ,
    "prove.energy_j",
    "energy_per_proof_j",
    "prove_energy_j",
    "energy_j",
];

/// The label of a cell whose framework makes no zero-knowledge proof (opML: a fraud proof,
/// `info["proof_kind"] = "fraud_proof"`); reports print it beside every figure of the cell.
pub fn proof_label(cell: &CellResult) -> Option<&'static str> {
    (cell.info.get("proof_kind").map(String::as_str) == Some(crate::frameworks::opml::PROOF_KIND))
        .then_some(crate::frameworks::opml::PROOF_LABEL)
}

/// The framework's name as reports show it: with [`proof_label`] in brackets when there is one
/// (`opml [fraud proof (optimistic): no zero-knowledge proof]`).
pub fn framework_label(cell: &CellResult) -> String {
    match proof_label(cell) {
        Some(l) => format!("{} [{l}]", cell.framework),
        None => cell.framework.clone(),
    }
}

/// One cell with the file it came from.
#[derive(Clone, Copy, Debug)]
pub struct Row<'a> {
    /// Index of the file in the report's inputs.
    pub file: usize,
    pub results: &'a ResultsFile,
    pub cell: &'a CellResult,
}

/// Every cell of every file, in file order then the file's own (plan) order.
pub fn rows(files: &[Loaded]) -> Vec<Row<'_>> {
    files
        .iter()
        .enumerate()
        .flat_map(|(i, f)| {
            f.results.cells.iter().map(move |c| Row {
                file: i,
                results: &f.results,
                cell: c,
            })
        })
        .collect()
}

/// The fingerprint id of the host that ran a row's cell (the file's host when unset).
pub fn host_id<'a>(row: &Row<'a>) -> &'a str {
    if row.cell.host_id.is_empty() {
        &row.results.host.fingerprint_id
    } else {
        &row.cell.host_id
    }
}

/// The host that ran a row's cell: a merged host by id, else the file's own host.
pub fn host_of<'a>(row: &Row<'a>) -> &'a crate::results::Host {
    row.results
        .other_hosts
        .get(host_id(row))
        .unwrap_or(&row.results.host)
}

/// True when the rows were measured on more than one host.
pub fn several_hosts(rows: &[Row]) -> bool {
    let mut first: Option<&str> = None;
    for r in rows {
        let h = host_id(r);
        match first {
            None => first = Some(h),
            Some(f) if f != h => return true,
            _ => {}
        }
    }
    false
}

/// A suffix that keeps benchmark names unique when cells of the same id come from several
/// hosts (` @<fingerprint id>`) or several files (` @<file label>`); empty otherwise.
pub fn name_suffix(files: &[Loaded], several_hosts: bool, row: &Row) -> String {
    if several_hosts {
        format!(" @{}", host_id(row))
    } else if files.len() > 1 {
        format!(" @{}", files[row.file].label)
    } else {
        String::new()
    }
}

/// The summary of a step with at least one measured, successful run.
pub fn step<'a>(cell: &'a CellResult, name: &str) -> Option<&'a StepSummary> {
    cell.summary.get(name).filter(|s| s.wall_s.n > 0)
}

/// Wall time of the prove step across repetitions, seconds.
pub fn prove_wall(cell: &CellResult) -> Option<Summary> {
    step(cell, "prove").map(|s| s.wall_s)
}

/// Peak working set of the whole process tree during the prove step, bytes.
pub fn prove_peak(cell: &CellResult) -> Option<Summary> {
    step(cell, "prove").map(|s| s.peak_tree_bytes)
}

/// Peak RSS of the prove step's direct child (the 2024 ZKML benchmark's method), bytes.
pub fn prove_child_rss(cell: &CellResult) -> Option<Summary> {
    step(cell, "prove").and_then(|s| s.child_peak_rss_bytes)
}

/// A finite metric.
pub fn metric(cell: &CellResult, key: &str) -> Option<f64> {
    cell.metrics.get(key).copied().filter(|v| v.is_finite())
}

/// The first present metric of `keys`.
pub fn first_metric(cell: &CellResult, keys: &[&str]) -> Option<f64> {
    keys.iter().find_map(|k| metric(cell, k))
}

/// Energy of one prove step, joules: the cell metric, else the median over the measured,
/// successful prove runs of their energy ([`crate::results::StepRun::energy_j`]).
pub fn energy_per_proof(cell: &CellResult) -> Option<f64> {
    first_metric(cell, &ENERGY_PER_PROOF_KEYS).or_else(|| {
        let per_run = prove_energies(cell);
        (!per_run.is_empty()).then(|| Summary::of(&per_run).median)
    })
}

/// The energy of each measured, successful prove run, joules.
pub fn prove_energies(cell: &CellResult) -> Vec<f64> {
    cell.repetitions
        .iter()
        .filter(|r| !r.warmup)
        .flat_map(|r| r.steps.iter())
        .filter(|s| s.step == "prove" && s.succeeded())
        .filter_map(|s| s.energy_j())
        .collect()
}

/// Proofs per kilojoule: the metric, or 1000 / energy per proof.
pub fn proofs_per_kj(cell: &CellResult) -> Option<f64> {
    metric(cell, PROOFS_PER_KJ).or_else(|| {
        energy_per_proof(cell)
            .filter(|e| *e > 0.0)
            .map(|e| 1000.0 / e)
    })
}

/// Circuit size in words: `21740 constraints`, `2^15 rows` (see [`CellResult::circuit_size`]).
pub fn circuit_size(cell: &CellResult) -> Option<String> {
    cell.circuit_size()
}

/// `key=value, ...` of the cell's settings, or `default`.
pub fn settings_label(cell: &CellResult) -> String {
    if cell.settings.is_empty() {
        return "default".into();
    }
    cell.settings
        .iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The values of the cell's settings without their keys (`resources`, `2, 7`), or empty for
/// the defaults: short labels for charts.
pub fn settings_short(cell: &CellResult) -> String {
    cell.settings
        .values()
        .map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `hostname (fingerprint id)` of the host that ran a row's cell.
pub fn host_name(row: &Row) -> String {
    let h = host_of(row);
    if h.hostname.is_empty() {
        host_id(row).to_string()
    } else {
        format!("{} ({})", h.hostname, host_id(row))
    }
}

/// `ok`, `failed`, `unsupported`, `interrupted`, `skipped`.
pub fn status_word(status: CellStatus) -> &'static str {
    match status {
        CellStatus::Ok => "ok",
        CellStatus::Failed => "failed",
        CellStatus::Unsupported => "unsupported",
        CellStatus::Interrupted => "interrupted",
        CellStatus::Skipped => "skipped",
    }
}

/// `status: reason`, without repeating the status when the reason already starts with it
/// (adapters write `unsupported: why`).
pub fn status_with_reason(cell: &CellResult) -> String {
    let word = status_word(cell.status);
    match cell.reason.as_deref() {
        None => format!("{word}: no reason given"),
        Some(r) if r.starts_with(word) => r.to_string(),
        Some(r) => format!("{word}: {r}"),
    }
}

/// True when the cell's accuracy inputs were synthetic (the adapter records where its test
/// inputs came from in `info.accuracy_inputs`): a class agreement on them is not an accuracy.
pub fn synthetic_inputs(cell: &CellResult) -> bool {
    cell.info
        .get("accuracy_inputs")
        .is_some_and(|s| s.trim_start().to_ascii_lowercase().starts_with("synthetic"))
}

/// Sensors whose names suggest energy or power (`rapl`, `nvml`, `energy`, `power`, `ipmi`).
pub fn is_energy_sensor(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["rapl", "nvml", "energy", "power", "ipmi"]
        .iter()
        .any(|k| n.contains(k))
}

/// Why no energy figures exist, in a few words (`no RAPL, no NVML`): the full reasons are
/// said once per page ([`energy_absent_reason`], in the "not measured" list).
pub fn energy_absent_short(sensors: &[SensorStatus]) -> String {
    let down: Vec<String> = sensors
        .iter()
        .filter(|s| is_energy_sensor(&s.name) && !s.available)
        .map(|s| format!("no {}", s.name.to_ascii_uppercase()))
        .collect();
    if !down.is_empty() {
        down.join(", ")
    } else if sensors
        .iter()
        .any(|s| is_energy_sensor(&s.name) && s.available)
    {
        "not recorded for this cell".into()
    } else {
        "no energy sensor".into()
    }
}

/// Why no energy figures exist, from the sensors list of a results file.
pub fn energy_absent_reason(sensors: &[SensorStatus]) -> String {
    let down: Vec<String> = sensors
        .iter()
        .filter(|s| is_energy_sensor(&s.name) && !s.available)
        .map(|s| {
            format!(
                "{}: {}",
                s.name,
                s.reason.as_deref().unwrap_or("unavailable")
            )
        })
        .collect();
    if !down.is_empty() {
        return down.join("; ");
    }
    if sensors
        .iter()
        .any(|s| is_energy_sensor(&s.name) && s.available)
    {
        "an energy sensor was available, but this cell recorded no energy".into()
    } else {
        "no energy sensor was recorded for this run (none in the results' sensors list)".into()
    }
}

/// Why the cell's accuracy was deliberately not measured (no real test images: accuracy is
/// never computed on synthetic inputs), when it was not.
pub fn accuracy_not_measured(cell: &CellResult) -> Option<&str> {
    cell.info
        .get(crate::frameworks::inputs::ACCURACY_NOT_MEASURED)
        .map(String::as_str)
}

/// Why a known metric is absent from a cell, in words for a tooltip or footnote.
pub fn absent_reason(row: &Row, what: &str) -> String {
    let cell = row.cell;
    if cell.status != CellStatus::Ok {
        return status_with_reason(cell);
    }
    match what {
        "energy" => energy_absent_reason(&row.results.sensors),
        "accuracy" => match accuracy_not_measured(cell) {
            Some(why) => format!("not measured: {why}"),
            None if synthetic_inputs(cell) => {
                "accuracy not measured: the test inputs were synthetic (no labelled data set)"
                    .into()
            }
            None => "the framework adapter recorded no accuracy loss for this cell".into(),
        },
        "layers" => "the model's layer count is not in the results (metric `layers`)".into(),
        "proof_size" => "the framework adapter recorded no proof size".into(),
        "circuit" => "the framework adapter recorded no circuit size".into(),
        "verify" => "no successful verify step".into(),
        "setup" => "no successful setup step".into(),
        "prove" => "no successful prove step".into(),
        "params" => "the model's parameter count is not in the results (metric `params`)".into(),
        other => format!("`{other}` not recorded"),
    }
}

/// The flat `key -> text` form of any serializable value (for fingerprints: new fields show
/// up without code changes). Nested objects become `a.b`; arrays are joined with `, `.
pub fn flatten(value: &serde_json::Value) -> Vec<(String, String)> {
    fn go(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                for k in keys {
                    let p = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    go(&p, &m[k], out);
                }
            }
            serde_json::Value::Array(a) if a.iter().all(|x| !x.is_object()) => {
                let parts: Vec<String> = a.iter().map(scalar).collect();
                out.push((prefix.to_string(), parts.join(", ")));
            }
            serde_json::Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    go(&format!("{prefix}[{i}]"), x, out);
                }
            }
            other => out.push((prefix.to_string(), scalar(other))),
        }
    }
    fn scalar(v: &serde_json::Value) -> String {
        match v {
            serde_json::Value::Null => "—".into(),
            serde_json::Value::String(s) if s.is_empty() => "—".into(),
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
    let mut out = Vec::new();
    go("", value, &mut out);
    out
}

/// A host as flat fields (see [`flatten`]).
pub fn host_fields(host: &crate::results::Host) -> Vec<(String, String)> {
    flatten(&serde_json::to_value(host).unwrap_or(serde_json::Value::Null))
}

/// Formats a number with up to `digits` decimals, trimming zeros: `4.4`, `1312`, `0.03`.
pub fn num(v: f64, digits: usize) -> String {
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_trim_zeros() {
        assert_eq!(num(4.400, 2), "4.4");
        assert_eq!(num(1312.0, 2), "1312");
        assert_eq!(num(0.0349, 2), "0.03");
    }

    #[test]
    fn flatten_is_sorted_and_nested() {
        let v = serde_json::json!({"b": 1, "a": {"y": "", "x": [1, 2]}, "g": [{"n": "gpu"}]});
        let f = flatten(&v);
        assert_eq!(
            f,
            vec![
                ("a.x".to_string(), "1, 2".to_string()),
                ("a.y".into(), "—".into()),
                ("b".into(), "1".into()),
                ("g[0].n".into(), "gpu".into())
            ]
        );
    }

    #[test]
    fn energy_reason_names_the_sensor() {
        let s = vec![SensorStatus::unavailable(
            "rapl",
            "no /sys/class/powercap (virtual machine)",
        )];
        assert!(energy_absent_reason(&s).contains("rapl: no /sys/class/powercap"));
        assert!(energy_absent_reason(&[]).contains("no energy sensor"));
    }
}
