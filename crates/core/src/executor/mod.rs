//! One run loop for every iterative solver in lisse.
//!
//! A solver implements [`Solver`]: an optional [`Solver::init`], one iteration per
//! [`Solver::step`], its current point(s), and its oracle tallies. `Solver` is dyn-compatible,
//! so one harness can run a `Vec<Box<dyn Solver>>`; every random draw comes from the caller's
//! [`StreamRng`]. The [`Executor`] owns everything around the loop, so no solver
//! re-implements it:
//! - stopping rules ([`Stopping`]): iterations, an oracle budget of any
//!   [`CountKind`](crate::CountKind), a tolerance on the solver's residual, wall time; every run
//!   ends (see [`Stopping`] for the rules that guarantee it);
//! - divergence detection: a NaN or infinite iterate stops the run with
//!   [`Error::NonFinite`] naming the iteration;
//! - a serializable [`Trace`] recorded every `k` iterations and bounded in length, with user
//!   metrics that read the solver (its x, and for bilevel solvers its y) at record time;
//! - [`Observer`]s that see every record (progress bars, logs) — kept out of library code.
//!
//! ```
//! use lisse_core::{
//!     Counted, Dimension, Executor, Gradient, OracleCounts, Result, Solver, StopReason, Stopping,
//!     StreamRng,
//! };
//! use nalgebra::{DVector, dvector};
//!
//! /// f(x) = ½‖x‖², ∇f(x) = x.
//! struct Half;
//! impl Dimension for Half {
//!     fn dim(&self) -> usize { 2 }
//!     fn full_batch_size(&self) -> usize { 0 } // analytic: reads no data
//! }
//! impl Gradient for Half {
//!     fn gradient_into(&self, x: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
//!         out.copy_from(x);
//!         Ok(())
//!     }
//! }
//!
//! /// Gradient descent with a fixed step.
//! struct Gd<F> { f: Counted<F>, x: DVector<f64>, g: DVector<f64>, step: f64 }
//! impl<F: Gradient + Send> Solver for Gd<F> {
//!     fn name(&self) -> &str { "gd" }
//!     fn step(&mut self, _rng: &mut StreamRng) -> Result<()> {
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
//!     .metric("norm", |s: &dyn Solver| s.iterate().norm())
//!     .run(&mut gd, &mut lisse_core::RngStreams::new(0).stream(0))?;
//! assert_eq!(report.stop_reason, StopReason::Tolerance);
//! assert!(report.final_point.norm() < 1e-7);
//! assert_eq!(report.counts.calls.gradients, report.iterations);
//! # Ok::<(), lisse_core::Error>(())
//! ```

mod observer;
mod stopping;
mod trace;

use std::time::Instant;

use nalgebra::DVector;

use crate::{Error, OracleCounts, Result, StreamRng};

pub use observer::Observer;
pub use stopping::{StopReason, Stopping};
pub use trace::{Report, Trace, TraceRecord};

/// An iterative method the [`Executor`] can drive. Dyn-compatible: a harness may hold a
/// `Vec<Box<dyn Solver>>`. `Send`, so that [`Executor::run`] can drive it on a rayon worker
/// thread (see there); a solver that keeps scratch in a `RefCell` stays `Send`.
///
/// The solver owns its problem (typically wrapped in [`Counted`](crate::Counted)), its iterate
/// and its buffers; it never owns a random generator: [`init`](Self::init) and each
/// [`step`](Self::step) receive the caller's stream.
///
/// # Budgets inside long phases
/// The executor checks its stopping rules between steps, so a run overshoots an oracle budget
/// by at most the calls of one step. A method with a long inner phase (BO-REP's N projected
/// SGD steps on y every I outer steps, a conjugate-gradient solve) should make one `step` one
/// inner iteration (a small state machine), so a budget can stop it inside the phase; a method
/// that runs a whole phase in one step documents that phase's cost as its overshoot.
pub trait Solver: Send {
    /// A short name for traces and plots (`"sgd"`, `"bo-rep"`).
    fn name(&self) -> &str;

    /// Runs once before the first step (and before the first trace record), with the run's
    /// generator: an initialization phase such as BO-REP's Epoch-SGD warm start. Its oracle
    /// calls count toward the run's budget. The default does nothing.
    ///
    /// # Errors
    /// Whatever the oracles report; the executor returns the error.
    fn init(&mut self, _rng: &mut StreamRng) -> Result<()> {
        Ok(())
    }

    /// Performs one iteration.
    ///
    /// # Errors
    /// Whatever the oracles report; the executor stops and returns the error.
    fn step(&mut self, rng: &mut StreamRng) -> Result<()>;

