//! Tests of `lisse_oracles::loss`: derivatives against finite differences and against
//! forward-mode automatic differentiation (num-dual), finite-sum consistency, bitwise
//! determinism across thread counts, the quadratic's closed forms, and every error path.

use std::sync::Arc;

use approx::assert_relative_eq;
use nalgebra::{DMatrix, DVector, Dyn};
use num_dual::{Dual2Vec, DualNum, hessian};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use rand::RngExt;

use lisse_core::{
    Counted, Dimension, Error, FiniteSum, FiniteSumHvp, Gradient, Hvp, Objective, OracleExt,
    RngStreams,
};
use lisse_oracles::data::{Dataset, Targets};
use lisse_oracles::loss::{
    BATCH_BLOCK, LeastSquares, Logistic, MultinomialLogistic, Quadratic, block_columns,
};

// ------------------------------------------------------------------------------------------
// Random problems
// ------------------------------------------------------------------------------------------

/// A small random problem: features (d×n, column-major), real targets, labels in 0..k,
/// optional weights, λ, a point and a direction of length d·k (linear losses use the first d
/// entries), and a minibatch (with repeats).
#[derive(Debug, Clone)]
struct Problem {
    d: usize,
    n: usize,
    k: usize,
    features: Vec<f64>,
    targets: Vec<f64>,
    labels: Vec<usize>,
    weights: Option<Vec<f64>>,
    lambda: f64,
    w: Vec<f64>,
    v: Vec<f64>,
    batch: Vec<usize>,
}

fn problem() -> impl Strategy<Value = Problem> {
    (1usize..=4, 1usize..=7, 2usize..=4)
        .prop_flat_map(|(d, n, k)| {
            (
                (Just(d), Just(n), Just(k)),
                prop::collection::vec(-2.0..2.0f64, d * n),
                prop::collection::vec(-3.0..3.0f64, n),
                prop::collection::vec(0..k, n),
                prop::option::of(prop::collection::vec(0.0..2.0f64, n)),
                prop_oneof![Just(0.0), 0.0..1.0f64],
                prop::collection::vec(-2.0..2.0f64, d * k),
                prop::collection::vec(-2.0..2.0f64, d * k),
                prop::collection::vec(0..n, 1..10),
            )
        })
        .prop_map(
            |((d, n, k), features, targets, labels, mut weights, lambda, w, v, batch)| {
                if let Some(s) = weights.as_mut() {
                    s[0] = s[0].max(0.25); // not all zero
                }
                Problem {
                    d,
                    n,
                    k,
                    features,
                    targets,
                    labels,
                    weights,
                    lambda,
                    w,
                    v,
                    batch,
                }
            },
        )
}

impl Problem {
    fn x(&self) -> DMatrix<f64> {
        DMatrix::from_column_slice(self.d, self.n, &self.features)
    }

    fn weights(&self) -> Vec<f64> {
        self.weights.clone().unwrap_or_else(|| vec![1.0; self.n])
    }

    fn least_squares(&self) -> LeastSquares {
        let data = Dataset::new(
            self.x(),
            Targets::Real(DVector::from_vec(self.targets.clone())),
        )
        .unwrap();
        let f = LeastSquares::new(data)
            .unwrap()
            .with_l2(self.lambda)
            .unwrap();
        match &self.weights {
            Some(s) => f.with_weights(s.clone()).unwrap(),
            None => f,
        }
    }

    fn binary_labels(&self) -> Vec<usize> {
        self.labels.iter().map(|l| l % 2).collect()
    }

    fn logistic(&self) -> Logistic {
        let targets = Targets::Classes {
            labels: self.binary_labels(),
            n_classes: 2,
        };
        let f = Logistic::new(Dataset::new(self.x(), targets).unwrap())
            .unwrap()
            .with_l2(self.lambda)
            .unwrap();
        match &self.weights {
            // Exercise the DVector form of the builder here.
            Some(s) => f.with_weights(DVector::from_vec(s.clone())).unwrap(),
            None => f,
        }
    }

    fn multinomial(&self) -> MultinomialLogistic {
        let targets = Targets::Classes {
            labels: self.labels.clone(),
            n_classes: self.k,
        };
        let f = MultinomialLogistic::new(Dataset::new(self.x(), targets).unwrap())
            .unwrap()
            .with_l2(self.lambda)
            .unwrap();
        match &self.weights {
            Some(s) => f.with_weights(s.clone()).unwrap(),
            None => f,
        }
    }

    /// The first `dim` entries of the point and the direction.
    fn point(&self, dim: usize) -> (DVector<f64>, DVector<f64>) {
        (
            DVector::from_column_slice(&self.w[..dim]),
            DVector::from_column_slice(&self.v[..dim]),
        )
    }

    fn sample(&self, i: usize) -> &[f64] {
        &self.features[i * self.d..(i + 1) * self.d]
    }
}

// ------------------------------------------------------------------------------------------
// Reference losses, generic over num-dual numbers (f64 included)
// ------------------------------------------------------------------------------------------

fn zero<D: DualNum<Primitive = f64>>() -> D {
    D::from(0.0)
}

/// (λ/2)‖w‖².
fn penalty<D: DualNum<Primitive = f64>>(w: &[D], lambda: f64) -> D {
    w.iter()
        .fold(zero::<D>(), |acc, wj| acc + wj.clone() * wj.clone())
        * (0.5 * lambda)
}

/// xᵀw.
fn dot<D: DualNum<Primitive = f64>>(x: &[f64], w: &[D]) -> D {
    x.iter()
        .zip(w)
        .fold(zero::<D>(), |acc, (xj, wj)| acc + wj.clone() * *xj)
}

/// (1/n) Σᵢ sᵢ ½(xᵢᵀw − yᵢ)² + (λ/2)‖w‖².
fn least_squares_ref<D: DualNum<Primitive = f64>>(p: &Problem, w: &[D]) -> D {
    let s = p.weights();
    let mut total = zero::<D>();
    for (i, (si, yi)) in s.iter().zip(&p.targets).enumerate() {
        let r = dot(p.sample(i), w) - *yi;
        total += r.clone() * r * (0.5 * si);
    }
    total / p.n as f64 + penalty(w, p.lambda)
}

/// log(1 + eᵘ), stable for both signs.
fn softplus<D: DualNum<Primitive = f64>>(u: D) -> D {
    if u.re() > 0.0 {
        u.clone() + (-u).exp().ln_1p()
    } else {
        u.exp().ln_1p()
    }
}

/// (1/n) Σᵢ sᵢ log(1 + exp(−ỹᵢ xᵢᵀw)) + (λ/2)‖w‖².
fn logistic_ref<D: DualNum<Primitive = f64>>(p: &Problem, w: &[D]) -> D {
    let s = p.weights();
    let labels = p.binary_labels();
    let mut total = zero::<D>();
    for i in 0..p.n {
        let y = if labels[i] == 1 { 1.0 } else { -1.0 };
        total += softplus(dot(p.sample(i), w) * (-y)) * s[i];
    }
    total / p.n as f64 + penalty(w, p.lambda)
}

/// (1/n) Σᵢ sᵢ [logsumexp(Wᵀxᵢ) − (Wᵀxᵢ)_{yᵢ}] + (λ/2)‖W‖², W column-major d×K.
fn multinomial_ref<D: DualNum<Primitive = f64>>(p: &Problem, w: &[D]) -> D {
    let s = p.weights();
    let mut total = zero::<D>();
    for i in 0..p.n {
        let z: Vec<D> = (0..p.k)
            .map(|c| dot(p.sample(i), &w[c * p.d..(c + 1) * p.d]))
            .collect();
        let max = z
            .iter()
            .map(num_dual::DualStruct::re)
            .fold(f64::NEG_INFINITY, f64::max);
        let sum = z
            .iter()
            .fold(zero::<D>(), |acc, zc| acc + (zc.clone() - max).exp());
        total += (sum.ln() + max - z[p.labels[i]].clone()) * s[i];
    }
    total / p.n as f64 + penalty(w, p.lambda)
}

// ------------------------------------------------------------------------------------------
// Shared checks
// ------------------------------------------------------------------------------------------

fn close(a: &DVector<f64>, b: &DVector<f64>, rel: f64) -> bool {
    let scale = 1f64.max(a.amax()).max(b.amax());
    a.len() == b.len() && (a - b).amax() <= rel * scale
}

fn close_scalar(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * 1f64.max(a.abs()).max(b.abs())
}

