//! The EZKL toolchains (one venv per version, each with its pinned wheels) and the cell's
//! settings.

use super::super::provision::{self, setting_str, setting_u64};
use super::super::FrameworkError;
use crate::cache::cache_key;
use crate::kinds::RuntimeKind;
use crate::results::SensorStatus;
use crate::suite::Cell;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The EZKL version a cell runs unless its `version` setting names another.
pub const EZKL_VERSION: &str = "23.0.5";

fn failed(msg: impl Into<String>) -> FrameworkError {
    FrameworkError::Failed(msg.into())
}

/// The EZKL versions zkprof installs, newest first, each with the hashes PyPI publishes for
/// its wheels (`pip --require-hashes`). 7.1.4 is the 2024 ZKML-Benchmark's.
pub const VERSIONS: [(&str, &str); 2] = [
    (
        "23.0.5",
        include_str!("../../../assets/ezkl/requirements-23.0.5.txt"),
    ),
    (
        "7.1.4",
        include_str!("../../../assets/ezkl/requirements-7.1.4.txt"),
    ),
];

/// The known versions, for messages: `23.0.5, 7.1.4`.
pub fn known_versions() -> String {
    VERSIONS.map(|(v, _)| v).join(", ")
}

/// The pinned requirements of `version`, else an error listing the known ones.
fn requirements(version: &str) -> Result<&'static str, FrameworkError> {
    VERSIONS
        .iter()
        .find(|(v, _)| *v == version)
        .map(|(_, r)| *r)
        .ok_or_else(|| {
            failed(format!(
                "EZKL setting `version` = `{version}`: zkprof installs EZKL {} (their wheel hashes are pinned); use one of them",
                known_versions()
            ))
        })
}

const SETTINGS: [&str; 10] = [
    "version",
    "softmax",
    "input_visibility",
    "param_visibility",
    "output_visibility",
    "calibration",
    "scales",
    "srs",
    "accuracy_samples",
    "calibration_samples",
];
/// The Python to make venvs with: `$ZKPROF_PYTHON`, else `python3` on PATH.
fn base_python() -> Result<PathBuf, FrameworkError> {
    if let Some(p) = std::env::var_os("ZKPROF_PYTHON").filter(|v| !v.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(failed(format!(
                "ZKPROF_PYTHON={} does not exist: EZKL needs Python >= 3.8 with venv; point ZKPROF_PYTHON at one or unset it",
                p.display()
            )))
        };
    }
    provision::which("python3").ok_or_else(|| {
        failed("python3 not found on PATH: EZKL needs Python >= 3.8 with the venv module (Debian: apt-get install python3-venv)")
    })
}

/// The directory of the venv with EZKL `version` (under the cache's `envs/`; the tag is the
/// hash of its pinned requirements).
fn venv_dir(version: &str, requirements: &str) -> PathBuf {
    let tag = &cache_key(&[requirements])[..12];
    crate::paths::cache_dir_path()
        .join("envs")
        .join(format!("ezkl-{version}-{tag}"))
}

/// For `zkprof doctor`: each known version installed, or installable on first use, or what
/// is missing.
pub fn status() -> SensorStatus {
    let mut installed = Vec::new();
    let mut not_yet = Vec::new();
    for (v, req) in VERSIONS {
        let dir = venv_dir(v, req);
        if dir.join(provision::READY).is_file() {
            installed.push(format!("{v} in {}", dir.display()));
        } else {
            not_yet.push(v);
        }
    }
    let default = format!("default {EZKL_VERSION}; a suite picks one with `version = \"...\"`");
    match base_python() {
        Ok(py) => {
            let mut parts = Vec::new();
            if !installed.is_empty() {
                parts.push(format!("installed: {}", installed.join(", ")));
            }
            if !not_yet.is_empty() {
                parts.push(format!(
                    "installed from PyPI on first use (with {}): {}",
                    py.display(),
                    not_yet.join(", ")
                ));
            }
            SensorStatus::available_with("ezkl", format!("{}; {default}", parts.join("; ")))
        }
        Err(e) if !installed.is_empty() => SensorStatus::available_with(
            "ezkl",
            format!(
                "installed: {}; {default}; others cannot be installed: {e}",
                installed.join(", ")
            ),
        ),
        Err(e) => SensorStatus::unavailable("ezkl", e.to_string()),
    }
}

/// The venv with EZKL `version` installed; returns its python and the seconds provisioning
/// took (if it ran).
pub fn ensure_venv(version: &str) -> Result<(PathBuf, Option<f64>), FrameworkError> {
    let req = requirements(version)?;
    let python = base_python()?;
    crate::paths::cache_dir(); // made and marked as zkprof's
    let dir = venv_dir(version, req);
    let what = format!("ezkl: installing ezkl=={version} into a venv (first use)");
    let took = provision::ensure_env(&dir, &what, |dir| {
        let venv = dir.join("venv");
        let (py, venv_s) = (python.display().to_string(), venv.display().to_string());
        provision::run(
            &[&py, "-m", "venv", &venv_s],
            None,
            "creating the EZKL venv (python3 -m venv)",
        )?;
        let req = dir.join("requirements.txt");
        provision::write_if_changed(&req, requirements(version)?)?;
        let pip = venv.join("bin/pip").display().to_string();
        let req_s = req.display().to_string();
        let args = [
            "install",
            "--quiet",
            "--no-deps",
            "--require-hashes",
            "--disable-pip-version-check",
            "-r",
        ];
        let mut argv = vec![pip.as_str()];
        argv.extend(args);
        argv.push(&req_s);
        provision::run(
            &argv,
            None,
            &format!("installing ezkl=={version} from PyPI (pip --require-hashes)"),
        )?;
        Ok(())
    })?;
    Ok((dir.join("venv/bin/python"), took))
}

