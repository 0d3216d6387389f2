//! SOBA (Dagréou, Ablin, Vaiter & Moreau, "A framework for bilevel optimization that enables
//! stochastic and global variance reduction algorithms", NeurIPS 2022, eq. (6)–(7)).

use lisse_core::solver::StepSize;
use lisse_core::{OracleCounts, Result, Solver, StreamRng};
use nalgebra::DVector;
use serde::{Deserialize, Serialize};

use super::{check_start, check_step};
use crate::problem::{BilevelCounts, BilevelProblem, LowerLevel, UpperLevel};

/// Parameters of [`Soba`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SobaConfig {
    /// ρ_t, the step of y and z.
    pub inner_step: StepSize,
    /// γ_t, the step of x.
    pub outer_step: StepSize,
}

impl SobaConfig {
    /// benchopt's exponents for SOBA: ρ_t = a/(t+1)^{1/2}, γ_t = b/(t+1)^{1/2}.
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
        }
    }
}

/// SOBA: three directions at the current (x, y, z), then one joint step:
///
/// ```text
/// D_y = ∇ᵧG(x, y; ζ₁)
/// D_z = ∇²ᵧᵧG(x, y; ζ₂)·z − ∇ᵧF(x, y; ξ)
/// D_x = ∇ₓF(x, y; ξ) − ∇²ₓᵧG(x, y; ζ₃)·z
/// y ← y − ρ_t D_y,  z ← z − ρ_t D_z,  x ← x − γ_t D_x
/// ```
///
/// (z = −v of the paper.) As in the paper's implementation, ∇ᵧG, ∇²ᵧᵧG·z and ∇²ₓᵧG·z share
/// one lower sample ζ (ζ₁ = ζ₂ = ζ₃ above), and ∇ₓF, ∇ᵧF one upper sample ξ. Per iteration:
/// two draws (one of g, one of f) and one call each of ∇ᵧg, HVP, cross, ∇ₓf, ∇ᵧf.
#[derive(Debug)]
pub struct Soba<F: UpperLevel, G: LowerLevel> {
    problem: BilevelProblem<F, G>,
    config: SobaConfig,
    x: DVector<f64>,
    y: DVector<f64>,
    z: DVector<f64>,
    dx: DVector<f64>,
    dy: DVector<f64>,
    dz: DVector<f64>,
    gy: DVector<f64>,
    cross: DVector<f64>,
    t: u64,
}

impl<F: UpperLevel, G: LowerLevel> Soba<F, G> {
    /// SOBA from (x₀, y₀) and z₀ = 0.
    ///
    /// # Errors
    /// Wrong lengths or non-finite start, invalid steps.
    pub fn new(
        problem: BilevelProblem<F, G>,
        config: SobaConfig,
        x0: DVector<f64>,
        y0: DVector<f64>,
    ) -> Result<Self> {
        check_start(&problem, &x0, &y0)?;
        check_step("inner_step", config.inner_step)?;
        check_step("outer_step", config.outer_step)?;
        let (dx, dy) = (problem.dim_x(), problem.dim_y());
        Ok(Self {
            problem,
            config,
            x: x0,
            y: y0,
            z: DVector::zeros(dy),
            dx: DVector::zeros(dx),
            dy: DVector::zeros(dy),
            dz: DVector::zeros(dy),
            gy: DVector::zeros(dy),
            cross: DVector::zeros(dx),
            t: 0,
        })
    }

    /// The lower variable y.
    pub fn lower(&self) -> &DVector<f64> {
        &self.y
    }

    /// The linear-system variable z ≈ [∇²ᵧᵧg]⁻¹∇ᵧf.
    pub fn linear_system(&self) -> &DVector<f64> {
        &self.z
    }

    /// Calls by block.
    pub fn bilevel_counts(&self) -> BilevelCounts {
        self.problem.bilevel_counts()
    }
}

impl<F: UpperLevel, G: LowerLevel> Solver for Soba<F, G> {
    fn name(&self) -> &'static str {
        "soba"
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
        p.upper_grads(&self.x, &self.y, rng, &mut self.dx, &mut self.gy)?;
        self.dz -= &self.gy;
        self.dx -= &self.cross;
        let rho = self.config.inner_step.at(self.t);
        let gamma = self.config.outer_step.at(self.t);
        self.y.axpy(-rho, &self.dy, 1.0);
        self.z.axpy(-rho, &self.dz, 1.0);
        self.x.axpy(-gamma, &self.dx, 1.0);
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
