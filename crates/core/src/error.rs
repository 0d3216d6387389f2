//! The one error type of the workspace.
//!
//! Every public function that can be handed bad input returns [`Result<T>`](Result) instead of
//! panicking. Paper crates wrap [`Error`] in their own enums with
//! `#[error(transparent)] Core(#[from] lisse_core::Error)`.

use std::fmt;

/// Result alias used throughout lisse.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when a user hands lisse a problem, a point or a parameter.
///
/// Each message says what was wrong and how to fix it. The `what` field of
/// [`DimensionMismatch`](Error::DimensionMismatch) and [`NonFinite`](Error::NonFinite) names the
/// place, optionally followed by `"; "` and the fix that fits that place (built by
/// [`Error::dimension_hint`], [`check_dim_hint`] and [`check_finite_hint`]); without one the
/// message ends with the hint for the common place, an oracle's or a solver's vector.
///
/// ```
/// use lisse_core::Error;
/// let e = Error::dimension("gradient buffer", 3, 4);
/// assert_eq!(
///     e.to_string(),
///     "dimension mismatch in gradient buffer: expected length 3, got 4; \
///      allocate the vector with the oracle's dim()"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A vector or matrix has the wrong shape.
    #[error(
        "dimension mismatch in {}: expected length {expected}, got {got}; {}",
        place(what),
        hint(what, DIMENSION_HINT)
    )]
    DimensionMismatch {
        /// Which argument was wrong, optionally followed by `"; "` and how to fix it.
        what: String,
        /// The length the callee needs.
        expected: usize,
        /// The length it was given.
        got: usize,
    },
    /// A NaN or infinite number where a finite one is required.
    #[error(
        "non-finite value {value} in {} at index {index}; {}",
        place(what),
        hint(what, NON_FINITE_HINT)
    )]
    NonFinite {
        /// Which argument held it, optionally followed by `"; "` and how to fix it.
        what: String,
        /// Its position (0 for scalars).
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// A parameter outside its allowed range.
    #[error("invalid parameter {name} = {value}: must be {allowed}")]
    InvalidParameter {
        /// The parameter's name as it appears in the API.
        name: String,
        /// Its value, printed.
        value: String,
        /// The allowed range, in words (`"in (0, 1]"`, `"a positive integer"`).
        allowed: String,
    },
    /// The constraints admit no point, or the data admit no model.
    #[error("infeasible problem: {reason}")]
    Infeasible {
        /// Why, and what to relax.
        reason: String,
    },
    /// Malformed input data (a file or a byte stream).
    #[error("could not parse {source_name} at line {line}: {reason}")]
    Parse {
        /// File name or a description of the stream.
        source_name: String,
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        reason: String,
    },
    /// A run that could never end: its only stopping rule watches a count that does not move.
    #[error("the run cannot end under the rule {rule}: {reason}")]
    Stalled {
        /// The stopping rule, as configured.
        rule: String,
        /// What did not move, and what to set instead.
        reason: String,
    },
    /// A dense allocation the input asks for exceeds a stated memory limit (checked before
    /// allocating, so that it is an error and not an abort).
    #[error(
        "{what} needs {bytes} bytes ({:.1} GiB), over the limit of {limit} bytes ({:.1} GiB); {remedy}",
        gib(*bytes),
        gib(*limit)
    )]
    TooLarge {
        /// What would be allocated, with its shape.
        what: String,
        /// The bytes it needs.
        bytes: u128,
        /// The limit in force.
        limit: u128,
        /// How to raise the limit or avoid the allocation.
        remedy: String,
    },
    /// An I/O failure while reading user data.
    #[error("i/o error on {path}: {message}")]
    Io {
        /// The path that failed.
        path: String,
        /// The operating system's message.
        message: String,
    },
}

/// The fix for a dimension mismatch at an oracle's or a solver's vector, the common place.
const DIMENSION_HINT: &str = "allocate the vector with the oracle's dim()";

/// The fix for a non-finite entry at an oracle's or a solver's vector, the common place.
const NON_FINITE_HINT: &str =
    "if the point is an iterate, the run diverged: lower the step size or check the gradient";

/// Bytes in GiB, for messages.
#[allow(clippy::cast_precision_loss)]
fn gib(bytes: u128) -> f64 {
    bytes as f64 / f64::from(1u32 << 30)
}

/// The place named by a `what` field: the part before `"; "`.
fn place(what: &str) -> &str {
    what.split_once("; ").map_or(what, |(place, _)| place)
}

/// The fix named by a `what` field (the part after `"; "`), or the default one.
fn hint<'a>(what: &'a str, default: &'a str) -> &'a str {
    what.split_once("; ").map_or(default, |(_, hint)| hint)
}

impl Error {
    /// A [`Error::DimensionMismatch`] with a fix that fits the place (the default hint is for
    /// an oracle's vector).
    ///
    /// ```
    /// use lisse_core::Error;
    /// let e = Error::dimension_hint("box upper bounds", 2, 3, "give one bound per coordinate");
    /// assert_eq!(
    ///     e.to_string(),
    ///     "dimension mismatch in box upper bounds: expected length 2, got 3; \
    ///      give one bound per coordinate"
    /// );
    /// ```
    pub fn dimension_hint(what: &str, expected: usize, got: usize, hint: &str) -> Self {
        Error::DimensionMismatch {
            what: format!("{what}; {hint}"),
            expected,
            got,
        }
    }

