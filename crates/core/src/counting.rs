//! Oracle-call accounting.
//!
//! The papers behind lisse compare methods per oracle call, not per iteration: BO-REP against
//! StocBiO counts gradient and Hessian-vector products, optimistic online methods count one
//! gradient per round. Wrap an oracle in [`Counted`] and every call through it is tallied in
//! thread-safe counters, so rayon code may share it by reference.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use nalgebra::DVector;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::{
    Dimension, FiniteSum, FiniteSumHvp, Gradient, Hvp, Objective, PartialGradients, PartialHvps,
    Result, StochasticGradient, StochasticHvp, StochasticObjective, StochasticPartialGradients,
    StochasticPartialHvps, TwoBlock, TwoBlockFiniteSum, TwoBlockFiniteSumHvp, TwoBlockObjective,
};

/// Tallies of oracle calls, by kind.
///
/// `samples` counts data points read: a minibatch of 64 counts 64, a full-batch call over n
/// samples counts n (see [`Dimension::full_batch_size`]), an analytic oracle counts 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OracleCounts {
    /// Function values (deterministic, stochastic or minibatch).
    pub values: u64,
    /// Gradients, including each partial gradient ∇ₓ or ∇ᵧ.
    pub gradients: u64,
    /// Hessian-vector products ∇²f·v and ∇²ᵧᵧg·v.
    pub hvps: u64,
    /// Cross second-derivative products ∇²ₓᵧg·v.
    pub cross_hvps: u64,
    /// Data points drawn.
    pub samples: u64,
}

impl OracleCounts {
    /// Oracle calls of every kind: values + gradients + HVPs + cross products.
    pub fn total(&self) -> u64 {
        self.values + self.gradients + self.hvps + self.cross_hvps
    }

    /// The count of one kind.
    pub fn get(&self, kind: CountKind) -> u64 {
        match kind {
            CountKind::Values => self.values,
            CountKind::Gradients => self.gradients,
            CountKind::Hvps => self.hvps,
            CountKind::CrossHvps => self.cross_hvps,
            CountKind::Samples => self.samples,
            CountKind::Total => self.total(),
        }
    }
}

impl std::ops::Add for OracleCounts {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self {
            values: self.values + o.values,
            gradients: self.gradients + o.gradients,
            hvps: self.hvps + o.hvps,
            cross_hvps: self.cross_hvps + o.cross_hvps,
            samples: self.samples + o.samples,
        }
    }
}

/// Which tally a budget or a plot axis refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CountKind {
    /// [`OracleCounts::values`].
    Values,
    /// [`OracleCounts::gradients`].
    Gradients,
    /// [`OracleCounts::hvps`].
    Hvps,
    /// [`OracleCounts::cross_hvps`].
    CrossHvps,
    /// [`OracleCounts::samples`].
    Samples,
    /// [`OracleCounts::total`].
    Total,
}

/// Thread-safe counters behind [`Counted`]; cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    inner: Arc<[AtomicU64; 5]>,
}

impl CallCounter {
    /// Fresh counters at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads all tallies.
    pub fn snapshot(&self) -> OracleCounts {
        let c = &self.inner;
        OracleCounts {
            values: c[0].load(Ordering::Relaxed),
            gradients: c[1].load(Ordering::Relaxed),
            hvps: c[2].load(Ordering::Relaxed),
            cross_hvps: c[3].load(Ordering::Relaxed),
            samples: c[4].load(Ordering::Relaxed),
        }
    }

    /// Sets every tally back to zero.
    pub fn reset(&self) {
        for c in self.inner.iter() {
            c.store(0, Ordering::Relaxed);
        }
    }

    /// Adds `n` calls of `kind` and `samples` data points (for oracles that count themselves).
    pub fn add(&self, kind: CountKind, n: u64, samples: u64) {
        let slot = match kind {
            CountKind::Values => Some(0),
            CountKind::Gradients => Some(1),
            CountKind::Hvps => Some(2),
            CountKind::CrossHvps => Some(3),
            CountKind::Samples | CountKind::Total => None,
        };
        if let Some(s) = slot {
            self.inner[s].fetch_add(n, Ordering::Relaxed);
        }
        self.inner[4].fetch_add(samples, Ordering::Relaxed);
    }
}

