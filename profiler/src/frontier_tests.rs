use super::*;
use crate::results::{Repetition, StepRun};
use crate::suite::Suite;

/// A sweep of three MLP sizes with two frameworks (one of them in two settings).
fn plan() -> Vec<Cell> {
    let text = r#"
[suite]
name = "sweep"

[[model]]
name = "big"
kind = "mlp"
dataset = "mnist"
hidden = [64]
[[model]]
name = "small"
kind = "mlp"
dataset = "mnist"
hidden = [4]
[[model]]
name = "mid"
kind = "mlp"
dataset = "mnist"
hidden = [16]

[[framework]]
name = "a"
kind = "command"
steps = { prove = ["true"] }
[[framework]]
name = "b"
kind = "command"
settings = [{ k = 1 }, { k = 2 }]
steps = { prove = ["true"] }
"#;
    Suite::parse(std::path::Path::new("sweep.toml"), text)
        .unwrap()
        .plan(&crate::suite::PlanOptions::default())
        .unwrap()
}

fn cell<'a>(cells: &'a [Cell], model: &str, fw: &str, k: Option<i64>) -> &'a Cell {
    cells
        .iter()
        .find(|c| {
            c.model.name == model
                && c.framework.name == fw
                && k.is_none_or(|k| c.settings.get("k") == Some(&serde_json::json!(k)))
        })
        .unwrap()
}

/// A result of `c` whose prove step timed out (`timeout`), was OOM-killed, or exited 1.
fn failed(c: &Cell, how: &str) -> CellResult {
    let mut r = skipped_result(c, String::new(), "h");
    r.status = CellStatus::Failed;
    r.reason = Some(format!("prove: {how}"));
    let mut step: StepRun = serde_json::from_value(serde_json::json!({
        "wall_s": 1.0, "user_s": 0.0, "sys_s": 0.0, "peak_tree_bytes": 0,
        "peak_process_bytes": 0, "memory_method": "proc_sampling", "exit_code": null,
        "signal": 9, "oom_killed": false, "timed_out": false, "step": "prove", "argv": []
    }))
    .unwrap();
    step.timed_out = how == "timeout";
    step.oom_killed = how == "oom";
    r.repetitions.push(Repetition {
        index: 0,
        warmup: false,
        steps: vec![step],
    });
    r
}

fn empty_results() -> ResultsFile {
    ResultsFile {
        schema: crate::results::RESULTS_SCHEMA.into(),
        zkprof_version: "0".into(),
        suite: crate::results::SuiteRef {
            name: "sweep".into(),
            version: 1,
            path: "sweep.toml".into(),
            sha256: String::new(),
        },
        created_at: String::new(),
        updated_at: String::new(),
        host: Default::default(),
        other_hosts: BTreeMap::new(),
        sensors: Vec::new(),
        cells: Vec::new(),
        warnings: Vec::new(),
        shards: Vec::new(),
    }
}

#[test]
fn sizes_run_smallest_first_keeping_plan_order_among_equals() {
    let cells = plan();
    let refs: Vec<&Cell> = cells.iter().collect();
    let order: Vec<&str> = by_size(&refs)
        .iter()
        .map(|c| c.model.name.as_str())
        .collect();
    assert_eq!(order[..3], ["small", "small", "small"]);
    assert_eq!(order[3..6], ["mid", "mid", "mid"]);
    assert_eq!(order[6..], ["big", "big", "big"]);
    let small_fw: Vec<&str> = by_size(&refs)[..3]
        .iter()
        .map(|c| c.framework.name.as_str())
        .collect();
    assert_eq!(small_fw, ["a", "b", "b"]);
}

#[test]
fn a_timeout_skips_larger_models_of_that_lane_only() {
    let cells = plan();
    let mut f = Frontier::default();
    let mid_a = cell(&cells, "mid", "a", None);
    f.observe(&failed(mid_a, "timeout"), mid_a.model.params);
    let why = f.skip_reason(cell(&cells, "big", "a", None)).unwrap();
    assert!(
        why.starts_with("skipped: larger than mid/a") && why.contains("prove: timeout"),
        "{why}"
    );
    // Not the same or smaller models, not another framework, not another setting.
    assert_eq!(f.skip_reason(mid_a), None);
    assert_eq!(f.skip_reason(cell(&cells, "small", "a", None)), None);
    assert_eq!(f.skip_reason(cell(&cells, "big", "b", Some(1))), None);

    let mid_b1 = cell(&cells, "mid", "b", Some(1));
    f.observe(&failed(mid_b1, "oom"), mid_b1.model.params);
    let why = f.skip_reason(cell(&cells, "big", "b", Some(1))).unwrap();
    assert!(why.contains("out of memory"), "{why}");
    assert_eq!(f.skip_reason(cell(&cells, "big", "b", Some(2))), None);
}

