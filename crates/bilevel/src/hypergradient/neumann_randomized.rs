//! The randomized Neumann-series estimator (Ghadimi & Wang 2018, eq. (3.3); Hong et al.,
//! TTSA, SIAM J. Optim. 2023, eq. (8)); the estimator of BO-REP's analysis.

use lisse_core::{Error, Result, check_positive};
use nalgebra::DVector;
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use super::{HypergradientEstimator, Scratch};
use crate::problem::{BilevelProblem, LowerLevel, UpperLevel};

/// ĥ = ∇ₓF(ξ) − ∇²ₓᵧG(ζ⁰) · (Q/C_g) Π_{j=1}^{q} (I − ∇²ᵧᵧG(ζʲ)/C_g) · ∇ᵧF(ξ),
/// q ~ Uniform{0, …, Q−1}, all samples independent.
///
/// Its mean is ∇ₓf − ∇²ₓᵧg H⁻¹(I − (I − H/C_g)^Q)∇ᵧf (H = ∇²ᵧᵧg; q = 0 is the empty product),
/// so the bias against ∇̄f is at most ‖∇²ₓᵧg‖ ‖∇ᵧf‖ (1 − μ/C_g)^Q / μ. Cost per estimate: q HVPs
/// ((Q−1)/2 on average), one cross product, one ∇F pair.
///
/// Public code that drops the Q factor or the q = 0 term (a lab's TTSA) estimates a scaled,
/// biased quantity; this is the textbook form (as benchopt's `hia`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RandomizedNeumann {
    terms: usize,
    smoothness: Option<f64>,
    #[serde(skip)]
    last_q: usize,
    #[serde(skip)]
    scratch: Scratch,
}

impl RandomizedNeumann {
    /// Q = `terms` ≥ 1; C_g = the problem's [`LowerConstants::smoothness`](crate::problem::LowerConstants).
    ///
    /// # Errors
    /// `terms` = 0.
    pub fn new(terms: usize) -> Result<Self> {
        if terms == 0 {
            return Err(Error::invalid("terms Q", 0, "at least 1"));
        }
        Ok(Self {
            terms,
            smoothness: None,
            last_q: 0,
            scratch: Scratch::default(),
        })
    }

    /// Uses C_g = `smoothness` instead of the problem's constant (it must be at least the
    /// smoothness of every ∇ᵧG(x, ·; ζ) for the bias bound to hold).
    ///
    /// # Errors
    /// A non-positive or non-finite `smoothness`.
    pub fn with_smoothness(mut self, smoothness: f64) -> Result<Self> {
        check_positive("smoothness C_g", smoothness)?;
        self.smoothness = Some(smoothness);
        Ok(self)
    }

    /// Q.
    pub fn terms(&self) -> usize {
        self.terms
    }

    /// The q drawn by the last estimate (= its number of HVPs).
    pub fn last_q(&self) -> usize {
        self.last_q
    }
}

impl HypergradientEstimator for RandomizedNeumann {
    fn name(&self) -> &'static str {
        "neumann-randomized"
    }

    fn estimate<F: UpperLevel, G: LowerLevel, R: Rng + ?Sized>(
        &mut self,
        problem: &BilevelProblem<F, G>,
        x: &DVector<f64>,
        y: &DVector<f64>,
        rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        let c_g = self.smoothness.unwrap_or(problem.constants().smoothness);
        let s = &mut self.scratch;
        s.ensure(problem.dim_x(), problem.dim_y());
        problem.upper_grads(x, y, rng, &mut s.gx, &mut s.gy)?;
        let q = rng.random_range(0..self.terms);
        self.last_q = q;
        s.v.copy_from(&s.gy);
        for _ in 0..q {
            problem.hvp_yy(x, y, &s.v, rng, &mut s.w)?;
            s.v.axpy(-1.0 / c_g, &s.w, 1.0);
        }
        s.v *= self.terms as f64 / c_g;
        problem.hvp_xy(x, y, &s.v, rng, out)?;
        out.axpy(1.0, &s.gx, -1.0);
        Ok(())
    }
}
