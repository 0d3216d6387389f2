//! Certification throughput of lisse-smoothing: CERTIFY and LVM-RS for a softmax layer of
//! digits size (d = 64 inputs, K = 10 classes), n = 100 000 noise samples in batches of
//! 10 000, the setting of the NumPy/SciPy peer in `benches/smoothing_peer.py`.
//!
//! Run: `cargo bench -p lisse-benches --bench smoothing`. Throughput is reported in noise
//! samples per second (elements); `noise_only` reports normals per second (elements), drawn
//! in the 64 KiB chunks CERTIFY uses. Results in `docs/performance.md`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lisse_benches::smoothing_model;
use lisse_core::RngStreams;
use lisse_smoothing::cohen::{CertifyParams, certify};
use lisse_smoothing::lvm::{LvmParams, certify_lvm};
use lisse_smoothing::noise::{GaussianNoise, batch_sampler};

const N: u64 = 100_000;
const BATCH: usize = 10_000;

fn bench_certify(c: &mut Criterion) {
    let (model, inputs) = smoothing_model(4);
    let d = 64;
    let x = &inputs[..d];
    let mut g = c.benchmark_group("smoothing");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N + 100));
    let params = CertifyParams {
        n: N,
        batch: BATCH,
        ..CertifyParams::default()
    };
    let streams = RngStreams::new(1);
    g.bench_function("certify_softmax_d64_k10_n1e5", |b| {
        b.iter(|| certify(&model, black_box(x), 0.5, &params, &streams).unwrap());
    });
    let lvm = LvmParams {
        n: N,
        batch: BATCH,
        ..LvmParams::default()
    };
    g.throughput(Throughput::Elements(N));
    g.bench_function("lvm_13_maps_softmax_d64_k10_n1e5", |b| {
        b.iter(|| certify_lvm(&model, black_box(x), 0.5, &lvm, &streams).unwrap());
    });
    // The noise of one batch as CERTIFY draws it for this model: 79 chunks of 128 rows × 64
    // normals (64 KiB, Linear's preferred_rows), each chunk overwriting the same buffer.
    let noise = GaussianNoise::new(0.5).unwrap();
    let rows = 128;
    let mut buf = vec![0.0; rows * d];
    let chunks = BATCH.div_ceil(rows);
    g.throughput(Throughput::Elements((chunks * rows * d) as u64));
    g.bench_function("noise_only_batch_1e4_d64", |b| {
        let mut sampler = batch_sampler(&streams, 0);
        b.iter(|| {
            for _ in 0..chunks {
                noise.perturb_into(black_box(x), &mut sampler, &mut buf);
            }
        });
    });
    g.finish();
}

criterion_group!(benches, bench_certify);
criterion_main!(benches);
