//! NVIDIA GPUs through NVML (`nvml-wrapper`, which loads `libnvidia-ml.so.1` at run time).
//!
//! Per GPU and per tick: power (mW), the total energy counter (mJ, Volta and later),
//! utilization, memory used, SM clock, temperature and throttle reasons. The energy of a
//! step is the delta of the energy counter where the GPU has one, else the power samples
//! integrated over time (trapezoids; the reading's note says which). No library, no
//! driver or no GPU is a reason in the sensor's status, never an error.
//!
//! NVML is reached through `GpuBackend`, so the sensor's logic is tested with `FakeGpus`.
//! GPU power covers the whole card (every process on it), not only the measured tree.

use super::{Sensor, Target};
use crate::results::{GpuInfo, Reading, SensorStatus};
use std::collections::BTreeSet;
use std::time::Duration;

/// One reading of one GPU; a field the GPU cannot give is `None`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GpuSample {
    pub power_mw: Option<u32>,
    /// Energy since the driver loaded, millijoules (Volta and later).
    pub energy_mj: Option<u64>,
    pub util_gpu_pct: Option<u32>,
    pub util_mem_pct: Option<u32>,
    pub memory_used_bytes: Option<u64>,
    pub sm_clock_mhz: Option<u32>,
    pub temperature_c: Option<u32>,
    /// NVML clock-throttle reason bits.
    pub throttle_bits: Option<u64>,
}

/// Where GPU data comes from: NVML, or a fake in tests.
pub trait GpuBackend: Send {
    /// The GPUs present, or why none can be seen.
    fn gpus(&self) -> Result<Vec<GpuInfo>, String>;
    /// Reads GPU `index` now.
    fn read(&self, index: u32) -> GpuSample;
}

/// Names of NVML throttle reason bits.
pub fn throttle_names(bits: u64) -> Vec<&'static str> {
    const NAMES: [(u64, &str); 9] = [
        (0x1, "gpu_idle"),
        (0x2, "applications_clocks_setting"),
        (0x4, "sw_power_cap"),
        (0x8, "hw_slowdown"),
        (0x10, "sync_boost"),
        (0x20, "sw_thermal_slowdown"),
        (0x40, "hw_thermal_slowdown"),
        (0x80, "hw_power_brake_slowdown"),
        (0x100, "display_clock_setting"),
    ];
    NAMES
        .iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, n)| *n)
        .collect()
}

/// Per-GPU accumulation over one step.
#[derive(Clone, Debug, Default)]
struct Track {
    first: Option<GpuSample>,
    last_energy_mj: Option<u64>,
    /// Energy integrated from power samples, joules.
    integrated_j: f64,
    last_power: Option<(Duration, f64)>,
    power_sum_w: f64,
    power_n: u32,
    util_sum: f64,
    util_n: u32,
    max_memory: Option<u64>,
    max_temp: Option<u32>,
    throttle: u64,
}

impl Track {
    fn add(&mut self, t: Duration, s: &GpuSample) {
        if self.first.is_none() {
            self.first = Some(*s);
        }
        if s.energy_mj.is_some() {
            self.last_energy_mj = s.energy_mj;
        }
        if let Some(mw) = s.power_mw {
            let w = f64::from(mw) / 1e3;
            if let Some((t0, w0)) = self.last_power {
                self.integrated_j += (w0 + w) / 2.0 * t.saturating_sub(t0).as_secs_f64();
            }
            self.last_power = Some((t, w));
            self.power_sum_w += w;
            self.power_n += 1;
        }
        if let Some(u) = s.util_gpu_pct {
            self.util_sum += f64::from(u);
            self.util_n += 1;
        }
        self.max_memory = self.max_memory.max(s.memory_used_bytes);
        self.max_temp = self.max_temp.max(s.temperature_c);
        self.throttle |= s.throttle_bits.unwrap_or(0);
    }

