//! DeepProve's `bench` CSV (`--bench <file>`, written by its `utils` crate's
//! `StreamingRecorder`): a header `name, elapsed, accuracy, proof_size, <9 memory columns>`
//! and one row per measured span: `Model loading`, `Accuracy metrics`, `Context creation`,
//! then per input `i`: `Inference i`, `Accuracy i` (column `accuracy`: 1 when the quantised
//! model's argmax matches the given output), `Proving i` (column `proof_size`, KiB of the
//! MessagePack proof), `Verify i`. `elapsed` is whole milliseconds.
//!
//! The memory columns: upstream's header names them `in_use, peak, physical_mem,
//! virtual_mem, physical_mem_diff, virtual_mem_diff, allocated, deallocated, alloc_calls`,
//! but each row writes its values in the order `physical_mem, virtual_mem,
//! physical_mem_diff, virtual_mem_diff, allocated, deallocated, alloc_calls, peak, in_use`
//! (commit 7d21c35e). zkprof reads the values by the order rows are written when the header
//! is that one, and by the header's names otherwise. Memory values are bytes; empty when
//! DeepProve could not measure them.

use std::collections::BTreeMap;

/// Upstream's header of the nine memory columns ...
const HEADER_ORDER: [&str; 9] = [
    "in_use",
    "peak",
    "physical_mem",
    "virtual_mem",
    "physical_mem_diff",
    "virtual_mem_diff",
    "allocated",
    "deallocated",
    "alloc_calls",
];
/// ... and the order its rows write them in.
const ROW_ORDER: [&str; 9] = [
    "physical_mem",
    "virtual_mem",
    "physical_mem_diff",
    "virtual_mem_diff",
    "allocated",
    "deallocated",
    "alloc_calls",
    "peak",
    "in_use",
];

/// One row of the CSV.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Span {
    /// `Model loading`, `Proving 0`, ...
    pub name: String,
    /// DeepProve's own duration, seconds (written in whole milliseconds).
    pub elapsed_s: f64,
    /// Other non-empty columns by their true names (`accuracy`, `proof_size`,
    /// `physical_mem`, `peak`, ...).
    pub values: BTreeMap<String, f64>,
}

/// A bench CSV that cannot be read.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("DeepProve's bench CSV {file}, line {line}: {what}")]
pub struct CsvError {
    pub file: String,
    pub line: usize,
    pub what: String,
}

/// Parses the CSV text (`file` names it in errors).
pub fn bench_csv(text: &str, file: &str) -> Result<Vec<Span>, CsvError> {
    let err = |line: usize, what: String| CsvError {
        file: file.to_string(),
        line,
        what,
    };
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let header: Vec<String> = r
        .headers()
        .map_err(|e| err(1, e.to_string()))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if header.len() < 11 || header[0] != "name" || header[1] != "elapsed" {
        return Err(err(
            1,
            format!(
                "expected a header `name,elapsed,...` with at least 11 columns, got `{}`",
                header.join(",")
            ),
        ));
    }
    let tail = header.len() - 9;
    let names: Vec<String> = if header[tail..] == HEADER_ORDER {
        header[..tail]
            .iter()
            .cloned()
            .chain(ROW_ORDER.iter().map(|s| s.to_string()))
            .collect()
    } else {
        header.clone()
    };
    let mut spans = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| err(line, e.to_string()))?;
        let name = rec.get(0).unwrap_or_default().trim().to_string();
        let ms: f64 = rec
            .get(1)
            .unwrap_or_default()
            .trim()
            .parse()
            .map_err(|_| err(line, format!("elapsed `{}` is not a number", &rec[1])))?;
        let mut values = BTreeMap::new();
        for (col, v) in names.iter().zip(rec.iter()).skip(2) {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            let x: f64 = v
                .parse()
                .map_err(|_| err(line, format!("{col} `{v}` is not a number")))?;
            values.insert(col.clone(), x);
        }
        spans.push(Span {
            name,
            elapsed_s: ms / 1000.0,
            values,
        });
    }
    Ok(spans)
}

