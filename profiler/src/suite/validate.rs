//! Validation of a suite file: every field checked against its valid values, every error
//! naming `file:line:col`, the field and what to write instead. Checks that look across
//! entries (names, cell ids, settings placeholders) are in `checks.rs`.

use super::schema::{RawFramework, RawModel, RawSuite};
use super::{checks, model, phases, FrameworkSpec, Model, Suite, SuiteError, STEP_ORDER};
use crate::kinds::{FrameworkKind, RuntimeKind};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// A byte offset to a 1-based line and column.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1;
    (line, col)
}

impl Suite {
    /// Parses suite text; `path` is used in messages and to resolve relative paths. Reference
    /// models are looked up where `zkprof data fetch` puts them.
    pub fn parse(path: &Path, text: &str) -> Result<Suite, SuiteError> {
        Self::parse_in(path, text, &crate::data::reference::data_roots())
    }

    /// [`Suite::parse`] with reference data looked up under `data_roots` (each holding
    /// `<set>/`).
    pub fn parse_in(path: &Path, text: &str, data_roots: &[PathBuf]) -> Result<Suite, SuiteError> {
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
        crate::limits::text("suite.description", &h.description)
            .map_err(|m| invalid(find(text, "description"), m))?;
        for m in &raw.model {
            crate::limits::text("model.description", &m.description)
                .map_err(|e| invalid(Some(m.name.span()), e))?;
        }
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
            models.push(model_of(m, &base, data_roots, &invalid)?);
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
            frameworks.push(framework_of(
                f,
                &base,
                suite_timeout,
                suite_limit,
                &invalid,
            )?);
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
}

/// One `[[model]]`: its ONNX file (relative to the suite, must be a regular file) or its
/// reference model (fetched data, see `data::reference`), and its spec.
fn model_of<E>(
    m: &RawModel,
    base: &Path,
    data_roots: &[PathBuf],
    invalid: &impl Fn(Option<Range<usize>>, String) -> E,
) -> Result<Model, E> {
    let reference = match &m.reference {
        Some(r) => {
            if m.onnx.is_some() {
                return Err(invalid(
                    Some(r.span()),
                    "model.reference: give either `reference` or `onnx`, not both".into(),
                ));
            }
            let files = crate::data::reference::resolve(r.get_ref(), data_roots)
                .map_err(|e| invalid(Some(r.span()), format!("model.reference: {e}")))?;
            if files.onnx.is_none() && m.kind.is_none() {
                return Err(invalid(
                    Some(r.span()),
                    format!(
                        "model.reference: the published ONNX export of `{}` is not a usable graph; \
                         give its architecture (kind = \"cnn\", conv, kernel, hidden) for the frameworks \
                         that take ONNX (zkml uses the published .tflite)",
                        r.get_ref()
                    ),
                ));
            }
            Some(files)
        }
        None => None,
    };
    let from_reference = reference
        .as_ref()
        .and_then(|r| r.onnx.clone())
        .filter(|_| m.kind.as_ref().is_none_or(|k| k.get_ref() == "onnx"));
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
        None => from_reference,
    };
    let mut spec = model::model_spec(m_fields(m), onnx.as_deref(), invalid)?;
    if let Some(r) = &reference {
        // A published model's inputs, unless the suite says otherwise.
        if m.dataset.is_none() && r.dataset == "mnist" {
            spec.dataset = Some(crate::model::Dataset::Mnist);
        }
        if m.input_side.is_none() && r.side != 28 {
            spec.input_side = Some(r.side);
            if m.resize.is_none() {
                spec.resize = crate::model::Resize::Area;
            }
        }
    }
    let params = match spec.kind {
        crate::model::ModelKind::Onnx => onnx
            .as_deref()
            .and_then(|p| crate::model::onnx::info(p).ok())
            .map(|i| i.params),
        _ => spec.params(),
    };
    Ok(Model {
        name: m.name.get_ref().clone(),
        description: m.description.clone(),
        onnx,
        reference,
        spec,
        params,
        frameworks: m.frameworks.iter().map(|f| f.get_ref().clone()).collect(),
    })
}

/// One `[[framework]]`: kind, steps (known names, non-empty commands, valid placeholders),
/// settings, limits (the suite's unless its own), environment and phases.
fn framework_of<E>(
    f: &RawFramework,
    base: &Path,
    suite_timeout: Option<f64>,
    suite_limit: Option<u64>,
    invalid: &impl Fn(Option<Range<usize>>, String) -> E,
) -> Result<FrameworkSpec, E> {
    let name = f.name.get_ref().clone();
    let kind = match &f.kind {
        Some(k) => one_of(k, FrameworkKind::NAMES, "framework.kind", invalid)?,
        None => one_of(
            &f.name,
            FrameworkKind::NAMES,
            "framework.kind (from its name)",
            invalid,
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
    let settings = with_cpus(settings, f, invalid)?;
    let step_names: Vec<String> = steps.iter().map(|(s, _)| s.clone()).collect();
    let phases = phases::check(&f.phases, &step_names, invalid)?;
    Ok(FrameworkSpec {
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
    })
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

/// The spec fields of a raw model, for `model`.
fn m_fields(m: &RawModel) -> model::RawSpec<'_> {
    model::RawSpec {
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
        learning_rate: m.learning_rate.as_ref(),
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
    t: &Option<Spanned<super::schema::Number>>,
    invalid: &impl Fn(Option<Range<usize>>, String) -> E,
) -> Result<Option<f64>, E> {
    match t {
        Some(v) => crate::limits::timeout_s(v.get_ref().0)
            .map(|_| Some(v.get_ref().0))
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

/// The settings tables times the framework's `cpus` list (each table once per CPU count,
/// with `cpus` added); every `cpus` value, in the list or in a table, checked.
fn with_cpus<E>(
    settings: Vec<BTreeMap<String, serde_json::Value>>,
    f: &RawFramework,
    invalid: &impl Fn(Option<Range<usize>>, String) -> E,
) -> Result<Vec<BTreeMap<String, serde_json::Value>>, E> {
    use crate::measure::cpus::{CpuCount, SETTING};
    for t in &settings {
        if let Some(v) = t.get(SETTING) {
            CpuCount::parse(v)
                .map_err(|e| invalid(Some(f.name.span()), format!("framework.settings.{e}")))?;
        }
    }
    let Some(list) = &f.cpus else {
        return Ok(settings);
    };
    if list.get_ref().is_empty() {
        return Err(invalid(
            Some(list.span()),
            "framework.cpus: empty list; give CPU counts, e.g. cpus = [1, 2, \"all\"]".into(),
        ));
    }
    let mut values: Vec<serde_json::Value> = Vec::new();
    for v in list.get_ref() {
        let json = serde_json::to_value(v).unwrap_or(serde_json::Value::Null);
        CpuCount::parse(&json).map_err(|e| invalid(Some(list.span()), format!("framework.{e}")))?;
        if values.contains(&json) {
            return Err(invalid(
                Some(list.span()),
                format!("framework.cpus: {json} is listed twice"),
            ));
        }
        values.push(json);
    }
    if settings.iter().any(|t| t.contains_key(SETTING)) {
        return Err(invalid(
            Some(list.span()),
            "framework.cpus: a settings table also sets `cpus`; give CPU counts in one place"
                .into(),
        ));
    }
    Ok(settings
        .iter()
        .flat_map(|t| {
            values.iter().map(move |v| {
                let mut t = t.clone();
                t.insert(SETTING.into(), v.clone());
                t
            })
        })
        .collect())
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
