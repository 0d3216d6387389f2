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
