//! Pieces shared by the text readers: how to read the target, file access and number parsing.

use std::path::Path;

use lisse_core::{Error, Result};

use super::Targets;

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
    /// integers (`3` and `3.0` are both accepted, `2.5` is not).
    ///
    /// With `n_classes: None` the labels are encoded as dense class indices, as a label
    /// encoder does: the K distinct labels in ascending order become classes 0..K−1 (2/4 and
    /// −1/+1 become 0/1, ids 1600000000/1600000001 become 0/1), and
    /// [`Dataset::class_labels`](super::Dataset::class_labels) keeps the original label of each
    /// class. At least two distinct labels are needed.
    Classes {
        /// The number of classes K, when the labels already are class indices 0..K−1 (read
        /// as they are; LIBSVM's binary −1/+1 also reads as 0/1). Give it for a file that may
        /// lack some classes, such as a small test file. `None` encodes the labels found.
        n_classes: Option<usize>,
    },
}

impl TargetKind {
    /// Class labels encoded as dense class indices 0..K−1, K the number of distinct labels.
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

/// Reads a whole UTF-8 text file, mapping failures to [`Error::Io`] and text that is not UTF-8
/// to [`Error::Parse`] with the line and a hint (see [`decode_text`]).
pub(super) fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(e) => Err(decode_error(e.as_bytes(), &path.display().to_string())),
    }
}

/// Decodes bytes as UTF-8 text; the error names the line and column of the first byte that is
/// not UTF-8 and what the file probably is (gzip, UTF-16, Latin-1) with how to convert it.
///
/// # Errors
/// [`Error::Parse`] for bytes that are not UTF-8.
#[cfg(test)]
pub(super) fn decode_text<'a>(bytes: &'a [u8], source_name: &str) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|_| decode_error(bytes, source_name))
}

/// The error for bytes that are not valid UTF-8.
fn decode_error(bytes: &[u8], source_name: &str) -> Error {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return parse_error(
            source_name,
            1,
            "the file is gzip-compressed; decompress it first (for example with gunzip)",
        );
    }
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) || bytes.contains(&0) {
        return parse_error(
            source_name,
            1,
            "the file is UTF-16 encoded or binary (it holds NUL bytes or a UTF-16 byte-order \
             mark); save it as UTF-8 text (for example iconv -f UTF-16 -t UTF-8)",
        );
    }
    let at = std::str::from_utf8(bytes)
        .err()
        .map_or(0, |e| e.valid_up_to());
    let line_start = bytes[..at]
        .iter()
        .rposition(|&b| b == b'\n' || b == b'\r')
        .map_or(0, |i| i + 1);
    let line = 1 + bytes[..line_start]
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')))
        .count();
    parse_error(
        source_name,
        line,
        format!(
            "byte 0x{:02X} at column {} is not valid UTF-8; the file is probably Latin-1 or \
             Windows-1252 encoded: save it as UTF-8 (for example iconv -f LATIN1 -t UTF-8)",
            bytes[at],
            at - line_start + 1
        ),
    )
}

/// Refuses text holding NUL characters, which is UTF-16 (without a byte-order mark) or binary
/// data that happens to be valid UTF-8; the error names the line.
///
/// # Errors
/// [`Error::Parse`] at the line of the first NUL.
pub(super) fn check_no_nul(text: &str, source_name: &str) -> Result<()> {
    let Some(at) = text.find('\0') else {
        return Ok(());
    };
    let line = numbered_lines(&text[..at]).count().max(1);
    Err(parse_error(
        source_name,
        line,
        "the text holds NUL characters: the file is probably UTF-16 encoded or binary; save it \
         as UTF-8 text (for example iconv -f UTF-16 -t UTF-8)",
    ))
}

/// The lines of `text` with their 1-based numbers, split at `\n`, `\r\n` or a lone `\r` (old
/// Mac line endings), so that no line holds a line break.
pub(super) fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let t = rest?;
        match t.find(['\n', '\r']) {
            None => {
                rest = None;
                Some(t)
            }
            Some(i) => {
                let skip = if t[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&t[i + skip..]);
                Some(&t[..i])
            }
        }
    })
    .enumerate()
    .map(|(i, line)| (i + 1, line))
}

