use super::*;

const MIB: u64 = 1 << 20;

fn rollup_text(rss_kb: u64, pss_kb: u64, pss_anon_kb: u64, anon_kb: u64) -> String {
    format!(
        "56124399d000-7ffe5f4ff000 ---p 00000000 00:00 0                          [rollup]\n\
         Rss:            {rss_kb} kB\nPss:            {pss_kb} kB\nPss_Dirty:      {pss_anon_kb} kB\n\
         Pss_Anon:       {pss_anon_kb} kB\nPss_File:       {} kB\nPss_Shmem:      0 kB\n\
         Shared_Clean:   0 kB\nAnonymous:      {anon_kb} kB\nSwap:           0 kB\n",
        pss_kb - pss_anon_kb
    )
}

fn snap(pid: i32, rss: u64) -> ProcSnapshot {
    ProcSnapshot {
        pid,
        ppid: 1,
        pgrp: 1,
        rss_bytes: rss,
        utime_ticks: 0,
        stime_ticks: 0,
        starttime: pid as u64,
    }
}

fn no_cpu() -> f64 {
    0.0
}

#[test]
fn parses_a_real_rollup_and_refuses_one_without_pss_anon() {
    let r = parse_rollup(&rollup_text(1696, 770, 112, 112)).unwrap();
    assert_eq!(
        r,
        Rollup {
            rss: 1696 * 1024,
            pss: 770 * 1024,
            pss_anon: 112 * 1024,
            anonymous: 112 * 1024
        }
    );
    assert!(parse_rollup("Rss: 10 kB\nPss: 5 kB\nAnonymous: 1 kB\n").is_none());
    assert!(parse_rollup("garbage").is_none());
}

#[test]
fn the_own_rollup_of_this_process_parses() {
    let text = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap();
    let r = parse_rollup(&text).expect("kernel 5.6+ smaps_rollup");
    assert!(r.rss > 0 && r.pss <= r.rss && r.pss_anon <= r.anonymous.max(r.pss_anon));
}

#[test]
fn one_process_is_its_rss() {
    let rollup = Some(Rollup {
        rss: 310 * MIB,
        pss: 305 * MIB,
        pss_anon: 300 * MIB,
        anonymous: 300 * MIB,
    });
    assert_eq!(
        combine(&[Part {
            rss_now: 310 * MIB,
            rollup
        }]),
        310 * MIB
    );
    assert_eq!(
        combine(&[Part {
            rss_now: 7,
            rollup: None
        }]),
        7
    );
}

#[test]
fn pages_shared_after_a_fork_count_once() {
    // Parent touched 300 MiB and forked; both map the same pages (Pss_Anon halves) and
    // the same 10 MiB of libraries.
    let half = Rollup {
        rss: 310 * MIB,
        pss: 155 * MIB,
        pss_anon: 150 * MIB,
        anonymous: 300 * MIB,
    };
    let parts = [
        Part {
            rss_now: 310 * MIB,
            rollup: Some(half),
        },
        Part {
            rss_now: 310 * MIB,
            rollup: Some(half),
        },
    ];
    // 300 MiB of anonymous pages once, the 10 MiB of libraries once.
    assert_eq!(combine(&parts), 310 * MIB);
}

#[test]
fn independent_processes_add_up_and_rss_changes_count_as_private() {
    let own = |anon: u64| Rollup {
        rss: (anon + 10) * MIB,
        pss: (anon + 5) * MIB,
        pss_anon: anon * MIB,
        anonymous: anon * MIB,
    };
    let parts = [
        Part {
            rss_now: 210 * MIB,
            rollup: Some(own(200)),
        },
        // Grew by 50 MiB since its rollup.
        Part {
            rss_now: 260 * MIB,
            rollup: Some(own(200)),
        },
    ];
    // 200 + 250 anonymous; libraries: max(5 + 5, 10) = 10.
    assert_eq!(combine(&parts), 460 * MIB);
    // Without rollups the processes count whole (their RSS summed).
    let bare = [
        Part {
            rss_now: 3,
            rollup: None,
        },
        Part {
            rss_now: 4,
            rollup: None,
        },
    ];
    assert_eq!(combine(&bare), 7);
    // A process that shrank since its rollup counts no more than it holds now (and the
    // sum never falls below the largest process).
    let shrunk = [
        Part {
            rss_now: 100 * MIB,
            rollup: Some(Rollup {
                rss: 400 * MIB,
                pss: 0,
                pss_anon: 0,
                anonymous: 0,
            }),
        },
        Part {
            rss_now: 1,
            rollup: None,
        },
    ];
    assert_eq!(combine(&shrunk), 100 * MIB + 1);
}

