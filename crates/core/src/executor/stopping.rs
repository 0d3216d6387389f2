//! Stopping rules.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{CountKind, Error, OracleCounts, Result};

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StopReason {
    /// The iteration limit was reached.
    MaxIterations,
    /// The oracle budget was spent (checked before each iteration, so the last iteration may
    /// overshoot it by one iteration's calls; see [`Solver`](super::Solver) on long phases).
    OracleBudget,
    /// The solver's residual fell to the tolerance.
    Tolerance,
    /// The wall-time limit passed. Runs stopped this way are not reproducible.
    MaxTime,
}

/// The stopping rules of a run; the first one to fire stops it.
///
/// Every run ends: [`validate`](Self::validate) requires at least one rule that is sure to
/// fire or to be detected as stuck (`max_iters`, `max_time`, or a `budget`); a tolerance alone
/// is rejected, since a solver may have no residual or never reach it. A budget without
/// `max_iters` or `max_time` stops the run with [`Error::Stalled`](crate::Error::Stalled) when
/// its count does not move during a step (for instance `Samples` on an analytic oracle that
/// draws nothing, or `Calls(Hvp)` on a solver that never calls one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Stopping {
    /// Stop after this many iterations.
    pub max_iters: Option<u64>,
    /// Stop once this tally reaches the limit.
    pub budget: Option<(CountKind, u64)>,
    /// Stop once the solver's residual is at most this.
    pub tolerance: Option<f64>,
    /// Stop after this much wall time.
    pub max_time: Option<Duration>,
}

impl Stopping {
    /// No rules yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stop after `n` iterations.
    #[must_use]
    pub fn max_iters(mut self, n: u64) -> Self {
        self.max_iters = Some(n);
        self
    }

    /// Stop once `kind` reaches `limit` calls.
    #[must_use]
    pub fn budget(mut self, kind: CountKind, limit: u64) -> Self {
        self.budget = Some((kind, limit));
        self
    }

    /// Stop once the solver's residual is at most `tol`.
    #[must_use]
    pub fn tolerance(mut self, tol: f64) -> Self {
        self.tolerance = Some(tol);
        self
    }

    /// Stop after `d` of wall time.
    #[must_use]
    pub fn max_time(mut self, d: Duration) -> Self {
        self.max_time = Some(d);
        self
    }

    /// Checks that a rule that ends every run is set (`max_iters`, `budget` or `max_time`) and
    /// the tolerance is a non-negative number.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] otherwise.
    pub fn validate(&self) -> Result<()> {
        if self.max_iters.is_none() && self.budget.is_none() && self.max_time.is_none() {
            let value = if self.tolerance.is_some() {
                "a tolerance alone"
            } else {
                "no rule"
            };
            return Err(Error::invalid(
                "stopping",
                value,
                "at least one of max_iters, budget or max_time, so that the run ends even when \
                 the solver has no residual or cannot reach the tolerance",
            ));
        }
        if let Some(t) = self.tolerance
            && !(t.is_finite() && t >= 0.0)
        {
            return Err(Error::invalid("tolerance", t, "a finite number >= 0"));
        }
        Ok(())
    }

    /// The rule that fires at this point of a run, if any (iterations first, then budget,
    /// tolerance, time).
    pub fn check(
        &self,
        iter: u64,
        counts: &OracleCounts,
        residual: Option<f64>,
        elapsed: Duration,
    ) -> Option<StopReason> {
        if self.max_iters.is_some_and(|n| iter >= n) {
            return Some(StopReason::MaxIterations);
        }
        if self
            .budget
            .is_some_and(|(kind, limit)| counts.get(kind) >= limit)
        {
            return Some(StopReason::OracleBudget);
        }
        if let (Some(tol), Some(r)) = (self.tolerance, residual)
            && r <= tol
        {
            return Some(StopReason::Tolerance);
        }
        if self.max_time.is_some_and(|d| elapsed >= d) {
            return Some(StopReason::MaxTime);
        }
        None
    }
}
