//! Integration tests of reports: exports against committed snapshots, the commands through
//! the real binary, escaping of hostile strings, and the HTML in real headless Chromium.
//!
//! Fixtures: `tests/fixtures/reports/{a,b}.json` are real `zkprof run` output (see make.sh
//! there). Snapshots: `tests/fixtures/reports/snapshots/`; `ZKPROF_BLESS=1` rewrites them.

mod cases;
mod cdp;
mod chromium;
mod cli;
mod hosts;
mod snapshots;

use std::path::PathBuf;
use zkprof::report::Loaded;

/// The fixture directory.
pub fn fixtures() -> PathBuf {
    crate::support::fixture("reports")
}

/// Loads a fixture results file under a short, stable label.
pub fn load(name: &str) -> Loaded {
    let results = zkprof::store::load_results(&fixtures().join(name)).expect("fixture loads");
    Loaded {
        label: name.to_string(),
        results,
    }
}

/// Compares `actual` with the committed snapshot `name`, or rewrites it with ZKPROF_BLESS=1.
pub fn snapshot(name: &str, actual: &str) {
    let path = fixtures().join("snapshots").join(name);
    if std::env::var_os("ZKPROF_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "snapshot {} missing ({e}); run with ZKPROF_BLESS=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        let diff_line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "snapshot {} differs at line {}:\nexpected: {:?}\nactual:   {:?}\n(run with ZKPROF_BLESS=1 if the change is intended)",
            path.display(),
            diff_line + 1,
            expected.lines().nth(diff_line),
            actual.lines().nth(diff_line)
        );
    }
}
