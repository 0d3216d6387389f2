//! Minibatch sampling over a finite sum.

use std::cell::RefCell;

use lisse_core::{
    Dimension, Error, FiniteSum, FiniteSumHvp, Result, StochasticGradient, StochasticHvp,
    StochasticObjective, StochasticPartialGradients, StochasticPartialHvps, TwoBlock,
    TwoBlockFiniteSum, TwoBlockFiniteSumHvp,
};
use nalgebra::DVector;
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

/// How a minibatch draws its term indices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sampling {
    /// b indices i.i.d. uniform on 0..n (repeats possible). The minibatch gradient is unbiased
    /// with variance σ²/b, where σ² is the variance of one term's gradient.
    #[default]
    WithReplacement,
    /// b distinct indices, a uniform random subset of 0..n. Unbiased, with the smaller variance
    /// (n − b)/(n − 1) · σ²/b (finite-population correction); b = n gives the full gradient.
    WithoutReplacement,
}

thread_local! {
    static INDEX_BUFFER: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// A stochastic oracle that evaluates a [`FiniteSum`] (built with [`Minibatch::new`]) or a
/// [`TwoBlockFiniteSum`] (built with [`Minibatch::two_block`]) on a fresh minibatch each call.
/// For two-block sums, `stochastic_grads_into` evaluates ∇ₓ and ∇ᵧ on one shared batch.
///
/// Every call draws an independent batch from the caller's RNG, as the convergence theory of
/// stochastic methods assumes. (Epoch-wise reshuffling is a different sampling scheme and is
/// not what this type does.) Index buffers live in thread-local storage, so calls allocate
/// nothing with replacement, and one O(b) buffer per call without.
///
/// ```
/// use lisse_core::{Dimension, FiniteSum, OracleExt, Result, RngStreams, StochasticGradient};
/// use lisse_oracles::sampling::{Minibatch, Sampling};
/// use nalgebra::{DVector, dvector};
/// /// fᵢ(x) = ½(x − i)², a finite sum over i = 0..10 with minimizer 4.5.
/// struct Points;
/// impl Dimension for Points { fn dim(&self) -> usize { 1 } }
/// impl FiniteSum for Points {
///     fn n_terms(&self) -> usize { 10 }
///     fn term_value(&self, x: &DVector<f64>, i: usize) -> Result<f64> { Ok(0.5 * (x[0] - i as f64).powi(2)) }
///     fn term_gradient_into(&self, x: &DVector<f64>, i: usize, out: &mut DVector<f64>) -> Result<()> {
///         out[0] = x[0] - i as f64;
///         Ok(())
///     }
/// }
/// let oracle = Minibatch::new(Points, 10, Sampling::WithoutReplacement)?;
/// // A batch of all 10 distinct terms is the full gradient.
/// let g = oracle.stochastic_gradient(&dvector![0.0], &mut RngStreams::new(1).stream(0))?;
/// assert!((g[0] + 4.5).abs() < 1e-12);
/// assert_eq!(oracle.samples_per_call(), 10);
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Minibatch<F> {
    inner: F,
    n_terms: usize,
    batch_size: usize,
    sampling: Sampling,
}

impl<F: FiniteSum> Minibatch<F> {
    /// Minibatches of `batch_size` terms of the finite sum `inner`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `batch_size` is 0, or exceeds the number of terms
    /// without replacement.
    pub fn new(inner: F, batch_size: usize, sampling: Sampling) -> Result<Self> {
        let n_terms = inner.n_terms();
        Self::build(inner, n_terms, batch_size, sampling)
    }
}

impl<F: TwoBlockFiniteSum> Minibatch<F> {
    /// Minibatches of `batch_size` terms of the two-block finite sum `inner`, giving the
    /// stochastic two-block oracles a bilevel solver consumes.
    ///
    /// # Errors
    /// As [`Minibatch::new`].
    pub fn two_block(inner: F, batch_size: usize, sampling: Sampling) -> Result<Self> {
        let n_terms = inner.n_terms_xy();
        Self::build(inner, n_terms, batch_size, sampling)
    }
}

impl<F> Minibatch<F> {
    fn build(inner: F, n_terms: usize, batch_size: usize, sampling: Sampling) -> Result<Self> {
        if batch_size == 0 {
            return Err(Error::invalid("batch_size", 0, "at least 1"));
        }
        if n_terms == 0 {
            return Err(Error::invalid(
                "n_terms",
                0,
                "at least 1 term to sample from",
            ));
        }
        if sampling == Sampling::WithoutReplacement && batch_size > n_terms {
            return Err(Error::invalid(
                "batch_size",
                batch_size,
                format!("at most n_terms = {n_terms} when sampling without replacement"),
            ));
        }
        Ok(Self {
            inner,
            n_terms,
            batch_size,
            sampling,
        })
    }

    /// The wrapped finite sum.
    pub fn inner(&self) -> &F {
        &self.inner
    }

    /// The batch size b.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The sampling scheme.
    pub fn sampling(&self) -> Sampling {
        self.sampling
    }

    /// Draws one batch of indices into `out` (cleared first). Use it to evaluate several
    /// quantities on one shared batch.
    pub fn sample_indices<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut Vec<usize>) {
        out.clear();
        let n = self.n_terms;
        match self.sampling {
            Sampling::WithReplacement => {
                out.extend((0..self.batch_size).map(|_| rng.random_range(0..n)));
            }
            Sampling::WithoutReplacement => {
                out.extend(rand::seq::index::sample(rng, n, self.batch_size));
            }
        }
    }

    fn with_batch<R: Rng + ?Sized, T>(
        &self,
        rng: &mut R,
        f: impl FnOnce(&[usize]) -> Result<T>,
    ) -> Result<T> {
        INDEX_BUFFER.with_borrow_mut(|buf| {
            self.sample_indices(rng, buf);
            f(buf)
        })
    }
}