    /// Joules over the step and how they were obtained.
    fn energy(&self) -> Option<(f64, &'static str)> {
        match (self.first.and_then(|f| f.energy_mj), self.last_energy_mj) {
            (Some(a), Some(b)) if b >= a => {
                Some(((b - a) as f64 / 1e3, "delta of the GPU's energy counter"))
            }
            _ if self.power_n >= 2 => Some((
                self.integrated_j,
                "integrated from power samples (no energy counter)",
            )),
            _ => None,
        }
    }
}

/// The shortest time between two NVML reads on the sampler thread. The driver refreshes
/// power about every 20-100 ms, and each NVML query costs far more than a /proc read, so
/// reading every 10 ms tick would cost CPU without adding information; skipped ticks
/// carry the last value forward in the series.
pub const MIN_PERIOD: Duration = Duration::from_millis(50);

/// GPU power, energy and state over one step.
pub struct NvmlSensor<B: GpuBackend> {
    backend: B,
    status: SensorStatus,
    gpus: Vec<GpuInfo>,
    tracks: Vec<Track>,
    last_read: Option<Duration>,
}

impl NvmlSensor<RealNvml> {
    /// The sensor over the host's NVML.
    pub fn system() -> NvmlSensor<RealNvml> {
        NvmlSensor::with_backend(RealNvml)
    }
}

impl<B: GpuBackend> NvmlSensor<B> {
    /// The sensor over any backend (a fake in tests).
    pub fn with_backend(backend: B) -> NvmlSensor<B> {
        let (status, gpus) = match backend.gpus() {
            Ok(g) if g.is_empty() => (
                SensorStatus::unavailable("nvml", "NVML found no NVIDIA GPU"),
                g,
            ),
            Ok(g) => {
                let names: Vec<String> = g
                    .iter()
                    .map(|g| format!("gpu{} {}", g.index, g.name))
                    .collect();
                (
                    SensorStatus::available_with(
                        "nvml",
                        format!("whole-card power and energy: {}", names.join(", ")),
                    ),
                    g,
                )
            }
            Err(why) => (SensorStatus::unavailable("nvml", why), Vec::new()),
        };
        NvmlSensor {
            backend,
            status,
            gpus,
            tracks: Vec::new(),
            last_read: None,
        }
    }

    fn read_all(&mut self, t: Duration) {
        for (gpu, track) in self.gpus.iter().zip(self.tracks.iter_mut()) {
            track.add(t, &self.backend.read(gpu.index));
        }
    }
}

