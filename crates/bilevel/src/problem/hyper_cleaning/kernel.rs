//! The fused minibatch kernel of hyper-cleaning's SOBA oracles: one pass over a batch of B
//! samples gives the weighted multinomial gradient Σₛ sₛ∇ℓₛ(W), the weighted Hessian-vector
//! product Σₛ sₛ∇²ℓₛ(W)·V and the per-sample directional derivatives ∇ℓₛ(W)ᵀV (lower level),
//! or the gradient alone (upper level), reading each sample's features from a padded copy.
//!
//! With zₛ = Wᵀxₛ, aₛ = Vᵀxₛ ∈ ℝᴷ, eₛ = exp(zₛ − max zₛ), pₛ = eₛ/Σeₛ and the label yₛ
//! (Böhning 1992 for the softmax Hessian diag(p) − ppᵀ):
//!
//! ∇ℓₛ = xₛ(pₛ − e_{yₛ})ᵀ,  ∇²ℓₛ·V = xₛ[(diag pₛ − pₛpₛᵀ)aₛ]ᵀ,  ∇ℓₛᵀV = pₛᵀaₛ − aₛ,yₛ.
//!
//! The shapes are tiny (d = 65 features, K = 10 classes, B = 64), so instead of gathering the
//! batch and calling a general gemm four times, the kernel runs register-blocked loops of fused
//! multiply-adds on the samples' features, which it keeps in a padded copy
//! ([`PaddedFeatures`]: each sample on whole 64-byte lines, so no vector load straddles two):
//!
//! 0. **Transpose** the batch into one row of B positions per feature (on AVX-512 8 × 8
//!    blocks by unpacks and 128-bit shuffles, [`V4Transpose`]; elsewhere one entry at a time).
//! 1. **Logits** zₛ,c (and aₛ,c), lanes over the positions: each is Σⱼ W_{j,c}·xₛ,ⱼ summed over
//!    the features j in order by fused multiply-adds from 0, in blocks of 4 vectors of
//!    positions × 5 columns of [W | V] (the column entry broadcast), stored class-major (one
//!    row of B positions per class). No lane is idle (B = 64 is 8 vectors) and no horizontal
//!    sum is needed, unlike lanes over features (8 features per FMA, then a transpose-and-add
//!    network per 8 sums) or over classes (K = 10 fills 10 of 16 lanes).
//! 2. **Softmax and residuals**, lanes over samples: plain elementwise loops over the
//!    class-major rows (the same formulas, in the same order, as lisse-oracles' fused block),
//!    with lisse-oracles' branch-free exponential, [`exp_nonpositive`] (the same bits as its
//!    softmax).
//! 3. **Back product**, lanes over features: column c of [G | H] is Σₛ rₛ,c·xₛ, summed in
//!    batch order by fused multiply-adds from 0, with the residual broadcast and the sample's
//!    features loaded in place (20 accumulators: 4 vectors of features × 5 columns); the last
//!    d mod 8 features (the intercept here) from their rows of the transposed batch, summed
//!    over the batch in 8 fixed lanes.
//!
//! Every step runs under [`pulp::Arch::dispatch`] (AVX-512 where the CPU has it, AVX2, or
//! scalar code), the transpose on AVX-512 or in plain code. Every output element is computed
//! by the same sequence of correctly rounded operations (fused multiply-adds included: pulp's
//! scalar `mul_add` is `f64::mul_add`) whatever the instruction set, so AVX-512, AVX2 and
//! scalar code give the same bits (tested); results differ from lisse-oracles' faer path only
//! by rounding (summation order, FMA), below 1e-13 relative (tested).

// The bodies must be inlined into the function pulp compiles for each instruction set, or they
// stay compiled for the baseline.
#![allow(clippy::inline_always)]

use lisse_oracles::loss::exp_nonpositive;
use pulp::{Simd, WithSimd, bytemuck};

/// Batch positions are padded to a multiple of this (a multiple of every vector width pulp
/// dispatches to: 1, 2, 4 and 8).
const POSITIONS: usize = 8;

/// Entries of one 64-byte cache line.
const LINE: usize = 8;

/// The data of one level: sample i's d features at `i·stride..i·stride + d` of `features`,
/// zeros up to `stride` (a multiple of 8: see [`PaddedFeatures`]); labels in 0..K.
#[derive(Clone, Copy)]
pub(super) struct Data<'a> {
    pub(super) features: &'a [f64],
    pub(super) d: usize,
    pub(super) stride: usize,
    pub(super) k: usize,
    pub(super) labels: &'a [usize],
}

/// The features of a data set as the kernel reads them: each sample's d features padded with
/// zeros to whole 64-byte lines (stride d rounded up to 8), the first sample on a line
/// boundary, so that no vector load of 8 features straddles two cache lines (with d = 65, 7 of
/// 8 did, and the loads of the logits and the back product were the kernel's bottleneck).
#[derive(Debug, Clone)]
pub(super) struct PaddedFeatures {
    storage: Vec<f64>,
    offset: usize,
    d: usize,
    stride: usize,
    n: usize,
}

