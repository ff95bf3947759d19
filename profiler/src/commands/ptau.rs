//! `zkprof ptau --power K [--out FILE]`: a phase-2-prepared BN254 powers of tau in
//! snarkjs's format, made natively from fresh random secrets (insecure: for benchmarks).

use super::GlobalArgs;
use crate::error::{UserError, EXIT_OK};
use crate::ptau::{self, PtauError, Secrets};
use clap::Args;
use std::path::PathBuf;

/// `zkprof ptau`.
#[derive(Debug, Args)]
pub struct PtauArgs {
    /// The file holds 2^POWER powers: Groth16 circuits up to 2^POWER constraints (1-27).
    #[arg(long, short = 'p', value_name = "POWER")]
    pub power: u32,
    /// Where to write it (default: `potPOWER_native.ptau` in the current directory).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Leave out the Lagrange sections 12-15, as before `snarkjs powersoftau prepare phase2`.
    #[arg(long)]
    pub unprepared: bool,
}

/// Runs `zkprof ptau`.
pub fn run(_global: &GlobalArgs, a: &PtauArgs) -> anyhow::Result<i32> {
    if !(1..=ptau::MAX_POWER).contains(&a.power) {
        return Err(UserError::Input(PtauError::Power(a.power).to_string()).into());
    }
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("pot{}_native.ptau", a.power)));
    if out.is_dir() {
        return Err(UserError::Input(format!(
            "--out {} is a directory; give a file name",
            out.display()
        ))
        .into());
    }
    let phase = crate::phase::Phase::start(&format!("generating a powers of tau 2^{}", a.power));
    let secrets = Secrets::random()?;
    let made = ptau::generate(&out, a.power, &secrets, !a.unprepared, &|d, t| {
        phase.set(d, t)
    });
    drop(secrets);
    let made = match made {
        Ok(m) => m,
        Err(PtauError::Io { source, .. }) => {
            phase.finish("failed");
            return Err(UserError::Input(format!(
                "cannot write {}: {source}; give a writable --out",
                out.display()
            ))
            .into());
        }
        Err(e) => {
            phase.finish("failed");
            return Err(e.into());
        }
    };
    phase.finish("done");
    println!(
        "{}: 2^{} powers of tau (BN254, snarkjs format{}), {:.1} MiB in {:.2} s",
        out.display(),
        made.power,
        if a.unprepared {
            ", unprepared"
        } else {
            ", prepared for phase 2"
        },
        made.bytes as f64 / (1024.0 * 1024.0),
        made.seconds
    );
    println!("{}", ptau::pick::native_label(made.power));
    Ok(EXIT_OK)
}
