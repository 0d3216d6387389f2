//! Elementwise vector updates of the solvers' and levels' hot paths, in the widest vectors the
//! CPU has (pulp's runtime dispatch: AVX-512, AVX2 or scalar code). nalgebra's `axpy` walks
//! its operands with run-time strides, one element at a time; these take contiguous slices and
//! let the compiler vectorize. Each element gets the same correctly rounded operations as
//! nalgebra's (no fused multiply-add), so results are the same bits on every instruction set.

use nalgebra::DVector;

/// `y[i] ← f(y[i], x[i])` for every i, the loop compiled for the CPU's widest vectors. A macro,
/// not a function taking a closure: the closure must be inlined into the loop that pulp
/// compiles for each instruction set, which a generic function does not guarantee (measured:
/// `axpy` fell back to scalar code that way).
macro_rules! zip_update {
    ($y:expr, $x:expr, |$yi:ident, $xi:ident| $f:expr) => {{
        let (y, x): (&mut DVector<f64>, &DVector<f64>) = ($y, $x);
        debug_assert_eq!(y.len(), x.len());
        let (y, x) = (y.as_mut_slice(), x.as_slice());
        pulp::Arch::new().dispatch(
            #[inline(always)]
            || {
                for (y, &$xi) in y.iter_mut().zip(x) {
                    let $yi = *y;
                    *y = $f;
                }
            },
        );
    }};
}

/// y ← a·x + b·y elementwise: nalgebra's `y.axpy(a, x, b)` for b ≠ 0 (which computes
/// (a·xᵢ)·1 + b·yᵢ), the same bits. Lengths must agree (debug assertion; the callers own
/// both vectors at one dimension).
pub(crate) fn axpy(y: &mut DVector<f64>, a: f64, x: &DVector<f64>, b: f64) {
    zip_update!(y, x, |yi, xi| a * xi + b * yi);
}

/// y ← y − x elementwise (nalgebra's `y -= x`, the same bits).
pub(crate) fn sub_assign(y: &mut DVector<f64>, x: &DVector<f64>) {
    zip_update!(y, x, |yi, xi| yi - xi);
}

/// y ← x − y elementwise (the same bits as `x - y`).
pub(crate) fn reverse_sub_assign(y: &mut DVector<f64>, x: &DVector<f64>) {
    zip_update!(y, x, |yi, xi| xi - yi);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same bits as nalgebra's updates, on lengths that leave vector tails.
    #[test]
    fn updates_equal_nalgebra_bitwise() {
        for n in [0, 1, 7, 8, 9, 65, 1000] {
            let x = DVector::from_fn(n, |i, _| ((i as f64) * 0.37).sin() * 1e3);
            let y0 = DVector::from_fn(n, |i, _| ((i as f64) * 0.11).cos() / 7.0);
            for (a, b) in [(-0.3, 1.0), (0.01, 1.0 / 64.0), (1e-300, 3.0)] {
                let (mut y1, mut y2) = (y0.clone(), y0.clone());
                y1.axpy(a, &x, b);
                axpy(&mut y2, a, &x, b);
                assert!(y1.iter().zip(&y2).all(|(p, q)| p.to_bits() == q.to_bits()));
            }
            let (mut y1, mut y2) = (y0.clone(), y0.clone());
            y1 -= &x;
            sub_assign(&mut y2, &x);
            assert!(y1.iter().zip(&y2).all(|(p, q)| p.to_bits() == q.to_bits()));
            let (y1, mut y2) = (&x - &y0, y0.clone());
            reverse_sub_assign(&mut y2, &x);
            assert!(y1.iter().zip(&y2).all(|(p, q)| p.to_bits() == q.to_bits()));
        }
    }
}
