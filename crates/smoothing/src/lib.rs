//! # lisse-smoothing
//!
//! Randomized-smoothing certification.

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

pub use classifier::{BaseClassifier, Linear};
pub use error::{Error, Result};
