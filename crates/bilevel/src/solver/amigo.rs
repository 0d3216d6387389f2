//! AmIGO (Arbel & Mairal, "Amortized Implicit Differentiation for Stochastic Bilevel
//! Optimization", ICLR 2022, Algorithm 1 with SGD inner solvers).

use lisse_core::solver::StepSize;
use lisse_core::{OracleCounts, Result, Solver, StreamRng};
use nalgebra::DVector;
use serde::{Deserialize, Serialize};

use super::{check_count, check_start, check_step, lower_sgd};
use crate::problem::{BilevelCounts, BilevelProblem, LowerLevel, UpperLevel};

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
    problem: BilevelProblem<F, G>,
    config: AmigoConfig,
    x: DVector<f64>,
    y: DVector<f64>,
    z: DVector<f64>,
    gx: DVector<f64>,
    cross: DVector<f64>,
    gy: DVector<f64>,
    hz: DVector<f64>,
    t: u64,
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
        check_start(&problem, &x0, &y0)?;
        check_count("inner_steps", config.inner_steps)?;
        check_count("linear_steps", config.linear_steps)?;
        check_step("inner_step", config.inner_step)?;
        check_step("linear_step", config.linear_step)?;
        check_step("outer_step", config.outer_step)?;
        let (dx, dy) = (problem.dim_x(), problem.dim_y());
        Ok(Self {
            problem,
            config,
            x: x0,
            y: y0,
            z: DVector::zeros(dy),
            gx: DVector::zeros(dx),
            cross: DVector::zeros(dx),
            gy: DVector::zeros(dy),
            hz: DVector::zeros(dy),
            t: 0,
        })
    }

    /// The lower variable y.
    pub fn lower(&self) -> &DVector<f64> {
        &self.y
    }

    /// Calls by block.
    pub fn bilevel_counts(&self) -> BilevelCounts {
        self.problem.bilevel_counts()
    }
}

impl<F: UpperLevel, G: LowerLevel> Solver for Amigo<F, G> {
    fn name(&self) -> &'static str {
        "amigo"
    }

    fn step(&mut self, rng: &mut StreamRng) -> Result<()> {
        let c = self.config;
        let p = &self.problem;
        lower_sgd(
            p,
            &self.x,
            &mut self.y,
            c.inner_steps,
            c.inner_step.at(self.t),
            rng,
            &mut self.gy,
            None,
        )?;
        let nu = c.linear_step.at(self.t);
        for _ in 0..c.linear_steps {
            p.hvp_yy(&self.x, &self.y, &self.z, rng, &mut self.hz)?;
            p.upper_grad_y(&self.x, &self.y, rng, &mut self.gy)?;
            self.hz -= &self.gy;
            self.z.axpy(-nu, &self.hz, 1.0);
        }
        p.upper_grad_x(&self.x, &self.y, rng, &mut self.gx)?;
        p.hvp_xy(&self.x, &self.y, &self.z, rng, &mut self.cross)?;
        self.gx -= &self.cross;
        self.x.axpy(-c.outer_step.at(self.t), &self.gx, 1.0);
        self.t += 1;
        Ok(())
    }

    fn iterate(&self) -> &DVector<f64> {
        &self.x
    }

    fn lower_iterate(&self) -> Option<&DVector<f64>> {
        Some(&self.y)
    }

    fn counts(&self) -> OracleCounts {
        self.problem.counts()
    }
}
