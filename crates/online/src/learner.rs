//! The learner side of the online protocol: optimism is a first-class input.
//!
//! A round of online convex optimization with hints (Rakhlin & Sridharan 2013; Chen et al.
//! 2023, Algorithm 1) is split in two calls, as in PyNOL's `opt_by_optimism` /
//! `opt_by_gradient` and river's `look_ahead` / `step`:
//!
//! 1. [`OnlineLearner::predict`] takes a [`Hint`] M_t (a guess of the coming gradient) and
//!    returns the point x_t to play;
//! 2. [`OnlineLearner::update`] takes the observed gradient g_t = ∇f_t(x_t).
//!
//! Learners that are not optimistic (OGD, AdaGrad-norm, ONS, Hedge) check and ignore the hint.

use lisse_core::{Error, Result, check_dim};
use nalgebra::DVector;

/// The optimistic guess M_t of the coming gradient g_t.
#[derive(Debug, Clone, Copy, Default)]
pub enum Hint<'a> {
    /// M_t = g_{t−1}, the gradient observed at the previous *played* point (M_1 = 0); the
    /// default of Chen et al. (2023) and Sachs et al. (2022).
    #[default]
    LastGradient,
    /// M_t = 0: optimistic OMD reduces to (two-projection) online mirror descent.
    Zero,
    /// A hint supplied by the caller (a forecast, the gradient at a lookahead point, …).
    External(&'a DVector<f64>),
}

/// An online learner over a fixed convex set X ⊂ ℝᵈ.
///
/// Call [`predict`](OnlineLearner::predict) then [`update`](OnlineLearner::update) once per
/// round; `update` before any `predict` is an error. Calling `predict` twice in a round replaces
/// the first prediction (nothing is updated until `update`).
pub trait OnlineLearner {
    /// The dimension d.
    fn dim(&self) -> usize;

    /// A short name for tables and traces.
    fn name(&self) -> String;

    /// Plays x_t given the hint M_t; the returned point lies in X.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for an external hint of the wrong length,
    /// [`Error::NonFinite`] for a hint with NaN or ±∞.
    fn predict(&mut self, hint: Hint<'_>) -> Result<&DVector<f64>>;

    /// Absorbs the observed gradient g_t = ∇f_t(x_t).
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] or [`Error::NonFinite`] for a bad gradient (the learner is
    /// left unchanged); [`Error::InvalidParameter`] named `round order` when no prediction is
    /// pending.
    fn update(&mut self, gradient: &DVector<f64>) -> Result<()>;

    /// The step size used in the current (or last) round, for traces; `None` when the learner
    /// has no single step size.
    fn step_size(&self) -> Option<f64> {
        None
    }
}

/// The error for `update` without a pending `predict`.
pub(crate) fn round_order_error() -> Error {
    Error::invalid(
        "round order",
        "update() without a pending predict()",
        "predict(hint) once before each update(gradient)",
    )
}

/// Checks an observed gradient: right length, finite entries.
pub(crate) fn check_gradient(dim: usize, gradient: &DVector<f64>) -> Result<()> {
    check_dim("gradient", dim, gradient.len())?;
    lisse_core::check_finite("gradient", gradient.as_slice())
}

/// Resolves [`Hint`]s into a buffer and remembers the last gradient, in two buffers;
/// allocation-free after construction.
#[derive(Debug, Clone)]
pub(crate) struct HintState {
    /// g_{t−1} (zero before the first update), unless `swapped`.
    last_gradient: DVector<f64>,
    /// M_t of the current round.
    pub(crate) current: DVector<f64>,
    /// `current` holds g_{t−1} (moved there by a swap, not a copy) and `last_gradient` is
    /// scratch.
    swapped: bool,
}

impl HintState {
    pub(crate) fn new(dim: usize) -> Self {
        Self {
            last_gradient: crate::kernels::aligned_zeros(dim),
            current: crate::kernels::aligned_zeros(dim),
            swapped: false,
        }
    }

    /// Checks an external hint without storing it.
    pub(crate) fn check(dim: usize, hint: Hint<'_>) -> Result<()> {
        if let Hint::External(h) = hint {
            check_dim("hint", dim, h.len())?;
            lisse_core::check_finite("hint", h.as_slice())?;
        }
        Ok(())
    }

    /// Writes M_t into `self.current`.
    pub(crate) fn resolve(&mut self, hint: Hint<'_>) -> Result<()> {
        Self::check(self.current.len(), hint)?;
        if let Hint::LastGradient = hint {
            // O(1): move g_{t−1} into place instead of copying it.
            if !self.swapped {
                std::mem::swap(&mut self.current, &mut self.last_gradient);
                self.swapped = true;
            }
            return Ok(());
        }
        if self.swapped {
            std::mem::swap(&mut self.current, &mut self.last_gradient);
            self.swapped = false;
        }
        match hint {
            Hint::Zero => self.current.fill(0.0),
            Hint::External(h) => self.current.as_mut_slice().copy_from_slice(h.as_slice()),
            Hint::LastGradient => {}
        }
        Ok(())
    }

    /// M_t, for an update that reads it and overwrites it with g_t in the same pass;
    /// [`HintState::commit_current`] then makes it the next round's default hint.
    pub(crate) fn current_mut(&mut self) -> &mut DVector<f64> {
        &mut self.current
    }

    /// Makes `current` (now holding g_t) the last gradient: a swap, no copy. In the default
    /// round (hint = last gradient) the same buffer holds M_t and then g_t, round after round.
    pub(crate) fn commit_current(&mut self) {
        std::mem::swap(&mut self.current, &mut self.last_gradient);
        self.swapped = false;
    }

    /// Records g_t as the next round's default hint.
    pub(crate) fn record(&mut self, gradient: &DVector<f64>) {
        self.last_gradient
            .as_mut_slice()
            .copy_from_slice(gradient.as_slice());
        self.swapped = false;
    }
}

#[cfg(test)]
mod tests {
    use super::{Hint, HintState};
    use nalgebra::dvector;

    #[test]
    fn hints_survive_repeated_predictions_in_a_round() {
        let mut h = HintState::new(2);
        h.record(&dvector![1.0, 2.0]);
        h.resolve(Hint::LastGradient).unwrap();
        assert_eq!(h.current, dvector![1.0, 2.0]);
        h.resolve(Hint::LastGradient).unwrap();
        assert_eq!(h.current, dvector![1.0, 2.0]);
        h.resolve(Hint::Zero).unwrap();
        assert_eq!(h.current, dvector![0.0, 0.0]);
        h.resolve(Hint::External(&dvector![5.0, 6.0])).unwrap();
        assert_eq!(h.current, dvector![5.0, 6.0]);
        h.resolve(Hint::LastGradient).unwrap();
        assert_eq!(h.current, dvector![1.0, 2.0]);
        h.record(&dvector![3.0, 4.0]);
        h.resolve(Hint::LastGradient).unwrap();
        assert_eq!(h.current, dvector![3.0, 4.0]);
    }
}