/// Gradient and HVP against central finite differences; every term, batch and full method
/// against its definition.
fn check_oracle<F>(
    f: &F,
    w: &DVector<f64>,
    v: &DVector<f64>,
    batch: &[usize],
) -> Result<(), TestCaseError>
where
    F: Objective + Gradient + Hvp + FiniteSumHvp,
{
    let gcheck = f.check_gradient(w, 1e-6).unwrap();
    prop_assert!(
        gcheck.passes(1e-6),
        "gradient vs finite differences: {gcheck:?}"
    );
    let hcheck = f.check_hvp(w, v, 1e-5).unwrap();
    prop_assert!(hcheck.passes(1e-6), "HVP vs finite differences: {hcheck:?}");

    let dim = f.dim();
    let n = f.n_terms();
    let mut term = DVector::zeros(dim);

    // Terms: their mean over all i is the full objective (value, gradient, HVP).
    let mut mean_value = 0.0;
    let mut mean_grad = DVector::zeros(dim);
    let mut mean_hvp = DVector::zeros(dim);
    for i in 0..n {
        mean_value += f.term_value(w, i).unwrap() / n as f64;
        f.term_gradient_into(w, i, &mut term).unwrap();
        mean_grad += &term / n as f64;
        f.term_hvp_into(w, v, i, &mut term).unwrap();
        mean_hvp += &term / n as f64;
    }
    prop_assert!(close_scalar(mean_value, f.value(w).unwrap(), 1e-12));
    prop_assert!(close(&mean_grad, &f.gradient(w).unwrap(), 1e-12));
    prop_assert!(close(&mean_hvp, &f.hvp(w, v).unwrap(), 1e-12));

    // Full batch = batch over all indices.
    let all: Vec<usize> = (0..n).collect();
    let mut out = DVector::zeros(dim);
    prop_assert!(close_scalar(
        f.batch_value(w, &all).unwrap(),
        f.value(w).unwrap(),
        1e-12
    ));
    f.batch_gradient_into(w, &all, &mut out).unwrap();
    prop_assert!(close(&out, &f.gradient(w).unwrap(), 1e-12));
    f.batch_hvp_into(w, v, &all, &mut out).unwrap();
    prop_assert!(close(&out, &f.hvp(w, v).unwrap(), 1e-12));

    // A minibatch with repeats = mean of its terms, repeats counted.
    let m = batch.len() as f64;
    let mut value = 0.0;
    let mut grad = DVector::zeros(dim);
    let mut hvp = DVector::zeros(dim);
    for &i in batch {
        value += f.term_value(w, i).unwrap() / m;
        f.term_gradient_into(w, i, &mut term).unwrap();
        grad += &term / m;
        f.term_hvp_into(w, v, i, &mut term).unwrap();
        hvp += &term / m;
    }
    prop_assert!(close_scalar(f.batch_value(w, batch).unwrap(), value, 1e-12));
    f.batch_gradient_into(w, batch, &mut out).unwrap();
    prop_assert!(close(&out, &grad, 1e-12));
    f.batch_hvp_into(w, v, batch, &mut out).unwrap();
    prop_assert!(close(&out, &hvp, 1e-12));
    Ok(())
}

