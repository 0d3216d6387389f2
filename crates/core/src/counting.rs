//! Oracle-call accounting: one meaning for each count.
//!
//! The papers behind lisse compare methods per oracle call and per sample, not per iteration.
//! Wrap an oracle in [`Counted`] and every call through it is tallied in thread-safe counters,
//! so rayon code may share it by reference. The definitions, used by every plot and budget:
//!
//! - **Samples drawn** ([`OracleCounts::samples`]), counted at the draw
//!   ([`Sampler::draw_into`]): a batch of b indices counts b, one noise vector counts 1,
//!   however many quantities are then evaluated on it. [`OracleCounts::draws`] counts the draws.
//! - **Evaluations, per kind** ([`OracleKind`]: value, gradient, HVP, cross-HVP, ∇ₓ, ∇ᵧ), in
//!   two tallies: [`OracleCounts::calls`] (one per call) and [`OracleCounts::points`] (each
//!   call weighted by the data points it reads: b for a minibatch of b, 1 for one term, n for
//!   a full-batch call over n samples ([`Dimension::full_batch_size`]), 0 for an analytic
//!   function; for a stochastic oracle, [`Sampler::points_read`] of the sample).
//!
//! So SOBA drawing one batch of b for g and one for f per iteration counts 2b samples drawn and
//! b points each for ∇ᵧg, ∇²ᵧᵧg·v, ∇²ₓᵧg·v, ∇ₓf and ∇ᵧf; a full-batch method drawing nothing
//! counts its data passes in `points`. Budgets ([`CountKind`]) and plot axes name which one
//! they use: `Samples` for "samples drawn", `TotalPoints` for "samples touched".
//!
//! [`Counted`] forwards every oracle trait; wrap the *stochastic* oracle (for instance a
//! minibatch oracle) so that draws and evaluations both go through it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use nalgebra::DVector;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::{
    Dimension, FiniteSum, FiniteSumHvp, Gradient, Hvp, Objective, PartialGradients, PartialHvps,
    Result, Sampler, StochasticGradient, StochasticHvp, StochasticObjective,
    StochasticPartialGradients, StochasticPartialHvps, TwoBlock, TwoBlockFiniteSum,
    TwoBlockFiniteSumHvp, TwoBlockObjective,
};

/// The kinds of oracle evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum OracleKind {
    /// f(x), h(x, y), or their stochastic and minibatch versions.
    Value,
    /// ∇f(x) of a single-block oracle.
    Gradient,
    /// ∇²f(x)·v or ∇²ᵧᵧh(x, y)·v.
    Hvp,
    /// ∇²ₓᵧh(x, y)·v.
    CrossHvp,
    /// ∇ₓh(x, y).
    GradX,
    /// ∇ᵧh(x, y).
    GradY,
}

impl OracleKind {
    /// Every kind, in the order of [`KindCounts`]' fields.
    pub const ALL: [OracleKind; 6] = [
        OracleKind::Value,
        OracleKind::Gradient,
        OracleKind::Hvp,
        OracleKind::CrossHvp,
        OracleKind::GradX,
        OracleKind::GradY,
    ];

    fn slot(self) -> usize {
        self as usize
    }
}

/// One tally per [`OracleKind`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KindCounts {
    /// [`OracleKind::Value`].
    pub values: u64,
    /// [`OracleKind::Gradient`].
    pub gradients: u64,
    /// [`OracleKind::Hvp`].
    pub hvps: u64,
    /// [`OracleKind::CrossHvp`].
    pub cross_hvps: u64,
    /// [`OracleKind::GradX`].
    pub grads_x: u64,
    /// [`OracleKind::GradY`].
    pub grads_y: u64,
}

impl KindCounts {
    /// The tally of one kind.
    pub fn get(&self, kind: OracleKind) -> u64 {
        match kind {
            OracleKind::Value => self.values,
            OracleKind::Gradient => self.gradients,
            OracleKind::Hvp => self.hvps,
            OracleKind::CrossHvp => self.cross_hvps,
            OracleKind::GradX => self.grads_x,
            OracleKind::GradY => self.grads_y,
        }
    }

    /// The sum over all kinds.
    pub fn total(&self) -> u64 {
        OracleKind::ALL.iter().map(|&k| self.get(k)).sum()
    }
}

impl std::ops::Add for KindCounts {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self {
            values: self.values + o.values,
            gradients: self.gradients + o.gradients,
            hvps: self.hvps + o.hvps,
            cross_hvps: self.cross_hvps + o.cross_hvps,
            grads_x: self.grads_x + o.grads_x,
            grads_y: self.grads_y + o.grads_y,
        }
    }
}

/// Tallies of draws and evaluations (see the [module docs](self) for the definitions).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OracleCounts {
    /// Samples drawn: the data points of every drawn sample (b per minibatch draw).
    pub samples: u64,
    /// Number of draws.
    pub draws: u64,
    /// Evaluations per kind, one per call.
    pub calls: KindCounts,
    /// Evaluations per kind, each weighted by the data points it reads.
    pub points: KindCounts,
}

