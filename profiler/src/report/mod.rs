//! Reports: every output zkprof makes from results files, one file per format.
//!
//! Reports read results files only (`zkprof/results/v2`; v1 files are read through
//! `results::migrate`); they never re-run anything, so a results file re-renders on any machine. Rendering is deterministic: no clock reads, cells
//! in file order (plan order), maps in key order, so exports have snapshot tests.
//!
//! Adding a format: a new file with an [`Exporter`], one [`Format`] variant, one arm in
//! [`exporter`]. `compare` and `reproduce` are separate commands with their own modules.

mod axis;
pub mod bencher;
pub mod charts;
pub mod compare;
pub mod compare_render;
pub mod compare_sides;
pub mod csv;
pub mod github_action_benchmark;
pub mod html;
pub mod labels;
pub mod markdown;
pub mod reference;
pub mod reproduce;
pub mod reproduce_verdict;
pub mod table;
pub mod view;

use crate::results::ResultsFile;

/// One loaded results file and the label it is shown under (the path as given).
#[derive(Clone, Debug)]
pub struct Loaded {
    pub label: String,
    pub results: ResultsFile,
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("template error: {0}")]
    Template(String),
    #[error("chart error: {0}")]
    Chart(String),
    #[error("cannot serialize the {format} export: {message}")]
    Serialize {
        format: &'static str,
        message: String,
    },
    #[error("{path}: {message}")]
    Reference { path: String, message: String },
}

/// The output formats of `zkprof report`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One self-contained HTML file: fingerprints, tables, charts (no network needed).
    Html,
    /// CSV in the column schema of the 2024 ZKML-Benchmark table.
    Csv,
    /// Markdown for a GitHub step summary.
    Markdown,
    /// Bencher Metric Format JSON.
    Bencher,
    /// github-action-benchmark `customSmallerIsBetter` JSON.
    GithubActionBenchmark,
}

/// Turns loaded results files into the bytes of one format.
pub trait Exporter {
    /// The format this exporter writes.
    fn format(&self) -> Format;
    /// Renders `files` (at least one). Must not read the clock or depend on hash order.
    fn render(&self, files: &[Loaded]) -> Result<Vec<u8>, ReportError>;
}

/// The exporter of a format.
pub fn exporter(format: Format) -> Box<dyn Exporter> {
    match format {
        Format::Html => Box::new(html::HtmlExporter),
        Format::Csv => Box::new(csv::CsvExporter),
        Format::Markdown => Box::new(markdown::MarkdownExporter),
        Format::Bencher => Box::new(bencher::BencherExporter),
        Format::GithubActionBenchmark => Box::new(github_action_benchmark::GabExporter),
    }
}
