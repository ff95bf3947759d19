//! The sampler thread: every interval (default 10 ms) it reads the tree's processes (their
//! working set, see `workingset.rs`) and CPU use, lets the other sensors sample, and
//! enforces the timeout, Ctrl-C and (when no cgroup holds the limit) the memory limit by
//! killing the whole tree.

use super::cgroup::StepCgroup;
use super::process::kill_tree;
use super::proctree::{ProcReader, TreeTracker};
use super::workingset::WorkingSet;
use crate::results::Series;
use crate::sensors::Sensor;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The tree's candidates are listed every this many ticks (its known members are read
/// every tick): a process is found at most this many intervals after it started.
pub const LIST_EVERY: u64 = 5;

/// Between listings, a process holding less than this fraction (1/N) of the tree's working
/// set keeps its last reading (larger ones are read every tick) ...
pub const SMALL_SHARE: u64 = 16;
/// ... and so does any process under this many bytes.
pub const SMALL_FLOOR: u64 = 16 << 20;

/// Most points kept in a stored series; longer runs are downsampled (max per bucket
/// for memory, mean for CPU and extra columns).
pub const MAX_SERIES_POINTS: usize = 4000;

/// What the sampler needs to know about the step.
pub struct SamplerSetup {
    pub reader: ProcReader,
    pub tracker: TreeTracker,
    pub cgroup: Option<Arc<StepCgroup>>,
    pub sensors: Vec<Box<dyn Sensor>>,
    pub spawned_at: Instant,
    pub interval: Duration,
    /// Kill the tree after this long.
    pub timeout: Option<Duration>,
    /// Kill the tree when its working set passes this many bytes (only without a cgroup).
    pub enforce_limit: Option<u64>,
    /// Set by the runner when the direct child has exited.
    pub stop: Arc<AtomicBool>,
    /// Set by the Ctrl-C handler.
    pub interrupt: Arc<AtomicBool>,
}

/// What the sampler saw.
pub struct SamplerOutput {
    /// Every sample taken (not downsampled; the runner downsamples after computing phases).
    pub series: Series,
    /// The summed RSS of the tree at each sample of `series` (shared pages counted once
    /// per process), bytes.
    pub rss_bytes: Vec<u64>,
    /// Percentiles of the working set over every sample (before downsampling).
    pub tree_bytes_percentiles: Option<crate::results::SeriesPercentiles>,
    /// Max over samples of the tree's working set, bytes.
    pub peak_working_set: u64,
    /// Max over samples of the summed RSS of the tree, bytes.
    pub peak_tree_rss: u64,
    /// Max over samples of the RSS of any one process, bytes.
    pub peak_process_rss: u64,
    /// Max over samples of the RSS of the direct child (the tree's root), bytes.
    pub peak_root_rss: u64,
    /// The most processes of the tree seen alive in one sample.
    pub max_live: usize,
    pub timed_out: bool,
    pub interrupted: bool,
    pub limit_enforced: bool,
    pub tracker: TreeTracker,
    pub sensors: Vec<Box<dyn Sensor>>,
    /// Ticks taken and the sampler thread's own CPU time, seconds.
    pub ticks: u64,
    pub cpu_s: f64,
}

/// Starts the sampler thread.
pub fn spawn(setup: SamplerSetup) -> std::io::Result<JoinHandle<SamplerOutput>> {
    std::thread::Builder::new()
        .name("zkprof-sampler".into())
        .spawn(move || run(setup))
}

fn thread_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

