//! Exact standard-normal sampling at a few nanoseconds per number: Marsaglia & Tsang's ziggurat
//! on four interleaved xoshiro256++ generators.
//!
//! # The algorithm
//! Marsaglia & Tsang, "The Ziggurat Method for Generating Random Variables", J. Stat. Softw.
//! 5(8), 2000, §2–3, with 256 layers, as refined by Doornik, "An Improved Ziggurat Method to
//! Generate Normal Random Samples", 2005 (one 64-bit word gives both the layer index and the
//! abscissa). The half-density f(x) = exp(−x²/2) is covered by 256 layers of equal area v: the
//! base layer `[0, x₀) × [0, f(r))` (its part beyond r stands for the tail) and 255 rectangles
//! `[0, xᵢ) × [f(xᵢ), f(xᵢ₊₁))`, with x₁ = r = 3.654152885361009,
//! v = r·f(r) + ∫_r^∞ f, x₀ = v/f(r), `xᵢ₊₁ = sqrt(−2 ln(v/xᵢ + f(xᵢ)))` and x₂₅₆ = 0 (eq. (2)–(3)
//! of the paper). A draw takes one 64-bit word w: layer i = the low 8 bits, u ∈ [−1, 1) from the
//! top 52 bits, x = u·xᵢ.
//!
//! * **Fast path** (98.8 % of draws): |x| < xᵢ₊₁, so the point lies under the curve whatever its
//!   height in layer i: return x.
//! * **Slow path**: layer 0 returns a tail sample ±(r + a) by Marsaglia's method (a = −ln U₁/r,
//!   b = −ln U₂, until 2b > a²); layer i ≥ 1 draws the height y uniformly in
//!   `[f(xᵢ), f(xᵢ₊₁))` and returns x when y < f(x); otherwise the draw is *restarted* from
//!   scratch.
//!
//! The output is the law of the first accepted draw of an i.i.d. sequence of draws, which is
//! N(0, 1) exactly (up to the 2⁻⁵¹ grid of u and the rounding of the tables, both at the level
//! of double precision). Slow paths (the height, the tail and restarts) take their words from a
//! separate *fallback* generator: draws stay i.i.d. whatever generator feeds them, so the law is
//! unchanged, and the fast path stays a straight-line loop.
//!
//! # The generators
//! xoshiro256++ (Blackman & Vigna, "Scrambled linear pseudorandom number generators", ACM TOMS
//! 47(4), 2021, Fig. 1), four independent instances stepped together (struct of arrays), so the
//! CPU overlaps their dependency chains and LLVM vectorizes the step; word t of the sequence is
//! output ⌊t/4⌋ of lane t mod 4. Each lane and the fallback are seeded with 256 independent bits
//! from the caller's generator (in this crate, a batch's ChaCha8 stream). The sequence of
//! normals does not depend on how it is split into [`NormalSampler::fill`] calls.

// `inline(always)` on the hot loop: it must be inlined into pulp's dispatch, which compiles it
// with the CPU's instruction sets enabled.
#![allow(clippy::inline_always)]

use std::f64::consts::{FRAC_PI_2, SQRT_2};
use std::sync::OnceLock;

use rand::Rng;

/// Interleaved xoshiro256++ generators.
pub const LANES: usize = 4;
const LAYERS: usize = 256;
/// r for 256 layers (Marsaglia & Tsang 2000, §3).
const R: f64 = 3.654_152_885_361_009;

/// The ziggurat's abscissas xᵢ (257 entries, x₂₅₆ = 0) and ordinates f(xᵢ).
#[derive(Debug)]
struct Tables {
    x: [f64; LAYERS + 1],
    f: [f64; LAYERS + 1],
}

/// exp(−x²/2).
fn half_density(x: f64) -> f64 {
    (-0.5 * x * x).exp()
}

