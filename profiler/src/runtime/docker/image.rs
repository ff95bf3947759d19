//! Framework images: built from `images/<framework>/` by the engine's legacy builder,
//! tagged by the content hash of their context, and a base image made without a registry.
//!
//! Tag: `zkprof/<framework>:ctx-<first 16 hex of the context hash>`. The hash covers every
//! file of the recipe and the build arguments (the base image), so an unchanged recipe finds
//! its image by tag and is not rebuilt; any change gives a new tag.
//!
//! Builds run with no network unless the Dockerfile says `# zkprof: build-network host`
//! (recipes that install pinned packages from a package registry). Step containers never
//! have a network.

use super::context::Context;
use super::engine::Engine;
use crate::runtime::RuntimeError;
use bollard::query_parameters::{
    BuildImageOptionsBuilder, CreateImageOptionsBuilder, ListImagesOptionsBuilder,
};
use futures_util::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The base image `zkprof images base` makes (Debian bookworm, minbase, by debootstrap).
pub const LOCAL_BASE: &str = "zkprof/base:bookworm";
/// Lines of a failing build step's output shown in the error.
const FAILED_STEP_LINES: usize = 40;

/// An image ready to run, with the facts recorded in results.
#[derive(Clone, Debug, PartialEq)]
pub struct BuiltImage {
    /// The recipe (`ezkl`), or empty for an image given by name.
    pub recipe: String,
    pub tag: String,
    /// The engine's image id (`sha256:...`, the hash of its config).
    pub id: String,
    /// The registry digest when the image was pulled or pushed; locally built images have none.
    pub digest: Option<String>,
    /// SHA-256 of the build context and arguments.
    pub context_sha256: String,
    pub base: String,
    pub base_id: String,
    /// SHA-256 of each recipe file (Dockerfile and locks).
    pub files: BTreeMap<String, String>,
    /// True when the tag already existed and nothing was built.
    pub reused: bool,
    /// Time spent in `ensure_image`, seconds.
    pub seconds: f64,
}

impl BuiltImage {
    /// Facts for `CellResult.info`.
    pub fn info(&self) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        m.insert("image".into(), self.tag.clone());
        m.insert("image_id".into(), self.id.clone());
        m.insert(
            "image_digest".into(),
            self.digest
                .clone()
                .unwrap_or_else(|| "none (built locally, never pushed)".into()),
        );
        m.insert("image_context_sha256".into(), self.context_sha256.clone());
        m.insert("image_base".into(), self.base.clone());
        m.insert("image_base_id".into(), self.base_id.clone());
        for (path, sha) in &self.files {
            m.insert(format!("lock.{path}"), sha.clone());
        }
        m
    }
}

/// The recipe directory of a framework.
pub fn recipe_dir(framework: &str) -> PathBuf {
    crate::runtime::images_dir().join(framework)
}

/// The recipes present (directories of `images/` holding a Dockerfile).
pub fn recipes() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(crate::runtime::images_dir())
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.path().join("Dockerfile").is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The base image a build uses: `base` if given, else `$ZKPROF_BASE_IMAGE`, else the
/// Dockerfile's `ARG BASE=` default (a digest-pinned `debian:bookworm-slim@sha256:...`).
pub fn choose_base(ctx: &Context, base: Option<&str>) -> Option<String> {
    base.map(str::to_string)
        .or_else(|| {
            std::env::var("ZKPROF_BASE_IMAGE")
                .ok()
                .filter(|v| !v.is_empty())
        })
        .or_else(|| ctx.arg_default("BASE"))
}

/// The tag for a recipe and context hash.
pub fn tag_for(framework: &str, context_sha256: &str) -> String {
    format!(
        "zkprof/{framework}:ctx-{}",
        &context_sha256[..16.min(context_sha256.len())]
    )
}

/// Finds the image of `framework`'s recipe by its content tag, or builds it.
pub fn ensure_image(
    engine: &Engine,
    framework: &str,
    base: Option<&str>,
) -> Result<BuiltImage, RuntimeError> {
    let dir = recipe_dir(framework);
    if !dir.join("Dockerfile").is_file() {
        let known = recipes();
        return Err(RuntimeError::Provision(format!(
            "no image recipe for `{framework}`: {} has no Dockerfile (recipes: {}); set `image = \"NAME\"` \
             in the suite's [[framework]] or ZKPROF_IMAGES_DIR to the repository's images/ directory",
            dir.display(),
            if known.is_empty() { "none found".into() } else { known.join(", ") }
        )));
    }
    let mut ctx = Context::load(&dir).map_err(RuntimeError::Provision)?;
    add_build_ca(&mut ctx)?;
    build_context(engine, framework, &ctx, base)
}

