//! Accuracy loss of a circuit against its float model, the 2024 ZKML-Benchmark way.

use super::layers::argmax;
use serde::{Deserialize, Serialize};

/// Agreement of circuit outputs with float outputs, and accuracy against labels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccuracyReport {
    /// Circuit outputs compared (one per input).
    pub n: usize,
    /// Float model accuracy against the labels, percent; `None` without labels or without
    /// float outputs for every input.
    pub float_accuracy_pct: Option<f64>,
    /// Circuit accuracy against the labels, percent; `None` without labels.
    pub circuit_accuracy_pct: Option<f64>,
    /// Percent of inputs where the circuit's argmax differs from the float model's
    /// (the 2024 report's "accuracy loss"); `None` without float outputs for every input.
    pub accuracy_loss_pct: Option<f64>,
}

fn pct(k: usize, n: usize) -> f64 {
    if n == 0 {
        0.0
    } else {
        100.0 * k as f64 / n as f64
    }
}

/// Compares the circuit's outputs, one per input, with the labels (when real) and with the
/// float model's outputs for the same inputs, by predicted class (argmax); see
/// [`accuracy_of_classes`].
pub fn accuracy(
    float_outputs: Option<&[Vec<f32>]>,
    circuit_outputs: &[Vec<f32>],
    labels: Option<&[u8]>,
) -> AccuracyReport {
    let classes = |o: &[Vec<f32>]| -> Vec<usize> { o.iter().map(|v| argmax(v)).collect() };
    let circuit: Vec<Option<usize>> = classes(circuit_outputs).into_iter().map(Some).collect();
    let float = float_outputs.map(classes);
    accuracy_of_classes(float.as_deref(), &circuit, labels)
}

/// The one accuracy computation: the circuit's predicted class per input (`None`: the run
/// gave no class, which counts as wrong and as a disagreement), against the labels (when
/// real) and the float model's classes. Float classes are compared only when there is one
/// per circuit prediction: pairs that do not line up are never compared.
pub fn accuracy_of_classes(
    float: Option<&[usize]>,
    circuit: &[Option<usize>],
    labels: Option<&[u8]>,
) -> AccuracyReport {
    let n = circuit.len();
    let float = float.filter(|f| f.len() == n);
    let right = |p: &mut dyn Iterator<Item = Option<usize>>, l: &[u8]| {
        p.zip(l).filter(|(a, b)| *a == Some(**b as usize)).count()
    };
    AccuracyReport {
        n,
        float_accuracy_pct: float
            .and_then(|fa| labels.map(|l| pct(right(&mut fa.iter().map(|&c| Some(c)), l), n))),
        circuit_accuracy_pct: labels.map(|l| pct(right(&mut circuit.iter().copied(), l), n)),
        accuracy_loss_pct: float.map(|fa| {
            let disagree = fa
                .iter()
                .zip(circuit)
                .filter(|(a, b)| Some(**a) != **b)
                .count();
            pct(disagree, n)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_is_disagreement_not_error() {
        let f = vec![
            vec![0.9, 0.1],
            vec![0.2, 0.8],
            vec![0.6, 0.4],
            vec![0.3, 0.7],
        ];
        let c = vec![
            vec![5.0, 1.0],
            vec![1.0, 5.0],
            vec![1.0, 5.0],
            vec![1.0, 5.0],
        ];
        let r = accuracy(Some(&f), &c, Some(&[0, 1, 1, 0]));
        assert_eq!(r.n, 4);
        assert_eq!(r.accuracy_loss_pct, Some(25.0));
        assert_eq!(r.float_accuracy_pct, Some(50.0));
        assert_eq!(r.circuit_accuracy_pct, Some(75.0));
        let r = accuracy(Some(&f[..2]), &c[..2], None);
        assert_eq!(
            (r.n, r.accuracy_loss_pct, r.float_accuracy_pct),
            (2, Some(0.0), None)
        );
        // Float outputs that do not line up with the circuit's are not compared.
        let r = accuracy(Some(&f[..2]), &c, Some(&[0, 1, 1, 0]));
        assert_eq!(
            (r.n, r.accuracy_loss_pct, r.float_accuracy_pct),
            (4, None, None)
        );
        assert_eq!(r.circuit_accuracy_pct, Some(75.0));
    }

    #[test]
    fn a_run_without_a_class_is_wrong_and_disagrees() {
        let r = accuracy_of_classes(
            Some(&[1, 0, 1]),
            &[Some(1), None, Some(0)],
            Some(&[1, 0, 0]),
        );
        assert_eq!(r.n, 3);
        assert_eq!(r.circuit_accuracy_pct, Some(100.0 * 2.0 / 3.0));
        assert_eq!(r.float_accuracy_pct, Some(100.0 * 2.0 / 3.0));
        assert_eq!(r.accuracy_loss_pct, Some(100.0 * 2.0 / 3.0));
    }
}
