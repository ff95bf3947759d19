//! Tests of the `weights = "data"` program form, and of the corelib version check.

use super::*;
use crate::model::DenseLayer;

fn plan() -> cairo::Plan {
    let layer = |o: usize, i: usize, relu, k: f32| DenseLayer {
        weights: (0..o)
            .map(|r| (0..i).map(|c| (r * i + c) as f32 * k).collect())
            .collect(),
        bias: (0..o).map(|r| -(r as f32) * k).collect(),
        relu,
    };
    cairo::Plan {
        layers: vec![layer(3, 4, true, 0.125), layer(2, 3, false, -0.5)],
        softmax: true,
    }
}

/// `(start, length)` of every `m.slice(start, length)` in the program, in order.
fn slices(text: &str) -> Vec<(usize, usize)> {
    text.split("m.slice(")
        .skip(1)
        .map(|rest| {
            let args = &rest[..rest.find(')').unwrap()];
            let (a, b) = args.split_once(", ").unwrap();
            (a.parse().unwrap(), b.parse().unwrap())
        })
        .collect()
}

#[test]
fn the_data_form_reads_every_weight_from_its_argument_and_commits_to_them() {
    let p = plan();
    let text = cairo::program_for(&p, cairo::Weights::Data);
    assert!(text.contains(
        "fn main(input: Array<FP16x16>, model: Array<FP16x16>) -> (felt252, Span<FP16x16>) {"
    ));
    assert!(text.contains("let commitment = poseidon_hash_span(serialized.span());"));
    assert!(text.contains("assert(m.len() == 23, 'model size');"));
    assert!(text.contains("(commitment, x.data)"));
    assert!(!text.contains("data.append"), "no constant left: {text}");
    assert!(text.contains(
        "NNTrait::gemm(x, w1, Option::Some(b1), Option::None(()), Option::None(()), false, false);"
    ));
    assert!(text.contains("let w0 = TensorTrait::new(array![4, 3].span(), m.slice(0, 12));"));
    assert!(text.contains("NNTrait::softmax(@x, Option::Some(1))"));
    // The program's text does not depend on the weights' values, only on the shapes.
    let mut other = plan();
    other.layers[0].weights[1][2] = 9.0;
    assert_eq!(cairo::program_for(&other, cairo::Weights::Data), text);
    assert_ne!(cairo::program(&other), cairo::program(&p));

    // Each slice the program takes is exactly that tensor in the argument it is given.
    let args = cairo::model_args(&p);
    assert_eq!(cairo::parameter_count(&p), 23);
    assert_eq!(args[0], 23);
    assert_eq!(args.len(), 1 + 2 * 23);
    assert_eq!(args[1..3], [0, 0], "w0[0][0] = 0 first");
    // w0[0][1] = 0.125 is the 4th value: the transposed layout puts column 0 (3 values) first.
    assert_eq!(args[1 + 2 * 3..1 + 2 * 4], [8192, 0]);
    // Weights transposed ([in][out]), then the bias.
    let transposed = |w: &Vec<Vec<f32>>| -> Vec<f32> {
        (0..w[0].len())
            .flat_map(|c| w.iter().map(move |row| row[c]))
            .collect()
    };
    let tensors: Vec<Vec<f32>> = p
        .layers
        .iter()
        .flat_map(|l| [transposed(&l.weights), l.bias.clone()])
        .collect();
    let s = slices(&text);
    assert_eq!(s.len(), tensors.len());
    for ((start, len), t) in s.into_iter().zip(&tensors) {
        assert_eq!(len, t.len());
        let got = &args[1 + 2 * start..1 + 2 * (start + len)];
        assert_eq!(got, &cairo::args(t)[1..], "slice at {start}");
    }
}

#[test]
fn the_constant_form_is_orion_s_own_and_the_default() {
    let p = plan();
    assert_eq!(
        cairo::program_for(&p, cairo::Weights::Constant),
        cairo::program(&p)
    );
    assert!(cairo::program(&p).contains("fn w0() -> Tensor<FP16x16> {"));
    assert_eq!(cairo::Weights::parse("data"), Ok(cairo::Weights::Data));
    assert_eq!(
        cairo::Weights::parse("constant"),
        Ok(cairo::Weights::Constant)
    );
    let e = cairo::Weights::parse("packed").unwrap_err();
    assert!(
        e.contains("weights = \"packed\"") && e.contains("\"data\""),
        "{e}"
    );
}

#[test]
fn a_data_program_s_output_is_its_commitment_then_the_prediction() {
    let felts: Vec<String> = [
        "-123456789012345678901234567890",
        "2",
        "32768",
        "0",
        "65536",
        "1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (c, rest) = cairo::split_commitment(&felts).unwrap();
    assert_eq!(c, "-123456789012345678901234567890");
    assert_eq!(cairo::output_values(rest).unwrap(), [0.5, -1.0]);
    // Read as a constant program's output, the commitment is no length: refused.
    assert!(cairo::output_values(&felts).is_err());
    assert!(cairo::split_commitment(&[]).is_err());
}

#[test]
fn the_corelib_must_match_the_backend_s_compiler() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    // No manifest: the version is unknown, not an error.
    assert_eq!(backend::check_corelib(home, Some("abc")), Ok(None));
    std::fs::create_dir_all(home.join("corelib")).unwrap();
    let manifest = |v: &str| {
        std::fs::write(
            home.join("corelib/Scarb.toml"),
            format!("[package]\nname = \"core\"\nversion = \"{v}\"\nedition = \"2024_07\"\n"),
        )
        .unwrap()
    };
    manifest("2.15.0");
    assert_eq!(
        backend::check_corelib(home, Some("5d7ea18")),
        Ok(Some("2.15.0".into()))
    );
    manifest("2.12.0");
    let e = backend::check_corelib(home, Some("c9743105fc")).unwrap_err();
    for want in [
        "version 2.12.0",
        "commit c9743105fc",
        "tag v2.15.0",
        CORELIB.commit,
    ] {
        assert!(e.contains(want), "{want}: {e}");
    }
}