/// An oracle whose calls are counted; implements every oracle trait its inner oracle implements.
///
/// ```
/// use lisse_core::{Counted, Dimension, Gradient, OracleExt, Result};
/// use nalgebra::{DVector, dvector};
/// struct Sq;
/// impl Dimension for Sq { fn dim(&self) -> usize { 2 } }
/// impl Gradient for Sq {
///     fn gradient_into(&self, x: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
///         out.copy_from(x);
///         Ok(())
///     }
/// }
/// let f = Counted::new(Sq);
/// let _ = f.gradient(&dvector![1.0, 2.0])?;
/// let _ = f.gradient(&dvector![3.0, 4.0])?;
/// assert_eq!(f.counts().gradients, 2);
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Counted<O> {
    inner: O,
    counter: CallCounter,
}

impl<O> Counted<O> {
    /// Wraps `inner` with fresh counters.
    pub fn new(inner: O) -> Self {
        Self {
            inner,
            counter: CallCounter::new(),
        }
    }

    /// Wraps `inner`, tallying into an existing (possibly shared) counter.
    pub fn with_counter(inner: O, counter: CallCounter) -> Self {
        Self { inner, counter }
    }

    /// The tallies so far.
    pub fn counts(&self) -> OracleCounts {
        self.counter.snapshot()
    }

    /// The shared counter, e.g. to hand to an executor budget.
    pub fn counter(&self) -> &CallCounter {
        &self.counter
    }

    /// The wrapped oracle.
    pub fn inner(&self) -> &O {
        &self.inner
    }

    /// Unwraps the oracle.
    pub fn into_inner(self) -> O {
        self.inner
    }

    fn tally(&self, kind: CountKind, samples: usize) {
        self.counter.add(kind, 1, samples as u64);
    }
}

impl<O: Dimension> Dimension for Counted<O> {
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn full_batch_size(&self) -> usize {
        self.inner.full_batch_size()
    }
}

impl<O: Objective> Objective for Counted<O> {
    fn value(&self, x: &DVector<f64>) -> Result<f64> {
        self.tally(CountKind::Values, self.inner.full_batch_size());
        self.inner.value(x)
    }
}

impl<O: Gradient> Gradient for Counted<O> {
    fn gradient_into(&self, x: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
        self.tally(CountKind::Gradients, self.inner.full_batch_size());
        self.inner.gradient_into(x, out)
    }
}

impl<O: Hvp> Hvp for Counted<O> {
    fn hvp_into(&self, x: &DVector<f64>, v: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
        self.tally(CountKind::Hvps, self.inner.full_batch_size());
        self.inner.hvp_into(x, v, out)
    }
}

impl<O: StochasticObjective> StochasticObjective for Counted<O> {
    fn stochastic_value<R: Rng + ?Sized>(&self, x: &DVector<f64>, rng: &mut R) -> Result<f64> {
        self.tally(CountKind::Values, self.inner.samples_per_call());
        self.inner.stochastic_value(x, rng)
    }
    fn samples_per_call(&self) -> usize {
        self.inner.samples_per_call()
    }
}

impl<O: StochasticGradient> StochasticGradient for Counted<O> {
    fn stochastic_gradient_into<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.tally(CountKind::Gradients, self.inner.samples_per_call());
        self.inner.stochastic_gradient_into(x, rng, out)
    }
    fn samples_per_call(&self) -> usize {
        self.inner.samples_per_call()
    }
}

impl<O: StochasticHvp> StochasticHvp for Counted<O> {
    fn stochastic_hvp_into<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        v: &DVector<f64>,
        rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.tally(CountKind::Hvps, self.inner.samples_per_call());
        self.inner.stochastic_hvp_into(x, v, rng, out)
    }
    fn samples_per_call(&self) -> usize {
        self.inner.samples_per_call()
    }
}

impl<O: FiniteSum> FiniteSum for Counted<O> {
    fn n_terms(&self) -> usize {
        self.inner.n_terms()
    }
    fn term_value(&self, x: &DVector<f64>, i: usize) -> Result<f64> {
        self.tally(CountKind::Values, 1);
        self.inner.term_value(x, i)
    }
    fn term_gradient_into(&self, x: &DVector<f64>, i: usize, out: &mut DVector<f64>) -> Result<()> {
        self.tally(CountKind::Gradients, 1);
        self.inner.term_gradient_into(x, i, out)
    }
    fn batch_value(&self, x: &DVector<f64>, batch: &[usize]) -> Result<f64> {
        self.tally(CountKind::Values, batch.len());
        self.inner.batch_value(x, batch)
    }
    fn batch_gradient_into(
        &self,
        x: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.tally(CountKind::Gradients, batch.len());
        self.inner.batch_gradient_into(x, batch, out)
    }
}