/// The common area of the layers: r·f(r) plus the tail mass ∫_r^∞ exp(−t²/2) dt.
fn layer_area() -> f64 {
    R * half_density(R) + FRAC_PI_2.sqrt() * libm::erfc(R / SQRT_2)
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let v = layer_area();
        let mut x = [0.0; LAYERS + 1];
        x[0] = v / half_density(R);
        x[1] = R;
        for i in 1..LAYERS - 1 {
            x[i + 1] = (-2.0 * (v / x[i] + half_density(x[i])).ln()).sqrt();
        }
        x[LAYERS] = 0.0;
        let mut f = [0.0; LAYERS + 1];
        for (fi, &xi) in f.iter_mut().zip(&x) {
            *fi = half_density(xi);
        }
        f[0] = 0.0; // the base layer's floor
        Tables { x, f }
    })
}

/// The xoshiro256++ step of one lane (Blackman & Vigna 2021, Fig. 1).
#[inline(always)]
fn xoshiro_step(s: &mut [u64; 4]) -> u64 {
    let out = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
    let t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s[3].rotate_left(45);
    out
}

/// A xoshiro256++ state from 256 bits of `rng` (an all-zero state, probability 2⁻²⁵⁶, is
/// replaced by a fixed non-zero one: it is the generator's only fixed point).
fn seed_state<R: Rng + ?Sized>(rng: &mut R) -> [u64; 4] {
    let s = [
        rng.next_u64(),
        rng.next_u64(),
        rng.next_u64(),
        rng.next_u64(),
    ];
    if s == [0; 4] {
        [
            0x9E37_79B9_7F4A_7C15,
            0xBF58_476D_1CE4_E5B9,
            0x94D0_49BB_1331_11EB,
            1,
        ]
    } else {
        s
    }
}

/// A uniform number in (0, 1) from the top 53 bits of a word.
#[inline]
fn open01(w: u64) -> f64 {
    ((w >> 11) as f64 + 0.5) * (1.0 / (1_u64 << 53) as f64)
}

/// Exact N(0, 1) numbers from four interleaved xoshiro256++ generators and a fallback one (see
/// the module docs).
///
/// ```
/// use lisse_smoothing::ziggurat::NormalSampler;
/// use rand::SeedableRng;
/// let mut seed = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(1);
/// let mut z = vec![0.0; 100_000];
/// NormalSampler::from_rng(&mut seed).fill(&mut z);
/// let mean = z.iter().sum::<f64>() / 1e5;
/// let var = z.iter().map(|v| v * v).sum::<f64>() / 1e5;
/// assert!(mean.abs() < 0.02 && (var - 1.0).abs() < 0.03);
/// ```
#[derive(Debug, Clone)]
pub struct NormalSampler {
    /// `lanes[w][l]`: word w of lane l's state (struct of arrays, so the step vectorizes).
    lanes: [[u64; LANES]; 4],
    fallback: [u64; 4],
    /// Words of the last step not yet used, from `pending_at` on.
    pending: [u64; LANES],
    pending_at: usize,
}