impl PaddedFeatures {
    /// The padded copy of `features` (d × n column-major, sample i at `i·d..(i+1)·d`; no
    /// samples when d = 0).
    pub(super) fn new(features: &[f64], d: usize) -> Self {
        let stride = d.next_multiple_of(LINE);
        let n = features.len().checked_div(d).unwrap_or(0);
        let mut storage = vec![0.0; n * stride + LINE];
        let offset = line_offset(&storage);
        for (row, x) in storage[offset..]
            .chunks_exact_mut(stride)
            .zip(features.chunks_exact(d))
        {
            row[..d].copy_from_slice(x);
        }
        Self {
            storage,
            offset,
            d,
            stride,
            n,
        }
    }

    /// The kernel's view, with `labels` in 0..`k`.
    pub(super) fn data<'a>(&'a self, k: usize, labels: &'a [usize]) -> Data<'a> {
        Data {
            features: &self.storage[self.offset..][..self.n * self.stride],
            d: self.d,
            stride: self.stride,
            k,
            labels,
        }
    }
}

/// The index of the first entry of `v` on a 64-byte line boundary (at most 7; 0 if the
/// allocation is not 8-byte aligned, which only costs speed).
fn line_offset(v: &[f64]) -> usize {
    v.as_ptr().align_offset(8 * LINE).min(LINE - 1)
}

/// `len` entries of `v`, starting on a 64-byte line boundary (grows `v` as needed; keeps
/// earlier contents in place once `v` no longer grows).
fn line_aligned(v: &mut Vec<f64>, len: usize) -> &mut [f64] {
    if v.len() < len + LINE {
        v.resize(len + LINE, 0.0);
    }
    let offset = line_offset(v);
    &mut v[offset..][..len]
}

/// The per-sample weights sₛ of a pass.
#[derive(Clone, Copy)]
pub(super) enum SampleWeights<'a> {
    /// sₛ = 1.
    Unit,
    /// sₛ = σ(λᵢ) for sample i of the batch, with σ'(λᵢ) kept (see
    /// [`Buffers::derivatives`]); the slice is λ ∈ ℝⁿ.
    Sigmoid(&'a [f64]),
}

/// Scratch space of the kernel, kept between calls so that nothing allocates once warm.
#[derive(Debug, Clone, Default)]
pub(super) struct Buffers {
    /// Logits, then residuals, class-major: row c (`c·bp..(c+1)·bp`) holds class c of the
    /// batch, padded to `bp` (a multiple of 8) with zeros.
    residuals: Vec<f64>,
    /// λᵢ of the batch, then sₛ.
    weights: Vec<f64>,
    /// σ'(λᵢ) of the batch.
    derivatives: Vec<f64>,
    max: Vec<f64>,
    sum: Vec<f64>,
    dot: Vec<f64>,
    /// The batch transposed: row j (`j·bp..(j+1)·bp`) holds feature j of the batch, padded
    /// to `bp` with zeros.
    xt: Vec<f64>,
}

impl Buffers {
    /// σ'(λᵢ) for each position of the last [`SampleWeights::Sigmoid`] batch (0 past its end).
    pub(super) fn derivatives(&self) -> &[f64] {
        &self.derivatives
    }
}

/// The outputs of [`fused_sums`].
pub(super) struct Outputs<'a> {
    /// Σₛ sₛ∇ℓₛ(W) (d·K, column-major like W), unscaled, no L2.
    pub(super) gradient: &'a mut [f64],
    /// Σₛ sₛ∇²ℓₛ(W)·V (d·K), when V is given; empty otherwise.
    pub(super) hvp: &'a mut [f64],
    /// ∇ℓₛ(W)ᵀV per position of the batch (B), when V is given; empty otherwise.
    pub(super) directional: &'a mut [f64],
}

/// The sums of the module docs over `batch` (non-empty, indices < n), at W = `w` and, for the
/// HVP and directional derivatives, V = `v` (both d·K, column-major). The caller checks the
/// lengths (debug assertions here).
#[allow(
    clippy::too_many_arguments,
    reason = "the data, the point, the batch and the outputs"
)]
pub(super) fn fused_sums(
    data: Data<'_>,
    w: &[f64],
    v: Option<&[f64]>,
    batch: &[usize],
    weights: SampleWeights<'_>,
    buffers: &mut Buffers,
    out: Outputs<'_>,
) {
    let op = Fused {
        data,
        w,
        v,
        batch,
        weights,
        buffers,
        out,
    };
    #[cfg(target_arch = "x86_64")]
    if let Some(v4) = pulp::x86::V4::try_new() {
        return Simd::vectorize(v4, OnV4(op, v4));
    }
    pulp::Arch::new().dispatch(op);
}

/// [`fused_sums`] as a [`pulp::WithSimd`] operation.
pub(super) struct Fused<'a> {
    pub(super) data: Data<'a>,
    pub(super) w: &'a [f64],
    pub(super) v: Option<&'a [f64]>,
    pub(super) batch: &'a [usize],
    pub(super) weights: SampleWeights<'a>,
    pub(super) buffers: &'a mut Buffers,
    pub(super) out: Outputs<'a>,
}

