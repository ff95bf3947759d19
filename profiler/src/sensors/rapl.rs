//! CPU energy from RAPL through the powercap sysfs (`/sys/class/powercap/intel-rapl:*`;
//! AMD CPUs use the same `intel-rapl` control type).
//!
//! Every zone is a domain: `package-N` at the top, `core`, `uncore` and `dram` below a
//! package, `psys` (the whole platform) at the top on some laptops. Each `energy_uj`
//! counter is read on every sampler tick and the deltas are summed; a counter that went
//! down wrapped at `max_energy_range_uj` (`rapl_delta`). At 10 ms ticks a wrap (hundreds
//! of joules to kilojoules) cannot be missed. `intel-rapl-mmio` zones repeat the package
//! counter through another interface and are skipped.
//!
//! The total (`energy.total`) counts nothing twice: packages plus DRAM (which the package
//! counter does not include); core and uncore are parts of their package; psys covers all
//! of it and is only the total when it is the only domain.
//!
//! RAPL measures the whole socket (every process on the host), not only the measured
//! tree; each reading says so.

use super::{Sensor, SensorStatus, Target};
use crate::results::Reading;
use crate::roots::Roots;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Energy in microjoules consumed between two reads of a counter that wraps at
/// `max_range_uj`. Invariant: the result is at most `max_range_uj`.
pub fn rapl_delta(prev_uj: u64, now_uj: u64, max_range_uj: u64) -> u64 {
    if now_uj >= prev_uj {
        now_uj - prev_uj
    } else {
        max_range_uj.saturating_sub(prev_uj) + now_uj
    }
}

/// One RAPL domain (a powercap zone).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Domain {
    /// `package-0`, `package-0.core`, `package-0.dram`, `psys`, ...
    pub label: String,
    /// The zone directory (holds `energy_uj`).
    pub dir: PathBuf,
    /// Where the counter wraps, microjoules.
    pub max_range_uj: u64,
    /// Part of `energy.total` (no double counting; see the module documentation).
    pub in_total: bool,
}

/// Finds the RAPL domains below `sys`, or says why there are none.
pub fn discover(sys: &Path) -> Result<Vec<Domain>, String> {
    let class = sys.join("class/powercap");
    let entries = std::fs::read_dir(&class).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => format!(
            "no {} (the kernel exposes no RAPL here: a virtual machine, or the intel_rapl_common driver is not loaded)",
            class.display()
        ),
        _ => format!("cannot list {}: {e}", class.display()),
    })?;
    let mut zones: Vec<(Vec<u32>, String, PathBuf)> = Vec::new();
    for entry in entries.flatten() {
        let dir_name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = dir_name.strip_prefix("intel-rapl:") else {
            continue;
        };
        let Ok(path) = rest
            .split(':')
            .map(str::parse)
            .collect::<Result<Vec<u32>, _>>()
        else {
            continue;
        };
        let dir = entry.path();
        let name =
            crate::roots::read_trimmed(&dir.join("name")).unwrap_or_else(|| dir_name.clone());
        zones.push((path, name, dir));
    }
    if zones.is_empty() {
        return Err(format!(
            "no intel-rapl zones in {} (load the RAPL driver: `modprobe intel_rapl_msr`)",
            class.display()
        ));
    }
    zones.sort();
    let has_package = zones
        .iter()
        .any(|(p, n, _)| p.len() == 1 && n.starts_with("package"));
    let mut domains = Vec::new();
    for (path, name, dir) in &zones {
        let label = match path.len() {
            1 => name.clone(),
            _ => {
                let parent = zones
                    .iter()
                    .find(|(p, _, _)| p[..] == path[..path.len() - 1]);
                match parent {
                    Some((_, pname, _)) => format!("{pname}.{name}"),
                    None => name.clone(),
                }
            }
        };
        let max_range_uj = crate::roots::read_u64(&dir.join("max_energy_range_uj"))
            .ok_or_else(|| format!("cannot read {}/max_energy_range_uj", dir.display()))?;
        let in_total = if name.starts_with("package") {
            path.len() == 1
        } else if name == "dram" {
            true
        } else if name == "psys" {
            !has_package
        } else {
            false
        };
        domains.push(Domain {
            label,
            dir: dir.clone(),
            max_range_uj,
            in_total,
        });
    }
    Ok(domains)
}

