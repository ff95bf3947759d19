//! perf counters of the measured process tree (`perf_event_open`, via `perf-event2`).
//!
//! Two sensors share this file: `perf-sw` (software counters: task-clock, page faults,
//! context switches, CPU migrations), which work wherever `perf_event_open` is allowed,
//! and `perf-hw` (hardware counters: cycles, instructions, cache misses, branch misses),
//! which need a hardware PMU the kernel exposes (most virtual machines have none).
//!
//! How the tree is covered. In `prepare` (on the spawning thread, just before the spawn)
//! each counter is opened on that thread, disabled, with `inherit` and `enable_on_exec`:
//! the child inherits it at fork, the kernel enables it when the child calls exec, and
//! every process the child forks from then on inherits it too. No child is missed, and
//! zkprof's own threads count nothing (they never exec). Counts of exited descendants
//! are folded into the counter zkprof holds, so the totals read in `stop`, after the
//! tree is gone, cover all of it. When `prepare` was not called, `start` opens the
//! counters on the child's pid instead (documented in each reading's note): processes
//! the child forked before that moment are then not counted.
//!
//! Multiplexing: when the kernel had to time-share the PMU, a counter runs only part of
//! the time it was enabled; its count is scaled by `time_enabled / time_running` and the
//! reading's note says so.

use super::{Sensor, SensorStatus, Target};
use crate::results::Reading;
use perf_event::events::{Hardware, Software};
use perf_event::{Builder, Counter};
use std::io;
use std::sync::OnceLock;
use std::time::Duration;

/// Which group of counters a `PerfSensor` handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CounterKind {
    Software,
    Hardware,
}

impl CounterKind {
    /// The sensor name: `perf-sw` or `perf-hw`.
    pub fn sensor_name(self) -> &'static str {
        match self {
            CounterKind::Software => "perf-sw",
            CounterKind::Hardware => "perf-hw",
        }
    }

    fn label(self) -> &'static str {
        match self {
            CounterKind::Software => "software counters",
            CounterKind::Hardware => "hardware counters",
        }
    }
}

/// One counter: its metric name, unit and event.
#[derive(Clone, Copy, Debug)]
struct Spec {
    metric: &'static str,
    /// `ns` counters are reported in seconds.
    unit: &'static str,
    event: Ev,
}

#[derive(Clone, Copy, Debug)]
enum Ev {
    Sw(Software),
    Hw(Hardware),
}

const SOFTWARE: [Spec; 4] = [
    Spec {
        metric: "task-clock",
        unit: "s",
        event: Ev::Sw(Software::TASK_CLOCK),
    },
    Spec {
        metric: "page-faults",
        unit: "count",
        event: Ev::Sw(Software::PAGE_FAULTS),
    },
    Spec {
        metric: "context-switches",
        unit: "count",
        event: Ev::Sw(Software::CONTEXT_SWITCHES),
    },
    Spec {
        metric: "cpu-migrations",
        unit: "count",
        event: Ev::Sw(Software::CPU_MIGRATIONS),
    },
];

const HARDWARE: [Spec; 4] = [
    Spec {
        metric: "cycles",
        unit: "count",
        event: Ev::Hw(Hardware::CPU_CYCLES),
    },
    Spec {
        metric: "instructions",
        unit: "count",
        event: Ev::Hw(Hardware::INSTRUCTIONS),
    },
    Spec {
        metric: "cache-misses",
        unit: "count",
        event: Ev::Hw(Hardware::CACHE_MISSES),
    },
    Spec {
        metric: "branch-misses",
        unit: "count",
        event: Ev::Hw(Hardware::BRANCH_MISSES),
    },
];

fn specs(kind: CounterKind) -> &'static [Spec] {
    match kind {
        CounterKind::Software => &SOFTWARE,
        CounterKind::Hardware => &HARDWARE,
    }
}

/// Where the counters observe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    /// The calling thread, inherited by children, enabled at the child's exec.
    SelfUntilExec,
    /// An existing process, inherited by its future children, enabled now.
    Pid(i32),
}

/// Opens one counter. `kernel`: count kernel-mode events too.
fn open(spec: &Spec, who: Who, kernel: bool) -> io::Result<Counter> {
    let mut b = match spec.event {
        Ev::Sw(e) => Builder::new(e),
        Ev::Hw(e) => Builder::new(e),
    };
    b.inherit(true).exclude_kernel(!kernel).exclude_hv(true);
    match who {
        Who::SelfUntilExec => {
            b.observe_self().enabled(false).enable_on_exec(true);
        }
        Who::Pid(pid) => {
            b.observe_pid(pid).enabled(true);
        }
    }
    b.any_cpu().build()
}

/// `kernel.perf_event_paranoid`, when readable.
pub fn paranoid_level(proc_root: &std::path::Path) -> Option<i32> {
    crate::roots::read_trimmed(&proc_root.join("sys/kernel/perf_event_paranoid"))?
        .parse()
        .ok()
}