pub(super) fn read_settings(cell: &Cell) -> Result<BTreeMap<String, String>, FrameworkError> {
    for k in cell.settings.keys() {
        if !SETTINGS.contains(&k.as_str()) {
            return Err(failed(format!(
                "framework `{}`: unknown EZKL setting `{k}`; valid settings: {}",
                cell.framework.name,
                SETTINGS.join(", ")
            )));
        }
    }
    let mut s = BTreeMap::new();
    let version = setting_str(cell, "version").unwrap_or_else(|| EZKL_VERSION.to_string());
    requirements(&version)?;
    // The container images and the Nix environment hold the default version only.
    if version != EZKL_VERSION && cell.runtime != RuntimeKind::Native {
        return Err(failed(format!(
            "EZKL {version} runs in the native runtime only: the {} environment holds EZKL {EZKL_VERSION}",
            cell.runtime.name()
        )));
    }
    s.insert("version".into(), version);
    let pick = |key: &str, default: &str, valid: &[&str]| {
        crate::frameworks::provision::setting_choice(cell, "EZKL", key, default, valid)
    };
    let vis = ["public", "private", "fixed", "hashed"];
    s.insert(
        "input_visibility".into(),
        pick("input_visibility", "public", &vis)?,
    );
    s.insert(
        "param_visibility".into(),
        pick("param_visibility", "fixed", &vis)?,
    );
    s.insert(
        "output_visibility".into(),
        pick("output_visibility", "public", &vis)?,
    );
    s.insert(
        "calibration".into(),
        pick(
            "calibration",
            "resources",
            &["resources", "accuracy", "none"],
        )?,
    );
    s.insert(
        "srs".into(),
        pick("srs", "auto", &["auto", "public", "test"])?,
    );
    s.insert(
        "softmax".into(),
        pick("softmax", "keep", &["keep", "drop"])?,
    );
    let scales = match cell.settings.get("scales") {
        None => String::new(),
        Some(serde_json::Value::Array(a)) if a.iter().all(|v| v.as_i64().is_some()) => a
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(","),
        Some(v) => {
            return Err(failed(format!(
                "EZKL setting `scales` must be a list of integers like [2, 7], got {v}"
            )))
        }
    };
    s.insert("scales".into(), scales);
    let cal = setting_u64(cell, "calibration_samples")?
        .unwrap_or(10)
        .max(1);
    s.insert("calibration_samples".into(), cal.to_string());
    Ok(s)
}

/// EZKL's input file for one proof: `{"input_data": [x]}`.
pub(super) fn json_inputs(xs: &[Vec<f32>]) -> String {
    serde_json::json!({ "input_data": xs }).to_string()
}

/// EZKL's calibration file for `xs`: the samples concatenated into the one input's list, which
/// EZKL reads as `xs.len()` batches (given as a list of inputs, it would take the first only).
pub(super) fn calibration_json(xs: &[Vec<f32>]) -> String {
    let flat: Vec<f32> = xs.iter().flatten().copied().collect();
    serde_json::json!({ "input_data": [flat] }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(settings: serde_json::Value, runtime: RuntimeKind) -> Cell {
        let mut c = crate::frameworks::test_cell(crate::frameworks::FrameworkKind::Ezkl, settings);
        c.runtime = runtime;
        c
    }

    #[test]
    fn the_version_is_a_setting_with_known_values() {
        let s = read_settings(&cell(serde_json::json!({}), RuntimeKind::Native)).unwrap();
        assert_eq!(s["version"], EZKL_VERSION);
        let s = read_settings(&cell(
            serde_json::json!({"version": "7.1.4"}),
            RuntimeKind::Native,
        ))
        .unwrap();
        assert_eq!(s["version"], "7.1.4");
        let e = read_settings(&cell(
            serde_json::json!({"version": "9.9.9"}),
            RuntimeKind::Native,
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("`9.9.9`") && e.contains("23.0.5, 7.1.4"), "{e}");
        let e = read_settings(&cell(
            serde_json::json!({"version": "7.1.4"}),
            RuntimeKind::Docker,
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("native runtime only") && e.contains("docker"),
            "{e}"
        );
    }

    #[test]
    fn every_known_version_pins_the_hashes_of_its_wheels() {
        for (v, req) in VERSIONS {
            assert!(req.contains(&format!("ezkl=={v} \\")), "{v}");
            let hashes = req.matches("--hash=sha256:").count();
            assert!(hashes >= 5, "{v}: {hashes} wheel hashes");
        }
        // One venv per version.
        let dirs: Vec<PathBuf> = VERSIONS.iter().map(|(v, r)| venv_dir(v, r)).collect();
        assert_ne!(dirs[0], dirs[1]);
    }
}
