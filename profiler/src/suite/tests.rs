//! Tests of suite parsing, validation and expansion.
use super::*;

const GOOD: &str = r#"
[suite]
name = "t"
repetitions = 2

[[model]]
name = "m1"
[[model]]
name = "m2"

[[framework]]
name = "fake"
kind = "command"
settings = [{ level = 1 }, { level = 2 }]
steps = { prove = ["echo", "{model}", "{setting.level}"], setup = ["true"] }
"#;

fn err(text: &str) -> String {
    Suite::parse(Path::new("s.toml"), text)
        .unwrap_err()
        .to_string()
}

#[test]
fn expands_models_settings_runtimes() {
    let s = Suite::parse(Path::new("s.toml"), GOOD).unwrap();
    let cells = s.plan(&PlanOptions::default()).unwrap();
    let ids: Vec<&str> = cells.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "m1/fake/level=1/native",
            "m1/fake/level=2/native",
            "m2/fake/level=1/native",
            "m2/fake/level=2/native"
        ]
    );
    // Steps come out in execution order whatever the file's order.
    assert_eq!(s.frameworks[0].steps[0].0, "setup");
    assert_eq!(s.repetitions, 2);
}

#[test]
fn misspelled_field_names_place_and_valid_fields() {
    let e = err(&GOOD.replace("repetitions = 2", "repetiton = 2"));
    assert!(e.starts_with("s.toml:4:1:"), "{e}");
    assert!(e.contains("repetiton") && e.contains("repetitions"), "{e}");
}

#[test]
fn unknown_kind_lists_valid_values() {
    let e = err(&GOOD.replace("kind = \"command\"", "kind = \"comand\""));
    assert!(e.starts_with("s.toml:13:8:"), "{e}");
    assert!(e.contains("valid values: command"), "{e}");
}

#[test]
fn unknown_placeholder_and_step() {
    let e = err(&GOOD.replace("{model}", "{modle}"));
    assert!(e.contains("unknown placeholder `{modle}`"), "{e}");
    let e = err(&GOOD.replace("setup = ", "setpu = "));
    assert!(
        e.contains("unknown step `setpu`") && e.contains("verify"),
        "{e}"
    );
}

#[test]
fn malformed_toml_has_a_position() {
    let e = err("[suite]\nname = \"x\nrepetitions = 1\n");
    assert!(e.starts_with("s.toml:2:"), "{e}");
}

#[test]
fn missing_onnx_and_bad_limit() {
    let e = err(&GOOD.replace("name = \"m1\"", "name = \"m1\"\nonnx = \"nope.onnx\""));
    assert!(
        e.contains("nope.onnx") && e.contains("does not exist"),
        "{e}"
    );
    let e = err(&GOOD.replace(
        "repetitions = 2",
        "repetitions = 2\nmemory_limit = \"lots\"",
    ));
    assert!(e.contains("memory_limit") && e.contains("512M"), "{e}");
}

#[test]
fn filters_and_overrides() {
    let s = Suite::parse(Path::new("s.toml"), GOOD).unwrap();
    let e = s
        .plan(&PlanOptions {
            frameworks: vec!["ezkl".into()],
            ..PlanOptions::default()
        })
        .unwrap_err()
        .to_string();
    assert!(e.contains("its frameworks: fake"), "{e}");
    let e = s
        .plan(&PlanOptions {
            runtime: Some("dokcer".into()),
            ..PlanOptions::default()
        })
        .unwrap_err()
        .to_string();
    assert!(e.contains("valid runtimes: native"), "{e}");
    let e = s
        .plan(&PlanOptions {
            models: vec!["nope*".into()],
            ..PlanOptions::default()
        })
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("--model nope*: matches no model") && e.contains("its models: "),
        "{e}"
    );
}

