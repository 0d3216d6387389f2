//! Optimistic OMD in its two-step form (Chen, Zhang, Tu, Zhao & Zhang 2023, Algorithm 1).

use lisse_core::{Error, Result};
use nalgebra::DVector;

use crate::learner::{Hint, OnlineLearner};
use crate::learner::{HintState, round_order_error};
use crate::mirror::{Entropy, Euclidean, Mahalanobis, MirrorMap};
use crate::projection::{FastProjection, MetricProjection};
use crate::step_size::{SeaConvex, StepSchedule, StronglyConvex, Unit};

/// Optimistic online mirror descent, two-step form (Chen et al. 2023, eq. (3); Rakhlin &
/// Sridharan 2013):
///
/// 1. play x_t = argmin_{x∈X} ⟨η_t M_t, x⟩ + B(x, x̂_t);
/// 2. observe g_t = ∇f_t(x_t);
/// 3. x̂_{t+1} = argmin_{x∈X} ⟨η_t g_t, x⟩ + B(x, x̂_t).
///
/// Both half-steps use the same η_t and the same centre x̂_t; η_t is fixed before g_t is seen
/// and the schedule receives ‖g_t − M_t‖²_* only after step 3, so η_{t+1} includes round t
/// (the indexing PortfolioOptimisers.jl issue #1181 found broken elsewhere). This is **not**
/// the one-projection variant x_{t+1} = argmin ⟨g_t − M_t + M_{t+1}, x⟩ + B(x, x_t), which
/// differs whenever a projection is active.
///
/// The mirror map `M` sets the geometry ([`Euclidean`], [`Entropy`], [`Mahalanobis`]); the
/// schedule `S` sets η_t ([`SeaConvex`], [`StronglyConvex`], [`Unit`], …). The hot loop
/// (predict + update) allocates nothing for the Euclidean map on a ball or box and for the
/// entropy map.
///
/// ```
/// use lisse_core::domain::L2Ball;
/// use lisse_online::{Hint, OnlineLearner, OptimisticOmd};
/// use nalgebra::dvector;
/// // Optimistic OGD on the unit ball with the convex-smooth adaptive step (G = 1, δ = 1).
/// let mut learner = OptimisticOmd::sea_convex(L2Ball::centered(2, 1.0)?, 1.0, 1.0)?;
/// for _ in 0..100 {
///     let x = learner.predict(Hint::LastGradient)?.clone();
///     let g = &x - dvector![0.5, 0.0]; // f_t(x) = ½‖x − (0.5, 0)‖²
///     learner.update(&g)?;
/// }
/// let x = learner.predict(Hint::LastGradient)?;
/// assert!((x - dvector![0.5, 0.0]).norm() < 1e-3);
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct OptimisticOmd<M, S> {
    mirror: M,
    schedule: S,
    played: DVector<f64>,
    hints: HintState,
    round: u64,
    eta: f64,
    pending: bool,
    name: String,
}

impl<M: MirrorMap, S: StepSchedule> OptimisticOmd<M, S> {
    /// Optimistic OMD with a mirror map (which holds the start x̂₁) and a step schedule.
    pub fn new(mirror: M, schedule: S) -> Self {
        let d = mirror.dim();
        let name = format!("optimistic OMD ({}, {})", mirror.name(), schedule.name());
        Self {
            played: crate::kernels::aligned_copy(&mirror.center()),
            mirror,
            schedule,
            hints: HintState::new(d),
            round: 0,
            eta: f64::NAN,
            pending: false,
            name,
        }
    }

    /// Renames the learner (for tables).
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Completed rounds.
    pub fn rounds(&self) -> u64 {
        self.round
    }

    /// The mirror map (its centre is x̂_{t+1} after an update).
    pub fn mirror(&self) -> &M {
        &self.mirror
    }

    /// The step schedule.
    pub fn schedule(&self) -> &S {
        &self.schedule
    }
}

