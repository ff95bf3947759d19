//! Tests of the Orion adapter's own logic: the generated program and what it computes, the
//! project file, and the parsers on captured real output of the Cairo toolchain.

use super::*;
use crate::data::rng::SplitMix64;
use crate::frameworks::inputs;
use crate::measure::phases::BoundaryTracker;
use crate::model::DenseLayer;
use std::collections::BTreeMap;
use std::sync::Arc;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/orion/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// A small dense model with weights in [-a, a], seeded.
fn tiny(widths: &[usize], a: f32, seed: u64, softmax: bool) -> cairo::Plan {
    let mut rng = SplitMix64::new(seed);
    let mut r = |s: f32| (rng.next_f32() * 2.0 - 1.0) * s;
    let layers = widths
        .windows(2)
        .enumerate()
        .map(|(i, w)| DenseLayer {
            weights: (0..w[1])
                .map(|_| (0..w[0]).map(|_| r(a)).collect())
                .collect(),
            bias: (0..w[1]).map(|_| r(a / 2.0)).collect(),
            relu: i + 2 < widths.len(),
        })
        .collect();
    cairo::Plan { layers, softmax }
}

/// The float model (f64) and, per output, a bound on the FP16x16 program's error derived
/// from its arithmetic: every value and weight truncated to 2^-16, every product truncated
/// (one ulp each), errors carried through each dot product by the weights' magnitudes
/// (ReLU does not widen them).
fn float_and_bound(plan: &cairo::Plan, x: &[f32]) -> (Vec<f64>, Vec<f64>) {
    let ulp = 1.0 / 65536.0;
    let mut v: Vec<f64> = x.iter().map(|&a| a as f64).collect();
    let mut e: Vec<f64> = vec![ulp; x.len()];
    for l in &plan.layers {
        let mut nv = Vec::new();
        let mut ne = Vec::new();
        for (row, &b) in l.weights.iter().zip(&l.bias) {
            let mut s = b as f64;
            let mut err = ulp;
            for ((&w, &xi), &ei) in row.iter().zip(&v).zip(&e) {
                s += w as f64 * xi;
                err += (w as f64).abs() * ei + (xi.abs() + ei) * ulp + ulp;
            }
            if l.relu {
                s = s.max(0.0);
            }
            nv.push(s);
            ne.push(err);
        }
        v = nv;
        e = ne;
    }
    (v, e)
}

fn run_generated(plan: &cairo::Plan, x: &[f32]) -> Vec<f64> {
    let text = cairo::program(plan);
    let prog = fixed::Program::parse(&text).unwrap();
    let fp: Vec<i64> = x.iter().map(|&v| cairo::to_fp(v)).collect();
    prog.run(&fp).unwrap().iter().map(|f| f.value()).collect()
}

#[test]
fn generated_program_computes_the_float_model_within_the_fixed_point_bound() {
    for seed in 1..=5 {
        let plan = tiny(&[6, 5, 4, 3], 1.5, seed, false);
        let mut rng = SplitMix64::new(100 + seed);
        let x: Vec<f32> = (0..6).map(|_| rng.next_f32()).collect();
        let got = run_generated(&plan, &x);
        let (want, bound) = float_and_bound(&plan, &x);
        assert_eq!(got.len(), 3);
        for ((g, w), b) in got.iter().zip(&want).zip(&bound) {
            assert!(
                (g - w).abs() <= *b,
                "seed {seed}: program {g}, float {w}, bound {b}"
            );
        }
        // The bound is tight enough to mean something: under half a hundredth.
        assert!(bound.iter().all(|b| *b < 5e-3), "{bound:?}");
    }
}

#[test]
fn generated_softmax_matches_the_float_softmax() {
    for seed in 1..=5 {
        let plan = tiny(&[6, 5, 4], 1.5, seed, true);
        let mut rng = SplitMix64::new(200 + seed);
        let x: Vec<f32> = (0..6).map(|_| rng.next_f32()).collect();
        let got = run_generated(&plan, &x);
        let (logits, bound) = float_and_bound(&plan, &x);
        let m = logits.iter().cloned().fold(f64::MIN, f64::max);
        let exps: Vec<f64> = logits.iter().map(|l| (l - m).exp()).collect();
        let sum: f64 = exps.iter().sum();
        // Softmax moves by at most half the largest logit error; Orion's exp2 polynomial
        // and the truncated division add a few ulps more (4/65536 allowed).
        let allowed = bound.iter().cloned().fold(0.0, f64::max) / 2.0 + 4.0 / 65536.0;
        for (g, e) in got.iter().zip(&exps) {
            let p = e / sum;
            assert!(
                (g - p).abs() <= allowed,
                "seed {seed}: program {g}, float {p}, allowed {allowed}"
            );
        }
    }
}

