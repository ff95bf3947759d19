//! Expansion of a validated suite into cells (models x frameworks x settings x runtimes),
//! and the names derived from a cell: its settings label, its work directory and the
//! filled-in argv of a command step.

use super::{Cell, PlanOptions, Suite, SuiteError};
use crate::kinds::RuntimeKind;
use std::collections::BTreeMap;

impl Suite {
    /// Expands the suite into cells, in a stable order (models, frameworks, settings, runtimes).
    pub fn plan(&self, opts: &PlanOptions) -> Result<Vec<Cell>, SuiteError> {
        let plan_err = |message: String| SuiteError::Plan {
            path: self.path.clone(),
            message,
        };
        for f in &opts.frameworks {
            if !self
                .frameworks
                .iter()
                .any(|x| &x.name == f || x.kind.name() == f)
            {
                let names: Vec<&str> = self.frameworks.iter().map(|x| x.name.as_str()).collect();
                return Err(plan_err(format!(
                    "--framework {f}: not in this suite; its frameworks: {}",
                    names.join(", ")
                )));
            }
        }
        for pattern in &opts.models {
            if !self.models.iter().any(|m| matches(pattern, &m.name)) {
                let names: Vec<&str> = self.models.iter().map(|x| x.name.as_str()).collect();
                return Err(plan_err(format!(
                    "--model {pattern}: matches no model of this suite; its models: {}",
                    names.join(", ")
                )));
            }
        }
        let runtimes = match &opts.runtime {
            Some(r) => match RuntimeKind::from_name(r) {
                Some(k) => vec![k],
                None => {
                    return Err(plan_err(format!(
                        "--runtime {r}: unknown; valid runtimes: {}",
                        RuntimeKind::NAMES.join(", ")
                    )))
                }
            },
            None => self.runtimes.clone(),
        };
        let mut cells = Vec::new();
        for model in &self.models {
            if !opts.models.is_empty() && !opts.models.iter().any(|p| matches(p, &model.name)) {
                continue;
            }
            if let (Some(max), Some(p)) = (opts.max_params, model.params) {
                if p > max {
                    continue;
                }
            }
            for fw in &self.frameworks {
                if !model.frameworks.is_empty() && !model.frameworks.contains(&fw.name) {
                    continue;
                }
                if !opts.frameworks.is_empty()
                    && !opts
                        .frameworks
                        .iter()
                        .any(|f| f == &fw.name || f == fw.kind.name())
                {
                    continue;
                }
                for settings in &fw.settings {
                    let mut settings = settings.clone();
                    if let Some(n) = opts.accuracy_samples {
                        if settings.contains_key("accuracy_samples")
                            || super::ACCURACY_KINDS.contains(&fw.kind)
                        {
                            settings.insert("accuracy_samples".into(), n.into());
                        }
                    }
                    let settings = &settings;
                    for runtime in &runtimes {
                        cells.push(Cell {
                            id: format!(
                                "{}/{}/{}/{}",
                                model.name,
                                fw.name,
                                settings_label(settings),
                                runtime
                            ),
                            model: model.clone(),
                            framework: fw.clone(),
                            settings: settings.clone(),
                            runtime: *runtime,
                        });
                    }
                }
            }
        }
        Ok(cells)
    }
}

/// Whether `name` matches `pattern`, where `*` stands for any run of characters (none
/// included) and every other character for itself.
pub fn matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == name;
    };
    if parts.len() == 1 {
        return pattern == name;
    }
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// `default` for no settings, else `k=v,k=v` in key order.
pub fn settings_label(settings: &BTreeMap<String, serde_json::Value>) -> String {
    if settings.is_empty() {
        return "default".into();
    }
    settings
        .iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// A directory name for a cell id: ASCII letters, digits and `-_.=` kept, anything else `_`.
pub fn cell_dir_name(id: &str) -> String {
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

/// Fills the placeholders of an argv template.
pub fn fill_placeholders(template: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match vars.get(name) {
                    Some(v) => out.push_str(v),
                    None => out.push_str(&rest[open..open + close + 2]),
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}
