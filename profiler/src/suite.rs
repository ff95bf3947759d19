//! Suite files (TOML): models x frameworks x settings x runtimes, with repetitions.
//!
//! ```toml
//! [suite]
//! name = "quickstart"
//! version = 1            # bump when the cells change meaning; `merge` compares it
//! repetitions = 3
//! warmup = 0
//! timeout_s = 600        # per step
//! memory_limit = "8G"    # per step, optional
//!
//! [[model]]
//! name = "tiny"
//! onnx = "models/tiny.onnx"   # optional, relative to the suite file
//!
//! [[framework]]
//! name = "fake-prover"
//! kind = "command"            # defaults to the name
//! settings = [{ level = 1 }, { level = 2 }]
//! steps = { setup = ["sh", "-c", "..."], prove = ["./prove", "{model_path}", "{setting.level}"] }
//! image = "ezkl"              # docker/nix runtimes: the environment (defaults to the kind)
//! cpuset = "0-3"              # docker runtime: CPUs a step container may use
//! home = "../opml"            # external frameworks (opml): the user's own build, relative
//!                             # to the suite file (else `ZKPROF_<KIND>_HOME`)
//! ```
//!
//! Every error names `file:line:col`, the field, and the valid values.

use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

use crate::kinds::{FrameworkKind, RuntimeKind};

#[path = "suite_phases.rs"]
pub mod phases;

/// The steps a framework can have, in the order they run.
pub const STEP_ORDER: [&str; 5] = ["compile", "setup", "witness", "prove", "verify"];
/// A suite that could not be read or is invalid.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error("cannot read suite {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}:{col}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        col: usize,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    Plan { path: PathBuf, message: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSuite {
    suite: RawHeader,
    #[serde(default)]
    model: Vec<RawModel>,
    #[serde(default)]
    framework: Vec<RawFramework>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    name: String,
    #[serde(default = "one")]
    version: u32,
    #[serde(default)]
    description: String,
    #[serde(default = "one")]
    repetitions: u32,
    #[serde(default)]
    warmup: u32,
    timeout_s: Option<Spanned<f64>>,
    memory_limit: Option<Spanned<String>>,
    #[serde(default)]
    runtimes: Vec<Spanned<String>>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    onnx: Option<Spanned<String>>,
    kind: Option<Spanned<String>>,
    dataset: Option<Spanned<String>>,
    input_side: Option<Spanned<i64>>,
    resize: Option<Spanned<String>>,
    hidden: Option<Spanned<Vec<i64>>>,
    conv: Option<Spanned<Vec<i64>>>,
    kernel: Option<Spanned<i64>>,
    activation: Option<Spanned<String>>,
    seed: Option<Spanned<i64>>,
    epochs: Option<Spanned<i64>>,
    #[serde(default)]
    frameworks: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFramework {
    name: Spanned<String>,
    kind: Option<Spanned<String>>,
    #[serde(default)]
    settings: Vec<toml::Table>,
    steps: Option<Spanned<BTreeMap<String, Spanned<Vec<String>>>>>,
    timeout_s: Option<Spanned<f64>>,
    memory_limit: Option<Spanned<String>>,
    image: Option<Spanned<String>>,
    cpuset: Option<Spanned<String>>,
    home: Option<Spanned<String>>,
    phases: Option<Spanned<BTreeMap<String, Vec<phases::RawPhase>>>>,
}

/// A parsed, validated suite.
#[derive(Clone, Debug, PartialEq)]
pub struct Suite {
    pub path: PathBuf,
    pub name: String,
    pub version: u32,
    pub description: String,
    pub repetitions: u32,
    pub warmup: u32,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    pub models: Vec<Model>,
    pub frameworks: Vec<FrameworkSpec>,
    pub runtimes: Vec<RuntimeKind>,
}

/// A model of a suite.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Model {
    pub name: String,
    pub description: String,
    /// Absolute path of its ONNX file, when it has one.
    pub onnx: Option<PathBuf>,
    /// Architecture, dataset and training recipe (see `model::spec`).
    pub spec: crate::model::ModelSpec,
    /// Parameters known before preparing (from the spec of a model zkprof trains, from the
    /// file of an ONNX import); `None` when the file cannot be read.
    pub params: Option<u64>,
    /// Run this model only with these frameworks (by name); empty: with all.
    pub frameworks: Vec<String>,
}

