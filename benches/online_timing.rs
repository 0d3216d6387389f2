//! The Rust side of `benches/online_numpy.py`: times one round of optimistic OMD (lisse-online)
//! and a serial STREAM-like triad over vectors of the same length, at d ∈ {10, 1000, 100000},
//! and prints one JSON object per line.
//!
//! `cargo run --release -p lisse-benches --example online_timing [-- BUDGET_SECONDS [D...]]`
//! (by default every d of `lisse_benches::online::DIMS`)
//!
//! The round is the one of `benches/online.rs` (criterion), set up by `lisse_benches::online`:
//! predict with the last-gradient hint, then update, on the unit ball of ℝᵈ, with the
//! convex-smooth adaptive step (G = 1, δ = 1), fed a precomputed pool of 8 gradients
//! g_k[i] = sin(0.37·i + 1.3·k)/√(d/2) cycled round by round. The NumPy peer replays the same
//! pool, so neither side times the generation of the stream.
//!
//! Timing: rounds run in batches of about 0.2 ms; the figures are the fastest batch and the
//! median batch, per round. On a shared machine the fastest batch is the one least disturbed
//! by other processes, and the peer script times its side the same way, so the ratio of the
//! two minima compares the two implementations rather than the load at the time.

use std::hint::black_box;
use std::time::{Duration, Instant};

use lisse_benches::online::{DIMS, gradient_pool, optimistic_omd, round};

/// (fastest, median) nanoseconds per call of `f`, over batches of `per_batch` calls run for
/// about `budget`.
fn time_batches(mut f: impl FnMut(), per_batch: usize, budget: Duration) -> (f64, f64) {
    for _ in 0..per_batch {
        f(); // warm-up
    }
    let mut batches = Vec::new();
    let start = Instant::now();
    while start.elapsed() < budget || batches.len() < 5 {
        let t = Instant::now();
        for _ in 0..per_batch {
            f();
        }
        batches.push(t.elapsed().as_secs_f64() * 1e9 / per_batch as f64);
    }
    batches.sort_by(f64::total_cmp);
    (batches[0], batches[batches.len() / 2])
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let budget: f64 = std::env::args().nth(1).map_or(Ok(1.5), |s| s.parse())?;
    let budget = Duration::from_secs_f64(budget);
    let dims: Vec<usize> = std::env::args()
        .skip(2)
        .map(|s| s.parse())
        .collect::<Result<_, _>>()?;
    let dims = if dims.is_empty() { DIMS.to_vec() } else { dims };
    for d in dims {
        let grads = gradient_pool(d);
        // About 0.2 ms per batch at ~1 ns per element and round.
        let per_batch = (200_000 / d).max(1);
        let mut learner = optimistic_omd(d)?;
        let mut k = 0;
        let (round_min, round_median) =
            time_batches(|| round(&mut learner, &grads, &mut k), per_batch, budget);
        let (mut a, b, c) = (vec![0.0; d], vec![1.0; d], vec![2.0; d]);
        let (triad_min, triad_median) = time_batches(
            || {
                for ((ai, bi), ci) in black_box(&mut a).iter_mut().zip(&b).zip(&c) {
                    *ai = bi + 3.0 * ci;
                }
            },
            per_batch,
            budget,
        );
        println!(
            "{{\"d\": {d}, \"round_ns_min\": {round_min:.3}, \"round_ns_median\": {round_median:.3}, \
             \"triad_ns_min\": {triad_min:.3}, \"triad_ns_median\": {triad_median:.3}}}"
        );
    }
    Ok(())
}
