//! # lisse-core
//!
//! The shared abstractions of the lisse workspace. Every paper crate (bilevel, online,
//! smoothing, subset) builds on these, and so can your own code:
//!
//! - [`oracle`]: one capability per trait — values, gradients and Hessian-vector products into
//!   caller buffers; stochastic versions evaluated at an explicit sample that a [`Sampler`]
//!   draws from the caller's RNG; finite sums with minibatches; two-block (x, y) oracles for
//!   bilevel problems and their single-block views; the [`OracleExt`] conveniences.
//! - [`domain`]: feasible sets with exact Euclidean projections (whole space, L2 ball, box,
//!   probability simplex).
//! - [`rng`]: reproducible, independent random streams for parallel tasks.
//! - [`counting`]: accounting of samples drawn and evaluations per kind through the
//!   [`Counted`] wrapper.
//! - [`executor`]: one run loop with stopping rules, observers and a serializable trace.
//! - [`solver`]: reference solvers (projected gradient descent, SGD) on the same executor.
//! - [`check`], [`two_block_check`]: finite-difference derivative checks (single block; ∇ₓ,
//!   ∇ᵧ, ∇²ᵧᵧ·v and ∇²ₓᵧ·v of two-block oracles).
//! - [`Error`]: the typed error every public function returns instead of panicking.
//!
//! Scalars are `f64` and vectors nalgebra `DVector<f64>` throughout.
//!
//! Dependencies beyond the workspace's mandated ones: `pulp`, for run-time instruction-set
//! dispatch of the finiteness test that [`check_finite`] runs on every oracle output (safe
//! code, and already compiled into the workspace through faer; without it the test is built
//! for the portable baseline only).
//!
//! ```
//! use lisse_core::{Dimension, Gradient, OracleExt, Result, check_dim};
//! use nalgebra::{DVector, dvector};
//!
//! /// f(x) = ½‖x − c‖².
//! struct Distance { c: DVector<f64> }
//! impl Dimension for Distance {
//!     fn dim(&self) -> usize { self.c.len() }
//!     fn full_batch_size(&self) -> usize { 0 } // analytic: reads no data
//! }
//! impl Gradient for Distance {
//!     fn gradient_into(&self, x: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
//!         check_dim("x", self.dim(), x.len())?;
//!         check_dim("output buffer", self.dim(), out.len())?;
//!         out.copy_from(x);
//!         *out -= &self.c;
//!         Ok(())
//!     }
//! }
//! let f = Distance { c: dvector![1.0, 2.0] };
//! assert_eq!(f.gradient(&dvector![0.0, 0.0])?, dvector![-1.0, -2.0]);
//! assert!(f.gradient(&dvector![0.0]).is_err()); // a typed error, not a panic
//! # Ok::<(), lisse_core::Error>(())
//! ```

pub mod check;
pub mod counting;
pub mod domain;
pub mod error;
pub mod executor;
pub mod oracle;
pub mod rng;
pub mod solver;
pub mod two_block_check;

pub use counting::{CallCounter, CountKind, Counted, KindCounts, OracleCounts, OracleKind};
pub use domain::Domain;
pub use error::{
    Error, Result, all_finite, check_dim, check_dim_hint, check_finite, check_finite_hint,
    check_positive, check_range,
};
pub use executor::{
    DEFAULT_MAX_RECORDS, Executor, Observer, Report, Solver, StopReason, Stopping, Trace,
    TraceRecord,
};
pub use oracle::finite_sum_check_batch as check_batch;
pub use oracle::{
    Dimension, FiniteSum, FiniteSumHvp, FixX, FixY, Gradient, Hvp, Objective, OracleExt,
    PartialGradients, PartialHvps, Sampler, StochasticGradient, StochasticHvp, StochasticObjective,
    StochasticPartialGradients, StochasticPartialHvps, TwoBlock, TwoBlockFiniteSum,
    TwoBlockFiniteSumHvp, TwoBlockObjective,
};
pub use rng::{RngStreams, StreamRng};
