//! Minibatch sampling and gradient noise: unbiasedness, the stated variances, and errors.

use lisse_core::{
    Counted, Dimension, Error, FiniteSum, FiniteSumHvp, Gradient, OracleExt, PartialGradients,
    PartialHvps, Result, RngStreams, Sampler, StochasticHvp, StochasticObjective, TwoBlock,
    TwoBlockFiniteSum, TwoBlockFiniteSumHvp, TwoBlockObjective,
};
use lisse_oracles::sampling::{Batch, BatchSampler, GradientNoise, Minibatch, Sampling};
use nalgebra::{DVector, dvector};
use proptest::prelude::*;

/// fᵢ(x) = ½ cᵢ ‖x − pᵢ‖², with points pᵢ ∈ ℝ² and curvatures cᵢ.
#[derive(Debug, Clone)]
struct Points {
    p: Vec<[f64; 2]>,
    c: Vec<f64>,
}
impl Dimension for Points {
    fn dim(&self) -> usize {
        2
    }
    fn full_batch_size(&self) -> usize {
        self.p.len()
    }
}
impl FiniteSum for Points {
    fn n_terms(&self) -> usize {
        self.p.len()
    }
    fn term_value(&self, x: &DVector<f64>, i: usize) -> Result<f64> {
        Ok(0.5 * self.c[i] * ((x[0] - self.p[i][0]).powi(2) + (x[1] - self.p[i][1]).powi(2)))
    }
    fn term_gradient_into(&self, x: &DVector<f64>, i: usize, out: &mut DVector<f64>) -> Result<()> {
        lisse_core::check_batch(&[i], self.n_terms())?;
        out[0] = self.c[i] * (x[0] - self.p[i][0]);
        out[1] = self.c[i] * (x[1] - self.p[i][1]);
        Ok(())
    }
}
impl FiniteSumHvp for Points {
    fn term_hvp_into(
        &self,
        _x: &DVector<f64>,
        v: &DVector<f64>,
        i: usize,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        out.copy_from(&(v * self.c[i]));
        Ok(())
    }
}

fn points(n: usize) -> Points {
    Points {
        p: (0..n)
            .map(|i| [i as f64, (i * i % 7) as f64 - 3.0])
            .collect(),
        c: (0..n).map(|i| 1.0 + (i % 3) as f64).collect(),
    }
}

/// The full gradient and the per-term gradient variance σ² = (1/n) Σ ‖∇fᵢ − ∇f‖².
fn term_variance(f: &Points, x: &DVector<f64>) -> (DVector<f64>, f64) {
    let n = f.n_terms();
    let all: Vec<usize> = (0..n).collect();
    let full = f.batch_gradient(x, &all).unwrap();
    let var = (0..n)
        .map(|i| (f.batch_gradient(x, &[i]).unwrap() - &full).norm_squared())
        .sum::<f64>()
        / n as f64;
    (full, var)
}

#[test]
fn minibatch_variance_matches_theory_for_both_schemes() {
    let f = points(12);
    let x = dvector![0.5, -0.25];
    let (full, var) = term_variance(&f, &x);
    let reps = 20_000u64;
    for (sampling, b, expected) in [
        (Sampling::WithReplacement, 4, var / 4.0),
        (
            Sampling::WithoutReplacement,
            4,
            (12.0 - 4.0) / 11.0 * var / 4.0,
        ),
        (
            Sampling::WithoutReplacement,
            8,
            (12.0 - 8.0) / 11.0 * var / 8.0,
        ),
    ] {
        let oracle = Minibatch::new(f.clone(), b, sampling).unwrap();
        let streams = RngStreams::new(7);
        let draws: Vec<DVector<f64>> = (0..reps)
            .map(|r| {
                oracle
                    .stochastic_gradient(&x, &mut streams.stream(r))
                    .unwrap()
            })
            .collect();
        let mean = draws.iter().fold(DVector::zeros(2), |a, d| a + d) / reps as f64;
        let emp_var = draws
            .iter()
            .map(|d| (d - &full).norm_squared())
            .sum::<f64>()
            / reps as f64;
        // Unbiased: the mean is within 4 standard errors of the full gradient.
        assert!(
            (&mean - &full).norm() < 4.0 * (expected / reps as f64).sqrt() + 1e-12,
            "{sampling:?}: biased"
        );
        assert!(
            (emp_var / expected - 1.0).abs() < 0.05,
            "{sampling:?} b={b}: variance {emp_var} vs {expected}"
        );
    }
}

