//! Two-block oracles built from the data losses with per-call sample weights (the lower level
//! of data hyper-cleaning) and from a quadratic, checked by finite differences in every block.

use lisse_core::{
    Counted, Dimension, Hvp, Objective, OracleExt, PartialGradients, PartialHvps, Result, TwoBlock,
    TwoBlockObjective,
};
use lisse_oracles::data::{Dataset, Targets};
use lisse_oracles::loss::{LeastSquares, Logistic, MultinomialLogistic, Quadratic};
use nalgebra::{DMatrix, DVector};
use proptest::prelude::*;

fn sigmoid(u: f64) -> f64 {
    1.0 / (1.0 + (-u).exp())
}

/// g(λ, W) = (1/n) Σᵢ σ(λᵢ) ℓᵢ(W) + (c/2)‖W‖² over a data loss: x = λ ∈ ℝⁿ, y = W. With
/// per-call weights sᵢ = σ(λᵢ): ∇ᵧg and ∇²ᵧᵧg·v are the weighted kernels;
/// (∇ₓg)ᵢ = σ′(λᵢ) ℓᵢ(W)/n and (∇²ₓᵧg·v)ᵢ = σ′(λᵢ) ∇ℓᵢ(W)ᵀv/n come from the per-sample
/// losses and directional derivatives.
struct HyperClean<L>(L);

macro_rules! hyper_clean {
    ($loss:ty) => {
        impl TwoBlock for HyperClean<$loss> {
            fn dim_x(&self) -> usize {
                self.0.n_samples()
            }
            fn dim_y(&self) -> usize {
                self.0.dim()
            }
            fn full_batch_size_xy(&self) -> usize {
                self.0.n_samples()
            }
        }
        impl HyperClean<$loss> {
            fn weights(x: &DVector<f64>) -> Vec<f64> {
                x.iter().map(|&l| sigmoid(l)).collect()
            }
            fn dweights(x: &DVector<f64>) -> DVector<f64> {
                x.map(|l| sigmoid(l) * (1.0 - sigmoid(l)))
            }
        }
        impl TwoBlockObjective for HyperClean<$loss> {
            fn value_xy(&self, x: &DVector<f64>, y: &DVector<f64>) -> Result<f64> {
                self.0.weighted_value(y, &Self::weights(x))
            }
        }
        impl PartialGradients for HyperClean<$loss> {
            fn grad_x_into(
                &self,
                x: &DVector<f64>,
                y: &DVector<f64>,
                out: &mut DVector<f64>,
            ) -> Result<()> {
                self.0.sample_losses_into(y, out)?;
                out.component_mul_assign(&Self::dweights(x));
                *out /= x.len() as f64;
                Ok(())
            }
            fn grad_y_into(
                &self,
                x: &DVector<f64>,
                y: &DVector<f64>,
                out: &mut DVector<f64>,
            ) -> Result<()> {
                self.0.weighted_gradient_into(y, &Self::weights(x), out)
            }
        }
        impl PartialHvps for HyperClean<$loss> {
            fn hvp_yy_into(
                &self,
                x: &DVector<f64>,
                y: &DVector<f64>,
                v: &DVector<f64>,
                out: &mut DVector<f64>,
            ) -> Result<()> {
                self.0.weighted_hvp_into(y, v, &Self::weights(x), out)
            }
            fn hvp_xy_into(
                &self,
                x: &DVector<f64>,
                y: &DVector<f64>,
                v: &DVector<f64>,
                out: &mut DVector<f64>,
            ) -> Result<()> {
                self.0.sample_directional_derivatives_into(y, v, out)?;
                out.component_mul_assign(&Self::dweights(x));
                *out /= x.len() as f64;
                Ok(())
            }
        }
    };
}
hyper_clean!(MultinomialLogistic);
hyper_clean!(Logistic);
hyper_clean!(LeastSquares);

fn features(n: usize, d: usize, entries: &[f64]) -> DMatrix<f64> {
    DMatrix::from_column_slice(d, n, &entries[..n * d])
}

fn classes(n: usize, k: usize) -> Targets {
    Targets::Classes {
        labels: (0..n).map(|i| (i * 7 + 1) % k).collect(),
        n_classes: k,
    }
}

/// All four derivative checks of a two-block oracle at (x, y) along v.
fn check_all<H: TwoBlockObjective + PartialGradients + PartialHvps>(
    h: &H,
    x: &DVector<f64>,
    y: &DVector<f64>,
    v: &DVector<f64>,
) -> [f64; 4] {
    [
        h.check_grad_x(x, y, 1e-6).unwrap().rel_error,
        h.check_grad_y(x, y, 1e-6).unwrap().rel_error,
        h.check_hvp_yy(x, y, v, 1e-6).unwrap().rel_error,
        h.check_hvp_xy(x, y, v, 1e-6).unwrap().rel_error,
    ]
}