/// A framework entry of a suite.
#[derive(Clone, Debug, PartialEq)]
pub struct FrameworkSpec {
    pub name: String,
    pub kind: FrameworkKind,
    /// Settings variants (at least one, possibly empty).
    pub settings: Vec<BTreeMap<String, serde_json::Value>>,
    /// For `command`: step name -> argv template, in `STEP_ORDER`.
    pub steps: Vec<(String, Vec<String>)>,
    /// Per-step timeout, seconds.
    pub timeout_s: Option<f64>,
    /// Per-step memory limit, bytes.
    pub memory_limit: Option<u64>,
    /// The environment for the docker/nix runtimes (`images/<image>/`, flake `env-<image>`);
    /// defaults to the kind.
    pub image: Option<String>,
    /// CPUs a container step may use (`--cpuset-cpus`, e.g. `0-3`).
    pub cpuset: Option<String>,
    /// An external framework's installation (the user's own build; relative to the suite
    /// file). Unset: `$ZKPROF_<KIND>_HOME`.
    pub home: Option<PathBuf>,
    /// For `command`: the phases of a step (see `suite_phases.rs`), by step name.
    pub phases: BTreeMap<String, Vec<crate::measure::PhaseRule>>,
}

/// One cell of the plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// `model/framework/settings/runtime`.
    pub id: String,
    pub model: Model,
    pub framework: FrameworkSpec,
    pub settings: BTreeMap<String, serde_json::Value>,
    pub runtime: RuntimeKind,
}

/// Filters and overrides from the command line.
#[derive(Clone, Debug, Default)]
pub struct PlanOptions {
    /// Keep only these frameworks (by name or kind); empty keeps all.
    pub frameworks: Vec<String>,
    /// Run every cell in this runtime instead of the suite's.
    pub runtime: Option<String>,
    /// Override the suite's repetitions.
    pub repetitions: Option<u32>,
    /// Skip models with more parameters than this (known counts only), so a small machine
    /// runs the small end of a scaling suite.
    pub max_params: Option<u64>,
}

/// A byte offset to a 1-based line and column.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1;
    (line, col)
}

impl Suite {
    /// Reads and validates a suite file.
    pub fn load(path: &Path) -> Result<Suite, SuiteError> {
        let text = crate::input::read_capped_text(path, crate::limits::MAX_SUITE_BYTES, "suite")
            .map_err(|source| SuiteError::Read {
                path: path.to_path_buf(),
                source,
            })?;
        Suite::parse(path, &text)
    }

