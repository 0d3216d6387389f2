//! Integration and property tests of the domains and the simplex projections.
//!
//! Oracles (see the reference notes, §6.3): feasibility, idempotence, the variational inequality
//! ⟨y − Π(y), u − Π(y)⟩ ≤ 0 for every feasible u, agreement of the three simplex methods to
//! 1e-12 relative to the scale maxᵢ |yᵢ| + z, and the KKT conditions of the water-filling.

// Exact comparisons are intended here: clamping, identity maps and untouched inputs must be
// bit-for-bit equal.
#![allow(clippy::float_cmp)]

use lisse_core::domain::{
    BoxDomain, Domain, L2Ball, Simplex, SimplexMethod, WholeSpace, project_simplex_bisection,
    project_simplex_condat, project_simplex_sort,
};
use lisse_core::{Dimension, Error};
use nalgebra::{DVector, dvector};
use proptest::prelude::*;

const METHODS: [SimplexMethod; 3] = [
    SimplexMethod::Sort,
    SimplexMethod::Condat,
    SimplexMethod::Bisection,
];

// ---------------------------------------------------------------- helpers

/// One coordinate of a test input: mostly moderate, sometimes large (±1e6), sometimes a small
/// integer so that ties are common.
fn entry() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -10.0..10.0f64,
        1 => -1e6..1e6f64,
        2 => (-3i32..=3).prop_map(f64::from),
        1 => Just(0.0),
    ]
}

fn vector(max_len: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(entry(), 1..=max_len)
}

/// The simplex total z: often 1, otherwise anywhere in [1e-3, 1e3].
fn total() -> impl Strategy<Value = f64> {
    prop_oneof![Just(1.0), 1e-3..1e3f64, 1.0..10.0f64]
}

fn amax(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |acc: f64, x| acc.max(x.abs()))
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .fold(0.0, |acc: f64, (x, y)| acc.max((x - y).abs()))
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

/// ⟨y − p, u − p⟩ and the tolerance it must stay under: rounding errors of p (a few ulps of
/// `scale`) times ‖y − p‖ + ‖u − p‖.
fn variational(y: &[f64], p: &[f64], u: &[f64], scale: f64) -> (f64, f64) {
    let a: Vec<f64> = y.iter().zip(p).map(|(y, p)| y - p).collect();
    let b: Vec<f64> = u.iter().zip(p).map(|(u, p)| u - p).collect();
    let inner = a.iter().zip(&b).map(|(a, b)| a * b).sum::<f64>();
    let tol = 1e-11 * (1.0 + scale) * (1.0 + norm(&a) + norm(&b));
    (inner, tol)
}

fn project_with(method: SimplexMethod, y: &[f64], z: f64) -> Vec<f64> {
    let mut x = y.to_vec();
    method
        .project(&mut x, z, &mut Vec::new())
        .expect("valid input");
    x
}

fn project_domain(domain: &impl Domain, y: &[f64]) -> DVector<f64> {
    let mut x = DVector::from_column_slice(y);
    domain.project_in_place(&mut x).expect("valid input");
    x
}

/// Checks Σx = z, x ≥ 0 and the KKT conditions of x = Π_Δ(y).
fn check_simplex_solution(y: &[f64], z: f64, x: &[f64]) -> Result<(), TestCaseError> {
    let scale = amax(y) + z;
    let tol = 1e-12 * scale;
    prop_assert!(x.iter().all(|&v| v >= 0.0), "negative entry in {x:?}");
    let sum: f64 = x.iter().sum();
    prop_assert!(
        (sum - z).abs() <= tol * (1.0 + x.len() as f64).sqrt(),
        "sum {sum} != z {z} for y = {y:?}"
    );
    // θ from the largest entry (positive since Σx = z > 0).
    let k = (0..x.len()).max_by(|&i, &j| x[i].total_cmp(&x[j])).unwrap();
    prop_assert!(x[k] > 0.0);
    let theta = y[k] - x[k];
    for (&yi, &xi) in y.iter().zip(x) {
        if xi > 0.0 {
            prop_assert!(
                (yi - xi - theta).abs() <= tol,
                "x_i > 0 but y_i − x_i = {} != θ = {theta}",
                yi - xi
            );
        } else {
            prop_assert!(yi <= theta + tol, "x_i = 0 but y_i = {yi} > θ = {theta}");
        }
    }
    Ok(())
}

fn invalid_name(e: &Error) -> &str {
    match e {
        Error::InvalidParameter { name, .. } => name,
        other => panic!("expected InvalidParameter, got {other:?}"),
    }
}

