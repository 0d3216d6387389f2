//! A strongly convex quadratic f(x) = ½xᵀAx − bᵀx with a closed-form minimizer.

use nalgebra::{DMatrix, DVector};
use rand::{Rng, RngExt};
use rand_distr::StandardNormal;

use lisse_core::{
    Dimension, Error, Gradient, Hvp, Objective, Result, check_dim, check_dim_hint,
    check_finite_hint, check_positive,
};

/// The error for a condition number [`Quadratic::random`] cannot honour, in the caller's terms;
/// `got_mu` is the smallest eigenvalue that came out, when one was computed.
fn condition_error(dim: usize, mu: f64, l: f64, max_condition: f64, got_mu: Option<f64>) -> Error {
    let came_out = match got_mu {
        Some(m) if m.is_finite() => format!(" (the smallest eigenvalue came out as {m:e})"),
        Some(_) => " (A came out not positive definite)".to_owned(),
        None => String::new(),
    };
    Error::invalid(
        "l / mu",
        format!("{:e}", l / mu),
        format!(
            "a condition number at most about {max_condition:.1e} at dim = {dim}: rounding \
             moves the eigenvalues of A by about dim·ε·L, so mu = {mu:e} cannot be kept within \
             1e-6 relative{came_out}; raise mu or lower l"
        ),
    )
}

/// Relative tolerance of the symmetry check in [`Quadratic::new`].
const SYMMETRY_TOL: f64 = 1e-10;

/// How far (relative) the computed μ and L of [`Quadratic::random`] may be from the requested
/// ones: the spectrum is promised at both ends.
const SPECTRUM_TOL: f64 = 1e-6;

/// f(x) = ½xᵀAx − bᵀx with A symmetric positive definite: ∇f(x) = Ax − b, ∇²f(x)·v = Av,
/// minimizer x* = A⁻¹b, and f is μ-strongly convex and L-smooth with μ = λ_min(A),
/// L = λ_max(A).
///
/// The reference problem for convergence tests: the minimizer, the optimal value
/// f(x*) = −½bᵀx* and the constants μ and L are known exactly.
///
/// ```
/// use lisse_core::{Objective, OracleExt};
/// use lisse_oracles::loss::Quadratic;
/// use nalgebra::{dmatrix, dvector};
///
/// let f = Quadratic::new(dmatrix![2.0, 1.0; 1.0, 3.0], dvector![1.0, -1.0])?;
/// let x_star = f.minimizer();
/// assert!(f.gradient(x_star)?.norm() < 1e-12);
/// assert!((f.value(x_star)? + 0.5 * f.b().dot(x_star)).abs() < 1e-12);
/// // μ and L are the extreme eigenvalues (5 ∓ √5)/2.
/// assert!((f.mu() - (5.0 - 5f64.sqrt()) / 2.0).abs() < 1e-12);
/// assert!((f.l() - (5.0 + 5f64.sqrt()) / 2.0).abs() < 1e-12);
///
/// // A random problem with spectrum in [0.1, 10]:
/// let mut rng = lisse_core::RngStreams::new(7).stream(0);
/// let g = Quadratic::random(20, 0.1, 10.0, &mut rng)?;
/// assert!((g.mu() - 0.1).abs() < 1e-10 && (g.l() - 10.0).abs() < 1e-10);
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Quadratic {
    a: DMatrix<f64>,
    b: DVector<f64>,
    minimizer: DVector<f64>,
    mu: f64,
    l: f64,
}