impl<F: FiniteSum> Dimension for Minibatch<F> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
}

impl<F: FiniteSum> StochasticObjective for Minibatch<F> {
    fn stochastic_value<R: Rng + ?Sized>(&self, x: &DVector<f64>, rng: &mut R) -> Result<f64> {
        self.with_batch(rng, |b| self.inner.batch_value(x, b))
    }
    fn samples_per_call(&self) -> usize {
        self.batch_size
    }
}

impl<F: FiniteSum> StochasticGradient for Minibatch<F> {
    fn stochastic_gradient_into<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.with_batch(rng, |b| self.inner.batch_gradient_into(x, b, out))
    }
    fn samples_per_call(&self) -> usize {
        self.batch_size
    }
}

impl<F: FiniteSumHvp> StochasticHvp for Minibatch<F> {
    fn stochastic_hvp_into<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        v: &DVector<f64>,
        rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.with_batch(rng, |b| self.inner.batch_hvp_into(x, v, b, out))
    }
    fn samples_per_call(&self) -> usize {
        self.batch_size
    }
}

impl<F: TwoBlockFiniteSum> TwoBlock for Minibatch<F> {
    fn dim_x(&self) -> usize {
        self.inner.dim_x()
    }
    fn dim_y(&self) -> usize {
        self.inner.dim_y()
    }
}

impl<F: TwoBlockFiniteSum> StochasticPartialGradients for Minibatch<F> {
    fn stochastic_grad_x_into<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.with_batch(rng, |b| self.inner.batch_grad_x_into(x, y, b, out))
    }
    fn stochastic_grad_y_into<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.with_batch(rng, |b| self.inner.batch_grad_y_into(x, y, b, out))
    }
    /// Both partial gradients on **one** shared minibatch.
    fn stochastic_grads_into<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        rng: &mut R,
        out_x: &mut DVector<f64>,
        out_y: &mut DVector<f64>,
    ) -> Result<()> {
        self.with_batch(rng, |b| {
            self.inner.batch_grad_x_into(x, y, b, out_x)?;
            self.inner.batch_grad_y_into(x, y, b, out_y)
        })
    }
    fn samples_per_call(&self) -> usize {
        self.batch_size
    }
    fn samples_per_grads_call(&self) -> usize {
        self.batch_size
    }
}

impl<F: TwoBlockFiniteSumHvp> StochasticPartialHvps for Minibatch<F> {
    fn stochastic_hvp_yy_into<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.with_batch(rng, |b| self.inner.batch_hvp_yy_into(x, y, v, b, out))
    }
    fn stochastic_hvp_xy_into<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.with_batch(rng, |b| self.inner.batch_hvp_xy_into(x, y, v, b, out))
    }
    fn samples_per_call(&self) -> usize {
        self.batch_size
    }
}
