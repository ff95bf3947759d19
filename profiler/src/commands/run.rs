//! `zkprof run SUITE`: run every cell, writing DIR/results.json after each one.

use super::{GlobalArgs, MeasureArgs};
use crate::error::{UserError, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK};
use crate::measure::{Runner, RunnerConfig};
use crate::results::{CellStatus, ResultsFile, SuiteRef, RESULTS_SCHEMA};
use crate::runtime::RuntimeKind;
use crate::suite::{Cell, PlanOptions, Suite};
use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
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
    /// Only the models this name matches (`*` for any characters, e.g. `mnist-d*`; repeatable).
    #[arg(long = "model", value_name = "NAME")]
    pub models: Vec<String>,
    /// Override the suite's repetitions.
    #[arg(long, value_name = "N")]
    pub reps: Option<u32>,
    /// Skip models with more parameters than N (the small end of a scaling suite).
    #[arg(long, value_name = "N")]
    pub max_params: Option<u64>,
    /// Evaluate accuracy on N test inputs instead of the suite's `accuracy_samples` (0: no
    /// evaluation); the cells' settings, and so their ids, say the number used.
    #[arg(long, value_name = "N")]
    pub accuracy_samples: Option<u64>,
    /// Keep DIR/results.json and skip the cells it already finished.
    #[arg(long)]
    pub resume: bool,
    /// Run every cell even past a framework's frontier (by default, once a framework hits a
    /// timeout or runs out of memory on a model, its larger models are recorded as skipped).
    #[arg(long)]
    pub no_frontier: bool,
    /// Replace DIR/results.json even when it holds another suite's results.
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    /// Print the final results file as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// A finished powers-of-tau file for Groth16 setups (circom, zkTorch); default
    /// `$ZKPROF_PTAU`. A cell's `ptau` setting wins.
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
    let options = run_options(args)?;
    if let Some(reps) = args.reps {
        crate::limits::count("--reps", reps, 1).map_err(UserError::Input)?;
    }
    if let Some(n) = args.accuracy_samples {
        if n > crate::limits::MAX_ACCURACY_SAMPLES {
            return Err(UserError::Input(format!(
                "--accuracy-samples {n}: out of range; give 0 to {} test inputs",
                crate::limits::MAX_ACCURACY_SAMPLES
            ))
            .into());
        }
    }
    let cells = suite.plan(&PlanOptions {
        frameworks: args.frameworks.clone(),
        models: args.models.clone(),
        runtime: args.runtime.clone(),
        repetitions: args.reps,
        max_params: args.max_params,
        accuracy_samples: args.accuracy_samples,
    })?;
    let (cells, shard) = select_shard(cells, args)?;
    crate::store::ensure_writable_dir(&args.out)?;
    let results_path = args.out.join("results.json");
    // Held until the run returns; a second run into DIR exits 2 naming this one.
    let _lock = crate::outlock::OutLock::acquire(&args.out)?;
    if !args.resume {
        crate::outlock::check_replace(&results_path, &suite.name, args.force)?;
        if let Some((kept, n)) = crate::store::keep_previous(&results_path)? {
            eprintln!(
                "kept the previous results ({n} finished cell(s)) as {}; `--resume` continues a run instead of starting anew",
                kept.display()
            );
        }
    }
    crate::output::remove_stale_temp_files(&args.out);
    crate::measure::hygiene::clean_stale(&roots);
    let sensors = crate::measure::sensor_statuses(&roots);
    super::check_required(&sensors, &args.measure.require)?;
    let host = crate::fingerprint::detect(&roots);
    let mut shard = shard;
    for s in &mut shard {
        s.host_id = host.fingerprint_id.clone();
    }
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
        // Files written before shard records named their host match any host.
        let hostless = |v: &[crate::results::ShardRecord]| -> Vec<crate::results::ShardRecord> {
            v.iter()
                .map(|s| crate::results::ShardRecord {
                    host_id: String::new(),
                    ..s.clone()
                })
                .collect()
        };
        if hostless(&r.shards) != hostless(&shard) {
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
    let todo: Vec<&Cell> = crate::cellrun::unfinished(&cells, &results.cells);
    if todo.len() < cells.len() {
        eprintln!(
            "resuming: {} of {} cells already finished",
            cells.len() - todo.len(),
            cells.len()
        );
    }
    if todo.iter().any(|c| c.runtime == RuntimeKind::Docker) {
        // Fail fast, before any cell: every docker cell would fail the same way.
        crate::runtime::docker::Engine::connect().map_err(|e| UserError::Host(e.to_string()))?;
    }
    // Cells work below an absolute directory: a step container's working directory and
    // mounts must be absolute, and a step may change its own directory.
    let out_dir = std::path::absolute(&args.out).unwrap_or_else(|_| args.out.clone());
    let env = crate::cellrun::CellEnv {
        runner: &runner,
        roots: &roots,
        out: &out_dir,
        reps,
        warmup: suite.warmup,
        host_id: &host.fingerprint_id,
        interrupt: &interrupt,
        options: &options,
    };
    // The sweep's frontier: smallest models first, and what earlier runs (--resume) hit.
    let mut frontier = crate::frontier::Frontier::default();
    let planned: BTreeMap<&str, Option<u64>> = cells
        .iter()
        .map(|c| (c.id.as_str(), c.model.params))
        .collect();
    for r in &results.cells {
        frontier.observe(r, planned.get(r.id.as_str()).copied().flatten());
    }
    let todo = if args.no_frontier {
        todo
    } else {
        crate::frontier::by_size(&todo)
    };
    let bar = super::exec::progress(todo.len() as u64, args.json);
    for cell in todo {
        bar.set_message(crate::terminal::escape(&cell.id));
        let skip = (!args.no_frontier)
            .then(|| frontier.skip_reason(cell))
            .flatten();
        let result = match skip {
            Some(reason) => crate::frontier::skipped_result(cell, reason, &host.fingerprint_id),
            None => crate::cellrun::run_cell(&env, cell),
        };
        frontier.observe(&result, cell.model.params);
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
        for line in crate::frontier::lines(&crate::frontier::summarize(&results)) {
            println!("{}", crate::terminal::escape(&line));
        }
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
            "{failed} cell(s) failed; their reasons are above, under the table, and the logs in {}",
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
            let bytes =
                crate::input::read_capped(path, crate::limits::MAX_RESULTS_BYTES, "results file")
                    .map_err(|e| {
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

fn print_table(results: &ResultsFile) {
    print!("{}", super::run_table::render(results));
}

/// The options every adapter receives: `--ptau` (checked here), else `$ZKPROF_PTAU`
/// (checked by the adapters that use it, which name the file).
fn run_options(args: &RunArgs) -> anyhow::Result<crate::frameworks::RunOptions> {
    let ptau = match &args.ptau {
        Some(p) if !p.is_file() => {
            return Err(UserError::Input(format!(
                "--ptau {}: no such file; give a finished powers-of-tau file",
                p.display()
            ))
            .into())
        }
        Some(p) => Some(p.canonicalize().unwrap_or_else(|_| p.clone())),
        None => std::env::var_os("ZKPROF_PTAU")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
    };
    Ok(crate::frameworks::RunOptions { ptau })
}