impl WithSimd for Fused<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        fused_body(simd, PlainTranspose, self);
    }
}

/// [`Fused`] on AVX-512, with the batch transposed by [`V4Transpose`].
#[cfg(target_arch = "x86_64")]
struct OnV4<'a>(Fused<'a>, pulp::x86::V4);

#[cfg(target_arch = "x86_64")]
impl WithSimd for OnV4<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        fused_body(self.1, V4Transpose(self.1), self.0);
    }
}

/// The transpose step of [`fused_body`]: `xt[j·bp + s]` ← feature j of sample `batch[s]` for
/// every feature j < d and position s < B (`xt` holds d rounded up to 8 rows of `bp`; the
/// padding is the caller's). A copy, so every implementation gives the same bits.
trait BatchTranspose: Copy {
    fn transpose(self, data: Data<'_>, batch: &[usize], bp: usize, xt: &mut [f64]);
}

/// [`BatchTranspose`] one element at a time.
#[derive(Clone, Copy)]
struct PlainTranspose;

impl BatchTranspose for PlainTranspose {
    #[inline(always)]
    fn transpose(self, data: Data<'_>, batch: &[usize], bp: usize, xt: &mut [f64]) {
        transpose_from(data, batch, 0, bp, xt);
    }
}

/// The positions from `first` on of [`BatchTranspose::transpose`], one element at a time.
#[inline(always)]
fn transpose_from(data: Data<'_>, batch: &[usize], first: usize, bp: usize, xt: &mut [f64]) {
    let (d, stride) = (data.d, data.stride);
    for (s, &i) in batch.iter().enumerate().skip(first) {
        for (j, &xj) in data.features[i * stride..][..d].iter().enumerate() {
            xt[j * bp + s] = xj;
        }
    }
}

/// [`BatchTranspose`] on AVX-512: 8 samples × 8 features at a time, loaded as 8 vectors of
/// features and turned into 8 vectors of samples by three rounds of unpacks and 128-bit
/// shuffles (24 shuffles per 64 entries); the last d mod 8 features and the last B mod 8
/// samples one element at a time.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct V4Transpose(pulp::x86::V4);

#[cfg(target_arch = "x86_64")]
impl BatchTranspose for V4Transpose {
    #[inline(always)]
    fn transpose(self, data: Data<'_>, batch: &[usize], bp: usize, xt: &mut [f64]) {
        let avx = self.0.avx512f;
        let (d, stride) = (data.d, data.stride);
        let main = d - d % LINE;
        let full = batch.len() - batch.len() % 8;
        // Within each 128-bit lane: (a₀, b₀) and (a₁, b₁).
        let lo = |a: __m512d, b: __m512d| avx._mm512_unpacklo_pd(a, b);
        let hi = |a: __m512d, b: __m512d| avx._mm512_unpackhi_pd(a, b);
        // 128-bit lanes (a₀, a₂, b₀, b₂) and (a₁, a₃, b₁, b₃).
        let even = |a: __m512d, b: __m512d| avx._mm512_shuffle_f64x2::<0b10_00_10_00>(a, b);
        let odd = |a: __m512d, b: __m512d| avx._mm512_shuffle_f64x2::<0b11_01_11_01>(a, b);
        for s0 in (0..full).step_by(8) {
            let rows: [&[f64]; 8] =
                std::array::from_fn(|t| &data.features[batch[s0 + t] * stride..][..d]);
            for j0 in (0..main).step_by(8) {
                let r: [__m512d; 8] = std::array::from_fn(|t| v4_load(&rows[t][j0..]));
                // tₚ: rows 2p', 2p'+1 interleaved; features (0, 2, 4, 6) in t₀, t₂, …
                let t = [
                    lo(r[0], r[1]),
                    hi(r[0], r[1]),
                    lo(r[2], r[3]),
                    hi(r[2], r[3]),
                    lo(r[4], r[5]),
                    hi(r[4], r[5]),
                    lo(r[6], r[7]),
                    hi(r[6], r[7]),
                ];
                // u: features (0, 4), (2, 6), (1, 5), (3, 7) of rows 0–3, then of rows 4–7.
                let u = [
                    even(t[0], t[2]),
                    odd(t[0], t[2]),
                    even(t[1], t[3]),
                    odd(t[1], t[3]),
                    even(t[4], t[6]),
                    odd(t[4], t[6]),
                    even(t[5], t[7]),
                    odd(t[5], t[7]),
                ];
                let features = [
                    (0, even(u[0], u[4])),
                    (4, odd(u[0], u[4])),
                    (2, even(u[1], u[5])),
                    (6, odd(u[1], u[5])),
                    (1, even(u[2], u[6])),
                    (5, odd(u[2], u[6])),
                    (3, even(u[3], u[7])),
                    (7, odd(u[3], u[7])),
                ];
                for (f, z) in features {
                    v4_store(&mut xt[(j0 + f) * bp + s0..], z);
                }
            }
            // The last d mod 8 features (the intercept here): one entry at a time.
            for j in main..d {
                for (t, row) in rows.iter().enumerate() {
                    xt[j * bp + s0 + t] = row[j];
                }
            }
        }
        transpose_from(data, batch, full, bp, xt);
    }
}

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::__m512d;

/// The first 8 entries of `s` (unaligned load).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn v4_load(s: &[f64]) -> __m512d {
    bytemuck::pod_read_unaligned(bytemuck::cast_slice(&s[..8]))
}