/// The symbolic name of an errno that `perf_event_open` returns.
fn errno_name(code: i32) -> &'static str {
    match code {
        libc::ENOENT => "ENOENT",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::ENODEV => "ENODEV",
        libc::EACCES => "EACCES",
        libc::EPERM => "EPERM",
        libc::ENOSYS => "ENOSYS",
        libc::EINVAL => "EINVAL",
        libc::EMFILE => "EMFILE",
        libc::ESRCH => "ESRCH",
        _ => "",
    }
}

/// Explains why `perf_event_open` failed for `metric`, in words a user can act on. The
/// kernel's own error is kept verbatim. `not supported` is how `perf stat` names
/// ENOENT/EOPNOTSUPP/ENODEV: the kernel has no PMU event for it here.
pub fn explain_open_error(
    kind: CounterKind,
    metric: &str,
    err: &io::Error,
    paranoid: Option<i32>,
) -> String {
    let code = err.raw_os_error().unwrap_or(0);
    let kernel = format!(
        "perf_event_open({metric}) failed: {err}{}",
        match errno_name(code) {
            "" => String::new(),
            n => format!(" [{n}]"),
        }
    );
    let level = paranoid
        .map(|p| p.to_string())
        .unwrap_or_else(|| "unknown".into());
    match code {
        libc::ENOENT | libc::EOPNOTSUPP | libc::ENODEV => format!(
            "{} not supported: {kernel}; the kernel exposes no {} here (usual in a virtual machine without a virtual PMU)",
            kind.label(),
            if kind == CounterKind::Hardware { "hardware PMU" } else { "such event" }
        ),
        libc::EACCES | libc::EPERM => format!(
            "{} not permitted: {kernel}; kernel.perf_event_paranoid is {level}: run as root, or `sysctl kernel.perf_event_paranoid=1` (in a container, allow perf_event_open in its seccomp profile)",
            kind.label()
        ),
        libc::ENOSYS => format!("{} unavailable: {kernel}; this kernel has no perf events (CONFIG_PERF_EVENTS)", kind.label()),
        _ => format!("{} unavailable: {kernel}", kind.label()),
    }
}

/// The result of trying each counter of a kind once on this host.
#[derive(Clone, Debug)]
struct Probe {
    status: SensorStatus,
    /// Counters that opened.
    usable: Vec<&'static str>,
    /// Count kernel-mode events too (false when only user space is allowed).
    kernel: bool,
}

fn probe(kind: CounterKind) -> Probe {
    let paranoid = paranoid_level(std::path::Path::new("/proc"));
    let name = kind.sensor_name();
    let try_all = |kernel: bool| {
        let mut ok = Vec::new();
        let mut failed = Vec::new();
        for spec in specs(kind) {
            match open(spec, Who::SelfUntilExec, kernel) {
                Ok(_) => ok.push(spec.metric),
                Err(e) => failed.push((spec.metric, e)),
            }
        }
        (ok, failed)
    };
    let (mut ok, mut failed) = try_all(true);
    let mut kernel = true;
    let denied = |f: &[(&str, io::Error)]| {
        f.iter()
            .any(|(_, e)| matches!(e.raw_os_error(), Some(libc::EACCES) | Some(libc::EPERM)))
    };
    if denied(&failed) {
        let (ok2, failed2) = try_all(false);
        if ok2.len() > ok.len() {
            (ok, failed, kernel) = (ok2, failed2, false);
        }
    }
    let status = if ok.is_empty() {
        let (metric, err) = &failed[0];
        SensorStatus::unavailable(name, explain_open_error(kind, metric, err, paranoid))
    } else {
        let mut notes = vec![format!(
            "{} of the whole tree: {}",
            kind.label(),
            ok.join(", ")
        )];
        if !kernel {
            notes.push(format!(
                "user space only (kernel.perf_event_paranoid is {}; run as root to count kernel time)",
                paranoid.map(|p| p.to_string()).unwrap_or_else(|| "unknown".into())
            ));
        }
        for (metric, err) in &failed {
            notes.push(explain_open_error(kind, metric, err, paranoid));
        }
        SensorStatus::available_with(name, notes.join("; "))
    };
    Probe {
        status,
        usable: ok,
        kernel,
    }
}

fn cached_probe(kind: CounterKind) -> &'static Probe {
    static SW: OnceLock<Probe> = OnceLock::new();
    static HW: OnceLock<Probe> = OnceLock::new();
    match kind {
        CounterKind::Software => SW.get_or_init(|| probe(kind)),
        CounterKind::Hardware => HW.get_or_init(|| probe(kind)),
    }
}

/// A count and the times the kernel reports with it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RawCount {
    pub count: u64,
    pub time_enabled: Duration,
    pub time_running: Duration,
}

