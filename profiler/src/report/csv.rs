//! CSV in the column schema of the 2024 ZKML-Benchmark table, so its notebook plots run on
//! zkprof results. One row per cell. Times are of the prove step only (mean and sample
//! stddev across repetitions, seconds); memory is the peak working set of the whole process
//! tree during the prove step, in MiB (2^20 bytes; the 2024 "MB" was psutil RSS / 2^20 of
//! the direct child only, which `reproduce` compares with instead). Absent values are empty fields; `Notes` says why, and names the settings,
//! runtime, circuit size, repetitions and host fingerprint id.

use super::view::{self, Row};
use super::{Exporter, Format, Loaded, ReportError};
use crate::results::CellStatus;

/// The header of the 2024 table, verbatim.
pub const HEADER: [&str; 11] = [
    "Framework",
    "Architecture",
    "# Layers",
    "# Parameters",
    "Testing Size",
    "Accuracy Loss (%)",
    "Avg Memory Usage (MB)",
    "Std Memory Usage",
    "Avg Proving Time (s)",
    "Std Proving Time",
    "Notes",
];

/// The CSV exporter.
pub struct CsvExporter;

impl Exporter for CsvExporter {
    fn format(&self) -> Format {
        Format::Csv
    }

    fn render(&self, files: &[Loaded]) -> Result<Vec<u8>, ReportError> {
        let err = |e: ::csv::Error| ReportError::Serialize {
            format: "csv",
            message: e.to_string(),
        };
        let mut w = ::csv::Writer::from_writer(Vec::new());
        w.write_record(HEADER).map_err(err)?;
        for row in view::rows(files) {
            let fields: Vec<String> = record(&row)
                .iter()
                .map(|f| neutralise(f).into_owned())
                .collect();
            w.write_record(fields).map_err(err)?;
        }
        w.into_inner().map_err(|e| ReportError::Serialize {
            format: "csv",
            message: e.to_string(),
        })
    }
}

/// A field a spreadsheet would read as a formula (it starts with `=`, `+`, `-`, `@`, a tab
/// or a carriage return, and is not a plain number) gets a leading `'`, as OWASP's CSV
/// injection guidance recommends: `=cmd|' /C calc'!A0` becomes `'=cmd|' /C calc'!A0`.
pub fn neutralise(field: &str) -> std::borrow::Cow<'_, str> {
    let risky = field.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && field.trim().parse::<f64>().is_err() {
        std::borrow::Cow::Owned(format!("'{field}"))
    } else {
        std::borrow::Cow::Borrowed(field)
    }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map(|x| view::num(x, digits)).unwrap_or_default()
}

/// One CSV record for a cell.
pub fn record(row: &Row) -> Vec<String> {
    let c = row.cell;
    let prove = view::step(c, "prove");
    let mib = (1u64 << 20) as f64;
    let mut notes = vec![
        format!("settings: {}", view::settings_label(c)),
        format!("runtime: {}", c.runtime),
    ];
    if c.status != CellStatus::Ok {
        notes.push(view::status_with_reason(c));
    }
    if let Some(size) = view::circuit_size(c) {
        notes.push(size);
    }
    if let Some(p) = prove {
        notes.push(format!("repetitions: {}", p.wall_s.n));
    }
    let host = if c.host_id.is_empty() {
        &row.results.host.fingerprint_id
    } else {
        &c.host_id
    };
    notes.push(format!("host: {host}"));
    vec![
        view::framework_label(c),
        c.model.clone(),
        opt(view::metric(c, view::LAYERS), 0),
        opt(view::metric(c, view::PARAMS), 0),
        opt(view::first_metric(c, &view::ACCURACY_SAMPLES_KEYS), 0),
        opt(view::metric(c, view::ACCURACY_LOSS), 4),
        opt(prove.map(|p| p.peak_tree_bytes.mean / mib), 4),
        opt(prove.map(|p| p.peak_tree_bytes.stddev / mib), 4),
        opt(prove.map(|p| p.wall_s.mean), 6),
        opt(prove.map(|p| p.wall_s.stddev), 6),
        notes.join(" | "),
    ]
}

#[cfg(test)]
mod tests {
    use super::neutralise;

    #[test]
    fn formulas_are_neutralised_and_numbers_kept() {
        for f in [
            "=cmd|' /C calc'!A0",
            "@SUM(A1:A2)",
            "+1+1",
            "-2+3",
            "\t=1",
            "\r=1",
        ] {
            assert_eq!(neutralise(f), format!("'{f}"));
        }
        for f in ["ezkl", "-0.25", "+3", "1e5", "", "mnist-196"] {
            assert_eq!(neutralise(f), f);
        }
    }
}
