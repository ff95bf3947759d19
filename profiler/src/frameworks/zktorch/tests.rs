//! Tests of the zkTorch adapter's own logic (settings, config.yaml).

use super::*;
use crate::frameworks::RunOptions;

fn cell(settings: &[(&str, serde_json::Value)]) -> Cell {
    let mut c = crate::frameworks::test_cell(
        crate::frameworks::FrameworkKind::ZkTorch,
        serde_json::json!({}),
    );
    c.settings = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    c
}

#[test]
fn settings_are_checked_and_named() {
    let d = tempfile::tempdir().unwrap();
    let ptau = d.path().join("p.ptau");
    std::fs::write(&ptau, b"x").unwrap();
    let p = serde_json::json!(ptau.display().to_string());
    let s = Settings::of(&cell(&[("ptau", p.clone())]), &RunOptions::default()).unwrap();
    assert_eq!(
        (s.scale_factor_log, s.cq_range_log, s.cq_range_lower_log),
        (3, 6, 5)
    );
    assert_eq!(s.pow_len_log, None);
    let s = Settings::of(
        &cell(&[("ptau", p.clone()), ("pow_len_log", 12.into())]),
        &RunOptions::default(),
    )
    .unwrap();
    assert_eq!(s.pow_len_log, Some(12));
    let e = Settings::of(
        &cell(&[("ptau", p.clone()), ("logrows", 17.into())]),
        &RunOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("unknown setting `logrows` for zktorch"), "{e}");
    let e = Settings::of(
        &cell(&[
            ("ptau", p.clone()),
            ("cq_range_log", 5.into()),
            ("cq_range_lower_log", 5.into()),
        ]),
        &RunOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("must be below cq_range_log"), "{e}");
    let e = Settings::of(
        &cell(&[("ptau", "/nowhere/p.ptau".into())]),
        &RunOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("/nowhere/p.ptau does not exist"), "{e}");
}

#[test]
fn config_yaml_has_upstream_keys_and_quoted_paths() {
    let s = Settings {
        ptau: "/x/p.ptau".into(),
        pow_len_log: None,
        loaded_pow_len_log: None,
        scale_factor_log: 5,
        cq_range_log: 12,
        cq_range_lower_log: 6,
        input_index: 0,
        input_json: None,
    };
    let y = config_yaml(
        Path::new("/m dir/model.onnx"),
        Path::new("/r/input.json"),
        Path::new("/c/challenge"),
        14,
        13,
        &s,
    );
    for needle in [
        "task: zkprof\n",
        "  model_path: \"/m dir/model.onnx\"\n",
        "  ptau_path: \"/c/challenge\"\n  pow_len_log: 14\n  loaded_pow_len_log: 13\n",
        "  scale_factor_log: 5\n  cq_range_log: 12\n  cq_range_lower_log: 6\n",
        "  final_proof_path: final_proofs\n  enable_layer_setup: false\nverifier:\n",
        "verifier:\n  enc_model_path: modelsEnc\n",
    ] {
        assert!(y.contains(needle), "{needle:?} not in\n{y}");
    }
}

#[test]
fn the_runs_ptau_arrives_as_a_value_and_a_setting_wins() {
    let d = tempfile::tempdir().unwrap();
    let (run, own) = (d.path().join("run.ptau"), d.path().join("own.ptau"));
    std::fs::write(&run, b"x").unwrap();
    std::fs::write(&own, b"y").unwrap();
    let opts = RunOptions {
        ptau: Some(run.clone()),
    };
    assert_eq!(Settings::of(&cell(&[]), &opts).unwrap().ptau, run);
    let mine = serde_json::json!(own.display().to_string());
    assert_eq!(
        Settings::of(&cell(&[("ptau", mine)]), &opts).unwrap().ptau,
        own
    );
    let e = Settings::of(&cell(&[]), &RunOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("--ptau"), "{e}");
}
