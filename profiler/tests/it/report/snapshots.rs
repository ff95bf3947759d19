//! Every export of the fixture against its committed snapshot; determinism; escaping.

use super::{load, snapshot};
use crate::support::repo;
use zkprof::commands::compare::TableFormat;
use zkprof::report::{exporter, reference, reproduce, Format};

fn render(format: Format) -> String {
    let files = vec![load("a.json")];
    String::from_utf8(exporter(format).render(&files).unwrap()).unwrap()
}

#[test]
fn csv_export_matches_snapshot_and_2024_header() {
    let out = render(Format::Csv);
    assert!(out.starts_with(
        "Framework,Architecture,# Layers,# Parameters,Testing Size,Accuracy Loss (%),Avg Memory Usage (MB),Std Memory Usage,Avg Proving Time (s),Std Proving Time,Notes\n"
    ));
    assert_eq!(out.lines().count(), 16, "a header and one row per cell");
    snapshot("a.csv", &out);
}

#[test]
fn csv_export_reads_back_as_a_reference_table() {
    // The export is in the 2024 schema, so `reproduce` reads it like the published CSV,
    // except rows without numbers (failed cells, no accuracy measured), which it rejects by line.
    let dir = tempfile::tempdir().unwrap();
    let ok: String = render(Format::Csv)
        .lines()
        .filter(|l| {
            l.starts_with("Framework,") || l.starts_with("ezkl,") || l.starts_with("circom,")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let p = dir.path().join("ours.csv");
    std::fs::write(&p, &ok).unwrap();
    let r = reference::load(&p).unwrap();
    assert_eq!(r.rows.len(), 9);
    assert_eq!(r.rows[0].params, 5185);
    let p2 = dir.path().join("all.csv");
    std::fs::write(&p2, render(Format::Csv)).unwrap();
    let e = reference::load(&p2).unwrap_err().to_string();
    assert!(e.contains("all.csv") && e.contains("line 5"), "{e}");
}

#[test]
fn markdown_export_matches_snapshot_and_escapes() {
    let out = render(Format::Markdown);
    assert!(!out.contains("<script>"), "raw markup in markdown");
    assert!(out.contains("&lt;script&gt;alert(\"x\")&lt;/script&gt;"));
    snapshot("a.md", &out);
}

#[test]
fn bencher_export_matches_snapshot() {
    let out = render(Format::Bencher);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let cell = &v["mnist-196_25_10/ezkl/calibration_target=resources/native"];
    let lat = &cell["latency"];
    assert!(lat["lower_value"].as_f64().unwrap() <= lat["value"].as_f64().unwrap());
    assert!(lat["value"].as_f64().unwrap() <= lat["upper_value"].as_f64().unwrap());
    assert!(lat["value"].as_f64().unwrap() > 1e8, "nanoseconds");
    assert_eq!(
        v.as_object().unwrap().len(),
        12,
        "one benchmark per successful cell"
    );
    snapshot("a.bencher.json", &out);
}

#[test]
fn github_action_benchmark_export_matches_snapshot() {
    let out = render(Format::GithubActionBenchmark);
    let v: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert!(v
        .iter()
        .all(|e| e["name"].is_string() && e["unit"].is_string() && e["value"].is_number()));
    assert!(v
        .iter()
        .any(|e| e["unit"] == "s" && e["range"].as_str().unwrap().starts_with("± ")));
    snapshot("a.gab.json", &out);
}

#[test]
fn html_is_deterministic_self_contained_and_escaped() {
    let a = render(Format::Html);
    assert_eq!(a, render(Format::Html), "two renders differ");
    let lower = a.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "a script element in the report");
    // The only URL allowed is the SVG namespace name, which is never fetched.
    let urls = lower.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(
        !urls.contains("http://") && !urls.contains("https://"),
        "a URL in the report"
    );
    assert!(
        !lower.contains("</style> &amp;") && lower.matches("</style>").count() == 1,
        "stderr closed the style element"
    );
    // The hostile framework name and stderr line are there, as text.
    assert!(
        a.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;&#x2f;script&gt;")
            || a.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"),
        "framework name not escaped as expected"
    );
    assert!(
        a.contains("document.title=&#x27;pwned&#x27;")
            || a.contains("document.title=&#39;pwned&#39;")
    );
    for section in [
        "id=\"hosts\"",
        "id=\"summary\"",
        "id=\"charts\"",
        "id=\"matrix\"",
        "id=\"failures\"",
        "id=\"not-measured\"",
    ] {
        assert!(a.contains(section), "missing section {section}");
    }
    // Three models per framework: scaling lines of time and memory, time and memory against
    // depth (3 and 4 layers), and the memory series; energy and power are not drawn, with
    // the reason.
    assert_eq!(a.matches("<svg").count(), 5, "charts missing");
    assert!(a.contains("Not drawn: <strong>Energy per proof vs parameters</strong>: not measured: no energy sensor"));
    assert!(
        a.contains("not measured: no energy sensor"),
        "energy gap not explained"
    );
}

#[test]
fn reproduce_lists_every_published_dnn_row() {
    let reference =
        reference::load(&repo().join("reports/reference/zkml-benchmark-2024.json")).unwrap();
    let dnn = reference.rows.iter().filter(|r| r.kind() == "dnn").count();
    assert_eq!(dnn, 25);
    let files = vec![load("a.json")];
    let r = reproduce::reproduce(&reference, &files);
    assert_eq!(r.lines.len(), reference.rows.len());
    let ezkl_resources: Vec<_> = r
        .lines
        .iter()
        .filter(|l| {
            l.published.framework.starts_with("ezkl")
                && l.published.mode() == Some("resources")
                && l.kind == "dnn"
        })
        .collect();
    assert_eq!(ezkl_resources.len(), 6);
    assert!(ezkl_resources.iter().all(|l| l
        .cell
        .as_deref()
        .is_some_and(|c| c.contains("calibration_target=resources"))));
    assert!(r
        .lines
        .iter()
        .filter(|l| l.published.framework.starts_with("zkml"))
        .all(|l| l.status.starts_with("not run")));
    let text = zkprof::commands::reproduce::render(&r, TableFormat::Text).unwrap();
    assert!(text.contains("Published hardware: unknown"));
    snapshot("reproduce-a.txt", &text);
}

#[test]
fn reference_json_holds_the_published_csv_numbers() {
    let shared = repo().join("../shared/reference/zkml-benchmark-2024/benchmark_results.csv");
    let ours = reference::load(&repo().join("reports/reference/zkml-benchmark-2024.json")).unwrap();
    if !shared.exists() {
        eprintln!(
            "the published CSV is not here ({}); checked the committed copy only",
            shared.display()
        );
        assert_eq!(ours.rows.len(), 41);
        return;
    }
    let published = reference::load(&shared).unwrap();
    assert_eq!(ours.rows, published.rows);
}

#[test]
fn compare_text_matches_snapshot() {
    let (a, b) = (load("a.json"), load("b.json"));
    let c = zkprof::report::compare::compare(&[a, b], &Default::default()).unwrap();
    let text = zkprof::commands::compare::render(&c, TableFormat::Text).unwrap();
    assert!(
        text.lines().all(|l| l.chars().count() <= 120),
        "the terminal table fits 120 columns:\n{text}"
    );
    snapshot("compare-a-b.txt", &text);
}

#[test]
fn html_matches_snapshot() {
    snapshot("a.html", &render(Format::Html));
}

#[test]
fn unsupported_and_interrupted_cells_show_with_their_reasons() {
    use zkprof::results::CellStatus;
    let mut a = load("a.json");
    let c = &mut a.results.cells[0];
    c.status = CellStatus::Unsupported;
    c.reason = Some("unsupported: operator Softmax has no circuit".into());
    c.summary.clear();
    let c = &mut a.results.cells[2];
    c.status = CellStatus::Interrupted;
    c.reason = Some("prove: interrupted".into());
    c.summary.clear();
    let files = vec![a];
    let html = String::from_utf8(exporter(Format::Html).render(&files).unwrap()).unwrap();
    assert!(
        html.contains("class=\"m-partial\""),
        "ezkl x 196_25_10 has one ok and one unsupported cell"
    );
    assert!(html.contains("unsupported: operator Softmax has no circuit"));
    assert!(html.contains("<strong>interrupted</strong> — prove: interrupted"));
    // reproduce: the published ezkl resources rows for 196x25x10 say why ours are missing.
    let reference =
        reference::load(&repo().join("reports/reference/zkml-benchmark-2024.json")).unwrap();
    let r = reproduce::reproduce(&reference, &files);
    let line = r
        .lines
        .iter()
        .find(|l| {
            l.published.framework.starts_with("ezkl")
                && l.published.dims().as_deref() == Some("196x25x10")
        })
        .unwrap();
    assert_eq!(line.status, "unsupported: operator Softmax has no circuit");
    assert_eq!(line.time_ratio, None);
    let circom = r
        .lines
        .iter()
        .find(|l| {
            l.published.framework.starts_with("circom")
                && l.published.dims().as_deref() == Some("196x25x10")
        })
        .unwrap();
    assert_eq!(circom.status, "interrupted: prove: interrupted");
}

#[test]
fn energy_and_power_render_when_present() {
    let mut a = load("a.json");
    a.results
        .sensors
        .push(zkprof::results::SensorStatus::available("rapl"));
    for (i, c) in a.results.cells.iter_mut().enumerate() {
        if c.status == zkprof::results::CellStatus::Ok {
            c.metrics
                .insert("energy_per_proof_j".into(), 2.0 + i as f64);
            for rep in &mut c.repetitions {
                for s in &mut rep.steps {
                    if let Some(series) = &mut s.series {
                        let n = series.t_s.len();
                        series.extra.insert(
                            "rapl.package-0.power_w".into(),
                            (0..n).map(|k| 20.0 + (k % 7) as f64).collect(),
                        );
                    }
                }
            }
        }
    }
    let files = vec![a];
    let html = String::from_utf8(exporter(Format::Html).render(&files).unwrap()).unwrap();
    assert_eq!(
        html.matches("<svg").count(),
        7,
        "all seven charts drawn (five, and two against depth)"
    );
    assert!(!html.contains("Not drawn:"), "every chart has data");
    assert!(html.contains("Energy per proof vs parameters"));
    assert!(html.contains("Power during one prove step"));
    // 2 J per proof -> 500 proofs per kJ (first cell).
    assert!(
        html.contains(">2 J<") && html.contains(">500<"),
        "energy columns"
    );
    assert!(
        !html.contains("energy per proof: "),
        "no energy gap reported"
    );
    let md = render_files(Format::Markdown, &files);
    assert!(md.contains("| 2 J |"), "{md}");
    let bmf: serde_json::Value =
        serde_json::from_str(&render_files(Format::Bencher, &files)).unwrap();
    assert_eq!(
        bmf["mnist-196_25_10/ezkl/calibration_target=resources/native"]["energy-per-proof"]
            ["value"],
        2.0
    );
}

fn render_files(format: Format, files: &[zkprof::report::Loaded]) -> String {
    String::from_utf8(exporter(format).render(files).unwrap()).unwrap()
}

#[test]
fn framework_facts_are_shown() {
    let mut a = load("a.json");
    for c in a.results.cells.iter_mut().filter(|c| c.framework == "ezkl") {
        c.info.insert("version".into(), "23.0.5".into());
        c.info
            .insert("srs".into(), "test SRS (insecure) <gen_srs>".into());
    }
    let html = render_files(Format::Html, &[a]);
    assert!(html.contains("id=\"facts\""));
    assert!(
        html.contains("<td>srs</td><td>test SRS (insecure) &lt;gen_srs&gt;</td>"),
        "srs label shown once, escaped"
    );
    assert!(html.contains("<td>version</td><td>23.0.5</td>"));
    assert!(
        !render(Format::Html).contains("id=\"facts\""),
        "no section without facts"
    );
}

#[test]
fn cells_from_several_hosts_are_told_apart() {
    // A merged file: half the cells from another machine.
    let mut a = load("a.json");
    let mut other = a.results.host.clone();
    other.cpu_model = "Other CPU 9000".into();
    other.fingerprint_id = other.compute_id();
    for c in a.results.cells.iter_mut().skip(8) {
        c.host_id = other.fingerprint_id.clone();
    }
    a.results
        .other_hosts
        .insert(other.fingerprint_id.clone(), other.clone());
    let html = render_files(Format::Html, &[a]);
    assert!(html.contains("<th>host</th>"), "host column");
    assert!(html.contains(&format!("<code>{}</code></div></td>", other.fingerprint_id)));
    assert!(
        html.contains(&format!(
            "circom @{} ({})",
            other.hostname,
            &other.fingerprint_id[..8]
        )),
        "chart series per host, named by hostname (the short id where two share one)"
    );
    assert!(
        html.contains("<tr class=\"differs\"><td>cpu_model</td>"),
        "fingerprint table marks the difference"
    );
}

#[test]
fn benchmark_names_stay_unique_across_hosts() {
    let mut a = load("a.json");
    let mut b = a.clone();
    let mut other = b.results.host.clone();
    other.cpu_model = "Other CPU 9000".into();
    other.fingerprint_id = other.compute_id();
    for c in &mut b.results.cells {
        c.host_id = other.fingerprint_id.clone();
    }
    b.results
        .other_hosts
        .insert(other.fingerprint_id.clone(), other.clone());
    // One merged file holding both hosts' cells (same ids).
    a.results.cells.extend(b.results.cells);
    a.results.other_hosts = b.results.other_hosts;
    let files = vec![a];
    let bmf: serde_json::Value =
        serde_json::from_str(&render_files(Format::Bencher, &files)).unwrap();
    assert_eq!(
        bmf.as_object().unwrap().len(),
        24,
        "12 successful cells x 2 hosts"
    );
    let gab: Vec<serde_json::Value> =
        serde_json::from_str(&render_files(Format::GithubActionBenchmark, &files)).unwrap();
    let mut names: Vec<&str> = gab.iter().map(|e| e["name"].as_str().unwrap()).collect();
    let n = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), n, "duplicate names");
    assert!(gab
        .iter()
        .any(|e| e["extra"].as_str().unwrap().contains("Other CPU 9000")));
}

