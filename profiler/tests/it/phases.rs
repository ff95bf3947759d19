//! Phases of one process, measured for real: a workload whose phases have known memory.

use crate::support::{cgroup_available, write};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use zkprof::measure::{MemoryPreference, PhaseRule, PhaseSpec, Runner, RunnerConfig, StepSpec};
use zkprof::results::{PhaseMemory, ProveSource, StepRun};

const MIB: f64 = 1024.0 * 1024.0;

/// Holds `a` MiB for 1 s, prints a marker, frees it, holds `b` MiB for 1 s, prints
/// `done in 1.0s`, frees it and exits.
const WORKLOAD: &str = r#"
import sys, time
a, b = int(sys.argv[1]), int(sys.argv[2])
held = b"a" * (a << 20)
time.sleep(1.0)
del held
print("first phase over", flush=True)
t = time.monotonic()
held = b"b" * (b << 20)
time.sleep(1.0)
print("done in %.6fs" % (time.monotonic() - t), flush=True)
del held
time.sleep(0.2)
"#;

fn spec() -> PhaseSpec {
    PhaseSpec {
        phases: vec![
            PhaseRule {
                name: "small".into(),
                ends_at: "first phase over".into(),
                ..PhaseRule::default()
            },
            PhaseRule {
                name: "prove".into(),
                ends_at: "done in".into(),
                timer_after: Some("done in".into()),
                note: None,
            },
        ],
        tail: "exit".into(),
        headline: Some("prove".into()),
    }
}

fn run_workload(memory: MemoryPreference, script: &str, a: u32, b: u32) -> StepRun {
    let dir = tempfile::tempdir().unwrap();
    let config = RunnerConfig {
        memory,
        ..RunnerConfig::default()
    };
    let runner = Runner::new(config, Arc::new(AtomicBool::new(false)));
    let step = StepSpec {
        name: "prove".into(),
        argv: vec![
            "python3".into(),
            script.into(),
            a.to_string(),
            b.to_string(),
        ],
        log_dir: dir.path().to_path_buf(),
        log_stem: "prove".into(),
        phases: Some(spec()),
        ..StepSpec::default()
    };
    let run = runner.run(&step, Vec::new()).unwrap();
    assert!(run.succeeded(), "{run:?}");
    // Every line is in the timeline with its arrival time.
    let timeline = std::fs::read_to_string(dir.path().join("prove.timeline.tsv")).unwrap();
    assert_eq!(timeline.lines().count(), 2, "{timeline}");
    assert!(
        timeline.contains("\tstdout\tfirst phase over"),
        "{timeline}"
    );
    run
}

fn check(memory: MemoryPreference, expect: PhaseMemory) -> StepRun {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "phases.py", WORKLOAD);
    // The interpreter's own footprint, measured the same way.
    let base = run_workload(memory, &script, 0, 0);
    let base_peak = |i: usize| base.phases[i].peak_tree_bytes.unwrap() as f64;
    let run = run_workload(memory, &script, 100, 300);
    let names: Vec<&str> = run.phases.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["small", "prove", "exit"]);
    for (i, mib) in [(0usize, 100.0), (1, 300.0)] {
        let p = &run.phases[i];
        assert_eq!(p.memory, expect, "{p:?}");
        let got = p.peak_tree_bytes.unwrap() as f64;
        let truth = base_peak(i) + mib * MIB;
        let tolerance = 0.05 * truth + 10.0 * MIB;
        println!(
            "{memory:?} phase {}: peak {:.1} MiB, truth {:.1} MiB (baseline {:.1} + {mib}), {:?}",
            p.name,
            got / MIB,
            truth / MIB,
            base_peak(i) / MIB,
            p.memory
        );
        assert!(
            (got - truth).abs() <= tolerance,
            "{memory:?} phase {}: peak {:.1} MiB, truth {:.1} MiB (baseline {:.1} MiB + {mib} MiB)",
            p.name,
            got / MIB,
            truth / MIB,
            base_peak(i) / MIB
        );
        // Each phase holds its memory for 1 s (longer on a busy machine).
        assert!(
            p.duration_s >= 0.99,
            "phase {} lasted {:.3} s",
            p.name,
            p.duration_s
        );
        assert!(p.cpu_s.is_some());
    }
    // The whole step's peak is the larger phase's.
    let whole = run.peak_tree_bytes as f64;
    let prove_peak = run.phases[1].peak_tree_bytes.unwrap() as f64;
    assert!(whole >= prove_peak * 0.99, "{whole} < {prove_peak}");
    // The headline is the prove phase, timed by the workload's own timer.
    let h = run.headline.as_ref().unwrap();
    assert_eq!(h.prove_source, ProveSource::ProverTimer);
    assert_eq!(h.peak_tree_bytes, run.phases[1].peak_tree_bytes.unwrap());
    let timer = h.prover_timer_s.unwrap();
    let ours = h.markers_s.unwrap();
    assert!(
        (timer - ours).abs() < 0.05 * timer + 0.1,
        "{timer} vs {ours}"
    );
    assert!(h.warnings.is_empty(), "{:?}", h.warnings);
    assert!(
        run.wall_s > h.wall_s + 0.9,
        "the headline excludes the first phase"
    );
    run
}