/// The file name under which `$ZKPROF_BUILD_CA` joins a build context.
pub const BUILD_CA_FILE: &str = "zkprof-build-ca.pem";

/// Adds the PEM bundle named by `$ZKPROF_BUILD_CA` to the context, for networks whose
/// TLS is intercepted by a proxy with its own CA: recipes copy `zkprof-build-ca.pem*` and
/// let pip/npm trust it during the build. It is part of the context hash.
pub fn add_build_ca(ctx: &mut Context) -> Result<(), RuntimeError> {
    let Some(path) = std::env::var_os("ZKPROF_BUILD_CA").filter(|v| !v.is_empty()) else {
        return Ok(());
    };
    let bytes = std::fs::read(&path).map_err(|e| {
        RuntimeError::Provision(format!(
            "ZKPROF_BUILD_CA={}: cannot read it: {e}; point it at a PEM bundle or unset it",
            Path::new(&path).display()
        ))
    })?;
    ctx.files.retain(|f| f.path != BUILD_CA_FILE);
    ctx.files.push(super::context::ContextFile {
        path: BUILD_CA_FILE.into(),
        mode: 0o644,
        bytes,
    });
    ctx.files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(())
}

/// Builds (or reuses) the image of a loaded context.
pub fn build_context(
    engine: &Engine,
    framework: &str,
    ctx: &Context,
    base: Option<&str>,
) -> Result<BuiltImage, RuntimeError> {
    let started = Instant::now();
    let base = choose_base(ctx, base).ok_or_else(|| {
        RuntimeError::Provision(format!(
            "{}/Dockerfile has no `ARG BASE=...` default and no base was given; pass --base IMAGE",
            ctx.dir.display()
        ))
    })?;
    // The base's id is part of the hash: a remade local base (same name) gives a new tag.
    let base_id = ensure_base(engine, &base)?;
    let args = BTreeMap::from([
        ("BASE".to_string(), base.clone()),
        (BASE_ID_KEY.to_string(), base_id.clone()),
    ]);
    let hash = ctx.hash(&args);
    let tag = tag_for(framework, &hash);
    let docker = &engine.docker;
    let mut reused = true;
    let inspect = match engine.block_on(docker.inspect_image(&tag)) {
        Ok(i) => i,
        Err(_) => {
            reused = false;
            tracing::info!(
                "building {tag} from {} (base {base} = {base_id})",
                ctx.dir.display()
            );
            build(engine, ctx, &tag, &args, &hash, framework)?;
            engine.block_on(docker.inspect_image(&tag)).map_err(|e| {
                RuntimeError::Provision(format!("built {tag} but cannot inspect it: {e}"))
            })?
        }
    };
    Ok(BuiltImage {
        recipe: framework.to_string(),
        tag,
        id: inspect.id.unwrap_or_default(),
        digest: inspect.repo_digests.and_then(|d| d.into_iter().next()),
        context_sha256: hash,
        base,
        base_id,
        files: ctx.file_hashes(),
        reused,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The hash input that carries the base image's id (not a build argument).
const BASE_ID_KEY: &str = "zkprof.base-id";

/// Makes sure the base image is present (pulling it if a registry can be reached) and
/// returns its id; otherwise says how to make one without a registry.
fn ensure_base(engine: &Engine, base: &str) -> Result<String, RuntimeError> {
    let docker = &engine.docker;
    if let Ok(i) = engine.block_on(docker.inspect_image(base)) {
        return Ok(i.id.unwrap_or_default());
    }
    let pulled: Result<(), String> = engine.block_on(async {
        let opts = CreateImageOptionsBuilder::default()
            .from_image(base)
            .build();
        let mut s = docker.create_image(Some(opts), None, None);
        while let Some(item) = s.next().await {
            item.map_err(|e| e.to_string())?;
        }
        Ok(())
    });
    match pulled.and_then(|_| engine.block_on(docker.inspect_image(base)).map_err(|e| e.to_string())) {
        Ok(i) => Ok(i.id.unwrap_or_default()),
        Err(why) => Err(RuntimeError::Provision(format!(
            "base image `{base}` is not present and cannot be pulled ({why}); make a base image without \
             a registry with `zkprof images base` (debootstrap + import, tags {LOCAL_BASE}), then build with \
             `--base {LOCAL_BASE}` or ZKPROF_BASE_IMAGE={LOCAL_BASE}"
        ))),
    }
}

/// Runs the legacy builder on the context; a failure shows the failing step's output.
fn build(
    engine: &Engine,
    ctx: &Context,
    tag: &str,
    args: &BTreeMap<String, String>,
    hash: &str,
    framework: &str,
) -> Result<(), RuntimeError> {
    let tar = ctx.tar().map_err(RuntimeError::Provision)?;
    let network = ctx
        .directive("build-network")
        .unwrap_or_else(|| "none".into());
    let labels = HashMap::from([
        ("org.zkprof.recipe".to_string(), framework.to_string()),
        ("org.zkprof.context-sha256".to_string(), hash.to_string()),
        (
            "org.zkprof.base".to_string(),
            args.get("BASE").cloned().unwrap_or_default(),
        ),
        (
            "org.zkprof.base-id".to_string(),
            args.get(BASE_ID_KEY).cloned().unwrap_or_default(),
        ),
    ]);
    let buildargs: HashMap<String, String> = args
        .iter()
        .filter(|(k, _)| k.as_str() != BASE_ID_KEY)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let opts = BuildImageOptionsBuilder::default()
        .dockerfile("Dockerfile")
        .t(tag)
        .rm(true)
        .forcerm(true)
        .networkmode(&network)
        .buildargs(&buildargs)
        .labels(&labels)
        .build();
    let mut log = BuildLog::default();
    let result: Result<(), String> = engine.block_on(async {
        let mut s = engine
            .docker
            .build_image(opts, None, Some(bollard::body_full(tar.into())));
        while let Some(item) = s.next().await {
            match item {
                Ok(info) => {
                    if let Some(text) = info.stream {
                        log.push(&text);
                    }
                    if let Some(e) = info.error_detail.and_then(|d| d.message) {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(())
    });
    log.finish();
    let log_path = crate::paths::cache_dir()
        .join("images")
        .join(format!("{}.build.log", tag.replace(['/', ':'], "_")));
    if let Some(parent) = log_path.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    let _ = std::fs::write(&log_path, log.all.join("\n"));
    result.map_err(|error| {
        RuntimeError::Provision(format!(
            "building the `{framework}` image failed at {}:\n{}\n{error}\n(full build log: {})",
            log.step.as_deref().unwrap_or("the first step"),
            log.step_tail(FAILED_STEP_LINES),
            log_path.display()
        ))
    })
}

/// The builder's output, split so that the failing step's lines can be shown.
#[derive(Debug, Default)]
pub struct BuildLog {
    pub all: Vec<String>,
    /// The current `Step N/M : ...` line.
    pub step: Option<String>,
    /// Output lines of the current step.
    pub step_lines: Vec<String>,
    /// An unfinished last line (the builder's chunks do not end at line breaks).
    partial: String,
}

impl BuildLog {
    /// Adds a chunk of builder output (may hold several lines or a partial one).
    pub fn push(&mut self, text: &str) {
        self.partial.push_str(text);
        let Some(cut) = self.partial.rfind('\n') else {
            return;
        };
        let complete: String = self.partial.drain(..=cut).collect();
        self.add_lines(&complete);
    }

    /// Takes in an unfinished last line (at the end of the output).
    pub fn finish(&mut self) {
        let rest = std::mem::take(&mut self.partial);
        self.add_lines(&rest);
    }

    fn add_lines(&mut self, text: &str) {
        for line in text.lines() {
            let clean = strip_ansi(line);
            let line = clean.trim_end();
            if line.is_empty() {
                continue;
            }
            self.all.push(line.to_string());
            if line.starts_with("Step ") && line.contains(" : ") {
                self.step = Some(line.to_string());
                self.step_lines.clear();
            } else {
                self.step_lines.push(line.to_string());
            }
        }
    }

    /// The last `n` output lines of the current step, indented.
    pub fn step_tail(&self, n: usize) -> String {
        let start = self.step_lines.len().saturating_sub(n);
        self.step_lines[start..]
            .iter()
            .map(|l| format!("  | {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Removes terminal colour sequences (`ESC [ ... m`) the builder puts around stderr.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// One image of `zkprof images ls`.
#[derive(Clone, Debug, PartialEq)]
pub struct ListedImage {
    pub recipe: String,
    pub tag: String,
    pub id: String,
    pub size_bytes: u64,
    pub created: i64,
    /// Whether the tag matches the recipe's current context (with the default base).
    pub current: bool,
}

/// The images zkprof built (label `org.zkprof.recipe`), and the local base image.
pub fn list(engine: &Engine) -> Result<Vec<ListedImage>, RuntimeError> {
    let opts = ListImagesOptionsBuilder::default().build();
    let images = engine
        .block_on(engine.docker.list_images(Some(opts)))
        .map_err(|e| RuntimeError::Engine(format!("cannot list images: {e}")))?;
    let mut out = Vec::new();
    for img in images {
        let recipe = img.labels.get("org.zkprof.recipe").cloned();
        for tag in &img.repo_tags {
            let is_base = tag == LOCAL_BASE;
            if recipe.is_none() && !is_base {
                continue;
            }
            out.push(ListedImage {
                recipe: recipe.clone().unwrap_or_else(|| "(base)".into()),
                tag: tag.clone(),
                id: img.id.clone(),
                size_bytes: img.size.max(0) as u64,
                created: img.created,
                current: is_base || is_current(&img.labels),
            });
        }
    }
    out.sort_by(|a, b| (&a.recipe, -a.created).cmp(&(&b.recipe, -b.created)));
    Ok(out)
}

/// Whether an image's recorded context hash equals its recipe's hash now (same base).
fn is_current(labels: &HashMap<String, String>) -> bool {
    let (Some(recipe), Some(hash), Some(base), Some(base_id)) = (
        labels.get("org.zkprof.recipe"),
        labels.get("org.zkprof.context-sha256"),
        labels.get("org.zkprof.base"),
        labels.get("org.zkprof.base-id"),
    ) else {
        return false;
    };
    let Ok(mut ctx) = Context::load(&recipe_dir(recipe)) else {
        return false;
    };
    if add_build_ca(&mut ctx).is_err() {
        return false;
    }
    let args = BTreeMap::from([
        ("BASE".to_string(), base.clone()),
        (BASE_ID_KEY.to_string(), base_id.clone()),
    ]);
    &ctx.hash(&args) == hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_log_keeps_the_failing_steps_output() {
        let mut log = BuildLog::default();
        log.push("Step 1/3 : FROM base\n ---> abc\n");
        log.push("Step 2/3 : RUN false\n");
        log.push(" ---> Running in 123\n\u{1b}[91msomething ");
        log.push("broke\n\u{1b}[0m");
        log.push("no newline at the end");
        log.finish();
        assert_eq!(log.step.as_deref(), Some("Step 2/3 : RUN false"));
        let tail = log.step_tail(10);
        assert!(
            tail.contains("| something broke") && !tail.contains("abc"),
            "{tail}"
        );
        assert!(!tail.contains('\u{1b}'), "{tail}");
        assert!(tail.ends_with("| no newline at the end"), "{tail}");
        assert_eq!(log.all.len(), 6);
    }

    #[test]
    fn tags_name_the_recipe_and_hash() {
        assert_eq!(
            tag_for("ezkl", "0123456789abcdef0123"),
            "zkprof/ezkl:ctx-0123456789abcdef"
        );
    }

    #[test]
    fn info_records_ids_and_lock_hashes() {
        let img = BuiltImage {
            recipe: "ezkl".into(),
            tag: "zkprof/ezkl:ctx-1".into(),
            id: "sha256:1".into(),
            digest: None,
            context_sha256: "ab".into(),
            base: LOCAL_BASE.into(),
            base_id: "sha256:2".into(),
            files: BTreeMap::from([("requirements.lock".to_string(), "cd".to_string())]),
            reused: false,
            seconds: 0.0,
        };
        let info = img.info();
        assert_eq!(info["image_id"], "sha256:1");
        assert_eq!(info["lock.requirements.lock"], "cd");
        assert!(info["image_digest"].starts_with("none"));
    }
}