fn fixture(dir: &Path, pid: i32, text: &str) {
    let d = dir.join(pid.to_string());
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("smaps_rollup"), text).unwrap();
}

#[test]
fn rollups_are_read_when_the_tree_changes_and_not_for_one_process() {
    let dir = tempfile::tempdir().unwrap();
    // 300 MiB shared by parent 10 and child 11 after a fork.
    let shared = rollup_text(310 * 1024, 155 * 1024, 150 * 1024, 300 * 1024);
    fixture(dir.path(), 10, &shared);
    fixture(dir.path(), 11, &shared);
    let mut ws = WorkingSet::new(dir.path());
    // One process: its RSS, no read.
    assert_eq!(ws.sample(0.0, &[snap(10, 310 * MIB)], no_cpu), 310 * MIB);
    assert_eq!(ws.stats.rollups, 0);
    // The fork: both read at once, the shared pages count once.
    let two = [snap(10, 310 * MIB), snap(11, 310 * MIB)];
    assert_eq!(ws.sample(0.01, &two, no_cpu), 310 * MIB);
    assert_eq!(ws.stats.rollups, 2);
    // Same members within the refresh interval: no new read.
    assert_eq!(ws.sample(0.02, &two, no_cpu), 310 * MIB);
    assert_eq!(ws.stats.rollups, 2);
    // After it, read again.
    ws.sample(0.02 + REFRESH_S, &two, no_cpu);
    assert_eq!(ws.stats.rollups, 4);
    // A process whose rollup cannot be read counts whole.
    let three = [snap(10, 310 * MIB), snap(11, 310 * MIB), snap(12, 5 * MIB)];
    assert_eq!(ws.sample(0.3, &three, no_cpu), 315 * MIB);
    assert_eq!(ws.stats.rollup_failures, 1);
    // A membership change reads only whose sharing it can change: the new process alone
    // (its parent, pid 1, is not in the tree) ...
    assert_eq!(ws.stats.rollups, 5);
    // ... or a child and its parent (10), not the bystander (11); 12 is read again as it
    // has no rollup yet.
    let mut child = snap(13, 310 * MIB);
    child.ppid = 10;
    fixture(dir.path(), 13, &shared);
    let four = [three[0].clone(), three[1].clone(), three[2].clone(), child];
    ws.sample(0.31, &four, no_cpu);
    assert_eq!(ws.stats.rollups, 5 + 3);
}

thread_local! {
    static FAKE_CPU: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
}

/// Each call advances the fake CPU clock by 30 ms: every sweep costs 30 ms.
fn dear_cpu() -> f64 {
    FAKE_CPU.with(|c| {
        let v = c.get() + 0.03;
        c.set(v);
        v
    })
}

#[test]
fn the_budget_spaces_out_dear_reads() {
    let dir = tempfile::tempdir().unwrap();
    let own = rollup_text(1024, 1024, 1024, 1024);
    fixture(dir.path(), 20, &own);
    fixture(dir.path(), 21, &own);
    let mut ws = WorkingSet::new(dir.path());
    let two = [snap(20, MIB), snap(21, MIB)];
    // 100 s of samples every 10 ms, each sweep costing 30 ms of CPU.
    for i in 0..10_000 {
        ws.sample(i as f64 * 0.01, &two, dear_cpu);
    }
    let spent = ws.stats.rollups as f64 / 2.0 * 0.03;
    assert!(
        spent <= 100.0 * BUDGET_SHARE + BUDGET_BURST_S + 0.03,
        "{spent} s of CPU in rollups over 100 s"
    );
    assert!(
        ws.stats.rollups >= 2 * 10,
        "reads still happen: {:?}",
        ws.stats
    );
}

#[test]
fn the_step_peak_is_bounded_by_the_high_water_mark() {
    // One process: the kernel's mark is exact, also when sampling missed the spike.
    let (peak, precision, child) = step_peak((100, 100), 600, 600, (1, 1));
    assert_eq!(
        (peak, precision, child),
        (600, MemoryPrecision::HighWaterMark, Some(600))
    );
    // Several: sampled, never below the largest process; `ru_maxrss` of the child then
    // covers its descendants too, so the child's own figure is the sampled one.
    let (peak, precision, child) = step_peak((400, 210), 300, 300, (3, 2));
    assert_eq!(
        (peak, precision, child),
        (400, MemoryPrecision::Sampled, Some(210))
    );
    assert_eq!(step_peak((0, 0), 0, 0, (0, 0)).2, None);
    // Processes one after another: exact, but the child's `ru_maxrss` may be another's.
    let (peak, precision, child) = step_peak((50, 40), 90, 90, (4, 1));
    assert_eq!(
        (peak, precision, child),
        (90, MemoryPrecision::HighWaterMark, Some(40))
    );
}
