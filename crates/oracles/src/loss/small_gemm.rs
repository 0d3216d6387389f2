//! Register-blocked matrix products for the multinomial block kernels at small K, where a
//! general gemm (faer's) spends much of its time packing and on partial micro-tiles: the
//! products of a block are 10×100·100×655 and 100×655·655×10 at d = 100, K = 10.
//!
//! Both kernels read the d×B block X_B in its storage order (column-major: sample j is the
//! contiguous column `xb[j·d..(j+1)·d]`) and vectorize over features, so nothing is packed or
//! transposed:
//!
//! - [`logits`]: out[r·B + j] = Σᵢ lhs[r·d + i]·xb[j·d + i] (Z = lhs·X_B, class-major). For a
//!   pair of samples (one on 4-lane machines) and up to [`PASS_ROWS`] rows of `lhs`, one
//!   vector accumulator per (sample, row) runs over the d features, so each load of X feeds up
//!   to 12 FMAs; a horizontal sum per accumulator gives the logit.
//! - [`accumulate_outer`]: acc[c·d + i] += Σⱼ xb[j·d + i]·r[c·B + j] (G += X_B·Rᵀ, the
//!   gradient's second product, R class-major). For a group of 16 features (two 8-lane
//!   vectors; 4 on 4-lane machines) and up to [`PASS_ROWS`] classes, the accumulators of G
//!   stay in registers over the whole block: per sample, one or two loads of X and one
//!   broadcast per class feed 2 FMAs each. No horizontal sums.
//!
//! - **Streaming:** both kernels take `ahead`, the features of the chunk the caller will
//!   multiply next, and request its cache lines by software prefetch (`prefetcht1`, through
//!   pulp's safe `Sse` token: no `unsafe`) spread evenly over their iterations, so the data
//!   stream from memory overlaps the arithmetic instead of preceding it. A prefetch never
//!   changes a result (tested bit for bit).
//! - **Fixed strides:** [`accumulate_outer`] copies the residuals of up to 64 samples to rows
//!   of a fixed stride on the stack, so each broadcast addresses one base register plus a
//!   constant (with one slice per class the row pointers spill, one extra load per
//!   broadcast); the last partial vector of each sample is a plain load that runs on into the
//!   next sample, its extra lanes masked to zero (logits) or never stored (outer products),
//!   since a masked load is an out-of-line call in pulp.
//!
//! Rows beyond [`PASS_ROWS`] run in further passes of balanced size (2K = 20 for an HVP: two
//! passes of 10). The kernels are used for up to [`MAX_ROWS`] rows (K ≤ 16, or 2K for the
//! HVP's stacked operand); the callers hand larger products to faer.
//!
//! # Instruction sets and rounding
//! Each kernel runs under [`pulp::Arch::dispatch`]: AVX-512 (x86-64-v4, 8 lanes) where the CPU
//! has it, else AVX2+FMA (x86-64-v3, 4 lanes), else scalar code. The order of the
//! additions depends on the lane count (the logits sum d products in `lanes` interleaved
//! partial sums, then add the lanes) and FMAs round once instead of twice, so the three
//! versions agree to rounding (a few ulp of Σ|terms|, tested), not bit for bit. On one
//! machine the result is fixed: it depends on neither the thread count nor the block's
//! position in a pass.

// The bodies must be inlined into the functions pulp compiles for each instruction set.
#![allow(clippy::inline_always)]

use pulp::Simd;

/// Most rows (of `lhs`, or classes of R) one pass keeps in registers: 12 rows × 2 samples
/// (logits) or 12 classes × 2 vectors (outer products) are 24 of AVX-512's 32 registers.
pub(crate) const PASS_ROWS: usize = 12;

/// Most rows these kernels are used for: 2K for K ≤ 16.
pub(crate) const MAX_ROWS: usize = 32;

/// out[r·len + j] ← Σᵢ lhs[r·d + i]·xb[j·d + i] for every row r of `lhs` (row-major, rows of
/// d) and every sample j < `len` of `xb` (column-major d×len); `out` is rows×len row-major.
pub(crate) fn logits(
    lhs: &[f64],
    xb: &[f64],
    d: usize,
    len: usize,
    out: &mut [f64],
    ahead: &[f64],
) {
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = pulp::x86::V4::try_new() {
        simd.vectorize(LogitsV4 {
            simd,
            lhs,
            xb,
            d,
            len,
            out,
            ahead,
        });
        return;
    }
    pulp::Arch::new().dispatch(Logits {
        lhs,
        xb,
        d,
        len,
        out,
        ahead,
    });
}

