//! Sections of the HTML report built from all rows: a compact card per host with its full
//! fingerprint side by side, the compatibility matrix, the cells that did not succeed, and
//! what was not measured.

use crate::report::view::{self, Row};
use crate::report::Loaded;
use crate::results::CellStatus;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Serialize)]
pub(super) struct HostRow {
    field: String,
    values: Vec<String>,
    differs: bool,
}

#[derive(Debug, Serialize)]
pub(super) struct MatrixCell {
    status: String,
    text: String,
    detail: String,
}

#[derive(Debug, Serialize)]
pub(super) struct MatrixRow {
    framework: String,
    cells: Vec<MatrixCell>,
}

#[derive(Debug, Serialize)]
pub(super) struct Failure {
    id: String,
    status: &'static str,
    reason: String,
    stderr: Vec<String>,
}

#[derive(Debug, Serialize)]
pub(super) struct Absent {
    what: String,
    why: String,
}

/// The few facts about a host a reader needs first; the rest is in the full fingerprint.
#[derive(Debug, Serialize)]
pub(super) struct HostCard {
    id: String,
    name: String,
    /// Results files the host appears in (when several files are shown).
    files: String,
    /// `(label, value, note)`; the note says why a value is missing or qualifies it.
    facts: Vec<(&'static str, String, String)>,
}

fn card(h: &crate::results::Host, files: String) -> HostCard {
    use crate::units::format_bytes;
    let or_unknown = |s: &str| {
        if s.trim().is_empty() {
            "unknown".to_string()
        } else {
            s.to_string()
        }
    };
    let mut cores = format!("{} logical CPUs", h.logical_cpus);
    if h.cores > 0 {
        cores.push_str(&format!(
            " ({} socket{} × {} cores, {} thread{}/core)",
            h.sockets.max(1),
            if h.sockets > 1 { "s" } else { "" },
            h.cores / h.sockets.max(1),
            h.threads_per_core.max(1),
            if h.threads_per_core > 1 { "s" } else { "" }
        ));
    }
    let (gpu, gpu_note) = if h.gpus.is_empty() {
        (
            "none".to_string(),
            h.gpu_note
                .clone()
                .unwrap_or_else(|| "NVML saw no GPU".into()),
        )
    } else {
        let names: Vec<String> = h
            .gpus
            .iter()
            .map(|g| format!("{} ({})", g.name, format_bytes(g.memory_bytes as f64)))
            .collect();
        (names.join(", "), String::new())
    };
    let mut virt = or_unknown(&h.virtualization);
    if let Some(c) = &h.container {
        virt.push_str(&format!(", in {c}"));
    }
    let (rapl, rapl_note) = if h.rapl_domains.is_empty() {
        (
            "none".to_string(),
            h.rapl_note
                .clone()
                .unwrap_or_else(|| "no RAPL domains recorded".into()),
        )
    } else {
        (h.rapl_domains.join(", "), String::new())
    };
    HostCard {
        id: h.fingerprint_id.clone(),
        name: or_unknown(&h.hostname),
        files,
        facts: vec![
            (
                "CPU",
                format!("{} ({})", or_unknown(&h.cpu_model), or_unknown(&h.arch)),
                String::new(),
            ),
            ("cores", cores, String::new()),
            ("memory", format_bytes(h.memory_bytes as f64), String::new()),
            ("GPU", gpu, gpu_note),
            (
                "OS",
                format!("{}, kernel {}", or_unknown(&h.os), or_unknown(&h.kernel)),
                String::new(),
            ),
            ("virtualization", virt, String::new()),
            ("RAPL", rapl, rapl_note),
        ],
    }
}

/// One card per host, in order of first appearance, by fingerprint id.
pub(super) fn host_cards(files: &[Loaded]) -> Vec<HostCard> {
    let mut out: Vec<HostCard> = Vec::new();
    let mut in_files: Vec<(String, Vec<String>)> = Vec::new();
    for f in files {
        let mut all = vec![&f.results.host];
        all.extend(f.results.other_hosts.values());
        for h in all {
            match in_files.iter_mut().find(|(id, _)| *id == h.fingerprint_id) {
                Some((_, fs)) => fs.push(f.label.clone()),
                None => {
                    in_files.push((h.fingerprint_id.clone(), vec![f.label.clone()]));
                    out.push(card(h, String::new()));
                }
            }
        }
    }
    if files.len() > 1 {
        for (c, (_, fs)) in out.iter_mut().zip(&in_files) {
            c.files = fs.join(", ");
        }
    }
    // A reason already given on an earlier card (no RAPL in a VM, no NVIDIA driver) is said
    // once: later cards point to it.
    for k in 1..out.len() {
        let (before, rest) = out.split_at_mut(k);
        for fact in &mut rest[0].facts {
            if fact.2.is_empty() {
                continue;
            }
            if let Some(first) = before
                .iter()
                .find(|c| c.facts.iter().any(|f| f.0 == fact.0 && f.2 == fact.2))
            {
                fact.2 = format!("as on {}", first.name);
            }
        }
    }
    out
}

/// Hosts side by side: each file's host and the hosts merged into it, by fingerprint id.
pub(super) fn hosts(files: &[Loaded]) -> (Vec<String>, Vec<HostRow>) {
    let mut labels = Vec::new();
    let mut tables: Vec<Vec<(String, String)>> = Vec::new();
    for f in files {
        let mut all = vec![&f.results.host];
        all.extend(f.results.other_hosts.values());
        for h in all {
            labels.push(if files.len() > 1 {
                format!("{} [{}]", f.label, h.fingerprint_id)
            } else {
                h.fingerprint_id.clone()
            });
            tables.push(view::host_fields(h));
        }
    }
    let mut fields: Vec<String> = Vec::new();
    for t in &tables {
        for (k, _) in t {
            if !fields.contains(k) {
                fields.push(k.clone());
            }
        }
    }
    let rows = fields
        .into_iter()
        .map(|field| {
            let values: Vec<String> = tables
                .iter()
                .map(|t| {
                    t.iter()
                        .find(|(k, _)| *k == field)
                        .map_or_else(|| "—".to_string(), |(_, v)| v.clone())
                })
                .collect();
            let differs = values.windows(2).any(|w| w[0] != w[1]);
            HostRow {
                field,
                values,
                differs,
            }
        })
        .collect();
    (labels, rows)
}

pub(super) fn failure(r: &Row) -> Failure {
    let stderr = r
        .cell
        .repetitions
        .iter()
        .rev()
        .flat_map(|rep| rep.steps.iter().rev())
        .find(|s| !s.succeeded())
        .map(|s| s.stderr_tail.clone())
        .unwrap_or_default();
    Failure {
        id: r.cell.id.clone(),
        status: view::status_word(r.cell.status),
        reason: r
            .cell
            .reason
            .clone()
            .unwrap_or_else(|| "no reason given".into()),
        stderr,
    }
}

/// Framework x model: every cell's status, with reasons.
pub(super) fn matrix(rows: &[Row]) -> (Vec<String>, Vec<MatrixRow>) {
    let mut models: Vec<String> = Vec::new();
    let mut frameworks: Vec<String> = Vec::new();
    let mut by: BTreeMap<(String, String), Vec<&Row>> = BTreeMap::new();
    for r in rows {
        if !models.contains(&r.cell.model) {
            models.push(r.cell.model.clone());
        }
        let fw = view::framework_label(r.cell);
        if !frameworks.contains(&fw) {
            frameworks.push(fw.clone());
        }
        by.entry((fw, r.cell.model.clone())).or_default().push(r);
    }
    let matrix = frameworks
        .iter()
        .map(|f| MatrixRow {
            framework: f.clone(),
            cells: models
                .iter()
                .map(|m| match by.get(&(f.clone(), m.clone())) {
                    None => MatrixCell {
                        status: "none".into(),
                        text: "not in suite".into(),
                        detail: String::new(),
                    },
                    Some(cs) => {
                        let ok = cs
                            .iter()
                            .filter(|r| r.cell.status == CellStatus::Ok)
                            .count();
                        let worst = cs
                            .iter()
                            .map(|r| r.cell.status)
                            .find(|s| *s != CellStatus::Ok);
                        let detail: Vec<String> =
                            cs.iter()
                                .filter_map(|r| {
                                    r.cell.reason.as_ref().map(|why| {
                                        format!("{}: {why}", view::settings_label(r.cell))
                                    })
                                })
                                .collect();
                        let status = match worst {
                            None => "ok",
                            Some(_) if ok > 0 => "partial",
                            Some(s) => view::status_word(s),
                        };
                        let text = if ok == cs.len() {
                            format!("ok ({ok})")
                        } else {
                            format!("{status} ({ok}/{} ok)", cs.len())
                        };
                        MatrixCell {
                            status: status.into(),
                            text,
                            detail: detail.join("\n"),
                        }
                    }
                })
                .collect(),
        })
        .collect();
    (models, matrix)
}

/// A column check: its name, its `absent_reason` key, and whether a row has it.
type Check = (&'static str, &'static str, fn(&Row) -> bool);

/// What was not measured, and why: sensors that could not work, and columns absent from
/// successful cells.
pub(super) fn absent(files: &[Loaded], rows: &[Row]) -> Vec<Absent> {
    let mut out = Vec::new();
    for f in files {
        for s in f.results.sensors.iter().filter(|s| !s.available) {
            out.push(Absent {
                what: format!("sensor {} ({})", s.name, f.label),
                why: s.reason.clone().unwrap_or_else(|| "no reason given".into()),
            });
        }
    }
    let ok: Vec<&Row> = rows
        .iter()
        .filter(|r| r.cell.status == CellStatus::Ok)
        .collect();
    let checks: [Check; 6] = [
        ("energy per proof", "energy", |r| {
            view::energy_per_proof(r.cell).is_some()
        }),
        ("accuracy loss", "accuracy", |r| {
            view::metric(r.cell, view::ACCURACY_LOSS).is_some()
        }),
        ("proof size", "proof_size", |r| {
            view::metric(r.cell, view::PROOF_SIZE).is_some()
        }),
        ("circuit size", "circuit", |r| {
            view::circuit_size(r.cell).is_some()
        }),
        ("parameter count", "params", |r| {
            view::metric(r.cell, view::PARAMS).is_some()
        }),
        ("verify time", "verify", |r| {
            view::step(r.cell, "verify").is_some()
        }),
    ];
    let synthetic: Vec<&&Row> = ok
        .iter()
        .filter(|r| {
            view::synthetic_inputs(r.cell) && view::metric(r.cell, view::ACCURACY_LOSS).is_some()
        })
        .collect();
    if !synthetic.is_empty() {
        let mut fws: Vec<&str> = synthetic
            .iter()
            .map(|r| r.cell.framework.as_str())
            .collect();
        fws.sort();
        fws.dedup();
        out.push(Absent {
            what: format!(
                "accuracy: {} of {} successful cells ran on synthetic inputs",
                synthetic.len(),
                ok.len()
            ),
            why: format!(
                "no labelled test set was found, so their \"accuracy loss\" is the share of synthetic inputs on which the circuit and the float model disagree, not an accuracy (frameworks: {})",
                fws.join(", ")
            ),
        });
    }
    for (what, key, has) in checks {
        let missing: Vec<&&Row> = ok.iter().filter(|r| !has(r)).collect();
        if missing.is_empty() {
            continue;
        }
        let mut fws: Vec<&str> = missing.iter().map(|r| r.cell.framework.as_str()).collect();
        fws.sort();
        fws.dedup();
        out.push(Absent {
            what: format!("{what}: {} of {} successful cells", missing.len(), ok.len()),
            why: format!(
                "{} (frameworks: {})",
                view::absent_reason(missing[0], key),
                fws.join(", ")
            ),
        });
    }
    out
}

/// What the adapters recorded about a framework (version, SRS label, image, ...).
#[derive(Debug, Serialize)]
pub(super) struct Facts {
    framework: String,
    facts: Vec<(String, String)>,
}

/// Per framework, each `info` key with its distinct values across the cells (first seen order
/// of frameworks, keys sorted); frameworks without facts are left out.
pub(super) fn facts(rows: &[Row]) -> Vec<Facts> {
    let mut order: Vec<&str> = Vec::new();
    let mut by: BTreeMap<&str, BTreeMap<&str, Vec<&str>>> = BTreeMap::new();
    for r in rows {
        let fw = r.cell.framework.as_str();
        if !order.contains(&fw) {
            order.push(fw);
        }
        let keys = by.entry(fw).or_default();
        for (k, v) in &r.cell.info {
            let vals = keys.entry(k.as_str()).or_default();
            if !vals.contains(&v.as_str()) && vals.len() < 20 {
                vals.push(v);
            }
        }
    }
    order
        .into_iter()
        .filter_map(|fw| {
            let keys = by.remove(fw)?;
            (!keys.is_empty()).then(|| Facts {
                framework: fw.to_string(),
                facts: keys
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.join(" | ")))
                    .collect(),
            })
        })
        .collect()
}
