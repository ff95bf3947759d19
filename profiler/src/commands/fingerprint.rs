//! `zkprof fingerprint`: the host fingerprint that every results file carries under `host`.

use super::GlobalArgs;
use crate::results::Host;
use crate::units::format_bytes;
use clap::Args;

#[derive(Debug, Args)]
pub struct FingerprintArgs {
    /// Print the fingerprint as JSON (the `host` object of results files).
    #[arg(long)]
    pub json: bool,
}

pub fn run(global: &GlobalArgs, args: &FingerprintArgs) -> anyhow::Result<i32> {
    let host = crate::fingerprint::detect(&global.roots());
    if args.json {
        println!("{}", serde_json::to_string_pretty(&host)?);
        return Ok(0);
    }
    print!("{}", render(&host));
    Ok(0)
}

fn or_unknown<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "unknown".into())
}

/// The fingerprint for people, one fact per line.
pub fn render(h: &Host) -> String {
    let mut out = String::new();
    let mut line = |k: &str, v: String| out.push_str(&format!("{k:16} {v}\n"));
    line("fingerprint", h.fingerprint_id.clone());
    line(
        "cpu",
        format!(
            "{} ({}, family {}, model {}, stepping {}, microcode {})",
            h.cpu_model,
            h.cpu_vendor,
            or_unknown(h.cpu_family),
            or_unknown(h.cpu_model_number),
            or_unknown(h.cpu_stepping),
            if h.microcode.is_empty() {
                "unknown"
            } else {
                &h.microcode
            }
        ),
    );
    let flags: Vec<String> = h
        .cpu_flags
        .iter()
        .map(|(f, on)| if *on { f.clone() } else { format!("no {f}") })
        .collect();
    line("field flags", flags.join(", "));
    line(
        "topology",
        format!(
            "{} socket(s), {} cores, {} threads ({} per core, SMT {}), {} NUMA node(s)",
            h.sockets,
            h.cores,
            h.logical_cpus,
            h.threads_per_core,
            match h.smt {
                Some(true) => "on",
                Some(false) => "off",
                None => "unknown",
            },
            h.numa_nodes
        ),
    );
    let caches: Vec<String> = h
        .caches
        .iter()
        .map(|c| {
            format!(
                "L{} {} {} (shared by {})",
                c.level,
                c.kind,
                format_bytes(c.size_bytes as f64),
                c.shared_by
            )
        })
        .collect();
    line(
        "caches",
        if caches.is_empty() {
            "unknown".into()
        } else {
            caches.join(", ")
        },
    );
    let f = &h.cpufreq;
    line(
        "cpufreq",
        match &f.note {
            Some(n) => n.clone(),
            None => format!(
                "driver {}, governor {}, boost {}, max {}",
                or_unknown(f.driver.clone()),
                or_unknown(f.governor.clone()),
                or_unknown(f.boost),
                or_unknown(f.max_mhz.map(|m| format!("{m:.0} MHz")))
            ),
        },
    );
    let speed = match (h.memory_speed_mts, &h.memory_speed_note) {
        (Some(s), _) => format!(", DIMMs at {s} MT/s"),
        (None, Some(n)) => format!(" (DIMM speed unknown: {n})"),
        _ => String::new(),
    };
    line(
        "memory",
        format!("{}{speed}", format_bytes(h.memory_bytes as f64)),
    );
    line("os", format!("{}, kernel {}, {}", h.os, h.kernel, h.arch));
    line("virtualization", h.virtualization.clone());
    line(
        "container",
        h.container.clone().unwrap_or_else(|| "none".into()),
    );
    line("cgroup", h.cgroup_version.clone());
    line("perf paranoid", or_unknown(h.perf_event_paranoid));
    line(
        "rapl",
        if h.rapl_domains.is_empty() {
            format!("none: {}", h.rapl_note.as_deref().unwrap_or("no domains"))
        } else {
            h.rapl_domains.join(", ")
        },
    );
    if h.gpus.is_empty() {
        line(
            "gpus",
            format!("none: {}", h.gpu_note.as_deref().unwrap_or("no GPU")),
        );
    }
    for g in &h.gpus {
        line(
            &format!("gpu{}", g.index),
            format!(
                "{} ({}), {}, driver {}, CUDA {}, power limit {}, PCIe gen {} x{} at {}",
                g.name,
                g.uuid,
                format_bytes(g.memory_bytes as f64),
                g.driver_version,
                g.cuda_version,
                or_unknown(g.power_limit_w.map(|w| format!("{w:.0} W"))),
                or_unknown(g.pcie_gen),
                or_unknown(g.pcie_width),
                g.pci_bus_id
            ),
        );
    }
    out
}