/// A field as shown in a message: control characters escaped, at most 40 characters.
pub(super) fn shown(field: &str) -> String {
    let mut out: String = field
        .chars()
        .take(40)
        .flat_map(char::escape_debug)
        .collect();
    if field.chars().nth(40).is_some() {
        out.push_str("...");
    }
    out
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
        return Err(format!(
            "{what} is empty; missing values are not supported: impute or remove them"
        ));
    }
    match field.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err(format!(
            "{what} is \"{}\"; remove or impute non-finite values",
            shown(field)
        )),
        Err(_) if is_quoted(field) => Err(format!(
            "{what} is \"{}\": quoted fields are not supported; write numbers without quotes",
            shown(field)
        )),
        Err(_) => Err(format!(
            "{what} is \"{}\", which is not a number",
            shown(field)
        )),
    }
}

/// Whether a field is wrapped in quotes (`"1.5"` or `'1.5'`).
pub(super) fn is_quoted(field: &str) -> bool {
    field.len() >= 2
        && ((field.starts_with('"') && field.ends_with('"'))
            || (field.starts_with('\'') && field.ends_with('\'')))
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
    let digits = field.strip_prefix(['+', '-']).unwrap_or(field);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "the label \"{}\" is an integer outside the 64-bit range of class labels \
             (|label| < 2^63); map such ids to smaller integers",
            shown(field)
        ));
    }
    match field.parse::<f64>() {
        #[allow(clippy::cast_possible_truncation)]
        Ok(v) if v.is_finite() && v.fract() == 0.0 && v.abs() <= MAX_EXACT_INTEGER => Ok(v as i64),
        Ok(v) if v.is_finite() && v.fract() == 0.0 => Err(format!(
            "the label \"{}\" is too large to read exactly from floating-point notation \
             (|label| > 2^53); write it as an integer",
            shown(field)
        )),
        Ok(_) => Err(format!(
            "the label \"{}\" is not an integer; class labels must be integers \
             (read the targets as TargetKind::Real for regression)",
            shown(field)
        )),
        Err(_) => Err(format!(
            "the label \"{}\" is not a number; class labels must be integers",
            shown(field)
        )),
    }
}

