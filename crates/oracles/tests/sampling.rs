//! Minibatch sampling and gradient noise: unbiasedness, the stated variances, and errors.

use lisse_core::{
    Counted, Dimension, Error, FiniteSum, FiniteSumHvp, Gradient, OracleExt, Result, RngStreams,
    StochasticHvp, StochasticObjective, StochasticPartialGradients, StochasticPartialHvps,
    TwoBlock, TwoBlockFiniteSum, TwoBlockFiniteSumHvp,
};
use lisse_oracles::sampling::{GradientNoise, Minibatch, Sampling};
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
    let mut idx = Vec::new();
    let small = Minibatch::new(f, 5, Sampling::WithoutReplacement).unwrap();
    for s in 0..50 {
        small.sample_indices(&mut RngStreams::new(1).stream(s), &mut idx);
        let mut sorted = idx.clone();
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
    oracle.stochastic_value(&x, &mut rng).unwrap();
    let mut out = DVector::zeros(2);
    oracle
        .stochastic_hvp_into(&x, &dvector![1.0, 0.0], &mut rng, &mut out)
        .unwrap();
    let c = oracle.counts();
    assert_eq!((c.gradients, c.values, c.hvps, c.samples), (1, 1, 1, 9));
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

/// hᵢ(x, y) = ½‖y − x pᵢ‖² with x ∈ ℝ, y ∈ ℝ²: ∇ₓhᵢ = −pᵢᵀ(y − x pᵢ), ∇ᵧhᵢ = y − x pᵢ,
/// ∇²ᵧᵧhᵢ = I, ∇²ₓᵧhᵢ·v = −pᵢᵀv.
struct Lines(Vec<[f64; 2]>);
impl Lines {
    fn residual(&self, x: &DVector<f64>, y: &DVector<f64>, i: usize) -> [f64; 2] {
        [y[0] - x[0] * self.0[i][0], y[1] - x[0] * self.0[i][1]]
    }
    fn mean(batch: &[usize], mut term: impl FnMut(usize) -> DVector<f64>) -> DVector<f64> {
        batch
            .iter()
            .fold(term(batch[0]) * 0.0, |acc, &i| acc + term(i))
            / batch.len() as f64
    }
}
impl TwoBlock for Lines {
    fn dim_x(&self) -> usize {
        1
    }
    fn dim_y(&self) -> usize {
        2
    }
}
impl TwoBlockFiniteSum for Lines {
    fn n_terms_xy(&self) -> usize {
        self.0.len()
    }
    fn batch_value_xy(&self, x: &DVector<f64>, y: &DVector<f64>, batch: &[usize]) -> Result<f64> {
        lisse_core::check_batch(batch, self.0.len())?;
        Ok(batch
            .iter()
            .map(|&i| {
                let r = self.residual(x, y, i);
                0.5 * (r[0] * r[0] + r[1] * r[1])
            })
            .sum::<f64>()
            / batch.len() as f64)
    }
    fn batch_grad_x_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        lisse_core::check_batch(batch, self.0.len())?;
        out.copy_from(&Lines::mean(batch, |i| {
            let r = self.residual(x, y, i);
            dvector![-(self.0[i][0] * r[0] + self.0[i][1] * r[1])]
        }));
        Ok(())
    }
    fn batch_grad_y_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        lisse_core::check_batch(batch, self.0.len())?;
        out.copy_from(&Lines::mean(batch, |i| {
            let r = self.residual(x, y, i);
            dvector![r[0], r[1]]
        }));
        Ok(())
    }
}
impl TwoBlockFiniteSumHvp for Lines {
    fn batch_hvp_yy_into(
        &self,
        _x: &DVector<f64>,
        _y: &DVector<f64>,
        v: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        lisse_core::check_batch(batch, self.0.len())?;
        out.copy_from(v);
        Ok(())
    }
    fn batch_hvp_xy_into(
        &self,
        _x: &DVector<f64>,
        _y: &DVector<f64>,
        v: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> Result<()> {
        lisse_core::check_batch(batch, self.0.len())?;
        out.copy_from(&Lines::mean(batch, |i| {
            dvector![-(self.0[i][0] * v[0] + self.0[i][1] * v[1])]
        }));
        Ok(())
    }
}

fn lines() -> Lines {
    Lines(
        (0..10)
            .map(|i| [1.0 + i as f64, (i % 3) as f64 - 1.0])
            .collect(),
    )
}

#[test]
fn two_block_minibatch_shares_one_batch_and_counts_it_once() {
    let (x, y) = (dvector![0.3], dvector![1.0, -2.0]);
    // b = 1: with a shared sample i, ∇ₓh = −pᵢᵀ∇ᵧh exactly.
    let oracle = Counted::new(Minibatch::two_block(lines(), 1, Sampling::WithReplacement).unwrap());
    let (mut gx, mut gy) = (DVector::zeros(1), DVector::zeros(2));
    let mut coupled = 0;
    for s in 0..50 {
        oracle
            .stochastic_grads_into(&x, &y, &mut RngStreams::new(5).stream(s), &mut gx, &mut gy)
            .unwrap();
        coupled += usize::from(
            lines()
                .0
                .iter()
                .any(|p| (gx[0] + p[0] * gy[0] + p[1] * gy[1]).abs() < 1e-12),
        );
    }
    assert_eq!(coupled, 50);
    let c = oracle.counts();
    assert_eq!(
        (c.gradients, c.samples),
        (100, 50),
        "one shared sample per call, two gradients"
    );
    // Separate calls draw independent samples and count one sample each.
    oracle
        .stochastic_grad_x_into(&x, &y, &mut RngStreams::new(6).stream(0), &mut gx)
        .unwrap();
    assert_eq!(oracle.counts().samples, 51);
}

#[test]
fn two_block_full_batch_without_replacement_is_exact() {
    let f = lines();
    let all: Vec<usize> = (0..10).collect();
    let (x, y, v) = (dvector![-0.7], dvector![0.5, 0.25], dvector![2.0, -1.0]);
    let oracle = Minibatch::two_block(lines(), 10, Sampling::WithoutReplacement).unwrap();
    let mut rng = RngStreams::new(8).stream(0);
    let (mut gx, mut gy, mut hxy, mut hyy) = (
        DVector::zeros(1),
        DVector::zeros(2),
        DVector::zeros(1),
        DVector::zeros(2),
    );
    oracle
        .stochastic_grads_into(&x, &y, &mut rng, &mut gx, &mut gy)
        .unwrap();
    oracle
        .stochastic_hvp_xy_into(&x, &y, &v, &mut rng, &mut hxy)
        .unwrap();
    oracle
        .stochastic_hvp_yy_into(&x, &y, &v, &mut rng, &mut hyy)
        .unwrap();
    let (mut ex, mut ey, mut exy) = (DVector::zeros(1), DVector::zeros(2), DVector::zeros(1));
    f.batch_grad_x_into(&x, &y, &all, &mut ex).unwrap();
    f.batch_grad_y_into(&x, &y, &all, &mut ey).unwrap();
    f.batch_hvp_xy_into(&x, &y, &v, &all, &mut exy).unwrap();
    assert!((gx - ex).amax() < 1e-12 && (gy - ey).amax() < 1e-12 && (hxy - exy).amax() < 1e-12);
    assert_eq!(hyy, v);
    assert!(matches!(
        Minibatch::two_block(lines(), 11, Sampling::WithoutReplacement),
        Err(Error::InvalidParameter { .. })
    ));
}
