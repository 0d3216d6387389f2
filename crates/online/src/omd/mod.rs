//! Optimistic online mirror descent.

mod optimistic;

pub use optimistic::OptimisticOmd;
