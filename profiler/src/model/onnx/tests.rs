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
    // Malformed bytes say where the protobuf breaks (prost's words): a field of the wrong
    // wire type, and a graph whose length runs past the end of the bytes.
    match read_mlp(&[0x0a, 0xff, 0x01]) {
        Err(OnnxError::Malformed(why)) => assert!(why.contains("invalid wire type"), "{why}"),
        other => panic!("{other:?}"),
    }
    match read_mlp(&[0x3a, 0xff, 0x01]) {
        Err(OnnxError::Malformed(why)) => assert!(why.contains("buffer underflow"), "{why}"),
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

/// A CNN with random weights in the 2024 shapes (14x14 input, two 3x3 conv blocks with max
/// pooling, two dense layers; and 28x28 with 5x5 kernels), written by zkprof's exporter.
pub(crate) fn cnn_onnx(side: usize, conv: &[usize], k: usize, hidden: &[usize]) -> Vec<u8> {
    let mut rng = crate::data::rng::SplitMix64::new(7);
    let cnn = crate::model::cnn::Cnn::init(1, side, conv, k, hidden, 10, &mut rng);
    crate::model::onnx::cnn_to_onnx(&cnn, "test")
}

/// The conv blocks read from ONNX compute what tract computes (an independent ONNX runtime).
#[test]
fn conv_blocks_match_tract() {
    for (side, conv, k, hidden) in [(14, vec![5, 11], 3, vec![80]), (28, vec![6, 16], 5, vec![])] {
        let bytes = cnn_onnx(side, &conv, k, &hidden);
        let net = read_mlp(&bytes).unwrap();
        assert_eq!(net.input_shape, vec![1, side, side]);
        assert_eq!(net.convs.len(), 2);
        assert!(net.convs.iter().all(|c| c.relu && c.pool.is_some()));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cnn.onnx");
        std::fs::write(&path, &bytes).unwrap();
        let tract = crate::model::reference::Reference::load(&path, &[1, 1, side, side]).unwrap();
        for seed in 0..3u64 {
            let mut rng = crate::data::rng::SplitMix64::new(seed);
            let x: Vec<f32> = (0..side * side).map(|_| rng.next_f32()).collect();
            let ours = forward(&net, &x);
            let theirs = tract.run(&x).unwrap();
            assert_eq!(ours.len(), 10);
            for (a, b) in ours.iter().zip(&theirs) {
                assert!(
                    (a - b).abs() < 1e-4 * (1.0 + b.abs()),
                    "{ours:?} vs {theirs:?}"
                );
            }
        }
    }
}

/// Padding and strided convolutions are refused by name (valid padding only).
#[test]
fn padded_convolutions_are_unsupported() {
    let bytes = cnn_onnx(8, &[2], 3, &[]);
    // Patch the written `pads = [0,0,0,0]` to `[1,1,1,1]`: the attribute name is followed by
    // its packed ints in the bytes.
    let at = bytes
        .windows(4)
        .position(|w| w == b"pads")
        .expect("pads attribute");
    let mut patched = bytes.clone();
    let tail = &mut patched[at + 4..];
    let zeros = tail.iter().position(|b| *b == 0).unwrap();
    for b in &mut tail[zeros..zeros + 4] {
        *b = 1;
    }
    match read_mlp(&patched) {
        Err(OnnxError::Unsupported(why)) => assert!(why.contains("pads"), "{why}"),
        other => panic!("{other:?}"),
    }
}
