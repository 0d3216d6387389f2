//! Finite sums f(x) = (1/n) Σᵢ fᵢ(x): the shape of empirical risks on data.

use nalgebra::DVector;

use super::Dimension;
use crate::{Error, Result, check_dim};

/// A finite sum f(x) = (1/n) Σᵢ₌₀ⁿ⁻¹ fᵢ(x) whose terms can be evaluated one at a time or in
/// minibatches.
///
/// Required: the term oracles. Provided: minibatch means that loop over the terms;
/// implementations on data override them with fused kernels. Indices out of range and empty
/// batches are typed errors.
///
/// Minibatch *sampling* (with or without replacement, a fresh batch per call) lives in
/// `lisse-oracles`, which turns any `FiniteSum` into a
/// [`StochasticGradient`](super::StochasticGradient).
pub trait FiniteSum: Dimension {
    /// Number of terms n (also the oracle's
    /// [`Dimension::full_batch_size`](crate::Dimension::full_batch_size): a full-batch call
    /// reads all n).
    fn n_terms(&self) -> usize;

    /// fᵢ(x).
    ///
    /// # Errors
    /// A wrong length, or `i >= n_terms()`.
    fn term_value(&self, x: &DVector<f64>, i: usize) -> Result<f64>;

    /// Writes ∇fᵢ(x) into `out`.
    ///
    /// # Errors
    /// A wrong length, or `i >= n_terms()`.
    fn term_gradient_into(&self, x: &DVector<f64>, i: usize, out: &mut DVector<f64>) -> Result<()>;

    /// (1/|B|) Σ_{i∈B} fᵢ(x), with repeated indices counted as often as they appear.
    ///
    /// # Errors
    /// A wrong length, an empty batch or an index out of range.
    fn batch_value(&self, x: &DVector<f64>, batch: &[usize]) -> Result<f64> {
        check_batch(batch, self.n_terms())?;
        let mut sum = 0.0;
        for &i in batch {
            sum += self.term_value(x, i)?;
        }
        Ok(sum / batch.len() as f64)
    }

    /// Writes (1/|B|) Σ_{i∈B} ∇fᵢ(x) into `out`.
    ///
    /// The provided version allocates one scratch vector per call; data-backed oracles override
    /// it with an allocation-free fused kernel.
    ///
    /// # Errors
    /// A wrong length, an empty batch or an index out of range.
    fn batch_gradient_into(
        &self,
        x: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        check_batch(batch, self.n_terms())?;
        check_dim("output buffer", self.dim(), out.len())?;
        let mut term = DVector::zeros(self.dim());
        out.fill(0.0);
        for &i in batch {
            self.term_gradient_into(x, i, &mut term)?;
            *out += &term;
        }
        *out /= batch.len() as f64;
        Ok(())
    }
}

/// Hessian-vector products of the terms of a [`FiniteSum`].
pub trait FiniteSumHvp: FiniteSum {
    /// Writes ∇²fᵢ(x)·v into `out`.
    ///
    /// # Errors
    /// A wrong length, or `i >= n_terms()`.
    fn term_hvp_into(
        &self,
        x: &DVector<f64>,
        v: &DVector<f64>,
        i: usize,
        out: &mut DVector<f64>,
    ) -> Result<()>;

    /// Writes (1/|B|) Σ_{i∈B} ∇²fᵢ(x)·v into `out`.
    ///
    /// # Errors
    /// A wrong length, an empty batch or an index out of range.
    fn batch_hvp_into(
        &self,
        x: &DVector<f64>,
        v: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        check_batch(batch, self.n_terms())?;
        check_dim("output buffer", self.dim(), out.len())?;
        let mut term = DVector::zeros(self.dim());
        out.fill(0.0);
        for &i in batch {
            self.term_hvp_into(x, v, i, &mut term)?;
            *out += &term;
        }
        *out /= batch.len() as f64;
        Ok(())
    }
}

/// Checks that a minibatch is non-empty and indexes terms `0..n`.
///
/// # Errors
/// [`Error::InvalidParameter`] naming the first bad index, or the empty batch.
pub fn check_batch(batch: &[usize], n: usize) -> Result<()> {
    if batch.is_empty() {
        return Err(Error::invalid(
            "batch",
            "[] (empty)",
            "a non-empty list of term indices",
        ));
    }
    match batch.iter().find(|&&i| i >= n) {
        None => Ok(()),
        Some(&i) => Err(Error::invalid(
            "batch index",
            i,
            format!("in 0..{n} (the number of terms)"),
        )),
    }
}
