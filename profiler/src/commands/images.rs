//! `zkprof images base|build|ls`: the pinned framework images of the docker runtime.

use crate::error::{UserError, EXIT_OK};
use crate::runtime::docker::image::{self, LOCAL_BASE};
use crate::runtime::docker::Engine;
use crate::runtime::RuntimeError;
use crate::units::format_bytes;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ImagesArgs {
    #[command(subcommand)]
    pub action: ImagesAction,
}

#[derive(Debug, Subcommand)]
pub enum ImagesAction {
    /// Make the base image without a registry: debootstrap from a Debian mirror, then import.
    Base(BaseArgs),
    /// Build framework images from images/<framework>/ (all recipes when none is named).
    Build(BuildArgs),
    /// List the images zkprof built, and whether they match their recipe now.
    Ls,
}

#[derive(Debug, Args)]
pub struct BaseArgs {
    /// Tag of the image to make.
    #[arg(long, default_value = LOCAL_BASE)]
    pub tag: String,
    /// Debian suite.
    #[arg(long, default_value = "bookworm")]
    pub suite: String,
    /// Debian mirror.
    #[arg(long, default_value = "http://deb.debian.org/debian")]
    pub mirror: String,
    /// Where debootstrap builds the root file system (default: the cache directory).
    #[arg(long, value_name = "DIR")]
    pub rootfs: Option<PathBuf>,
    /// Make it again even if the tag exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Recipes to build (directories of images/).
    pub frameworks: Vec<String>,
    /// Base image instead of the Dockerfile's digest-pinned default (e.g. zkprof/base:bookworm).
    #[arg(long, value_name = "IMAGE", env = "ZKPROF_BASE_IMAGE")]
    pub base: Option<String>,
}

fn engine() -> anyhow::Result<Engine> {
    Engine::connect().map_err(|e| UserError::Host(e.to_string()).into())
}

fn provision_err(e: RuntimeError) -> anyhow::Error {
    match e {
        RuntimeError::Unavailable(m) => UserError::Host(m).into(),
        other => anyhow::anyhow!(other.to_string()),
    }
}

pub fn run(_global: &super::GlobalArgs, args: &ImagesArgs) -> anyhow::Result<i32> {
    match &args.action {
        ImagesAction::Base(a) => base(a),
        ImagesAction::Build(a) => build(a),
        ImagesAction::Ls => ls(),
    }
}

fn base(a: &BaseArgs) -> anyhow::Result<i32> {
    let engine = engine()?;
    if !a.force {
        if let Ok(i) = engine.block_on(engine.docker.inspect_image(&a.tag)) {
            println!(
                "{} exists ({}); --force makes it again",
                a.tag,
                i.id.unwrap_or_default()
            );
            return Ok(EXIT_OK);
        }
    }
    let rootfs = a.rootfs.clone().unwrap_or_else(|| {
        crate::paths::cache_dir()
            .join("images")
            .join(format!("rootfs-{}", a.suite))
    });
    let t = std::time::Instant::now();
    eprintln!(
        "debootstrap {} from {} into {} (about a minute)...",
        a.suite,
        a.mirror,
        rootfs.display()
    );
    let id = crate::runtime::docker::base::make_base(&engine, &a.tag, &a.suite, &a.mirror, &rootfs)
        .map_err(provision_err)?;
    let _ = std::fs::remove_dir_all(&rootfs);
    println!("{} = {id} ({:.1} s)", a.tag, t.elapsed().as_secs_f64());
    Ok(EXIT_OK)
}

fn build(a: &BuildArgs) -> anyhow::Result<i32> {
    let engine = engine()?;
    let names = if a.frameworks.is_empty() {
        image::recipes()
    } else {
        a.frameworks.clone()
    };
    if names.is_empty() {
        return Err(UserError::Input(format!(
            "no recipes in {}; set ZKPROF_IMAGES_DIR to the repository's images/ directory",
            crate::runtime::images_dir().display()
        ))
        .into());
    }
    for name in names {
        let img = image::ensure_image(&engine, &name, a.base.as_deref()).map_err(provision_err)?;
        println!(
            "{:10} {}  {}  {} in {:.2} s",
            name,
            img.tag,
            img.id,
            if img.reused {
                "unchanged, not rebuilt"
            } else {
                "built"
            },
            img.seconds
        );
    }
    Ok(EXIT_OK)
}

fn ls() -> anyhow::Result<i32> {
    let engine = engine()?;
    let images = image::list(&engine).map_err(provision_err)?;
    println!(
        "{:10} {:40} {:20} {:>10}  state",
        "recipe", "tag", "id", "size"
    );
    for i in images {
        let id: String =
            i.id.trim_start_matches("sha256:")
                .chars()
                .take(12)
                .collect();
        let state = if i.current {
            "current"
        } else {
            "stale (recipe, base or ZKPROF_BUILD_CA changed)"
        };
        println!(
            "{:10} {:40} {:20} {:>10}  {state}",
            i.recipe,
            i.tag,
            id,
            format_bytes(i.size_bytes as f64)
        );
    }
    Ok(EXIT_OK)
}
