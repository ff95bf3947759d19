//! Unit tests of `merge` on hand-built results files.

use super::*;
use crate::results::Host;
use crate::results::{CellStatus, SuiteRef};
use crate::shard::{partition, plan_sha256, Costs};

fn host(id: &str) -> Host {
    Host {
        fingerprint_id: id.into(),
        hostname: format!("machine-{id}"),
        ..Host::default()
    }
}

fn cell(id: &str, host_id: &str, finished: &str) -> CellResult {
    CellResult {
        id: id.into(),
        model: "m".into(),
        framework: "f".into(),
        settings: BTreeMap::new(),
        runtime: "native".into(),
        status: CellStatus::Ok,
        reason: None,
        repetitions: Vec::new(),
        summary: BTreeMap::new(),
        metrics: BTreeMap::from([("proof_size_bytes".to_string(), 1234.5)]),
        info: BTreeMap::new(),
        host_id: host_id.into(),
        started_at: "2026-01-01T00:00:00+00:00".into(),
        finished_at: finished.into(),
        warnings: Vec::new(),
    }
}

fn file(host_id: &str, cells: Vec<CellResult>, created: &str) -> ResultsFile {
    ResultsFile {
        schema: RESULTS_SCHEMA.into(),
        zkprof_version: "0.1.0".into(),
        suite: SuiteRef {
            name: "s".into(),
            version: 1,
            path: "suites/s.toml".into(),
            sha256: "ab".repeat(32),
        },
        created_at: created.into(),
        updated_at: created.into(),
        host: host(host_id),
        other_hosts: BTreeMap::new(),
        sensors: Vec::new(),
        cells,
        warnings: vec![format!("from {host_id}")],
        shards: Vec::new(),
    }
}

fn input(path: &str, results: ResultsFile) -> MergeInput {
    MergeInput {
        path: PathBuf::from(path),
        results,
    }
}

/// Three shards of a six-cell plan, shard 1 on host A, shards 2 and 3 on host B.
fn three_shards() -> Vec<MergeInput> {
    let plan: Vec<String> = (0..6).map(|i| format!("m{i}/f/default/native")).collect();
    let parts = partition(&plan, 3, &Costs::uniform());
    parts
        .iter()
        .enumerate()
        .map(|(k, ids)| {
            let h = if k == 0 { "aaaa" } else { "bbbb" };
            let t = format!("2026-01-01T00:0{k}:00+00:00");
            let mut f = file(h, ids.iter().map(|id| cell(id, h, &t)).collect(), &t);
            f.shards = vec![ShardRecord {
                plan_sha256: plan_sha256(&plan),
                count: 3,
                index: k as u32 + 1,
                costs: "uniform".into(),
                plan: plan.clone(),
                cells: ids.clone(),
                host_id: String::new(),
            }];
            input(&format!("shard-{}.json", k + 1), f)
        })
        .collect()
}

#[test]
fn shards_merge_keeping_each_cells_host() {
    let out = merge(&three_shards(), &MergeOptions::default()).unwrap();
    let m = &out.merged;
    let ids: Vec<&str> = m.cells.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        (0..6)
            .map(|i| format!("m{i}/f/default/native"))
            .collect::<Vec<_>>()
    );
    assert_eq!(m.host.fingerprint_id, "aaaa");
    assert_eq!(m.other_hosts.keys().collect::<Vec<_>>(), ["bbbb"]);
    assert_eq!(m.cells.iter().filter(|c| c.host_id == "bbbb").count(), 4);
    assert_eq!(m.shards.len(), 3);
    assert!(out.missing_cells.is_empty() && out.missing_shards.is_empty());
    assert_eq!(m.created_at, "2026-01-01T00:00:00+00:00");
    assert_eq!(m.updated_at, "2026-01-01T00:02:00+00:00");
    assert_eq!(m.warnings, ["from aaaa", "from bbbb"]);
}

