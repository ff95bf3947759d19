//! The integration tests: one test binary (`cargo test --test it`), one module per area, one
//! shared helper module (`support`), a fresh temporary directory per test.
//!
//! Run one area with its module path, e.g. `cargo test --test it docker::` or
//! `cargo test --test it report::snapshots`. What an area needs (a docker engine, node/npm,
//! chromium, actionlint, ...) is said at the top of its file, and whether a missing
//! prerequisite skips (saying why) or fails; with `CI=true` and `ZKPROF_REQUIRE_DOCKER=1`
//! (`.ci/run`) what `.ci/install-*.sh` installs is required, not skipped.

// The crate's own structure: import rules, no loops, file sizes.
mod architecture;

// The zkprof binary end to end: measured commands, suites, bad and hostile input, hygiene.
mod bad_input;
mod cpus;
mod exec;
mod fuzz;
mod hostile;
mod hygiene;
mod memory;
mod phases;
mod reference_data;
mod run;
mod working_set;

// Framework adapters (real EZKL and circom, stand-in installations of the others), the
// native powers of tau against snarkjs, and what a run claims to have measured.
mod deepprove;
mod frameworks;
mod opml;
mod orion;
mod ptau;
mod truth;
mod zkml;
mod zktorch;

// Runtimes and the benchmark matrix.
mod docker;
mod docker_ezkl;
mod matrix;
mod nix;
mod workflows;

// Reports, sensors and the host fingerprint.
mod report;
mod sensors;

mod support;
