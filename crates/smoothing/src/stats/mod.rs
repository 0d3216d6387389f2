//! The statistics randomized smoothing needs, written for soundness first.
//!
//! - [`normal`]: Φ, 1 − Φ and Φ⁻¹ accurate in both tails (AS241 on the smaller tail).
//! - [`clopper_pearson`]: exact one-sided binomial bounds for n up to 1e7 and α down to 1e-10,
//!   rounded outward, with their complements.
//! - [`binomial_test`]: the two-sided test of PREDICT.
//! - [`bernstein`]: the Maurer–Pontil empirical Bernstein bound and mergeable moments.

pub mod bernstein;
pub(crate) mod binomial;
pub mod binomial_test;
pub mod clopper_pearson;
pub mod normal;