/// Why reading an `energy_uj` file failed, with the fix where there is one.
pub fn explain_read_error(path: &Path, err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::PermissionDenied => format!(
            "permission denied reading {}: run zkprof as root, or make the counters readable with `sudo chmod o+r /sys/class/powercap/intel-rapl:*/energy_uj` (root-only by default since the PLATYPUS fix; resets at reboot)",
            path.display()
        ),
        _ => format!("cannot read {}: {err}", path.display()),
    }
}

/// An open `energy_uj` counter.
#[derive(Debug)]
struct Counter {
    domain: Domain,
    /// `energy_uj`, for error messages.
    path: PathBuf,
    file: File,
    last_uj: u64,
    total_uj: u128,
}

fn read_counter(file: &File, path: &Path) -> Result<u64, String> {
    let mut buf = [0u8; 32];
    let n = file
        .read_at(&mut buf, 0)
        .map_err(|e| explain_read_error(path, &e))?;
    std::str::from_utf8(&buf[..n])
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| format!("{} does not hold a number", path.display()))
}

fn open_counter(domain: &Domain) -> Result<(File, u64), String> {
    let path = domain.dir.join("energy_uj");
    let file = File::open(&path).map_err(|e| explain_read_error(&path, &e))?;
    let first = read_counter(&file, &path)?;
    Ok((file, first))
}

/// The status of RAPL on the host below `sys`: available when every domain can be read.
fn probe(sys: &Path) -> (SensorStatus, Vec<Domain>) {
    let domains = match discover(sys) {
        Ok(d) => d,
        Err(why) => return (SensorStatus::unavailable("rapl", why), Vec::new()),
    };
    for d in &domains {
        if let Err(why) = open_counter(d) {
            return (SensorStatus::unavailable("rapl", why), Vec::new());
        }
    }
    let labels: Vec<&str> = domains.iter().map(|d| d.label.as_str()).collect();
    let status = SensorStatus::available_with(
        "rapl",
        format!(
            "CPU energy of the whole host (all processes), domains: {}",
            labels.join(", ")
        ),
    );
    (status, domains)
}

/// RAPL energy per domain over one step.
pub struct RaplSensor {
    status: SensorStatus,
    domains: Vec<Domain>,
    counters: Vec<Counter>,
    /// Last tick time and total at that tick, for the power column.
    last_tick: Option<(Duration, u128)>,
    /// Time of the last read, and the longest gap between two reads, over the step.
    last_read: Duration,
    max_gap: Duration,
}

/// The highest power (watts) one RAPL domain is assumed never to exceed: a counter read
/// at least every `max_range / MAX_DOMAIN_W` cannot have wrapped twice unseen.
pub const MAX_DOMAIN_W: f64 = 1000.0;

impl RaplSensor {
    /// Probes the powercap tree below `roots.sys`.
    pub fn new(roots: &Roots) -> RaplSensor {
        let (status, domains) = probe(&roots.sys);
        RaplSensor {
            status,
            domains,
            counters: Vec::new(),
            last_tick: None,
            last_read: Duration::ZERO,
            max_gap: Duration::ZERO,
        }
    }

    /// The domains found (empty when unavailable).
    pub fn domains(&self) -> &[Domain] {
        &self.domains
    }

    /// Reads every counter once and adds the deltas. Errors are logged and the counter keeps
    /// its total (a counter that cannot be read for one tick loses nothing unless it wraps).
    fn read_all(&mut self, elapsed: Duration) {
        self.max_gap = self.max_gap.max(elapsed.saturating_sub(self.last_read));
        self.last_read = elapsed;
        for c in self.counters.iter_mut() {
            match read_counter(&c.file, &c.path) {
                Ok(now) => {
                    c.total_uj += u128::from(rapl_delta(c.last_uj, now, c.domain.max_range_uj));
                    c.last_uj = now;
                }
                Err(why) => tracing::debug!("rapl: {why}"),
            }
        }
    }

    fn total_uj(&self) -> u128 {
        self.counters
            .iter()
            .filter(|c| c.domain.in_total)
            .map(|c| c.total_uj)
            .sum()
    }
}