#[test]
fn without_replacement_full_batch_is_exact_and_distinct() {
    let f = points(9);
    let oracle = Minibatch::new(f.clone(), 9, Sampling::WithoutReplacement).unwrap();
    let x = dvector![1.0, 2.0];
    let g = oracle
        .stochastic_gradient(&x, &mut RngStreams::new(0).stream(0))
        .unwrap();
    let full = f.batch_gradient(&x, &(0..9).collect::<Vec<_>>()).unwrap();
    assert!((g - full).amax() < 1e-12);
    let small = Minibatch::new(f, 5, Sampling::WithoutReplacement).unwrap();
    let mut reused = small.empty_sample();
    for s in 0..50 {
        let batch = small.draw(&mut RngStreams::new(1).stream(s)).unwrap();
        // Redrawing into a reused buffer gives the same batch as a fresh one: the draw
        // depends on the RNG only (the kept permutation is restored after each draw).
        small
            .draw_into(&mut RngStreams::new(1).stream(s), &mut reused)
            .unwrap();
        assert_eq!(reused.indices(), batch.indices());
        let idx = batch.indices();
        let mut sorted = idx.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 5);
        assert!(idx.iter().all(|&i| i < 9));
    }
}

#[test]
fn minibatch_counts_samples_and_other_oracles() {
    let oracle = Counted::new(Minibatch::new(points(10), 3, Sampling::WithReplacement).unwrap());
    let x = dvector![0.0, 0.0];
    let mut rng = RngStreams::new(2).stream(0);
    oracle.stochastic_gradient(&x, &mut rng).unwrap();
    let batch = oracle.draw(&mut rng).unwrap();
    let value = oracle.value_at(&x, &batch).unwrap();
    let mut out = DVector::zeros(2);
    oracle
        .hvp_at_into(&x, &dvector![1.0, 0.0], &batch, &mut out)
        .unwrap();
    let c = oracle.counts();
    assert_eq!(
        (
            c.calls.gradients,
            c.calls.values,
            c.calls.hvps,
            c.draws,
            c.samples
        ),
        (1, 1, 1, 2, 6)
    );
    assert_eq!(
        (c.points.gradients, c.points.values, c.points.hvps),
        (3, 3, 3)
    );
    // The value and the HVP are those of the drawn indices.
    let f = points(10);
    let want = batch
        .indices()
        .iter()
        .map(|&i| f.term_value(&x, i).unwrap())
        .sum::<f64>()
        / 3.0;
    assert!((value - want).abs() < 1e-12);
    let want_h = batch.indices().iter().map(|&i| f.c[i]).sum::<f64>() / 3.0;
    assert!((out[0] - want_h).abs() < 1e-12);
    // The HVP is the batch mean of cᵢ·v, between the smallest and largest curvature.
    assert!((1.0..=3.0).contains(&out[0]) && out[1] == 0.0);
}

#[test]
fn minibatch_rejects_bad_sizes() {
    assert!(matches!(
        Minibatch::new(points(4), 0, Sampling::WithReplacement),
        Err(Error::InvalidParameter { .. })
    ));
    let e = Minibatch::new(points(4), 5, Sampling::WithoutReplacement).unwrap_err();
    assert!(e.to_string().contains("at most n_terms = 4"));
    // With replacement, b > n is fine.
    assert!(Minibatch::new(points(4), 5, Sampling::WithReplacement).is_ok());
}

