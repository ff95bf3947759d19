//! Confining a step to N CPUs (the `cpus` setting): which CPUs, the thread-count variables
//! provers read, and the affinity a child takes before it runs.
//!
//! The CPUs are the first N of those zkprof itself may use (its affinity mask, within the
//! framework's `cpuset` when one is given). A step is confined by a cpuset cgroup where the
//! host allows one (see `cgroup/`) and always by CPU affinity, set between fork and exec,
//! which every thread and child of the step inherits. The kernel's own view of what the
//! step could use (`Cpus_allowed_list` of its leader) is recorded with the step.

use std::collections::BTreeSet;

/// The setting's name, in suites and in a cell's settings.
pub const SETTING: &str = "cpus";

/// Most CPUs a list may name (and the highest CPU number + 1).
pub const MAX_CPUS: usize = 4096;

/// Thread-count variables of common runtimes and libraries, set to N for a confined step
/// (a step's own value wins): rayon (Rust provers), OpenMP, Go, BLAS libraries, numexpr,
/// libuv (node), tokio, polars.
pub const THREAD_VARIABLES: [&str; 10] = [
    "RAYON_NUM_THREADS",
    "OMP_NUM_THREADS",
    "GOMAXPROCS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "UV_THREADPOOL_SIZE",
    "TOKIO_WORKER_THREADS",
    "POLARS_MAX_THREADS",
];

/// What a suite asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuCount {
    /// This many CPUs.
    N(usize),
    /// Every CPU zkprof may use (the step is still confined to them, and its thread
    /// variables set to their count).
    All,
}

impl CpuCount {
    /// Reads a setting value: a whole number from 1 to [`MAX_CPUS`], or `"all"`.
    pub fn parse(v: &serde_json::Value) -> Result<CpuCount, String> {
        let bad = || {
            format!(
                "cpus: `{v}` is not a CPU count; give a whole number from 1 to {MAX_CPUS} or \"all\", e.g. cpus = [1, 2, \"all\"]"
            )
        };
        match v {
            serde_json::Value::String(s) if s == "all" => Ok(CpuCount::All),
            serde_json::Value::Number(n) => match n.as_u64() {
                Some(k) if (1..=MAX_CPUS as u64).contains(&k) => Ok(CpuCount::N(k as usize)),
                _ => Err(bad()),
            },
            _ => Err(bad()),
        }
    }
}

/// The CPUs a cell's steps run on, chosen on this host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuChoice {
    /// CPU numbers, ascending, at least one.
    pub cpus: Vec<usize>,
}

impl CpuChoice {
    /// How many CPUs.
    pub fn count(&self) -> usize {
        self.cpus.len()
    }

    /// The kernel's list form: `0-3,6`.
    pub fn list(&self) -> String {
        list_text(&self.cpus)
    }

    /// The thread-count variables for this choice (see [`THREAD_VARIABLES`]).
    pub fn env(&self) -> Vec<(String, String)> {
        THREAD_VARIABLES
            .iter()
            .map(|k| (k.to_string(), self.count().to_string()))
            .collect()
    }
}

/// The first `want` CPUs of `allowed` (within `within` when given).
pub fn choose(
    want: CpuCount,
    allowed: &[usize],
    within: Option<&[usize]>,
) -> Result<CpuChoice, String> {
    let pool: Vec<usize> = match within {
        Some(w) => allowed.iter().copied().filter(|c| w.contains(c)).collect(),
        None => allowed.to_vec(),
    };
    let scope = if within.is_some() {
        "within the framework's cpuset"
    } else {
        "here"
    };
    if pool.is_empty() {
        return Err(format!("zkprof may use no CPU {scope}"));
    }
    let n = match want {
        CpuCount::All => pool.len(),
        CpuCount::N(n) if n <= pool.len() => n,
        CpuCount::N(n) => {
            return Err(format!(
                "cpus = {n}: zkprof may use {} CPU(s) {scope} ({}); give at most {}",
                pool.len(),
                list_text(&pool),
                pool.len()
            ))
        }
    };
    Ok(CpuChoice {
        cpus: pool[..n].to_vec(),
    })
}

