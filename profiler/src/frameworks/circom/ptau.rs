//! The powers of tau for a circom cell's Groth16 setup, chosen after compile and before
//! the setup step, unmeasured: sized from the compiled circuit (`model.r1cs`), then
//! supplied, cached, public (Hermez, hash-checked) or generated natively ([`crate::ptau`]).

use super::super::FrameworkError;
use crate::ptau::pick::{self, Chosen, Sources};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

fn failed(msg: impl Into<String>) -> FrameworkError {
    FrameworkError::Failed(msg.into())
}

/// The counts in an `.r1cs` file's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct R1csCounts {
    pub constraints: u64,
    pub public_inputs: u64,
    pub public_outputs: u64,
}

impl R1csCounts {
    /// `constraints + public inputs + public outputs`: snarkjs's size rule for the powers of
    /// tau a setup needs.
    pub fn size(&self) -> u64 {
        self.constraints + self.public_inputs + self.public_outputs
    }
}

/// The header counts of an `.r1cs` file.
pub fn r1cs_counts(path: &Path) -> Result<R1csCounts, FrameworkError> {
    let bad = |why: &str| failed(format!("{}: {why}", path.display()));
    let mut f =
        std::fs::File::open(path).map_err(|e| failed(format!("{}: {e}", path.display())))?;
    let mut head = [0u8; 12];
    f.read_exact(&mut head)
        .map_err(|_| bad("shorter than an r1cs header"))?;
    if &head[..4] != b"r1cs" {
        return Err(bad("not an r1cs file"));
    }
    let n = u32::from_le_bytes([head[8], head[9], head[10], head[11]]);
    for _ in 0..n {
        let mut sh = [0u8; 12];
        f.read_exact(&mut sh)
            .map_err(|_| bad("truncated section table"))?;
        let id = u32::from_le_bytes([sh[0], sh[1], sh[2], sh[3]]);
        let size = u64::from_le_bytes([sh[4], sh[5], sh[6], sh[7], sh[8], sh[9], sh[10], sh[11]]);
        if id == 1 {
            let mut n8 = [0u8; 4];
            f.read_exact(&mut n8).map_err(|_| bad("truncated header"))?;
            let n8 = u32::from_le_bytes(n8) as usize;
            if n8 > 64 {
                return Err(bad("field size above 64 bytes"));
            }
            // prime, then nWires, nPubOut, nPubIn, nPrvIn (u32), nLabels (u64), nConstraints (u32).
            let mut rest = vec![0u8; n8 + 16 + 8 + 4];
            f.read_exact(&mut rest)
                .map_err(|_| bad("truncated header"))?;
            let u = |at: usize| {
                u64::from(u32::from_le_bytes([
                    rest[at],
                    rest[at + 1],
                    rest[at + 2],
                    rest[at + 3],
                ]))
            };
            return Ok(R1csCounts {
                public_outputs: u(n8 + 4),
                public_inputs: u(n8 + 8),
                constraints: u(n8 + 24),
            });
        }
        std::io::copy(&mut (&mut f).take(size), &mut std::io::sink())
            .map_err(|_| bad("truncated section"))?;
    }
    Err(bad("no header section"))
}

/// Chooses (making if needed) the file for the circuit in `r1cs`, with progress on the
/// terminal; returns it and the facts for the results (`ptau`, `ptau_provisioned_s`).
pub fn prepare(
    r1cs: &Path,
    supplied: Option<&Path>,
    dir: &Path,
) -> Result<(Chosen, BTreeMap<String, String>), FrameworkError> {
    let counts = r1cs_counts(r1cs)?;
    let power = pick::power_for(counts.size());
    let mut phase = None;
    let progress = |done: u64, total: u64| {
        phase
            .get_or_insert_with(|| {
                crate::phase::Phase::start(&format!(
                    "circom: generating a powers of tau 2^{power} natively (insecure, for benchmarks)"
                ))
            })
            .set(done, total)
    };
    let chosen = {
        let cell = std::sync::Mutex::new(progress);
        let src = Sources {
            supplied,
            download: std::env::var_os("ZKPROF_OFFLINE").is_none_or(|v| v.is_empty()),
            progress: &|d, t| {
                if let Ok(mut f) = cell.lock() {
                    f(d, t)
                }
            },
        };
        pick::ensure(power, dir, &src).map_err(|e| failed(format!("powers of tau: {e}")))?
    };
    if let Some(p) = phase {
        p.finish("done");
    }
    let mut info = BTreeMap::new();
    // The circuit's size, recorded before the setup runs (and perhaps runs out of memory).
    info.insert(
        crate::results::FACT_CONSTRAINTS.into(),
        counts.constraints.to_string(),
    );
    info.insert("ptau_power_needed".into(), power.to_string());
    if let Some(s) = chosen.provisioned_s {
        info.insert("ptau_provisioned_s".into(), format!("{s:.2}"));
    }
    if let Some(e) = &chosen.public_error {
        info.insert("ptau_public_unavailable".into(), e.clone());
    }
    Ok((chosen, info))
}