impl<B: GpuBackend> Sensor for NvmlSensor<B> {
    fn name(&self) -> &'static str {
        "nvml"
    }

    fn status(&self) -> SensorStatus {
        self.status.clone()
    }

    fn start(&mut self, _target: &Target) -> Result<(), String> {
        if !self.status.available {
            return Err(self
                .status
                .reason
                .clone()
                .unwrap_or_else(|| "unavailable".into()));
        }
        self.tracks = vec![Track::default(); self.gpus.len()];
        self.read_all(Duration::ZERO);
        self.last_read = Some(Duration::ZERO);
        Ok(())
    }

    fn sample(&mut self, elapsed: Duration, columns: &mut Vec<(String, f64)>) {
        if self
            .last_read
            .is_some_and(|t| elapsed.saturating_sub(t) < MIN_PERIOD)
        {
            return;
        }
        self.last_read = Some(elapsed);
        for (gpu, track) in self.gpus.iter().zip(self.tracks.iter_mut()) {
            let s = self.backend.read(gpu.index);
            track.add(elapsed, &s);
            let i = gpu.index;
            let mut col = |name: &str, v: Option<f64>| {
                if let Some(v) = v {
                    columns.push((format!("gpu{i}.{name}"), v));
                }
            };
            col("power_w", s.power_mw.map(|mw| f64::from(mw) / 1e3));
            col("util_pct", s.util_gpu_pct.map(f64::from));
            col("memory_used_bytes", s.memory_used_bytes.map(|b| b as f64));
            col("sm_clock_mhz", s.sm_clock_mhz.map(f64::from));
            col("temperature_c", s.temperature_c.map(f64::from));
        }
    }

    fn stop(&mut self, elapsed: Duration) -> Vec<Reading> {
        if self.tracks.is_empty() {
            return Vec::new();
        }
        self.read_all(elapsed);
        let card = "whole card, every process on it";
        let mut out = Vec::new();
        let mut total: Option<f64> = None;
        let reading = |metric: String, value: f64, unit: &str, note: Option<String>| Reading {
            sensor: "nvml".into(),
            metric,
            value,
            unit: unit.into(),
            note,
        };
        for (gpu, t) in self.gpus.iter().zip(self.tracks.iter()) {
            let g = format!("gpu{}", gpu.index);
            if let Some((j, how)) = t.energy() {
                out.push(reading(
                    format!("{g}.energy"),
                    j,
                    "J",
                    Some(format!("{card}; {how}")),
                ));
                *total.get_or_insert(0.0) += j;
                if elapsed.as_secs_f64() > 0.0 {
                    out.push(reading(
                        format!("{g}.power.avg"),
                        j / elapsed.as_secs_f64(),
                        "W",
                        Some(card.into()),
                    ));
                }
            }
            if t.power_n > 0 {
                out.push(reading(
                    format!("{g}.power.mean_sample"),
                    t.power_sum_w / f64::from(t.power_n),
                    "W",
                    None,
                ));
            }
            if t.util_n > 0 {
                out.push(reading(
                    format!("{g}.utilization.mean"),
                    t.util_sum / f64::from(t.util_n),
                    "%",
                    None,
                ));
            }
            if let Some(m) = t.max_memory {
                out.push(reading(
                    format!("{g}.memory_used.max"),
                    m as f64,
                    "bytes",
                    Some(card.into()),
                ));
            }
            if let Some(c) = t.max_temp {
                out.push(reading(
                    format!("{g}.temperature.max"),
                    f64::from(c),
                    "°C",
                    None,
                ));
            }
            let reasons: BTreeSet<&str> = throttle_names(t.throttle)
                .into_iter()
                .filter(|n| *n != "gpu_idle")
                .collect();
            if !reasons.is_empty() {
                let list: Vec<&str> = reasons.into_iter().collect();
                out.push(reading(
                    format!("{g}.throttled"),
                    1.0,
                    "bool",
                    Some(list.join(", ")),
                ));
            }
        }
        if let Some(j) = total {
            out.push(reading(
                "gpu.energy.total".into(),
                j,
                "J",
                Some(format!("sum over GPUs; {card}")),
            ));
        }
        self.tracks.clear();
        out
    }
}

/// The host's NVML, initialised once per process.
pub struct RealNvml;