/// `z` into the first 8 entries of `dst`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn v4_store(dst: &mut [f64], z: __m512d) {
    dst[..8].copy_from_slice(bytemuck::cast_slice(std::slice::from_ref(&z)));
}

/// The columns of [W | V] (each d long, W's first).
#[derive(Clone, Copy)]
struct Points<'a> {
    w: &'a [f64],
    v: Option<&'a [f64]>,
    d: usize,
    k: usize,
}

impl<'a> Points<'a> {
    #[inline(always)]
    fn column(self, c: usize) -> &'a [f64] {
        match self.v {
            Some(v) if c >= self.k => &v[(c - self.k) * self.d..][..self.d],
            _ => &self.w[c * self.d..][..self.d],
        }
    }
}

/// The logits step of [`fused_body`]: `res[c·bp + s]` ← zₛ,c (c < K) or aₛ,c−K (c ≥ K) for
/// every position s < `bp`, each summed over the features j in order by fused multiply-adds
/// from 0, with lanes over the positions (the transposed batch `xt`): blocks of 4 vectors of
/// positions × 5 columns on 8 lanes (2 × 3 on fewer), the column entry broadcast.
#[inline(always)]
fn logits<S: Simd>(
    simd: S,
    xt: &[f64],
    bp: usize,
    points: Points<'_>,
    cols: usize,
    res: &mut [f64],
) {
    let lanes = S::F64_LANES;
    let vectors = bp / lanes;
    let wide = if lanes >= 8 { (4, 5) } else { (2, 3) };
    let mut f = 0;
    while f < vectors {
        let nv = if vectors - f >= wide.0 { wide.0 } else { 1 };
        let mut c = 0;
        while c < cols {
            let nc = if cols - c >= wide.1 { wide.1 } else { 1 };
            let at = LogitsAt {
                xt,
                bp,
                points,
                first_position: f * lanes,
                first_column: c,
            };
            match (nv, nc, lanes >= 8) {
                (1, 1, _) => logits_block::<S, 1, 1>(simd, &at, res),
                (1, _, true) => logits_block::<S, 1, 5>(simd, &at, res),
                (_, 1, true) => logits_block::<S, 4, 1>(simd, &at, res),
                (_, _, true) => logits_block::<S, 4, 5>(simd, &at, res),
                (1, _, false) => logits_block::<S, 1, 3>(simd, &at, res),
                (_, 1, false) => logits_block::<S, 2, 1>(simd, &at, res),
                (_, _, false) => logits_block::<S, 2, 3>(simd, &at, res),
            }
            c += nc;
        }
        f += nv;
    }
}

/// The operands of one block of the logits.
struct LogitsAt<'a> {
    xt: &'a [f64],
    bp: usize,
    points: Points<'a>,
    first_position: usize,
    first_column: usize,
}

/// NC columns × NV vectors of positions of the logits.
#[inline(always)]
fn logits_block<S: Simd, const NV: usize, const NC: usize>(
    simd: S,
    at: &LogitsAt<'_>,
    res: &mut [f64],
) {
    let lanes = S::F64_LANES;
    let d = at.points.d;
    let m: [&[f64]; NC] = std::array::from_fn(|c| &at.points.column(at.first_column + c)[..d]);
    let mut acc = [[simd.splat_f64s(0.0); NV]; NC];
    // j runs over 0..d, the columns' length: no bounds check on m[c][j].
    for (row, j) in at.xt.chunks_exact(at.bp).zip(0..d) {
        let x = &row[at.first_position..][..NV * lanes];
        let xv: [S::f64s; NV] = std::array::from_fn(|q| load::<S>(&x[q * lanes..]));
        for c in 0..NC {
            let wv = simd.splat_f64s(m[c][j]);
            for q in 0..NV {
                acc[c][q] = simd.mul_add_f64s(wv, xv[q], acc[c][q]);
            }
        }
    }
    for (c, acc_c) in acc.iter().enumerate() {
        let row = &mut res[(at.first_column + c) * at.bp + at.first_position..];
        for (q, &a) in acc_c.iter().enumerate() {
            store::<S>(&mut row[q * lanes..], a);
        }
    }
}

