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
/// Each message says what was wrong and how to fix it.
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
        "dimension mismatch in {what}: expected length {expected}, got {got}; \
         allocate the vector with the oracle's dim()"
    )]
    DimensionMismatch {
        /// Which argument was wrong.
        what: String,
        /// The length the callee needs.
        expected: usize,
        /// The length it was given.
        got: usize,
    },
    /// A NaN or infinite number where a finite one is required.
    #[error(
        "non-finite value {value} in {what} at index {index}; remove or impute NaN/inf entries, \
         or lower the step size if an iterate diverged"
    )]
    NonFinite {
        /// Which argument held it.
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
    /// An I/O failure while reading user data.
    #[error("i/o error on {path}: {message}")]
    Io {
        /// The path that failed.
        path: String,
        /// The operating system's message.
        message: String,
    },
}

impl Error {
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

/// Checks that every entry of `values` is finite.
///
/// # Errors
/// [`Error::NonFinite`] naming the first offending index.
pub fn check_finite(what: &str, values: &[f64]) -> Result<()> {
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
    fn errors_are_send_sync_static() {
        fn assert_bounds<T: Send + Sync + 'static + std::error::Error>() {}
        assert_bounds::<Error>();
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