/// acc[c·d + i] += Σⱼ xb[j·d + i]·r[c·len + j] for every class c of `r` (row-major, rows of
/// `len`) and feature i < d: `acc` (d×m column-major) += X_B·Rᵀ.
pub(crate) fn accumulate_outer(
    acc: &mut [f64],
    xb: &[f64],
    r: &[f64],
    d: usize,
    len: usize,
    ahead: &[f64],
) {
    pulp::Arch::new().dispatch(Outer {
        acc,
        xb,
        r,
        d,
        len,
        ahead,
    });
}

/// Cache lines (of 8 f64 from the slice's start) of `ahead` in `lines`, requested by
/// software prefetch: the data of the next chunk, pulled in while this one is computed.
/// Lines past the end are skipped. A no-op off x86-64.
#[inline(always)]
fn prefetch_lines(ahead: &[f64], lines: core::ops::Range<usize>) {
    #[cfg(target_arch = "x86_64")]
    if let Some(sse) = pulp::core_arch::x86::Sse::try_new() {
        for line in lines {
            if let Some(v) = ahead.get(8 * line) {
                sse._mm_prefetch::<PREFETCH_HINT>(core::ptr::from_ref(v).cast());
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (ahead, lines);
}

/// The locality hint of [`prefetch_lines`]: into L2 (`T1`), not L1, since a chunk and the
/// next one together exceed L1 (`T0` measured about the same or slightly slower).
#[cfg(target_arch = "x86_64")]
const PREFETCH_HINT: i32 = core::arch::x86_64::_MM_HINT_T1;

struct Logits<'a> {
    lhs: &'a [f64],
    xb: &'a [f64],
    d: usize,
    len: usize,
    out: &'a mut [f64],
    ahead: &'a [f64],
}

impl pulp::WithSimd for Logits<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        logits_body(
            simd, LaneSums, self.lhs, self.xb, self.d, self.len, self.out, self.ahead,
        );
    }
}

/// [`Logits`] on AVX-512 with the transposing sums of [`TreeSums`].
#[cfg(target_arch = "x86_64")]
struct LogitsV4<'a> {
    simd: pulp::x86::V4,
    lhs: &'a [f64],
    xb: &'a [f64],
    d: usize,
    len: usize,
    out: &'a mut [f64],
    ahead: &'a [f64],
}

#[cfg(target_arch = "x86_64")]
impl pulp::NullaryFnOnce for LogitsV4<'_> {
    type Output = ();
    #[inline(always)]
    fn call(self) {
        logits_body(
            self.simd, TreeSums, self.lhs, self.xb, self.d, self.len, self.out, self.ahead,
        );
    }
}

/// How the vector accumulators of [`dots`] become logits: the lanes of each summed.
trait Sums<S: Simd>: Copy {
    /// z[s][r] = Σ over the lanes of acc[s][r].
    fn sums<const R: usize, const NS: usize>(
        self,
        simd: S,
        acc: &[[S::f64s; R]; NS],
    ) -> [[f64; R]; NS];
}

/// One horizontal sum per accumulator (any instruction set).
#[derive(Clone, Copy)]
struct LaneSums;

impl<S: Simd> Sums<S> for LaneSums {
    #[inline(always)]
    fn sums<const R: usize, const NS: usize>(
        self,
        simd: S,
        acc: &[[S::f64s; R]; NS],
    ) -> [[f64; R]; NS] {
        let mut z = [[0.0; R]; NS];
        for s in 0..NS {
            for r in 0..R {
                z[s][r] = simd.reduce_sum_f64s(acc[s][r]);
            }
        }
        z
    }
}

/// AVX-512: eight accumulators at a time are summed by a transposing tree (halves, then
/// quarters, then pairs of lanes: 14 shuffles and 7 additions for 8 sums, against 24 and 24
/// for eight horizontal sums); the rest one at a time. Each sum adds the same 8 lanes as
/// [`LaneSums`] but in a different order (lanes l and l+4, then l and l+2, then l and l+1).
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct TreeSums;

