//! Step-size schedules.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A step-size schedule η_t, t = 0, 1, 2, …
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum StepSize {
    /// η_t = η.
    Constant(f64),
    /// η_t = η₀ / (1 + t)^p, the polynomially decaying schedule of stochastic approximation
    /// (Robbins–Monro for p ∈ (½, 1]; p = ½ for convex Lipschitz problems).
    Decaying {
        /// η₀ > 0.
        eta0: f64,
        /// p ≥ 0.
        power: f64,
    },
}

impl StepSize {
    /// Checks η > 0 (finite) and p ≥ 0.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the bad field.
    pub fn validate(&self) -> Result<()> {
        match *self {
            StepSize::Constant(eta) => crate::check_positive("step size", eta),
            StepSize::Decaying { eta0, power } => {
                crate::check_positive("eta0", eta0)?;
                if power.is_finite() && power >= 0.0 {
                    Ok(())
                } else {
                    Err(Error::invalid("power", power, "a finite number >= 0"))
                }
            }
        }
    }

    /// η_t.
    pub fn at(&self, t: u64) -> f64 {
        match *self {
            StepSize::Constant(eta) => eta,
            StepSize::Decaying { eta0, power } => eta0 / (1.0 + t as f64).powf(power),
        }
    }
}
