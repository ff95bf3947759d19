//! Checks of a parsed suite that look across its entries: names (control characters,
//! length), the cell ids they make (duplicates, collisions after sanitising, length) and
//! the `{setting.KEY}` placeholders of command steps (every settings variant must have
//! `KEY`). Each error points at the entry that breaks the rule.

use super::schema::RawSuite;
use super::{settings_label, FrameworkSpec, Model};
use crate::limits;
use std::collections::BTreeMap;
use std::ops::Range;

/// Runs every check; `invalid` turns a span and a message into the suite's error.
pub(super) fn check<E>(
    raw: &RawSuite,
    models: &[Model],
    frameworks: &[FrameworkSpec],
    runtimes: &[crate::kinds::RuntimeKind],
    invalid: &impl Fn(Option<Range<usize>>, String) -> E,
) -> Result<(), E> {
    limits::name("suite.name", &raw.suite.name).map_err(|m| invalid(None, m))?;
    for m in &raw.model {
        limits::name("model.name", m.name.get_ref())
            .map_err(|e| invalid(Some(m.name.span()), e))?;
        if m.name.get_ref().trim().is_empty() {
            return Err(invalid(
                Some(m.name.span()),
                "model.name is empty; give the model a name".into(),
            ));
        }
    }
    for (f, spec) in raw.framework.iter().zip(frameworks) {
        let span = Some(f.name.span());
        limits::name("framework.name", &spec.name).map_err(|e| invalid(span.clone(), e))?;
        if spec.name.trim().is_empty() {
            return Err(invalid(
                span,
                "framework.name is empty; give the framework a name".into(),
            ));
        }
        for (i, variant) in spec.settings.iter().enumerate() {
            for (k, v) in variant {
                let what = format!("framework `{}`: settings[{i}]", spec.name);
                limits::name(&format!("{what} key"), k).map_err(|e| invalid(span.clone(), e))?;
                check_value(&format!("{what}.{k}"), v).map_err(|e| invalid(span.clone(), e))?;
            }
        }
        check_setting_placeholders(spec, f).map_err(|(span, e)| invalid(Some(span), e))?;
    }
    check_cell_ids(raw, models, frameworks, runtimes, invalid)
}

/// A settings value: strings (also inside arrays and tables) follow the name rules.
fn check_value(what: &str, v: &serde_json::Value) -> Result<(), String> {
    match v {
        serde_json::Value::String(s) => limits::name(what, s),
        serde_json::Value::Array(a) => a.iter().try_for_each(|x| check_value(what, x)),
        serde_json::Value::Object(o) => o.iter().try_for_each(|(k, x)| {
            limits::name(what, k)?;
            check_value(what, x)
        }),
        _ => Ok(()),
    }
}

/// Every `{setting.KEY}` of a step must name a key that every settings variant has;
/// otherwise the placeholder would reach the command literally.
fn check_setting_placeholders(
    spec: &FrameworkSpec,
    raw: &super::schema::RawFramework,
) -> Result<(), (Range<usize>, String)> {
    let Some(steps) = &raw.steps else {
        return Ok(());
    };
    for (step, argv) in steps.get_ref() {
        for arg in argv.get_ref() {
            for key in setting_keys(arg) {
                for (i, variant) in spec.settings.iter().enumerate() {
                    if !variant.contains_key(key) {
                        let have: Vec<&str> = variant.keys().map(String::as_str).collect();
                        return Err((
                            argv.span(),
                            format!(
                                "framework.steps.{step}: `{{setting.{key}}}` names no setting of settings variant {} ({}); add `{key}` to every variant or remove the placeholder",
                                i + 1,
                                if have.is_empty() { "it has none".to_string() } else { format!("it has {}", have.join(", ")) }
                            ),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// The `KEY`s of `{setting.KEY}` in an argument.
fn setting_keys(arg: &str) -> Vec<&str> {
    let mut keys = Vec::new();
    let mut rest = arg;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        if let Some(k) = after[..close].strip_prefix("setting.") {
            keys.push(k);
        }
        rest = &after[close + 1..];
    }
    keys
}

/// Cell ids must be unique, stay unique after sanitising into a directory name, and fit
/// in one path component.
fn check_cell_ids<E>(
    raw: &RawSuite,
    models: &[Model],
    frameworks: &[FrameworkSpec],
    runtimes: &[crate::kinds::RuntimeKind],
    invalid: &impl Fn(Option<Range<usize>>, String) -> E,
) -> Result<(), E> {
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    let mut dirs: BTreeMap<String, String> = BTreeMap::new();
    for (mi, model) in models.iter().enumerate() {
        let span = raw.model.get(mi).map(|m| m.name.span());
        for fw in frameworks {
            if !model.frameworks.is_empty() && !model.frameworks.contains(&fw.name) {
                continue;
            }
            for settings in &fw.settings {
                for runtime in runtimes {
                    let id = format!(
                        "{}/{}/{}/{}",
                        model.name,
                        fw.name,
                        settings_label(settings),
                        runtime
                    );
                    let shown = crate::terminal::escape(&id);
                    if ids.insert(id.clone(), id.clone()).is_some() {
                        return Err(invalid(
                            span,
                            format!("cell `{shown}` is made twice (by two models, frameworks or settings variants that print alike); rename one or drop the duplicate settings"),
                        ));
                    }
                    let dir = super::cell_dir_name(&id);
                    if dir.len() > limits::MAX_CELL_DIR_BYTES {
                        return Err(invalid(
                            span,
                            format!("cell `{shown}` has an id of {} bytes; its work directory allows at most {}: shorten the model, framework or settings names", dir.len(), limits::MAX_CELL_DIR_BYTES),
                        ));
                    }
                    if let Some(other) = dirs.insert(dir.clone(), id.clone()) {
                        return Err(invalid(
                            span,
                            format!("cells `{}` and `{shown}` would share the work directory `{dir}`; rename one", crate::terminal::escape(&other)),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}