#[test]
fn phase_peaks_by_proc_sampling() {
    check(MemoryPreference::Proc, PhaseMemory::Sampled);
}

#[test]
fn phase_peaks_by_cgroup() {
    if cgroup_available() {
        // The working set is sampled; cgroup v1 also resets its charged peak at each
        // boundary, which gives each phase its charged peak beside it.
        let run = check(MemoryPreference::Cgroup, PhaseMemory::Sampled);
        let v1 = std::path::Path::new("/sys/fs/cgroup/memory/memory.max_usage_in_bytes").exists();
        if v1 {
            for p in &run.phases[..2] {
                let charged = p.peak_charged_bytes.expect("a charged peak per phase");
                assert!(charged > 50 << 20, "{p:?}");
            }
        }
    }
}

#[test]
fn command_steps_declare_phases_in_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "phases.py", WORKLOAD);
    let suite = write(
        dir.path(),
        "suite.toml",
        &format!(
            r#"
[suite]
name = "phased"
repetitions = 1

[[model]]
name = "m"

[[framework]]
name = "mine"
kind = "command"
steps = {{ prove = ["python3", "{script}", "20", "80"] }}
phases = {{ prove = [
  {{ name = "small", ends_at = "first phase over" }},
  {{ name = "prove", ends_at = "done in", timer_after = "done in" }},
] }}
"#
        ),
    );
    let out_dir = dir.path().join("out");
    let out = crate::support::run(&["run", &suite, "--out", out_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", crate::support::text(&out));
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("results.json")).unwrap()).unwrap();
    let cell = &r["cells"][0];
    let prove = &cell["repetitions"][0]["steps"][0];
    let names: Vec<&str> = prove["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["small", "prove", "exit"]);
    let peak = |i: usize| prove["phases"][i]["peak_tree_bytes"].as_f64().unwrap();
    assert!(peak(1) - peak(0) > 50.0 * MIB, "{} vs {}", peak(1), peak(0));
    assert_eq!(prove["headline"]["prove_source"], "prover_timer");
    let s = &cell["summary"]["prove"];
    assert_eq!(s["prove_source"], "prover_timer");
    assert_eq!(s["wall_s"]["median"], prove["headline"]["wall_s"]);
    assert!(prove["wall_s"].as_f64().unwrap() > s["wall_s"]["median"].as_f64().unwrap() + 0.9);
}

#[test]
fn phases_of_a_step_the_framework_lacks_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let suite = write(
        dir.path(),
        "suite.toml",
        r#"
[suite]
name = "bad"
repetitions = 1

[[model]]
name = "m"

[[framework]]
name = "mine"
kind = "command"
steps = { prove = ["true"] }
phases = { setup = [{ name = "a", ends_at = "x" }] }
"#,
    );
    let out = crate::support::run(&["list", &suite]);
    assert!(!out.status.success());
    let t = crate::support::text(&out);
    assert!(t.contains("suite.toml:"), "{t}");
    assert!(
        t.contains("framework.phases.setup: the framework has no step `setup`"),
        "{t}"
    );
}