/// Class targets from integer labels (`lines[i]` is the line of `raw[i]`).
///
/// With `n_classes = None` the distinct labels, in ascending order, are encoded as classes
/// 0..K−1 and the encoding is kept in the data set; with `Some(k)` the labels must be class
/// indices in 0..k, or (when `plus_minus_one`, for LIBSVM) the binary labels −1/+1, read as 0/1.
pub(super) fn class_targets(
    raw: &[i64],
    lines: &[usize],
    n_classes: Option<usize>,
    plus_minus_one: bool,
    source_name: &str,
) -> Result<(Targets, Option<Vec<i64>>)> {
    let Some(k) = n_classes else {
        let mut distinct = raw.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() < 2 {
            return Err(Error::invalid(
                "class labels",
                format!(
                    "all {} equal to {}",
                    raw.len(),
                    distinct.first().unwrap_or(&0)
                ),
                "at least two distinct labels to classify; if the file holds only some of the \
                 classes, write them as class indices and give n_classes \
                 (TargetKind::classes_with)",
            ));
        }
        let labels = raw
            .iter()
            .map(|l| distinct.binary_search(l).unwrap_or_default())
            .collect();
        let n_classes = distinct.len();
        return Ok((Targets::Classes { labels, n_classes }, Some(distinct)));
    };
    let binary = plus_minus_one && raw.contains(&-1);
    let mut labels = Vec::with_capacity(raw.len());
    for (&label, &line) in raw.iter().zip(lines) {
        let class = if binary {
            match label {
                -1 => Some(0),
                1 => Some(1),
                _ => None,
            }
        } else {
            usize::try_from(label).ok().filter(|&c| c < k)
        };
        let Some(class) = class.filter(|&c| c < k) else {
            let expected = if binary {
                "-1 or +1, as other labels of the file are -1".to_owned()
            } else {
                format!("a class index in 0..{k} (n_classes = {k})")
            };
            return Err(parse_error(
                source_name,
                line,
                format!(
                    "the label {label} is not {expected}; leave n_classes unset to encode any \
                     integer labels as classes 0..K-1"
                ),
            ));
        };
        labels.push(class);
    }
    Ok((
        Targets::Classes {
            labels,
            n_classes: k,
        },
        None,
    ))
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
        // Issue 6, item 16: a u64-max label was reported as "not an integer".
        let e = parse_integer_label("18446744073709551615").unwrap_err();
        assert!(e.contains("outside the 64-bit range"), "{e}");
        assert!(
            parse_integer_label("1e17")
                .unwrap_err()
                .contains("too large")
        );
        assert!(
            parse_finite("\"1.5\"", "field 1")
                .unwrap_err()
                .contains("quoted")
        );
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
    fn labels_are_encoded_densely_or_read_as_indices() {
        let lines = [1, 2, 3];
        let (t, map) = class_targets(
            &[1_600_000_001, 1_600_000_000, 1_600_000_001],
            &lines,
            None,
            true,
            "t",
        )
        .unwrap();
        assert_eq!(
            t,
            Targets::Classes {
                labels: vec![1, 0, 1],
                n_classes: 2
            }
        );
        assert_eq!(map, Some(vec![1_600_000_000, 1_600_000_001]));
        let (t, _) = class_targets(&[i64::MAX, i64::MIN, 0], &lines, None, true, "t").unwrap();
        assert_eq!(
            t,
            Targets::Classes {
                labels: vec![2, 0, 1],
                n_classes: 3
            }
        );
        let e = class_targets(&[4, 4, 4], &lines, None, true, "t").unwrap_err();
        assert!(e.to_string().contains("two distinct labels"), "{e}");
        let (t, map) = class_targets(&[-1, 1, -1], &lines, Some(2), true, "t").unwrap();
        assert_eq!(
            (t, map),
            (
                Targets::Classes {
                    labels: vec![0, 1, 0],
                    n_classes: 2
                },
                None
            )
        );
        let e = class_targets(&[-1, 0, 1], &lines, Some(2), true, "t").unwrap_err();
        assert!(matches!(e, Error::Parse { line: 2, .. }), "{e}");
        let e = class_targets(&[0, 1, 3], &lines, Some(3), false, "t").unwrap_err();
        assert!(
            matches!(&e, Error::Parse { line: 3, reason, .. } if reason.contains("n_classes = 3")),
            "{e}"
        );

        let e = class_targets(&[-1, 1, 1], &lines, Some(3), false, "t").unwrap_err();
        assert!(matches!(e, Error::Parse { line: 1, .. }), "{e}");
    }

    #[test]
    fn line_endings_and_encodings() {
        let lines: Vec<_> = numbered_lines("a\r\nb\rc\n\nd").collect();
        assert_eq!(lines, [(1, "a"), (2, "b"), (3, "c"), (4, ""), (5, "d")]);
        let e = decode_text(&[0x1f, 0x8b, 8, 0], "f.gz").unwrap_err();
        assert!(e.to_string().contains("gzip"), "{e}");
        let e = decode_text(&[0xff, 0xfe, b'1', 0], "f").unwrap_err();
        assert!(e.to_string().contains("UTF-16"), "{e}");
        let e = decode_text(b"1,2\n3,caf\xe9,1\n", "f").unwrap_err();
        assert!(
            matches!(&e, Error::Parse { line: 2, reason, .. }
                if reason.contains("0xE9 at column 6") && reason.contains("Latin-1")),
            "{e}"
        );
        assert_eq!(shown("a\rb"), "a\\rb");
        let e = check_no_nul("1,2\n3\0,\0", "f").unwrap_err();
        assert!(
            matches!(&e, Error::Parse { line: 2, reason, .. } if reason.contains("UTF-16")),
            "{e}"
        );
        assert!(check_no_nul("1,2\n", "f").is_ok());
    }

    #[test]
    fn n_classes_is_validated() {
        assert!(TargetKind::classes_with(1).validate().is_err());
        assert!(TargetKind::classes_with(2).validate().is_ok());
        assert!(TargetKind::Real.validate().is_ok());
    }
}
