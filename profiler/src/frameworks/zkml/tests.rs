//! Tests of the zkml adapter's own logic (the phases of captured output, inputs, settings).

use super::*;
use crate::measure::phases::BoundaryTracker;
use std::sync::Arc;

#[test]
fn phases_of_captured_time_circuit_output() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/zkml/run2_warm.stdout"
    ))
    .unwrap();
    let mut t = BoundaryTracker::new(Arc::new(phase_spec()), None);
    for (i, line) in text.lines().enumerate() {
        t.line(i as f64, line);
    }
    let spec = phase_spec();
    let got: Vec<(&str, Option<f64>)> = t
        .boundaries
        .iter()
        .map(|b| (spec.phases[b.phase].name.as_str(), b.timer_s))
        .collect();
    assert_eq!(
        got,
        [
            ("params", None),
            ("keygen_vk", Some(29.099623437)),
            ("keygen_pk", Some(14.322194105)),
            // The "filling circuit" line, printed after the witness fill, times the pkey write.
            ("write_pkey", Some(1.328290315)),
            ("prove", Some(230.374847369)),
            ("verify", Some(0.013863242)),
        ]
    );
    // The prove window starts at `pkey size` and holds the witness fill's printout.
    let lines: Vec<&str> = text.lines().collect();
    let start = t.boundaries[3].t_s as usize;
    let end = t.boundaries[4].t_s as usize;
    assert!(lines[start].starts_with("pkey size:"));
    assert!(lines[start..end]
        .iter()
        .any(|l| l.contains("filling circuit")));
}

#[test]
fn npy_header_is_aligned_and_describes_the_vector() {
    let b = npy_f32(&[1.0, 0.5]);
    assert_eq!(&b[..8], b"\x93NUMPY\x01\x00");
    let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
    assert_eq!((10 + hlen) % 64, 0);
    let header = std::str::from_utf8(&b[10..10 + hlen]).unwrap();
    assert!(header.contains("'descr': '<f4'") && header.contains("'shape': (2,)"));
    assert!(header.ends_with('\n'));
    assert_eq!(
        &b[10 + hlen..],
        [1.0f32.to_le_bytes(), 0.5f32.to_le_bytes()].concat()
    );
}

#[test]
fn unknown_settings_are_refused() {
    let mut cell = crate::frameworks::test_cell(
        crate::frameworks::FrameworkKind::Zkml,
        serde_json::json!({}),
    );
    assert_eq!(
        Settings::of(&cell).unwrap().args().join(" "),
        "--scale_factor 512 --k 17 --num_cols 10 --num_randoms 1024"
    );
    cell.settings
        .insert("logrows".into(), serde_json::json!(17));
    let e = Settings::of(&cell).unwrap_err().to_string();
    assert!(e.contains("unknown setting `logrows` for zkml"), "{e}");
}

#[test]
fn a_published_model_brings_its_own_tflite_and_others_need_one_beside_the_onnx() {
    let t = tempfile::tempdir().unwrap();
    let onnx = t.path().join("m.onnx");
    std::fs::write(&onnx, b"x").unwrap();
    let mut cell = crate::frameworks::test_cell(
        crate::frameworks::FrameworkKind::Zkml,
        serde_json::json!({}),
    );
    cell.model.onnx = Some(onnx.clone());
    let e = setup::tflite_of(&cell).unwrap_err().to_string();
    assert!(
        e.contains("m.tflite") && e.contains("beside its ONNX file"),
        "{e}"
    );
    std::fs::write(t.path().join("m.tflite"), b"x").unwrap();
    assert_eq!(setup::tflite_of(&cell).unwrap(), t.path().join("m.tflite"));
    // A published CNN: no usable ONNX file, its own TFLite file.
    cell.model.onnx = None;
    cell.model.reference = Some(crate::data::reference::ModelFiles {
        tflite: t.path().join("cnn.tflite"),
        ..Default::default()
    });
    assert_eq!(
        setup::tflite_of(&cell).unwrap(),
        t.path().join("cnn.tflite")
    );
}
