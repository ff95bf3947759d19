//! `zkprof doctor`: what this host can measure, and why not where it cannot.

use super::GlobalArgs;
use crate::frameworks::FrameworkKind;
use crate::results::SensorStatus;
use crate::runtime::RuntimeKind;
use clap::Args;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print JSON: `{"host": ..., "sensors": [{"name", "available", "reason"}], "runtimes":
    /// [...], "frameworks": [...]}` (frameworks: every kind, then the parts it needs).
    #[arg(long)]
    pub json: bool,
}

pub fn run(global: &GlobalArgs, args: &DoctorArgs) -> anyhow::Result<i32> {
    let roots = global.roots();
    let host = crate::fingerprint::detect(&roots);
    let sensors = crate::measure::sensor_statuses(&roots);
    let runtimes = runtime_statuses();
    let frameworks = framework_statuses();
    if args.json {
        let frameworks: Vec<&SensorStatus> = frameworks.iter().flat_map(|(_, s)| s).collect();
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
    println!("Frameworks (external ones: your own build of upstream, found through `ZKPROF_<KIND>_HOME`; a suite's `home` wins at run time):");
    // The kind's own line, then the parts it needs, indented under it.
    let width = |parts: bool| {
        let names = frameworks.iter().flat_map(|(_, s)| s.iter().enumerate());
        names
            .filter(|(i, _)| (*i > 0) == parts)
            .map(|(_, s)| s.name.len())
            .max()
            .unwrap_or(0)
    };
    let (kind_w, part_w) = (width(false), width(true));
    for (_, statuses) in &frameworks {
        for (i, f) in statuses.iter().enumerate() {
            let mark = if f.available { "yes" } else { "no " };
            let (indent, w) = if i == 0 {
                ("  ", kind_w)
            } else {
                ("      ", part_w)
            };
            println!(
                "{indent}{mark}  {:w$}  {}",
                f.name,
                f.reason.as_deref().unwrap_or("")
            );
        }
    }
    Ok(0)
}

/// Every framework kind this build knows, with its status here (and its parts').
fn framework_statuses() -> Vec<(FrameworkKind, Vec<SensorStatus>)> {
    FrameworkKind::ALL
        .iter()
        .map(|k| (*k, k.adapter().status()))
        .collect()
}

/// Whether each runtime can run steps here, and why not (same shape as a sensor status).
fn runtime_statuses() -> Vec<SensorStatus> {
    RuntimeKind::ALL
        .iter()
        .map(|k| {
            let name = k.name();
            match k {
                RuntimeKind::Native => SensorStatus::available(name),
                RuntimeKind::Docker => match crate::runtime::docker::engine::Engine::connect() {
                    Ok(e) => SensorStatus::available_with(
                        name,
                        format!("engine at {}, API {}", e.address, e.api_version),
                    ),
                    Err(e) => SensorStatus::unavailable(name, e.to_string()),
                },
                RuntimeKind::Nix => {
                    match std::process::Command::new("nix").arg("--version").output() {
                        Ok(o) if o.status.success() => SensorStatus::available_with(
                            name,
                            String::from_utf8_lossy(&o.stdout).trim().to_string(),
                        ),
                        _ => SensorStatus::unavailable(
                            name,
                            "`nix` is not installed; see images/README.md",
                        ),
                    }
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_framework_kind_has_a_status_line_named_after_it() {
        let all = framework_statuses();
        let kinds: Vec<FrameworkKind> = all.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, FrameworkKind::ALL);
        for (k, statuses) in &all {
            let first = statuses.first().expect("a status per kind");
            assert_eq!(first.name, k.name());
            for s in statuses.iter().filter(|s| !s.available) {
                // Missing: the line says what to do.
                assert!(s.reason.as_deref().is_some_and(|r| !r.is_empty()), "{s:?}");
            }
        }
        let runtimes = runtime_statuses();
        let names: Vec<&str> = runtimes.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, RuntimeKind::NAMES);
    }
}