impl NormalSampler {
    /// A sampler seeded with 5 × 256 bits of `rng` (lanes 0–3, then the fallback).
    pub fn from_rng<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let mut lanes = [[0; LANES]; 4];
        for l in 0..LANES {
            let s = seed_state(rng);
            for (word, &v) in lanes.iter_mut().zip(&s) {
                word[l] = v;
            }
        }
        Self {
            lanes,
            fallback: seed_state(rng),
            pending: [0; LANES],
            pending_at: LANES,
        }
    }

    /// Fills `out` with independent N(0, 1) numbers. Filling n numbers in one call or in
    /// several gives the same numbers.
    pub fn fill(&mut self, out: &mut [f64]) {
        self.fill_then(out, |_| ());
    }

    /// [`Self::fill`], then `then(out)`, both compiled for the best instruction set of this CPU
    /// (AVX2 steps the four lanes in one register; integer and exact float operations only, so
    /// every instruction set gives the same numbers).
    #[inline(always)]
    pub(crate) fn fill_then<F: FnOnce(&mut [f64])>(&mut self, out: &mut [f64], then: F) {
        #[cfg(target_arch = "x86_64")]
        if let Some(simd) = pulp::x86::V3::try_new() {
            return simd.vectorize(
                #[inline(always)]
                || {
                    self.fill_with(
                        out,
                        #[inline(always)]
                        |lanes| step_v3(simd, lanes),
                    );
                    then(out);
                },
            );
        }
        self.fill_with(out, step);
        then(out);
    }

    /// [`Self::fill`] with the given lane step, inlined into the caller (which may enable more
    /// instruction sets).
    #[inline(always)]
    fn fill_with<F: FnMut(&mut [[u64; LANES]; 4]) -> [u64; LANES]>(
        &mut self,
        out: &mut [f64],
        mut step: F,
    ) {
        let tab = tables();
        let mut out = out;
        while self.pending_at < LANES && !out.is_empty() {
            out[0] = normal(tab, self.pending[self.pending_at], &mut self.fallback);
            self.pending_at += 1;
            out = &mut out[1..];
        }
        // The lanes live in locals during the loop (the slow path touches only the fallback).
        let mut lanes = self.lanes;
        let mut fallback = self.fallback;
        let mut blocks = out.chunks_exact_mut(LANES);
        for block in &mut blocks {
            let words = step(&mut lanes);
            for (o, w) in block.iter_mut().zip(words) {
                *o = normal(tab, w, &mut fallback);
            }
        }
        let rest = blocks.into_remainder();
        if !rest.is_empty() {
            self.pending = step(&mut lanes);
            self.pending_at = 0;
            for o in rest {
                *o = normal(tab, self.pending[self.pending_at], &mut fallback);
                self.pending_at += 1;
            }
        }
        self.lanes = lanes;
        self.fallback = fallback;
    }
}

/// The next word of each lane (xoshiro256++ on a struct of arrays).
#[inline(always)]
fn step(lanes: &mut [[u64; LANES]; 4]) -> [u64; LANES] {
    let [s0, s1, s2, s3] = lanes;
    let mut out = [0; LANES];
    for l in 0..LANES {
        out[l] = s0[l]
            .wrapping_add(s3[l])
            .rotate_left(23)
            .wrapping_add(s0[l]);
        let t = s1[l] << 17;
        s2[l] ^= s0[l];
        s3[l] ^= s1[l];
        s1[l] ^= s2[l];
        s0[l] ^= s3[l];
        s2[l] ^= t;
        s3[l] = s3[l].rotate_left(45);
    }
    out
}

/// [`step`] with AVX2: the four lanes' words in one 256-bit register each.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn step_v3(simd: pulp::x86::V3, lanes: &mut [[u64; LANES]; 4]) -> [u64; LANES] {
    use pulp::Simd;
    let load = |a: [u64; LANES]| pulp::u64x4(a[0], a[1], a[2], a[3]);
    let store = |v: pulp::u64x4| [v.0, v.1, v.2, v.3];
    let [s0, s1, s2, s3] = lanes.map(load);
    let sum = simd.add_u64s(s0, s3);
    let rot23 = simd.or_u64s(
        simd.shl_const_u64x4::<23>(sum),
        simd.shr_const_u64x4::<41>(sum),
    );
    let out = simd.add_u64s(rot23, s0);
    let t = simd.shl_const_u64x4::<17>(s1);
    let s2 = simd.xor_u64s(s2, s0);
    let s3 = simd.xor_u64s(s3, s1);
    let s1 = simd.xor_u64s(s1, s2);
    let s0 = simd.xor_u64s(s0, s3);
    let s2 = simd.xor_u64s(s2, t);
    let s3 = simd.or_u64s(
        simd.shl_const_u64x4::<45>(s3),
        simd.shr_const_u64x4::<19>(s3),
    );
    *lanes = [store(s0), store(s1), store(s2), store(s3)];
    store(out)
}