impl Quadratic {
    /// The quadratic ½xᵀAx − bᵀx. A is symmetrized as (A + Aᵀ)/2 after the check.
    ///
    /// # Errors
    /// - [`Error::InvalidParameter`] for an empty A;
    /// - [`Error::DimensionMismatch`] when A is not square or b does not have A's size;
    /// - [`Error::NonFinite`] for NaN or infinite entries;
    /// - [`Error::InvalidParameter`] when A is not symmetric to 1e-10 relative to its largest
    ///   entry, or not positive definite (its Cholesky factorization fails or its smallest
    ///   eigenvalue is not positive).
    pub fn new(a: DMatrix<f64>, b: DVector<f64>) -> Result<Self> {
        let (rows, cols) = a.shape();
        if rows == 0 {
            return Err(Error::invalid(
                "A",
                "an empty matrix",
                "a non-empty square matrix",
            ));
        }
        check_dim_hint("A's columns", rows, cols, "A must be square")?;
        check_dim_hint("b", rows, b.len(), "give b one entry per row of A")?;
        check_finite_hint("A", a.as_slice(), "give A finite entries")?;
        check_finite_hint("b", b.as_slice(), "give b finite entries")?;

        let tol = SYMMETRY_TOL * a.amax();
        for j in 0..cols {
            for i in (j + 1)..rows {
                let gap = (a[(i, j)] - a[(j, i)]).abs();
                if gap > tol {
                    return Err(Error::invalid(
                        "A",
                        format!("non-symmetric (|A[{i},{j}] - A[{j},{i}]| = {gap:e})"),
                        "symmetric to 1e-10 relative to its largest entry",
                    ));
                }
            }
        }
        let a = (a.transpose() + a) * 0.5;

        let not_spd = |why: &str| {
            Error::invalid(
                "A",
                format!("not positive definite ({why})"),
                "symmetric positive definite; add μI for μ-strong convexity",
            )
        };
        let cholesky = a
            .clone()
            .cholesky()
            .ok_or_else(|| not_spd("Cholesky factorization failed"))?;
        let eigenvalues = a.clone().symmetric_eigenvalues();
        let mu = eigenvalues.min();
        let l = eigenvalues.max();
        if mu <= 0.0 || !mu.is_finite() || !l.is_finite() {
            return Err(not_spd(&format!("smallest eigenvalue {mu:e}")));
        }
        let minimizer = cholesky.solve(&b);
        Ok(Self {
            a,
            b,
            minimizer,
            mu,
            l,
        })
    }

    /// A random quadratic in ℝ^`dim` with spectrum in [μ, L] = [`mu`, `l`]: A = Q diag(λ) Qᵀ with
    /// Q a Haar-random orthogonal matrix (QR of a Gaussian matrix, signs fixed by diag(R)),
    /// eigenvalues λⱼ = μ + (L − μ)·j/(dim − 1) evenly spaced from μ to L (both ends
    /// included), and b standard Gaussian.
    ///
    /// Rounding in forming A perturbs its eigenvalues by about dim·ε·L (ε = 2.2e-16), so the
    /// condition number L/μ cannot be arbitrarily large: the computed μ = λ_min(A) and
    /// L = λ_max(A) must be within 1e-6 (relative) of the requested ones, which holds for
    /// L/μ up to about 1e-6 / (dim·ε) (≈ 9e7 at dim = 50).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `dim == 0`, μ is not a finite positive number, L is
    /// not finite or below μ, `dim == 1` with μ ≠ L, or the condition number L/μ is too large to
    /// honour at this dimension (the message gives the largest one that is).
    pub fn random<R: Rng + ?Sized>(dim: usize, mu: f64, l: f64, rng: &mut R) -> Result<Self> {
        if dim == 0 {
            return Err(Error::invalid("dim", dim, "at least 1"));
        }
        check_positive("mu", mu)?;
        if !(l.is_finite() && l >= mu) {
            return Err(Error::invalid(
                "l",
                l,
                format!("a finite number >= mu = {mu}"),
            ));
        }
        if dim == 1 && l > mu {
            return Err(Error::invalid(
                "l",
                l,
                format!("equal to mu = {mu} when dim = 1 (one eigenvalue)"),
            ));
        }
        #[allow(clippy::cast_precision_loss)]
        let max_condition = SPECTRUM_TOL / (dim as f64 * f64::EPSILON);
        let condition = l / mu;
        if condition > max_condition {
            return Err(condition_error(dim, mu, l, max_condition, None));
        }
        let gaussian = DMatrix::<f64>::from_fn(dim, dim, |_, _| rng.sample(StandardNormal));
        let qr = gaussian.qr();
        let r = qr.r();
        let mut q = qr.q();
        for (j, mut column) in q.column_iter_mut().enumerate() {
            if r[(j, j)] < 0.0 {
                column.neg_mut();
            }
        }
        let spread = if dim == 1 {
            0.0
        } else {
            (l - mu) / (dim - 1) as f64
        };
        let mut scaled = q.clone();
        for (j, mut column) in scaled.column_iter_mut().enumerate() {
            // The last eigenvalue is set to L exactly rather than μ + (L − μ)·1.
            let lambda = if j + 1 == dim {
                l
            } else {
                mu + spread * j as f64
            };
            column *= lambda;
        }
        // A = Q diag(λ) Qᵀ
        let a = scaled * q.transpose();
        let b = DVector::<f64>::from_fn(dim, |_, _| rng.sample(StandardNormal));
        let quadratic = Self::new(a, b)
            .map_err(|_| condition_error(dim, mu, l, max_condition, Some(f64::NAN)))?;
        // The a-priori bound is an estimate; check the promise itself.
        if (quadratic.mu - mu).abs() > SPECTRUM_TOL * mu
            || (quadratic.l - l).abs() > SPECTRUM_TOL * l
        {
            return Err(condition_error(
                dim,
                mu,
                l,
                max_condition,
                Some(quadratic.mu),
            ));
        }
        Ok(quadratic)
    }

