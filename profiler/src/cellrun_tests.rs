//! Cell execution with a fake framework and a fake runtime: statuses, reasons, the steps
//! that ran, the state a prepared cell keeps, interruption. Nothing is spawned.

use super::*;
use crate::frameworks::fake::FakeFramework;
use crate::measure::RunnerConfig;
use crate::runtime::fake::{FakeRuntime, Outcome, Script};
use crate::suite::{PlanOptions, Suite};
use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

struct Fakes {
    framework: FakeFramework,
    script: Script,
    ran: Rc<RefCell<Vec<String>>>,
}

impl Parts for Fakes {
    fn framework(&self, _kind: FrameworkKind) -> Box<dyn Framework> {
        Box::new(self.framework.clone())
    }

    fn runtime<'r>(
        &self,
        _kind: RuntimeKind,
        _runner: &'r Runner,
    ) -> Result<Box<dyn Runtime + 'r>, RuntimeError> {
        Ok(Box::new(FakeRuntime {
            script: self.script.clone(),
            ran: self.ran.clone(),
        }))
    }
}

/// A `command` cell whose steps never name the model (so no model is prepared).
fn cell() -> Cell {
    let text = "[suite]\nname = \"t\"\n\n[[model]]\nname = \"m\"\n\n[[framework]]\nname = \"f\"\nkind = \"command\"\nsteps = { prove = [\"true\"] }\n";
    Suite::parse(Path::new("s.toml"), text)
        .unwrap()
        .plan(&PlanOptions::default())
        .unwrap()
        .remove(0)
}

struct Case {
    framework: FakeFramework,
    script: Script,
    reps: u32,
    warmup: u32,
    interrupt: Arc<AtomicBool>,
    options: RunOptions,
}

