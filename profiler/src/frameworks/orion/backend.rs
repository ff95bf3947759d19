//! zkprof's Cairo backend (`backends/cairo-prover` in the repository): a small crate on
//! crates.io dependencies only (Cairo 2.15 compiler crates, cairo-vm 3.2, stwo-cairo 1.3),
//! not part of zkprof's own build. zkprof carries its sources and builds it on demand into
//! `<cache>/envs/cairo-prover/` with cargo and a nightly toolchain (stwo needs nightly),
//! for this host's CPU (`-C target-cpu=native`). A user may point zkprof at a binary built
//! by hand instead (the setting `backend` or `$ZKPROF_CAIRO_PROVER`).
//!
//! stwo-cairo-common 1.3.0 calls `Mask::to_int`, which newer nightlies renamed `to_simd`;
//! when the build fails on exactly that, zkprof copies that crate from cargo's registry into
//! the environment, renames the call and builds again with a `[patch]` pointing at the copy
//! (recorded as `backend_patch` in the results).

use crate::cache::cache_key;
use crate::frameworks::provision::{self, write_if_changed};
use crate::frameworks::FrameworkError;
use crate::results::SensorStatus;
use std::path::{Path, PathBuf};

/// The backend's sources, carried in zkprof's binary.
pub const SOURCES: [(&str, &str); 3] = [
    (
        "Cargo.toml",
        include_str!("../../../../backends/cairo-prover/Cargo.toml"),
    ),
    (
        "Cargo.lock",
        include_str!("../../../../backends/cairo-prover/Cargo.lock"),
    ),
    (
        "src/main.rs",
        include_str!("../../../../backends/cairo-prover/src/main.rs"),
    ),
];

/// The binary's name.
pub const BINARY: &str = "zkprof-cairo-prover";
/// The registry crate that needs the one-line fix on newer nightlies.
pub const PATCHED_CRATE: &str = "stwo-cairo-common-1.3.0";
const BUILT: &str = ".zkprof-built";
const PATCHED: &str = ".zkprof-patched";

/// The environment directory.
pub fn env_dir() -> PathBuf {
    crate::paths::cache_dir().join("envs").join("cairo-prover")
}

fn failed(msg: impl Into<String>) -> FrameworkError {
    FrameworkError::Failed(msg.into())
}

/// The cargo toolchain argument: `+nightly` when rustup has a nightly toolchain, nothing
/// when the default cargo is already nightly; an error saying what to install otherwise.
pub fn toolchain() -> Result<Option<&'static str>, String> {
    let rustup = std::process::Command::new("rustup")
        .args(["toolchain", "list"])
        .output();
    if let Ok(o) = rustup {
        if String::from_utf8_lossy(&o.stdout)
            .lines()
            .any(|l| l.starts_with("nightly"))
        {
            return Ok(Some("+nightly"));
        }
    }
    match std::process::Command::new("cargo").arg("--version").output() {
        Ok(o) if String::from_utf8_lossy(&o.stdout).contains("nightly") => Ok(None),
        Ok(_) => Err("stwo-cairo needs a nightly Rust toolchain and none is installed: `rustup toolchain install nightly`".into()),
        Err(_) => Err("cargo is not installed: install Rust (rustup.rs) with a nightly toolchain".into()),
    }
}

fn sources_key(tool: Option<&str>) -> String {
    let mut parts: Vec<&str> = SOURCES.iter().map(|(_, s)| *s).collect();
    parts.push(tool.unwrap_or("default"));
    cache_key(&parts)
}

/// The backend binary and where it came from: the setting `backend`, `$ZKPROF_CAIRO_PROVER`,
/// or the cache build.
pub fn given(setting: Option<String>) -> Option<(PathBuf, String)> {
    setting
        .map(|p| (PathBuf::from(p), "setting `backend`".to_string()))
        .or_else(|| {
            std::env::var("ZKPROF_CAIRO_PROVER")
                .ok()
                .filter(|v| !v.is_empty())
                .map(|p| (PathBuf::from(p), "ZKPROF_CAIRO_PROVER".to_string()))
        })
}

/// For `zkprof doctor`: the backend, and what building it needs.
pub fn status() -> SensorStatus {
    let name = "cairo-prover";
    if let Some((p, from)) = given(None) {
        return if p.is_file() {
            SensorStatus::available_with(name, format!("{} (from {from})", p.display()))
        } else {
            SensorStatus::unavailable(
                name,
                format!("{} (from {from}) does not exist", p.display()),
            )
        };
    }
    let dir = env_dir();
    let bin = dir.join("target/release").join(BINARY);
    let tool = toolchain();
    let built = tool
        .as_ref()
        .ok()
        .and_then(|t| {
            std::fs::read_to_string(dir.join(BUILT))
                .ok()
                .map(|k| (k, t))
        })
        .is_some_and(|(k, t)| k.trim() == sources_key(*t) && bin.is_file());
    match (built, tool) {
        (true, _) => SensorStatus::available_with(name, format!("built: {}", bin.display())),
        (false, Ok(t)) => SensorStatus::available_with(
            name,
            format!(
                "not built yet: the first Orion cell builds it into {} with cargo {}(stwo-cairo 1.3, cairo-vm 3.2, Cairo 2.15 crates from crates.io; tens of minutes, ~8 GB of disk)",
                dir.display(),
                t.map(|t| format!("{t} ")).unwrap_or_default()
            ),
        ),
        (false, Err(e)) => SensorStatus::unavailable(name, e),
    }
}