    /// The place this error names (`what` without its hint), for variants that have one.
    pub fn place(&self) -> Option<&str> {
        match self {
            Error::DimensionMismatch { what, .. } | Error::NonFinite { what, .. } => {
                Some(place(what))
            }
            _ => None,
        }
    }

    /// A [`Error::DimensionMismatch`].
    pub fn dimension(what: impl Into<String>, expected: usize, got: usize) -> Self {
        Error::DimensionMismatch {
            what: what.into(),
            expected,
            got,
        }
    }

    /// An [`Error::InvalidParameter`]; `value` is printed with `Display`.
    pub fn invalid(
        name: impl Into<String>,
        value: impl fmt::Display,
        allowed: impl Into<String>,
    ) -> Self {
        Error::InvalidParameter {
            name: name.into(),
            value: value.to_string(),
            allowed: allowed.into(),
        }
    }

    /// An [`Error::Infeasible`].
    pub fn infeasible(reason: impl Into<String>) -> Self {
        Error::Infeasible {
            reason: reason.into(),
        }
    }
}

/// Checks that `got == expected`, naming the argument in the error.
///
/// # Errors
/// [`Error::DimensionMismatch`] when the lengths differ.
#[inline]
pub fn check_dim(what: &str, expected: usize, got: usize) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(Error::dimension(what, expected, got))
    }
}

/// Checks that `got == expected`, with a fix that fits the place in the error.
///
/// # Errors
/// [`Error::DimensionMismatch`] when the lengths differ.
#[inline]
pub fn check_dim_hint(what: &str, expected: usize, got: usize, hint: &str) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(Error::dimension_hint(what, expected, got, hint))
    }
}

/// Whether every entry of `values` is finite, in one branch-free vectorized pass: 0·v is ±0 for
/// finite v and NaN for NaN or ±∞, and a sum of ±0 is ±0 while NaN propagates, so Σ 0·vᵢ = 0
/// exactly when every vᵢ is finite, whatever order the sum takes. The checks below run it first
/// and search for the first offending index only when it fails; on the finite path (every
/// oracle output of every iteration) it costs about one cycle per 8–16 entries instead of one
/// per entry. Public for callers that build their error message only on failure.
///
/// The loop runs in four independent SIMD accumulators compiled once per instruction set
/// through pulp's run-time dispatch (AVX-512, AVX2 or the portable baseline), so the fast path
/// does not depend on `-C target-cpu`. Measured on the 2-vCPU Xeon (AVX-512), 1,000 entries:
/// 55 ns, against 210 ns for the autovectorized bit test it replaces.
#[inline]
pub fn all_finite(values: &[f64]) -> bool {
    pulp::Arch::new().dispatch(AllFinite(values))
}

/// [`all_finite`]'s loop, monomorphized per instruction set by [`pulp::Arch::dispatch`].
struct AllFinite<'a>(&'a [f64]);

impl pulp::WithSimd for AllFinite<'_> {
    type Output = bool;

    // Inlined into pulp's per-instruction-set wrapper, or it would be compiled for the baseline.
    #[allow(clippy::inline_always)]
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) -> bool {
        let (head, tail) = S::as_simd_f64s(self.0);
        let zero = simd.splat_f64s(0.0);
        let mut acc = [zero; 4];
        let mut quads = head.chunks_exact(4);
        for quad in &mut quads {
            for (a, &v) in acc.iter_mut().zip(quad) {
                *a = simd.add_f64s(*a, simd.mul_f64s(zero, v));
            }
        }
        for &v in quads.remainder() {
            acc[0] = simd.add_f64s(acc[0], simd.mul_f64s(zero, v));
        }
        let lanes = simd.add_f64s(simd.add_f64s(acc[0], acc[1]), simd.add_f64s(acc[2], acc[3]));
        let rest: f64 = tail.iter().map(|v| 0.0 * v).sum();
        simd.reduce_sum_f64s(lanes) + rest == 0.0
    }
}

/// Checks that every entry of `values` is finite, with a fix that fits the place in the error
/// (for data: `"remove or impute NaN/inf entries"`).
///
/// # Errors
/// [`Error::NonFinite`] naming the first offending index.
pub fn check_finite_hint(what: &str, values: &[f64], hint: &str) -> Result<()> {
    if all_finite(values) {
        return Ok(());
    }
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(Error::NonFinite {
            what: format!("{what}; {hint}"),
            index,
            value: values[index],
        }),
    }
}

/// Checks that every entry of `values` is finite.
///
/// # Errors
/// [`Error::NonFinite`] naming the first offending index.
pub fn check_finite(what: &str, values: &[f64]) -> Result<()> {
    if all_finite(values) {
        return Ok(());
    }
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(Error::NonFinite {
            what: what.into(),
            index,
            value: values[index],
        }),
    }
}

