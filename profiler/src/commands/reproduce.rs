//! `zkprof reproduce --reference FILE [RESULTS...]`: a published table against ours.

use super::compare::TableFormat;
use super::GlobalArgs;
use crate::report::{reference, reproduce, table};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ReproduceArgs {
    /// The published table: zkprof/reference/v1 JSON (e.g. reports/reference/zkml-benchmark-2024.json)
    /// or CSV in the 2024 ZKML-Benchmark schema.
    #[arg(long, value_name = "FILE")]
    pub reference: PathBuf,
    /// Our results files; without any, every published row is listed as not run.
    #[arg(value_name = "RESULTS")]
    pub results: Vec<PathBuf>,
    /// Only the dense (DNN) rows.
    #[arg(long)]
    pub dnn_only: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TableFormat::Text)]
    pub format: TableFormat,
    /// Write to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Renders a reproduction as text, markdown or JSON.
pub fn render(r: &reproduce::Reproduction, format: TableFormat) -> anyhow::Result<String> {
    if format == TableFormat::Json {
        return Ok(serde_json::to_string_pretty(r)? + "\n");
    }
    let md = format == TableFormat::Markdown;
    let esc = |s: &str| {
        if md {
            crate::report::markdown::escape(s)
        } else {
            s.to_string()
        }
    };
    let bullet = if md { "- " } else { "" };
    let mut out = String::new();
    let src = &r.source;
    out.push_str(&format!(
        "{bullet}Published: {} {}{}{}\n",
        esc(&src.title),
        esc(&src.url),
        if src.commit.is_empty() {
            String::new()
        } else {
            format!(" (commit {})", esc(&src.commit))
        },
        if src.file.is_empty() {
            String::new()
        } else {
            format!(", {}", esc(&src.file))
        }
    ));
    out.push_str(&format!(
        "{bullet}Published hardware: {}\n",
        esc(&r.published_hardware)
    ));
    if r.our_hardware.is_empty() {
        out.push_str(&format!("{bullet}Our hardware: no results file given\n"));
    }
    for h in &r.our_hardware {
        out.push_str(&format!("{bullet}Our hardware: {}\n", esc(h)));
    }
    out.push('\n');
    let mut header: Vec<&str> = reproduce::HEADER.to_vec();
    header.push("ours: status");
    let rows = reproduce::table_rows(r);
    out.push_str(&if md {
        table::markdown(&header, &rows)
    } else {
        table::text(&header, &rows)
    });
    out.push_str(&format!("\n{}\n", r.tally.line()));
    out.push_str(
        "A row reproduces when our cell ran the published version and its accuracy loss is within \
         ±0.5 pp of the published one (Δ loss is ours − published, percentage points); a row run \
         with another version is not counted. Time and memory are ratios, ours / published, both \
         by the published method, and never part of the verdict (the hardware differs): time as \
         the published pipeline timed it (EZKL: one process that calibrated, compiled, set up and \
         proved; zkml: time_circuit whole; the others: the prove alone), memory as the peak RSS \
         of the process the benchmark spawned (our prove step's direct child). Our own headlines \
         are beside them: the prove step alone, and the whole tree's working set.\n",
    );
    if !r.unpublished.is_empty() {
        out.push_str("\nOurs without a published row:\n\n");
        let o = |v: Option<f64>, d: usize, unit: &str| {
            v.map_or("—".to_string(), |x| {
                format!("{}{unit}", crate::report::view::num(x, d))
            })
        };
        let rows: Vec<Vec<String>> = r
            .unpublished
            .iter()
            .map(|u| {
                vec![
                    u.framework.clone(),
                    u.model.clone(),
                    o(u.ours_prove_s, 3, " s"),
                    o(u.ours_peak_mib, 1, ""),
                    o(u.ours_accuracy_loss_pct, 2, ""),
                    u.status.clone(),
                    u.why.clone(),
                ]
            })
            .collect();
        let header = [
            "framework",
            "model",
            "ours prove",
            "ours working set MiB",
            "ours loss %",
            "status",
            "no published row because",
        ];
        out.push_str(&if md {
            table::markdown(&header, &rows)
        } else {
            table::text(&header, &rows)
        });
    }
    if !r.caveats.is_empty() {
        out.push_str("\nCaveats of the published numbers:\n");
        for c in &r.caveats {
            out.push_str(&format!("- {}\n", esc(c)));
        }
    }
    Ok(out)
}

pub fn run(_global: &GlobalArgs, args: &ReproduceArgs) -> anyhow::Result<i32> {
    let mut reference = reference::load(&args.reference)?;
    if args.dnn_only {
        reference.rows.retain(|r| r.kind() == "dnn");
    }
    let files = super::report::load_all(&args.results)?;
    let r = reproduce::reproduce(&reference, &files);
    let text = render(&r, args.format)?;
    super::report::write_output(
        args.output.as_deref().unwrap_or(std::path::Path::new("-")),
        text.as_bytes(),
    )?;
    Ok(crate::error::EXIT_OK)
}
