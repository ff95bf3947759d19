//! The model fields of a suite's `[[model]]` table, checked into a [`ModelSpec`] with
//! `file:line:col` errors (the suite parser passes its error builder in).

use crate::model::spec::{
    Activation, Dataset, ModelKind, ModelSpec, Resize, ACTIVATIONS, DATASETS, MODEL_KINDS, RESIZES,
};
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
    pub learning_rate: Option<&'a Spanned<f64>>,
}

fn one_of<T: Copy, E>(
    v: &Spanned<String>,
    field: &str,
    names: &[&str],
    values: &[T],
    invalid: &impl Fn(Option<Range<usize>>, String) -> E,
) -> Result<T, E> {
    match names.iter().position(|n| n == v.get_ref()) {
        Some(i) => Ok(values[i]),
        None => Err(invalid(
            Some(v.span()),
            format!(
                "model.{field}: unknown value `{}`; valid values: {}",
                v.get_ref(),
                names.join(", ")
            ),
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
        _ => Err(invalid(
            Some(v.span()),
            format!("model.{field}: {} must be a positive integer", v.get_ref()),
        )),
    }
}

/// The widest layer (units or channels) a suite may ask for: far beyond what any prover
/// handles, and small enough that parameter counts cannot overflow.
const MAX_WIDTH: usize = 1 << 20;

fn widths<E>(
    v: &Spanned<Vec<i64>>,
    field: &str,
    invalid: &impl Fn(Option<Range<usize>>, String) -> E,
) -> Result<Vec<usize>, E> {
    v.get_ref()
        .iter()
        .map(|w| match usize::try_from(*w) {
            Ok(n) if n > 0 && n <= MAX_WIDTH => Ok(n),
            _ => Err(invalid(
                Some(v.span()),
                format!(
                    "model.{field}: width {w} must be a positive integer of at most {MAX_WIDTH}"
                ),
            )),
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
        return Err(invalid(
            at_kind,
            format!("model `{name}`: kind = \"onnx\" needs `onnx = \"path/to/model.onnx\"`"),
        ));
    }
    if spec.kind != ModelKind::Onnx && onnx.is_some() {
        return Err(invalid(
            at_kind,
            format!(
                "model `{name}`: `onnx` is for kind = \"onnx\"; a `{:?}` spec is trained by zkprof",
                spec.kind
            )
            .to_lowercase(),
        ));
    }
    spec.dataset = match raw.dataset {
        Some(d) => Some(one_of(
            d,
            "dataset",
            &DATASETS,
            &[Dataset::Mnist, Dataset::Cifar10],
            invalid,
        )?),
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
        spec.seed = u64::try_from(*v.get_ref()).map_err(|_| {
            invalid(
                Some(v.span()),
                format!("model.seed: {} must be a non-negative integer", v.get_ref()),
            )
        })?;
    }
    if let Some(v) = raw.epochs {
        spec.epochs = u32::try_from(positive(v, "epochs", invalid)?).unwrap_or(u32::MAX);
    }
    if let Some(v) = raw.learning_rate {
        spec.learning_rate = Some(*v.get_ref() as f32);
    }
    spec.validate().map_err(|m| {
        let at = match raw.learning_rate {
            Some(v) if m.starts_with("learning_rate") => v.span(),
            _ => raw.name.span(),
        };
        invalid(Some(at), format!("model `{name}`: {m}"))
    })?;
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use crate::model::{Dataset, ModelKind, Resize};
    use crate::suite::{PlanOptions, Suite};
    use std::path::{Path, PathBuf};

    fn suites_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../suites")
    }

    const BASE: &str = r#"
[suite]
name = "t"

[[model]]
name = "m"
kind = "mlp"
dataset = "mnist"
input_side = 14
hidden = [16]

[[framework]]
name = "fake"
kind = "command"
steps = { prove = ["true"] }
"#;

    fn err(text: &str) -> String {
        Suite::parse(Path::new("s.toml"), text)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn model_fields_parse() {
        let s = Suite::parse(Path::new("s.toml"), BASE).unwrap();
        let m = &s.models[0];
        assert_eq!(
            (m.spec.kind, m.spec.dataset, m.spec.side(), m.spec.resize),
            (ModelKind::Mlp, Some(Dataset::Mnist), 14, Resize::Area)
        );
        assert_eq!(m.params, Some(196 * 16 + 16 + 16 * 10 + 10));
    }

    #[test]
    fn a_learning_rate_is_the_models_own_and_checked_where_written() {
        let s = Suite::parse(Path::new("s.toml"), BASE).unwrap();
        assert_eq!(s.models[0].spec.learning_rate, None);
        let json = serde_json::to_string(&s.models[0].spec).unwrap();
        assert!(
            !json.contains("learning_rate"),
            "unset keeps old keys: {json}"
        );
        let with = BASE.replace("hidden = [16]", "hidden = [16]\nlearning_rate = 0.01");
        let s = Suite::parse(Path::new("s.toml"), &with).unwrap();
        assert_eq!(s.models[0].spec.learning_rate, Some(0.01));
        for bad in ["-0.1", "0.0", "nan", "20.0"] {
            let e = err(&BASE.replace(
                "hidden = [16]",
                &format!("hidden = [16]\nlearning_rate = {bad}"),
            ));
            assert!(
                e.starts_with("s.toml:11:17:") && e.contains("above 0 and at most 10"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn bad_model_fields_have_places() {
        let e = err(&BASE.replace("kind = \"mlp\"", "kind = \"mpl\""));
        assert!(
            e.starts_with("s.toml:7:8:") && e.contains("valid values: mlp, cnn, onnx"),
            "{e}"
        );
        let e = err(&BASE.replace("input_side = 14", "input_side = 13"));
        assert!(
            e.starts_with("s.toml:6:8:") && e.contains("must divide the dataset's side 28"),
            "{e}"
        );
        let e = err(&BASE.replace("[16]", "[16, 0]"));
        assert!(
            e.starts_with("s.toml:10:10:") && e.contains("width 0"),
            "{e}"
        );
        let e = err(&BASE.replace("dataset = \"mnist\"", "dataset = \"imagenet\""));
        assert!(
            e.starts_with("s.toml:8:11:") && e.contains("mnist, cifar10"),
            "{e}"
        );
        let e = err(&BASE.replace("hidden = [16]", "hidden = [16]\nlayers = 3"));
        assert!(e.starts_with("s.toml:11:1:") && e.contains("layers"), "{e}");
        let e = err(&BASE.replace("kind = \"mlp\"", "kind = \"onnx\""));
        assert!(
            e.starts_with("s.toml:7:8:") && e.contains("needs `onnx"),
            "{e}"
        );
    }

    #[test]
    fn reference_to_a_missing_model_file_or_framework() {
        let e = err(&BASE.replace(
            "kind = \"mlp\"",
            "kind = \"onnx\"\nonnx = \"models/gone.onnx\"",
        ));
        assert!(
            e.starts_with("s.toml:8:8:")
                && e.contains("models/gone.onnx")
                && e.contains("does not exist"),
            "{e}"
        );
        let e = err(&BASE.replace("hidden = [16]", "hidden = [16]\nframeworks = [\"ezkl\"]"));
        assert!(
            e.starts_with("s.toml:11:15:")
                && e.contains("framework `ezkl` is not defined")
                && e.contains("fake"),
            "{e}"
        );
    }

    #[test]
    fn scaling_suites_parse_and_the_knob_keeps_the_small_end() {
        for (file, n, small) in [
            ("mnist-mlp-scaling.toml", 19, 30_000),
            ("cifar10-mlp-scaling.toml", 19, 30_000),
        ] {
            let s = Suite::load(&suites_dir().join(file)).unwrap();
            assert_eq!(s.models.len(), n, "{file}");
            for m in &s.models {
                let p = m.params.unwrap();
                assert!(
                    m.description
                        .contains(&format!("({} parameters", fmt_thousands(p))),
                    "{file}: {} {p}",
                    m.description
                );
            }
            let all = s.plan(&PlanOptions::default()).unwrap();
            let few = s
                .plan(&PlanOptions {
                    max_params: Some(small),
                    ..PlanOptions::default()
                })
                .unwrap();
            assert!(
                few.len() * 2 < all.len() && !few.is_empty(),
                "{file}: {} of {}",
                few.len(),
                all.len()
            );
            assert!(few.iter().all(|c| c.model.params.unwrap() <= small));
        }
    }

    #[test]
    fn quickstart_is_tiny_and_single_rep() {
        let s = Suite::load(&suites_dir().join("quickstart.toml")).unwrap();
        assert_eq!((s.repetitions, s.models.len()), (1, 1));
        assert_eq!(s.models[0].params, Some(3322));
        let kinds: Vec<&str> = s.frameworks.iter().map(|f| f.kind.name()).collect();
        assert_eq!(kinds, ["ezkl", "circom"]);
    }

    /// The 2024 reference data fetched from the shared copy into a temporary data root
    /// (`None` without the shared directory; CI requires it).
    pub(crate) fn fetched_2024() -> Option<(tempfile::TempDir, Vec<PathBuf>)> {
        let Some(shared) = crate::paths::shared_dir() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI needs the shared data directory"
            );
            return None;
        };
        let tmp = tempfile::tempdir().unwrap();
        let set = &crate::data::reference::ZKML_BENCHMARK_2024;
        let from = crate::data::fetch::Source::Dir(shared.join("reference/zkml-benchmark-2024"));
        crate::data::reference::fetch(set, &tmp.path().join(set.name), &from).unwrap();
        let roots = vec![tmp.path().to_path_buf()];
        Some((tmp, roots))
    }

    #[test]
    fn zkml_2024_suite_parses_against_the_fetched_models() {
        let Some((_tmp, roots)) = fetched_2024() else {
            return;
        };
        let path = suites_dir().join("zkml-benchmark-2024.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let s = Suite::parse_in(&path, &text, &roots).unwrap();
        // The dense models are the published files; their inputs default to the 2024 ones.
        let m = &s.models[0];
        assert_eq!(
            m.reference.as_ref().map(|r| r.id.as_str()),
            Some("zkml-benchmark-2024/196_25_10")
        );
        assert_eq!(
            (m.spec.dataset, m.spec.side()),
            (Some(crate::model::Dataset::Mnist), 14)
        );
        assert!(m.onnx.as_ref().is_some_and(|p| p.starts_with(&roots[0])));
        // Without the data, the error prints the command that fetches it.
        let empty = tempfile::tempdir().unwrap();
        let e = Suite::parse_in(&path, &text, &[empty.path().to_path_buf()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("model.reference") && e.contains("`zkprof data fetch zkml-benchmark-2024`"),
            "{e}"
        );
        let names: Vec<(&str, Option<u64>)> = s
            .models
            .iter()
            .map(|m| (m.name.as_str(), m.params))
            .collect();
        assert_eq!(
            names,
            [
                ("196_25_10", Some(5185)),
                ("784_56_10", Some(44_530)),
                ("196_24_14_10", Some(5228)),
                ("28_6_16_10_5", Some(5142)),
                ("14_5_11_80_10_3", Some(4966)),
                ("28_6_16_120_84_10_5", Some(44_426)),
            ]
        );
        // EZKL (two modes), circom and zkml everywhere; opML and Orion on the dense models.
        let plan = s.plan(&PlanOptions::default()).unwrap();
        assert_eq!(plan.len(), 6 * 4 + 3 + 3);
        // The CNNs: zkprof's own training for EZKL and circom, the published TFLite for zkml.
        let cnn = s.models.iter().find(|m| m.name == "28_6_16_10_5").unwrap();
        assert_eq!(cnn.spec.kind, crate::model::ModelKind::Cnn);
        assert!(cnn.onnx.is_none());
        assert!(cnn
            .reference
            .as_ref()
            .is_some_and(|r| r.tflite.ends_with("28_6_16_10_5.tflite")));
        // The published EZKL version here, today's in the sibling suite (same models and cells).
        let ezkl_versions = |s: &Suite| -> Vec<String> {
            let f = s.frameworks.iter().find(|f| f.name == "ezkl").unwrap();
            f.settings
                .iter()
                .map(|v| v["version"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(ezkl_versions(&s), ["7.1.4", "7.1.4"]);
        let today = suites_dir().join("zkml-benchmark-2024-today.toml");
        let t = Suite::parse_in(&today, &std::fs::read_to_string(&today).unwrap(), &roots).unwrap();
        assert_eq!(ezkl_versions(&t), ["23.0.5", "23.0.5"]);
        assert_eq!(t.plan(&PlanOptions::default()).unwrap().len(), plan.len());
        for kind in ["opml", "orion"] {
            let models: Vec<&str> = plan
                .iter()
                .filter(|c| c.framework.kind.name() == kind)
                .map(|c| c.model.name.as_str())
                .collect();
            assert_eq!(models, ["196_25_10", "784_56_10", "196_24_14_10"], "{kind}");
        }
    }

    fn fmt_thousands(n: u64) -> String {
        let s = n.to_string();
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    }

    /// Prints the figures of the quickstart model and the 2024 suite's models (imported DNNs,
    /// CNNs trained here): `ZKPROF_SHARED=... cargo test -p zkprof --release --lib
    /// suite::model::tests::figures -- --ignored --nocapture`.
    #[test]
    #[ignore = "prints figures for the documentation; trains models"]
    fn figures() {
        let suites = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../suites");
        let mut models = Suite::load(&suites.join("quickstart.toml")).unwrap().models;
        let fetched = fetched_2024();
        if let Some((_, roots)) = &fetched {
            let path = suites.join("zkml-benchmark-2024.toml");
            let text = std::fs::read_to_string(&path).unwrap();
            models.extend(Suite::parse_in(&path, &text, roots).unwrap().models);
        }
        let cache = tempfile::tempdir().unwrap();
        for m in &models {
            let m = &m.def();
            let t0 = std::time::Instant::now();
            let p = crate::model::prepare(m, cache.path()).unwrap();
            let took = t0.elapsed().as_secs_f64();
            let t = crate::model::test_inputs(m, 10_000).unwrap();
            let f = crate::model::float_outputs(&p, &t.inputs).unwrap();
            let r = crate::model::accuracy(Some(&f), &f, t.labels.as_deref());
            println!(
                "{}: sha256 {} params {} layers {} input {:?} float accuracy {:.2}% (n={}) prepared in {took:.1}s",
                m.name,
                p.content_hash,
                p.params,
                p.layers,
                p.input_shape,
                r.float_accuracy_pct.unwrap(),
                r.n
            );
        }
    }
}
