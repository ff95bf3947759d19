//! Running one cell: prepare its model, provision its framework and runtime, run its
//! repetitions step by step through the measured runner, and collect its metrics.
//!
//! A cell never aborts the suite: whatever stops it (an unsupported model, a failing step,
//! Ctrl-C) becomes its status and reason, and the steps that ran are kept.

use crate::frameworks::{
    CellContext, Framework, FrameworkError, FrameworkKind, PlannedStep, PreparedCell, RunOptions,
};
use crate::kinds::RuntimeKind;
use crate::measure::{Runner, StepSpec};
use crate::results::Summary;
use crate::results::{CellResult, CellStatus, Repetition, StepRun, StepSummary};
use crate::roots::Roots;
use crate::runtime::{Runtime, RuntimeError};
use crate::stats::mad_outliers;
use crate::suite::Cell;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// What every cell of a run shares.
pub struct CellEnv<'a> {
    pub runner: &'a Runner,
    pub roots: &'a Roots,
    /// The run's output directory; cell `id` works in `out/cells/<id>`.
    pub out: &'a Path,
    /// Measured repetitions, and warmups before them.
    pub reps: u32,
    pub warmup: u32,
    /// The `fingerprint_id` of this host.
    pub host_id: &'a str,
    /// Set by the Ctrl-C handler.
    pub interrupt: &'a AtomicBool,
    /// Options every adapter receives (a powers-of-tau file, ...).
    pub options: &'a RunOptions,
}

/// Why a cell stopped before finishing.
struct Stop {
    status: CellStatus,
    reason: String,
}

impl Stop {
    fn failed(reason: String) -> Stop {
        Stop {
            status: CellStatus::Failed,
            reason,
        }
    }
}

impl From<FrameworkError> for Stop {
    fn from(e: FrameworkError) -> Stop {
        let status = match e {
            FrameworkError::Unsupported(_) => CellStatus::Unsupported,
            FrameworkError::Failed(_) => CellStatus::Failed,
        };
        Stop {
            status,
            reason: e.to_string(),
        }
    }
}

/// Where a cell's adapter and runtime come from: the registries, or fakes in tests.
pub trait Parts {
    /// The adapter for a framework kind.
    fn framework(&self, kind: FrameworkKind) -> Box<dyn Framework>;
    /// The runtime for a runtime kind, measuring with `runner`'s settings.
    fn runtime<'r>(
        &self,
        kind: RuntimeKind,
        runner: &'r Runner,
    ) -> Result<Box<dyn Runtime + 'r>, RuntimeError>;
}

/// The adapters and runtimes of this build.
pub struct Registry;

impl Parts for Registry {
    fn framework(&self, kind: FrameworkKind) -> Box<dyn Framework> {
        kind.adapter()
    }

    fn runtime<'r>(
        &self,
        kind: RuntimeKind,
        runner: &'r Runner,
    ) -> Result<Box<dyn Runtime + 'r>, RuntimeError> {
        crate::runtime::for_cell(kind, runner)
    }
}

/// The cells a run still has to do, in plan order: those without a finished result in
/// `done` (`--resume` redoes interrupted and skipped cells, keeps ok, failed and unsupported).
pub fn unfinished<'c>(cells: &'c [Cell], done: &[CellResult]) -> Vec<&'c Cell> {
    cells
        .iter()
        .filter(|c| !done.iter().any(|r| r.id == c.id && r.status.is_finished()))
        .collect()
}

/// Runs one cell to completion (or to what stopped it) and returns its result.
pub fn run_cell(env: &CellEnv, cell: &Cell) -> CellResult {
    run_cell_with(env, cell, &Registry)
}

/// [`run_cell`] with the adapter and runtime from `parts`.
pub fn run_cell_with(env: &CellEnv, cell: &Cell, parts: &dyn Parts) -> CellResult {
    let mut result = CellResult {
        id: cell.id.clone(),
        model: cell.model.name.clone(),
        framework: cell.framework.name.clone(),
        settings: cell.settings.clone(),
        runtime: cell.runtime.name().into(),
        status: CellStatus::Ok,
        reason: None,
        repetitions: Vec::new(),
        summary: BTreeMap::new(),
        metrics: BTreeMap::new(),
        info: BTreeMap::new(),
        host_id: env.host_id.to_string(),
        started_at: chrono::Utc::now().to_rfc3339(),
        finished_at: String::new(),
        warnings: Vec::new(),
    };
    let workdir = env.out.join("cells").join(cell_dir_name(&cell.id));
    if let Err(stop) = run_into(env, cell, &workdir, &mut result, parts) {
        result.status = stop.status;
        result.reason = Some(stop.reason);
    }
    result.summary = summarize_steps(&result.repetitions);
    result
        .warnings
        .extend(leftover_warnings(&result.repetitions));
    let energy = crate::score::cell_energy_metrics(&result);
    result.metrics.extend(energy);
    for (step, s) in &result.summary {
        for i in &s.wall_outliers {
            result.warnings.push(format!(
                "{step}: repetition {i} is a wall-time outlier (MAD test)"
            ));
        }
    }
    result.finished_at = chrono::Utc::now().to_rfc3339();
    tracing::info!(
        "cell {}: {}",
        result.id,
        crate::report::view::status_word(result.status)
    );
    result
}

