//! Hypergradient estimators against the closed forms of the quadratic bilevel problem.

use lisse_bilevel::hypergradient::{
    ConjugateGradient, DenseExact, HypergradientEstimator, RandomizedNeumann, TruncatedNeumann,
};
use lisse_bilevel::problem::{
    BilevelProblem, ClosedForm, LowerLevel, QuadraticBilevel, QuadraticLevel, QuadraticSpec,
    Storage, UpperLevel,
};
use lisse_core::{
    OracleExt, PartialGradients, PartialHvps, RngStreams, Sampler, StochasticPartialGradients,
    StochasticPartialHvps, TwoBlock, TwoBlockFiniteSum, TwoBlockFiniteSumHvp,
};
use lisse_testkit::seed;
use nalgebra::{DMatrix, DVector};
use proptest::prelude::*;
use rand::RngExt;

fn instance(seed: u64, dx: usize, dy: usize, storage: Storage) -> QuadraticBilevel {
    let spec = QuadraticSpec {
        dim_x: dx,
        dim_y: dy,
        n_lower: 32,
        n_upper: 32,
        mu: 0.3,
        spread: 1.0,
        cross: 0.5,
        phi_curvature: 0.1,
        batch_size: 2,
        storage,
    };
    QuadraticBilevel::random(&spec, &mut RngStreams::new(seed).stream(0)).unwrap()
}

fn point(seed: u64, d: usize) -> DVector<f64> {
    let mut rng = RngStreams::new(seed).stream(1);
    DVector::from_fn(d, |_, _| rng.random_range(-2.0..2.0))
}

fn estimate<E: HypergradientEstimator>(
    e: &mut E,
    p: &BilevelProblem<QuadraticLevel, QuadraticLevel>,
    x: &DVector<f64>,
    y: &DVector<f64>,
    stream: u64,
) -> DVector<f64> {
    let mut out = DVector::zeros(x.len());
    e.estimate(p, x, y, &mut RngStreams::new(99).stream(stream), &mut out)
        .unwrap();
    out
}

/// H⁻¹(I − (I − ηH)^k): the expected z-operator of a k-term Neumann series with step η.
fn neumann_operator(h: &DMatrix<f64>, eta: f64, k: usize) -> DMatrix<f64> {
    let d = h.nrows();
    let id = DMatrix::<f64>::identity(d, d);
    let contraction = &id - h * eta;
    let mut power = id.clone();
    for _ in 0..k {
        power = &power * &contraction;
    }
    h.clone().cholesky().unwrap().solve(&(id - power))
}

/// Sample mean and Gaussian-concentration tolerance of `n` independent estimates.
///
/// For i.i.d. estimates with mean m and covariance Σ, the mean of N has covariance Σ/N. By the
/// CLT it is close to Gaussian G; for Gaussian G, E‖G‖ ≤ √(tr Σ/N) and ‖·‖ is Lipschitz with
/// constant √(‖Σ‖/N) ≤ √(tr Σ/N) in the standard coordinates, so
/// P(‖G‖ ≥ (1 + t)√(tr Σ/N)) ≤ exp(−t²/2). With t = 5 (tolerance 6√(tr Σ̂/N)) that is
/// ≤ 4·10⁻⁶ per case, about 10⁻⁴ over a proptest run. N = 3000 makes the tolerance a few
/// percent of the estimates' spread, far below the bias a wrong series (a missing Q factor or
/// q = 0 term) would add.
fn mean_and_tolerance(samples: &[DVector<f64>]) -> (DVector<f64>, f64) {
    let n = samples.len() as f64;
    let mean = samples
        .iter()
        .fold(DVector::zeros(samples[0].len()), |a, s| a + s)
        / n;
    let trace = samples
        .iter()
        .map(|s| (s - &mean).norm_squared())
        .sum::<f64>()
        / (n - 1.0);
    (mean, 6.0 * (trace / n).sqrt() + 1e-12)
}

