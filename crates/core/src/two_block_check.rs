//! Finite-difference checks of two-block oracles: ∇ₓh, ∇ᵧh, ∇²ᵧᵧh·v and ∇²ₓᵧh·v.
//!
//! The same central differences as [`crate::check`] (Nocedal & Wright, *Numerical
//! Optimization*, 2nd ed., §8.1, eqs. 8.7 and 8.20), applied to one block at a time:
//! ∇ₓh and ∇ᵧh are compared with differences of h in x (y fixed) and in y (x fixed),
//! ∇²ᵧᵧh·v with (∇ᵧh(x, y + εv) − ∇ᵧh(x, y − εv)) / 2ε, and the cross product ∇²ₓᵧh·v (the
//! dx×dy matrix ∂²h/∂xᵢ∂yⱼ times v) with (∇ₓh(x, y + εv) − ∇ₓh(x, y − εv)) / 2ε, since
//! ∂/∂t ∇ₓh(x, y + tv) = ∇²ₓᵧh·v. Steps are relative as in [`crate::check`]:
//! ε = h·max(1, ‖y‖)/‖v‖.
//!
//! The [`OracleExt`](crate::OracleExt) methods `check_grad_x`, `check_grad_y`,
//! `check_hvp_yy` and `check_hvp_xy` compare the oracle's own products with these.

use nalgebra::DVector;

use crate::check::{finite_difference_gradient, finite_difference_hvp};
use crate::{FixX, FixY, PartialGradients, Result, TwoBlockObjective, check_dim, check_positive};

/// Central differences of h in x at (x, y): an estimate of ∇ₓh (2·dim_x values).
///
/// # Errors
/// A wrong length of `x` or `y`, a non-finite `y`, or a step that is not finite and positive.
pub fn finite_difference_grad_x<H: TwoBlockObjective + ?Sized>(
    h: &H,
    x: &DVector<f64>,
    y: &DVector<f64>,
    step: f64,
) -> Result<DVector<f64>> {
    finite_difference_gradient(&FixY::new(h, y.clone())?, x, step)
}

/// Central differences of h in y at (x, y): an estimate of ∇ᵧh (2·dim_y values).
///
/// # Errors
/// A wrong length of `x` or `y`, a non-finite `x`, or a step that is not finite and positive.
pub fn finite_difference_grad_y<H: TwoBlockObjective + ?Sized>(
    h: &H,
    x: &DVector<f64>,
    y: &DVector<f64>,
    step: f64,
) -> Result<DVector<f64>> {
    finite_difference_gradient(&FixX::new(h, x.clone())?, y, step)
}

/// (∇ᵧh(x, y + εv) − ∇ᵧh(x, y − εv)) / 2ε: an estimate of ∇²ᵧᵧh·v (2 partial gradients).
///
/// # Errors
/// A wrong length of `x`, `y` or `v`, a non-finite `x`, or a bad step.
pub fn finite_difference_hvp_yy<H: PartialGradients + ?Sized>(
    h: &H,
    x: &DVector<f64>,
    y: &DVector<f64>,
    v: &DVector<f64>,
    step: f64,
) -> Result<DVector<f64>> {
    finite_difference_hvp(&FixX::new(h, x.clone())?, y, v, step)
}

/// (∇ₓh(x, y + εv) − ∇ₓh(x, y − εv)) / 2ε: an estimate of ∇²ₓᵧh·v (length dim_x; 2 partial
/// gradients).
///
/// # Errors
/// A wrong length of `x`, `y` or `v`, or a bad step.
pub fn finite_difference_hvp_xy<H: PartialGradients + ?Sized>(
    h: &H,
    x: &DVector<f64>,
    y: &DVector<f64>,
    v: &DVector<f64>,
    step: f64,
) -> Result<DVector<f64>> {
    check_dim("x", h.dim_x(), x.len())?;
    check_dim("y", h.dim_y(), y.len())?;
    check_dim("v", h.dim_y(), v.len())?;
    check_positive("step", step)?;
    let vnorm = v.norm();
    if vnorm == 0.0 {
        return Ok(DVector::zeros(x.len()));
    }
    let eps = step * y.norm().max(1.0) / vnorm;
    let mut probe = y.clone();
    probe.axpy(eps, v, 1.0);
    let mut up = DVector::zeros(x.len());
    h.grad_x_into(x, &probe, &mut up)?;
    probe.copy_from(y);
    probe.axpy(-eps, v, 1.0);
    let mut down = DVector::zeros(x.len());
    h.grad_x_into(x, &probe, &mut down)?;
    up -= &down;
    up /= 2.0 * eps;
    Ok(up)
}
