//! Solvers against brute force on random small instances.

use lisse_core::{Error, RngStreams};
use lisse_subset::culture::{Culture, ImpartialCulture, Mallows};
use lisse_subset::rule::PositionScores;
use lisse_subset::{
    CommitteeScoringRule, Constraints, Groups, Monroe, Profile, ScoreFunction, solver,
};
use proptest::prelude::*;

fn rules() -> Vec<CommitteeScoringRule> {
    vec![
        CommitteeScoringRule::sntv(),
        CommitteeScoringRule::bloc(2),
        CommitteeScoringRule::k_borda(),
        CommitteeScoringRule::borda_cc(),
        CommitteeScoringRule::approval_cc(2),
        CommitteeScoringRule::harmonic_borda(),
        CommitteeScoringRule::pav(3),
        CommitteeScoringRule::geometric(2, PositionScores::Borda),
    ]
}

fn profile(seed: u64, m: usize, n: usize, concentrated: bool) -> Profile {
    let rng = &mut RngStreams::new(seed).stream(0);
    if concentrated {
        Mallows::new(0.4).unwrap().sample(m, n, rng).unwrap()
    } else {
        ImpartialCulture.sample(m, n, rng).unwrap()
    }
}

/// Random bounds around a random partition; may be infeasible.
fn constraints(seed: u64, m: usize, k: usize, n_groups: usize) -> Constraints {
    use rand::RngExt;
    let rng = &mut RngStreams::new(seed).stream(1);
    if n_groups == 0 {
        return Constraints::cardinality(k);
    }
    let mut labels: Vec<usize> = (0..m).map(|c| c % n_groups).collect();
    for i in (1..m).rev() {
        labels.swap(i, rng.random_range(0..=i));
    }
    let groups = Groups::partition(&labels).unwrap();
    let lower: Vec<usize> = (0..n_groups)
        .map(|_| rng.random_range(0..=k.div_ceil(n_groups)))
        .collect();
    let upper: Vec<usize> = lower.iter().map(|&l| l + rng.random_range(0..=k)).collect();
    Constraints::new(k, groups, lower, upper).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn exact_solvers_find_the_optimum_and_greedy_meets_its_guarantee(
        seed in 0u64..1_000_000, m in 4usize..=8, n in 1usize..=7, kk in 0usize..8,
        n_groups in 0usize..=3, concentrated: bool, rule_i in 0usize..8,
    ) {
        let k = 1 + kk % (m - 1);
        let p = profile(seed, m, n, concentrated);
        let rule = &rules()[rule_i];
        let f = rule.instantiate(&p, k).unwrap();
        let c = constraints(seed, m, k, n_groups);
        let Ok(opt) = solver::brute_force(&f, &c) else {
            // Infeasible: every solver says so with a typed error.
            let infeasible = |e: Result<_, Error>| matches!(e, Err(Error::Infeasible { .. }));
            prop_assert!(infeasible(c.check_feasible()), "brute force failed but bounds pass");
            prop_assert!(infeasible(solver::ilp(&f, &c).map(|_| ())), "ILP");
            prop_assert!(infeasible(solver::greedy(&f, &c).map(|_| ())), "greedy");
            return Ok(());
        };
        prop_assert!(c.is_satisfied(&opt.committee));
        let ilp = solver::ilp(&f, &c).unwrap();
        prop_assert!(c.is_satisfied(&ilp.committee));
        prop_assert_eq!(ilp.score, opt.score, "ILP, {}", rule.name());
        let bb = solver::branch_and_bound(&f, &c).unwrap();
        prop_assert!(c.is_satisfied(&bb.committee));
        prop_assert_eq!(bb.score, opt.score, "B&B, {}", rule.name());
        if f.is_separable() {
            let sep = solver::separable(&f, &c).unwrap();
            prop_assert!(c.is_satisfied(&sep.committee));
            prop_assert_eq!(sep.score, opt.score);
        } else {
            prop_assert!(solver::separable(&f, &c).is_err());
        }
        let g = solver::greedy(&f, &c).unwrap();
        prop_assert!(c.is_satisfied(&g.committee));
        let ratio = if n_groups == 0 { 1.0 - (-1.0f64).exp() } else { 0.5 };
        prop_assert!(g.score.numerator as f64 >= ratio * opt.score.numerator as f64 - 1e-9,
            "greedy {} < {ratio}·{}", g.score.value(), opt.score.value());
        prop_assert_eq!(f.score(&g.committee).unwrap(), g.score);
        // Every optimum, by brute force and by ILP no-good cuts.
        let all = solver::all_optimal(&f, &c).unwrap();
        prop_assert!(all.iter().all(|s| s.score == opt.score && c.is_satisfied(&s.committee)));
        prop_assert_eq!(&all[0].committee, &opt.committee); // lexicographically smallest
        if all.len() <= 6 {
            let via_ilp = solver::all_optimal_ilp(&f, &c, 50).unwrap();
            prop_assert_eq!(via_ilp, all);
        }
    }

    #[test]
    fn monroe_ilp_matches_brute_force(seed in 0u64..1_000_000, m in 3usize..=6, n in 1usize..=6,
                                      kk in 0usize..5, grouped: bool) {
        let k = 1 + kk % (m - 1);
        let p = profile(seed, m, n, false);
        let f = Monroe::new(PositionScores::Borda).instantiate(&p, k).unwrap();
        let c = constraints(seed, m, k, if grouped { 2 } else { 0 });
        match solver::brute_force(&f, &c) {
            Ok(opt) => {
                let ilp = solver::ilp_monroe(&f, &c).unwrap();
                prop_assert!(c.is_satisfied(&ilp.committee));
                prop_assert_eq!(ilp.score, opt.score);
            }
            Err(_) => prop_assert!(solver::ilp_monroe(&f, &c).is_err()),
        }
    }

    #[test]
    fn merging_identical_rankings_keeps_every_score(seed in 0u64..1_000_000, m in 3usize..=7) {
        let p = profile(seed, m, 12, true);
        let merged = p.merge_identical();
        for rule in rules() {
            let (f, g) = (rule.instantiate(&p, 2).unwrap(), rule.instantiate(&merged, 2).unwrap());
            prop_assert_eq!(f.scaled_value(&[0, 2]), g.scaled_value(&[0, 2]));
        }
        let (f, g) = (Monroe::new(PositionScores::Borda).instantiate(&p, 2).unwrap(),
                      Monroe::new(PositionScores::Borda).instantiate(&merged, 2).unwrap());
        prop_assert_eq!(f.scaled_value(&[0, 1]), g.scaled_value(&[0, 1]));
    }
}