impl Sensor for RaplSensor {
    fn name(&self) -> &'static str {
        "rapl"
    }

    fn status(&self) -> SensorStatus {
        self.status.clone()
    }

    fn start(&mut self, _target: &Target) -> Result<(), String> {
        if !self.status.available {
            return Err(self
                .status
                .reason
                .clone()
                .unwrap_or_else(|| "unavailable".into()));
        }
        self.counters.clear();
        for d in &self.domains {
            let (file, first) = open_counter(d)?;
            self.counters.push(Counter {
                domain: d.clone(),
                path: d.dir.join("energy_uj"),
                file,
                last_uj: first,
                total_uj: 0,
            });
        }
        self.last_tick = None;
        self.last_read = Duration::ZERO;
        self.max_gap = Duration::ZERO;
        Ok(())
    }

    fn sample(&mut self, elapsed: Duration, columns: &mut Vec<(String, f64)>) {
        self.read_all(elapsed);
        let total = self.total_uj();
        if let Some((t0, e0)) = self.last_tick {
            let dt = elapsed.saturating_sub(t0).as_secs_f64();
            if dt > 0.0 {
                columns.push(("cpu.power_w".into(), (total - e0) as f64 / 1e6 / dt));
            }
        }
        self.last_tick = Some((elapsed, total));
    }

    fn stop(&mut self, elapsed: Duration) -> Vec<Reading> {
        if self.counters.is_empty() {
            return Vec::new();
        }
        self.read_all(elapsed);
        let gap = self.max_gap.as_secs_f64();
        let whole_host = "whole host, not only the measured tree";
        let wrap_note = |c: &Counter| {
            let safe_s = c.domain.max_range_uj as f64 / 1e6 / MAX_DOMAIN_W;
            if gap > safe_s {
                format!("; reads were up to {gap:.1} s apart: above {:.0} W a second wrap in that time would be missed", c.domain.max_range_uj as f64 / 1e6 / gap)
            } else {
                String::new()
            }
        };
        let mut out: Vec<Reading> = self
            .counters
            .iter()
            .map(|c| Reading {
                sensor: "rapl".into(),
                metric: format!("energy.{}", c.domain.label),
                value: c.total_uj as f64 / 1e6,
                unit: "J".into(),
                note: Some(if c.domain.in_total {
                    format!("{whole_host}; part of energy.total{}", wrap_note(c))
                } else {
                    format!(
                        "{whole_host}; inside another domain, not added to energy.total{}",
                        wrap_note(c)
                    )
                }),
            })
            .collect();
        let in_total: Vec<&str> = self
            .counters
            .iter()
            .filter(|c| c.domain.in_total)
            .map(|c| c.domain.label.as_str())
            .collect();
        let total_j = self.total_uj() as f64 / 1e6;
        out.push(Reading {
            sensor: "rapl".into(),
            metric: "energy.total".into(),
            value: total_j,
            unit: "J".into(),
            note: Some(format!("{whole_host}; sum of {}", in_total.join(" + "))),
        });
        let secs = elapsed.as_secs_f64();
        if secs > 0.0 {
            out.push(Reading {
                sensor: "rapl".into(),
                metric: "power.avg".into(),
                value: total_j / secs,
                unit: "W".into(),
                note: Some(format!(
                    "{whole_host}; energy.total over the step's wall time"
                )),
            });
        }
        self.counters.clear();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_handles_the_wrap() {
        assert_eq!(rapl_delta(100, 250, 1000), 150);
        assert_eq!(rapl_delta(900, 50, 1000), 150);
        assert_eq!(rapl_delta(1000, 0, 1000), 0);
        assert_eq!(rapl_delta(5, 5, 1000), 0);
    }

    #[test]
    fn permission_denied_gives_the_fix() {
        let err = io::Error::from(io::ErrorKind::PermissionDenied);
        let why = explain_read_error(
            Path::new("/sys/class/powercap/intel-rapl:0/energy_uj"),
            &err,
        );
        assert!(
            why.contains("permission denied") && why.contains("root") && why.contains("chmod o+r"),
            "{why}"
        );
    }
}