fn run_into(
    env: &CellEnv,
    cell: &Cell,
    workdir: &Path,
    result: &mut CellResult,
    parts: &dyn Parts,
) -> Result<(), Stop> {
    // Unmeasured work (model training, toolchains, a powers of tau): its own wall time.
    let t = std::time::Instant::now();
    let mut provisioned = 0.0;
    let framework = parts.framework(cell.framework.kind);
    if let Some(kind) = framework.proof_kind() {
        result.info.insert("proof_kind".into(), kind.into());
    }
    if let Some(system) = framework.proof_system() {
        result.info.insert("proof_system".into(), system.into());
    }
    // What zkprof cannot install is checked first: a missing toolchain fails in a second,
    // before any model is trained.
    framework.preflight(cell)?;
    let cell = &prepare_model(cell, result).map_err(Stop::failed)?;
    let (cell, cpus) = &confine(cell, result)?;
    std::fs::create_dir_all(workdir)
        .map_err(|e| Stop::failed(format!("cannot create {}: {e}", workdir.display())))?;
    let ready = framework.provision(cell, workdir, env.options)?;
    result.info.extend(ready.info);
    let mut prepared = ready.cell;
    let runtime_err = |e: RuntimeError| Stop::failed(format!("runtime {}: {e}", cell.runtime));
    let mut runtime = parts
        .runtime(cell.runtime, env.runner)
        .map_err(runtime_err)?;
    result
        .info
        .extend(runtime.provision(cell, workdir).map_err(runtime_err)?);
    provisioned += t.elapsed().as_secs_f64();
    record_provisioning(result, provisioned);
    for rep in 0..env.warmup + env.reps {
        let ctx = CellContext {
            cell,
            workdir,
            rep,
            cpus: cpus.as_ref(),
        };
        let steps = prepared.steps(&ctx)?;
        let mut facts = BTreeMap::new();
        let (done, stopped) = run_repetition(
            env,
            runtime.as_mut(),
            prepared.as_mut(),
            &ctx,
            steps,
            &mut facts,
            &mut provisioned,
        );
        result.info.extend(facts);
        record_provisioning(result, provisioned);
        for s in &done {
            for w in s.headline.iter().flat_map(|h| &h.warnings) {
                let w = format!("repetition {rep}: {}: {w}", s.step);
                result.warnings.push(w);
            }
        }
        if stopped.is_none() {
            match prepared.collect(&ctx, &done) {
                Ok(c) => {
                    result.metrics.extend(c.metrics);
                    result.info.extend(c.info);
                    let w = c
                        .warnings
                        .into_iter()
                        .map(|w| format!("repetition {rep}: {w}"));
                    result.warnings.extend(w);
                }
                Err(e) => result
                    .warnings
                    .push(format!("metrics of repetition {rep}: {e}")),
            }
        }
        result.repetitions.push(Repetition {
            index: rep,
            warmup: rep < env.warmup,
            steps: done,
        });
        if let Some(stop) = stopped {
            return Err(stop);
        }
        if env.interrupt.load(Ordering::Relaxed) {
            return Err(Stop {
                status: CellStatus::Interrupted,
                reason: "interrupted between repetitions".into(),
            });
        }
    }
    match prepared.evaluate(cell, workdir) {
        Ok(c) => {
            result.metrics.extend(c.metrics);
            result.info.extend(c.info);
            result.warnings.extend(c.warnings);
        }
        Err(e) => result.warnings.push(format!("evaluation (accuracy): {e}")),
    }
    Ok(())
}

/// What a step killed for memory ran into: the step's limit (bytes) or the machine's.
fn oom_detail(memory_limit: Option<u64>) -> String {
    match memory_limit {
        Some(l) => format!(
            " (out of memory at the step's limit of {})",
            crate::units::format_bytes(l as f64)
        ),
        None => " (out of memory: killed by the kernel)".into(),
    }
}

/// Records the unmeasured provisioning seconds so far (`provision_s`: model preparation,
/// toolchain installs, keys material such as a powers of tau; never part of a step).
fn record_provisioning(result: &mut CellResult, seconds: f64) {
    result.metrics.insert("provision_s".into(), seconds);
}

