//! Published benchmark tables (`zkprof reproduce --reference FILE`).
//!
//! Two file forms load:
//! - JSON `zkprof/reference/v1`: the numbers plus their source, hardware description and
//!   measurement caveats (`reports/reference/zkml-benchmark-2024.json`);
//! - CSV in the 2024 ZKML-Benchmark column schema (its `benchmark_results.csv`, or a
//!   `zkprof report --format csv` export), with source = the file and hardware unknown.

use super::ReportError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Schema string of the JSON form.
pub const REFERENCE_SCHEMA: &str = "zkprof/reference/v1";

/// One published row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RefRow {
    /// As published, e.g. `ezkl (pytorch)`.
    pub framework: String,
    /// As published, e.g. `Input-Dense-Dense (196x25x10)`.
    pub architecture: String,
    pub layers: u32,
    pub params: u64,
    /// Test images the accuracy loss was measured on.
    pub testing_size: u32,
    /// Percent of test images whose class differs from the float model's.
    pub accuracy_loss_pct: f64,
    /// Mean peak memory as published: "MB" = psutil RSS / 2^20 of the direct child, i.e. MiB.
    pub memory_avg_mb: f64,
    pub memory_std_mb: f64,
    /// Mean proving time, seconds, as published.
    pub prove_time_avg_s: f64,
    pub prove_time_std_s: f64,
    #[serde(default)]
    pub notes: String,
}

impl RefRow {
    /// `dnn` for dense-only architectures, `cnn` when a convolution appears.
    pub fn kind(&self) -> &'static str {
        if self.architecture.to_ascii_lowercase().contains("conv") {
            "cnn"
        } else {
            "dnn"
        }
    }

    /// The layer widths, e.g. `196x25x10` (kernel suffixes like `_3x3` dropped).
    pub fn dims(&self) -> Option<String> {
        let inner = self.architecture.split_once('(')?.1.split(')').next()?;
        Some(inner.split('_').next()?.trim().to_string())
    }

    /// The EZKL calibration mode named in the notes (`resources` or `accuracy`), if any.
    pub fn mode(&self) -> Option<&'static str> {
        let n = self.notes.to_ascii_lowercase();
        if n.contains("mode=accuracy") {
            Some("accuracy")
        } else if n.contains("mode=resource") {
            Some("resources")
        } else {
            None
        }
    }
}

/// Where the numbers come from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub title: String,
    pub url: String,
    #[serde(default)]
    pub commit: String,
    #[serde(default)]
    pub file: String,
    #[serde(default)]
    pub date: String,
}

/// A published table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub schema: String,
    pub source: Source,
    /// The hardware the numbers were measured on, as far as it is known.
    pub hardware: String,
    /// Framework versions and settings, as published.
    #[serde(default)]
    pub settings: Vec<String>,
    /// The published version of each framework family (`ezkl` -> `7.1.4`, `zkml` -> a
    /// commit), for `reproduce`'s verdicts; a family without one has an unknown version.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub versions: std::collections::BTreeMap<String, String>,
    /// How the published numbers were measured, where that differs from zkprof.
    #[serde(default)]
    pub caveats: Vec<String>,
    pub rows: Vec<RefRow>,
}

fn err(path: &Path, message: String) -> ReportError {
    ReportError::Reference {
        path: path.display().to_string(),
        message,
    }
}

