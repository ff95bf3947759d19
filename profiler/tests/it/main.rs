//! Integration tests of the `zkprof` binary: one test binary, one module per area, a fresh
//! temporary directory per test.

mod bad_input;
mod deepprove;
mod exec;
mod fuzz;
mod hostile;
mod hygiene;
mod memory;
mod orion;
mod phases;
mod run;
mod support;
mod zkml;
mod zktorch;