/// The backend binary, building it first when needed. Returns the path and facts for the
/// results (`backend`, `backend_patch`).
pub fn ensure(setting: Option<String>) -> Result<(PathBuf, Vec<(String, String)>), FrameworkError> {
    if let Some((p, from)) = given(setting) {
        if !p.is_file() {
            return Err(failed(format!(
                "the Cairo backend {} (from {from}) does not exist; build backends/cairo-prover with `cargo +nightly build --release`, or unset it and let zkprof build it",
                p.display()
            )));
        }
        return Ok((
            p.clone(),
            vec![("backend".into(), format!("{} (from {from})", p.display()))],
        ));
    }
    let tool = toolchain().map_err(failed)?;
    let dir = env_dir();
    let bin = dir.join("target/release").join(BINARY);
    let key = sources_key(tool);
    let mut facts = vec![(
        "backend".into(),
        format!("{} (built by zkprof)", bin.display()),
    )];
    let patched = dir.join(PATCHED).is_file();
    if patched {
        facts.push(("backend_patch".into(), patch_fact()));
    }
    if bin.is_file() && std::fs::read_to_string(dir.join(BUILT)).is_ok_and(|k| k.trim() == key) {
        return Ok((bin, facts));
    }
    for (name, text) in SOURCES {
        let p = dir.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| failed(format!("cannot create {}: {e}", parent.display())))?;
        }
        write_if_changed(&p, text)?;
    }
    let _ = std::fs::remove_file(dir.join(BUILT));
    let mut argv: Vec<String> = vec!["cargo".into()];
    argv.extend(tool.map(str::to_string));
    argv.extend(["build", "--release"].map(String::from));
    let env = vec![
        ("RUSTFLAGS".to_string(), "-C target-cpu=native".to_string()),
        (
            "CARGO_TARGET_DIR".to_string(),
            dir.join("target").display().to_string(),
        ),
    ];
    let what = "building zkprof's Cairo backend (backends/cairo-prover)";
    // cargo's whole output is kept beside the build (named in a failure's reason).
    let log = dir.join("cargo-build.log");
    let build = |extra: &[String]| {
        let mut a = argv.clone();
        a.extend(extra.iter().cloned());
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        provision::run_logged(&refs, Some(&dir), &env, what, Some(&log))
    };
    let patch_arg = |dir: &Path| {
        vec![
            "--config".to_string(),
            format!(
                "patch.crates-io.stwo-cairo-common.path=\"{}\"",
                dir.join("patched").join(PATCHED_CRATE).display()
            ),
        ]
    };
    let result = if patched {
        build(&patch_arg(&dir))
    } else {
        match build(&["--locked".to_string()]) {
            // The known upstream error, wherever cargo printed it (with several jobs, cargo
            // goes on after it, so it is rarely in the last lines).
            Err((_, output)) if needs_to_simd_patch(&output) => {
                patch_registry_crate(&dir, tool)?;
                facts.push(("backend_patch".into(), patch_fact()));
                build(&patch_arg(&dir))
            }
            other => other,
        }
    };
    result.map_err(|(e, _)| e)?;
    if !bin.is_file() {
        return Err(failed(format!(
            "{what}: cargo succeeded but {} is missing",
            bin.display()
        )));
    }
    std::fs::write(dir.join(BUILT), &key)
        .map_err(|e| failed(format!("cannot write {}: {e}", dir.join(BUILT).display())))?;
    Ok((bin, facts))
}

/// The Cairo compiler crates the backend is built on; a corelib compiles with them only at
/// the same minor version.
pub const COMPILER_VERSION: &str = "2.15";

/// Checks a Cairo checkout's corelib (`corelib/Scarb.toml`) against the backend's compiler.
/// `Ok(Some(version))` when it matches, `Ok(None)` when its version cannot be read, and the
/// reason (naming the version and commit found, and the one to check out) when it does not.
pub fn check_corelib(home: &Path, commit: Option<&str>) -> Result<Option<String>, String> {
    let manifest = home.join("corelib/Scarb.toml");
    let Ok(text) = std::fs::read_to_string(&manifest) else {
        return Ok(None);
    };
    let version = text.lines().find_map(|l| {
        let v = l.trim().strip_prefix("version")?.trim().strip_prefix('=')?;
        Some(v.trim().trim_matches('"').to_string())
    });
    match version {
        Some(v) if v.starts_with(&format!("{COMPILER_VERSION}.")) => Ok(Some(v)),
        Some(v) => Err(format!(
            "the Cairo corelib at {} is version {v} (commit {}; {}): zkprof's Cairo backend compiles with the Cairo {COMPILER_VERSION} compiler crates, which compile only a {COMPILER_VERSION}.x corelib (an older one fails with errors such as `keyword_docs missing in core`); check out tag v2.15.0 (commit {}) of {}",
            home.display(),
            commit.unwrap_or("unknown"),
            manifest.display(),
            super::CORELIB.commit,
            super::CORELIB.repo,
        )),
        None => Ok(None),
    }
}

