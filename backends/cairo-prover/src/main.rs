//! zkprof's Cairo backend: each command is one measured step of zkprof.
//!
//! - `compile`: a Cairo project (`cairo_project.toml`) -> an executable (JSON), with the
//!   Cairo 2.15 compiler crates and the corelib given by `--corelib`. Diagnostics are
//!   reported for the named crate only (its dependencies may carry errors in code it never
//!   reaches).
//! - `execute`: runs the executable's standalone entry point in cairo-vm (proof mode) on
//!   arguments from JSON files, prints each run's output and step count, and with
//!   `--prover-input` writes the stwo prover input of the (single) run.
//! - `prove`: stwo-cairo proves a prover input (96-bit security defaults).
//! - `verify`: stwo-cairo verifies a proof.
//!
//! Output lines are plain text (no colours); tracing spans print `enter` and
//! `close time.busy=...` lines, which zkprof reads as the prover's own phase timings.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use cairo_air::utils::ProofFormat;
use cairo_air::verifier::verify_cairo;
use cairo_air::CairoProofForRustVerifier;
use cairo_lang_compiler::db::{validate_corelib, RootDatabase};
use cairo_lang_compiler::diagnostics::DiagnosticsReporter;
use cairo_lang_compiler::project::setup_project;
use cairo_lang_compiler::ensure_diagnostics;
use cairo_lang_executable::compile::{
    compile_executable_function_in_prepared_db, find_executable_functions, ExecutableConfig,
};
use cairo_lang_sierra_generator::db::SierraGenGroup;
use cairo_lang_executable::executable::{EntryPointKind, Executable};
use cairo_lang_executable_plugin::executable_plugin_suite;
use cairo_lang_filesystem::cfg::{Cfg, CfgSet};
use cairo_lang_filesystem::db::init_dev_corelib;
use cairo_lang_filesystem::ids::CrateInput;
use cairo_lang_casm::hints::Hint;
use cairo_lang_runner::casm_run::format_for_panic;
use cairo_lang_runner::{build_hints_dict, Arg, CairoHintProcessor};
use cairo_vm::cairo_run::{cairo_run_program, CairoRunConfig};
use cairo_vm::types::builtin_name::BuiltinName;
use cairo_vm::types::layout_name::LayoutName;
use cairo_vm::types::program::Program;
use cairo_vm::types::relocatable::MaybeRelocatable;
use cairo_vm::Felt252;
use clap::{Parser, Subcommand};
use stwo::core::vcs_lifted::blake2_merkle::{Blake2sMerkleChannel, Blake2sMerkleHasher};
use stwo_cairo_adapter::adapter::adapt;
use stwo_cairo_adapter::{ProverInput, PublicSegmentContext};
use stwo::core::fri::FriConfig;
use stwo::core::pcs::PcsConfig;
use stwo_cairo_common::preprocessed_columns::preprocessed_trace::PreProcessedTraceVariant;
use stwo_cairo_prover::prover::{create_and_serialize_proof, ChannelHash, ProverParameters};
use tracing::{info, span, Level};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::prelude::*;

