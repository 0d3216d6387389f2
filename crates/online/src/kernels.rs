//! Small vector kernels of the learners' hot loops.
//!
//! A plain `iter().sum()` of f64 is one dependency chain (one add per ~4 cycles of latency).
//! These kernels keep [`LANES`] = 32 independent partial sums over fixed chunks, combined by a
//! fixed pairwise tree, so they vectorize (four AVX-512 or eight AVX2 registers per sum) and stay
//! deterministic.
//!
//! Each kernel runs under [`pulp::Arch::dispatch`], which detects AVX-512 (x86-64-v4) or AVX2
//! (x86-64-v3) at run time and compiles the loop body once for each and once for the portable
//! x86-64 baseline (SSE2). Every version performs the same operations in the same order (element
//! i always goes to partial sum i mod 32; the ball kernels use no fused multiply-add, as Rust
//! never contracts `a − η·b`, and the lazy-ball kernels use `mul_add`, which pulp computes as a
//! correctly rounded fma on every instruction set, `f64::mul_add` on the baseline), so the
//! results are bit-identical whichever runs (tested on every instruction set the CPU has).
//! Written with the safe dispatch of pulp because the workspace forbids the `unsafe` that
//! `#[target_feature]` calls need. With 32 partial sums the AVX2 build of a two-sum pass holds
//! 16 accumulator registers, all AVX2 has, and spills some (the four sums of [`update_sums`]
//! spill more): the AVX2 fallback is slower than it could be, the AVX-512 build (32 registers,
//! 4 per sum) is not.

// Every kernel body is `#[inline(always)]` on purpose: it must be inlined into the function
// that pulp compiles for AVX-512/AVX2, or it stays compiled for the baseline.
#![allow(clippy::inline_always)]

/// Independent partial sums per reduction (and the chunk length of the vector loops).
const LANES: usize = 32;

/// Declares a [`pulp::WithSimd`] operation `$op` that calls the `#[inline(always)]` kernel
/// `$imp::<S>` with its fields, so that the kernel is inlined into (and compiled for) each
/// instruction set pulp dispatches to. With `, centered`, the kernel also takes `const C: bool`
/// and runs as `$imp::<S, true>` when the `center` field is `Some`, and as `$imp::<S, false>`
/// (a ball centred at the origin, centre not read) when it is `None`.
macro_rules! simd_op {
    ($op:ident { $($field:ident: $ty:ty),* $(,)? } -> $out:ty = $imp:ident $(, $centered:ident)?) => {
        struct $op<'a> {
            $($field: $ty,)*
            _lifetime: std::marker::PhantomData<&'a ()>,
        }
        impl pulp::WithSimd for $op<'_> {
            type Output = $out;
            #[inline(always)]
            fn with_simd<S: pulp::Simd>(self, simd: S) -> $out {
                simd_op!(@call $($centered)? $imp, simd, self, $($field),*)
            }
        }
    };
    (@call $imp:ident, $simd:ident, $this:ident, $($field:ident),*) => {
        $imp($simd, $($this.$field),*)
    };
    (@call centered $imp:ident, $simd:ident, $this:ident, $($field:ident),*) => {
        if $this.center.is_some() {
            $imp::<_, true>($simd, $($this.$field),*)
        } else {
            $imp::<_, false>($simd, $($this.$field),*)
        }
    };
}

/// Runs a kernel compiled for the best instruction set the CPU has (AVX-512, AVX2 or the
/// baseline).
macro_rules! vectorized {
    ($op:ident { $($field:ident),* $(,)? }) => {
        arch().dispatch($op {
            $($field,)*
            _lifetime: std::marker::PhantomData,
        })
    };
}

/// The instruction set, detected once ([`pulp::Arch::new`] tests a dozen CPU features; three
/// kernels a round made that a visible cost at small d).
#[inline(always)]
fn arch() -> pulp::Arch {
    static ARCH: std::sync::OnceLock<pulp::Arch> = std::sync::OnceLock::new();
    *ARCH.get_or_init(pulp::Arch::new)
}

/// Registers per chunk of [`LANES`] elements (4 for AVX-512, 8 for AVX2, 32 for scalar code).
const fn regs<S: pulp::Simd>() -> usize {
    LANES / S::F64_LANES
}

/// The SIMD heads of `s[..m]` (m a multiple of [`LANES`]) in chunks of [`regs`] registers.
#[inline(always)]
fn heads<S: pulp::Simd>(s: &[f64], m: usize) -> std::slice::ChunksExact<'_, S::f64s> {
    S::as_simd_f64s(&s[..m]).0.chunks_exact(regs::<S>())
}

#[inline(always)]
fn heads_mut<S: pulp::Simd>(s: &mut [f64], m: usize) -> std::slice::ChunksExactMut<'_, S::f64s> {
    S::as_mut_simd_f64s(&mut s[..m])
        .0
        .chunks_exact_mut(regs::<S>())
}

/// Partial sums of the two auxiliary reductions of the scaled update passes (half of
/// [`LANES`]: two AVX-512 registers each, so that the pass's four sums take 12 of the 32).
const AUX_LANES: usize = 16;

/// Registers per [`AUX_LANES`] partial sums.
const fn aux_regs<S: pulp::Simd>() -> usize {
    AUX_LANES / S::F64_LANES
}

/// Σ of the auxiliary partial sums in registers `acc[..aux_regs]` (register r, lane l holds
/// partial sum r·L + l, i.e. of the elements i ≡ r·L + l mod 16, whatever the width L).
#[inline(always)]
fn reduce_aux<S: pulp::Simd>(simd: S, acc: &[S::f64s; AUX_LANES]) -> f64 {
    let mut sums = *acc;
    tree(simd, &mut sums[..aux_regs::<S>()])
}

/// Σ of the partial sums held in registers `acc[..regs]`: register r, lane l holds partial sum
/// r·L + l, the same partial sum whatever the register width L.
#[inline(always)]
fn reduce<S: pulp::Simd>(simd: S, acc: &[S::f64s; LANES]) -> f64 {
    let mut sums = *acc;
    tree(simd, &mut sums[..regs::<S>()])
}

