//! Regret accounting: static pseudo-regret and realized regret against the best fixed point,
//! dynamic regret against the per-round minimizers with their path length.
//!
//! With F_t = E f_t (reference notes §1.4):
//! - pseudo-regret Σ_t F_t(x_t) − min_u Σ_t F_t(u), the quantity the SEA bounds control in
//!   expectation;
//! - realized regret Σ_t f_t(x_t) − min_u Σ_t f_t(u);
//! - dynamic regret Σ_t F_t(x_t) − Σ_t F_t(u_t), u_t = argmin_X F_t, with path length
//!   P_T = Σ_{t≥2} ‖u_t − u_{t−1}‖.
//!
//! The minima are exact for the simulator's linear and quadratic losses (see
//! [`SeaEnvironment`](crate::env::SeaEnvironment)).
//!
//! Dynamic regret against a comparator sequence of the user's own ([`ComparatorPath`],
//! [`ComparatorFn`]) is tracked by [`DynamicRegretTracker`] and reported by
//! [`run_with_comparator`](crate::protocol::run_with_comparator).

use lisse_core::{Error, Result, check_dim, check_dim_hint, check_finite, check_finite_hint};
use nalgebra::DVector;
use serde::{Deserialize, Serialize};

use crate::env::{BestFixed, Evaluation, SeaStats};

/// Running sums of a learner's losses.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct RegretTracker {
    rounds: u64,
    loss: f64,
    expected_loss: f64,
    comparator_loss: f64,
    comparator_known: bool,
}

impl RegretTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self {
            comparator_known: true,
            ..Self::default()
        }
    }

    /// Adds one round's evaluation.
    pub fn record(&mut self, e: &Evaluation) {
        self.rounds += 1;
        self.loss += e.loss;
        self.expected_loss += e.expected_loss;
        match e.comparator_expected_loss {
            Some(c) => self.comparator_loss += c,
            None => self.comparator_known = false,
        }
    }

    /// The regret figures so far, given the best fixed point over the same rounds.
    pub fn summary(&self, best: Option<&BestFixed>, stats: Option<&SeaStats>) -> RegretSummary {
        let dynamic = (self.comparator_known && self.rounds > 0)
            .then_some(self.expected_loss - self.comparator_loss);
        RegretSummary {
            rounds: self.rounds,
            cumulative_loss: self.loss,
            cumulative_expected_loss: self.expected_loss,
            pseudo_regret: best.map(|b| self.expected_loss - b.expected),
            realized_regret: best.map(|b| self.loss - b.realized),
            dynamic_regret: dynamic,
            path_length: dynamic.and(stats.map(|s| s.path_length)),
        }
    }
}

/// The regret figures of a run at one time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RegretSummary {
    /// Rounds t.
    pub rounds: u64,
    /// Σ f_s(x_s).
    pub cumulative_loss: f64,
    /// Σ F_s(x_s).
    pub cumulative_expected_loss: f64,
    /// Σ F_s(x_s) − min_u Σ F_s(u).
    pub pseudo_regret: Option<f64>,
    /// Σ f_s(x_s) − min_u Σ f_s(u).
    pub realized_regret: Option<f64>,
    /// Σ F_s(x_s) − Σ F_s(u_s).
    pub dynamic_regret: Option<f64>,
    /// Σ_{s≥2} ‖u_s − u_{s−1}‖.
    pub path_length: Option<f64>,
}

/// A comparator sequence u_1, …, u_T supplied by the user, for dynamic regret
/// Σ_t F_t(x_t) − Σ_t F_t(u_t) with path length P_T = Σ_{t≥2} ‖u_t − u_{t−1}‖ (Zinkevich 2003;
/// Chen et al. 2023, §6). Give it to [`run_with_comparator`](crate::protocol::run_with_comparator).
///
/// Implemented by [`ComparatorPath`] (stored points) and [`ComparatorFn`] (a closure).
pub trait ComparatorSequence {
    /// The dimension d of every u_t.
    fn dim(&self) -> usize;

    /// The number of points T, when the sequence has a fixed length (checked against the
    /// environment's horizon before the first round); `None` for a generator.
    fn rounds(&self) -> Option<u64>;

    /// Writes u_t (t = 1, …, T) into `out` (of length [`dim`](ComparatorSequence::dim)).
    ///
    /// # Errors
    /// When u_t cannot be produced.
    fn point(&mut self, t: u64, out: &mut DVector<f64>) -> Result<()>;
}

/// A comparator sequence held as points, checked once at construction.
///
/// ```
/// use lisse_online::regret::ComparatorPath;
/// use nalgebra::dvector;
/// let path = ComparatorPath::new(vec![dvector![0.0, 0.0], dvector![3.0, 4.0], dvector![3.0, 4.0]])?;
/// assert_eq!(path.path_length(), 5.0);
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparatorPath {
    points: Vec<DVector<f64>>,
}

impl ComparatorPath {
    /// The sequence u_1 = `points[0]`, …, u_T = `points[T − 1]`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an empty sequence; [`Error::DimensionMismatch`] when a
    /// point's length differs from the first one's; [`Error::NonFinite`] for a NaN or ±∞ entry
    /// (the message names the round t).
    pub fn new(points: Vec<DVector<f64>>) -> Result<Self> {
        let Some(first) = points.first() else {
            return Err(Error::invalid(
                "comparator sequence length",
                0,
                "at least one point u_1",
            ));
        };
        let d = first.len();
        for (i, u) in points.iter().enumerate() {
            let what = format!("comparator u_{} (points[{i}])", i + 1);
            check_dim_hint(&what, d, u.len(), "give every u_t the dimension of u_1")?;
            check_finite_hint(&what, u.as_slice(), "give finite comparator points")?;
        }
        Ok(Self { points })
    }

