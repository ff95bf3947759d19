//! A fake framework for unit tests: a scripted adapter whose prepared cell counts its
//! calls, so cell execution is tested without a real toolchain.

use super::{CellContext, Collected, Framework, FrameworkError, FrameworkKind, PlannedStep};
use super::{PreparedCell, Provisioned, RunOptions};
use crate::results::SensorStatus;
use crate::results::StepRun;
use crate::suite::Cell;
use std::collections::BTreeMap;
use std::path::Path;

/// What the fake adapter does; cloned into each prepared cell.
#[derive(Clone, Debug, Default)]
pub struct FakeFramework {
    /// The steps of a repetition, in order.
    pub steps: Vec<&'static str>,
    /// `provision` fails: `(unsupported, message)`.
    pub provision_error: Option<(bool, String)>,
    /// `before_step` of this step fails with this message.
    pub before_step_error: Option<(&'static str, String)>,
    /// A failed step's output shows the model is unsupported: this reason.
    pub unsupported_reason: Option<String>,
    /// A failed step's output explains it: this reason.
    pub failure_reason: Option<String>,
    /// A step of this name that exits 0 has failed anyway: this reason.
    pub silent_failure: Option<(&'static str, String)>,
    /// Recorded as `info["proof_kind"]`.
    pub proof_kind: Option<&'static str>,
}

impl Framework for FakeFramework {
    fn kind(&self) -> FrameworkKind {
        FrameworkKind::Command
    }

    fn status(&self) -> Vec<SensorStatus> {
        vec![SensorStatus::available("fake")]
    }

    fn provision(
        &self,
        _cell: &Cell,
        _workdir: &Path,
        opts: &RunOptions,
    ) -> Result<Provisioned, FrameworkError> {
        match &self.provision_error {
            Some((true, m)) => return Err(FrameworkError::Unsupported(m.clone())),
            Some((false, m)) => return Err(FrameworkError::Failed(m.clone())),
            None => {}
        }
        let mut info = BTreeMap::from([("provisioned".to_string(), "yes".to_string())]);
        if let Some(p) = &opts.ptau {
            info.insert("ptau".into(), p.display().to_string());
        }
        Ok(Provisioned {
            info,
            cell: Box::new(FakeCell {
                script: self.clone(),
                collects: 0,
            }),
        })
    }

    fn proof_kind(&self) -> Option<&'static str> {
        self.proof_kind
    }
}

/// A prepared fake cell: counts the repetitions it collected (state kept across calls).
pub struct FakeCell {
    script: FakeFramework,
    collects: u32,
}

impl PreparedCell for FakeCell {
    fn steps(&self, ctx: &CellContext) -> Result<Vec<PlannedStep>, FrameworkError> {
        Ok(self
            .script
            .steps
            .iter()
            .map(|s| PlannedStep {
                name: (*s).into(),
                argv: vec![format!("fake-{s}")],
                env: Vec::new(),
                cwd: Some(ctx.workdir.to_path_buf()),
            })
            .collect())
    }

    fn before_step(
        &mut self,
        _ctx: &CellContext,
        step: &mut PlannedStep,
    ) -> Result<BTreeMap<String, String>, FrameworkError> {
        match &self.script.before_step_error {
            Some((s, m)) if *s == step.name => Err(FrameworkError::Failed(m.clone())),
            _ => Ok(BTreeMap::new()),
        }
    }

    fn collect(
        &mut self,
        _ctx: &CellContext,
        _steps: &[StepRun],
    ) -> Result<Collected, FrameworkError> {
        self.collects += 1;
        let mut c = Collected::default();
        c.metrics
            .insert("collects".into(), f64::from(self.collects));
        Ok(c)
    }

    fn evaluate(&self, _cell: &Cell, _workdir: &Path) -> Result<Collected, FrameworkError> {
        let mut c = Collected::default();
        c.metrics
            .insert("collects_seen_by_evaluate".into(), f64::from(self.collects));
        Ok(c)
    }

    fn failure_reason(&self, _step: &StepRun) -> Option<String> {
        self.script.failure_reason.clone()
    }

    fn silent_failure(&self, step: &StepRun) -> Option<String> {
        match &self.script.silent_failure {
            Some((s, m)) if *s == step.step => Some(m.clone()),
            _ => None,
        }
    }

    fn unsupported_reason(&self, _step: &StepRun) -> Option<String> {
        self.script.unsupported_reason.clone()
    }
}
