//! `zkprof doctor`: what this host can measure, and why not where it cannot.

use crate::cli::GlobalArgs;
use crate::fingerprint::Host;
use clap::Args;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print JSON: `{"host": ..., "sensors": [{"name", "available", "reason"}]}`.
    #[arg(long)]
    pub json: bool,
}

pub fn run(global: &GlobalArgs, args: &DoctorArgs) -> anyhow::Result<i32> {
    let roots = global.roots();
    let host = Host::detect(&roots);
    let sensors = crate::sensors::statuses(&roots);
    if args.json {
        let v = serde_json::json!({ "host": host, "sensors": sensors });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(0);
    }
    println!("Host: {}", host.one_line());
    println!(
        "  fingerprint {}  kernel {}  {}  cgroup {}",
        host.fingerprint_id, host.kernel, host.os, host.cgroup_version
    );
    println!();
    println!("Sensors:");
    let width = sensors.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for s in &sensors {
        let mark = if s.available { "yes" } else { "no " };
        println!(
            "  {mark}  {:width$}  {}",
            s.name,
            s.reason.as_deref().unwrap_or(""),
            width = width
        );
    }
    Ok(0)
}
