//! The online Newton step (Hazan, Agarwal & Kale 2007).

use lisse_core::{Result, check_positive};
use nalgebra::DVector;

use crate::learner::{Hint, HintState, OnlineLearner, check_gradient, round_order_error};
use crate::mirror::{Mahalanobis, MirrorMap};
use crate::projection::MetricProjection;

/// Online Newton step (Hazan, *Introduction to OCO*, Alg. 12): γ = ½·min{1/(4GD), α},
/// ε = 1/(γ²D²), A_t = εI + Σ_{s≤t} g_s g_sᵀ, x_{t+1} = Π^{A_t}_X(x_t − (1/γ)A_t⁻¹g_t).
///
/// Implemented on the [`Mahalanobis`] map with U = γA (so U⁻¹ = A⁻¹/γ and Π^{γA} = Π^A):
/// δ = γε, rank-one weight γ, and, unlike optimistic ONS, the matrix is updated *before* the
/// step. Ignores hints. Regret ≤ 5(1/α + GD)·d·ln T ([`ons_bound`]).
#[derive(Debug, Clone)]
pub struct Ons<D> {
    map: Mahalanobis<D>,
    x: DVector<f64>,
    pending: bool,
}

impl<D: MetricProjection> Ons<D> {
    /// ONS for α-exp-concave losses with gradients bounded by G on a bounded `domain`,
    /// started at Π_X(0).
    ///
    /// # Errors
    /// [`lisse_core::Error::InvalidParameter`] unless α, G > 0 and the diameter D is finite and
    /// > 0.
    pub fn new(domain: D, alpha: f64, gradient_bound: f64) -> Result<Self> {
        check_positive("exp-concavity alpha", alpha)?;
        check_positive("gradient bound G", gradient_bound)?;
        let d = domain.diameter();
        check_positive("diameter D", d)?;
        let gamma = 0.5 * (1.0 / (4.0 * gradient_bound * d)).min(alpha);
        let eps = 1.0 / (gamma * gamma * d * d);
        let start = DVector::zeros(domain.dim());
        let map = Mahalanobis::new(domain, start, gamma * eps, 2.0 * gamma)?;
        Ok(Self {
            x: map.center(),
            map,
            pending: false,
        })
    }
}

impl<D: MetricProjection> OnlineLearner for Ons<D> {
    fn dim(&self) -> usize {
        self.x.len()
    }

    fn name(&self) -> String {
        "ONS".into()
    }

    fn predict(&mut self, hint: Hint<'_>) -> Result<&DVector<f64>> {
        HintState::check(self.dim(), hint)?;
        self.pending = true;
        Ok(&self.x)
    }

    fn update(&mut self, gradient: &DVector<f64>) -> Result<()> {
        if !self.pending {
            return Err(round_order_error());
        }
        check_gradient(self.dim(), gradient)?;
        self.map.absorb_gradient(gradient)?;
        self.map.step_center(1.0, gradient)?;
        self.x = self.map.center();
        self.pending = false;
        Ok(())
    }
}

/// 5·(1/α + G·D)·d·ln T: the regret bound of [`Ons`] (Hazan, Thm. 4.5; stated there for T ≥ 4
/// with log the natural logarithm; ln T is replaced by max(ln T, 1)).
pub fn ons_bound(alpha: f64, gradient_bound: f64, diameter: f64, dim: usize, rounds: u64) -> f64 {
    5.0 * (1.0 / alpha + gradient_bound * diameter)
        * dim as f64
        * (rounds.max(1) as f64).ln().max(1.0)
}
