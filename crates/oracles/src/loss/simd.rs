//! The elementwise softmax loops of the multinomial kernels (exponentials, row scalings),
//! compiled for AVX2 when the CPU has it.
//!
//! The workspace builds for the portable x86-64 baseline (SSE2), so these loops would
//! otherwise vectorize two lanes wide. Each entry point runs its loop under
//! [`pulp::Arch::dispatch`], which detects AVX2 (x86-64-v3) at run time and calls a copy of
//! the loop compiled for it, without the `unsafe` that `#[target_feature]` calls need (the
//! workspace forbids it). The loop bodies are plain scalar code that LLVM vectorizes; they use
//! only exactly rounded operations (+, −, ×, ÷, compare/select, integer add and shift) and Rust
//! never contracts a multiply and an add into an FMA, so both copies compute every element with
//! the same operations and give bit-identical results (checked in the tests below).

// The bodies must be inlined into the function pulp compiles for AVX2, or they stay compiled
// for the baseline.
#![allow(clippy::inline_always)]

use super::exp_nonpositive;

/// Declares a [`pulp::WithSimd`] operation `$op` whose `with_simd` calls the
/// `#[inline(always)]` body `$body` with its fields, so that the body is inlined into (and
/// compiled for) each instruction set pulp dispatches to. (A closure passed to `dispatch` is
/// not enough: its `call_once` may stay out of line, compiled for the baseline.)
macro_rules! simd_op {
    ($op:ident { $($field:ident: $ty:ty),* $(,)? } = $body:ident) => {
        struct $op<'a> {
            $($field: $ty,)*
        }
        impl pulp::WithSimd for $op<'_> {
            type Output = ();
            #[inline(always)]
            fn with_simd<S: pulp::Simd>(self, _simd: S) {
                $body($(self.$field),*);
            }
        }
    };
}