    /// Parses suite text; `path` is used in messages and to resolve relative paths.
    pub fn parse(path: &Path, text: &str) -> Result<Suite, SuiteError> {
        let invalid = |span: Option<Range<usize>>, message: String| {
            let (line, col) = span.map_or((1, 1), |s| line_col(text, s.start));
            SuiteError::Invalid {
                path: path.to_path_buf(),
                line,
                col,
                message,
            }
        };
        let raw: RawSuite =
            toml::from_str(text).map_err(|e| invalid(e.span(), e.message().trim().to_string()))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let h = &raw.suite;
        crate::limits::count("suite.repetitions", h.repetitions, 1)
            .map_err(|m| invalid(find(text, "repetitions"), m))?;
        crate::limits::count("suite.warmup", h.warmup, 0)
            .map_err(|m| invalid(find(text, "warmup"), m))?;
        let suite_timeout = check_timeout(&h.timeout_s, &invalid)?;
        let suite_limit = check_limit(&h.memory_limit, &invalid)?;
        let mut runtimes = Vec::new();
        for r in &h.runtimes {
            runtimes.push(one_of(r, RuntimeKind::NAMES, "suite.runtimes", &invalid)?);
        }
        if runtimes.is_empty() {
            runtimes.push(RuntimeKind::Native);
        }

        let mut models: Vec<Model> = Vec::new();
        for m in &raw.model {
            if models.iter().any(|x| &x.name == m.name.get_ref()) {
                return Err(invalid(
                    Some(m.name.span()),
                    format!("model `{}` is defined twice", m.name.get_ref()),
                ));
            }
            let onnx = match &m.onnx {
                Some(p) => {
                    let abs = base.join(p.get_ref());
                    if !abs.exists() {
                        return Err(invalid(
                            Some(p.span()),
                            format!("model.onnx: file {} does not exist", abs.display()),
                        ));
                    }
                    if !abs.is_file() {
                        return Err(invalid(
                            Some(p.span()),
                            format!(
                                "model.onnx: {} is not a regular file; give the path of an .onnx file",
                                abs.display()
                            ),
                        ));
                    }
                    Some(abs)
                }
                None => None,
            };
            let spec =
                crate::model::from_suite::model_spec(m_fields(m), onnx.as_deref(), &invalid)?;
            let params = match spec.kind {
                crate::model::ModelKind::Onnx => onnx
                    .as_deref()
                    .and_then(|p| crate::model::onnx::info(p).ok())
                    .map(|i| i.params),
                _ => spec.params(),
            };
            models.push(Model {
                name: m.name.get_ref().clone(),
                description: m.description.clone(),
                onnx,
                spec,
                params,
                frameworks: m.frameworks.iter().map(|f| f.get_ref().clone()).collect(),
            });
        }
        if models.is_empty() {
            return Err(invalid(
                None,
                "the suite has no [[model]]; add at least one".into(),
            ));
        }

        let mut frameworks: Vec<FrameworkSpec> = Vec::new();
        for f in &raw.framework {
            let name = f.name.get_ref().clone();
            if frameworks.iter().any(|x| x.name == name) {
                return Err(invalid(
                    Some(f.name.span()),
                    format!("framework `{name}` is defined twice"),
                ));
            }
            let kind = match &f.kind {
                Some(k) => one_of(k, FrameworkKind::NAMES, "framework.kind", &invalid)?,
                None => one_of(
                    &f.name,
                    FrameworkKind::NAMES,
                    "framework.kind (from its name)",
                    &invalid,
                )?,
            };
            let mut steps = Vec::new();
            let empty = BTreeMap::new();
            let (step_map, steps_span) = match &f.steps {
                Some(s) => (s.get_ref(), Some(s.span())),
                None => (&empty, None),
            };
            for (step, argv) in step_map {
                if !STEP_ORDER.contains(&step.as_str()) {
                    return Err(invalid(
                        steps_span.clone(),
                        format!(
                            "framework.steps: unknown step `{step}`; valid steps: {}",
                            STEP_ORDER.join(", ")
                        ),
                    ));
                }
                if argv.get_ref().is_empty() {
                    return Err(invalid(
                        Some(argv.span()),
                        format!("framework.steps.{step}: empty command"),
                    ));
                }
                for arg in argv.get_ref() {
                    if let Err(e) = check_placeholders(arg) {
                        return Err(invalid(
                            Some(argv.span()),
                            format!("framework.steps.{step}: {e}"),
                        ));
                    }
                }
            }
            for step in STEP_ORDER {
                if let Some(argv) = step_map.get(step) {
                    steps.push((step.to_string(), argv.get_ref().clone()));
                }
            }
            if kind == FrameworkKind::Command && steps.is_empty() {
                return Err(invalid(
                    Some(f.name.span()),
                    format!("framework `{name}` of kind `command` needs `steps`, e.g. steps = {{ prove = [\"./prove\"] }}"),
                ));
            }
            let settings: Vec<BTreeMap<String, serde_json::Value>> = if f.settings.is_empty() {
                vec![BTreeMap::new()]
            } else {
                f.settings
                    .iter()
                    .map(|t| {
                        t.iter()
                            .map(|(k, v)| {
                                (
                                    k.clone(),
                                    serde_json::to_value(v).unwrap_or(serde_json::Value::Null),
                                )
                            })
                            .collect()
                    })
                    .collect()
            };
            let step_names: Vec<String> = steps.iter().map(|(s, _)| s.clone()).collect();
            let phases = phases::check(&f.phases, &step_names, &invalid)?;
            frameworks.push(FrameworkSpec {
                name,
                kind,
                settings,
                steps,
                timeout_s: check_timeout(&f.timeout_s, &invalid)?.or(suite_timeout),
                memory_limit: check_limit(&f.memory_limit, &invalid)?.or(suite_limit),
                image: check_name(&f.image, "framework.image", &invalid)?,
                cpuset: check_cpuset(&f.cpuset, &invalid)?,
                home: f.home.as_ref().map(|h| base.join(h.get_ref())),
                phases,
            });
        }
        if frameworks.is_empty() {
            return Err(invalid(
                None,
                "the suite has no [[framework]]; add at least one".into(),
            ));
        }
        for m in &raw.model {
            for f in &m.frameworks {
                if !frameworks.iter().any(|x| &x.name == f.get_ref()) {
                    let names: Vec<&str> = frameworks.iter().map(|x| x.name.as_str()).collect();
                    return Err(invalid(
                        Some(f.span()),
                        format!(
                            "model `{}`: framework `{}` is not defined in this suite; its frameworks: {}",
                            m.name.get_ref(),
                            f.get_ref(),
                            names.join(", ")
                        ),
                    ));
                }
            }
        }
        checks::check(&raw, &models, &frameworks, &runtimes, &invalid)?;
        Ok(Suite {
            path: path.to_path_buf(),
            name: h.name.clone(),
            version: h.version,
            description: h.description.clone(),
            repetitions: h.repetitions,
            warmup: h.warmup,
            sha256: hex::encode(Sha256::digest(text.as_bytes())),
            models,
            frameworks,
            runtimes,
        })
    }

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

/// The placeholders a command step may use.
pub const PLACEHOLDERS: [&str; 6] = [
    "model",
    "model_path",
    "workdir",
    "rep",
    "framework",
    "setting.KEY",
];

fn check_placeholders(arg: &str) -> Result<(), String> {
    let mut rest = arg;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err(format!("unclosed `{{` in `{arg}`"));
        };
        let name = &after[..close];
        let ok = PLACEHOLDERS[..5].contains(&name)
            || name.strip_prefix("setting.").is_some_and(|k| !k.is_empty());
        if !ok {
            return Err(format!(
                "unknown placeholder `{{{name}}}`; valid placeholders: {}",
                PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
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

/// The spec fields of a raw model, for `model::from_suite`.
fn m_fields(m: &RawModel) -> crate::model::from_suite::RawSpec<'_> {
    crate::model::from_suite::RawSpec {
        name: &m.name,
        kind: m.kind.as_ref(),
        dataset: m.dataset.as_ref(),
        input_side: m.input_side.as_ref(),
        resize: m.resize.as_ref(),
        hidden: m.hidden.as_ref(),
        conv: m.conv.as_ref(),
        kernel: m.kernel.as_ref(),
        activation: m.activation.as_ref(),
        seed: m.seed.as_ref(),
        epochs: m.epochs.as_ref(),
    }
}

fn find(text: &str, key: &str) -> Option<Range<usize>> {
    text.find(key).map(|s| s..s + key.len())
}

/// `value` parsed as one of the kinds named in `valid`, else an error listing them.
fn one_of<K: std::str::FromStr, E>(
    value: &Spanned<String>,
    valid: &[&str],
    field: &str,
    invalid: &impl Fn(Option<Range<usize>>, String) -> E,
) -> Result<K, E> {
    if let Ok(k) = value.get_ref().parse() {
        return Ok(k);
    }
    Err(invalid(
        Some(value.span()),
        format!(
            "{field}: unknown value `{}`; valid values: {}",
            value.get_ref(),
            valid.join(", ")
        ),
    ))
}

fn check_timeout<E>(
    t: &Option<Spanned<f64>>,
    invalid: &impl Fn(Option<Range<usize>>, String) -> E,
) -> Result<Option<f64>, E> {
    match t {
        Some(v) => crate::limits::timeout_s(*v.get_ref())
            .map(|_| Some(*v.get_ref()))
            .map_err(|m| invalid(Some(v.span()), format!("timeout_s: {m}"))),
        None => Ok(None),
    }
}

fn check_limit<E>(
    t: &Option<Spanned<String>>,
    invalid: &impl Fn(Option<Range<usize>>, String) -> E,
) -> Result<Option<u64>, E> {
    match t {
        Some(v) => crate::limits::memory_limit(v.get_ref())
            .map(Some)
            .map_err(|m| invalid(Some(v.span()), format!("memory_limit: {m}"))),
        None => Ok(None),
    }
}

/// An environment name: letters, digits, `-`, `_`, `.` (it names `images/<name>/`).
fn check_name<E>(
    t: &Option<Spanned<String>>,
    field: &str,
    invalid: &impl Fn(Option<Range<usize>>, String) -> E,
) -> Result<Option<String>, E> {
    match t {
        Some(v) => {
            let ok = !v.get_ref().is_empty()
                && !v.get_ref().starts_with('.')
                && v.get_ref()
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            if ok {
                Ok(Some(v.get_ref().clone()))
            } else {
                Err(invalid(
                    Some(v.span()),
                    format!("{field}: `{}` is not a recipe name; use letters, digits, `-`, `_` (e.g. \"ezkl\")", v.get_ref()),
                ))
            }
        }
        None => Ok(None),
    }
}

/// A cpuset list such as `0-3,6`.
fn check_cpuset<E>(
    t: &Option<Spanned<String>>,
    invalid: &impl Fn(Option<Range<usize>>, String) -> E,
) -> Result<Option<String>, E> {
    match t {
        Some(v) => {
            let valid = v.get_ref().split(',').all(|part| {
                let mut ends = part.splitn(2, '-');
                let num = |s: Option<&str>| {
                    s.is_some_and(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()))
                };
                let first = ends.next();
                num(first) && ends.next().is_none_or(|e| num(Some(e)))
            });
            if valid {
                Ok(Some(v.get_ref().clone()))
            } else {
                Err(invalid(
                    Some(v.span()),
                    format!(
                        "framework.cpuset: `{}` is not a CPU list; use e.g. \"0-3\" or \"0,2\"",
                        v.get_ref()
                    ),
                ))
            }
        }
        None => Ok(None),
    }
}

#[path = "suite_checks.rs"]
mod checks;

#[cfg(test)]
#[path = "suite_tests.rs"]
mod tests;
