//! The pieces of an opML run: zkprof's guest build, the `mlvm` command line, input files, and
//! the unmeasured runs of the accuracy evaluation.

use super::{failed, guest_key, guest_manifest, install::Installation, parse};
use crate::cache::Entry;
use crate::frameworks::{provision, FrameworkError, PlannedStep};
use crate::model::onnx;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How an input vector is handed to the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    /// Big-endian f32 values, exactly the model's inputs.
    F32,
    /// One byte per value, `trunc(x * 255)` (the 2024 benchmark's files for its guests).
    U8,
}

impl InputFormat {
    pub fn name(self) -> &'static str {
        match self {
            InputFormat::F32 => "f32",
            InputFormat::U8 => "u8",
        }
    }
}

/// The bytes of an input file for `mlvm --data`.
pub fn encode_input(x: &[f32], format: InputFormat) -> Vec<u8> {
    match format {
        InputFormat::F32 => x.iter().flat_map(|v| v.to_be_bytes()).collect(),
        InputFormat::U8 => x
            .iter()
            .map(|v| (v * 255.0).clamp(0.0, 255.0) as u8)
            .collect(),
    }
}

/// The Python that runs `compile.py` (needs `pyelftools` and `rangetree`):
/// `$ZKPROF_OPML_PYTHON`, a venv in the checkout, else `python3`.
fn python(inst: &Installation) -> PathBuf {
    if let Some(p) = std::env::var_os("ZKPROF_OPML_PYTHON").filter(|v| !v.is_empty()) {
        return PathBuf::from(p);
    }
    [
        inst.mlgo.join("venv/bin/python3"),
        inst.home.join("venv/bin/python3"),
    ]
    .into_iter()
    .find(|p| p.is_file())
    .unwrap_or_else(|| PathBuf::from("python3"))
}

/// The Go toolchain: `$ZKPROF_OPML_GO`, else `go` on PATH.
fn go() -> Option<PathBuf> {
    std::env::var_os("ZKPROF_OPML_GO")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| provision::which("go"))
}

