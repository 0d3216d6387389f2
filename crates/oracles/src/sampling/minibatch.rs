//! Minibatch sampling over a finite sum: a batch of indices is a sample value.

use lisse_core::{
    Dimension, Error, FiniteSum, FiniteSumHvp, Result, Sampler, StochasticGradient, StochasticHvp,
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

/// A drawn minibatch: the term indices, plus the scratch its sampler reuses so that redrawing
/// into it allocates nothing.
///
/// Build one to evaluate chosen indices with [`Batch::from_indices`] (a SAGA memory update,
/// a full pass); draw one with [`BatchSampler`] or a [`Minibatch`] oracle.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Batch {
    indices: Vec<usize>,
    /// The identity permutation of 0..n, kept between draws without replacement (allocated at
    /// the first such draw, then restored after each).
    permutation: Vec<usize>,
    /// The swap partners of the last draw without replacement, to undo it.
    swaps: Vec<usize>,
}

impl Batch {
    /// A batch of the given indices (validated when evaluated).
    pub fn from_indices(indices: Vec<usize>) -> Self {
        Self {
            indices,
            ..Self::default()
        }
    }

    /// The term indices, in draw order (repeats possible with replacement).
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }

    /// Number of indices b.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Whether the batch holds no index (only before the first draw).
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }
}

/// Draws batches of `batch_size` indices of 0..n, with or without replacement: a sampler value
/// of its own, usable without an oracle (to draw indices for a per-term memory) and inside
/// [`Minibatch`].
///
/// Each draw is independent of the earlier ones and costs O(b): with replacement b uniform
/// indices; without replacement b steps of a partial Fisher–Yates shuffle (Knuth, *TAOCP*
/// vol. 2, Algorithm 3.4.2P) on a permutation of 0..n kept in the [`Batch`] and restored
/// after each draw by undoing the b swaps, so the result depends only on the RNG (O(n) once,
/// at the first draw into a buffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BatchSampler {
    n_terms: usize,
    batch_size: usize,
    sampling: Sampling,
}

impl BatchSampler {
    /// Batches of `batch_size` indices of `0..n_terms`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `batch_size` or `n_terms` is 0, or `batch_size`
    /// exceeds `n_terms` without replacement.
    pub fn new(n_terms: usize, batch_size: usize, sampling: Sampling) -> Result<Self> {
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
            n_terms,
            batch_size,
            sampling,
        })
    }

    /// The number of terms n.
    pub fn n_terms(&self) -> usize {
        self.n_terms
    }

    /// The batch size b.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The sampling scheme.
    pub fn sampling(&self) -> Sampling {
        self.sampling
    }
}

impl Sampler for BatchSampler {
    type Sample = Batch;

    fn empty_sample(&self) -> Batch {
        Batch {
            indices: Vec::with_capacity(self.batch_size),
            permutation: Vec::new(),
            swaps: Vec::with_capacity(match self.sampling {
                Sampling::WithReplacement => 0,
                Sampling::WithoutReplacement => self.batch_size,
            }),
        }
    }

    fn draw_into<R: Rng + ?Sized>(&self, rng: &mut R, sample: &mut Batch) -> Result<()> {
        let (n, b) = (self.n_terms, self.batch_size);
        sample.indices.clear();
        match self.sampling {
            Sampling::WithReplacement => {
                sample
                    .indices
                    .extend((0..b).map(|_| rng.random_range(0..n)));
            }
            Sampling::WithoutReplacement => {
                let perm = &mut sample.permutation;
                if perm.len() != n {
                    perm.clear();
                    perm.extend(0..n);
                }
                sample.swaps.clear();
                for j in 0..b {
                    let k = rng.random_range(j..n);
                    perm.swap(j, k);
                    sample.swaps.push(k);
                }
                sample.indices.extend_from_slice(&perm[..b]);
                for (j, &k) in sample.swaps.iter().enumerate().rev() {
                    perm.swap(j, k);
                }
            }
        }
        Ok(())
    }

    fn samples_per_draw(&self) -> usize {
        self.batch_size
    }

    fn points_read(&self, sample: &Batch) -> usize {
        sample.len()
    }
}

