//! Binomial probabilities in log space, accurate for n up to 1e7 and beyond.
//!
//! The point mass uses Loader's saddle-point form ("Fast and accurate computation of binomial
//! probabilities", C. Loader, 2000; the algorithm behind R's `dbinom`):
//!
//! `ln P[X = x] = δ(n) − δ(x) − δ(n−x) − D(x, np) − D(n−x, nq) − ½·ln(2π·x·(n−x)/n)`,
//!
//! with δ the Stirling-series error `ln n! − [(n+½)ln n − n + ½ln 2π]` and
//! `D(x, μ) = x·ln(x/μ) + μ − x` (the deviance, evaluated by a series when x ≈ μ). Every term
//! is small where it matters, so no large logarithms cancel (a plain `lgamma` difference loses
//! about eight digits at n = 1e7). Both p and q = 1 − p are passed in, so probabilities close to
//! 1 keep their complement's digits.
//!
//! Tails are summed from the given end in the direction where the terms decrease, with the ratio
//! recurrence `P[X = j+1]/P[X = j] = (n−j)/(j+1) · p/q`, until a term falls below 1e-17 of the
//! partial sum. A tail that lies on the far side of the mode is computed as the complement of the
//! other tail (`ln_1p`).

use std::f64::consts::PI;

/// ln Γ(x+1) − [(x+½)ln x − x + ½ ln 2π] for integer-valued x ≥ 1.
fn stirling_error(x: f64) -> f64 {
    const S0: f64 = 1.0 / 12.0;
    const S1: f64 = 1.0 / 360.0;
    const S2: f64 = 1.0 / 1260.0;
    const S3: f64 = 1.0 / 1680.0;
    const S4: f64 = 1.0 / 1188.0;
    if x <= 15.0 {
        // Small values: lgamma is accurate to an ulp of a small number.
        let half_ln_2pi = 0.5 * (2.0 * PI).ln();
        return libm::lgamma(x + 1.0) - (x + 0.5) * x.ln() + x - half_ln_2pi;
    }
    let x2 = x * x;
    if x > 500.0 {
        (S0 - S1 / x2) / x
    } else if x > 80.0 {
        (S0 - (S1 - S2 / x2) / x2) / x
    } else if x > 35.0 {
        (S0 - (S1 - (S2 - S3 / x2) / x2) / x2) / x
    } else {
        (S0 - (S1 - (S2 - (S3 - S4 / x2) / x2) / x2) / x2) / x
    }
}

/// The deviance term D(x, μ) = x ln(x/μ) + μ − x ≥ 0, accurate when x ≈ μ.
fn deviance(x: f64, mu: f64) -> f64 {
    if (x - mu).abs() < 0.1 * (x + mu) {
        // x ln(x/μ) + μ − x = (x − μ)·v + 2x·Σ_{j≥1} v^{2j+1}/(2j+1), v = (x − μ)/(x + μ).
        let v = (x - mu) / (x + mu);
        let mut s = (x - mu) * v;
        let v2 = v * v;
        let mut ej = 2.0 * x * v;
        let mut j = 1.0_f64;
        loop {
            ej *= v2;
            let s1 = s + ej / (2.0 * j + 1.0);
            if s1 == s {
                return s1;
            }
            s = s1;
            j += 1.0;
            if j > 1000.0 {
                return s;
            }
        }
    }
    x * (x / mu).ln() + mu - x
}

/// ln P[Bin(n, p) = x], given p and q = 1 − p (both accurate). Requires x ≤ n.
pub(crate) fn ln_pmf(x: u64, n: u64, p: f64, q: f64) -> f64 {
    debug_assert!(x <= n);
    let (xf, nf) = (x as f64, n as f64);
    if p == 0.0 {
        return if x == 0 { 0.0 } else { f64::NEG_INFINITY };
    }
    if q == 0.0 {
        return if x == n { 0.0 } else { f64::NEG_INFINITY };
    }
    if x == 0 {
        return if p < 0.5 {
            nf * (-p).ln_1p()
        } else {
            nf * q.ln()
        };
    }
    if x == n {
        return if q < 0.5 {
            nf * (-q).ln_1p()
        } else {
            nf * p.ln()
        };
    }
    let m = n - x;
    let mf = m as f64;
    let lc = stirling_error(nf)
        - stirling_error(xf)
        - stirling_error(mf)
        - deviance(xf, nf * p)
        - deviance(mf, nf * q);
    // ln(2π·x·(n − x)/n), with (n − x)/n formed from the exact integer n − x (ln_1p(−x/n) would
    // lose the digits of a small n − x).
    let lf = (2.0 * PI).ln() + xf.ln() + (mf / nf).ln();
    lc - 0.5 * lf
}

/// A tail probability in log space with an estimate of its absolute error in the log.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LnTail {
    /// ln of the tail probability.
    pub(crate) ln: f64,
    /// A bound on |computed − exact| in `ln`, from the magnitudes involved and the number of
    /// summed terms (generous: 32 ulps per unit of magnitude, 4 ulps per term).
    pub(crate) err: f64,
}

