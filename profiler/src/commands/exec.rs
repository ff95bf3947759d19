//! `zkprof exec`: profile any command, like hyperfine but with whole-tree memory.

use super::{GlobalArgs, MeasureArgs};
use crate::error::{UserError, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK};
use crate::measure::{Runner, RunnerConfig, StepSpec};
use crate::results::Summary;
use crate::results::{ExecReport, ExecSummary, StepRun, EXEC_SCHEMA};
use crate::stats::mad_outliers;
use crate::units::{format_bytes, format_seconds};
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Measured runs.
    #[arg(short = 'n', long, default_value_t = 3)]
    pub runs: u32,
    /// Unmeasured warmup runs before them.
    #[arg(short, long, default_value_t = 0)]
    pub warmup: u32,
    /// Print one JSON object (schema zkprof/exec/v2) instead of the human summary.
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON object to FILE.
    #[arg(short, long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Kill the whole tree after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,
    /// Memory limit of the tree (e.g. 512M, 2G); exceeding it is recorded as an OOM kill.
    #[arg(long, value_name = "SIZE")]
    pub memory_limit: Option<String>,
    /// Keep stdout/stderr of each run in DIR. Without it they go to a new directory under the
    /// temp dir, which is removed when every run succeeded and kept (and printed) otherwise.
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,
    /// Leave the sampled time series out of the JSON.
    #[arg(long)]
    pub no_series: bool,
    #[command(flatten)]
    pub measure: MeasureArgs,
    /// The command and its arguments.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