#[cfg(target_arch = "x86_64")]
impl Sums<pulp::x86::V4> for TreeSums {
    #[inline(always)]
    fn sums<const R: usize, const NS: usize>(
        self,
        simd: pulp::x86::V4,
        acc: &[[pulp::f64x8; R]; NS],
    ) -> [[f64; R]; NS] {
        use core::arch::x86_64::__m512d;
        let f = simd.avx512f;
        let flat = acc.as_flattened();
        let mut z = [[0.0; R]; NS];
        let groups = flat.len() / 8;
        for g in 0..groups {
            let a: [__m512d; 8] = std::array::from_fn(|l| pulp::cast(flat[8 * g + l]));
            // Halves: t[p] holds the 4 partial sums of a[2p] (lanes 0..4) and of a[2p+1].
            let mut t = [a[0]; 4];
            for p in 0..4 {
                let lo = f._mm512_shuffle_f64x2::<0x44>(a[2 * p], a[2 * p + 1]);
                let hi = f._mm512_shuffle_f64x2::<0xEE>(a[2 * p], a[2 * p + 1]);
                t[p] = f._mm512_add_pd(lo, hi);
            }
            // Quarters: u[q] holds 2 partial sums of each of a[4q..4q+4], in 128-bit lanes.
            let mut u = [a[0]; 2];
            for q in 0..2 {
                let lo = f._mm512_shuffle_f64x2::<0x88>(t[2 * q], t[2 * q + 1]);
                let hi = f._mm512_shuffle_f64x2::<0xDD>(t[2 * q], t[2 * q + 1]);
                u[q] = f._mm512_add_pd(lo, hi);
            }
            // Pairs: lane 2k holds the sum of a[k], lane 2k+1 that of a[k+4].
            let v = f._mm512_add_pd(
                f._mm512_unpacklo_pd(u[0], u[1]),
                f._mm512_unpackhi_pd(u[0], u[1]),
            );
            let v: [f64; 8] = pulp::cast(v);
            for k in 0..4 {
                for (lane, m) in [(2 * k, 8 * g + k), (2 * k + 1, 8 * g + k + 4)] {
                    z[m / R][m % R] = v[lane];
                }
            }
        }
        for m in 8 * groups..flat.len() {
            z[m / R][m % R] = simd.reduce_sum_f64s(flat[m]);
        }
        z
    }
}

struct Outer<'a> {
    acc: &'a mut [f64],
    xb: &'a [f64],
    r: &'a [f64],
    d: usize,
    len: usize,
    ahead: &'a [f64],
}

impl pulp::WithSimd for Outer<'_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        outer_body(
            simd, self.acc, self.xb, self.r, self.d, self.len, self.ahead,
        );
    }
}

/// Calls `$body` with `$n` (1..=[`PASS_ROWS`]) bound to the const `$rows`.
macro_rules! with_pass_rows {
    ($n:expr, $rows:ident => $body:expr) => {
        match $n {
            1 => {
                const $rows: usize = 1;
                $body
            }
            2 => {
                const $rows: usize = 2;
                $body
            }
            3 => {
                const $rows: usize = 3;
                $body
            }
            4 => {
                const $rows: usize = 4;
                $body
            }
            5 => {
                const $rows: usize = 5;
                $body
            }
            6 => {
                const $rows: usize = 6;
                $body
            }
            7 => {
                const $rows: usize = 7;
                $body
            }
            8 => {
                const $rows: usize = 8;
                $body
            }
            9 => {
                const $rows: usize = 9;
                $body
            }
            10 => {
                const $rows: usize = 10;
                $body
            }
            11 => {
                const $rows: usize = 11;
                $body
            }
            12 => {
                const $rows: usize = 12;
                $body
            }
            _ => unreachable!("a pass has 1..=PASS_ROWS rows"),
        }
    };
}

/// The `p`-th of the consecutive passes of at most [`PASS_ROWS`] rows, of balanced sizes,
/// that cover `rows`: (first row, row count). (A plain function, not a closure-taking
/// iterator: a closure's body may be compiled out of line, without the instruction set.)
#[inline(always)]
fn pass(rows: usize, p: usize) -> (usize, usize) {
    let passes = rows.div_ceil(PASS_ROWS);
    let (base, extra) = (rows / passes, rows % passes);
    (p * base + p.min(extra), base + usize::from(p < extra))
}

#[allow(
    clippy::too_many_arguments,
    reason = "the operands of one product, all borrowed"
)]
#[inline(always)]
fn logits_body<S: Simd, Z: Sums<S>>(
    simd: S,
    sums: Z,
    lhs: &[f64],
    xb: &[f64],
    d: usize,
    len: usize,
    out: &mut [f64],
    ahead: &[f64],
) {
    if d == 0 || len == 0 {
        out.fill(0.0);
        return;
    }
    let rows = lhs.len() / d;
    for p in 0..rows.div_ceil(PASS_ROWS) {
        let (first, count) = pass(rows, p);
        let lhs = &lhs[first * d..(first + count) * d];
        let out = &mut out[first * len..(first + count) * len];
        // The next chunk is requested during the first pass only.
        let ahead = if p == 0 { ahead } else { &[] };
        with_pass_rows!(count, R => {
            if S::F64_LANES >= 8 {
                logits_pass::<S, Z, R, 2>(simd, sums, lhs, xb, d, len, out, ahead);
            } else {
                logits_pass::<S, Z, R, 1>(simd, sums, lhs, xb, d, len, out, ahead);
            }
        });
    }
}

