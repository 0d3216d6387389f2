//! The exact hypergradient by a dense solve (small problems and tests).

use lisse_core::Result;
use nalgebra::{DMatrix, DVector};
use rand::Rng;

use super::{HypergradientEstimator, Scratch};
use crate::problem::{BilevelProblem, LowerLevel, MAX_DENSE_DIM, UpperLevel, solve_spd};

/// Forms ∇²ᵧᵧg(x, y) column by column from dim y exact HVPs (all counted), solves
/// ∇²ᵧᵧg z = ∇ᵧf by Cholesky, and returns ∇ₓf − ∇²ₓᵧg z: the exact surrogate ∇̄f(x, y).
///
/// O(dim y) HVPs and O(dim y³) flops per estimate, and an allocation for the factorization;
/// meant for problems with dim y in the hundreds at most (dim y > 8192 is an error).
#[derive(Debug, Clone, Default)]
pub struct DenseExact {
    hessian: DMatrix<f64>,
    scratch: Scratch,
}

impl DenseExact {
    /// The estimator.
    pub fn new() -> Self {
        Self::default()
    }
}

impl HypergradientEstimator for DenseExact {
    fn name(&self) -> &'static str {
        "dense-exact"
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
        if dy > MAX_DENSE_DIM {
            return Err(lisse_core::Error::invalid(
                "dim y for DenseExact",
                dy,
                format!("at most {MAX_DENSE_DIM}; use ConjugateGradient"),
            ));
        }
        let s = &mut self.scratch;
        s.ensure(problem.dim_x(), dy);
        if self.hessian.shape() != (dy, dy) {
            self.hessian = DMatrix::zeros(dy, dy);
        }
        problem.exact_upper_grads(x, y, &mut s.gx, &mut s.gy)?;
        s.v.fill(0.0);
        for j in 0..dy {
            s.v[j] = 1.0;
            problem.exact_hvp_yy(x, y, &s.v, &mut s.w)?;
            self.hessian.set_column(j, &s.w);
            s.v[j] = 0.0;
        }
        let z = solve_spd(self.hessian.clone(), &s.gy)?;
        problem.exact_hvp_xy(x, y, &z, out)?;
        out.axpy(1.0, &s.gx, -1.0);
        Ok(())
    }
}