#[test]
fn overlapping_groups_ilp_matches_brute_force() {
    let p = profile(11, 7, 6, false);
    let groups =
        Groups::overlapping(7, vec![vec![0, 1, 2, 3], vec![2, 3, 4], vec![5, 6, 0]]).unwrap();
    let c = Constraints::new(3, groups.clone(), vec![1, 2, 1], vec![2, 2, 1]).unwrap();
    for rule in rules() {
        let f = rule.instantiate(&p, 3).unwrap();
        let opt = solver::brute_force(&f, &c).unwrap();
        assert_eq!(
            solver::ilp(&f, &c).unwrap().score,
            opt.score,
            "{}",
            rule.name()
        );
        // Greedy and separable refuse overlapping groups with a pointer to the ILP.
        let e = solver::greedy(&f, &c).unwrap_err().to_string();
        assert!(e.contains("solver::ilp"), "{e}");
    }
    // Feasible per group, infeasible jointly: the ILP proves it.
    let c = Constraints::new(2, groups, vec![0, 2, 1], vec![0, 2, 1]).unwrap();
    let f = CommitteeScoringRule::k_borda().instantiate(&p, 2).unwrap();
    assert!(matches!(solver::ilp(&f, &c), Err(Error::Infeasible { .. })));
}

#[test]
fn clear_errors_for_bad_sizes_and_bounds() {
    let p = profile(1, 5, 4, false);
    let e = CommitteeScoringRule::k_borda()
        .instantiate(&p, 6)
        .unwrap_err()
        .to_string();
    assert!(e.contains("k = 6") && e.contains("m = 5"), "{e}");
    let f = CommitteeScoringRule::k_borda().instantiate(&p, 3).unwrap();
    let groups = Groups::partition(&[0, 0, 0, 1, 1]).unwrap();
    let cases = [
        (
            vec![3, 0],
            vec![2, 3],
            "lower bound 3 of group G1 exceeds its upper bound 2",
        ),
        (
            vec![0, 3],
            vec![3, 3],
            "lower bound 3 of group G2 exceeds its 2 items",
        ),
        (
            vec![2, 2],
            vec![3, 3],
            "the lower bounds add up to 4 > k = 3",
        ),
        (
            vec![0, 0],
            vec![1, 1],
            "the upper bounds admit at most 2 items",
        ),
    ];
    for (lower, upper, msg) in cases {
        let c = Constraints::new(3, groups.clone(), lower, upper).unwrap();
        for e in [
            solver::separable(&f, &c).unwrap_err(),
            solver::greedy(&f, &c).unwrap_err(),
            solver::ilp(&f, &c).unwrap_err(),
            solver::brute_force(&f, &c).unwrap_err(),
        ] {
            assert!(e.to_string().contains(msg), "{e} lacks {msg}");
        }
    }
    assert!(solver::greedy(&f, &Constraints::cardinality(2)).is_err()); // k mismatch
    let big = profile(1, 60, 2, false);
    let f = CommitteeScoringRule::k_borda()
        .instantiate(&big, 30)
        .unwrap();
    assert!(solver::brute_force(&f, &Constraints::cardinality(30)).is_err());
}