/// One pass of [`logits`] over `R` rows of `lhs`, `NS` samples at a time (then one at a time
/// for the remainder), requesting the lines of `ahead` evenly over the iterations.
#[allow(
    clippy::too_many_arguments,
    reason = "the operands of one product, all borrowed"
)]
#[inline(always)]
fn logits_pass<S: Simd, Z: Sums<S>, const R: usize, const NS: usize>(
    simd: S,
    sums: Z,
    lhs: &[f64],
    xb: &[f64],
    d: usize,
    len: usize,
    out: &mut [f64],
    ahead: &[f64],
) {
    let lines_per_step = ahead.len().div_ceil(8).div_ceil(len.div_ceil(NS));
    let w: [&[f64]; R] = std::array::from_fn(|r| &lhs[r * d..(r + 1) * d]);
    // The rows' last partial vectors (zero-padded), loaded once: a masked load is a call.
    let mut w_tail = [simd.splat_f64s(0.0); R];
    if !d.is_multiple_of(S::F64_LANES) {
        for r in 0..R {
            w_tail[r] = simd.partial_load_f64s(S::as_simd_f64s(w[r]).1);
        }
    }
    // Lanes of the last partial vector that hold features (see `dots`).
    let tail_mask = simd.less_than_f64s(
        S::as_simd_f64s(&IOTA[..S::F64_LANES]).0[0],
        simd.splat_f64s((d % S::F64_LANES) as f64),
    );
    let mut j = 0;
    while j + NS <= len {
        let step = j / NS;
        prefetch_lines(ahead, step * lines_per_step..(step + 1) * lines_per_step);
        let x: [&[f64]; NS] = std::array::from_fn(|s| &xb[(j + s) * d..len * d]);
        let z = dots::<S, Z, R, NS>(simd, sums, &w, &w_tail, tail_mask, &x, d);
        for (s, zs) in z.iter().enumerate() {
            for (r, &zr) in zs.iter().enumerate() {
                out[r * len + j + s] = zr;
            }
        }
        j += NS;
    }
    while j < len {
        let step = j.div_ceil(NS);
        prefetch_lines(ahead, step * lines_per_step..(step + 1) * lines_per_step);
        let x = [&xb[j * d..len * d]];
        let z = dots::<S, Z, R, 1>(simd, sums, &w, &w_tail, tail_mask, &x, d);
        for (r, &zr) in z[0].iter().enumerate() {
            out[r * len + j] = zr;
        }
        j += 1;
    }
}

/// 0, 1, 2, …: lane indices, for the tail mask of [`logits_pass`].
const IOTA: [f64; 16] = [
    0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0,
];

/// z[s][r] = w[r]ᵀx[s] for `R` rows and `NS` samples, each of d features at the start of
/// `x[s]` (which may run on into the following samples): one vector accumulator per (s, r)
/// over the full vectors of the features, then the last partial vector (`w_tail` holds the
/// rows' last partial vectors, zero-padded, loaded once per pass), then the lane sums of
/// `sums`. The last partial vector of x is a plain load that runs on into the next sample,
/// with the lanes past d set to zero by `tail_mask` (a masked load is a call in pulp), or a
/// masked load where nothing follows; either way the vector is the same.
#[inline(always)]
fn dots<S: Simd, Z: Sums<S>, const R: usize, const NS: usize>(
    simd: S,
    sums: Z,
    w: &[&[f64]; R],
    w_tail: &[S::f64s; R],
    tail_mask: S::m64s,
    x: &[&[f64]; NS],
    d: usize,
) -> [[f64; R]; NS] {
    let lanes = S::F64_LANES;
    let wh: [&[S::f64s]; R] = std::array::from_fn(|r| S::as_simd_f64s(w[r]).0);
    let xh: [&[S::f64s]; NS] = std::array::from_fn(|s| S::as_simd_f64s(&x[s][..d]).0);
    let full = d / lanes;
    for h in &wh {
        assert!(h.len() == full);
    }
    for h in &xh {
        assert!(h.len() == full);
    }
    let mut acc = [[simd.splat_f64s(0.0); R]; NS];
    for v in 0..full {
        let mut xv = [simd.splat_f64s(0.0); NS];
        for s in 0..NS {
            xv[s] = xh[s][v];
        }
        for r in 0..R {
            let wv = wh[r][v];
            for s in 0..NS {
                acc[s][r] = simd.mul_add_f64s(xv[s], wv, acc[s][r]);
            }
        }
    }
    let at = full * lanes;
    if at < d {
        // No closures around SIMD operations (see `pass`): plain loops.
        let zero = simd.splat_f64s(0.0);
        let mut xv = [zero; NS];
        for s in 0..NS {
            xv[s] = if x[s].len() >= at + lanes {
                simd.select_f64s(tail_mask, S::as_simd_f64s(&x[s][at..at + lanes]).0[0], zero)
            } else {
                simd.partial_load_f64s(&x[s][at..d])
            };
        }
        for r in 0..R {
            let wv = w_tail[r];
            for s in 0..NS {
                acc[s][r] = simd.mul_add_f64s(xv[s], wv, acc[s][r]);
            }
        }
    }
    sums.sums(simd, &acc)
}