/// Scales a multiplexed count: `count * enabled / running`. Returns the value and a note
/// when scaling happened; `None` when the counter never ran (no value can be given).
pub fn scale(raw: RawCount) -> Option<(f64, Option<String>)> {
    let enabled = raw.time_enabled.as_secs_f64();
    let running = raw.time_running.as_secs_f64();
    if running <= 0.0 {
        return (raw.count == 0 && enabled <= 0.0).then_some((0.0, None));
    }
    if running >= enabled {
        return Some((raw.count as f64, None));
    }
    let share = running / enabled;
    Some((
        raw.count as f64 / share,
        Some(format!(
            "scaled: counted {:.1}% of enabled time (PMU multiplexed)",
            share * 100.0
        )),
    ))
}

/// perf counters of the measured tree; see the module documentation.
pub struct PerfSensor {
    kind: CounterKind,
    counters: Vec<(Spec, Counter)>,
    who: Option<Who>,
    open_errors: Vec<String>,
}

impl PerfSensor {
    /// A fresh sensor for one step.
    pub fn new(kind: CounterKind) -> PerfSensor {
        PerfSensor {
            kind,
            counters: Vec::new(),
            who: None,
            open_errors: Vec::new(),
        }
    }

    fn open_all(&mut self, who: Who) -> Result<(), String> {
        let probe = cached_probe(self.kind);
        self.counters.clear();
        self.open_errors.clear();
        for spec in specs(self.kind)
            .iter()
            .filter(|s| probe.usable.contains(&s.metric))
        {
            match open(spec, who, probe.kernel) {
                Ok(c) => self.counters.push((*spec, c)),
                Err(e) => {
                    self.open_errors
                        .push(explain_open_error(self.kind, spec.metric, &e, None))
                }
            }
        }
        if self.counters.is_empty() {
            return Err(self.open_errors.join("; "));
        }
        self.who = Some(who);
        Ok(())
    }

    fn attach_note(&self) -> &'static str {
        match self.who {
            Some(Who::SelfUntilExec) => "whole tree from exec (inherited by every descendant)",
            _ => {
                "attached to the child after spawn: processes it forked before that are not counted"
            }
        }
    }
}

impl Sensor for PerfSensor {
    fn name(&self) -> &'static str {
        self.kind.sensor_name()
    }

    fn status(&self) -> SensorStatus {
        cached_probe(self.kind).status.clone()
    }

    fn prepare(&mut self) -> Result<(), String> {
        self.open_all(Who::SelfUntilExec)
    }

    fn start(&mut self, target: &Target) -> Result<(), String> {
        if self.who.is_some() {
            return Ok(());
        }
        self.open_all(Who::Pid(target.pid))
    }

    fn stop(&mut self, _elapsed: Duration) -> Vec<Reading> {
        let name = self.name();
        let attach = self.attach_note();
        let mut out = Vec::new();
        for (spec, counter) in self.counters.iter_mut() {
            let data = match counter.read_full() {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!("{name}: cannot read {}: {e}", spec.metric);
                    continue;
                }
            };
            let raw = RawCount {
                count: data.count(),
                time_enabled: data.time_enabled().unwrap_or_default(),
                time_running: data.time_running().unwrap_or_default(),
            };
            let Some((mut value, scaled)) = scale(raw) else {
                tracing::warn!(
                    "{name}: {} never ran on the PMU; no value recorded",
                    spec.metric
                );
                continue;
            };
            if spec.unit == "s" {
                value /= 1e9;
            }
            let note = match scaled {
                Some(s) => format!("{attach}; {s}"),
                None => attach.to_string(),
            };
            out.push(Reading {
                sensor: name.into(),
                metric: spec.metric.into(),
                value,
                unit: spec.unit.into(),
                note: Some(note),
            });
        }
        self.counters.clear();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_follows_enabled_over_running() {
        let ms = Duration::from_millis;
        let full = RawCount {
            count: 1000,
            time_enabled: ms(10),
            time_running: ms(10),
        };
        assert_eq!(scale(full), Some((1000.0, None)));
        let half = RawCount {
            count: 1000,
            time_enabled: ms(10),
            time_running: ms(5),
        };
        let (v, note) = scale(half).unwrap();
        assert!((v - 2000.0).abs() < 1e-9);
        assert!(note.unwrap().contains("50.0%"));
        let never = RawCount {
            count: 0,
            time_enabled: ms(10),
            time_running: ms(0),
        };
        assert_eq!(scale(never), None);
        let idle = RawCount {
            count: 0,
            time_enabled: ms(0),
            time_running: ms(0),
        };
        assert_eq!(scale(idle), Some((0.0, None)));
    }

    #[test]
    fn unsupported_hardware_names_the_kernel_error() {
        let err = io::Error::from_raw_os_error(libc::ENOENT);
        let why = explain_open_error(CounterKind::Hardware, "cycles", &err, Some(2));
        assert!(
            why.starts_with("hardware counters not supported: perf_event_open(cycles) failed: "),
            "{why}"
        );
        assert!(
            why.contains("ENOENT") && why.contains("os error 2"),
            "{why}"
        );
        let err = io::Error::from_raw_os_error(libc::EACCES);
        let why = explain_open_error(CounterKind::Software, "task-clock", &err, Some(3));
        assert!(
            why.contains("paranoid is 3") && why.contains("root"),
            "{why}"
        );
    }
}
