//! MA-SOBA (Chen, Xu & Zhang, "Optimal Algorithms for Stochastic Bilevel Optimization under
//! Relaxed Smoothness Conditions", arXiv 2306.12067, Algorithm 1): SOBA with a moving average
//! of the x-direction.

use lisse_core::solver::StepSize;
use lisse_core::{Error, OracleCounts, Result, Solver, StreamRng};
use nalgebra::DVector;
use serde::{Deserialize, Serialize};

use super::{check_start, check_step};
use crate::problem::{BilevelCounts, BilevelProblem, LowerLevel, UpperLevel};

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
            inner_step: StepSize::Decaying {
                eta0: inner_step,
                power: 0.5,
            },
            outer_step: StepSize::Decaying {
                eta0: outer_step,
                power: 0.5,
            },
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
    problem: BilevelProblem<F, G>,
    config: MaSobaConfig,
    x: DVector<f64>,
    y: DVector<f64>,
    z: DVector<f64>,
    h: DVector<f64>,
    w: DVector<f64>,
    cross: DVector<f64>,
    dy: DVector<f64>,
    dz: DVector<f64>,
    gy: DVector<f64>,
    t: u64,
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
        check_start(&problem, &x0, &y0)?;
        check_step("inner_step", config.inner_step)?;
        check_step("outer_step", config.outer_step)?;
        if !(config.averaging > 0.0 && config.averaging <= 1.0) {
            return Err(Error::invalid(
                "averaging theta",
                config.averaging,
                "in (0, 1]",
            ));
        }
        let (dx, dy) = (problem.dim_x(), problem.dim_y());
        Ok(Self {
            problem,
            config,
            x: x0,
            y: y0,
            z: DVector::zeros(dy),
            h: DVector::zeros(dx),
            w: DVector::zeros(dx),
            cross: DVector::zeros(dx),
            dy: DVector::zeros(dy),
            dz: DVector::zeros(dy),
            gy: DVector::zeros(dy),
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

impl<F: UpperLevel, G: LowerLevel> Solver for MaSoba<F, G> {
    fn name(&self) -> &'static str {
        "ma-soba"
    }

    fn step(&mut self, rng: &mut StreamRng) -> Result<()> {
        let p = &self.problem;
        p.lower_directions(
            &self.x,
            &self.y,
            &self.z,
            rng,
            &mut self.dy,
            &mut self.dz,
            &mut self.cross,
        )?;
        p.upper_grads(&self.x, &self.y, rng, &mut self.w, &mut self.gy)?;
        self.dz -= &self.gy;
        self.w -= &self.cross;
        let gamma = self.config.inner_step.at(self.t);
        let alpha = self.config.outer_step.at(self.t);
        let theta = self.config.averaging;
        self.y.axpy(-gamma, &self.dy, 1.0);
        self.z.axpy(-gamma, &self.dz, 1.0);
        self.h.axpy(theta, &self.w, 1.0 - theta);
        self.x.axpy(-alpha, &self.h, 1.0);
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
