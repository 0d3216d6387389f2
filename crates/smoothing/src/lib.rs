//! # lisse-smoothing
//!
//! Randomized-smoothing certification that is fast and statistically sound: given any base
//! classifier f and an input x, certify that the smoothed classifier
//! `g(x) = argmax_c P[f(x + ε) = c]`, ε ~ N(0, σ²I), predicts the same class everywhere in an
//! ℓ₂ ball around x — with probability at least 1 − α over the Monte-Carlo noise.
//!
//! ```
//! use lisse_smoothing::cohen::{CertifyParams, certify};
//! use lisse_smoothing::classifier::ScoresFn;
//! use lisse_smoothing::RngStreams;
//!
//! // Any model: a closure from one input to its class scores (here two logits).
//! let model = ScoresFn::new(2, 2, |x: &[f64]| [x[0] + x[1], 0.0]);
//! let x = [0.5, 0.3];
//! let params = CertifyParams { n: 10_000, ..CertifyParams::default() }; // n₀ = 100, α = 0.001
//! let cert = certify(&model, &x, 0.5, &params, &RngStreams::new(42))?;
//! assert_eq!(cert.class, Some(0));
//! // The decision boundary x₀ + x₁ = 0 is at distance 0.8/√2 ≈ 0.566: the certificate is
//! // sound (below it) and not far off.
//! assert!(cert.radius > 0.45 && cert.radius < 0.566);
//! println!("class {:?}, certified radius {:.3}", cert.class, cert.radius);
//! # Ok::<(), lisse_smoothing::Error>(())
//! ```
//!
//! ## Certifying a softmax layer given as plain weights
//! A linear/softmax model stored as text (`K d` on the first line, then one line per class: d
//! weights and a bias) is certified in a few lines; whole data sets run in parallel:
//!
//! ```
//! use lisse_smoothing::cohen::{CertifyParams, certify_all};
//! use lisse_smoothing::lvm::{LvmParams, certify_lvm_all};
//! use lisse_smoothing::Linear;
//!
//! # let dir = std::env::temp_dir().join(format!("lisse-smoothing-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).unwrap();
//! # let path = dir.join("softmax.txt");
//! # std::fs::write(&path, "# 3 classes, 2 inputs\n3 2\n1 0 0\n0 1 0\n-1 -1 0\n").unwrap();
//! let model = Linear::read(&path)?;
//! let inputs = [2.0, 0.0, /* second input */ 0.0, 2.0]; // row-major, one input per row
//! let params = CertifyParams { n: 5_000, ..CertifyParams::default() };
//! let cohen = certify_all(&model, &inputs, 0.5, &params, 7)?;
//! let lvm = certify_lvm_all(&model, &inputs, 0.5, &LvmParams { n: 5_000, ..LvmParams::default() }, 7)?;
//! assert_eq!(cohen[0].class, Some(0));
//! assert_eq!(cohen[1].class, Some(1));
//! assert_eq!(lvm[1].class, Some(1));
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), lisse_smoothing::Error>(())
//! ```
//!
//! ## What is inside
//! - [`classifier`]: the [`BaseClassifier`] trait (batches of inputs to scores, `Send + Sync`),
//!   closure adapters, and the [`Linear`] model read from a file.
//! - [`noise`]: Gaussian noise in batches; every input, phase and batch has its own seeded
//!   stream, so results are bit-identical for any thread count.
//! - [`ziggurat`]: the exact N(0, 1) sampler behind the noise (Marsaglia & Tsang's ziggurat on
//!   four interleaved xoshiro256++ generators).
//! - [`cohen`]: Cohen, Rosenfeld, Kolter (ICML 2019) PREDICT and CERTIFY, and the multi-class
//!   radius with simultaneous bounds.
//! - [`lvm`]: LVM-RS of Delattre, Araujo, Barthélemy, Allauzen (ICLR 2024): simplex maps with a
//!   temperature, empirical Bernstein bounds, R_multi and R_lip, and a *valid* choice among
//!   configurations (the public code's is not; see the module docs).
//! - [`sequential`]: decide a target radius with as few samples as possible, with a valid error
//!   budget, reporting the forward passes saved.
//! - [`stats`]: exact Clopper–Pearson bounds (n up to 1e7, α down to 1e-10, never on the wrong
//!   side), Φ⁻¹ accurate in the tails, the binomial test, Maurer–Pontil's bound.
//!
//! ## Conventions
//! α is always **one-sided**: the probability that a returned certificate is wrong. (Python
//! code obtains the same Clopper–Pearson bound from statsmodels' two-sided
//! `proportion_confint(..., alpha=2α, method="beta")`.) σ is in the units of the classifier's
//! inputs: for images in [0, 1], σ = 0.5 means half the pixel range.
//!
//! ## Dependencies
//! Besides the workspace's mandated crates, `libm` supplies `erfc` and `lgamma` (both under
//! 1 ulp; std's versions are unstable). No incomplete-beta library is used: generic ones lose
//! accuracy at the shapes of 1e5 that certification needs (statrs #434/#435), so binomial
//! tails are computed directly in log space. `pulp` (already a dependency of faer, with the
//! same features) compiles the noise loop and [`Linear`]'s product for AVX2 when the CPU has
//! it, chosen at run time without `unsafe`; they use integer and exactly rounded float
//! operations only, so the noise is the same on every CPU.

// Exact float comparisons are deliberate here: bounds are checked for being on the safe side of
// exact values, and series stop when a sum no longer changes.
#![allow(clippy::float_cmp)]

pub mod classifier;
pub mod cohen;
mod error;
pub mod lvm;
pub mod noise;
pub mod sequential;
pub mod stats;
pub mod ziggurat;

pub use classifier::{BaseClassifier, Linear};
pub use error::{Error, Result};
/// Reproducible random streams (re-exported from lisse-core): seed a run with
/// `RngStreams::new(seed)`.
pub use lisse_core::RngStreams;