/// ∇f(x) = x.
struct Identity(usize);
impl Dimension for Identity {
    fn dim(&self) -> usize {
        self.0
    }
    fn full_batch_size(&self) -> usize {
        0
    }
}
impl Gradient for Identity {
    fn gradient_into(&self, x: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
        lisse_core::check_dim("x", self.0, x.len())?;
        out.copy_from(x);
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// E[g] = ∇f and E‖g − ∇f‖² = σ², for any dimension and variance.
    #[test]
    fn gradient_noise_has_the_set_variance(dim in 1usize..6, variance in 0.0..10.0f64, seed in any::<u64>()) {
        let noisy = GradientNoise::new(Identity(dim), variance).unwrap();
        let x = DVector::from_fn(dim, |i, _| i as f64);
        let streams = RngStreams::new(seed);
        let reps = 4000;
        let (mut mean, mut sq) = (DVector::zeros(dim), 0.0);
        for r in 0..reps {
            let g = noisy.stochastic_gradient(&x, &mut streams.stream(r)).unwrap();
            sq += (&g - &x).norm_squared();
            mean += g;
        }
        mean /= reps as f64;
        sq /= reps as f64;
        // The variance of ‖ξ‖² is 2σ⁴/d; allow 5 standard errors.
        let se = (2.0 * variance * variance / dim as f64 / reps as f64).sqrt();
        prop_assert!((sq - variance).abs() <= 5.0 * se + 1e-12, "E|xi|^2 = {} vs {}", sq, variance);
        prop_assert!((mean - &x).norm() <= 5.0 * (variance / reps as f64).sqrt() + 1e-12);
    }
}

#[test]
fn gradient_noise_rejects_bad_variance() {
    assert!(matches!(
        GradientNoise::new(Identity(2), -1.0),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        GradientNoise::new(Identity(2), f64::NAN),
        Err(Error::InvalidParameter { .. })
    ));
    let noisy = GradientNoise::new(Identity(2), 1.0).unwrap();
    let e = noisy.stochastic_gradient(&dvector![1.0], &mut RngStreams::new(0).stream(0));
    assert!(matches!(e, Err(Error::DimensionMismatch { .. })));
}

/// hᵢ(x, y) = ½‖y − x pᵢ‖² + (qᵢ/6)·x·y₀³ with x ∈ ℝ, y ∈ ℝ²; every derivative depends on
/// x, y and the term:
/// ∇ₓhᵢ = −pᵢᵀ(y − x pᵢ) + (qᵢ/6) y₀³, ∇ᵧhᵢ = y − x pᵢ + e₀ (qᵢ/2) x y₀²,
/// ∇²ᵧᵧhᵢ·v = v + e₀ qᵢ x y₀ v₀, ∇²ₓᵧhᵢ·v = −pᵢᵀv + (qᵢ/2) y₀² v₀.
struct Lines {
    p: Vec<[f64; 2]>,
    q: Vec<f64>,
}
impl Lines {
    fn check(&self, batch: &[usize]) -> Result<()> {
        lisse_core::check_batch(batch, self.p.len())
    }
    fn value_i(&self, x: &DVector<f64>, y: &DVector<f64>, i: usize) -> f64 {
        let r = [y[0] - x[0] * self.p[i][0], y[1] - x[0] * self.p[i][1]];
        0.5 * (r[0] * r[0] + r[1] * r[1]) + self.q[i] / 6.0 * x[0] * y[0].powi(3)
    }
    fn grad_x_i(&self, x: &DVector<f64>, y: &DVector<f64>, i: usize) -> DVector<f64> {
        let r = [y[0] - x[0] * self.p[i][0], y[1] - x[0] * self.p[i][1]];
        dvector![-(self.p[i][0] * r[0] + self.p[i][1] * r[1]) + self.q[i] / 6.0 * y[0].powi(3)]
    }
    fn grad_y_i(&self, x: &DVector<f64>, y: &DVector<f64>, i: usize) -> DVector<f64> {
        dvector![
            y[0] - x[0] * self.p[i][0] + 0.5 * self.q[i] * x[0] * y[0] * y[0],
            y[1] - x[0] * self.p[i][1]
        ]
    }
    fn hvp_yy_i(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        i: usize,
    ) -> DVector<f64> {
        dvector![v[0] + self.q[i] * x[0] * y[0] * v[0], v[1]]
    }
    fn hvp_xy_i(&self, y: &DVector<f64>, v: &DVector<f64>, i: usize) -> DVector<f64> {
        dvector![
            -(self.p[i][0] * v[0] + self.p[i][1] * v[1]) + 0.5 * self.q[i] * y[0] * y[0] * v[0]
        ]
    }
    fn mean(batch: &[usize], mut term: impl FnMut(usize) -> DVector<f64>) -> DVector<f64> {
        batch
            .iter()
            .fold(term(batch[0]) * 0.0, |acc, &i| acc + term(i))
            / batch.len() as f64
    }
    fn all(&self) -> Vec<usize> {
        (0..self.p.len()).collect()
    }
}
impl TwoBlock for Lines {
    fn dim_x(&self) -> usize {
        1
    }
    fn dim_y(&self) -> usize {
        2
    }
    fn full_batch_size_xy(&self) -> usize {
        self.p.len()
    }
}
impl TwoBlockFiniteSum for Lines {
    fn n_terms_xy(&self) -> usize {
        self.p.len()
    }
    fn batch_value_xy(&self, x: &DVector<f64>, y: &DVector<f64>, batch: &[usize]) -> Result<f64> {
        self.check(batch)?;
        Ok(batch.iter().map(|&i| self.value_i(x, y, i)).sum::<f64>() / batch.len() as f64)
    }
    fn batch_grad_x_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check(batch)?;
        out.copy_from(&Lines::mean(batch, |i| self.grad_x_i(x, y, i)));
        Ok(())
    }
    fn batch_grad_y_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check(batch)?;
        out.copy_from(&Lines::mean(batch, |i| self.grad_y_i(x, y, i)));
        Ok(())
    }
}
impl TwoBlockFiniteSumHvp for Lines {
    fn batch_hvp_yy_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check(batch)?;
        out.copy_from(&Lines::mean(batch, |i| self.hvp_yy_i(x, y, v, i)));
        Ok(())
    }
    fn batch_hvp_xy_into(
        &self,
        _x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.check(batch)?;
        out.copy_from(&Lines::mean(batch, |i| self.hvp_xy_i(y, v, i)));
        Ok(())
    }
}
/// The full sums, for the derivative checks.
impl TwoBlockObjective for Lines {
    fn value_xy(&self, x: &DVector<f64>, y: &DVector<f64>) -> Result<f64> {
        self.batch_value_xy(x, y, &self.all())
    }
}
impl PartialGradients for Lines {
    fn grad_x_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.batch_grad_x_into(x, y, &self.all(), out)
    }
    fn grad_y_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.batch_grad_y_into(x, y, &self.all(), out)
    }
}
impl PartialHvps for Lines {
    fn hvp_yy_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.batch_hvp_yy_into(x, y, v, &self.all(), out)
    }
    fn hvp_xy_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        self.batch_hvp_xy_into(x, y, v, &self.all(), out)
    }
}

