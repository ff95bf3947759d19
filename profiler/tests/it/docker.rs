//! The docker runtime against a real engine.
//!
//! Needs a reachable daemon (DOCKER_HOST or the default socket) and the local base image
//! `zkprof/base:bookworm` (`zkprof images base`, or `.ci/install-docker.sh`). Without them
//! each test prints why it is skipped; with `ZKPROF_REQUIRE_DOCKER=1` (CI) it fails instead.

use crate::support::{docker_required, write, zkprof};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use zkprof::measure::{Runner, RunnerConfig, StepSpec};
use zkprof::results::MemoryMethod;
use zkprof::runtime::docker::context::Context;
use zkprof::runtime::docker::image::{self, LOCAL_BASE};
use zkprof::runtime::docker::{run_in_container, ContainerSettings, Engine};

/// The engine and the local base image, or `None` (skip) with the reason printed.
fn engine_or_skip(test: &str) -> Option<Engine> {
    let why = match Engine::connect() {
        Ok(engine) => match engine.block_on(engine.docker.inspect_image(LOCAL_BASE)) {
            Ok(_) => return Some(engine),
            Err(e) => {
                format!("base image {LOCAL_BASE} missing ({e}); make it with `zkprof images base`")
            }
        },
        Err(e) => e.to_string(),
    };
    if docker_required() {
        panic!("{test}: ZKPROF_REQUIRE_DOCKER=1 but {why}");
    }
    eprintln!("skipping {test}: {why} (set ZKPROF_REQUIRE_DOCKER=1 to make this a failure)");
    None
}

fn runner() -> Runner {
    Runner::new(RunnerConfig::default(), Arc::new(AtomicBool::new(false)))
}

/// Settings for a step in the base image with `dir` mounted writable.
fn base_settings(dir: &Path) -> ContainerSettings {
    // The unprivileged user must be able to write the mounted directory.
    let (uid, gid) = zkprof::runtime::docker::CONTAINER_USER_WHEN_ROOT;
    std::os::unix::fs::chown(dir, Some(uid), Some(gid)).ok();
    ContainerSettings {
        image: LOCAL_BASE.into(),
        user: format!("{uid}:{gid}"),
        mounts: vec![(dir.to_path_buf(), false)],
        cpuset: None,
        workdir: dir.to_path_buf(),
        gpus: false,
        remapped: Vec::new(),
    }
}

fn spec(name: &str, dir: &Path, argv: &[&str]) -> StepSpec {
    StepSpec {
        name: name.into(),
        argv: argv.iter().map(|s| s.to_string()).collect(),
        cwd: Some(dir.to_path_buf()),
        log_dir: dir.join("logs"),
        log_stem: name.into(),
        timeout: Some(Duration::from_secs(120)),
        ..StepSpec::default()
    }
}

#[test]
fn step_container_has_no_network_no_root_and_a_read_only_root() {
    let Some(engine) = engine_or_skip("locked-down container") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let script = "id -u; grep CapEff /proc/self/status; grep NoNewPrivs /proc/self/status; \
                  cut -d: -f1 /proc/net/dev | tail -n +3 | tr -d ' '; \
                  touch /root-write 2>/dev/null && echo root-writable || echo root-read-only; \
                  echo ok > out.txt && echo workdir-writable; \
                  exec 3<>/dev/tcp/1.1.1.1/80 && echo CONNECTED";
    let run = run_in_container(
        &engine,
        &runner(),
        &base_settings(dir.path()),
        &spec("net", dir.path(), &["bash", "-c", script]),
        Vec::new(),
    )
    .unwrap();
    let out = std::fs::read_to_string(dir.path().join("logs/net.stdout")).unwrap();
    let err = std::fs::read_to_string(dir.path().join("logs/net.stderr")).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1000", "non-root user: {out}");
    assert!(
        lines[1].ends_with("0000000000000000"),
        "no capabilities: {out}"
    );
    assert!(lines[2].ends_with('1'), "no-new-privileges: {out}");
    assert_eq!(lines[3], "lo", "only a loopback interface: {out}");
    assert_eq!(lines.len(), 6, "{out}");
    assert_eq!(lines[4], "root-read-only");
    assert_eq!(lines[5], "workdir-writable");
    assert!(
        !out.contains("CONNECTED"),
        "a connection left the container: {out}"
    );
    assert!(
        err.contains("unreachable"),
        "connect must fail for lack of a network: {err}"
    );
    assert_ne!(run.exit_code, Some(0));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.txt")).unwrap(),
        "ok\n"
    );
}

