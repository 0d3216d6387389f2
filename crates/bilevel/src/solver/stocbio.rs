//! StocBiO (Ji, Yang & Liang, "Bilevel Optimization: Convergence Analysis and Enhanced
//! Design", ICML 2021, Algorithm 2).

use lisse_core::solver::StepSize;
use lisse_core::{OracleCounts, Result, Solver, StreamRng};
use nalgebra::DVector;
use serde::{Deserialize, Serialize};

use super::{check_count, check_start, check_step, lower_sgd};
use crate::hypergradient::{HypergradientEstimator, TruncatedNeumann};
use crate::problem::{BilevelCounts, BilevelProblem, LowerLevel, UpperLevel};

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
    problem: BilevelProblem<F, G>,
    config: StocBioConfig,
    estimator: TruncatedNeumann,
    x: DVector<f64>,
    y: DVector<f64>,
    h: DVector<f64>,
    buf: DVector<f64>,
    t: u64,
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
        check_start(&problem, &x0, &y0)?;
        check_count("inner_steps", config.inner_steps)?;
        check_step("inner_step", config.inner_step)?;
        check_step("outer_step", config.outer_step)?;
        let mut estimator = TruncatedNeumann::new(config.neumann_steps);
        if let Some(eta) = config.neumann_eta {
            estimator = estimator.with_eta(eta)?;
        }
        let (dx, dy) = (problem.dim_x(), problem.dim_y());
        Ok(Self {
            problem,
            config,
            estimator,
            x: x0,
            y: y0,
            h: DVector::zeros(dx),
            buf: DVector::zeros(dy),
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

impl<F: UpperLevel, G: LowerLevel> Solver for StocBio<F, G> {
    fn name(&self) -> &'static str {
        "stocbio"
    }

    fn step(&mut self, rng: &mut StreamRng) -> Result<()> {
        let c = &self.config;
        lower_sgd(
            &self.problem,
            &self.x,
            &mut self.y,
            c.inner_steps,
            c.inner_step.at(self.t),
            rng,
            &mut self.buf,
            None,
        )?;
        self.estimator
            .estimate(&self.problem, &self.x, &self.y, rng, &mut self.h)?;
        self.x.axpy(-c.outer_step.at(self.t), &self.h, 1.0);
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
