//! The CPU part of the fingerprint: identity, the flags that matter for field arithmetic,
//! topology, caches and frequency scaling, from /proc/cpuinfo and /sys/devices/system.

use crate::results::{CpuCache, CpuFreq};
use crate::roots::{read_trimmed, Roots};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// CPU flags that change the speed of big-integer and finite-field arithmetic:
/// `adx`/`bmi2` (mulx/adcx/adox, used by arkworks' and blst's assembly), `avx2`,
/// `avx512f` and `avx512ifma` (52-bit integer multiply-add, used by vectorised MSM/NTT).
pub const FIELD_FLAGS: [&str; 5] = ["adx", "bmi2", "avx2", "avx512f", "avx512ifma"];

/// What /proc/cpuinfo says, parsed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CpuInfo {
    pub vendor: String,
    pub model_name: String,
    pub family: Option<u32>,
    pub model: Option<u32>,
    pub stepping: Option<u32>,
    pub microcode: String,
    pub flags: BTreeSet<String>,
    pub logical_cpus: u32,
    pub sockets: u32,
    /// Physical cores over all sockets.
    pub cores: u32,
}

/// Parses /proc/cpuinfo (x86 layout; other architectures fill what they have).
pub fn parse_cpuinfo(text: &str) -> CpuInfo {
    let mut info = CpuInfo::default();
    let mut packages: BTreeSet<String> = BTreeSet::new();
    let mut cores: BTreeSet<(String, String)> = BTreeSet::new();
    let mut package = String::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "processor" => {
                info.logical_cpus += 1;
                package.clear();
            }
            "vendor_id" if info.vendor.is_empty() => info.vendor = value.into(),
            "model name" if info.model_name.is_empty() => info.model_name = value.into(),
            "cpu family" if info.family.is_none() => info.family = value.parse().ok(),
            "model" if info.model.is_none() => info.model = value.parse().ok(),
            "stepping" if info.stepping.is_none() => info.stepping = value.parse().ok(),
            "microcode" if info.microcode.is_empty() => info.microcode = value.into(),
            "flags" | "Features" if info.flags.is_empty() => {
                info.flags = value.split_whitespace().map(str::to_string).collect();
            }
            "physical id" => {
                package = value.into();
                packages.insert(value.into());
            }
            "core id" => {
                cores.insert((package.clone(), value.into()));
            }
            _ => {}
        }
    }
    info.sockets = packages.len().max(usize::from(info.logical_cpus > 0)) as u32;
    info.cores = if cores.is_empty() {
        info.logical_cpus
    } else {
        cores.len() as u32
    };
    info
}

/// The `FIELD_FLAGS`, each present or not.
pub fn field_flags(flags: &BTreeSet<String>) -> BTreeMap<String, bool> {
    FIELD_FLAGS
        .iter()
        .map(|f| (f.to_string(), flags.contains(*f)))
        .collect()
}

/// `32K`, `1024K`, `32M` -> bytes.
fn parse_cache_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let (num, mult) = match t.chars().last()? {
        'K' => (&t[..t.len() - 1], 1024),
        'M' => (&t[..t.len() - 1], 1024 * 1024),
        'G' => (&t[..t.len() - 1], 1024 * 1024 * 1024),
        _ => (t, 1),
    };
    num.parse::<u64>().ok().map(|n| n * mult)
}

/// Counts CPUs in a list like `0-3,8,10-11`.
pub fn count_cpu_list(text: &str) -> u32 {
    text.trim()
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|part| match part.split_once('-') {
            Some((a, b)) => match (a.parse::<u32>(), b.parse::<u32>()) {
                (Ok(a), Ok(b)) if b >= a => b - a + 1,
                _ => 0,
            },
            None => u32::from(part.parse::<u32>().is_ok()),
        })
        .sum()
}

/// The caches of CPU 0, by level and kind.
pub fn caches(roots: &Roots) -> Vec<CpuCache> {
    let dir = roots.sys.join("devices/system/cpu/cpu0/cache");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<CpuCache> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("index"))
        .filter_map(|e| {
            let p = e.path();
            Some(CpuCache {
                level: read_trimmed(&p.join("level"))?.parse().ok()?,
                kind: read_trimmed(&p.join("type")).unwrap_or_default(),
                size_bytes: parse_cache_size(&read_trimmed(&p.join("size"))?)?,
                shared_by: read_trimmed(&p.join("shared_cpu_list"))
                    .map(|l| count_cpu_list(&l))
                    .unwrap_or(0),
            })
        })
        .collect();
    out.sort_by(|a, b| (a.level, &a.kind).cmp(&(b.level, &b.kind)));
    out
}

/// NUMA nodes under /sys/devices/system/node (1 when the directory is missing).
pub fn numa_nodes(roots: &Roots) -> u32 {
    let dir = roots.sys.join("devices/system/node");
    let n = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.strip_prefix("node")
                        .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
                })
                .count()
        })
        .unwrap_or(0);
    (n as u32).max(1)
}

/// SMT state from /sys/devices/system/cpu/smt/active, else from the thread count.
pub fn smt_active(roots: &Roots, threads_per_core: u32) -> Option<bool> {
    match read_trimmed(&roots.sys.join("devices/system/cpu/smt/active")).as_deref() {
        Some("1") => Some(true),
        Some("0") => Some(false),
        _ if threads_per_core > 0 => Some(threads_per_core > 1),
        _ => None,
    }
}

/// Frequency scaling of CPU 0 and the boost switch.
pub fn cpufreq(roots: &Roots) -> CpuFreq {
    let cpu = roots.sys.join("devices/system/cpu");
    let cf = cpu.join("cpu0/cpufreq");
    let read = |p: &Path| read_trimmed(p).filter(|s| !s.is_empty());
    let boost = match read(&cpu.join("cpufreq/boost")).as_deref() {
        Some("1") => Some(true),
        Some("0") => Some(false),
        _ => match read(&cpu.join("intel_pstate/no_turbo")).as_deref() {
            Some("1") => Some(false),
            Some("0") => Some(true),
            _ => None,
        },
    };
    let mut f = CpuFreq {
        driver: read(&cf.join("scaling_driver")),
        governor: read(&cf.join("scaling_governor")),
        boost,
        max_mhz: read(&cf.join("cpuinfo_max_freq"))
            .and_then(|k| k.parse::<f64>().ok())
            .map(|khz| khz / 1e3),
        note: None,
    };
    if f.driver.is_none() && f.governor.is_none() && f.boost.is_none() {
        f.note = Some(format!(
            "no cpufreq in {} (frequency is set by the hypervisor or firmware)",
            cf.display()
        ));
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_and_sizes() {
        assert_eq!(count_cpu_list("0-1"), 2);
        assert_eq!(count_cpu_list("0-3,8,10-11\n"), 7);
        assert_eq!(count_cpu_list("0"), 1);
        assert_eq!(parse_cache_size("32768K"), Some(32 << 20));
        assert_eq!(parse_cache_size("48K"), Some(48 << 10));
    }

    #[test]
    fn topology_from_cpuinfo() {
        let text = "processor : 0\nphysical id : 0\ncore id : 0\nflags : adx avx2\n\n\
                    processor : 1\nphysical id : 0\ncore id : 0\n\n\
                    processor : 2\nphysical id : 1\ncore id : 0\n\n\
                    processor : 3\nphysical id : 1\ncore id : 1\n";
        let c = parse_cpuinfo(text);
        assert_eq!((c.logical_cpus, c.sockets, c.cores), (4, 2, 3));
        let flags = field_flags(&c.flags);
        assert!(flags["adx"]);
        assert!(!flags["avx512ifma"]);
    }
}