#[inline(always)]
fn outer_body<S: Simd>(
    simd: S,
    acc: &mut [f64],
    xb: &[f64],
    r: &[f64],
    d: usize,
    len: usize,
    ahead: &[f64],
) {
    if d == 0 || len == 0 {
        return;
    }
    let classes = r.len() / len;
    for p in 0..classes.div_ceil(PASS_ROWS) {
        let (first, count) = pass(classes, p);
        let acc = &mut acc[first * d..(first + count) * d];
        let r = &r[first * len..(first + count) * len];
        let ahead = if p == 0 { ahead } else { &[] };
        with_pass_rows!(count, C => {
            if S::F64_LANES >= 8 {
                outer_pass::<S, C, 2>(simd, acc, xb, r, d, len, ahead);
            } else {
                outer_pass::<S, C, 1>(simd, acc, xb, r, d, len, ahead);
            }
        });
    }
}

/// One pass of [`accumulate_outer`] over `C` classes: features in groups of `V` full vectors,
/// then single vectors, the last one partial. The lines of `ahead` are shared out evenly over
/// the groups, each requesting its share over its samples.
#[allow(
    clippy::too_many_arguments,
    reason = "the operands of one product, all borrowed"
)]
#[inline(always)]
fn outer_pass<S: Simd, const C: usize, const V: usize>(
    simd: S,
    acc: &mut [f64],
    xb: &[f64],
    r: &[f64],
    d: usize,
    len: usize,
    ahead: &[f64],
) {
    let lanes = S::F64_LANES;
    let groups =
        d / (V * lanes) + (d % (V * lanes)) / lanes + usize::from(!d.is_multiple_of(lanes));
    let lines = ahead.len().div_ceil(8);
    let share = |g: usize| {
        let (from, to) = (g * lines / groups, (g + 1) * lines / groups);
        &ahead[(8 * from).min(ahead.len())..(8 * to).min(ahead.len())]
    };
    // The residuals of up to OUTER_TILE samples, copied to rows of a fixed stride: every
    // broadcast then addresses one base register plus a constant offset (with C row slices,
    // the row pointers spill to the stack, one extra load per broadcast).
    let mut tile = [[0.0; OUTER_TILE]; C];
    for start in (0..len).step_by(OUTER_TILE) {
        let n = (len - start).min(OUTER_TILE);
        for (c, row) in tile.iter_mut().enumerate() {
            row[..n].copy_from_slice(&r[c * len + start..c * len + start + n]);
        }
        let xs = &xb[start * d..(start + n) * d];
        // The next chunk is requested over the first tile (a chunk of the full-batch pass
        // is one tile).
        let share = |g: usize| if start == 0 { share(g) } else { &[] };
        let (mut i, mut g) = (0, 0);
        while i + V * lanes <= d {
            outer_group::<S, C, V>(simd, acc, xs, &tile, d, n, i, share(g));
            i += V * lanes;
            g += 1;
        }
        while i + lanes <= d {
            outer_group::<S, C, 1>(simd, acc, xs, &tile, d, n, i, share(g));
            i += lanes;
            g += 1;
        }
        if i < d {
            outer_partial::<S, C>(simd, acc, xs, &tile, d, n, i, share(g));
        }
    }
}

/// Samples per tile of [`outer_pass`]: the chunk of the full-batch pass.
const OUTER_TILE: usize = 64;

