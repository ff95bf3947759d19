//! Summaries across repetitions (`Summary`) and of sampled series (`SeriesPercentiles`).
//!
//! Invariants (checked by the tests of the `stats` module): for a non-empty input,
//! `min <= median <= max`, `min <= mean <= max`, `stddev >= 0`; an empty input gives
//! `n = 0` and zeros. Values keep the unit of what was summarized (seconds, bytes, ...).

use serde::{Deserialize, Serialize};

/// Median, mean, sample standard deviation, min and max of a set of values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub n: usize,
    pub median: f64,
    pub mean: f64,
    /// Sample standard deviation (n - 1); 0 for fewer than two values.
    pub stddev: f64,
    pub min: f64,
    pub max: f64,
}

impl Summary {
    /// Summarizes `values`; non-finite values are ignored.
    pub fn of(values: &[f64]) -> Summary {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return Summary::default();
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let mean = v.iter().sum::<f64>() / n as f64;
        let stddev = if n > 1 {
            (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        Summary {
            n,
            median: median_sorted(&v),
            // Guard against rounding pushing the mean outside [min, max].
            mean: mean.clamp(v[0], v[n - 1]),
            stddev,
            min: v[0],
            max: v[n - 1],
        }
    }

    /// Summarizes integer values (bytes, counts).
    pub fn of_u64(values: &[u64]) -> Summary {
        let v: Vec<f64> = values.iter().map(|&x| x as f64).collect();
        Summary::of(&v)
    }

    /// Summarizes the values that are present; `None` when none is (a figure only some
    /// runs recorded, e.g. a cgroup's charged peak).
    pub fn of_present_u64(values: impl IntoIterator<Item = Option<u64>>) -> Option<Summary> {
        let v: Vec<u64> = values.into_iter().flatten().collect();
        (!v.is_empty()).then(|| Summary::of_u64(&v))
    }

    /// Relative spread, stddev / mean (0 when the mean is 0).
    pub fn relative_stddev(&self) -> f64 {
        if self.mean == 0.0 {
            0.0
        } else {
            self.stddev / self.mean
        }
    }
}

pub(crate) fn median_sorted(v: &[f64]) -> f64 {
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Percentiles of a sampled series (e.g. tree RSS every 10 ms).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SeriesPercentiles {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
}