/// For `zkprof doctor`: the nightly toolchain the backend's build needs, with its version.
pub fn nightly_status() -> SensorStatus {
    let name = "rust-nightly";
    match toolchain() {
        Err(e) => SensorStatus::unavailable(name, e),
        Ok(tool) => {
            let mut cmd = std::process::Command::new("cargo");
            cmd.args(tool).arg("--version");
            match cmd.output() {
                Ok(o) if o.status.success() => SensorStatus::available_with(
                    name,
                    format!(
                        "{} (builds the Cairo backend; stwo needs nightly)",
                        String::from_utf8_lossy(&o.stdout).trim()
                    ),
                ),
                Ok(o) => SensorStatus::unavailable(
                    name,
                    format!(
                        "`cargo {}--version` failed: {}",
                        tool.map(|t| format!("{t} ")).unwrap_or_default(),
                        String::from_utf8_lossy(&o.stderr).trim()
                    ),
                ),
                Err(e) => SensorStatus::unavailable(name, format!("cannot run cargo: {e}")),
            }
        }
    }
}

/// True when cargo's output holds the known stwo-cairo-common 1.3.0 error on newer
/// nightlies: `Mask::to_int` no longer exists (renamed `to_simd`).
pub fn needs_to_simd_patch(cargo_output: &str) -> bool {
    cargo_output.lines().any(|l| {
        l.contains("to_int")
            && (l.contains("no method named") || l.contains("no function or associated item"))
    }) || (cargo_output.contains(PATCHED_CRATE) && cargo_output.contains(".to_int()"))
}

fn patch_fact() -> String {
    format!(
        "{PATCHED_CRATE}: Mask::to_int() -> to_simd() in src/prover_types/simd.rs (newer nightly)"
    )
}

/// Copies stwo-cairo-common from cargo's registry into `dir/patched/` and renames the call.
fn patch_registry_crate(dir: &Path, tool: Option<&str>) -> Result<(), FrameworkError> {
    let mut fetch: Vec<&str> = vec!["cargo"];
    fetch.extend(tool);
    fetch.extend(["fetch", "--locked"]);
    provision::run(&fetch, Some(dir), "fetching the Cairo backend's crates")?;
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .ok_or_else(|| failed("neither CARGO_HOME nor HOME is set"))?;
    let src = std::fs::read_dir(home.join("registry/src"))
        .map_err(|e| failed(format!("cannot read cargo's registry sources: {e}")))?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join(PATCHED_CRATE))
        .find(|p| p.is_dir())
        .ok_or_else(|| {
            failed(format!(
                "{PATCHED_CRATE} is not in cargo's registry sources"
            ))
        })?;
    let dst = dir.join("patched").join(PATCHED_CRATE);
    let _ = std::fs::remove_dir_all(&dst);
    copy_dir(&src, &dst)?;
    let simd = dst.join("src/prover_types/simd.rs");
    let text = std::fs::read_to_string(&simd)
        .map_err(|e| failed(format!("cannot read {}: {e}", simd.display())))?;
    if !text.contains(".to_int()") {
        return Err(failed(format!(
            "{} has no `.to_int()` call to fix; the build failure is something else",
            simd.display()
        )));
    }
    std::fs::write(&simd, text.replace(".to_int()", ".to_simd()"))
        .map_err(|e| failed(format!("cannot write {}: {e}", simd.display())))?;
    std::fs::write(dir.join(PATCHED), patch_fact())
        .map_err(|e| failed(format!("cannot write the patch marker: {e}")))
}

fn copy_dir(src: &Path, dst: &Path) -> Result<(), FrameworkError> {
    let err = |p: &Path, e: std::io::Error| failed(format!("cannot copy {}: {e}", p.display()));
    std::fs::create_dir_all(dst).map_err(|e| err(dst, e))?;
    for entry in std::fs::read_dir(src).map_err(|e| err(src, e))? {
        let entry = entry.map_err(|e| err(src, e))?;
        let (from, to) = (entry.path(), dst.join(entry.file_name()));
        if from.is_dir() {
            copy_dir(&from, &to)?;
        } else {
            std::fs::copy(&from, &to).map_err(|e| err(&from, e))?;
            // Registry sources are read-only; the copy must be writable.
            let mut perm = std::fs::metadata(&to)
                .map_err(|e| err(&to, e))?
                .permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perm.set_readonly(false);
            std::fs::set_permissions(&to, perm).map_err(|e| err(&to, e))?;
        }
    }
    Ok(())
}
