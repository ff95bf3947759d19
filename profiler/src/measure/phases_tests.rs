//! Tests of `phases.rs`.

use super::*;

fn spec() -> PhaseSpec {
    PhaseSpec {
        phases: vec![
            PhaseRule {
                name: "setup".into(),
                ends_at: "setup done".into(),
                ..PhaseRule::default()
            },
            PhaseRule {
                name: "prove".into(),
                ends_at: "Proving time:".into(),
                timer_after: Some("Proving time:".into()),
                note: None,
            },
        ],
        tail: "verify".into(),
        headline: Some("prove".into()),
    }
}

fn series() -> Series {
    // 0..3 s every 0.1 s: 100 MiB until 1 s, 300 MiB until 2 s, then 50 MiB.
    let t: Vec<f64> = (0..=30).map(|i| i as f64 / 10.0).collect();
    let mem = t
        .iter()
        .map(|&t| match t {
            t if t <= 1.0 => 100u64 << 20,
            t if t <= 2.0 => 300 << 20,
            _ => 50 << 20,
        })
        .collect();
    let mut s = Series {
        interval_ms: 100.0,
        cpu_cores: vec![1.0; t.len()],
        t_s: t.clone(),
        tree_bytes: mem,
        ..Series::default()
    };
    s.extra.insert("cpu.power_w".into(), vec![10.0; t.len()]);
    s
}

fn track(lines: &[(f64, &str)]) -> Vec<Boundary> {
    let mut t = BoundaryTracker::new(Arc::new(spec()), None);
    for (at, l) in lines {
        t.line(*at, l);
    }
    t.boundaries
}

#[test]
fn durations_in_rust_debug_format() {
    assert_eq!(parse_duration("230.374847369s"), Some(230.374847369));
    assert!((parse_duration(" 13.863242ms").unwrap() - 0.013863242).abs() < 1e-12);
    assert!((parse_duration("702µs").unwrap() - 702e-6).abs() < 1e-12);
    assert_eq!(parse_duration("1.5"), Some(1.5));
    assert_eq!(parse_duration("soon"), None);
    assert_eq!(parse_duration("3 parsecs"), None);
    assert_eq!(parse_duration("-1s"), None);
}

#[test]
fn phases_from_markers_and_series() {
    let b = track(&[
        (0.5, "hello"),
        (1.0, "setup done"),
        (2.0, "Proving time: 1.02s"),
        (2.1, "setup done"),
    ]);
    assert_eq!(b.len(), 2);
    let s = series();
    let rss = vec![0; s.t_s.len()];
    let sp = spec();
    let phases = compute(&PhaseInput {
        spec: &sp,
        boundaries: &b,
        wall_s: 3.0,
        series: &s,
        rss_bytes: &rss,
        exact: false,
        tail_charged_peak: None,
    });
    let names: Vec<&str> = phases.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["setup", "prove", "verify"]);
    assert_eq!(phases[0].peak_tree_bytes, Some(100 << 20));
    assert_eq!(phases[1].peak_tree_bytes, Some(300 << 20));
    assert_eq!(phases[1].prover_timer_s, Some(1.02));
    assert!(!phases[1].timer_disagrees);
    assert!((phases[1].cpu_s.unwrap() - 1.0).abs() < 1e-9);
    assert!((phases[1].energy_j["cpu"] - 10.0).abs() < 1e-9);
    assert_eq!(
        phases[2].peak_tree_bytes,
        Some(300 << 20),
        "2.0 s is in both"
    );
    let h = headline(&sp, &phases, 3.0, 400 << 20).unwrap();
    assert_eq!(h.prove_source, ProveSource::ProverTimer);
    assert_eq!(h.wall_s, 1.02);
    assert_eq!(h.peak_tree_bytes, 300 << 20);
    assert!(h.warnings.is_empty());
}

#[test]
fn disagreeing_timer_is_a_warning_and_missing_marker_falls_back() {
    let sp = spec();
    let s = series();
    let rss = vec![0; s.t_s.len()];
    let b = track(&[(1.0, "setup done"), (2.0, "Proving time: 1.5s")]);
    let input = PhaseInput {
        spec: &sp,
        boundaries: &b,
        wall_s: 3.0,
        series: &s,
        rss_bytes: &rss,
        exact: false,
        tail_charged_peak: None,
    };
    let phases = compute(&input);
    assert!(phases[1].timer_disagrees);
    let h = headline(&sp, &phases, 3.0, 1).unwrap();
    assert_eq!(h.warnings.len(), 1, "{:?}", h.warnings);

    let b = track(&[(1.0, "setup done")]);
    let phases = compute(&PhaseInput {
        boundaries: &b,
        ..input
    });
    assert_eq!(phases.len(), 2);
    assert!(phases[1].note.as_deref().unwrap().contains("prove"));
    let h = headline(&sp, &phases, 3.0, 7).unwrap();
    assert_eq!(h.prove_source, ProveSource::WholeStep);
    assert_eq!((h.wall_s, h.peak_tree_bytes), (3.0, 7));
}

#[test]
fn a_timer_printed_after_its_phase_ends_is_found() {
    let mut sp = spec();
    sp.phases[0].timer_after = Some("setup took".into());
    let mut t = BoundaryTracker::new(Arc::new(sp), None);
    t.line(1.0, "setup done");
    t.line(1.5, "setup took 0.98s");
    t.line(2.0, "Proving time: 1.0s");
    t.line(2.1, "setup took 5s");
    let timers: Vec<Option<f64>> = t.boundaries.iter().map(|b| b.timer_s).collect();
    assert_eq!(timers, [Some(0.98), Some(1.0)]);
}

#[test]
fn an_unphased_run_of_a_phased_step_is_labelled_whole_step() {
    let run: StepRun = serde_json::from_value(serde_json::json!({
        "wall_s": 9.0, "user_s": 0.0, "sys_s": 0.0, "peak_tree_bytes": 5,
        "peak_process_bytes": 0, "memory_method": "container_cgroup", "exit_code": 0,
        "signal": null, "oom_killed": false, "timed_out": false, "step": "prove",
    }))
    .unwrap();
    let plain = label_unphased(None, run.clone());
    assert!(plain.headline.is_none());
    let h = label_unphased(Some(&spec()), run).headline.unwrap();
    assert_eq!(h.prove_source, ProveSource::WholeStep);
    assert_eq!((h.wall_s, h.peak_tree_bytes), (9.0, 5));
    assert_eq!(h.warnings.len(), 1);
}

#[test]
fn a_missed_marker_merges_into_the_next_phase() {
    let b = track(&[(2.0, "Proving time: 2.0s")]);
    assert_eq!(b.len(), 1);
    let s = series();
    let rss = vec![0; s.t_s.len()];
    let sp = spec();
    let phases = compute(&PhaseInput {
        spec: &sp,
        boundaries: &b,
        wall_s: 3.0,
        series: &s,
        rss_bytes: &rss,
        exact: false,
        tail_charged_peak: None,
    });
    assert_eq!(phases[0].name, "prove");
    assert_eq!(phases[0].start_s, 0.0);
    assert!(phases[0].note.as_deref().unwrap().contains("setup"));
}
