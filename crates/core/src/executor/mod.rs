//! One run loop for every iterative solver in lisse.
//!
//! A solver implements [`Solver`]: one iteration per [`Solver::step`], its current point, and
//! its oracle tallies. The [`Executor`] owns everything around the loop, so no solver
//! re-implements it:
//! - stopping rules ([`Stopping`]): iterations, an oracle budget of any [`CountKind`](crate::CountKind), a
//!   tolerance on the solver's residual, wall time;
//! - divergence detection: a NaN or infinite iterate stops the run with
//!   [`Error::NonFinite`];
//! - a serializable [`Trace`] recorded every `k` iterations, with user metrics (test accuracy,
//!   distance to a known optimum) evaluated on the iterate at record time;
//! - [`Observer`]s that see every record (progress bars, logs) — kept out of library code.
//!
//! ```
//! use lisse_core::{
//!     Counted, Dimension, Executor, Gradient, OracleCounts, Result, Solver, StopReason, Stopping,
//! };
//! use nalgebra::{DVector, dvector};
//! use rand::Rng;
//!
//! /// f(x) = ½‖x‖², ∇f(x) = x.
//! struct Half;
//! impl Dimension for Half { fn dim(&self) -> usize { 2 } }
//! impl Gradient for Half {
//!     fn gradient_into(&self, x: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
//!         out.copy_from(x);
//!         Ok(())
//!     }
//! }
//!
//! /// Gradient descent with a fixed step.
//! struct Gd<F> { f: Counted<F>, x: DVector<f64>, g: DVector<f64>, step: f64 }
//! impl<F: Gradient> Solver for Gd<F> {
//!     fn name(&self) -> &str { "gd" }
//!     fn step<R: Rng + ?Sized>(&mut self, _rng: &mut R) -> Result<()> {
//!         self.f.gradient_into(&self.x, &mut self.g)?;
//!         self.x.axpy(-self.step, &self.g, 1.0);
//!         Ok(())
//!     }
//!     fn iterate(&self) -> &DVector<f64> { &self.x }
//!     fn counts(&self) -> OracleCounts { self.f.counts() }
//!     // ‖∇f(x)‖ = ‖x‖ for this f.
//!     fn residual(&self) -> Option<f64> { Some(self.x.norm()) }
//! }
//!
//! let mut gd = Gd { f: Counted::new(Half), x: dvector![1.0, -2.0], g: DVector::zeros(2), step: 0.5 };
//! let report = Executor::new(Stopping::new().max_iters(1000).tolerance(1e-8))
//!     .record_every(10)
//!     .metric("norm", |x| x.norm())
//!     .run(&mut gd, &mut lisse_core::RngStreams::new(0).stream(0))?;
//! assert_eq!(report.stop_reason, StopReason::Tolerance);
//! assert!(report.final_point.norm() < 1e-7);
//! assert_eq!(report.counts.gradients, report.iterations);
//! # Ok::<(), lisse_core::Error>(())
//! ```

mod observer;
mod stopping;
mod trace;

use std::time::Instant;

use nalgebra::DVector;
use rand::Rng;

use crate::{Error, OracleCounts, Result};

pub use observer::Observer;
pub use stopping::{StopReason, Stopping};
pub use trace::{Report, Trace, TraceRecord};

/// An iterative method the [`Executor`] can drive.
///
/// The solver owns its problem (typically wrapped in [`Counted`](crate::Counted)), its iterate
/// and its buffers; it never owns a random generator: each step receives the caller's.
pub trait Solver {
    /// A short name for traces and plots (`"sgd"`, `"bo-rep"`).
    fn name(&self) -> &str;

    /// Performs one iteration.
    ///
    /// # Errors
    /// Whatever the oracles report; the executor stops and returns the error.
    fn step<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Result<()>;

    /// The current point (for bilevel solvers, the upper-level variable x).
    fn iterate(&self) -> &DVector<f64>;

    /// Oracle calls made so far.
    fn counts(&self) -> OracleCounts;

    /// A non-negative progress measure for the tolerance rule (a gradient norm, a step length);
    /// `None` when the solver has none, in which case the tolerance rule never fires.
    fn residual(&self) -> Option<f64> {
        None
    }
}

