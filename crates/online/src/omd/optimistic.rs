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
    /// Some(η) when `played` already holds the play of the coming round for the default hint
    /// with step η (written by the map's update, [`MirrorMap::update_half_step_and_play`]).
    prepared: Option<f64>,
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
            prepared: None,
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
        let prepared = self.prepared.take();
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
            if prepared.is_some_and(|eta| eta.to_bits() == self.eta.to_bits()) {
                // The update wrote this play already (the same bits as the pass below).
                self.pending = true;
                return Ok(&self.played);
            }
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
        // Checks g, then moves the centre, measures ‖g − M‖²_* and overwrites M with g;
        // nothing is written when g is rejected. The map may also write the next play, for
        // which it asks η_{t+1} (recording the residual) once nothing can fail.
        let round = self.round + 1;
        let schedule = &mut self.schedule;
        let mut next_eta = |residual: f64| {
            schedule.record(round, residual);
            schedule.eta(round + 1)
        };
        let (residual, recorded, played) = self.mirror.update_half_step_and_play(
            self.eta,
            gradient,
            self.hints.current_mut(),
            &mut next_eta,
            &mut self.played,
        )?;
        self.hints.commit_current();
        self.round = round;
        if recorded.is_none() {
            self.schedule.record(round, residual);
        }
        self.prepared = if played { recorded } else { None };
        self.pending = false;
        Ok(())
    }

    fn step_size(&self) -> Option<f64> {
        self.eta.is_finite().then_some(self.eta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lisse_core::domain::L2Ball;

    fn learner(d: usize, radius: f64, fused: bool) -> OptimisticOmd<Euclidean<L2Ball>, SeaConvex> {
        let ball = L2Ball::centered(d, radius).unwrap();
        let mut learner = OptimisticOmd::sea_convex(ball, 1.0, 1.0).unwrap();
        learner
            .mirror
            .set_fused_min_dim(if fused { 0 } else { usize::MAX });
        learner
    }

    fn bits(v: &DVector<f64>) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// The two-pass update (which also writes the next play) and the three-pass form give the
    /// same bits: plays, centres, step sizes, with every hint kind, rejected gradients in between
    /// and balls small enough for the plays to be projected and large enough for them not to be.
    #[test]
    fn two_pass_and_three_pass_updates_agree_bit_for_bit() {
        let mut prepared = 0;
        for d in [1, 31, 33, 100, 257] {
            for radius in [0.05, 1.0, 50.0] {
                let (mut a, mut b) = (learner(d, radius, true), learner(d, radius, false));
                let g = |k: usize| {
                    let size = 1.0 + (k % 5) as f64;
                    DVector::from_fn(d, |i, _| ((i * 7 + k * 3) as f64).sin() * size)
                };
                for k in 0..120 {
                    let external = g(k + 1000);
                    let hint = match k % 7 {
                        3 => Hint::Zero,
                        5 => Hint::External(&external),
                        _ => Hint::LastGradient,
                    };
                    let xa = a.predict(hint).unwrap().clone();
                    let xb = b.predict(hint).unwrap().clone();
                    assert_eq!(bits(&xa), bits(&xb), "play, d = {d}, R = {radius}, k = {k}");
                    assert!(xa.norm() <= radius * (1.0 + 4.0 * f64::EPSILON));
                    if k % 11 == 4 {
                        let mut bad = g(k);
                        bad[d / 2] = f64::NAN;
                        assert!(a.update(&bad).is_err() && b.update(&bad).is_err());
                        assert_eq!(bits(&a.mirror.center()), bits(&b.mirror.center()));
                    }
                    a.update(&g(k)).unwrap();
                    b.update(&g(k)).unwrap();
                    prepared += usize::from(a.prepared.is_some());
                    assert!(b.prepared.is_none());
                    assert_eq!(bits(&a.mirror.center()), bits(&b.mirror.center()));
                    assert_eq!(a.eta.to_bits(), b.eta.to_bits());
                }
            }
        }
        assert!(prepared > 1000, "the two-pass path wrote {prepared} plays");
    }

    /// On the two-pass path a rejected gradient changes nothing either: the next play, the
    /// centre and the step size stay bit for bit.
    #[test]
    fn two_pass_update_validates_before_writing() {
        let d = 64;
        let mut learner = learner(d, 1.0, true);
        let g = |k: usize| DVector::from_fn(d, |i, _| ((i * 5 + k) as f64).cos());
        for k in 0..10 {
            learner.predict(Hint::LastGradient).unwrap();
            learner.update(&g(k)).unwrap();
        }
        let x = learner.predict(Hint::LastGradient).unwrap().clone();
        let (centre, eta) = (learner.mirror().center(), learner.eta);
        let accumulated = learner.schedule().accumulated();
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut b = g(50);
            b[d - 1] = bad;
            assert!(learner.update(&b).is_err());
            assert_eq!(bits(&learner.mirror().center()), bits(&centre));
            assert_eq!(
                learner.schedule().accumulated().to_bits(),
                accumulated.to_bits()
            );
            assert_eq!(bits(learner.predict(Hint::LastGradient).unwrap()), bits(&x));
            assert_eq!(learner.eta.to_bits(), eta.to_bits());
        }
    }
}
