//! SGD and normalized SGD on a hypergradient estimate (ablations of BO-REP's ingredients).

use lisse_core::solver::StepSize;
use lisse_core::{Error, Result, Solver, StreamRng};
use nalgebra::DVector;
use serde::{Deserialize, Serialize};

use super::state::BilevelState;
use super::{check_count, check_inner_outer};
use crate::hypergradient::HypergradientEstimator;
use crate::problem::{BilevelProblem, LowerLevel, UpperLevel};

/// Parameters of [`HypergradientSgd`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HypergradientSgdConfig {
    /// T ≥ 1 SGD steps on y per iteration (warm-started).
    pub inner_steps: usize,
    /// γ of the y steps.
    pub inner_step: StepSize,
    /// η_t of the x-step (a step length when `normalized`).
    pub outer_step: StepSize,
    /// Momentum β ∈ [0, 1) on the estimate (0: none).
    pub momentum: f64,
    /// x ← x − η_t m/‖m‖ instead of x ← x − η_t m.
    pub normalized: bool,
}

impl HypergradientSgdConfig {
    /// Plain SGD: one lower step per iteration, constant steps, no momentum.
    pub fn sgd(inner_step: f64, outer_step: f64) -> Self {
        Self {
            inner_steps: 1,
            inner_step: StepSize::Constant(inner_step),
            outer_step: StepSize::Constant(outer_step),
            momentum: 0.0,
            normalized: false,
        }
    }

    /// Normalized SGD with momentum β (BO-REP's x-update without its lower-level machinery).
    pub fn normalized(inner_step: f64, step_length: f64, momentum: f64) -> Self {
        Self {
            inner_steps: 1,
            inner_step: StepSize::Constant(inner_step),
            outer_step: StepSize::Constant(step_length),
            momentum,
            normalized: true,
        }
    }
}

/// T SGD steps on y, ĥ from any estimator, m ← βm + (1 − β)ĥ, then x ← x − η_t m (SGD) or
/// x ← x − η_t m/‖m‖ (normalized SGD).
#[derive(Debug)]
pub struct HypergradientSgd<F: UpperLevel, G: LowerLevel, E> {
    state: BilevelState<F, G>,
    estimator: E,
    config: HypergradientSgdConfig,
    /// The momentum m (m₀ = 0).
    m: DVector<f64>,
}

impl<F: UpperLevel, G: LowerLevel, E: HypergradientEstimator> HypergradientSgd<F, G, E> {
    /// The solver from (x₀, y₀).
    ///
    /// # Errors
    /// Wrong lengths or non-finite start, invalid steps, momentum outside [0, 1).
    pub fn new(
        problem: BilevelProblem<F, G>,
        estimator: E,
        config: HypergradientSgdConfig,
        x0: DVector<f64>,
        y0: DVector<f64>,
    ) -> Result<Self> {
        let state = BilevelState::new(problem, x0, y0)?;
        check_count("inner_steps", config.inner_steps)?;
        check_inner_outer(config.inner_step, config.outer_step)?;
        if !(config.momentum.is_finite() && (0.0..1.0).contains(&config.momentum)) {
            return Err(Error::invalid("momentum", config.momentum, "in [0, 1)"));
        }
        let m = DVector::zeros(state.x.len());
        Ok(Self {
            state,
            estimator,
            config,
            m,
        })
    }

    state_accessors!();
}

impl<F: UpperLevel, G: LowerLevel, E: HypergradientEstimator> Solver for HypergradientSgd<F, G, E> {
    fn name(&self) -> &'static str {
        if self.config.normalized {
            "normalized-sgd"
        } else {
            "hypergradient-sgd"
        }
    }

    fn step(&mut self, rng: &mut StreamRng) -> Result<()> {
        let c = self.config;
        let s = &mut self.state;
        s.lower_sgd_then_estimate(
            c.inner_steps,
            c.inner_step.at(s.t),
            &mut self.estimator,
            rng,
        )?;
        self.m.axpy(1.0 - c.momentum, &s.direction, c.momentum);
        let eta = c.outer_step.at(s.t);
        if c.normalized {
            let norm = self.m.norm();
            if norm > 0.0 {
                s.x.axpy(-eta / norm, &self.m, 1.0);
            }
        } else {
            s.x.axpy(-eta, &self.m, 1.0);
        }
        s.t += 1;
        Ok(())
    }

    state_solver_methods!();
}
