//! Reference data as a new user meets it: suites name published models, which are fetched
//! (pinned commit, SHA-256 checked) or taken from a local copy with `--from DIR`.

use crate::support::{repo, streams, zkprof};
use std::path::Path;
use std::process::Output;

/// zkprof with an empty cache and no shared data directory: a fresh clone on a new machine.
fn fresh(cache: &Path, args: &[&str]) -> Output {
    zkprof()
        .args(args)
        .env("ZKPROF_CACHE", cache)
        .env("ZKPROF_SHARED", cache.join("no-shared-here"))
        .env_remove("ZKPROF_DATA")
        .current_dir(repo())
        .output()
        .unwrap()
}

/// The shared copy of the 2024 data (required in CI).
fn shared_copy() -> Option<std::path::PathBuf> {
    let p = repo().join("../shared/reference/zkml-benchmark-2024");
    if !p.is_dir() {
        assert!(
            !crate::support::in_ci(),
            "CI needs ../shared/reference/zkml-benchmark-2024"
        );
        return None;
    }
    Some(p)
}

#[test]
fn a_suite_with_reference_models_says_how_to_fetch_them() {
    let d = tempfile::tempdir().unwrap();
    let o = fresh(d.path(), &["list", "suites/zkml-benchmark-2024.toml"]);
    let (out, err) = streams(&o);
    assert!(!o.status.success(), "{out}\n{err}");
    assert!(
        err.contains("zkml-benchmark-2024.toml:")
            && err.contains("`zkprof data fetch zkml-benchmark-2024`"),
        "{err}"
    );
    assert!(
        !err.contains("shared"),
        "the error must not send a user to a directory they do not have: {err}"
    );
}

#[test]
fn fetch_offline_names_from_and_a_copy_is_checked_then_used() {
    let Some(src) = shared_copy() else { return };
    let d = tempfile::tempdir().unwrap();
    let cache = d.path().join("cache");
    let fetch_from = |from: &str| {
        fresh(
            &cache,
            &["data", "fetch", "zkml-benchmark-2024", "--from", from],
        )
    };
    // Nothing listens on port 9 of the loopback: a download that cannot happen.
    let o = fetch_from("http://127.0.0.1:9/x");
    let (out, err) = streams(&o);
    assert!(!o.status.success(), "{out}\n{err}");
    assert!(
        err.contains("--from DIR") && err.contains("github.com/Guy1m0/ZKML-Benchmark"),
        "{err}"
    );

    // A corrupted copy is refused, naming the file; nothing is installed.
    let bad = d.path().join("bad");
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(&src)
        .arg(&bad)
        .status()
        .unwrap();
    assert!(status.success());
    let csv = bad.join("benchmark_results.csv");
    let mut bytes = std::fs::read(&csv).unwrap();
    bytes[0] ^= 0x20;
    std::fs::write(&csv, bytes).unwrap();
    let o = fetch_from(bad.to_str().unwrap());
    let (out, err) = streams(&o);
    assert!(!o.status.success(), "{out}\n{err}");
    assert!(
        err.contains("benchmark_results.csv") && err.contains("SHA-256"),
        "{err}"
    );
    assert!(!cache
        .join("datasets/zkml-benchmark-2024/zkprof-reference.json")
        .exists());

    // The good copy: every file checked, then the suite's cells plan.
    let o = fetch_from(src.to_str().unwrap());
    let (out, err) = streams(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(
        out.contains("zkml-benchmark-2024: 16 files verified"),
        "{out}"
    );
    let o = fresh(&cache, &["list", "suites/zkml-benchmark-2024.toml"]);
    let (out, err) = streams(&o);
    assert!(o.status.success(), "{out}\n{err}");
    assert!(out.contains("196_25_10/ezkl"), "{out}");
}

#[test]
fn no_suite_names_a_path_outside_the_repository() {
    for entry in std::fs::read_dir(repo().join("suites")).unwrap() {
        let p = entry.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            !text.contains("../"),
            "{} names a path outside the repository",
            p.display()
        );
        assert!(
            !text.contains("shared/"),
            "{} presents shared/ as part of the repository",
            p.display()
        );
    }
}
