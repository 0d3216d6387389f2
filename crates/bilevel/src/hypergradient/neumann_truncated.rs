//! The truncated Neumann-series estimator of StocBiO (Ji, Yang & Liang, ICML 2021, eq. (9)).

use lisse_core::{Error, Result, check_positive};
use nalgebra::DVector;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::{HypergradientEstimator, Scratch};
use crate::problem::{BilevelProblem, LowerLevel, UpperLevel};

/// z = η Σ_{q=0}^{Q} Π_{j=1}^{q} (I − η∇²ᵧᵧG(Bⱼ)) ∇ᵧF(ξ),  ĥ = ∇ₓF(ξ) − ∇²ₓᵧG(B₀) z.
///
/// Q + 1 terms including q = 0 (∇ᵧF itself); the batches B₁..B_Q are shared across terms (the
/// recursion v ← v − ηHv, s ← s + v computes every term with Q HVPs). In expectation
/// z = H⁻¹(I − (I − ηH)^{Q+1})∇ᵧf, bias ≤ ‖∇²ₓᵧg‖‖∇ᵧf‖(1 − ημ)^{Q+1}/μ for η ≤ 1/C_g.
/// Public variants that drop the q = 0 term (a lab's StocBiO) are not reproduced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TruncatedNeumann {
    steps: usize,
    eta: Option<f64>,
    #[serde(skip)]
    scratch: Scratch,
}

impl TruncatedNeumann {
    /// Q = `steps` HVPs per estimate (Q = 0 gives z = η∇ᵧF), η = 1/C_g of the problem.
    pub fn new(steps: usize) -> Self {
        Self {
            steps,
            eta: None,
            scratch: Scratch::default(),
        }
    }

    /// Uses the step η instead of 1/C_g.
    ///
    /// # Errors
    /// A non-positive or non-finite η.
    pub fn with_eta(mut self, eta: f64) -> Result<Self> {
        check_positive("Neumann step eta", eta)?;
        self.eta = Some(eta);
        Ok(self)
    }

    /// Q.
    pub fn steps(&self) -> usize {
        self.steps
    }
}

impl HypergradientEstimator for TruncatedNeumann {
    fn name(&self) -> &'static str {
        "neumann-truncated"
    }

    fn estimate<F: UpperLevel, G: LowerLevel, R: Rng + ?Sized>(
        &mut self,
        problem: &BilevelProblem<F, G>,
        x: &DVector<f64>,
        y: &DVector<f64>,
        rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        let eta = self.eta.unwrap_or(1.0 / problem.constants().smoothness);
        if eta * problem.constants().mu >= 2.0 {
            return Err(Error::invalid(
                "Neumann step eta",
                eta,
                format!(
                    "below 2/mu = {} (the series diverges otherwise); take eta <= 1/C_g",
                    2.0 / problem.constants().mu
                ),
            ));
        }
        let s = &mut self.scratch;
        s.ensure(problem.dim_x(), problem.dim_y());
        problem.upper_grads(x, y, rng, &mut s.gx, &mut s.gy)?;
        s.v.copy_from(&s.gy);
        s.s.copy_from(&s.gy);
        for _ in 0..self.steps {
            problem.hvp_yy(x, y, &s.v, rng, &mut s.w)?;
            s.v.axpy(-eta, &s.w, 1.0);
            s.s += &s.v;
        }
        s.s *= eta;
        problem.hvp_xy(x, y, &s.s, rng, out)?;
        out.axpy(1.0, &s.gx, -1.0);
        Ok(())
    }
}