impl OracleCounts {
    /// The count a budget or a plot axis refers to.
    pub fn get(&self, kind: CountKind) -> u64 {
        match kind {
            CountKind::Samples => self.samples,
            CountKind::Draws => self.draws,
            CountKind::Calls(k) => self.calls.get(k),
            CountKind::Points(k) => self.points.get(k),
            CountKind::TotalCalls => self.calls.total(),
            CountKind::TotalPoints => self.points.total(),
        }
    }
}

impl std::ops::Add for OracleCounts {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self {
            samples: self.samples + o.samples,
            draws: self.draws + o.draws,
            calls: self.calls + o.calls,
            points: self.points + o.points,
        }
    }
}

/// Which tally a budget or a plot axis refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CountKind {
    /// [`OracleCounts::samples`]: samples drawn.
    Samples,
    /// [`OracleCounts::draws`].
    Draws,
    /// Calls of one kind.
    Calls(OracleKind),
    /// Points read by evaluations of one kind.
    Points(OracleKind),
    /// Calls of every kind.
    TotalCalls,
    /// Points read by evaluations of every kind ("samples touched").
    TotalPoints,
}

const SAMPLES: usize = 12;
const DRAWS: usize = 13;

/// Thread-safe counters behind [`Counted`]; cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    // 0..6 calls per kind, 6..12 points per kind, then samples and draws.
    inner: Arc<[AtomicU64; 14]>,
}

impl CallCounter {
    /// Fresh counters at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads all tallies.
    pub fn snapshot(&self) -> OracleCounts {
        let c = &self.inner;
        let load = |i: usize| c[i].load(Ordering::Relaxed);
        let kinds = |o: usize| KindCounts {
            values: load(o),
            gradients: load(o + 1),
            hvps: load(o + 2),
            cross_hvps: load(o + 3),
            grads_x: load(o + 4),
            grads_y: load(o + 5),
        };
        OracleCounts {
            samples: load(SAMPLES),
            draws: load(DRAWS),
            calls: kinds(0),
            points: kinds(6),
        }
    }

    /// Sets every tally back to zero.
    pub fn reset(&self) {
        for c in self.inner.iter() {
            c.store(0, Ordering::Relaxed);
        }
    }

    /// Adds `calls` evaluations of `kind` reading `points` data points in all (for oracles
    /// that count themselves).
    pub fn add_evaluations(&self, kind: OracleKind, calls: u64, points: u64) {
        self.inner[kind.slot()].fetch_add(calls, Ordering::Relaxed);
        self.inner[6 + kind.slot()].fetch_add(points, Ordering::Relaxed);
    }

    /// Adds `draws` draws holding `samples` data points in all.
    pub fn add_draws(&self, draws: u64, samples: u64) {
        self.inner[DRAWS].fetch_add(draws, Ordering::Relaxed);
        self.inner[SAMPLES].fetch_add(samples, Ordering::Relaxed);
    }
}

/// An oracle whose draws and evaluations are counted; implements every oracle trait its inner
/// oracle implements.
///
/// ```
/// use lisse_core::{Counted, Dimension, Gradient, OracleExt, Result};
/// use nalgebra::{DVector, dvector};
/// struct Sq;
/// impl Dimension for Sq {
///     fn dim(&self) -> usize { 2 }
///     fn full_batch_size(&self) -> usize { 0 } // analytic: reads no data
/// }
/// impl Gradient for Sq {
///     fn gradient_into(&self, x: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
///         out.copy_from(x);
///         Ok(())
///     }
/// }
/// let f = Counted::new(Sq);
/// let _ = f.gradient(&dvector![1.0, 2.0])?;
/// let _ = f.gradient(&dvector![3.0, 4.0])?;
/// assert_eq!(f.counts().calls.gradients, 2);
/// assert_eq!(f.counts().points.gradients, 0); // an analytic function reads no data
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

    /// The wrapped oracle, for its configuration. Calls made through it are **not** counted.
    pub fn inner(&self) -> &O {
        &self.inner
    }

    /// Unwraps the oracle.
    pub fn into_inner(self) -> O {
        self.inner
    }

    fn tally(&self, kind: OracleKind, points: usize) {
        self.counter.add_evaluations(kind, 1, points as u64);
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
        self.tally(OracleKind::Value, self.inner.full_batch_size());
        self.inner.value(x)
    }
}

impl<O: Gradient> Gradient for Counted<O> {
    fn gradient_into(&self, x: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
        self.tally(OracleKind::Gradient, self.inner.full_batch_size());
        self.inner.gradient_into(x, out)
    }
}

impl<O: Hvp> Hvp for Counted<O> {
    fn hvp_into(&self, x: &DVector<f64>, v: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
        self.tally(OracleKind::Hvp, self.inner.full_batch_size());
        self.inner.hvp_into(x, v, out)
    }
}

