//! Stochastic oracles: each call draws a fresh, independent sample from the caller's RNG.

use nalgebra::DVector;
use rand::Rng;

use super::Dimension;
use crate::Result;

/// Unbiased estimate of f(x) from one fresh sample.
pub trait StochasticObjective: Dimension {
    /// F(x; ξ) with ξ drawn from `rng`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) on a wrong length.
    fn stochastic_value<R: Rng + ?Sized>(&self, x: &DVector<f64>, rng: &mut R) -> Result<f64>;

    /// Data points one call consumes (the minibatch size); used for sample accounting.
    fn samples_per_call(&self) -> usize {
        1
    }
}

/// Unbiased estimate of ∇f(x) from one fresh sample: E[g(x; ξ)] = ∇f(x).
pub trait StochasticGradient: Dimension {
    /// Writes ∇F(x; ξ) into `out`, with ξ drawn from `rng`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) on a wrong length.
    fn stochastic_gradient_into<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()>;

    /// Data points one call consumes (the minibatch size); used for sample accounting.
    fn samples_per_call(&self) -> usize {
        1
    }
}

/// Unbiased estimate of ∇²f(x)·v from one fresh sample.
pub trait StochasticHvp: Dimension {
    /// Writes ∇²F(x; ξ)·v into `out`, with ξ drawn from `rng`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) on a wrong length.
    fn stochastic_hvp_into<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        v: &DVector<f64>,
        rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()>;

    /// Data points one call consumes (the minibatch size); used for sample accounting.
    fn samples_per_call(&self) -> usize {
        1
    }
}
