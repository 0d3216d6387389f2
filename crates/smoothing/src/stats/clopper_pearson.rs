//! Exact one-sided Clopper–Pearson bounds for a binomial proportion, never on the wrong side.
//!
//! Clopper & Pearson (Biometrika 1934). Given k successes in n trials and a one-sided level α:
//!
//! - lower bound `p_L` = the root in p of `P[Bin(n, p) ≥ k] = α` (= Beta⁻¹(α; k, n−k+1)),
//!   `p_L = 0` for k = 0 and `p_L = α^{1/n}` for k = n;
//! - upper bound `p_U(k) = 1 − p_L(n − k)`.
//!
//! `P[p ≥ p_L] ≥ 1 − α` for every p. Cohen et al.'s CERTIFY uses `p_L` at level α; Python
//! implementations obtain it from statsmodels' *two-sided* `proportion_confint` with
//! `alpha = 2α`. Here α is always one-sided.
//!
//! # How it is computed
//! No incomplete-beta inverse is used (generic ones fail at shapes ≳ 1e4, see statrs #434/#435).
//! The binomial tail is evaluated in log space (Loader's saddle-point mass,
//! ratio recurrence, complement on the far side of the mode) and the root is bracketed and
//! bisected (geometric steps first, arithmetic when the bracket is within a factor 2) until the
//! two ends are adjacent doubles. The variable bisected is p when k/n ≤ ½ and q = 1 − p
//! otherwise, so the bound **and its complement** both keep full relative precision: Cohen's
//! radius at p_L close to 1 is `σ·Φ⁻¹(p_L) = −σ·Φ⁻¹(1 − p_L)` and needs the complement's digits.
//!
//! # Outward rounding
//! The root is found for `ln T(p) + e(p) = ln α`, where e(p) bounds the floating-point error of
//! the computed `ln T` (magnitudes and number of terms), and the returned end of the bracket is
//! the one on the safe side. Hence the returned `p_L` is below the exact bound and `1 − p_L`
//! above the exact complement (checked against mpmath at 40 digits over k, n ∈ [10, 1e7],
//! α ∈ [1e-10, 1e-2] in `tests/clopper_pearson.rs`, relative error ≤ 1e-12).

use lisse_core::Error;
use serde::{Deserialize, Serialize};

use super::binomial::ln_upper_tail;

/// A probability bound together with its complement, both to full relative precision.
///
/// For a lower bound: `value` ≤ the exact bound and `complement` ≥ the exact `1 − bound`; for an
/// upper bound the other way round. `value + complement` is within rounding of 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bound {
    /// The bound p.
    pub value: f64,
    /// 1 − p, computed without cancellation.
    pub complement: f64,
}

impl Bound {
    /// Φ⁻¹ of the bound, computed from whichever of p and 1 − p is smaller.
    pub fn inverse_normal(&self) -> f64 {
        if self.value <= 0.5 {
            super::normal::inverse_cdf(self.value)
        } else {
            super::normal::inverse_cdf_complement(self.complement)
        }
    }

    fn swapped(self) -> Self {
        Self {
            value: self.complement,
            complement: self.value,
        }
    }
}

fn check_args(k: u64, n: u64, alpha: f64) -> Result<(), Error> {
    if n == 0 {
        return Err(Error::invalid(
            "n",
            n,
            "a positive number of trials (draw at least one noise sample)",
        ));
    }
    if k > n {
        return Err(Error::invalid("k", k, format!("a success count ≤ n = {n}")));
    }
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(Error::invalid(
            "alpha",
            alpha,
            "in the open interval (0, 1); it is the one-sided failure probability, e.g. 0.001",
        ));
    }
    Ok(())
}

/// `x` moved `ulps` doubles toward −∞.
fn down(mut x: f64, ulps: u32) -> f64 {
    for _ in 0..ulps {
        x = x.next_down();
    }
    x
}

/// `x` moved `ulps` doubles toward +∞.
fn up(mut x: f64, ulps: u32) -> f64 {
    for _ in 0..ulps {
        x = x.next_up();
    }
    x
}

/// The largest double p with p ≤ 1 − q exactly (q ∈ [0, 1]).
fn complement_down(q: f64) -> f64 {
    let p = 1.0 - q;
    // For p ≥ ½, 1 − p is exact; for p < ½, q > ½ and 1 − q was exact already.
    if p >= 0.5 && 1.0 - p < q {
        p.next_down()
    } else {
        p
    }
}

/// The smallest double q with q ≥ 1 − p exactly (p ∈ [0, 1]).
fn complement_up(p: f64) -> f64 {
    let q = 1.0 - p;
    if q >= 0.5 && 1.0 - q > p {
        q.next_up()
    } else {
        q
    }
}

/// One-sided (1 − α) Clopper–Pearson lower bound for k successes in n trials.
///
/// ```
/// use lisse_smoothing::stats::clopper_pearson;
/// // Cohen et al.'s CERTIFY: 99 000 of 100 000 noisy votes for the top class, α = 0.001.
/// let b = clopper_pearson::lower(99_000, 100_000, 1e-3)?;
/// assert!(b.value < 0.99 && b.value > 0.988);
/// // k = n has the closed form α^{1/n}:
/// let all = clopper_pearson::lower(100, 100, 1e-3)?;
/// assert!((all.value - 1e-3_f64.powf(0.01)).abs() < 1e-15);
/// # Ok::<(), lisse_core::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] when n = 0, k > n, or α ∉ (0, 1).
pub fn lower(k: u64, n: u64, alpha: f64) -> Result<Bound, Error> {
    check_args(k, n, alpha)?;
    Ok(lower_unchecked(k, n, alpha))
}

