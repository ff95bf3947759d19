//! `zkprof zkscore`: the ZK-Score calibration of this host (modular multiplications per
//! second on the BN254 and BLS12-381 scalar fields, per watt where power is measured).

use super::GlobalArgs;
use crate::error::UserError;
use crate::score::calibration::calibrate;
use clap::Args;

#[derive(Debug, Args)]
pub struct ZkscoreArgs {
    /// Seconds of multiplications per field.
    #[arg(long, default_value_t = 5.0, value_name = "S")]
    pub seconds: f64,
    /// Worker threads (default: every logical CPU).
    #[arg(long, value_name = "N")]
    pub threads: Option<u32>,
    /// Print JSON (schema zkprof/zkscore/v1).
    #[arg(long)]
    pub json: bool,
}

pub fn run(global: &GlobalArgs, args: &ZkscoreArgs) -> anyhow::Result<i32> {
    if !(args.seconds.is_finite() && args.seconds > 0.0 && args.seconds <= 3600.0) {
        return Err(UserError::Input(format!(
            "--seconds {}: give a number of seconds between 0 and 3600",
            args.seconds
        ))
        .into());
    }
    if args.threads == Some(0) {
        return Err(UserError::Input("--threads must be at least 1".into()).into());
    }
    let score = calibrate(&global.roots(), args.seconds, args.threads);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&score)?);
        return Ok(0);
    }
    println!("ZK-Score calibration on {}", score.host.one_line());
    if score.build == "debug" {
        println!("  (debug build: numbers are far below a release build's and not comparable)");
    }
    for f in &score.fields {
        let per_watt = match (f.mmops_per_w, f.power_w) {
            (Some(pw), Some(w)) => format!("  {w:.1} W  {pw:.3} MMOPS/W"),
            _ => String::new(),
        };
        println!(
            "  {:14} {:10.2} MMOPS  ({} threads, {:.1} s){per_watt}",
            f.field, f.mmops, f.threads, f.seconds
        );
    }
    match (&score.power.reason, score.power.measured) {
        (_, true) => println!("  power: {}", score.power.sensors.join(", ")),
        (Some(why), false) => println!("  power: unmeasured ({why})"),
        (None, false) => println!("  power: unmeasured"),
    }
    Ok(0)
}
