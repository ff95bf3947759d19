//! Node's JavaScript heap for the circom steps (circom2, snarkjs).
//!
//! Node caps its old-space heap at about 4 GiB by default, whatever the machine has; a
//! snarkjs Groth16 setup of a dense MLP with ~700k constraints dies there with "JavaScript
//! heap out of memory" (SIGABRT) on a machine with 23 GiB. That is node's default, not the
//! machine's limit, so every circom step runs with the heap raised to the step's memory
//! limit (or the machine's memory when the suite sets none): a circuit that is too large
//! for the machine is then stopped by real memory, and recorded as out of memory.
//!
//! The compiler, circom2, is circom built for WebAssembly (wasm32): whatever node's heap, it
//! cannot address more than 4 GiB, so a circuit whose compile needs more (a dense layer of
//! about a million weights) ends with "memory allocation of N bytes failed". That is a size
//! limit of the compiler this adapter pins, recorded as out of memory too.

/// Heap limit, MiB, when /proc/meminfo cannot be read.
const FALLBACK_MIB: u64 = 8192;

/// `NODE_OPTIONS` for a circom step: `--max-old-space-size` (MiB) from `memory_limit`
/// (bytes, the step's limit) or the machine's memory, followed by the user's own
/// `NODE_OPTIONS` (`user`), whose flags then win.
pub fn node_options(memory_limit: Option<u64>, user: Option<&str>) -> String {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| mem_total(&m));
    let ours = format!("--max-old-space-size={}", heap_mib(memory_limit, total));
    match user.map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) => format!("{ours} {u}"),
        None => ours,
    }
}

/// The heap limit, MiB: the smaller of the step's limit and the machine's memory (bytes).
fn heap_mib(limit: Option<u64>, total: Option<u64>) -> u64 {
    let bytes = match (limit, total) {
        (Some(l), Some(t)) => l.min(t),
        (Some(b), None) | (None, Some(b)) => b,
        (None, None) => return FALLBACK_MIB,
    };
    (bytes >> 20).max(512)
}

/// `MemTotal` of /proc/meminfo, bytes.
fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The reason of a node step that ran out of memory short of a kill (node's heap at its
/// limit, or circom2's 4 GiB WebAssembly memory), from its stderr; it starts with
/// [`crate::results::OUT_OF_MEMORY`], so the sweep frontier counts it as a memory limit.
pub fn heap_failure(stderr: &str) -> Option<String> {
    let oom = crate::results::OUT_OF_MEMORY;
    if stderr.contains("JavaScript heap out of memory") {
        return Some(format!(
            "{oom}: node's JavaScript heap (its --max-old-space-size, set from the step's \
             memory limit or the machine's memory): the circuit needs more memory than this \
             step may use"
        ));
    }
    let wasm = stderr.contains("wasm://") || stderr.contains(".wasm");
    let alloc = stderr
        .lines()
        .any(|l| l.starts_with("memory allocation of ") && l.ends_with(" bytes failed"));
    (wasm && alloc).then(|| {
        format!(
            "{oom}: circom2 runs as WebAssembly, which addresses at most 4 GiB; compiling \
             this circuit needs more (a native circom build has no such limit)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_follows_the_smaller_of_limit_and_machine() {
        let gib = 1u64 << 30;
        assert_eq!(heap_mib(Some(16 * gib), Some(23 * gib)), 16 * 1024);
        assert_eq!(heap_mib(None, Some(23 * gib)), 23 * 1024);
        assert_eq!(heap_mib(Some(64 * gib), Some(23 * gib)), 23 * 1024);
        assert_eq!(heap_mib(None, None), FALLBACK_MIB);
        assert_eq!(heap_mib(Some(1 << 20), None), 512);
        assert_eq!(
            mem_total("MemTotal:       24609880 kB\n"),
            Some(24609880 * 1024)
        );
    }

    #[test]
    fn the_users_node_options_come_last() {
        let o = node_options(Some(2 << 30), Some("--max-old-space-size=999"));
        assert!(
            o.starts_with("--max-old-space-size=") && o.ends_with(" --max-old-space-size=999"),
            "{o}"
        );
        assert!(!node_options(None, Some("  ")).contains(' '));
    }

    #[test]
    fn a_heap_abort_is_named() {
        let stderr = "<--- Last few GCs --->\nFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n 1: 0xb78db3 node::OOMErrorHandler\n";
        let why = heap_failure(stderr).unwrap();
        assert!(
            why.starts_with("out of memory: ") && why.contains("JavaScript heap"),
            "{why}"
        );
        assert_eq!(heap_failure("Error: ptau too small"), None);
    }

    /// circom2's own words when a compile outgrows WebAssembly's 4 GiB (784-1024-10).
    #[test]
    fn circom2_outgrowing_webassembly_memory_is_named() {
        let stderr = "memory allocation of 268 bytes failed\nRuntimeError: unreachable\n    at circom-282a3b48b72c97c7.wasm.abort (wasm://wasm/circom-282a3b48b72c97c7.wasm-0236f08e:wasm-function[6328]:0x4b11d0)\n";
        let why = heap_failure(stderr).unwrap();
        assert!(
            why.starts_with("out of memory: ") && why.contains("4 GiB"),
            "{why}"
        );
        // A native program's allocation failure is not circom2's limit.
        assert_eq!(
            heap_failure("memory allocation of 268 bytes failed\n"),
            None
        );
    }
}
