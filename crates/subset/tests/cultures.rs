//! Samplers against their exact distributions.

use lisse_core::RngStreams;
use lisse_subset::Profile;
use lisse_subset::culture::{
    Culture, ImpartialCulture, Mallows, PlackettLuce, SinglePeakedConitzer, SinglePeakedWalsh, Urn,
    expected_kendall_tau, kendall_tau, mallows_probability,
};
use lisse_subset::solver::permutations;

/// Upper 0.001 quantile of the chi-square distribution with 23 degrees of freedom.
const CHI2_23_999: f64 = 49.728;
/// … with 7 degrees of freedom.
const CHI2_7_999: f64 = 24.322;

/// Pearson's statistic of the profile's orders against `prob` over all orders of 0..m.
fn chi_square(p: &Profile, orders: &[Vec<u32>], prob: impl Fn(&[u32]) -> f64) -> f64 {
    let n = p.n_rankings() as f64;
    let mut counts = std::collections::HashMap::new();
    for o in p.orders() {
        *counts.entry(o.to_vec()).or_insert(0usize) += 1;
    }
    orders
        .iter()
        .map(|o| {
            let e = n * prob(o);
            let c = counts.get(o).copied().unwrap_or(0) as f64;
            (c - e).powi(2) / e
        })
        .sum()
}

/// Mallows at m = 4 against P(σ) = φ^KT / Z: a chi-square goodness-of-fit test at a fixed seed,
/// significance level 0.001 (23 degrees of freedom), 48,000 draws (≥ 200 expected per cell).
#[test]
fn mallows_matches_its_exact_distribution_at_m4() {
    let center = vec![2, 0, 3, 1];
    let all = permutations(4);
    for (i, phi) in [0.5, 0.8].into_iter().enumerate() {
        let model = Mallows::new(phi)
            .unwrap()
            .with_center(center.clone())
            .unwrap();
        let p = model
            .sample(4, 48_000, &mut RngStreams::new(2023).stream(i as u64))
            .unwrap();
        let stat = chi_square(&p, &all, |o| mallows_probability(o, &center, phi));
        assert!(stat < CHI2_23_999, "φ = {phi}: χ² = {stat}");
        // A wrong sampler (insertion weights φ^i instead of φ^(j−i)) is the reversed model:
        let wrong = chi_square(&p, &all, |o| mallows_probability(o, &[1, 3, 0, 2], phi));
        assert!(wrong > 10.0 * CHI2_23_999);
    }
}

#[test]
fn normalized_mallows_hits_the_target_mean_distance() {
    let (m, r) = (10, 0.5);
    let p = Mallows::normalized(r)
        .unwrap()
        .sample(m, 4000, &mut RngStreams::new(7).stream(0))
        .unwrap();
    let id: Vec<u32> = (0..m as u32).collect();
    let d: Vec<f64> = p.orders().map(|o| kendall_tau(o, &id) as f64).collect();
    let mean = d.iter().sum::<f64>() / d.len() as f64;
    let sd = (d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (d.len() - 1) as f64).sqrt();
    let target = r * (m * (m - 1)) as f64 / 4.0;
    assert!(
        (mean - target).abs() < 4.0 * sd / (d.len() as f64).sqrt(),
        "{mean} vs {target}"
    );
    let phi = Mallows::normalized(r).unwrap().phi(m);
    assert!((expected_kendall_tau(m, phi) - target).abs() < 1e-9);
}

#[test]
fn plackett_luce_and_impartial_culture_match_their_distributions() {
    let all = permutations(4);
    let pl = PlackettLuce::new(vec![1.0, 4.0, 2.0, 3.0]).unwrap();
    let p = pl
        .sample(4, 40_000, &mut RngStreams::new(5).stream(0))
        .unwrap();
    let stat = chi_square(&p, &all, |o| pl.probability(o));
    assert!(stat < CHI2_23_999, "PL χ² = {stat}");
    let p = ImpartialCulture
        .sample(4, 24_000, &mut RngStreams::new(5).stream(1))
        .unwrap();
    assert!(chi_square(&p, &all, |_| 1.0 / 24.0) < CHI2_23_999);
    // α = 0 urn is impartial culture.
    let p = Urn::new(0.0)
        .unwrap()
        .sample(4, 24_000, &mut RngStreams::new(5).stream(2))
        .unwrap();
    assert!(chi_square(&p, &all, |_| 1.0 / 24.0) < CHI2_23_999);
}

