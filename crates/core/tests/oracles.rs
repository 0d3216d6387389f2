//! Provided methods of the oracle traits, the extension trait, counting and derivative checks.

use lisse_core::check::{DerivativeCheck, finite_difference_gradient, finite_difference_hvp};
use lisse_core::{
    CountKind, Counted, Dimension, Error, FiniteSum, FiniteSumHvp, Gradient, Hvp, Objective,
    OracleExt, OracleKind, PartialGradients, PartialHvps, Result, RngStreams, Sampler,
    StochasticGradient, TwoBlock, check_dim,
};
use nalgebra::{DMatrix, DVector, dvector};
use proptest::prelude::*;
use rand::{Rng, RngExt};

/// fᵢ(x) = ½ (aᵢᵀx − bᵢ)², a finite sum with only the required methods.
struct Rows {
    a: DMatrix<f64>, // n × d
    b: DVector<f64>,
}
impl Dimension for Rows {
    fn dim(&self) -> usize {
        self.a.ncols()
    }
    fn full_batch_size(&self) -> usize {
        self.a.nrows()
    }
}
impl FiniteSum for Rows {
    fn n_terms(&self) -> usize {
        self.a.nrows()
    }
    fn term_value(&self, x: &DVector<f64>, i: usize) -> Result<f64> {
        check_dim("x", self.dim(), x.len())?;
        lisse_core::check_batch(&[i], self.n_terms())?;
        let r = self.a.row(i).transpose().dot(x) - self.b[i];
        Ok(0.5 * r * r)
    }
    fn term_gradient_into(&self, x: &DVector<f64>, i: usize, out: &mut DVector<f64>) -> Result<()> {
        check_dim("x", self.dim(), x.len())?;
        lisse_core::check_batch(&[i], self.n_terms())?;
        let r = self.a.row(i).transpose().dot(x) - self.b[i];
        out.copy_from(&(self.a.row(i).transpose() * r));
        Ok(())
    }
}
impl FiniteSumHvp for Rows {
    fn term_hvp_into(
        &self,
        _x: &DVector<f64>,
        v: &DVector<f64>,
        i: usize,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        let ai = self.a.row(i).transpose();
        out.copy_from(&(&ai * ai.dot(v)));
        Ok(())
    }
}
impl Objective for Rows {
    fn value(&self, x: &DVector<f64>) -> Result<f64> {
        self.batch_value(x, &(0..self.n_terms()).collect::<Vec<_>>())
    }
}
impl Gradient for Rows {
    fn gradient_into(&self, x: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
        self.batch_gradient_into(x, &(0..self.n_terms()).collect::<Vec<_>>(), out)
    }
}
impl Hvp for Rows {
    fn hvp_into(&self, x: &DVector<f64>, v: &DVector<f64>, out: &mut DVector<f64>) -> Result<()> {
        self.batch_hvp_into(x, v, &(0..self.n_terms()).collect::<Vec<_>>(), out)
    }
}
/// The sample is one uniformly drawn term index: unbiased for the mean.
impl Sampler for Rows {
    type Sample = usize;
    fn empty_sample(&self) -> usize {
        0
    }
    fn draw_into<R: Rng + ?Sized>(&self, rng: &mut R, i: &mut usize) -> Result<()> {
        *i = rng.random_range(0..self.n_terms());
        Ok(())
    }
    fn samples_per_draw(&self) -> usize {
        1
    }
    fn points_read(&self, _i: &usize) -> usize {
        1
    }
}
impl StochasticGradient for Rows {
    fn gradient_at_into(&self, x: &DVector<f64>, i: &usize, out: &mut DVector<f64>) -> Result<()> {
        self.term_gradient_into(x, *i, out)
    }
}

