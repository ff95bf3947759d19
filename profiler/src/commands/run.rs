//! `zkprof run SUITE`: run every cell, writing DIR/results.json after each one.

use crate::cli::{GlobalArgs, MeasureArgs};
use crate::error::{UserError, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK};
use crate::fingerprint::Host;
use crate::frameworks::{self, CellContext, FrameworkError};
use crate::measure::{Runner, RunnerConfig, StepSpec};
use crate::results::{
    CellResult, CellStatus, Repetition, ResultsFile, StepRun, StepSummary, SuiteRef, RESULTS_SCHEMA,
};
use crate::stats::{mad_outliers, Summary};
use crate::suite::{Cell, PlanOptions, Suite};
use crate::units::{format_bytes, format_seconds};
use clap::Args;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The suite file (TOML).
    pub suite: PathBuf,
    /// Output directory: results.json and the logs of every step.
    #[arg(short, long, default_value = "zkprof-out", value_name = "DIR")]
    pub out: PathBuf,
    /// Run every cell in this runtime.
    #[arg(long, value_name = "KIND")]
    pub runtime: Option<String>,
    /// Only these frameworks (by name or kind; repeatable).
    #[arg(long = "framework", value_name = "F")]
    pub frameworks: Vec<String>,
    /// Override the suite's repetitions.
    #[arg(long, value_name = "N")]
    pub reps: Option<u32>,
    /// Skip models with more parameters than N (the small end of a scaling suite).
    #[arg(long, value_name = "N")]
    pub max_params: Option<u64>,
    /// Keep DIR/results.json and skip the cells it already finished.
    #[arg(long)]
    pub resume: bool,
    /// Print the final results file as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// A finished powers-of-tau file for Groth16 setups (circom); sets `$ZKPROF_PTAU`.
    #[arg(long, value_name = "FILE")]
    pub ptau: Option<PathBuf>,
    /// Run only shard I of N (1-based) of the plan; `zkprof merge` combines the shards.
    #[arg(long, value_name = "I/N", value_parser = clap::value_parser!(crate::shard::ShardSpec))]
    pub shard: Option<crate::shard::ShardSpec>,
    /// Balance the shards by the cells' wall times in this earlier results file
    /// (every shard of a matrix must be given the same file).
    #[arg(long, value_name = "RESULTS", requires = "shard")]
    pub shard_costs: Option<PathBuf>,
    #[command(flatten)]
    pub measure: MeasureArgs,
}

