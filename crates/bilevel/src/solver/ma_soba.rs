//! MA-SOBA (Chen, Xu & Zhang, "Optimal Algorithms for Stochastic Bilevel Optimization under
//! Relaxed Smoothness Conditions", arXiv 2306.12067, Algorithm 1): SOBA with a moving average
//! of the x-direction.

use lisse_core::solver::StepSize;
use lisse_core::{Error, Result, Solver, StreamRng};
use nalgebra::DVector;
use serde::{Deserialize, Serialize};

use super::state::{BilevelState, SobaDirections};
use super::{check_inner_outer, decaying};
use crate::problem::{BilevelProblem, LowerLevel, UpperLevel};

/// Parameters of [`MaSoba`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MaSobaConfig {
    /// γ_t, the step of y and z.
    pub inner_step: StepSize,
    /// α_t, the step of x.
    pub outer_step: StepSize,
    /// θ ∈ (0, 1], the weight of the new direction in the moving average.
    pub averaging: f64,
}

impl MaSobaConfig {
    /// Steps a/(t+1)^{1/2} and b/(t+1)^{1/2} (the analysis takes all three Θ(1/√T) for a
    /// horizon T; this is the anytime form, as benchopt's SOBA); θ = 0.1 (β = 0.9 in the lab's
    /// code).
    pub fn new(inner_step: f64, outer_step: f64) -> Self {
        Self {
            inner_step: decaying(inner_step, 0.5),
            outer_step: decaying(outer_step, 0.5),
            averaging: 0.1,
        }
    }
}

/// MA-SOBA:
///
/// ```text
/// w = ∇ₓF(x, y; ξ) − ∇²ₓᵧG(x, y; ζ₃)·z
/// y ← y − γ_t ∇ᵧG(x, y; ζ₁),  z ← z − γ_t(∇²ᵧᵧG(x, y; ζ₂)·z − ∇ᵧF(x, y; ξ))
/// h ← (1 − θ) h + θ w,  x ← x − α_t h          (h₀ = 0)
/// ```
///
/// The paper may also project z onto a ball; this version does not (no radius is known for
/// generic problems). Oracle calls per iteration as SOBA.
#[derive(Debug)]
pub struct MaSoba<F: UpperLevel, G: LowerLevel> {
    state: BilevelState<F, G>,
    config: MaSobaConfig,
    directions: SobaDirections,
    /// The moving average h of the x-directions.
    average: DVector<f64>,
}

impl<F: UpperLevel, G: LowerLevel> MaSoba<F, G> {
    /// MA-SOBA from (x₀, y₀), z₀ = 0, h₀ = 0.
    ///
    /// # Errors
    /// Wrong lengths or non-finite start, invalid steps, θ outside (0, 1].
    pub fn new(
        problem: BilevelProblem<F, G>,
        config: MaSobaConfig,
        x0: DVector<f64>,
        y0: DVector<f64>,
    ) -> Result<Self> {
        let state = BilevelState::new(problem, x0, y0)?;
        check_inner_outer(config.inner_step, config.outer_step)?;
        if !(config.averaging > 0.0 && config.averaging <= 1.0) {
            return Err(Error::invalid(
                "averaging theta",
                config.averaging,
                "in (0, 1]",
            ));
        }
        let (dx, dy) = (state.x.len(), state.y.len());
        Ok(Self {
            state,
            config,
            directions: SobaDirections::new(dx, dy),
            average: DVector::zeros(dx),
        })
    }

    state_accessors!();
}

impl<F: UpperLevel, G: LowerLevel> Solver for MaSoba<F, G> {
    fn name(&self) -> &'static str {
        "ma-soba"
    }

    /// SOBA's directions (w = D_x), y and z steps (γ_t), then h ← (1 − θ)h + θw and
    /// x ← x − α_t h.
    fn step(&mut self, rng: &mut StreamRng) -> Result<()> {
        let s = &mut self.state;
        self.directions.compute(s, rng)?;
        let gamma = self.config.inner_step.at(s.t);
        let alpha = self.config.outer_step.at(s.t);
        let theta = self.config.averaging;
        self.directions.step_lower(&mut s.y, gamma);
        self.average.axpy(theta, &s.direction, 1.0 - theta);
        s.x.axpy(-alpha, &self.average, 1.0);
        s.t += 1;
        Ok(())
    }

    state_solver_methods!();
}
