//! `zkprof doctor`: what this host can measure, and why not where it cannot.

use super::GlobalArgs;
use crate::results::SensorStatus;
use clap::Args;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print JSON: `{"host": ..., "sensors": [{"name", "available", "reason"}]}`.
    #[arg(long)]
    pub json: bool,
}

pub fn run(global: &GlobalArgs, args: &DoctorArgs) -> anyhow::Result<i32> {
    let roots = global.roots();
    let host = crate::fingerprint::detect(&roots);
    let sensors = crate::measure::sensor_statuses(&roots);
    let runtimes = runtime_statuses();
    let mut frameworks: Vec<SensorStatus> = crate::frameworks::external::EXTERNALS
        .iter()
        .map(|e| e.status())
        .chain([crate::frameworks::orion::backend::status()])
        .collect();
    frameworks.extend(framework_statuses());
    if args.json {
        let v = serde_json::json!({ "host": host, "sensors": sensors, "runtimes": runtimes, "frameworks": frameworks });
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
    println!();
    println!("Runtimes:");
    for r in &runtimes {
        let mark = if r.available { "yes" } else { "no " };
        println!(
            "  {mark}  {:6}  {}",
            r.name,
            r.reason.as_deref().unwrap_or("")
        );
    }
    println!();
    println!("Frameworks (external: your own build of upstream):");
    for f in &frameworks {
        let mark = if f.available { "yes" } else { "no " };
        println!(
            "  {mark}  {:6}  {}",
            f.name,
            f.reason.as_deref().unwrap_or("")
        );
    }
    Ok(0)
}

/// External frameworks found through `ZKPROF_<KIND>_HOME` (a suite's `home` wins at run time).
fn framework_statuses() -> Vec<SensorStatus> {
    let (ok, line) = crate::frameworks::opml::install::doctor_status(None);
    vec![if ok {
        SensorStatus::available_with("opml", line)
    } else {
        SensorStatus::unavailable("opml", line)
    }]
}

/// Whether each runtime can run steps here, and why not (same shape as a sensor status).
fn runtime_statuses() -> Vec<SensorStatus> {
    let docker = match crate::runtime::docker::engine::Engine::connect() {
        Ok(e) => SensorStatus::available_with(
            "docker",
            format!("engine at {}, API {}", e.address, e.api_version),
        ),
        Err(e) => SensorStatus::unavailable("docker", e.to_string()),
    };
    let nix = match std::process::Command::new("nix").arg("--version").output() {
        Ok(o) if o.status.success() => SensorStatus::available_with(
            "nix",
            String::from_utf8_lossy(&o.stdout).trim().to_string(),
        ),
        _ => SensorStatus::unavailable("nix", "`nix` is not installed; see images/README.md"),
    };
    vec![SensorStatus::available("native"), docker, nix]
}
