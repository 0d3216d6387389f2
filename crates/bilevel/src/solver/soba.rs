//! SOBA (Dagréou, Ablin, Vaiter & Moreau, "A framework for bilevel optimization that enables
//! stochastic and global variance reduction algorithms", NeurIPS 2022, eq. (6)–(7)).

use lisse_core::solver::StepSize;
use lisse_core::{Result, Solver, StreamRng};
use nalgebra::DVector;
use serde::{Deserialize, Serialize};

use super::state::{BilevelState, SobaDirections};
use super::{check_inner_outer, decaying};
use crate::problem::{BilevelProblem, LowerLevel, UpperLevel};

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
            inner_step: decaying(inner_step, 0.5),
            outer_step: decaying(outer_step, 0.5),
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
    state: BilevelState<F, G>,
    config: SobaConfig,
    directions: SobaDirections,
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
        let state = BilevelState::new(problem, x0, y0)?;
        check_inner_outer(config.inner_step, config.outer_step)?;
        let directions = SobaDirections::new(state.x.len(), state.y.len());
        Ok(Self {
            state,
            config,
            directions,
        })
    }

    /// The linear-system variable z ≈ [∇²ᵧᵧg]⁻¹∇ᵧf.
    pub fn linear_system(&self) -> &DVector<f64> {
        &self.directions.z
    }

    state_accessors!();
}

impl<F: UpperLevel, G: LowerLevel> Solver for Soba<F, G> {
    fn name(&self) -> &'static str {
        "soba"
    }

    fn step(&mut self, rng: &mut StreamRng) -> Result<()> {
        let s = &mut self.state;
        self.directions.compute(s, rng)?;
        let rho = self.config.inner_step.at(s.t);
        let gamma = self.config.outer_step.at(s.t);
        self.directions.step_lower(&mut s.y, rho);
        crate::elementwise::axpy(&mut s.x, -gamma, &s.direction, 1.0);
        s.t += 1;
        Ok(())
    }

    state_solver_methods!();
}
