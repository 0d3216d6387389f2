//! A two-layer ensemble for dynamic regret: a pool of optimistic OGD learners with
//! geometrically spaced step sizes, combined by optimistic Hedge with a switching penalty
//! (Sword++: Zhao, Zhang, Zhang & Zhou 2024; its SEA analysis: Chen et al. 2024, JMLR).

use lisse_core::{Error, Result, check_positive, check_range};
use nalgebra::DVector;
use serde::{Deserialize, Serialize};

use crate::kernels::sum_sq_diff;
use crate::learner::{Hint, HintState, OnlineLearner, check_gradient, round_order_error};
use crate::mirror::Euclidean;
use crate::omd::OptimisticOmd;
use crate::projection::FastProjection;
use crate::step_size::Constant;

/// The constants of an [`Ensemble`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EnsembleConfig {
    /// G, the gradient bound.
    pub gradient_bound: f64,
    /// L, the smoothness of the expected losses (0 allowed).
    pub smoothness: f64,
    /// T, the horizon (sets the smallest step size).
    pub horizon: u64,
}

/// Pool of N optimistic OGD base learners with η_i = η_min·2^{i−1} ≤ η_max, η_min = D/(G√T),
/// η_max = 1/(8L) (D/G when L = 0), all fed the one gradient g_t = ∇f_t(x_t) at the combined
/// point and the shared hint M_t (Sword++, one gradient query per round).
///
/// Meta learner: optimistic Hedge in its lazy (optimistic-FTRL) form, valid for a decreasing
/// rate (reference notes §3.4, option (a)), with losses ℓ_{t,i} = ⟨g_t, x_{t,i}⟩ +
/// λ_c‖x_{t,i} − x_{t−1,i}‖², hints m_{t,i} = ⟨M_t, x_{t,i}⟩ + λ_c‖x_{t,i} − x_{t−1,i}‖²,
/// switching penalty λ_c = 2L, and rate ε_t = min{1/(8D²L), 1/√(1 + Σ_{s<t}‖ℓ_s − m_s‖²_∞)}
/// (PyNOL's `OptimisticLR`). The combined play is x_t = Σᵢ p_{t,i} x_{t,i} ∈ X by convexity.
///
/// Guarantee (recalled, not checked against the paper's constants): dynamic regret
/// O(√((1 + P_T + σ²_{1:T} + Σ²_{1:T})(1 + P_T))) against any comparators with path length
/// P_T. What the tests check is the meta layer's own regret against every base learner,
/// [`Ensemble::meta_regret_bound`].
#[derive(Debug, Clone)]
pub struct Ensemble<D> {
    bases: Vec<OptimisticOmd<Euclidean<D>, Constant>>,
    base_points: Vec<DVector<f64>>,
    previous_points: Vec<DVector<f64>>,
    hints: HintState,
    cumulative: Vec<f64>,
    meta_hint: Vec<f64>,
    weights: Vec<f64>,
    residual_sq_sum: f64,
    rate_cap: f64,
    rate: f64,
    switching: f64,
    meta_loss: f64,
    residual_weighted: f64,
    switch_costs: Vec<f64>,
    x: DVector<f64>,
    pending: bool,
    started: bool,
}

