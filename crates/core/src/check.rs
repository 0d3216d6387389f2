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
    /// ‖analytic − numeric‖∞; NaN when either vector holds a NaN or an infinite entry.
    pub max_abs_error: f64,
    /// ‖analytic − numeric‖∞ / max(1, ‖analytic‖∞, ‖numeric‖∞).
    pub rel_error: f64,
    /// ‖analytic‖∞, for scale.
    pub analytic_norm: f64,
}

impl DerivativeCheck {
    /// Compares two vectors of equal length.
    ///
    /// A NaN or infinite entry in either vector makes every error NaN, so the check fails
    /// ([`passes`](Self::passes) is false for any tolerance) rather than skipping the entry.
    ///
    /// ```
    /// use lisse_core::check::DerivativeCheck;
    /// use nalgebra::dvector;
    /// let nan = DerivativeCheck::compare(&dvector![f64::NAN, f64::NAN], &dvector![1.0, 2.0])?;
    /// assert!(nan.rel_error.is_nan() && !nan.passes(1e-6));
    /// # Ok::<(), lisse_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`](crate::Error::DimensionMismatch) when their lengths differ.
    pub fn compare(analytic: &DVector<f64>, numeric: &DVector<f64>) -> Result<Self> {
        check_dim("numeric derivative", analytic.len(), numeric.len())?;
        let max_abs_error = analytic
            .iter()
            .zip(numeric.iter())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, nan_max);
        let analytic_norm = analytic.iter().map(|a| a.abs()).fold(0.0, nan_max);
        let numeric_norm = numeric.iter().map(|a| a.abs()).fold(0.0, nan_max);
        let scale = nan_max(nan_max(1.0, analytic_norm), numeric_norm);
        Ok(Self {
            max_abs_error,
            rel_error: max_abs_error / scale,
            analytic_norm,
        })
    }

    /// Whether the relative error is at most `tol` (and finite); false when a compared entry
    /// was NaN or infinite.
    pub fn passes(&self, tol: f64) -> bool {
        self.rel_error.is_finite() && self.rel_error <= tol
    }
}

/// The maximum of two numbers that propagates NaN and turns an infinite one into NaN
/// (`f64::max` skips NaN, which would let a NaN derivative pass a check).
fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_finite() && b.is_finite() {
        a.max(b)
    } else {
        f64::NAN
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
/// impl Dimension for Cube {
///     fn dim(&self) -> usize { 2 }
///     fn full_batch_size(&self) -> usize { 0 } // analytic: reads no data
/// }
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

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::dvector;

    #[test]
    fn nan_or_infinite_derivatives_fail() {
        // Issue 6, item 5: an all-NaN gradient passed with relative error 0.
        let all_nan = DVector::from_element(3, f64::NAN);
        let numeric = dvector![1.0, 2.0, 3.0];
        for (a, b) in [(&all_nan, &numeric), (&numeric, &all_nan)] {
            let c = DerivativeCheck::compare(a, b).unwrap();
            assert!(c.rel_error.is_nan() && c.max_abs_error.is_nan(), "{c:?}");
            assert!(!c.passes(1e-6) && !c.passes(f64::INFINITY));
        }
        let one_nan = DerivativeCheck::compare(&dvector![1.0, f64::NAN], &dvector![1.0, 2.0]);
        assert!(!one_nan.unwrap().passes(1.0));
        let inf = DerivativeCheck::compare(&dvector![f64::INFINITY], &dvector![f64::INFINITY]);
        assert!(!inf.unwrap().passes(1.0));
        let good = DerivativeCheck::compare(&dvector![1.0, 2.0], &dvector![1.0, 2.0 + 1e-9]);
        assert!(good.unwrap().passes(1e-8));
    }

    /// f(x) = ½‖x‖² with a gradient that is all NaN.
    struct NanGradient;

    impl crate::Dimension for NanGradient {
        fn dim(&self) -> usize {
            2
        }
        fn full_batch_size(&self) -> usize {
            0
        }
    }

    impl Objective for NanGradient {
        fn value(&self, x: &DVector<f64>) -> Result<f64> {
            Ok(0.5 * x.norm_squared())
        }
    }

    impl Gradient for NanGradient {
        fn gradient_into(&self, _x: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
            out.fill(f64::NAN);
            Ok(())
        }
    }

    #[test]
    fn check_gradient_fails_an_all_nan_gradient() {
        use crate::OracleExt;
        // Issue 6, item 5: `check_gradient` passed an all-NaN gradient (relative error 0).
        let check = NanGradient
            .check_gradient(&dvector![1.0, -2.0], 1e-5)
            .unwrap();
        assert!(!check.passes(1e-6), "{check:?}");
    }
}
