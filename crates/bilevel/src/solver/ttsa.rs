//! TTSA, the two-timescale stochastic approximation of Hong, Wai, Wang & Yang ("A
//! Two-Timescale Stochastic Algorithm Framework for Bilevel Optimization", SIAM J. Optim.
//! 2023, Algorithm 1).

use lisse_core::solver::StepSize;
use lisse_core::{OracleCounts, Result, Solver, StreamRng};
use nalgebra::DVector;
use serde::{Deserialize, Serialize};

use super::{check_start, check_step, lower_sgd};
use crate::hypergradient::{HypergradientEstimator, RandomizedNeumann};
use crate::problem::{BilevelCounts, BilevelProblem, LowerLevel, UpperLevel};

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
            inner_step: StepSize::Decaying {
                eta0: inner_step,
                power: 0.4,
            },
            outer_step: StepSize::Decaying {
                eta0: outer_step,
                power: 0.6,
            },
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
    problem: BilevelProblem<F, G>,
    config: TtsaConfig,
    estimator: RandomizedNeumann,
    x: DVector<f64>,
    y: DVector<f64>,
    h: DVector<f64>,
    buf: DVector<f64>,
    t: u64,
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
        check_start(&problem, &x0, &y0)?;
        check_step("inner_step", config.inner_step)?;
        check_step("outer_step", config.outer_step)?;
        let mut estimator = RandomizedNeumann::new(config.neumann_terms)?;
        if let Some(c) = config.neumann_smoothness {
            estimator = estimator.with_smoothness(c)?;
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

impl<F: UpperLevel, G: LowerLevel> Solver for Ttsa<F, G> {
    fn name(&self) -> &'static str {
        "ttsa"
    }

    fn step(&mut self, rng: &mut StreamRng) -> Result<()> {
        let c = &self.config;
        lower_sgd(
            &self.problem,
            &self.x,
            &mut self.y,
            1,
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