type Metric<'a> = (String, Box<dyn FnMut(&DVector<f64>) -> f64 + 'a>);

/// The run loop: stopping rules, trace, metrics and observers around a [`Solver`].
pub struct Executor<'a> {
    stopping: Stopping,
    record_every: u64,
    metrics: Vec<Metric<'a>>,
    observers: Vec<Box<dyn Observer + 'a>>,
}

impl std::fmt::Debug for Executor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("stopping", &self.stopping)
            .field("record_every", &self.record_every)
            .field(
                "metrics",
                &self
                    .metrics
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("observers", &self.observers.len())
            .finish()
    }
}

impl<'a> Executor<'a> {
    /// An executor with the given stopping rules, recording every iteration.
    pub fn new(stopping: Stopping) -> Self {
        Self {
            stopping,
            record_every: 1,
            metrics: Vec::new(),
            observers: Vec::new(),
        }
    }

    /// Records the trace every `k` iterations (and always at the start and the end); `k = 0`
    /// records only the start and the end.
    #[must_use]
    pub fn record_every(mut self, k: u64) -> Self {
        self.record_every = k;
        self
    }

    /// Adds a metric evaluated on the iterate at each record (e.g. test accuracy). Metrics do
    /// not go through the solver's counted oracles, so they cost no oracle calls.
    #[must_use]
    pub fn metric(
        mut self,
        name: impl Into<String>,
        f: impl FnMut(&DVector<f64>) -> f64 + 'a,
    ) -> Self {
        self.metrics.push((name.into(), Box::new(f)));
        self
    }

    /// Adds an observer that sees every record.
    #[must_use]
    pub fn observer(mut self, o: impl Observer + 'a) -> Self {
        self.observers.push(Box::new(o));
        self
    }

    /// Runs `solver` until a stopping rule fires.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when no stopping rule is set or a rule is invalid;
    /// [`Error::NonFinite`] when the iterate diverges; any error of the solver.
    pub fn run<S: Solver + ?Sized, R: Rng + ?Sized>(
        &mut self,
        solver: &mut S,
        rng: &mut R,
    ) -> Result<Report> {
        self.stopping.validate()?;
        let start = Instant::now();
        let mut trace = Trace::default();
        let mut iter = 0u64;
        self.record(solver, iter, &start, &mut trace);
        let stop_reason = loop {
            if let Some(reason) =
                self.stopping
                    .check(iter, &solver.counts(), solver.residual(), start.elapsed())
            {
                break reason;
            }
            solver.step(rng)?;
            iter += 1;
            if let Some((index, &value)) = solver
                .iterate()
                .iter()
                .enumerate()
                .find(|(_, v)| !v.is_finite())
            {
                return Err(Error::NonFinite {
                    what: format!("iterate of {} after iteration {iter}", solver.name()),
                    index,
                    value,
                });
            }
            if self.record_every > 0 && iter.is_multiple_of(self.record_every) {
                self.record(solver, iter, &start, &mut trace);
            }
        };
        if trace.records.last().is_none_or(|r| r.iter != iter) {
            self.record(solver, iter, &start, &mut trace);
        }
        let report = Report {
            solver: solver.name().to_owned(),
            stop_reason,
            iterations: iter,
            elapsed_s: start.elapsed().as_secs_f64(),
            counts: solver.counts(),
            final_point: solver.iterate().clone(),
            trace,
        };
        for o in &mut self.observers {
            o.finish(&report);
        }
        Ok(report)
    }

    fn record<S: Solver + ?Sized>(
        &mut self,
        solver: &S,
        iter: u64,
        start: &Instant,
        trace: &mut Trace,
    ) {
        let x = solver.iterate();
        let record = TraceRecord {
            iter,
            elapsed_s: start.elapsed().as_secs_f64(),
            counts: solver.counts(),
            residual: solver.residual(),
            metrics: self
                .metrics
                .iter_mut()
                .map(|(name, f)| (name.clone(), f(x)))
                .collect(),
        };
        for o in &mut self.observers {
            o.observe(solver.name(), &record);
        }
        trace.records.push(record);
    }
}
