//! Several machines in one results file: `merge` keeps the same cell from each host,
//! `compare` puts N hosts side by side (baseline, ratios, geometric means, prices), and
//! `list`, the markdown and the HTML report tell the hosts apart.

use super::fixtures;
use crate::support::{streams, zkprof};
use serde_json::Value;
use std::path::Path;

/// `a.json` as if run on another machine: its own hostname and CPU (so its own
/// fingerprint id) and every prove time multiplied by `factor`.
fn as_host(dir: &Path, name: &str, cpu: &str, factor: f64) -> String {
    let text = std::fs::read_to_string(fixtures().join("a.json")).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["host"]["hostname"] = name.into();
    v["host"]["cpu_model"] = cpu.into();
    let sum = name
        .bytes()
        .chain(cpu.bytes())
        .fold(7u64, |h, b| h * 31 + u64::from(b));
    let id = format!("{sum:016x}");
    v["host"]["fingerprint_id"] = id.clone().into();
    for c in v["cells"].as_array_mut().unwrap() {
        c["host_id"] = id.clone().into();
        if let Some(p) = c["summary"].get_mut("prove") {
            for k in ["median", "mean", "min", "max"] {
                let x = p["wall_s"][k].as_f64().unwrap();
                p["wall_s"][k] = (x * factor).into();
            }
        }
    }
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
    path.display().to_string()
}

fn zk(dir: &Path, args: &[&str]) -> (String, String, Option<i32>) {
    let o = zkprof().args(args).current_dir(dir).output().unwrap();
    let (out, err) = streams(&o);
    (out, err, o.status.code())
}

#[test]
fn three_hosts_merge_into_one_file_and_compare() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let a = as_host(d, "lab-a", "CPU A", 1.0);
    let b = as_host(d, "lab-b", "CPU B", 0.5);
    let c = as_host(d, "lab-c", "CPU C", 2.0);
    let (out, err, code) = zk(d, &["merge", &a, &b, &c, "-o", "m.json"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("from 3 host(s): lab-a"), "{out}");
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("m.json")).unwrap()).unwrap();
    assert_eq!(m["cells"].as_array().unwrap().len(), 3 * 15);
    assert_eq!(m["other_hosts"].as_object().unwrap().len(), 2);
    // Merging the merged file with its inputs again changes nothing; the same cell of the
    // same host twice, as another run, is still refused.
    let (_, err, code) = zk(d, &["merge", "m.json", &a, &b, &c, "-o", "m2.json"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        std::fs::read(d.join("m.json")).unwrap(),
        std::fs::read(d.join("m2.json")).unwrap()
    );
    let mut rerun: Value = serde_json::from_str(&std::fs::read_to_string(&b).unwrap()).unwrap();
    rerun["cells"][0]["finished_at"] = "2099-01-01T00:00:00+00:00".into();
    std::fs::write(d.join("rerun.json"), rerun.to_string()).unwrap();
    let (_, err, code) = zk(d, &["merge", "m.json", "rerun.json", "-o", "x.json"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("run twice on one host"), "{err}");

    // compare: one column per host, the baseline chosen by hostname, prices.
    let (out, err, code) = zk(
        d,
        &[
            "compare",
            "m.json",
            "--baseline",
            "lab-c",
            "--price",
            "lab-b=2.5",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let sides: Vec<&str> = v["sides"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["label"].as_str().unwrap())
        .collect();
    assert_eq!(sides, ["lab-a", "lab-b", "lab-c"]);
    assert_eq!(v["baseline"], 2);
    let time = |k: usize| v["geomean"][k]["time"].as_f64().unwrap();
    assert!(
        (time(0) - 0.5).abs() < 1e-9,
        "lab-a is twice as fast as lab-c"
    );
    assert!((time(1) - 0.25).abs() < 1e-9);
    assert!((time(2) - 1.0).abs() < 1e-9);
    assert_eq!(
        v["geomean"][0]["time_cells"], 12,
        "the 12 cells every host proved"
    );
    let cell = &v["cells"][0]["sides"][1];
    let cost = cell["cost_usd"].as_f64().unwrap();
    let prove = cell["prove_s"]["median"].as_f64().unwrap();
    assert!((cost - 2.5 / 3600.0 * prove).abs() < 1e-12);
    assert!(
        v["cells"][0]["sides"][0]["cost_usd"].is_null(),
        "no price, no cost"
    );

    let (out, _, code) = zk(d, &["compare", "m.json", "--price", "lab-b=2.5"]);
    assert_eq!(code, Some(0));
    assert!(out.lines().all(|l| l.chars().count() <= 120), "{out}");
    assert!(out.contains("Cost per proof (derived"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("geometric mean (12 cells)")
                && l.contains("×1.00")
                && l.contains("×0.50")
                && l.contains("×2.00")),
        "{out}"
    );
    for (args, expect) in [
        (
            vec!["compare", "m.json", "--baseline", "lab-z"],
            "no host or file",
        ),
        (
            vec!["compare", "m.json", "--price", "lab-a"],
            "HOST=USD_PER_HOUR",
        ),
        (vec!["compare", &a], "one host only"),
    ] {
        let (_, err, code) = zk(d, &args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(expect), "{args:?}: {err}");
    }

    // list, markdown and HTML name the hosts.
    let (out, _, _) = zk(d, &["list", "m.json"]);
    assert!(out.contains("45 cells from 3 host(s)"), "{out}");
    assert_eq!(out.lines().filter(|l| l.contains("lab-b (")).count(), 15);
    let (out, _, _) = zk(d, &["report", "m.json", "--format", "markdown", "-o", "-"]);
    assert!(
        out.contains("| host |") && out.contains("  - lab-c:"),
        "{out}"
    );
    let (out, _, _) = zk(d, &["report", "m.json", "-o", "-"]);
    assert!(
        out.contains("id=\"hosts-compared\""),
        "hosts compared section"
    );
    assert!(out.contains("@lab-b"), "chart series named by hostname");
    assert!(!out.contains(&format!(
        "@{}",
        m["host"]["fingerprint_id"].as_str().unwrap()
    )));
}