fn run(mut s: SamplerSetup) -> SamplerOutput {
    let cpu_start = thread_cpu_seconds();
    let ticks_per_s = s.reader.ticks_per_second().max(1) as f64;
    let mut series = Series {
        interval_ms: s.interval.as_secs_f64() * 1e3,
        ..Series::default()
    };
    let mut extra: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut out = SamplerOutput {
        series: Series::default(),
        rss_bytes: Vec::new(),
        tree_bytes_percentiles: None,
        peak_working_set: 0,
        peak_tree_rss: 0,
        peak_process_rss: 0,
        peak_root_rss: 0,
        max_live: 0,
        timed_out: false,
        interrupted: false,
        limit_enforced: false,
        tracker: s.tracker.clone(),
        sensors: Vec::new(),
        ticks: 0,
        cpu_s: 0.0,
    };
    let mut last_cpu: Option<(f64, f64)> = None; // (t, cpu seconds)
    let mut columns: Vec<(String, f64)> = Vec::new();
    let mut next = s.spawned_at;
    let mut working_set = WorkingSet::new(s.reader.root());
    let mut last_members = 0usize;
    let mut last_ws = 0u64;
    let root_pid = s.tracker.root_pid();
    loop {
        if s.stop.load(Ordering::Acquire) {
            break;
        }
        let elapsed = s.spawned_at.elapsed();
        let t = elapsed.as_secs_f64();
        // Every tick: the tree's known processes, their working set and RSS (a `pread` of
        // each one's stat file; processes holding less than 1/SMALL_SHARE of the working
        // set only every LIST_EVERY ticks). Every LIST_EVERY ticks, and while the tree is
        // empty, the candidates are listed again (from the cgroup when there is one, which
        // is cheaper than listing /proc) to find processes started since.
        let members = if out.ticks.is_multiple_of(LIST_EVERY) || last_members == 0 {
            let candidates = match &s.cgroup {
                Some(cg) => cg.pids(),
                None => s.reader.all_pids(),
            };
            s.tracker.members(&s.reader, &candidates)
        } else {
            s.tracker
                .refresh(&s.reader, (last_ws / SMALL_SHARE).max(SMALL_FLOOR))
        };
        last_members = members.len();
        let sum_rss: u64 = members.iter().map(|m| m.rss_bytes).sum();
        let max_rss = members.iter().map(|m| m.rss_bytes).max().unwrap_or(0);
        let root_rss = members
            .iter()
            .find(|m| m.pid == root_pid)
            .map_or(0, |m| m.rss_bytes);
        let ws = working_set.sample(t, &members, thread_cpu_seconds);
        last_ws = ws;
        out.peak_working_set = out.peak_working_set.max(ws);
        out.peak_tree_rss = out.peak_tree_rss.max(sum_rss);
        out.peak_process_rss = out.peak_process_rss.max(max_rss);
        out.peak_root_rss = out.peak_root_rss.max(root_rss);
        out.max_live = out.max_live.max(members.len());
        let cpu_now = s
            .cgroup
            .as_ref()
            .and_then(|cg| cg.cpu_total())
            .unwrap_or_else(|| {
                members
                    .iter()
                    .map(|m| (m.utime_ticks + m.stime_ticks) as f64)
                    .sum::<f64>()
                    / ticks_per_s
            });
        let cores = match last_cpu {
            Some((t0, c0)) if t > t0 => ((cpu_now - c0) / (t - t0)).max(0.0),
            _ => 0.0,
        };
        last_cpu = Some((t, cpu_now));
        series.t_s.push(t);
        series.tree_bytes.push(ws);
        out.rss_bytes.push(sum_rss);
        series.cpu_cores.push(cores);
        columns.clear();
        for sensor in s.sensors.iter_mut() {
            sensor.sample(elapsed, &mut columns);
        }
        let n = series.t_s.len();
        for (name, value) in columns.drain(..) {
            let col = extra.entry(name).or_default();
            let fill = col.last().copied().unwrap_or(value);
            col.resize(n - 1, fill);
            col.push(value);
        }
        out.ticks += 1;

        if let Some(limit) = s.enforce_limit {
            if ws > limit && !out.limit_enforced {
                out.limit_enforced = true;
                kill_tree(&s.reader, &s.tracker, s.cgroup.as_deref());
            }
        }
        if let Some(timeout) = s.timeout {
            if elapsed >= timeout && !out.timed_out {
                out.timed_out = true;
                kill_tree(&s.reader, &s.tracker, s.cgroup.as_deref());
            }
        }
        if s.interrupt.load(Ordering::Relaxed) && !out.interrupted {
            out.interrupted = true;
            kill_tree(&s.reader, &s.tracker, s.cgroup.as_deref());
        }
        next += s.interval;
        let now = Instant::now();
        if next > now {
            std::thread::park_timeout(next - now);
        } else {
            // Fell behind (a slow tick): skip missed ticks instead of bursting.
            next = now;
        }
    }
    let n = series.t_s.len();
    for (name, mut col) in extra {
        let fill = col.last().copied().unwrap_or(0.0);
        col.resize(n, fill);
        series.extra.insert(name, col);
    }
    out.tree_bytes_percentiles = crate::stats::series_percentiles(&series.tree_bytes);
    out.series = series;
    out.tracker = s.tracker;
    out.sensors = s.sensors;
    out.cpu_s = thread_cpu_seconds() - cpu_start;
    out
}

/// Reduces a series to at most `max_points` points: consecutive buckets keep their first
/// time, the maximum memory (so the peak survives) and the mean of the other columns.
pub fn downsample(series: Series, max_points: usize) -> Series {
    let n = series.t_s.len();
    if n <= max_points || max_points == 0 {
        return series;
    }
    let bucket = n.div_ceil(max_points);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let mut out = Series {
        interval_ms: series.interval_ms,
        downsampled_from: Some(series.downsampled_from.unwrap_or(n)),
        ..Series::default()
    };
    for start in (0..n).step_by(bucket) {
        let end = (start + bucket).min(n);
        out.t_s.push(series.t_s[start]);
        out.tree_bytes.push(
            series.tree_bytes[start..end]
                .iter()
                .copied()
                .max()
                .unwrap_or(0),
        );
        out.cpu_cores.push(mean(&series.cpu_cores[start..end]));
    }
    for (name, col) in &series.extra {
        let reduced = (0..n)
            .step_by(bucket)
            .map(|s| mean(&col[s..(s + bucket).min(n)]))
            .collect();
        out.extra.insert(name.clone(), reduced);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downsampling_keeps_the_peak_and_column_lengths() {
        let n = 10_001;
        let mut s = Series {
            interval_ms: 10.0,
            t_s: (0..n).map(|i| i as f64 * 0.01).collect(),
            tree_bytes: (0..n as u64)
                .map(|i| if i == 7777 { 1 << 40 } else { i })
                .collect(),
            cpu_cores: vec![1.0; n],
            ..Series::default()
        };
        s.extra.insert("gpu0.power_w".into(), vec![300.0; n]);
        let d = downsample(s, 4000);
        assert!(d.t_s.len() <= 4000);
        assert_eq!(d.tree_bytes.len(), d.t_s.len());
        assert_eq!(d.extra["gpu0.power_w"].len(), d.t_s.len());
        assert_eq!(d.tree_bytes.iter().max(), Some(&(1 << 40)));
        assert_eq!(d.downsampled_from, Some(n));
        assert!(d.cpu_cores.iter().all(|&c| (c - 1.0).abs() < 1e-12));
    }

    #[test]
    fn short_series_is_untouched() {
        let s = Series {
            t_s: vec![0.0, 0.01],
            tree_bytes: vec![1, 2],
            cpu_cores: vec![0.0, 1.0],
            ..Series::default()
        };
        assert_eq!(downsample(s.clone(), 4000), s);
    }
}