impl<O: FiniteSumHvp> FiniteSumHvp for Counted<O> {
    fn term_hvp_into(
        &self,
        x: &DVector<f64>,
        v: &DVector<f64>,
        i: usize,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.tally(CountKind::Hvps, 1);
        self.inner.term_hvp_into(x, v, i, out)
    }
    fn batch_hvp_into(
        &self,
        x: &DVector<f64>,
        v: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.tally(CountKind::Hvps, batch.len());
        self.inner.batch_hvp_into(x, v, batch, out)
    }
}

impl<O: TwoBlock> TwoBlock for Counted<O> {
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

impl<O: TwoBlockObjective> TwoBlockObjective for Counted<O> {
    fn value_xy(&self, x: &DVector<f64>, y: &DVector<f64>) -> Result<f64> {
        self.tally(CountKind::Values, self.inner.full_batch_size_xy());
        self.inner.value_xy(x, y)
    }
}

impl<O: PartialGradients> PartialGradients for Counted<O> {
    fn grad_x_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.tally(CountKind::Gradients, self.inner.full_batch_size_xy());
        self.inner.grad_x_into(x, y, out)
    }
    fn grad_y_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.tally(CountKind::Gradients, self.inner.full_batch_size_xy());
        self.inner.grad_y_into(x, y, out)
    }
}

impl<O: PartialHvps> PartialHvps for Counted<O> {
    fn hvp_yy_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.tally(CountKind::Hvps, self.inner.full_batch_size_xy());
        self.inner.hvp_yy_into(x, y, v, out)
    }
    fn hvp_xy_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.tally(CountKind::CrossHvps, self.inner.full_batch_size_xy());
        self.inner.hvp_xy_into(x, y, v, out)
    }
}

impl<O: StochasticPartialGradients> StochasticPartialGradients for Counted<O> {
    fn stochastic_grad_x_into<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.tally(CountKind::Gradients, self.inner.samples_per_call());
        self.inner.stochastic_grad_x_into(x, y, rng, out)
    }
    fn stochastic_grad_y_into<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.tally(CountKind::Gradients, self.inner.samples_per_call());
        self.inner.stochastic_grad_y_into(x, y, rng, out)
    }
    fn stochastic_grads_into<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        rng: &mut R,
        out_x: &mut DVector<f64>,
        out_y: &mut DVector<f64>,
    ) -> Result<()> {
        // Two gradient evaluations, on the samples the inner oracle draws for them.
        self.counter.add(
            CountKind::Gradients,
            2,
            self.inner.samples_per_grads_call() as u64,
        );
        self.inner.stochastic_grads_into(x, y, rng, out_x, out_y)
    }
    fn samples_per_call(&self) -> usize {
        self.inner.samples_per_call()
    }
    fn samples_per_grads_call(&self) -> usize {
        self.inner.samples_per_grads_call()
    }
}

impl<O: StochasticPartialHvps> StochasticPartialHvps for Counted<O> {
    fn stochastic_hvp_yy_into<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.tally(CountKind::Hvps, self.inner.samples_per_call());
        self.inner.stochastic_hvp_yy_into(x, y, v, rng, out)
    }
    fn stochastic_hvp_xy_into<R: Rng + ?Sized>(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.tally(CountKind::CrossHvps, self.inner.samples_per_call());
        self.inner.stochastic_hvp_xy_into(x, y, v, rng, out)
    }
    fn samples_per_call(&self) -> usize {
        self.inner.samples_per_call()
    }
}

impl<O: TwoBlockFiniteSum> TwoBlockFiniteSum for Counted<O> {
    fn n_terms_xy(&self) -> usize {
        self.inner.n_terms_xy()
    }
    fn batch_value_xy(&self, x: &DVector<f64>, y: &DVector<f64>, batch: &[usize]) -> Result<f64> {
        self.tally(CountKind::Values, batch.len());
        self.inner.batch_value_xy(x, y, batch)
    }
    fn batch_grad_x_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.tally(CountKind::Gradients, batch.len());
        self.inner.batch_grad_x_into(x, y, batch, out)
    }
    fn batch_grad_y_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.tally(CountKind::Gradients, batch.len());
        self.inner.batch_grad_y_into(x, y, batch, out)
    }
}

impl<O: TwoBlockFiniteSumHvp> TwoBlockFiniteSumHvp for Counted<O> {
    fn batch_hvp_yy_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.tally(CountKind::Hvps, batch.len());
        self.inner.batch_hvp_yy_into(x, y, v, batch, out)
    }
    fn batch_hvp_xy_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.tally(CountKind::CrossHvps, batch.len());
        self.inner.batch_hvp_xy_into(x, y, v, batch, out)
    }
}
