//! Turning deterministic and finite-sum oracles into stochastic ones.
//!
//! - [`BatchSampler`] draws [`Batch`]es of indices (with or without replacement, O(b) per
//!   draw); [`Minibatch`] pairs one with a [`FiniteSum`](lisse_core::FiniteSum) or a
//!   [`TwoBlockFiniteSum`](lisse_core::TwoBlockFiniteSum) into a stochastic oracle evaluated
//!   at drawn batches.
//! - [`GradientNoise`]: exact gradient plus Gaussian noise of a set variance, for checking
//!   theory whose constants are stated in σ².

mod minibatch;
mod noise;

pub use minibatch::{Batch, BatchSampler, Minibatch, Sampling};
pub use noise::GradientNoise;
