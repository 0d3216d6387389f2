//! Cohen, Rosenfeld, Kolter, "Certified Adversarial Robustness via Randomized Smoothing"
//! (ICML 2019): PREDICT and CERTIFY.
//!
//! The smoothed classifier is `g(x) = argmax_c P_{ε~N(0,σ²I)}[f(x+ε) = c]`. Theorem 1 of the
//! paper: if `P[f(x+ε) = c_A] ≥ p̲_A ≥ p̄_B ≥ max_{c≠c_A} P[f(x+ε) = c]`, then `g(x+δ) = c_A`
//! for all `‖δ‖₂ < R = σ/2·(Φ⁻¹(p̲_A) − Φ⁻¹(p̄_B))`. CERTIFY (the paper's Pseudocode, §3.2)
//! uses `p̄_B = 1 − p̲_A`, so `R = σ·Φ⁻¹(p̲_A)`, and abstains when `p̲_A < ½`.
//!
//! - [`certify()`]: Cohen's CERTIFY; [`certify_multiclass`]: the two-sided radius with
//!   bounds that hold for all classes at once (Bonferroni over K events).
//! - [`predict()`]: PREDICT with the two-sided binomial test.
//! - [`certify_all`]: a data set, inputs in parallel, input i seeded with
//!   [`crate::noise::input_streams`]`(seed, i)`.

pub(crate) mod certify;
mod predict;

pub use certify::{Certificate, CertifyParams, certify, certify_all, certify_multiclass};
pub use predict::{PredictParams, Prediction, predict};

use crate::stats::clopper_pearson::Bound;

/// `r` moved toward 0 by `ulps_rel` relative machine epsilons.
fn toward_zero(r: f64, rel: f64) -> f64 {
    r - r.signum() * rel
}

/// Cohen's radius `σ·Φ⁻¹(p̲_A)`, rounded toward 0 (Φ⁻¹ from the complement when p̲_A > ½).
///
/// ```
/// use lisse_smoothing::cohen::binary_radius;
/// use lisse_smoothing::stats::clopper_pearson::Bound;
/// // The README example of locuslab/smoothing: σ·Φ⁻¹(0.98) ≈ 2.05σ.
/// let r = binary_radius(1.0, Bound { value: 0.98, complement: 0.02 });
/// assert!((r - 2.053_748_910_631_823).abs() < 1e-14);
/// ```
pub fn binary_radius(sigma: f64, p_a_lower: Bound) -> f64 {
    let z = p_a_lower.inverse_normal();
    if !z.is_finite() {
        return sigma * z;
    }
    let r = sigma * z;
    toward_zero(r, 16.0 * f64::EPSILON * r.abs())
}

/// The multi-class radius `σ/2·(Φ⁻¹(p̲_A) − Φ⁻¹(p̄_B))`, rounded toward 0.
///
/// ```
/// use lisse_smoothing::cohen::multiclass_radius;
/// use lisse_smoothing::stats::clopper_pearson::Bound;
/// // smoothing.md §5.6: (p_A, p_B) = (0.8, 0.1), σ = 1 gives 1.0615864.
/// let r = multiclass_radius(1.0, Bound { value: 0.8, complement: 0.2 }, Bound { value: 0.1, complement: 0.9 });
/// assert!((r - 1.061_586_4).abs() < 1e-7);
/// ```
pub fn multiclass_radius(sigma: f64, p_a_lower: Bound, p_b_upper: Bound) -> f64 {
    let za = p_a_lower.inverse_normal();
    let zb = p_b_upper.inverse_normal();
    let r = 0.5 * sigma * (za - zb);
    if !r.is_finite() {
        return r;
    }
    toward_zero(r, 16.0 * f64::EPSILON * 0.5 * sigma * (za.abs() + zb.abs()))
}
