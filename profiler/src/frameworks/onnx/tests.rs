use super::*;

fn layer(o: usize, i: usize, relu: bool) -> DenseLayer {
    DenseLayer {
        weights: (0..o)
            .map(|a| (0..i).map(|b| (a * 10 + b) as f32 / 100.0 - 0.2).collect())
            .collect(),
        bias: (0..o).map(|a| a as f32 * 0.5).collect(),
        relu,
    }
}

#[test]
fn round_trip_through_onnx_bytes() {
    let layers = vec![layer(3, 4, true), layer(2, 3, false)];
    let mlp = read_mlp(&write_mlp(&layers)).unwrap();
    assert_eq!(mlp.input_shape, vec![4]);
    assert_eq!(mlp.layers, layers);
    assert!(!mlp.dropped_softmax);
    let y = forward(&mlp, &[1.0, 0.0, 0.0, 0.0]);
    // hidden: relu([-0.2, -0.1+0.5, 0.0+1.0]) = [0, 0.4, 1.0]
    let want0 = 0.4 * layers[1].weights[0][1] + layers[1].weights[0][2] + 0.0;
    assert!((y[0] - want0).abs() < 1e-6, "{y:?}");
    assert_eq!(
        op_types(&write_mlp(&layers)).unwrap(),
        ["Gemm", "Relu", "Gemm"]
    );
}

#[test]
fn unsupported_and_malformed_models_say_why() {
    match read_mlp(&write_with_op("Det", 4)) {
        Err(OnnxError::Unsupported(why)) => {
            assert!(why.contains("op Det") && why.contains("n0"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(input_shape(&write_with_op("Det", 4)).unwrap(), vec![4]);
    match read_mlp(&[0x0a, 0xff, 0x01]) {
        Err(OnnxError::Malformed(why)) => assert!(why.contains("past the end"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn reads_the_2024_pytorch_export() {
    let Some(p) = crate::paths::shared_dir()
        .map(|s| s.join("reference/zkml-benchmark-2024/models/input-dense-dense/196_25_10.onnx"))
        .filter(|p| p.is_file())
    else {
        return; // no shared reference data beside this checkout
    };
    let mlp = read_mlp(&std::fs::read(p).unwrap()).unwrap();
    assert_eq!(mlp.input_shape, vec![196]);
    let dims: Vec<(usize, usize, bool)> = mlp
        .layers
        .iter()
        .map(|l| (l.inputs(), l.outputs(), l.relu))
        .collect();
    assert_eq!(dims, vec![(196, 25, true), (25, 10, false)]);
    assert!(mlp.dropped_softmax);
}