    /// The current point (for bilevel solvers, the upper-level variable x).
    fn iterate(&self) -> &DVector<f64>;

    /// The lower-level variable y of a bilevel solver; `None` (the default) for single-level
    /// solvers. Metrics such as test accuracy in data hyper-cleaning read it.
    fn lower_iterate(&self) -> Option<&DVector<f64>> {
        None
    }

    /// Oracle draws and evaluations made so far.
    fn counts(&self) -> OracleCounts;

    /// A non-negative progress measure for the tolerance rule (a gradient norm, a step length);
    /// `None` when the solver has none, in which case the tolerance rule never fires.
    fn residual(&self) -> Option<f64> {
        None
    }
}

/// A metric evaluated on the solver at each record.
type Metric<'a> = (String, Box<dyn FnMut(&dyn Solver) -> f64 + Send + 'a>);

/// Records a bounded trace keeps by default (see [`Executor::max_records`]).
pub const DEFAULT_MAX_RECORDS: usize = 10_000;

/// The run loop: stopping rules, trace, metrics and observers around a [`Solver`].
pub struct Executor<'a> {
    stopping: Stopping,
    record_every: u64,
    max_records: usize,
    metrics: Vec<Metric<'a>>,
    observers: Vec<Box<dyn Observer + Send + 'a>>,
}

