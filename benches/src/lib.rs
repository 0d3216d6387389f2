//! Shared pieces of the lisse benchmarks: the STREAM-like triad that every throughput figure is
//! compared with, and synthetic data larger than the last-level cache.

pub mod online;

use lisse_core::RngStreams;
use lisse_oracles::data::{Dataset, Targets};
use nalgebra::{DMatrix, DVector};
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

/// Elements per rayon task in the triad: large enough to amortize scheduling.
const TRIAD_CHUNK: usize = 1 << 16;

/// The STREAM triad a ← b + s·c (McCalpin, "Memory Bandwidth and Machine Balance in Current
/// High Performance Computers", IEEE TCCA Newsletter, 1995), split over rayon tasks of fixed
/// size. It moves 24 bytes per element by STREAM's convention (read b and c, write a; the
/// write-allocate read is not counted).
pub fn triad(a: &mut [f64], b: &[f64], c: &[f64], s: f64) {
    a.par_chunks_mut(TRIAD_CHUNK)
        .zip(b.par_chunks(TRIAD_CHUNK))
        .zip(c.par_chunks(TRIAD_CHUNK))
        .for_each(|((a, b), c)| {
            for ((ai, bi), ci) in a.iter_mut().zip(b).zip(c) {
                *ai = bi + s * ci;
            }
        });
}

/// Columns of C per rayon task in [`square_gemm`].
const GEMM_COLUMNS: usize = 128;

/// C ← A·B for n×n column-major matrices: the compute roof. Each rayon task multiplies A by a
/// block of `GEMM_COLUMNS` columns of B with faer's sequential SIMD gemm (the kernel the
/// multinomial loss uses), so it runs at the rate the losses could reach on the same pool.
/// 2n³ flops.
///
/// # Panics
/// If a slice is not n² long.
pub fn square_gemm(n: usize, a: &[f64], b: &[f64], c: &mut [f64]) {
    use faer::linalg::matmul::matmul;
    use faer::{Accum, MatMut, MatRef, Par};
    assert!(a.len() == n * n && b.len() == n * n && c.len() == n * n);
    let lhs = MatRef::from_column_major_slice(a, n, n);
    c.par_chunks_mut(GEMM_COLUMNS * n)
        .zip(b.par_chunks(GEMM_COLUMNS * n))
        .for_each(|(c, b)| {
            let cols = b.len() / n;
            matmul(
                MatMut::from_column_major_slice_mut(c, n, cols),
                Accum::Replace,
                lhs,
                MatRef::from_column_major_slice(b, n, cols),
                1.0,
                Par::Seq,
            );
        });
}

/// Bytes one [`triad`] call moves, by STREAM's convention.
pub fn triad_bytes(len: usize) -> u64 {
    24 * len as u64
}

/// A synthetic regression data set: d×n standard normal features and y = xᵀβ + ε with a random
/// teacher β and N(0, 0.1²) noise.
///
/// # Panics
/// If `d` or `n` is 0 (the data set would be invalid).
pub fn synthetic_regression(d: usize, n: usize, seed: u64) -> Dataset {
    let streams = RngStreams::new(seed);
    let mut rng = streams.stream(0);
    let features = DMatrix::from_fn(d, n, |_, _| StandardNormal.sample(&mut rng));
    let beta = DVector::from_fn(d, |_, _| StandardNormal.sample(&mut rng));
    let mut noise = streams.stream(1);
    let y = DVector::from_fn(n, |i, _| {
        let e: f64 = StandardNormal.sample(&mut noise);
        features.column(i).dot(&beta) + 0.1 * e
    });
    Dataset::new(features, Targets::Real(y)).expect("synthetic data are valid")
}

/// A synthetic classification data set: d×n standard normal features (one sample per column)
/// and labels from a random linear teacher (10% of them replaced by random classes), so the
/// loss is not trivial.
///
/// # Panics
/// If `d`, `n` or `k` is 0 or `k < 2` (the data set would be invalid).
pub fn synthetic_classification(d: usize, n: usize, k: usize, seed: u64) -> Dataset {
    let streams = RngStreams::new(seed);
    let mut rng = streams.stream(0);
    let features = DMatrix::from_fn(d, n, |_, _| StandardNormal.sample(&mut rng));
    let teacher = DMatrix::from_fn(d, k, |_, _| StandardNormal.sample(&mut rng));
    let mut noise = streams.stream(1);
    let labels = (0..n)
        .map(|i| {
            let scores = teacher.tr_mul(&features.column(i));
            let jitter: usize = noise.random_range(0..10);
            if jitter == 0 {
                noise.random_range(0..k)
            } else {
                scores.argmax().0
            }
        })
        .collect();
    Dataset::new(
        features,
        Targets::Classes {
            labels,
            n_classes: k,
        },
    )
    .expect("synthetic data are valid")
}

/// The softmax layer and inputs shared by the smoothing benchmark and its NumPy peer: K = 10
/// classes, d = 64 inputs in [0, 1] (digits size), weights from a fixed formula so that the
/// classes are well separated for the first inputs, and `m` inputs (row-major).
///
/// # Panics
/// Never: the weights are finite and non-empty by construction.
pub fn smoothing_model(m: usize) -> (lisse_smoothing::Linear, Vec<f64>) {
    let (k, d) = (10, 64);
    let w = DMatrix::from_fn(k, d, |c, j| {
        (1.0 + 0.7 * c as f64 + 0.13 * (j * (c + 1)) as f64).sin()
    });
    let b = DVector::from_fn(k, |c, _| 0.1 * (c as f64).cos());
    let inputs = (0..m * d)
        .map(|t| {
            let (i, j) = (t / d, t % d);
            0.5 + 0.5 * (0.37 * i as f64 + 0.11 * (j * j) as f64).sin()
        })
        .collect();
    (
        lisse_smoothing::Linear::new(w, b).expect("finite, non-empty weights"),
        inputs,
    )
}
