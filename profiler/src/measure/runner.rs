//! Spawning and measuring one step.

use super::cgroup::StepCgroup;
use super::lines::{LineSink, NoSink, Readers, Stream};
use super::phases::{self, BoundaryTracker, PhaseSpec, TrackerSink};
use super::process::{
    decode_status, join_cgroups, reap_leftovers, tail_lines, wait_child, PipeEnd,
};
use super::proctree::{ProcReader, TreeTracker};
use super::sampler::{self, SamplerSetup};
use crate::results::{CpuMethod, MemoryMethod, Reading, StepRun};
use crate::roots::Roots;
use crate::sensors::{Sensor, Target};
use std::ffi::CString;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

/// How to measure the tree's peak memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MemoryPreference {
    /// A cgroup where the host allows one, else /proc sampling.
    #[default]
    Auto,
    /// A cgroup, or an error saying why not.
    Cgroup,
    /// /proc sampling only.
    Proc,
}

/// Settings shared by every step a runner measures.
#[derive(Clone, Debug)]
pub struct RunnerConfig {
    pub roots: Roots,
    /// Sampling interval (default 10 ms).
    pub sample_interval: Duration,
    pub memory: MemoryPreference,
    /// Lines of stdout/stderr kept in the result.
    pub tail_lines: usize,
    /// Keep the sampled series in the result.
    pub keep_series: bool,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            roots: Roots::from_env(),
            sample_interval: Duration::from_millis(10),
            memory: MemoryPreference::Auto,
            tail_lines: 20,
            keep_series: true,
        }
    }
}

/// One process to run and measure.
#[derive(Clone, Debug, Default)]
pub struct StepSpec {
    /// Step name recorded in the result (`prove`, `exec`, ...).
    pub name: String,
    pub argv: Vec<String>,
    pub cwd: Option<PathBuf>,
    pub env: Vec<(String, String)>,
    /// Kill the whole tree after this long.
    pub timeout: Option<Duration>,
    /// Memory limit of the tree, bytes.
    pub memory_limit: Option<u64>,
    /// stdout goes to `log_dir/log_stem.stdout`, stderr to `.stderr`, every line with
    /// its arrival time to `.timeline.tsv`.
    pub log_dir: PathBuf,
    pub log_stem: String,
    /// The phases of this step, when its framework declares them (see `phases.rs`).
    pub phases: Option<PhaseSpec>,
    /// Confine the step to these CPUs (cpuset cgroup where possible, CPU affinity always)
    /// and set the thread-count variables to their count (see `cpus.rs`).
    pub cpus: Option<super::cpus::CpuChoice>,
}

/// Why a step could not be run at all (as opposed to running and failing).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("empty command: give the program to run after `--`")]
    EmptyCommand,
    #[error("command not found: `{program}` (is it installed and on PATH?)")]
    NotFound { program: String },
    #[error("cannot run `{program}`: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write logs to {}: {source} (choose a writable directory)", path.display())]
    LogDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("a memory cgroup was required but cannot be made here: {0}")]
    Cgroup(String),
    #[error("cannot start the sampler thread: {0}")]
    Sampler(std::io::Error),
}

/// Measures steps. One runner can run many steps, one at a time.
pub struct Runner {
    config: RunnerConfig,
    interrupt: Arc<AtomicBool>,
    /// Why no cgroup is used (set after the first step that tried one).
    cgroup_note: std::sync::Mutex<Option<String>>,
}

static SUBREAPER: Once = Once::new();

impl Runner {
    /// A runner; `interrupt` is the flag the Ctrl-C handler sets.
    pub fn new(config: RunnerConfig, interrupt: Arc<AtomicBool>) -> Runner {
        SUBREAPER.call_once(|| {
            // Orphans of a measured tree are reparented to zkprof, so they can be reaped
            // and their CPU time counted. SAFETY: prctl with integer arguments.
            unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        });
        Runner {
            config,
            interrupt,
            cgroup_note: std::sync::Mutex::new(None),
        }
    }

    /// The runner's settings.
    pub fn config(&self) -> &RunnerConfig {
        &self.config
    }

    /// The flag the Ctrl-C handler sets (runtimes that run steps elsewhere watch it too).
    pub fn interrupt_flag(&self) -> Arc<AtomicBool> {
        self.interrupt.clone()
    }

    /// Why steps are measured without a cgroup, if they are.
    pub fn cgroup_note(&self) -> Option<String> {
        self.cgroup_note.lock().ok()?.clone()
    }