#[test]
fn program_text_holds_the_truncated_weights_and_the_onnx_layout() {
    let plan = cairo::Plan {
        layers: vec![DenseLayer {
            weights: vec![vec![0.5, -0.25], vec![1.0, -1.5], vec![0.0, 2.0]],
            bias: vec![-0.1, 0.0, 0.1],
            relu: true,
        }],
        softmax: false,
    };
    let text = cairo::program(&plan);
    assert!(text.contains("#[executable]\nfn main(input: Array<FP16x16>) -> Span<FP16x16> {"));
    assert!(text.contains("TensorTrait::new(array![3, 2].span(), data.span())"));
    assert!(text.contains("data.append(FP16x16 { mag: 98304, sign: true });"));
    // -0.1 * 65536 = -6553.6, truncated toward zero as Orion's to_fp does.
    assert!(text.contains("data.append(FP16x16 { mag: 6553, sign: true });"));
    assert!(text.contains(
        "NNTrait::gemm(x, w0(), Option::Some(b0()), Option::None(()), Option::None(()), false, true);"
    ));
    assert!(text.contains("let x = NNTrait::relu(@x);"));
    assert!(!text.contains("softmax"));
    // x = [1, -1]: [0.5+0.25-0.1, 1+1.5, 0-2+0.1] then ReLU.
    let out = fixed::Program::parse(&text)
        .unwrap()
        .run(&[65536, -65536])
        .unwrap();
    let v: Vec<f64> = out.iter().map(|f| f.value()).collect();
    assert_eq!(v, [(49152 - 6553) as f64 / 65536.0, 2.5, 0.0]);
    // The interpreter refuses what it does not know.
    let odd = text.replace("NNTrait::relu(@x)", "NNTrait::sigmoid(@x)");
    let e = fixed::Program::parse(&odd).unwrap_err();
    assert!(e.contains("unknown statement in main"), "{e}");
}

#[test]
fn orion_overflows_are_errors_not_numbers() {
    // exp(12) = 162755 does not fit FP16x16 once cut back from FP16x16W: Orion panics.
    let e = fixed::softmax(&[fixed::Fx {
        mag: 12 * 65536,
        sign: false,
    }])
    .unwrap_err();
    assert!(e.contains("overflows u32"), "{e}");
    let p = fixed::softmax(&[
        fixed::Fx {
            mag: 65536,
            sign: false,
        },
        fixed::Fx::ZERO,
    ])
    .unwrap();
    let f = 1.0f64.exp() / (1.0 + 1.0f64.exp());
    assert!((p[0].value() - f).abs() < 4.0 / 65536.0, "{:?}", p);
}

