//! The warm-started linear-system iterate of SOBA (Dagréou, Ablin, Vaiter & Moreau, NeurIPS
//! 2022, eq. (6)), which BO-REP's public code runs.

use lisse_core::Result;
use lisse_core::solver::{StepSchedule, StepSize};
use nalgebra::DVector;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::{HypergradientEstimator, Scratch};
use crate::problem::{BilevelProblem, LowerLevel, UpperLevel};

/// A persistent z ≈ [∇²ᵧᵧg]⁻¹∇ᵧf moved by one SGD step on ½zᵀHz − zᵀ∇ᵧf per estimate:
///
/// z ← z − ν_t (∇²ᵧᵧG(x, y; ζ₁) z − ∇ᵧF(x, y; ξ)),  ĥ = ∇ₓF(x, y; ξ) − ∇²ₓᵧG(x, y; ζ₂) z.
///
/// z starts at 0 (BO-REP's code draws it Xavier-uniform; SOBA's paper starts at 0). The step
/// ν_t follows a [`StepSize`] schedule in the number of estimates t (BO-REP's code: constant
/// 1e-2). ĥ uses the updated z, as BO-REP's code does.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinearSystem {
    step: StepSize,
    t: u64,
    z: DVector<f64>,
    #[serde(skip)]
    scratch: Scratch,
}

impl LinearSystem {
    /// A persistent z with step schedule ν_t.
    ///
    /// # Errors
    /// An invalid step size.
    pub fn new(step: StepSize) -> Result<Self> {
        step.validate()?;
        Ok(Self {
            step,
            t: 0,
            z: DVector::zeros(0),
            scratch: Scratch::default(),
        })
    }

    /// The current z.
    pub fn z(&self) -> &DVector<f64> {
        &self.z
    }
}

impl HypergradientEstimator for LinearSystem {
    fn name(&self) -> &'static str {
        "linear-system"
    }

    fn estimate<F: UpperLevel, G: LowerLevel, R: Rng + ?Sized>(
        &mut self,
        problem: &BilevelProblem<F, G>,
        x: &DVector<f64>,
        y: &DVector<f64>,
        rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        let s = &mut self.scratch;
        s.ensure(problem.dim_x(), problem.dim_y());
        if self.z.len() != problem.dim_y() {
            self.z = DVector::zeros(problem.dim_y());
        }
        let nu = self.step.at(self.t);
        self.t += 1;
        problem.upper_grads(x, y, rng, &mut s.gx, &mut s.gy)?;
        problem.hvp_yy(x, y, &self.z, rng, &mut s.w)?;
        s.w -= &s.gy;
        self.z.axpy(-nu, &s.w, 1.0);
        problem.hvp_xy(x, y, &self.z, rng, out)?;
        out.axpy(1.0, &s.gx, -1.0);
        Ok(())
    }

    fn reset(&mut self) {
        self.z.fill(0.0);
        self.t = 0;
    }
}