#[test]
fn a_step_confined_to_cpus_runs_in_a_container_on_them() {
    let Some(engine) = engine_or_skip("cpus in a container") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let choice = zkprof::measure::cpus::choose(
        zkprof::measure::cpus::CpuCount::N(1),
        &zkprof::measure::cpus::allowed(),
        None,
    )
    .unwrap();
    // The docker runtime gives a confined cell's containers exactly its CPUs.
    let mut settings = base_settings(dir.path());
    settings.cpuset = Some(choice.list());
    let mut step = spec(
        "cpus",
        dir.path(),
        &[
            "sh",
            "-c",
            "grep Cpus_allowed_list /proc/self/status; echo threads=$RAYON_NUM_THREADS,$OMP_NUM_THREADS",
        ],
    );
    step.cpus = Some(choice.clone());
    let run = run_in_container(&engine, &runner(), &settings, &step, Vec::new()).unwrap();
    let out = std::fs::read_to_string(dir.path().join("logs/cpus.stdout")).unwrap();
    assert_eq!(run.exit_code, Some(0), "{out}");
    assert_eq!(
        out,
        format!("Cpus_allowed_list:\t{}\nthreads=1,1\n", choice.list())
    );
    assert_eq!(run.cpus_allowed.as_deref(), Some(choice.list().as_str()));
    assert!(run
        .cpus_method
        .as_deref()
        .is_some_and(|m| m.contains("container cpuset")));
}