fn rows(n: usize, d: usize, entries: &[f64]) -> Rows {
    Rows {
        a: DMatrix::from_row_slice(n, d, &entries[..n * d]),
        b: DVector::from_row_slice(&entries[n * d..n * d + n]),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Provided batch methods equal the mean of the terms, repeats counted.
    #[test]
    fn batch_means_match_terms(entries in proptest::collection::vec(-2.0..2.0f64, 4 * 3 + 4), x in proptest::collection::vec(-1.0..1.0f64, 3), batch in proptest::collection::vec(0usize..4, 1..8)) {
        let f = rows(4, 3, &entries);
        let x = DVector::from_vec(x);
        // The reference is built from the rows directly, not from any method under test.
        let mut want = DVector::zeros(3);
        let mut want_v = 0.0;
        for &i in &batch {
            let r = f.a.row(i).transpose().dot(&x) - f.b[i];
            want += f.a.row(i).transpose() * r;
            want_v += 0.5 * r * r;
        }
        want /= batch.len() as f64;
        want_v /= batch.len() as f64;
        let got = f.batch_gradient(&x, &batch).unwrap();
        prop_assert!((got - want).amax() < 1e-12);
        prop_assert!((f.batch_value(&x, &batch).unwrap() - want_v).abs() < 1e-12);
    }

    /// The finite-difference checks accept the true derivatives and reject a wrong one.
    #[test]
    fn derivative_checks_have_teeth(entries in proptest::collection::vec(-2.0..2.0f64, 5 * 3 + 5), x in proptest::collection::vec(-1.0..1.0f64, 3), v in proptest::collection::vec(-1.0..1.0f64, 3)) {
        let f = rows(5, 3, &entries);
        let (x, v) = (DVector::from_vec(x), DVector::from_vec(v));
        prop_assert!(f.check_gradient(&x, 1e-5).unwrap().passes(1e-7));
        prop_assert!(f.check_hvp(&x, &v, 1e-5).unwrap().passes(1e-7));
        let g = f.gradient(&x).unwrap();
        let numeric = finite_difference_gradient(&f, &x, 1e-5).unwrap();
        let mut wrong = g.clone();
        wrong[0] += 1e-3 * (1.0 + g.amax());
        prop_assert!(!DerivativeCheck::compare(&wrong, &numeric).unwrap().passes(1e-6));
    }
}

#[test]
fn averaged_stochastic_gradient_is_unbiased_and_variance_shrinks() {
    let entries: Vec<f64> = (0..(6 * 2 + 6))
        .map(|k| ((k * 7 % 11) as f64 - 5.0) / 3.0)
        .collect();
    let f = rows(6, 2, &entries);
    let x = dvector![0.3, -0.4];
    let full = f.gradient(&x).unwrap();
    let streams = RngStreams::new(11);
    let (mut out, mut scratch, mut sample) = (DVector::zeros(2), DVector::zeros(2), 0);
    let mut mean_err = |m: usize, reps: u64| {
        let mut sq = 0.0;
        let mut mean = DVector::zeros(2);
        for r in 0..reps {
            f.averaged_stochastic_gradient_into(
                &x,
                m,
                &mut streams.stream(r),
                &mut sample,
                &mut out,
                &mut scratch,
            )
            .unwrap();
            sq += (&out - &full).norm_squared();
            mean += &out;
        }
        ((mean / reps as f64 - &full).norm(), sq / reps as f64)
    };
    let (bias1, var1) = mean_err(1, 4000);
    let (bias16, var16) = mean_err(16, 4000);
    // Exact variance of one draw, from the finite sum.
    let mut var_exact = 0.0;
    for i in 0..6 {
        var_exact += (f.batch_gradient(&x, &[i]).unwrap() - &full).norm_squared();
    }
    var_exact /= 6.0;
    assert!(bias1 < 4.0 * (var_exact / 4000.0).sqrt(), "bias {bias1}");
    assert!(
        bias16 < 4.0 * (var_exact / 16.0 / 4000.0).sqrt(),
        "bias {bias16}"
    );
    assert!(
        (var1 / var_exact - 1.0).abs() < 0.1,
        "var1 {var1} vs {var_exact}"
    );
    assert!(
        (var16 * 16.0 / var_exact - 1.0).abs() < 0.1,
        "var16 {var16} vs {}",
        var_exact / 16.0
    );
}

#[test]
fn counted_tallies_each_kind() {
    let entries: Vec<f64> = (0..(4 * 2 + 4)).map(|k| k as f64 / 10.0).collect();
    let f = Counted::new(rows(4, 2, &entries));
    let x = dvector![0.1, 0.2];
    let mut rng = RngStreams::new(0).stream(0);
    f.value(&x).unwrap(); // one value call reading all 4 rows (the inner batch_value is not seen)
    f.gradient(&x).unwrap();
    f.hvp(&x, &x).unwrap();
    f.batch_gradient(&x, &[0, 1, 1]).unwrap();
    f.stochastic_gradient(&x, &mut rng).unwrap();
    let i = f.draw(&mut rng).unwrap();
    f.gradient_at(&x, &i).unwrap();
    f.gradient_at(&dvector![0.3, 0.0], &i).unwrap();
    let c = f.counts();
    let calls = c.calls;
    assert_eq!(
        (calls.values, calls.gradients, calls.hvps, calls.cross_hvps),
        (1, 5, 1, 0)
    );
    // Draws: 2 of one index each, whatever is evaluated on them.
    assert_eq!((c.draws, c.samples), (2, 2));
    // Points read: value, gradient and HVP all 4 rows each; the batch 3; each evaluation at a
    // drawn index 1.
    assert_eq!(c.points.values, 4);
    assert_eq!(c.points.gradients, 4 + 3 + 3);
    assert_eq!(c.points.hvps, 4);
    assert_eq!(c.get(CountKind::TotalPoints), 4 + 10 + 4);
    assert_eq!(c.get(CountKind::TotalCalls), 7);
    assert_eq!(c.get(CountKind::Samples), 2);
    assert_eq!(c.get(CountKind::Points(OracleKind::Gradient)), 10);
    // Shared across threads by reference.
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..100 {
                    f.gradient(&x).unwrap();
                }
            });
        }
    });
    assert_eq!(f.counts().calls.gradients, 205);
    f.counter().reset();
    assert_eq!(f.counts(), lisse_core::OracleCounts::default());
}

