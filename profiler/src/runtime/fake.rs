//! A fake runtime for unit tests: steps "run" from a script, nothing is spawned, so cell
//! execution (statuses, reasons, interruption) is tested without provers.

use super::{Runtime, RuntimeError, RuntimeKind};
use crate::measure::StepSpec;
use crate::results::StepRun;
use crate::sensors::Sensor;
use crate::suite::Cell;
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// How one run of a step ends.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub exit_code: Option<i32>,
    pub interrupted: bool,
    /// Killed for memory (the kernel's OOM killer or the step's limit).
    pub oom_killed: bool,
    /// The last lines of its stderr.
    pub stderr: Vec<String>,
    /// Wall time reported, seconds.
    pub wall_s: f64,
}

impl Outcome {
    /// Exit 0 after `wall_s` seconds.
    pub fn ok(wall_s: f64) -> Outcome {
        Outcome {
            exit_code: Some(0),
            interrupted: false,
            oom_killed: false,
            stderr: Vec::new(),
            wall_s,
        }
    }

    /// Exit `code` with `stderr` as its last line.
    pub fn exit(code: i32, stderr: &str) -> Outcome {
        Outcome {
            exit_code: Some(code),
            stderr: vec![stderr.to_string()],
            ..Outcome::ok(0.1)
        }
    }

    /// Killed for memory, with `stderr` as its last line.
    pub fn oom(stderr: &str) -> Outcome {
        Outcome {
            exit_code: None,
            oom_killed: true,
            stderr: vec![stderr.to_string()],
            ..Outcome::ok(0.1)
        }
    }

    /// Stopped by Ctrl-C.
    pub fn interrupted() -> Outcome {
        Outcome {
            exit_code: None,
            interrupted: true,
            ..Outcome::ok(0.1)
        }
    }
}

/// The script a [`FakeRuntime`] follows; cloned into every runtime made from it.
#[derive(Clone, Debug, Default)]
pub struct Script {
    /// Per step name, the outcomes of its successive runs; a step with none left succeeds
    /// in 1 s.
    pub outcomes: BTreeMap<String, VecDeque<Outcome>>,
    /// `provision` fails with this message.
    pub provision_error: Option<String>,
    /// After this many step runs (all steps counted), set the flag (a Ctrl-C between steps).
    pub interrupt_after: Option<(usize, Arc<AtomicBool>)>,
}

impl Script {
    /// The script with `outcome` queued for the next run of `step`.
    pub fn then(mut self, step: &str, outcome: Outcome) -> Script {
        self.outcomes
            .entry(step.to_string())
            .or_default()
            .push_back(outcome);
        self
    }
}

/// A runtime that runs nothing: each step's result comes from its [`Script`].
pub struct FakeRuntime {
    pub script: Script,
    /// Every step run so far, as `rep-N/step` (shared with the test).
    pub ran: Rc<RefCell<Vec<String>>>,
}

impl Runtime for FakeRuntime {
    fn kind(&self) -> RuntimeKind {
        RuntimeKind::Native
    }

    fn provision(
        &mut self,
        _cell: &Cell,
        _workdir: &Path,
    ) -> Result<BTreeMap<String, String>, RuntimeError> {
        match &self.script.provision_error {
            Some(e) => Err(RuntimeError::Provision(e.clone())),
            None => Ok(BTreeMap::from([(
                "runtime".to_string(),
                "fake".to_string(),
            )])),
        }
    }

    fn run_step(
        &mut self,
        spec: &StepSpec,
        _sensors: Vec<Box<dyn Sensor>>,
    ) -> Result<StepRun, RuntimeError> {
        let rep = spec
            .log_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.ran.borrow_mut().push(format!("{rep}/{}", spec.name));
        if let Some((n, flag)) = &self.script.interrupt_after {
            if self.ran.borrow().len() >= *n {
                flag.store(true, Ordering::Relaxed);
            }
        }
        let outcome = self
            .script
            .outcomes
            .get_mut(&spec.name)
            .and_then(VecDeque::pop_front)
            .unwrap_or_else(|| Outcome::ok(1.0));
        Ok(step_run(&spec.name, &spec.argv, &outcome))
    }
}

/// A step run with `outcome` (other fields at their serde defaults).
pub fn step_run(step: &str, argv: &[String], outcome: &Outcome) -> StepRun {
    let mut r: StepRun = serde_json::from_value(serde_json::json!({
        "wall_s": outcome.wall_s, "user_s": 0.0, "sys_s": 0.0, "peak_tree_bytes": 1024,
        "peak_process_bytes": 1024, "memory_method": "proc_sampling",
        "exit_code": outcome.exit_code, "signal": null, "oom_killed": false,
        "timed_out": false, "step": step,
    }))
    .expect("a step run from its required fields");
    r.argv = argv.to_vec();
    r.interrupted = outcome.interrupted;
    r.oom_killed = outcome.oom_killed;
    r.stderr_tail = outcome.stderr.clone();
    r
}
