//! Derivative checks by central finite differences.
//!
//! The standard way to catch a wrong hand-written gradient or Hessian-vector product: compare it
//! with (f(x + h eᵢ) − f(x − h eᵢ)) / 2h, whose error is O(h²) for smooth f (Nocedal & Wright,
//! *Numerical Optimization*, 2nd ed., §8.1, eq. 8.7), and ∇²f(x)·v with
//! (∇f(x + h v) − ∇f(x − h v)) / 2h (ibid., eq. 8.20).
//!
//! Steps are relative: coordinate i uses h·max(1, |xᵢ|); the HVP check uses h·max(1, ‖x‖)/‖v‖.
//! With h ≈ 1e-5 the truncation and rounding errors balance for f64 and well-scaled problems.

use nalgebra::DVector;
use serde::{Deserialize, Serialize};

use crate::{Gradient, Objective, Result, check_dim, check_positive};

/// The outcome of comparing an analytic derivative with a finite-difference one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DerivativeCheck {
    /// ‖analytic − numeric‖∞.
    pub max_abs_error: f64,
    /// ‖analytic − numeric‖∞ / max(1, ‖analytic‖∞, ‖numeric‖∞).
    pub rel_error: f64,
    /// ‖analytic‖∞, for scale.
    pub analytic_norm: f64,
}

impl DerivativeCheck {
    /// Compares two vectors of equal length.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) when their lengths differ.
    pub fn compare(analytic: &DVector<f64>, numeric: &DVector<f64>) -> Result<Self> {
        check_dim("numeric derivative", analytic.len(), numeric.len())?;
        let max_abs_error = analytic
            .iter()
            .zip(numeric.iter())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        let analytic_norm = analytic.amax();
        let scale = 1f64.max(analytic_norm).max(numeric.amax());
        Ok(Self {
            max_abs_error,
            rel_error: max_abs_error / scale,
            analytic_norm,
        })
    }

    /// Whether the relative error is at most `tol` (and finite).
    pub fn passes(&self, tol: f64) -> bool {
        self.rel_error <= tol
    }
}

/// Central-difference gradient of `f` at `x`, coordinate by coordinate (2·dim values).
///
/// # Errors
/// A wrong length of `x`, or a step that is not a finite positive number.
///
/// ```
/// use lisse_core::{Dimension, Objective, Result, check::finite_difference_gradient};
/// use nalgebra::{DVector, dvector};
/// struct Cube;
/// impl Dimension for Cube { fn dim(&self) -> usize { 2 } }
/// impl Objective for Cube {
///     fn value(&self, x: &DVector<f64>) -> Result<f64> { Ok(x[0].powi(3) + x[0] * x[1]) }
/// }
/// let g = finite_difference_gradient(&Cube, &dvector![1.0, 2.0], 1e-5)?;
/// assert!((g[0] - 5.0).abs() < 1e-8 && (g[1] - 1.0).abs() < 1e-8);
/// # Ok::<(), lisse_core::Error>(())
/// ```
pub fn finite_difference_gradient<F: Objective + ?Sized>(
    f: &F,
    x: &DVector<f64>,
    step: f64,
) -> Result<DVector<f64>> {
    check_dim("x", f.dim(), x.len())?;
    check_positive("step", step)?;
    let mut probe = x.clone();
    let mut out = DVector::zeros(x.len());
    for i in 0..x.len() {
        let h = step * x[i].abs().max(1.0);
        probe[i] = x[i] + h;
        let up = f.value(&probe)?;
        probe[i] = x[i] - h;
        let down = f.value(&probe)?;
        probe[i] = x[i];
        out[i] = (up - down) / (2.0 * h);
    }
    Ok(out)
}

/// Central-difference Hessian-vector product (∇f(x + h v) − ∇f(x − h v)) / 2h (2 gradients).
///
/// # Errors
/// A wrong length of `x` or `v`, or a step that is not a finite positive number.
pub fn finite_difference_hvp<F: Gradient + ?Sized>(
    f: &F,
    x: &DVector<f64>,
    v: &DVector<f64>,
    step: f64,
) -> Result<DVector<f64>> {
    check_dim("x", f.dim(), x.len())?;
    check_dim("v", f.dim(), v.len())?;
    check_positive("step", step)?;
    let vnorm = v.norm();
    if vnorm == 0.0 {
        return Ok(DVector::zeros(x.len()));
    }
    let h = step * x.norm().max(1.0) / vnorm;
    let mut probe = x.clone();
    probe.axpy(h, v, 1.0);
    let mut up = DVector::zeros(x.len());
    f.gradient_into(&probe, &mut up)?;
    probe.copy_from(x);
    probe.axpy(-h, v, 1.0);
    let mut down = DVector::zeros(x.len());
    f.gradient_into(&probe, &mut down)?;
    up -= &down;
    up /= 2.0 * h;
    Ok(up)
}
