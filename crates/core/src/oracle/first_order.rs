//! Deterministic oracles of one block of variables.

use nalgebra::DVector;

use crate::Result;

/// The number of variables an oracle or domain acts on.
///
/// Every other oracle trait builds on this one, so generic code can allocate buffers of the
/// right length with `DVector::zeros(oracle.dim())`.
pub trait Dimension {
    /// Number of variables.
    fn dim(&self) -> usize;

    /// Data points one deterministic call ([`Objective::value`], [`Gradient::gradient_into`],
    /// [`Hvp::hvp_into`]) reads: n for an empirical risk over n samples (for a
    /// [`FiniteSum`](crate::FiniteSum), its `n_terms()`), 0 for an analytic function or a
    /// domain. [`Counted`](crate::Counted) adds it to the evaluation tally, so full-batch and
    /// minibatch methods can be compared per sample touched.
    ///
    /// Required, with no default, so that no data oracle reports 0 points per full-batch call
    /// by omission: every implementation states its count.
    fn full_batch_size(&self) -> usize;
}

/// Value oracle: x ↦ f(x).
pub trait Objective: Dimension {
    /// f(x).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) when `x.len() != self.dim()`.
    fn value(&self, x: &DVector<f64>) -> Result<f64>;
}

/// Gradient oracle: x ↦ ∇f(x), written into a caller buffer.
pub trait Gradient: Dimension {
    /// Writes ∇f(x) into `out` (its previous contents are ignored).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) when `x` or `out` does not
    /// have length `self.dim()`.
    fn gradient_into(&self, x: &DVector<f64>, out: &mut DVector<f64>) -> Result<()>;
}

/// Hessian-vector product oracle: (x, v) ↦ ∇²f(x)·v, written into a caller buffer.
pub trait Hvp: Dimension {
    /// Writes ∇²f(x)·v into `out`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) when `x`, `v` or `out` does
    /// not have length `self.dim()`.
    fn hvp_into(&self, x: &DVector<f64>, v: &DVector<f64>, out: &mut DVector<f64>) -> Result<()>;
}