pub fn run(global: &GlobalArgs, args: &ExecArgs) -> anyhow::Result<i32> {
    let roots = global.roots();
    crate::limits::count("--runs", args.runs, 1).map_err(UserError::Input)?;
    crate::limits::count("--warmup", args.warmup, 0).map_err(UserError::Input)?;
    let memory_limit = match &args.memory_limit {
        Some(text) => Some(
            crate::limits::memory_limit(text)
                .map_err(|m| UserError::Input(format!("--memory-limit {text}: {m}")))?,
        ),
        None => None,
    };
    let timeout = match args.timeout {
        Some(t) => Some(
            crate::limits::timeout_s(t)
                .map_err(|m| UserError::Input(format!("--timeout {t}: {m}")))?,
        ),
        None => None,
    };
    if let Some(out) = &args.out {
        crate::store::ensure_writable_file(out)?;
    }
    let sensors = crate::measure::sensor_statuses(&roots);
    super::check_required(&sensors, &args.measure.require)?;
    crate::measure::hygiene::clean_stale(&roots);
    let (log_dir, temporary_logs) = match &args.log_dir {
        Some(dir) => (dir.clone(), false),
        None => {
            let dir = std::env::temp_dir().join(format!(
                "zkprof-exec-{}-{}",
                chrono::Utc::now().format("%Y%m%dT%H%M%S"),
                std::process::id()
            ));
            // Ours to remove later only if this run made it.
            (dir.clone(), !dir.exists())
        }
    };
    crate::store::ensure_writable_dir(&log_dir)?;

    let config = RunnerConfig {
        roots: roots.clone(),
        sample_interval: Duration::from_millis(args.measure.interval_ms.max(1)),
        memory: args.measure.memory_method.into(),
        keep_series: !args.no_series,
        ..RunnerConfig::default()
    };
    let runner = Runner::new(config, super::interrupt_flag());
    let total = args.warmup + args.runs;
    let bar = progress(total as u64, args.json);
    let mut runs: Vec<StepRun> = Vec::new();
    let mut interrupted = false;
    for i in 0..total {
        let warm = i < args.warmup;
        let spec = StepSpec {
            name: "exec".into(),
            argv: args.command.clone(),
            timeout,
            memory_limit,
            log_dir: log_dir.clone(),
            log_stem: if warm {
                format!("warmup-{i}")
            } else {
                format!("run-{}", i - args.warmup)
            },
            ..StepSpec::default()
        };
        bar.set_message(if warm {
            "warmup".to_string()
        } else {
            format!("run {}", i - args.warmup + 1)
        });
        let r = runner.run(&spec, crate::sensors::attachable(&roots))?;
        bar.inc(1);
        interrupted |= r.interrupted;
        if !warm {
            runs.push(r);
        }
        if interrupted {
            break;
        }
    }
    bar.finish_and_clear();
    let all_ok = !interrupted && runs.iter().all(StepRun::succeeded);
    let logs_kept = !(temporary_logs && all_ok && remove_logs(&log_dir, &mut runs));

    let mut warnings = Vec::new();
    if let Some(note) = runner.cgroup_note() {
        warnings.push(format!(
            "no cgroup: {note}; peak memory is sampled from /proc"
        ));
    }
    for (i, r) in runs.iter().enumerate() {
        if r.leftover_killed > 0 {
            warnings.push(format!(
                "run {}: {} process(es) outlived the command and were killed",
                i + 1,
                r.leftover_killed
            ));
        }
    }
    let walls: Vec<f64> = runs.iter().map(|r| r.wall_s).collect();
    for i in mad_outliers(&walls) {
        warnings.push(format!(
            "run {} took {} (median {}): an outlier; another process may have interfered",
            i + 1,
            format_seconds(walls[i]),
            format_seconds(Summary::of(&walls).median)
        ));
    }
    let report = ExecReport {
        schema: EXEC_SCHEMA.into(),
        zkprof_version: env!("CARGO_PKG_VERSION").into(),
        command: args.command.clone(),
        warmup: args.warmup,
        summary: summarize(&runs),
        runs,
        sensors,
        host: crate::fingerprint::detect(&roots),
        warnings,
    };
    let json = serde_json::to_string_pretty(&report)?;
    if let Some(out) = &args.out {
        crate::store::write_atomic(out, format!("{json}\n").as_bytes())
            .map_err(|e| UserError::Input(format!("cannot write {}: {e}", out.display())))?;
    }
    if args.json {
        println!("{json}");
    } else {
        print_human(&report, logs_kept.then_some(log_dir.as_path()));
    }
    let failed = report.runs.iter().filter(|r| !r.succeeded()).count();
    Ok(if interrupted {
        EXIT_INTERRUPTED
    } else if failed > 0 {
        if !args.json {
            eprintln!(
                "error: {failed} of {} runs failed (see the logs above)",
                report.runs.len()
            );
        }
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}

/// Summary over measured runs.
pub fn summarize(runs: &[StepRun]) -> ExecSummary {
    let f = |g: fn(&StepRun) -> f64| Summary::of(&runs.iter().map(g).collect::<Vec<_>>());
    let u = |g: fn(&StepRun) -> u64| Summary::of_u64(&runs.iter().map(g).collect::<Vec<_>>());
    ExecSummary {
        wall_s: f(|r| r.wall_s),
        user_s: f(|r| r.user_s),
        sys_s: f(|r| r.sys_s),
        peak_tree_bytes: u(|r| r.peak_tree_bytes),
        peak_process_bytes: u(|r| r.peak_process_bytes),
    }
}

/// A progress bar on stderr, hidden for JSON output and when stderr is not a terminal.
pub fn progress(len: u64, quiet: bool) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
    ) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Removes the temporary log directory of runs that all succeeded, and the runs' pointers
/// into it; false (and nothing changed) if it could not be removed.
fn remove_logs(dir: &std::path::Path, runs: &mut [StepRun]) -> bool {
    if std::fs::remove_dir_all(dir).is_err() {
        return false;
    }
    for r in runs {
        r.stdout_path = None;
        r.stderr_path = None;
    }
    true
}

fn print_human(report: &ExecReport, log_dir: Option<&std::path::Path>) {
    let s = &report.summary;
    println!(
        "Command: {}",
        crate::terminal::escape(&report.command.join(" "))
    );
    println!(
        "  Time (median ± σ):   {} ± {}    [User: {}, System: {}]",
        format_seconds(s.wall_s.median),
        format_seconds(s.wall_s.stddev),
        format_seconds(s.user_s.median),
        format_seconds(s.sys_s.median)
    );
    println!(
        "  Range (min … max):   {} … {}    {} run{}",
        format_seconds(s.wall_s.min),
        format_seconds(s.wall_s.max),
        s.wall_s.n,
        if s.wall_s.n == 1 { "" } else { "s" }
    );
    if let Some(first) = report.runs.first() {
        println!(
            "  Peak working set:    {} (median; {})    largest process: {}",
            format_bytes(s.peak_tree_bytes.median),
            first.memory_precision.label(),
            format_bytes(s.peak_process_bytes.median)
        );
        let charged = Summary::of_present_u64(report.runs.iter().map(|r| r.peak_charged_bytes));
        if let (Some(charged), Some(method)) = (charged, first.charged_method) {
            println!(
                "  Charged to cgroup:   {} (median; {})",
                format_bytes(charged.median),
                method.label()
            );
        }
    }
    for r in report.runs.iter().filter(|r| !r.succeeded()) {
        println!("  A run ended with: {}", r.outcome());
        for line in r.stderr_tail.iter().rev().take(5).rev() {
            println!("    stderr: {}", crate::terminal::escape(line));
        }
    }
    // Sensor readings: the median over runs of each (sensor, metric).
    let mut readings: std::collections::BTreeMap<(String, String, String), Vec<f64>> =
        std::collections::BTreeMap::new();
    for r in &report.runs {
        for x in &r.readings {
            readings
                .entry((x.sensor.clone(), x.metric.clone(), x.unit.clone()))
                .or_default()
                .push(x.value);
        }
    }
    for ((sensor, metric, unit), values) in &readings {
        let v = Summary::of(values).median;
        let shown = match unit.as_str() {
            "s" => format_seconds(v),
            "bytes" => format_bytes(v),
            "count" => format!("{v:.0}"),
            other => format!("{v:.3} {other}"),
        };
        println!("  {:<28} {shown}", format!("{sensor} {metric}:"));
    }
    let off: Vec<&crate::results::SensorStatus> =
        report.sensors.iter().filter(|s| !s.available).collect();
    if !off.is_empty() {
        println!("  Not measured:");
        for s in off {
            println!(
                "    {}: {}",
                s.name,
                s.reason.as_deref().unwrap_or("unavailable")
            );
        }
    }
    println!("  Host: {}", report.host.one_line());
    if let Some(dir) = log_dir {
        println!("  Logs: {}", dir.display());
    }
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
}
