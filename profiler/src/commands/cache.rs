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
    let dir = crate::paths::cache_dir();
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
        CacheAction::Clear { framework, all } => {
            let target = match framework {
                Some(f) => artifacts.join(f),
                None => artifacts.clone(),
            };
            let mut freed = 0;
            for p in std::iter::once(target).chain(all.then(|| dir.join("envs"))) {
                if p.exists() {
                    freed += cache::dir_bytes(&p);
                    std::fs::remove_dir_all(&p)
                        .map_err(|e| anyhow::anyhow!("cannot remove {}: {e}", p.display()))?;
                }
            }
            println!(
                "removed {} from {}",
                format_bytes(freed as f64),
                dir.display()
            );
            Ok(0)
        }
    }
}