impl<D: FastProjection> OptimisticOmd<Euclidean<D>, SeaConvex> {
    /// Optimistic OGD with the convex-smooth adaptive step η_t = D/√(δ + 4G² + V̄_{t−1}),
    /// D = the domain's diameter, started at the projection of the origin.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when the domain is unbounded or has diameter 0 (D ≤ 0), or
    /// G < 0, δ ≤ 0.
    pub fn sea_convex(domain: D, gradient_bound: f64, delta: f64) -> Result<Self> {
        let d = domain.diameter();
        let schedule = SeaConvex::new(d, gradient_bound, delta)?;
        let start = DVector::zeros(domain.dim());
        Ok(Self::new(Euclidean::new(domain, start)?, schedule))
    }
}

impl<D: FastProjection> OptimisticOmd<Euclidean<D>, StronglyConvex> {
    /// Optimistic OGD with η_t = 2/(λt), started at the projection of the origin.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless λ > 0.
    pub fn strongly_convex(domain: D, lambda: f64) -> Result<Self> {
        let schedule = StronglyConvex::new(lambda)?;
        let start = DVector::zeros(domain.dim());
        Ok(Self::new(Euclidean::new(domain, start)?, schedule))
    }
}

impl<D: MetricProjection> OptimisticOmd<Mahalanobis<D>, Unit> {
    /// Optimistic online Newton step for α-exp-concave losses with gradients bounded by G and
    /// L-smooth expectations ((β, δ) from
    /// [`exp_concave_parameters`](crate::step_size::exp_concave_parameters)), started at the
    /// projection of the origin.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless α, G > 0, L ≥ 0 and the domain is bounded with
    /// D > 0.
    pub fn exp_concave(
        domain: D,
        alpha: f64,
        gradient_bound: f64,
        smoothness: f64,
    ) -> Result<Self> {
        let start = DVector::zeros(domain.dim());
        let map = Mahalanobis::optimistic_ons(domain, start, alpha, gradient_bound, smoothness)?;
        Ok(Self::new(map, Unit))
    }
}

impl<S: StepSchedule> OptimisticOmd<Entropy, S> {
    /// Optimistic Hedge over `n` experts (negative-entropy map on the probability simplex,
    /// log domain), started uniform.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `n == 0`.
    pub fn hedge(n: usize, schedule: S) -> Result<Self> {
        Ok(Self::new(Entropy::uniform(n)?, schedule))
    }
}

impl<M: MirrorMap, S: StepSchedule> OnlineLearner for OptimisticOmd<M, S> {
    fn dim(&self) -> usize {
        self.mirror.dim()
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn predict(&mut self, hint: Hint<'_>) -> Result<&DVector<f64>> {
        self.hints.resolve(hint)?;
        let t = self.round + 1;
        self.eta = self.schedule.eta(t);
        if !(self.eta.is_finite() && self.eta > 0.0) {
            return Err(Error::invalid(
                "step size eta_t",
                self.eta,
                "a finite number > 0 (check the schedule's constants)",
            ));
        }
        if let Hint::LastGradient = hint {
            self.mirror.step_from_center_last_gradient(
                self.eta,
                &self.hints.current,
                &mut self.played,
            )?;
        } else {
            self.mirror
                .step_from_center(self.eta, &self.hints.current, &mut self.played)?;
        }
        self.pending = true;
        Ok(&self.played)
    }

    fn update(&mut self, gradient: &DVector<f64>) -> Result<()> {
        if !self.pending {
            return Err(round_order_error());
        }
        lisse_core::check_dim("gradient", self.dim(), gradient.len())?;
        // Checks g, then moves the centre, measures ‖g − M‖²_* and overwrites M with g (one
        // pass on a ball); nothing is written when g is rejected.
        let residual =
            self.mirror
                .update_half_step(self.eta, gradient, self.hints.current_mut())?;
        self.hints.commit_current();
        self.round += 1;
        self.schedule.record(self.round, residual);
        self.pending = false;
        Ok(())
    }

    fn step_size(&self) -> Option<f64> {
        self.eta.is_finite().then_some(self.eta)
    }
}
