//! The EZKL toolchain (a venv with the pinned wheel) and the cell's settings.

use super::super::provision::{self, setting_str, setting_u64};
use super::super::FrameworkError;
use super::{failed, EZKL_VERSION};
use crate::cache::cache_key;
use crate::results::SensorStatus;
use crate::suite::Cell;
use std::collections::BTreeMap;
use std::path::PathBuf;

const REQUIREMENTS: &str = include_str!("../../../assets/ezkl/requirements.txt");
const SETTINGS: [&str; 8] = [
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

/// The directory of the venv with the pinned EZKL (under the cache's `envs/`).
fn venv_dir() -> PathBuf {
    let tag = &cache_key(&[REQUIREMENTS])[..12];
    crate::paths::cache_dir()
        .join("envs")
        .join(format!("ezkl-{EZKL_VERSION}-{tag}"))
}

/// For `zkprof doctor`: installed, installable on first use, or what is missing.
pub fn status() -> SensorStatus {
    let dir = venv_dir();
    if dir.join(provision::READY).is_file() {
        return SensorStatus::available_with(
            "ezkl",
            format!("ezkl=={EZKL_VERSION} installed in {}", dir.display()),
        );
    }
    match base_python() {
        Ok(py) => SensorStatus::available_with(
            "ezkl",
            format!(
                "not installed yet: the first EZKL cell installs ezkl=={EZKL_VERSION} from PyPI into a venv in {} (with {})",
                dir.display(),
                py.display()
            ),
        ),
        Err(e) => SensorStatus::unavailable("ezkl", e.to_string()),
    }
}

/// The venv with EZKL installed; returns its python and the seconds provisioning took (if it ran).
pub fn ensure_venv() -> Result<(PathBuf, Option<f64>), FrameworkError> {
    let python = base_python()?;
    let dir = venv_dir();
    let what = format!("ezkl: installing ezkl=={EZKL_VERSION} into a venv (first use)");
    let took = provision::ensure_env(&dir, &what, |dir| {
        let venv = dir.join("venv");
        let (py, venv_s) = (python.display().to_string(), venv.display().to_string());
        provision::run(
            &[&py, "-m", "venv", &venv_s],
            None,
            "creating the EZKL venv (python3 -m venv)",
        )?;
        let req = dir.join("requirements.txt");
        provision::write_if_changed(&req, REQUIREMENTS)?;
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
            &format!("installing ezkl=={EZKL_VERSION} from PyPI (pip --require-hashes)"),
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
    let pick = |key: &str, default: &str, valid: &[&str]| -> Result<String, FrameworkError> {
        let v = setting_str(cell, key).unwrap_or_else(|| default.to_string());
        if valid.contains(&v.as_str()) {
            Ok(v)
        } else {
            Err(failed(format!(
                "EZKL setting `{key}` = `{v}`: valid values are {}",
                valid.join(", ")
            )))
        }
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

pub(super) fn json_inputs(xs: &[Vec<f32>]) -> String {
    serde_json::json!({ "input_data": xs }).to_string()
}
