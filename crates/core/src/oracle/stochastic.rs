//! Stochastic oracles evaluated at an explicit sample.
//!
//! A stochastic oracle is a [`Sampler`] (it draws sample *values* from the caller's RNG) plus
//! evaluations *at* a given sample. Drawing and evaluating are separate calls, so one sample can
//! be used for several quantities (∇ᵧg, ∇²ᵧᵧg·v and ∇²ₓᵧg·v on one batch in SOBA) and at several
//! points (the gradient at x_t and at x_{t−1} in momentum-based variance reduction):
//!
//! ```
//! use lisse_core::{Dimension, OracleExt, Result, RngStreams, Sampler, StochasticGradient};
//! use nalgebra::{DVector, dvector};
//! use rand::{Rng, RngExt};
//!
//! /// F(x; ξ) = ½‖x − ξ‖² with ξ ∈ {0, 2} uniform: f(x) = E F(x; ξ) = ½‖x − 1‖² + ½.
//! struct Coin;
//! impl Dimension for Coin {
//!     fn dim(&self) -> usize { 1 }
//!     fn full_batch_size(&self) -> usize { 0 } // analytic: reads no data
//! }
//! impl Sampler for Coin {
//!     type Sample = f64;
//!     fn empty_sample(&self) -> f64 { 0.0 }
//!     fn draw_into<R: Rng + ?Sized>(&self, rng: &mut R, s: &mut f64) -> Result<()> {
//!         *s = if rng.random::<bool>() { 2.0 } else { 0.0 };
//!         Ok(())
//!     }
//!     fn samples_per_draw(&self) -> usize { 1 }
//!     fn points_read(&self, _s: &f64) -> usize { 1 }
//! }
//! impl StochasticGradient for Coin {
//!     fn gradient_at_into(&self, x: &DVector<f64>, s: &f64, out: &mut DVector<f64>) -> Result<()> {
//!         lisse_core::check_dim("x", 1, x.len())?;
//!         out[0] = x[0] - s;
//!         Ok(())
//!     }
//! }
//! let mut rng = RngStreams::new(0).stream(0);
//! let s = Coin.draw(&mut rng)?;                     // draw once ...
//! let g1 = Coin.gradient_at(&dvector![1.0], &s)?;   // ... evaluate at two points
//! let g0 = Coin.gradient_at(&dvector![0.0], &s)?;
//! assert_eq!(g1[0] - g0[0], 1.0);                   // the same ξ in both
//! # Ok::<(), lisse_core::Error>(())
//! ```
//!
//! Samplers and evaluations take `rng: &mut R` with `R: Rng + ?Sized`; a solver never owns a
//! generator. Hot loops keep one sample buffer (from [`Sampler::empty_sample`]) and redraw into
//! it with [`Sampler::draw_into`], so nothing allocates per step.

use nalgebra::DVector;
use rand::Rng;

use super::{Dimension, TwoBlock};
use crate::Result;

/// Draws sample values from the caller's RNG: a batch of indices for a finite sum, a noise
/// vector for a synthetic oracle.
///
/// The one required capability of every stochastic oracle. [`Counted`](crate::Counted) tallies
/// every draw (see [`OracleCounts::samples`](crate::OracleCounts::samples)).
pub trait Sampler {
    /// One sample; owns its storage so it can be redrawn in place.
    type Sample;

    /// A sample buffer to draw into (its contents are not a valid draw until
    /// [`draw_into`](Self::draw_into) has filled it).
    fn empty_sample(&self) -> Self::Sample;

    /// Draws a fresh sample, independent of every earlier one, into `sample`.
    ///
    /// # Errors
    /// Oracle-specific; the samplers of lisse do not fail once constructed.
    fn draw_into<R: Rng + ?Sized>(&self, rng: &mut R, sample: &mut Self::Sample) -> Result<()>;

    /// Data points one draw holds: the batch size b of a minibatch, 1 for one noise vector.
    fn samples_per_draw(&self) -> usize;

    /// Data points one evaluation at `sample` reads (|batch| for a minibatch; for an exact
    /// oracle plus noise, the points its exact call reads). The weight of an evaluation in
    /// [`OracleCounts::points`](crate::OracleCounts::points).
    fn points_read(&self, sample: &Self::Sample) -> usize;
}

/// F(x; ξ), an unbiased estimate of f(x), at a given sample.
pub trait StochasticObjective: Sampler + Dimension {
    /// F(x; ξ) for the sample ξ = `sample`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) on a wrong length.
    fn value_at(&self, x: &DVector<f64>, sample: &Self::Sample) -> Result<f64>;
}

/// ∇F(x; ξ), an unbiased estimate of ∇f(x), at a given sample.
pub trait StochasticGradient: Sampler + Dimension {
    /// Writes ∇F(x; ξ) into `out` for the sample ξ = `sample`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) on a wrong length.
    fn gradient_at_into(
        &self,
        x: &DVector<f64>,
        sample: &Self::Sample,
        out: &mut DVector<f64>,
    ) -> Result<()>;
}

/// ∇²F(x; ξ)·v, an unbiased estimate of ∇²f(x)·v, at a given sample.
pub trait StochasticHvp: Sampler + Dimension {
    /// Writes ∇²F(x; ξ)·v into `out` for the sample ξ = `sample`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) on a wrong length.
    fn hvp_at_into(
        &self,
        x: &DVector<f64>,
        v: &DVector<f64>,
        sample: &Self::Sample,
        out: &mut DVector<f64>,
    ) -> Result<()>;
}

/// Stochastic partial gradients ∇ₓH(x, y; ξ) and ∇ᵧH(x, y; ξ) at a given sample.
pub trait StochasticPartialGradients: Sampler + TwoBlock {
    /// Writes ∇ₓH(x, y; ξ) into `out` (length `dim_x`).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) on a wrong length.
    fn grad_x_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        sample: &Self::Sample,
        out: &mut DVector<f64>,
    ) -> Result<()>;

    /// Writes ∇ᵧH(x, y; ξ) into `out` (length `dim_y`).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) on a wrong length.
    fn grad_y_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        sample: &Self::Sample,
        out: &mut DVector<f64>,
    ) -> Result<()>;
}

/// Stochastic second-order products of the y block, ∇²ᵧᵧH(x, y; ξ)·v and ∇²ₓᵧH(x, y; ξ)·v, at a
/// given sample.
pub trait StochasticPartialHvps: Sampler + TwoBlock {
    /// Writes ∇²ᵧᵧH(x, y; ξ)·v into `out`; `v` and `out` have length `dim_y`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) on a wrong length.
    fn hvp_yy_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        sample: &Self::Sample,
        out: &mut DVector<f64>,
    ) -> Result<()>;

    /// Writes ∇²ₓᵧH(x, y; ξ)·v into `out` (length `dim_x`; `v` has length `dim_y`).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) on a wrong length.
    fn hvp_xy_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        sample: &Self::Sample,
        out: &mut DVector<f64>,
    ) -> Result<()>;
}