    /// Runs one step to completion and measures it. Sensors are prepared on this thread
    /// just before the spawn, started after it and stopped after the tree is gone; their
    /// readings go into the result.
    pub fn run(
        &self,
        spec: &StepSpec,
        mut sensors: Vec<Box<dyn Sensor>>,
    ) -> Result<StepRun, RunError> {
        let program = spec.argv.first().ok_or(RunError::EmptyCommand)?.clone();
        std::fs::create_dir_all(&spec.log_dir).map_err(|source| RunError::LogDir {
            path: spec.log_dir.clone(),
            source,
        })?;
        let stdout_path = spec.log_dir.join(format!("{}.stdout", spec.log_stem));
        let stderr_path = spec.log_dir.join(format!("{}.stderr", spec.log_stem));
        let timeline_path = spec.log_dir.join(format!("{}.timeline.tsv", spec.log_stem));
        let open = |p: &Path| {
            File::create(p).map_err(|source| RunError::LogDir {
                path: p.to_path_buf(),
                source,
            })
        };
        let (stdout_log, stderr_log) = (open(&stdout_path)?, open(&stderr_path)?);
        let timeline = open(&timeline_path)?;

        let cpu_list = spec.cpus.as_ref().map(|c| c.list());
        let cgroup = self
            .make_cgroup(spec.memory_limit, cpu_list.as_deref())?
            .map(Arc::new);
        let procs_files: Vec<CString> = cgroup
            .as_ref()
            .map(|cg| cg.procs_files())
            .unwrap_or_default()
            .iter()
            .filter_map(|p| CString::new(p.as_os_str().as_bytes()).ok())
            .collect();

        let mut cmd = Command::new(&program);
        cmd.args(&spec.argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .envs(spec.env.iter().map(|(k, v)| (k, v)));
        if let Some(cwd) = &spec.cwd {
            cmd.current_dir(cwd);
        }
        if let Some(choice) = &spec.cpus {
            // The step's own thread settings win over ours.
            for (k, v) in choice.env() {
                if !spec.env.iter().any(|(x, _)| *x == k) {
                    cmd.env(k, v);
                }
            }
            let set = super::cpus::cpu_set(&choice.cpus);
            // SAFETY: sched_setaffinity is a plain system call on memory made before fork.
            unsafe {
                cmd.pre_exec(move || {
                    if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0
                    {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        // Marks the tree (escaped daemons are found by it) and ties the leader's life to
        // zkprof's; see `hygiene`.
        let marker = super::hygiene::new_step_marker(&self.config.roots.proc);
        cmd.env(super::hygiene::STEP_ENV, &marker);
        // SAFETY: die_with_parent only makes async-signal-safe calls.
        unsafe {
            cmd.pre_exec(super::hygiene::die_with_parent(std::process::id() as i32));
        }
        if !procs_files.is_empty() {
            // SAFETY: the closure only calls async-signal-safe functions (open, write,
            // close, getpid) on memory allocated before fork.
            unsafe {
                cmd.pre_exec(move || join_cgroups(&procs_files));
            }
        }
        // Sensors that must exist before the child does (perf counters inherited from
        // exec on) set up here, on the spawning thread.
        let mut notes: Vec<String> = Vec::new();
        sensors.retain_mut(|s| match s.prepare() {
            Ok(()) => true,
            Err(why) => {
                notes.push(format!("{}: {why}", s.name()));
                false
            }
        });
        let started_at = chrono::Utc::now().to_rfc3339();
        let spawned_at = Instant::now();
        let mut child = cmd.spawn().map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => RunError::NotFound {
                program: program.clone(),
            },
            _ => RunError::Spawn {
                program: program.clone(),
                source,
            },
        })?;
        let pid = child.id() as i32;
        // What the kernel lets the step's leader run on (inherited by its whole tree).
        let cpus_allowed = spec
            .cpus
            .as_ref()
            .and_then(|_| super::cpus::allowed_of(&self.config.roots.proc, pid));
        let cpus_method =
            spec.cpus
                .as_ref()
                .map(|_| match cgroup.as_ref().map(|cg| cg.cpuset_note()) {
                    Some(None) => "cpuset cgroup and CPU affinity".to_string(),
                    Some(Some(why)) => format!("CPU affinity (no cpuset: {why})"),
                    None => "CPU affinity (no cgroup for this step)".to_string(),
                });
        let tracker = spec.phases.as_ref().map(|p| {
            Arc::new(Mutex::new(BoundaryTracker::new(
                Arc::new(p.clone()),
                cgroup.clone(),
            )))
        });
        let sink: Box<dyn LineSink> = match &tracker {
            Some(t) => Box::new(TrackerSink(t.clone())),
            None => Box::new(NoSink),
        };
        let mut pipes = Vec::new();
        if let Some(out) = child.stdout.take() {
            pipes.push((PipeEnd::Out(out), stdout_log, Stream::Stdout));
        }
        if let Some(err) = child.stderr.take() {
            pipes.push((PipeEnd::Err(err), stderr_log, Stream::Stderr));
        }
        let readers = match Readers::start(pipes, Some(timeline), sink, spawned_at) {
            Ok(r) => r,
            Err(e) => {
                // SAFETY: kill(2) has no memory-safety preconditions.
                unsafe { libc::kill(-pid, libc::SIGKILL) };
                let _ = wait_child(pid);
                return Err(RunError::Sampler(e));
            }
        };

        let reader = ProcReader::new(&self.config.roots.proc);
        let target = Target { pid, pgid: pid };
        let mut started_sensors: Vec<Box<dyn Sensor>> = Vec::new();
        for mut s in sensors {
            match s.start(&target) {
                Ok(()) => started_sensors.push(s),
                Err(why) => notes.push(format!("{}: {why}", s.name())),
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let enforce_limit = if cgroup.is_none() {
            spec.memory_limit
        } else {
            None
        };
        let handle = sampler::spawn(SamplerSetup {
            reader: reader.clone(),
            tracker: TreeTracker::new(pid, pid),
            cgroup: cgroup.clone(),
            sensors: started_sensors,
            spawned_at,
            interval: self.config.sample_interval,
            timeout: spec.timeout,
            enforce_limit,
            stop: stop.clone(),
            interrupt: self.interrupt.clone(),
        });
        let handle = match handle {
            Ok(h) => h,
            Err(e) => {
                // SAFETY: kill(2) has no memory-safety preconditions.
                unsafe { libc::kill(-pid, libc::SIGKILL) };
                let _ = wait_child(pid);
                return Err(RunError::Sampler(e));
            }
        };

        let (status, root_usage) = wait_child(pid);
        let wall_s = spawned_at.elapsed().as_secs_f64();
        stop.store(true, std::sync::atomic::Ordering::Release);
        handle.thread().unpark();
        let sampled = handle
            .join()
            .map_err(|_| RunError::Sampler(std::io::Error::other("sampler thread panicked")))?;
        drop(child);

        // Live processes left in the cgroup (the leader is reaped): also ones that left the
        // tree's lineage, which `reap_leftovers` kills with the cgroup but does not count.
        let in_cgroup = cgroup.as_ref().map_or(0, |cg| {
            cg.pids()
                .into_iter()
                .filter(|&p| crate::output::pid_alive(p))
                .count() as u32
        });
        let (leftover_killed, leftover_usage) =
            reap_leftovers(&reader, &sampled.tracker, pid, cgroup.as_deref());
        let leftover_killed = leftover_killed.max(in_cgroup);
        // Before waiting for the output readers (an escaped daemon may hold a pipe open).
        // Without a cgroup, daemons that left the process group and session are found by
        // their marker (a cgroup holds them, and `reap_leftovers` killed its members).
        let escaped = match cgroup {
            Some(_) => 0,
            None => {
                let known = sampled.tracker.known_pids();
                super::hygiene::kill_step_processes(&self.config.roots.proc, &marker)
                    .into_iter()
                    .filter(|p| !known.contains(p))
                    .count() as u32
            }
        };
        let leftover_killed = leftover_killed + escaped;
        let (_, _lines, log_errors) = readers.finish(Duration::from_secs(2));
        notes.extend(log_errors);
        // The tracker holds the cgroup: take its boundaries and let it go.
        let (boundaries, exact) = match tracker.and_then(|t| Arc::try_unwrap(t).ok()) {
            Some(t) => {
                let t = t.into_inner().unwrap_or_else(|p| p.into_inner());
                let exact = t.exact();
                (t.boundaries, exact)
            }
            None => (Vec::new(), false),
        };
        let elapsed = spawned_at.elapsed();
        let mut readings: Vec<Reading> = Vec::new();
        let mut sensors_back = sampled.sensors;
        for s in sensors_back.iter_mut() {
            readings.extend(s.stop(elapsed));
        }

        let rusage_user = root_usage.user_s + leftover_usage.user_s;
        let rusage_sys = root_usage.sys_s + leftover_usage.sys_s;
        let (user_s, sys_s, cpu_method) = match cgroup.as_ref().and_then(|cg| cg.cpu_times()) {
            Some((u, s)) => (u, s, CpuMethod::Cgroup),
            None => (rusage_user, rusage_sys, CpuMethod::Rusage),
        };
        let peak_process_bytes = sampled
            .peak_process_rss
            .max(root_usage.maxrss_bytes)
            .max(leftover_usage.maxrss_bytes);
        // The cgroup's charged peak (includes page cache): with resets at phase
        // boundaries, the counter covers the last phase only.
        let tail_charged_peak = cgroup.as_ref().and_then(|cg| cg.memory_peak());
        let peak_charged_bytes = cgroup.as_ref().and_then(|_| {
            boundaries
                .iter()
                .filter_map(|b| b.charged_peak)
                .chain(tail_charged_peak)
                .max()
        });
        let charged_method = cgroup.as_ref().map(|cg| cg.memory_method());
        let cg_oom = cgroup.as_ref().is_some_and(|cg| cg.oom_kills() > 0);
        let processes_seen = sampled.tracker.known_pids().len() as u32;
        let (peak_tree_bytes, memory_precision, child_peak_rss_bytes) =
            super::workingset::step_peak(
                (sampled.peak_working_set, sampled.peak_root_rss),
                peak_process_bytes,
                root_usage.maxrss_bytes,
                (processes_seen, sampled.max_live),
            );
        drop(cgroup);
        let (exit_code, signal) = decode_status(status);
        if sampled.limit_enforced {
            notes.push("memory limit enforced by zkprof's sampler (no cgroup)".into());
        }
        let (phases, headline) = match &spec.phases {
            Some(ps) => {
                let phases = phases::compute(&phases::PhaseInput {
                    spec: ps,
                    boundaries: &boundaries,
                    wall_s,
                    series: &sampled.series,
                    rss_bytes: &sampled.rss_bytes,
                    exact,
                    tail_charged_peak,
                });
                let headline = phases::headline(ps, &phases, wall_s, peak_tree_bytes);
                (phases, headline)
            }
            None => (Vec::new(), None),
        };
        let series = self
            .config
            .keep_series
            .then(|| sampler::downsample(sampled.series, sampler::MAX_SERIES_POINTS));
        Ok(StepRun {
            wall_s,
            user_s,
            sys_s,
            peak_tree_bytes,
            peak_process_bytes,
            memory_method: MemoryMethod::WorkingSet,
            exit_code,
            signal,
            oom_killed: cg_oom || sampled.limit_enforced,
            timed_out: sampled.timed_out,
            step: spec.name.clone(),
            argv: spec.argv.clone(),
            interrupted: sampled.interrupted,
            cpu_method,
            peak_tree_rss_bytes: sampled.peak_tree_rss,
            memory_precision,
            peak_charged_bytes,
            charged_method,
            child_peak_rss_bytes,
            processes_seen,
            leftover_killed,
            started_at,
            stdout_tail: tail_lines(&stdout_path, self.config.tail_lines),
            stderr_tail: tail_lines(&stderr_path, self.config.tail_lines),
            stdout_path: Some(stdout_path.display().to_string()),
            stderr_path: Some(stderr_path.display().to_string()),
            readings,
            tree_bytes_percentiles: sampled.tree_bytes_percentiles,
            series,
            sampler_ticks: sampled.ticks,
            sampler_cpu_s: sampled.cpu_s,
            note: (!notes.is_empty()).then(|| notes.join("; ")),
            phases,
            headline,
            cpus_allowed,
            cpus_method,
            failed_check: None,
        })
    }

    fn make_cgroup(
        &self,
        limit: Option<u64>,
        cpus: Option<&str>,
    ) -> Result<Option<StepCgroup>, RunError> {
        if self.config.memory == MemoryPreference::Proc {
            return Ok(None);
        }
        match StepCgroup::create(&self.config.roots, limit, cpus) {
            Ok(cg) => Ok(Some(cg)),
            Err(why) if self.config.memory == MemoryPreference::Cgroup => {
                Err(RunError::Cgroup(why))
            }
            Err(why) => {
                tracing::debug!("no cgroup for this step: {why}");
                if let Ok(mut note) = self.cgroup_note.lock() {
                    *note = Some(why);
                }
                Ok(None)
            }
        }
    }
}
