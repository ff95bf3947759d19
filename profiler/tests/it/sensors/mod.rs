//! Sensors, the host fingerprint, energy metrics and the ZK-Score calibration, tested on
//! fixture trees (`tests/fixtures/`), a fake NVML backend, and this host's real perf
//! counters.

mod energy;
mod fingerprint;
mod gpu;
mod perf;
mod rapl;
mod zkscore;

use std::path::{Path, PathBuf};

/// A fixture tree under `tests/fixtures`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Copies a fixture tree into a fresh temporary directory (for tests that change it).
pub fn copy_fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_tree(&fixture(name), dir.path());
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// True when CI=true: then a capability the tests need must be there.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The zkprof binary.
pub fn zkprof() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_zkprof"))
}