/// Checks that a scalar parameter is finite and lies in `[lo, hi]` (an infinite bound leaves that end open).
///
/// # Errors
/// [`Error::InvalidParameter`] when `value` is NaN or outside the range.
pub fn check_range(name: &str, value: f64, lo: f64, hi: f64) -> Result<()> {
    if value.is_finite() && (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(Error::invalid(
            name,
            value,
            format!("a finite number in [{lo}, {hi}]"),
        ))
    }
}

/// Checks that a scalar parameter is finite and strictly positive.
///
/// # Errors
/// [`Error::InvalidParameter`] otherwise.
pub fn check_positive(name: &str, value: f64) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(name, value, "a finite number > 0"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_finite_agrees_with_is_finite_at_every_position_and_length() {
        // Every length up to past two quads of AVX-512 registers, one bad value at every
        // position, of every kind (including the largest finite number and a subnormal, which
        // must pass), on the dispatched path and on the scalar and AVX2 paths.
        use pulp::WithSimd;
        let paths = |v: &[f64]| {
            let mut out = vec![all_finite(v), AllFinite(v).with_simd(pulp::Scalar::new())];
            #[cfg(target_arch = "x86_64")]
            if let Some(v3) = pulp::x86::V3::try_new() {
                out.push(v3.vectorize(|| AllFinite(v).with_simd(v3)));
            }
            out
        };
        let bad = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -f64::NAN];
        for n in 0..=70 {
            let mut v: Vec<f64> = (0..n)
                .map(|i| f64::MAX * if i % 2 == 0 { 1.0 } else { -1.0 })
                .collect();
            if n > 0 {
                v[n / 2] = 5e-324;
            }
            assert!(paths(&v).iter().all(|&ok| ok), "n = {n}");
            assert!(check_finite("v", &v).is_ok());
            for i in 0..n {
                for b in bad {
                    let old = v[i];
                    v[i] = b;
                    assert!(paths(&v).iter().all(|&ok| !ok), "n = {n}, i = {i}, {b}");
                    match check_finite("v", &v) {
                        Err(Error::NonFinite { index, .. }) => assert_eq!(index, i),
                        other => panic!("n = {n}, i = {i}: {other:?}"),
                    }
                    v[i] = old;
                }
            }
        }
    }

    #[test]
    fn errors_are_send_sync_static() {
        fn assert_bounds<T: Send + Sync + 'static + std::error::Error>() {}
        assert_bounds::<Error>();
    }

    #[test]
    fn hints_fit_the_place() {
        // Issue 6, item 12: every dimension error ended with the oracle's dim() and every
        // non-finite one with the step size, also for data.
        let e = Error::dimension("gradient buffer", 3, 4).to_string();
        assert!(
            e.ends_with("allocate the vector with the oracle's dim()"),
            "{e}"
        );
        let e = check_dim_hint("targets", 3, 2, "give one target per sample").unwrap_err();
        assert_eq!(
            e.to_string(),
            "dimension mismatch in targets: expected length 3, got 2; give one target per sample"
        );
        assert_eq!(e.place(), Some("targets"));
        assert!(!e.to_string().contains("dim()"));
        let e = check_finite_hint("features", &[0.0, f64::NAN], "impute them").unwrap_err();
        assert_eq!(
            e.to_string(),
            "non-finite value NaN in features at index 1; impute them"
        );
        assert!(matches!(e, Error::NonFinite { index: 1, .. }));
        let e = check_finite("iterate", &[f64::INFINITY])
            .unwrap_err()
            .to_string();
        assert!(e.contains("step size") && !e.contains("impute"), "{e}");
        assert!(check_dim_hint("x", 1, 1, "h").is_ok());
        assert!(check_finite_hint("x", &[1.0], "h").is_ok());
        let e = Error::TooLarge {
            what: "features".into(),
            bytes: 3 << 30,
            limit: 1 << 30,
            remedy: "raise the limit".into(),
        };
        assert_eq!(
            e.to_string(),
            "features needs 3221225472 bytes (3.0 GiB), over the limit of 1073741824 bytes \
             (1.0 GiB); raise the limit"
        );
    }

    #[test]
    fn helpers_reject_bad_input() {
        assert!(matches!(
            check_dim("x", 2, 3),
            Err(Error::DimensionMismatch {
                expected: 2,
                got: 3,
                ..
            })
        ));
        assert!(check_dim("x", 2, 2).is_ok());
        let e = check_finite("features", &[1.0, f64::NAN]).unwrap_err();
        assert!(matches!(e, Error::NonFinite { index: 1, .. }));
        assert!(e.to_string().contains("features"));
        assert!(check_range("beta", 1.5, 0.0, 1.0).is_err());
        assert!(check_range("beta", f64::NAN, 0.0, 1.0).is_err());
        assert!(check_range("beta", 0.5, 0.0, 1.0).is_ok());
        assert!(check_positive("step", 0.0).is_err());
        assert!(check_positive("step", f64::INFINITY).is_err());
        let msg = check_positive("step", -1.0).unwrap_err().to_string();
        assert_eq!(
            msg,
            "invalid parameter step = -1: must be a finite number > 0"
        );
    }
}