/// The tick labels of every chart in `html`, per chart and axis (`middle`: under the plot,
/// `end`: left of it).
fn chart_ticks(html: &str) -> Vec<(String, Vec<String>, Vec<String>)> {
    html.split("<svg ")
        .skip(1)
        .map(|svg| {
            let svg = &svg[..svg.find("</svg>").unwrap()];
            let title = svg
                .split("<title>")
                .nth(1)
                .and_then(|t| t.split("</title>").next())
                .unwrap_or("")
                .to_string();
            let labels = |anchor: &str| -> Vec<String> {
                svg.split("<text class=\"tl\" ")
                    .skip(1)
                    .filter(|t| t.contains(&format!("text-anchor=\"{anchor}\"")))
                    .filter_map(|t| Some(t[t.find('>')? + 1..t.find("</text>")?].to_string()))
                    .collect()
            };
            (title, labels("middle"), labels("end"))
        })
        .collect()
}

#[test]
fn quickstart_report_answers_first_and_draws_bars_without_repeated_ticks() {
    let html = render_files(Format::Html, &super::cases::quickstart());
    assert!(html.contains(
        "<p class=\"verdict\">Only ezkl proved mnist-196-16-10: 534.9 ms median, 53.1 MiB peak working set. 1 of 2 cells succeeded; 1 failed.</p>"
    ));
    // Answer, hosts, summary, charts, compatibility, details: in that order.
    let at = |id: &str| html.find(&format!("id=\"{id}\"")).unwrap();
    assert!(at("hosts") < at("summary") && at("summary") < at("charts"));
    assert!(at("charts") < at("matrix") && at("matrix") < at("details"));
    assert!(html.contains("<details>\n<summary>Full fingerprint: "));
    // Qualified and absent values say why where they stand.
    assert!(html.contains("0 %<div class=\"sub qual\">synthetic inputs: not an accuracy</div>"));
    // A column no cell has is left out, its reason said once under the table.
    assert!(html.contains(
        "Not shown, as no cell has it: energy &#x2f; proof: not measured: no RAPL, no NVML."
    ));
    assert_eq!(
        html.matches("no RAPL, no NVML").count(),
        4,
        "short: under the summary and the details, and for the two energy charts"
    );
    assert!(html.contains("<span class=\"badge\">failed</span><div class=\"why\">prove: exit 3"));
    assert!(html.contains("not measured: the cell failed (reason under its status)"));
    // One model per framework: bars, no scaling chart; no chart without data.
    let charts = chart_ticks(&html);
    let titles: Vec<&str> = charts.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(
        titles,
        vec![
            "Prove time",
            "Peak working set of the prove step",
            "Working set of the process tree during one prove step"
        ]
    );
    assert!(html.contains(
        "Not drawn: <strong>Energy per proof</strong>: not measured: no RAPL, no NVML (why: see"
    ));
    for (title, x, y) in &charts {
        for axis in [x, y] {
            let mut d = axis.clone();
            d.sort();
            d.dedup();
            assert_eq!(
                d.len(),
                axis.len(),
                "{title}: repeated tick labels {axis:?}"
            );
        }
        assert!(x.len() >= 3, "{title}: {x:?}");
    }
}