const N_ESTIMATES: usize = 3000;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn exact_estimators_equal_closed_form(s in seed(), dx in 1usize..6, dy in 1usize..6) {
        let quad = instance(s, dx, dy, Storage::Factored);
        let p = quad.problem().unwrap();
        let x = point(s, dx);
        let y = quad.lower_solution(&x).unwrap();
        let truth = quad.hypergradient(&x).unwrap();
        let scale = truth.norm().max(1.0);
        let dense = estimate(&mut DenseExact::new(), &p, &x, &y, 0);
        prop_assert!((&dense - &truth).norm() <= 1e-8 * scale, "dense {dense} vs {truth}");
        let mut cg = ConjugateGradient::new(200, 1e-13).unwrap();
        let via_cg = estimate(&mut cg, &p, &x, &y, 0);
        prop_assert!((&via_cg - &truth).norm() <= 1e-8 * scale, "cg {via_cg} vs {truth}");
        // CG in exact arithmetic needs at most dim y HVPs; allow a few for rounding.
        prop_assert!(cg.last_iterations() <= dy + 3);
        // The uncounted metric agrees too.
        let surrogate = p.surrogate_hypergradient(&x, &y).unwrap();
        prop_assert!((&surrogate - &truth).norm() <= 1e-8 * scale);
    }

    #[test]
    fn cg_ridge_solves_the_shifted_system(s in seed(), dy in 1usize..6, ridge in 0.1f64..2.0) {
        let quad = instance(s, 3, dy, Storage::Factored);
        let p = quad.problem().unwrap();
        let x = point(s, 3);
        let y = point(s ^ 1, dy);
        let mut cg = ConjugateGradient::new(200, 1e-13).unwrap().with_ridge(ridge).unwrap();
        let got = estimate(&mut cg, &p, &x, &y, 0);
        let a = quad.lower().a_mean() + DMatrix::identity(dy, dy) * ridge;
        let mut gx = DVector::zeros(3);
        let mut gy = DVector::zeros(dy);
        quad.upper().grad_x_into(&x, &y, &mut gx).unwrap();
        quad.upper().grad_y_into(&x, &y, &mut gy).unwrap();
        let z = a.cholesky().unwrap().solve(&gy);
        let want = gx - quad.lower().c_mean() * z;
        prop_assert!((&got - &want).norm() <= 1e-8 * want.norm().max(1.0));
    }

    #[test]
    fn randomized_neumann_mean_within_bias(s in seed(), dx in 1usize..4, dy in 1usize..4, q in 1usize..8) {
        let quad = instance(s, dx, dy, Storage::Factored);
        let p = quad.problem().unwrap();
        let (mu, c_g) = (p.constants().mu, p.constants().smoothness);
        let x = point(s, dx);
        let y = quad.lower_solution(&x).unwrap();
        let truth = quad.hypergradient(&x).unwrap();
        let mut est = RandomizedNeumann::new(q).unwrap();
        let mut rng = RngStreams::new(s).stream(7);
        let samples: Vec<DVector<f64>> = (0..N_ESTIMATES)
            .map(|_| {
                let mut out = DVector::zeros(dx);
                est.estimate(&p, &x, &y, &mut rng, &mut out).unwrap();
                out
            })
            .collect();
        let (mean, tol) = mean_and_tolerance(&samples);
        // Exact expectation: ∇ₓf − C̄ Ā⁻¹(I − (I − Ā/C_g)^Q)∇ᵧf.
        let mut gx = DVector::zeros(dx);
        let mut gy = DVector::zeros(dy);
        quad.upper().grad_x_into(&x, &y, &mut gx).unwrap();
        quad.upper().grad_y_into(&x, &y, &mut gy).unwrap();
        let expected = &gx - quad.lower().c_mean() * neumann_operator(quad.lower().a_mean(), 1.0 / c_g, q) * &gy;
        prop_assert!((&mean - &expected).norm() <= tol, "mean {mean} expected {expected} tol {tol}");
        // The bias bound ‖C̄‖‖∇ᵧf‖(1 − μ/C_g)^Q/μ, and the form of the test.
        let bias = quad.lower().c_mean().norm() * gy.norm() * (1.0 - mu / c_g).powi(q as i32) / mu;
        prop_assert!((&expected - &truth).norm() <= bias * (1.0 + 1e-9) + 1e-12);
        prop_assert!((&mean - &truth).norm() <= bias + tol);
    }

    #[test]
    fn truncated_neumann_mean_within_bias(s in seed(), dx in 1usize..4, dy in 1usize..4, q in 0usize..8) {
        let quad = instance(s, dx, dy, Storage::Factored);
        let p = quad.problem().unwrap();
        let (mu, c_g) = (p.constants().mu, p.constants().smoothness);
        let x = point(s, dx);
        let y = quad.lower_solution(&x).unwrap();
        let truth = quad.hypergradient(&x).unwrap();
        let mut est = TruncatedNeumann::new(q);
        let mut rng = RngStreams::new(s).stream(8);
        let samples: Vec<DVector<f64>> = (0..N_ESTIMATES)
            .map(|_| {
                let mut out = DVector::zeros(dx);
                est.estimate(&p, &x, &y, &mut rng, &mut out).unwrap();
                out
            })
            .collect();
        let (mean, tol) = mean_and_tolerance(&samples);
        // Q HVPs give Q + 1 terms (q = 0 included): ∇ₓf − C̄ Ā⁻¹(I − (I − Ā/C_g)^{Q+1})∇ᵧf.
        let mut gx = DVector::zeros(dx);
        let mut gy = DVector::zeros(dy);
        quad.upper().grad_x_into(&x, &y, &mut gx).unwrap();
        quad.upper().grad_y_into(&x, &y, &mut gy).unwrap();
        let expected = &gx - quad.lower().c_mean() * neumann_operator(quad.lower().a_mean(), 1.0 / c_g, q + 1) * &gy;
        prop_assert!((&mean - &expected).norm() <= tol, "mean {mean} expected {expected} tol {tol}");
        let bias = quad.lower().c_mean().norm() * gy.norm() * (1.0 - mu / c_g).powi(q as i32 + 1) / mu;
        prop_assert!((&mean - &truth).norm() <= bias + tol);
    }

    #[test]
    fn dense_and_factored_storage_agree(s in seed(), dx in 1usize..5, dy in 1usize..5) {
        let a = instance(s, dx, dy, Storage::Factored);
        let b = instance(s, dx, dy, Storage::Dense);
        prop_assert_eq!(b.lower().storage(), Storage::Dense);
        let x = point(s, dx);
        let y = point(s ^ 3, dy);
        let v = point(s ^ 5, dy);
        for (la, lb) in [(a.lower(), b.lower()), (a.upper(), b.upper())] {
            let batch = [0usize, 3, 3, 17, 31];
            let mut o1 = DVector::zeros(dy);
            let mut o2 = DVector::zeros(dy);
            la.batch_grad_y_into(&x, &y, &batch, &mut o1).unwrap();
            lb.batch_grad_y_into(&x, &y, &batch, &mut o2).unwrap();
            prop_assert!((&o1 - &o2).norm() <= 1e-12 * o1.norm().max(1.0));
            la.batch_hvp_yy_into(&x, &y, &v, &batch, &mut o1).unwrap();
            lb.batch_hvp_yy_into(&x, &y, &v, &batch, &mut o2).unwrap();
            prop_assert!((&o1 - &o2).norm() <= 1e-12 * o1.norm().max(1.0));
            let mut p1 = DVector::zeros(dx);
            let mut p2 = DVector::zeros(dx);
            la.batch_grad_x_into(&x, &y, &batch, &mut p1).unwrap();
            lb.batch_grad_x_into(&x, &y, &batch, &mut p2).unwrap();
            prop_assert!((&p1 - &p2).norm() <= 1e-12 * p1.norm().max(1.0));
            la.batch_hvp_xy_into(&x, &y, &v, &batch, &mut p1).unwrap();
            lb.batch_hvp_xy_into(&x, &y, &v, &batch, &mut p2).unwrap();
            prop_assert!((&p1 - &p2).norm() <= 1e-12 * p1.norm().max(1.0));
            // Same draws, same stochastic output.
            let sa = la.draw(&mut RngStreams::new(1).stream(0)).unwrap();
            let sb = lb.draw(&mut RngStreams::new(1).stream(0)).unwrap();
            prop_assert_eq!(&sa, &sb);
            la.hvp_xy_at_into(&x, &y, &v, &sa, &mut p1).unwrap();
            lb.hvp_xy_at_into(&x, &y, &v, &sb, &mut p2).unwrap();
            prop_assert!((&p1 - &p2).norm() <= 1e-12 * p1.norm().max(1.0));
        }
    }

    #[test]
    fn fused_oracles_equal_the_single_oracles(s in seed(), dx in 1usize..6, dy in 1usize..6) {
        for storage in [Storage::Dense, Storage::Factored] {
            let q = instance(s, dx, dy, storage);
            let x = point(s, dx);
            let y = point(s ^ 3, dy);
            let v = point(s ^ 5, dy);
            let batch = vec![0usize, 3, 3, 17, 31];
            for level in [q.lower(), q.upper()] {
                let (mut g1, mut h1, mut c1) = (DVector::zeros(dy), DVector::zeros(dy), DVector::zeros(dx));
                let (mut g2, mut h2, mut c2) = (DVector::zeros(dy), DVector::zeros(dy), DVector::zeros(dx));
                level.grad_y_at_into(&x, &y, &batch, &mut g1).unwrap();
                level.hvp_yy_at_into(&x, &y, &v, &batch, &mut h1).unwrap();
                level.hvp_xy_at_into(&x, &y, &v, &batch, &mut c1).unwrap();
                // Buffers start dirty: the fused pass must overwrite them.
                g2.fill(7.0);
                h2.fill(7.0);
                c2.fill(7.0);
                LowerLevel::directions_at_into(level, &x, &y, &v, &batch, &mut g2, &mut h2, &mut c2).unwrap();
                prop_assert!((&g1 - &g2).norm() <= 1e-12 * g1.norm().max(1.0), "{storage:?} grad_y");
                prop_assert!((&h1 - &h2).norm() <= 1e-12 * h1.norm().max(1.0), "{storage:?} hvp");
                prop_assert!((&c1 - &c2).norm() <= 1e-12 * c1.norm().max(1.0), "{storage:?} cross");
                let mut gx1 = DVector::zeros(dx);
                let mut gx2 = DVector::from_element(dx, 7.0);
                level.grad_x_at_into(&x, &y, &batch, &mut gx1).unwrap();
                g2.fill(7.0);
                UpperLevel::grads_at_into(level, &x, &y, &batch, &mut gx2, &mut g2).unwrap();
                prop_assert!((&gx1 - &gx2).norm() <= 1e-12 * gx1.norm().max(1.0), "{storage:?} grad_x");
                prop_assert!((&g1 - &g2).norm() <= 1e-12 * g1.norm().max(1.0), "{storage:?} grad_y (upper)");
            }
            // Bad input: typed errors, not panics.
            let mut short = DVector::zeros(dy + 1);
            let (mut h, mut c) = (DVector::zeros(dy), DVector::zeros(dx));
            prop_assert!(LowerLevel::directions_at_into(q.lower(), &x, &y, &v, &batch, &mut short, &mut h, &mut c).is_err());
            prop_assert!(LowerLevel::directions_at_into(q.lower(), &x, &y, &v, &vec![32], &mut h.clone(), &mut h, &mut c).is_err());
            let mut gx = DVector::zeros(dx);
            prop_assert!(UpperLevel::grads_at_into(q.upper(), &x, &y, &vec![99], &mut gx, &mut h).is_err());
        }
    }

    #[test]
    fn quadratic_oracles_match_finite_differences_and_means(s in seed(), dx in 1usize..5, dy in 1usize..5) {
        let quad = instance(s, dx, dy, Storage::Factored);
        let x = point(s, dx);
        let y = point(s ^ 3, dy);
        let v = point(s ^ 5, dy);
        for level in [quad.lower(), quad.upper()] {
            let all: Vec<usize> = (0..level.n_terms_xy()).collect();
            // Means over all terms equal the exact oracles.
            let mut exact = DVector::zeros(dy);
            let mut mean = DVector::zeros(dy);
            level.grad_y_into(&x, &y, &mut exact).unwrap();
            level.batch_grad_y_into(&x, &y, &all, &mut mean).unwrap();
            prop_assert!((&exact - &mean).norm() <= 1e-10 * exact.norm().max(1.0));
            level.hvp_yy_into(&x, &y, &v, &mut exact).unwrap();
            level.batch_hvp_yy_into(&x, &y, &v, &all, &mut mean).unwrap();
            prop_assert!((&exact - &mean).norm() <= 1e-10 * exact.norm().max(1.0));
            let mut ex = DVector::zeros(dx);
            let mut mx = DVector::zeros(dx);
            level.grad_x_into(&x, &y, &mut ex).unwrap();
            level.batch_grad_x_into(&x, &y, &all, &mut mx).unwrap();
            prop_assert!((&ex - &mx).norm() <= 1e-10 * ex.norm().max(1.0));
            level.hvp_xy_into(&x, &y, &v, &mut ex).unwrap();
            level.batch_hvp_xy_into(&x, &y, &v, &all, &mut mx).unwrap();
            prop_assert!((&ex - &mx).norm() <= 1e-10 * ex.norm().max(1.0));
            // Central differences of the value (quadratic: exact up to rounding).
            let h = 1e-4;
            let value = |x: &DVector<f64>, y: &DVector<f64>| level.batch_value_xy(x, y, &all).unwrap();
            let mut gy = DVector::zeros(dy);
            level.grad_y_into(&x, &y, &mut gy).unwrap();
            for j in 0..dy {
                let mut yp = y.clone();
                yp[j] += h;
                let mut ym = y.clone();
                ym[j] -= h;
                let fd = (value(&x, &yp) - value(&x, &ym)) / (2.0 * h);
                prop_assert!((fd - gy[j]).abs() <= 1e-6 * gy[j].abs().max(1.0));
            }
            // ∇²ₓᵧ·v = ∇ₓ⟨∇ᵧh, v⟩ by differences of ∇ᵧh in x.
            let mut cross = DVector::zeros(dx);
            level.hvp_xy_into(&x, &y, &v, &mut cross).unwrap();
            for i in 0..dx {
                let mut xp = x.clone();
                xp[i] += h;
                let mut xm = x.clone();
                xm[i] -= h;
                let mut gp = DVector::zeros(dy);
                let mut gm = DVector::zeros(dy);
                level.grad_y_into(&xp, &y, &mut gp).unwrap();
                level.grad_y_into(&xm, &y, &mut gm).unwrap();
                let fd = (gp - gm).dot(&v) / (2.0 * h);
                prop_assert!((fd - cross[i]).abs() <= 1e-6 * cross[i].abs().max(1.0));
            }
            prop_assert_eq!(level.dim_x(), dx);
        }
        // Closed form: ∇ᵧg(x, y*(x)) = 0 and ∇Φ matches differences of Φ(x) = f(x, y*(x)).
        let ys = quad.lower_solution(&x).unwrap();
        let mut gy = DVector::zeros(dy);
        quad.lower().grad_y_into(&x, &ys, &mut gy).unwrap();
        prop_assert!(gy.norm() <= 1e-9 * (1.0 + ys.norm()));
        let all: Vec<usize> = (0..quad.upper().n_terms_xy()).collect();
        let phi = |x: &DVector<f64>| quad.upper().batch_value_xy(x, &quad.lower_solution(x).unwrap(), &all).unwrap();
        let grad = quad.hypergradient(&x).unwrap();
        for i in 0..dx {
            let h = 1e-4;
            let mut xp = x.clone();
            xp[i] += h;
            let mut xm = x.clone();
            xm[i] -= h;
            let fd = (phi(&xp) - phi(&xm)) / (2.0 * h);
            prop_assert!((fd - grad[i]).abs() <= 1e-6 * grad[i].abs().max(1.0), "{fd} vs {}", grad[i]);
        }
        // ∇²Φ ⪰ phi_curvature·I as generated.
        prop_assert!(quad.phi_hessian().symmetric_eigenvalues().min() >= 0.1 - 1e-9);
    }
}

