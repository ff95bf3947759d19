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
    /// A suite file: list its cells. Without it: frameworks, runtimes and the suites in ./suites.
    pub suite: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(_global: &GlobalArgs, args: &ListArgs) -> anyhow::Result<i32> {
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