#[derive(Parser, Debug)]
#[command(version, about = "Compile, execute, prove and verify a Cairo program")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Compiles the `#[executable]` function of one crate of a Cairo project.
    Compile {
        /// The project directory (holds `cairo_project.toml`).
        #[arg(long)]
        project: PathBuf,
        /// The crate whose executable is compiled and whose diagnostics are reported.
        #[arg(long = "crate")]
        krate: String,
        /// The corelib's `src` directory (starkware-libs/cairo, `corelib/src`, tag v2.15.0).
        #[arg(long)]
        corelib: PathBuf,
        /// Where the executable (JSON) is written.
        #[arg(long)]
        output: PathBuf,
    },
    /// Runs the executable's standalone entry point (cairo-vm, proof mode).
    Execute {
        #[arg(long)]
        executable: PathBuf,
        /// A JSON array of non-negative integers: the serialized arguments of the
        /// function. Repeat for several runs (each prints its own output).
        #[arg(long = "args")]
        args: Vec<PathBuf>,
        /// Writes the stwo prover input of the run (one `--args` at most).
        #[arg(long)]
        prover_input: Option<PathBuf>,
    },
    /// Proves a prover input with stwo-cairo.
    Prove {
        #[arg(long)]
        prover_input: PathBuf,
        #[arg(long)]
        proof: PathBuf,
        /// The preprocessed trace: `canonical` (stwo-cairo's default, every builtin's
        /// tables), `canonical_without_pedersen` (7x fewer cells; for programs that use no
        /// Pedersen builtin), `canonical_small` (components up to 2^20 rows), or `auto`
        /// (without Pedersen when the program uses none, else canonical).
        #[arg(long, default_value = "canonical")]
        preprocessed_trace: String,
    },
    /// Verifies a stwo-cairo proof (Blake2s channel).
    Verify {
        #[arg(long)]
        proof: PathBuf,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    // The compiler's database (salsa) logs every query it executes at INFO: 24 MB for a
    // dense model's program, 56 MB with a few thousand constant weights. Only warnings of
    // the compiler's crates are kept; stwo's, cairo-vm's and our own spans stay.
    let filter = Targets::new()
        .with_default(LevelFilter::INFO)
        .with_target("salsa", LevelFilter::WARN)
        .with_target("cairo_lang", LevelFilter::WARN);
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_span_events(FmtSpan::ENTER | FmtSpan::CLOSE),
        )
        .with(filter)
        .init();
    match cli.command {
        Command::Compile {
            project,
            krate,
            corelib,
            output,
        } => compile(&project, &krate, &corelib, &output),
        Command::Execute {
            executable,
            args,
            prover_input,
        } => execute(&executable, &args, prover_input.as_deref()),
        Command::Prove {
            prover_input,
            proof,
            preprocessed_trace,
        } => prove(&prover_input, &proof, &preprocessed_trace),
        Command::Verify { proof } => verify(&proof),
    }
}

fn compile(project: &Path, krate: &str, corelib: &Path, output: &Path) -> Result<()> {
    let _span = span!(Level::INFO, "compile").entered();
    if !corelib.join("lib.cairo").is_file() {
        bail!(
            "{} is not a Cairo corelib (no lib.cairo): give `corelib/src` of starkware-libs/cairo at tag v2.15.0",
            corelib.display()
        );
    }
    let (db, main) = {
        let _s = span!(Level::INFO, "Load project").entered();
        let mut db = RootDatabase::builder()
            .skip_auto_withdraw_gas()
            .with_cfg(CfgSet::from_iter([Cfg::kv("gas", "disabled")]))
            .with_default_plugin_suite(executable_plugin_suite())
            .build()?;
        init_dev_corelib(&mut db, corelib.to_path_buf());
        validate_corelib(&db)?;
        let crates = setup_project(&mut db, project)
            .with_context(|| format!("cannot set up the Cairo project {}", project.display()))?;
        let main: Vec<CrateInput> = crates
            .into_iter()
            .filter(|c| matches!(c, CrateInput::Real { name, .. } if name == krate))
            .collect();
        if main.is_empty() {
            bail!(
                "crate `{krate}` is not in {}/cairo_project.toml",
                project.display()
            );
        }
        (db, main)
    };
    let mut reporter = DiagnosticsReporter::stderr()
        .ignore_all_warnings()
        .with_crates(&main);
    let main_ids = CrateInput::into_crate_ids(&db, main);
    // The compiler's phases as spans (zkprof reads them as the compile step's phases); each
    // later phase reuses what the earlier ones computed.
    {
        let _s = span!(Level::INFO, "Diagnostics (parse, semantic, lowering)").entered();
        ensure_diagnostics(&db, &mut reporter)?;
    }
    let executables = find_executable_functions(&db, main_ids, None);
    let [function] = executables.as_slice() else {
        bail!(
            "crate `{krate}` has {} `#[executable]` functions; it needs exactly one",
            executables.len()
        );
    };
    {
        let _s = span!(Level::INFO, "Sierra generation").entered();
        if db.get_sierra_program_for_functions(vec![*function]).is_err() {
            bail!("Sierra generation failed without diagnostics");
        }
    }
    let result = {
        let _s = span!(Level::INFO, "CASM generation").entered();
        compile_executable_function_in_prepared_db(&db, *function, ExecutableConfig::default())?
    };
    let executable = Executable::new(result.compiled_function);
    println!(
        "Bytecode size (felt252 count): {}",
        executable.program.bytecode.len()
    );
    let _s = span!(Level::INFO, "Write executable").entered();
    serde_json::to_writer(
        std::io::BufWriter::new(
            File::create(output).with_context(|| format!("cannot create {}", output.display()))?,
        ),
        &executable,
    )?;
    Ok(())
}

