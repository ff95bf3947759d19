//! One step in one container: the locked-down container configuration, and running it with
//! the same measurements as a native step (host-side sampling of its processes and their
//! working set; CPU time and the charged peak from a parent cgroup that holds only this
//! container; logs, OOM, timeout).

use super::engine::Engine;
use crate::measure::cgroup::ParentCgroup;
use crate::measure::process::tail_lines;
use crate::measure::proctree::{ProcReader, TreeTracker};
use crate::measure::sampler::{self, SamplerSetup};
use crate::measure::{RunError, Runner, StepSpec};
use crate::results::{CpuMethod, MemoryMethod, MemoryPrecision, Reading, StepRun};
use crate::runtime::RuntimeError;
use crate::sensors::{Sensor, Target};
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, KillContainerOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder,
};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What every step container of a cell shares.
#[derive(Clone, Debug)]
pub struct ContainerSettings {
    /// Image id or tag.
    pub image: String,
    /// `uid:gid`.
    pub user: String,
    /// (host path, read-only), mounted at the same path.
    pub mounts: Vec<(PathBuf, bool)>,
    /// (host path, path inside), mounted read-write where the same path cannot be used
    /// (zkprof's cache below a home directory the container user cannot enter).
    pub remapped: Vec<(PathBuf, PathBuf)>,
    /// `--cpuset-cpus` value.
    pub cpuset: Option<String>,
    /// Working directory inside (a mounted path).
    pub workdir: PathBuf,
    /// Pass the host's NVIDIA GPUs in (`--gpus all`), so NVML sees them from inside too.
    pub gpus: bool,
}

/// Whether the host has an NVIDIA driver whose GPUs a container could be given.
pub fn host_has_nvidia_gpu() -> bool {
    Path::new("/dev/nvidiactl").exists()
}

/// The container configuration for a step (pure; tested without an engine).
pub fn container_body(
    settings: &ContainerSettings,
    spec: &StepSpec,
    cgroup_parent: &str,
) -> ContainerCreateBody {
    let mut env: Vec<String> = vec!["HOME=/tmp".into()];
    env.extend(spec.env.iter().map(|(k, v)| format!("{k}={v}")));
    if let Some(choice) = &spec.cpus {
        for (k, v) in choice.env() {
            if !spec.env.iter().any(|(x, _)| *x == k) {
                env.push(format!("{k}={v}"));
            }
        }
    }
    let binds = settings
        .mounts
        .iter()
        .map(|(p, ro)| format!("{0}:{0}:{1}", p.display(), if *ro { "ro" } else { "rw" }))
        .chain(
            settings
                .remapped
                .iter()
                .map(|(host, inside)| format!("{}:{}:rw", host.display(), inside.display())),
        )
        .collect();
    let limit = spec.memory_limit.map(|b| b.min(i64::MAX as u64) as i64);
    ContainerCreateBody {
        image: Some(settings.image.clone()),
        cmd: Some(spec.argv.clone()),
        // The recipe's ENTRYPOINT (if any) would change what runs; steps give the full argv.
        entrypoint: Some(Vec::new()),
        env: Some(env),
        user: Some(settings.user.clone()),
        working_dir: Some(settings.workdir.display().to_string()),
        network_disabled: Some(true),
        labels: Some(HashMap::from([(
            "org.zkprof.step".to_string(),
            spec.name.clone(),
        )])),
        host_config: Some(HostConfig {
            network_mode: Some("none".into()),
            cap_drop: Some(vec!["ALL".into()]),
            security_opt: Some(vec!["no-new-privileges".into()]),
            readonly_rootfs: Some(true),
            binds: Some(binds),
            tmpfs: Some(HashMap::from([(
                "/tmp".to_string(),
                "rw,nosuid,nodev,size=1g".to_string(),
            )])),
            memory: limit,
            // Swap would hide the limit: memory+swap equals memory.
            memory_swap: limit,
            cpuset_cpus: settings.cpuset.clone(),
            cgroup_parent: Some(cgroup_parent.to_string()),
            pids_limit: Some(4096),
            device_requests: settings.gpus.then(|| {
                vec![bollard::models::DeviceRequest {
                    count: Some(-1),
                    capabilities: Some(vec![vec!["gpu".to_string()]]),
                    ..Default::default()
                }]
            }),
            ..HostConfig::default()
        }),
        ..ContainerCreateBody::default()
    }
}

/// Splits the engine's exit status: death by signal N is reported as 128+N.
pub fn split_exit(code: i64) -> (Option<i32>, Option<i32>) {
    if (129..=192).contains(&code) {
        (None, Some((code - 128) as i32))
    } else {
        (Some(code as i32), None)
    }
}