fn lines() -> Lines {
    Lines {
        p: (0..10)
            .map(|i| [1.0 + i as f64, (i % 3) as f64 - 1.0])
            .collect(),
        q: (0..10).map(|i| 0.5 + (i * 7 % 5) as f64).collect(),
    }
}

/// Issue 5 acceptance: ∇ᵧg, ∇²ᵧᵧg·v and ∇²ₓᵧg·v on one drawn batch, and the gradient at two
/// points on that batch; one draw is counted once, each evaluation by the points it reads.
#[test]
fn one_batch_serves_several_quantities_and_points() {
    let f = lines();
    let (x, y, v) = (dvector![0.3], dvector![1.0, -2.0], dvector![0.5, 2.0]);
    let (x_prev, y_prev) = (dvector![-0.2], dvector![0.7, 0.1]);
    for (b, sampling) in [
        (4, Sampling::WithReplacement),
        (6, Sampling::WithoutReplacement),
    ] {
        let g = Counted::new(Minibatch::two_block(lines(), b, sampling).unwrap());
        let batch = g.draw(&mut RngStreams::new(5).stream(b as u64)).unwrap();
        let idx = batch.indices();
        assert_eq!(idx.len(), b);
        let d_y = g.grad_y_at(&x, &y, &batch).unwrap();
        let d_y_prev = g.grad_y_at(&x_prev, &y_prev, &batch).unwrap();
        let hyy = g.hvp_yy_at(&x, &y, &v, &batch).unwrap();
        let hxy = g.hvp_xy_at(&x, &y, &v, &batch).unwrap();
        let d_x = g.grad_x_at(&x, &y, &batch).unwrap();
        // Each equals the closed-form mean over the drawn indices.
        let close = |a: &DVector<f64>, b: DVector<f64>| (a - b).amax() < 1e-12;
        assert!(close(&d_y, Lines::mean(idx, |i| f.grad_y_i(&x, &y, i))));
        assert!(close(
            &d_y_prev,
            Lines::mean(idx, |i| f.grad_y_i(&x_prev, &y_prev, i))
        ));
        assert!(close(&hyy, Lines::mean(idx, |i| f.hvp_yy_i(&x, &y, &v, i))));
        assert!(close(&hxy, Lines::mean(idx, |i| f.hvp_xy_i(&y, &v, i))));
        assert!(close(&d_x, Lines::mean(idx, |i| f.grad_x_i(&x, &y, i))));
        let c = g.counts();
        let b = b as u64;
        assert_eq!((c.draws, c.samples), (1, b), "one draw of b samples");
        assert_eq!(
            (
                c.calls.grads_y,
                c.calls.hvps,
                c.calls.cross_hvps,
                c.calls.grads_x
            ),
            (2, 1, 1, 1)
        );
        assert_eq!(
            (
                c.points.grads_y,
                c.points.hvps,
                c.points.cross_hvps,
                c.points.grads_x
            ),
            (2 * b, b, b, b)
        );
    }
}

