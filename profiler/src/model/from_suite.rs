//! The model fields of a suite's `[[model]]` table, checked into a [`ModelSpec`] with
//! `file:line:col` errors (the suite parser passes its error builder in).

use super::spec::{Activation, Dataset, ModelKind, ModelSpec, Resize, ACTIVATIONS, DATASETS, MODEL_KINDS, RESIZES};
use std::ops::Range;
use std::path::Path;
use toml::Spanned;

/// The raw spec fields of one `[[model]]`, with their places in the file.
pub struct RawSpec<'a> {
    pub name: &'a Spanned<String>,
    pub kind: Option<&'a Spanned<String>>,
    pub dataset: Option<&'a Spanned<String>>,
    pub input_side: Option<&'a Spanned<i64>>,
    pub resize: Option<&'a Spanned<String>>,
    pub hidden: Option<&'a Spanned<Vec<i64>>>,
    pub conv: Option<&'a Spanned<Vec<i64>>>,
    pub kernel: Option<&'a Spanned<i64>>,
    pub activation: Option<&'a Spanned<String>>,
    pub seed: Option<&'a Spanned<i64>>,
    pub epochs: Option<&'a Spanned<i64>>,
}

fn one_of<'v, T: Copy, E>(
    v: &Spanned<String>,
    field: &str,
    names: &[&str],
    values: &'v [T],
    invalid: &impl Fn(Option<Range<usize>>, String) -> E,
) -> Result<T, E> {
    match names.iter().position(|n| n == v.get_ref()) {
        Some(i) => Ok(values[i]),
        None => Err(invalid(
            Some(v.span()),
            format!("model.{field}: unknown value `{}`; valid values: {}", v.get_ref(), names.join(", ")),
        )),
    }
}

fn positive<E>(
    v: &Spanned<i64>,
    field: &str,
    invalid: &impl Fn(Option<Range<usize>>, String) -> E,
) -> Result<usize, E> {
    match usize::try_from(*v.get_ref()) {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(invalid(Some(v.span()), format!("model.{field}: {} must be a positive integer", v.get_ref()))),
    }
}

fn widths<E>(
    v: &Spanned<Vec<i64>>,
    field: &str,
    invalid: &impl Fn(Option<Range<usize>>, String) -> E,
) -> Result<Vec<usize>, E> {
    v.get_ref()
        .iter()
        .map(|w| match usize::try_from(*w) {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(invalid(Some(v.span()), format!("model.{field}: width {w} must be a positive integer"))),
        })
        .collect()
}

/// Builds and checks the spec of one model. `onnx` is the model's (existing) ONNX file.
pub fn model_spec<E>(
    raw: RawSpec<'_>,
    onnx: Option<&Path>,
    invalid: &impl Fn(Option<Range<usize>>, String) -> E,
) -> Result<ModelSpec, E> {
    let mut spec = ModelSpec::default();
    let kinds = [ModelKind::Mlp, ModelKind::Cnn, ModelKind::Onnx];
    spec.kind = match raw.kind {
        Some(k) => one_of(k, "kind", &MODEL_KINDS, &kinds, invalid)?,
        None if onnx.is_some() => ModelKind::Onnx,
        None => ModelKind::Mlp,
    };
    let name = raw.name.get_ref();
    let at_kind = raw.kind.map(Spanned::span).or(Some(raw.name.span()));
    if spec.kind == ModelKind::Onnx && onnx.is_none() {
        return Err(invalid(at_kind, format!("model `{name}`: kind = \"onnx\" needs `onnx = \"path/to/model.onnx\"`")));
    }
    if spec.kind != ModelKind::Onnx && onnx.is_some() {
        return Err(invalid(
            at_kind,
            format!("model `{name}`: `onnx` is for kind = \"onnx\"; a `{:?}` spec is trained by zkprof", spec.kind).to_lowercase(),
        ));
    }
    spec.dataset = match raw.dataset {
        Some(d) => Some(one_of(d, "dataset", &DATASETS, &[Dataset::Mnist, Dataset::Cifar10], invalid)?),
        None if spec.kind == ModelKind::Onnx => None,
        None => Some(Dataset::Mnist),
    };
    if let Some(v) = raw.input_side {
        spec.input_side = Some(positive(v, "input_side", invalid)?);
    }
    if let Some(v) = raw.resize {
        let all = [Resize::Area, Resize::Nearest, Resize::BilinearAlignCorners];
        spec.resize = one_of(v, "resize", &RESIZES, &all, invalid)?;
    }
    if let Some(v) = raw.hidden {
        spec.hidden = widths(v, "hidden", invalid)?;
    }
    if let Some(v) = raw.conv {
        spec.conv = widths(v, "conv", invalid)?;
    }
    if let Some(v) = raw.kernel {
        spec.kernel = positive(v, "kernel", invalid)?;
    }
    if let Some(v) = raw.activation {
        spec.activation = one_of(v, "activation", &ACTIVATIONS, &[Activation::Relu], invalid)?;
    }
    if let Some(v) = raw.seed {
        spec.seed = u64::try_from(*v.get_ref())
            .map_err(|_| invalid(Some(v.span()), format!("model.seed: {} must be a non-negative integer", v.get_ref())))?;
    }
    if let Some(v) = raw.epochs {
        spec.epochs = u32::try_from(positive(v, "epochs", invalid)?).unwrap_or(u32::MAX);
    }
    spec.validate().map_err(|m| invalid(Some(raw.name.span()), format!("model `{name}`: {m}")))?;
    Ok(spec)
}
