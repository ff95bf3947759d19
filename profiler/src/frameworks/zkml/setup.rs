//! What the zkml adapter prepares before its steps: the cell's converter settings, the
//! TFLite file, a Python for zkml's converters, and `.npy` inputs.

use super::failed;
use crate::cache::cache_key;
use crate::frameworks::provision::{self, setting_str, setting_u64};
use crate::frameworks::{absolute, FrameworkError};
use crate::suite::Cell;
use std::path::PathBuf;

/// What zkml's converter needs from PyPI (the 2024 benchmark used tensorflow 2.15.0).
pub const CONVERTER_PACKAGES: [&str; 4] = [
    "tensorflow-cpu==2.15.0",
    "tflite==2.18.0",
    "msgpack==1.2.4",
    "numpy==1.26.4",
];

pub(super) const SETTINGS: [&str; 7] = [
    "accuracy_samples",
    "scale_factor",
    "k",
    "num_cols",
    "num_randoms",
    "python",
    "input_index",
];

/// The converter settings of a cell (defaults: the 2024 benchmark's).
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Settings {
    pub scale_factor: u64,
    pub k: u64,
    pub num_cols: u64,
    pub num_randoms: u64,
}

impl Settings {
    pub(super) fn of(cell: &Cell) -> Result<Settings, FrameworkError> {
        if let Some(k) = cell
            .settings
            .keys()
            .find(|k| !SETTINGS.contains(&k.as_str()))
        {
            return Err(failed(format!(
                "unknown setting `{k}` for zkml; known settings: {}",
                SETTINGS.join(", ")
            )));
        }
        Ok(Settings {
            scale_factor: setting_u64(cell, "scale_factor")?.unwrap_or(512),
            k: setting_u64(cell, "k")?.unwrap_or(17),
            num_cols: setting_u64(cell, "num_cols")?.unwrap_or(10),
            num_randoms: setting_u64(cell, "num_randoms")?.unwrap_or(1024),
        })
    }

    pub(super) fn args(&self) -> Vec<String> {
        let mut v = Vec::new();
        for (flag, value) in [
            ("--scale_factor", self.scale_factor),
            ("--k", self.k),
            ("--num_cols", self.num_cols),
            ("--num_randoms", self.num_randoms),
        ] {
            v.push(flag.to_string());
            v.push(value.to_string());
        }
        v
    }
}

/// The model's TFLite file: a published model's own (`reference = ...`; the 2024 CNNs have
/// one, though their ONNX exports are unusable), else the `.tflite` beside its ONNX file.
pub(super) fn tflite_of(cell: &Cell) -> Result<PathBuf, FrameworkError> {
    if let Some(r) = &cell.model.reference {
        return Ok(r.tflite.clone());
    }
    let no = |why: String| {
        FrameworkError::Unsupported(format!(
            "zkml converts TFLite models and {why}; zkprof does not export its own models to TFLite (put a .tflite of the same model beside its ONNX file)",
        ))
    };
    let onnx = cell
        .model
        .onnx
        .as_deref()
        .ok_or_else(|| no(format!("model `{}` has no model file", cell.model.name)))?;
    let tflite = absolute(&onnx.with_extension("tflite"));
    if tflite.is_file() {
        Ok(tflite)
    } else {
        Err(no(format!(
            "model `{}` has no {} beside its ONNX file",
            cell.model.name,
            tflite.display()
        )))
    }
}

/// A Python with the converter's packages: the `python` setting, `$ZKPROF_ZKML_PYTHON`, or a
/// venv in zkprof's cache. Returns it and a fact for the results.
pub(super) fn converter_python(cell: &Cell) -> Result<(PathBuf, String), FrameworkError> {
    let given = setting_str(cell, "python")
        .map(|p| (p, "setting `python`"))
        .or_else(|| {
            std::env::var("ZKPROF_ZKML_PYTHON")
                .ok()
                .filter(|v| !v.is_empty())
                .map(|p| (p, "ZKPROF_ZKML_PYTHON"))
        });
    if let Some((p, from)) = given {
        let path = PathBuf::from(&p);
        let path = if path.components().count() == 1 {
            provision::which(&p).unwrap_or(path)
        } else {
            path
        };
        if !path.is_file() {
            return Err(failed(format!(
                "the converter's Python {p} (from {from}) does not exist; point it at a Python with {}",
                CONVERTER_PACKAGES.join(", ")
            )));
        }
        return Ok((path, format!("{p} (from {from})")));
    }
    let base = provision::which("python3").ok_or_else(|| {
        failed("python3 not found on PATH: zkml's converter needs Python 3.9-3.11 with venv")
    })?;
    let tag = &cache_key(&CONVERTER_PACKAGES)[..12];
    let dir = crate::paths::cache_dir()
        .join("envs")
        .join(format!("zkml-converter-{tag}"));
    provision::ensure_env(
        &dir,
        "zkml converter venv (tensorflow-cpu, from PyPI)",
        |dir| {
            let venv = dir.join("venv").display().to_string();
            let py = base.display().to_string();
            provision::run(
                &[&py, "-m", "venv", &venv],
                None,
                "creating the zkml converter venv",
            )?;
            let pip = dir.join("venv/bin/pip").display().to_string();
            let mut argv = vec![
                pip.as_str(),
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ];
            argv.extend(CONVERTER_PACKAGES);
            provision::run(
                &argv,
                None,
                "installing zkml's converter packages from PyPI",
            )?;
            Ok(())
        },
    )?;
    Ok((
        dir.join("venv/bin/python"),
        format!("venv in the cache ({})", CONVERTER_PACKAGES.join(", ")),
    ))
}

/// A float32 vector as a `.npy` file (format 1.0), as zkml's input converter reads it.
pub fn npy_f32(values: &[f32]) -> Vec<u8> {
    let mut header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({},), }}",
        values.len()
    );
    // Magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    for v in values {
        out.extend(v.to_le_bytes());
    }
    out
}
