//! The EZKL adapter's own logic: dropping a final Softmax, the calibration file.

use super::*;

#[test]
fn calibration_samples_are_one_concatenated_input() {
    let xs = vec![vec![0.0, 0.5], vec![1.0, 0.25]];
    let v: serde_json::Value = serde_json::from_str(&env::calibration_json(&xs)).unwrap();
    assert_eq!(
        v,
        serde_json::json!({ "input_data": [[0.0, 0.5, 1.0, 0.25]] })
    );
    let v: serde_json::Value = serde_json::from_str(&json_inputs(&xs[..1])).unwrap();
    assert_eq!(v, serde_json::json!({ "input_data": [[0.0, 0.5]] }));
}

#[test]
fn a_final_softmax_is_dropped_only_when_asked_and_the_class_stays() {
    let Some(shared) = crate::paths::shared_dir() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI needs the shared data directory"
        );
        return;
    };
    let path = shared.join("reference/zkml-benchmark-2024/models/input-dense-dense/196_25_10.onnx");
    let bytes = std::fs::read(&path).unwrap();
    let t = tempfile::tempdir().unwrap();
    let mut settings = BTreeMap::from([("softmax".to_string(), "keep".to_string())]);
    let (p, b, dropped) =
        without_softmax(&settings, path.clone(), bytes.clone(), t.path()).unwrap();
    assert_eq!((p, dropped), (path.clone(), false));
    assert_eq!(b, bytes);

    settings.insert("softmax".into(), "drop".into());
    let (p, b, dropped) =
        without_softmax(&settings, path.clone(), bytes.clone(), t.path()).unwrap();
    assert!(dropped && p.starts_with(t.path()));
    let before = onnx::read_mlp(&bytes).unwrap();
    let after = onnx::read_mlp(&b).unwrap();
    assert!(before.dropped_softmax && !after.dropped_softmax);
    assert_eq!(after.layers.len(), before.layers.len());
    let argmax = |v: Vec<f32>| {
        v.iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i)
    };
    for k in 0..10 {
        let x: Vec<f32> = (0..196)
            .map(|i| ((i * 7 + k * 13) % 17) as f32 / 17.0)
            .collect();
        assert_eq!(
            argmax(onnx::forward(&before, &x)),
            argmax(onnx::forward(&after, &x))
        );
    }
}
