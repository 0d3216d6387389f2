//! Issue 5, item 7: warm hot paths allocate nothing. A counting global allocator tallies heap
//! allocations while the multinomial kernels run (full batch and minibatch), after warm-up
//! calls have filled the per-thread scratch pools and faer's packing buffers. The counter
//! (`allocation-counter`) counts the measuring thread, so the kernels run in a rayon pool of
//! one thread, inside it: every block of every call runs on that thread.

use lisse_core::{
    Dimension, FiniteSum, FiniteSumHvp, Gradient, Hvp, Objective, RngStreams, Sampler,
};
use lisse_oracles::data::digits;
use lisse_oracles::loss::MultinomialLogistic;
use lisse_oracles::sampling::{BatchSampler, Sampling};
use nalgebra::DVector;

#[test]
fn warm_multinomial_kernels_allocate_nothing() {
    // One thread: every block runs on the calling worker, whose pools the warm-up fills.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    pool.install(|| {
        // The digits, 10 times over, so the full batch spans several blocks.
        let base = digits();
        let idx: Vec<usize> = (0..10 * base.n_samples())
            .map(|i| i % base.n_samples())
            .collect();
        let loss = MultinomialLogistic::new(base.subset(&idx).unwrap())
            .unwrap()
            .with_l2(1e-3)
            .unwrap();
        let w = DVector::from_fn(loss.dim(), |i, _| ((i * 7 % 13) as f64 - 6.0) / 50.0);
        let v = DVector::from_fn(loss.dim(), |i, _| ((i * 5 % 11) as f64 - 5.0) / 50.0);
        let mut out = DVector::zeros(loss.dim());
        let sampler =
            BatchSampler::new(loss.n_terms(), 5_000, Sampling::WithoutReplacement).unwrap();
        let mut batch = sampler.empty_sample();
        let mut rng = RngStreams::new(0).stream(0);
        let mut run = || {
            loss.gradient_into(&w, &mut out).unwrap();
            let _ = loss.value(&w).unwrap();
            loss.hvp_into(&w, &v, &mut out).unwrap();
            sampler.draw_into(&mut rng, &mut batch).unwrap();
            loss.batch_gradient_into(&w, batch.indices(), &mut out)
                .unwrap();
            loss.batch_hvp_into(&w, &v, batch.indices(), &mut out)
                .unwrap();
        };
        for _ in 0..3 {
            run();
        }
        let info = allocation_counter::measure(|| {
            for _ in 0..5 {
                run();
            }
        });
        assert_eq!(info.count_total, 0, "{info:?} in 5 warm rounds");
        // The counter does count: a cold loss allocates (its first scratch and packing).
        let cold = allocation_counter::measure(|| {
            // black_box on the vector itself, or an optimized build removes the allocation.
            std::hint::black_box(Vec::<f64>::with_capacity(std::hint::black_box(16)));
        });
        assert!(cold.count_total > 0);
    });
}