pub fn run(global: &GlobalArgs, args: &RunArgs) -> anyhow::Result<i32> {
    let roots = global.roots();
    let suite = Suite::load(&args.suite)?;
    if let Some(p) = &args.ptau {
        if !p.is_file() {
            return Err(UserError::Input(format!(
                "--ptau {}: no such file; give a finished powers-of-tau file",
                p.display()
            ))
            .into());
        }
        std::env::set_var(
            "ZKPROF_PTAU",
            p.canonicalize().unwrap_or_else(|_| p.clone()),
        );
    }
    if args.reps == Some(0) {
        return Err(UserError::Input("--reps must be at least 1".into()).into());
    }
    let cells = suite.plan(&PlanOptions {
        frameworks: args.frameworks.clone(),
        runtime: args.runtime.clone(),
        repetitions: args.reps,
        max_params: args.max_params,
    })?;
    let (cells, shard) = select_shard(cells, args)?;
    crate::store::ensure_writable_dir(&args.out)?;
    let results_path = args.out.join("results.json");
    let sensors = crate::sensors::statuses(&roots);
    super::check_required(&sensors, &args.measure.require)?;
    let host = Host::detect(&roots);
    let now = chrono::Utc::now().to_rfc3339();
    let mut results = if args.resume && results_path.exists() {
        let r = crate::store::load_results(&results_path)?;
        if r.suite.name != suite.name {
            return Err(UserError::Input(format!(
                "--resume: {} holds results of suite `{}`, not `{}`; use another --out",
                results_path.display(),
                r.suite.name,
                suite.name
            ))
            .into());
        }
        if r.shards != shard {
            return Err(UserError::Input(format!(
                "--resume: {} holds another shard of the plan (or none); use the same --shard and --shard-costs, or another --out",
                results_path.display()
            ))
            .into());
        }
        r
    } else {
        ResultsFile {
            schema: RESULTS_SCHEMA.into(),
            zkprof_version: env!("CARGO_PKG_VERSION").into(),
            suite: SuiteRef {
                name: suite.name.clone(),
                version: suite.version,
                path: suite.path.display().to_string(),
                sha256: suite.sha256.clone(),
            },
            created_at: now.clone(),
            updated_at: now,
            host: host.clone(),
            other_hosts: BTreeMap::new(),
            sensors: sensors.clone(),
            cells: Vec::new(),
            warnings: Vec::new(),
            shards: shard,
        }
    };
    let interrupt = super::interrupt_flag();
    let runner = Runner::new(
        RunnerConfig {
            roots: roots.clone(),
            sample_interval: Duration::from_millis(args.measure.interval_ms.max(1)),
            memory: args.measure.memory_method.into(),
            ..RunnerConfig::default()
        },
        interrupt.clone(),
    );
    let reps = args.reps.unwrap_or(suite.repetitions);
    let todo: Vec<&Cell> = cells
        .iter()
        .filter(|c| {
            !results
                .cells
                .iter()
                .any(|r| r.id == c.id && r.status.is_finished())
        })
        .collect();
    if todo.len() < cells.len() {
        eprintln!(
            "resuming: {} of {} cells already finished",
            cells.len() - todo.len(),
            cells.len()
        );
    }
    if todo.iter().any(|c| c.runtime == "docker") {
        // Fail fast, before any cell: every docker cell would fail the same way.
        crate::runtime::docker::Engine::connect().map_err(|e| UserError::Host(e.to_string()))?;
    }
    let bar = super::exec::progress(todo.len() as u64, args.json);
    for cell in todo {
        bar.set_message(cell.id.clone());
        let result = run_cell(
            &runner,
            &roots,
            cell,
            &args.out,
            reps,
            suite.warmup,
            &host,
            &interrupt,
        );
        results.cells.retain(|c| c.id != result.id);
        results.cells.push(result);
        results.updated_at = chrono::Utc::now().to_rfc3339();
        if let Some(note) = runner.cgroup_note() {
            let w = format!("no cgroup: {note}; peak memory is sampled from /proc");
            if !results.warnings.contains(&w) {
                results.warnings.push(w);
            }
        }
        crate::store::save_results(&results_path, &results).map_err(|e| {
            UserError::Input(format!("cannot write {}: {e}", results_path.display()))
        })?;
        bar.inc(1);
        if interrupt.load(Ordering::Relaxed) {
            break;
        }
    }
    bar.finish_and_clear();
    // Keep the file's cells in plan order, whatever order they finished in.
    let order: BTreeMap<&str, usize> = cells
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), i))
        .collect();
    results
        .cells
        .sort_by_key(|c| order.get(c.id.as_str()).copied().unwrap_or(usize::MAX));
    crate::store::save_results(&results_path, &results)
        .map_err(|e| UserError::Input(format!("cannot write {}: {e}", results_path.display())))?;

    if args.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        print_table(&results);
        println!("results: {}", results_path.display());
    }
    let interrupted = interrupt.load(Ordering::Relaxed)
        || results
            .cells
            .iter()
            .any(|c| c.status == CellStatus::Interrupted);
    let failed = results
        .cells
        .iter()
        .filter(|c| c.status == CellStatus::Failed)
        .count();
    Ok(if interrupted {
        eprintln!("interrupted: finished cells are saved; run again with --resume to go on");
        EXIT_INTERRUPTED
    } else if failed > 0 {
        eprintln!(
            "{failed} cell(s) failed; see their reasons above and the logs in {}",
            args.out.display()
        );
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}

/// Keeps the cells of `--shard I/N`, if given, and the record of the split.
fn select_shard(
    cells: Vec<Cell>,
    args: &RunArgs,
) -> Result<(Vec<Cell>, Vec<crate::results::ShardRecord>), UserError> {
    let Some(spec) = args.shard else {
        return Ok((cells, Vec::new()));
    };
    let costs = match &args.shard_costs {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| {
                UserError::Input(format!(
                    "--shard-costs: cannot read {}: {e}",
                    path.display()
                ))
            })?;
            let earlier = crate::store::load_results(path)?;
            let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
            crate::shard::Costs::from_results(&earlier, &sha)
        }
        None => crate::shard::Costs::uniform(),
    };
    let total = cells.len();
    let (kept, record) = crate::shard::select(cells, spec, &costs)?;
    eprintln!("shard {spec}: {} of the plan's {total} cells", kept.len());
    Ok((kept, vec![record]))
}