const N: usize = 7;
const D: usize = 3;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn hyper_cleaning_lower_levels_pass_two_block_checks(
        entries in proptest::collection::vec(-2.0..2.0f64, N * D),
        targets in proptest::collection::vec(-1.0..1.0f64, N),
        lambda in proptest::collection::vec(-3.0..3.0f64, N),
        w in proptest::collection::vec(-1.0..1.0f64, 3 * D),
        v in proptest::collection::vec(-1.0..1.0f64, 3 * D),
        c in 0.0..0.5f64,
    ) {
        let x = DVector::from_vec(lambda);
        let feats = features(N, D, &entries);
        let multi = MultinomialLogistic::new(Dataset::new(feats.clone(), classes(N, 3)).unwrap())
            .unwrap()
            .with_l2(c)
            .unwrap();
        let (y, dir) = (DVector::from_vec(w.clone()), DVector::from_vec(v.clone()));
        for e in check_all(&HyperClean(multi), &x, &y, &dir) {
            prop_assert!(e < 1e-6, "multinomial: {e}");
        }
        let logistic = Logistic::new(Dataset::new(feats.clone(), classes(N, 2)).unwrap())
            .unwrap()
            .with_l2(c)
            .unwrap();
        let (y, dir) = (DVector::from_row_slice(&w[..D]), DVector::from_row_slice(&v[..D]));
        for e in check_all(&HyperClean(logistic), &x, &y, &dir) {
            prop_assert!(e < 1e-6, "logistic: {e}");
        }
        let ls = LeastSquares::new(Dataset::new(feats, Targets::Real(DVector::from_vec(targets))).unwrap())
            .unwrap()
            .with_l2(c)
            .unwrap();
        for e in check_all(&HyperClean(ls), &x, &y, &dir) {
            prop_assert!(e < 1e-6, "least squares: {e}");
        }
    }

    /// Per-call weights beside a batch: the weighted mean of the unweighted, unregularized
    /// terms, plus the L2 term (a reference built from single terms, not the weighted kernel).
    #[test]
    fn weighted_batch_kernels_match_terms(
        entries in proptest::collection::vec(-2.0..2.0f64, N * D),
        batch in proptest::collection::vec(0usize..N, 1..10),
        raw in proptest::collection::vec(-1.0..2.0f64, 10),
        w in proptest::collection::vec(-1.0..1.0f64, 3 * D),
        v in proptest::collection::vec(-1.0..1.0f64, 3 * D),
        c in 0.0..0.5f64,
    ) {
        let weights = &raw[..batch.len()];
        let data = Dataset::new(features(N, D, &entries), classes(N, 3)).unwrap();
        let plain = MultinomialLogistic::new(data.clone()).unwrap();
        let loss = MultinomialLogistic::new(data).unwrap().with_l2(c).unwrap();
        let (w, v) = (DVector::from_vec(w), DVector::from_vec(v));
        let b = batch.len() as f64;
        let mut want_v = 0.0;
        let (mut want_g, mut want_h) = (DVector::zeros(w.len()), DVector::zeros(w.len()));
        for (&i, &s) in batch.iter().zip(weights) {
            want_v += s * plain.term_value_checked(&w, i);
            want_g += s * plain.batch_gradient(&w, &[i]).unwrap();
            want_h += s * plain.batch_hvp(&w, &v, &[i]);
        }
        want_v = want_v / b + 0.5 * c * w.norm_squared();
        want_g = want_g / b + c * &w;
        want_h = want_h / b + c * &v;
        let got_v = loss.weighted_batch_value(&w, &batch, weights).unwrap();
        prop_assert!((got_v - want_v).abs() < 1e-10 * (1.0 + want_v.abs()));
        let mut out = DVector::zeros(w.len());
        loss.weighted_batch_gradient_into(&w, &batch, weights, &mut out).unwrap();
        prop_assert!((&out - &want_g).amax() < 1e-10);
        loss.weighted_batch_hvp_into(&w, &v, &batch, weights, &mut out).unwrap();
        prop_assert!((&out - &want_h).amax() < 1e-10);
    }
}

/// Helpers on the unweighted loss for the reference sums.
trait Terms {
    fn term_value_checked(&self, w: &DVector<f64>, i: usize) -> f64;
    fn batch_hvp(&self, w: &DVector<f64>, v: &DVector<f64>, batch: &[usize]) -> DVector<f64>;
}
impl Terms for MultinomialLogistic {
    fn term_value_checked(&self, w: &DVector<f64>, i: usize) -> f64 {
        lisse_core::FiniteSum::term_value(self, w, i).unwrap()
    }
    fn batch_hvp(&self, w: &DVector<f64>, v: &DVector<f64>, batch: &[usize]) -> DVector<f64> {
        let mut out = DVector::zeros(w.len());
        lisse_core::FiniteSumHvp::batch_hvp_into(self, w, v, batch, &mut out).unwrap();
        out
    }
}