impl std::fmt::Debug for Executor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("stopping", &self.stopping)
            .field("record_every", &self.record_every)
            .field("max_records", &self.max_records)
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
    /// An executor with the given stopping rules, recording every iteration into a trace of at
    /// most [`DEFAULT_MAX_RECORDS`] records.
    pub fn new(stopping: Stopping) -> Self {
        Self {
            stopping,
            record_every: 1,
            max_records: DEFAULT_MAX_RECORDS,
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

    /// Bounds the trace to `n` records (at least 2; [`DEFAULT_MAX_RECORDS`] by default). When
    /// the trace is full, every other record is dropped (the first and the last recorded are
    /// kept) and the recording interval doubles, so a long run keeps an evenly thinned trace
    /// of between n/2 and n records, and memory stays bounded however long the run.
    /// Observers still see every record at the interval in force when it is made.
    #[must_use]
    pub fn max_records(mut self, n: usize) -> Self {
        self.max_records = n;
        self
    }

    /// Adds a metric evaluated on the solver at each record (e.g. test accuracy from the
    /// iterate, or from [`Solver::lower_iterate`] for a bilevel solver). Metrics should not go
    /// through the solver's counted oracles, so they cost no oracle calls.
    #[must_use]
    pub fn metric(
        mut self,
        name: impl Into<String>,
        f: impl FnMut(&dyn Solver) -> f64 + Send + 'a,
    ) -> Self {
        self.metrics.push((name.into(), Box::new(f)));
        self
    }

    /// Adds an observer that sees every record.
    #[must_use]
    pub fn observer(mut self, o: impl Observer + Send + 'a) -> Self {
        self.observers.push(Box::new(o));
        self
    }

    /// Runs `solver` (first [`Solver::init`], then steps) until a stopping rule fires.
    ///
    /// The loop runs on a worker thread of rayon's pool: on the calling thread if it is one
    /// (inside `ThreadPool::install`, a parallel iterator, another run), otherwise on a worker
    /// of the global pool while the caller waits (hence the `Send` bounds on solvers, metrics
    /// and observers). Parallel oracles then fork from a worker, which costs well under a
    /// microsecond, instead of handing every `rayon::join` or parallel iterator over from a
    /// foreign thread (about 14 µs per hand-over, measured on the project's 2-vCPU VM: more
    /// than a whole hyper-cleaning SOBA iteration). Results do not depend on the thread.
    ///
    /// Several runs at once share the pool's workers: start them from a parallel iterator, one
    /// executor each (`runs.par_iter_mut().map(|(s, rng)| Executor::new(stop).run(s, rng))`),
    /// not from threads of your own, which would each wait for a free worker.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when the stopping rules cannot end a run or a rule is
    /// invalid (see [`Stopping::validate`]); [`Error::Stalled`] when the only rules that could
    /// end the run are budgets whose count did not move during a step;
    /// [`Error::NonFinite`] when the iterate diverges; any error of the solver, with the
    /// iteration it happened at when it is a non-finite value.
    pub fn run(&mut self, solver: &mut dyn Solver, rng: &mut StreamRng) -> Result<Report> {
        // `scope` runs the loop here when this thread is a rayon worker already, and otherwise
        // on a worker of the global pool while this thread waits: one hand-over per run.
        rayon::scope(|_| self.run_loop(solver, rng))
    }

    /// The loop of [`run`](Self::run), on whatever thread calls it.
    fn run_loop(&mut self, solver: &mut dyn Solver, rng: &mut StreamRng) -> Result<Report> {
        self.stopping.validate()?;
        if self.max_records < 2 {
            return Err(Error::invalid(
                "max_records",
                self.max_records,
                "at least 2 (the first and the last record)",
            ));
        }
        let start = Instant::now();
        let mut trace = Trace::default();
        let mut every = self.record_every;
        let mut iter = 0u64;
        solver
            .init(rng)
            .map_err(|e| at_iteration(e, solver.name(), "init"))?;
        check_iterate(solver, "init")?;
        self.record(solver, iter, &start, &mut trace);
        let budget_only = self.stopping.max_iters.is_none() && self.stopping.max_time.is_none();
        let stop_reason = loop {
            let before = solver.counts();
            if let Some(reason) =
                self.stopping
                    .check(iter, &before, solver.residual(), start.elapsed())
            {
                break reason;
            }
            solver
                .step(rng)
                .map_err(|e| at_iteration(e, solver.name(), &format!("iteration {}", iter + 1)))?;
            iter += 1;
            check_iterate(solver, &format!("iteration {iter}"))?;
            if budget_only
                && let Some((kind, limit)) = self.stopping.budget
                && solver.counts().get(kind) == before.get(kind)
            {
                return Err(Error::Stalled {
                    rule: format!("budget({kind:?}, {limit})"),
                    reason: format!(
                        "{} did not change the count {kind:?} during iteration {iter}, so the \
                         budget may never be reached; budget a count this solver and oracle \
                         increase (e.g. Calls(Gradient) for an analytic oracle, whose \
                         evaluations read no samples), or add max_iters or max_time",
                        solver.name()
                    ),
                });
            }
            if every > 0 && iter.is_multiple_of(every) {
                self.record(solver, iter, &start, &mut trace);
                if trace.records.len() > self.max_records {
                    thin(&mut trace.records);
                    every *= 2;
                }
            }
        };
        if trace.records.last().is_none_or(|r| r.iter != iter) {
            self.record(solver, iter, &start, &mut trace);
            if trace.records.len() > self.max_records {
                let last = trace.records.pop();
                thin(&mut trace.records);
                trace.records.extend(last);
            }
        }
        let report = Report {
            solver: solver.name().to_owned(),
            stop_reason,
            iterations: iter,
            elapsed_s: start.elapsed().as_secs_f64(),
            counts: solver.counts(),
            final_point: solver.iterate().clone(),
            final_lower_point: solver.lower_iterate().cloned(),
            trace,
        };
        for o in &mut self.observers {
            o.finish(&report);
        }
        Ok(report)
    }

    fn record(&mut self, solver: &dyn Solver, iter: u64, start: &Instant, trace: &mut Trace) {
        let record = TraceRecord {
            iter,
            elapsed_s: start.elapsed().as_secs_f64(),
            counts: solver.counts(),
            residual: solver.residual(),
            metrics: self
                .metrics
                .iter_mut()
                .map(|(name, f)| (name.clone(), f(solver)))
                .collect(),
        };
        for o in &mut self.observers {
            o.observe(solver, &record);
        }
        trace.records.push(record);
    }
}

/// Keeps the records at even positions (the first included).
fn thin(records: &mut Vec<TraceRecord>) {
    let mut i = 0;
    records.retain(|_| {
        let keep = i % 2 == 0;
        i += 1;
        keep
    });
}

/// A non-finite iterate (x or y) is divergence: a typed error naming the iteration.
fn check_iterate(solver: &dyn Solver, when: &str) -> Result<()> {
    let blocks = [
        ("iterate", Some(solver.iterate())),
        ("lower iterate", solver.lower_iterate()),
    ];
    for (what, block) in blocks {
        if let Some(v) = block
            && let Some((index, &value)) = v.iter().enumerate().find(|(_, v)| !v.is_finite())
        {
            return Err(Error::NonFinite {
                what: format!(
                    "{what} of {} after {when} (the run diverged: lower the step size)",
                    solver.name()
                ),
                index,
                value,
            });
        }
    }
    Ok(())
}

/// Adds the solver and iteration to a non-finite error raised inside a step (a diverging
/// iterate is usually caught by a projection or an oracle before the executor sees it).
fn at_iteration(e: Error, name: &str, when: &str) -> Error {
    match e {
        Error::NonFinite { what, index, value } => Error::NonFinite {
            what: format!("{what} in {name} at {when} (the run diverged: lower the step size)"),
            index,
            value,
        },
        other => other,
    }
}