/// The phases of one input: DeepProve's own seconds per span kind, summed over inputs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub load_s: Option<f64>,
    pub setup_s: Option<f64>,
    pub inference_s: Option<f64>,
    pub prove_s: Option<f64>,
    pub verify_s: Option<f64>,
    /// Proofs made (`Proving i` rows) and verified (`Verify i` rows).
    pub proofs: usize,
    pub verified: usize,
    /// The first proof's size, bytes (DeepProve writes KiB).
    pub proof_size_bytes: Option<f64>,
    /// Inputs whose quantised argmax matched the given output, of those checked.
    pub argmax_matches: Option<(usize, usize)>,
    /// The largest `physical_mem` DeepProve saw at the end of a span, bytes.
    pub max_physical_mem: Option<f64>,
}

/// Sums the spans.
pub fn summarize(spans: &[Span]) -> Summary {
    let mut s = Summary::default();
    let add = |slot: &mut Option<f64>, v: f64| *slot = Some(slot.unwrap_or(0.0) + v);
    let mut matched = (0usize, 0usize);
    for sp in spans {
        let kind = sp
            .name
            .trim_end_matches(|c: char| c.is_ascii_digit())
            .trim();
        match kind {
            "Model loading" => add(&mut s.load_s, sp.elapsed_s),
            "Context creation" => add(&mut s.setup_s, sp.elapsed_s),
            "Inference" => add(&mut s.inference_s, sp.elapsed_s),
            "Proving" => {
                add(&mut s.prove_s, sp.elapsed_s);
                s.proofs += 1;
                if s.proof_size_bytes.is_none() {
                    s.proof_size_bytes =
                        sp.values.get("proof_size").map(|kb| (kb * 1024.0).round());
                }
            }
            "Verify" => {
                add(&mut s.verify_s, sp.elapsed_s);
                s.verified += 1;
            }
            "Accuracy" => {
                if let Some(a) = sp.values.get("accuracy") {
                    matched.1 += 1;
                    if *a >= 1.0 {
                        matched.0 += 1;
                    }
                }
            }
            _ => {}
        }
        if let Some(m) = sp.values.get("physical_mem") {
            s.max_physical_mem = Some(s.max_physical_mem.map_or(*m, |x: f64| x.max(*m)));
        }
    }
    if matched.1 > 0 {
        s.argmax_matches = Some(matched);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> String {
        std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/deepprove/bench.csv"
        ))
        .unwrap()
    }

    #[test]
    fn rows_are_read_in_the_order_they_are_written() {
        let spans = bench_csv(&fixture(), "bench.csv").unwrap();
        let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Model loading",
                "Accuracy metrics",
                "Context creation",
                "Inference 0",
                "Accuracy 0",
                "Proving 0",
                "Verify 0"
            ]
        );
        let prove = &spans[5];
        assert_eq!(prove.elapsed_s, 1.234);
        assert_eq!(prove.values["proof_size"], 125.5);
        // The first value after the user columns is physical_mem, whatever the header says.
        assert_eq!(prove.values["physical_mem"], 412_000_256.0);
        assert_eq!(prove.values["virtual_mem"], 1_200_000_000.0);
        assert!(!prove.values.contains_key("peak"));
        let s = summarize(&spans);
        assert_eq!(s.prove_s, Some(1.234));
        assert_eq!(s.setup_s, Some(0.845));
        assert_eq!(s.verify_s, Some(0.051));
        assert_eq!((s.proofs, s.verified), (1, 1));
        assert_eq!(s.proof_size_bytes, Some(128_512.0));
        assert_eq!(s.argmax_matches, Some((1, 1)));
        assert_eq!(s.max_physical_mem, Some(412_000_256.0));
    }

    #[test]
    fn a_header_in_row_order_is_read_by_name() {
        let text = "name,elapsed,accuracy,proof_size,physical_mem,virtual_mem,physical_mem_diff,virtual_mem_diff,allocated,deallocated,alloc_calls,peak,in_use\nProving 0,2000,,1,5,6,,,,,,7,8\n";
        let spans = bench_csv(text, "b.csv").unwrap();
        assert_eq!(spans[0].values["peak"], 7.0);
        assert_eq!(spans[0].values["physical_mem"], 5.0);
    }

    #[test]
    fn bad_csv_names_file_and_line() {
        let e = bench_csv("a,b\n1,2\n", "x.csv").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.to_string().contains("x.csv, line 1"), "{e}");
        let mut t = fixture();
        t = t.replacen("Verify 0,51", "Verify 0,fast", 1);
        let e = bench_csv(&t, "b.csv").unwrap_err();
        assert_eq!(e.line, 8, "{e}");
        assert!(e.what.contains("`fast`"), "{e}");
    }
}
