//! Implicit differentiation with conjugate gradient on Hessian-vector products (Blondel et
//! al., "Efficient and Modular Implicit Differentiation", NeurIPS 2022, §2; jaxopt's
//! `solve_cg` with `ridge`).

use lisse_core::{Error, Result, check_range};
use nalgebra::DVector;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::{HypergradientEstimator, Scratch};
use crate::problem::{BilevelProblem, LowerLevel, UpperLevel};

/// Solves (∇²ᵧᵧg(x, y) + ridge·I) z = ∇ᵧf(x, y) by conjugate gradient (Hestenes & Stiefel 1952)
/// with exact HVPs, then ĥ = ∇ₓf − ∇²ₓᵧg z.
///
/// Stops when ‖r‖ ≤ `tol`·‖∇ᵧf‖ or after `max_iter` HVPs (then z is CG's best so far; read
/// [`ConjugateGradient::last_residual`] to see how far it got). With `warm_start`, CG starts
/// from the previous solution. A Hessian that is not positive definite along a search
/// direction (pᵀHp ≤ 0) is a typed error: the lower level is not strongly convex there.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConjugateGradient {
    max_iter: usize,
    tol: f64,
    ridge: f64,
    warm_start: bool,
    z: DVector<f64>,
    #[serde(skip)]
    last_iterations: usize,
    #[serde(skip)]
    last_residual: f64,
    #[serde(skip)]
    scratch: Scratch,
}

impl ConjugateGradient {
    /// CG with at most `max_iter` HVPs per solve and relative tolerance `tol`, no ridge, cold
    /// start.
    ///
    /// # Errors
    /// `max_iter` = 0 or `tol` outside [0, 1).
    pub fn new(max_iter: usize, tol: f64) -> Result<Self> {
        if max_iter == 0 {
            return Err(Error::invalid("max_iter", 0, "at least 1"));
        }
        if !(tol.is_finite() && (0.0..1.0).contains(&tol)) {
            return Err(Error::invalid("tol", tol, "a finite number in [0, 1)"));
        }
        Ok(Self {
            max_iter,
            tol,
            ridge: 0.0,
            warm_start: false,
            z: DVector::zeros(0),
            last_iterations: 0,
            last_residual: 0.0,
            scratch: Scratch::default(),
        })
    }

    /// Adds ridge·I to the Hessian (as jaxopt's `ridge=`).
    ///
    /// # Errors
    /// A negative or non-finite ridge.
    pub fn with_ridge(mut self, ridge: f64) -> Result<Self> {
        check_range("ridge", ridge, 0.0, f64::INFINITY)?;
        self.ridge = ridge;
        Ok(self)
    }

    /// Starts each solve from the previous solution.
    #[must_use]
    pub fn warm_started(mut self) -> Self {
        self.warm_start = true;
        self
    }

    /// HVPs the last solve used.
    pub fn last_iterations(&self) -> usize {
        self.last_iterations
    }

    /// ‖r‖/‖∇ᵧf‖ at the end of the last solve.
    pub fn last_residual(&self) -> f64 {
        self.last_residual
    }
}

impl HypergradientEstimator for ConjugateGradient {
    fn name(&self) -> &'static str {
        "conjugate-gradient"
    }

    fn estimate<F: UpperLevel, G: LowerLevel, R: Rng + ?Sized>(
        &mut self,
        problem: &BilevelProblem<F, G>,
        x: &DVector<f64>,
        y: &DVector<f64>,
        _rng: &mut R,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        let dy = problem.dim_y();
        let s = &mut self.scratch;
        s.ensure(problem.dim_x(), dy);
        if self.z.len() != dy || !self.warm_start {
            self.z = DVector::zeros(dy);
        }
        problem.exact_upper_grads(x, y, &mut s.gx, &mut s.gy)?;
        let b_norm = s.gy.norm();
        // r = b − A z (s.v), p = r (s.s), A p in s.w.
        let mut used = 0;
        if self.z.iter().any(|&v| v != 0.0) {
            problem.exact_hvp_yy(x, y, &self.z, &mut s.w)?;
            s.w.axpy(self.ridge, &self.z, 1.0);
            used += 1;
            s.v.copy_from(&s.gy);
            s.v -= &s.w;
        } else {
            s.v.copy_from(&s.gy);
        }
        s.s.copy_from(&s.v);
        let mut rr = s.v.norm_squared();
        let target = (self.tol * b_norm).powi(2);
        while rr > target && used < self.max_iter {
            problem.exact_hvp_yy(x, y, &s.s, &mut s.w)?;
            s.w.axpy(self.ridge, &s.s, 1.0);
            used += 1;
            let pap = s.s.dot(&s.w);
            if pap.is_nan() || pap <= 0.0 {
                return Err(Error::invalid(
                    "lower-level Hessian (+ ridge) along a CG direction",
                    format!("pᵀHp = {pap}"),
                    "positive: the lower level must be strongly convex in y; add a ridge",
                ));
            }
            let alpha = rr / pap;
            self.z.axpy(alpha, &s.s, 1.0);
            s.v.axpy(-alpha, &s.w, 1.0);
            let rr_new = s.v.norm_squared();
            s.s.axpy(1.0, &s.v, rr_new / rr);
            rr = rr_new;
        }
        self.last_iterations = used;
        self.last_residual = if b_norm > 0.0 {
            rr.sqrt() / b_norm
        } else {
            0.0
        };
        problem.exact_hvp_xy(x, y, &self.z, out)?;
        out.axpy(1.0, &s.gx, -1.0);
        Ok(())
    }

    fn reset(&mut self) {
        self.z.fill(0.0);
    }
}
