//! Small vector kernels of the learners' hot loops.
//!
//! A plain `iter().sum()` of f64 is one dependency chain (one add per ~4 cycles of latency).
//! These kernels keep [`LANES`] = 16 independent partial sums over fixed chunks, combined by a
//! fixed pairwise tree, so they vectorize (four AVX2 registers per sum) and stay deterministic.
//!
//! Each kernel runs under [`pulp::Arch::dispatch`], which detects AVX2 at run time and compiles
//! the loop body once for it and once for the portable x86-64 baseline (SSE2). Both versions
//! perform the same additions in the same order (no fused multiply-add: Rust never contracts
//! `a − η·b`), so the results are bit-identical whichever runs. Written with the safe dispatch
//! of pulp because the workspace forbids the `unsafe` that `#[target_feature]` calls need.

// Every kernel body is `#[inline(always)]` on purpose: it must be inlined into the function
// that pulp compiles for AVX2, or it stays compiled for the baseline.
#![allow(clippy::inline_always)]

use lisse_core::{Result, check_finite};

/// Independent partial sums per reduction (and the chunk length of the vector loops).
const LANES: usize = 16;

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

/// Runs a kernel compiled for the best instruction set the CPU has (AVX2 or the baseline).
macro_rules! vectorized {
    ($op:ident { $($field:ident),* $(,)? }) => {
        pulp::Arch::new().dispatch($op {
            $($field,)*
            _lifetime: std::marker::PhantomData,
        })
    };
}

/// Registers per chunk of [`LANES`] elements (4 for AVX2, 16 for scalar code).
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

/// Partial sums of the auxiliary reductions of [`scaled_fused_update`] (fewer registers, so
/// that its four sums fit in the 16 AVX2 registers without spilling).
const AUX_LANES: usize = 8;

/// Registers per [`AUX_LANES`] partial sums.
const fn aux_regs<S: pulp::Simd>() -> usize {
    AUX_LANES / S::F64_LANES
}

/// Σ of the auxiliary partial sums in registers `acc[..aux_regs]` (register r, lane l holds
/// partial sum r·L + l, i.e. of the elements i ≡ r·L + l mod 8, whatever the width L).
#[inline(always)]
fn reduce_aux<S: pulp::Simd>(acc: &[S::f64s; AUX_LANES]) -> f64 {
    let mut lanes = [0.0; AUX_LANES];
    let (dst, _) = S::as_mut_simd_f64s(&mut lanes);
    dst.copy_from_slice(&acc[..aux_regs::<S>()]);
    ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6]))
        + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]))
}