#[test]
fn other_failures_stop_nothing() {
    let cells = plan();
    let mut f = Frontier::default();
    let small = cell(&cells, "small", "a", None);
    f.observe(&failed(small, "exit 1"), small.model.params);
    assert_eq!(f.skip_reason(cell(&cells, "big", "a", None)), None);
    // A smaller resource failure observed later lowers the frontier.
    let mid = cell(&cells, "mid", "a", None);
    let big = cell(&cells, "big", "a", None);
    f.observe(&failed(big, "timeout"), big.model.params);
    assert_eq!(f.skip_reason(mid), None);
    f.observe(&failed(small, "timeout"), small.model.params);
    assert!(f.skip_reason(mid).unwrap().contains("small/a"));
}

#[test]
fn summary_names_the_largest_ok_and_what_stopped_the_next() {
    let cells = plan();
    let ok = |c: &Cell| {
        let mut r = skipped_result(c, String::new(), "h");
        r.status = CellStatus::Ok;
        r.reason = None;
        r
    };
    let a = |m| cell(&cells, m, "a", None);
    let mut f = Frontier::default();
    let mid_fail = failed(a("mid"), "timeout");
    f.observe(&mid_fail, a("mid").model.params);
    let big_skip = skipped_result(a("big"), f.skip_reason(a("big")).unwrap(), "h");
    let results = ResultsFile {
        cells: vec![ok(a("small")), mid_fail, big_skip],
        ..empty_results()
    };
    let lanes = summarize(&results);
    assert_eq!(lanes.len(), 1);
    let l = &lanes[0];
    assert_eq!(l.framework, "a");
    assert_eq!(l.largest_ok.as_ref().unwrap().model, "small");
    let (m, why) = l.stopped_at.as_ref().unwrap();
    assert_eq!((m.model.as_str(), why.as_str()), ("mid", "prove: timeout"));
    assert_eq!(l.stop.as_deref(), Some("prove: timeout"));
    let text = lines(&lanes).join("\n");
    assert!(
        text.contains("frontier") && text.contains("next mid"),
        "{text}"
    );
    // A sweep where everything finished prints no frontier section.
    let all_ok = ResultsFile {
        cells: vec![ok(a("small")), ok(a("mid"))],
        ..empty_results()
    };
    assert!(lines(&summarize(&all_ok)).is_empty());
}

/// The frontier names the circuit size of both models when they recorded one, also for
/// a cell that failed before its metrics were collected (a fact known before the step).
#[test]
fn the_frontier_says_how_large_the_circuits_were() {
    let cells = plan();
    let a = |m| cell(&cells, m, "a", None);
    let mut small = skipped_result(a("small"), String::new(), "h");
    small.status = CellStatus::Ok;
    small.metrics.insert("constraints_total".into(), 1200.0);
    let mut mid = failed(a("mid"), "oom");
    mid.info
        .insert(crate::results::FACT_CONSTRAINTS.into(), "4233120".into());
    let lanes = summarize(&ResultsFile {
        cells: vec![small, mid],
        ..empty_results()
    });
    let text = lines(&lanes).join("\n");
    assert!(
        text.contains("small (") && text.contains("params, 1200 constraints)"),
        "{text}"
    );
    assert!(
        text.contains("params, 4233120 constraints): prove: oom"),
        "{text}"
    );
}

/// A prover that ran out of memory at a limit of its own (circom2's 4 GiB of WebAssembly),
/// named so by its adapter, stops the lane like a kill at the memory limit; a plain crash
/// does not.
#[test]
fn an_adapter_named_out_of_memory_is_a_frontier_too() {
    let cells = plan();
    let a = |m| cell(&cells, m, "a", None);
    let mut crashed = failed(a("mid"), "crash");
    crashed.reason = Some("compile: exit 1 (stderr: panicked at index out of range)".into());
    assert_eq!(resource_failure(&crashed), None);
    let mut f = Frontier::default();
    f.observe(&crashed, a("mid").model.params);
    assert_eq!(f.skip_reason(a("big")), None);

    let mut wasm = crashed.clone();
    wasm.reason = Some(
        "compile: exit 1 (out of memory: circom2 runs as WebAssembly, which addresses at most 4 GiB)"
            .into(),
    );
    assert_eq!(
        resource_failure(&wasm).as_deref(),
        Some("compile: out of memory")
    );
    f.observe(&wasm, a("mid").model.params);
    let why = f.skip_reason(a("big")).unwrap();
    assert!(why.contains("which hit compile: out of memory"), "{why}");
    // The chart's label for the lane: the limit, not the exit code.
    let big = skipped_result(a("big"), why, "h");
    let lanes = summarize(&ResultsFile {
        cells: vec![wasm, big],
        ..empty_results()
    });
    assert_eq!(lanes[0].stop.as_deref(), Some("compile: out of memory"));
}
