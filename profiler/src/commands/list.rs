//! `zkprof list`: the frameworks and runtimes this build knows, the suites in a
//! directory, or the cells of one suite.

use super::GlobalArgs;
use crate::frameworks::FrameworkKind;
use crate::runtime::RuntimeKind;
use crate::suite::{PlanOptions, Suite};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ListArgs {
    /// A suite file: list its cells; a results file (`.json`): its cells, with the host
    /// that ran each and its status. Without it: frameworks, runtimes and the suites in ./suites.
    pub suite: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(_global: &GlobalArgs, args: &ListArgs) -> anyhow::Result<i32> {
    if let Some(path) = args
        .suite
        .as_ref()
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
    {
        return list_results(path, args.json);
    }
    if let Some(path) = &args.suite {
        let suite = Suite::load(path)?;
        let cells = suite.plan(&PlanOptions::default())?;
        if args.json {
            let ids: Vec<&str> = cells.iter().map(|c| c.id.as_str()).collect();
            println!(
                "{}",
                serde_json::json!({ "suite": suite.name, "version": suite.version, "cells": ids })
            );
        } else {
            println!(
                "{} (version {}): {} cells x {} repetitions",
                suite.name,
                suite.version,
                cells.len(),
                suite.repetitions
            );
            for c in &cells {
                println!("  {}", c.id);
            }
        }
        return Ok(0);
    }
    let mut suites: Vec<String> = std::fs::read_dir("suites")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .map(|p| p.display().to_string())
                .collect()
        })
        .unwrap_or_default();
    suites.sort();
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "frameworks": FrameworkKind::NAMES, "runtimes": RuntimeKind::NAMES, "suites": suites })
        );
    } else {
        println!("frameworks: {}", FrameworkKind::NAMES.join(", "));
        println!("runtimes:   {}", RuntimeKind::NAMES.join(", "));
        println!("suites:");
        for s in &suites {
            println!("  {s}");
        }
    }
    Ok(0)
}

/// The cells of a results file, one line each: status, host and id (hosts by hostname and
/// fingerprint id; a merged file holds several).
fn list_results(path: &std::path::Path, json: bool) -> anyhow::Result<i32> {
    let r = crate::store::load_results(path)?;
    let host = |id: &str| {
        let h = r.other_hosts.get(id).unwrap_or(&r.host);
        let id = if id.is_empty() {
            &r.host.fingerprint_id
        } else {
            id
        };
        (h.hostname.clone(), id.to_string())
    };
    if json {
        let cells: Vec<serde_json::Value> = r
            .cells
            .iter()
            .map(|c| {
                let (name, id) = host(&c.host_id);
                serde_json::json!({
                    "id": c.id,
                    "status": crate::report::view::status_word(c.status),
                    "hostname": name,
                    "host_id": id,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({ "suite": r.suite.name, "hosts": 1 + r.other_hosts.len(), "cells": cells })
        );
        return Ok(0);
    }
    println!(
        "{} (results of suite `{}`): {} cells from {} host(s)",
        path.display(),
        crate::terminal::escape(&r.suite.name),
        r.cells.len(),
        1 + r.other_hosts.len()
    );
    let rows: Vec<Vec<String>> = r
        .cells
        .iter()
        .map(|c| {
            let (name, id) = host(&c.host_id);
            let short: String = id.chars().take(8).collect();
            vec![
                crate::report::view::status_word(c.status).to_string(),
                if name.is_empty() {
                    short
                } else {
                    format!("{name} ({short})")
                },
                c.id.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        crate::report::table::text(&["status", "host", "cell"], &rows)
    );
    Ok(0)
}
