//! LVM-RS: the Lipschitz-variance-margin certificate of Delattre, Araujo, Barthélemy,
//! Allauzen, "The Lipschitz-Variance-Margin Tradeoff for Enhanced Randomized Smoothing"
//! (ICLR 2024, arXiv 2309.16883).
//!
//! Instead of hard votes, the base classifier's logits go through a simplex map
//! ([`MapConfig`]: softmax or sparsemax with a temperature, or argmax); the smoothed classifier
//! is the mean probability vector `G(x) = E[map(t·f(x+ε))]`. With per-class empirical Bernstein
//! bounds (Maurer & Pontil, Thm 4) `G̲_A ≤ G_A` and `Ḡ_B ≥ max_{c≠A} G_c`:
//!
//! - `R_multi = σ/2·(Φ⁻¹(G̲_A) − Φ⁻¹(Ḡ_B))`, valid for any \[0, 1\]-valued soft classifier because
//!   `σ·Φ⁻¹(G_c(x))` is 1-Lipschitz (Salman et al. 2019, Lemma 2);
//! - `R_lip = σ·sqrt(π/2)·(G̲_A − Ḡ_B)`, the margin over the Lipschitz constant `sqrt(2/π)/σ`
//!   of Gaussian smoothing times √2. Since Φ⁻¹ has slope ≥ √(2π), `R_multi ≥ R_lip` always;
//!   both are reported.
//!
//! Hard votes ([`SimplexMap::Argmax`]) use Clopper–Pearson bounds instead of Bernstein.
//!
//! # Valid choice among configurations
//! The public code (`core_lvmrs.py::certify_ours`) computes a certificate for about 205
//! configurations on the *same* samples and reports the largest radius, with per-class bounds at
//! δ = α/K. That is not a (1 − α) certificate: the maximum over M certificates fails whenever
//! any one fails, which can happen with probability up to M times the per-certificate level;
//! and since c_A is chosen from the same samples, each configuration needs a lower *and* an upper
//! bound for every class (2K events, not K). Two valid alternatives are offered
//! ([`ConfigSelection`]):
//!
//! - **Union bound** (default): every configuration's 2K one-sided bounds at
//!   δ = α/(2·K·M), so all hold at once with probability ≥ 1 − α and the best configuration may
//!   be reported.
//! - **Held-out selection**: n_h separate noise samples choose the configuration and the class;
//!   the n estimation samples then certify only that one, with K bounds at δ = α/K.
//!
//! The per-class variance is the unbiased variance of all n samples (merged across batches with
//! Chan's update), the statistic Maurer–Pontil's theorem is stated for; the public code averages
//! per-batch variances instead.

mod certify;
mod simplex;

pub use certify::{
    ConfigSelection, LvmCertificate, LvmParams, certify_lvm, certify_lvm_all, r_lip, r_multi,
};
pub use simplex::{MapConfig, SimplexMap};
