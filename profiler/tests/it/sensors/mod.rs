//! Sensors, the host fingerprint, energy metrics and the ZK-Score calibration, tested on
//! fixture trees (`tests/fixtures/`), a fake NVML backend, and this host's real perf
//! counters.

mod energy;
mod fingerprint;
mod gpu;
mod perf;
mod rapl;
mod zkscore;
