//! Reference first-order solvers, written against the oracle traits and driven by the
//! [`Executor`](crate::Executor). They are the baselines every paper crate compares with and the
//! inner loops several algorithms reuse (run them on a [`FixX`](crate::FixX) view to solve a
//! lower-level problem in y while counting into the caller's counter).
//!
//! | solver | oracle | update |
//! |---|---|---|
//! | [`GradientDescent`] | [`Gradient`](crate::Gradient) | x ← Π_X(x − η_t ∇f(x)) |
//! | [`Sgd`] | [`StochasticGradient`](crate::StochasticGradient) | x ← Π_X(x − η_t ∇F(x; ξ_t)), ξ_t freshly drawn |
//!
//! Step sizes are any [`StepSchedule`]: the built-in [`StepSize`] or a closure.

mod gradient_descent;
mod sgd;
mod step_size;

pub use gradient_descent::GradientDescent;
pub use sgd::Sgd;
pub use step_size::{StepSchedule, StepSize};

use nalgebra::DVector;

use crate::{Domain, Result, check_dim, check_finite};

/// Validates a solver's start: `x0` and `domain` of dimension `dim`, `x0` finite, `step`
/// valid; then projects `x0` onto the domain.
fn feasible_start<D: Domain, S: StepSchedule>(
    dim: usize,
    domain: &D,
    x0: &mut DVector<f64>,
    step: &S,
) -> Result<()> {
    check_dim("x0", dim, x0.len())?;
    check_dim("domain", dim, domain.dim())?;
    check_finite("x0", x0.as_slice())?;
    step.validate()?;
    domain.project_in_place(x0)
}
