//! Small vector kernels of the learners' hot loops.
//!
//! A plain `iter().sum()` of f64 is one dependency chain (one add per ~4 cycles of latency);
//! these kernels keep 4 independent partial sums (two SSE2 registers; more spill in the fused
//! kernel) over fixed chunks, combined in a fixed order,
//! so they vectorize and stay deterministic.

use lisse_core::{Result, check_finite};

const LANES: usize = 4;

/// Σᵢ (aᵢ − bᵢ)², with 4 partial sums.
pub(crate) fn sum_sq_diff(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..LANES {
            let d = x[k] - y[k];
            acc[k] += d * d;
        }
    }
    let mut tail = 0.0;
    for (x, y) in ra.iter().zip(rb) {
        tail += (x - y) * (x - y);
    }
    combine(&acc) + tail
}

/// out ← base − η·v, returning Σᵢ (outᵢ − cᵢ)², in one pass (c: the ball's centre).
pub(crate) fn step_and_sq_dist(
    base: &[f64],
    eta: f64,
    v: &[f64],
    center: &[f64],
    out: &mut [f64],
) -> f64 {
    let mut acc = [0.0; LANES];
    let n = out.len() - out.len() % LANES;
    let (head, tail) = out.split_at_mut(n);
    for (((o, x), g), c) in head
        .chunks_exact_mut(LANES)
        .zip(base.chunks_exact(LANES))
        .zip(v.chunks_exact(LANES))
        .zip(center.chunks_exact(LANES))
    {
        for k in 0..LANES {
            o[k] = x[k] - eta * g[k];
            let d = o[k] - c[k];
            acc[k] += d * d;
        }
    }
    let mut rest = 0.0;
    for (i, o) in tail.iter_mut().enumerate() {
        *o = base[n + i] - eta * v[n + i];
        let d = *o - center[n + i];
        rest += d * d;
    }
    combine(&acc) + rest
}

/// x ← x − η·v, returning Σᵢ (xᵢ − cᵢ)², in one pass.
pub(crate) fn step_in_place_and_sq_dist(x: &mut [f64], eta: f64, v: &[f64], center: &[f64]) -> f64 {
    let mut acc = [0.0; LANES];
    let n = x.len() - x.len() % LANES;
    let (head, tail) = x.split_at_mut(n);
    for ((o, g), c) in head
        .chunks_exact_mut(LANES)
        .zip(v.chunks_exact(LANES))
        .zip(center.chunks_exact(LANES))
    {
        for k in 0..LANES {
            o[k] -= eta * g[k];
            let d = o[k] - c[k];
            acc[k] += d * d;
        }
    }
    let mut rest = 0.0;
    for (i, o) in tail.iter_mut().enumerate() {
        *o -= eta * v[n + i];
        let d = *o - center[n + i];
        rest += d * d;
    }
    combine(&acc) + rest
}

/// The fused update half-step on a ball: out ← base − η·g, last ← g, returning
/// (Σ(outᵢ − cᵢ)², Σ(gᵢ − hᵢ)²) in one pass. With a finite hint, the second sum is non-finite
/// whenever g is (NaN and ±∞ propagate), so it doubles as the finiteness probe of g.
pub(crate) fn fused_update(
    base: &[f64],
    eta: f64,
    g: &[f64],
    hint: &[f64],
    center: &[f64],
    out: &mut [f64],
    last: &mut [f64],
) -> (f64, f64) {
    let (mut sq, mut res) = ([0.0; LANES], [0.0; LANES]);
    let n = out.len() - out.len() % LANES;
    let (out_head, out_tail) = out.split_at_mut(n);
    let (last_head, last_tail) = last.split_at_mut(n);
    for (((((o, l), x), gg), h), c) in out_head
        .chunks_exact_mut(LANES)
        .zip(last_head.chunks_exact_mut(LANES))
        .zip(base.chunks_exact(LANES))
        .zip(g.chunks_exact(LANES))
        .zip(hint.chunks_exact(LANES))
        .zip(center.chunks_exact(LANES))
    {
        for k in 0..LANES {
            o[k] = x[k] - eta * gg[k];
            l[k] = gg[k];
            let d = o[k] - c[k];
            sq[k] += d * d;
            let r = gg[k] - h[k];
            res[k] += r * r;
        }
    }
    let (mut sq_t, mut res_t) = (0.0, 0.0);
    for (i, (o, l)) in out_tail.iter_mut().zip(last_tail.iter_mut()).enumerate() {
        let j = n + i;
        *o = base[j] - eta * g[j];
        *l = g[j];
        let d = *o - center[j];
        sq_t += d * d;
        let r = g[j] - hint[j];
        res_t += r * r;
    }
    (combine(&sq) + sq_t, combine(&res) + res_t)
}