impl<O: Sampler> Sampler for Counted<O> {
    type Sample = O::Sample;
    fn empty_sample(&self) -> O::Sample {
        self.inner.empty_sample()
    }
    fn draw_into<R: Rng + ?Sized>(&self, rng: &mut R, sample: &mut O::Sample) -> Result<()> {
        self.inner.draw_into(rng, sample)?;
        self.counter
            .add_draws(1, self.inner.samples_per_draw() as u64);
        Ok(())
    }
    fn samples_per_draw(&self) -> usize {
        self.inner.samples_per_draw()
    }
    fn points_read(&self, sample: &O::Sample) -> usize {
        self.inner.points_read(sample)
    }
}

impl<O: StochasticObjective> StochasticObjective for Counted<O> {
    fn value_at(&self, x: &DVector<f64>, sample: &O::Sample) -> Result<f64> {
        self.tally(OracleKind::Value, self.inner.points_read(sample));
        self.inner.value_at(x, sample)
    }
}

impl<O: StochasticGradient> StochasticGradient for Counted<O> {
    fn gradient_at_into(
        &self,
        x: &DVector<f64>,
        sample: &O::Sample,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.tally(OracleKind::Gradient, self.inner.points_read(sample));
        self.inner.gradient_at_into(x, sample, out)
    }
}

impl<O: StochasticHvp> StochasticHvp for Counted<O> {
    fn hvp_at_into(
        &self,
        x: &DVector<f64>,
        v: &DVector<f64>,
        sample: &O::Sample,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.tally(OracleKind::Hvp, self.inner.points_read(sample));
        self.inner.hvp_at_into(x, v, sample, out)
    }
}

impl<O: StochasticPartialGradients> StochasticPartialGradients for Counted<O> {
    fn grad_x_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        sample: &O::Sample,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.tally(OracleKind::GradX, self.inner.points_read(sample));
        self.inner.grad_x_at_into(x, y, sample, out)
    }
    fn grad_y_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        sample: &O::Sample,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.tally(OracleKind::GradY, self.inner.points_read(sample));
        self.inner.grad_y_at_into(x, y, sample, out)
    }
}

impl<O: StochasticPartialHvps> StochasticPartialHvps for Counted<O> {
    fn hvp_yy_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        sample: &O::Sample,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.tally(OracleKind::Hvp, self.inner.points_read(sample));
        self.inner.hvp_yy_at_into(x, y, v, sample, out)
    }
    fn hvp_xy_at_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        sample: &O::Sample,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.tally(OracleKind::CrossHvp, self.inner.points_read(sample));
        self.inner.hvp_xy_at_into(x, y, v, sample, out)
    }
}

impl<O: FiniteSum> FiniteSum for Counted<O> {
    fn n_terms(&self) -> usize {
        self.inner.n_terms()
    }
    fn term_value(&self, x: &DVector<f64>, i: usize) -> Result<f64> {
        self.tally(OracleKind::Value, 1);
        self.inner.term_value(x, i)
    }
    fn term_gradient_into(&self, x: &DVector<f64>, i: usize, out: &mut DVector<f64>) -> Result<()> {
        self.tally(OracleKind::Gradient, 1);
        self.inner.term_gradient_into(x, i, out)
    }
    fn batch_value(&self, x: &DVector<f64>, batch: &[usize]) -> Result<f64> {
        self.tally(OracleKind::Value, batch.len());
        self.inner.batch_value(x, batch)
    }
    fn batch_gradient_into(
        &self,
        x: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.tally(OracleKind::Gradient, batch.len());
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
        self.tally(OracleKind::Hvp, 1);
        self.inner.term_hvp_into(x, v, i, out)
    }
    fn batch_hvp_into(
        &self,
        x: &DVector<f64>,
        v: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.tally(OracleKind::Hvp, batch.len());
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
        self.tally(OracleKind::Value, self.inner.full_batch_size_xy());
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
        self.tally(OracleKind::GradX, self.inner.full_batch_size_xy());
        self.inner.grad_x_into(x, y, out)
    }
    fn grad_y_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.tally(OracleKind::GradY, self.inner.full_batch_size_xy());
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
        self.tally(OracleKind::Hvp, self.inner.full_batch_size_xy());
        self.inner.hvp_yy_into(x, y, v, out)
    }
    fn hvp_xy_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.tally(OracleKind::CrossHvp, self.inner.full_batch_size_xy());
        self.inner.hvp_xy_into(x, y, v, out)
    }
}

impl<O: TwoBlockFiniteSum> TwoBlockFiniteSum for Counted<O> {
    fn n_terms_xy(&self) -> usize {
        self.inner.n_terms_xy()
    }
    fn batch_value_xy(&self, x: &DVector<f64>, y: &DVector<f64>, batch: &[usize]) -> Result<f64> {
        self.tally(OracleKind::Value, batch.len());
        self.inner.batch_value_xy(x, y, batch)
    }
    fn batch_grad_x_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.tally(OracleKind::GradX, batch.len());
        self.inner.batch_grad_x_into(x, y, batch, out)
    }
    fn batch_grad_y_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.tally(OracleKind::GradY, batch.len());
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
        self.tally(OracleKind::Hvp, batch.len());
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
        self.tally(OracleKind::CrossHvp, batch.len());
        self.inner.batch_hvp_xy_into(x, y, v, batch, out)
    }
}