#[test]
fn sweep_two_hosts_and_failures_reports_fit_their_data() {
    let sweep = render_files(Format::Html, &super::cases::sweep());
    assert!(sweep.contains("<title>Prove time vs parameters</title>"));
    assert!(
        sweep.contains("Fastest prover per model: circom on 3 of 3 models. All 9 cells succeeded.")
    );
    assert!(!sweep.contains("<title>Prove time by host</title>"));
    let hosts = render_files(Format::Html, &super::cases::two_hosts());
    assert!(hosts.contains("<title>Prove time by host</title>"));
    assert_eq!(hosts.matches("<div class=\"card\">").count(), 2);
    assert!(hosts.contains("proves 1.25x as fast as lab-epyc-2 (median over 9 cells run on both)"));
    let fails = render_files(Format::Html, &super::cases::failures());
    assert!(fails.contains("3 failed, 1 unsupported, 1 interrupted."));
    assert!(fails.contains("not measured: the cell is unsupported (reason under its status)"));
    assert!(fails.contains("unsupported: circom has no circuit for operator Softmax"));
}

#[test]
fn huge_values_render_without_hanging() {
    // A corrupt or hostile file: values at the ends of f64 must not stall the axes.
    let mut a = load("a.json");
    for (i, c) in a.results.cells.iter_mut().enumerate() {
        c.metrics
            .insert("params".into(), if i % 2 == 0 { f64::MAX } else { 1e-310 });
        if let Some(p) = c.summary.get_mut("prove") {
            p.wall_s.median = if i % 3 == 0 {
                f64::MAX
            } else {
                p.wall_s.median
            };
        }
    }
    let html = render_files(Format::Html, &[a]);
    assert!(html.contains("</html>") && !html.contains("NaN"));
    for (title, x, y) in chart_ticks(&html) {
        assert!(x.len() <= 12 && y.len() <= 12, "{title}: {x:?} {y:?}");
    }
}

