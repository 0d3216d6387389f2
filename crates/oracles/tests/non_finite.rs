//! Issue 6, item 9: non-finite or overflowing weights are a typed `NonFinite` error, never a
//! silent NaN or a meaningless accuracy.

use lisse_core::{Dimension, Error, Gradient, Objective, OracleExt};
use lisse_oracles::data::digits;
use lisse_oracles::loss::MultinomialLogistic;
use nalgebra::DVector;

#[test]
fn multinomial_rejects_non_finite_weights() {
    let data = digits();
    let loss = MultinomialLogistic::new(data.clone()).unwrap();
    let mut w = DVector::zeros(loss.dim());
    w[3] = f64::NAN;
    // `accuracy` with NaN weights returned Ok(0.34).
    let e = loss.accuracy(&w, &data).unwrap_err();
    assert!(matches!(e, Error::NonFinite { index: 3, .. }), "{e:?}");
    assert!(matches!(loss.gradient(&w), Err(Error::NonFinite { .. })));
    assert!(matches!(loss.value(&w), Err(Error::NonFinite { .. })));
    // Finite but huge weights (1e308) overflow the logits: a typed error, not NaN.
    let huge = DVector::from_element(loss.dim(), 1e308);
    let e = loss.value(&huge).unwrap_err();
    assert!(matches!(e, Error::NonFinite { .. }), "{e:?}");
    assert!(e.to_string().contains("overflow"), "{e}");
    let mut out = DVector::zeros(loss.dim());
    assert!(matches!(
        loss.gradient_into(&huge, &mut out),
        Err(Error::NonFinite { .. })
    ));
    // Ordinary weights still work.
    assert!(loss.value(&DVector::zeros(loss.dim())).unwrap().is_finite());
}
