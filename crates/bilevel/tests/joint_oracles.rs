//! `BilevelProblem::lower_directions_and_upper_grads` (SOBA's oracles of both levels, evaluated
//! on two threads when called on a rayon worker) against the two calls one after the other.

use lisse_bilevel::problem::{
    BilevelProblem, HyperCleaning, HyperCleaningSpec, LowerLevel, QuadraticBilevel, QuadraticSpec,
    Storage, UpperLevel,
};
use lisse_core::{RngStreams, StreamRng};
use nalgebra::DVector;
use rand::RngExt;

/// Outputs, tallies and the next draw of the generator after `calls` joint evaluations.
type Outcome = (Vec<DVector<f64>>, String, u64);

fn point(seed: u64, d: usize) -> DVector<f64> {
    let mut rng = RngStreams::new(seed).stream(1);
    DVector::from_fn(d, |_, _| rng.random_range(-0.5..0.5))
}

/// `calls` evaluations on a fresh problem: joint (`joint = true`) or the two calls in order.
fn evaluate<F: UpperLevel, G: LowerLevel>(
    p: &BilevelProblem<F, G>,
    joint: bool,
    calls: usize,
) -> Outcome {
    let (dx, dy) = (p.dim_x(), p.dim_y());
    let (x, y, z) = (point(1, dx), point(2, dy), point(3, dy));
    let mut rng: StreamRng = RngStreams::new(7).stream(0);
    let mut out = vec![
        DVector::zeros(dy),
        DVector::zeros(dy),
        DVector::zeros(dx),
        DVector::zeros(dx),
        DVector::zeros(dy),
    ];
    for _ in 0..calls {
        let [g, h, c, gx, gy] = out.get_disjoint_mut([0, 1, 2, 3, 4]).unwrap();
        if joint {
            p.lower_directions_and_upper_grads((&x, &y, &z), &mut rng, [g, h, c], [gx, gy])
                .unwrap();
        } else {
            p.lower_directions(&x, &y, &z, &mut rng, g, h, c).unwrap();
            p.upper_grads(&x, &y, &mut rng, gx, gy).unwrap();
        }
    }
    let next: u64 = rng.random();
    (out, format!("{:?}", p.counts()), next)
}

/// Off the pool (one thread, in order) and on a worker of pools of 1 and 2 threads (the
/// levels at once): the same bits, tallies and generator state as the two separate calls.
fn check<F: UpperLevel, G: LowerLevel>(make: impl Fn() -> BilevelProblem<F, G> + Sync) {
    let reference = evaluate(&make(), false, 3);
    assert_eq!(evaluate(&make(), true, 3), reference, "off the pool");
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let on_worker = pool.install(|| {
            assert!(rayon::current_thread_index().is_some());
            evaluate(&make(), true, 3)
        });
        assert_eq!(on_worker, reference, "on a worker of {threads} threads");
    }
}

#[test]
fn joint_evaluation_equals_the_two_calls_on_the_dense_quadratic() {
    let spec = QuadraticSpec {
        dim_x: 9,
        dim_y: 11,
        n_lower: 40,
        n_upper: 40,
        batch_size: 37,
        storage: Storage::Dense,
        ..QuadraticSpec::default()
    };
    let q = QuadraticBilevel::random(&spec, &mut RngStreams::new(5).stream(0)).unwrap();
    check(|| q.problem().unwrap());
}

#[test]
fn joint_evaluation_equals_the_two_calls_on_hyper_cleaning() {
    let spec = HyperCleaningSpec {
        n_train: 200,
        n_validation: 100,
        ..HyperCleaningSpec::default()
    };
    let hc = HyperCleaning::digits(&spec, &mut RngStreams::new(1).stream(0)).unwrap();
    check(|| hc.problem().unwrap());
}

/// A non-finite output of either level is reported, the lower level's first.
#[test]
fn joint_evaluation_reports_either_levels_error() {
    let spec = QuadraticSpec {
        dim_x: 3,
        dim_y: 4,
        n_lower: 8,
        n_upper: 8,
        batch_size: 4,
        storage: Storage::Dense,
        ..QuadraticSpec::default()
    };
    let q = QuadraticBilevel::random(&spec, &mut RngStreams::new(5).stream(0)).unwrap();
    let p = q.problem().unwrap();
    let mut rng = RngStreams::new(7).stream(0);
    let (x, z) = (point(1, 3), point(3, 4));
    let y_bad = DVector::from_element(4, f64::INFINITY);
    let mut b = [DVector::zeros(4), DVector::zeros(4), DVector::zeros(3)];
    let mut u = [DVector::zeros(3), DVector::zeros(4)];
    let [g, h, c] = &mut b;
    let [gx, gy] = &mut u;
    let e = p
        .lower_directions_and_upper_grads((&x, &y_bad, &z), &mut rng, [g, h, c], [gx, gy])
        .unwrap_err();
    assert!(e.to_string().contains("lower"), "{e}");
}
