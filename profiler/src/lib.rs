//! zkprof: a hardware-aware profiler for zero-knowledge machine learning provers.
//!
//! The library holds everything; the `zkprof` binary is a thin wrapper around [`cli`].
//! Start reading at `measure` (how one step is spawned and measured), `suite` (how a
//! suite file becomes cells) and `results` (what is written).

pub mod cache;
pub mod cache_marker;
pub mod cellrun;
pub mod cli;
pub mod commands;
pub mod data;
pub mod error;
pub mod fingerprint;
pub mod frameworks;
pub mod frontier;
pub mod input;
pub mod kinds;
pub mod limits;
pub mod measure;
pub mod merge;
pub mod model;
pub mod outlock;
pub mod output;
pub mod paths;
pub mod phase;
pub mod ptau;
pub mod report;
pub mod results;
pub mod roots;
pub mod runtime;
pub mod score;
pub mod sensors;
pub mod shard;
pub mod stats;
pub mod store;
pub mod suite;
pub mod terminal;
pub mod units;
