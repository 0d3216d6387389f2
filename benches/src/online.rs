//! The set-up shared by the online-learning timings (`benches/online.rs` under criterion and
//! `benches/online_timing.rs` for the NumPy peer), so that both time the same round.
//!
//! The loss stream is a pool of [`POOL`] gradients g_k,i = sin(0.37·i + 1.3·k)/√(d/2)
//! (‖g_k‖ ≈ 1) cycled round by round, the same stream `benches/online_numpy.py` feeds its NumPy
//! peer. The domain is the unit ball of ℝᵈ.

use std::hint::black_box;

use lisse_core::domain::L2Ball;
use lisse_online::mirror::Euclidean;
use lisse_online::step_size::SeaConvex;
use lisse_online::{Hint, OnlineLearner, OptimisticOmd};
use nalgebra::DVector;

/// The dimensions d timed.
pub const DIMS: [usize; 3] = [10, 1000, 100_000];

/// Gradients in the cycled pool.
pub const POOL: usize = 8;

/// The pool of gradients of the loss stream at dimension `d` (see the module docs).
#[must_use]
pub fn gradient_pool(d: usize) -> Vec<DVector<f64>> {
    let scale = 1.0 / (d as f64 / 2.0).sqrt();
    (0..POOL)
        .map(|k| DVector::from_fn(d, |i, _| (0.37 * i as f64 + 1.3 * k as f64).sin() * scale))
        .collect()
}

/// Optimistic OMD with the convex-smooth adaptive step (G = 1, δ = 1) on the unit ball of ℝᵈ:
/// the learner compared with the NumPy peer.
///
/// # Errors
/// If `d` is zero.
pub fn optimistic_omd(d: usize) -> lisse_core::Result<OptimisticOmd<Euclidean<L2Ball>, SeaConvex>> {
    OptimisticOmd::sea_convex(L2Ball::centered(d, 1.0)?, 1.0, 1.0)
}

/// One timed round: predict with the last-gradient hint, then update with gradient `k` of the
/// pool (cycled), and advance `k`.
///
/// # Panics
/// If the learner rejects the hint or the gradient (neither happens on the pool's finite
/// gradients of the learner's dimension).
pub fn round<L: OnlineLearner>(learner: &mut L, grads: &[DVector<f64>], k: &mut usize) {
    black_box(learner.predict(Hint::LastGradient).expect("valid hint"));
    learner
        .update(&grads[*k % grads.len()])
        .expect("finite gradient");
    *k += 1;
}
