//! TTSA, the two-timescale stochastic approximation of Hong, Wai, Wang & Yang ("A
//! Two-Timescale Stochastic Algorithm Framework for Bilevel Optimization", SIAM J. Optim.
//! 2023, Algorithm 1).

use lisse_core::solver::StepSize;
use lisse_core::{Result, Solver, StreamRng};
use nalgebra::DVector;
use serde::{Deserialize, Serialize};

use super::state::BilevelState;
use super::{check_inner_outer, decaying};
use crate::hypergradient::RandomizedNeumann;
use crate::problem::{BilevelProblem, LowerLevel, UpperLevel};

/// Parameters of [`Ttsa`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TtsaConfig {
    /// α_t of the single lower SGD step (the faster timescale).
    pub inner_step: StepSize,
    /// β_t of the x-step (the slower timescale).
    pub outer_step: StepSize,
    /// Q of the randomized Neumann estimate.
    pub neumann_terms: usize,
    /// C_g of the estimate; `None` for the problem's constant.
    pub neumann_smoothness: Option<f64>,
}

impl TtsaConfig {
    /// benchopt's exponents: α_t = a/(t+1)^{0.4}, β_t = b/(t+1)^{0.6}; Q = 10.
    pub fn new(inner_step: f64, outer_step: f64) -> Self {
        Self {
            inner_step: decaying(inner_step, 0.4),
            outer_step: decaying(outer_step, 0.6),
            neumann_terms: 10,
            neumann_smoothness: None,
        }
    }
}

/// TTSA: y ← y − α_t∇ᵧG(x, y); x ← x − β_t ĥ(x, y) with the randomized Neumann estimate
/// ([`RandomizedNeumann`], with its Q factor and q = 0 case) at the new y.
///
/// Oracle calls per iteration: one ∇ᵧg, one ∇ₓf and one ∇ᵧf (one sample), q ~ U{0..Q−1} HVPs,
/// one cross.
#[derive(Debug)]
pub struct Ttsa<F: UpperLevel, G: LowerLevel> {
    state: BilevelState<F, G>,
    config: TtsaConfig,
    estimator: RandomizedNeumann,
}

impl<F: UpperLevel, G: LowerLevel> Ttsa<F, G> {
    /// TTSA from (x₀, y₀).
    ///
    /// # Errors
    /// Wrong lengths or non-finite start, invalid steps, Q = 0.
    pub fn new(
        problem: BilevelProblem<F, G>,
        config: TtsaConfig,
        x0: DVector<f64>,
        y0: DVector<f64>,
    ) -> Result<Self> {
        let state = BilevelState::new(problem, x0, y0)?;
        check_inner_outer(config.inner_step, config.outer_step)?;
        let mut estimator = RandomizedNeumann::new(config.neumann_terms)?;
        if let Some(c) = config.neumann_smoothness {
            estimator = estimator.with_smoothness(c)?;
        }
        Ok(Self {
            state,
            config,
            estimator,
        })
    }

    state_accessors!();
}

impl<F: UpperLevel, G: LowerLevel> Solver for Ttsa<F, G> {
    fn name(&self) -> &'static str {
        "ttsa"
    }

    /// One SGD step on y (α_t), the estimate at the new y, one x-step (β_t).
    fn step(&mut self, rng: &mut StreamRng) -> Result<()> {
        let c = &self.config;
        self.state
            .sgd_on_estimate(1, c.inner_step, c.outer_step, &mut self.estimator, rng)
    }

    state_solver_methods!();
}