#[test]
fn args_and_outputs_are_serialized_fp16x16_arrays() {
    assert_eq!(
        cairo::args(&[0.5, -1.0, 0.0]),
        [3, 32768, 0, 65536, 1, 0, 0]
    );
    let felts: Vec<String> = ["2", "32768", "0", "65536", "1"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(cairo::output_values(&felts).unwrap(), [0.5, -1.0]);
    let e = cairo::output_values(&felts[..4]).unwrap_err();
    assert!(e.contains("says 2 values"), "{e}");
    // The captured program (not zkprof's) printed another layout: refused, not misread.
    let run = &parse::executions(&fixture("mnist196-execute.log"))[0];
    assert_eq!(run.output.len(), 12);
    assert!(cairo::output_values(&run.output).is_err());
}

#[test]
fn project_file_declares_every_crate_and_its_dependencies() {
    let (o, c, a) = (
        Path::new("/x/orion"),
        Path::new("/x/cubit"),
        Path::new("/x/alex"),
    );
    let t = cairo::project_toml(&cairo::Sources {
        orion: o,
        cubit: c,
        alexandria: a,
    });
    let v: toml::Value = toml::from_str(&t).unwrap();
    let roots = v["crate_roots"].as_table().unwrap();
    assert_eq!(roots["zkprof_model"].as_str(), Some("src"));
    assert_eq!(roots["orion"].as_str(), Some("/x/orion/src"));
    assert_eq!(
        roots["alexandria_sorting"].as_str(),
        Some("/x/alex/src/sorting/src")
    );
    let over = v["config"]["override"].as_table().unwrap();
    assert_eq!(over.len(), roots.len());
    for (name, cfg) in over {
        let deps = cfg["dependencies"].as_table().unwrap();
        assert!(deps.contains_key(name), "{name} must list itself");
        assert_eq!(deps.len(), roots.len());
    }
    assert_eq!(over["cubit"]["edition"].as_str(), Some("2023_10"));
    assert_eq!(over["alexandria_math"]["edition"].as_str(), Some("2023_01"));
}

#[test]
fn captured_compile_and_execute_output() {
    assert_eq!(
        parse::bytecode_size(&fixture("mnist196-compile.log")),
        Some(35838)
    );
    let runs = parse::executions(&fixture("mnist196-execute.log"));
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].output[..4], ["11", "1", "0", "48183"]);
    assert_eq!(runs[0].steps, None);
    // zkprof's backend prints the steps and one block per input.
    let ours = "Entry point builtins: [output, range_check]\nInput: a.json\nSteps: 710725\nProgram Output:\n1\n5\n0\nInput: c.json\nRun failed: the program panicked: 'Option::unwrap failed.'\nInput: b.json\nSteps: 9\nProgram Output:\n1\n7\n1\n";
    let runs = parse::executions(ours);
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[1].input.as_deref(), Some("c.json"));
    assert!(runs[1].failed.as_deref().unwrap().contains("panicked"));
    assert!(runs[1].output.is_empty() && runs[0].failed.is_none());
    let runs = [runs[0].clone(), runs[2].clone()];
    assert_eq!(runs[0].steps, Some(710725));
    assert_eq!(runs[1].input.as_deref(), Some("b.json"));
    assert_eq!(runs[1].output, ["1", "7", "1"]);
}

#[test]
fn captured_prover_timings_and_verification() {
    let prove = fixture("mnist196-prove.log");
    let phases: BTreeMap<String, f64> = parse::prover_phases(&prove).into_iter().collect();
    assert_eq!(phases["total"], 49.5);
    assert_eq!(phases["precompute_twiddles"], 4.60);
    assert_eq!(phases["compute_preprocessed_trace_commitment"], 25.4);
    assert_eq!(phases["prove_cairo"], 9.05);
    assert_eq!(phases["prove_cairo_prove_starks"], 6.01);
    assert_eq!(phases["serialize_proof"], 0.045);
    assert!((phases["write_preprocessed_trace"] - 172e-6).abs() < 1e-12);
    assert_eq!(parse::proof_size_estimate(&prove), Some(729464));
    assert_eq!(parse::verified(&fixture("mnist196-verify.log")), Ok(()));
    let e = parse::verified(&fixture("verify-failed-bootloader-context.log")).unwrap_err();
    assert!(e.contains("ECDSA segment is not empty"), "{e}");
}

#[test]
fn prove_step_phases_from_captured_output() {
    let text = parse::strip_ansi(&fixture("mnist196-prove.log"));
    let spec = prove_phases();
    let mut t = BoundaryTracker::new(Arc::new(spec.clone()), None);
    for (i, line) in text.lines().enumerate() {
        t.line(i as f64, line);
    }
    let got: Vec<(&str, Option<f64>)> = t
        .boundaries
        .iter()
        .map(|b| (spec.phases[b.phase].name.as_str(), b.timer_s))
        .collect();
    // Upstream's prove binary has no "Read prover input" span; the later markers still come.
    assert_eq!(
        got,
        [
            ("twiddles", Some(4.60)),
            ("preprocessed_commitment", Some(25.4)),
            ("prove_cairo", Some(9.05)),
            ("serialize", Some(0.045)),
        ]
    );
}