/// acc[c·d + i0 .. + V·lanes] += Σⱼ xb[j·d + i0 .. + V·lanes]·tile[c][j]: `C`×`V` vector
/// accumulators held over all `len` (≤ [`OUTER_TILE`]) samples.
#[allow(
    clippy::too_many_arguments,
    reason = "the operands of one register tile, all borrowed"
)]
#[inline(always)]
fn outer_group<S: Simd, const C: usize, const V: usize>(
    simd: S,
    acc: &mut [f64],
    xb: &[f64],
    tile: &[[f64; OUTER_TILE]; C],
    d: usize,
    len: usize,
    i0: usize,
    ahead: &[f64],
) {
    assert!(len <= OUTER_TILE);
    let lines_per_sample = ahead.len().div_ceil(8).div_ceil(len);
    let width = V * S::F64_LANES;
    let mut a = [[simd.splat_f64s(0.0); V]; C];
    for (c, ac) in a.iter_mut().enumerate() {
        let h = S::as_simd_f64s(&acc[c * d + i0..c * d + i0 + width]).0;
        ac.copy_from_slice(&h[..V]);
    }
    for (j, column) in xb.chunks_exact(d).take(len).enumerate() {
        prefetch_lines(ahead, j * lines_per_sample..(j + 1) * lines_per_sample);
        let h = S::as_simd_f64s(&column[i0..i0 + width]).0;
        let mut x = [simd.splat_f64s(0.0); V];
        x.copy_from_slice(&h[..V]);
        for c in 0..C {
            let b = simd.splat_f64s(tile[c][j]);
            for v in 0..V {
                a[c][v] = simd.mul_add_f64s(x[v], b, a[c][v]);
            }
        }
    }
    for (c, ac) in a.iter().enumerate() {
        let h = S::as_mut_simd_f64s(&mut acc[c * d + i0..c * d + i0 + width]).0;
        for (hv, &av) in h.iter_mut().zip(ac) {
            *hv = av;
        }
    }
}