/// One-sided (1 − α) Clopper–Pearson upper bound: `p_U(k) = 1 − p_L(n − k)`.
///
/// # Errors
/// As [`lower`].
pub fn upper(k: u64, n: u64, alpha: f64) -> Result<Bound, Error> {
    check_args(k, n, alpha)?;
    Ok(lower_unchecked(n - k, n, alpha).swapped())
}

pub(crate) fn lower_unchecked(k: u64, n: u64, alpha: f64) -> Bound {
    if k == 0 {
        return Bound {
            value: 0.0,
            complement: 1.0,
        };
    }
    let ln_alpha = alpha.ln();
    if k == n {
        // P[Bin(n, p) ≥ n] = pⁿ = α.
        let x = ln_alpha / n as f64;
        let value = down(x.exp(), 2);
        let complement = up(-x.exp_m1(), 4);
        return Bound {
            value: value.min(complement_down(complement)),
            complement,
        };
    }
    // g(p) = ln T(p) + err − ln α; safe side: g ≤ 0 (T(p) ≤ α even with the error).
    let g = |p: f64, q: f64| {
        let t = ln_upper_tail(k, n, p, q);
        t.ln + t.err - ln_alpha
    };
    let mean = k as f64 / n as f64;
    let use_p = mean <= 0.5 && g(mean, 1.0 - mean) > 0.0;
    if use_p {
        // Bisect p ∈ (tiny, k/n]: g increases with p.
        let p = bisect(f64::MIN_POSITIVE, mean, true, |p| g(p, 1.0 - p));
        Bound {
            value: p,
            complement: complement_up(p),
        }
    } else {
        // Bisect q = 1 − p: g decreases as q grows. Unsafe end: q = 1 − k/n if g > 0 there,
        // else (α so large that the root lies above k/n) the smallest positive q.
        let q_mean = (n - k) as f64 / n as f64;
        let unsafe_q = if g(1.0 - q_mean, q_mean) > 0.0 {
            q_mean
        } else {
            f64::MIN_POSITIVE
        };
        // Safe end q = 1 (p = 0, T = 0): g = −∞.
        let q = bisect(unsafe_q, 1.0, false, |q| {
            if q >= 1.0 {
                f64::NEG_INFINITY
            } else {
                g(1.0 - q, q)
            }
        });
        Bound {
            value: complement_down(q),
            complement: q,
        }
    }
}

/// Bisects [a, b] (0 < a < b) for the sign change of `f`; `safe_low` says that f(a) ≤ 0 is the
/// safe side (and f(b) > 0), else f(b) ≤ 0 is safe. Returns the safe end of the final bracket,
/// whose two ends are adjacent doubles. Geometric midpoints while b/a > 2.
fn bisect(mut a: f64, mut b: f64, safe_low: bool, f: impl Fn(f64) -> f64) -> f64 {
    for _ in 0..2200 {
        let mid = if b > 2.0 * a {
            (a.ln() + 0.5 * (b.ln() - a.ln())).exp()
        } else {
            a + 0.5 * (b - a)
        };
        if mid <= a || mid >= b {
            break;
        }
        let safe = f(mid) <= 0.0;
        if safe == safe_low {
            a = mid;
        } else {
            b = mid;
        }
    }
    if safe_low { a } else { b }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_input() {
        assert!(lower(1, 0, 0.1).is_err());
        assert!(lower(3, 2, 0.1).is_err());
        for a in [0.0, 1.0, -0.5, f64::NAN, 2.0] {
            let e = lower(1, 2, a).unwrap_err();
            assert!(e.to_string().contains("alpha"), "{e}");
        }
    }

    #[test]
    fn closed_forms_and_symmetry() {
        let b = lower(0, 50, 0.01).unwrap();
        assert_eq!((b.value, b.complement), (0.0, 1.0));
        let u = upper(50, 50, 0.01).unwrap();
        assert_eq!(u.value, 1.0);
        let u0 = upper(0, 50, 0.01).unwrap();
        let exact = 1.0 - 0.01_f64.powf(1.0 / 50.0);
        assert!(u0.value >= exact && u0.value < exact * (1.0 + 1e-14));
    }

    #[test]
    fn root_solves_the_tail_equation() {
        for (k, n, alpha) in [
            (3_u64, 10_u64, 0.05),
            (70, 100, 1e-3),
            (9_990, 10_000, 1e-6),
        ] {
            let b = lower(k, n, alpha).unwrap();
            let t = ln_upper_tail(k, n, b.value, b.complement).ln.exp();
            assert!(t <= alpha && t > alpha * (1.0 - 1e-9), "{k} {n}: {t}");
        }
    }

    #[test]
    fn large_alpha_roots_above_the_mean() {
        // α > ½: the lower bound exceeds k/n.
        let b = lower(5, 10, 0.9).unwrap();
        assert!(b.value > 0.5);
        let t = ln_upper_tail(5, 10, b.value, b.complement).ln.exp();
        assert!(t <= 0.9 && t > 0.9 - 1e-12);
    }
}