/// Polls the container's own cgroup (below zkprof's parent) for its peak while it runs.
fn poll_container_peak(stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let roots = zkprof::roots::Roots::from_env();
        let prefix = format!("s{}n", std::process::id());
        let parents = [
            roots.cgroup.join("memory/zkprof"),
            roots.cgroup.join("zkprof"),
        ];
        let mut max = 0u64;
        while !stop.load(Ordering::Relaxed) {
            for parent_root in &parents {
                let Ok(rd) = std::fs::read_dir(parent_root) else {
                    continue;
                };
                for p in rd
                    .flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
                {
                    let Ok(children) = std::fs::read_dir(p.path()) else {
                        continue;
                    };
                    for c in children.flatten().filter(|c| c.path().is_dir()) {
                        for f in ["memory.max_usage_in_bytes", "memory.peak"] {
                            if let Some(v) = zkprof::roots::read_u64(&c.path().join(f)) {
                                max = max.max(v);
                            }
                        }
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        max
    })
}

/// Runs perl in a container: writes `write_mb` MB to a file in the mounted directory, then
/// holds `hold_mb` MB for two seconds (`x=` repeats in place; `'a' x N` holds two copies a moment).
fn perl_writer(
    engine: &Engine,
    dir: &Path,
    write_mb: u32,
    hold_mb: u32,
) -> zkprof::results::StepRun {
    let script = format!(
        "open(my $f, '>', 'written.bin') or die; my $c = 'w' x 1_000_000; \
         print $f $c for 1..{write_mb}; close($f); undef $c; \
         my $x = 'a'; $x x= ({hold_mb} * 1_000_000); sleep 2; print length($x), qq(\\n)"
    );
    let run = run_in_container(
        engine,
        &runner(),
        &base_settings(dir),
        &spec(
            &format!("mem-{write_mb}-{hold_mb}"),
            dir,
            &["perl", "-e", &script],
        ),
        Vec::new(),
    )
    .unwrap();
    assert!(run.succeeded(), "{run:?}");
    run
}

#[test]
fn container_peak_is_its_working_set_and_the_cgroup_peak_is_kept_beside_it() {
    let Some(engine) = engine_or_skip("container peak memory") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let base = perl_writer(&engine, dir.path(), 0, 0);
    let stop = Arc::new(AtomicBool::new(false));
    let poller = poll_container_peak(stop.clone());
    // 300 MB written (page cache charged to the container), then 160 MB held.
    let run = perl_writer(&engine, dir.path(), 300, 160);
    stop.store(true, Ordering::Relaxed);
    let polled = poller.join().unwrap();
    let charged = run.peak_charged_bytes.expect("the container cgroup's peak");
    eprintln!(
        "working set {} B (baseline {} B), charged {charged} B, container cgroup's own max_usage polled while it ran {polled} B, sampled RSS {} B",
        run.peak_tree_bytes, base.peak_tree_bytes, run.peak_tree_rss_bytes
    );
    assert_eq!(run.memory_method, MemoryMethod::WorkingSet);
    assert_eq!(run.charged_method, Some(MemoryMethod::ContainerCgroup));
    // The headline: what perl held, measured from the host as for a native step.
    let added = run.peak_tree_bytes as f64 - base.peak_tree_bytes as f64;
    assert!(
        (added - 160e6).abs() / 160e6 <= 0.03,
        "the workload added {added} B to the working set, expected 160 MB ± 3%"
    );
    // The charged view is the container cgroup's own number, page cache included.
    assert!(
        polled > 300_000_000,
        "the poller saw the container's cgroup: {polled}"
    );
    assert!(
        charged >= polled,
        "the parent's peak covers the container's"
    );
    let diff = (charged - polled) as f64 / polled as f64;
    assert!(
        diff < 0.02,
        "charged {charged} vs the container cgroup's {polled}"
    );
    assert!(
        charged > run.peak_tree_bytes + 100_000_000,
        "the charged peak includes the page cache of the 300 MB written"
    );
    assert!(run.user_s + run.sys_s > 0.0, "CPU time from the cgroup");
}

#[test]
fn out_of_memory_in_a_container_is_recorded() {
    let Some(engine) = engine_or_skip("container OOM") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(
        "oom",
        dir.path(),
        &[
            "perl",
            "-e",
            "my $x = 'a' x 400_000_000; print qq(survived\\n)",
        ],
    );
    s.memory_limit = Some(64 << 20);
    let run = run_in_container(
        &engine,
        &runner(),
        &base_settings(dir.path()),
        &s,
        Vec::new(),
    )
    .unwrap();
    assert!(run.oom_killed, "{run:?}");
    assert_eq!(run.outcome(), "oom");
    assert_eq!(run.signal, Some(9));
    // The kernel may overshoot the limit by a few pages before it kills. The charge is
    // what the limit holds; the working set may also count pages of perl and its
    // libraries that were charged to another cgroup first.
    let charged = run.peak_charged_bytes.expect("the container cgroup's peak");
    assert!(
        charged <= (64 << 20) + (1 << 20),
        "the limit held: {charged}"
    );
    assert!(
        run.peak_tree_bytes <= (64 << 20) + (16 << 20),
        "the working set stayed near the limit: {}",
        run.peak_tree_bytes
    );
}

#[test]
fn a_step_past_its_timeout_is_killed() {
    let Some(engine) = engine_or_skip("container timeout") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec("slow", dir.path(), &["sleep", "60"]);
    s.timeout = Some(Duration::from_secs(1));
    let run = run_in_container(
        &engine,
        &runner(),
        &base_settings(dir.path()),
        &s,
        Vec::new(),
    )
    .unwrap();
    assert!(run.timed_out, "{run:?}");
    assert_eq!(run.outcome(), "timeout");
    assert!(run.wall_s < 20.0, "killed, not waited for: {}", run.wall_s);
}

#[test]
fn a_missing_program_is_named() {
    let Some(engine) = engine_or_skip("missing program") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let e = run_in_container(
        &engine,
        &runner(),
        &base_settings(dir.path()),
        &spec("x", dir.path(), &["no-such-prover"]),
        Vec::new(),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("command not found: `no-such-prover`"),
        "{e}"
    );
}

#[test]
fn unchanged_context_is_not_rebuilt_and_a_change_is() {
    let Some(engine) = engine_or_skip("image reuse") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let nonce = format!(
        "{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
    );
    write(
        dir.path(),
        "Dockerfile",
        &format!(
            "ARG BASE={LOCAL_BASE}\nFROM ${{BASE}}\nCOPY note.txt /note.txt\nRUN echo {nonce}\n"
        ),
    );
    write(dir.path(), "note.txt", "one\n");
    let ctx = Context::load(dir.path()).unwrap();
    let first = image::build_context(&engine, "zkprof-test", &ctx, None).unwrap();
    assert!(!first.reused, "a new nonce builds");
    let t = std::time::Instant::now();
    let second = image::build_context(
        &engine,
        "zkprof-test",
        &Context::load(dir.path()).unwrap(),
        None,
    )
    .unwrap();
    eprintln!(
        "second build of an unchanged context: {:.3} s",
        t.elapsed().as_secs_f64()
    );
    assert!(second.reused);
    assert_eq!(
        (second.id.as_str(), second.tag.as_str()),
        (first.id.as_str(), first.tag.as_str())
    );
    write(dir.path(), "note.txt", "two\n");
    let third = image::build_context(
        &engine,
        "zkprof-test",
        &Context::load(dir.path()).unwrap(),
        None,
    )
    .unwrap();
    assert!(!third.reused);
    assert_ne!(third.tag, first.tag);
    for img in [&first, &third] {
        let _ = engine.block_on(engine.docker.remove_image(
            &img.tag,
            None::<bollard::query_parameters::RemoveImageOptions>,
            None,
        ));
    }
}

#[test]
fn a_failing_build_shows_the_failing_steps_output() {
    let Some(engine) = engine_or_skip("failing build") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "Dockerfile",
        &format!(
            "ARG BASE={LOCAL_BASE}\nFROM ${{BASE}}\nRUN echo first-step-fine\n\
             RUN echo about-to-fail-{} && ls /no-such-dir-zkprof\n",
            std::process::id()
        ),
    );
    let e = image::build_context(
        &engine,
        "zkprof-test",
        &Context::load(dir.path()).unwrap(),
        None,
    )
    .unwrap_err();
    let msg = e.to_string();
    // Step 4 of the Dockerfile (the engine counts the labels it adds as further steps).
    assert!(
        msg.contains("failed at Step 4/") && msg.contains(" : RUN echo about-to-fail"),
        "{msg}"
    );
    assert!(
        msg.contains("| ls: cannot access '/no-such-dir-zkprof'"),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("| about-to-fail-{}", std::process::id())),
        "{msg}"
    );
    assert!(msg.contains("/no-such-dir-zkprof"), "{msg}");
    assert!(
        !msg.contains("| first-step-fine"),
        "only the failing step's output: {msg}"
    );
}

