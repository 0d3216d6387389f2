//! The negative-entropy mirror map on the probability simplex: optimistic Hedge, computed in
//! the log domain.

use lisse_core::{Error, Result, check_dim};
use nalgebra::DVector;

use super::MirrorMap;

/// Log-weights are kept in [−`LOG_FLOOR`, 0]: far below any weight that exp can represent
/// (exp(−746) = 0), so clamping changes no played probability, and far from overflow.
const LOG_FLOOR: f64 = f64::MAX / 4.0;

/// ψ(x) = Σᵢ xᵢ ln xᵢ on the probability simplex Δ_N (1-strongly convex in ‖·‖₁ by Pinsker,
/// dual norm ‖·‖_∞). The KL projection onto the simplex is a normalization, so the step is
/// x ∝ x̂ ⊙ exp(−η v) (optimistic Hedge; Rakhlin & Sridharan 2013; Syrgkanis et al. 2015).
///
/// **Log domain.** The centre is stored as normalized log-weights w = log x̂ (max wᵢ = 0):
/// x = softmax(w − η v) and w ← w − η g − logsumexp(w − η g), each shifted by its maximum
/// (dynet PR #545 computes exponentiated gradient this way). Entries are clamped to
/// [−f64::MAX/4, f64::MAX/4] before the shift, so losses of size 1e300 (or ±∞ products η·g)
/// leave the weights finite and normalized.
///
/// ```
/// use lisse_online::mirror::{Entropy, MirrorMap};
/// use nalgebra::dvector;
/// let mut hedge = Entropy::uniform(3)?;
/// hedge.advance_center(1.0, &dvector![1e300, 0.0, 1e300])?;
/// let p = hedge.center();
/// assert!((p.sum() - 1.0).abs() < 1e-15 && p[1] == 1.0);
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Entropy {
    log_weights: DVector<f64>,
}

impl Entropy {
    /// The uniform start x̂₁ = (1/N, …, 1/N) on Δ_N.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `n == 0`.
    pub fn uniform(n: usize) -> Result<Self> {
        if n == 0 {
            return Err(Error::invalid("number of experts", 0, "at least 1"));
        }
        Ok(Self {
            log_weights: DVector::zeros(n),
        })
    }

    /// The stored log-weights (max entry 0; not normalized to logsumexp 0).
    pub fn log_weights(&self) -> &DVector<f64> {
        &self.log_weights
    }
}

/// Clamps to ±`LOG_FLOOR` (NaN-free for finite or infinite inputs that are not NaN).
fn clamp_log(v: f64) -> f64 {
    v.clamp(-LOG_FLOOR, LOG_FLOOR)
}

/// Writes softmax(`a`) into `out` given `a` already clamped; returns logsumexp(a) − max(a).
fn softmax_into(out: &mut DVector<f64>) -> f64 {
    let out = out.as_mut_slice();
    let m = out.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for o in out.iter_mut() {
        *o = (*o - m).exp();
        sum += *o;
    }
    // sum ≥ 1 (the maximal entry contributes exp(0) = 1).
    let inv = 1.0 / sum;
    for o in out.iter_mut() {
        *o *= inv;
    }
    sum.ln()
}

impl MirrorMap for Entropy {
    fn dim(&self) -> usize {
        self.log_weights.len()
    }

    fn name(&self) -> &'static str {
        "entropy"
    }

    fn step_from_center(
        &mut self,
        eta: f64,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        check_dim("direction", self.dim(), v.len())?;
        check_dim("output buffer", self.dim(), out.len())?;
        for ((o, w), vi) in out
            .as_mut_slice()
            .iter_mut()
            .zip(self.log_weights.as_slice())
            .zip(v.as_slice())
        {
            *o = clamp_log(w - eta * vi);
        }
        softmax_into(out);
        Ok(())
    }

    fn advance_center(&mut self, eta: f64, g: &DVector<f64>) -> Result<()> {
        check_dim("gradient", self.dim(), g.len())?;
        let mut m = f64::NEG_INFINITY;
        for (w, gi) in self.log_weights.as_mut_slice().iter_mut().zip(g.as_slice()) {
            *w = clamp_log(*w - eta * gi);
            m = m.max(*w);
        }
        for w in self.log_weights.as_mut_slice() {
            // Both in [−MAX/4, MAX/4]: the difference is finite; keep it above the floor.
            *w = clamp_log(*w - m);
        }
        Ok(())
    }

    fn dual_norm_sq_diff(&mut self, a: &DVector<f64>, b: &DVector<f64>) -> f64 {
        let m = a
            .as_slice()
            .iter()
            .zip(b.as_slice())
            .fold(0.0_f64, |acc, (x, y)| acc.max((x - y).abs()));
        m * m
    }

    fn center(&self) -> DVector<f64> {
        let mut p = self.log_weights.clone();
        softmax_into(&mut p);
        p
    }
}