/// What a run needs besides the checkout, each with its fix: the Go toolchain (the guest is
/// built for GOARCH=mips) and the Python modules of opML's `compile.py`.
pub(super) fn toolchain_problems(inst: &Installation) -> Vec<String> {
    let mut out = Vec::new();
    if go().is_none() {
        out.push(
            "`go` not found on PATH: install Go (1.19 or later, as upstream's README says) or set ZKPROF_OPML_GO"
                .to_string(),
        );
    }
    let py = python(inst);
    let mut cmd = Command::new(&py);
    cmd.args(["-c", "import elftools, rangetree"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let ok = crate::measure::helper::output(&mut cmd).is_ok_and(|o| o.status.success());
    if !ok {
        out.push(format!(
            "{} cannot import pyelftools and rangetree (opML's compile.py needs them): `{} -m pip install -r {}` (or set ZKPROF_OPML_PYTHON)",
            py.display(),
            py.display(),
            inst.mlgo.join("requirements.txt").display()
        ));
    }
    out
}

/// zkprof's guest in the artifact cache: its `.bin` path, and the entry to build when it is
/// not there yet (then the tools it needs are checked now).
pub(super) fn zkprof_guest(
    inst: &Installation,
    info: &mut BTreeMap<String, String>,
) -> Result<(PathBuf, Option<Entry>), FrameworkError> {
    let go = go().ok_or_else(|| {
        failed("opML guest build: `go` not found on PATH (set ZKPROF_OPML_GO); the guest is Go for GOARCH=mips")
    })?;
    let go_s = go.display().to_string();
    let version = provision::run(&[&go_s, "version"], None, "go version")?;
    let version = version.trim().to_string();
    info.insert("go_version".into(), version.clone());
    info.insert(
        "guest".into(),
        "zkprof generic MLP guest (assets/opml/guest.go)".into(),
    );
    let key = guest_key(inst, &version);
    let root = crate::paths::cache_dir().join("artifacts");
    let entry = Entry::new(&root, "opml", &key[..32]);
    if entry.lookup(&key, info).map_err(failed)?.is_some() {
        return Ok((entry.path("guest.bin"), None));
    }
    let py = python(inst);
    let py_s = py.display().to_string();
    provision::run(
        &[&py_s, "-c", "import elftools, rangetree"],
        None,
        "opML's compile.py needs pyelftools and rangetree (pip install -r mlgo/requirements.txt; or set ZKPROF_OPML_PYTHON)",
    )?;
    let src = entry.path("src");
    std::fs::create_dir_all(&src)
        .map_err(|e| failed(format!("cannot create {}: {e}", src.display())))?;
    provision::write_if_changed(&src.join("main.go"), super::GUEST_SRC)?;
    let gomod = format!(
        "module zkprofguest\n\ngo 1.19\n\nrequire mlgo v0.0.0\n\nreplace mlgo => {}\n",
        inst.mlgo.display()
    );
    provision::write_if_changed(&src.join("go.mod"), &gomod)?;
    let sum = std::fs::read_to_string(inst.mlgo.join("go.sum")).unwrap_or_default();
    provision::write_if_changed(&src.join("go.sum"), &sum)?;
    Ok((entry.path("guest.bin"), Some(entry)))
}

/// The measured compile step: `go build -trimpath` for MIPS, then opML's `compile.py`.
pub(super) fn compile_step(
    inst: &Installation,
    entry: &Entry,
) -> Result<PlannedStep, FrameworkError> {
    let go = go().ok_or_else(|| failed("`go` not found"))?;
    let script = r#"set -e
cd src
"$1" build -trimpath -o ../guest .
cd ..
"$2" "$3" guest"#;
    let env = [
        ("GOOS", "linux"),
        ("GOARCH", "mips"),
        ("GOMIPS", "softfloat"),
        ("CGO_ENABLED", "0"),
        ("GOFLAGS", "-mod=mod"),
        ("GOWORK", "off"),
    ];
    Ok(PlannedStep {
        name: "compile".into(),
        argv: vec![
            "sh".into(),
            "-c".into(),
            script.into(),
            "zkprof-opml-guest".into(),
            go.display().to_string(),
            python(inst).display().to_string(),
            inst.compile_py.display().to_string(),
        ],
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        cwd: Some(entry.dir.clone()),
    })
}

/// Marks the built guest complete in the cache.
pub(super) fn seal_guest(entry: &Entry, inst: &Installation) -> Result<(), FrameworkError> {
    entry
        .seal(guest_manifest(inst), &["guest.bin"])
        .map(|_| ())
        .map_err(|e| failed(format!("cannot seal the guest's cache entry: {e}")))
}

/// A guest the user supplies: a `.bin` file, or a directory of the 2024 benchmark's guests,
/// of which the one for this model's shape (`mlgo_<inputs>_I<D per layer>.bin`) is taken.
pub(super) fn supplied_guest(p: &Path, mlp: &onnx::Mlp) -> Result<PathBuf, FrameworkError> {
    let p = crate::frameworks::absolute(p);
    let file = if p.is_dir() {
        let n_in = mlp.layers.first().map_or(0, onnx::DenseLayer::inputs);
        let name = format!("mlgo_{n_in}_I{}.bin", "D".repeat(mlp.layers.len()));
        p.join(name)
    } else {
        p
    };
    if file.is_file() {
        Ok(file)
    } else {
        Err(FrameworkError::Unsupported(format!(
            "guest program {} not found (setting `guest`)",
            file.display()
        )))
    }
}

/// `mlvm` executing `guest` on `model` and `data`, writing its checkpoints into `basedir`.
pub(super) fn mlvm_argv(
    inst: &Installation,
    basedir: &Path,
    guest: &Path,
    model: &Path,
    data: &Path,
) -> Vec<String> {
    vec![
        inst.mlvm.display().to_string(),
        format!("--basedir={}", basedir.display()),
        format!("--program={}", guest.display()),
        format!("--model={}", model.display()),
        format!("--data={}", data.display()),
        "--mipsVMCompatible".into(),
    ]
}

/// Removes `checkpoint_<N>.json` where `checkpoint_final.json` holds the same state.
pub(super) fn drop_duplicate_checkpoints(dir: &Path) {
    if !dir.join("checkpoint_final.json").is_file() {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let numbered = name
            .strip_prefix("checkpoint_")
            .and_then(|r| r.strip_suffix(".json"))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if numbered {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Unmeasured VM runs (the accuracy evaluation).
pub(super) struct Vm<'a> {
    pub inst: &'a Installation,
    pub guest: &'a Path,
    pub model: &'a Path,
    pub format: InputFormat,
}

/// The longest one unmeasured VM run may take before it is killed, seconds.
const RUN_TIMEOUT_S: u64 = 1800;

impl Vm<'_> {
    /// Runs the guest once per input, `jobs` at a time, each in its own directory under
    /// `dir` (removed after its output is read). Results are in input order.
    pub fn run_many(
        &self,
        dir: &Path,
        inputs: &[Vec<f32>],
        jobs: usize,
    ) -> Result<Vec<parse::VmRun>, FrameworkError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| failed(format!("cannot create {}: {e}", dir.display())))?;
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<Result<parse::VmRun, String>>>> =
            Mutex::new(vec![None; inputs.len()]);
        std::thread::scope(|s| {
            for _ in 0..jobs.min(inputs.len()).max(1) {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(x) = inputs.get(i) else { break };
                    let r = self.run_one(&dir.join(format!("input-{i}")), x);
                    let failed_run = r.is_err();
                    if let Ok(mut v) = results.lock() {
                        v[i] = Some(r);
                    }
                    if failed_run {
                        next.store(inputs.len(), Ordering::Relaxed);
                    }
                });
            }
        });
        let results = results
            .into_inner()
            .map_err(|_| failed("accuracy runs: lock poisoned"))?;
        let _ = std::fs::remove_dir(dir);
        results
            .into_iter()
            .enumerate()
            .filter_map(|(i, r)| {
                r.map(|r| r.map_err(|e| failed(format!("accuracy input {i}: {e}"))))
            })
            .collect()
    }

    fn run_one(&self, dir: &Path, x: &[f32]) -> Result<parse::VmRun, String> {
        let io = |e: std::io::Error| format!("{}: {e}", dir.display());
        std::fs::create_dir_all(dir).map_err(io)?;
        let data = dir.join("input.bin");
        std::fs::write(&data, encode_input(x, self.format)).map_err(io)?;
        let (out_p, err_p) = (dir.join("stdout.log"), dir.join("stderr.log"));
        let argv = mlvm_argv(self.inst, dir, self.guest, self.model, &data);
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out_p).map_err(io)?)
            .stderr(std::fs::File::create(&err_p).map_err(io)?);
        // Supervised like a step: killed with zkprof, nothing left behind.
        let mut child = crate::measure::helper::spawn(&mut cmd)
            .map_err(|e| format!("cannot run {}: {e}", argv[0]))?;
        let start = Instant::now();
        let status = loop {
            if let Some(st) = child.try_wait().map_err(io)? {
                break st;
            }
            if start.elapsed() > Duration::from_secs(RUN_TIMEOUT_S) {
                child.kill();
                return Err(format!("mlvm ran past {RUN_TIMEOUT_S} s and was stopped"));
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let read =
            |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
        let run = parse::parse(&read(&out_p), &read(&err_p));
        let _ = std::fs::remove_dir_all(dir);
        if !status.success() {
            return Err(format!(
                "mlvm exited with {status}{}",
                run.last_guest_line
                    .as_deref()
                    .map(|l| format!(": {l}"))
                    .unwrap_or_default()
            ));
        }
        Ok(run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_big_endian_floats_or_truncated_bytes() {
        assert_eq!(
            encode_input(&[1.0], InputFormat::F32),
            vec![0x3f, 0x80, 0, 0]
        );
        assert_eq!(
            encode_input(&[0.0, 0.5, 1.0, 2.0], InputFormat::U8),
            vec![0, 127, 255, 255]
        );
    }

    #[test]
    fn picks_the_2024_guest_by_shape() {
        let dir = tempfile::tempdir().unwrap();
        let layer = |o: usize, i: usize| onnx::DenseLayer {
            weights: vec![vec![0.0; i]; o],
            bias: vec![0.0; o],
            relu: true,
        };
        let mlp = onnx::Mlp {
            input_shape: vec![196],
            convs: Vec::new(),
            layers: vec![layer(25, 196), layer(10, 25)],
            dropped_softmax: true,
        };
        let err = supplied_guest(dir.path(), &mlp).unwrap_err().to_string();
        assert!(err.contains("mlgo_196_IDD.bin"), "{err}");
        std::fs::write(dir.path().join("mlgo_196_IDD.bin"), b"x").unwrap();
        assert!(supplied_guest(dir.path(), &mlp)
            .unwrap()
            .ends_with("mlgo_196_IDD.bin"));
    }
}
