//! `zkprof cache ls|clear`: the artifact cache under `crate::paths::cache_dir()`.

use crate::cache;
use crate::units::format_bytes;
use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    pub action: CacheAction,
}

#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// List cached artifacts (one row per entry) and toolchains.
    Ls {
        /// Re-hash every file against its manifest (slow for big keys).
        #[arg(long)]
        verify: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove cached artifacts.
    Clear {
        /// Only this framework's entries (`ezkl`, `circom`, `ezkl-srs`, `ptau`).
        #[arg(long, value_name = "F")]
        framework: Option<String>,
        /// Also remove the installed toolchains (venvs, npm trees).
        #[arg(long)]
        all: bool,
    },
}

pub fn run(args: &CacheArgs) -> anyhow::Result<i32> {
    let dir = crate::paths::cache_dir_path();
    let artifacts = dir.join("artifacts");
    match &args.action {
        CacheAction::Ls { verify, json } => {
            let rows = cache::list(&artifacts, *verify);
            let envs: Vec<(String, u64)> = std::fs::read_dir(dir.join("envs"))
                .map(|rd| {
                    rd.flatten()
                        .map(|e| {
                            (
                                e.file_name().to_string_lossy().into_owned(),
                                cache::dir_bytes(&e.path()),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            if *json {
                let envs: Vec<_> = envs
                    .iter()
                    .map(|(n, b)| serde_json::json!({ "name": n, "bytes": b }))
                    .collect();
                let v = serde_json::json!({ "cache_dir": dir, "entries": rows, "envs": envs });
                println!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(0);
            }
            println!("cache: {}", dir.display());
            println!(
                "{:10}  {:16}  {:>10}  {:22}  state",
                "framework", "key", "size", "created"
            );
            for r in &rows {
                let created: String = r
                    .manifest
                    .as_ref()
                    .map(|m| m.created_at.chars().take(19).collect())
                    .unwrap_or_default();
                let key: String = r.key.chars().take(16).collect();
                println!(
                    "{:10}  {:16}  {:>10}  {:22}  {}",
                    r.framework,
                    key,
                    format_bytes(r.bytes as f64),
                    created,
                    r.state
                );
            }
            for (name, bytes) in &envs {
                println!(
                    "{:10}  {:16}  {:>10}  {:22}  toolchain",
                    "env",
                    name,
                    format_bytes(*bytes as f64),
                    ""
                );
            }
            if rows.is_empty() && envs.is_empty() {
                println!("(empty)");
            }
            Ok(0)
        }
        CacheAction::Clear { framework, all } => clear(&dir, framework.as_deref(), *all),
    }
}

/// The names `cache clear --framework` accepts: the framework kinds and the shared
/// artifact kinds (`ezkl-srs`, `ptau`).
pub fn clearable_kinds() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = crate::frameworks::FrameworkKind::NAMES.to_vec();
    v.extend(["ezkl-srs", "ptau"]);
    v
}

/// `cache clear`: deletes only inside the marked cache (see `crate::cache_marker`).
fn clear(dir: &std::path::Path, framework: Option<&str>, all: bool) -> anyhow::Result<i32> {
    use crate::error::UserError;
    let rel = match framework {
        Some(f) if clearable_kinds().contains(&f) => format!("artifacts/{f}"),
        Some(f) => {
            return Err(UserError::Input(format!(
                "cache clear --framework `{f}`: unknown; known: {}",
                clearable_kinds().join(", ")
            ))
            .into())
        }
        None => "artifacts".into(),
    };
    if !dir.exists() {
        println!("nothing to remove: {} does not exist", dir.display());
        return Ok(0);
    }
    let mut freed = 0;
    for rel in std::iter::once(rel.as_str()).chain(all.then_some("envs")) {
        freed += crate::cache_marker::remove_inside(dir, std::path::Path::new(rel))
            .map_err(|e| UserError::Input(e.to_string()))?;
    }
    println!(
        "removed {} from {}",
        format_bytes(freed as f64),
        dir.display()
    );
    Ok(0)
}