// ---------------------------------------------------------------- simplex properties

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn simplex_methods_agree_and_satisfy_kkt(y in vector(40), z in total()) {
        let scale = amax(&y) + z;
        let xs: Vec<Vec<f64>> = METHODS.iter().map(|&m| project_with(m, &y, z)).collect();
        for (m, x) in METHODS.iter().zip(&xs) {
            check_simplex_solution(&y, z, x).map_err(|e| TestCaseError::fail(format!("{m:?}: {e}")))?;
            let simplex = Simplex::new(y.len(), z)?.with_method(*m);
            prop_assert!(simplex.contains(&DVector::from_column_slice(x), 1e-12 * scale));
        }
        prop_assert!(max_abs_diff(&xs[0], &xs[1]) <= 1e-12 * scale, "sort {:?} vs condat {:?}", xs[0], xs[1]);
        prop_assert!(max_abs_diff(&xs[0], &xs[2]) <= 1e-12 * scale, "sort {:?} vs bisection {:?}", xs[0], xs[2]);
        prop_assert!(max_abs_diff(&xs[1], &xs[2]) <= 1e-12 * scale);
    }

    #[test]
    fn simplex_methods_agree_on_shifted_and_permuted_inputs(
        y in vector(40), z in total(), shift in -1e6..1e6f64, reverse in any::<bool>()
    ) {
        // The projection is invariant under y ↦ y + c·1 and equivariant under permutations; a
        // sorted (ascending) input drives Condat's restarts (step 2) and re-admissions (step 3).
        let mut shifted: Vec<f64> = y.iter().map(|v| v + shift).collect();
        shifted.sort_by(f64::total_cmp);
        if reverse {
            shifted.reverse();
        }
        let scale = amax(&shifted) + z;
        let reference = project_with(SimplexMethod::Bisection, &shifted, z);
        for m in [SimplexMethod::Sort, SimplexMethod::Condat] {
            let x = project_with(m, &shifted, z);
            check_simplex_solution(&shifted, z, &x)?;
            prop_assert!(max_abs_diff(&x, &reference) <= 1e-12 * scale, "{m:?}: {x:?} vs {reference:?}");
        }
    }

    #[test]
    fn simplex_projection_is_idempotent(y in vector(40), z in total()) {
        let scale = amax(&y) + z;
        for m in METHODS {
            let p = project_with(m, &y, z);
            let q = project_with(m, &p, z);
            prop_assert!(max_abs_diff(&p, &q) <= 1e-12 * scale, "{m:?}: {p:?} -> {q:?}");
        }
    }

    #[test]
    fn simplex_projection_satisfies_variational_inequality(
        (y, w) in (1usize..=30).prop_flat_map(|d| (prop::collection::vec(entry(), d), prop::collection::vec(entry(), d))),
        z in total(),
    ) {
        for m in METHODS {
            let p = project_with(m, &y, z);
            let mut feasible = vec![project_with(m, &w, z)];
            for i in 0..y.len() {
                let mut vertex = vec![0.0; y.len()];
                vertex[i] = z;
                feasible.push(vertex);
            }
            let scale = amax(&y) + amax(&w) + z;
            for u in &feasible {
                let (inner, tol) = variational(&y, &p, u, scale);
                prop_assert!(inner <= tol, "{m:?}: ⟨y − p, u − p⟩ = {inner} > {tol}");
            }
        }
    }
}

// ---------------------------------------------------------------- ball, box, whole space properties

fn ball_case() -> impl Strategy<Value = (Vec<f64>, f64, Vec<f64>, Vec<f64>)> {
    (1usize..=8).prop_flat_map(|d| {
        (
            prop::collection::vec(-5.0..5.0f64, d),
            prop_oneof![1 => Just(0.0), 4 => 0.0..10.0f64, 1 => 1e3..1e5f64],
            prop::collection::vec(entry(), d),
            prop::collection::vec(entry(), d),
        )
    })
}

/// Bounds of one coordinate: finite, or open on either side; sometimes degenerate (l = u).
fn bound_pair() -> impl Strategy<Value = (f64, f64)> {
    (
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.2),
        -10.0..10.0f64,
        prop_oneof![Just(0.0), 0.0..10.0f64],
    )
        .prop_map(|(open_lo, open_hi, base, width)| {
            let lo = if open_lo { f64::NEG_INFINITY } else { base };
            let hi = if open_hi { f64::INFINITY } else { base + width };
            (lo, hi)
        })
}

/// Bounds per coordinate, the point to project, another point, and a corner selector.
type BoxCase = (Vec<(f64, f64)>, Vec<f64>, Vec<f64>, Vec<bool>);

