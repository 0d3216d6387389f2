//! The statistics against independent high-precision values.
//!
//! `tests/data/clopper_pearson_reference.csv` and `tests/data/normal_reference.csv` were written
//! by the mpmath scripts in `scripts/` (40 significant digits; exact binomial tails summed term by
//! term and Illinois root finding; Newton on mpmath's erfc-based Φ; exact integer binomial sums).
#![allow(clippy::float_cmp)]

use lisse_smoothing::stats::{binomial_test, clopper_pearson, normal};

const CP: &str = include_str!("data/clopper_pearson_reference.csv");
const NORMAL: &str = include_str!("data/normal_reference.csv");

fn rows(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("k,"))
        .map(|l| l.split(',').collect())
}

fn rel(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        a.abs()
    } else {
        ((a - b) / b).abs()
    }
}

#[test]
fn clopper_pearson_matches_mpmath_and_is_never_on_the_wrong_side() {
    let mut checked = 0;
    let mut worst = 0.0_f64;
    for r in rows(CP) {
        let k: u64 = r[0].parse().unwrap();
        let n: u64 = r[1].parse().unwrap();
        let alpha: f64 = r[2].parse().unwrap();
        let p_ref: f64 = r[3].parse().unwrap();
        let q_ref: f64 = r[4].parse().unwrap();
        let lo = clopper_pearson::lower(k, n, alpha).unwrap();
        // Parsing the 30-digit reference rounds it to the nearest double; the bound must not be
        // above that double's exact value's side: compare with a half-ulp allowance only for
        // the parse, never for the computation.
        assert!(
            lo.value <= p_ref,
            "lower bound above the exact value: k={k} n={n} α={alpha}: {} > {p_ref}",
            lo.value
        );
        assert!(
            lo.complement >= q_ref,
            "complement below the exact value: k={k} n={n} α={alpha}: {} < {q_ref}",
            lo.complement
        );
        let e = rel(lo.value, p_ref).max(rel(lo.complement, q_ref));
        assert!(e <= 1e-12, "k={k} n={n} α={alpha}: relative error {e:e}");
        worst = worst.max(e);
        // Upper bound by symmetry: p_U(n − k) = 1 − p_L(k).
        let up = clopper_pearson::upper(n - k, n, alpha).unwrap();
        assert!(up.value >= q_ref && up.complement <= p_ref);
        assert!(rel(up.value, q_ref) <= 1e-12);
        checked += 1;
    }
    assert!(checked >= 250, "reference table too short: {checked}");
    eprintln!("{checked} Clopper–Pearson bounds, worst relative error {worst:e}");
}

#[test]
fn clopper_pearson_is_monotone() {
    let n = 1000;
    let mut prev = -1.0;
    for k in (0..=n).step_by(37) {
        let b = clopper_pearson::lower(k, n, 1e-3).unwrap().value;
        assert!(b > prev);
        prev = b;
        let looser = clopper_pearson::lower(k, n, 1e-6).unwrap().value;
        assert!(looser <= b);
        let u = clopper_pearson::upper(k, n, 1e-3).unwrap().value;
        assert!(u >= k as f64 / n as f64 && b <= k as f64 / n as f64);
    }
}

#[test]
fn inverse_normal_and_binomial_test_match_mpmath() {
    let mut seen = (0, 0);
    for r in rows(NORMAL) {
        match r[0] {
            "ppf" => {
                let p: f64 = r[1].parse().unwrap();
                let z: f64 = r[3].parse().unwrap();
                let got = normal::inverse_cdf(p);
                assert!(
                    rel(got, z) <= 1e-15 || (got - z).abs() < 1e-300,
                    "Φ⁻¹({p}) = {got}, exact {z}"
                );
                assert!(rel(normal::inverse_cdf_complement(p), -z) <= 1e-15 || z == 0.0);
                seen.0 += 1;
            }
            "binom_test" => {
                let a: u64 = r[1].parse().unwrap();
                let b: u64 = r[2].parse().unwrap();
                let v: f64 = r[3].parse().unwrap();
                let got = binomial_test::two_sided_half(a, b);
                assert!(got >= v, "p-value rounded down: ({a}, {b}) {got} < {v}");
                assert!(rel(got, v) <= 1e-12, "({a}, {b}): {got} vs {v}");
                seen.1 += 1;
            }
            other => panic!("unknown row kind {other}"),
        }
    }
    assert!(seen.0 >= 20 && seen.1 >= 8);
}
