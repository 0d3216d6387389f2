//! Oracles of functions of two blocks of variables, h(x, y) with x ∈ ℝ^{dx}, y ∈ ℝ^{dy}.
//!
//! These are the shapes bilevel optimization needs: for the upper level f the partial gradients
//! ∇ₓf and ∇ᵧf; for the lower level g the gradient ∇ᵧg, the Hessian-vector product ∇²ᵧᵧg·v and
//! the cross product ∇²ₓᵧg·v, from which the hypergradient
//! ∇Φ(x) = ∇ₓf − ∇²ₓᵧg [∇²ᵧᵧg]⁻¹ ∇ᵧf is assembled. Method names carry their block
//! (`grad_x_into`, `hvp_yy_into`) so one type may implement single-block oracles as well.

use nalgebra::DVector;

use crate::Result;

/// The block sizes of a function h(x, y).
pub trait TwoBlock {
    /// Length of x.
    fn dim_x(&self) -> usize;
    /// Length of y.
    fn dim_y(&self) -> usize;

    /// Data points one deterministic call reads (n for an empirical risk, 0 for an analytic
    /// function); required for the reason given at
    /// [`Dimension::full_batch_size`](crate::Dimension::full_batch_size).
    fn full_batch_size_xy(&self) -> usize;
}

/// Value oracle (x, y) ↦ h(x, y).
pub trait TwoBlockObjective: TwoBlock {
    /// h(x, y).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) on a wrong length.
    fn value_xy(&self, x: &DVector<f64>, y: &DVector<f64>) -> Result<f64>;
}

/// Partial gradients ∇ₓh(x, y) ∈ ℝ^{dx} and ∇ᵧh(x, y) ∈ ℝ^{dy}.
pub trait PartialGradients: TwoBlock {
    /// Writes ∇ₓh(x, y) into `out` (length `dim_x`).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) on a wrong length.
    fn grad_x_into(&self, x: &DVector<f64>, y: &DVector<f64>, out: &mut DVector<f64>)
    -> Result<()>;

    /// Writes ∇ᵧh(x, y) into `out` (length `dim_y`).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) on a wrong length.
    fn grad_y_into(&self, x: &DVector<f64>, y: &DVector<f64>, out: &mut DVector<f64>)
    -> Result<()>;
}

/// Second-order products of the y block: ∇²ᵧᵧh·v and the cross term ∇²ₓᵧh·v.
pub trait PartialHvps: TwoBlock {
    /// Writes ∇²ᵧᵧh(x, y)·v into `out`; `v` and `out` have length `dim_y`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) on a wrong length.
    fn hvp_yy_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()>;

    /// Writes ∇²ₓᵧh(x, y)·v into `out`, where ∇²ₓᵧh is the dx×dy matrix of mixed second
    /// derivatives ∂²h/∂xᵢ∂yⱼ; `v` has length `dim_y`, `out` length `dim_x`.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) on a wrong length.
    fn hvp_xy_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()>;
}

/// A two-block finite sum h(x, y) = (1/n) Σᵢ hᵢ(x, y) evaluated on minibatches of term indices.
///
/// The indexed counterpart of the stochastic two-block traits: variance-reduced bilevel methods
/// (SABA, VRBO, MRBO) keep per-term or full-batch memory and need to evaluate chosen indices,
/// and several quantities must often share one minibatch. `lisse-oracles`' `Minibatch` turns
/// any `TwoBlockFiniteSum` into [`StochasticPartialGradients`](crate::StochasticPartialGradients)
/// (and, with [`TwoBlockFiniteSumHvp`], [`StochasticPartialHvps`](crate::StochasticPartialHvps))
/// evaluated at drawn batches. Repeated indices count as often as
/// they appear; empty batches and indices out of range are typed errors.
pub trait TwoBlockFiniteSum: TwoBlock {
    /// Number of terms n.
    fn n_terms_xy(&self) -> usize;

    /// (1/|B|) Σ_{i∈B} hᵢ(x, y).
    ///
    /// # Errors
    /// A wrong length, an empty batch or an index out of range.
    fn batch_value_xy(&self, x: &DVector<f64>, y: &DVector<f64>, batch: &[usize]) -> Result<f64>;

    /// Writes (1/|B|) Σ_{i∈B} ∇ₓhᵢ(x, y) into `out` (length `dim_x`).
    ///
    /// # Errors
    /// A wrong length, an empty batch or an index out of range.
    fn batch_grad_x_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()>;

    /// Writes (1/|B|) Σ_{i∈B} ∇ᵧhᵢ(x, y) into `out` (length `dim_y`).
    ///
    /// # Errors
    /// A wrong length, an empty batch or an index out of range.
    fn batch_grad_y_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()>;
}

/// Second-order minibatch products of a [`TwoBlockFiniteSum`].
pub trait TwoBlockFiniteSumHvp: TwoBlockFiniteSum {
    /// Writes (1/|B|) Σ_{i∈B} ∇²ᵧᵧhᵢ(x, y)·v into `out` (length `dim_y`).
    ///
    /// # Errors
    /// A wrong length, an empty batch or an index out of range.
    fn batch_hvp_yy_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()>;

    /// Writes (1/|B|) Σ_{i∈B} ∇²ₓᵧhᵢ(x, y)·v into `out` (length `dim_x`; `v` has length `dim_y`).
    ///
    /// # Errors
    /// A wrong length, an empty batch or an index out of range.
    fn batch_hvp_xy_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()>;
}
