//! Step-size schedules: the built-in [`StepSize`] and any user schedule through
//! [`StepSchedule`] (a closure `Fn(u64) -> f64` is one).

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A step-size schedule η_t, t = 0, 1, 2, … Implement it for your own schedule, or pass a
/// closure `|t: u64| -> f64`:
///
/// ```
/// use lisse_core::solver::StepSchedule;
/// // Epoch-SGD: η halves after every epoch of 100 steps.
/// let epoch_sgd = |t: u64| 0.5 * 0.5f64.powi(i32::try_from(t / 100).unwrap_or(i32::MAX));
/// assert_eq!(epoch_sgd.step_at(0), 0.5);
/// assert_eq!(epoch_sgd.step_at(250), 0.125);
/// ```
///
/// Solvers check every η_t they use: a value that is not finite and positive stops the run
/// with [`Error::InvalidParameter`] naming t.
pub trait StepSchedule {
    /// η_t.
    fn step_at(&self, t: u64) -> f64;

    /// Checks the schedule's parameters up front (the default accepts; solvers check each
    /// η_t anyway).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the bad parameter.
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

impl<F: Fn(u64) -> f64> StepSchedule for F {
    fn step_at(&self, t: u64) -> f64 {
        self(t)
    }
}

/// η_t from `schedule`, checked finite and positive.
pub(crate) fn checked_step<S: StepSchedule + ?Sized>(schedule: &S, t: u64) -> Result<f64> {
    let eta = schedule.step_at(t);
    if eta.is_finite() && eta > 0.0 {
        Ok(eta)
    } else {
        Err(Error::invalid(
            format!("step size at t = {t}"),
            eta,
            "a finite number > 0 (check the step-size schedule)",
        ))
    }
}

/// The built-in schedules.
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
    /// η_t.
    pub fn at(&self, t: u64) -> f64 {
        match *self {
            StepSize::Constant(eta) => eta,
            StepSize::Decaying { eta0, power } => eta0 / (1.0 + t as f64).powf(power),
        }
    }
}

impl StepSchedule for StepSize {
    fn step_at(&self, t: u64) -> f64 {
        self.at(t)
    }

    /// Checks η > 0 (finite) and p ≥ 0.
    fn validate(&self) -> Result<()> {
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
}