simd_op!(ExpShiftedRows { z: &'a mut [f64], len: usize, max: &'a mut [f64], sum: &'a mut [f64] }
    = exp_shifted_rows_body);
simd_op!(ScaleRows {
    z: &'a mut [f64],
    len: usize,
    s: &'a [f64],
    sum: &'a [f64],
    scale: &'a mut [f64],
} = scale_rows_body);
simd_op!(HvpRows {
    e: &'a [f64],
    a: &'a mut [f64],
    len: usize,
    s: &'a [f64],
    sum: &'a [f64],
    pa: &'a mut [f64],
    scale: &'a mut [f64],
} = hvp_rows_body);

/// For the K×B class-major logits `z` (row c, `z[c·B..(c+1)·B]`, holds class c of the B =
/// `len` samples): max[j] ← max_c z_{j,c}, z_{j,c} ← e^{z_{j,c} − max[j]} and
/// sum[j] ← Σ_c e^{z_{j,c} − max[j]} (summed in class order), so that softmax(zⱼ) = zⱼ/sum[j]
/// and logsumexp(zⱼ) = max[j] + ln sum[j]. AVX2 when available.
pub(crate) fn exp_shifted_rows(z: &mut [f64], len: usize, max: &mut [f64], sum: &mut [f64]) {
    pulp::Arch::new().dispatch(ExpShiftedRows { z, len, max, sum });
}

#[inline(always)]
fn exp_shifted_rows_body(z: &mut [f64], len: usize, max: &mut [f64], sum: &mut [f64]) {
    max.fill(f64::NEG_INFINITY);
    for row in z.chunks_exact(len) {
        for (m, &zc) in max.iter_mut().zip(row) {
            // A plain compare (one SIMD max) rather than f64::max: a NaN logit is skipped
            // here but still turns its sample's exponentials and sum into NaN below.
            *m = if zc > *m { zc } else { *m };
        }
    }
    sum.fill(0.0);
    for row in z.chunks_exact_mut(len) {
        for ((zc, &m), total) in row.iter_mut().zip(max.iter()).zip(sum.iter_mut()) {
            *zc = exp_nonpositive(*zc - m);
            *total += *zc;
        }
    }
}

/// The gradient residuals from the exponentials of [`exp_shifted_rows`]: scale[j] ←
/// s[j]/sum[j], then every row of `z` (K rows of `len`) is multiplied elementwise by `scale`,
/// giving sⱼ pⱼ,c. AVX2 when available.
pub(crate) fn scale_rows(z: &mut [f64], len: usize, s: &[f64], sum: &[f64], scale: &mut [f64]) {
    pulp::Arch::new().dispatch(ScaleRows {
        z,
        len,
        s,
        sum,
        scale,
    });
}

#[inline(always)]
fn scale_rows_body(z: &mut [f64], len: usize, s: &[f64], sum: &[f64], scale: &mut [f64]) {
    for (sc, (&sj, &sumj)) in scale.iter_mut().zip(s.iter().zip(sum.iter())) {
        *sc = sj / sumj;
    }
    for row in z.chunks_exact_mut(len) {
        for (r, &sc) in row.iter_mut().zip(scale.iter()) {
            *r *= sc;
        }
    }
}

/// The HVP residuals: with eⱼ,c the exponentials of [`exp_shifted_rows`] in `e` and the
/// directional logits aⱼ,c in `a` (both K rows of `len`), pa[j] ← (eⱼᵀaⱼ)/sum[j] = pⱼᵀaⱼ,
/// scale[j] ← s[j]/sum[j] and aⱼ,c ← scale[j]·eⱼ,c·(aⱼ,c − pa[j]). AVX2 when available.
pub(crate) fn hvp_rows(
    e: &[f64],
    a: &mut [f64],
    len: usize,
    s: &[f64],
    sum: &[f64],
    pa: &mut [f64],
    scale: &mut [f64],
) {
    pulp::Arch::new().dispatch(HvpRows {
        e,
        a,
        len,
        s,
        sum,
        pa,
        scale,
    });
}

#[inline(always)]
fn hvp_rows_body(
    e: &[f64],
    a: &mut [f64],
    len: usize,
    s: &[f64],
    sum: &[f64],
    pa: &mut [f64],
    scale: &mut [f64],
) {
    pa.fill(0.0);
    for (erow, arow) in e.chunks_exact(len).zip(a.chunks_exact(len)) {
        for ((dot, &ec), &av) in pa.iter_mut().zip(erow).zip(arow) {
            *dot += ec * av;
        }
    }
    for ((dot, sc), (&sj, &sumj)) in pa
        .iter_mut()
        .zip(scale.iter_mut())
        .zip(s.iter().zip(sum.iter()))
    {
        *dot /= sumj;
        *sc = sj / sumj;
    }
    for (erow, arow) in e.chunks_exact(len).zip(a.chunks_exact_mut(len)) {
        for (((av, &ec), &paj), &sc) in arow.iter_mut().zip(erow).zip(pa.iter()).zip(scale.iter()) {
            *av = sc * ec * (*av - paj);
        }
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp, reason = "exact values: e⁰ = 1 and copied maxima")]
mod tests {
    use super::*;

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// The dispatched loops (AVX2 on a CPU that has it) and the same bodies compiled for the
    /// baseline, called directly, agree bit for bit, on logits spanning the exponential's
    /// whole range (underflow to 0, NaN, ±0, huge negative) and row lengths that are not
    /// multiples of the vector width.
    #[test]
    fn dispatched_loops_match_baseline_bitwise() {
        let k = 5;
        for len in [1, 2, 3, 4, 5, 7, 8, 9, 16, 31, 100] {
            let mut z: Vec<f64> = (0..k * len)
                .map(|i| {
                    let t = i as f64 * 0.618_033_988_749_895;
                    (t.sin() * 40.0) + (t * 3.1).cos() * 1e-3
                })
                .collect();
            z[0] = -750.0; // far below the others: its exponential underflows to 0
            if len > 3 {
                z[len + 2] = f64::NAN;
                z[2 * len + 3] = -0.0;
            }
            let a: Vec<f64> = (0..k * len).map(|i| (i as f64 * 0.37).cos()).collect();
            let s: Vec<f64> = (0..len).map(|j| 0.5 + (j % 3) as f64).collect();

            let (mut z1, mut z2) = (z.clone(), z.clone());
            let (mut max1, mut sum1) = (vec![0.0; len], vec![0.0; len]);
            let (mut max2, mut sum2) = (vec![0.0; len], vec![0.0; len]);
            exp_shifted_rows(&mut z1, len, &mut max1, &mut sum1);
            exp_shifted_rows_body(&mut z2, len, &mut max2, &mut sum2);
            assert_eq!(bits(&z1), bits(&z2));
            assert_eq!(bits(&max1), bits(&max2));
            assert_eq!(bits(&sum1), bits(&sum2));
            // Shifted exponentials are in [0, 1] and sum to at least 1 (the max's own term),
            // except for the NaN sample.
            for &total in sum1.iter().filter(|t| !t.is_nan()) {
                assert!((1.0..=k as f64).contains(&total));
            }

            let (mut a1, mut a2) = (a.clone(), a.clone());
            let (mut pa1, mut sc1) = (vec![0.0; len], vec![0.0; len]);
            let (mut pa2, mut sc2) = (vec![0.0; len], vec![0.0; len]);
            hvp_rows(&z1, &mut a1, len, &s, &sum1, &mut pa1, &mut sc1);
            hvp_rows_body(&z2, &mut a2, len, &s, &sum2, &mut pa2, &mut sc2);
            assert_eq!(bits(&a1), bits(&a2));
            assert_eq!(bits(&pa1), bits(&pa2));
            assert_eq!(bits(&sc1), bits(&sc2));

            scale_rows(&mut z1, len, &s, &sum1, &mut sc1);
            scale_rows_body(&mut z2, len, &s, &sum2, &mut sc2);
            assert_eq!(bits(&z1), bits(&z2));
            assert_eq!(bits(&sc1), bits(&sc2));
            // Each non-NaN column of sⱼpⱼ sums to sⱼ (up to rounding).
            for j in 0..len {
                let total: f64 = (0..k).map(|c| z1[c * len + j]).sum();
                if !total.is_nan() {
                    assert!((total - s[j]).abs() <= 1e-14 * s[j]);
                }
            }
        }
    }

    /// The dispatched exponentials are those of the softmax: e⁰ = 1 exactly for the max, and
    /// within a few ulp of libm over the non-underflowing range [−700, 0].
    #[test]
    fn dispatched_exponentials_match_libm() {
        let xs: Vec<f64> = (0..1000).map(|i| -(i as f64) * 0.7).collect();
        let mut z = xs.clone();
        let (mut max, mut sum) = (vec![0.0; 1000], vec![0.0; 1000]);
        exp_shifted_rows(&mut z, 1000, &mut max, &mut sum);
        // One row: max is the logit itself, so every exponential is e⁰ = 1 exactly.
        assert!(z.iter().all(|&e| e == 1.0));
        assert_eq!(max, xs);
        // Two rows: the second row's exponentials match libm within a few ulp.
        let mut z: Vec<f64> = vec![0.0; 1000];
        z.extend(&xs);
        exp_shifted_rows(&mut z, 1000, &mut max, &mut sum);
        for (j, &x) in xs.iter().enumerate() {
            let (got, want) = (z[1000 + j], x.exp());
            assert!(
                (got - want).abs() <= 4.0 * f64::EPSILON * want,
                "{x}: {got} vs {want}"
            );
            assert_eq!(z[j], 1.0);
        }
    }
}