/// Sum Σ_{j ≥ start} P[X = j] / P[X = start] going up (`up = true`) or Σ_{j ≤ start} going down,
/// while terms decrease. Returns (sum, number of terms).
fn relative_sum(start: u64, n: u64, p: f64, q: f64, up: bool) -> (f64, u64) {
    let mut s = 1.0_f64;
    let mut t = 1.0_f64;
    let mut terms = 1_u64;
    let nf = n as f64;
    if up {
        let ratio = p / q;
        let mut j = start;
        while j < n {
            let jf = j as f64;
            t *= (nf - jf) / (jf + 1.0) * ratio;
            s += t;
            terms += 1;
            j += 1;
            if t < 1e-17 * s {
                break;
            }
        }
    } else {
        let ratio = q / p;
        let mut j = start;
        while j > 0 {
            let jf = j as f64;
            t *= jf / (nf - jf + 1.0) * ratio;
            s += t;
            terms += 1;
            j -= 1;
            if t < 1e-17 * s {
                break;
            }
        }
    }
    (s, terms)
}

/// ln P[Bin(n, p) ≥ k], given p and q = 1 − p.
pub(crate) fn ln_upper_tail(k: u64, n: u64, p: f64, q: f64) -> LnTail {
    const EPS: f64 = f64::EPSILON;
    if k == 0 {
        return LnTail { ln: 0.0, err: 0.0 };
    }
    if k > n || p == 0.0 {
        return LnTail {
            ln: f64::NEG_INFINITY,
            err: 0.0,
        };
    }
    if q == 0.0 {
        return LnTail { ln: 0.0, err: 0.0 };
    }
    let nf = n as f64;
    // Terms P[X = j] decrease for j ≥ k when (n − k)·p ≤ (k + 1)·q.
    if (nf - k as f64) * p <= (k as f64 + 1.0) * q {
        let lp = ln_pmf(k, n, p, q);
        let (s, terms) = relative_sum(k, n, p, q, true);
        LnTail {
            ln: lp + s.ln(),
            err: 32.0 * EPS * (lp.abs() + 1.0) + 4.0 * EPS * terms as f64,
        }
    } else {
        // k − 1 lies below the mode: P[X ≥ k] = 1 − P[X ≤ k − 1], and that lower tail is ≤ ½-ish.
        let lp = ln_pmf(k - 1, n, p, q);
        let (s, terms) = relative_sum(k - 1, n, p, q, false);
        let lower = (lp + s.ln()).exp();
        let rel = 32.0 * EPS * (lp.abs() + 1.0) + 4.0 * EPS * terms as f64;
        let ln = (-lower).ln_1p();
        // d ln(1 − L) = −dL/(1 − L): the relative error of L scaled by L/(1 − L).
        let err = rel * lower / (1.0 - lower).max(f64::MIN_POSITIVE) + 4.0 * EPS;
        LnTail { ln, err }
    }
}

/// ln P[Bin(n, p) ≤ k], given p and q = 1 − p: the upper tail of Bin(n, q) at n − k.
#[cfg(test)]
pub(crate) fn ln_lower_tail(k: u64, n: u64, p: f64, q: f64) -> LnTail {
    if k >= n {
        return LnTail { ln: 0.0, err: 0.0 };
    }
    ln_upper_tail(n - k, n, q, p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact_pmf(x: u64, n: u64, p: f64) -> f64 {
        // Small n only: direct product.
        let mut c = 1.0_f64;
        for i in 0..x {
            c = c * (n - i) as f64 / (i + 1) as f64;
        }
        c * p.powi(x as i32) * (1.0 - p).powi((n - x) as i32)
    }

    #[test]
    fn pmf_matches_direct_product_for_small_n() {
        for n in [1_u64, 2, 7, 20, 40] {
            for x in 0..=n {
                for p in [0.01, 0.3, 0.5, 0.77] {
                    let a = ln_pmf(x, n, p, 1.0 - p).exp();
                    let b = exact_pmf(x, n, p);
                    assert!((a - b).abs() <= 1e-13 * b, "n={n} x={x} p={p}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn tails_sum_to_one_and_match_direct_sums() {
        for n in [5_u64, 30, 200] {
            for p in [0.05, 0.5, 0.9] {
                for k in 0..=n {
                    let up = ln_upper_tail(k, n, p, 1.0 - p).ln.exp();
                    let direct: f64 = (k..=n).map(|j| exact_pmf(j, n, p)).sum();
                    assert!(
                        (up - direct).abs() <= 1e-12 * direct.max(1e-300),
                        "{n} {k} {p}"
                    );
                    if k > 0 {
                        let low = ln_lower_tail(k - 1, n, p, 1.0 - p).ln.exp();
                        assert!((low + up - 1.0).abs() < 1e-12);
                    }
                }
            }
        }
    }

    #[test]
    fn deviance_series_and_closed_form_agree() {
        for (x, mu) in [(100.0_f64, 101.0_f64), (1e6, 1e6 + 5.0), (3.0, 3.2)] {
            let closed: f64 = x * (x / mu).ln() + mu - x;
            let series = deviance(x, mu);
            assert!((closed - series).abs() < 1e-9 * (1.0 + series));
        }
    }
}