#[test]
fn greedy_is_exactly_the_plain_greedy_with_smallest_id_ties() {
    // Plain greedy by recomputing F each step.
    for seed in 0..20 {
        let p = profile(seed, 9, 7, seed % 2 == 0);
        for rule in rules() {
            let f = rule.instantiate(&p, 4).unwrap();
            let mut s: Vec<u32> = Vec::new();
            for _ in 0..4 {
                let base = f.scaled_value(&s);
                let best = (0..9u32)
                    .filter(|c| !s.contains(c))
                    .max_by(|&a, &b| {
                        let ga = f.scaled_value(&[s.clone(), vec![a]].concat()) - base;
                        let gb = f.scaled_value(&[s.clone(), vec![b]].concat()) - base;
                        ga.cmp(&gb).then(b.cmp(&a))
                    })
                    .unwrap();
                s.push(best);
            }
            s.sort_unstable();
            assert_eq!(
                solver::greedy(&f, &Constraints::cardinality(4))
                    .unwrap()
                    .committee,
                s
            );
        }
    }
}

#[test]
fn proportional_bounds_round_down_and_up() {
    let groups = Groups::partition(&[0, 0, 0, 1, 1, 2, 2, 2, 2, 2]).unwrap();
    let c = Constraints::proportional_to_sizes(4, groups.clone()).unwrap();
    // Shares 0.3, 0.2, 0.5 of k = 4: 1.2, 0.8, 2.
    assert_eq!(c.lower(), &[1, 0, 2]);
    assert_eq!(c.upper(), &[2, 1, 2]);
    assert!(c.check_feasible().is_ok());
    assert!(Constraints::proportional(4, groups.clone(), &[0.5, 1.5, 0.0]).is_err());
    assert!(Constraints::proportional(4, groups, &[0.5]).is_err());
    let p = profile(3, 10, 8, true);
    let f = CommitteeScoringRule::harmonic_borda()
        .instantiate(&p, 4)
        .unwrap();
    let s = solver::ilp(&f, &c).unwrap();
    assert!(c.is_satisfied(&s.committee));
    assert_eq!(s.score, solver::brute_force(&f, &c).unwrap().score);
}
