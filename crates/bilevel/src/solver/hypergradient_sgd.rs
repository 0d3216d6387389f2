//! SGD and normalized SGD on a hypergradient estimate (ablations of BO-REP's ingredients).

use lisse_core::solver::StepSize;
use lisse_core::{Error, OracleCounts, Result, Solver, StreamRng};
use nalgebra::DVector;
use serde::{Deserialize, Serialize};

use super::{check_count, check_start, check_step, lower_sgd};
use crate::hypergradient::HypergradientEstimator;
use crate::problem::{BilevelCounts, BilevelProblem, LowerLevel, UpperLevel};

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
    problem: BilevelProblem<F, G>,
    estimator: E,
    config: HypergradientSgdConfig,
    x: DVector<f64>,
    y: DVector<f64>,
    h: DVector<f64>,
    m: DVector<f64>,
    buf: DVector<f64>,
    t: u64,
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
        check_start(&problem, &x0, &y0)?;
        check_count("inner_steps", config.inner_steps)?;
        check_step("inner_step", config.inner_step)?;
        check_step("outer_step", config.outer_step)?;
        if !(config.momentum.is_finite() && (0.0..1.0).contains(&config.momentum)) {
            return Err(Error::invalid("momentum", config.momentum, "in [0, 1)"));
        }
        let (dx, dy) = (problem.dim_x(), problem.dim_y());
        Ok(Self {
            problem,
            estimator,
            config,
            x: x0,
            y: y0,
            h: DVector::zeros(dx),
            m: DVector::zeros(dx),
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
        self.m.axpy(1.0 - c.momentum, &self.h, c.momentum);
        let eta = c.outer_step.at(self.t);
        if c.normalized {
            let norm = self.m.norm();
            if norm > 0.0 {
                self.x.axpy(-eta / norm, &self.m, 1.0);
            }
        } else {
            self.x.axpy(-eta, &self.m, 1.0);
        }
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