impl Case {
    fn new(steps: &[&'static str]) -> Case {
        Case {
            framework: FakeFramework {
                steps: steps.to_vec(),
                ..FakeFramework::default()
            },
            script: Script::default(),
            reps: 2,
            warmup: 0,
            interrupt: Arc::new(AtomicBool::new(false)),
            options: RunOptions::default(),
        }
    }

    /// Runs the cell; returns its result and the steps the runtime ran (`rep-N/step`).
    fn run(self) -> (CellResult, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        // Empty roots: no sensor is available, so none is attached.
        let roots = crate::roots::Roots {
            proc: dir.path().join("proc"),
            sys: dir.path().join("sys"),
            cgroup: dir.path().join("cgroup"),
            etc: dir.path().join("etc"),
        };
        let runner = Runner::new(
            RunnerConfig {
                roots: roots.clone(),
                ..RunnerConfig::default()
            },
            self.interrupt.clone(),
        );
        let out = dir.path().join("out");
        let env = CellEnv {
            runner: &runner,
            roots: &roots,
            out: &out,
            reps: self.reps,
            warmup: self.warmup,
            host_id: "host",
            interrupt: &self.interrupt,
            options: &self.options,
        };
        let fakes = Fakes {
            framework: self.framework,
            script: self.script,
            ran: Rc::default(),
        };
        let result = run_cell_with(&env, &cell(), &fakes);
        let ran = fakes.ran.borrow().clone();
        (result, ran)
    }
}

fn steps_of(r: &CellResult) -> Vec<Vec<String>> {
    r.repetitions
        .iter()
        .map(|rep| rep.steps.iter().map(|s| s.step.clone()).collect())
        .collect()
}

#[test]
fn every_repetition_runs_and_the_prepared_cell_keeps_its_state() {
    let mut case = Case::new(&["setup", "prove", "verify"]);
    case.warmup = 1;
    case.framework.proof_kind = Some("fraud_proof");
    case.options.ptau = Some(PathBuf::from("/data/pot14.ptau"));
    let (r, ran) = case.run();
    assert_eq!(r.status, CellStatus::Ok, "{:?}", r.reason);
    assert_eq!(r.reason, None);
    assert_eq!(r.runtime, "native");
    assert_eq!(ran.len(), 9);
    assert_eq!(ran[..3], ["rep-0/setup", "rep-0/prove", "rep-0/verify"]);
    assert_eq!(ran[8], "rep-2/verify");
    let warmups: Vec<bool> = r.repetitions.iter().map(|x| x.warmup).collect();
    assert_eq!(warmups, [true, false, false]);
    // collect saw every repetition (warmup included) and evaluate saw what collect kept.
    assert_eq!(r.metrics["collects"], 3.0);
    assert_eq!(r.metrics["collects_seen_by_evaluate"], 3.0);
    assert!(r.metrics.contains_key("provision_s"));
    assert_eq!(r.info["provisioned"], "yes");
    assert_eq!(r.info["runtime"], "fake");
    assert_eq!(r.info["proof_kind"], "fraud_proof");
    // The run's options reach the adapter as values.
    assert_eq!(r.info["ptau"], "/data/pot14.ptau");
    // The summary covers the measured repetitions only.
    let prove = &r.summary["prove"];
    assert_eq!(prove.wall_s.n, 2, "{prove:?}");
}

#[test]
fn a_failing_step_stops_the_cell_and_its_stderr_is_the_reason() {
    let mut case = Case::new(&["setup", "prove", "verify"]);
    case.script = Script::default().then("prove", Outcome::exit(3, "boom: bad witness"));
    let (r, ran) = case.run();
    assert_eq!(r.status, CellStatus::Failed);
    assert_eq!(
        r.reason.as_deref(),
        Some("prove: exit 3 (stderr: boom: bad witness)")
    );
    assert_eq!(ran, ["rep-0/setup", "rep-0/prove"]);
    assert_eq!(steps_of(&r), [vec!["setup", "prove"]]);
    // No metrics from a failed repetition, no evaluation of a failed cell.
    assert!(!r.metrics.contains_key("collects"));
    assert!(!r.metrics.contains_key("collects_seen_by_evaluate"));
}

#[test]
fn a_step_killed_for_memory_says_so_not_its_last_stderr_line() {
    let mut case = Case::new(&["setup", "prove"]);
    case.script = Script::default().then("prove", Outcome::oom("INFO loading a table"));
    let (r, _) = case.run();
    assert_eq!(r.status, CellStatus::Failed);
    assert_eq!(
        r.reason.as_deref(),
        Some("prove: oom (out of memory: killed by the kernel)")
    );
    assert_eq!(
        oom_detail(Some(16 << 30)),
        " (out of memory at the step's limit of 16.0 GiB)"
    );
}

#[test]
fn a_failure_in_a_later_repetition_keeps_the_earlier_ones() {
    let mut case = Case::new(&["prove", "verify"]);
    case.script = Script::default()
        .then("prove", Outcome::ok(2.0))
        .then("prove", Outcome::exit(1, "out of memory?"));
    let (r, _) = case.run();
    assert_eq!(r.status, CellStatus::Failed);
    assert_eq!(steps_of(&r), [vec!["prove", "verify"], vec!["prove"]]);
    assert_eq!(r.metrics["collects"], 1.0);
    assert_eq!(r.summary["prove"].wall_s.n, 1);
}

#[test]
fn the_frameworks_own_words_explain_a_failure() {
    let mut case = Case::new(&["prove"]);
    case.framework.failure_reason = Some("lookup out of range".into());
    case.script = Script::default().then("prove", Outcome::exit(101, "panicked"));
    let (r, _) = case.run();
    assert_eq!(r.status, CellStatus::Failed);
    assert_eq!(
        r.reason.as_deref(),
        Some("prove: exit 101 (lookup out of range)")
    );
}

#[test]
fn a_failure_the_framework_calls_unsupported_makes_the_cell_unsupported() {
    let mut case = Case::new(&["compile", "prove"]);
    case.framework.unsupported_reason = Some("operator Gather".into());
    case.script = Script::default().then("compile", Outcome::exit(1, "error"));
    let (r, ran) = case.run();
    assert_eq!(r.status, CellStatus::Unsupported);
    assert_eq!(r.reason.as_deref(), Some("unsupported: operator Gather"));
    assert_eq!(ran, ["rep-0/compile"]);
}

#[test]
fn a_step_that_exits_0_but_failed_fails_the_cell() {
    let mut case = Case::new(&["prove", "verify"]);
    case.framework.silent_failure = Some(("verify", "the proof was rejected".into()));
    let (r, ran) = case.run();
    assert_eq!(r.status, CellStatus::Failed);
    assert_eq!(
        r.reason.as_deref(),
        Some("verify: exit 0, but the proof was rejected")
    );
    assert_eq!(ran, ["rep-0/prove", "rep-0/verify"]);
    assert_eq!(steps_of(&r), [vec!["prove", "verify"]]);
    // The run is kept (labelled), but it is no measurement of the step: no figures.
    let verify = &r.repetitions[0].steps[1];
    assert_eq!(
        verify.failed_check.as_deref(),
        Some("verify: exit 0, but the proof was rejected")
    );
    assert!(!verify.succeeded());
    assert!(r.summary.contains_key("prove") && !r.summary.contains_key("verify"));
}

#[test]
fn provisioning_errors_stop_the_cell_before_any_step() {
    let mut case = Case::new(&["prove"]);
    case.framework.provision_error = Some((true, "no Conv in this transpiler".into()));
    let (r, ran) = case.run();
    assert_eq!(r.status, CellStatus::Unsupported);
    assert_eq!(
        r.reason.as_deref(),
        Some("unsupported: no Conv in this transpiler")
    );
    assert!(ran.is_empty() && r.repetitions.is_empty());

    let mut case = Case::new(&["prove"]);
    case.framework.provision_error = Some((false, "npm not found on PATH".into()));
    let (r, _) = case.run();
    assert_eq!(r.status, CellStatus::Failed);
    assert_eq!(r.reason.as_deref(), Some("npm not found on PATH"));

    let mut case = Case::new(&["prove"]);
    case.script.provision_error = Some("base image missing".into());
    let (r, ran) = case.run();
    assert_eq!(r.status, CellStatus::Failed);
    assert_eq!(
        r.reason.as_deref(),
        Some("runtime native: base image missing")
    );
    assert!(ran.is_empty());
    // The adapter's facts are kept although the runtime failed.
    assert_eq!(r.info["provisioned"], "yes");
}

#[test]
fn provisioning_before_a_step_fails_the_cell_and_names_the_step() {
    let mut case = Case::new(&["compile", "setup", "prove"]);
    case.framework.before_step_error = Some(("setup", "no powers of tau".into()));
    let (r, ran) = case.run();
    assert_eq!(r.status, CellStatus::Failed);
    assert_eq!(
        r.reason.as_deref(),
        Some("provisioning before setup: no powers of tau")
    );
    assert_eq!(ran, ["rep-0/compile"]);
}

#[test]
fn an_interrupted_step_and_a_ctrl_c_between_repetitions_interrupt_the_cell() {
    let mut case = Case::new(&["prove", "verify"]);
    case.script = Script::default().then("prove", Outcome::interrupted());
    let (r, ran) = case.run();
    assert_eq!(r.status, CellStatus::Interrupted);
    assert_eq!(r.reason.as_deref(), Some("prove: interrupted"));
    assert_eq!(ran, ["rep-0/prove"]);

    let mut case = Case::new(&["prove", "verify"]);
    case.reps = 3;
    case.script.interrupt_after = Some((2, case.interrupt.clone()));
    let (r, ran) = case.run();
    assert_eq!(r.status, CellStatus::Interrupted);
    assert_eq!(r.reason.as_deref(), Some("interrupted between repetitions"));
    assert_eq!(ran, ["rep-0/prove", "rep-0/verify"]);
    // The finished repetition is kept, with its metrics.
    assert_eq!(steps_of(&r), [vec!["prove", "verify"]]);
    assert_eq!(r.metrics["collects"], 1.0);
}

#[test]
fn resume_redoes_interrupted_skipped_and_missing_cells_only() {
    let text = "[suite]\nname = \"t\"\n\n[[model]]\nname = \"m\"\n\n[[framework]]\nname = \"f\"\nkind = \"command\"\nsettings = [{ n = 1 }, { n = 2 }, { n = 3 }, { n = 4 }, { n = 5 }, { n = 6 }]\nsteps = { prove = [\"true\"] }\n";
    let cells = Suite::parse(Path::new("s.toml"), text)
        .unwrap()
        .plan(&PlanOptions::default())
        .unwrap();
    let (template, _) = Case::new(&["prove"]).run();
    let result = |i: usize, status: CellStatus| CellResult {
        id: cells[i].id.clone(),
        status,
        ..template.clone()
    };
    let mut stranger = result(0, CellStatus::Ok);
    stranger.id = "another/plan/cell/native".into();
    let done = [
        result(0, CellStatus::Ok),
        result(1, CellStatus::Failed),
        result(2, CellStatus::Unsupported),
        result(3, CellStatus::Interrupted),
        result(4, CellStatus::Skipped),
        stranger,
    ];
    let todo: Vec<&str> = unfinished(&cells, &done)
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(todo, [&cells[3].id, &cells[4].id, &cells[5].id]);
    assert_eq!(unfinished(&cells, &[]).len(), 6);
}