/// h(x, y) = xᵀ M y + ½‖y‖² with M 2×3: ∇ₓh = My, ∇ᵧh = Mᵀx + y, ∇²ᵧᵧh = I, ∇²ₓᵧh = M.
struct Bilinear(DMatrix<f64>);
impl TwoBlock for Bilinear {
    fn dim_x(&self) -> usize {
        self.0.nrows()
    }
    fn dim_y(&self) -> usize {
        self.0.ncols()
    }
    fn full_batch_size_xy(&self) -> usize {
        0
    }
}
impl PartialGradients for Bilinear {
    fn grad_x_into(
        &self,
        _x: &DVector<f64>,
        y: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        out.gemv(1.0, &self.0, y, 0.0);
        Ok(())
    }
    fn grad_y_into(
        &self,
        x: &DVector<f64>,
        y: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        out.copy_from(y);
        out.gemv_tr(1.0, &self.0, x, 1.0);
        Ok(())
    }
}
impl PartialHvps for Bilinear {
    fn hvp_yy_into(
        &self,
        _x: &DVector<f64>,
        _y: &DVector<f64>,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        out.copy_from(v);
        Ok(())
    }
    fn hvp_xy_into(
        &self,
        _x: &DVector<f64>,
        _y: &DVector<f64>,
        v: &DVector<f64>,
        out: &mut DVector<f64>,
    ) -> Result<()> {
        out.gemv(1.0, &self.0, v, 0.0);
        Ok(())
    }
}

#[test]
fn two_block_ext_and_counting() {
    let m = DMatrix::from_row_slice(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let h = Counted::new(Bilinear(m));
    let (x, y, v) = (
        dvector![1.0, -1.0],
        dvector![0.5, 0.0, 1.0],
        dvector![1.0, 1.0, 1.0],
    );
    assert_eq!(h.grad_x(&x, &y).unwrap(), dvector![3.5, 8.0]);
    assert_eq!(h.grad_y(&x, &y).unwrap(), dvector![-2.5, -3.0, -2.0]);
    assert_eq!(h.hvp_yy(&x, &y, &v).unwrap(), v);
    assert_eq!(h.hvp_xy(&x, &y, &v).unwrap(), dvector![6.0, 15.0]);
    let c = h.counts().calls;
    assert_eq!(
        (c.grads_x, c.grads_y, c.gradients, c.hvps, c.cross_hvps),
        (1, 1, 0, 1, 1)
    );
}

#[test]
fn bad_inputs_give_typed_errors() {
    let entries: Vec<f64> = (0..(4 * 2 + 4)).map(|k| k as f64).collect();
    let f = rows(4, 2, &entries);
    let x = dvector![0.0, 0.0];
    assert!(matches!(
        f.batch_gradient(&x, &[]),
        Err(Error::InvalidParameter { .. })
    ));
    let e = f.batch_gradient(&x, &[0, 9]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid parameter batch index = 9: must be in 0..4 (the number of terms)"
    );
    assert!(matches!(
        f.gradient(&dvector![1.0]),
        Err(Error::DimensionMismatch {
            expected: 2,
            got: 1,
            ..
        })
    ));
    let mut short = DVector::zeros(1);
    assert!(matches!(
        f.batch_gradient_into(&x, &[0], &mut short),
        Err(Error::DimensionMismatch { .. })
    ));
    assert!(matches!(
        finite_difference_gradient(&f, &x, 0.0),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        finite_difference_hvp(&f, &x, &dvector![1.0], 1e-5),
        Err(Error::DimensionMismatch { .. })
    ));
    let (mut out, mut scratch) = (DVector::zeros(2), DVector::zeros(2));
    let e = f.averaged_stochastic_gradient_into(
        &x,
        0,
        &mut RngStreams::new(0).stream(0),
        &mut 0,
        &mut out,
        &mut scratch,
    );
    assert!(matches!(e, Err(Error::InvalidParameter { .. })));
}
