//! lisse-subset: sampler throughput (rankings/s) and solver times.
//!
//! Run: `cargo bench -p lisse-benches --bench subset`. Instances: impartial-culture rankings
//! (seeded); approval instances are t-approval (each voter approves its top t), at the issue's
//! size m = 50, n = 100, k = 10, with t = 10 (dense: a committee covers nearly everyone) and
//! t = 2 (sparse). The peer comparison with abcvoting is `benches/subset_abcvoting.py`.
//! Results are in `docs/performance.md`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lisse_core::RngStreams;
use lisse_subset::bias::SwapBias;
use lisse_subset::culture::{Culture, ImpartialCulture, Mallows};
use lisse_subset::{CommitteeScoringRule, Constraints, Groups, Profile, solver};

fn ic(m: usize, n: usize, seed: u64) -> Profile {
    ImpartialCulture
        .sample(m, n, &mut RngStreams::new(seed).stream(0))
        .unwrap()
}

fn bench_samplers(c: &mut Criterion) {
    let mut g = c.benchmark_group("subset_sampling");
    let (m, n) = (50, 1000);
    g.throughput(Throughput::Elements(n as u64));
    let mallows = Mallows::normalized(0.5).unwrap();
    let mut rng = RngStreams::new(1).stream(0);
    g.bench_function("mallows_m50_1000_rankings", |b| {
        b.iter(|| mallows.sample(black_box(m), n, &mut rng).unwrap());
    });
    let latent = mallows.sample(m, n, &mut rng).unwrap();
    let groups = Groups::random_split(m, m / 2, &mut rng).unwrap();
    let bias = SwapBias::new(0.5, 0.5).unwrap();
    g.bench_function("swap_bias_m50_1000_rankings", |b| {
        b.iter(|| {
            bias.apply(black_box(&latent), &groups, 0, &mut rng)
                .unwrap()
        });
    });
    g.finish();
}

fn bench_solvers(c: &mut Criterion) {
    let mut g = c.benchmark_group("subset_solvers");
    g.sample_size(10);
    let (m, n, k) = (50, 100, 10);
    let p = ic(m, n, 7);
    let free = Constraints::cardinality(k);
    let groups = Groups::partition(&(0..m).map(|c| c % 2).collect::<Vec<_>>()).unwrap();
    let fair = Constraints::exact_two_groups(k, groups, 5).unwrap();
    for (label, rule) in [
        ("approval_cc_t2", CommitteeScoringRule::approval_cc(2)),
        ("approval_cc_t10", CommitteeScoringRule::approval_cc(10)),
        ("pav_t2", CommitteeScoringRule::pav(2)),
        ("pav_t10", CommitteeScoringRule::pav(10)),
    ] {
        let f = rule.instantiate(&p, k).unwrap();
        g.bench_function(format!("ilp_{label}_m50_n100_k10"), |b| {
            b.iter(|| solver::ilp(black_box(&f), &free).unwrap());
        });
        g.bench_function(format!("greedy_{label}_m50_n100_k10"), |b| {
            b.iter(|| solver::greedy(black_box(&f), &free).unwrap());
        });
    }
    let f = CommitteeScoringRule::approval_cc(2)
        .instantiate(&p, k)
        .unwrap();
    g.bench_function("ilp_approval_cc_t2_fair_l5", |b| {
        b.iter(|| solver::ilp(black_box(&f), &fair).unwrap());
    });
    // Borda-CC on a concentrated (Mallows) profile: where branch-and-bound can beat the ILP.
    let mallows = Mallows::normalized(0.3)
        .unwrap()
        .sample(20, 50, &mut RngStreams::new(3).stream(0))
        .unwrap();
    let bcc = CommitteeScoringRule::borda_cc()
        .instantiate(&mallows, 4)
        .unwrap();
    let c4 = Constraints::cardinality(4);
    g.bench_function("bnb_borda_cc_mallows_m20_n50_k4", |b| {
        b.iter(|| solver::branch_and_bound(black_box(&bcc), &c4).unwrap());
    });
    g.bench_function("ilp_borda_cc_mallows_m20_n50_k4", |b| {
        b.iter(|| solver::ilp(black_box(&bcc), &c4).unwrap());
    });
    let big = ic(1000, 100, 9);
    let borda = CommitteeScoringRule::k_borda()
        .instantiate(&big, 100)
        .unwrap();
    let groups = Groups::partition(&(0..1000).map(|c| c % 4).collect::<Vec<_>>()).unwrap();
    let bounds = Constraints::proportional_to_sizes(100, groups).unwrap();
    g.bench_function("separable_borda_m1000_n100_k100_4groups", |b| {
        b.iter(|| solver::separable(black_box(&borda), &bounds).unwrap());
    });
    g.finish();
}

criterion_group!(benches, bench_samplers, bench_solvers);
criterion_main!(benches);
