//! Rounds per second of the online learners at d ∈ {10, 1000, 100000}, beside a serial
//! STREAM-like triad over vectors of the same length (the learners run on one thread).
//!
//! Run: `cargo bench -p lisse-benches --bench online`. The loss stream (a pool of 8 gradients
//! cycled round by round, the same stream `benches/online_numpy.py` feeds its NumPy peer), the
//! domain (the unit ball of ℝᵈ) and the round come from `lisse_benches::online`. One
//! criterion iteration is one round (predict with the last-gradient hint, then update), so
//! criterion's elements/s is rounds/s. Results and their reading: `docs/performance.md`. The
//! ratio to the NumPy peer comes from `python3 benches/online_numpy.py`, which times the same
//! round through `benches/online_timing.rs` (fastest batch, robust to a shared machine's load).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lisse_benches::online::{DIMS, gradient_pool, optimistic_omd, round};
use lisse_core::domain::L2Ball;
use lisse_online::OptimisticOmd;
use lisse_online::baseline::{Ogd, OgdStep, OptimisticFtrl};
use lisse_online::step_size::Constant;

/// a ← b + s·c on one thread (24 bytes per element by STREAM's convention).
fn serial_triad(a: &mut [f64], b: &[f64], c: &[f64], s: f64) {
    for ((ai, bi), ci) in a.iter_mut().zip(b).zip(c) {
        *ai = bi + s * ci;
    }
}

fn bench_online(c: &mut Criterion) {
    for d in DIMS {
        let grads = gradient_pool(d);
        let ball = L2Ball::centered(d, 1.0).unwrap();
        let mut g = c.benchmark_group(format!("online_round/d={d}"));
        g.throughput(Throughput::Elements(1));
        let mut k = 0;
        let mut oomd = optimistic_omd(d).unwrap();
        g.bench_function("optimistic_omd", |b| {
            b.iter(|| round(&mut oomd, &grads, &mut k));
        });
        let step = OgdStep::Convex {
            diameter: 2.0,
            gradient_bound: 1.0,
        };
        let mut ogd = Ogd::new(ball.clone(), step).unwrap();
        g.bench_function("ogd", |b| b.iter(|| round(&mut ogd, &grads, &mut k)));
        let mut ftrl = OptimisticFtrl::new(ball.clone(), 3.0).unwrap();
        g.bench_function("optimistic_ftrl", |b| {
            b.iter(|| round(&mut ftrl, &grads, &mut k));
        });
        let mut hedge = OptimisticOmd::hedge(d, Constant::new(0.1).unwrap()).unwrap();
        g.bench_function("optimistic_hedge", |b| {
            b.iter(|| round(&mut hedge, &grads, &mut k));
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