#[inline(always)]
fn fused_body<S: Simd, T: BatchTranspose>(simd: S, transpose: T, op: Fused<'_>) {
    let Fused {
        data,
        w,
        v,
        batch,
        weights,
        buffers,
        out,
    } = op;
    let (d, k, b) = (data.d, data.k, batch.len());
    let cols = if v.is_some() { 2 * k } else { k };
    debug_assert_eq!(w.len(), d * k);
    debug_assert!(v.is_none_or(|v| v.len() == d * k));
    debug_assert_eq!(out.gradient.len(), d * k);
    debug_assert_eq!(out.hvp.len(), if v.is_some() { d * k } else { 0 });
    debug_assert_eq!(out.directional.len(), if v.is_some() { b } else { 0 });
    let bp = b.next_multiple_of(POSITIONS);
    let Buffers {
        residuals,
        weights: s,
        derivatives,
        max,
        sum,
        dot,
        xt,
    } = buffers;
    sample_weights(batch, weights, bp, s, derivatives);
    // The batch transposed, one row of bp per feature, 0 past the batch, and the residuals,
    // both on line boundaries. Every other entry of both is overwritten below, so neither is
    // zeroed whole.
    let xt = line_aligned(xt, d.next_multiple_of(LINE) * bp);
    for row in xt.chunks_exact_mut(bp) {
        row[b..].fill(0.0);
    }
    transpose.transpose(data, batch, bp, xt);
    let residuals = line_aligned(residuals, cols * bp);
    logits(simd, xt, bp, Points { w, v, d, k }, cols, residuals);
    max.clear();
    max.resize(bp, f64::NEG_INFINITY);
    sum.clear();
    sum.resize(bp, 0.0);
    dot.clear();
    dot.resize(bp, 0.0);
    softmax_residuals(
        data.labels,
        batch,
        k,
        bp,
        v.is_some(),
        residuals,
        s,
        max,
        sum,
        dot,
        out.directional,
    );
    back_product(
        simd,
        data,
        batch,
        residuals,
        bp,
        cols,
        out.gradient,
        out.hvp,
        &xt[(d - d % LINE) * bp..],
    );
}

/// sₛ and σ'(λᵢ) per position (0 for the padding up to `bp`).
#[inline(always)]
fn sample_weights(
    batch: &[usize],
    weights: SampleWeights<'_>,
    bp: usize,
    s: &mut Vec<f64>,
    derivatives: &mut Vec<f64>,
) {
    s.clear();
    derivatives.clear();
    derivatives.resize(bp, 0.0);
    match weights {
        SampleWeights::Unit => s.resize(batch.len(), 1.0),
        SampleWeights::Sigmoid(lambda) => {
            s.extend(batch.iter().map(|&i| lambda[i]));
            for (t, ds) in s.iter_mut().zip(derivatives.iter_mut()) {
                let (sig, der) = sigmoid_and_derivative(*t);
                *t = sig;
                *ds = der;
            }
        }
    }
    s.resize(bp, 0.0);
}

/// (σ(t), σ'(t)) = (1/(1 + e^{−t}), e^{−|t|}/(1 + e^{−|t|})²) from one exponential e^{−|t|}
/// (σ' is even), without overflow or the cancellation of 1 − σ(t).
#[inline(always)]
pub(super) fn sigmoid_and_derivative(t: f64) -> (f64, f64) {
    let e = exp_nonpositive(-t.abs());
    let d = 1.0 + e;
    let s = if t >= 0.0 { 1.0 / d } else { e / d };
    (s, e / (d * d))
}

/// A vector from the first lanes of `s` (unaligned load).
#[inline(always)]
fn load<S: Simd>(s: &[f64]) -> S::f64s {
    bytemuck::pod_read_unaligned(bytemuck::cast_slice(&s[..S::F64_LANES]))
}

/// The lanes of `v` into the first lanes of `dst`.
#[inline(always)]
fn store<S: Simd>(dst: &mut [f64], v: S::f64s) {
    dst[..S::F64_LANES].copy_from_slice(bytemuck::cast_slice(std::slice::from_ref(&v)));
}

/// From the logits (rows 0..K of `res`) and directional logits (rows K..2K, when
/// `directional` is true): rows 0..K ← rₛ = sₛ(pₛ − e_{yₛ}), rows K..2K ←
/// sₛ(diag pₛ − pₛpₛᵀ)aₛ, and `directional_out[s]` ← pₛᵀaₛ − aₛ,yₛ. Elementwise over the
/// samples (the padding has sₛ = 0, so its residuals are 0).
#[allow(
    clippy::too_many_arguments,
    reason = "the rows and their per-sample scratch"
)]
#[inline(always)]
fn softmax_residuals(
    labels: &[usize],
    batch: &[usize],
    k: usize,
    bp: usize,
    directional: bool,
    res: &mut [f64],
    s: &[f64],
    max: &mut [f64],
    sum: &mut [f64],
    dot: &mut [f64],
    directional_out: &mut [f64],
) {
    let (z, a) = res.split_at_mut(k * bp);
    for row in z.chunks_exact(bp) {
        for (m, &zc) in max.iter_mut().zip(row) {
            // A plain compare: a NaN logit is skipped here but still turns its sample's
            // exponentials and sum into NaN below.
            *m = if zc > *m { zc } else { *m };
        }
    }
    for row in z.chunks_exact_mut(bp) {
        for ((zc, &m), total) in row.iter_mut().zip(max.iter()).zip(sum.iter_mut()) {
            *zc = exp_nonpositive(*zc - m);
            *total += *zc;
        }
    }
    // max is free from here on: it holds sₛ/Σeₛ.
    let scale = max;
    if directional {
        // pₛᵀaₛ = (eₛᵀaₛ)/Σeₛ and ∇ℓₛᵀV = pₛᵀaₛ − aₛ,yₛ.
        for (erow, arow) in z.chunks_exact(bp).zip(a.chunks_exact(bp)) {
            for ((p, &e), &av) in dot.iter_mut().zip(erow).zip(arow) {
                *p += e * av;
            }
        }
        for (j, (o, &i)) in directional_out.iter_mut().zip(batch).enumerate() {
            *o = dot[j] / sum[j] - a[labels[i] * bp + j];
        }
        for ((p, sc), (&sj, &total)) in dot
            .iter_mut()
            .zip(scale.iter_mut())
            .zip(s.iter().zip(sum.iter()))
        {
            *p /= total;
            *sc = sj / total;
        }
        // sₛ(diag pₛ − pₛpₛᵀ)aₛ = (sₛ/Σeₛ) eₛ ⊙ (aₛ − pₛᵀaₛ).
        for (erow, arow) in z.chunks_exact(bp).zip(a.chunks_exact_mut(bp)) {
            for (((av, &e), &p), &sc) in arow.iter_mut().zip(erow).zip(dot.iter()).zip(scale.iter())
            {
                *av = sc * e * (*av - p);
            }
        }
    } else {
        for (sc, (&sj, &total)) in scale.iter_mut().zip(s.iter().zip(sum.iter())) {
            *sc = sj / total;
        }
    }
    for row in z.chunks_exact_mut(bp) {
        for (r, &sc) in row.iter_mut().zip(scale.iter()) {
            *r *= sc;
        }
    }
    for (j, &i) in batch.iter().enumerate() {
        z[labels[i] * bp + j] -= s[j];
    }
}