#[test]
fn a_missing_base_image_says_how_to_make_one() {
    let Some(engine) = engine_or_skip("missing base") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "Dockerfile",
        "ARG BASE=zkprof/no-such-base:none\nFROM ${BASE}\n",
    );
    let e = image::build_context(
        &engine,
        "zkprof-test",
        &Context::load(dir.path()).unwrap(),
        None,
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("base image `zkprof/no-such-base:none` is not present"),
        "{msg}"
    );
    assert!(msg.contains("`zkprof images base`"), "{msg}");
}

#[test]
fn run_with_the_docker_runtime_and_no_daemon_fails_before_any_cell() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("s.toml");
    std::fs::write(
        &suite,
        "[suite]\nname = \"s\"\n[[model]]\nname = \"m\"\n[[framework]]\nname = \"c\"\nkind = \"command\"\n\
         steps = { prove = [\"true\"] }\n",
    )
    .unwrap();
    let out = zkprof()
        .arg("run")
        .arg(&suite)
        .args(["--runtime", "docker", "--out"])
        .arg(dir.path().join("out"))
        .env("DOCKER_HOST", "unix:///nonexistent/zkprof-docker.sock")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("docker daemon not reachable at unix:///nonexistent/zkprof-docker.sock; start it or use --runtime native"), "{err}");
    assert!(!dir.path().join("out/cells").exists(), "no cell ran");
}

#[test]
fn no_daemon_says_where_and_what_to_do() {
    let out = zkprof()
        .args(["images", "ls"])
        .env("DOCKER_HOST", "unix:///nonexistent/zkprof-docker.sock")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("docker daemon not reachable at unix:///nonexistent/zkprof-docker.sock; start it or use --runtime native"),
        "{err}"
    );
}

#[test]
fn circom_image_compiles_and_inspects_a_circuit_offline() {
    let Some(engine) = engine_or_skip("circom image") else {
        return;
    };
    let img = image::ensure_image(&engine, "circom", Some(LOCAL_BASE)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "mul.circom",
        "pragma circom 2.0.0;\ntemplate Mul() { signal input a; signal input b; signal output c; c <== a*b; }\n\
         component main = Mul();\n",
    );
    let mut settings = base_settings(dir.path());
    settings.image = img.id.clone();
    let script = "circom2 mul.circom --r1cs --wasm -o . && snarkjs r1cs info mul.r1cs";
    let run = run_in_container(
        &engine,
        &runner(),
        &settings,
        &spec("compile", dir.path(), &["sh", "-c", script]),
        Vec::new(),
    )
    .unwrap();
    let out = std::fs::read_to_string(dir.path().join("logs/compile.stdout")).unwrap();
    assert!(run.succeeded(), "{run:?}\n{out}");
    assert!(
        out.contains("# of Outputs: 1") && out.contains("# of Constraints: 1"),
        "{out}"
    );
    assert!(dir.path().join("mul_js/mul.wasm").exists());
    assert!(img.files.contains_key("package-lock.json") && img.files.contains_key("npm.lock"));
}

#[test]
fn ctrl_c_during_a_container_step_kills_it_and_says_so() {
    let Some(engine) = engine_or_skip("container interrupt") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let flag = Arc::new(AtomicBool::new(false));
    let runner = Runner::new(RunnerConfig::default(), flag.clone());
    let setter = {
        let flag = flag.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(1));
            flag.store(true, Ordering::Relaxed);
        })
    };
    let run = run_in_container(
        &engine,
        &runner,
        &base_settings(dir.path()),
        &spec("long", dir.path(), &["sleep", "60"]),
        Vec::new(),
    )
    .unwrap();
    setter.join().unwrap();
    assert!(run.interrupted, "{run:?}");
    assert_eq!(run.outcome(), "interrupted");
    assert!(run.wall_s < 20.0, "{}", run.wall_s);
}
