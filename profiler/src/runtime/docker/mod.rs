//! The Docker runtime: each step runs in a fresh container of the cell's pinned image.
//!
//! Talks to the engine through bollard (Docker, or Podman's Docker-compatible socket).
//! Every step container has no network, drops every capability, cannot gain privileges,
//! runs as a non-root user on a read-only root file system, and sees only the cell's
//! directory (writable, at the same path as on the host), the model's directory
//! (read-only) and a private `/tmp`. The suite's memory limit and cpuset become the
//! container's. Measurements match native runs: the sampler thread watches the
//! container's processes from the host (their working set, the headline peak memory, as
//! for a native step; series, per-process peak, timeout, Ctrl-C, host sensors), and CPU
//! time and the charged peak (page cache included) come from a parent cgroup holding only
//! this container (see `measure::cgroup::ParentCgroup`).

pub mod base;
pub mod container;
pub mod context;
pub mod engine;
pub mod image;

use super::{environment_name, Runtime, RuntimeError};
use crate::measure::{Runner, StepSpec};
use crate::results::StepRun;
use crate::sensors::Sensor;
use crate::suite::Cell;
pub use container::{
    container_body, host_has_nvidia_gpu, run_in_container, split_exit, ContainerSettings,
};
pub use engine::{engine_address, Engine};
use image::BuiltImage;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The uid:gid steps run as when zkprof itself runs as root (the images' `zkprof` user).
pub const CONTAINER_USER_WHEN_ROOT: (u32, u32) = (1000, 1000);

/// Runs a cell's steps in containers of its image.
pub struct DockerRuntime<'a> {
    runner: &'a Runner,
    engine: Engine,
    image: Option<BuiltImage>,
    /// (host path, read-only) bind mounts, at the same path inside.
    mounts: Vec<(PathBuf, bool)>,
    /// `uid:gid` the steps run as.
    user: String,
    cpuset: Option<String>,
    workdir: PathBuf,
    /// zkprof's cache, mounted for framework adapters (their scripts and artifacts).
    cache: Option<PathBuf>,
}

impl<'a> DockerRuntime<'a> {
    /// Connects to the engine; fails with "docker daemon not reachable at ..." when it cannot.
    pub fn connect(runner: &'a Runner) -> Result<DockerRuntime<'a>, RuntimeError> {
        Ok(DockerRuntime {
            runner,
            engine: Engine::connect()?,
            image: None,
            mounts: Vec::new(),
            user: String::new(),
            cpuset: None,
            workdir: PathBuf::new(),
            cache: None,
        })
    }

    /// The engine connection.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Uses this image (by tag or id) for the steps instead of building the cell's recipe.
    pub fn use_image(&mut self, image: BuiltImage) {
        self.image = Some(image);
    }
}

impl Runtime for DockerRuntime<'_> {
    fn kind(&self) -> super::RuntimeKind {
        super::RuntimeKind::Docker
    }