/// Column c of [G | H] ← Σₛ res[c, s]·xₛ: the first 8⌊d/8⌋ features in blocks of vectors
/// (summed in batch order, stored whole), the last d mod 8 from their rows of the transposed
/// batch (`tail`) over the batch in [`POSITIONS`] fixed lanes (a vector of features over the
/// zero padding of each sample's last line cost ten times as many operations: 7 of its 8
/// lanes idle).
#[allow(
    clippy::too_many_arguments,
    reason = "operands, shape and the two outputs"
)]
#[inline(always)]
fn back_product<S: Simd>(
    simd: S,
    data: Data<'_>,
    batch: &[usize],
    res: &[f64],
    bp: usize,
    cols: usize,
    gradient: &mut [f64],
    hvp: &mut [f64],
    tail: &[f64],
) {
    let lanes = S::F64_LANES;
    let d = data.d;
    let main = d - d % POSITIONS;
    let vectors = main / lanes;
    let wide = if lanes >= 8 { (4, 5) } else { (2, 3) };
    let mut out = Columns {
        gradient,
        hvp,
        d,
        k: data.k,
    };
    let mut f = 0;
    while f < vectors {
        let fv = if vectors - f >= wide.0 { wide.0 } else { 1 };
        let mut c = 0;
        while c < cols {
            let nc = if cols - c >= wide.1 { wide.1 } else { 1 };
            let at = Back {
                data,
                batch,
                res,
                bp,
                first_feature: f * lanes,
                first_column: c,
            };
            match (fv, nc, lanes >= 8) {
                (1, 1, _) => back_block::<S, 1, 1>(simd, &at, &mut out),
                (1, _, true) => back_block::<S, 1, 5>(simd, &at, &mut out),
                (_, 1, true) => back_block::<S, 4, 1>(simd, &at, &mut out),
                (_, _, true) => back_block::<S, 4, 5>(simd, &at, &mut out),
                (1, _, false) => back_block::<S, 1, 3>(simd, &at, &mut out),
                (_, 1, false) => back_block::<S, 2, 1>(simd, &at, &mut out),
                (_, _, false) => back_block::<S, 2, 3>(simd, &at, &mut out),
            }
            c += nc;
        }
        f += fv;
    }
    for j in main..d {
        let xt = &tail[(j - main) * bp..][..bp];
        for c in 0..cols {
            out.column(c)[j] = tail_dot(simd, &res[c * bp..][..bp], xt);
        }
    }
}

/// Σₛ rₛxₛ over `bp` (a multiple of 8) samples in [`POSITIONS`] fixed lanes (lane l sums
/// the samples s ≡ l mod 8, in order), then ((l₀ + l₁) + (l₂ + l₃)) + ((l₄ + l₅) + (l₆ + l₇)):
/// the same operations for every vector width.
#[inline(always)]
fn tail_dot<S: Simd>(simd: S, r: &[f64], x: &[f64]) -> f64 {
    let mut acc = [0.0; POSITIONS];
    {
        let (lanes, _) = S::as_mut_simd_f64s(&mut acc);
        let mut vectors = [simd.splat_f64s(0.0); POSITIONS];
        let vectors = &mut vectors[..lanes.len()];
        for (r8, x8) in r.chunks_exact(POSITIONS).zip(x.chunks_exact(POSITIONS)) {
            let (rv, _) = S::as_simd_f64s(r8);
            let (xv, _) = S::as_simd_f64s(x8);
            for ((a, &rv), &xv) in vectors.iter_mut().zip(rv).zip(xv) {
                *a = simd.mul_add_f64s(rv, xv, *a);
            }
        }
        lanes.copy_from_slice(vectors);
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))
}

