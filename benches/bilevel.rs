//! One iteration of BO-REP and of SOBA on the quadratic bilevel problem (dense and factored
//! storage) and on data hyper-cleaning, beside a STREAM-like triad measured in the same run.
//!
//! Run: `cargo bench -p lisse-benches --bench bilevel`. The quadratic is benchopt's simulated
//! set-up: dims 100/100, 1,024 samples per level, batches of 64. Throughput of the dense runs
//! counts the per-sample matrix bytes one SOBA iteration must read, each matrix once (the fused
//! oracles) and only the upper triangle t(d) = d(d+1)/2 of the symmetric Aᵢ, Bᵢ:
//! 8·b·(t(dy) + dx·dy) for g (∇ᵧg, the HVP and the cross product from one pass over Aᵢ and
//! Cᵢ) plus 8·b·(t(dx) + t(dy) + dx·dy) for f (∇ₓf and ∇ᵧf from one pass over Bᵢ, Cᵢ, Aᵢ);
//! 18.0 MB at b = 64, the least any implementation must read (lisse's stored tiles, padded to
//! 8-row diagonal blocks, are 18.5 MB; the count stays at the minimum). The `dense` group
//! stores them with `Storage::DenseHugePages` (memory advised for transparent huge pages),
//! `dense_small_pages` with `Storage::Dense` (the heap's 4 KiB pages); the triad runs on both
//! kinds of pages too (`stream_triad`, `stream_triad_huge_pages`). Hyper-cleaning: the
//! digits, train 1,000 / validation 300, p = 0.3, c = 0.01, batches of 64. Every solver steps
//! on a rayon worker thread, as `Executor::run` runs it (see `steps`), so SOBA evaluates its two
//! levels at once. Results and their reading are in `docs/performance.md`.

use std::hint::black_box;

use criterion::{Bencher, Criterion, Throughput, criterion_group, criterion_main};
use lisse_benches::{triad, triad_bytes};
use lisse_bilevel::hypergradient::LinearSystem;
use lisse_bilevel::problem::{
    HyperCleaning, HyperCleaningSpec, QuadraticBilevel, QuadraticSpec, Storage,
};
use lisse_bilevel::solver::{BoRep, BoRepConfig, Soba, SobaConfig};
use lisse_core::solver::StepSize;
use lisse_core::{RngStreams, Solver, StreamRng};
use nalgebra::DVector;

const DX: usize = 100;
const DY: usize = 100;
const SAMPLES: usize = 1024;
const BATCH: usize = 64;

/// `len` copies of `value` in an anonymous memory map advised for transparent huge pages (as
/// lisse-bilevel's `Storage::DenseHugePages` stores its matrices).
fn huge_page_vector(len: usize, value: f64) -> memmap2::MmapMut {
    let mut map = memmap2::MmapMut::map_anon(8 * len).expect("anonymous map");
    #[cfg(target_os = "linux")]
    map.advise(memmap2::Advice::HugePage).expect("madvise");
    bytemuck::cast_slice_mut::<u8, f64>(&mut map[..]).fill(value);
    map
}

fn bench_triad(c: &mut Criterion) {
    let len = 20_000_000;
    let mut g = c.benchmark_group("bilevel_triad");
    g.throughput(Throughput::Bytes(triad_bytes(len)));
    {
        let (mut a, b, cc) = (vec![0.0; len], vec![1.0; len], vec![2.0; len]);
        g.bench_function("stream_triad", |bch| {
            bch.iter(|| triad(black_box(&mut a), &b, &cc, 3.0));
        });
    }
    let mut a = huge_page_vector(len, 0.0);
    let (b, cc) = (huge_page_vector(len, 1.0), huge_page_vector(len, 2.0));
    let a = bytemuck::cast_slice_mut::<u8, f64>(&mut a[..]);
    let (b, cc) = (bytemuck::cast_slice(&b[..]), bytemuck::cast_slice(&cc[..]));
    g.bench_function("stream_triad_huge_pages", |bch| {
        bch.iter(|| triad(black_box(&mut *a), b, cc, 3.0));
    });
    g.finish();
}

