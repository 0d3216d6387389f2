//! StocBiO (Ji, Yang & Liang, "Bilevel Optimization: Convergence Analysis and Enhanced
//! Design", ICML 2021, Algorithm 2).

use lisse_core::solver::StepSize;
use lisse_core::{Result, Solver, StreamRng};
use nalgebra::DVector;
use serde::{Deserialize, Serialize};

use super::state::BilevelState;
use super::{check_count, check_inner_outer};
use crate::hypergradient::TruncatedNeumann;
use crate::problem::{BilevelProblem, LowerLevel, UpperLevel};

/// Parameters of [`StocBio`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StocBioConfig {
    /// D ≥ 1 warm-started SGD steps on y per iteration.
    pub inner_steps: usize,
    /// α_t of the lower SGD (t counts iterations).
    pub inner_step: StepSize,
    /// β_t of the x-step.
    pub outer_step: StepSize,
    /// Q HVPs of the truncated Neumann series (Q + 1 terms).
    pub neumann_steps: usize,
    /// η of the series; `None` for 1/C_g.
    pub neumann_eta: Option<f64>,
}

impl StocBioConfig {
    /// benchopt's defaults with constant steps (exponent 0): 10 inner steps, Q = 10.
    pub fn new(inner_step: f64, outer_step: f64) -> Self {
        Self {
            inner_steps: 10,
            inner_step: StepSize::Constant(inner_step),
            outer_step: StepSize::Constant(outer_step),
            neumann_steps: 10,
            neumann_eta: None,
        }
    }
}

/// StocBiO: per iteration, D warm-started SGD steps on y, then the truncated Neumann estimate
/// ([`TruncatedNeumann`], including its q = 0 term) and x ← x − β_t ĥ.
///
/// Oracle calls per iteration: D ∇ᵧg, one ∇ₓf and one ∇ᵧf (one sample), Q HVPs, one cross.
#[derive(Debug)]
pub struct StocBio<F: UpperLevel, G: LowerLevel> {
    state: BilevelState<F, G>,
    config: StocBioConfig,
    estimator: TruncatedNeumann,
}

impl<F: UpperLevel, G: LowerLevel> StocBio<F, G> {
    /// StocBiO from (x₀, y₀).
    ///
    /// # Errors
    /// Wrong lengths or non-finite start, invalid steps or counts.
    pub fn new(
        problem: BilevelProblem<F, G>,
        config: StocBioConfig,
        x0: DVector<f64>,
        y0: DVector<f64>,
    ) -> Result<Self> {
        let state = BilevelState::new(problem, x0, y0)?;
        check_count("inner_steps", config.inner_steps)?;
        check_inner_outer(config.inner_step, config.outer_step)?;
        let mut estimator = TruncatedNeumann::new(config.neumann_steps);
        if let Some(eta) = config.neumann_eta {
            estimator = estimator.with_eta(eta)?;
        }
        Ok(Self {
            state,
            config,
            estimator,
        })
    }

    state_accessors!();
}

impl<F: UpperLevel, G: LowerLevel> Solver for StocBio<F, G> {
    fn name(&self) -> &'static str {
        "stocbio"
    }

    fn step(&mut self, rng: &mut StreamRng) -> Result<()> {
        let c = &self.config;
        self.state.sgd_on_estimate(
            c.inner_steps,
            c.inner_step,
            c.outer_step,
            &mut self.estimator,
            rng,
        )
    }

    state_solver_methods!();
}
