//! The adaptive step size of optimistic OMD for convex and smooth expected losses.

use lisse_core::{Result, check_positive, check_range};
use serde::{Deserialize, Serialize};

use super::{SeaConstants, StepSchedule};

/// η_t = D / √(δ + 4G² + V̄_{t−1}), V̄_{t−1} = Σ_{s<t} ‖g_s − M_s‖²_* (Chen et al. 2023, convex
/// and smooth case, as restated by Wang, Barik, Zhao & Tan 2025, §2.2).
///
/// The 4G² term bounds the unseen ‖g_t − M_t‖² (for hints with ‖M_t‖ ≤ G), so η_t ≤
/// D/√(δ + V̄_t) without looking at g_t. δ > 0 trades the (D/2)√δ term against the smoothness
/// term 25D³L²/√δ of [`sea_convex_bound`]; [`sea_convex_delta`] gives δ = 50D²L².
///
/// ```
/// use lisse_online::step_size::{SeaConvex, StepSchedule};
/// let mut s = SeaConvex::new(2.0, 1.0, 4.0)?;
/// assert_eq!(s.eta(1), 2.0 / 8f64.sqrt());
/// s.record(1, 8.0);
/// assert_eq!(s.eta(2), 0.5);
/// assert!(SeaConvex::new(0.0, 1.0, 4.0).is_err()); // D ≤ 0 is a typed error
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SeaConvex {
    diameter: f64,
    gradient_bound: f64,
    delta: f64,
    accumulated: f64,
}

impl SeaConvex {
    /// The schedule for diameter D, gradient bound G and offset δ.
    ///
    /// # Errors
    /// [`lisse_core::Error::InvalidParameter`] unless D > 0, G ≥ 0 and δ > 0 (all finite).
    pub fn new(diameter: f64, gradient_bound: f64, delta: f64) -> Result<Self> {
        check_positive("diameter D", diameter)?;
        check_range("gradient bound G", gradient_bound, 0.0, f64::INFINITY)?;
        check_positive("delta", delta)?;
        Ok(Self {
            diameter,
            gradient_bound,
            delta,
            accumulated: 0.0,
        })
    }

    /// V̄ so far: Σ ‖g_s − M_s‖²_*.
    pub fn accumulated(&self) -> f64 {
        self.accumulated
    }

    /// δ.
    pub fn delta(&self) -> f64 {
        self.delta
    }
}

impl StepSchedule for SeaConvex {
    fn eta(&self, _t: u64) -> f64 {
        let g2 = self.gradient_bound * self.gradient_bound;
        self.diameter / (self.delta + 4.0 * g2 + self.accumulated).sqrt()
    }

    fn record(&mut self, _t: u64, residual_sq: f64) {
        self.accumulated += residual_sq;
    }

    fn name(&self) -> String {
        "SEA adaptive".into()
    }
}

/// δ = 50·D²·L², the choice that balances (D/2)√δ against 25D³L²/√δ in [`sea_convex_bound`]
/// (derived). For L = 0 (linear losses) δ = G² is returned instead (any δ > 0 is valid; the
/// price is (D/2)√δ).
///
/// # Errors
/// [`lisse_core::Error::InvalidParameter`] unless D > 0, G > 0 and L ≥ 0.
pub fn sea_convex_delta(diameter: f64, gradient_bound: f64, smoothness: f64) -> Result<f64> {
    check_positive("diameter D", diameter)?;
    check_positive("gradient bound G", gradient_bound)?;
    check_range("smoothness L", smoothness, 0.0, f64::INFINITY)?;
    Ok(if smoothness > 0.0 {
        50.0 * diameter * diameter * smoothness * smoothness
    } else {
        gradient_bound * gradient_bound
    })
}

/// The regret bound of optimistic OGD with [`SeaConvex`] and M_t = g_{t−1}, for any δ > 0
/// (derived; reference notes §3.1):
///
/// R_T ≤ 5√2·D·√σ²_{1:T} + 5·D·√Σ²_{1:T} + 3.5·G·D + (D/2)·√δ + 25·D³L²/√δ,
///
/// which at δ = 50D²L² is 5√2·D√σ² + 5D√Σ² + 5√2·LD² + 3.5GD. The paper's statement is
/// O(√σ²_{1:T} + √Σ²_{1:T}) (Chen et al. 2023, Thm. for convex and smooth functions); the
/// constants here are derived, not quoted. The derivation bounds Σ⟨g_t, x_t − u⟩ pathwise with
/// σ² replaced by Σ_t ‖g_t − ∇F_t(x_t)‖², so with individually convex losses and
/// fixed-norm noise it also bounds the *realized* regret of every run.
///
/// # Errors
/// [`lisse_core::Error::InvalidParameter`] for invalid constants or δ ≤ 0.
pub fn sea_convex_bound(c: &SeaConstants, delta: f64) -> Result<f64> {
    c.validate()?;
    check_positive("delta", delta)?;
    let (d, g, l) = (c.diameter, c.gradient_bound, c.smoothness);
    Ok(5.0 * 2f64.sqrt() * d * c.sigma_sq.sqrt()
        + 5.0 * d * c.variation_sq.sqrt()
        + 3.5 * g * d
        + 0.5 * d * delta.sqrt()
        + 25.0 * d.powi(3) * l * l / delta.sqrt())
}