fn is_single_peaked(o: &[u32]) -> bool {
    (1..=o.len()).all(|t| {
        let (lo, hi) = (o[..t].iter().min().unwrap(), o[..t].iter().max().unwrap());
        (hi - lo + 1) as usize == t
    })
}

#[test]
fn single_peaked_models() {
    let all: Vec<Vec<u32>> = permutations(4)
        .into_iter()
        .filter(|o| is_single_peaked(o))
        .collect();
    assert_eq!(all.len(), 8); // 2^(m−1)
    let p = SinglePeakedWalsh
        .sample(4, 16_000, &mut RngStreams::new(6).stream(0))
        .unwrap();
    assert!(p.orders().all(is_single_peaked));
    assert!(chi_square(&p, &all, |_| 1.0 / 8.0) < CHI2_7_999);
    // Conitzer: the peak is uniform; P(order) = (1/m)·(½)^(number of two-sided choices).
    let p = SinglePeakedConitzer
        .sample(4, 16_000, &mut RngStreams::new(6).stream(1))
        .unwrap();
    assert!(p.orders().all(is_single_peaked));
    let conitzer = |o: &[u32]| {
        let (mut l, mut r) = (o[0], o[0]);
        let mut prob = 0.25;
        for &c in &o[1..] {
            if l > 0 && r < 3 {
                prob *= 0.5;
            }
            if c < l { l = c } else { r = c }
        }
        prob
    };
    assert!((all.iter().map(|o| conitzer(o)).sum::<f64>() - 1.0).abs() < 1e-12);
    assert!(chi_square(&p, &all, conitzer) < CHI2_7_999);
}

#[test]
fn urn_copies_grow_with_alpha_and_seeds_reproduce() {
    let a = Urn::new(1.0)
        .unwrap()
        .sample(8, 200, &mut RngStreams::new(3).stream(0))
        .unwrap();
    let b = Urn::new(1.0)
        .unwrap()
        .sample(8, 200, &mut RngStreams::new(3).stream(0))
        .unwrap();
    assert_eq!(a, b);
    // With α = 1 the j-th ranking is fresh with probability 1/(1 + j): about H_200 ≈ 5.9 fresh.
    assert!(a.merge_identical().n_rankings() < 20);
}

#[test]
fn euclidean_1d_is_single_crossing_and_utility_bias_lowers_group_two() {
    use lisse_subset::Groups;
    use lisse_subset::bias::UtilityBias;
    use lisse_subset::culture::{Euclidean, LatentUtility};
    // In one dimension the farthest candidate from any voter is one of the two extreme
    // candidates on the line, so at most two distinct items are ever ranked last (under
    // impartial culture all m would be).
    let p = Euclidean::new(1)
        .unwrap()
        .sample(7, 200, &mut RngStreams::new(9).stream(0))
        .unwrap();
    let mut last: Vec<u32> = p.orders().map(|o| o[6]).collect();
    last.sort_unstable();
    last.dedup();
    assert!(last.len() <= 2, "{last:?}");
    let p2 = Euclidean::new(2)
        .unwrap()
        .sample(7, 400, &mut RngStreams::new(9).stream(1))
        .unwrap();
    assert!(
        p2.orders()
            .map(|o| o[0])
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            > 2
    );
    // Utility bias: with θ < 1 the disadvantaged group's mean position gets worse, and the
    // latent profile is the same as without bias (the noise is shared).
    let model = LatentUtility::random(0.3).unwrap();
    let groups = Groups::partition(&[0, 1, 0, 1, 0, 1, 0, 1]).unwrap();
    let mean_pos = |q: &Profile, g: usize| {
        let mut s = 0.0;
        for v in 0..q.n_rankings() {
            for &c in groups.members(g) {
                s += q.position(v, c) as f64;
            }
        }
        s / (q.n_rankings() * groups.members(g).len()) as f64
    };
    let (latent, biased) = UtilityBias::new(0.5)
        .unwrap()
        .sample_pair(
            &model,
            8,
            400,
            &groups,
            1,
            &mut RngStreams::new(4).stream(0),
        )
        .unwrap();
    assert!(mean_pos(&biased, 1) > mean_pos(&latent, 1) + 0.5);
    let (latent1, biased1) = UtilityBias::new(1.0)
        .unwrap()
        .sample_pair(&model, 8, 50, &groups, 1, &mut RngStreams::new(4).stream(1))
        .unwrap();
    assert_eq!(latent1, biased1);
    assert!(UtilityBias::new(0.0).is_err());
}