/// The CPUs this process may run on (its affinity mask), ascending.
pub fn allowed() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity writes at most its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect()
    }
}

/// A CPU list as the kernel writes it (`0-3,6`) from CPU numbers.
pub fn list_text(cpus: &[usize]) -> String {
    let set: BTreeSet<usize> = cpus.iter().copied().collect();
    let mut parts = Vec::new();
    let mut it = set.into_iter().peekable();
    while let Some(start) = it.next() {
        let mut end = start;
        while it.peek() == Some(&(end + 1)) {
            end += 1;
            it.next();
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    parts.join(",")
}

/// CPU numbers from the kernel's list form (`0-3,6`); `None` if it is not one.
pub fn parse_list(text: &str) -> Option<Vec<usize>> {
    let mut out = BTreeSet::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<usize>().ok()?, b.parse::<usize>().ok()?),
            None => {
                let a = part.parse::<usize>().ok()?;
                (a, a)
            }
        };
        if a > b || b >= MAX_CPUS {
            return None;
        }
        out.extend(a..=b);
    }
    (!out.is_empty()).then(|| out.into_iter().collect())
}

/// A `cpu_set_t` of `cpus`, made before fork so that the child only calls the kernel.
pub fn cpu_set(cpus: &[usize]) -> libc::cpu_set_t {
    // SAFETY: cpu_set_t is plain data; CPU_SET stays within it for c < CPU_SETSIZE.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &c in cpus.iter().filter(|&&c| c < libc::CPU_SETSIZE as usize) {
            libc::CPU_SET(c, &mut set);
        }
        set
    }
}

/// The leader's `Cpus_allowed_list` from `/proc/<pid>/status`, as the kernel sees it.
pub fn allowed_of(proc_root: &std::path::Path, pid: i32) -> Option<String> {
    let text = std::fs::read_to_string(proc_root.join(format!("{pid}/status"))).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|v| v.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_round_trip() {
        assert_eq!(list_text(&[0, 1, 2, 3, 6]), "0-3,6");
        assert_eq!(list_text(&[5]), "5");
        assert_eq!(parse_list("0-3,6"), Some(vec![0, 1, 2, 3, 6]));
        assert_eq!(parse_list("3-1"), None);
        assert_eq!(parse_list("x"), None);
    }

    #[test]
    fn counts_parse_with_clear_errors() {
        assert_eq!(CpuCount::parse(&json!(2)), Ok(CpuCount::N(2)));
        assert_eq!(CpuCount::parse(&json!("all")), Ok(CpuCount::All));
        for bad in [json!(0), json!(-1), json!(1.5), json!("two"), json!(5000)] {
            let e = CpuCount::parse(&bad).unwrap_err();
            assert!(e.contains("whole number from 1 to 4096"), "{e}");
        }
    }

    #[test]
    fn choice_takes_the_first_allowed_cpus() {
        let allowed = [0, 1, 2, 3];
        assert_eq!(choose(CpuCount::N(2), &allowed, None).unwrap().cpus, [0, 1]);
        assert_eq!(
            choose(CpuCount::N(1), &allowed, Some(&[2, 3]))
                .unwrap()
                .cpus,
            [2]
        );
        assert_eq!(choose(CpuCount::All, &allowed, None).unwrap().count(), 4);
        let e = choose(CpuCount::N(8), &allowed, None).unwrap_err();
        assert!(
            e.contains("may use 4 CPU(s) here (0-3); give at most 4"),
            "{e}"
        );
        let c = choose(CpuCount::N(2), &allowed, None).unwrap();
        assert!(c.env().contains(&("RAYON_NUM_THREADS".into(), "2".into())));
    }

    #[test]
    fn this_process_has_cpus() {
        assert!(!allowed().is_empty());
    }
}