/// Σ of the partial sums held in registers `acc[..regs]`: register r, lane l holds partial sum
/// r·L + l, the same partial sum whatever the register width L.
#[inline(always)]
fn reduce<S: pulp::Simd>(acc: &[S::f64s; LANES]) -> f64 {
    let mut lanes = [0.0; LANES];
    let (dst, _) = S::as_mut_simd_f64s(&mut lanes);
    dst.copy_from_slice(&acc[..regs::<S>()]);
    combine(&lanes)
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
    last: &'a mut [f64],
} -> (f64, f64) = fused_update_body, centered);
simd_op!(ScaleAbout { x: &'a mut [f64], center: Option<&'a [f64]>, s: f64 } -> () = scale_about_impl);
simd_op!(AllFinite { v: &'a [f64] } -> bool = all_finite_impl);
simd_op!(ScaledStep { y: &'a [f64], a: f64, b: f64, v: &'a [f64], out: &'a mut [f64] } -> f64
    = scaled_step_impl);
simd_op!(ScaledFused {
    y: &'a [f64],
    a: f64,
    eta: f64,
    g: &'a [f64],
    hint: &'a [f64],
    out: &'a mut [f64],
    last: &'a mut [f64],
} -> UpdateSums = scaled_fused_impl);

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
    reduce::<S>(&acc) + tail
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
    reduce::<S>(&acc) + rest
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
    reduce::<S>(&acc) + rest
}

/// The fused update half-step on a ball: out ← base − η·g, last ← g, returning
/// (Σ(outᵢ − cᵢ)², Σ(gᵢ − hᵢ)²) in one pass. With a finite hint, the second sum is non-finite
/// whenever g is (NaN and ±∞ propagate), so it doubles as the finiteness probe of g.
pub(crate) fn fused_update(
    base: &[f64],
    eta: f64,
    g: &[f64],
    hint: &[f64],
    center: Option<&[f64]>,
    out: &mut [f64],
    last: &mut [f64],
) -> (f64, f64) {
    vectorized!(FusedUpdate {
        base,
        eta,
        g,
        hint,
        center,
        out,
        last
    })
}

/// `C`: whether `center` is `Some` (see [`simd_op`]).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn fused_update_body<S: pulp::Simd, const C: bool>(
    simd: S,
    base: &[f64],
    eta: f64,
    g: &[f64],
    hint: &[f64],
    center: Option<&[f64]>,
    out: &mut [f64],
    last: &mut [f64],
) -> (f64, f64) {
    let center = center.unwrap_or(base); // without a centre, a stand-in never read
    let n = out.len();
    let m = n - n % LANES;
    let e = simd.splat_f64s(eta);
    let (mut sq, mut res) = ([simd.splat_f64s(0.0); LANES], [simd.splat_f64s(0.0); LANES]);
    let (out_head, out_tail) = out.split_at_mut(m);
    let (last_head, last_tail) = last[..n].split_at_mut(m);
    for (((((o, l), x), gg), h), c) in heads_mut::<S>(out_head, m)
        .zip(heads_mut::<S>(last_head, m))
        .zip(heads::<S>(base, m))
        .zip(heads::<S>(g, m))
        .zip(heads::<S>(hint, m))
        .zip(heads::<S>(center, m))
    {
        for r in 0..regs::<S>() {
            o[r] = step_lane::<S, C>(simd, x[r], e, gg[r], c[r], &mut sq[r]);
            l[r] = gg[r];
            let q = simd.sub_f64s(gg[r], h[r]);
            res[r] = simd.add_f64s(res[r], simd.mul_f64s(q, q));
        }
    }
    let (mut sq_t, mut res_t) = (0.0, 0.0);
    for (i, (o, l)) in out_tail.iter_mut().zip(last_tail.iter_mut()).enumerate() {
        let j = m + i;
        *o = step_elem::<C>(base[j], eta, g[j], center[j], &mut sq_t);
        *l = g[j];
        let q = g[j] - hint[j];
        res_t += q * q;
    }
    (reduce::<S>(&sq) + sq_t, reduce::<S>(&res) + res_t)
}

/// out ← a·y − b·v, returning Σᵢ outᵢ², in one pass (the play half-step on an origin-centred
/// ball whose centre is held as a·y, scaled lazily).
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
    let n = out.len();
    let m = n - n % LANES;
    let (ka, kb) = (simd.splat_f64s(a), simd.splat_f64s(b));
    let mut acc = [simd.splat_f64s(0.0); LANES];
    let (out_head, out_tail) = out.split_at_mut(m);
    for ((o, x), g) in heads_mut::<S>(out_head, m)
        .zip(heads::<S>(y, m))
        .zip(heads::<S>(v, m))
    {
        for r in 0..regs::<S>() {
            o[r] = simd.sub_f64s(simd.mul_f64s(ka, x[r]), simd.mul_f64s(kb, g[r]));
            acc[r] = simd.add_f64s(acc[r], simd.mul_f64s(o[r], o[r]));
        }
    }
    let mut rest = 0.0;
    for (i, o) in out_tail.iter_mut().enumerate() {
        let j = m + i;
        *o = a * y[j] - b * v[j];
        rest += *o * *o;
    }
    reduce::<S>(&acc) + rest
}

/// The sums of [`scaled_fused_update`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct UpdateSums {
    /// Σ outᵢ².
    pub(crate) out_sq: f64,
    /// Σ (gᵢ − hᵢ)².
    pub(crate) residual: f64,
    /// Σ outᵢ·gᵢ.
    pub(crate) out_dot_g: f64,
    /// Σ gᵢ².
    pub(crate) g_sq: f64,
}

