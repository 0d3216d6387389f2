//! AmIGO (Arbel & Mairal, "Amortized Implicit Differentiation for Stochastic Bilevel
//! Optimization", ICLR 2022, Algorithm 1 with SGD inner solvers).

use lisse_core::solver::StepSize;
use lisse_core::{Result, Solver, StreamRng};
use nalgebra::DVector;
use serde::{Deserialize, Serialize};

use super::state::BilevelState;
use super::{check_count, check_steps};
use crate::problem::{BilevelProblem, LowerLevel, UpperLevel};

/// Parameters of [`Amigo`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AmigoConfig {
    /// T ≥ 1 warm-started SGD steps on y per iteration.
    pub inner_steps: usize,
    /// α of the y steps.
    pub inner_step: StepSize,
    /// M ≥ 1 warm-started SGD steps on z per iteration.
    pub linear_steps: usize,
    /// ν of the z steps.
    pub linear_step: StepSize,
    /// β_t of the x-step.
    pub outer_step: StepSize,
}

impl AmigoConfig {
    /// benchopt's defaults: 10 steps on y and on z, constant steps (exponent 0), ν = α.
    pub fn new(inner_step: f64, outer_step: f64) -> Self {
        Self {
            inner_steps: 10,
            inner_step: StepSize::Constant(inner_step),
            linear_steps: 10,
            linear_step: StepSize::Constant(inner_step),
            outer_step: StepSize::Constant(outer_step),
        }
    }
}

/// AmIGO: warm-started inner solvers for both y and z, then one x-step:
///
/// ```text
/// T times: y ← y − α ∇ᵧG(x, y; ζ)
/// M times: z ← z − ν(∇²ᵧᵧG(x, y; ζ)·z − ∇ᵧF(x, y; ξ))     (SGD on ½zᵀHz − zᵀ∇ᵧf)
/// x ← x − β_t(∇ₓF(x, y; ξ') − ∇²ₓᵧG(x, y; ζ')·z)
/// ```
///
/// Oracle calls per iteration: T ∇ᵧg, M HVPs and M ∇ᵧf, one ∇ₓf, one cross.
#[derive(Debug)]
pub struct Amigo<F: UpperLevel, G: LowerLevel> {
    state: BilevelState<F, G>,
    config: AmigoConfig,
    /// z ≈ [∇²ᵧᵧg]⁻¹∇ᵧf, warm-started across iterations (z₀ = 0).
    z: DVector<f64>,
    cross: DVector<f64>,
    grad_y_upper: DVector<f64>,
    hz: DVector<f64>,
}

impl<F: UpperLevel, G: LowerLevel> Amigo<F, G> {
    /// AmIGO from (x₀, y₀), z₀ = 0.
    ///
    /// # Errors
    /// Wrong lengths or non-finite start, invalid steps or counts.
    pub fn new(
        problem: BilevelProblem<F, G>,
        config: AmigoConfig,
        x0: DVector<f64>,
        y0: DVector<f64>,
    ) -> Result<Self> {
        let state = BilevelState::new(problem, x0, y0)?;
        check_count("inner_steps", config.inner_steps)?;
        check_count("linear_steps", config.linear_steps)?;
        check_steps(&[
            ("inner_step", config.inner_step),
            ("linear_step", config.linear_step),
            ("outer_step", config.outer_step),
        ])?;
        let (dx, dy) = (state.x.len(), state.y.len());
        Ok(Self {
            state,
            config,
            z: DVector::zeros(dy),
            cross: DVector::zeros(dx),
            grad_y_upper: DVector::zeros(dy),
            hz: DVector::zeros(dy),
        })
    }

    state_accessors!();
}

impl<F: UpperLevel, G: LowerLevel> Solver for Amigo<F, G> {
    fn name(&self) -> &'static str {
        "amigo"
    }

    fn step(&mut self, rng: &mut StreamRng) -> Result<()> {
        let c = self.config;
        let s = &mut self.state;
        s.lower_sgd(c.inner_steps, c.inner_step.at(s.t), rng)?;
        let (p, x, y) = (&s.problem, &s.x, &s.y);
        let nu = c.linear_step.at(s.t);
        for _ in 0..c.linear_steps {
            p.hvp_yy(x, y, &self.z, rng, &mut self.hz)?;
            p.upper_grad_y(x, y, rng, &mut self.grad_y_upper)?;
            self.hz -= &self.grad_y_upper;
            self.z.axpy(-nu, &self.hz, 1.0);
        }
        p.upper_grad_x(x, y, rng, &mut s.direction)?;
        p.hvp_xy(x, y, &self.z, rng, &mut self.cross)?;
        s.direction -= &self.cross;
        s.x.axpy(-c.outer_step.at(s.t), &s.direction, 1.0);
        s.t += 1;
        Ok(())
    }

    state_solver_methods!();
}