/// Times `solver`'s steps where [`lisse_core::Executor::run`] runs them: on a rayon worker
/// thread, from which the oracles' parallel passes fork without a hand-over between threads.
fn steps(b: &mut Bencher<'_>, solver: &mut dyn Solver, rng: &mut StreamRng) {
    rayon::scope(|_| b.iter(|| solver.step(rng).expect("step")));
}

fn quadratic(storage: Storage) -> QuadraticBilevel {
    let spec = QuadraticSpec {
        dim_x: DX,
        dim_y: DY,
        n_lower: SAMPLES,
        n_upper: SAMPLES,
        batch_size: BATCH,
        storage,
        ..QuadraticSpec::default()
    };
    QuadraticBilevel::random(&spec, &mut RngStreams::new(2442).stream(0)).expect("quadratic")
}

fn bench_quadratic(c: &mut Criterion) {
    // Upper triangles (with the diagonal) of the symmetric Aᵢ, Bᵢ; all of Cᵢ.
    let (tri_x, tri_y) = (DX * (DX + 1) / 2, DY * (DY + 1) / 2);
    let soba_bytes = (8 * BATCH * (tri_y + DX * DY + tri_x + tri_y + DX * DY)) as u64;
    for (storage, label) in [
        (Storage::DenseHugePages, "dense"),
        (Storage::Dense, "dense_small_pages"),
        (Storage::Factored, "factored"),
    ] {
        let quad = quadratic(storage);
        let mut g = c.benchmark_group(format!("bilevel_quadratic_{label}"));
        if storage == Storage::Factored {
            g.throughput(Throughput::Elements(1));
        } else {
            g.throughput(Throughput::Bytes(soba_bytes));
        }
        let mut soba = Soba::new(
            quad.problem().expect("problem"),
            SobaConfig::new(0.1, 0.01),
            DVector::from_element(DX, -2.0),
            DVector::zeros(DY),
        )
        .expect("soba");
        let mut rng = RngStreams::new(1).stream(0);
        g.bench_function("soba_iteration", |b| steps(b, &mut soba, &mut rng));
        let mut bo = BoRep::new(
            quad.problem().expect("problem"),
            LinearSystem::new(StepSize::Constant(0.1)).expect("estimator"),
            BoRepConfig::public_code(0.01, 0.1),
            DVector::from_element(DX, -2.0),
            DVector::zeros(DY),
        )
        .expect("bo-rep");
        g.bench_function("bo_rep_iteration", |b| steps(b, &mut bo, &mut rng));
        g.finish();
    }
}

fn bench_hyper_cleaning(c: &mut Criterion) {
    let hc = HyperCleaning::digits(
        &HyperCleaningSpec::default(),
        &mut RngStreams::new(0).stream(0),
    )
    .expect("hyper-cleaning");
    let (n, d) = (hc.n_train(), hc.dim_model());
    let mut g = c.benchmark_group("bilevel_hyper_cleaning");
    g.throughput(Throughput::Elements(1));
    let mut soba = Soba::new(
        hc.problem().expect("problem"),
        SobaConfig::new(1.0, 1000.0),
        DVector::zeros(n),
        DVector::zeros(d),
    )
    .expect("soba");
    let mut rng = RngStreams::new(1).stream(0);
    g.bench_function("soba_iteration", |b| steps(b, &mut soba, &mut rng));
    let mut bo = BoRep::new(
        hc.problem().expect("problem"),
        LinearSystem::new(StepSize::Constant(1.0)).expect("estimator"),
        BoRepConfig::public_code(0.5, 1.0),
        DVector::zeros(n),
        DVector::zeros(d),
    )
    .expect("bo-rep");
    g.bench_function("bo_rep_iteration", |b| steps(b, &mut bo, &mut rng));
    g.finish();
}

criterion_group!(benches, bench_triad, bench_quadratic, bench_hyper_cleaning);
criterion_main!(benches);
