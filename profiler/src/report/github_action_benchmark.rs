//! github-action-benchmark `customSmallerIsBetter` JSON: an array of
//! `{name, unit, value, range, extra}`. Per successful cell: prove time (median, seconds,
//! range `± stddev`) and prove peak memory of the process tree (median, MiB); plus proof
//! size and energy per proof where recorded. `extra` names the host and the repetitions.

use super::view::{self, Row};
use super::{Exporter, Format, Loaded, ReportError};
use crate::results::CellStatus;
use serde::Serialize;

/// One entry of the array.
#[derive(Debug, Serialize)]
pub struct Entry {
    pub name: String,
    pub unit: String,
    pub value: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<String>,
    pub extra: String,
}

/// The github-action-benchmark exporter.
pub struct GabExporter;

impl Exporter for GabExporter {
    fn format(&self) -> Format {
        Format::GithubActionBenchmark
    }

    fn render(&self, files: &[Loaded]) -> Result<Vec<u8>, ReportError> {
        let rows = view::rows(files);
        let hosts = view::several_hosts(&rows);
        let entries: Vec<Entry> = rows
            .iter()
            .flat_map(|r| entries(r, &view::name_suffix(files, hosts, r)))
            .collect();
        let mut out = serde_json::to_vec_pretty(&entries).map_err(|e| ReportError::Serialize {
            format: "github-action-benchmark",
            message: e.to_string(),
        })?;
        out.push(b'\n');
        Ok(out)
    }
}

/// The entries of one cell; `suffix` keeps names unique across hosts or files.
fn entries(row: &Row, suffix: &str) -> Vec<Entry> {
    let c = row.cell;
    let mut out = Vec::new();
    if c.status != CellStatus::Ok {
        return out;
    }
    let Some(prove) = view::step(c, "prove") else {
        return out;
    };
    let extra = format!(
        "host: {} [{}]; repetitions: {}",
        view::host_of(row).one_line(),
        view::host_id(row),
        prove.wall_s.n
    );
    out.push(Entry {
        name: format!("{}{suffix} prove time", c.id),
        unit: "s".into(),
        value: prove.wall_s.median,
        range: Some(format!("± {}", view::num(prove.wall_s.stddev, 6))),
        extra: extra.clone(),
    });
    let mib = (1u64 << 20) as f64;
    out.push(Entry {
        name: format!("{}{suffix} prove peak memory", c.id),
        unit: "MiB".into(),
        value: prove.peak_tree_bytes.median / mib,
        range: Some(format!(
            "± {}",
            view::num(prove.peak_tree_bytes.stddev / mib, 3)
        )),
        extra: extra.clone(),
    });
    if let Some(size) = view::metric(c, view::PROOF_SIZE) {
        out.push(Entry {
            name: format!("{}{suffix} proof size", c.id),
            unit: "bytes".into(),
            value: size,
            range: None,
            extra: extra.clone(),
        });
    }
    if let Some(e) = view::energy_per_proof(c) {
        out.push(Entry {
            name: format!("{}{suffix} energy per proof", c.id),
            unit: "J".into(),
            value: e,
            range: None,
            extra,
        });
    }
    out
}