#[test]
fn two_block_full_batch_without_replacement_is_exact() {
    let f = lines();
    let (x, y, v) = (dvector![-0.7], dvector![0.5, 0.25], dvector![2.0, -1.0]);
    let oracle = Minibatch::two_block(lines(), 10, Sampling::WithoutReplacement).unwrap();
    let batch = oracle.draw(&mut RngStreams::new(8).stream(0)).unwrap();
    let mut sorted = batch.indices().to_vec();
    sorted.sort_unstable();
    assert_eq!(sorted, f.all());
    // Against the closed forms summed over all terms (not the batch methods under test).
    let all = f.all();
    let close = |a: DVector<f64>, b: DVector<f64>| (a - b).amax() < 1e-12;
    assert!(close(
        oracle.grad_x_at(&x, &y, &batch).unwrap(),
        Lines::mean(&all, |i| f.grad_x_i(&x, &y, i))
    ));
    assert!(close(
        oracle.grad_y_at(&x, &y, &batch).unwrap(),
        Lines::mean(&all, |i| f.grad_y_i(&x, &y, i))
    ));
    assert!(close(
        oracle.hvp_xy_at(&x, &y, &v, &batch).unwrap(),
        Lines::mean(&all, |i| f.hvp_xy_i(&y, &v, i))
    ));
    assert!(close(
        oracle.hvp_yy_at(&x, &y, &v, &batch).unwrap(),
        Lines::mean(&all, |i| f.hvp_yy_i(&x, &y, &v, i))
    ));
    assert!(matches!(
        Minibatch::two_block(lines(), 11, Sampling::WithoutReplacement),
        Err(Error::InvalidParameter { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Issue 5 acceptance: the two-block finite-difference checks pass on a correct oracle and
    /// fail on one with a wrong cross term.
    #[test]
    fn two_block_derivative_checks(x in -2.0..2.0f64, y0 in -2.0..2.0f64, y1 in -2.0..2.0f64, v0 in -1.0..1.0f64, v1 in -1.0..1.0f64) {
        let f = lines();
        let (x, y, v) = (dvector![x], dvector![y0, y1], dvector![v0, v1]);
        prop_assert!(f.check_grad_x(&x, &y, 1e-6).unwrap().passes(1e-6));
        prop_assert!(f.check_grad_y(&x, &y, 1e-6).unwrap().passes(1e-6));
        prop_assert!(f.check_hvp_yy(&x, &y, &v, 1e-6).unwrap().passes(1e-6));
        prop_assert!(f.check_hvp_xy(&x, &y, &v, 1e-6).unwrap().passes(1e-6));
        // A cross product missing its y-dependent part fails whenever that part is visible.
        let numeric = lisse_core::two_block_check::finite_difference_hvp_xy(&f, &x, &y, &v, 1e-6).unwrap();
        let wrong = Lines::mean(&f.all(), |i| dvector![-(f.p[i][0] * v[0] + f.p[i][1] * v[1])]);
        let missing = (numeric.clone() - &wrong).amax();
        if missing > 1e-3 {
            prop_assert!(!lisse_core::check::DerivativeCheck::compare(&wrong, &numeric).unwrap().passes(1e-6));
        }
    }
}

#[test]
fn batch_sampler_draws_without_replacement_in_o_b() {
    // A huge population with a small batch: O(b) per draw after one O(n) setup.
    let sampler = BatchSampler::new(2_000_000, 3, Sampling::WithoutReplacement).unwrap();
    let mut batch = sampler.empty_sample();
    let mut rng = RngStreams::new(1).stream(0);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..2000 {
        sampler.draw_into(&mut rng, &mut batch).unwrap();
        let idx = batch.indices();
        assert!(idx[0] != idx[1] && idx[1] != idx[2] && idx[0] != idx[2]);
        seen.extend(idx.iter().copied());
    }
    // 6000 draws from 2 million: nearly all distinct.
    assert!(seen.len() > 5900);
    // Chosen indices are evaluated as given.
    assert_eq!(Batch::from_indices(vec![3, 3, 1]).indices(), &[3, 3, 1]);
}

/// Issue 6, item 10: each `GradientNoise` evaluation computes a full gradient, so it reads the
/// inner oracle's n points; a draw is one noise vector.
#[test]
fn gradient_noise_counts_full_gradients() {
    use lisse_core::CountKind;
    use lisse_oracles::data::digits;
    use lisse_oracles::loss::MultinomialLogistic;
    let loss = MultinomialLogistic::new(digits()).unwrap();
    let n = loss.n_samples() as u64;
    let noisy = Counted::new(GradientNoise::new(loss, 1.0).unwrap());
    let w = DVector::zeros(noisy.dim());
    let mut rng = RngStreams::new(0).stream(0);
    let xi = noisy.draw(&mut rng).unwrap();
    noisy.gradient_at(&w, &xi).unwrap();
    noisy.stochastic_gradient(&w, &mut rng).unwrap();
    let c = noisy.counts();
    assert_eq!((c.draws, c.samples), (2, 2));
    assert_eq!(c.calls.gradients, 2);
    assert_eq!(
        c.points.gradients,
        2 * n,
        "a full gradient reads all n samples"
    );
    // So a 5-epoch budget on points read stops after 5 noisy full gradients, not 5n.
    assert_eq!(c.get(CountKind::TotalPoints) / n, 2);
}
