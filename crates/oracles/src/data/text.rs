//! Pieces shared by the text readers: how to read the target, file access and number parsing.

use std::path::Path;

use lisse_core::{Error, Result};

/// How a text reader interprets the target of each sample.
///
/// ```
/// use lisse_oracles::data::TargetKind;
/// assert_eq!(TargetKind::default(), TargetKind::Real);
/// assert_eq!(TargetKind::classes(), TargetKind::Classes { n_classes: None });
/// assert_eq!(TargetKind::classes_with(10), TargetKind::Classes { n_classes: Some(10) });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TargetKind {
    /// Real-valued targets (regression), read into [`Targets::Real`](super::Targets::Real).
    #[default]
    Real,
    /// Class labels, read into [`Targets::Classes`](super::Targets::Classes). Labels must be
    /// non-negative integers (`3` and `3.0` are both accepted, `2.5` is not).
    Classes {
        /// The number of classes K; every label must be below it. `None` takes the largest
        /// label plus one, and at least 2.
        n_classes: Option<usize>,
    },
}

impl TargetKind {
    /// Class labels with K inferred from the data (largest label plus one, at least 2).
    pub const fn classes() -> Self {
        TargetKind::Classes { n_classes: None }
    }

    /// Class labels with a known number of classes K.
    pub const fn classes_with(n_classes: usize) -> Self {
        TargetKind::Classes {
            n_classes: Some(n_classes),
        }
    }

    /// Checks a given `n_classes` (at least 2).
    pub(super) fn validate(self) -> Result<()> {
        match self {
            TargetKind::Classes { n_classes: Some(k) } if k < 2 => Err(Error::invalid(
                "n_classes",
                k,
                "at least 2 (or None to infer it from the labels)",
            )),
            _ => Ok(()),
        }
    }
}

/// Reads a whole UTF-8 text file, mapping failures to [`Error::Io`].
pub(super) fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// An [`Error::Parse`].
pub(super) fn parse_error(source_name: &str, line: usize, reason: impl Into<String>) -> Error {
    Error::Parse {
        source_name: source_name.to_owned(),
        line,
        reason: reason.into(),
    }
}

/// Parses a finite floating-point number; the error says what was wrong, naming the field as
/// `what` (for example `"field 3"`).
pub(super) fn parse_finite(field: &str, what: &str) -> std::result::Result<f64, String> {
    if field.is_empty() {
        return Err(format!("{what} is empty; expected a number"));
    }
    match field.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!(
            "{what} is \"{field}\"; remove or impute non-finite values"
        )),
        Err(_) => Err(format!("{what} is \"{field}\", which is not a number")),
    }
}

/// Largest integer magnitude that an `f64` represents exactly (2^53).
const MAX_EXACT_INTEGER: f64 = 9_007_199_254_740_992.0;

/// Parses an integer label written as an integer (`3`, `+1`, `-1`) or as an integral float
/// (`3.0`, `1e1`).
pub(super) fn parse_integer_label(field: &str) -> std::result::Result<i64, String> {
    if field.is_empty() {
        return Err("the label is empty; expected an integer class label".to_owned());
    }
    if let Ok(v) = field.parse::<i64>() {
        return Ok(v);
    }
    match field.parse::<f64>() {
        Ok(v) if v.is_finite() && v.fract() == 0.0 && v.abs() <= MAX_EXACT_INTEGER => Ok(v as i64),
        Ok(_) => Err(format!(
            "the label \"{field}\" is not an integer; class labels must be non-negative integers \
             (read the targets as TargetKind::Real for regression)"
        )),
        Err(_) => Err(format!(
            "the label \"{field}\" is not a number; class labels must be non-negative integers"
        )),
    }
}

/// The number of classes for labels whose maximum is `max_label`: the given K, or the largest
/// label plus one and at least 2.
pub(super) fn infer_n_classes(given: Option<usize>, max_label: usize) -> usize {
    given.unwrap_or_else(|| max_label.saturating_add(1).max(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_parse_as_integers() {
        assert_eq!(parse_integer_label("3"), Ok(3));
        assert_eq!(parse_integer_label("+1"), Ok(1));
        assert_eq!(parse_integer_label("-1"), Ok(-1));
        assert_eq!(parse_integer_label("4.0"), Ok(4));
        assert!(
            parse_integer_label("2.5")
                .unwrap_err()
                .contains("not an integer")
        );
        assert!(
            parse_integer_label("abc")
                .unwrap_err()
                .contains("not a number")
        );
        assert!(parse_integer_label("nan").is_err());
        assert!(parse_integer_label("1e300").is_err());
        assert!(parse_integer_label("").is_err());
    }

    #[test]
    fn numbers_must_be_finite() {
        assert_eq!(parse_finite("-1.5e2", "field 1"), Ok(-150.0));
        assert!(
            parse_finite("inf", "field 1")
                .unwrap_err()
                .contains("non-finite")
        );
        assert!(
            parse_finite("NaN", "field 1")
                .unwrap_err()
                .contains("non-finite")
        );
        assert!(
            parse_finite("x", "field 2")
                .unwrap_err()
                .contains("field 2")
        );
        assert!(parse_finite("", "field 2").unwrap_err().contains("empty"));
    }

    #[test]
    fn n_classes_is_inferred_or_given() {
        assert_eq!(infer_n_classes(None, 0), 2);
        assert_eq!(infer_n_classes(None, 9), 10);
        assert_eq!(infer_n_classes(Some(12), 9), 12);
        assert_eq!(infer_n_classes(None, usize::MAX), usize::MAX);
        assert!(TargetKind::classes_with(1).validate().is_err());
        assert!(TargetKind::classes_with(2).validate().is_ok());
        assert!(TargetKind::Real.validate().is_ok());
    }
}
