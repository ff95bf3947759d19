//! Reference data: fetch from a directory (local and upstream layouts), hash refusal,
//! resolution and its errors, on a small generated set; the real 2024 set from the shared
//! data directory when present.

use super::*;

fn leak<T>(v: Vec<T>) -> &'static [T] {
    Box::leak(v.into_boxed_slice())
}

/// A set of two generated files, written in `dir` under upstream paths.
fn tiny(dir: &Path) -> ReferenceSet {
    let onnx = b"not really onnx".to_vec();
    let tflite = b"not really tflite".to_vec();
    let up = dir.join("upstream/models/arch");
    std::fs::create_dir_all(&up).unwrap();
    std::fs::write(up.join("m.onnx"), &onnx).unwrap();
    std::fs::write(up.join("m.tflite"), &tflite).unwrap();
    let h = |b: &[u8]| -> &'static str { Box::leak(sha256_hex(b).into_boxed_str()) };
    ReferenceSet {
        name: "zkml-benchmark-2024",
        repo: "example/bench",
        commit: "0123456789abcdef",
        licence: "test",
        dataset: "mnist",
        files: leak(vec![
            RefFile {
                path: "models/arch/m.onnx",
                upstream: "models/arch/m.onnx",
                sha256: h(&onnx),
            },
            RefFile {
                path: "models/arch/m.tflite",
                upstream: "models/arch/m.tflite",
                sha256: h(&tflite),
            },
        ]),
        models: leak(vec![RefModel {
            name: "m",
            arch: "arch",
            onnx_usable: true,
            ggml: false,
            side: 28,
        }]),
    }
}

#[test]
fn fetch_from_an_upstream_checkout_then_from_a_local_copy() {
    let t = tempfile::tempdir().unwrap();
    let set = tiny(t.path());
    let dest = t.path().join("data/zkml-benchmark-2024");
    let got = fetch(&set, &dest, &Source::Dir(t.path().join("upstream"))).unwrap();
    assert_eq!(got.len(), 2);
    assert!(dest.join(MANIFEST).is_file());
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dest.join(MANIFEST)).unwrap()).unwrap();
    assert_eq!(m["commit"], "0123456789abcdef");
    // A local copy's layout works as a source too.
    let again = t.path().join("again/zkml-benchmark-2024");
    assert_eq!(
        fetch(&set, &again, &Source::Dir(dest.clone()))
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn a_corrupted_file_is_refused_and_nothing_is_written() {
    let t = tempfile::tempdir().unwrap();
    let set = tiny(t.path());
    let bad = t.path().join("upstream/models/arch/m.tflite");
    std::fs::write(&bad, b"tampered").unwrap();
    let dest = t.path().join("data/zkml-benchmark-2024");
    let e = fetch(&set, &dest, &Source::Dir(t.path().join("upstream"))).unwrap_err();
    assert!(
        matches!(&e, DataError::Hash { path, .. } if path == &bad),
        "{e}"
    );
    assert!(!dest.exists(), "nothing is written when a file is refused");
}

#[test]
fn a_missing_source_file_names_both_layouts() {
    let t = tempfile::tempdir().unwrap();
    let set = tiny(t.path());
    let e = fetch(
        &set,
        &t.path().join("d"),
        &Source::Dir(t.path().join("empty")),
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("models/arch/m.onnx") && msg.contains("--from DIR"),
        "{msg}"
    );
}

#[test]
fn resolve_errors_say_what_to_run() {
    let t = tempfile::tempdir().unwrap();
    let roots = [t.path().to_path_buf()];
    let e = resolve("zkml-benchmark-2024/196_25_10", &roots)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`zkprof data fetch zkml-benchmark-2024`") && e.contains("--from DIR"),
        "{e}"
    );
    let e = resolve("zkml-benchmark-2024/nope", &roots)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no model `nope`") && e.contains("196_25_10"),
        "{e}"
    );
    let e = resolve("bench-1999/x", &roots).unwrap_err().to_string();
    assert!(
        e.contains("unknown reference data `bench-1999`") && e.contains("zkml-benchmark-2024"),
        "{e}"
    );
    let e = resolve("196_25_10", &roots).unwrap_err().to_string();
    assert!(e.contains("\"<data set>/<model>\""), "{e}");
}

/// The real 2024 set: fetched from the shared copy (required in CI), every model resolves,
/// a file changed after the fetch is refused when resolved.
#[test]
fn the_2024_set_fetches_from_the_shared_copy_and_resolves() {
    let Some(shared) = crate::paths::shared_dir() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI needs the shared data directory"
        );
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let src = shared.join("reference/zkml-benchmark-2024");
    let dest = t.path().join("zkml-benchmark-2024");
    let got = fetch(&ZKML_BENCHMARK_2024, &dest, &Source::Dir(src)).unwrap();
    assert_eq!(got.len(), ZKML_BENCHMARK_2024.files.len());
    let roots = [t.path().to_path_buf()];
    for m in ZKML_BENCHMARK_2024.models {
        let f = resolve(&format!("zkml-benchmark-2024/{}", m.name), &roots).unwrap();
        assert_eq!(f.onnx.is_some(), m.onnx_usable, "{}", m.name);
        assert!(f.tflite.is_file());
        assert_eq!(f.ggml.is_some(), m.ggml);
    }
    let onnx = dest.join("models/input-dense-dense/196_25_10.onnx");
    let mut bytes = std::fs::read(&onnx).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&onnx, bytes).unwrap();
    let e = resolve("zkml-benchmark-2024/196_25_10", &roots).unwrap_err();
    assert!(
        matches!(&e, DataError::Hash { path, .. } if path == &onnx),
        "{e}"
    );
}