/// Loads a reference table (JSON or 2024-schema CSV, by content).
pub fn load(path: &Path) -> Result<Reference, ReportError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| err(path, format!("cannot read the reference table: {e}")))?;
    if text.trim().is_empty() {
        return Err(err(
            path,
            "empty file; expected a zkprof/reference/v1 JSON file or a 2024-schema CSV".into(),
        ));
    }
    if text.trim_start().starts_with('{') {
        let r: Reference = serde_json::from_str(&text).map_err(|e| {
            err(
                path,
                format!(
                    "line {} column {}: not a {REFERENCE_SCHEMA} file: {e}",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        if r.schema != REFERENCE_SCHEMA {
            return Err(err(
                path,
                format!(
                    "schema \"{}\" is not supported; this zkprof reads \"{REFERENCE_SCHEMA}\"",
                    r.schema
                ),
            ));
        }
        return Ok(r);
    }
    parse_csv(path, &text)
}

/// Parses CSV with the 2024 header (`Framework,Architecture,# Layers,...`).
pub fn parse_csv(path: &Path, text: &str) -> Result<Reference, ReportError> {
    let mut rd = ::csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let header: Vec<String> = rd
        .headers()
        .map_err(|e| err(path, format!("cannot read the CSV header: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    let expected = super::csv::HEADER;
    if header.len() != expected.len() || header.iter().zip(expected).any(|(a, b)| a.trim() != b) {
        return Err(err(
            path,
            format!(
                "line 1: the header is not the 2024 ZKML-Benchmark schema; expected: {}",
                expected.join(",")
            ),
        ));
    }
    let mut rows = Vec::new();
    for (i, rec) in rd.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| err(path, format!("line {line}: {e}")))?;
        let f = |col: usize| -> Result<f64, ReportError> {
            rec[col].trim().parse::<f64>().map_err(|_| {
                err(path, format!("line {line}: column `{}` is `{}`, not a number (rows without numbers cannot be reproduced)", expected[col], &rec[col]))
            })
        };
        rows.push(RefRow {
            framework: rec[0].to_string(),
            architecture: rec[1].to_string(),
            layers: f(2)? as u32,
            params: f(3)? as u64,
            testing_size: f(4)? as u32,
            accuracy_loss_pct: f(5)?,
            memory_avg_mb: f(6)?,
            memory_std_mb: f(7)?,
            prove_time_avg_s: f(8)?,
            prove_time_std_s: f(9)?,
            notes: rec[10].to_string(),
        });
    }
    Ok(Reference {
        schema: REFERENCE_SCHEMA.into(),
        source: Source {
            title: "CSV table".into(),
            file: path.display().to_string(),
            ..Source::default()
        },
        hardware: "unknown (not recorded in the CSV)".into(),
        settings: Vec::new(),
        versions: Default::default(),
        caveats: Vec::new(),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(arch: &str, notes: &str) -> RefRow {
        RefRow {
            framework: "ezkl (pytorch)".into(),
            architecture: arch.into(),
            layers: 3,
            params: 5185,
            testing_size: 2500,
            accuracy_loss_pct: 0.0,
            memory_avg_mb: 1.0,
            memory_std_mb: 0.0,
            prove_time_avg_s: 1.0,
            prove_time_std_s: 0.0,
            notes: notes.into(),
        }
    }

    #[test]
    fn dims_kind_and_mode() {
        let r = row("Input-Dense-Dense (196x25x10)", "mode=resource");
        assert_eq!(
            (r.dims().as_deref(), r.kind(), r.mode()),
            (Some("196x25x10"), "dnn", Some("resources"))
        );
        let c = row(
            "Input-Conv2d-Conv2d-Dense-Dense_Kernal (196x5x11x80x10_3x3)",
            "mode=accuracy | start from 1000",
        );
        assert_eq!(
            (c.dims().as_deref(), c.kind(), c.mode()),
            (Some("196x5x11x80x10"), "cnn", Some("accuracy"))
        );
    }

    #[test]
    fn csv_with_a_wrong_header_or_value_names_the_line() {
        let p = Path::new("t.csv");
        let e = parse_csv(p, "a,b\n1,2\n").unwrap_err().to_string();
        assert!(e.contains("t.csv") && e.contains("line 1"), "{e}");
        let body = format!(
            "{}\nezkl,X (1x2),3,x,1,0,1,1,1,1,\n",
            crate::report::csv::HEADER.join(",")
        );
        let e = parse_csv(p, &body).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("# Parameters"), "{e}");
    }
}