fn box_case() -> impl Strategy<Value = BoxCase> {
    (1usize..=8).prop_flat_map(|d| {
        (
            prop::collection::vec(bound_pair(), d),
            prop::collection::vec(entry(), d),
            prop::collection::vec(entry(), d),
            prop::collection::vec(any::<bool>(), d),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn ball_projection_properties((center, radius, y, w) in ball_case()) {
        let ball = L2Ball::new(DVector::from_column_slice(&center), radius)?;
        let unit = 1.0 + radius + amax(&center);
        let p = project_domain(&ball, &y);
        // Feasible, and unchanged when y was already inside.
        prop_assert!(ball.contains(&p, 1e-12 * unit), "‖p − c‖ = {} > R = {radius}", (&p - ball.center()).norm());
        if ball.contains(&DVector::from_column_slice(&y), 0.0) {
            prop_assert_eq!(p.as_slice(), y.as_slice());
        }
        // Idempotent.
        let q = project_domain(&ball, p.as_slice());
        prop_assert!(max_abs_diff(p.as_slice(), q.as_slice()) <= 1e-12 * unit);
        // Optimal: ⟨y − p, u − p⟩ ≤ 0 for u = Π(w) and the points c ± R eᵢ of the sphere.
        let mut feasible = vec![project_domain(&ball, &w).as_slice().to_vec()];
        for i in 0..center.len() {
            for sign in [-1.0, 1.0] {
                let mut u = center.clone();
                u[i] += sign * radius;
                feasible.push(u);
            }
        }
        let scale = amax(&y) + amax(&w) + unit;
        for u in &feasible {
            let (inner, tol) = variational(&y, p.as_slice(), u, scale);
            prop_assert!(inner <= tol, "⟨y − p, u − p⟩ = {inner} > {tol}");
        }
        // Outside points land on the sphere.
        let dist = norm(&y.iter().zip(&center).map(|(a, b)| a - b).collect::<Vec<_>>());
        if dist > radius {
            let pd = (&p - ball.center()).norm();
            prop_assert!((pd - radius).abs() <= 1e-12 * unit, "‖p − c‖ = {pd}, R = {radius}");
        }
    }

    #[test]
    fn box_projection_properties((bounds, y, w, corner) in box_case()) {
        let lower = DVector::from_iterator(bounds.len(), bounds.iter().map(|b| b.0));
        let upper = DVector::from_iterator(bounds.len(), bounds.iter().map(|b| b.1));
        let domain = BoxDomain::new(lower, upper)?;
        let p = project_domain(&domain, &y);
        // Clamping is exact: feasible with zero tolerance and exactly idempotent.
        prop_assert!(domain.contains(&p, 0.0));
        let q = project_domain(&domain, p.as_slice());
        prop_assert_eq!(p.as_slice(), q.as_slice());
        // Optimal against Π(w) and a corner (±1e9 where a side is open). Each term of the inner
        // product is a product of opposite-signed numbers, so the bound is exact.
        let far: Vec<f64> = corner.iter().map(|&up| if up { 1e9 } else { -1e9 }).collect();
        for u in [project_domain(&domain, &w), project_domain(&domain, &far)] {
            let (inner, _) = variational(&y, p.as_slice(), u.as_slice(), 0.0);
            prop_assert!(inner <= 0.0, "⟨y − p, u − p⟩ = {inner}");
        }
        // Diameter: finite exactly when all sides are closed.
        let bounded = bounds.iter().all(|(l, u)| l.is_finite() && u.is_finite());
        prop_assert_eq!(domain.diameter().is_finite(), bounded);
    }

    #[test]
    fn whole_space_projection_is_identity(y in vector(10)) {
        let space = WholeSpace::new(y.len());
        let p = project_domain(&space, &y);
        prop_assert_eq!(p.as_slice(), y.as_slice());
        prop_assert!(space.contains(&p, 0.0));
    }
}

// ---------------------------------------------------------------- exact values

#[test]
fn simplex_known_values() {
    let cases: &[(&[f64], f64, &[f64])] = &[
        (&[0.5, 0.5], 1.0, &[0.5, 0.5]),
        (&[3.0, 1.0], 1.0, &[1.0, 0.0]),
        (&[-1.0, -1.0], 1.0, &[0.5, 0.5]),
        (&[1.0, 1.0, 1.0, 1.0], 2.0, &[0.5, 0.5, 0.5, 0.5]),
        (&[0.0, 0.0, 0.0], 3.0, &[1.0, 1.0, 1.0]),
        (&[7.0], 2.5, &[2.5]),
        (&[-1e6], 0.25, &[0.25]),
        (&[2.0, 0.0, 1.0], 1.0, &[1.0, 0.0, 0.0]),
        (&[1.0, 0.5, 0.0], 1.0, &[0.75, 0.25, 0.0]),
        (&[0.0, 0.5, 1.0], 1.0, &[0.0, 0.25, 0.75]),
        // Condat: ascending input restarts v at every entry and re-admits from ṽ.
        (
            &[0.0, 0.25, 0.5, 0.75, 1.0],
            1.0,
            &[0.0, 0.0, 1.0 / 12.0, 1.0 / 3.0, 7.0 / 12.0],
        ),
        (&[1e6, 1e6, 0.0], 1.0, &[0.5, 0.5, 0.0]),
    ];
    for &(y, z, expected) in cases {
        for m in METHODS {
            let x = project_with(m, y, z);
            assert!(
                max_abs_diff(&x, expected) <= 1e-12 * (amax(y) + z),
                "{m:?} on {y:?}, z = {z}: {x:?} != {expected:?}"
            );
            let sum: f64 = x.iter().sum();
            assert!(
                (sum - z).abs() <= 1e-12 * (amax(y) + z),
                "{m:?} on {y:?}: sum {sum}"
            );
        }
    }
}

/// A small deterministic generator for long inputs (beyond the proptest sizes).
fn lcg(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed;
    move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn simplex_methods_agree_on_long_inputs() {
    let mut next = lcg(7);
    let mut scratch = Vec::new();
    for (case, d) in [1000usize, 5000, 777, 2]
        .into_iter()
        .cycle()
        .take(24)
        .enumerate()
    {
        let amplitude = [1.0, 1e-3, 1e6][case % 3];
        let mut y: Vec<f64> = (0..d).map(|_| amplitude * (2.0 * next() - 1.0)).collect();
        match case % 4 {
            1 => y.sort_by(f64::total_cmp),
            2 => y.sort_by(|a, b| b.total_cmp(a)),
            3 => y
                .iter_mut()
                .for_each(|v| *v = (*v * 4.0 / amplitude).round()), // many ties
            _ => {}
        }
        let z = [1.0, 0.01, 50.0][case % 3];
        let scale = amax(&y) + z;
        let mut sorted = y.clone();
        project_simplex_sort(&mut sorted, z, &mut scratch).unwrap();
        let mut condat = y.clone();
        project_simplex_condat(&mut condat, z, &mut scratch).unwrap();
        let mut bisect = y.clone();
        project_simplex_bisection(&mut bisect, z).unwrap();
        assert!(
            max_abs_diff(&sorted, &condat) <= 1e-12 * scale,
            "case {case}: sort vs condat"
        );
        assert!(
            max_abs_diff(&sorted, &bisect) <= 1e-12 * scale,
            "case {case}: sort vs bisection"
        );
        check_simplex_solution(&y, z, &condat).unwrap();
    }
}

#[test]
fn simplex_extreme_magnitudes_stay_finite() {
    // z far below the resolution of y (θ rounds onto max y), and sums that would overflow
    // without rescaling: every method returns finite, nonnegative numbers whose sum is z to
    // rounding relative to z itself (issue 5, item 11: a tolerance relative to max |y|
    // accepted the zero vector, which is not in the simplex).
    let big = f64::MAX;
    let cases = [
        vec![1e20, 0.0, -1e20],
        vec![1e16, 0.0],
        vec![1e300, 1e300],
        vec![-1e300, 1e300, 1e-300],
        vec![big, -big, big, 0.0],
        vec![-big, -big],
        vec![big / 3.0, big / 2.0, big / 5.0, big / 7.0, -big],
    ];
    for y in cases {
        for m in METHODS {
            let x = project_with(m, &y, 1.0);
            assert!(
                x.iter().all(|v| v.is_finite() && *v >= 0.0),
                "{m:?} on {y:?}: {x:?}"
            );
            let sum: f64 = x.iter().sum();
            assert!((sum - 1.0).abs() <= 1e-14, "{m:?} on {y:?}: {x:?}");
            let simplex = Simplex::probability(y.len()).unwrap().with_method(m);
            assert!(simplex.contains(&DVector::from_vec(x), 0.0));
        }
    }
}

#[test]
fn simplex_below_resolution_gives_the_exact_vertex() {
    // Issue 5, item 9: y = [1e16, 0], z = 1 returned the zero vector.
    for m in METHODS {
        assert_eq!(project_with(m, &[1e16, 0.0], 1.0), [1.0, 0.0], "{m:?}");
        assert_eq!(
            project_with(m, &[0.0, -3.0, 1e17], 1.0),
            [0.0, 0.0, 1.0],
            "{m:?}"
        );
        assert_eq!(project_with(m, &[1e16, 1e16], 1.0), [0.5, 0.5], "{m:?}");
    }
}

#[test]
fn ball_recentres_in_place() {
    let mut ball = L2Ball::centered(2, 1.0).unwrap();
    let buffer = ball.center().as_ptr();
    ball.set_center(&[10.0, -4.0]).unwrap();
    assert_eq!(ball.center().as_ptr(), buffer, "set_center reallocated");
    assert_eq!(ball.center().as_slice(), &[10.0, -4.0]);
    let mut y = dvector![10.0, 0.0];
    ball.project_in_place(&mut y).unwrap();
    assert_eq!(y, dvector![10.0, -3.0]);
    assert!(matches!(
        ball.set_center(&[1.0]),
        Err(Error::DimensionMismatch { .. })
    ));
    assert!(matches!(
        ball.set_center(&[1.0, f64::NAN]),
        Err(Error::NonFinite { .. })
    ));
    assert_eq!(
        ball.center().as_slice(),
        &[10.0, -4.0],
        "unchanged on error"
    );
    ball.set_radius(2.0).unwrap();
    assert!(ball.set_radius(-1.0).is_err());
    assert_eq!(ball.radius(), 2.0);
}

/// A finite f64 of any magnitude from 1e-300 to 1e300, either sign, or zero.
fn any_magnitude() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        (-1.0f64..1.0, -300i32..300).prop_map(|(m, e)| m * 10f64.powi(e)),
        -10.0f64..10.0,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn projections_are_exactly_feasible_and_bitwise_idempotent(
        y in proptest::collection::vec(any_magnitude(), 1..12),
        z_mantissa in 0.01f64..10.0,
        z_exponent in -300i32..300,
        center_scale in any_magnitude(),
        radius in any_magnitude(),
    ) {
        let z = z_mantissa * 10f64.powi(z_exponent);
        let d = y.len();
        let y = DVector::from_vec(y);
        let mut domains: Vec<Box<dyn Domain>> = METHODS
            .iter()
            .map(|&m| Box::new(Simplex::new(d, z).unwrap().with_method(m)) as Box<dyn Domain>)
            .collect();
        let center = DVector::from_fn(d, |i, _| center_scale * (i as f64 - 1.5));
        domains.push(Box::new(L2Ball::new(center, radius.abs()).unwrap()));
        domains.push(Box::new(BoxDomain::uniform(d, -radius.abs(), radius.abs()).unwrap()));
        for (k, domain) in domains.iter().enumerate() {
            let mut once = y.clone();
            domain.project_in_place(&mut once).unwrap();
            prop_assert!(domain.contains(&once, 0.0), "domain {k}, z = {z:e}: {y} -> {once}");
            let mut twice = once.clone();
            domain.project_in_place(&mut twice).unwrap();
            let same = once.iter().zip(twice.iter()).all(|(a, b)| a.to_bits() == b.to_bits());
            prop_assert!(same, "domain {k}: {once} -> {twice}");
        }
    }
}

#[test]
fn condat_scratch_reuse_is_deterministic_and_allocation_free() {
    let mut next = lcg(11);
    let inputs: Vec<Vec<f64>> = (0..20)
        .map(|k| (0..(50 + 10 * k)).map(|_| 3.0 * next() - 1.0).collect())
        .collect();
    let mut scratch = Vec::with_capacity(250);
    let capacity = scratch.capacity();
    let buffer = scratch.as_ptr();
    let mut first = Vec::new();
    for y in &inputs {
        let mut x = y.clone();
        project_simplex_condat(&mut x, 1.0, &mut scratch).unwrap();
        first.push(x);
    }
    // The buffer was never grown or moved: no allocation once the capacity sufficed.
    assert_eq!(scratch.capacity(), capacity);
    assert_eq!(scratch.as_ptr(), buffer);
    // Same inputs, in reverse order, with the dirty buffer: bit-for-bit the same results, and
    // the same as with a fresh buffer each time.
    for (y, expected) in inputs.iter().zip(&first).rev() {
        let mut x = y.clone();
        project_simplex_condat(&mut x, 1.0, &mut scratch).unwrap();
        assert_eq!(&x, expected);
        let mut fresh = y.clone();
        project_simplex_condat(&mut fresh, 1.0, &mut Vec::new()).unwrap();
        assert_eq!(&fresh, expected);
    }
    assert_eq!(scratch.as_ptr(), buffer);

    // The same holds through the Simplex domain.
    let simplex = Simplex::probability(60).unwrap();
    let mut a = DVector::from_column_slice(&inputs[1]);
    let mut b = a.clone();
    simplex.project_with_scratch(&mut a, &mut scratch).unwrap();
    simplex.project_in_place(&mut b).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.as_slice(), first[1].as_slice());
}

#[test]
fn ball_box_and_whole_space_values() {
    let ball = L2Ball::new(dvector![1.0, 1.0], 1.0).unwrap();
    let mut y = dvector![4.0, 5.0];
    ball.project_in_place(&mut y).unwrap();
    assert!((y - dvector![1.6, 1.8]).amax() < 1e-15);
    assert_eq!(ball.diameter(), 2.0);
    assert_eq!(ball.dim(), 2);

    // Far outside: ‖y − c‖² overflows, the projection must not collapse onto the center.
    let unit = L2Ball::centered(2, 1.0).unwrap();
    let mut far = dvector![3e200, -4e200];
    unit.project_in_place(&mut far).unwrap();
    assert!((far - dvector![0.6, -0.8]).amax() < 1e-15);
    let mut opposite = dvector![f64::MAX, -f64::MAX];
    unit.project_in_place(&mut opposite).unwrap();
    assert!((opposite - dvector![0.5f64.sqrt(), -(0.5f64.sqrt())]).amax() < 1e-15);

    // The zero ball is its center.
    let point = L2Ball::new(dvector![2.0, -1.0], 0.0).unwrap();
    let mut v = dvector![0.0, 0.0];
    point.project_in_place(&mut v).unwrap();
    assert_eq!(v, dvector![2.0, -1.0]);
    assert!(point.contains(&v, 0.0));

    let b = BoxDomain::new(
        dvector![0.0, f64::NEG_INFINITY, 1.0],
        dvector![1.0, 0.0, 1.0],
    )
    .unwrap();
    let mut y = dvector![2.0, -7.0, 0.0];
    b.project_in_place(&mut y).unwrap();
    assert_eq!(y, dvector![1.0, -7.0, 1.0]);
    assert!(b.diameter().is_infinite());
    let cube = BoxDomain::uniform(4, -1.0, 1.0).unwrap();
    assert!((cube.diameter() - 4.0).abs() < 1e-15);
    assert_eq!(cube.upper(), &DVector::from_element(4, 1.0));
    let huge = BoxDomain::uniform(2, -1e300, 1e300).unwrap();
    assert!((huge.diameter() / (2e300 * 2f64.sqrt()) - 1.0).abs() < 1e-15);

    let space = WholeSpace::new(3);
    assert_eq!(space.dim(), 3);
    assert!(space.diameter().is_infinite());
    assert!(!space.contains(&dvector![1.0, f64::NAN, 0.0], 0.0));

    let s = Simplex::new(3, 2.0).unwrap();
    assert!((s.diameter() - 2.0 * 2f64.sqrt()).abs() < 1e-15);
    assert_eq!(Simplex::new(1, 2.0).unwrap().diameter(), 0.0);
    assert_eq!(s.method(), SimplexMethod::Condat);
    assert_eq!(s.total(), 2.0);
    assert!(s.contains(&dvector![2.0, 0.0, 0.0], 0.0));
    assert!(!s.contains(&dvector![2.0, 0.1, -0.1 - 1e-9], 1e-12));
    assert!(!s.contains(&dvector![1.0, 0.5, 0.0], 1e-3));
    assert!(!s.contains(&dvector![2.0, 0.0], 1e-3));
}

#[test]
fn domains_work_as_trait_objects() {
    let domains: Vec<Box<dyn Domain>> = vec![
        Box::new(WholeSpace::new(3)),
        Box::new(L2Ball::centered(3, 1.0).unwrap()),
        Box::new(BoxDomain::uniform(3, 0.0, 0.5).unwrap()),
        Box::new(
            Simplex::probability(3)
                .unwrap()
                .with_method(SimplexMethod::Sort),
        ),
    ];
    let y = dvector![0.9, -0.2, 2.0];
    for d in &domains {
        let mut out = DVector::zeros(d.dim());
        d.project_into(&y, &mut out).unwrap();
        assert!(d.contains(&out, 1e-12));
        assert!(!d.contains(&DVector::zeros(2), 1e-12));
    }
}

#[test]
fn serde_round_trips_and_validates() {
    let ball = L2Ball::new(dvector![1.0, 2.0], 3.0).unwrap();
    let json = serde_json::to_string(&ball).unwrap();
    assert_eq!(serde_json::from_str::<L2Ball>(&json).unwrap(), ball);
    let b = BoxDomain::uniform(2, -1.0, 1.0).unwrap();
    assert_eq!(
        serde_json::from_str::<BoxDomain>(&serde_json::to_string(&b).unwrap()).unwrap(),
        b
    );
    let s = Simplex::new(4, 2.0)
        .unwrap()
        .with_method(SimplexMethod::Bisection);
    assert_eq!(
        serde_json::from_str::<Simplex>(&serde_json::to_string(&s).unwrap()).unwrap(),
        s
    );
    let w = WholeSpace::new(5);
    assert_eq!(
        serde_json::from_str::<WholeSpace>(&serde_json::to_string(&w).unwrap()).unwrap(),
        w
    );

    // Deserialization runs the constructors' checks.
    let bad_ball = json.replace("3.0", "-3.0");
    assert!(bad_ball.contains("-3.0"));
    let err = serde_json::from_str::<L2Ball>(&bad_ball)
        .unwrap_err()
        .to_string();
    assert!(err.contains("radius"), "{err}");
    assert!(serde_json::from_str::<Simplex>(r#"{"dim":0,"total":1.0,"method":"Sort"}"#).is_err());
    assert!(serde_json::from_str::<Simplex>(r#"{"dim":3,"total":-1.0,"method":"Sort"}"#).is_err());
    let defaulted = serde_json::from_str::<Simplex>(r#"{"dim":3,"total":1.0}"#).unwrap();
    assert_eq!(defaulted.method(), SimplexMethod::Condat);
    let b_json = serde_json::to_string(&b).unwrap().replace("-1.0", "5.0");
    assert!(serde_json::from_str::<BoxDomain>(&b_json).is_err());
}

// ---------------------------------------------------------------- errors

#[test]
fn constructors_reject_invalid_parameters() {
    for r in [-1.0, f64::NAN, f64::INFINITY] {
        let e = L2Ball::centered(2, r).unwrap_err();
        assert_eq!(invalid_name(&e), "radius");
        assert!(e.to_string().contains(">= 0"), "{e}");
    }
    assert!(matches!(
        L2Ball::new(dvector![0.0, f64::NAN], 1.0),
        Err(Error::NonFinite { index: 1, .. })
    ));

    // Crossed bounds describe an empty set: infeasible, naming the coordinate.
    let e = BoxDomain::new(dvector![0.0, 2.0], dvector![1.0, 1.0]).unwrap_err();
    assert!(matches!(e, Error::Infeasible { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "infeasible problem: the box is empty: lower[1] = 2 > upper[1] = 1; swap or widen the bounds"
    );
    assert!(matches!(
        BoxDomain::uniform(3, 1.0, 0.0),
        Err(Error::Infeasible { .. })
    ));
    assert_eq!(
        invalid_name(&BoxDomain::new(dvector![f64::NAN], dvector![1.0]).unwrap_err()),
        "lower[0]"
    );
    assert_eq!(
        invalid_name(&BoxDomain::new(dvector![0.0], dvector![f64::NAN]).unwrap_err()),
        "upper[0]"
    );
    assert_eq!(
        invalid_name(&BoxDomain::uniform(1, f64::INFINITY, f64::INFINITY).unwrap_err()),
        "lower[0]"
    );
    assert_eq!(
        invalid_name(&BoxDomain::uniform(1, f64::NEG_INFINITY, f64::NEG_INFINITY).unwrap_err()),
        "upper[0]"
    );
    assert!(matches!(
        BoxDomain::new(dvector![0.0, 0.0], dvector![1.0]),
        Err(Error::DimensionMismatch {
            expected: 2,
            got: 1,
            ..
        })
    ));

    assert_eq!(invalid_name(&Simplex::new(0, 1.0).unwrap_err()), "dim");
    assert_eq!(invalid_name(&Simplex::probability(0).unwrap_err()), "dim");
    for z in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert_eq!(invalid_name(&Simplex::new(3, z).unwrap_err()), "total");
    }
}

#[test]
fn simplex_functions_reject_bad_input_and_leave_it_unchanged() {
    for m in METHODS {
        let mut scratch = Vec::new();
        for z in [0.0, -2.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut y = [1.0, 2.0];
            let e = m.project(&mut y, z, &mut scratch).unwrap_err();
            assert_eq!(invalid_name(&e), "z", "{m:?}");
            assert_eq!(y, [1.0, 2.0]);
        }
        let mut empty: [f64; 0] = [];
        let e = m.project(&mut empty, 1.0, &mut scratch).unwrap_err();
        assert_eq!(invalid_name(&e), "dim");
        assert!(e.to_string().contains("at least 1"));
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut y = [1.0, bad, 0.0];
            let e = m.project(&mut y, 1.0, &mut scratch).unwrap_err();
            assert!(
                matches!(e, Error::NonFinite { index: 1, .. }),
                "{m:?}: {e:?}"
            );
            assert_eq!(y[0], 1.0);
        }
    }
    // The free functions directly.
    assert!(project_simplex_sort(&mut [1.0], 0.0, &mut Vec::new()).is_err());
    assert!(project_simplex_condat(&mut [f64::NAN], 1.0, &mut Vec::new()).is_err());
    assert!(project_simplex_bisection(&mut [], 1.0).is_err());
}

#[test]
fn projections_reject_wrong_lengths_and_non_finite_points() {
    let domains: Vec<Box<dyn Domain>> = vec![
        Box::new(WholeSpace::new(3)),
        Box::new(L2Ball::centered(3, 1.0).unwrap()),
        Box::new(BoxDomain::uniform(3, 0.0, 1.0).unwrap()),
        Box::new(Simplex::probability(3).unwrap()),
        Box::new(
            Simplex::probability(3)
                .unwrap()
                .with_method(SimplexMethod::Bisection),
        ),
    ];
    for d in &domains {
        let mut short = dvector![1.0, 2.0];
        assert!(matches!(
            d.project_in_place(&mut short),
            Err(Error::DimensionMismatch {
                expected: 3,
                got: 2,
                ..
            })
        ));
        for bad in [f64::NAN, f64::INFINITY] {
            let mut y = dvector![0.5, 0.5, bad];
            assert!(matches!(
                d.project_in_place(&mut y),
                Err(Error::NonFinite { index: 2, .. })
            ));
        }
        let mut out = DVector::zeros(4);
        assert!(matches!(
            d.project_into(&dvector![0.0, 0.0, 0.0], &mut out),
            Err(Error::DimensionMismatch { .. })
        ));
    }
    let simplex = Simplex::probability(3).unwrap();
    assert!(matches!(
        simplex.project_with_scratch(&mut dvector![1.0], &mut Vec::new()),
        Err(Error::DimensionMismatch {
            expected: 3,
            got: 1,
            ..
        })
    ));
}

// ------------------------------------------------ the simplex's rounding slack, made precise

/// Σ `xs` − `z`, faithfully rounded (within one unit in the last place of the exact
/// difference): Shewchuk's exact partials ("Adaptive precision floating-point arithmetic",
/// Discrete Comput. Geom. 18 (1997), the algorithm of Python's `math.fsum`). Independent of
/// the compensated sum the simplex code uses.
fn exact_excess(xs: &[f64], z: f64) -> f64 {
    let mut partials: Vec<f64> = Vec::new();
    for &v in xs.iter().chain(std::iter::once(&-z)) {
        let mut x = v;
        let mut kept = 0;
        for j in 0..partials.len() {
            let mut y = partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                partials[kept] = lo;
                kept += 1;
            }
            x = hi;
        }
        partials.truncate(kept);
        partials.push(x);
    }
    // Non-overlapping, increasing in magnitude: summing from the smallest is faithful.
    partials.iter().sum()
}

/// With zero tolerance, `contains` accepts a point whose exact sum is z or one ulp off, and
/// rejects one 4ε·z off whatever the dimension (the slack is 2ε·z to first order, not the
/// 2(d + 1)ε·z of a plain-sum test, which accepted this point at every d ≥ 1).
#[test]
fn simplex_contains_slack_is_two_eps_whatever_the_dimension() {
    for log_d in [0, 3, 10, 17] {
        let d = 1usize << log_d;
        for z in [1.0, 2f64.powi(-1000), 2f64.powi(1000)] {
            let simplex = Simplex::new(d, z).unwrap();
            // d equal shares z/d, exact for z and d powers of two.
            let share = z / d as f64;
            let mut x = DVector::from_element(d, share);
            assert_eq!(exact_excess(x.as_slice(), z), 0.0);
            assert!(simplex.contains(&x, 0.0), "d = {d}, z = {z:e}");
            // One ulp of z added to x₀ (an ulp of z is a multiple of the shares' ulp).
            let ulp = z * f64::EPSILON;
            x[0] = share + ulp;
            assert_eq!(exact_excess(x.as_slice(), z), ulp);
            assert!(simplex.contains(&x, 0.0), "+1 ulp, d = {d}, z = {z:e}");
            x[0] = share - ulp;
            assert!(simplex.contains(&x, 0.0), "−1 ulp, d = {d}, z = {z:e}");
            // Four ulps (4ε·z) either way: outside.
            x[0] = share + 4.0 * ulp;
            assert_eq!(exact_excess(x.as_slice(), z), 4.0 * ulp);
            assert!(!simplex.contains(&x, 0.0), "+4 ulps, d = {d}, z = {z:e}");
            x[0] = share - 4.0 * ulp;
            assert!(!simplex.contains(&x, 0.0), "−4 ulps, d = {d}, z = {z:e}");
            // The user's tolerance still widens it.
            assert!(simplex.contains(&x, 4.0 * f64::EPSILON));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Step 2 of the proof at `Simplex::contains` (source of `sum_slack`): the exact sum of
    /// every projection output that had to move is within 3u = 1.5ε of z relative, plus
    /// second-order and underflow terms, measured with an exact summation the library does
    /// not use. A plain sum in the final rescaling misses this by up to (d − 1)u.
    #[test]
    fn projected_points_sum_to_z_within_three_units_of_roundoff(
        y in proptest::collection::vec(any_magnitude(), 1..2000),
        z_mantissa in 0.01f64..10.0,
        z_exponent in -300i32..300,
    ) {
        let z = z_mantissa * 10f64.powi(z_exponent);
        let d = y.len();
        let y = DVector::from_vec(y);
        for method in METHODS {
            let simplex = Simplex::new(d, z).unwrap().with_method(method);
            prop_assume!(!simplex.contains(&y, 0.0));
            let mut x = y.clone();
            simplex.project_in_place(&mut x).unwrap();
            let excess = exact_excess(x.as_slice(), z);
            let d_eps = d as f64 * f64::EPSILON;
            let bound = (1.5 * f64::EPSILON + 2.0 * d_eps * d_eps) * z
                + (d + 1) as f64 * f64::from_bits(1);
            prop_assert!(excess.abs() <= bound, "{method:?}, d = {d}, z = {z:e}: {excess:e} > {bound:e}");
            prop_assert!(simplex.contains(&x, 0.0));
        }
    }
}