fn nvml() -> Result<&'static nvml_wrapper::Nvml, String> {
    use nvml_wrapper::error::NvmlError;
    static NVML: std::sync::OnceLock<Result<nvml_wrapper::Nvml, String>> =
        std::sync::OnceLock::new();
    NVML.get_or_init(|| {
        nvml_wrapper::Nvml::init().map_err(|e| match e {
            NvmlError::LibloadingError(e) => {
                format!("no NVIDIA driver library (libnvidia-ml.so.1 cannot be loaded: {e}); install the NVIDIA driver to measure GPUs")
            }
            NvmlError::DriverNotLoaded => "the NVIDIA driver is not loaded (no GPU, or `modprobe nvidia` needed)".into(),
            NvmlError::NoPermission => "NVML has no permission to talk to the driver (check /dev/nvidia* access)".into(),
            other => format!("NVML cannot start: {other}"),
        })
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// Device handles, opened once per process (index order).
fn devices() -> &'static [nvml_wrapper::Device<'static>] {
    static DEVICES: std::sync::OnceLock<Vec<nvml_wrapper::Device<'static>>> =
        std::sync::OnceLock::new();
    DEVICES.get_or_init(|| {
        let Ok(nvml) = nvml() else { return Vec::new() };
        let count = nvml.device_count().unwrap_or(0);
        (0..count)
            .map_while(|i| nvml.device_by_index(i).ok())
            .collect()
    })
}

impl GpuBackend for RealNvml {
    fn gpus(&self) -> Result<Vec<GpuInfo>, String> {
        let nvml = nvml()?;
        let count = nvml
            .device_count()
            .map_err(|e| format!("NVML cannot count GPUs: {e}"))?;
        let driver = nvml.sys_driver_version().unwrap_or_default();
        let cuda = nvml
            .sys_cuda_driver_version()
            .map(|v| {
                let (major, minor) = (
                    nvml_wrapper::cuda_driver_version_major(v),
                    nvml_wrapper::cuda_driver_version_minor(v),
                );
                format!("{major}.{minor}")
            })
            .unwrap_or_default();
        let mut out = Vec::new();
        for index in 0..count {
            let d = nvml
                .device_by_index(index)
                .map_err(|e| format!("NVML cannot open GPU {index}: {e}"))?;
            out.push(GpuInfo {
                index,
                name: d.name().unwrap_or_default(),
                uuid: d.uuid().unwrap_or_default(),
                driver_version: driver.clone(),
                cuda_version: cuda.clone(),
                power_limit_w: d.enforced_power_limit().ok().map(|mw| f64::from(mw) / 1e3),
                memory_bytes: d.memory_info().map(|m| m.total).unwrap_or(0),
                pci_bus_id: d.pci_info().map(|p| p.bus_id).unwrap_or_default(),
                pcie_gen: d.current_pcie_link_gen().ok(),
                pcie_width: d.current_pcie_link_width().ok(),
            });
        }
        Ok(out)
    }

    fn read(&self, index: u32) -> GpuSample {
        use nvml_wrapper::enum_wrappers::device::{Clock, TemperatureSensor};
        let Some(d) = devices().get(index as usize) else {
            return GpuSample::default();
        };
        let util = d.utilization_rates().ok();
        GpuSample {
            power_mw: d.power_usage().ok(),
            energy_mj: d.total_energy_consumption().ok(),
            util_gpu_pct: util.as_ref().map(|u| u.gpu),
            util_mem_pct: util.as_ref().map(|u| u.memory),
            memory_used_bytes: d.memory_info().ok().map(|m| m.used),
            sm_clock_mhz: d.clock_info(Clock::SM).ok(),
            temperature_c: d.temperature(TemperatureSensor::Gpu).ok(),
            throttle_bits: d.current_throttle_reasons().ok().map(|r| r.bits()),
        }
    }
}

/// A scripted backend for tests: fixed GPUs, and samples served in order (the last one
/// repeats), or a reason when `gpus` is `Err`.
pub struct FakeGpus {
    pub gpus: Result<Vec<GpuInfo>, String>,
    pub samples: std::sync::Mutex<std::collections::VecDeque<GpuSample>>,
    last: std::sync::Mutex<GpuSample>,
}

impl FakeGpus {
    /// A fake with these GPUs and this script of samples (shared by all GPUs).
    pub fn new(gpus: Result<Vec<GpuInfo>, String>, samples: Vec<GpuSample>) -> FakeGpus {
        FakeGpus {
            gpus,
            samples: std::sync::Mutex::new(samples.into()),
            last: std::sync::Mutex::new(GpuSample::default()),
        }
    }
}

impl GpuBackend for FakeGpus {
    fn gpus(&self) -> Result<Vec<GpuInfo>, String> {
        self.gpus.clone()
    }

    fn read(&self, _index: u32) -> GpuSample {
        let (Ok(mut q), Ok(mut last)) = (self.samples.lock(), self.last.lock()) else {
            return GpuSample::default();
        };
        if let Some(s) = q.pop_front() {
            *last = s;
        }
        *last
    }
}