/// The tree of [`pairwise`] over the lanes of `regs` (register r, lane l = lane r·L + l), with
/// whole-register adds while the pairs lie L or more lanes apart: the same additions in the same
/// order, so the same bits, whatever the width L.
#[inline(always)]
fn tree<S: pulp::Simd>(simd: S, regs: &mut [S::f64s]) -> f64 {
    let mut n = regs.len();
    while n > 1 {
        n /= 2;
        for k in 0..n {
            regs[k] = simd.add_f64s(regs[k], regs[k + n]);
        }
    }
    let mut lanes = [0.0; 8];
    let lanes = &mut lanes[..S::F64_LANES];
    S::as_mut_simd_f64s(lanes).0[0] = regs[0];
    pairwise(lanes)
}

simd_op!(SumSqDiff { a: &'a [f64], b: &'a [f64] } -> f64 = sum_sq_diff_impl);
simd_op!(StepAndSqDist {
    base: &'a [f64],
    eta: f64,
    v: &'a [f64],
    center: Option<&'a [f64]>,
    out: &'a mut [f64],
} -> f64 = step_and_sq_dist_body, centered);
simd_op!(StepInPlace { x: &'a mut [f64], eta: f64, v: &'a [f64], center: Option<&'a [f64]> } -> f64
    = step_in_place_body, centered);
simd_op!(FusedUpdate {
    base: &'a [f64],
    eta: f64,
    g: &'a [f64],
    hint: &'a [f64],
    center: Option<&'a [f64]>,
    out: &'a mut [f64],
} -> (f64, f64) = fused_update_body, centered);
simd_op!(ScaleAbout { x: &'a mut [f64], center: Option<&'a [f64]>, s: f64 } -> () = scale_about_impl);
simd_op!(ScaledStep { y: &'a [f64], a: f64, b: f64, v: &'a [f64], out: &'a mut [f64] } -> f64
    = scaled_step_impl);
simd_op!(ScaledStepOnly { y: &'a [f64], a: f64, b: f64, v: &'a [f64], out: &'a mut [f64] } -> ()
    = scaled_step_only_impl);
simd_op!(ResidualGSq { g: &'a [f64], hint: &'a [f64] } -> (f64, f64) = residual_g_sq_impl);
simd_op!(UpdateSums { z: &'a [f64], gamma: f64, g: &'a [f64], hint: &'a [f64] } -> [f64; 4]
    = update_sums_impl);
simd_op!(UpdateWriteBack {
    z: &'a mut [f64],
    gamma: f64,
    g: &'a [f64],
    hint_last: &'a mut [f64],
    play: Option<(f64, f64, &'a mut [f64])>,
} -> () = update_write_back_impl);
simd_op!(ScaledInPlace { z: &'a mut [f64], gamma: f64, g: &'a [f64], hint_last: &'a mut [f64] }
    -> (f64, f64) = scaled_in_place_impl);

/// One register of a step towards a ball: returns o = x − e·g and adds (o − c)² to `acc` (o²
/// when `C` is false, for a ball centred at the origin; `c` is then not read).
#[inline(always)]
fn step_lane<S: pulp::Simd, const C: bool>(
    simd: S,
    x: S::f64s,
    e: S::f64s,
    g: S::f64s,
    c: S::f64s,
    acc: &mut S::f64s,
) -> S::f64s {
    let o = simd.sub_f64s(x, simd.mul_f64s(e, g));
    let d = if C { simd.sub_f64s(o, c) } else { o };
    *acc = simd.add_f64s(*acc, simd.mul_f64s(d, d));
    o
}

/// [`step_lane`] on one element of a tail: returns o = x − η·g and adds (o − c)² (or o²) to `acc`.
#[inline(always)]
fn step_elem<const C: bool>(x: f64, eta: f64, g: f64, c: f64, acc: &mut f64) -> f64 {
    let o = x - eta * g;
    let d = if C { o - c } else { o };
    *acc += d * d;
    o
}

/// Σᵢ (aᵢ − bᵢ)², with [`LANES`] partial sums.
pub(crate) fn sum_sq_diff(a: &[f64], b: &[f64]) -> f64 {
    vectorized!(SumSqDiff { a, b })
}

#[inline(always)]
fn sum_sq_diff_impl<S: pulp::Simd>(simd: S, a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let m = n - n % LANES;
    let zero = simd.splat_f64s(0.0);
    let mut acc = [zero; LANES];
    for (x, y) in heads::<S>(a, m).zip(heads::<S>(b, m)) {
        for r in 0..regs::<S>() {
            let d = simd.sub_f64s(x[r], y[r]);
            acc[r] = simd.add_f64s(acc[r], simd.mul_f64s(d, d));
        }
    }
    let mut tail = 0.0;
    for (x, y) in a[m..n].iter().zip(&b[m..n]) {
        tail += (x - y) * (x - y);
    }
    reduce(simd, &acc) + tail
}

/// out ← base − η·v, returning Σᵢ (outᵢ − cᵢ)², in one pass (c: the ball's centre; `None`
/// for the origin, which is then not read).
pub(crate) fn step_and_sq_dist(
    base: &[f64],
    eta: f64,
    v: &[f64],
    center: Option<&[f64]>,
    out: &mut [f64],
) -> f64 {
    vectorized!(StepAndSqDist {
        base,
        eta,
        v,
        center,
        out
    })
}

/// `C`: whether `center` is `Some` (see [`simd_op`]).
#[inline(always)]
fn step_and_sq_dist_body<S: pulp::Simd, const C: bool>(
    simd: S,
    base: &[f64],
    eta: f64,
    v: &[f64],
    center: Option<&[f64]>,
    out: &mut [f64],
) -> f64 {
    let center = center.unwrap_or(base); // without a centre, a stand-in never read
    let n = out.len();
    let m = n - n % LANES;
    let e = simd.splat_f64s(eta);
    let mut acc = [simd.splat_f64s(0.0); LANES];
    let (out_head, out_tail) = out.split_at_mut(m);
    for (((o, x), g), c) in heads_mut::<S>(out_head, m)
        .zip(heads::<S>(base, m))
        .zip(heads::<S>(v, m))
        .zip(heads::<S>(center, m))
    {
        for r in 0..regs::<S>() {
            o[r] = step_lane::<S, C>(simd, x[r], e, g[r], c[r], &mut acc[r]);
        }
    }
    let mut rest = 0.0;
    for (i, o) in out_tail.iter_mut().enumerate() {
        let j = m + i;
        *o = step_elem::<C>(base[j], eta, v[j], center[j], &mut rest);
    }
    reduce(simd, &acc) + rest
}

/// x ← x − η·v, returning Σᵢ (xᵢ − cᵢ)², in one pass (`None`: c = 0, not read).
pub(crate) fn step_in_place_and_sq_dist(
    x: &mut [f64],
    eta: f64,
    v: &[f64],
    center: Option<&[f64]>,
) -> f64 {
    vectorized!(StepInPlace { x, eta, v, center })
}

/// `C`: whether `center` is `Some` (see [`simd_op`]).
#[inline(always)]
fn step_in_place_body<S: pulp::Simd, const C: bool>(
    simd: S,
    x: &mut [f64],
    eta: f64,
    v: &[f64],
    center: Option<&[f64]>,
) -> f64 {
    let center = center.unwrap_or(v); // without a centre, a stand-in never read
    let n = x.len();
    let m = n - n % LANES;
    let e = simd.splat_f64s(eta);
    let mut acc = [simd.splat_f64s(0.0); LANES];
    let (x_head, x_tail) = x.split_at_mut(m);
    for ((o, g), c) in heads_mut::<S>(x_head, m)
        .zip(heads::<S>(v, m))
        .zip(heads::<S>(center, m))
    {
        for r in 0..regs::<S>() {
            o[r] = step_lane::<S, C>(simd, o[r], e, g[r], c[r], &mut acc[r]);
        }
    }
    let mut rest = 0.0;
    for (i, o) in x_tail.iter_mut().enumerate() {
        let j = m + i;
        *o = step_elem::<C>(*o, eta, v[j], center[j], &mut rest);
    }
    reduce(simd, &acc) + rest
}

/// The fused update half-step on a ball: out ← base − η·g, returning
/// (Σ(outᵢ − cᵢ)², Σ(gᵢ − hᵢ)²) in one pass. With a finite hint, the second sum is non-finite
/// whenever g is (NaN and ±∞ propagate), so it doubles as the finiteness probe of g.
pub(crate) fn fused_update(
    base: &[f64],
    eta: f64,
    g: &[f64],
    hint: &[f64],
    center: Option<&[f64]>,
    out: &mut [f64],
) -> (f64, f64) {
    vectorized!(FusedUpdate {
        base,
        eta,
        g,
        hint,
        center,
        out
    })
}

/// `C`: whether `center` is `Some` (see [`simd_op`]).
#[inline(always)]
fn fused_update_body<S: pulp::Simd, const C: bool>(
    simd: S,
    base: &[f64],
    eta: f64,
    g: &[f64],
    hint: &[f64],
    center: Option<&[f64]>,
    out: &mut [f64],
) -> (f64, f64) {
    let center = center.unwrap_or(base); // without a centre, a stand-in never read
    let n = out.len();
    let m = n - n % LANES;
    let e = simd.splat_f64s(eta);
    let (mut sq, mut res) = ([simd.splat_f64s(0.0); LANES], [simd.splat_f64s(0.0); LANES]);
    let (out_head, out_tail) = out.split_at_mut(m);
    for ((((o, x), gg), h), c) in heads_mut::<S>(out_head, m)
        .zip(heads::<S>(base, m))
        .zip(heads::<S>(g, m))
        .zip(heads::<S>(hint, m))
        .zip(heads::<S>(center, m))
    {
        for r in 0..regs::<S>() {
            o[r] = step_lane::<S, C>(simd, x[r], e, gg[r], c[r], &mut sq[r]);
            let q = simd.sub_f64s(gg[r], h[r]);
            res[r] = simd.add_f64s(res[r], simd.mul_f64s(q, q));
        }
    }
    let (mut sq_t, mut res_t) = (0.0, 0.0);
    for (i, o) in out_tail.iter_mut().enumerate() {
        let j = m + i;
        *o = step_elem::<C>(base[j], eta, g[j], center[j], &mut sq_t);
        let q = g[j] - hint[j];
        res_t += q * q;
    }
    (reduce(simd, &sq) + sq_t, reduce(simd, &res) + res_t)
}

/// out ← a·y − b·v, returning Σᵢ outᵢ², in one pass (the play half-step on an origin-centred
/// ball whose centre is held as a·y, scaled lazily). Each element is the fused
/// multiply-add fma(−b, v, a·y) (one rounding less than a·y − b·v; exact FMA on every instruction
/// set, so still the same bits whichever runs), and the squares are accumulated by FMA.
pub(crate) fn scaled_step_and_sq(y: &[f64], a: f64, b: f64, v: &[f64], out: &mut [f64]) -> f64 {
    vectorized!(ScaledStep { y, a, b, v, out })
}

#[inline(always)]
fn scaled_step_impl<S: pulp::Simd>(
    simd: S,
    y: &[f64],
    a: f64,
    b: f64,
    v: &[f64],
    out: &mut [f64],
) -> f64 {
    scaled_step_body::<S, true>(simd, y, a, b, v, out)
}

/// out ← a·y − b·v as [`scaled_step_and_sq`] writes it (same bits), without the sum: the play
/// half-step when the norm of the result is known before the pass.
pub(crate) fn scaled_step(y: &[f64], a: f64, b: f64, v: &[f64], out: &mut [f64]) {
    vectorized!(ScaledStepOnly { y, a, b, v, out });
}

#[inline(always)]
fn scaled_step_only_impl<S: pulp::Simd>(
    simd: S,
    y: &[f64],
    a: f64,
    b: f64,
    v: &[f64],
    out: &mut [f64],
) {
    scaled_step_body::<S, false>(simd, y, a, b, v, out);
}

/// The body of [`scaled_step_and_sq`] (`SQ`) and [`scaled_step`] (no sum; returns 0).
#[inline(always)]
fn scaled_step_body<S: pulp::Simd, const SQ: bool>(
    simd: S,
    y: &[f64],
    a: f64,
    b: f64,
    v: &[f64],
    out: &mut [f64],
) -> f64 {
    let n = out.len();
    let m = n - n % LANES;
    let (ka, kb) = (simd.splat_f64s(a), simd.splat_f64s(-b));
    let mut acc = [simd.splat_f64s(0.0); LANES];
    let (out_head, out_tail) = out.split_at_mut(m);
    for ((o, x), g) in heads_mut::<S>(out_head, m)
        .zip(heads::<S>(y, m))
        .zip(heads::<S>(v, m))
    {
        for r in 0..regs::<S>() {
            o[r] = simd.mul_add_f64s(kb, g[r], simd.mul_f64s(ka, x[r]));
            if SQ {
                acc[r] = simd.mul_add_f64s(o[r], o[r], acc[r]);
            }
        }
    }
    let mut rest = 0.0;
    for (i, o) in out_tail.iter_mut().enumerate() {
        let j = m + i;
        *o = (-b).mul_add(v[j], a * y[j]);
        if SQ {
            rest = o.mul_add(*o, rest);
        }
    }
    if SQ { reduce(simd, &acc) + rest } else { 0.0 }
}

/// A bound on the relative error of the kernels' sums of d terms, relative to the sum of the
/// terms' sizes (for a dot product, Σ|xᵢyᵢ| ≤ ‖x‖‖y‖ by Cauchy–Schwarz): each partial sum adds
/// at most ⌈d/16⌉ terms by fused multiply-add (32 partial sums for squares, 16 for the dot
/// product of the update pass), the tree adds at most five levels and the tail one more; a term
/// of the tail (the last d mod 32 elements, summed in sequence) passes through at most
/// d mod 32 + 1 roundings. So each term passes through at most
/// k = max(⌈d/16⌉ + 8, d mod 32 + 1) roundings (the second term was missing before 2026-11-29;
/// it matters only below d ≈ 370, for long tails) and the error is at most
/// γ_k = k·ε/(1 − k·ε) (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed.,
/// Lemma 3.1 and §3.1).
pub(crate) fn sum_error_bound(d: usize) -> f64 {
    let k = (d.div_ceil(AUX_LANES) + 8).max(d % LANES + 1) as f64;
    let ke = k * f64::EPSILON;
    ke / (1.0 - ke)
}

/// (Σ(gᵢ − hᵢ)², Σ gᵢ²) in one read-only pass: the validation pass of the update half-step on a
/// lazy ball. Σ gᵢ² is finite exactly when no gᵢ is NaN or ±∞ and none exceeds ~1.3e154 in
/// size, which bounds η·|gᵢ| before anything is written.
pub(crate) fn residual_and_g_sq(g: &[f64], hint: &[f64]) -> (f64, f64) {
    vectorized!(ResidualGSq { g, hint })
}

#[inline(always)]
fn residual_g_sq_impl<S: pulp::Simd>(simd: S, g: &[f64], hint: &[f64]) -> (f64, f64) {
    let n = g.len().min(hint.len());
    let m = n - n % LANES;
    let zero = simd.splat_f64s(0.0);
    let (mut res, mut gsq) = ([zero; LANES], [zero; LANES]);
    for (gg, h) in heads::<S>(g, m).zip(heads::<S>(hint, m)) {
        for r in 0..regs::<S>() {
            let q = simd.sub_f64s(gg[r], h[r]);
            res[r] = simd.mul_add_f64s(q, q, res[r]);
            gsq[r] = simd.mul_add_f64s(gg[r], gg[r], gsq[r]);
        }
    }
    let (mut res_t, mut gsq_t) = (0.0, 0.0);
    for (x, h) in g[m..n].iter().zip(&hint[m..n]) {
        let q = x - h;
        res_t = q.mul_add(q, res_t);
        gsq_t = x.mul_add(*x, gsq_t);
    }
    (reduce(simd, &res) + res_t, reduce(simd, &gsq) + gsq_t)
}

/// The step of the update half-step on a lazy ball, in place: z ← z − γ·g (one fused
/// multiply-add) and, in the same pass, hᵢ ← gᵢ, so that `hint_last` ends holding g (the next
/// round's default hint); returns (Σ zᵢ², Σ zᵢ·gᵢ) of the new z. Four vector streams (z, g read;
/// z, h written) and three flops per element. The caller validates g first
/// ([`residual_and_g_sq`]): this pass overwrites the learner's state.
pub(crate) fn scaled_update_in_place(
    z: &mut [f64],
    gamma: f64,
    g: &[f64],
    hint_last: &mut [f64],
) -> (f64, f64) {
    vectorized!(ScaledInPlace {
        z,
        gamma,
        g,
        hint_last
    })
}

/// One register of the scaled update: v = fma(−γ, g, z); adds v² and v·g to the sums.
#[inline(always)]
fn scaled_lane<S: pulp::Simd>(
    simd: S,
    neg_gamma: S::f64s,
    z: S::f64s,
    g: S::f64s,
    sq: &mut S::f64s,
    dot: &mut S::f64s,
) -> S::f64s {
    let v = simd.mul_add_f64s(neg_gamma, g, z);
    *sq = simd.mul_add_f64s(v, v, *sq);
    *dot = simd.mul_add_f64s(v, g, *dot);
    v
}

/// [`scaled_lane`] on one element of a tail.
#[inline(always)]
fn scaled_elem(neg_gamma: f64, z: f64, g: f64, t: &mut (f64, f64)) -> f64 {
    let v = neg_gamma.mul_add(g, z);
    t.0 = v.mul_add(v, t.0);
    t.1 = v.mul_add(g, t.1);
    v
}

#[inline(always)]
fn scaled_in_place_impl<S: pulp::Simd>(
    simd: S,
    z: &mut [f64],
    gamma: f64,
    g: &[f64],
    hint_last: &mut [f64],
) -> (f64, f64) {
    let n = z.len();
    let m = n - n % LANES;
    let k = simd.splat_f64s(-gamma);
    let zero = simd.splat_f64s(0.0);
    let (mut sq, mut dot) = ([zero; LANES], [zero; AUX_LANES]);
    let (z_head, z_tail) = z.split_at_mut(m);
    let (h_head, h_tail) = hint_last[..n].split_at_mut(m);
    for ((x, h), gg) in heads_mut::<S>(z_head, m)
        .zip(heads_mut::<S>(h_head, m))
        .zip(heads::<S>(g, m))
    {
        for r in 0..regs::<S>() {
            let d = &mut dot[r % aux_regs::<S>()];
            // g loaded once, into a register used by the step and by the copy (a plain
            // `h[r] = gg[r]` compiles to a second load).
            let gr = gg[r];
            x[r] = scaled_lane(simd, k, x[r], gr, &mut sq[r], d);
            h[r] = gr;
        }
    }
    let mut tail = (0.0, 0.0);
    for (i, (x, h)) in z_tail.iter_mut().zip(h_tail.iter_mut()).enumerate() {
        let gj = g[m + i];
        *x = scaled_elem(-gamma, *x, gj, &mut tail);
        *h = gj;
    }
    (reduce(simd, &sq) + tail.0, reduce_aux(simd, &dot) + tail.1)
}

/// The read-only first pass of the two-pass update on a lazy ball (large d,
/// [`crate::mirror::Euclidean`]): (Σ(gᵢ − hᵢ)², Σ gᵢ², Σ zᵢ′², Σ zᵢ′·gᵢ) with z′ = fma(−γ, g, z)
/// formed in registers and not stored. Each sum is formed exactly as [`residual_and_g_sq`] and
/// [`scaled_update_in_place`] form it (same partial sums, same tails, same tree), so the two
/// paths give the same bits. Three vector streams read, five fused multiply-adds an element.
pub(crate) fn update_sums(z: &[f64], gamma: f64, g: &[f64], hint: &[f64]) -> [f64; 4] {
    vectorized!(UpdateSums { z, gamma, g, hint })
}

#[inline(always)]
fn update_sums_impl<S: pulp::Simd>(
    simd: S,
    z: &[f64],
    gamma: f64,
    g: &[f64],
    hint: &[f64],
) -> [f64; 4] {
    let n = z.len().min(g.len()).min(hint.len());
    let m = n - n % LANES;
    let k = simd.splat_f64s(-gamma);
    let zero = simd.splat_f64s(0.0);
    let (mut res, mut gsq, mut sq, mut dot) = (
        [zero; LANES],
        [zero; LANES],
        [zero; LANES],
        [zero; AUX_LANES],
    );
    for ((x, gg), h) in heads::<S>(z, m)
        .zip(heads::<S>(g, m))
        .zip(heads::<S>(hint, m))
    {
        for r in 0..regs::<S>() {
            let gr = gg[r];
            let q = simd.sub_f64s(gr, h[r]);
            res[r] = simd.mul_add_f64s(q, q, res[r]);
            gsq[r] = simd.mul_add_f64s(gr, gr, gsq[r]);
            let d = &mut dot[r % aux_regs::<S>()];
            scaled_lane(simd, k, x[r], gr, &mut sq[r], d);
        }
    }
    let (mut res_t, mut gsq_t, mut tail) = (0.0, 0.0, (0.0, 0.0));
    for ((x, gj), h) in z[m..n].iter().zip(&g[m..n]).zip(&hint[m..n]) {
        let q = gj - h;
        res_t = q.mul_add(q, res_t);
        gsq_t = gj.mul_add(*gj, gsq_t);
        scaled_elem(-gamma, *x, *gj, &mut tail);
    }
    [
        reduce(simd, &res) + res_t,
        reduce(simd, &gsq) + gsq_t,
        reduce(simd, &sq) + tail.0,
        reduce_aux(simd, &dot) + tail.1,
    ]
}

/// The writing second pass of the two-pass update on a lazy ball: z ← fma(−γ, g, z), h ← g and,
/// with `play = Some((a, b, out))`, the next round's play out ← fma(−b, g, a·z) from the new z
/// (the bits [`scaled_step`] would write from the stored z and h). Run backwards, so that it
/// starts where [`update_sums`] ended, on what is still in cache (no sums: the order changes no
/// bit). Five vector streams (z, g read; z, h, out written) with the play, four without.
pub(crate) fn update_write_back(
    z: &mut [f64],
    gamma: f64,
    g: &[f64],
    hint_last: &mut [f64],
    play: Option<(f64, f64, &mut [f64])>,
) {
    vectorized!(UpdateWriteBack {
        z,
        gamma,
        g,
        hint_last,
        play
    });
}

#[inline(always)]
fn update_write_back_impl<S: pulp::Simd>(
    simd: S,
    z: &mut [f64],
    gamma: f64,
    g: &[f64],
    hint_last: &mut [f64],
    play: Option<(f64, f64, &mut [f64])>,
) {
    match play {
        Some((a, b, out)) => write_back_body::<S, true>(simd, z, gamma, g, hint_last, a, b, out),
        None => write_back_body::<S, false>(simd, z, gamma, g, hint_last, 0.0, 0.0, &mut []),
    }
}

/// `PLAY`: whether `out` receives the next play (it is empty otherwise).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn write_back_body<S: pulp::Simd, const PLAY: bool>(
    simd: S,
    z: &mut [f64],
    gamma: f64,
    g: &[f64],
    hint_last: &mut [f64],
    a: f64,
    b: f64,
    out: &mut [f64],
) {
    let n = z.len();
    let m = n - n % LANES;
    let k = simd.splat_f64s(-gamma);
    let (ka, kb) = (simd.splat_f64s(a), simd.splat_f64s(-b));
    let (z_head, z_tail) = z.split_at_mut(m);
    let (h_head, h_tail) = hint_last[..n].split_at_mut(m);
    let (o_head, o_tail) = if PLAY {
        out[..n].split_at_mut(m)
    } else {
        (&mut [][..], &mut [][..])
    };
    for (i, (x, h)) in z_tail.iter_mut().zip(h_tail.iter_mut()).enumerate().rev() {
        let gj = g[m + i];
        *x = (-gamma).mul_add(gj, *x);
        *h = gj;
        if PLAY {
            o_tail[i] = (-b).mul_add(gj, a * *x);
        }
    }
    let chunks = heads_mut::<S>(z_head, m)
        .zip(heads_mut::<S>(h_head, m))
        .zip(heads::<S>(g, m));
    if PLAY {
        for (((x, h), gg), o) in chunks.zip(heads_mut::<S>(o_head, m)).rev() {
            for r in 0..regs::<S>() {
                let gr = gg[r];
                let v = simd.mul_add_f64s(k, gr, x[r]);
                x[r] = v;
                h[r] = gr;
                o[r] = simd.mul_add_f64s(kb, gr, simd.mul_f64s(ka, v));
            }
        }
    } else {
        for ((x, h), gg) in chunks.rev() {
            for r in 0..regs::<S>() {
                let gr = gg[r];
                x[r] = simd.mul_add_f64s(k, gr, x[r]);
                h[r] = gr;
            }
        }
    }
}

/// x ← c + (x − c)·s, the radial scaling that finishes a ball projection (`None`: c = 0, x ← x·s).
pub(crate) fn scale_about(x: &mut [f64], center: Option<&[f64]>, s: f64) {
    vectorized!(ScaleAbout { x, center, s });
}

#[inline(always)]
fn scale_about_impl<S: pulp::Simd>(simd: S, x: &mut [f64], center: Option<&[f64]>, s: f64) {
    let Some(center) = center else {
        let k = simd.splat_f64s(s);
        let (head, tail) = S::as_mut_simd_f64s(x);
        for o in head {
            *o = simd.mul_f64s(*o, k);
        }
        for xi in tail {
            *xi *= s;
        }
        return;
    };
    let n = x.len();
    let m = n - n % LANES;
    let k = simd.splat_f64s(s);
    let (x_head, x_tail) = x.split_at_mut(m);
    for (o, c) in heads_mut::<S>(x_head, m).zip(heads::<S>(center, m)) {
        for r in 0..regs::<S>() {
            o[r] = simd.add_f64s(c[r], simd.mul_f64s(simd.sub_f64s(o[r], c[r]), k));
        }
    }
    for (xi, ci) in x_tail.iter_mut().zip(&center[m..n]) {
        *xi = ci + (*xi - ci) * s;
    }
}

/// The alignment [`aligned_zeros`] aims for: one cache line, one AVX-512 register.
const BUFFER_ALIGN: usize = 64;

/// The largest length for which [`aligned_zeros`] retries (1 MiB a vector, so its rejected
/// blocks take at most 16 MiB for a moment); longer vectors are bound by memory bandwidth, where
/// a split cache line costs little.
const ALIGN_RETRY_MAX_LEN: usize = 1 << 17;

/// A zero vector of length `d` whose data starts on a 64-byte boundary where the allocator
/// gives one within a few tries (else a plain one; best effort, safe code: `DVector` owns a
/// `Vec<f64>`, which the global allocator aligns to 16 bytes only): the learners' own buffers,
/// so that the passes' 64-byte loads and stores do not straddle two cache lines. An unaligned
/// 64-byte store costs about two; at d = 1,000 an unaligned played point made the round ~10%
/// slower. A block's address depends on the blocks allocated before it: each rejected block is
/// kept until the end, with a 2–2.3 KiB block after it (larger than the allocator's per-thread
/// caches of small blocks, so carved after it) that moves the next try by a multiple of 16
/// bytes, and all are freed on return. The first rejected block is freed at once instead: a
/// large block that the allocator mapped directly from the system (16 bytes past a page boundary
/// with glibc) raises, when freed, the size below which it serves blocks from its heap.
pub(crate) fn aligned_zeros(d: usize) -> nalgebra::DVector<f64> {
    let aligned = |v: &Vec<f64>| v.as_ptr().addr().is_multiple_of(BUFFER_ALIGN);
    let first = vec![0.0; d];
    if d == 0 || d > ALIGN_RETRY_MAX_LEN || aligned(&first) {
        return nalgebra::DVector::from_vec(first);
    }
    drop(first);
    let mut rejected: Vec<(Vec<f64>, Vec<u8>)> = Vec::new();
    for k in 1..=16 {
        let v = vec![0.0; d];
        if aligned(&v) {
            return nalgebra::DVector::from_vec(v);
        }
        rejected.push((v, vec![0; 2048 + 16 * k]));
    }
    nalgebra::DVector::zeros(d)
}

/// A copy of `v` in a buffer from [`aligned_zeros`].
pub(crate) fn aligned_copy(v: &nalgebra::DVector<f64>) -> nalgebra::DVector<f64> {
    let mut out = aligned_zeros(v.len());
    out.copy_from(v);
    out
}

/// Σ of `lanes` (a power of two long) by a fixed tree: lane k and lane k + n/2 first, then
/// halving again (overwrites `lanes`).
#[inline(always)]
fn pairwise(lanes: &mut [f64]) -> f64 {
    let mut n = lanes.len();
    while n > 1 {
        n /= 2;
        for k in 0..n {
            lanes[k] += lanes[k + n];
        }
    }
    lanes.first().copied().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::too_many_lines)]
    fn kernels_match_plain_loops() {
        for n in [0, 1, 7, 8, 9, 15, 16, 17, 33, 100] {
            let a: Vec<f64> = (0..n).map(|i| (i as f64 * 0.3).sin()).collect();
            let b: Vec<f64> = (0..n).map(|i| (i as f64 * 0.7).cos()).collect();
            let c: Vec<f64> = (0..n).map(|i| 0.1 * i as f64).collect();
            let plain: f64 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
            assert!((sum_sq_diff(&a, &b) - plain).abs() <= 1e-12 * (1.0 + plain));
            let mut out = vec![0.0; n];
            let s = step_and_sq_dist(&a, 0.5, &b, Some(&c), &mut out);
            let mut x = a.clone();
            let s2 = step_in_place_and_sq_dist(&mut x, 0.5, &b, Some(&c));
            let expect: Vec<f64> = a.iter().zip(&b).map(|(x, g)| x - 0.5 * g).collect();
            assert_eq!(out, expect);
            assert_eq!(x, expect);
            let plain: f64 = expect.iter().zip(&c).map(|(o, c)| (o - c) * (o - c)).sum();
            assert!((s - plain).abs() <= 1e-12 * (1.0 + plain));
            assert_eq!(s.to_bits(), s2.to_bits());
            let mut o2 = vec![0.0; n];
            let (sq, res) = fused_update(&a, 0.5, &b, &c, Some(&c), &mut o2);
            assert_eq!(o2, expect);
            assert!((sq - plain).abs() <= 1e-12 * (1.0 + plain));
            let plain_res: f64 = b.iter().zip(&c).map(|(x, y)| (x - y) * (x - y)).sum();
            assert!((res - plain_res).abs() <= 1e-12 * (1.0 + plain_res));
            if n > 0 {
                let mut bad = b.clone();
                bad[0] = f64::INFINITY;
                let (_, res) = fused_update(&a, 0.5, &bad, &c, Some(&c), &mut o2);
                assert!(!res.is_finite());
                bad[0] = f64::NAN;
                let (_, res) = fused_update(&a, 0.5, &bad, &c, Some(&c), &mut o2);
                assert!(res.is_nan());
            }
            // The dispatched (AVX2 where available) and the baseline builds add in the same order.
            assert_eq!(
                sum_sq_diff(&a, &b).to_bits(),
                sum_sq_diff_impl(pulp::Scalar, &a, &b).to_bits()
            );
            let mut o3 = vec![0.0; n];
            let scalar = fused_update_body::<pulp::Scalar, true>;
            let (sq3, res3) = scalar(pulp::Scalar, &a, 0.5, &b, &c, Some(&c), &mut o3);
            let (sq4, res4) = fused_update(&a, 0.5, &b, &c, Some(&c), &mut o3);
            assert_eq!(
                (sq3.to_bits(), res3.to_bits()),
                (sq4.to_bits(), res4.to_bits())
            );
            let mut scaled = a.clone();
            scale_about(&mut scaled, Some(&c), 0.25);
            for ((s, x), ci) in scaled.iter().zip(&a).zip(&c) {
                assert_eq!(s.to_bits(), (ci + (x - ci) * 0.25).to_bits());
            }
            // A ball centred at the origin: skipping the centre changes no bit.
            let zeros = vec![0.0; n];
            let (mut o5, mut o6) = (vec![0.0; n], vec![0.0; n]);
            let with = step_and_sq_dist(&a, 0.5, &b, Some(&zeros), &mut o5);
            let without = step_and_sq_dist(&a, 0.5, &b, None, &mut o6);
            assert_eq!((with.to_bits(), &o5), (without.to_bits(), &o6));
            let (mut x5, mut x6) = (a.clone(), a.clone());
            let with = step_in_place_and_sq_dist(&mut x5, 0.5, &b, Some(&zeros));
            let without = step_in_place_and_sq_dist(&mut x6, 0.5, &b, None);
            assert_eq!((with.to_bits(), &x5), (without.to_bits(), &x6));
            let with = fused_update(&a, 0.5, &b, &c, Some(&zeros), &mut o5);
            let without = fused_update(&a, 0.5, &b, &c, None, &mut o6);
            assert_eq!(
                (with.0.to_bits(), with.1.to_bits(), &o5),
                (without.0.to_bits(), without.1.to_bits(), &o6)
            );
            scale_about(&mut x5, Some(&zeros), 0.3);
            scale_about(&mut x6, None, 0.3);
            assert_eq!(x5, x6);
            // The lazily scaled kernels against the plain formulas (fma: one rounding per
            // element), and the same bits on every path.
            let y7: Vec<f64> = a
                .iter()
                .zip(&b)
                .map(|(y, g)| (-0.5f64).mul_add(*g, 0.7 * y))
                .collect();
            let z7: Vec<f64> = a
                .iter()
                .zip(&b)
                .map(|(z, g)| (-0.5f64).mul_add(*g, *z))
                .collect();
            let close = |x: f64, y: f64| (x - y).abs() <= 1e-12 * (1.0 + y.abs());
            for ((u, y), g) in z7.iter().zip(&a).zip(&b) {
                assert!((u - (y - 0.5 * g)).abs() <= 2.0 * f64::EPSILON * (3.0 + 0.5));
            }
            let (mut o7, mut o8) = (vec![0.0; n], vec![0.0; n]);
            // In place against the plain formula, the same bits on the scalar build, and the
            // hint buffer ends as g.
            let (mut y9, mut h9) = (a.clone(), c.clone());
            let w = scaled_update_in_place(&mut y9, 0.5, &b, &mut h9);
            let (mut y10, mut h10) = (a.clone(), c.clone());
            let u = scaled_in_place_impl(pulp::Scalar, &mut y10, 0.5, &b, &mut h10);
            assert_eq!(
                (w.0.to_bits(), w.1.to_bits()),
                (u.0.to_bits(), u.1.to_bits())
            );
            assert_eq!((&y9, &h9), (&y10, &h10));
            assert!(close(u.0, z7.iter().map(|v| v * v).sum()));
            assert!(close(u.1, z7.iter().zip(&b).map(|(v, g)| v * g).sum()));
            assert_eq!((&y9, &h9), (&z7, &b));
            let (res, gsq) = residual_and_g_sq(&b, &c);
            assert!(close(gsq, b.iter().map(|g| g * g).sum()));
            let plain_res: f64 = b.iter().zip(&c).map(|(x, y)| (x - y) * (x - y)).sum();
            assert!(close(res, plain_res));
            if n > 0 {
                // Σ g² is the probe of the validation pass: non-finite for NaN, ±∞ or |g| > 1.4e154.
                for bad in [f64::NAN, f64::INFINITY, -1e155] {
                    let mut g = b.clone();
                    g[n / 2] = bad;
                    assert!(!residual_and_g_sq(&g, &c).1.is_finite());
                }
            }
            // The two-pass update: the same sums as the validation and update passes, the same
            // z and hint, and the play that `scaled_step` writes from them; on every ISA.
            let (mut y12, mut h12, mut x12) = (a.clone(), c.clone(), vec![0.0; n]);
            let (mut y13, mut h13) = (a.clone(), c.clone());
            let sums = update_sums(&y12, 0.5, &b, &h12);
            let (res13, gsq13) = residual_and_g_sq(&b, &h13);
            let (sq13, dot13) = scaled_update_in_place(&mut y13, 0.5, &b, &mut h13);
            assert_eq!(
                sums.map(f64::to_bits),
                [res13, gsq13, sq13, dot13].map(f64::to_bits)
            );
            update_write_back(&mut y12, 0.5, &b, &mut h12, Some((0.7, 0.3, &mut x12)));
            assert_eq!((&y12, &h12), (&y13, &h13));
            let mut x13 = vec![0.0; n];
            scaled_step(&y13, 0.7, 0.3, &h13, &mut x13);
            assert_eq!(x12, x13);
            let (mut y14, mut h14) = (a.clone(), c.clone());
            update_write_back(&mut y14, 0.5, &b, &mut h14, None);
            assert_eq!((&y14, &h14), (&y13, &h13));
            for isa in Isa::available() {
                let (z, g, hint) = (a.as_slice(), b.as_slice(), c.as_slice());
                let got = isa.run(UpdateSums {
                    z,
                    gamma: 0.5,
                    g,
                    hint,
                    _lifetime: std::marker::PhantomData,
                });
                assert_eq!(got.map(f64::to_bits), sums.map(f64::to_bits));
                let (mut y15, mut h15, mut x15) = (a.clone(), c.clone(), vec![0.0; n]);
                let (z, hint_last) = (y15.as_mut_slice(), h15.as_mut_slice());
                let play = Some((0.7, 0.3, x15.as_mut_slice()));
                isa.run(UpdateWriteBack {
                    z,
                    gamma: 0.5,
                    g,
                    hint_last,
                    play,
                    _lifetime: std::marker::PhantomData,
                });
                assert_eq!((&y15, &h15, &x15), (&y13, &h13, &x13));
            }
            scaled_step(&a, 0.7, 0.5, &b, &mut o8);
            assert_eq!(o8, y7);
            let sq = scaled_step_and_sq(&a, 0.7, 0.5, &b, &mut o7);
            let sq2 = scaled_step_impl(pulp::Scalar, &a, 0.7, 0.5, &b, &mut o8);
            assert_eq!((sq.to_bits(), &o7), (sq2.to_bits(), &o8));
            assert_eq!(o7, y7);
            assert!(close(sq, y7.iter().map(|v| v * v).sum()));
        }
    }

    #[test]
    fn aligned_buffers_are_plain_copies() {
        for d in [0, 1, 7, 1000, 100_000, 200_000] {
            let z = aligned_zeros(d);
            assert_eq!(z.len(), d);
            assert!(z.iter().all(|v| v.to_bits() == 0));
            let v = nalgebra::DVector::from_fn(d, |i, _| (i as f64).sin());
            assert_eq!(aligned_copy(&v), v);
        }
    }

    /// The instruction sets a kernel can run on here (AVX-512 and AVX2 where the CPU has them).
    #[derive(Clone, Copy)]
    enum Isa {
        Scalar,
        #[cfg(target_arch = "x86_64")]
        V3(pulp::x86::V3),
        #[cfg(target_arch = "x86_64")]
        V4(pulp::x86::V4),
    }

    impl Isa {
        fn available() -> Vec<Isa> {
            #[allow(unused_mut)]
            let mut isas = vec![Isa::Scalar];
            #[cfg(target_arch = "x86_64")]
            {
                isas.extend(pulp::x86::V3::try_new().map(Isa::V3));
                isas.extend(pulp::x86::V4::try_new().map(Isa::V4));
            }
            isas
        }

        fn run<O: pulp::WithSimd>(self, op: O) -> O::Output {
            match self {
                Isa::Scalar => pulp::Simd::vectorize(pulp::Scalar, op),
                #[cfg(target_arch = "x86_64")]
                Isa::V3(simd) => pulp::Simd::vectorize(simd, op),
                #[cfg(target_arch = "x86_64")]
                Isa::V4(simd) => pulp::Simd::vectorize(simd, op),
            }
        }
    }

    /// Runs op `$op` (fields as in a struct literal, `field` or `field: value`) on `$isa`.
    macro_rules! on {
        ($isa:expr, $op:ident { $($field:ident $(: $val:expr)?),* $(,)? }) => {
            $isa.run($op { $($field: on!(@val $field $($val)?),)* _lifetime: std::marker::PhantomData })
        };
        (@val $field:ident $val:expr) => { $val };
        (@val $field:ident) => { $field };
    }

    /// Every kernel gives the same bits on AVX-512, AVX2 and the scalar baseline: the same
    /// partial sums (register r, lane l holds sum r·L + l whatever the width L), combined in the
    /// same order, and no fused multiply-add anywhere.
    #[test]
    #[allow(clippy::too_many_lines)]
    fn every_instruction_set_gives_the_same_bits() {
        let isas = Isa::available();
        for n in [0, 1, 7, 8, 15, 16, 17, 31, 33, 100, 1000, 1003] {
            let a: Vec<f64> = (0..n).map(|i| (i as f64 * 0.31).sin() * 3.0).collect();
            let b: Vec<f64> = (0..n).map(|i| (i as f64 * 0.73).cos() / 7.0).collect();
            let c: Vec<f64> = (0..n).map(|i| (i as f64 * 1.7).sin() - 0.2).collect();
            let run_all = |isa: Isa| {
                let mut bits: Vec<u64> = Vec::new();
                let mut vecs: Vec<Vec<f64>> = Vec::new();
                bits.push(on!(isa, SumSqDiff { a: &a, b: &b }).to_bits());
                for center in [Some(c.as_slice()), None] {
                    let (base, eta, v) = (a.as_slice(), 0.3, b.as_slice());
                    let mut out = vec![0.0; n];
                    let o = out.as_mut_slice();
                    bits.push(
                        on!(
                            isa,
                            StepAndSqDist {
                                base,
                                eta,
                                v,
                                center,
                                out: o
                            }
                        )
                        .to_bits(),
                    );
                    vecs.push(out);
                    let mut x = a.clone();
                    let xs = x.as_mut_slice();
                    bits.push(
                        on!(
                            isa,
                            StepInPlace {
                                x: xs,
                                eta,
                                v,
                                center
                            }
                        )
                        .to_bits(),
                    );
                    vecs.push(x);
                    let (g, hint) = (b.as_slice(), c.as_slice());
                    let mut out = vec![0.0; n];
                    let o = out.as_mut_slice();
                    let (sq, res) = on!(
                        isa,
                        FusedUpdate {
                            base,
                            eta,
                            g,
                            hint,
                            center,
                            out: o
                        }
                    );
                    bits.extend([sq.to_bits(), res.to_bits()]);
                    vecs.push(out);
                    let mut x = a.clone();
                    let xs = x.as_mut_slice();
                    on!(
                        isa,
                        ScaleAbout {
                            x: xs,
                            center,
                            s: 0.37
                        }
                    );
                    vecs.push(x);
                }
                let (y, a_, b_, v) = (a.as_slice(), 0.9, 0.4, b.as_slice());
                let mut out = vec![0.0; n];
                let o = out.as_mut_slice();
                on!(
                    isa,
                    ScaledStepOnly {
                        y,
                        a: a_,
                        b: b_,
                        v,
                        out: o
                    }
                );
                vecs.push(out);
                let mut out = vec![0.0; n];
                let o = out.as_mut_slice();
                bits.push(
                    on!(
                        isa,
                        ScaledStep {
                            y,
                            a: a_,
                            b: b_,
                            v,
                            out: o
                        }
                    )
                    .to_bits(),
                );
                vecs.push(out);
                let pair = |u: (f64, f64)| [u.0.to_bits(), u.1.to_bits()];
                let (g, hint, eta) = (b.as_slice(), c.as_slice(), 0.4);
                let (mut yy, mut hl) = (a.clone(), c.clone());
                let (ys, hint_last) = (yy.as_mut_slice(), hl.as_mut_slice());
                bits.extend(pair(on!(
                    isa,
                    ScaledInPlace {
                        z: ys,
                        gamma: eta,
                        g,
                        hint_last
                    }
                )));
                vecs.extend([yy, hl]);
                bits.extend(pair(on!(isa, ResidualGSq { g, hint })));
                (bits, vecs)
            };
            let reference = run_all(Isa::Scalar);
            for isa in &isas {
                let got = run_all(*isa);
                assert_eq!(
                    got.0, reference.0,
                    "n = {n}: sums differ between instruction sets"
                );
                for (g, r) in got.1.iter().zip(&reference.1) {
                    let (g, r): (Vec<u64>, Vec<u64>) = (
                        g.iter().map(|x| x.to_bits()).collect(),
                        r.iter().map(|x| x.to_bits()).collect(),
                    );
                    assert_eq!(g, r, "n = {n}: vectors differ between instruction sets");
                }
            }
        }
    }
}
