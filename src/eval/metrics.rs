//! Pairwise precision / recall / F1 and the adjusted Rand index of a clustering.

use std::collections::HashMap;

/// Scores of a predicted clustering against the true one.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Scores {
    /// Pairs in one predicted story that are truly one story, over predicted pairs (1 when
    /// nothing was folded).
    pub precision: f64,
    /// Pairs truly one story that were predicted together, over true pairs (1 when none).
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Adjusted Rand index.
    pub ari: f64,
    /// Pairs predicted together.
    pub predicted_pairs: u64,
    /// Pairs truly together.
    pub true_pairs: u64,
    /// Pairs both.
    pub both: u64,
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Scores `predicted` against `truth` (one label per item, same order).
pub fn scores(truth: &[u64], predicted: &[u64]) -> Scores {
    let n = truth.len().min(predicted.len());
    let mut joint: HashMap<(u64, u64), u64> = HashMap::new();
    let mut t: HashMap<u64, u64> = HashMap::new();
    let mut p: HashMap<u64, u64> = HashMap::new();
    for i in 0..n {
        *joint.entry((truth[i], predicted[i])).or_default() += 1;
        *t.entry(truth[i]).or_default() += 1;
        *p.entry(predicted[i]).or_default() += 1;
    }
    let both: u64 = joint.values().map(|&c| pairs(c)).sum();
    let tp: u64 = t.values().map(|&c| pairs(c)).sum();
    let pp: u64 = p.values().map(|&c| pairs(c)).sum();
    let precision = if pp == 0 {
        1.0
    } else {
        both as f64 / pp as f64
    };
    let recall = if tp == 0 {
        1.0
    } else {
        both as f64 / tp as f64
    };
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    let all = pairs(n as u64) as f64;
    let expected = if all == 0.0 {
        0.0
    } else {
        tp as f64 * pp as f64 / all
    };
    let max = (tp as f64 + pp as f64) / 2.0;
    let ari = if (max - expected).abs() < f64::EPSILON {
        1.0
    } else {
        (both as f64 - expected) / (max - expected)
    };
    Scores {
        precision,
        recall,
        f1,
        ari,
        predicted_pairs: pp,
        true_pairs: tp,
        both,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_clustering_scores_one() {
        let s = scores(&[1, 1, 2, 3, 3, 3], &[7, 7, 8, 9, 9, 9]);
        assert_eq!((s.precision, s.recall, s.f1, s.ari), (1.0, 1.0, 1.0, 1.0));
        assert_eq!(s.true_pairs, 4);
    }

    #[test]
    fn one_false_merge_and_one_miss() {
        // truth {0,1,2} {3}; predicted {0,1} {2,3}
        let s = scores(&[1, 1, 1, 2], &[5, 5, 6, 6]);
        assert_eq!((s.true_pairs, s.predicted_pairs, s.both), (3, 2, 1));
        assert!((s.precision - 0.5).abs() < 1e-9);
        assert!((s.recall - 1.0 / 3.0).abs() < 1e-9);
        // ARI of this small case, by hand: (1 - 3*2/6) / (2.5 - 1) = 0
        assert!(s.ari.abs() < 1e-9);
    }

    #[test]
    fn nothing_folded_has_full_precision() {
        let s = scores(&[1, 1, 2], &[1, 2, 3]);
        assert_eq!(s.precision, 1.0);
        assert_eq!(s.recall, 0.0);
    }
}