#[test]
fn model_patterns_pick_models_by_name() {
    use crate::suite::expand::matches;
    for (p, n, want) in [
        ("mnist-d*", "mnist-d8-784-45x8", true),
        ("mnist-d*", "mnist-p-784-8-10", false),
        ("*-784-*", "mnist-d8-784-45x8", true),
        ("*x8", "mnist-d8-784-45x8", true),
        ("*x8", "mnist-d8-784-45x6", false),
        ("a*a", "a", false),
        ("a*a", "aa", true),
        ("exact", "exact", true),
        ("exact", "exactly", false),
        ("*", "", true),
    ] {
        assert_eq!(matches(p, n), want, "{p} ~ {n}");
    }
    let s = Suite::parse(Path::new("s.toml"), GOOD).unwrap();
    let all = s.plan(&PlanOptions::default()).unwrap();
    let first = &all[0].model.name;
    let some = s
        .plan(&PlanOptions {
            models: vec![first.clone()],
            ..PlanOptions::default()
        })
        .unwrap();
    assert!(!some.is_empty() && some.iter().all(|c| &c.model.name == first));
}

#[test]
fn placeholders_fill() {
    let mut vars = BTreeMap::new();
    vars.insert("model".to_string(), "m1".to_string());
    vars.insert("setting.level".to_string(), "2".to_string());
    assert_eq!(
        fill_placeholders("a-{model}-{setting.level}-{x", &vars),
        "a-m1-2-{x"
    );
    assert_eq!(line_col("ab\ncd", 4), (2, 2));
}

#[test]
fn image_and_cpuset_of_a_framework() {
    let text = GOOD.replace(
        "kind = \"command\"",
        "kind = \"command\"\nimage = \"ezkl\"\ncpuset = \"0-1,3\"",
    );
    let s = Suite::parse(Path::new("s.toml"), &text).unwrap();
    assert_eq!(s.frameworks[0].image.as_deref(), Some("ezkl"));
    assert_eq!(s.frameworks[0].cpuset.as_deref(), Some("0-1,3"));
    let bad = GOOD.replace("kind = \"command\"", "kind = \"command\"\ncpuset = \"0-\"");
    let e = err(&bad);
    assert!(
        e.contains("s.toml:14:10") && e.contains("not a CPU list"),
        "{e}"
    );
    let bad = GOOD.replace("kind = \"command\"", "kind = \"command\"\nimage = \"../x\"");
    assert!(err(&bad).contains("not a recipe name"));
    let runtimes = GOOD.replace(
        "repetitions = 2",
        "repetitions = 2\nruntimes = [\"native\", \"docker\", \"nix\"]",
    );
    assert_eq!(
        Suite::parse(Path::new("s.toml"), &runtimes)
            .unwrap()
            .runtimes
            .len(),
        3
    );
}

#[test]
fn home_of_an_external_framework_is_relative_to_the_suite() {
    let text = GOOD.replace(
        "kind = \"command\"",
        "kind = \"command\"\nhome = \"../opml\"",
    );
    let s = Suite::parse(Path::new("/x/suites/s.toml"), &text).unwrap();
    assert_eq!(
        s.frameworks[0].home.as_deref(),
        Some(Path::new("/x/suites/../opml"))
    );
    let s = Suite::parse(Path::new("/x/suites/s.toml"), GOOD).unwrap();
    assert_eq!(s.frameworks[0].home, None);
    // `opml` is a known kind; a misspelling lists it.
    let e = err(&GOOD.replace("kind = \"command\"", "kind = \"opm\""));
    assert!(e.contains("opml"), "{e}");
}

#[test]
fn accuracy_samples_from_the_command_line_override_the_suite() {
    let text = format!(
        "{GOOD}\n[[framework]]\nname = \"ezkl\"\nsettings = [{{ scales = [2, 7], accuracy_samples = 2500 }}]\n\
         [[framework]]\nname = \"circom\"\n"
    );
    let s = Suite::parse(Path::new("s.toml"), &text).unwrap();
    let cells = s
        .plan(&PlanOptions {
            models: vec!["m1".into()],
            accuracy_samples: Some(10),
            ..PlanOptions::default()
        })
        .unwrap();
    let ids: Vec<&str> = cells.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "m1/fake/level=1/native",
            "m1/fake/level=2/native",
            "m1/ezkl/accuracy_samples=10,scales=[2,7]/native",
            "m1/circom/accuracy_samples=10/native"
        ],
        "a command framework that does not read it is left alone"
    );
}
