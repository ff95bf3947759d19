//! Render benchmark: a results file of 10,000 cells, loaded and rendered to every format.
//!
//! Run: `cargo bench -p zkprof --bench render` (release build). Prints the median over
//! several runs per format and the ratio to the 1 s target for HTML. The cells are copies of
//! the real fixture cells (tests/fixtures/reports/a.json) with distinct ids, models, sizes and
//! times, so the tables, charts and matrix are as large as 10,000 real cells make them.

use std::path::Path;
use std::time::Instant;
use zkprof::report::{exporter, Format, Loaded};

const CELLS: usize = 10_000;
const RUNS: usize = 5;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reports/a.json");
    let mut results = zkprof::store::load_results(&fixture).expect("fixture loads");
    let templates = results.cells.clone();
    results.cells = (0..CELLS)
        .map(|i| {
            let mut c = templates[i % templates.len()].clone();
            let model = i / 100; // 100 models x 100 framework/settings variants
            let variant = i % 100;
            c.model = format!("mlp-{}_{}_10", 100 + model * 7, 8 + model % 50);
            c.framework = format!("{}-{}", c.framework, variant % 10);
            c.id = format!("{}/{}/v{}/native", c.model, c.framework, variant);
            let scale = 1.0 + (i % 97) as f64 / 10.0;
            for s in c.summary.values_mut() {
                for x in [
                    &mut s.wall_s.median,
                    &mut s.wall_s.mean,
                    &mut s.wall_s.min,
                    &mut s.wall_s.max,
                ] {
                    *x *= scale;
                }
            }
            c.metrics
                .insert("params".into(), (1000 + model * 997) as f64);
            c.metrics.insert("layers".into(), (2 + model % 8) as f64);
            c
        })
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("results-10k.json");
    zkprof::store::save_results(&path, &results).expect("write");
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "results file: {CELLS} cells, {:.1} MiB",
        size as f64 / (1u64 << 20) as f64
    );

    let mut load_times = Vec::new();
    let mut loaded = None;
    for _ in 0..RUNS {
        let t = Instant::now();
        let r = zkprof::store::load_results(&path).expect("load");
        load_times.push(t.elapsed().as_secs_f64());
        loaded = Some(r);
    }
    let files = vec![Loaded {
        label: "results-10k.json".into(),
        results: loaded.expect("loaded"),
    }];
    let load = median(load_times);
    println!(
        "{:<26} median {:>8.1} ms",
        "load (parse + validate)",
        load * 1e3
    );
    for format in [
        Format::Html,
        Format::Csv,
        Format::Markdown,
        Format::Bencher,
        Format::GithubActionBenchmark,
    ] {
        let ex = exporter(format);
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..RUNS {
            let t = Instant::now();
            let out = ex.render(&files).expect("render");
            times.push(t.elapsed().as_secs_f64());
            bytes = out.len();
        }
        let m = median(times);
        let line = format!("render {format:?}");
        println!(
            "{line:<26} median {:>8.1} ms  ({:.1} MiB out)",
            m * 1e3,
            bytes as f64 / (1u64 << 20) as f64
        );
        if format == Format::Html {
            let total = load + m;
            println!(
                "html load + render: {:.1} ms = {:.2} of the 1 s target",
                total * 1e3,
                total
            );
        }
    }
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let pair = [files[0].clone(), files[0].clone()];
        let c = zkprof::report::compare::compare(&pair, &Default::default()).expect("compare");
        let text =
            zkprof::commands::compare::render(&c, zkprof::commands::compare::TableFormat::Text)
                .expect("render");
        times.push(t.elapsed().as_secs_f64());
        assert!(text.len() > CELLS);
    }
    println!(
        "{:<26} median {:>8.1} ms",
        "compare 10k vs 10k (text)",
        median(times) * 1e3
    );
}