#[test]
fn merging_again_changes_nothing() {
    let shards = three_shards();
    let once = merge(&shards, &MergeOptions::default()).unwrap().merged;
    let again = merge(&shards, &MergeOptions::default()).unwrap().merged;
    assert_eq!(once, again);
    let mut with_merged = vec![input("merged.json", once.clone())];
    with_merged.extend(shards.iter().cloned());
    let out = merge(&with_merged, &MergeOptions::default()).unwrap();
    assert_eq!(out.merged, once);
    assert_eq!(out.identical_duplicates.len(), 6);
    // The cells do not depend on the order of the inputs.
    let mut rev = shards.clone();
    rev.reverse();
    assert_eq!(
        merge(&rev, &MergeOptions::default()).unwrap().merged.cells,
        once.cells
    );
}

#[test]
fn missing_shard_is_reported_and_cleared_when_it_arrives() {
    let shards = three_shards();
    let partial = merge(
        &[shards[0].clone(), shards[2].clone()],
        &MergeOptions::default(),
    )
    .unwrap();
    assert_eq!(partial.missing_shards.len(), 1);
    assert!(
        partial.missing_shards[0].starts_with("2/3 of plan "),
        "{:?}",
        partial.missing_shards
    );
    assert_eq!(partial.missing_cells, shards[1].results.shards[0].cells);
    assert!(partial
        .merged
        .warnings
        .iter()
        .any(|w| w.contains("2 cell(s) of the plan are in no input")));
    let full = merge(
        &[input("partial.json", partial.merged), shards[1].clone()],
        &MergeOptions::default(),
    )
    .unwrap();
    assert!(full.missing_cells.is_empty());
    assert!(
        !full
            .merged
            .warnings
            .iter()
            .any(|w| w.starts_with(MERGE_WARNING_PREFIX)),
        "{:?}",
        full.merged.warnings
    );
}

#[test]
fn different_suites_are_refused_unless_allowed() {
    let a = file("aaaa", vec![cell("x/f/default/native", "aaaa", "t1")], "t");
    let mut b = file("aaaa", vec![cell("y/f/default/native", "aaaa", "t1")], "t");
    b.suite.version = 2;
    let inputs = [input("a.json", a), input("b.json", b)];
    let e = merge(&inputs, &MergeOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("b.json: suite `s` version 2") && e.contains("a.json: suite `s` version 1"),
        "{e}"
    );
    assert!(e.contains("--allow-different-suites"), "{e}");
    let opts = MergeOptions {
        allow_different_suites: true,
        ..MergeOptions::default()
    };
    let out = merge(&inputs, &opts).unwrap();
    assert_eq!(out.merged.cells.len(), 2);
    assert!(
        out.merged.warnings.iter().any(|w| w.contains("version 2")),
        "{:?}",
        out.merged.warnings
    );
}

#[test]
fn two_runs_of_one_cell_conflict_unless_newest_is_asked() {
    let a = file(
        "aaaa",
        vec![cell(
            "x/f/default/native",
            "aaaa",
            "2026-01-01T01:00:00+00:00",
        )],
        "t",
    );
    let b = file(
        "aaaa",
        vec![cell(
            "x/f/default/native",
            "aaaa",
            "2026-01-01T02:00:00+00:00",
        )],
        "t",
    );
    let inputs = [input("a.json", a), input("b.json", b)];
    let e = merge(&inputs, &MergeOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cell `x/f/default/native` was run twice on one host")
            && e.contains("a.json")
            && e.contains("b.json"),
        "{e}"
    );
    assert!(e.contains("--duplicates newest"), "{e}");
    let opts = MergeOptions {
        duplicates: DuplicatePolicy::Newest,
        ..MergeOptions::default()
    };
    let out = merge(&inputs, &opts).unwrap();
    assert_eq!(out.merged.cells.len(), 1);
    assert_eq!(out.merged.cells[0].finished_at, "2026-01-01T02:00:00+00:00");
    assert_eq!(
        out.replaced,
        [(
            "x/f/default/native".into(),
            "b.json".into(),
            "a.json".into()
        )]
    );
    // A finished run beats a newer interrupted one.
    let mut inputs = inputs.to_vec();
    inputs[1].results.cells[0].status = CellStatus::Interrupted;
    assert_eq!(
        merge(&inputs, &opts).unwrap().merged.cells[0].finished_at,
        "2026-01-01T01:00:00+00:00"
    );
}