/// Runs the steps of one repetition in order; the first step that does not succeed stops
/// it. Returns the steps that ran and, if one stopped the cell, why. Facts from the
/// adapter's unmeasured provisioning between steps go to `facts`, its seconds to `provisioned`.
fn run_repetition(
    env: &CellEnv,
    runtime: &mut dyn Runtime,
    framework: &mut dyn PreparedCell,
    ctx: &CellContext,
    steps: Vec<PlannedStep>,
    facts: &mut BTreeMap<String, String>,
    provisioned: &mut f64,
) -> (Vec<StepRun>, Option<Stop>) {
    let mut done: Vec<StepRun> = Vec::new();
    for mut step in steps {
        let t = std::time::Instant::now();
        match framework.before_step(ctx, &mut step) {
            Ok(info) => {
                *provisioned += t.elapsed().as_secs_f64();
                facts.extend(info);
            }
            Err(e) => {
                return (
                    done,
                    Some(Stop::failed(format!(
                        "provisioning before {}: {e}",
                        step.name
                    ))),
                )
            }
        }
        let phases = framework.phases(ctx.cell, &step.name);
        let spec = StepSpec {
            name: step.name.clone(),
            argv: step.argv,
            cwd: step.cwd,
            env: step.env,
            timeout: ctx.cell.framework.timeout_s.map(Duration::from_secs_f64),
            memory_limit: ctx.cell.framework.memory_limit,
            log_dir: ctx.rep_dir(),
            log_stem: step.name.clone(),
            phases,
            cpus: ctx.cpus.cloned(),
        };
        let run = match runtime.run_step(&spec, crate::sensors::attachable(env.roots)) {
            Ok(r) => crate::measure::phases::label_unphased(spec.phases.as_ref(), r),
            Err(e) => return (done, Some(Stop::failed(format!("{}: {e}", step.name)))),
        };
        if let Some(m) = &run.cpus_method {
            facts.insert("cpus_method".into(), m.clone());
        }
        let stop = if run.interrupted {
            Some(Stop {
                status: CellStatus::Interrupted,
                reason: format!("{}: interrupted", step.name),
            })
        } else if !run.succeeded() {
            Some(match framework.unsupported_reason(&run) {
                Some(why) => Stop {
                    status: CellStatus::Unsupported,
                    reason: format!("unsupported: {why}"),
                },
                None => {
                    let tail = match framework.failure_reason(&run) {
                        Some(why) => Some(format!(" ({why})")),
                        // Killed for memory: its last stderr line is whatever it was doing.
                        None if run.oom_killed => Some(oom_detail(ctx.cell.framework.memory_limit)),
                        None => run.stderr_tail.last().map(|t| format!(" (stderr: {t})")),
                    };
                    Stop::failed(format!(
                        "{}: {}{}",
                        step.name,
                        run.outcome(),
                        tail.unwrap_or_default()
                    ))
                }
            })
        } else {
            framework
                .silent_failure(&run)
                .map(|why| Stop::failed(format!("{}: exit 0, but {why}", step.name)))
        };
        let mut run = run;
        if run.succeeded() {
            if let Some(stop) = &stop {
                // Exited 0 but did not do its work: not a measurement of the step.
                run.failed_check = Some(stop.reason.clone());
            }
        }
        done.push(run);
        if stop.is_some() {
            return (done, stop);
        }
    }
    (done, None)
}

/// The cell as its adapter and runtime see it, and the CPUs its steps are confined to: a
/// `cpus` setting is zkprof's, not the framework's, so it leaves the settings (it stays in
/// the cell's id and results) and becomes the runtime's cpuset. The CPUs chosen go to
/// `info.cpus` (the list) and `metrics.cpus` (the count). A host with fewer CPUs than asked
/// makes the cell unsupported here, with the count it has.
fn confine(
    cell: &Cell,
    result: &mut CellResult,
) -> Result<(Cell, Option<crate::measure::cpus::CpuChoice>), Stop> {
    use crate::measure::cpus;
    let Some(v) = cell.settings.get(cpus::SETTING) else {
        return Ok((cell.clone(), None));
    };
    let want = cpus::CpuCount::parse(v).map_err(Stop::failed)?;
    let within = cell.framework.cpuset.as_deref().and_then(cpus::parse_list);
    let choice = cpus::choose(want, &cpus::allowed(), within.as_deref()).map_err(|why| Stop {
        status: CellStatus::Unsupported,
        reason: format!("unsupported on this host: {why}"),
    })?;
    let mut adapter_cell = cell.clone();
    adapter_cell.settings.remove(cpus::SETTING);
    adapter_cell.framework.cpuset = Some(choice.list());
    result.info.insert("cpus".into(), choice.list());
    result.metrics.insert("cpus".into(), choice.count() as f64);
    Ok((adapter_cell, Some(choice)))
}