#[test]
fn stochastic_oracles_are_unbiased_minibatch_means() {
    // One stochastic call with batch b equals the batch mean over the indices it drew: check
    // the mean over many calls against the exact oracle.
    let quad = instance(5, 3, 4, Storage::Factored);
    let x = point(5, 3);
    let y = point(6, 4);
    let mut rng = RngStreams::new(3).stream(0);
    let mut acc = DVector::zeros(4);
    let mut out = DVector::zeros(4);
    let n = 20_000;
    let mut sample = quad.lower().empty_sample();
    for _ in 0..n {
        quad.lower().draw_into(&mut rng, &mut sample).unwrap();
        assert_eq!(sample.len(), quad.lower().batch_size());
        quad.lower()
            .grad_y_at_into(&x, &y, &sample, &mut out)
            .unwrap();
        acc += &out;
    }
    acc /= f64::from(n);
    let mut exact = DVector::zeros(4);
    quad.lower().grad_y_into(&x, &y, &mut exact).unwrap();
    assert!((&acc - &exact).norm() < 0.05 * exact.norm().max(1.0));
}

#[test]
fn bad_input_gives_typed_errors() {
    assert!(RandomizedNeumann::new(0).is_err());
    assert!(TruncatedNeumann::new(3).with_eta(-1.0).is_err());
    assert!(ConjugateGradient::new(0, 1e-6).is_err());
    assert!(ConjugateGradient::new(10, 1.5).is_err());
    assert!(
        ConjugateGradient::new(10, 1e-6)
            .unwrap()
            .with_ridge(f64::NAN)
            .is_err()
    );
    let quad = instance(1, 2, 3, Storage::Factored);
    let p = quad.problem().unwrap();
    // Wrong lengths are errors, not panics.
    let mut out = DVector::zeros(2);
    let r = DenseExact::new().estimate(
        &p,
        &DVector::zeros(3),
        &DVector::zeros(3),
        &mut RngStreams::new(0).stream(0),
        &mut out,
    );
    assert!(matches!(
        r,
        Err(lisse_core::Error::DimensionMismatch { .. })
    ));
    // A Neumann step beyond 2/μ is rejected with a message saying how to fix it.
    let e = TruncatedNeumann::new(3)
        .with_eta(100.0)
        .unwrap()
        .estimate(
            &p,
            &DVector::zeros(2),
            &DVector::zeros(3),
            &mut RngStreams::new(0).stream(0),
            &mut out,
        )
        .unwrap_err();
    assert!(e.to_string().contains("1/C_g"), "{e}");
    // Random instances reject μ ≤ 0.
    let spec = QuadraticSpec {
        mu: 0.0,
        ..QuadraticSpec::default()
    };
    let e = QuadraticBilevel::random(&spec, &mut RngStreams::new(0).stream(0)).unwrap_err();
    assert!(e.to_string().contains("strongly convex"), "{e}");
    let _ = (quad.lower().hvp_yy_into(
        &DVector::zeros(2),
        &DVector::zeros(3),
        &DVector::zeros(3),
        &mut DVector::zeros(3),
    ),);
    let sample = quad
        .lower()
        .draw(&mut RngStreams::new(0).stream(0))
        .unwrap();
    assert!(
        quad.lower()
            .hvp_yy_at_into(
                &DVector::zeros(2),
                &DVector::zeros(3),
                &DVector::zeros(2),
                &sample,
                &mut DVector::zeros(3)
            )
            .is_err()
    );
    // An index out of range in a hand-made sample is an error, not a panic.
    assert!(
        quad.lower()
            .grad_y_at_into(
                &DVector::zeros(2),
                &DVector::zeros(3),
                &vec![10_000],
                &mut DVector::zeros(3)
            )
            .is_err()
    );
}