/// One draw from word `w`: the fast path inline, the rest out of line.
#[inline(always)]
fn normal(tab: &Tables, w: u64, fallback: &mut [u64; 4]) -> f64 {
    let i = (w & 0xff) as usize;
    let x = unit_symmetric(w) * tab.x[i];
    if x.abs() < tab.x[i + 1] {
        x
    } else {
        slow(tab, i, x, fallback)
    }
}

/// The slow path of a draw (x = u·xᵢ in layer i failed the fast test), then fresh draws from
/// the fallback generator until one is accepted.
#[cold]
#[inline(never)]
fn slow(tab: &Tables, mut i: usize, mut x: f64, fallback: &mut [u64; 4]) -> f64 {
    loop {
        if i == 0 {
            return tail(x < 0.0, fallback);
        }
        let y = tab.f[i] + (tab.f[i + 1] - tab.f[i]) * open01(xoshiro_step(fallback));
        if y < half_density(x) {
            return x;
        }
        // Restart: a fresh draw, fast path first.
        let w = xoshiro_step(fallback);
        i = (w & 0xff) as usize;
        x = unit_symmetric(w) * tab.x[i];
        if x.abs() < tab.x[i + 1] {
            return x;
        }
    }
}

/// Marsaglia's tail sample beyond r, with the given sign.
fn tail(negative: bool, fallback: &mut [u64; 4]) -> f64 {
    loop {
        let a = -open01(xoshiro_step(fallback)).ln() / R;
        let b = -open01(xoshiro_step(fallback)).ln();
        if 2.0 * b > a * a {
            return if negative { -(R + a) } else { R + a };
        }
    }
}

