//! The `command` framework: steps are argv templates from the suite.

use super::{CellContext, Framework, FrameworkError, PlannedStep, PreparedCell, Provisioned};
use crate::suite::fill_placeholders;
use crate::suite::Cell;
use std::collections::BTreeMap;
use std::path::Path;

/// Runs the suite's own commands as steps.
pub struct CommandFramework;

impl Framework for CommandFramework {
    fn kind(&self) -> super::FrameworkKind {
        super::FrameworkKind::Command
    }

    fn status(&self) -> Vec<crate::results::SensorStatus> {
        vec![crate::results::SensorStatus::available_with(
            "command",
            "runs the suite's own `steps` commands; nothing to install",
        )]
    }

    fn provision(
        &self,
        _cell: &Cell,
        _workdir: &Path,
        _opts: &super::RunOptions,
    ) -> Result<Provisioned, FrameworkError> {
        Ok(Provisioned::new(CommandFramework))
    }
}

/// A `command` cell needs no state: its steps come from the suite.
impl PreparedCell for CommandFramework {
    fn phases(&self, cell: &Cell, step: &str) -> Option<crate::measure::PhaseSpec> {
        let rules = cell.framework.phases.get(step)?;
        Some(crate::suite::phases::spec_for(step, rules))
    }

    fn steps(&self, ctx: &CellContext) -> Result<Vec<PlannedStep>, FrameworkError> {
        let cell = ctx.cell;
        let mut vars = BTreeMap::new();
        vars.insert("model".to_string(), cell.model.name.clone());
        vars.insert(
            "model_path".to_string(),
            cell.model
                .onnx
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        );
        vars.insert("workdir".to_string(), ctx.workdir.display().to_string());
        vars.insert("rep".to_string(), ctx.rep.to_string());
        vars.insert("framework".to_string(), cell.framework.name.clone());
        for (k, v) in &cell.settings {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            vars.insert(format!("setting.{k}"), text);
        }
        Ok(cell
            .framework
            .steps
            .iter()
            .map(|(name, argv)| PlannedStep {
                name: name.clone(),
                argv: argv.iter().map(|a| fill_placeholders(a, &vars)).collect(),
                env: Vec::new(),
                cwd: Some(ctx.workdir.to_path_buf()),
            })
            .collect())
    }
}