/// A directory name for a cell id.
fn cell_dir_name(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.=".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn run_cell(
    runner: &Runner,
    roots: &crate::roots::Roots,
    cell: &Cell,
    out: &Path,
    reps: u32,
    warmup: u32,
    host: &Host,
    interrupt: &Arc<AtomicBool>,
) -> CellResult {
    let workdir = out.join("cells").join(cell_dir_name(&cell.id));
    let mut result = CellResult {
        id: cell.id.clone(),
        model: cell.model.name.clone(),
        framework: cell.framework.name.clone(),
        settings: cell.settings.clone(),
        runtime: cell.runtime.clone(),
        status: CellStatus::Ok,
        reason: None,
        repetitions: Vec::new(),
        summary: BTreeMap::new(),
        metrics: BTreeMap::new(),
        info: BTreeMap::new(),
        host_id: host.fingerprint_id.clone(),
        started_at: chrono::Utc::now().to_rfc3339(),
        finished_at: String::new(),
        warnings: Vec::new(),
    };
    let fail = |result: &mut CellResult, status: CellStatus, reason: String| {
        result.status = status;
        result.reason = Some(reason);
    };
    let prepared_cell;
    let cell = match prepare_model(cell, &mut result) {
        Ok(c) => {
            prepared_cell = c;
            &prepared_cell
        }
        Err(reason) => {
            fail(&mut result, CellStatus::Failed, reason);
            return finish(result);
        }
    };
    let Some(framework) = frameworks::for_kind(&cell.framework.kind) else {
        fail(
            &mut result,
            CellStatus::Unsupported,
            format!("no adapter for `{}` in this build", cell.framework.kind),
        );
        return finish(result);
    };
    if let Err(e) = std::fs::create_dir_all(&workdir) {
        fail(
            &mut result,
            CellStatus::Failed,
            format!("cannot create {}: {e}", workdir.display()),
        );
        return finish(result);
    }
    match framework.provision(cell, &workdir) {
        Ok(info) => result.info.extend(info),
        Err(e) => {
            let status = match e {
                FrameworkError::Unsupported(_) => CellStatus::Unsupported,
                FrameworkError::Failed(_) => CellStatus::Failed,
            };
            fail(&mut result, status, e.to_string());
            return finish(result);
        }
    }
    let mut runtime = match crate::runtime::for_cell(&cell.runtime, runner) {
        Ok(r) => r,
        Err(e) => {
            fail(
                &mut result,
                CellStatus::Failed,
                format!("runtime {}: {e}", cell.runtime),
            );
            return finish(result);
        }
    };
    match runtime.provision(cell, &workdir) {
        Ok(info) => result.info.extend(info),
        Err(e) => {
            fail(
                &mut result,
                CellStatus::Failed,
                format!("runtime {}: {e}", cell.runtime),
            );
            return finish(result);
        }
    }
    'reps: for rep in 0..warmup + reps {
        let is_warmup = rep < warmup;
        let ctx = CellContext {
            cell,
            workdir: &workdir,
            rep,
        };
        let steps = match framework.steps(&ctx) {
            Ok(s) => s,
            Err(e) => {
                let status = match e {
                    FrameworkError::Unsupported(_) => CellStatus::Unsupported,
                    FrameworkError::Failed(_) => CellStatus::Failed,
                };
                fail(&mut result, status, e.to_string());
                break;
            }
        };
        let mut done: Vec<StepRun> = Vec::new();
        for step in steps {
            let spec = StepSpec {
                name: step.name.clone(),
                argv: step.argv.clone(),
                cwd: step.cwd.clone(),
                env: step.env.clone(),
                timeout: cell.framework.timeout_s.map(Duration::from_secs_f64),
                memory_limit: cell.framework.memory_limit,
                log_dir: workdir.join(format!("rep-{rep}")),
                log_stem: step.name.clone(),
            };
            let run = match runtime.run_step(&spec, crate::sensors::attachable(roots)) {
                Ok(r) => r,
                Err(e) => {
                    fail(
                        &mut result,
                        CellStatus::Failed,
                        format!("{}: {e}", step.name),
                    );
                    result.repetitions.push(Repetition {
                        index: rep,
                        warmup: is_warmup,
                        steps: done,
                    });
                    break 'reps;
                }
            };
            let ok = run.succeeded();
            let (interrupted, outcome) = (run.interrupted, run.outcome());
            let tail = run.stderr_tail.last().cloned();
            done.push(run);
            if interrupted {
                fail(
                    &mut result,
                    CellStatus::Interrupted,
                    format!("{}: interrupted", step.name),
                );
                result.repetitions.push(Repetition {
                    index: rep,
                    warmup: is_warmup,
                    steps: done,
                });
                break 'reps;
            }
            if !ok {
                if let Some(why) = done.last().and_then(|r| framework.unsupported_reason(r)) {
                    fail(
                        &mut result,
                        CellStatus::Unsupported,
                        format!("unsupported: {why}"),
                    );
                    result.repetitions.push(Repetition {
                        index: rep,
                        warmup: is_warmup,
                        steps: done,
                    });
                    break 'reps;
                }
                let why = tail.map(|t| format!(" (stderr: {t})")).unwrap_or_default();
                fail(
                    &mut result,
                    CellStatus::Failed,
                    format!("{}: {outcome}{why}", step.name),
                );
                result.repetitions.push(Repetition {
                    index: rep,
                    warmup: is_warmup,
                    steps: done,
                });
                break 'reps;
            }
        }
        match framework.collect(&ctx, &done) {
            Ok(c) => {
                result.metrics.extend(c.metrics);
                result.info.extend(c.info);
                result.warnings.extend(
                    c.warnings
                        .into_iter()
                        .map(|w| format!("repetition {rep}: {w}")),
                );
            }
            Err(e) => result
                .warnings
                .push(format!("metrics of repetition {rep}: {e}")),
        }
        result.repetitions.push(Repetition {
            index: rep,
            warmup: is_warmup,
            steps: done,
        });
        if interrupt.load(Ordering::Relaxed) {
            fail(
                &mut result,
                CellStatus::Interrupted,
                "interrupted between repetitions".into(),
            );
            break;
        }
    }
    if result.status == CellStatus::Ok {
        match framework.evaluate(cell, &workdir) {
            Ok(c) => {
                result.metrics.extend(c.metrics);
                result.info.extend(c.info);
                result.warnings.extend(c.warnings);
            }
            Err(e) => result.warnings.push(format!("evaluation (accuracy): {e}")),
        }
    }
    result.summary = summarize_steps(&result.repetitions);
    result
        .metrics
        .extend(crate::score::cell_energy_metrics(&result));
    for (step, s) in &result.summary {
        for i in &s.wall_outliers {
            result.warnings.push(format!(
                "{step}: repetition {i} is a wall-time outlier (MAD test)"
            ));
        }
    }
    finish(result)
}

