//! Chart axes: the range and the tick marks of one axis, linear or logarithmic.
//!
//! Invariants, for any input (empty, one value, NaN, `f64::MAX`): the range is finite with
//! `lo < hi` (and `lo > 0` on a log axis); there are at most [`MAX_TICKS`] ticks, inside the
//! range, increasing; no two tick labels are equal. Every loop is bounded by a count, never
//! by reaching a float value, so no input can make it spin.

/// Most ticks on one axis.
pub const MAX_TICKS: usize = 12;
/// Values beyond this magnitude are drawn at it (keeps every sum and product finite).
const LIMIT: f64 = 1e300;
/// A log axis is used only when the values span at least this factor.
pub const LOG_SPAN: f64 = 10.0;

/// One axis: its range in data units, its scale and its labelled ticks.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    pub lo: f64,
    pub hi: f64,
    pub log: bool,
    /// `(value, label)`, increasing by value, labels distinct.
    pub ticks: Vec<(f64, String)>,
}

impl Axis {
    /// The position of `v` on the axis, 0 at `lo` and 1 at `hi` (clamped to [-0.05, 1.05]).
    pub fn frac(&self, v: f64) -> f64 {
        let v = clamp(v);
        let f = if self.log {
            (v.max(f64::MIN_POSITIVE).log10() - self.lo.log10())
                / (self.hi.log10() - self.lo.log10())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        };
        if f.is_finite() {
            f.clamp(-0.05, 1.05)
        } else {
            0.0
        }
    }
}

fn clamp(v: f64) -> f64 {
    if v.is_nan() {
        0.0
    } else {
        v.clamp(-LIMIT, LIMIT)
    }
}

/// True when the positive `values` span at least [`LOG_SPAN`].
pub fn spans_decade(values: &[f64]) -> bool {
    let pos: Vec<f64> = values
        .iter()
        .copied()
        .filter(|v| v.is_finite() && *v > 0.0)
        .map(clamp)
        .collect();
    let lo = pos.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = pos.iter().copied().fold(0.0, f64::max);
    !pos.is_empty() && hi / lo >= LOG_SPAN
}

/// The axis for `values`. `log`: logarithmic when asked and the positive values span
/// [`LOG_SPAN`]; `zero`: a linear axis starts at 0 (bars, memory); `integer`: only whole
/// numbers get ticks (layer counts).
pub fn axis(values: &[f64], log: bool, zero: bool, integer: bool) -> Axis {
    let finite: Vec<f64> = values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .map(clamp)
        .collect();
    if log && spans_decade(&finite) {
        let pos: Vec<f64> = finite.into_iter().filter(|v| *v > 0.0).collect();
        return log_axis(&pos);
    }
    let (mut lo, mut hi) = finite
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(*v), b.max(*v))
        });
    if finite.is_empty() {
        (lo, hi) = (0.0, 1.0);
    }
    if zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    if hi - lo <= hi.abs().max(lo.abs()) * 1e-12 {
        // One value (or all equal): half its size each side, at least 1 (or 0.5 for counts).
        let d = if integer {
            1.0
        } else {
            (hi.abs() * 0.5).max(if hi == 0.0 { 1.0 } else { 0.0 })
        };
        if zero && lo >= 0.0 {
            hi += d;
        } else {
            lo -= d;
            hi += d;
        }
    } else if !zero || lo < 0.0 {
        let pad = (hi - lo) * 0.06;
        lo -= pad;
        hi += pad;
    } else {
        hi += (hi - lo) * 0.06;
    }
    linear_axis(lo, hi, integer)
}

fn linear_axis(lo: f64, hi: f64, integer: bool) -> Axis {
    let raw = (hi - lo) / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let mut step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    if integer {
        step = step.max(1.0).round();
    }
    let first = (lo / step).ceil();
    let mut ticks = Vec::new();
    for i in 0..(MAX_TICKS as u32 * 2) {
        let v = (first + f64::from(i)) * step;
        if v > hi || ticks.len() >= MAX_TICKS {
            break;
        }
        // Snap -0.0 and tiny rounding residues to the grid.
        let v = if (v / step).abs() < 1e-9 { 0.0 } else { v };
        ticks.push((v, label(v, step)));
    }
    Axis {
        lo,
        hi,
        log: false,
        ticks: distinct(ticks),
    }
}

fn log_axis(pos: &[f64]) -> Axis {
    let lo = pos.iter().copied().fold(f64::INFINITY, f64::min) / 1.5;
    let hi = pos.iter().copied().fold(0.0, f64::max) * 1.5;
    let (a, b) = (lo.log10().ceil() as i32, hi.log10().floor() as i32);
    let decades = (b - a + 1).max(0) as usize;
    let every = decades.div_ceil(MAX_TICKS).max(1);
    let mut ticks: Vec<(f64, String)> = Vec::new();
    for (i, e) in (a..=b).enumerate() {
        if i % every == 0 {
            let v = 10f64.powi(e);
            ticks.push((v, label(v, v)));
        }
    }
    if ticks.len() < 3 {
        // Under two decades: 2x and 5x marks too.
        ticks.clear();
        for e in (a - 1)..=b {
            for m in [1.0, 2.0, 5.0] {
                let v = m * 10f64.powi(e);
                if v >= lo && v <= hi {
                    ticks.push((v, label(v, 10f64.powi(e))));
                }
            }
        }
    }
    Axis {
        lo,
        hi,
        log: true,
        ticks: distinct(ticks),
    }
}

