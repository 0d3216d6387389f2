//! Rounds per second of the online learners at d ∈ {10, 1000, 100000}, beside a serial
//! STREAM-like triad over vectors of the same length (the learners run on one thread).
//!
//! Run: `cargo bench -p lisse-benches --bench online`. The loss stream is a pool of 8
//! gradients g_k[i] = sin(0.37·i + 1.3·k)/√(d/2) (‖g_k‖ ≈ 1) cycled round by round, the same
//! stream `benches/online_numpy.py` feeds its NumPy peer. Domain: the unit ball of ℝᵈ. One
//! criterion iteration is one round (predict with the last-gradient hint, then update), so
//! criterion's elements/s is rounds/s. Results and their reading: `docs/performance.md`. The
//! ratio to the NumPy peer comes from `python3 benches/online_numpy.py`, which times the same
//! round through `benches/online_timing.rs` (fastest batch, robust to a shared machine's load).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lisse_core::domain::L2Ball;
use lisse_online::baseline::{Ogd, OgdStep, OptimisticFtrl};
use lisse_online::step_size::Constant;
use lisse_online::{Hint, OnlineLearner, OptimisticOmd};
use nalgebra::DVector;

const DIMS: [usize; 3] = [10, 1000, 100_000];
const POOL: usize = 8;

/// The shared gradient stream (see the module docs).
fn pool(d: usize) -> Vec<DVector<f64>> {
    let scale = 1.0 / (d as f64 / 2.0).sqrt();
    (0..POOL)
        .map(|k| DVector::from_fn(d, |i, _| (0.37 * i as f64 + 1.3 * k as f64).sin() * scale))
        .collect()
}

fn rounds<L: OnlineLearner>(learner: &mut L, grads: &[DVector<f64>], k: &mut usize) {
    let x = learner.predict(Hint::LastGradient).unwrap();
    black_box(x);
    learner.update(&grads[*k % POOL]).unwrap();
    *k += 1;
}

/// a ← b + s·c on one thread (24 bytes per element by STREAM's convention).
fn serial_triad(a: &mut [f64], b: &[f64], c: &[f64], s: f64) {
    for ((ai, bi), ci) in a.iter_mut().zip(b).zip(c) {
        *ai = bi + s * ci;
    }
}

fn bench_online(c: &mut Criterion) {
    for d in DIMS {
        let grads = pool(d);
        let ball = L2Ball::centered(d, 1.0).unwrap();
        let mut g = c.benchmark_group(format!("online_round/d={d}"));
        g.throughput(Throughput::Elements(1));
        let mut k = 0;
        let mut oomd = OptimisticOmd::sea_convex(ball.clone(), 1.0, 1.0).unwrap();
        g.bench_function("optimistic_omd", |b| {
            b.iter(|| rounds(&mut oomd, &grads, &mut k));
        });
        let step = OgdStep::Convex {
            diameter: 2.0,
            gradient_bound: 1.0,
        };
        let mut ogd = Ogd::new(ball.clone(), step).unwrap();
        g.bench_function("ogd", |b| b.iter(|| rounds(&mut ogd, &grads, &mut k)));
        let mut ftrl = OptimisticFtrl::new(ball.clone(), 3.0).unwrap();
        g.bench_function("optimistic_ftrl", |b| {
            b.iter(|| rounds(&mut ftrl, &grads, &mut k));
        });
        let mut hedge = OptimisticOmd::hedge(d, Constant::new(0.1).unwrap()).unwrap();
        g.bench_function("optimistic_hedge", |b| {
            b.iter(|| rounds(&mut hedge, &grads, &mut k));
        });
        g.finish();

        let (mut a, bb, cc) = (vec![0.0; d], vec![1.0; d], vec![2.0; d]);
        let mut g = c.benchmark_group(format!("online_triad/d={d}"));
        g.throughput(Throughput::Bytes(24 * d as u64));
        g.bench_function("serial_triad", |b| {
            b.iter(|| serial_triad(black_box(&mut a), &bb, &cc, 3.0));
        });
        g.finish();
    }
}

criterion_group!(benches, bench_online);
criterion_main!(benches);