/// A stochastic oracle over a [`FiniteSum`] (built with [`Minibatch::new`]) or a
/// [`TwoBlockFiniteSum`] (built with [`Minibatch::two_block`]): its samples are [`Batch`]es
/// drawn by a [`BatchSampler`], and it evaluates the minibatch means at a given batch.
///
/// Draw a batch once, then evaluate any quantity at it, as often as needed, at any point
/// (∇ᵧg, ∇²ᵧᵧg·v, ∇²ₓᵧg·v on one batch; the gradient at x_t and x_{t−1}). Every draw is an
/// independent batch from the caller's RNG, as the convergence theory of stochastic methods
/// assumes (epoch-wise reshuffling is a different scheme). Nothing is kept in shared or
/// thread-local state, so calls nest freely inside rayon tasks.
///
/// ```
/// use lisse_core::{Dimension, FiniteSum, OracleExt, Result, RngStreams, Sampler};
/// use lisse_oracles::sampling::{Minibatch, Sampling};
/// use nalgebra::{DVector, dvector};
/// /// fᵢ(x) = ½(x − i)², a finite sum over i = 0..10 with minimizer 4.5.
/// struct Points;
/// impl Dimension for Points {
///     fn dim(&self) -> usize { 1 }
///     fn full_batch_size(&self) -> usize { 10 } // the 10 terms a full-batch call reads
/// }
/// impl FiniteSum for Points {
///     fn n_terms(&self) -> usize { 10 }
///     fn term_value(&self, x: &DVector<f64>, i: usize) -> Result<f64> { Ok(0.5 * (x[0] - i as f64).powi(2)) }
///     fn term_gradient_into(&self, x: &DVector<f64>, i: usize, out: &mut DVector<f64>) -> Result<()> {
///         out[0] = x[0] - i as f64;
///         Ok(())
///     }
/// }
/// let oracle = Minibatch::new(Points, 10, Sampling::WithoutReplacement)?;
/// let batch = oracle.draw(&mut RngStreams::new(1).stream(0))?;
/// // A batch of all 10 distinct terms is the full gradient, at any point.
/// assert!((oracle.gradient_at(&dvector![0.0], &batch)?[0] + 4.5).abs() < 1e-12);
/// assert!((oracle.gradient_at(&dvector![1.0], &batch)?[0] + 3.5).abs() < 1e-12);
/// assert_eq!(oracle.samples_per_draw(), 10);
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Minibatch<F> {
    inner: F,
    sampler: BatchSampler,
}

impl<F: FiniteSum> Minibatch<F> {
    /// Minibatches of `batch_size` terms of the finite sum `inner`.
    ///
    /// # Errors
    /// As [`BatchSampler::new`].
    pub fn new(inner: F, batch_size: usize, sampling: Sampling) -> Result<Self> {
        let sampler = BatchSampler::new(inner.n_terms(), batch_size, sampling)?;
        Ok(Self { inner, sampler })
    }
}

impl<F: TwoBlockFiniteSum> Minibatch<F> {
    /// Minibatches of `batch_size` terms of the two-block finite sum `inner`, giving the
    /// stochastic two-block oracles a bilevel solver consumes.
    ///
    /// # Errors
    /// As [`BatchSampler::new`].
    pub fn two_block(inner: F, batch_size: usize, sampling: Sampling) -> Result<Self> {
        let sampler = BatchSampler::new(inner.n_terms_xy(), batch_size, sampling)?;
        Ok(Self { inner, sampler })
    }
}

impl<F> Minibatch<F> {
    /// The wrapped finite sum.
    pub fn inner(&self) -> &F {
        &self.inner
    }

    /// The batch sampler.
    pub fn sampler(&self) -> &BatchSampler {
        &self.sampler
    }

    /// The batch size b.
    pub fn batch_size(&self) -> usize {
        self.sampler.batch_size
    }

    /// The sampling scheme.
    pub fn sampling(&self) -> Sampling {
        self.sampler.sampling
    }
}

impl<F> Sampler for Minibatch<F> {
    type Sample = Batch;
    fn empty_sample(&self) -> Batch {
        self.sampler.empty_sample()
    }
    fn draw_into<R: Rng + ?Sized>(&self, rng: &mut R, sample: &mut Batch) -> Result<()> {
        self.sampler.draw_into(rng, sample)
    }
    fn samples_per_draw(&self) -> usize {
        self.sampler.batch_size
    }
    fn points_read(&self, sample: &Batch) -> usize {
        sample.len()
    }
}

impl<F: FiniteSum> Dimension for Minibatch<F> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn full_batch_size(&self) -> usize {
        self.inner.full_batch_size()
    }
}

impl<F: FiniteSum> StochasticObjective for Minibatch<F> {
    fn value_at(&self, x: &DVector<f64>, sample: &Batch) -> Result<f64> {
        self.inner.batch_value(x, sample.indices())
    }
}

impl<F: FiniteSum> StochasticGradient for Minibatch<F> {
    fn gradient_at_into(
        &self,
        x: &DVector<f64>,
        sample: &Batch,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.inner.batch_gradient_into(x, sample.indices(), out)
    }
}

impl<F: FiniteSumHvp> StochasticHvp for Minibatch<F> {
    fn hvp_at_into(
        &self,
        x: &DVector<f64>,
        v: &DVector<f64>,
        sample: &Batch,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.inner.batch_hvp_into(x, v, sample.indices(), out)
    }
}

impl<F: TwoBlockFiniteSum> TwoBlock for Minibatch<F> {
    fn dim_x(&self) -> usize {
        self.inner.dim_x()
    }
    fn dim_y(&self) -> usize {
        self.inner.dim_y()
    }
    fn full_batch_size_xy(&self) -> usize {
        self.inner.full_batch_size_xy()
    }
}

impl<F: TwoBlockFiniteSum> StochasticPartialGradients for Minibatch<F> {
    fn grad_x_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        sample: &Batch,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.inner.batch_grad_x_into(x, y, sample.indices(), out)
    }
    fn grad_y_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        sample: &Batch,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.inner.batch_grad_y_into(x, y, sample.indices(), out)
    }
}

impl<F: TwoBlockFiniteSumHvp> StochasticPartialHvps for Minibatch<F> {
    fn hvp_yy_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        sample: &Batch,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.inner.batch_hvp_yy_into(x, y, v, sample.indices(), out)
    }
    fn hvp_xy_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        sample: &Batch,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.inner.batch_hvp_xy_into(x, y, v, sample.indices(), out)
    }
}
