//! Docker runtime costs: (1) `ensure_image` of an unchanged recipe (target: well under a
//! second; it hashes the context and asks the engine for the tag), (2) the wall time of a
//! trivial step (`true`) in a container against the same step run natively, and (3) a
//! CPU-bound step in a container against native, alternating A B A B, median ratio printed.
//!
//! Run: `DOCKER_HOST=... cargo bench --bench images` (repetitions: `ZKPROF_BENCH_REPS`,
//! default 10). Needs a reachable engine and the local base image (`zkprof images base`);
//! prints why and exits 0 otherwise. Recipes are built on `zkprof/base:bookworm`.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;
use zkprof::measure::{Runner, RunnerConfig, StepSpec};
use zkprof::runtime::docker::image::{self, LOCAL_BASE};
use zkprof::runtime::docker::{
    run_in_container, ContainerSettings, Engine, CONTAINER_USER_WHEN_ROOT,
};

/// The median (the library's own statistics).
fn median(v: Vec<f64>) -> f64 {
    zkprof::results::Summary::of(&v).median
}

fn main() {
    let reps: usize = std::env::var("ZKPROF_BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let engine = match Engine::connect() {
        Ok(e) => e,
        Err(e) => {
            println!("images bench skipped: {e}");
            return;
        }
    };
    if engine
        .block_on(engine.docker.inspect_image(LOCAL_BASE))
        .is_err()
    {
        println!("images bench skipped: no {LOCAL_BASE}; make it with `zkprof images base`");
        return;
    }
    // (1) Unchanged recipe.
    let first = image::ensure_image(&engine, "ezkl", Some(LOCAL_BASE)).expect("ezkl image");
    println!(
        "ezkl image {} ({}, {:.2} s)",
        first.tag,
        if first.reused { "existed" } else { "built" },
        first.seconds
    );
    let again: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            let img = image::ensure_image(&engine, "ezkl", Some(LOCAL_BASE)).expect("ezkl image");
            assert!(img.reused, "an unchanged recipe was rebuilt");
            t.elapsed().as_secs_f64()
        })
        .collect();
    println!(
        "unchanged-recipe build: median {:.4} s over {reps} (max {:.4} s)",
        median(again.clone()),
        again.iter().cloned().fold(0.0, f64::max)
    );

    // (2) and (3): container vs native step wall time.
    let dir = tempfile::tempdir().expect("tempdir");
    let (uid, gid) = CONTAINER_USER_WHEN_ROOT;
    let _ = std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid));
    let settings = ContainerSettings {
        image: LOCAL_BASE.into(),
        user: format!("{uid}:{gid}"),
        mounts: vec![(dir.path().to_path_buf(), false)],
        cpuset: None,
        workdir: dir.path().to_path_buf(),
        gpus: false,
        remapped: Vec::new(),
    };
    let runner = Runner::new(RunnerConfig::default(), Arc::new(AtomicBool::new(false)));
    let step = |argv: &[&str]| StepSpec {
        name: "bench".into(),
        argv: argv.iter().map(|s| s.to_string()).collect(),
        cwd: Some(dir.path().to_path_buf()),
        log_dir: dir.path().join("logs"),
        log_stem: "bench".into(),
        ..StepSpec::default()
    };
    for (label, argv) in [
        ("trivial step (true)", vec!["true"]),
        (
            "CPU-bound step (perl loop)",
            vec![
                "perl",
                "-e",
                "my $s = 0; $s += $_ for 1..20_000_000; print $s",
            ],
        ),
    ] {
        let (mut native, mut container, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..reps {
            let n = runner.run(&step(&argv), Vec::new()).expect("native").wall_s;
            let c = run_in_container(&engine, &runner, &settings, &step(&argv), Vec::new())
                .expect("container")
                .wall_s;
            native.push(n);
            container.push(c);
            ratios.push(c / n);
        }
        println!(
            "{label}: native median {:.3} s, container median {:.3} s, container/native median ratio {:.2}",
            median(native),
            median(container),
            median(ratios)
        );
    }
}