/// Drops ticks whose label equals the previous one (a safety net: [`label`] prints enough
/// digits for the step, so this only bites on values near the float limits).
fn distinct(ticks: Vec<(f64, String)>) -> Vec<(f64, String)> {
    let mut out: Vec<(f64, String)> = Vec::with_capacity(ticks.len());
    for t in ticks {
        if !out.iter().any(|(_, l)| *l == t.1) {
            out.push(t);
        }
    }
    out
}

/// A tick label for `v` on a grid of `step`: an SI suffix (`k`, `M`, `G`, `T`) for large
/// values, and as many decimals as the step needs, so that labels on a grid are distinct.
pub fn label(v: f64, step: f64) -> String {
    let a = v.abs().max(step.abs());
    let (scale, suffix) = if a >= 1e12 {
        (1e12, "T")
    } else if a >= 1e9 {
        (1e9, "G")
    } else if a >= 1e6 {
        (1e6, "M")
    } else if a >= 1e4 {
        (1e3, "k")
    } else {
        (1.0, "")
    };
    let s = step.abs() / scale;
    let decimals = if s > 0.0 && s.is_finite() {
        (-(s.log10().floor())).clamp(0.0, 12.0) as usize
    } else {
        0
    };
    if a >= 1e15 || (a > 0.0 && a < 1e-4) {
        return format!("{v:.1e}");
    }
    let body = super::view::num((v / scale).abs(), decimals);
    if v < 0.0 && body.chars().any(|c| ('1'..='9').contains(&c)) {
        format!("-{body}{suffix}")
    } else {
        format!("{body}{suffix}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(a: &Axis) -> Vec<&str> {
        a.ticks.iter().map(|t| t.1.as_str()).collect()
    }

    fn check(a: &Axis) {
        assert!(a.lo.is_finite() && a.hi.is_finite() && a.lo < a.hi, "{a:?}");
        assert!(!a.log || a.lo > 0.0, "{a:?}");
        assert!(!a.ticks.is_empty() && a.ticks.len() <= MAX_TICKS, "{a:?}");
        let mut l = labels(a);
        let n = l.len();
        l.sort();
        l.dedup();
        assert_eq!(l.len(), n, "repeated tick label: {a:?}");
        assert!(a.ticks.windows(2).all(|w| w[0].0 < w[1].0), "{a:?}");
        assert!(
            a.ticks
                .iter()
                .all(|(v, _)| *v >= a.lo - 1e-9 * a.lo.abs() && *v <= a.hi * 1.000001 + 1e-9),
            "{a:?}"
        );
    }

    #[test]
    fn a_single_point_gets_distinct_ticks_around_it() {
        // The quickstart: one model of 3322 parameters on a log axis.
        let a = axis(&[3322.0], true, false, false);
        check(&a);
        assert!(!a.log, "one value is no decade: linear");
        assert!(a.lo < 3322.0 && a.hi > 3322.0, "{a:?}");
        assert!(a.ticks.len() >= 3, "{a:?}");
        let a = axis(&[1.234], true, true, false);
        check(&a);
        assert_eq!(a.lo, 0.0);
        let a = axis(&[3.0], false, false, true);
        check(&a);
        assert!(labels(&a).iter().all(|l| !l.contains('.')), "{a:?}");
    }

    #[test]
    fn close_values_get_enough_digits() {
        let a = axis(&[3322.0, 3322.4], false, false, false);
        check(&a);
        assert!(labels(&a).iter().any(|l| l.contains('.')), "{a:?}");
    }

    #[test]
    fn wide_ranges_are_logarithmic_narrow_ones_linear() {
        let a = axis(&[5185.0, 44543.0], true, false, false);
        check(&a);
        assert!(!a.log, "8.6x is under a decade");
        let a = axis(&[0.15, 0.4, 30.0], true, false, false);
        check(&a);
        assert!(a.log);
        assert_eq!(labels(&a), vec!["0.1", "1", "10"]);
        let a = axis(&[1.0, 1e12], true, false, false);
        check(&a);
        assert!(a.log);
    }

    #[test]
    fn extreme_and_empty_inputs_terminate_with_a_sane_axis() {
        for vals in [
            vec![],
            vec![f64::NAN],
            vec![f64::MAX],
            vec![f64::MAX, 1.0],
            vec![0.0],
            vec![-5.0, f64::MIN],
            vec![f64::INFINITY, 2.0],
            vec![1e-300, 1e300],
            vec![f64::MIN_POSITIVE],
        ] {
            for (log, zero, int) in [
                (false, false, false),
                (true, false, false),
                (false, true, false),
                (true, true, true),
            ] {
                check(&axis(&vals, log, zero, int));
            }
        }
    }

    #[test]
    fn labels_use_suffixes() {
        assert_eq!(label(44_000.0, 1000.0), "44k");
        assert_eq!(label(2_000_000.0, 1e6), "2M");
        assert_eq!(label(0.25, 0.05), "0.25");
        assert_eq!(label(-0.0, 0.1), "0");
        assert_eq!(label(-2.0, 1.0), "-2");
    }
}