/// A sweep whose largest circom cell timed out: the report names each framework's frontier
/// in a table, marks it on the scaling charts, and draws the depth charts (3 and 4 layers).
#[test]
fn sweep_frontier_is_named_and_marked() {
    let mut files = super::cases::sweep();
    let cell = files[0]
        .results
        .cells
        .iter_mut()
        .find(|c| c.id == "mnist-784_56_10/circom/default/native")
        .unwrap();
    cell.status = zkprof::results::CellStatus::Failed;
    cell.reason = Some("prove: timeout (stderr: still loading the lookup tables)".into());
    for rep in &mut cell.repetitions {
        for s in rep.steps.iter_mut().filter(|s| s.step == "prove") {
            s.timed_out = true;
        }
    }
    let html = render_files(Format::Html, &files);
    assert!(
        html.contains("Where each framework stops"),
        "no frontier table"
    );
    // The model that stopped the sweep, with its parameters and circuit size.
    let stopped = html
        .split("<td>mnist-784_56_10 (44543 params, ")
        .nth(1)
        .expect("the stopped model and its parameters");
    assert!(
        stopped
            .split("</td>")
            .next()
            .unwrap()
            .ends_with(" constraints)"),
        "{}",
        &stopped[..200.min(stopped.len())]
    );
    assert!(html.contains(
        "constraints)</td><td>prove: timeout (stderr: still loading the lookup tables)</td>"
    ));
    // The chart's mark names the step and outcome only; the table has the details.
    assert!(
        html.contains("circom stops: prove: timeout</text>"),
        "no short frontier mark"
    );
    assert!(html.contains("<title>Prove time vs layers</title>"));
    // Every model of every framework finished: no frontier table.
    let all_ok = render_files(Format::Html, &super::cases::sweep());
    assert!(!all_ok.contains("Where each framework stops"));
}

#[test]
fn reproduce_lists_orion_cells_without_a_published_row() {
    let reference =
        reference::load(&repo().join("reports/reference/zkml-benchmark-2024.json")).unwrap();
    assert!(reference
        .rows
        .iter()
        .all(|r| reproduce::family(&r.framework) != "orion"));
    let mut file = load("a.json");
    let cell = &mut file.results.cells[0];
    cell.framework = "orion".into();
    let id = cell.id.clone();
    let r = reproduce::reproduce(&reference, &[file]);
    assert_eq!(r.unpublished.len(), 1);
    assert_eq!(r.unpublished[0].cell, id);
    assert!(r.unpublished[0].why.contains("Giza's hosted service"));
    let text = zkprof::commands::reproduce::render(&r, TableFormat::Text).unwrap();
    assert!(text.contains("Ours without a published row:"), "{text}");
    assert!(text.contains("no local prover"));
}
