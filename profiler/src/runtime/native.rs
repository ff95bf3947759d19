//! The native runtime: each step is a process tree on the host, measured by the runner.

use super::{Runtime, RuntimeError};
use crate::measure::{Runner, StepSpec};
use crate::results::StepRun;
use crate::sensors::Sensor;
use crate::suite::Cell;
use std::collections::BTreeMap;
use std::path::Path;

/// Runs steps directly on the host.
pub struct NativeRuntime<'a> {
    runner: &'a Runner,
}

impl<'a> NativeRuntime<'a> {
    /// A native runtime measuring with `runner`.
    pub fn new(runner: &'a Runner) -> NativeRuntime<'a> {
        NativeRuntime { runner }
    }
}

impl Runtime for NativeRuntime<'_> {
    fn kind(&self) -> super::RuntimeKind {
        super::RuntimeKind::Native
    }

    fn provision(
        &mut self,
        _cell: &Cell,
        _workdir: &Path,
    ) -> Result<BTreeMap<String, String>, RuntimeError> {
        Ok(BTreeMap::from([(
            "runtime".to_string(),
            "native".to_string(),
        )]))
    }

    fn run_step(
        &mut self,
        spec: &StepSpec,
        sensors: Vec<Box<dyn Sensor>>,
    ) -> Result<StepRun, RuntimeError> {
        Ok(self.runner.run(spec, sensors)?)
    }
}
