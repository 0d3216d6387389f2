//! # lisse-bilevel
//!
//! Stochastic bilevel optimization on [`lisse_core`]:
//!
//! min_x Φ(x) = f(x, y*(x)),  y*(x) = argmin_y g(x, y),  g(x, ·) strongly convex.
//!
//! - [`problem`]: a [`BilevelProblem`](problem::BilevelProblem) pairs an upper level f and a
//!   lower level g written with lisse-core's two-block oracle traits, counts every call, and
//!   checks every output; test problems with closed-form hypergradients (a quadratic stored
//!   dense or factored, a one-dimensional problem) and data hyper-cleaning on the embedded
//!   digits.
//! - [`hypergradient`]: pluggable estimators of ∇Φ: randomized and truncated Neumann series,
//!   SOBA's warm-started linear system, conjugate gradient, dense solve.
//! - [`solver`]: BO-REP (Hao, Gong & Liu, ICLR 2024) in the paper's form and as its public code
//!   runs it, and the baselines StocBiO, TTSA, SOBA, MA-SOBA, AmIGO and (normalized) SGD on a
//!   hypergradient estimate, each a lisse-core [`Solver`].
//!
//! Sign convention: z ≈ [∇²ᵧᵧg]⁻¹∇ᵧf and ∇Φ ≈ ∇ₓf − ∇²ₓᵧg·z (SOBA's paper writes v = −z).
//! How each paper is implemented, and where the public code differs, is in `docs/bilevel.md`.
//! Dependencies: lisse-core, lisse-oracles, the workspace's mandated crates, and
//! [`pulp`](https://docs.rs/pulp) for safe runtime SIMD dispatch (AVX2 where the CPU has it) of
//! the dense quadratic's column loops: the workspace forbids the `unsafe` that
//! `#[target_feature]` calls need. [`memmap2`](https://docs.rs/memmap2) and
//! [`bytemuck`](https://docs.rs/bytemuck) give the opt-in `Storage::DenseHugePages` its
//! anonymous memory maps advised for transparent huge pages, viewed as f64, in safe code (a raw
//! `madvise` is `unsafe`).
//!
//! A first result: BO-REP on a random quadratic bilevel problem, where ∇Φ is known in closed
//! form. It needs no dependency but this crate: the run loop, seeds, step sizes, errors and
//! vectors of lisse-core and nalgebra are re-exported at the crate root (and the two crates
//! whole, as [`lisse_core`] and [`nalgebra`]).
//!
//! ```
//! use lisse_bilevel::hypergradient::LinearSystem;
//! use lisse_bilevel::problem::{ClosedForm, QuadraticBilevel, QuadraticSpec};
//! use lisse_bilevel::solver::{BoRep, BoRepConfig};
//! use lisse_bilevel::{DVector, Executor, RngStreams, StepSize, Stopping};
//!
//! let streams = RngStreams::new(7);
//! let quad = QuadraticBilevel::random(&QuadraticSpec::default(), &mut streams.stream(0))?;
//! let x0 = DVector::from_element(10, 1.0);
//! let g0 = quad.hypergradient(&x0)?.norm();
//! let mut bo_rep = BoRep::new(
//!     quad.problem()?,
//!     LinearSystem::new(StepSize::Constant(0.5))?,
//!     BoRepConfig::public_code(0.05, 0.5),
//!     x0,
//!     DVector::zeros(10),
//! )?;
//! let report = Executor::new(Stopping::new().max_iters(400))
//!     .run(&mut bo_rep, &mut streams.stream(1))?;
//! let g = quad.hypergradient(&report.final_point)?.norm();
//! assert!(g < 0.2 * g0, "‖∇Φ‖ went from {g0} to {g}");
//! # Ok::<(), lisse_bilevel::Error>(())
//! ```

mod elementwise;
pub mod hypergradient;
pub mod problem;
pub mod schedule;
pub mod solver;

/// lisse-core, on which every trait and solver here is built.
pub use lisse_core;
/// The run loop, its stopping rules, seeded streams, step sizes and the error type of
/// lisse-core, for a user who depends on this crate alone.
pub use lisse_core::solver::StepSize;
pub use lisse_core::{Error, Executor, Result, RngStreams, Solver, Stopping};
/// nalgebra, whose `DVector` holds every point.
pub use nalgebra;
pub use nalgebra::DVector;