/// The last features i0..d (fewer than one vector) of [`outer_group`]. Each sample but the
/// last loads a full vector that runs on into the next sample's first features (a plain
/// load, where a masked load is a call in pulp): those lanes accumulate products that are
/// never stored, since only lanes i0..d are written back. The last sample, which has nothing
/// after it in `xb`, uses a masked load.
#[allow(
    clippy::too_many_arguments,
    reason = "the operands of one register tile, all borrowed"
)]
#[inline(always)]
fn outer_partial<S: Simd, const C: usize>(
    simd: S,
    acc: &mut [f64],
    xb: &[f64],
    tile: &[[f64; OUTER_TILE]; C],
    d: usize,
    len: usize,
    i0: usize,
    ahead: &[f64],
) {
    assert!(len <= OUTER_TILE);
    let lanes = S::F64_LANES;
    let lines_per_sample = ahead.len().div_ceil(8).div_ceil(len);
    let mut a = [simd.splat_f64s(0.0); C];
    for c in 0..C {
        a[c] = simd.partial_load_f64s(&acc[c * d + i0..(c + 1) * d]);
    }
    for j in 0..len {
        prefetch_lines(ahead, j * lines_per_sample..(j + 1) * lines_per_sample);
        let at = j * d + i0;
        let x = if at + lanes <= xb.len() {
            S::as_simd_f64s(&xb[at..at + lanes]).0[0]
        } else {
            simd.partial_load_f64s(&xb[at..(j + 1) * d])
        };
        for c in 0..C {
            a[c] = simd.mul_add_f64s(x, simd.splat_f64s(tile[c][j]), a[c]);
        }
    }
    for (c, &ac) in a.iter().enumerate() {
        simd.partial_store_f64s(&mut acc[c * d + i0..(c + 1) * d], ac);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic value in (−1, 1) with no structure a kernel could exploit.
    fn value(i: usize) -> f64 {
        ((i as f64) * 0.618_033_988_749_895 + 0.1).sin()
    }

    /// z[r·len + j] = Σᵢ lhs[r·d + i] xb[j·d + i] by three loops, and Σᵢ |terms| for the
    /// tolerance.
    fn reference_logits(lhs: &[f64], xb: &[f64], d: usize, len: usize) -> (Vec<f64>, Vec<f64>) {
        let rows = lhs.len() / d;
        let mut z = vec![0.0; rows * len];
        let mut mag = vec![0.0; rows * len];
        for r in 0..rows {
            for j in 0..len {
                for i in 0..d {
                    let t = lhs[r * d + i] * xb[j * d + i];
                    z[r * len + j] += t;
                    mag[r * len + j] += t.abs();
                }
            }
        }
        (z, mag)
    }

    fn reference_outer(
        acc: &[f64],
        xb: &[f64],
        r: &[f64],
        d: usize,
        len: usize,
    ) -> (Vec<f64>, Vec<f64>) {
        let classes = r.len() / len;
        let mut out = acc.to_vec();
        let mut mag: Vec<f64> = acc.iter().map(|a| a.abs()).collect();
        for c in 0..classes {
            for i in 0..d {
                for j in 0..len {
                    let t = xb[j * d + i] * r[c * len + j];
                    out[c * d + i] += t;
                    mag[c * d + i] += t.abs();
                }
            }
        }
        (out, mag)
    }

    /// |got − want| ≤ 4·d·ε·Σ|terms| entrywise (the bound of a recursive or pairwise sum of
    /// the same terms, FMA or not).
    fn assert_close(got: &[f64], want: &[f64], mag: &[f64], terms: usize, what: &str) {
        assert_eq!(got.len(), want.len());
        for (k, ((&g, &w), &m)) in got.iter().zip(want).zip(mag).enumerate() {
            let tol = 4.0 * terms as f64 * f64::EPSILON * m;
            assert!(
                (g - w).abs() <= tol,
                "{what}[{k}]: {g} vs {w} (tol {tol:e})"
            );
        }
    }

    /// The dispatched kernels, scalar code, and every instruction set this CPU offers: all
    /// must agree with the three-loop reference.
    #[derive(Clone, Copy, Debug)]
    enum Isa {
        Dispatched,
        Scalar,
        #[cfg(target_arch = "x86_64")]
        V3(pulp::x86::V3),
        #[cfg(target_arch = "x86_64")]
        V4(pulp::x86::V4),
        /// AVX-512 with one horizontal sum per logit instead of the tree.
        #[cfg(target_arch = "x86_64")]
        V4LaneSums(pulp::x86::V4),
    }

    fn isas() -> Vec<Isa> {
        let mut v = vec![Isa::Dispatched, Isa::Scalar];
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(s) = pulp::x86::V3::try_new() {
                v.push(Isa::V3(s));
            }
            if let Some(s) = pulp::x86::V4::try_new() {
                v.push(Isa::V4(s));
                v.push(Isa::V4LaneSums(s));
            }
        }
        v
    }

    #[allow(clippy::too_many_arguments)]
    fn logits_with(
        isa: Isa,
        lhs: &[f64],
        xb: &[f64],
        d: usize,
        len: usize,
        out: &mut [f64],
        ahead: &[f64],
    ) {
        let op = Logits {
            lhs,
            xb,
            d,
            len,
            out,
            ahead,
        };
        match isa {
            Isa::Dispatched => logits(op.lhs, op.xb, d, len, op.out, ahead),
            Isa::Scalar => Simd::vectorize(pulp::Scalar::new(), op),
            #[cfg(target_arch = "x86_64")]
            Isa::V3(s) => Simd::vectorize(s, op),
            #[cfg(target_arch = "x86_64")]
            Isa::V4(simd) => simd.vectorize(LogitsV4 {
                simd,
                lhs: op.lhs,
                xb: op.xb,
                d,
                len,
                out: op.out,
                ahead,
            }),
            #[cfg(target_arch = "x86_64")]
            Isa::V4LaneSums(s) => Simd::vectorize(s, op),
        }
    }

    fn outer_with(
        isa: Isa,
        acc: &mut [f64],
        xb: &[f64],
        r: &[f64],
        d: usize,
        len: usize,
        ahead: &[f64],
    ) {
        let op = Outer {
            acc,
            xb,
            r,
            d,
            len,
            ahead,
        };
        match isa {
            Isa::Dispatched => pulp::Arch::new().dispatch(op),
            Isa::Scalar => Simd::vectorize(pulp::Scalar::new(), op),
            #[cfg(target_arch = "x86_64")]
            Isa::V3(s) => Simd::vectorize(s, op),
            #[cfg(target_arch = "x86_64")]
            Isa::V4(s) | Isa::V4LaneSums(s) => Simd::vectorize(s, op),
        }
    }

    /// Shapes with every remainder: d not a multiple of 4 or 8 (and below one vector), row
    /// counts below, at and above a pass (12) and not multiples of the lane count, odd sample
    /// counts (the pair loop's remainder).
    const DS: [usize; 7] = [1, 3, 4, 8, 13, 17, 100];
    const ROWS: [usize; 8] = [1, 2, 3, 10, 12, 13, 20, 32];
    const LENS: [usize; 5] = [1, 2, 7, 16, 33];

    #[test]
    fn logits_match_the_three_loop_product_on_every_instruction_set() {
        for isa in isas() {
            for &d in &DS {
                for &rows in &ROWS {
                    for &len in &LENS {
                        let lhs: Vec<f64> = (0..rows * d).map(value).collect();
                        let xb: Vec<f64> = (0..d * len).map(|i| value(i + 7919)).collect();
                        let (want, mag) = reference_logits(&lhs, &xb, d, len);
                        let mut got = vec![f64::NAN; rows * len];
                        logits_with(isa, &lhs, &xb, d, len, &mut got, &[]);
                        assert_close(
                            &got,
                            &want,
                            &mag,
                            d,
                            &format!("{isa:?} d={d} rows={rows} len={len}"),
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn outer_products_match_the_three_loop_product_on_every_instruction_set() {
        for isa in isas() {
            for &d in &DS {
                for &classes in &ROWS {
                    for &len in &LENS {
                        let acc0: Vec<f64> = (0..d * classes).map(|i| value(i + 31)).collect();
                        let xb: Vec<f64> = (0..d * len).map(|i| value(i + 7919)).collect();
                        let r: Vec<f64> = (0..classes * len).map(|i| value(i + 104_729)).collect();
                        let (want, mag) = reference_outer(&acc0, &xb, &r, d, len);
                        let mut got = acc0.clone();
                        outer_with(isa, &mut got, &xb, &r, d, len, &[]);
                        assert_close(
                            &got,
                            &want,
                            &mag,
                            len + 1,
                            &format!("{isa:?} d={d} classes={classes} len={len}"),
                        );
                    }
                }
            }
        }
    }

    /// Prefetching the next chunk (`ahead`, of any length: shorter or longer than the chunk,
    /// not a whole number of cache lines) changes no bit of either product.
    #[test]
    fn prefetching_ahead_changes_no_bit_on_every_instruction_set() {
        let ahead_store: Vec<f64> = (0..5000).map(|i| value(i + 3)).collect();
        for isa in isas() {
            for &d in &DS {
                for &rows in &[3, 10, 13] {
                    for &len in &LENS {
                        let lhs: Vec<f64> = (0..rows * d).map(value).collect();
                        let xb: Vec<f64> = (0..d * len).map(|i| value(i + 7919)).collect();
                        let r: Vec<f64> = (0..rows * len).map(|i| value(i + 104_729)).collect();
                        let acc0: Vec<f64> = (0..d * rows).map(|i| value(i + 31)).collect();
                        let mut plain = vec![f64::NAN; rows * len];
                        logits_with(isa, &lhs, &xb, d, len, &mut plain, &[]);
                        let mut plain_acc = acc0.clone();
                        outer_with(isa, &mut plain_acc, &xb, &r, d, len, &[]);
                        for ahead_len in [1, 7, 8, d * len, 4999] {
                            let ahead = &ahead_store[..ahead_len];
                            let mut got = vec![f64::NAN; rows * len];
                            logits_with(isa, &lhs, &xb, d, len, &mut got, ahead);
                            assert_eq!(
                                got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                                plain.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                                "{isa:?} logits d={d} rows={rows} len={len} ahead={ahead_len}"
                            );
                            let mut got_acc = acc0.clone();
                            outer_with(isa, &mut got_acc, &xb, &r, d, len, ahead);
                            assert_eq!(
                                got_acc.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                                plain_acc.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                                "{isa:?} outer d={d} rows={rows} len={len} ahead={ahead_len}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// The last partial vector of a sample is loaded past its end, into the next sample's
    /// features, and masked: a NaN in the next sample changes no bit of this sample's logits.
    #[test]
    fn logits_ignore_the_features_that_follow_a_sample() {
        for isa in isas() {
            for &d in &DS {
                for &rows in &[3, 10, 13] {
                    let len = 7;
                    let lhs: Vec<f64> = (0..rows * d).map(value).collect();
                    let xb: Vec<f64> = (0..d * len).map(|i| value(i + 7919)).collect();
                    let mut plain = vec![f64::NAN; rows * len];
                    logits_with(isa, &lhs, &xb, d, len, &mut plain, &[]);
                    for next in 1..len {
                        let mut poisoned = xb.clone();
                        poisoned[next * d..(next + 1) * d].fill(f64::NAN);
                        let mut got = vec![f64::NAN; rows * len];
                        logits_with(isa, &lhs, &poisoned, d, len, &mut got, &[]);
                        for r in 0..rows {
                            let j = next - 1;
                            assert_eq!(
                                got[r * len + j].to_bits(),
                                plain[r * len + j].to_bits(),
                                "{isa:?} d={d} rows={rows} sample {j} row {r}"
                            );
                        }
                    }
                }
            }
        }
    }
}