/// Materializes the cell's model (trains it, cached, or imports its ONNX file) so that every
/// adapter reads an ONNX file, and records its hash, parameters and layers. An imported file
/// that the reference engine cannot run is left to the framework to judge (a warning here).
/// A `command` framework whose steps never name `{model_path}` gets no model.
fn prepare_model(cell: &Cell, result: &mut CellResult) -> Result<Cell, String> {
    let mut cell = cell.clone();
    let uses_model = cell.framework.kind != "command"
        || cell
            .framework
            .steps
            .iter()
            .any(|(_, argv)| argv.iter().any(|a| a.contains("{model_path}")));
    if !uses_model {
        return Ok(cell);
    }
    match crate::model::prepare(&cell.model, &crate::paths::cache_dir()) {
        Ok(p) => {
            result.metrics.insert("params".into(), p.params as f64);
            result.metrics.insert("layers".into(), f64::from(p.layers));
            result
                .info
                .insert("model_sha256".into(), p.content_hash.clone());
            let shape: Vec<String> = p.input_shape.iter().map(|d| d.to_string()).collect();
            result
                .info
                .insert("model_input_shape".into(), shape.join("x"));
            cell.model.onnx = Some(p.onnx_path);
            Ok(cell)
        }
        Err(e) if cell.model.onnx.is_some() => {
            result
                .warnings
                .push(format!("model `{}`: {e}", cell.model.name));
            Ok(cell)
        }
        Err(e) => Err(format!("model `{}`: {e}", cell.model.name)),
    }
}

