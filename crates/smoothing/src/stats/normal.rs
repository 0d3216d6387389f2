//! The standard normal distribution: Φ, its complement, and Φ⁻¹ accurate in both tails.
//!
//! - Φ and 1 − Φ come from `libm::erfc` (a port of FreeBSD msun, under 1 ulp), evaluated on the
//!   side where no cancellation happens: `Φ(x) = ½·erfc(−x/√2)`.
//! - Φ⁻¹ is Wichura's Algorithm AS241 (PPND16, Applied Statistics 37(3), 1988, about 1e-16
//!   relative), with the rational approximations evaluated at the *smaller* of p and 1 − p.
//!   [`inverse_cdf_complement`] takes q = 1 − p itself, so Φ⁻¹(1 − 1e-12) keeps all its digits
//!   even though 1 − 1e-12 is not exact in f64.
//!
//! Tested against mpmath at 40 digits (`tests/normal.rs`): relative error ≤ 4e-16 at the
//! reference points of smoothing.md §5.3.

use std::f64::consts::FRAC_1_SQRT_2;

/// Φ(x), the standard normal CDF.
///
/// ```
/// use lisse_smoothing::stats::normal;
/// assert!((normal::cdf(0.0) - 0.5).abs() < 1e-16);
/// assert!((normal::cdf(1.959963984540054) - 0.975).abs() < 1e-15);
/// ```
pub fn cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x * FRAC_1_SQRT_2)
}

/// 1 − Φ(x), the upper tail, without cancellation for large x.
pub fn sf(x: f64) -> f64 {
    0.5 * libm::erfc(x * FRAC_1_SQRT_2)
}

/// φ(x), the standard normal density.
pub fn pdf(x: f64) -> f64 {
    const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
    INV_SQRT_2PI * (-0.5 * x * x).exp()
}

/// Φ⁻¹(p) for p ∈ [0, 1]; Φ⁻¹(0) = −∞, Φ⁻¹(1) = +∞, NaN outside [0, 1].
///
/// For p close to 1 prefer [`inverse_cdf_complement`] with q = 1 − p computed exactly.
///
/// ```
/// use lisse_smoothing::stats::normal;
/// assert!((normal::inverse_cdf(0.975) - 1.959963984540054).abs() < 1e-15);
/// assert_eq!(normal::inverse_cdf(1.0), f64::INFINITY);
/// ```
pub fn inverse_cdf(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p > 0.5 {
        // 1 − p is exact for p ∈ [0.5, 1] (Sterbenz).
        -lower_quantile(1.0 - p)
    } else {
        lower_quantile(p)
    }
}

/// Φ⁻¹(1 − q) for q ∈ [0, 1], computed from q itself: accurate for tiny q where 1 − q would
/// round. `inverse_cdf_complement(q) == -inverse_cdf(q)`.
///
/// ```
/// use lisse_smoothing::stats::normal;
/// // Φ⁻¹(1 − 1e-12) = 7.0344838253011319298 (mpmath)
/// let z = normal::inverse_cdf_complement(1e-12);
/// assert!((z - 7.034_483_825_301_132).abs() < 2e-15);
/// ```
pub fn inverse_cdf_complement(q: f64) -> f64 {
    -inverse_cdf(q)
}

/// AS241 (Wichura 1988): Region |p − ½| ≤ 0.425, numerator in r = 0.180625 − (p − ½)², highest degree first.
#[allow(clippy::unreadable_literal)]
const CENTRAL_NUM: [f64; 8] = [
    2509.0809287301227,
    33430.57558358813,
    67265.7709270087,
    45921.95393154987,
    13731.69376550946,
    1971.5909503065513,
    133.14166789178438,
    3.3871328727963665,
];

/// AS241 (Wichura 1988): Region |p − ½| ≤ 0.425, denominator.
#[allow(clippy::unreadable_literal)]
const CENTRAL_DEN: [f64; 8] = [
    5226.495278852854,
    28729.085735721943,
    39307.89580009271,
    21213.794301586597,
    5394.196021424751,
    687.1870074920579,
    42.31333070160091,
    1.0,
];

/// AS241 (Wichura 1988): Region r = √(−ln p) ≤ 5, numerator in r − 1.6.
#[allow(clippy::unreadable_literal)]
const TAIL_NUM: [f64; 8] = [
    0.0007745450142783414,
    0.022723844989269184,
    0.2417807251774506,
    1.2704582524523684,
    3.6478483247632045,
    5.769497221460691,
    4.630337846156546,
    1.4234371107496835,
];

/// AS241 (Wichura 1988): Region r ≤ 5, denominator.
#[allow(clippy::unreadable_literal)]
const TAIL_DEN: [f64; 8] = [
    1.0507500716444169e-09,
    0.0005475938084995345,
    0.015198666563616457,
    0.14810397642748008,
    0.6897673349851,
    1.6763848301838038,
    2.053191626637759,
    1.0,
];

/// AS241 (Wichura 1988): Region r > 5, numerator in r − 5.
#[allow(clippy::unreadable_literal)]
const FAR_NUM: [f64; 8] = [
    2.0103343992922881e-07,
    2.7115555687434876e-05,
    0.0012426609473880784,
    0.026532189526576124,
    0.29656057182850487,
    1.7848265399172913,
    5.463784911164114,
    6.657904643501103,
];

/// AS241 (Wichura 1988): Region r > 5, denominator.
#[allow(clippy::unreadable_literal)]
const FAR_DEN: [f64; 8] = [
    2.0442631033899397e-15,
    1.421511758316446e-07,
    1.8463183175100548e-05,
    0.0007868691311456133,
    0.014875361290850615,
    0.1369298809227358,
    0.599832206555888,
    1.0,
];

fn horner(c: &[f64; 8], r: f64) -> f64 {
    c.iter().fold(0.0, |acc, &ci| acc * r + ci)
}

/// Φ⁻¹(p) by AS241; for p < 0.075 the tail branch uses p itself (the smaller tail).
fn lower_quantile(p: f64) -> f64 {
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180_625 - q * q;
        return q * horner(&CENTRAL_NUM, r) / horner(&CENTRAL_DEN, r);
    }
    let r = (-p.ln()).sqrt();
    let x = if r <= 5.0 {
        let r = r - 1.6;
        horner(&TAIL_NUM, r) / horner(&TAIL_DEN, r)
    } else {
        let r = r - 5.0;
        horner(&FAR_NUM, r) / horner(&FAR_DEN, r)
    };
    -x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symmetric_and_inverse() {
        for &p in &[1e-300, 1e-20, 1e-5, 0.01, 0.3, 0.5, 0.7, 0.99] {
            let z = inverse_cdf(p);
            if p > 1e-6 {
                assert!((inverse_cdf(1.0 - p) + z).abs() <= 1e-9 * z.abs().max(1.0));
            }
            assert_eq!(inverse_cdf_complement(p), -z);
            let back = cdf(z);
            // Conditioning: a relative error ε in z moves p by about z²ε relatively.
            assert!(
                (back - p).abs() <= 8.0 * f64::EPSILON * (1.0 + z * z) * p,
                "{p} {back}"
            );
        }
        assert!(inverse_cdf(-0.1).is_nan());
        assert!(inverse_cdf(f64::NAN).is_nan());
        assert_eq!(inverse_cdf(0.0), f64::NEG_INFINITY);
        assert_eq!(inverse_cdf_complement(0.0), f64::INFINITY);
        assert!((sf(3.0) - (1.0 - cdf(3.0))).abs() < 1e-16);
    }
}