impl<D: FastProjection + Clone> Ensemble<D> {
    /// The ensemble over a bounded `domain`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless the diameter and G are finite and > 0, L ≥ 0 and
    /// T ≥ 1.
    pub fn new(domain: &D, config: EnsembleConfig) -> Result<Self> {
        let diam = domain.diameter();
        check_positive("diameter D", diam)?;
        check_positive("gradient bound G", config.gradient_bound)?;
        check_range("smoothness L", config.smoothness, 0.0, f64::INFINITY)?;
        if config.horizon == 0 {
            return Err(Error::invalid("horizon T", 0, "at least 1"));
        }
        let eta_min = diam / (config.gradient_bound * (config.horizon as f64).sqrt());
        let eta_max = if config.smoothness > 0.0 {
            1.0 / (8.0 * config.smoothness)
        } else {
            diam / config.gradient_bound
        }
        .max(eta_min);
        let mut etas = vec![eta_min];
        while etas.len() < 64 && etas[etas.len() - 1] * 2.0 <= eta_max {
            etas.push(etas[etas.len() - 1] * 2.0);
        }
        let dim = domain.dim();
        let start = DVector::zeros(dim);
        let bases = etas
            .iter()
            .map(|&eta| {
                Ok(OptimisticOmd::new(
                    Euclidean::new(domain.clone(), start.clone())?,
                    Constant::new(eta)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let n = bases.len();
        let rate_cap = if config.smoothness > 0.0 {
            1.0 / (8.0 * diam * diam * config.smoothness)
        } else {
            f64::INFINITY
        };
        Ok(Self {
            bases,
            base_points: vec![DVector::zeros(dim); n],
            previous_points: vec![DVector::zeros(dim); n],
            hints: HintState::new(dim),
            cumulative: vec![0.0; n],
            meta_hint: vec![0.0; n],
            weights: vec![1.0 / n as f64; n],
            residual_sq_sum: 0.0,
            rate_cap,
            rate: f64::NAN,
            switching: 2.0 * config.smoothness,
            meta_loss: 0.0,
            residual_weighted: 0.0,
            switch_costs: vec![0.0; n],
            x: DVector::zeros(dim),
            pending: false,
            started: false,
        })
    }

    /// The number of base learners N.
    pub fn pool_size(&self) -> usize {
        self.bases.len()
    }

    /// The current meta weights p_t (valid after a prediction).
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Σ_t ⟨p_t, ℓ_t⟩ − Σ_t ℓ_{t,i} for every base learner i: the meta layer's regret.
    pub fn meta_regrets(&self) -> Vec<f64> {
        self.cumulative.iter().map(|c| self.meta_loss - c).collect()
    }

    /// ln N/ε_{T+1} + Σ_t ε_t‖ℓ_t − m_t‖²_∞: the optimistic-FTRL bound on
    /// [`meta_regrets`](Ensemble::meta_regrets) with the entropy regularizer (1-strongly convex
    /// in ‖·‖₁) and a non-increasing rate (Orabona, *A Modern Introduction to Online
    /// Learning*, Thm. 7.35 and Cor. 7.9).
    pub fn meta_regret_bound(&self) -> f64 {
        let n = self.bases.len() as f64;
        let next = self.current_rate();
        n.ln() / next + self.residual_weighted
    }

    fn current_rate(&self) -> f64 {
        (1.0 / (1.0 + self.residual_sq_sum).sqrt()).min(self.rate_cap)
    }
}

impl<D: FastProjection + Clone> OnlineLearner for Ensemble<D> {
    fn dim(&self) -> usize {
        self.x.len()
    }

    fn name(&self) -> String {
        format!(
            "ensemble ({} optimistic OGD + optimistic Hedge)",
            self.bases.len()
        )
    }

    fn predict(&mut self, hint: Hint<'_>) -> Result<&DVector<f64>> {
        self.hints.resolve(hint)?;
        self.rate = self.current_rate();
        let mut top = f64::NEG_INFINITY;
        for (i, base) in self.bases.iter_mut().enumerate() {
            let xi = base.predict(Hint::External(&self.hints.current))?;
            self.base_points[i].copy_from(xi);
            let cost = if self.started {
                self.switching
                    * sum_sq_diff(
                        self.base_points[i].as_slice(),
                        self.previous_points[i].as_slice(),
                    )
            } else {
                0.0
            };
            self.switch_costs[i] = cost;
            self.meta_hint[i] = self.hints.current.dot(&self.base_points[i]) + cost;
            // Lazy optimistic Hedge: p_t ∝ exp(−ε_t(Σ_{s<t} ℓ_s + m_t)), in the log domain.
            let logit = -self.rate * (self.cumulative[i] + self.meta_hint[i]);
            self.weights[i] = logit;
            top = top.max(logit);
        }
        let mut total = 0.0;
        for w in &mut self.weights {
            *w = (*w - top).exp();
            total += *w;
        }
        self.x.fill(0.0);
        for (w, xi) in self.weights.iter_mut().zip(&self.base_points) {
            *w /= total;
            self.x.axpy(*w, xi, 1.0);
        }
        self.pending = true;
        Ok(&self.x)
    }

    fn update(&mut self, gradient: &DVector<f64>) -> Result<()> {
        if !self.pending {
            return Err(round_order_error());
        }
        check_gradient(self.dim(), gradient)?;
        let mut residual = 0.0_f64;
        for i in 0..self.bases.len() {
            let loss = gradient.dot(&self.base_points[i]) + self.switch_costs[i];
            self.meta_loss += self.weights[i] * loss;
            self.cumulative[i] += loss;
            residual = residual.max((loss - self.meta_hint[i]).abs());
        }
        let r2 = residual * residual;
        self.residual_weighted += self.rate * r2;
        self.residual_sq_sum += r2;
        for (i, base) in self.bases.iter_mut().enumerate() {
            base.update(gradient)?;
            self.previous_points[i].copy_from(&self.base_points[i]);
        }
        self.started = true;
        self.hints.record(gradient);
        self.pending = false;
        Ok(())
    }

    fn step_size(&self) -> Option<f64> {
        self.rate.is_finite().then_some(self.rate)
    }
}