/// Materializes the cell's model (trains it, cached, or imports its ONNX file) so that every
/// adapter reads an ONNX file, and records its hash, parameters and layers. An imported file
/// that the reference engine cannot run is left to the framework to judge (a warning here).
/// A `command` framework whose steps never name `{model_path}` gets no model.
fn prepare_model(cell: &Cell, result: &mut CellResult) -> Result<Cell, String> {
    let mut cell = cell.clone();
    let uses_model = cell.framework.kind != FrameworkKind::Command
        || cell
            .framework
            .steps
            .iter()
            .any(|(_, argv)| argv.iter().any(|a| a.contains("{model_path}")));
    if !uses_model {
        // The size a suite declares is still the cell's size (sweeps and their frontier).
        if let Some(p) = cell.model.params {
            result.metrics.insert("params".into(), p as f64);
        }
        return Ok(cell);
    }
    let cache = crate::paths::cache_dir();
    let mut prepared = crate::model::prepare(&cell.model.def(), &cache);
    if let Err(crate::model::ModelError::Data(crate::data::DataError::Missing(_))) = &prepared {
        if cell.model.spec.dataset == Some(crate::model::Dataset::Mnist) {
            // First use on a new machine: fetch the data set once, then try again.
            match crate::data::ensure_mnist() {
                Ok(what) => {
                    eprintln!("{what}");
                    result.warnings.push(what);
                    prepared = crate::model::prepare(&cell.model.def(), &cache);
                }
                Err(e) => result.warnings.push(e.to_string()),
            }
        }
    }
    match prepared {
        Ok(p) => {
            result.metrics.insert("params".into(), p.params as f64);
            result.metrics.insert("layers".into(), f64::from(p.layers));
            if let Some(acc) = p.float_test_accuracy_pct {
                result.metrics.insert("float_test_accuracy_pct".into(), acc);
            }
            if let Some(d) = &p.training_data {
                result.info.insert("training_data".into(), d.clone());
            }
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

/// One warning per step whose processes outlived it and had to be killed (daemons,
/// background jobs): the step's own numbers are kept, but they may miss that work.
pub fn leftover_warnings(reps: &[Repetition]) -> Vec<String> {
    reps.iter()
        .flat_map(|rep| rep.steps.iter().map(move |s| (rep.index, s)))
        .filter(|(_, s)| s.leftover_killed > 0)
        .map(|(i, s)| {
            format!(
                "{} (repetition {i}): {} process(es) outlived the step and were killed",
                s.step, s.leftover_killed
            )
        })
        .collect()
}

/// A directory name for a cell id (defined with the suite, whose checks reject collisions).
pub use crate::suite::cell_dir_name;

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
            // A phased step (a monolithic prover) is summarized by its headline phase.
            // A prove step that is its own process is its own headline.
            let source = runs
                .iter()
                .find_map(|r| r.headline.as_ref())
                .map(|h| h.prove_source)
                .or((name == "prove").then_some(crate::results::ProveSource::WholeStep));
            let f = |g: fn(&StepRun) -> f64| {
                Summary::of(&runs.iter().map(|r| g(r)).collect::<Vec<_>>())
            };
            let u = |g: fn(&StepRun) -> u64| {
                Summary::of_u64(&runs.iter().map(|r| g(r)).collect::<Vec<_>>())
            };
            let walls: Vec<f64> = runs.iter().map(|r| headline_wall(r)).collect();
            let summary = StepSummary {
                wall_s: f(headline_wall),
                user_s: f(|r| r.user_s),
                sys_s: f(|r| r.sys_s),
                peak_tree_bytes: u(|r| r.headline_peak_bytes()),
                peak_process_bytes: u(|r| r.peak_process_bytes),
                peak_charged_bytes: Summary::of_present_u64(
                    runs.iter().map(|r| r.peak_charged_bytes),
                ),
                child_peak_rss_bytes: Summary::of_present_u64(
                    runs.iter().map(|r| r.child_peak_rss_bytes),
                ),
                wall_outliers: mad_outliers(&walls),
                prove_source: source,
            };
            (name, summary)
        })
        .collect()
}

/// The headline time of a run: its headline phase's (a monolithic prover), else its wall time.
fn headline_wall(r: &StepRun) -> f64 {
    r.headline.as_ref().map_or(r.wall_s, |h| h.wall_s)
}

#[cfg(test)]
#[path = "cellrun_tests.rs"]
mod tests;
