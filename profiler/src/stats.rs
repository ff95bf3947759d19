//! Summaries across repetitions and of sampled series.
//!
//! Invariants (checked by the tests): for a non-empty input, `min <= median <= max`,
//! `min <= mean <= max`, `stddev >= 0`; an empty input gives `n = 0` and zeros.

use crate::results::summary::median_sorted;
use crate::results::{SeriesPercentiles, Summary};
use hdrhistogram::Histogram;

/// Median absolute deviation from the median.
pub fn mad(values: &[f64]) -> f64 {
    let s = Summary::of(values);
    if s.n == 0 {
        return 0.0;
    }
    let mut dev: Vec<f64> = values
        .iter()
        .filter(|x| x.is_finite())
        .map(|x| (x - s.median).abs())
        .collect();
    dev.sort_by(f64::total_cmp);
    median_sorted(&dev)
}

/// Indices of outliers by the modified z-score (Iglewicz and Hoaglin):
/// `0.6745 * |x - median| / MAD > 3.5`. Needs at least 5 values (with fewer, the MAD itself
/// is too uncertain to call anything an outlier); a zero MAD flags nothing.
pub fn mad_outliers(values: &[f64]) -> Vec<usize> {
    if values.len() < 5 {
        return Vec::new();
    }
    let m = mad(values);
    if m == 0.0 {
        return Vec::new();
    }
    let median = Summary::of(values).median;
    values
        .iter()
        .enumerate()
        .filter(|(_, x)| x.is_finite() && 0.6745 * (*x - median).abs() / m > 3.5)
        .map(|(i, _)| i)
        .collect()
}

/// Percentiles of integer samples via an HDR histogram (3 significant digits).
/// Returns `None` for an empty series.
pub fn series_percentiles(samples: &[u64]) -> Option<SeriesPercentiles> {
    if samples.is_empty() {
        return None;
    }
    let mut h = Histogram::<u64>::new(3).ok()?;
    for &s in samples {
        // The histogram resizes itself; saturate only if even that fails.
        if h.record(s).is_err() {
            h.saturating_record(s);
        }
    }
    Some(SeriesPercentiles {
        p50: h.value_at_quantile(0.5),
        p90: h.value_at_quantile(0.9),
        p99: h.value_at_quantile(0.99),
        max: h.max(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_known_values() {
        let s = Summary::of(&[1.0, 2.0, 3.0, 4.0, 100.0]);
        assert_eq!(s.n, 5);
        assert_eq!(s.median, 3.0);
        assert_eq!(s.mean, 22.0);
        assert_eq!(s.min, 1.0);
        assert_eq!(s.max, 100.0);
        assert!((s.stddev - 43.617_656_975).abs() < 1e-6);
    }

    #[test]
    fn even_count_median_is_the_midpoint() {
        assert_eq!(Summary::of(&[4.0, 1.0, 3.0, 2.0]).median, 2.5);
    }

    #[test]
    fn empty_and_single() {
        assert_eq!(Summary::of(&[]).n, 0);
        let s = Summary::of(&[7.0]);
        assert_eq!((s.median, s.stddev), (7.0, 0.0));
    }

    #[test]
    fn invariants_hold_on_pseudo_random_inputs() {
        // A small xorshift generator: deterministic, no extra dependency.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for len in 1..60 {
            let values: Vec<f64> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state % 1_000_000) as f64 / 7.0 - 50_000.0
                })
                .collect();
            let s = Summary::of(&values);
            assert!(s.min <= s.median && s.median <= s.max, "{s:?}");
            assert!(s.min <= s.mean && s.mean <= s.max, "{s:?}");
            assert!(s.stddev >= 0.0);
            let u: Vec<u64> = values.iter().map(|v| (v + 60_000.0) as u64).collect();
            let p = series_percentiles(&u).expect("non-empty");
            let (lo, hi) = (*u.iter().min().unwrap(), *u.iter().max().unwrap());
            for q in [p.p50, p.p90, p.p99] {
                // HDR histograms keep 3 significant digits.
                assert!(
                    q as f64 >= lo as f64 * 0.999 && q as f64 <= hi as f64 * 1.001,
                    "{q} {lo} {hi} {p:?}"
                );
            }
        }
    }

    #[test]
    fn mad_flags_the_slow_run_only() {
        let wall = [5.01, 5.03, 4.98, 5.00, 9.7, 5.02];
        assert_eq!(mad_outliers(&wall), vec![4]);
        assert!(mad_outliers(&[5.0, 5.0, 5.0]).is_empty());
        assert!(mad_outliers(&[1.0, 100.0]).is_empty());
        assert!(
            mad_outliers(&[1.546, 1.532, 1.394]).is_empty(),
            "three runs are too few"
        );
    }
}
