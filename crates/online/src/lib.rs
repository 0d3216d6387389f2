//! # lisse-online
//!
//! Optimistic online mirror descent for the stochastically extended adversarial (SEA) model of
//! Sachs, Hadiji, van Erven & Guzmán (2022), following Chen, Zhang, Tu, Zhao & Zhang,
//! "Optimistic Online Mirror Descent for Bridging Stochastic and Adversarial Online Convex
//! Optimization" (ICML 2023; JMLR 25(178), 2024).
//!
//! A first result: optimistic OGD with the convex-smooth adaptive step on a simulated SEA
//! instance whose stochastic variance σ²_{1:T} and adversarial variation Σ²_{1:T} are set
//! exactly, with its regret checked against the bound.
//!
//! ```
//! use lisse_core::domain::L2Ball;
//! use lisse_online::env::{BaseLoss, SeaConfig, SeaEnvironment};
//! use lisse_online::step_size::{sea_convex_bound, sea_convex_delta};
//! use lisse_online::{OptimisticOmd, RunOptions, run};
//!
//! // Linear losses on the unit ball of ℝ¹⁰, T = 2000, σ²_{1:T} = 100, Σ²_{1:T} = 20.
//! let ball = L2Ball::centered(10, 1.0)?;
//! let config = SeaConfig::with_totals(BaseLoss::Linear, 10, 2000, 100.0, 20.0, 1.0, 42)?;
//! let mut env = SeaEnvironment::new(ball.clone(), config)?;
//! let stats = env.sea_stats_now();
//! let delta = sea_convex_delta(2.0, stats.gradient_bound, stats.smoothness)?;
//! let mut learner = OptimisticOmd::sea_convex(ball, stats.gradient_bound, delta)?;
//!
//! let report = run(&mut learner, &mut env, &RunOptions::default())?;
//! let last = report.last().unwrap();
//! let regret = last.regret.realized_regret.unwrap();
//! let bound = sea_convex_bound(&last.stats.unwrap().constants(), delta)?;
//! println!("regret {regret:.1} <= bound {bound:.1}");
//! assert!(regret <= bound);
//! # Ok::<(), lisse_core::Error>(())
//! ```
//!
//! ## Contents
//! - [`learner`]: the [`OnlineLearner`] trait, predict(hint) → x_t then update(g_t), with
//!   [`Hint`]s (last gradient, zero, user supplied) as a first-class input.
//! - [`omd`]: [`OptimisticOmd`], the two-step optimistic OMD of Chen et al.
//! - [`mirror`]: Euclidean, negative-entropy (optimistic Hedge, log domain) and ONS-type
//!   Mahalanobis mirror maps; [`projection`]: generalized ‖·‖_A projections, exact linear
//!   minimization, and the fused one-pass ball steps of the hot loop.
//! - [`step_size`]: the paper's step sizes (convex-smooth adaptive, 2/(λt), optimistic ONS),
//!   each with a function evaluating its regret bound.
//! - [`baseline`]: OGD, AdaGrad-norm, ONS, Hedge, the optimistic FTRL of Sachs et al., and a
//!   two-layer ensemble for dynamic regret.
//! - [`env`](mod@env): the [`Environment`] trait and the SEA simulator [`SeaEnvironment`];
//!   [`regret`]: pseudo-, realized and dynamic regret (also against a comparator sequence of
//!   your own, [`run_with_comparator`]); [`protocol`]: the run loop.
//!
//! Domains and Euclidean projections come from lisse-core ([`lisse_core::domain`]); errors are
//! [`lisse_core::Error`]; randomness is [`lisse_core::RngStreams`].
//!
//! **Dependencies.** Besides the workspace's mandated crates, the hot loops use
//! [`pulp`](https://docs.rs/pulp) for safe runtime SIMD dispatch (AVX2 where the CPU has it): the
//! workspace forbids the `unsafe` that calling `#[target_feature]` code needs, and pulp is
//! already built as a dependency of faer. Results are bit-identical with and without AVX2.
//!
//! **Constants.** The explicit constants of the convex, strongly convex and exp-concave bounds
//! are derived from the paper's proof template, not quoted from it (see [`step_size`]); the
//! optimistic FTRL, OGD, AdaGrad-norm, ONS and Hedge bounds are the published ones.

pub mod baseline;
pub mod env;
mod kernels;
pub mod learner;
pub mod mirror;
pub mod omd;
pub mod projection;
pub mod protocol;
pub mod regret;
pub mod step_size;

pub use env::{Environment, SeaEnvironment};
pub use learner::{Hint, OnlineLearner};
pub use omd::OptimisticOmd;
pub use protocol::{HintPolicy, RunOptions, RunReport, run, run_with_comparator};
