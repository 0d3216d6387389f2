//! Throughput of the loss oracles in GB/s, beside a STREAM-like triad measured in the same run,
//! and beside the peer a user would otherwise write: the textbook nalgebra expression for the
//! multinomial gradient (allocating temporaries, single-threaded).
//!
//! The multinomial gradient is compute-bound (5 flop/byte at K = 10), so it is also reported in
//! flop/s (4dK flops per sample) beside the machine's compute roof measured in the same run: a
//! 2000³ square gemm (faer's sequential kernel on column blocks of C, one rayon task per
//! block, the pool the losses use). The NumPy peer on the same data shape is
//! `benches/numpy_peer.sh`.
//!
//! Run: `cargo bench -p lisse-benches --bench oracles`. Data: 200,000 samples × 100 features
//! (160 MB of f64, larger than the last-level cache); K = 10 classes for the multinomial loss.
//! Throughput counts the feature bytes a call must read: 8·d·n for a full batch, 8·d·b for a
//! minibatch of b. Results and their reading are in `docs/performance.md`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lisse_benches::{
    square_gemm, synthetic_classification, synthetic_regression, triad, triad_bytes,
};
use lisse_core::{FiniteSum, FiniteSumHvp, Gradient, Hvp, Objective, RngStreams};
use lisse_oracles::loss::{LeastSquares, Logistic, MultinomialLogistic};
use nalgebra::{DMatrix, DVector};
use rand::RngExt;

const D: usize = 100;
const N: usize = 200_000;
const K: usize = 10;
const BATCH: usize = 256;
const FULL_BYTES: u64 = (8 * D * N) as u64;

fn bench_triad(c: &mut Criterion) {
    // Three arrays of 160 MB each: far beyond the cache, like the data set.
    let len = 20_000_000;
    let (mut a, b, cc) = (vec![0.0; len], vec![1.0; len], vec![2.0; len]);
    let mut g = c.benchmark_group("triad");
    g.throughput(Throughput::Bytes(triad_bytes(len)));
    g.bench_function("stream_triad", |bch| {
        bch.iter(|| triad(black_box(&mut a), &b, &cc, 3.0));
    });
    g.finish();
}

/// Side of the square gemm that measures the compute roof.
const GEMM_N: usize = 2000;

fn bench_gemm_roof(c: &mut Criterion) {
    let a = random_vector(GEMM_N * GEMM_N, 1.0, 11);
    let b = random_vector(GEMM_N * GEMM_N, 1.0, 12);
    let mut out = vec![0.0; GEMM_N * GEMM_N];
    let mut g = c.benchmark_group("compute_roof");
    g.sample_size(10);
    g.throughput(Throughput::Elements(2 * (GEMM_N as u64).pow(3)));
    g.bench_function("square_gemm_2000", |bch| {
        bch.iter(|| square_gemm(GEMM_N, a.as_slice(), b.as_slice(), black_box(&mut out)));
    });
    g.finish();
}

fn random_vector(len: usize, scale: f64, seed: u64) -> DVector<f64> {
    let mut rng = RngStreams::new(seed).stream(0);
    DVector::from_fn(len, |_, _| rng.random_range(-scale..scale))
}

fn bench_linear_models(c: &mut Criterion) {
    let regression = Arc::new(synthetic_regression(D, N, 3));
    let binary = Arc::new(synthetic_classification(D, N, 2, 5));
    let ls = LeastSquares::new(regression)
        .unwrap()
        .with_l2(1e-4)
        .unwrap();
    let logistic = Logistic::new(binary).unwrap().with_l2(1e-4).unwrap();
    let w = random_vector(D, 0.1, 1);
    let mut out = DVector::zeros(D);
    let mut g = c.benchmark_group("linear_full");
    g.sample_size(30);
    g.throughput(Throughput::Bytes(FULL_BYTES));
    g.bench_function("least_squares_gradient", |b| {
        b.iter(|| ls.gradient_into(black_box(&w), &mut out).unwrap());
    });
    g.bench_function("logistic_gradient", |b| {
        b.iter(|| logistic.gradient_into(black_box(&w), &mut out).unwrap());
    });
    g.finish();
}

fn bench_multinomial(c: &mut Criterion) {
    let data = Arc::new(synthetic_classification(D, N, K, 7));
    let loss = MultinomialLogistic::new(Arc::clone(&data))
        .unwrap()
        .with_l2(1e-4)
        .unwrap();
    let w = random_vector(D * K, 0.1, 2);
    let v = random_vector(D * K, 1.0, 3);
    let mut out = DVector::zeros(D * K);

    let mut g = c.benchmark_group("multinomial_full");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(FULL_BYTES));
    g.bench_function("lisse_gradient", |b| {
        b.iter(|| loss.gradient_into(black_box(&w), &mut out).unwrap());
    });
    g.bench_function("lisse_value", |b| {
        b.iter(|| loss.value(black_box(&w)).unwrap());
    });
    g.bench_function("lisse_hvp", |b| {
        b.iter(|| loss.hvp_into(black_box(&w), &v, &mut out).unwrap());
    });
    g.bench_function("naive_nalgebra_gradient", |b| {
        b.iter(|| naive_gradient(data.features(), data.labels().unwrap(), black_box(&w), 1e-4));
    });
    g.finish();

    // The same gradient in flop/s (4dK flops per sample: the two products), to set beside
    // the compute roof.
    let mut g = c.benchmark_group("multinomial_full_flops");
    g.sample_size(20);
    g.throughput(Throughput::Elements((4 * D * K * N) as u64));
    g.bench_function("lisse_gradient", |b| {
        b.iter(|| loss.gradient_into(black_box(&w), &mut out).unwrap());
    });
    g.finish();

    let mut rng = RngStreams::new(4).stream(0);
    let batch: Vec<usize> = (0..BATCH).map(|_| rng.random_range(0..N)).collect();
    let mut g = c.benchmark_group("multinomial_minibatch");
    g.throughput(Throughput::Bytes((8 * D * BATCH) as u64));
    g.bench_function("lisse_batch_gradient_256", |b| {
        b.iter(|| {
            loss.batch_gradient_into(black_box(&w), &batch, &mut out)
                .unwrap();
        });
    });
    g.bench_function("lisse_batch_hvp_256", |b| {
        b.iter(|| {
            loss.batch_hvp_into(black_box(&w), &v, &batch, &mut out)
                .unwrap();
        });
    });
    g.finish();
}

/// The gradient as a user would write it with nalgebra expressions: Z = WᵀX, P = softmax(Z),
/// G = X(P − Y)ᵀ/n + λW. Allocates its temporaries and runs on one thread.
fn naive_gradient(x: &DMatrix<f64>, labels: &[usize], w: &DVector<f64>, l2: f64) -> DMatrix<f64> {
    let (d, n) = x.shape();
    let k = w.len() / d;
    let wm = DMatrix::from_column_slice(d, k, w.as_slice());
    let mut z = wm.transpose() * x;
    for (j, mut col) in z.column_iter_mut().enumerate() {
        let m = col.max();
        col.apply(|v| *v = (*v - m).exp());
        let s = col.sum();
        col /= s;
        col[labels[j]] -= 1.0;
    }
    x * z.transpose() / n as f64 + wm * l2
}

criterion_group!(
    benches,
    bench_triad,
    bench_gemm_roof,
    bench_linear_models,
    bench_multinomial
);
criterion_main!(benches);
