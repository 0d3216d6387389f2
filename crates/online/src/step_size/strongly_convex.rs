//! η_t = 2/(λt) for λ-strongly convex expected losses.

use lisse_core::{Result, check_positive};
use serde::{Deserialize, Serialize};

use super::{SeaConstants, StepSchedule};

/// η_t = 2/(λt) from t = 1 (Chen et al. 2023, strongly convex case). The factor 2 (not
/// 1/(λt)) pays for telescoping the distance to the centre x̂_t rather than to x_t
/// (reference notes §3.2 (derived)).
///
/// ```
/// use lisse_online::step_size::{StepSchedule, StronglyConvex};
/// let s = StronglyConvex::new(0.5)?;
/// assert_eq!(s.eta(1), 4.0);
/// assert_eq!(s.eta(4), 1.0);
/// assert!(StronglyConvex::new(0.0).is_err()); // λ ≤ 0 is a typed error
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StronglyConvex {
    lambda: f64,
}

impl StronglyConvex {
    /// The schedule for strong-convexity modulus λ.
    ///
    /// # Errors
    /// [`lisse_core::Error::InvalidParameter`] unless λ is finite and > 0.
    pub fn new(lambda: f64) -> Result<Self> {
        check_positive("strong convexity lambda", lambda)?;
        Ok(Self { lambda })
    }
}

impl StepSchedule for StronglyConvex {
    fn eta(&self, t: u64) -> f64 {
        2.0 / (self.lambda * t.max(1) as f64)
    }

    fn record(&mut self, _t: u64, _residual_sq: f64) {}

    fn name(&self) -> String {
        "2/(lambda t)".into()
    }
}

/// The regret bound of optimistic OGD with [`StronglyConvex`] and M_t = g_{t−1}
/// (derived; reference notes §3.2):
///
/// R_T ≤ λD²/4 + 2G²/λ + (C_max/λ)·(1 + ln(1 + C_tot/C_max)) + (8L²D²/λ)·ln(8κ + 3),
///
/// C_max = 16σ²_max + 8Σ²_max, C_tot = 16σ²_{1:T} + 8Σ²_{1:T}, κ = L/λ; the C-term is 0 when
/// C_max = 0. This has the shape of the JMLR statement
/// O((1/λ)(σ²_max + Σ²_max)·log((σ²_{1:T} + Σ²_{1:T})/(σ²_max + Σ²_max))); the constants are
/// derived, not quoted.
///
/// # Errors
/// [`lisse_core::Error::InvalidParameter`] for invalid constants or λ ≤ 0.
pub fn strongly_convex_bound(c: &SeaConstants, lambda: f64) -> Result<f64> {
    c.validate()?;
    check_positive("strong convexity lambda", lambda)?;
    let (d, g, l) = (c.diameter, c.gradient_bound, c.smoothness);
    let c_max = 16.0 * c.sigma_sq_max + 8.0 * c.variation_sq_max;
    let c_tot = 16.0 * c.sigma_sq + 8.0 * c.variation_sq;
    let main = if c_max > 0.0 {
        c_max / lambda * (1.0 + (1.0 + c_tot / c_max).ln())
    } else {
        0.0
    };
    let kappa = l / lambda;
    Ok(lambda * d * d / 4.0
        + 2.0 * g * g / lambda
        + main
        + 8.0 * l * l * d * d / lambda * (8.0 * kappa + 3.0).ln())
}