/// The update half-step on an origin-centred ball with a lazily scaled centre: out ← a·y − η·g,
/// last ← g, and the four sums of [`UpdateSums`], in one pass.
pub(crate) fn scaled_fused_update(
    y: &[f64],
    a: f64,
    eta: f64,
    g: &[f64],
    hint: &[f64],
    out: &mut [f64],
    last: &mut [f64],
) -> UpdateSums {
    vectorized!(ScaledFused {
        y,
        a,
        eta,
        g,
        hint,
        out,
        last
    })
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn scaled_fused_impl<S: pulp::Simd>(
    simd: S,
    y: &[f64],
    a: f64,
    eta: f64,
    g: &[f64],
    hint: &[f64],
    out: &mut [f64],
    last: &mut [f64],
) -> UpdateSums {
    let n = out.len();
    let m = n - n % LANES;
    let (ka, ke) = (simd.splat_f64s(a), simd.splat_f64s(eta));
    let zero = simd.splat_f64s(0.0);
    let (mut sq, mut res) = ([zero; LANES], [zero; LANES]);
    let (mut dot, mut gsq) = ([zero; AUX_LANES], [zero; AUX_LANES]);
    let (out_head, out_tail) = out.split_at_mut(m);
    let (last_head, last_tail) = last[..n].split_at_mut(m);
    for ((((o, l), x), gg), h) in heads_mut::<S>(out_head, m)
        .zip(heads_mut::<S>(last_head, m))
        .zip(heads::<S>(y, m))
        .zip(heads::<S>(g, m))
        .zip(heads::<S>(hint, m))
    {
        for r in 0..regs::<S>() {
            let v = simd.sub_f64s(simd.mul_f64s(ka, x[r]), simd.mul_f64s(ke, gg[r]));
            o[r] = v;
            l[r] = gg[r];
            sq[r] = simd.add_f64s(sq[r], simd.mul_f64s(v, v));
            let k = r % aux_regs::<S>();
            dot[k] = simd.add_f64s(dot[k], simd.mul_f64s(v, gg[r]));
            gsq[k] = simd.add_f64s(gsq[k], simd.mul_f64s(gg[r], gg[r]));
            let q = simd.sub_f64s(gg[r], h[r]);
            res[r] = simd.add_f64s(res[r], simd.mul_f64s(q, q));
        }
    }
    let (mut sq_t, mut res_t, mut dot_t, mut gsq_t) = (0.0, 0.0, 0.0, 0.0);
    for (i, (o, l)) in out_tail.iter_mut().zip(last_tail.iter_mut()).enumerate() {
        let j = m + i;
        let v = a * y[j] - eta * g[j];
        *o = v;
        *l = g[j];
        sq_t += v * v;
        dot_t += v * g[j];
        gsq_t += g[j] * g[j];
        let q = g[j] - hint[j];
        res_t += q * q;
    }
    UpdateSums {
        out_sq: reduce::<S>(&sq) + sq_t,
        residual: reduce::<S>(&res) + res_t,
        out_dot_g: reduce_aux::<S>(&dot) + dot_t,
        g_sq: reduce_aux::<S>(&gsq) + gsq_t,
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

/// Like [`lisse_core::check_finite`], but one vectorizable pass on the common (finite) path:
/// Σ 0·vᵢ is NaN exactly when some vᵢ is NaN or ±∞.
pub(crate) fn check_finite_fast(what: &str, v: &[f64]) -> Result<()> {
    if vectorized!(AllFinite { v }) {
        Ok(())
    } else {
        check_finite(what, v)
    }
}

#[inline(always)]
fn all_finite_impl<S: pulp::Simd>(simd: S, v: &[f64]) -> bool {
    let n = v.len();
    let m = n - n % LANES;
    let zero = simd.splat_f64s(0.0);
    let mut acc = [zero; LANES];
    for x in heads::<S>(v, m) {
        for r in 0..regs::<S>() {
            acc[r] = simd.add_f64s(acc[r], simd.mul_f64s(zero, x[r]));
        }
    }
    let total = reduce::<S>(&acc) + v[m..].iter().map(|x| 0.0 * x).sum::<f64>();
    total == 0.0
}

/// The fixed pairwise combination of the partial sums.
#[inline(always)]
fn combine(acc: &[f64; LANES]) -> f64 {
    let mut half = [0.0; LANES / 2];
    for k in 0..LANES / 2 {
        half[k] = acc[k] + acc[k + LANES / 2];
    }
    let mut quarter = [0.0; LANES / 4];
    for k in 0..LANES / 4 {
        quarter[k] = half[k] + half[k + LANES / 4];
    }
    (quarter[0] + quarter[2]) + (quarter[1] + quarter[3])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
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
            let (mut o2, mut last) = (vec![0.0; n], vec![0.0; n]);
            let (sq, res) = fused_update(&a, 0.5, &b, &c, Some(&c), &mut o2, &mut last);
            assert_eq!(o2, expect);
            assert_eq!(last, b);
            assert!((sq - plain).abs() <= 1e-12 * (1.0 + plain));
            let plain_res: f64 = b.iter().zip(&c).map(|(x, y)| (x - y) * (x - y)).sum();
            assert!((res - plain_res).abs() <= 1e-12 * (1.0 + plain_res));
            if n > 0 {
                let mut bad = b.clone();
                bad[0] = f64::INFINITY;
                let (_, res) = fused_update(&a, 0.5, &bad, &c, Some(&c), &mut o2, &mut last);
                assert!(!res.is_finite());
                bad[0] = f64::NAN;
                let (_, res) = fused_update(&a, 0.5, &bad, &c, Some(&c), &mut o2, &mut last);
                assert!(res.is_nan());
            }
            // The dispatched (AVX2 where available) and the baseline builds add in the same order.
            assert_eq!(
                sum_sq_diff(&a, &b).to_bits(),
                sum_sq_diff_impl(pulp::Scalar, &a, &b).to_bits()
            );
            let (mut o3, mut last3) = (vec![0.0; n], vec![0.0; n]);
            let scalar = fused_update_body::<pulp::Scalar, true>;
            let (sq3, res3) = scalar(pulp::Scalar, &a, 0.5, &b, &c, Some(&c), &mut o3, &mut last3);
            let (sq4, res4) = fused_update(&a, 0.5, &b, &c, Some(&c), &mut o3, &mut last3);
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
            let (mut o5, mut o6, mut l5) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
            let with = step_and_sq_dist(&a, 0.5, &b, Some(&zeros), &mut o5);
            let without = step_and_sq_dist(&a, 0.5, &b, None, &mut o6);
            assert_eq!((with.to_bits(), &o5), (without.to_bits(), &o6));
            let (mut x5, mut x6) = (a.clone(), a.clone());
            let with = step_in_place_and_sq_dist(&mut x5, 0.5, &b, Some(&zeros));
            let without = step_in_place_and_sq_dist(&mut x6, 0.5, &b, None);
            assert_eq!((with.to_bits(), &x5), (without.to_bits(), &x6));
            let with = fused_update(&a, 0.5, &b, &c, Some(&zeros), &mut o5, &mut l5);
            let without = fused_update(&a, 0.5, &b, &c, None, &mut o6, &mut l5);
            assert_eq!(
                (with.0.to_bits(), with.1.to_bits(), &o5),
                (without.0.to_bits(), without.1.to_bits(), &o6)
            );
            scale_about(&mut x5, Some(&zeros), 0.3);
            scale_about(&mut x6, None, 0.3);
            assert_eq!(x5, x6);
            // The lazily scaled kernels: plain sums, and the same bits on every path.
            let (mut o7, mut l7, mut o8, mut l8) =
                (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
            let u = scaled_fused_update(&a, 0.7, 0.5, &b, &c, &mut o7, &mut l7);
            let v = scaled_fused_impl(pulp::Scalar, &a, 0.7, 0.5, &b, &c, &mut o8, &mut l8);
            let bits =
                |u: UpdateSums| [u.out_sq, u.residual, u.out_dot_g, u.g_sq].map(f64::to_bits);
            assert_eq!(bits(u), bits(v));
            assert_eq!((&o7, &l7), (&o8, &l8));
            let y7: Vec<f64> = a.iter().zip(&b).map(|(y, g)| 0.7 * y - 0.5 * g).collect();
            assert_eq!(o7, y7);
            assert_eq!(l7, b);
            let close = |x: f64, y: f64| (x - y).abs() <= 1e-12 * (1.0 + y.abs());
            assert!(close(u.out_sq, y7.iter().map(|v| v * v).sum()));
            assert!(close(
                u.out_dot_g,
                y7.iter().zip(&b).map(|(v, g)| v * g).sum()
            ));
            assert!(close(u.g_sq, b.iter().map(|g| g * g).sum()));
            let plain_res: f64 = b.iter().zip(&c).map(|(x, y)| (x - y) * (x - y)).sum();
            assert!(close(u.residual, plain_res));
            let sq = scaled_step_and_sq(&a, 0.7, 0.5, &b, &mut o7);
            let sq2 = scaled_step_impl(pulp::Scalar, &a, 0.7, 0.5, &b, &mut o8);
            assert_eq!((sq.to_bits(), &o7), (sq2.to_bits(), &o8));
            assert_eq!(o7, y7);
            assert!(check_finite_fast("v", &a).is_ok());
            if n > 0 {
                let mut bad = a.clone();
                bad[n - 1] = f64::NAN;
                assert!(check_finite_fast("v", &bad).is_err());
                bad[n - 1] = f64::NEG_INFINITY;
                assert!(check_finite_fast("v", &bad).is_err());
            }
        }
    }
}
