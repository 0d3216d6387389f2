//! Optimistic online Newton step for α-exp-concave losses.

use lisse_core::{Result, check_positive, check_range};
use serde::{Deserialize, Serialize};

use super::{SeaConstants, StepSchedule};

/// η_t = 1: with the [`Mahalanobis`](crate::mirror::Mahalanobis) map the step size lives in
/// the matrix U_t (optimistic ONS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Unit;

impl StepSchedule for Unit {
    fn eta(&self, _t: u64) -> f64 {
        1.0
    }

    fn record(&mut self, _t: u64, _residual_sq: f64) {}

    fn name(&self) -> String {
        "ONS (eta = 1)".into()
    }
}

/// (β, δ) = (½·min{1/(4GD), α}, max{2βG², 8L}) (derived; reference notes §3.3): β is Hazan's
/// exp-concavity constant (f(x) − f(u) ≤ ⟨g, x − u⟩ − (β/2)⟨g, x − u⟩²), δ ≥ 8L cancels the
/// smoothness term.
///
/// # Errors
/// [`lisse_core::Error::InvalidParameter`] unless α, G, D > 0 and L ≥ 0 (finite).
pub fn exp_concave_parameters(
    alpha: f64,
    gradient_bound: f64,
    diameter: f64,
    smoothness: f64,
) -> Result<(f64, f64)> {
    check_positive("exp-concavity alpha", alpha)?;
    check_positive("gradient bound G", gradient_bound)?;
    check_positive("diameter D", diameter)?;
    check_range("smoothness L", smoothness, 0.0, f64::INFINITY)?;
    let beta = 0.5 * (1.0 / (4.0 * gradient_bound * diameter)).min(alpha);
    let delta = (2.0 * beta * gradient_bound * gradient_bound).max(8.0 * smoothness);
    Ok((beta, delta))
}

/// The regret bound of optimistic ONS in dimension `dim` (derived; reference notes §3.3):
///
/// R_T ≤ δD²/2 + (8d/β)·ln(1 + β(G² + 8σ²_{1:T} + 4Σ²_{1:T})/(4δd)),
///
/// with (β, δ) from [`exp_concave_parameters`]. The paper's statement is
/// O(d·log(σ²_{1:T} + Σ²_{1:T})); the constants are derived, not quoted.
///
/// # Errors
/// [`lisse_core::Error::InvalidParameter`] for invalid constants, α ≤ 0 or `dim == 0`.
pub fn exp_concave_bound(c: &SeaConstants, alpha: f64, dim: usize) -> Result<f64> {
    c.validate()?;
    if dim == 0 {
        return Err(lisse_core::Error::invalid("dimension", 0, "at least 1"));
    }
    let (beta, delta) = exp_concave_parameters(alpha, c.gradient_bound, c.diameter, c.smoothness)?;
    let d = dim as f64;
    let g2 = c.gradient_bound * c.gradient_bound;
    Ok(delta * c.diameter * c.diameter / 2.0
        + 8.0 * d / beta
            * (1.0 + beta * (g2 + 8.0 * c.sigma_sq + 4.0 * c.variation_sq) / (4.0 * delta * d))
                .ln())
}
