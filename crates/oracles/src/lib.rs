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
//! ## A first result
//! Softmax regression on the embedded digits with minibatch SGD from lisse-core, then the test
//! accuracy. Everything it needs is re-exported here ([`lisse_core`], [`nalgebra`]), so a crate
//! that depends on lisse-oracles alone can run it as is.
//!
//! ```
//! use lisse_oracles::data::{Standardizer, digits, train_test_split};
//! use lisse_oracles::lisse_core::solver::{Sgd, StepSize};
//! use lisse_oracles::lisse_core::{CountKind, Dimension, Executor, RngStreams, Stopping};
//! use lisse_oracles::loss::MultinomialLogistic;
//! use lisse_oracles::nalgebra::DVector;
//! use lisse_oracles::sampling::{Minibatch, Sampling};
//!
//! let streams = RngStreams::new(42);
//! let (train, test) = train_test_split(&digits(), 0.2, &mut streams.stream(0))?;
//! let scaler = Standardizer::fit(&train);
//! let (train, test) = (scaler.transform(&train)?, scaler.transform(&test)?);
//!
//! let loss = MultinomialLogistic::new(train)?.with_l2(1e-4)?;
//! let oracle = Minibatch::new(loss.clone(), 32, Sampling::WithReplacement)?;
//! let mut sgd = Sgd::new(oracle, DVector::zeros(loss.dim()), StepSize::Constant(0.05))?;
//! // Ten passes over the data, counted in points read by the gradient oracle.
//! let n = loss.data().n_samples() as u64;
//! let stopping = Stopping::new().budget(CountKind::TotalPoints, 10 * n);
//! let report = Executor::new(stopping).run(&mut sgd, &mut streams.stream(1))?;
//!
//! let accuracy = loss.accuracy(&report.final_point, &test)?;
//! assert!(accuracy > 0.9, "test accuracy {accuracy}");
//! # Ok::<(), lisse_oracles::lisse_core::Error>(())
//! ```
//!
//! ## Dependencies
//! Besides the workspace's mandated crates, `faer` supplies the sequential SIMD gemm of the
//! multinomial kernels at large K, and `pulp` (already a dependency of faer) compiles, for
//! AVX-512 or AVX2 when the CPU has it, chosen at run time without `unsafe`, the multinomial
//! softmax loops and the register-blocked block products used at small K (K ≤ 32 for values
//! and gradients, K ≤ 16 for HVPs; hand-written because a general gemm spends much of its
//! time packing these 10×100·100×655 shapes). The
//! softmax loops use exactly rounded operations only (no FMA), so they give the same bits on
//! every CPU; the products use FMAs and sum in an order set by the vector width, so AVX-512,
//! AVX2 and scalar builds agree to rounding, and any one machine gives the same bits for any
//! thread count.

pub use lisse_core;
pub use nalgebra;

pub mod data;
pub mod loss;
pub mod sampling;

/// Derivative checks by central finite differences (re-exported from [`lisse_core::check`]).
pub mod check {
    pub use lisse_core::check::*;
}
