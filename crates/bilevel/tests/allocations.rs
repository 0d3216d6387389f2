//! Warm SOBA iterations allocate nothing: a counting global allocator tallies heap allocations
//! during SOBA steps on hyper-cleaning and on the dense quadratic, after warm-up steps have
//! sized every buffer. The counter (`allocation-counter`) counts the measuring thread, so the
//! steps run in a rayon pool of one thread, inside it: the joined evaluation of the two levels
//! (`BilevelProblem::lower_directions_and_upper_grads` on a worker) and every parallel block
//! then run on that thread.

use lisse_bilevel::problem::{
    HyperCleaning, HyperCleaningSpec, QuadraticBilevel, QuadraticSpec, Storage,
};
use lisse_bilevel::solver::{Soba, SobaConfig};
use lisse_core::{RngStreams, Solver, TwoBlock};
use nalgebra::DVector;

/// Allocations during 5 steps after 3 warm-up steps, on the one worker of a fresh pool.
fn allocations_of_warm_steps(solver: &mut dyn Solver) -> u64 {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    pool.install(|| {
        assert!(rayon::current_thread_index().is_some());
        let mut rng = RngStreams::new(3).stream(0);
        for _ in 0..3 {
            solver.step(&mut rng).unwrap();
        }
        allocation_counter::measure(|| {
            for _ in 0..5 {
                solver.step(&mut rng).unwrap();
            }
        })
        .count_total
    })
}

#[test]
fn warm_soba_steps_allocate_nothing() {
    let hc = HyperCleaning::digits(
        &HyperCleaningSpec {
            n_train: 200,
            n_validation: 100,
            ..HyperCleaningSpec::default()
        },
        &mut RngStreams::new(1).stream(0),
    )
    .unwrap();
    let mut soba = Soba::new(
        hc.problem().unwrap(),
        SobaConfig::new(1.0, 100.0),
        DVector::zeros(hc.n_train()),
        DVector::zeros(hc.dim_model()),
    )
    .unwrap();
    assert_eq!(allocations_of_warm_steps(&mut soba), 0, "hyper-cleaning");

    let spec = QuadraticSpec {
        dim_x: 12,
        dim_y: 20,
        n_lower: 64,
        n_upper: 64,
        batch_size: 40,
        storage: Storage::Dense,
        ..QuadraticSpec::default()
    };
    let q = QuadraticBilevel::random(&spec, &mut RngStreams::new(2).stream(0)).unwrap();
    let mut soba = Soba::new(
        q.problem().unwrap(),
        SobaConfig::new(0.1, 0.01),
        DVector::zeros(12),
        DVector::zeros(20),
    )
    .unwrap();
    assert_eq!(allocations_of_warm_steps(&mut soba), 0, "dense quadratic");
}

/// The counter does count: a cold solver's first step allocates (its buffers and scratch).
#[test]
fn the_counter_sees_a_cold_step() {
    let q = QuadraticBilevel::random(
        &QuadraticSpec {
            storage: Storage::Dense,
            ..QuadraticSpec::default()
        },
        &mut RngStreams::new(2).stream(0),
    )
    .unwrap();
    let (dx, dy) = (q.upper().dim_x(), q.upper().dim_y());
    let mut soba = Soba::new(
        q.problem().unwrap(),
        SobaConfig::new(0.1, 0.01),
        DVector::zeros(dx),
        DVector::zeros(dy),
    )
    .unwrap();
    let mut rng = RngStreams::new(3).stream(0);
    let cold = allocation_counter::measure(|| soba.step(&mut rng).unwrap());
    assert!(cold.count_total > 0, "{cold:?}");
}
