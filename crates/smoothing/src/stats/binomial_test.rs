//! The exact two-sided binomial test at p = ½ used by Cohen et al.'s PREDICT.
//!
//! Hung & Fithian (arXiv 1610.03944): if the top two vote counts are n_A ≥ n_B, the p-value of
//! H₀: P(A) = P(B) given n_A + n_B votes for either is
//! `min(1, 2·P[Bin(n_A + n_B, ½) ≥ n_A])` (SciPy's `binomtest(n_A, n_A + n_B, 0.5).pvalue`;
//! the older `binom_test` was removed in SciPy 1.12). PREDICT abstains when it exceeds α; then
//! `P[PREDICT returns a class ≠ g(x)] ≤ α`.

use super::binomial::ln_upper_tail;

/// Two-sided p-value of `top` vs `second` votes under H₀: both classes equally likely.
///
/// Rounded upward (the direction in which an error only makes PREDICT abstain more).
///
/// ```
/// use lisse_smoothing::stats::binomial_test::two_sided_half;
/// // Exact values 0.109375 and 2/1024; the result is rounded up by at most ~1e-13 relative.
/// let p = two_sided_half(8, 2);
/// assert!(p >= 0.109375 && p < 0.109375 * (1.0 + 1e-12));
/// let p = two_sided_half(10, 0);
/// assert!(p >= 0.001953125 && p < 0.001953125 * (1.0 + 1e-12));
/// assert_eq!(two_sided_half(5, 5), 1.0);
/// ```
pub fn two_sided_half(top: u64, second: u64) -> f64 {
    let (a, b) = if top >= second {
        (top, second)
    } else {
        (second, top)
    };
    let m = a + b;
    if m == 0 || a == b {
        return 1.0;
    }
    let t = ln_upper_tail(a, m, 0.5, 0.5);
    let p = (t.ln + std::f64::consts::LN_2 + t.err).exp();
    p.next_up().min(1.0)
}
