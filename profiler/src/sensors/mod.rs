//! Sensors: what zkprof can measure on this host, and why not where it cannot.
//!
//! A sensor is attached to one measured step (its process tree), sampled on the
//! sampler thread, and read out when the tree is gone. An unavailable sensor is a
//! value with a reason (`SensorStatus`), never an error and never a made-up number.

use crate::results::{Reading, SensorStatus};
use std::time::Duration;

pub mod nvml;
pub mod perf;
pub mod rapl;

/// The process tree a sensor measures.
#[derive(Clone, Debug)]
pub struct Target {
    /// The direct child.
    pub pid: i32,
    /// Its process group (the child leads it: `pgid == pid`).
    pub pgid: i32,
}

/// A sensor attached to one measured step.
///
/// Lifecycle: `start` once the child exists, `sample` on every sampler tick, `stop`
/// after the tree is gone. Implementations must be cheap in `sample` (the target is
/// 50 µs of CPU per tick for all sensors together).
pub trait Sensor: Send {
    /// Stable name used in results and in `--require`.
    fn name(&self) -> &'static str;
    /// Whether it can work on this host.
    fn status(&self) -> SensorStatus;
    /// Called on the thread that spawns the step, just before the spawn. A sensor that
    /// needs to be in place before the child exists (perf counters inherited by the
    /// child from exec on) sets itself up here. An error disables it for this step.
    fn prepare(&mut self) -> Result<(), String> {
        Ok(())
    }
    /// Attaches to the step. An error disables the sensor for this step (with the reason recorded).
    fn start(&mut self, target: &Target) -> Result<(), String>;
    /// Called every tick with the time since spawn; pushes series columns (name, value).
    fn sample(&mut self, _elapsed: Duration, _columns: &mut Vec<(String, f64)>) {}
    /// Reads out the totals of the step.
    fn stop(&mut self, elapsed: Duration) -> Vec<Reading>;
}

/// Every sensor this build knows besides the runner's own (perf software and hardware
/// counters, RAPL, NVML), fresh for one step, whether it works here or not.
pub fn all(roots: &crate::roots::Roots) -> Vec<Box<dyn Sensor>> {
    vec![
        Box::new(perf::PerfSensor::new(perf::CounterKind::Software)),
        Box::new(perf::PerfSensor::new(perf::CounterKind::Hardware)),
        Box::new(rapl::RaplSensor::new(roots)),
        Box::new(nvml::NvmlSensor::system()),
    ]
}

/// Every attachable sensor, fresh for one step. Unavailable ones are left out;
/// `statuses` says why.
pub fn attachable(roots: &crate::roots::Roots) -> Vec<Box<dyn Sensor>> {
    all(roots)
        .into_iter()
        .filter(|s| s.status().available)
        .collect()
}
