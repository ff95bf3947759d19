use super::*;
use serde_json::json;

fn summary(n: usize, median: f64, stddev: f64) -> serde_json::Value {
    let s = json!({"n": n, "median": median, "mean": median, "stddev": stddev, "min": median, "max": median});
    json!({"wall_s": s, "user_s": s, "sys_s": s, "peak_tree_bytes": json!({"n": n, "median": 1048576.0, "mean": 1048576.0, "stddev": 0.0, "min": 1048576.0, "max": 1048576.0}), "peak_process_bytes": s})
}

fn cell(
    framework: &str,
    settings: serde_json::Value,
    status: &str,
    extra: serde_json::Value,
) -> CellResult {
    let mut v = json!({
        "id": format!("mnist-196-16-10/{framework}/accuracy_samples=100,calibration=resources,input_visibility=public,output_visibility=public,param_visibility=fixed,scales=[2,7]/native"),
        "model": "mnist-196-16-10", "framework": framework, "settings": settings,
        "runtime": "native", "status": status,
    });
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    serde_json::from_value(v).unwrap()
}

fn results(cells: Vec<CellResult>) -> ResultsFile {
    ResultsFile {
        schema: crate::results::RESULTS_SCHEMA.into(),
        zkprof_version: "0".into(),
        suite: crate::results::SuiteRef {
            name: "t".into(),
            version: 1,
            path: "t.toml".into(),
            sha256: String::new(),
        },
        created_at: String::new(),
        updated_at: String::new(),
        host: crate::results::Host::default(),
        other_hosts: BTreeMap::new(),
        sensors: Vec::new(),
        cells,
        warnings: Vec::new(),
        shards: Vec::new(),
    }
}

#[test]
fn single_repetition_shows_no_spread_and_several_do() {
    let one = cell(
        "ezkl",
        json!({}),
        "ok",
        json!({"summary": {"prove": summary(1, 10.994, 0.0)}}),
    );
    let three = cell(
        "circom",
        json!({}),
        "ok",
        json!({"summary": {"prove": summary(3, 0.85, 0.01)}}),
    );
    let text = render(&results(vec![one, three]));
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[1].contains("10.99") && !lines[1].contains('±'),
        "{text}"
    );
    assert!(lines[2].contains("850.0 ms ± 10.0 ms"), "{text}");
}

#[test]
fn failed_and_unsupported_cells_print_their_reasons_under_the_table() {
    let f = cell(
        "circom",
        json!({}),
        "failed",
        json!({"reason": "setup: timeout (stderr: out of time)"}),
    );
    let u = cell(
        "ezkl",
        json!({}),
        "unsupported",
        json!({"reason": "unsupported: op Conv"}),
    );
    let text = render(&results(vec![f, u]));
    let under = text
        .split("why cells did not finish:")
        .nth(1)
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        under.contains("mnist-196-16-10 circom: failed: setup: timeout (stderr: out of time)"),
        "{text}"
    );
    assert!(
        under.contains("mnist-196-16-10 ezkl: unsupported: op Conv"),
        "{text}"
    );
}

#[test]
fn labels_are_short_and_lines_fit_100_columns() {
    let a = cell(
        "ezkl",
        json!({"scales": [2, 7], "accuracy_samples": 100, "calibration": "resources"}),
        "ok",
        json!({}),
    );
    let b = cell(
        "ezkl",
        json!({"scales": [4, 9], "accuracy_samples": 100, "calibration": "resources"}),
        "failed",
        json!({"reason": "a very long reason ".repeat(20)}),
    );
    let c = cell("circom", json!({"decimals": 18}), "ok", json!({}));
    let labels = short_labels(&[a.clone(), b.clone(), c.clone()]);
    assert_eq!(
        labels,
        [
            "mnist-196-16-10 ezkl scales=[2,7]",
            "mnist-196-16-10 ezkl scales=[4,9]",
            "mnist-196-16-10 circom"
        ]
    );
    let text = render(&results(vec![a, b, c]));
    for l in text.lines() {
        assert!(
            l.chars().count() <= 100,
            "{} columns: {l}",
            l.chars().count()
        );
    }
    let long = shorten(&"x".repeat(80), LABEL_MAX);
    assert_eq!(long.chars().count(), LABEL_MAX);
    assert!(long.ends_with('…'));
}

#[test]
fn accuracy_on_synthetic_inputs_reads_not_measured_never_a_number() {
    let synth = cell(
        "ezkl",
        json!({}),
        "ok",
        json!({
            "info": {"accuracy_not_measured": "no real test images for this model (inputs would be synthetic (uniform [0,1), seed 7))"},
        }),
    );
    let real = cell(
        "circom",
        json!({}),
        "ok",
        json!({
            "metrics": {"accuracy_loss_pct": 0.0, "accuracy_samples": 100.0},
            "info": {"accuracy_inputs": "held-out MNIST training digits"},
        }),
    );
    let text = render(&results(vec![synth, real]));
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[1].ends_with("not measured"), "{text}");
    assert!(!lines[1].contains('%'), "{text}");
    assert!(lines[2].ends_with("0 %"), "{text}");
    assert!(
        text.contains("mnist-196-16-10 ezkl: not measured: no real test images"),
        "{text}"
    );
    assert!(
        text.contains("100 inputs: held-out MNIST training digits"),
        "{text}"
    );
}

#[test]
fn output_has_no_colour_codes() {
    let f = cell(
        "circom",
        json!({}),
        "failed",
        json!({"reason": "\u{1b}[31m? no: the reason itself is data"}),
    );
    let text = render(&results(vec![f]));
    // Only what the results hold may carry an escape; the table adds none.
    let table: String = text.split("why cells").next().unwrap().to_string();
    assert!(!table.contains('\u{1b}'), "{table}");
}

#[test]
fn an_installation_at_another_commit_is_said_in_the_terminal() {
    let c = cell(
        "zkml",
        json!({}),
        "ok",
        json!({
            "info": {"zkml_warning": "zkml at /opt/zkml is at commit abc, not the pinned 1f2e: figures may differ"},
        }),
    );
    let text = render(&results(vec![c]));
    assert!(text.contains("\ninstallations:\n"), "{text}");
    assert!(
        text.contains(
            "mnist-196-16-10 zkml: zkml at /opt/zkml is at commit abc, not the pinned 1f2e"
        ),
        "{text}"
    );
}
