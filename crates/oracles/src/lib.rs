//! # lisse-oracles
//!
//! Concrete oracles for the [`lisse_core`] traits.
//!
//! - [`data`]: data sets stored one sample per column, the embedded UCI handwritten digits
//!   (no network needed), CSV and LIBSVM readers, splits and standardization.
//! - [`loss`]: least squares, binary logistic and multinomial logistic losses with values,
//!   gradients and exact Hessian-vector products, optional per-sample weights and squared L2
//!   regularization; a strongly convex quadratic with a closed-form minimizer.
//! - [`sampling`]: minibatches with and without replacement, a fresh batch per call, and
//!   additive gradient noise of a set variance.
//! - [`check`]: derivative checks against central finite differences.
//!
//! ## Dependencies
//! Besides the workspace's mandated crates, `faer` supplies the sequential SIMD gemm of the
//! multinomial kernels, and `pulp` (already a dependency of faer) compiles the multinomial
//! softmax loops for AVX2 when the CPU has it, chosen at run time without `unsafe`; those loops
//! use exactly rounded operations only (no FMA), so results are the same bits on every CPU.

pub mod data;
pub mod loss;
pub mod sampling;

/// Derivative checks by central finite differences (re-exported from [`lisse_core::check`]).
pub mod check {
    pub use lisse_core::check::*;
}
