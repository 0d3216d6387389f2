//! Reference first-order solvers, written against the oracle traits and driven by the
//! [`Executor`](crate::Executor). They are the baselines every paper crate compares with and the
//! inner loops several algorithms reuse.
//!
//! | solver | oracle | update |
//! |---|---|---|
//! | [`GradientDescent`] | [`Gradient`](crate::Gradient) | x ← Π_X(x − η ∇f(x)) |
//! | [`Sgd`] | [`StochasticGradient`](crate::StochasticGradient) | x ← Π_X(x − η_t g(x; ξ_t)) |

mod gradient_descent;
mod sgd;
mod step_size;

pub use gradient_descent::GradientDescent;
pub use sgd::Sgd;
pub use step_size::StepSize;

use nalgebra::DVector;

use crate::{Domain, Result, check_dim, check_finite};

/// Validates a solver's start: `x0` and `domain` of dimension `dim`, `x0` finite, `step`
/// valid; then projects `x0` onto the domain.
fn feasible_start<D: Domain>(
    dim: usize,
    domain: &D,
    x0: &mut DVector<f64>,
    step: StepSize,
) -> Result<()> {
    check_dim("x0", dim, x0.len())?;
    check_dim("domain", dim, domain.dim())?;
    check_finite("x0", x0.as_slice())?;
    step.validate()?;
    domain.project_in_place(x0)
}