    /// The points u_1, …, u_T.
    pub fn points(&self) -> &[DVector<f64>] {
        &self.points
    }

    /// P_T = Σ_{t≥2} ‖u_t − u_{t−1}‖₂.
    pub fn path_length(&self) -> f64 {
        self.points
            .windows(2)
            .map(|w| crate::kernels::sum_sq_diff(w[1].as_slice(), w[0].as_slice()).sqrt())
            .sum()
    }
}

impl ComparatorSequence for ComparatorPath {
    fn dim(&self) -> usize {
        self.points[0].len()
    }

    fn rounds(&self) -> Option<u64> {
        Some(self.points.len() as u64)
    }

    fn point(&mut self, t: u64, out: &mut DVector<f64>) -> Result<()> {
        let u = usize::try_from(t)
            .ok()
            .and_then(|t| t.checked_sub(1))
            .and_then(|i| self.points.get(i))
            .ok_or_else(|| {
                Error::invalid(
                    "comparator round t",
                    t,
                    format!("1 ≤ t ≤ {} (the sequence's length)", self.points.len()),
                )
            })?;
        check_dim("comparator buffer", u.len(), out.len())?;
        out.copy_from(u);
        Ok(())
    }
}

/// A comparator sequence generated by a closure `f(t, out)` that writes u_t into `out`
/// (allocation-free); its entries are checked for finiteness every round.
///
/// ```
/// use lisse_online::regret::{ComparatorFn, ComparatorSequence};
/// use nalgebra::DVector;
/// // A comparator circling the unit circle once every 100 rounds.
/// let mut circle = ComparatorFn::new(2, |t, u: &mut DVector<f64>| {
///     let a = std::f64::consts::TAU * t as f64 / 100.0;
///     u[0] = a.cos();
///     u[1] = a.sin();
/// });
/// let mut u = DVector::zeros(2);
/// circle.point(25, &mut u)?;
/// assert!((u[1] - 1.0).abs() < 1e-12);
/// # Ok::<(), lisse_core::Error>(())
/// ```
pub struct ComparatorFn<F> {
    dim: usize,
    f: F,
}

impl<F: FnMut(u64, &mut DVector<f64>)> ComparatorFn<F> {
    /// The sequence t ↦ u_t written by `f` into a buffer of length `dim`.
    pub fn new(dim: usize, f: F) -> Self {
        Self { dim, f }
    }
}

impl<F> std::fmt::Debug for ComparatorFn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComparatorFn")
            .field("dim", &self.dim)
            .finish_non_exhaustive()
    }
}

impl<F: FnMut(u64, &mut DVector<f64>)> ComparatorSequence for ComparatorFn<F> {
    fn dim(&self) -> usize {
        self.dim
    }

    fn rounds(&self) -> Option<u64> {
        None
    }

    fn point(&mut self, t: u64, out: &mut DVector<f64>) -> Result<()> {
        check_dim("comparator buffer", self.dim, out.len())?;
        (self.f)(t, out);
        check_finite_hint(
            &format!("comparator u_{t}"),
            out.as_slice(),
            "make the closure write finite entries",
        )
    }
}

/// Dynamic regret against a user-supplied comparator sequence, so far.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct DynamicRegret {
    /// Rounds t.
    pub rounds: u64,
    /// Σ_s F_s(u_s).
    pub comparator_loss: f64,
    /// Σ_s F_s(x_s) − Σ_s F_s(u_s).
    pub dynamic_regret: f64,
    /// P_t = Σ_{2≤s≤t} ‖u_s − u_{s−1}‖₂.
    pub path_length: f64,
}

/// Running sums of [`DynamicRegret`]; allocation-free after construction.
#[derive(Debug, Clone, PartialEq)]
pub struct DynamicRegretTracker {
    previous: DVector<f64>,
    summary: DynamicRegret,
}

impl DynamicRegretTracker {
    /// An empty tracker for comparators of dimension `dim`.
    pub fn new(dim: usize) -> Self {
        Self {
            previous: DVector::zeros(dim),
            summary: DynamicRegret::default(),
        }
    }

    /// Adds round t: the learner's expected loss F_t(x_t), the comparator's F_t(u_t), and u_t.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for a `u` of the wrong length; [`Error::NonFinite`] for a
    /// non-finite loss or entry of `u` (the tracker is then unchanged).
    pub fn record(
        &mut self,
        learner_loss: f64,
        comparator_loss: f64,
        u: &DVector<f64>,
    ) -> Result<()> {
        check_dim("comparator u_t", self.previous.len(), u.len())?;
        check_finite("comparator u_t", u.as_slice())?;
        check_finite(
            "expected losses F_t(x_t), F_t(u_t)",
            &[learner_loss, comparator_loss],
        )?;
        let s = &mut self.summary;
        if s.rounds > 0 {
            s.path_length +=
                crate::kernels::sum_sq_diff(u.as_slice(), self.previous.as_slice()).sqrt();
        }
        self.previous.copy_from(u);
        s.rounds += 1;
        s.comparator_loss += comparator_loss;
        s.dynamic_regret += learner_loss - comparator_loss;
        Ok(())
    }

    /// The figures so far.
    pub fn summary(&self) -> DynamicRegret {
        self.summary
    }
}