    /// The (symmetrized) matrix A.
    pub fn a(&self) -> &DMatrix<f64> {
        &self.a
    }

    /// The linear term b.
    pub fn b(&self) -> &DVector<f64> {
        &self.b
    }

    /// The unique minimizer x* = A⁻¹b (computed once, by Cholesky, at construction).
    pub fn minimizer(&self) -> &DVector<f64> {
        &self.minimizer
    }

    /// The optimal value f(x*) = −½bᵀx*.
    pub fn min_value(&self) -> f64 {
        -0.5 * self.b.dot(&self.minimizer)
    }

    /// The strong-convexity constant μ = λ_min(A) (symmetric eigendecomposition).
    pub fn mu(&self) -> f64 {
        self.mu
    }

    /// The smoothness constant L = λ_max(A) (symmetric eigendecomposition).
    pub fn l(&self) -> f64 {
        self.l
    }

    /// The condition number κ = L/μ.
    pub fn condition_number(&self) -> f64 {
        self.l / self.mu
    }
}

impl Dimension for Quadratic {
    fn dim(&self) -> usize {
        self.b.len()
    }
    /// Analytic: reads no data.
    fn full_batch_size(&self) -> usize {
        0
    }
}

impl Objective for Quadratic {
    /// ½xᵀAx − bᵀx, without allocating: Σⱼ xⱼ (½ A₍:,ⱼ₎ᵀx − bⱼ).
    fn value(&self, x: &DVector<f64>) -> Result<f64> {
        check_dim("x", self.dim(), x.len())?;
        Ok(self
            .a
            .column_iter()
            .zip(x.iter().zip(self.b.iter()))
            .map(|(col, (xj, bj))| xj * (0.5 * col.dot(x) - bj))
            .sum())
    }
}

impl Gradient for Quadratic {
    /// Ax − b.
    fn gradient_into(&self, x: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
        check_dim("x", self.dim(), x.len())?;
        check_dim("output buffer", self.dim(), out.len())?;
        out.copy_from(&self.b);
        out.gemv(1.0, &self.a, x, -1.0);
        Ok(())
    }
}

impl Hvp for Quadratic {
    /// Av.
    fn hvp_into(&self, x: &DVector<f64>, v: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
        check_dim("x", self.dim(), x.len())?;
        check_dim("v", self.dim(), v.len())?;
        check_dim("output buffer", self.dim(), out.len())?;
        out.gemv(1.0, &self.a, v, 0.0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lisse_core::RngStreams;

    #[test]
    fn condition_numbers_beyond_f64_are_refused_in_the_callers_terms() {
        // Issue 6, item 11: (50, 1, 1e16) returned μ = 6.83; (50, 1e-8, 1e8) blamed a matrix A.
        let mut rng = RngStreams::new(11).stream(0);
        for (mu, l) in [(1.0, 1e16), (1e-8, 1e8)] {
            let e = Quadratic::random(50, mu, l, &mut rng).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidParameter { name, allowed, .. }
                    if name == "l / mu" && allowed.contains("dim = 50") && allowed.contains("raise mu or lower l")),
                "{e}"
            );
        }
        // Up to the stated bound the spectrum is honoured at both ends.
        let max_condition = SPECTRUM_TOL / (50.0 * f64::EPSILON);
        for kappa in [1e3, 1e6, max_condition] {
            let f = Quadratic::random(50, 0.5, 0.5 * kappa, &mut rng).unwrap();
            assert!(
                (f.mu() / 0.5 - 1.0).abs() <= SPECTRUM_TOL,
                "{kappa}: {}",
                f.mu()
            );
            assert!((f.l() / (0.5 * kappa) - 1.0).abs() <= SPECTRUM_TOL);
        }
    }

    #[test]
    fn new_names_the_callers_arguments() {
        let e = Quadratic::new(DMatrix::identity(2, 3), DVector::zeros(2)).unwrap_err();
        assert!(e.to_string().contains("A must be square"), "{e}");
        let e = Quadratic::new(DMatrix::identity(2, 2), DVector::zeros(3)).unwrap_err();
        assert!(e.to_string().contains("one entry per row of A"), "{e}");
        assert!(!e.to_string().contains("dim()"), "{e}");
    }
}