/// Runs one step in a fresh container and measures it.
pub fn run_in_container(
    engine: &Engine,
    runner: &Runner,
    settings: &ContainerSettings,
    spec: &StepSpec,
    sensors: Vec<Box<dyn Sensor>>,
) -> Result<StepRun, RuntimeError> {
    let program = spec.argv.first().ok_or(RunError::EmptyCommand)?.clone();
    let log_err = |path: &Path, source: std::io::Error| RunError::LogDir {
        path: path.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(&spec.log_dir).map_err(|e| log_err(&spec.log_dir, e))?;
    let stdout_path = spec.log_dir.join(format!("{}.stdout", spec.log_stem));
    let stderr_path = spec.log_dir.join(format!("{}.stderr", spec.log_stem));
    let config = runner.config();
    let parent = ParentCgroup::new(&config.roots, &engine.cgroup_driver);
    let docker = &engine.docker;
    let name = format!("zkprof-{}-{}", std::process::id(), unique_suffix());
    let engine_err =
        |what: &str, e: bollard::errors::Error| RuntimeError::Engine(format!("{what}: {e}"));
    let create = |settings: &ContainerSettings| {
        let body = container_body(settings, spec, parent.docker_parent());
        let opts = CreateContainerOptionsBuilder::default().name(&name).build();
        engine.block_on(docker.create_container(Some(opts), body))
    };
    let mut notes: Vec<String> = Vec::new();
    let created = match create(settings) {
        // An engine without the NVIDIA container runtime cannot pass GPUs in: go on without.
        Err(e) if settings.gpus && e.to_string().contains("device driver") => {
            notes.push(format!("GPUs not passed into the container: {e}"));
            let without = ContainerSettings {
                gpus: false,
                ..settings.clone()
            };
            create(&without)
        }
        other => other,
    }
    .map_err(|e| engine_err("cannot create the step container", e))?;
    let id = created.id;
    let remove = || {
        let opts = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        let _ = engine.block_on(docker.remove_container(&id, Some(opts)));
        parent.remove();
    };

    let started_at = chrono::Utc::now().to_rfc3339();
    let spawned_at = Instant::now();
    if let Err(e) = engine.block_on(docker.start_container(&id, None)) {
        remove();
        let text = e.to_string();
        if text.contains("executable file not found") || text.contains("no such file or directory")
        {
            return Err(RunError::NotFound { program }.into());
        }
        return Err(engine_err("cannot start the step container", e));
    }
    let pid = engine
        .block_on(docker.inspect_container(&id, None))
        .ok()
        .and_then(|i| i.state?.pid)
        .filter(|p| *p > 0)
        .map(|p| p as i32);

    // Host-side sampling of the container's processes (series, per-process peak,
    // timeout, Ctrl-C) and host sensors, exactly as for native steps.
    let reader = ProcReader::new(&config.roots.proc);
    let mut started_sensors: Vec<Box<dyn Sensor>> = Vec::new();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let handle = match pid {
        Some(pid) => {
            let target = Target { pid, pgid: pid };
            for mut s in sensors {
                match s.start(&target) {
                    Ok(()) => started_sensors.push(s),
                    Err(why) => notes.push(format!("{}: {why}", s.name())),
                }
            }
            sampler::spawn(SamplerSetup {
                reader: reader.clone(),
                tracker: TreeTracker::new(pid, pid),
                cgroup: None,
                sensors: started_sensors,
                spawned_at,
                interval: config.sample_interval,
                timeout: spec.timeout,
                enforce_limit: None,
                stop: stop.clone(),
                interrupt: runner_interrupt(runner),
            })
            .ok()
        }
        None => {
            notes.push(
                "the container's process exited before it could be watched from the host".into(),
            );
            None
        }
    };

    // Wait; the engine kills the container itself if the sampler could not (timeout
    // backstop, Ctrl-C).
    let interrupt = runner_interrupt(runner);
    let backstop = spec.timeout.map(|t| t + Duration::from_secs(2));
    let mut engine_killed = None::<&'static str>;
    engine.block_on(async {
        let mut wait = docker.wait_container(&id, None);
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        loop {
            tokio::select! {
                _ = wait.next() => break,
                _ = tick.tick() => {
                    let why = if interrupt.load(Ordering::Relaxed) {
                        Some("interrupted")
                    } else if backstop.is_some_and(|b| spawned_at.elapsed() >= b) {
                        Some("timeout")
                    } else {
                        None
                    };
                    if let (Some(why), None) = (why, engine_killed) {
                        engine_killed = Some(why);
                        let opts = KillContainerOptionsBuilder::default().signal("SIGKILL").build();
                        let _ = docker.kill_container(&id, Some(opts)).await;
                    }
                }
            }
        }
    });
    let wall_s = spawned_at.elapsed().as_secs_f64();
    stop.store(true, Ordering::Release);
    let sampled = match handle {
        Some(h) => {
            h.thread().unpark();
            h.join().ok()
        }
        None => None,
    };
    let elapsed = spawned_at.elapsed();
    let mut readings: Vec<Reading> = Vec::new();
    let (mut timed_out, mut interrupted) = (false, false);
    let mut percentiles = None;
    let (mut peak_rss, mut peak_proc, mut ticks, mut sampler_cpu, mut series, mut seen) =
        (0, 0, 0, 0.0, None, 0);
    let (mut peak_ws, mut peak_root) = (0, 0);
    if let Some(mut s) = sampled {
        for sensor in s.sensors.iter_mut() {
            readings.extend(sensor.stop(elapsed));
        }
        timed_out = s.timed_out;
        interrupted = s.interrupted;
        peak_rss = s.peak_tree_rss;
        peak_proc = s.peak_process_rss;
        peak_ws = s.peak_working_set;
        peak_root = s.peak_root_rss;
        ticks = s.ticks;
        sampler_cpu = s.cpu_s;
        seen = s.tracker.known_pids().len() as u32;
        percentiles = s.tree_bytes_percentiles;
        series = config
            .keep_series
            .then(|| sampler::downsample(s.series, sampler::MAX_SERIES_POINTS));
    }
    match engine_killed {
        Some("timeout") => timed_out = true,
        Some(_) => interrupted = true,
        None => {}
    }

    // Logs, state, then the container goes and the parent cgroup is read.
    let logs_result = write_logs(engine, &id, &stdout_path, &stderr_path);
    let state = engine
        .block_on(docker.inspect_container(&id, None))
        .map_err(|e| engine_err("cannot inspect the finished step container", e))
        .map(|i| i.state.unwrap_or_default());
    let state = match state {
        Ok(s) => s,
        Err(e) => {
            remove();
            return Err(e);
        }
    };
    let opts = RemoveContainerOptionsBuilder::default()
        .force(true)
        .v(true)
        .build();
    let _ = engine.block_on(docker.remove_container(&id, Some(opts)));
    let peak = parent.memory_peak();
    let cpu = parent.cpu_times();
    parent.remove();
    logs_result.map_err(|e| log_err(&spec.log_dir, e))?;

    if let Some(overhead) = container_overhead(&state, wall_s) {
        readings.push(Reading {
            sensor: "docker".into(),
            metric: "engine_overhead_s".into(),
            value: overhead,
            unit: "s".into(),
            note: Some(
                "wall time minus the container's own run time (StartedAt..FinishedAt)".into(),
            ),
        });
    }
    // The headline is the working set of the container's processes, sampled from the host
    // as for a native step; the parent cgroup's peak is the charged view (page cache
    // included).
    let peak_charged_bytes = peak.map(|(bytes, _)| bytes);
    if peak.is_none() {
        notes.push(format!(
            "the container's parent cgroup {} is not readable: no charged peak",
            parent.memory_dir().display()
        ));
    }
    // The container's first process is not zkprof's child: no kernel high-water mark
    // reaches zkprof, so the peak is always sampled.
    let peak_tree_bytes = peak_ws.max(peak_proc);
    let (user_s, sys_s) = cpu.unwrap_or_else(|| {
        notes.push(
            "CPU time unavailable: the container's parent cgroup has no cpuacct/cpu.stat".into(),
        );
        (0.0, 0.0)
    });
    let (exit_code, signal) = split_exit(state.exit_code.unwrap_or(-1));
    Ok(StepRun {
        wall_s,
        user_s,
        sys_s,
        peak_tree_bytes,
        peak_process_bytes: peak_proc,
        memory_method: MemoryMethod::WorkingSet,
        exit_code,
        signal,
        oom_killed: state.oom_killed.unwrap_or(false),
        timed_out,
        step: spec.name.clone(),
        argv: spec.argv.clone(),
        interrupted,
        cpu_method: CpuMethod::Cgroup,
        peak_tree_rss_bytes: peak_rss,
        memory_precision: MemoryPrecision::Sampled,
        peak_charged_bytes,
        charged_method: peak_charged_bytes.map(|_| MemoryMethod::ContainerCgroup),
        child_peak_rss_bytes: (peak_root > 0).then_some(peak_root),
        processes_seen: seen,
        leftover_killed: 0,
        started_at,
        stdout_tail: tail_lines(&stdout_path, config.tail_lines),
        stderr_tail: tail_lines(&stderr_path, config.tail_lines),
        stdout_path: Some(stdout_path.display().to_string()),
        stderr_path: Some(stderr_path.display().to_string()),
        readings,
        series,
        tree_bytes_percentiles: percentiles,
        sampler_ticks: ticks,
        sampler_cpu_s: sampler_cpu,
        note: (!notes.is_empty()).then(|| notes.join("; ")),
        phases: Vec::new(),
        headline: None,
        cpus_allowed: spec.cpus.as_ref().and(settings.cpuset.clone()),
        cpus_method: spec
            .cpus
            .as_ref()
            .map(|_| "container cpuset (docker --cpuset-cpus)".to_string()),
        failed_check: None,
    })
}

fn runner_interrupt(runner: &Runner) -> Arc<std::sync::atomic::AtomicBool> {
    runner.interrupt_flag()
}

fn unique_suffix() -> u32 {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Wall time minus the engine's own StartedAt..FinishedAt span, seconds.
fn container_overhead(state: &bollard::models::ContainerState, wall_s: f64) -> Option<f64> {
    let parse = |s: &Option<String>| chrono::DateTime::parse_from_rfc3339(s.as_deref()?).ok();
    let (a, b) = (parse(&state.started_at)?, parse(&state.finished_at)?);
    let run_s = (b - a).num_microseconds()? as f64 / 1e6;
    (run_s >= 0.0).then(|| (wall_s - run_s).max(0.0))
}

/// Copies the container's stdout and stderr into the step's log files.
fn write_logs(
    engine: &Engine,
    id: &str,
    stdout_path: &Path,
    stderr_path: &Path,
) -> std::io::Result<()> {
    let mut out = std::fs::File::create(stdout_path)?;
    let mut err = std::fs::File::create(stderr_path)?;
    let opts = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .tail("all")
        .build();
    engine.block_on(async {
        let mut logs = engine.docker.logs(id, Some(opts));
        while let Some(item) = logs.next().await {
            match item {
                Ok(bollard::container::LogOutput::StdErr { message }) => err.write_all(&message)?,
                Ok(other) => out.write_all(&other.into_bytes())?,
                Err(e) => {
                    return Err(std::io::Error::other(format!(
                        "reading container logs: {e}"
                    )))
                }
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_containers_are_locked_down() {
        let settings = ContainerSettings {
            image: "sha256:abc".into(),
            user: "1000:1000".into(),
            mounts: vec![
                (PathBuf::from("/out/cell"), false),
                (PathBuf::from("/models"), true),
            ],
            cpuset: Some("0".into()),
            workdir: PathBuf::from("/out/cell"),
            gpus: false,
            remapped: Vec::new(),
        };
        let spec = StepSpec {
            name: "prove".into(),
            argv: vec!["python3".into(), "prove.py".into()],
            env: vec![("A".into(), "1".into())],
            memory_limit: Some(512 << 20),
            ..StepSpec::default()
        };
        let body = container_body(&settings, &spec, "/zkprof/x");
        let hc = body.host_config.unwrap();
        assert_eq!(hc.network_mode.as_deref(), Some("none"));
        assert_eq!(body.network_disabled, Some(true));
        assert_eq!(hc.cap_drop, Some(vec!["ALL".to_string()]));
        assert_eq!(hc.security_opt, Some(vec!["no-new-privileges".to_string()]));
        assert_eq!(hc.readonly_rootfs, Some(true));
        assert_eq!(body.user.as_deref(), Some("1000:1000"));
        assert_eq!(hc.memory, Some(512 << 20));
        assert_eq!(hc.memory_swap, Some(512 << 20));
        assert_eq!(hc.cpuset_cpus.as_deref(), Some("0"));
        assert_eq!(hc.cgroup_parent.as_deref(), Some("/zkprof/x"));
        assert_eq!(
            hc.binds,
            Some(vec![
                "/out/cell:/out/cell:rw".to_string(),
                "/models:/models:ro".to_string()
            ])
        );
        assert!(body.env.unwrap().contains(&"A=1".to_string()));
        assert_eq!(body.cmd, Some(spec.argv.clone()));
        assert_eq!(hc.device_requests, None);
        let gpu = ContainerSettings {
            gpus: true,
            ..settings
        };
        let req = container_body(&gpu, &spec, "/zkprof/x")
            .host_config
            .unwrap()
            .device_requests
            .unwrap();
        assert_eq!(
            (req[0].count, req[0].capabilities.clone()),
            (Some(-1), Some(vec![vec!["gpu".to_string()]]))
        );
    }

    #[test]
    fn exit_status_of_a_signal_is_split() {
        assert_eq!(split_exit(0), (Some(0), None));
        assert_eq!(split_exit(3), (Some(3), None));
        assert_eq!(split_exit(137), (None, Some(9)));
        assert_eq!(split_exit(255), (Some(255), None));
    }
}