#[test]
fn dense_fused_oracles_are_bit_identical_across_thread_counts() {
    let spec = QuadraticSpec {
        dim_x: 7,
        dim_y: 9,
        n_lower: 64,
        n_upper: 64,
        batch_size: 50,
        storage: Storage::Dense,
        ..QuadraticSpec::default()
    };
    let q = QuadraticBilevel::random(&spec, &mut RngStreams::new(4).stream(0)).unwrap();
    let (x, y, v) = (point(1, 7), point(2, 9), point(3, 9));
    let batch: Vec<usize> = (0..50).map(|i| (i * 37) % 64).collect();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let (mut g, mut h, mut c) = (DVector::zeros(9), DVector::zeros(9), DVector::zeros(7));
            LowerLevel::directions_at_into(q.lower(), &x, &y, &v, &batch, &mut g, &mut h, &mut c)
                .unwrap();
            let (mut gx, mut gy) = (DVector::zeros(7), DVector::zeros(9));
            UpperLevel::grads_at_into(q.upper(), &x, &y, &batch, &mut gx, &mut gy).unwrap();
            [g, h, c, gx, gy]
        })
    };
    let one = run(1);
    for threads in [2, 3, 5] {
        assert_eq!(one, run(threads), "{threads} threads");
    }
}

/// The dense kernels sum dot products in 8 lanes over full chunks of 8 rows, then the rest:
/// dimensions with and without a remainder, against the single oracles (plain per-sample
/// gemv).
#[test]
fn fused_dense_oracles_equal_the_single_oracles_on_long_columns() {
    for (s, dx, dy) in [(1, 13, 19), (2, 16, 8), (3, 9, 24)] {
        let q = instance(s, dx, dy, Storage::Dense);
        let (x, y, v) = (point(s, dx), point(s ^ 3, dy), point(s ^ 5, dy));
        let batch = vec![0usize, 3, 3, 17, 31];
        for level in [q.lower(), q.upper()] {
            let (mut g1, mut h1, mut c1) =
                (DVector::zeros(dy), DVector::zeros(dy), DVector::zeros(dx));
            level.grad_y_at_into(&x, &y, &batch, &mut g1).unwrap();
            level.hvp_yy_at_into(&x, &y, &v, &batch, &mut h1).unwrap();
            level.hvp_xy_at_into(&x, &y, &v, &batch, &mut c1).unwrap();
            let (mut g2, mut h2, mut c2) = (
                DVector::from_element(dy, 7.0),
                DVector::from_element(dy, 7.0),
                DVector::from_element(dx, 7.0),
            );
            LowerLevel::directions_at_into(level, &x, &y, &v, &batch, &mut g2, &mut h2, &mut c2)
                .unwrap();
            assert!(
                (&g1 - &g2).norm() <= 1e-12 * g1.norm().max(1.0),
                "{dx}/{dy} grad_y"
            );
            assert!(
                (&h1 - &h2).norm() <= 1e-12 * h1.norm().max(1.0),
                "{dx}/{dy} hvp"
            );
            assert!(
                (&c1 - &c2).norm() <= 1e-12 * c1.norm().max(1.0),
                "{dx}/{dy} cross"
            );
            let mut gx1 = DVector::zeros(dx);
            level.grad_x_at_into(&x, &y, &batch, &mut gx1).unwrap();
            let mut gx2 = DVector::from_element(dx, 7.0);
            g2.fill(7.0);
            UpperLevel::grads_at_into(level, &x, &y, &batch, &mut gx2, &mut g2).unwrap();
            assert!(
                (&gx1 - &gx2).norm() <= 1e-12 * gx1.norm().max(1.0),
                "{dx}/{dy} grad_x"
            );
            assert!(
                (&g1 - &g2).norm() <= 1e-12 * g1.norm().max(1.0),
                "{dx}/{dy} grad_y (f)"
            );
        }
    }
}