fn read_args(path: &Path) -> Result<Vec<Arg>> {
    let values: Vec<u64> = serde_json::from_reader(BufReader::new(
        File::open(path).with_context(|| format!("cannot open {}", path.display()))?,
    ))
    .with_context(|| {
        format!(
            "{}: expected a JSON array of non-negative integers",
            path.display()
        )
    })?;
    Ok(values
        .into_iter()
        .map(|v| Arg::Value(Felt252::from(v)))
        .collect())
}

fn execute(executable: &Path, args: &[PathBuf], prover_input: Option<&Path>) -> Result<()> {
    let _span = span!(Level::INFO, "execute").entered();
    if prover_input.is_some() && args.len() > 1 {
        bail!("--prover-input takes one run: give at most one --args");
    }
    let executable: Executable = serde_json::from_reader(BufReader::new(
        File::open(executable).with_context(|| format!("cannot open {}", executable.display()))?,
    ))
    .context("not a Cairo executable (JSON)")?;
    let entrypoint = executable
        .entrypoints
        .iter()
        .find(|e| e.kind == EntryPointKind::Standalone)
        .context("the executable has no standalone entry point")?;
    let data: Vec<MaybeRelocatable> = executable
        .program
        .bytecode
        .iter()
        .map(Felt252::from)
        .map(MaybeRelocatable::from)
        .collect();
    let (hints, string_to_hint) = build_hints_dict(&executable.program.hints);
    let program = Program::new_for_proof(
        entrypoint.builtins.clone(),
        data,
        entrypoint.offset,
        entrypoint.offset + 4,
        hints,
        Default::default(),
        Default::default(),
        vec![],
        None,
    )?;
    println!("Entry point builtins: {:?}", entrypoint.builtins);
    let runs: Vec<Option<&PathBuf>> = if args.is_empty() {
        vec![None]
    } else {
        args.iter().map(Some).collect()
    };
    let several = runs.len() > 1;
    for run in runs {
        if let Some(p) = run {
            println!("Input: {}", p.display());
        }
        let result = run_one(&program, &string_to_hint, run, prover_input, &entrypoint.builtins);
        match result {
            // One failing input of several (e.g. an overflow the program panics on) does not
            // stop the others.
            Err(e) if several => println!("Run failed: {}", format!("{e:#}").replace('\n', " ")),
            other => other?,
        }
    }
    Ok(())
}

fn run_one(
    program: &Program,
    string_to_hint: &HashMap<String, Hint>,
    run: Option<&PathBuf>,
    prover_input: Option<&Path>,
    builtins: &[BuiltinName],
) -> Result<()> {
    let user_args = match run {
        Some(p) => read_args(p)?,
        None => Vec::new(),
    };
    let mut hint_processor = CairoHintProcessor {
        runner: None,
        user_args: vec![vec![Arg::Array(user_args)]],
        string_to_hint: string_to_hint.clone(),
        starknet_state: Default::default(),
        run_resources: Default::default(),
        syscalls_used_resources: Default::default(),
        no_temporary_segments: false,
        markers: Default::default(),
        panic_traceback: Default::default(),
    };
    let config = CairoRunConfig {
        trace_enabled: prover_input.is_some(),
        relocate_trace: false,
        layout: LayoutName::all_cairo_stwo,
        fill_holes: true,
        proof_mode: true,
        disable_trace_padding: true,
        ..Default::default()
    };
    let mut runner = match cairo_run_program(program, &config, &mut hint_processor) {
        Ok(r) => r,
        Err(e) => {
            return Err(match hint_processor.markers.last() {
                Some(panic) => anyhow::anyhow!(
                    "the program panicked: {}",
                    format_for_panic(panic.iter().copied())
                ),
                None => anyhow::anyhow!("the run failed: {e}"),
            })
        }
    };
    let steps = runner.get_execution_resources()?.n_steps;
    println!("Steps: {steps}");
    let mut out = String::new();
    runner.vm.write_output(&mut out)?;
    print!("Program Output:\n{out}");
    if let Some(path) = prover_input {
        let mut input: ProverInput = adapt(&runner)?;
        // A standalone program's public segments are its own builtins (the adapter assumes
        // a bootloader run, which uses all of them).
        input.public_segment_context = PublicSegmentContext::new(builtins);
        let _s = span!(Level::INFO, "Write prover input").entered();
        serde_json::to_writer(
            std::io::BufWriter::new(
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
            ),
            &input,
        )?;
        info!("prover input: {}", path.display());
    }
    Ok(())
}