/// The columns of [G | H] (each d long, G's first).
struct Columns<'a> {
    gradient: &'a mut [f64],
    hvp: &'a mut [f64],
    d: usize,
    k: usize,
}

impl Columns<'_> {
    #[inline(always)]
    fn column(&mut self, c: usize) -> &mut [f64] {
        let d = self.d;
        if c < self.k {
            &mut self.gradient[c * d..][..d]
        } else {
            &mut self.hvp[(c - self.k) * d..][..d]
        }
    }
}

/// The operands of one block of the back product.
struct Back<'a> {
    data: Data<'a>,
    batch: &'a [usize],
    res: &'a [f64],
    bp: usize,
    first_feature: usize,
    first_column: usize,
}

/// NC columns × FV vectors of features: Σₛ res[c, s]·xₛ[features], in batch order.
#[inline(always)]
fn back_block<S: Simd, const FV: usize, const NC: usize>(
    simd: S,
    at: &Back<'_>,
    out: &mut Columns<'_>,
) {
    let lanes = S::F64_LANES;
    let stride = at.data.stride;
    let mut acc = [[simd.splat_f64s(0.0); FV]; NC];
    let rows: [&[f64]; NC] =
        std::array::from_fn(|c| &at.res[(at.first_column + c) * at.bp..][..at.batch.len()]);
    for (s, &i) in at.batch.iter().enumerate() {
        let x = &at.data.features[i * stride + at.first_feature..][..FV * lanes];
        let xv: [S::f64s; FV] = std::array::from_fn(|q| load::<S>(&x[q * lanes..]));
        for c in 0..NC {
            let r = simd.splat_f64s(rows[c][s]);
            for q in 0..FV {
                acc[c][q] = simd.mul_add_f64s(r, xv[q], acc[c][q]);
            }
        }
    }
    for (c, acc_c) in acc.iter().enumerate() {
        let column = out.column(at.first_column + c);
        for (q, &a) in acc_c.iter().enumerate() {
            store::<S>(&mut column[at.first_feature + q * lanes..], a);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain formulas of the module docs, one sample at a time, with libm's exponential
    /// and unfused arithmetic: (Σ sₛ∇ℓₛ, Σ sₛ∇²ℓₛ·V, ∇ℓₛᵀV).
    fn plain(
        data: Data<'_>,
        w: &[f64],
        v: &[f64],
        batch: &[usize],
        s: &[f64],
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let (d, k) = (data.d, data.k);
        let (mut g, mut h, mut dd) = (vec![0.0; d * k], vec![0.0; d * k], vec![]);
        for (&i, &sj) in batch.iter().zip(s) {
            let x = &data.features[i * data.stride..][..d];
            let dotp =
                |m: &[f64], c: usize| -> f64 { (0..d).map(|j| m[c * d + j] * x[j]).sum::<f64>() };
            let z: Vec<f64> = (0..k).map(|c| dotp(w, c)).collect();
            let a: Vec<f64> = (0..k).map(|c| dotp(v, c)).collect();
            let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = z.iter().map(|&zc| (zc - m).exp()).collect();
            let total: f64 = e.iter().sum();
            let p: Vec<f64> = e.iter().map(|&ec| ec / total).collect();
            let pa: f64 = p.iter().zip(&a).map(|(x, y)| x * y).sum();
            let y = data.labels[i];
            dd.push(pa - a[y]);
            for c in 0..k {
                let r = sj * (p[c] - if c == y { 1.0 } else { 0.0 });
                let hc = sj * p[c] * (a[c] - pa);
                for j in 0..d {
                    g[c * d + j] += r * x[j];
                    h[c * d + j] += hc * x[j];
                }
            }
        }
        (g, h, dd)
    }

    fn example(d: usize, k: usize, n: usize) -> (Vec<f64>, Vec<usize>, Vec<f64>, Vec<f64>) {
        let features: Vec<f64> = (0..d * n)
            .map(|i| ((i as f64) * 0.618_033_988_749_895).sin() * 2.0)
            .collect();
        let labels: Vec<usize> = (0..n).map(|i| (i * 7 + 3) % k).collect();
        let w: Vec<f64> = (0..d * k)
            .map(|i| 0.3 * ((i as f64) * 0.37).cos())
            .collect();
        let v: Vec<f64> = (0..d * k).map(|i| ((i as f64) * 0.91).sin()).collect();
        (features, labels, w, v)
    }

    fn run<S: Simd>(
        simd: Option<S>,
        data: Data<'_>,
        w: &[f64],
        v: Option<&[f64]>,
        batch: &[usize],
        weights: SampleWeights<'_>,
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
        let dk = data.d * data.k;
        let mut g = vec![7.0; dk];
        let mut h = vec![7.0; if v.is_some() { dk } else { 0 }];
        let mut dd = vec![7.0; if v.is_some() { batch.len() } else { 0 }];
        let mut buffers = Buffers::default();
        let op = Fused {
            data,
            w,
            v,
            batch,
            weights,
            buffers: &mut buffers,
            out: Outputs {
                gradient: &mut g,
                hvp: &mut h,
                directional: &mut dd,
            },
        };
        match simd {
            Some(simd) => op.with_simd(simd),
            // The entry point: AVX-512 logits where the CPU has them.
            None => fused_sums(
                op.data, op.w, op.v, op.batch, op.weights, op.buffers, op.out,
            ),
        }
        let der = buffers.derivatives()[..batch.len()].to_vec();
        (g, h, dd, der)
    }

    fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
        let scale = b.iter().fold(1.0_f64, |m, x| m.max(x.abs()));
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol * scale)
    }

    /// The kernel equals the plain per-sample formulas (to rounding) for shapes that exercise
    /// every block size and remainder: d below, at and above multiples of 8, K of 1 to 11,
    /// batches shorter than a block, with repeats, and not multiples of 8.
    #[test]
    fn kernel_equals_the_plain_formula() {
        for (d, k, n, b) in [
            (65, 10, 40, 64),
            (3, 2, 5, 3),
            (8, 1, 9, 9),
            (16, 5, 30, 17),
            (33, 11, 50, 70),
            (1, 3, 4, 1),
        ] {
            let (features, labels, w, v) = example(d, k, n);
            let padded = PaddedFeatures::new(&features, d);
            let data = padded.data(k, &labels);
            let batch: Vec<usize> = (0..b).map(|j| (j * 13 + 5) % n).collect();
            let lambda: Vec<f64> = (0..n).map(|i| 3.0 * ((i as f64) * 0.7).sin()).collect();
            let s: Vec<f64> = batch
                .iter()
                .map(|&i| 1.0 / (1.0 + (-lambda[i]).exp()))
                .collect();
            let (g0, h0, dd0) = plain(data, &w, &v, &batch, &s);
            let (g, h, dd, der) = run::<pulp::Scalar>(
                None,
                data,
                &w,
                Some(&v),
                &batch,
                SampleWeights::Sigmoid(&lambda),
            );
            assert!(close(&g, &g0, 1e-13), "gradient, d = {d}, K = {k}");
            assert!(close(&h, &h0, 1e-13), "HVP, d = {d}, K = {k}");
            assert!(close(&dd, &dd0, 1e-13), "directional, d = {d}, K = {k}");
            for (&i, &ds) in batch.iter().zip(&der) {
                let sig = 1.0 / (1.0 + (-lambda[i]).exp());
                assert!((ds - sig * (1.0 - sig)).abs() <= 1e-15);
            }
            // Unit weights, no direction: the gradient alone.
            let ones = vec![1.0; b];
            let (g1, _, _) = plain(data, &w, &v, &batch, &ones);
            let (g, h, dd, _) =
                run::<pulp::Scalar>(None, data, &w, None, &batch, SampleWeights::Unit);
            assert!(close(&g, &g1, 1e-13), "unit gradient, d = {d}, K = {k}");
            assert!(h.is_empty() && dd.is_empty());
        }
    }

    /// The entry point (AVX-512 logits and AVX-512 loops on CPUs that have them, else AVX2),
    /// AVX2 called directly, and scalar code give the same bits.
    #[test]
    fn instruction_sets_agree_bitwise() {
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for (d, k, n, b) in [(65, 10, 300, 64), (33, 11, 50, 70), (16, 5, 30, 17)] {
            let (features, labels, w, v) = example(d, k, n);
            let padded = PaddedFeatures::new(&features, d);
            let data = padded.data(k, &labels);
            let batch: Vec<usize> = (0..b).map(|j| (j * 13 + 5) % n).collect();
            let lambda: Vec<f64> = (0..n).map(|i| 800.0 * ((i as f64) * 0.7).sin()).collect();
            let weights = SampleWeights::Sigmoid(&lambda);
            let scalar = run(Some(pulp::Scalar), data, &w, Some(&v), &batch, weights);
            let dispatched = run::<pulp::Scalar>(None, data, &w, Some(&v), &batch, weights);
            for (x, y) in [
                (&scalar.0, &dispatched.0),
                (&scalar.1, &dispatched.1),
                (&scalar.2, &dispatched.2),
                (&scalar.3, &dispatched.3),
            ] {
                assert_eq!(bits(x), bits(y));
            }
            #[cfg(target_arch = "x86_64")]
            if let Some(v3) = pulp::x86::V3::try_new() {
                let mut g = vec![0.0; d * k];
                let (mut h, mut dd) = (vec![0.0; d * k], vec![0.0; b]);
                let mut buffers = Buffers::default();
                let op = Fused {
                    data,
                    w: &w,
                    v: Some(&v),
                    batch: &batch,
                    weights,
                    buffers: &mut buffers,
                    out: Outputs {
                        gradient: &mut g,
                        hvp: &mut h,
                        directional: &mut dd,
                    },
                };
                v3.vectorize(|| op.with_simd(v3));
                assert_eq!(bits(&g), bits(&scalar.0));
                assert_eq!(bits(&h), bits(&scalar.1));
                assert_eq!(bits(&dd), bits(&scalar.2));
            }
        }
    }
}
