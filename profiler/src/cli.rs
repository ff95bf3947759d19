//! Command-line definitions (clap) and dispatch. No logic beyond wiring lives here.

use crate::commands::{self, GlobalArgs};
use crate::error::{UserError, EXIT_FAILED, EXIT_INPUT};
use clap::{Parser, Subcommand};

/// A hardware-aware profiler for zero-knowledge machine learning provers.
#[derive(Debug, Parser)]
#[command(name = "zkprof", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a benchmark suite and write DIR/results.json.
    Run(commands::run::RunArgs),
    /// Profile any command: wall/CPU time and peak memory of its whole process tree.
    Exec(commands::exec::ExecArgs),
    /// Show what this host can measure, and why not where it cannot.
    Doctor(commands::doctor::DoctorArgs),
    /// List frameworks and suites, or the cells of one suite.
    List(commands::list::ListArgs),
    /// Build and list the pinned framework images of the docker runtime.
    Images(commands::images::ImagesArgs),
    /// Show or clear the artifact cache (keys, SRS/ptau, compiled circuits, toolchains).
    Cache(commands::cache::CacheArgs),
    /// Merge results files (shards of a matrix, runs on several machines) into one.
    Merge(commands::merge::MergeArgs),
    /// Show the host fingerprint (CPU, memory, GPUs, virtualization, RAPL domains).
    Fingerprint(commands::fingerprint::FingerprintArgs),
    /// ZK-Score calibration: modular multiplications per second (and per watt) on this host.
    Zkscore(commands::zkscore::ZkscoreArgs),
    /// Render results files: HTML report, CSV, markdown, Bencher or github-action-benchmark JSON.
    Report(commands::report::ReportArgs),
    /// Compare results files (machines or versions): ratios per cell with a noise-aware verdict.
    Compare(commands::compare::CompareArgs),
    /// Compare a published table (e.g. the 2024 ZKML-Benchmark) with our results.
    Reproduce(commands::reproduce::ReproduceArgs),
    /// Datasets: `data fetch mnist|cifar10`.
    Data(commands::data::DataArgs),
    /// Make a BN254 powers of tau for Groth16 (snarkjs format), natively; insecure, for benchmarks.
    Ptau(commands::ptau::PtauArgs),
}

/// Parses the command line, runs it, and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => EXIT_INPUT,
            };
        }
    };
    init_tracing(cli.global.verbose);
    if !cli.command.supervises_processes() {
        exit_quietly_on_broken_pipe();
    }
    let result = match &cli.command {
        Command::Run(a) => commands::run::run(&cli.global, a),
        Command::Exec(a) => commands::exec::run(&cli.global, a),
        Command::Doctor(a) => commands::doctor::run(&cli.global, a),
        Command::List(a) => commands::list::run(&cli.global, a),
        Command::Images(a) => commands::images::run(&cli.global, a),
        Command::Cache(a) => commands::cache::run(a),
        Command::Merge(a) => commands::merge::run(&cli.global, a),
        Command::Fingerprint(a) => commands::fingerprint::run(&cli.global, a),
        Command::Zkscore(a) => commands::zkscore::run(&cli.global, a),
        Command::Report(a) => commands::report::run(&cli.global, a),
        Command::Compare(a) => commands::compare::run(&cli.global, a),
        Command::Reproduce(a) => commands::reproduce::run(&cli.global, a),
        Command::Data(a) => commands::data::run(&cli.global, a),
        Command::Ptau(a) => commands::ptau::run(&cli.global, a),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            exit_code_of(&err)
        }
    }
}

impl Command {
    /// Whether the command runs and watches child processes (steps, runs, downloads) that
    /// must be cleaned up when it stops; those keep Rust's default of a write error on a
    /// closed pipe.
    fn supervises_processes(&self) -> bool {
        matches!(
            self,
            Command::Run(_)
                | Command::Exec(_)
                | Command::Images(_)
                | Command::Data(_)
                | Command::Ptau(_)
        )
    }
}

/// Lets a closed stdout (`zkprof list | head -1`) end the process quietly, as it does for
/// other command-line tools, instead of panicking in `println!`.
fn exit_quietly_on_broken_pipe() {
    // SAFETY: called once at start-up, before any thread is spawned; restores the default
    // disposition of SIGPIPE, which only affects this process.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Maps an error to its documented exit code.
pub fn exit_code_of(err: &anyhow::Error) -> i32 {
    for cause in err.chain() {
        if let Some(u) = cause.downcast_ref::<UserError>() {
            return u.exit_code();
        }
        if let Some(r) = cause.downcast_ref::<crate::measure::RunError>() {
            return match r {
                crate::measure::RunError::Cgroup(_) => crate::error::EXIT_HOST,
                crate::measure::RunError::Sampler(_) => EXIT_FAILED,
                _ => EXIT_INPUT,
            };
        }
        if let Some(crate::report::ReportError::Reference { .. }) = cause.downcast_ref() {
            return EXIT_INPUT;
        }
        if cause.downcast_ref::<crate::suite::SuiteError>().is_some() {
            return EXIT_INPUT;
        }
    }
    EXIT_FAILED
}

fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ZKPROF_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    // Colour codes only for a terminal: logs written to a file or a pipe stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();
}
