//! Bencher Metric Format (BMF) JSON: `{benchmark: {measure: {value, lower_value, upper_value}}}`.
//!
//! One benchmark per successful cell (its id). Measures:
//! - `latency`: prove wall time in nanoseconds (Bencher's built-in unit), median with
//!   min/max across repetitions as lower/upper;
//! - `peak-memory`: prove peak memory of the whole process tree, bytes (median, min, max);
//! - `proof-size`: bytes; `energy-per-proof`: joules, where recorded;
//! - every other numeric metric of the cell, as `metric-<key>` (kebab case).

use super::view;
use super::{Exporter, Format, Loaded, ReportError};
use crate::results::CellStatus;
use crate::results::Summary;
use serde_json::{json, Map, Value};

/// The Bencher exporter.
pub struct BencherExporter;

fn measure(s: &Summary, scale: f64) -> Value {
    json!({ "value": s.median * scale, "lower_value": s.min * scale, "upper_value": s.max * scale })
}

/// `accuracy_loss_pct` -> `accuracy-loss-pct`.
pub fn kebab(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

impl Exporter for BencherExporter {
    fn format(&self) -> Format {
        Format::Bencher
    }

    fn render(&self, files: &[Loaded]) -> Result<Vec<u8>, ReportError> {
        let mut root = Map::new();
        let rows = view::rows(files);
        let hosts = view::several_hosts(&rows);
        for row in rows {
            let c = row.cell;
            if c.status != CellStatus::Ok {
                continue;
            }
            let Some(prove) = view::step(c, "prove") else {
                continue;
            };
            let mut m = Map::new();
            m.insert("latency".into(), measure(&prove.wall_s, 1e9));
            m.insert("peak-memory".into(), measure(&prove.peak_tree_bytes, 1.0));
            if let Some(v) = view::metric(c, view::PROOF_SIZE) {
                m.insert("proof-size".into(), json!({ "value": v }));
            }
            if let Some(v) = view::energy_per_proof(c) {
                m.insert("energy-per-proof".into(), json!({ "value": v }));
            }
            for (k, v) in &c.metrics {
                if v.is_finite() && k != view::PROOF_SIZE {
                    m.insert(format!("metric-{}", kebab(k)), json!({ "value": v }));
                }
            }
            // Merged files may hold the same cell id from several hosts: keep them apart.
            let name = format!("{}{}", c.id, view::name_suffix(files, hosts, &row));
            root.insert(name, Value::Object(m));
        }
        let mut out = serde_json::to_vec_pretty(&Value::Object(root)).map_err(|e| {
            ReportError::Serialize {
                format: "bencher",
                message: e.to_string(),
            }
        })?;
        out.push(b'\n');
        Ok(out)
    }
}