#[test]
fn missing_checkouts_are_named_with_how_to_get_them() {
    let d = tempfile::tempdir().unwrap();
    let e = EXTERNAL.locate(Some(d.path())).unwrap_err();
    assert!(
        e.contains("missing src/lib.cairo, src/operators/nn/functional/gemm.cairo"),
        "{e}"
    );
    assert!(e.contains("ZKPROF_ORION_HOME") && e.contains(EXTERNAL.commit));
    let e = CORELIB.locate(Some(d.path())).unwrap_err();
    assert!(e.contains("corelib/src/lib.cairo") && e.contains("ZKPROF_CAIRO_HOME"));
    std::fs::create_dir_all(d.path().join("corelib/src")).unwrap();
    std::fs::write(d.path().join("corelib/src/lib.cairo"), "").unwrap();
    let found = CORELIB.locate(Some(d.path())).unwrap();
    assert!(found.warning.unwrap().contains("commit is unknown"));
    // The backend line says where it is or what building it needs.
    let s = backend::status();
    assert_eq!(s.name, "cairo-prover");
    assert!(s.reason.is_some());
}

#[test]
fn unknown_settings_are_refused() {
    let mut cell = crate::frameworks::test_cell(
        crate::frameworks::FrameworkKind::Orion,
        serde_json::json!({}),
    );
    cell.settings
        .insert("logrows".into(), serde_json::json!(17));
    let e = setup::provision(&cell, Path::new("/nonexistent"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown setting `logrows` for orion"), "{e}");
}

#[test]
fn the_2024_model_as_an_orion_program_classifies_like_the_float_model() {
    let Some(shared) = crate::paths::shared_dir() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI needs the shared data directory"
        );
        return;
    };
    let onnx = shared.join("reference/zkml-benchmark-2024/models/input-dense-dense/196_25_10.onnx");
    let layers = crate::model::dense_layers(&onnx).unwrap();
    let ops = crate::model::onnx::info(&onnx).unwrap().ops;
    let plan = cairo::Plan {
        layers,
        softmax: ops.last().is_some_and(|o| o == "Softmax"),
    };
    assert_eq!(plan.inputs(), 196);
    let prog = fixed::Program::parse(&cairo::program(&plan)).unwrap();
    let n = 100;
    let set = inputs::test_set(196, n);
    assert_eq!(set.labels.as_ref().map(Vec::len), Some(n), "real MNIST");
    let reference = crate::model::reference::Reference::load(&onnx, &[1, 196]).unwrap();
    let (mut agree, mut panics) = (0, Vec::new());
    for (i, x) in set.inputs.iter().enumerate() {
        let fp: Vec<i64> = x.iter().map(|&v| cairo::to_fp(v)).collect();
        let float = reference.run(x).unwrap();
        match prog.run(&fp) {
            Ok(out) => {
                let out: Vec<f32> = out.iter().map(|f| f.value() as f32).collect();
                let same =
                    crate::model::layers::argmax(&out) == crate::model::layers::argmax(&float);
                agree += usize::from(same);
            }
            Err(e) => {
                assert!(e.contains("softmax"), "{e}");
                panics.push(i);
            }
        }
    }
    eprintln!("{agree} of {n} agree; Orion's softmax overflows on inputs {panics:?}");
    // Fixed point at 2^-16 rarely changes a class; Orion's FP16x16 softmax panics when the
    // sum of exponentials passes 2^16 (a logit above ~11), which some images reach.
    assert!(
        agree + panics.len() >= n - 1,
        "{agree} agree, {} panic",
        panics.len()
    );
}

#[test]
fn the_known_backend_error_is_found_anywhere_in_cargos_output() {
    // cargo's whole output of a real first build on a fresh cache with the default job count
    // (nightly 2026-05-19, 2 jobs): the known upstream error (stwo-cairo-common 1.3.0
    // calling `Mask::to_int`), then rustc's help and cargo's own lines after it.
    let out = fixture("cargo-build-to-int.log");
    let tail: Vec<&str> = out.lines().rev().take(6).collect();
    assert!(
        !tail.iter().any(|l| l.contains("to_int")),
        "the error is far from the end, where a tail-only check missed it"
    );
    assert!(super::backend::needs_to_simd_patch(&out));
    let other = out.replace("to_int", "frobnicate");
    assert!(!super::backend::needs_to_simd_patch(&other));
}