fn finish(mut result: CellResult) -> CellResult {
    result.finished_at = chrono::Utc::now().to_rfc3339();
    result
}

/// Per step name, a summary over the measured (non-warmup) repetitions where the step succeeded.
pub fn summarize_steps(reps: &[Repetition]) -> BTreeMap<String, StepSummary> {
    let mut by_step: BTreeMap<String, Vec<&StepRun>> = BTreeMap::new();
    for rep in reps.iter().filter(|r| !r.warmup) {
        for s in rep.steps.iter().filter(|s| s.succeeded()) {
            by_step.entry(s.step.clone()).or_default().push(s);
        }
    }
    by_step
        .into_iter()
        .map(|(name, runs)| {
            let f = |g: fn(&StepRun) -> f64| {
                Summary::of(&runs.iter().map(|r| g(r)).collect::<Vec<_>>())
            };
            let u = |g: fn(&StepRun) -> u64| {
                Summary::of_u64(&runs.iter().map(|r| g(r)).collect::<Vec<_>>())
            };
            let walls: Vec<f64> = runs.iter().map(|r| r.wall_s).collect();
            let summary = StepSummary {
                wall_s: f(|r| r.wall_s),
                user_s: f(|r| r.user_s),
                sys_s: f(|r| r.sys_s),
                peak_tree_bytes: u(|r| r.peak_tree_bytes),
                peak_process_bytes: u(|r| r.peak_process_bytes),
                wall_outliers: mad_outliers(&walls),
            };
            (name, summary)
        })
        .collect()
}

fn print_table(results: &ResultsFile) {
    let w = results
        .cells
        .iter()
        .map(|c| c.id.len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "{:w$}  {:12}  {:>22}  {:>12}",
        "cell",
        "status",
        "prove (median ± σ)",
        "peak memory",
        w = w
    );
    for c in &results.cells {
        let (time, mem) = match c.summary.get("prove") {
            Some(p) => (
                format!(
                    "{} ± {}",
                    format_seconds(p.wall_s.median),
                    format_seconds(p.wall_s.stddev)
                ),
                format_bytes(p.peak_tree_bytes.median),
            ),
            None => ("-".into(), "-".into()),
        };
        let status = format!("{:?}", c.status).to_lowercase();
        println!(
            "{:w$}  {:12}  {:>22}  {:>12}",
            c.id,
            status,
            time,
            mem,
            w = w
        );
        if let Some(reason) = &c.reason {
            println!("{:w$}  └ {reason}", "", w = w);
        }
    }
}