/// Full-batch calls of a two-block data oracle (the hyper-cleaning lower level over n samples)
/// count n points per call and kind through `Counted`, none drawn.
#[test]
fn full_batch_two_block_calls_count_n_points() {
    let feats = features(
        N,
        D,
        &(0..N * D).map(|i| (i as f64).sin()).collect::<Vec<_>>(),
    );
    let multi = MultinomialLogistic::new(Dataset::new(feats, classes(N, 3)).unwrap()).unwrap();
    let counted = Counted::new(HyperClean(multi));
    let (x, y) = (
        DVector::from_element(N, 0.3),
        DVector::from_element(3 * D, 0.1),
    );
    let (mut gx, mut gy) = (DVector::zeros(N), DVector::zeros(3 * D));
    counted.value_xy(&x, &y).unwrap();
    counted.grad_x_into(&x, &y, &mut gx).unwrap();
    counted.grad_y_into(&x, &y, &mut gy).unwrap();
    counted.hvp_yy_into(&x, &y, &y.clone(), &mut gy).unwrap();
    counted.hvp_xy_into(&x, &y, &y.clone(), &mut gx).unwrap();
    let c = counted.counts();
    let n = N as u64;
    assert_eq!(
        [
            c.points.values,
            c.points.grads_x,
            c.points.grads_y,
            c.points.hvps,
            c.points.cross_hvps
        ],
        [n; 5]
    );
    assert_eq!((c.draws, c.samples), (0, 0));
}

#[test]
fn per_call_weights_are_validated() {
    let data = Dataset::new(features(N, D, &[0.5; N * D]), classes(N, 3)).unwrap();
    let loss = MultinomialLogistic::new(data).unwrap();
    let w = DVector::zeros(loss.dim());
    let e = loss.weighted_value(&w, &[1.0; 3]).unwrap_err();
    assert!(
        matches!(
            e,
            lisse_core::Error::DimensionMismatch {
                expected: N,
                got: 3,
                ..
            }
        ),
        "{e}"
    );
    let e = loss
        .weighted_batch_value(&w, &[0, 1], &[1.0, f64::NAN])
        .unwrap_err();
    assert!(
        matches!(e, lisse_core::Error::NonFinite { index: 1, .. }),
        "{e}"
    );
    let e = loss.weighted_batch_value(&w, &[0, 1], &[1.0]).unwrap_err();
    assert!(e.to_string().contains("beside the batch"), "{e}");
    // Per-call weights replace the stored ones: unit weights give the plain mean.
    let weighted = loss.clone().with_weights(vec![3.0; N]).unwrap();
    let a = weighted.weighted_value(&w, &[1.0; N]).unwrap();
    assert!((a - loss.value(&w).unwrap()).abs() < 1e-15);
}

/// h(x, y) = ½[x; y]ᵀA[x; y] − bᵀ[x; y] from a quadratic in ℝ^{dx+dy}.
struct Split {
    q: Quadratic,
    dx: usize,
}
impl Split {
    fn join(&self, x: &DVector<f64>, y: &DVector<f64>) -> DVector<f64> {
        DVector::from_iterator(self.q.dim(), x.iter().chain(y.iter()).copied())
    }
}
impl TwoBlock for Split {
    fn dim_x(&self) -> usize {
        self.dx
    }
    fn dim_y(&self) -> usize {
        self.q.dim() - self.dx
    }
    fn full_batch_size_xy(&self) -> usize {
        0
    }
}
impl TwoBlockObjective for Split {
    fn value_xy(&self, x: &DVector<f64>, y: &DVector<f64>) -> Result<f64> {
        self.q.value(&self.join(x, y))
    }
}
impl PartialGradients for Split {
    fn grad_x_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        let g = self.q.gradient(&self.join(x, y))?;
        out.copy_from(&g.rows(0, self.dx));
        Ok(())
    }
    fn grad_y_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        let g = self.q.gradient(&self.join(x, y))?;
        out.copy_from(&g.rows(self.dx, self.dim_y()));
        Ok(())
    }
}
impl PartialHvps for Split {
    fn hvp_yy_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        let dir = self.join(&DVector::zeros(self.dx), v);
        let mut h = DVector::zeros(self.q.dim());
        self.q.hvp_into(&self.join(x, y), &dir, &mut h)?;
        out.copy_from(&h.rows(self.dx, self.dim_y()));
        Ok(())
    }
    fn hvp_xy_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        let dir = self.join(&DVector::zeros(self.dx), v);
        let mut h = DVector::zeros(self.q.dim());
        self.q.hvp_into(&self.join(x, y), &dir, &mut h)?;
        out.copy_from(&h.rows(0, self.dx));
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn split_quadratic_passes_two_block_checks(
        seed in any::<u64>(),
        dx in 1usize..4,
        z in proptest::collection::vec(-3.0..3.0f64, 6),
        v in proptest::collection::vec(-1.0..1.0f64, 3),
    ) {
        let q = Quadratic::random(dx + 3, 0.5, 4.0, &mut lisse_core::RngStreams::new(seed).stream(0)).unwrap();
        let h = Split { q, dx };
        let (x, y) = (DVector::from_row_slice(&z[..dx]), DVector::from_row_slice(&z[3..6]));
        for e in check_all(&h, &x, &y, &DVector::from_vec(v)) {
            prop_assert!(e < 1e-6, "{e}");
        }
    }
}
