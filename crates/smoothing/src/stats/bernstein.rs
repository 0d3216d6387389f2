//! The empirical Bernstein bound of Maurer and Pontil, and mergeable sample moments.
//!
//! Maurer & Pontil, "Empirical Bernstein bounds and sample variance penalization" (COLT 2009),
//! Theorem 4: for n ≥ 2 i.i.d. Z_i ∈ [a, b] with unbiased sample variance V_n (denominator
//! n − 1), with probability ≥ 1 − δ,
//!
//! `E Z ≥ Z̄ − sqrt(2·V_n·ln(2/δ)/n) − 7·(b − a)·ln(2/δ)/(3(n − 1))`,
//!
//! and symmetrically for the upper bound. V_n must be the variance of all n samples; averaging
//! per-batch variances (as the LVM-RS code does) drops the between-batch spread and is a
//! different statistic. [`Moments`] merges per-batch (count, mean, M2) with Chan et al.'s
//! pairwise update, so the full-sample V_n comes out of a parallel run.

use serde::{Deserialize, Serialize};

/// The half-width `sqrt(2·V·ln(2/δ)/n) + 7·range·ln(2/δ)/(3(n−1))` of the one-sided
/// Maurer–Pontil bound at level δ; `+∞` when n < 2.
///
/// ```
/// use lisse_smoothing::stats::bernstein::half_width;
/// // K = 10 classes, α = 1e-3, δ = α/K as in the LVM-RS code, n = 1e5, V = 0: the constant term.
/// let w = half_width(0.0, 100_000, 1e-4, 1.0);
/// assert!((w - 7.0 * (2e4_f64).ln() / (3.0 * 99_999.0)).abs() < 1e-15);
/// ```
pub fn half_width(variance: f64, n: u64, delta: f64, range: f64) -> f64 {
    if n < 2 {
        return f64::INFINITY;
    }
    let nf = n as f64;
    let l = (2.0 / delta).ln();
    (2.0 * variance.max(0.0) * l / nf).sqrt() + 7.0 * range * l / (3.0 * (nf - 1.0))
}

/// Count, mean and sum of squared deviations of a sample; merges exactly in a fixed order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    /// Number of observations.
    pub count: u64,
    /// Their mean.
    pub mean: f64,
    /// Σ (z − mean)².
    pub m2: f64,
}

impl Moments {
    /// Adds one observation (Welford).
    #[inline]
    pub fn push(&mut self, z: f64) {
        self.count += 1;
        let d = z - self.mean;
        self.mean += d / self.count as f64;
        self.m2 += d * (z - self.mean);
    }

    /// Merges another sample into this one (Chan, Golub, LeVeque 1979).
    pub fn merge(&mut self, other: &Moments) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = *other;
            return;
        }
        let (na, nb) = (self.count as f64, other.count as f64);
        let n = na + nb;
        let d = other.mean - self.mean;
        self.mean += d * nb / n;
        self.m2 += other.m2 + d * d * na * nb / n;
        self.count += other.count;
    }

    /// The unbiased sample variance V_n (0 when fewer than two observations).
    pub fn variance(&self) -> f64 {
        if self.count < 2 {
            0.0
        } else {
            (self.m2 / (self.count as f64 - 1.0)).max(0.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_equals_one_pass() {
        let z: Vec<f64> = (0..100).map(|i| ((i * 37) % 11) as f64 / 10.0).collect();
        let mut all = Moments::default();
        for &v in &z {
            all.push(v);
        }
        let mut merged = Moments::default();
        for chunk in z.chunks(7) {
            let mut m = Moments::default();
            for &v in chunk {
                m.push(v);
            }
            merged.merge(&m);
        }
        assert_eq!(merged.count, 100);
        assert!((merged.mean - all.mean).abs() < 1e-14);
        assert!((merged.variance() - all.variance()).abs() < 1e-13);
        let mean = z.iter().sum::<f64>() / 100.0;
        let var = z.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 99.0;
        assert!((all.variance() - var).abs() < 1e-13);
    }

    #[test]
    fn reference_values_of_smoothing_notes() {
        // smoothing.md §5.5: EB lower bound at k = 90 000 of n = 1e5 Bernoulli votes, α = 1e-3.
        let n = 100_000_u64;
        let mean = 0.9;
        let var = mean * (1.0 - mean) * n as f64 / (n as f64 - 1.0);
        let lb = mean - half_width(var, n, 1e-3, 1.0);
        assert!((lb - 0.896_123_757_3).abs() < 2e-10, "{lb}");
    }
}