fn prove(prover_input: &Path, proof: &Path, preprocessed_trace: &str) -> Result<()> {
    let _span = span!(Level::INFO, "prove").entered();
    let input: ProverInput = {
        let _s = span!(Level::INFO, "Read prover input").entered();
        serde_json::from_reader(BufReader::new(
            File::open(prover_input)
                .with_context(|| format!("cannot open {}", prover_input.display()))?,
        ))
        .context("not a stwo prover input (JSON)")?
    };
    let uses_pedersen = input.builtin_segments.pedersen_builtin.is_some();
    let variant = match preprocessed_trace {
        "canonical" => PreProcessedTraceVariant::Canonical,
        "canonical_without_pedersen" => PreProcessedTraceVariant::CanonicalWithoutPedersen,
        "canonical_small" => PreProcessedTraceVariant::CanonicalSmall,
        "auto" if uses_pedersen => PreProcessedTraceVariant::Canonical,
        "auto" => PreProcessedTraceVariant::CanonicalWithoutPedersen,
        other => bail!(
            "--preprocessed-trace {other}: give canonical, canonical_without_pedersen, canonical_small or auto"
        ),
    };
    if uses_pedersen && variant == PreProcessedTraceVariant::CanonicalWithoutPedersen {
        bail!("the program uses the Pedersen builtin: canonical_without_pedersen cannot prove it");
    }
    println!("Preprocessed trace: {}", serde_json::to_string(&variant)?.trim_matches('"'));
    // stwo-cairo's own defaults (96-bit security, Blake2s), with the variant chosen.
    let params = ProverParameters {
        channel_hash: ChannelHash::Blake2s,
        channel_salt: 0,
        pcs_config: PcsConfig {
            pow_bits: 26,
            fri_config: FriConfig {
                log_last_layer_degree_bound: 0,
                log_blowup_factor: 1,
                n_queries: 70,
                fold_step: 1,
            },
            lifting_log_size: None,
        },
        preprocessed_trace: variant,
        store_polynomials_coefficients: false,
        include_all_preprocessed_columns: false,
    };
    let params_path = proof.with_extension("params.json");
    std::fs::write(&params_path, serde_json::to_string_pretty(&params)?)
        .with_context(|| format!("cannot write {}", params_path.display()))?;
    create_and_serialize_proof(input, false, proof.to_path_buf(), ProofFormat::Json, Some(params_path))?;
    let bytes = std::fs::metadata(proof)?.len();
    info!("Proved successfully: proof {bytes} bytes");
    Ok(())
}

fn verify(proof: &Path) -> Result<()> {
    let _span = span!(Level::INFO, "verify").entered();
    let text = std::fs::read_to_string(proof)
        .with_context(|| format!("cannot read {}", proof.display()))?;
    let proof: CairoProofForRustVerifier<Blake2sMerkleHasher> =
        serde_json::from_str(&text).context("not a stwo-cairo proof (JSON, Blake2s)")?;
    verify_cairo::<Blake2sMerkleChannel>(proof).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    info!("Proof verified successfully");
    Ok(())
}
