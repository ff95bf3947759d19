//! One file per subcommand. Each exposes its clap `Args` and `run`, returning an exit code.
//! `args.rs` holds the options several commands share; `cli.rs` only dispatches.

mod args;
pub mod cache;
pub mod compare;
pub mod data;
pub mod doctor;
pub mod exec;
pub mod fingerprint;
pub mod images;
pub mod list;
pub mod merge;
pub mod ptau;
pub mod report;
pub mod reproduce;
pub mod run;
pub mod run_table;
pub mod zkscore;

pub use args::{GlobalArgs, MeasureArgs, MemoryMethodArg};

use crate::error::UserError;
use crate::results::SensorStatus;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Installs the Ctrl-C (and SIGTERM) handler; the flag tells the runner to kill the
/// current step and record it as interrupted.
pub fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(sig, flag.clone()) {
            tracing::warn!("cannot install a handler for signal {sig}: {e}");
        }
    }
    flag
}

/// Fails with exit 3 when a `--require`d sensor is unavailable or unknown.
pub fn check_required(statuses: &[SensorStatus], required: &[String]) -> Result<(), UserError> {
    for name in required {
        match statuses.iter().find(|s| &s.name == name) {
            Some(s) if s.available => {}
            Some(s) => {
                return Err(UserError::Host(format!(
                    "required sensor `{name}` is unavailable: {}",
                    s.reason.as_deref().unwrap_or("no reason given")
                )))
            }
            None => {
                let known: Vec<&str> = statuses.iter().map(|s| s.name.as_str()).collect();
                return Err(UserError::Input(format!(
                    "unknown sensor `{name}` in --require; known sensors: {}",
                    known.join(", ")
                )));
            }
        }
    }
    Ok(())
}