/// u ∈ [−1, 1) on the 2⁻⁵¹ grid from the top 52 bits of `w` (a number in [2, 4), minus 3).
#[inline(always)]
fn unit_symmetric(w: u64) -> f64 {
    f64::from_bits(0x4000_0000_0000_0000 | (w >> 12)) - 3.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn tables_close_the_ziggurat() {
        let t = tables();
        let v = layer_area();
        // Every layer has area v; the recursion must land on the top: x₂₅₅·(1 − f(x₂₅₅)) = v.
        let top = t.x[255] * (1.0 - half_density(t.x[255]));
        assert!((top - v).abs() < 1e-12 * v, "{top} vs {v}");
        for i in 1..255 {
            let area = t.x[i] * (t.f[i + 1] - t.f[i]);
            assert!((area - v).abs() < 1e-12 * v, "layer {i}: {area}");
            assert!(t.x[i + 1] < t.x[i]);
        }
        assert!((t.x[0] * half_density(R) - v).abs() < 1e-15 * v);
        // 256 layers of area v cover the half-density of mass sqrt(π/2) plus the virtual part.
        assert!((v - 0.004_928_673_233_99).abs() < 1e-13, "{v}");
    }

    #[test]
    fn lanes_are_xoshiro256plusplus() {
        // Lane l, seeded with the words 4l..4l+4 of the seeding generator, reproduces rand's
        // reference xoshiro256++ from the same 256 bits.
        let mut src = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(3);
        let mut sampler = NormalSampler::from_rng(&mut src.clone());
        let mut refs: Vec<rand::rngs::Xoshiro256PlusPlus> = (0..LANES)
            .map(|_| {
                let mut seed = [0_u8; 32];
                for chunk in seed.chunks_exact_mut(8) {
                    chunk.copy_from_slice(&src.next_u64().to_le_bytes());
                }
                rand::rngs::Xoshiro256PlusPlus::from_seed(seed)
            })
            .collect();
        for _ in 0..100 {
            let words = step(&mut sampler.lanes);
            for (l, r) in refs.iter_mut().enumerate() {
                assert_eq!(words[l], r.next_u64());
            }
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx2_step_equals_the_scalar_step() {
        let Some(simd) = pulp::x86::V3::try_new() else {
            return; // no AVX2 here: fill uses the scalar step only
        };
        let mut src = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(8);
        let mut a = NormalSampler::from_rng(&mut src).lanes;
        let mut b = a;
        for _ in 0..1000 {
            assert_eq!(step(&mut a), step_v3(simd, &mut b));
        }
        assert_eq!(a, b);
    }

    #[test]
    fn splitting_fill_does_not_change_the_numbers() {
        let mut src = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(5);
        let mut a = NormalSampler::from_rng(&mut src.clone());
        let mut b = NormalSampler::from_rng(&mut src);
        let mut whole = vec![0.0; 1001];
        a.fill(&mut whole);
        let mut parts = vec![0.0; 1001];
        let (p, q) = parts.split_at_mut(7);
        let (q, r) = q.split_at_mut(2);
        let (r, s) = r.split_at_mut(501);
        for part in [p, q, r, s] {
            b.fill(part);
        }
        assert_eq!(whole, parts);
    }

    /// Φ via erfc.
    fn phi(x: f64) -> f64 {
        0.5 * libm::erfc(-x / SQRT_2)
    }

    #[test]
    fn moments_and_kolmogorov_smirnov() {
        let n = 2_000_000;
        let mut z = vec![0.0; n];
        let mut src = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(11);
        NormalSampler::from_rng(&mut src).fill(&mut z);
        let nf = n as f64;
        let m = |p: i32| z.iter().map(|v| v.powi(p)).sum::<f64>() / nf;
        // E z^p = 0, 1, 0, 3, 0, 15; standard errors sqrt(Var z^p / n) with
        // Var = 1, 2, 15, 96, 945, 10170 (E z^{2p} − (E z^p)²); 5 standard errors.
        for (p, mean, var) in [
            (1, 0.0, 1.0),
            (2, 1.0, 2.0),
            (3, 0.0, 15.0),
            (4, 3.0, 96.0),
            (5, 0.0, 945.0),
            (6, 15.0, 10_170.0),
        ] {
            let got = m(p);
            assert!(
                (got - mean).abs() < 5.0 * (var / nf).sqrt(),
                "E z^{p} = {got}, expected {mean}"
            );
        }
        // Tail frequencies beyond r (where the tail branch runs) and beyond 4.5.
        for t in [1.0, 2.0, R, 4.5] {
            let p = 2.0 * phi(-t);
            let got = z.iter().filter(|v| v.abs() > t).count() as f64 / nf;
            assert!(
                (got - p).abs() < 5.0 * (p * (1.0 - p) / nf).sqrt() + 1.0 / nf,
                "P(|z| > {t}) = {got}, expected {p}"
            );
        }
        // Kolmogorov–Smirnov at level 1e-4 (critical value ≈ 2.15 / sqrt(n)).
        z.sort_by(f64::total_cmp);
        let d = z
            .iter()
            .enumerate()
            .map(|(k, &v)| {
                let c = phi(v);
                (c - k as f64 / nf)
                    .abs()
                    .max(((k + 1) as f64 / nf - c).abs())
            })
            .fold(0.0, f64::max);
        assert!(d < 2.15 / nf.sqrt(), "KS distance {d}");
    }

    #[test]
    fn layers_are_used_evenly_and_slow_paths_are_exact() {
        // Conditional law in a band that only wedges reach: P(r·0.9 < |z| < r) matches Φ.
        let n = 4_000_000;
        let mut z = vec![0.0; n];
        let mut src = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(12);
        NormalSampler::from_rng(&mut src).fill(&mut z);
        let nf = n as f64;
        for (lo, hi) in [(0.9 * R, R), (2.5, 2.6), (0.0, 0.05), (4.0, 9.0)] {
            let p = 2.0 * (phi(hi) - phi(lo));
            let got = z.iter().filter(|v| v.abs() > lo && v.abs() < hi).count() as f64 / nf;
            assert!(
                (got - p).abs() < 5.0 * (p * (1.0 - p) / nf).sqrt() + 1.0 / nf,
                "P({lo} < |z| < {hi}) = {got}, expected {p}"
            );
        }
        let neg = z.iter().filter(|v| **v < 0.0).count() as f64 / nf;
        assert!((neg - 0.5).abs() < 5.0 * 0.5 / nf.sqrt());
    }
}