/// Value, gradient and HVP against num-dual's exact forward-mode value, gradient and Hessian
/// of the reference loss.
fn check_against_num_dual<F, R>(
    f: &F,
    w: &DVector<f64>,
    v: &DVector<f64>,
    reference: R,
) -> Result<(), TestCaseError>
where
    F: Objective + Gradient + Hvp,
    R: Fn(&[Dual2Vec<f64, Dyn>]) -> Dual2Vec<f64, Dyn>,
{
    let (value, grad, hess) = hessian(|x: DVector<Dual2Vec<f64, Dyn>>| reference(x.as_slice()), w);
    prop_assert!(close_scalar(f.value(w).unwrap(), value, 1e-12));
    let analytic = f.gradient(w).unwrap();
    prop_assert!(
        close(&analytic, &grad, 1e-10),
        "gradient {analytic} vs num-dual {grad}"
    );
    let hv = &hess * v;
    let analytic = f.hvp(w, v).unwrap();
    prop_assert!(
        close(&analytic, &hv, 1e-10),
        "HVP {analytic} vs num-dual {hv}"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn least_squares_derivatives_and_sums(p in problem()) {
        let f = p.least_squares();
        let (w, v) = p.point(p.d);
        check_oracle(&f, &w, &v, &p.batch)?;
        check_against_num_dual(&f, &w, &v, |x| least_squares_ref(&p, x))?;
        prop_assert!(close_scalar(f.value(&w).unwrap(), least_squares_ref::<f64>(&p, w.as_slice()), 1e-12));
    }

    #[test]
    fn logistic_derivatives_and_sums(p in problem()) {
        let f = p.logistic();
        let (w, v) = p.point(p.d);
        check_oracle(&f, &w, &v, &p.batch)?;
        check_against_num_dual(&f, &w, &v, |x| logistic_ref(&p, x))?;
    }

    #[test]
    fn multinomial_derivatives_and_sums(p in problem()) {
        let f = p.multinomial();
        prop_assert_eq!(f.dim(), p.d * p.k);
        let (w, v) = p.point(p.d * p.k);
        check_oracle(&f, &w, &v, &p.batch)?;
        check_against_num_dual(&f, &w, &v, |x| multinomial_ref(&p, x))?;
    }

    #[test]
    fn set_weights_matches_with_weights(p in problem(), s in prop::collection::vec(0.0..3.0f64, 7)) {
        let mut s = s[..p.n].to_vec();
        s[0] += 0.5;
        let (w, _) = p.point(p.d * p.k);
        let mut f = p.multinomial();
        f.set_weights(&s).unwrap();
        let g = p.multinomial().with_weights(s.clone()).unwrap();
        prop_assert_eq!(f.weights(), &s[..]);
        prop_assert_eq!(f.gradient(&w).unwrap(), g.gradient(&w).unwrap());
        let (w, _) = p.point(p.d);
        let mut f = p.least_squares();
        f.set_weights(&s).unwrap();
        prop_assert_eq!(f.value(&w).unwrap().to_bits(), p.least_squares().with_weights(s.clone()).unwrap().value(&w).unwrap().to_bits());
    }

    #[test]
    fn random_quadratic_has_requested_spectrum(seed in any::<u64>(), dim in 2usize..8, mu in 0.01..1.0f64, kappa in 1.0..100.0f64) {
        let l = mu * kappa;
        let mut rng = RngStreams::new(seed).stream(0);
        let f = Quadratic::random(dim, mu, l, &mut rng).unwrap();
        prop_assert_eq!(f.dim(), dim);
        prop_assert!(close_scalar(f.mu(), mu, 1e-9), "mu {} vs {}", f.mu(), mu);
        prop_assert!(close_scalar(f.l(), l, 1e-9), "L {} vs {}", f.l(), l);
        prop_assert!(close_scalar(f.condition_number(), kappa, 1e-8));
        let x_star = f.minimizer().clone();
        let g = f.gradient(&x_star).unwrap();
        prop_assert!(g.norm() <= 1e-10 * (1.0 + f.b().norm()) * kappa, "‖∇f(x*)‖ = {}", g.norm());
        prop_assert!(close_scalar(f.value(&x_star).unwrap(), f.min_value(), 1e-10));
        let x = DVector::from_fn(dim, |i, _| (i as f64 + seed as f64).sin());
        prop_assert!(f.value(&x).unwrap() >= f.min_value() - 1e-12);
        prop_assert!(f.check_gradient(&x, 1e-6).unwrap().passes(1e-6));
        prop_assert!(f.check_hvp(&x, &x_star, 1e-5).unwrap().passes(1e-6));
        prop_assert!(close(&f.hvp(&x, &x_star).unwrap(), &(f.a() * &x_star), 1e-14));
    }
}

// ------------------------------------------------------------------------------------------
// Per-sample losses and directional derivatives (unweighted, no L2)
// ------------------------------------------------------------------------------------------

/// The per-sample methods of the data losses, behind one trait so the checks are generic.
trait PerSample: Objective + Gradient + FiniteSum {
    fn losses(&self, w: &DVector<f64>, out: &mut DVector<f64>) -> lisse_core::Result<()>;
    fn directional(
        &self,
        w: &DVector<f64>,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> lisse_core::Result<()>;
    fn batch_losses(
        &self,
        w: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> lisse_core::Result<()>;
    fn batch_directional(
        &self,
        w: &DVector<f64>,
        v: &DVector<f64>,
        batch: &[usize],
        out: &mut DVector<f64>,
    ) -> lisse_core::Result<()>;
    fn reweight(&mut self, weights: &[f64]) -> lisse_core::Result<()>;
}

macro_rules! impl_per_sample {
    ($ty:ident) => {
        impl PerSample for $ty {
            fn losses(&self, w: &DVector<f64>, out: &mut DVector<f64>) -> lisse_core::Result<()> {
                self.sample_losses_into(w, out)
            }
            fn directional(
                &self,
                w: &DVector<f64>,
                v: &DVector<f64>,
                out: &mut DVector<f64>,
            ) -> lisse_core::Result<()> {
                self.sample_directional_derivatives_into(w, v, out)
            }
            fn batch_losses(
                &self,
                w: &DVector<f64>,
                batch: &[usize],
                out: &mut DVector<f64>,
            ) -> lisse_core::Result<()> {
                self.batch_sample_losses_into(w, batch, out)
            }
            fn batch_directional(
                &self,
                w: &DVector<f64>,
                v: &DVector<f64>,
                batch: &[usize],
                out: &mut DVector<f64>,
            ) -> lisse_core::Result<()> {
                self.batch_sample_directional_derivatives_into(w, v, batch, out)
            }
            fn reweight(&mut self, weights: &[f64]) -> lisse_core::Result<()> {
                self.set_weights(weights)
            }
        }
    };
}

impl_per_sample!(LeastSquares);
impl_per_sample!(Logistic);
impl_per_sample!(MultinomialLogistic);

/// All four outputs: (losses, directional derivatives, batch losses, batch directional).
fn per_sample_outputs<F: PerSample>(
    f: &F,
    w: &DVector<f64>,
    v: &DVector<f64>,
    batch: &[usize],
) -> [DVector<f64>; 4] {
    let n = f.n_terms();
    let mut out = [
        DVector::zeros(n),
        DVector::zeros(n),
        DVector::zeros(batch.len()),
        DVector::zeros(batch.len()),
    ];
    f.losses(w, &mut out[0]).unwrap();
    f.directional(w, v, &mut out[1]).unwrap();
    f.batch_losses(w, batch, &mut out[2]).unwrap();
    f.batch_directional(w, v, batch, &mut out[3]).unwrap();
    out
}

/// `f` has the problem's weights and λ, `unit` the same data with unit weights and λ = 0 (so
/// that its terms are the ℓᵢ): per-sample losses against the terms, directional derivatives
/// against term gradients and central differences of ℓᵢ along v, batch outputs against the
/// full ones at the batch indices, and outputs unchanged by weights and λ.
fn check_per_sample<F: PerSample + Clone>(
    f: &F,
    unit: &F,
    w: &DVector<f64>,
    v: &DVector<f64>,
    batch: &[usize],
    new_weights: &[f64],
) -> Result<(), TestCaseError> {
    let n = f.n_terms();
    // A batch with guaranteed repeats.
    let batch: Vec<usize> = batch.iter().chain(batch.iter().rev()).copied().collect();
    let [losses, dd, batch_losses, batch_dd] = per_sample_outputs(f, w, v, &batch);

    let h = 1e-5;
    let mut grad = DVector::zeros(f.dim());
    for i in 0..n {
        let term = unit.term_value(w, i).unwrap();
        prop_assert!(
            close_scalar(losses[i], term, 1e-12),
            "loss {i}: {} vs term {term}",
            losses[i]
        );
        unit.term_gradient_into(w, i, &mut grad).unwrap();
        let exact = grad.dot(v);
        prop_assert!(
            close_scalar(dd[i], exact, 1e-12),
            "directional {i}: {} vs ∇fᵢᵀv {exact}",
            dd[i]
        );
        let fd = (unit.term_value(&(w + v * h), i).unwrap()
            - unit.term_value(&(w - v * h), i).unwrap())
            / (2.0 * h);
        prop_assert!(
            close_scalar(dd[i], fd, 1e-6),
            "directional {i}: {} vs central difference {fd}",
            dd[i]
        );
    }
    for (j, &i) in batch.iter().enumerate() {
        prop_assert!(close_scalar(batch_losses[j], losses[i], 1e-13));
        prop_assert!(close_scalar(batch_dd[j], dd[i], 1e-13));
    }

    // Weights and λ do not enter: same outputs as with unit weights and λ = 0, and after
    // reweighting.
    let reference = per_sample_outputs(unit, w, v, &batch);
    let ours = [losses, dd, batch_losses, batch_dd];
    prop_assert_eq!(&ours, &reference);
    let mut g = f.clone();
    g.reweight(new_weights).unwrap();
    prop_assert_eq!(&per_sample_outputs(&g, w, v, &batch), &ours);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn least_squares_per_sample(p in problem(), s in prop::collection::vec(0.1..3.0f64, 7)) {
        let unit = Problem { weights: None, lambda: 0.0, ..p.clone() };
        let (w, v) = p.point(p.d);
        check_per_sample(&p.least_squares(), &unit.least_squares(), &w, &v, &p.batch, &s[..p.n])?;
        // ℓᵢ = ½rᵢ² and ∇ℓᵢᵀv = rᵢ xᵢᵀv.
        let f = p.least_squares();
        let mut r = DVector::zeros(p.n);
        f.residuals_into(&w, &mut r).unwrap();
        let [losses, dd, _, _] = per_sample_outputs(&f, &w, &v, &p.batch);
        for i in 0..p.n {
            prop_assert!(close_scalar(losses[i], 0.5 * r[i] * r[i], 1e-12));
            prop_assert!(close_scalar(dd[i], r[i] * f.data().features().column(i).dot(&v), 1e-12));
        }
    }

    #[test]
    fn logistic_per_sample(p in problem(), s in prop::collection::vec(0.1..3.0f64, 7)) {
        let unit = Problem { weights: None, lambda: 0.0, ..p.clone() };
        let (w, v) = p.point(p.d);
        check_per_sample(&p.logistic(), &unit.logistic(), &w, &v, &p.batch, &s[..p.n])?;
    }

    #[test]
    fn multinomial_per_sample(p in problem(), s in prop::collection::vec(0.1..3.0f64, 7)) {
        let unit = Problem { weights: None, lambda: 0.0, ..p.clone() };
        let (w, v) = p.point(p.d * p.k);
        check_per_sample(&p.multinomial(), &unit.multinomial(), &w, &v, &p.batch, &s[..p.n])?;
    }
}

/// Per-sample outputs over several full-batch blocks and batches longer than [`BATCH_BLOCK`]:
/// identical for any thread count, and equal to the single-sample results.
#[test]
fn per_sample_outputs_are_bitwise_deterministic_across_thread_counts() {
    // d, K > 5: the multinomial block products go through the SIMD gemm.
    let (d, k) = (6, 7);
    let n = 2 * block_columns(d) + 31;
    let (data, weights) = large_classification(d, k, n, 9);
    let data = Arc::new(data);
    let batch: Vec<usize> = (0..2 * BATCH_BLOCK + 5).map(|i| (i * 7919) % n).collect();
    let multinomial = MultinomialLogistic::new(Arc::clone(&data))
        .unwrap()
        .with_l2(0.3)
        .unwrap()
        .with_weights(weights.clone())
        .unwrap();
    let binary_labels: Vec<usize> = data.labels().unwrap().iter().map(|l| l % 2).collect();
    let logistic = Logistic::new(
        Dataset::new(
            data.features().clone(),
            Targets::Classes {
                labels: binary_labels,
                n_classes: 2,
            },
        )
        .unwrap(),
    )
    .unwrap()
    .with_weights(weights.clone())
    .unwrap();
    let least_squares = LeastSquares::new(
        Dataset::new(
            data.features().clone(),
            Targets::Real(DVector::from_fn(n, |i, _| (i as f64).sin())),
        )
        .unwrap(),
    )
    .unwrap()
    .with_l2(0.5)
    .unwrap();

    let (wm, vm) = (
        DVector::from_fn(d * k, |i, _| (i as f64 * 0.37).sin()),
        DVector::from_fn(d * k, |i, _| (i as f64 * 0.91).cos()),
    );
    let (wl, vl) = (
        DVector::from_fn(d, |i, _| (i as f64 * 0.53).sin()),
        DVector::from_fn(d, |i, _| (i as f64 * 1.3).cos()),
    );
    let run = |threads| {
        in_pool(threads, || {
            (
                per_sample_outputs(&multinomial, &wm, &vm, &batch),
                per_sample_outputs(&logistic, &wl, &vl, &batch),
                per_sample_outputs(&least_squares, &wl, &vl, &batch),
            )
        })
    };
    let first = run(1);
    assert_eq!(run(2), first);
    assert_eq!(run(3), first);

    // Against the single-sample (batch of one) results, at a few samples of every block.
    let (m, l, s) = &first;
    for i in (0..n).step_by(97).chain([n - 1]) {
        let one = per_sample_outputs(&multinomial, &wm, &vm, &[i]);
        assert_relative_eq!(one[2][0], m[0][i], max_relative = 1e-12);
        assert_relative_eq!(one[3][0], m[1][i], max_relative = 1e-12, epsilon = 1e-14);
        let one = per_sample_outputs(&logistic, &wl, &vl, &[i]);
        assert_eq!((one[2][0], one[3][0]), (l[0][i], l[1][i]));
        let one = per_sample_outputs(&least_squares, &wl, &vl, &[i]);
        assert_eq!((one[2][0], one[3][0]), (s[0][i], s[1][i]));
    }
    for (j, &i) in batch.iter().enumerate().step_by(101) {
        assert_relative_eq!(m[2][j], m[0][i], max_relative = 1e-12);
        assert_relative_eq!(m[3][j], m[1][i], max_relative = 1e-12, epsilon = 1e-14);
        assert_eq!((l[2][j], l[3][j]), (l[0][i], l[1][i]));
        assert_eq!((s[2][j], s[3][j]), (s[0][i], s[1][i]));
    }
}

// ------------------------------------------------------------------------------------------
// Determinism across thread counts
// ------------------------------------------------------------------------------------------

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

/// Random features and labels with n spanning several full-batch blocks.
fn large_classification(d: usize, k: usize, n: usize, seed: u64) -> (Dataset, Vec<f64>) {
    let mut rng = RngStreams::new(seed).stream(0);
    let x = DMatrix::from_fn(d, n, |_, _| rng.random::<f64>() * 2.0 - 1.0);
    let labels = (0..n).map(|_| rng.random_range(0..k)).collect();
    let weights = (0..n).map(|_| rng.random::<f64>()).collect();
    (
        Dataset::new(
            x,
            Targets::Classes {
                labels,
                n_classes: k,
            },
        )
        .unwrap(),
        weights,
    )
}

#[test]
fn multinomial_full_batch_is_bitwise_deterministic_across_thread_counts() {
    // d, K > 5 so that nalgebra hands the block products to the SIMD gemm of matrixmultiply.
    let (d, k) = (6, 6);
    let n = 3 * block_columns(d) + 17;
    let (data, weights) = large_classification(d, k, n, 1);
    let f = MultinomialLogistic::new(data)
        .unwrap()
        .with_l2(0.1)
        .unwrap()
        .with_weights(weights)
        .unwrap();
    let w = DVector::from_fn(d * k, |i, _| (i as f64 * 0.37).sin());
    let v = DVector::from_fn(d * k, |i, _| (i as f64 * 0.91).cos());
    let run = |threads| {
        in_pool(threads, || {
            (
                f.value(&w).unwrap(),
                f.gradient(&w).unwrap(),
                f.hvp(&w, &v).unwrap(),
            )
        })
    };
    let (value1, grad1, hvp1) = run(1);
    for threads in [2, 3] {
        let (value, grad, hvp) = run(threads);
        assert_eq!(
            value.to_bits(),
            value1.to_bits(),
            "value, {threads} threads"
        );
        assert_eq!(grad, grad1, "gradient, {threads} threads");
        assert_eq!(hvp, hvp1, "HVP, {threads} threads");
    }
    // The blocked sums agree with one sequential pass over the terms up to rounding.
    let mut sum = DVector::zeros(d * k);
    let mut term = DVector::zeros(d * k);
    for i in 0..n {
        f.term_gradient_into(&w, i, &mut term).unwrap();
        sum += &term;
    }
    assert_relative_eq!(sum / n as f64, grad1, max_relative = 1e-10, epsilon = 1e-12);
}

#[test]
fn large_batches_are_bitwise_deterministic_across_thread_counts() {
    let (d, k) = (6, 7);
    let n = 500;
    let (data, weights) = large_classification(d, k, n, 2);
    let data = Arc::new(data);
    let batch: Vec<usize> = (0..2 * BATCH_BLOCK + 5).map(|i| (i * 7919) % n).collect();
    let multinomial = MultinomialLogistic::new(Arc::clone(&data))
        .unwrap()
        .with_weights(weights.clone())
        .unwrap();
    let w = DVector::from_fn(d * k, |i, _| (i as f64 * 0.37).sin());
    let run = |threads| {
        in_pool(threads, || {
            let mut hvp = DVector::zeros(d * k);
            multinomial
                .batch_hvp_into(&w, &w, &batch, &mut hvp)
                .unwrap();
            (
                multinomial.batch_value(&w, &batch).unwrap(),
                multinomial.batch_gradient(&w, &batch).unwrap(),
                hvp,
            )
        })
    };
    let (value1, grad1, hvp1) = run(1);
    for threads in [2, 3] {
        let (value, grad, hvp) = run(threads);
        assert_eq!(
            value.to_bits(),
            value1.to_bits(),
            "batch value, {threads} threads"
        );
        assert_eq!(grad, grad1, "batch gradient, {threads} threads");
        assert_eq!(hvp, hvp1, "batch HVP, {threads} threads");
    }

    // The linear losses: full batch over several blocks and a large minibatch.
    let y = DVector::from_fn(n, |i, _| (i as f64).sin());
    let big = DMatrix::from_fn(d, 3 * block_columns(d) + 1, |i, j| {
        ((i * 13 + j * 7) % 11) as f64 / 11.0 - 0.5
    });
    let nb = big.ncols();
    let ls = LeastSquares::new(
        Dataset::new(
            big.clone(),
            Targets::Real(DVector::from_fn(nb, |i, _| (i as f64).cos())),
        )
        .unwrap(),
    )
    .unwrap();
    let labels = (0..nb).map(|i| (i * 5 / 3) % 2).collect();
    let lg = Logistic::new(
        Dataset::new(
            big,
            Targets::Classes {
                labels,
                n_classes: 2,
            },
        )
        .unwrap(),
    )
    .unwrap();
    let small_ls =
        LeastSquares::new(Dataset::new(data.features().clone(), Targets::Real(y)).unwrap())
            .unwrap();
    let w = DVector::from_fn(d, |i, _| i as f64 - 1.0);
    let run = |threads| {
        in_pool(threads, || {
            (
                ls.gradient(&w).unwrap(),
                lg.gradient(&w).unwrap(),
                lg.hvp(&w, &w).unwrap(),
                small_ls.batch_gradient(&w, &batch).unwrap(),
            )
        })
    };
    let first = run(1);
    assert_eq!(run(2), first);
    assert_eq!(run(3), first);
}

/// The full-batch and minibatch kernels on shapes where nalgebra uses the SIMD gemm (all
/// dimensions > 5), over two blocks, against the per-term methods and finite differences.
#[test]
fn multinomial_gemm_path_matches_terms() {
    let (d, k) = (7, 6);
    let n = block_columns(d) + 50;
    let (data, weights) = large_classification(d, k, n, 5);
    let f = MultinomialLogistic::new(data)
        .unwrap()
        .with_l2(0.3)
        .unwrap()
        .with_weights(weights)
        .unwrap();
    let w = DVector::from_fn(d * k, |i, _| (i as f64 * 0.37).sin());
    let v = DVector::from_fn(d * k, |i, _| (i as f64 * 0.91).cos());
    let batch: Vec<usize> = (0..300).map(|i| (i * i * 31 + 7) % n).collect();
    for indices in [(0..n).collect::<Vec<_>>(), batch] {
        let m = indices.len() as f64;
        let (mut value, mut grad, mut hvp) = (0.0, DVector::zeros(d * k), DVector::zeros(d * k));
        let mut term = DVector::zeros(d * k);
        for &i in &indices {
            value += f.term_value(&w, i).unwrap() / m;
            f.term_gradient_into(&w, i, &mut term).unwrap();
            grad += &term / m;
            f.term_hvp_into(&w, &v, i, &mut term).unwrap();
            hvp += &term / m;
        }
        assert_relative_eq!(
            f.batch_value(&w, &indices).unwrap(),
            value,
            max_relative = 1e-12
        );
        assert_relative_eq!(
            f.batch_gradient(&w, &indices).unwrap(),
            grad,
            max_relative = 1e-10,
            epsilon = 1e-13
        );
        let mut out = DVector::zeros(d * k);
        f.batch_hvp_into(&w, &v, &indices, &mut out).unwrap();
        assert_relative_eq!(out, hvp, max_relative = 1e-10, epsilon = 1e-13);
        if indices.len() == n {
            assert_relative_eq!(f.value(&w).unwrap(), value, max_relative = 1e-12);
            assert_relative_eq!(
                f.gradient(&w).unwrap(),
                grad,
                max_relative = 1e-10,
                epsilon = 1e-13
            );
            assert_relative_eq!(
                f.hvp(&w, &v).unwrap(),
                hvp,
                max_relative = 1e-10,
                epsilon = 1e-13
            );
        }
    }
    assert!(f.check_gradient(&w, 1e-6).unwrap().passes(1e-7));
    assert!(f.check_hvp(&w, &v, 1e-5).unwrap().passes(1e-7));
}

/// The full-batch value, gradient and HVP against the textbook formulas written out with
/// nalgebra (Z = WᵀX, P = softmax(Z), G = X·diag(s)(P − Y)ᵀ/n + λW, and the HVP through the
/// softmax Jacobian), on shapes that exercise every path of the block kernels: K below, at
/// and above a register pass (12 rows), K not a multiple of the 4- or 8-lane vectors, d with
/// a partial last vector, 2K above 32 (the HVP's product goes to faer), K above 32 (both
/// products go to faer), and n with a partial last chunk and block.
#[test]
fn multinomial_kernels_match_the_textbook_formulas() {
    for (d, k) in [(100, 10), (13, 3), (9, 17), (5, 13), (3, 40)] {
        let n = block_columns(d) + 97;
        let (data, weights) = large_classification(d, k, n, 11);
        let x = data.features().clone();
        let labels = data.labels().unwrap().to_vec();
        let l2 = 0.05;
        let f = MultinomialLogistic::new(data)
            .unwrap()
            .with_l2(l2)
            .unwrap()
            .with_weights(weights.clone())
            .unwrap();
        let w = DVector::from_fn(d * k, |i, _| (i as f64 * 0.37).sin());
        let v = DVector::from_fn(d * k, |i, _| (i as f64 * 0.91).cos());
        let wm = DMatrix::from_column_slice(d, k, w.as_slice());
        let vm = DMatrix::from_column_slice(d, k, v.as_slice());
        let z = wm.transpose() * &x; // K×n
        let a = vm.transpose() * &x;
        let (mut value, mut r, mut h) = (0.0, DMatrix::zeros(k, n), DMatrix::zeros(k, n));
        for j in 0..n {
            let zj = z.column(j);
            let m = zj.max();
            let e: Vec<f64> = zj.iter().map(|&t| (t - m).exp()).collect();
            let total: f64 = e.iter().sum();
            value += weights[j] * (m + total.ln() - zj[labels[j]]);
            let pa: f64 = (0..k).map(|c| e[c] / total * a[(c, j)]).sum();
            for c in 0..k {
                let p = e[c] / total;
                r[(c, j)] = weights[j] * (p - f64::from(u8::from(c == labels[j])));
                h[(c, j)] = weights[j] * p * (a[(c, j)] - pa);
            }
        }
        let nf = n as f64;
        let value = value / nf + 0.5 * l2 * w.norm_squared();
        let grad = (&x * r.transpose()) / nf + &wm * l2;
        let hvp = (&x * h.transpose()) / nf + &vm * l2;
        let what = format!("d = {d}, K = {k}");
        assert_relative_eq!(f.value(&w).unwrap(), value, max_relative = 1e-12);
        let got = f.gradient(&w).unwrap();
        assert!(
            (&got - DVector::from_column_slice(grad.as_slice())).amax() <= 1e-12 * grad.amax(),
            "gradient, {what}"
        );
        let got = f.hvp(&w, &v).unwrap();
        assert!(
            (&got - DVector::from_column_slice(hvp.as_slice())).amax() <= 1e-12 * hvp.amax(),
            "HVP, {what}"
        );
    }
}

// ------------------------------------------------------------------------------------------
// Behaviour beyond the derivatives
// ------------------------------------------------------------------------------------------

#[test]
fn losses_are_send_sync_clone_debug_and_debug_is_short() {
    fn bounds<T: Send + Sync + Clone + std::fmt::Debug>() {}
    bounds::<LeastSquares>();
    bounds::<Logistic>();
    bounds::<MultinomialLogistic>();
    bounds::<Quadratic>();
    let (data, _) = large_classification(5, 3, 10_000, 3);
    let f = MultinomialLogistic::new(data).unwrap();
    let shown = format!("{f:?}");
    assert!(
        shown.len() < 200 && shown.contains("n_samples: 10000"),
        "{shown}"
    );
}

/// One full-batch value, gradient and HVP of `f` through `Counted`: (calls, points) per kind
/// and (draws, samples drawn).
fn full_batch_counts<F: Objective + Gradient + Hvp>(f: F) -> ([u64; 3], [u64; 3], [u64; 2]) {
    let w = DVector::from_fn(f.dim(), |i, _| 0.1 * i as f64 - 0.2);
    let counted = Counted::new(f);
    counted.value(&w).unwrap();
    counted.gradient(&w).unwrap();
    counted.hvp(&w, &w).unwrap();
    let c = counted.counts();
    (
        [c.calls.values, c.calls.gradients, c.calls.hvps],
        [c.points.values, c.points.gradients, c.points.hvps],
        [c.draws, c.samples],
    )
}

/// A full-batch call of a data loss reads all n samples, and `Counted` tallies n points per
/// call (a data oracle reporting 0, the old default of `full_batch_size`, fails), nothing
/// drawn; an analytic quadratic reads none.
#[test]
fn full_batch_calls_of_data_losses_count_n_points() {
    let n = 37;
    let (multi, _) = large_classification(3, 4, n, 21);
    let (binary, _) = large_classification(3, 2, n, 22);
    let regression = Dataset::new(
        binary.features().clone(),
        Targets::Real(DVector::from_fn(n, |i, _| i as f64)),
    )
    .unwrap();
    let one = |k: u64| [k; 3];
    let n64 = n as u64;
    let f = MultinomialLogistic::new(multi).unwrap();
    assert_eq!((f.full_batch_size(), f.n_terms()), (n, n));
    assert_eq!(full_batch_counts(f), (one(1), one(n64), [0, 0]));
    let f = Logistic::new(binary).unwrap().with_l2(0.1).unwrap();
    assert_eq!((f.full_batch_size(), f.n_terms()), (n, n));
    assert_eq!(full_batch_counts(f), (one(1), one(n64), [0, 0]));
    let f = LeastSquares::new(regression).unwrap();
    assert_eq!((f.full_batch_size(), f.n_terms()), (n, n));
    assert_eq!(full_batch_counts(f), (one(1), one(n64), [0, 0]));
    let q = Quadratic::new(DMatrix::identity(3, 3), DVector::zeros(3)).unwrap();
    assert_eq!(full_batch_counts(q), (one(1), one(0), [0, 0]));
}

#[test]
fn clones_share_the_data_set() {
    let (data, _) = large_classification(2, 2, 10, 4);
    let f = Logistic::new(data).unwrap();
    let g = f.clone().with_l2(1.0).unwrap();
    assert!(Arc::ptr_eq(f.data(), g.data()));
    assert!(f.l2().abs() < f64::EPSILON && (g.l2() - 1.0).abs() < f64::EPSILON);
}

/// A data set of one sample x = [1] with the given label.
fn one_sample(label: usize, n_classes: usize) -> Dataset {
    Dataset::new(
        DMatrix::from_element(1, 1, 1.0),
        Targets::Classes {
            labels: vec![label],
            n_classes,
        },
    )
    .unwrap()
}

/// |got − want| ≤ `ulps`·ε·|want| + 1e-320: relative accuracy, with room for an underflowed
/// closed form (e⁻¹⁰⁰⁰ is 0 in f64).
fn close_to(got: f64, want: f64, ulps: f64) -> bool {
    (got - want).abs() <= ulps * f64::EPSILON * want.abs() + 1e-320
}

/// The binary logistic loss at extreme margins m = ỹ xᵀw against its closed forms, to a few
/// units of roundoff *relative to each value*: for |m| ≥ 40 (e^{−|m|} < ε/1e2),
/// log(1 + e^{−m}) = max(−m, 0) + e^{−|m|}, ∇ = −σ(−m) = −e^{−m} (m > 0) or −1 + e^{m} (m < 0),
/// ∇²·1 = σ(m)σ(−m) = e^{−|m|}, each to a relative O(e^{−|m|}) (the Taylor remainders of
/// log1p and 1/(1 + t)). An overflowing implementation (log(1 + exp(−m)) at m = −10³ is ∞)
/// and a cancelling one (log(1 + e^{−40}) = log 1 = 0; σ(40)(1 − σ(40)) = 0; and
/// σ(700)(1 − σ(700)) would be 0 where e^{−700} ≈ 1e−304 is representable) both fail.
#[test]
fn logistic_matches_closed_forms_at_extreme_margins() {
    for m in [40.0, 300.0, 700.0, 1e3, 1e8, 1e300] {
        for margin in [m, -m] {
            // Label 1 (ỹ = +1), x = 1: the margin is w itself.
            let f = Logistic::new(one_sample(1, 2)).unwrap();
            let w = DVector::from_element(1, margin);
            let tail = (-m).exp();
            let (value, gradient) = if margin > 0.0 {
                (tail, -tail)
            } else {
                (m + tail, -1.0 + tail)
            };
            let got = f.value(&w).unwrap();
            assert!(
                close_to(got, value, 2.0),
                "value at m = {margin:e}: {got:e} vs {value:e}"
            );
            let got = f.gradient(&w).unwrap()[0];
            assert!(
                close_to(got, gradient, 2.0),
                "∇ at m = {margin:e}: {got:e} vs {gradient:e}"
            );
            let got = f.hvp(&w, &DVector::from_element(1, 1.0)).unwrap()[0];
            assert!(
                close_to(got, tail, 4.0),
                "∇² at m = {margin:e}: {got:e} vs {tail:e}"
            );
        }
    }
    // Several samples at once: margins −3s, 2.5s and −5s on the columns (1, −2), (3, 0.5),
    // (−1, 4) with labels 0, 1, 1 and w = (s, −s); for s ≥ 10³ every e^{−|m|} underflows, so
    // f = 8s/3 and ∇f = (x₁ − x₃)/3 = (2/3, −2) exactly, ∇²f = 0.
    let x = DMatrix::from_column_slice(2, 3, &[1.0, -2.0, 3.0, 0.5, -1.0, 4.0]);
    let binary = Dataset::new(
        x,
        Targets::Classes {
            labels: vec![0, 1, 1],
            n_classes: 2,
        },
    )
    .unwrap();
    let f = Logistic::new(binary).unwrap();
    for s in [1e3, 1e8, 1e300] {
        let w = DVector::from_vec(vec![s, -s]);
        assert!(
            close_to(f.value(&w).unwrap(), 8.0 * s / 3.0, 4.0),
            "s = {s:e}"
        );
        let g = f.gradient(&w).unwrap();
        assert!(
            close_to(g[0], 2.0 / 3.0, 4.0) && close_to(g[1], -2.0, 4.0),
            "s = {s:e}: {g}"
        );
        assert!(f.hvp(&w, &w).unwrap().iter().all(|&h| h == 0.0));
    }
}

/// Softmax cross-entropy at huge logit gaps against its closed forms (one sample, x = 1, so
/// the logits are w and ∇ = p − e_y). With gaps G ≥ 10³ every e^{−G} underflows: the loss is
/// 0 for the top class and the gap for another, ∇ is a difference of unit vectors, the HVP 0.
/// At a gap of 40, the off-label probabilities p_k ≈ e^{−40} must be right to a few ulps
/// *relative* (an unshifted exp overflows, a cancelling p_k = 1 − Σ others gives 0), and the
/// loss ln(1 + 2e^{−40}) to ε absolute: the logsumexp form max + ln Σ − z_y cannot resolve
/// a loss below ε·1, as in every softmax library, so its tolerance is ε·max(1, ℓ).
#[test]
fn multinomial_matches_closed_forms_at_huge_logit_gaps() {
    for gap in [1e3, 1e8, 1e150, 1e300] {
        let w = DVector::from_vec(vec![gap, 0.0, -gap]);
        // Top class: ℓ = ln(1 + e^{−G} + e^{−2G}) = 0, ∇ = 0.
        let f = MultinomialLogistic::new(one_sample(0, 3)).unwrap();
        assert!(close_to(f.value(&w).unwrap(), 0.0, 1.0), "gap {gap:e}");
        assert_eq!(f.gradient(&w).unwrap().as_slice(), &[0.0; 3], "gap {gap:e}");
        // Bottom class: ℓ = logsumexp − z₂ = G + G, ∇ = e₀ − e₂.
        let f = MultinomialLogistic::new(one_sample(2, 3)).unwrap();
        assert!(
            close_to(f.value(&w).unwrap(), 2.0 * gap, 2.0),
            "gap {gap:e}"
        );
        assert_eq!(f.gradient(&w).unwrap().as_slice(), &[1.0, 0.0, -1.0]);
        // p is one-hot: the softmax Jacobian diag(p) − ppᵀ vanishes.
        let v = DVector::from_vec(vec![1.0, -2.0, 3.0]);
        assert_eq!(f.hvp(&w, &v).unwrap().as_slice(), &[0.0; 3], "gap {gap:e}");
    }
    let w = DVector::from_vec(vec![40.0, 0.0, 0.0]);
    let t = (-40f64).exp();
    let (p0, pk) = (1.0 / (1.0 + 2.0 * t), t / (1.0 + 2.0 * t));
    let f = MultinomialLogistic::new(one_sample(0, 3)).unwrap();
    let loss = (2.0 * t).ln_1p();
    assert!((f.value(&w).unwrap() - loss).abs() <= f64::EPSILON);
    let g = f.gradient(&w).unwrap();
    assert!((g[0] - (p0 - 1.0)).abs() <= f64::EPSILON, "{g}");
    assert!(close_to(g[1], pk, 4.0) && close_to(g[2], pk, 4.0), "{g}");
    // (diag(p) − ppᵀ)e₁ = p₁(e₁ − p): every entry a product of small probabilities.
    let h = f.hvp(&w, &DVector::from_vec(vec![0.0, 1.0, 0.0])).unwrap();
    let want = [-pk * p0, pk * (1.0 - pk), -pk * pk];
    for (got, want) in h.iter().zip(want) {
        assert!(close_to(*got, want, 8.0), "{h} vs {want:?}");
    }
    // A wrong label at the same gap costs the gap: ℓ = 40 + ln(1 + 2e^{−40}).
    let f = MultinomialLogistic::new(one_sample(1, 3)).unwrap();
    assert!(close_to(f.value(&w).unwrap(), 40.0, 2.0));
}

#[test]
fn predict_and_accuracy() -> lisse_core::Result<()> {
    // Three well-separated clusters along the axes of ℝ² plus an intercept-like third feature.
    let x = DMatrix::from_column_slice(
        3,
        6,
        &[
            5.0, 0.0, 1.0, 4.0, 0.5, 1.0, // class 0
            0.0, 5.0, 1.0, 0.5, 4.0, 1.0, // class 1
            -5.0, -5.0, 1.0, -4.0, -4.0, 1.0, // class 2
        ],
    );
    let data = Dataset::new(
        x,
        Targets::Classes {
            labels: vec![0, 0, 1, 1, 2, 2],
            n_classes: 3,
        },
    )?;
    let f = MultinomialLogistic::new(data.clone())?;
    // W columns: class 0 ↦ e₀, class 1 ↦ e₁, class 2 ↦ −e₀ − e₁.
    let w = DVector::from_vec(vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, -1.0, -1.0, 0.0]);
    assert_eq!(f.predict(&w, data.features())?, vec![0, 0, 1, 1, 2, 2]);
    assert!((f.accuracy(&w, &data)? - 1.0).abs() < f64::EPSILON);
    let wm = f.weights_matrix(&w)?;
    assert_eq!((wm.nrows(), wm.ncols()), (3, 3));
    assert!((wm[(0, 2)] + 1.0).abs() < f64::EPSILON && (wm[(1, 1)] - 1.0).abs() < f64::EPSILON);
    // Ties go to the lowest class.
    assert_eq!(f.predict(&DVector::zeros(9), data.features())?, vec![0; 6]);
    // Gradient descent from zero reaches full accuracy.
    let f = f.with_l2(1e-3)?;
    let mut w = DVector::zeros(9);
    for _ in 0..200 {
        let g = f.gradient(&w)?;
        w.axpy(-0.5, &g, 1.0);
    }
    assert!((f.accuracy(&w, &data)? - 1.0).abs() < f64::EPSILON);
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Errors
// ------------------------------------------------------------------------------------------

fn is_dim(e: &Error, name: &str) -> bool {
    matches!(e, Error::DimensionMismatch { what, .. } if what.starts_with(name))
}

fn is_invalid(e: &Error, param: &str) -> bool {
    matches!(e, Error::InvalidParameter { name, .. } if name.starts_with(param))
}

#[test]
fn data_loss_errors() {
    let x = DMatrix::from_column_slice(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let real = Dataset::new(
        x.clone(),
        Targets::Real(DVector::from_vec(vec![1.0, 2.0, 3.0])),
    )
    .unwrap();
    let binary = Dataset::new(
        x.clone(),
        Targets::Classes {
            labels: vec![0, 1, 1],
            n_classes: 2,
        },
    )
    .unwrap();
    let three = Dataset::new(
        x,
        Targets::Classes {
            labels: vec![0, 1, 2],
            n_classes: 3,
        },
    )
    .unwrap();

    // Targets of the wrong kind.
    assert!(is_invalid(
        &LeastSquares::new(binary.clone()).unwrap_err(),
        "targets"
    ));
    assert!(is_invalid(
        &Logistic::new(real.clone()).unwrap_err(),
        "targets"
    ));
    assert!(is_invalid(
        &Logistic::new(three.clone()).unwrap_err(),
        "n_classes"
    ));
    assert!(is_invalid(
        &MultinomialLogistic::new(real.clone()).unwrap_err(),
        "targets"
    ));

    // Builders.
    let f = LeastSquares::new(real.clone()).unwrap();
    assert!(is_invalid(&f.clone().with_l2(-1.0).unwrap_err(), "lambda"));
    assert!(is_invalid(
        &f.clone().with_l2(f64::NAN).unwrap_err(),
        "lambda"
    ));
    assert!(is_invalid(
        &f.clone().with_l2(f64::INFINITY).unwrap_err(),
        "lambda"
    ));
    assert!(is_dim(
        &f.clone().with_weights(vec![1.0, 1.0]).unwrap_err(),
        "weights"
    ));
    assert!(matches!(
        f.clone()
            .with_weights(vec![1.0, f64::NAN, 1.0])
            .unwrap_err(),
        Error::NonFinite { index: 1, .. }
    ));
    assert!(is_invalid(
        &f.clone().with_weights(vec![1.0, -0.5, 1.0]).unwrap_err(),
        "weights[1]"
    ));
    assert!(is_invalid(
        &f.clone().with_weights(vec![0.0; 3]).unwrap_err(),
        "weights"
    ));
    let mut g = f.clone().with_weights(vec![1.0, 2.0, 3.0]).unwrap();
    assert!(matches!(
        g.set_weights(&[1.0, f64::INFINITY, 0.0]).unwrap_err(),
        Error::NonFinite { .. }
    ));
    assert!(is_dim(&g.set_weights(&[1.0]).unwrap_err(), "weights"));
    assert_eq!(
        g.weights(),
        &[1.0, 2.0, 3.0],
        "a failed set_weights leaves the weights unchanged"
    );
}

#[test]
fn length_index_and_helper_errors() {
    let x = DMatrix::from_column_slice(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let real = Dataset::new(
        x.clone(),
        Targets::Real(DVector::from_vec(vec![1.0, 2.0, 3.0])),
    )
    .unwrap();
    let binary = Dataset::new(
        x.clone(),
        Targets::Classes {
            labels: vec![0, 1, 1],
            n_classes: 2,
        },
    )
    .unwrap();
    let three = Dataset::new(
        x,
        Targets::Classes {
            labels: vec![0, 1, 2],
            n_classes: 3,
        },
    )
    .unwrap();

    let f = LeastSquares::new(real.clone()).unwrap();
    // Lengths and indices, for every loss.
    let lg = Logistic::new(binary).unwrap();
    let ml = MultinomialLogistic::new(three).unwrap();
    check_length_errors(&f);
    check_length_errors(&lg);
    check_length_errors(&ml);
    check_per_sample_errors(&f);
    check_per_sample_errors(&lg);
    check_per_sample_errors(&ml);

    // Helpers of the multinomial loss.
    let w = DVector::zeros(ml.dim());
    assert!(is_dim(
        &ml.weights_matrix(&DVector::zeros(5)).unwrap_err(),
        "w"
    ));
    assert!(is_dim(
        &ml.predict(&DVector::zeros(5), real.features()).unwrap_err(),
        "w"
    ));
    assert!(is_dim(
        &ml.predict(&w, &DMatrix::zeros(3, 4)).unwrap_err(),
        "features"
    ));
    assert!(is_invalid(
        &ml.accuracy(&w, &real).unwrap_err(),
        "data targets"
    ));
    let mut short = DVector::zeros(2);
    assert!(is_dim(
        &f.residuals_into(&DVector::zeros(2), &mut short)
            .unwrap_err(),
        "residual buffer"
    ));
    assert!(is_dim(
        &lg.probabilities_into(&DVector::zeros(3), &mut short)
            .unwrap_err(),
        "w"
    ));
}

fn check_length_errors<F: Objective + Gradient + Hvp + FiniteSumHvp>(f: &F) {
    let dim = f.dim();
    let n = f.n_terms();
    let (w, v) = (DVector::zeros(dim), DVector::zeros(dim));
    let (bad, mut out, mut bad_out) = (
        DVector::zeros(dim + 1),
        DVector::zeros(dim),
        DVector::zeros(dim - 1),
    );

    assert!(is_dim(&f.value(&bad).unwrap_err(), "w"));
    assert!(is_dim(&f.gradient_into(&bad, &mut out).unwrap_err(), "w"));
    assert!(is_dim(
        &f.gradient_into(&w, &mut bad_out).unwrap_err(),
        "output buffer"
    ));
    assert!(is_dim(&f.hvp_into(&w, &bad, &mut out).unwrap_err(), "v"));
    assert!(is_dim(&f.hvp_into(&bad, &v, &mut out).unwrap_err(), "w"));
    assert!(is_dim(
        &f.hvp_into(&w, &v, &mut bad_out).unwrap_err(),
        "output buffer"
    ));
    assert!(is_dim(&f.term_value(&bad, 0).unwrap_err(), "w"));
    assert!(is_dim(
        &f.term_gradient_into(&w, 0, &mut bad_out).unwrap_err(),
        "output buffer"
    ));
    assert!(is_dim(&f.batch_value(&bad, &[0]).unwrap_err(), "w"));
    assert!(is_dim(
        &f.batch_gradient_into(&w, &[0], &mut bad_out).unwrap_err(),
        "output buffer"
    ));
    assert!(is_dim(
        &f.batch_hvp_into(&w, &bad, &[0], &mut out).unwrap_err(),
        "v"
    ));
    assert!(is_dim(
        &f.term_hvp_into(&w, &v, 0, &mut bad_out).unwrap_err(),
        "output buffer"
    ));

    assert!(is_invalid(&f.term_value(&w, n).unwrap_err(), "term index"));
    assert!(is_invalid(
        &f.term_gradient_into(&w, n, &mut out).unwrap_err(),
        "term index"
    ));
    assert!(is_invalid(
        &f.term_hvp_into(&w, &v, n + 5, &mut out).unwrap_err(),
        "term index"
    ));
    assert!(is_invalid(
        &f.batch_value(&w, &[0, n]).unwrap_err(),
        "batch index"
    ));
    assert!(is_invalid(
        &f.batch_gradient_into(&w, &[n + 1], &mut out).unwrap_err(),
        "batch index"
    ));
    assert!(is_invalid(
        &f.batch_hvp_into(&w, &v, &[1, 0, n], &mut out).unwrap_err(),
        "batch index"
    ));
    assert!(is_invalid(&f.batch_value(&w, &[]).unwrap_err(), "batch"));
    assert!(is_invalid(
        &f.batch_gradient_into(&w, &[], &mut out).unwrap_err(),
        "batch"
    ));
    assert!(is_invalid(
        &f.batch_hvp_into(&w, &v, &[], &mut out).unwrap_err(),
        "batch"
    ));
}

fn check_per_sample_errors<F: PerSample>(f: &F) {
    let dim = f.dim();
    let n = f.n_terms();
    let (w, v, bad) = (
        DVector::zeros(dim),
        DVector::zeros(dim),
        DVector::zeros(dim + 1),
    );
    let (mut out, mut short, mut two) =
        (DVector::zeros(n), DVector::zeros(n - 1), DVector::zeros(2));
    let sentinel = DVector::from_element(n, 7.0);
    out.copy_from(&sentinel);

    assert!(is_dim(&f.losses(&bad, &mut out).unwrap_err(), "w"));
    assert!(is_dim(
        &f.losses(&w, &mut short).unwrap_err(),
        "output buffer (one per sample)"
    ));
    assert!(is_dim(&f.directional(&bad, &v, &mut out).unwrap_err(), "w"));
    assert!(is_dim(&f.directional(&w, &bad, &mut out).unwrap_err(), "v"));
    assert!(is_dim(
        &f.directional(&w, &v, &mut short).unwrap_err(),
        "output buffer (one per sample)"
    ));
    assert_eq!(out, sentinel, "a failed call leaves the output untouched");

    assert!(is_dim(
        &f.batch_losses(&bad, &[0, 1], &mut two).unwrap_err(),
        "w"
    ));
    assert!(is_dim(
        &f.batch_losses(&w, &[0, 1, 1], &mut two).unwrap_err(),
        "output buffer (one per batch index)"
    ));
    assert!(is_invalid(
        &f.batch_losses(&w, &[0, n], &mut two).unwrap_err(),
        "batch index"
    ));
    assert!(is_invalid(
        &f.batch_losses(&w, &[], &mut two).unwrap_err(),
        "batch"
    ));
    assert!(is_invalid(
        &f.batch_losses(&w, &[], &mut DVector::zeros(0)).unwrap_err(),
        "batch"
    ));
    assert!(is_dim(
        &f.batch_directional(&bad, &v, &[0, 1], &mut two)
            .unwrap_err(),
        "w"
    ));
    assert!(is_dim(
        &f.batch_directional(&w, &bad, &[0, 1], &mut two)
            .unwrap_err(),
        "v"
    ));
    assert!(is_dim(
        &f.batch_directional(&w, &v, &[0], &mut two).unwrap_err(),
        "output buffer (one per batch index)"
    ));
    assert!(is_invalid(
        &f.batch_directional(&w, &v, &[n + 3, 0], &mut two)
            .unwrap_err(),
        "batch index"
    ));
    assert!(is_invalid(
        &f.batch_directional(&w, &v, &[], &mut two).unwrap_err(),
        "batch"
    ));
    // And the valid calls succeed.
    f.losses(&w, &mut out).unwrap();
    f.directional(&w, &v, &mut out).unwrap();
    f.batch_losses(&w, &[n - 1, 0], &mut two).unwrap();
    f.batch_directional(&w, &v, &[0, 0], &mut two).unwrap();
}

#[test]
fn quadratic_errors() {
    let b = DVector::from_vec(vec![1.0, 2.0]);
    let sym = DMatrix::from_row_slice(2, 2, &[2.0, 1.0, 1.0, 3.0]);
    assert!(Quadratic::new(sym.clone(), b.clone()).is_ok());
    assert!(is_dim(
        &Quadratic::new(DMatrix::zeros(2, 3), b.clone()).unwrap_err(),
        "A"
    ));
    assert!(is_dim(
        &Quadratic::new(sym.clone(), DVector::zeros(3)).unwrap_err(),
        "b"
    ));
    assert!(is_invalid(
        &Quadratic::new(DMatrix::zeros(0, 0), DVector::zeros(0)).unwrap_err(),
        "A"
    ));
    let mut nan = sym.clone();
    nan[(0, 1)] = f64::NAN;
    assert!(matches!(
        Quadratic::new(nan, b.clone()).unwrap_err(),
        Error::NonFinite { .. }
    ));
    let asym = DMatrix::from_row_slice(2, 2, &[2.0, 1.0, 1.1, 3.0]);
    let e = Quadratic::new(asym, b.clone()).unwrap_err();
    assert!(
        is_invalid(&e, "A") && e.to_string().contains("symmetric"),
        "{e}"
    );
    // Asymmetry below the 1e-10 relative tolerance is accepted and symmetrized away.
    let nearly = DMatrix::from_row_slice(2, 2, &[2.0, 1.0, 1.0 + 1e-12, 3.0]);
    let f = Quadratic::new(nearly, b.clone()).unwrap();
    assert!((f.a()[(0, 1)] - f.a()[(1, 0)]).abs() < f64::EPSILON);
    let indefinite = DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 2.0, 1.0]);
    let e = Quadratic::new(indefinite, b.clone()).unwrap_err();
    assert!(
        is_invalid(&e, "A") && e.to_string().contains("positive definite"),
        "{e}"
    );
    assert!(is_invalid(
        &Quadratic::new(DMatrix::zeros(2, 2), b.clone()).unwrap_err(),
        "A"
    ));

    let mut rng = RngStreams::new(0).stream(0);
    assert!(is_invalid(
        &Quadratic::random(0, 1.0, 2.0, &mut rng).unwrap_err(),
        "dim"
    ));
    assert!(is_invalid(
        &Quadratic::random(3, 0.0, 2.0, &mut rng).unwrap_err(),
        "mu"
    ));
    assert!(is_invalid(
        &Quadratic::random(3, -1.0, 2.0, &mut rng).unwrap_err(),
        "mu"
    ));
    assert!(is_invalid(
        &Quadratic::random(3, 2.0, 1.0, &mut rng).unwrap_err(),
        "l"
    ));
    assert!(is_invalid(
        &Quadratic::random(3, 1.0, f64::INFINITY, &mut rng).unwrap_err(),
        "l"
    ));
    assert!(is_invalid(
        &Quadratic::random(1, 1.0, 2.0, &mut rng).unwrap_err(),
        "l"
    ));
    let one = Quadratic::random(1, 2.0, 2.0, &mut rng).unwrap();
    assert!((one.mu() - 2.0).abs() < 1e-14 && (one.l() - 2.0).abs() < 1e-14);

    let f = Quadratic::new(sym, b).unwrap();
    let (x, bad) = (DVector::zeros(2), DVector::zeros(3));
    let mut out = DVector::zeros(2);
    assert!(is_dim(&f.value(&bad).unwrap_err(), "x"));
    assert!(is_dim(&f.gradient_into(&bad, &mut out).unwrap_err(), "x"));
    assert!(is_dim(
        &f.gradient_into(&x, &mut DVector::zeros(1)).unwrap_err(),
        "output buffer"
    ));
    assert!(is_dim(&f.hvp_into(&x, &bad, &mut out).unwrap_err(), "v"));
}

#[test]
fn quadratic_closed_forms() -> lisse_core::Result<()> {
    // A = diag(1, 4) rotated by 30°, b = (1, 1).
    let (c, s) = (30f64.to_radians().cos(), 30f64.to_radians().sin());
    let q = DMatrix::from_row_slice(2, 2, &[c, -s, s, c]);
    let a = &q * DMatrix::from_diagonal(&DVector::from_vec(vec![1.0, 4.0])) * q.transpose();
    let b = DVector::from_vec(vec![1.0, 1.0]);
    let f = Quadratic::new(a.clone(), b.clone())?;
    assert_relative_eq!(f.mu(), 1.0, max_relative = 1e-12);
    assert_relative_eq!(f.l(), 4.0, max_relative = 1e-12);
    let expected = a.clone().try_inverse().unwrap() * &b;
    assert_relative_eq!(f.minimizer(), &expected, max_relative = 1e-12);
    assert!(f.gradient(f.minimizer())?.norm() < 1e-14);
    let x = DVector::from_vec(vec![0.3, -0.7]);
    assert_relative_eq!(
        f.value(&x)?,
        0.5 * x.dot(&(&a * &x)) - b.dot(&x),
        max_relative = 1e-14
    );
    assert_relative_eq!(f.gradient(&x)?, &a * &x - &b, max_relative = 1e-14);
    assert_relative_eq!(f.hvp(&x, &b)?, &a * &b, max_relative = 1e-14);
    Ok(())
}