#[test]
fn one_cell_on_two_hosts_is_two_cells() {
    let run = |h: &str| {
        file(
            h,
            vec![cell("x/f/default/native", h, "2026-01-01T01:00:00+00:00")],
            "t",
        )
    };
    let inputs = [input("a.json", run("aaaa")), input("b.json", run("bbbb"))];
    let out = merge(&inputs, &MergeOptions::default()).unwrap();
    let hosts: Vec<&str> = out
        .merged
        .cells
        .iter()
        .map(|c| c.host_id.as_str())
        .collect();
    assert_eq!(hosts, ["aaaa", "bbbb"]);
    assert_eq!(out.merged.host.fingerprint_id, "aaaa");
    assert!(out.merged.other_hosts.contains_key("bbbb"));
    // Merging the merged file with its inputs again changes nothing.
    let again = [
        input("m.json", out.merged.clone()),
        inputs[0].clone(),
        inputs[1].clone(),
    ];
    assert_eq!(
        merge(&again, &MergeOptions::default()).unwrap().merged,
        out.merged
    );
}

#[test]
fn a_shard_missing_on_one_host_is_reported() {
    // Host aaaa ran all three shards, host bbbb the first two.
    let mut inputs = Vec::new();
    for (h, shards) in [("aaaa", vec![0, 1, 2]), ("bbbb", vec![0, 1])] {
        for k in shards {
            let mut i = three_shards()[k].clone();
            i.path = format!("{h}-{}.json", k + 1).into();
            i.results.host = host(h);
            for c in &mut i.results.cells {
                c.host_id = h.into();
            }
            for s in &mut i.results.shards {
                s.host_id = h.into();
            }
            inputs.push(i);
        }
    }
    let out = merge(&inputs, &MergeOptions::default()).unwrap();
    assert_eq!(out.missing_shards.len(), 1, "{:?}", out.missing_shards);
    assert!(
        out.missing_shards[0].starts_with("3/3 of plan ")
            && out.missing_shards[0].ends_with("(run on 1 host(s), other shards on 2)"),
        "{:?}",
        out.missing_shards
    );
    assert_eq!(out.merged.cells.len(), 6 + 4);
}

#[test]
fn cells_without_host_get_their_files_host() {
    let a = file("aaaa", vec![cell("x/f/default/native", "", "t1")], "t");
    let b = file("bbbb", vec![cell("y/f/default/native", "", "t1")], "t");
    let out = merge(
        &[input("a.json", a), input("b.json", b)],
        &MergeOptions::default(),
    )
    .unwrap();
    let hosts: Vec<&str> = out
        .merged
        .cells
        .iter()
        .map(|c| c.host_id.as_str())
        .collect();
    assert_eq!(hosts, ["aaaa", "bbbb"]);
    assert!(out.merged.other_hosts.contains_key("bbbb"));
}

#[test]
fn shards_balanced_differently_are_flagged() {
    let mut shards = three_shards();
    shards[1].results.shards[0].costs = "results:1234".into();
    let out = merge(&shards, &MergeOptions::default()).unwrap();
    assert!(
        out.merged
            .warnings
            .iter()
            .any(|w| w.contains("different costs")),
        "{:?}",
        out.merged.warnings
    );
}

#[test]
fn no_inputs_is_an_error() {
    assert!(matches!(
        merge(&[], &MergeOptions::default()),
        Err(MergeError::NoInputs)
    ));
}

#[test]
fn differing_sensors_are_flagged() {
    use crate::results::SensorStatus;
    let mut shards = three_shards();
    assert!(!merge(&shards, &MergeOptions::default())
        .unwrap()
        .merged
        .warnings
        .iter()
        .any(|w| w.contains("measure different things")));
    shards[2].results.sensors = vec![SensorStatus::available("nvml")];
    let out = merge(&shards, &MergeOptions::default()).unwrap();
    assert!(
        out.merged
            .warnings
            .iter()
            .any(|w| w.contains("measure different things") && w.contains("aaaa")),
        "{:?}",
        out.merged.warnings
    );
}