/// Like [`lisse_core::check_finite`], but one vectorizable pass on the common (finite) path:
/// Σ 0·vᵢ is NaN exactly when some vᵢ is NaN or ±∞.
pub(crate) fn check_finite_fast(what: &str, v: &[f64]) -> Result<()> {
    let mut acc = [0.0; LANES];
    let chunks = v.chunks_exact(LANES);
    let rest = chunks.remainder();
    for x in chunks {
        for k in 0..LANES {
            acc[k] += 0.0 * x[k];
        }
    }
    let total = combine(&acc) + rest.iter().map(|x| 0.0 * x).sum::<f64>();
    if total == 0.0 {
        Ok(())
    } else {
        check_finite(what, v)
    }
}

fn combine(acc: &[f64; LANES]) -> f64 {
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_match_plain_loops() {
        for n in [0, 1, 7, 8, 9, 17, 100] {
            let a: Vec<f64> = (0..n).map(|i| (i as f64 * 0.3).sin()).collect();
            let b: Vec<f64> = (0..n).map(|i| (i as f64 * 0.7).cos()).collect();
            let c: Vec<f64> = (0..n).map(|i| 0.1 * i as f64).collect();
            let plain: f64 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
            assert!((sum_sq_diff(&a, &b) - plain).abs() <= 1e-12 * (1.0 + plain));
            let mut out = vec![0.0; n];
            let s = step_and_sq_dist(&a, 0.5, &b, &c, &mut out);
            let mut x = a.clone();
            let s2 = step_in_place_and_sq_dist(&mut x, 0.5, &b, &c);
            let expect: Vec<f64> = a.iter().zip(&b).map(|(x, g)| x - 0.5 * g).collect();
            assert_eq!(out, expect);
            assert_eq!(x, expect);
            let plain: f64 = expect.iter().zip(&c).map(|(o, c)| (o - c) * (o - c)).sum();
            assert!((s - plain).abs() <= 1e-12 * (1.0 + plain));
            assert_eq!(s.to_bits(), s2.to_bits());
            let (mut o2, mut last) = (vec![0.0; n], vec![0.0; n]);
            let (sq, res) = fused_update(&a, 0.5, &b, &c, &c, &mut o2, &mut last);
            assert_eq!(o2, expect);
            assert_eq!(last, b);
            assert!((sq - plain).abs() <= 1e-12 * (1.0 + plain));
            let plain_res: f64 = b.iter().zip(&c).map(|(x, y)| (x - y) * (x - y)).sum();
            assert!((res - plain_res).abs() <= 1e-12 * (1.0 + plain_res));
            if n > 0 {
                let mut bad = b.clone();
                bad[0] = f64::INFINITY;
                let (_, res) = fused_update(&a, 0.5, &bad, &c, &c, &mut o2, &mut last);
                assert!(!res.is_finite());
                bad[0] = f64::NAN;
                let (_, res) = fused_update(&a, 0.5, &bad, &c, &c, &mut o2, &mut last);
                assert!(res.is_nan());
            }
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