    fn provision(
        &mut self,
        cell: &Cell,
        workdir: &Path,
    ) -> Result<BTreeMap<String, String>, RuntimeError> {
        if self.image.is_none() {
            let img = image::ensure_image(&self.engine, environment_name(cell), None)?;
            if !img.reused {
                eprintln!(
                    "built image {} for {} in {:.1} s",
                    img.tag, cell.id, img.seconds
                );
            }
            self.image = Some(img);
        }
        let image = self
            .image
            .as_ref()
            .ok_or_else(|| RuntimeError::Provision("no image".into()))?;
        self.workdir = workdir.to_path_buf();
        self.mounts = vec![(workdir.to_path_buf(), false)];
        // The adapters' helper scripts and artifacts (keys, compiled circuits, SRS/ptau)
        // live in zkprof's cache: mounted at CACHE_INSIDE (the same path may lie below a
        // home directory the container user cannot enter), paths in steps rewritten.
        let cache = crate::paths::cache_dir();
        let cache = cache.canonicalize().unwrap_or(cache);
        let use_cache =
            cell.framework.kind != crate::kinds::FrameworkKind::Command && cache.is_dir();
        if let Some(dir) = cell.model.onnx.as_ref().and_then(|p| p.parent()) {
            // A model inside the cache is reached through the cache's own mount.
            let in_cache = use_cache && dir.starts_with(&cache);
            if !(workdir.starts_with(dir) || in_cache) {
                self.mounts.push((dir.to_path_buf(), true));
            }
        }
        self.cache = use_cache.then_some(cache);
        self.cpuset = cell.framework.cpuset.clone();
        // SAFETY: getuid/getgid have no preconditions.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let (uid, gid) = if uid == 0 {
            // Root on the host: steps run as the images' unprivileged user, which needs
            // to write the cell's directory.
            chown_tree(
                workdir,
                CONTAINER_USER_WHEN_ROOT.0,
                CONTAINER_USER_WHEN_ROOT.1,
            )
            .map_err(|e| {
                RuntimeError::Provision(format!(
                    "cannot hand {} to the container user {}: {e}",
                    workdir.display(),
                    CONTAINER_USER_WHEN_ROOT.0
                ))
            })?;
            // Steps write artifacts into the cache (compile, setup): the container user
            // owns them too (root on the host keeps full access).
            if let Some(cache) = &self.cache {
                for sub in ["artifacts", "envs"] {
                    let dir = cache.join(sub);
                    if dir.is_dir() {
                        chown_tree(&dir, CONTAINER_USER_WHEN_ROOT.0, CONTAINER_USER_WHEN_ROOT.1)
                            .map_err(|e| {
                                RuntimeError::Provision(format!(
                                    "cannot hand {} to the container user: {e}",
                                    dir.display()
                                ))
                            })?;
                    }
                }
            }
            CONTAINER_USER_WHEN_ROOT
        } else {
            (uid, gid)
        };
        self.user = format!("{uid}:{gid}");
        let mut info = image.info();
        info.insert("runtime".into(), "docker".into());
        info.insert("container_user".into(), self.user.clone());
        info.insert("docker_address".into(), self.engine.address.clone());
        info.insert("docker_api_version".into(), self.engine.api_version.clone());
        info.insert(
            "docker_server_version".into(),
            self.engine.server_version.clone(),
        );
        Ok(info)
    }

    fn run_step(
        &mut self,
        spec: &StepSpec,
        sensors: Vec<Box<dyn Sensor>>,
    ) -> Result<StepRun, RuntimeError> {
        let image = self.image.as_ref().ok_or_else(|| {
            RuntimeError::Provision("docker runtime used before provision".into())
        })?;
        // An adapter names its host toolchain (a venv's python, the node it found); inside
        // the image the same tools are on PATH.
        let translated;
        let spec = match &self.cache {
            Some(cache) => {
                translated = inside_paths(spec, cache, Path::new(CACHE_INSIDE));
                &translated
            }
            None => spec,
        };
        // Steps write beside their logs (rep-N/): that directory is the container user's too.
        if self.user
            == format!(
                "{}:{}",
                CONTAINER_USER_WHEN_ROOT.0, CONTAINER_USER_WHEN_ROOT.1
            )
        {
            std::fs::create_dir_all(&spec.log_dir)
                .and_then(|()| {
                    chown_tree(
                        &spec.log_dir,
                        CONTAINER_USER_WHEN_ROOT.0,
                        CONTAINER_USER_WHEN_ROOT.1,
                    )
                })
                .map_err(|e| {
                    RuntimeError::Provision(format!(
                        "cannot hand {} to the container user: {e}",
                        spec.log_dir.display()
                    ))
                })?;
        }
        let settings = ContainerSettings {
            image: image.id.clone(),
            user: self.user.clone(),
            mounts: self.mounts.clone(),
            // A cell confined to N CPUs (the `cpus` setting) gets exactly those.
            cpuset: spec
                .cpus
                .as_ref()
                .map(|c| c.list())
                .or_else(|| self.cpuset.clone()),
            workdir: spec.cwd.clone().unwrap_or_else(|| self.workdir.clone()),
            gpus: host_has_nvidia_gpu(),
            remapped: self
                .cache
                .iter()
                .map(|c| (c.clone(), PathBuf::from(CACHE_INSIDE)))
                .collect(),
        };
        run_in_container(&self.engine, self.runner, &settings, spec, sensors)
    }
}

/// Where zkprof's cache is mounted inside step containers.
const CACHE_INSIDE: &str = "/zkprof-cache";

/// The step as the container sees it: the host toolchain in `argv[0]` replaced by the
/// image's ([`image_program`]) and every path below the host cache rewritten to `inside`.
fn inside_paths(spec: &StepSpec, cache: &Path, inside: &Path) -> StepSpec {
    let host = cache.display().to_string();
    let to = inside.display().to_string();
    let map = |s: &str| match s.strip_prefix(&host) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("{to}{rest}"),
        _ => s.replace(&format!("{host}/"), &format!("{to}/")),
    };
    let mut argv: Vec<String> = spec.argv.iter().map(|a| map(a)).collect();
    if let Some(program) = image_program(&spec.argv, Some(cache)) {
        argv[0] = program;
    }
    StepSpec {
        argv,
        env: spec.env.iter().map(|(k, v)| (k.clone(), map(v))).collect(),
        cwd: spec
            .cwd
            .as_ref()
            .map(|c| PathBuf::from(map(&c.display().to_string()))),
        ..spec.clone()
    }
}

/// The program to run in the image instead of `argv[0]`, when `argv[0]` is a host
/// toolchain inside zkprof's cache (`.../venv/bin/python3` -> `python3`, `.../node` -> `node`).
fn image_program(argv: &[String], cache: Option<&Path>) -> Option<String> {
    let cache = cache?;
    let first = Path::new(argv.first()?);
    let host_tool = first.is_absolute() && first.starts_with(cache);
    let name = first.file_name()?.to_str()?;
    if !host_tool && !(first.is_absolute() && (name == "node" || name.starts_with("python"))) {
        return None;
    }
    if name.starts_with("python") {
        Some("python3".into())
    } else if name == "node" || name.starts_with("node") {
        Some("node".into())
    } else {
        None
    }
}

/// Gives a directory tree to `uid:gid` (symlinks themselves, not their targets).
fn chown_tree(dir: &Path, uid: u32, gid: u32) -> std::io::Result<()> {
    std::os::unix::fs::lchown(dir, Some(uid), Some(gid))?;
    if dir.is_dir() && !dir.is_symlink() {
        for entry in std::fs::read_dir(dir)? {
            chown_tree(&entry?.path(), uid, gid)?;
        }
    }
    Ok(())
}
