//! Turning deterministic and finite-sum oracles into stochastic ones.
//!
//! - [`Minibatch`]: a fresh minibatch per call, drawn with or without replacement, turns any
//!   [`FiniteSum`](lisse_core::FiniteSum) into a stochastic oracle.
//! - [`GradientNoise`]: exact gradient plus Gaussian noise of a set variance, for checking
//!   theory whose constants are stated in σ².

mod minibatch;
mod noise;

pub use minibatch::{Minibatch, Sampling};
pub use noise::GradientNoise;
