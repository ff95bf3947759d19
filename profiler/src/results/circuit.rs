//! A cell's circuit size in words (`21740 constraints`, `2^15 rows`), from what it recorded.
//!
//! A cell that finished records its size as metrics (`constraints_total`, `logrows`, ...).
//! A cell that failed before its metrics were collected (a setup killed for memory) still
//! records the size its adapter knew before the step started, as a fact in `info`
//! ([`FACT_CONSTRAINTS`], [`FACT_LOGROWS`]), so that a sweep's frontier says how large the
//! circuit was that stopped it.

use super::CellResult;

/// `info` key: constraints of the compiled circuit (an R1CS header's count), known before
/// its setup ran.
pub const FACT_CONSTRAINTS: &str = "circuit_constraints";
/// `info` key: log2 of the rows of a Halo2 circuit, known before its setup ran.
pub const FACT_LOGROWS: &str = "circuit_logrows";
/// `info` key: steps of a Cairo program's execution, known before its proof ran.
pub const FACT_CAIRO_STEPS: &str = "cairo_steps";

impl CellResult {
    /// A finite metric.
    fn finite_metric(&self, key: &str) -> Option<f64> {
        self.metrics.get(key).copied().filter(|v| v.is_finite())
    }

    /// A fact that is a whole number.
    fn count_fact(&self, key: &str) -> Option<u64> {
        self.info.get(key).and_then(|v| v.trim().parse().ok())
    }

    /// Circuit size in words: `21740 constraints (20000 non-linear)`, `2^15 rows`, or
    /// `None` when the cell recorded none.
    pub fn circuit_size(&self) -> Option<String> {
        // circom adapters record `constraints_total` (and the non-linear share); others `constraints`.
        let total = self
            .finite_metric("constraints_total")
            .or_else(|| self.finite_metric("constraints"));
        if let Some(c) = total {
            return Some(match self.finite_metric("constraints_nonlinear") {
                Some(nl) if nl != c => format!("{c:.0} constraints ({nl:.0} non-linear)"),
                _ => format!("{c:.0} constraints"),
            });
        }
        if let Some(k) = self.finite_metric("logrows") {
            return Some(format!("2^{k:.0} rows"));
        }
        if let Some(r) = self.finite_metric("rows") {
            return Some(format!("{r:.0} rows"));
        }
        // A Cairo program (Orion) is proven as its execution trace.
        if let Some(n) = self.finite_metric("cairo_steps") {
            return Some(format!("{n:.0} Cairo steps"));
        }
        if let Some(c) = self.count_fact(FACT_CONSTRAINTS) {
            return Some(format!("{c} constraints"));
        }
        if let Some(n) = self.count_fact(FACT_CAIRO_STEPS) {
            return Some(format!("{n} Cairo steps"));
        }
        self.count_fact(FACT_LOGROWS).map(|k| format!("2^{k} rows"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::CellStatus;

    fn cell(metrics: &[(&str, f64)], info: &[(&str, &str)]) -> CellResult {
        CellResult {
            id: "m/f".into(),
            model: "m".into(),
            framework: "f".into(),
            settings: Default::default(),
            runtime: "native".into(),
            status: CellStatus::Failed,
            reason: None,
            repetitions: Vec::new(),
            summary: Default::default(),
            metrics: metrics.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            info: info
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            host_id: String::new(),
            started_at: String::new(),
            finished_at: String::new(),
            warnings: Vec::new(),
        }
    }

    #[test]
    fn metrics_first_then_facts_known_before_a_failed_step() {
        let both = cell(
            &[
                ("constraints_total", 120.0),
                ("constraints_nonlinear", 100.0),
            ],
            &[(FACT_CONSTRAINTS, "999")],
        );
        assert_eq!(
            both.circuit_size().as_deref(),
            Some("120 constraints (100 non-linear)")
        );
        assert_eq!(
            cell(&[("logrows", 20.0)], &[]).circuit_size().as_deref(),
            Some("2^20 rows")
        );
        let failed = cell(&[("params", 5142.0)], &[(FACT_CONSTRAINTS, "4233120")]);
        assert_eq!(
            failed.circuit_size().as_deref(),
            Some("4233120 constraints")
        );
        let halo2 = cell(&[], &[(FACT_LOGROWS, "21")]);
        assert_eq!(halo2.circuit_size().as_deref(), Some("2^21 rows"));
        assert_eq!(cell(&[], &[(FACT_LOGROWS, "many")]).circuit_size(), None);
        assert_eq!(cell(&[("logrows", f64::NAN)], &[]).circuit_size(), None);
        assert_eq!(
            cell(&[("cairo_steps", 711774.0)], &[])
                .circuit_size()
                .as_deref(),
            Some("711774 Cairo steps")
        );
        let oom = cell(&[("params", 20710.0)], &[(FACT_CAIRO_STEPS, "3237993")]);
        assert_eq!(oom.circuit_size().as_deref(), Some("3237993 Cairo steps"));
    }
}
