//! A reader for the sparse LIBSVM (`SVMlight`) text format, into dense features.

use std::path::Path;

use nalgebra::{DMatrix, DVector};

use lisse_core::{Error, Result};

use super::dataset::{DEFAULT_MAX_DENSE_BYTES, check_dense_size};
use super::text::{
    check_no_nul, class_targets, numbered_lines, parse_error, parse_finite, parse_integer_label,
    read_text, shown,
};
use super::{Dataset, TargetKind, Targets};

/// Options for [`read_libsvm`] and [`parse_libsvm`].
///
/// The default infers the number of features from the largest index seen and reads real
/// targets. Set fields directly or chain the builder methods:
///
/// ```
/// use lisse_oracles::data::{LibsvmOptions, TargetKind};
/// let options = LibsvmOptions::new().n_features(123).target_kind(TargetKind::classes());
/// assert_eq!(options.n_features, Some(123));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct LibsvmOptions {
    /// The number of features d; `None` (the default) takes the largest index seen. Give it
    /// when reading a test file whose largest features may be absent, so that train and test
    /// data have the same width.
    pub n_features: Option<usize>,
    /// How to read the labels (default [`TargetKind::Real`]).
    pub target_kind: TargetKind,
    /// The most memory the dense d×n feature matrix may take, in bytes (default
    /// [`DEFAULT_MAX_DENSE_BYTES`], 4 GiB). A file shaped like news20 (1,355,191 features)
    /// would need hundreds of GB densely: it is refused with [`Error::TooLarge`] before
    /// anything is allocated. Raise the limit when the machine has the memory.
    pub max_dense_bytes: usize,
}

impl Default for LibsvmOptions {
    fn default() -> Self {
        Self {
            n_features: None,
            target_kind: TargetKind::Real,
            max_dense_bytes: DEFAULT_MAX_DENSE_BYTES,
        }
    }
}

impl LibsvmOptions {
    /// The default options (see [`LibsvmOptions`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the number of features.
    #[must_use]
    pub fn n_features(mut self, n_features: usize) -> Self {
        self.n_features = Some(n_features);
        self
    }

    /// Sets how to read the labels.
    #[must_use]
    pub fn target_kind(mut self, target_kind: TargetKind) -> Self {
        self.target_kind = target_kind;
        self
    }

    /// Sets the most memory the dense feature matrix may take, in bytes.
    #[must_use]
    pub fn max_dense_bytes(mut self, max_dense_bytes: usize) -> Self {
        self.max_dense_bytes = max_dense_bytes;
        self
    }
}

/// Reads a LIBSVM-format file into a dense [`Dataset`].
///
/// See [`parse_libsvm`] for the format; the file's path is the source name in parse errors.
///
/// ```
/// use lisse_oracles::data::{LibsvmOptions, TargetKind, read_libsvm};
/// let path = std::env::temp_dir().join(format!("lisse-doc-read-libsvm-{}.txt", std::process::id()));
/// std::fs::write(&path, "+1 1:0.5 3:2\n-1 2:1.5\n").unwrap();
/// let data = read_libsvm(&path, &LibsvmOptions::new().target_kind(TargetKind::classes()))?;
/// assert_eq!((data.n_features(), data.n_samples()), (3, 2));
/// assert_eq!(data.labels(), Some(&[1, 0][..]));
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), lisse_core::Error>(())
/// ```
///
/// # Errors
/// [`Error::Io`] when the file cannot be read (missing, unreadable, not UTF-8), and the errors
/// of [`parse_libsvm`].
pub fn read_libsvm(path: impl AsRef<Path>, options: &LibsvmOptions) -> Result<Dataset> {
    let path = path.as_ref();
    let text = read_text(path)?;
    parse_libsvm(&text, &path.display().to_string(), options)
}

/// Parses LIBSVM-format text into a dense [`Dataset`] (d×n, absent entries are 0).
///
/// Each non-blank line is `label index:value index:value ...`, with whitespace-separated
/// tokens and 1-based, strictly increasing feature indices; anything after a `#` is a comment.
/// A line with only a label is a sample whose features are all zero.
///
/// Labels: with [`TargetKind::Real`] any finite number. With [`TargetKind::Classes`] they
/// must be integers, encoded as classes 0..K−1 in ascending order (−1/+1 and 0/1 become 0/1,
/// breast-cancer's 2/4 become 0/1, 1-based multiclass labels 1..K become 0..K−1); the original
/// labels are kept in [`Dataset::class_labels`]. With a given `n_classes` the labels are class
/// indices 0..K−1 as they are, or binary −1/+1 read as 0/1.
///
/// The features are stored densely; a shape over [`LibsvmOptions::max_dense_bytes`] is refused
/// before allocating.
///
/// ```
/// use lisse_oracles::data::{LibsvmOptions, TargetKind, parse_libsvm};
/// let text = "-1 1:0.5 4:1\n+1 2:-1.0  # a comment\n+1\n";
/// let data = parse_libsvm(text, "inline", &LibsvmOptions::new().target_kind(TargetKind::classes()))?;
/// assert_eq!((data.n_features(), data.n_samples()), (4, 3));
/// assert_eq!(data.sample(0)?.as_slice(), &[0.5, 0.0, 0.0, 1.0]);
/// assert_eq!(data.labels(), Some(&[0, 1, 1][..]));
/// assert_eq!(data.n_classes(), Some(2));
/// assert_eq!(data.class_labels(), Some(&[-1, 1][..]));
/// # Ok::<(), lisse_core::Error>(())
/// ```
///
/// # Errors
/// - [`Error::Parse`] with the 1-based line number for a token that is not `index:value`, an
///   index that is 0, not an integer, not above the previous one or above a given
///   `n_features`, a `qid:` field, a value or label that is not a finite number, a class label
///   that is not an integer or not a class index below a given `n_classes`, or text with no
///   samples;
/// - [`Error::InvalidParameter`] for `n_features = Some(0)`, `n_classes < 2`, a file with no
///   feature entries when `n_features` is not given, or class labels that are all equal;
/// - [`Error::TooLarge`] when the dense d×n matrix would exceed `max_dense_bytes`.
pub fn parse_libsvm(text: &str, source_name: &str, options: &LibsvmOptions) -> Result<Dataset> {
    options.target_kind.validate()?;
    if options.n_features == Some(0) {
        return Err(Error::invalid(
            "n_features",
            0,
            "at least 1 (or None to infer it from the indices)",
        ));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    check_no_nul(text, source_name)?;
    // Sparse entries (feature row, value), sample by sample; sample j owns starts[j]..starts[j+1].
    let mut entries: Vec<(usize, f64)> = Vec::new();
    let mut starts: Vec<usize> = vec![0];
    let mut lines: Vec<usize> = Vec::new();
    let mut real: Vec<f64> = Vec::new();
    let mut raw_labels: Vec<i64> = Vec::new();
    let mut max_index = 0;
    let mut last_line = 0;
    for (line_no, raw) in numbered_lines(text) {
        last_line = line_no;
        let content = raw.split_once('#').map_or(raw, |(data, _)| data);
        let mut tokens = content.split_whitespace();
        let Some(label) = tokens.next() else { continue };
        let err = |reason: String| parse_error(source_name, line_no, reason);
        match options.target_kind {
            TargetKind::Real => real.push(parse_finite(label, "the label").map_err(err)?),
            TargetKind::Classes { .. } => raw_labels.push(parse_integer_label(label).map_err(err)?),
        }
        let mut previous = 0;
        for token in tokens {
            let (index, value) = parse_entry(token, previous, options.n_features).map_err(err)?;
            previous = index;
            entries.push((index - 1, value));
        }
        max_index = max_index.max(previous);
        starts.push(entries.len());
        lines.push(line_no);
    }
    let n = lines.len();
    if n == 0 {
        return Err(parse_error(
            source_name,
            last_line.max(1),
            "no samples (only blank or comment lines)",
        ));
    }
    let d = options.n_features.unwrap_or(max_index);
    if d == 0 {
        return Err(Error::invalid(
            "n_features",
            0,
            "at least 1: the text has no index:value entries, so give n_features explicitly",
        ));
    }
    check_dense_size(
        "the feature matrix",
        d,
        n,
        options.max_dense_bytes,
        &format!(
            "lisse stores features densely (d = {d} from the largest feature index); raise \
             LibsvmOptions::max_dense_bytes if the machine has the memory, or reduce the features \
             (hashed or sparse ids need re-indexing to 1..d)"
        ),
    )?;
    let (targets, class_labels) = match options.target_kind {
        TargetKind::Real => (Targets::Real(DVector::from_vec(real)), None),
        TargetKind::Classes { n_classes } => {
            class_targets(&raw_labels, &lines, n_classes, true, source_name)?
        }
    };
    let mut features = DMatrix::zeros(d, n);
    for (j, window) in starts.windows(2).enumerate() {
        let mut column = features.column_mut(j);
        for &(row, value) in &entries[window[0]..window[1]] {
            column[row] = value;
        }
    }
    let data = Dataset::new(features, targets)?;
    match class_labels {
        Some(labels) => data.with_class_labels(labels),
        None => Ok(data),
    }
}

/// Parses one `index:value` token; `previous` is the previous index on the line (0 at first).
fn parse_entry(
    token: &str,
    previous: usize,
    n_features: Option<usize>,
) -> std::result::Result<(usize, f64), String> {
    let Some((index, value)) = token.split_once(':') else {
        return Err(format!("expected index:value, found \"{}\"", shown(token)));
    };
    if index == "qid" {
        return Err(format!(
            "\"{}\" is a ranking query id (SVMrank format), which lisse does not read; remove \
             the qid:... fields",
            shown(token)
        ));
    }
    let index: usize = index.parse().map_err(|_| {
        if !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) {
            format!(
                "the feature index {} in \"{}\" is too large (more than {} features); \
                 re-index hashed or sparse feature ids to 1..d",
                shown(index),
                shown(token),
                usize::MAX
            )
        } else {
            format!(
                "the feature index \"{}\" in \"{}\" is not a positive integer",
                shown(index),
                shown(token)
            )
        }
    })?;
    if index == 0 {
        return Err(format!(
            "feature index 0 in \"{token}\": LIBSVM feature indices are 1-based"
        ));
    }
    if index <= previous {
        return Err(format!(
            "feature indices must strictly increase along a line: {index} comes after {previous}"
        ));
    }
    if let Some(d) = n_features.filter(|&d| index > d) {
        return Err(format!("feature index {index} exceeds n_features = {d}"));
    }
    let value = parse_finite(value, &format!("the value of feature {index}"))?;
    Ok((index, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes() -> LibsvmOptions {
        LibsvmOptions::new().target_kind(TargetKind::classes())
    }

    #[test]
    fn dense_layout_and_real_targets() {
        let data = parse_libsvm("1.5 1:1 3:3\n-2 2:2\n0\n", "t", &LibsvmOptions::new()).unwrap();
        assert_eq!(
            data.features().as_slice(),
            &[1.0, 0.0, 3.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0]
        );
        assert_eq!(data.real_targets().unwrap().as_slice(), &[1.5, -2.0, 0.0]);
    }

    #[test]
    fn label_conventions() {
        let pm = parse_libsvm("-1 1:1\n+1 1:2\n1 1:3\n", "t", &classes()).unwrap();
        assert_eq!(pm.labels(), Some(&[0, 1, 1][..]));
        let zero_one = parse_libsvm("0 1:1\n1 1:2\n", "t", &classes()).unwrap();
        assert_eq!(zero_one.labels(), Some(&[0, 1][..]));
        assert_eq!(zero_one.n_classes(), Some(2));
        let multi = parse_libsvm("3 1:1\n1 1:2\n2.0 1:3\n", "t", &classes()).unwrap();
        assert_eq!(multi.labels(), Some(&[2, 0, 1][..]));
        assert_eq!(multi.n_classes(), Some(3));
        assert_eq!(multi.class_labels(), Some(&[1, 2, 3][..]));
        let k2 = LibsvmOptions::new().target_kind(TargetKind::classes_with(2));
        let only_minus = parse_libsvm("-1 1:1\n", "t", &k2).unwrap();
        assert_eq!(
            (only_minus.labels(), only_minus.n_classes()),
            (Some(&[0][..]), Some(2))
        );
        assert!(parse_libsvm("-1 1:1\n", "t", &classes()).is_err());
        let mixed = parse_libsvm("-1 1:1\n0 1:1\n1 1:1\n", "t", &classes()).unwrap();
        assert_eq!(mixed.labels(), Some(&[0, 1, 2][..]));
    }

    #[test]
    fn label_errors() {
        let k2 = LibsvmOptions::new().target_kind(TargetKind::classes_with(2));
        let e = parse_libsvm("-1 1:1\n0 1:1\n", "t", &k2).unwrap_err();
        assert!(
            matches!(&e, Error::Parse { line: 2, reason, .. } if reason.contains("-1 or +1")),
            "{e}"
        );
        let e = parse_libsvm("1 1:1\n\n-2 1:1\n", "t", &k2).unwrap_err();
        assert!(
            matches!(&e, Error::Parse { line: 3, reason, .. } if reason.contains("0..2")),
            "{e}"
        );
        let e = parse_libsvm("0.5 1:1\n", "t", &classes()).unwrap_err();
        assert!(
            matches!(&e, Error::Parse { reason, .. } if reason.contains("not an integer")),
            "{e}"
        );
        let k3 = LibsvmOptions::new().target_kind(TargetKind::classes_with(3));
        let e = parse_libsvm("0 1:1\n3 1:1\n", "t", &k3).unwrap_err();
        assert!(
            matches!(&e, Error::Parse { line: 2, reason, .. } if reason.contains("n_classes = 3")),
            "{e}"
        );
        let e = parse_libsvm("abc 1:1\n", "t", &LibsvmOptions::new()).unwrap_err();
        assert!(matches!(e, Error::Parse { line: 1, .. }));
    }

    #[test]
    fn entry_errors() {
        let cases = [
            ("1 0:1\n", "1-based"),
            ("1 2:1 1:1\n", "strictly increase"),
            ("1 2:1 2:1\n", "strictly increase"),
            ("1 1:x\n", "not a number"),
            ("1 1:nan\n", "non-finite"),
            ("1 a:1\n", "not a positive integer"),
            ("1 -1:1\n", "not a positive integer"),
            ("1 11\n", "index:value"),
            ("1 qid:3 1:1\n", "query id"),
            ("1 123456789012345678901:1\n", "too large"),
        ];
        for (text, needle) in cases {
            let e = parse_libsvm(text, "t", &LibsvmOptions::new()).unwrap_err();
            assert!(
                matches!(&e, Error::Parse { line: 1, reason, .. } if reason.contains(needle)),
                "{text:?}: {e}"
            );
        }
    }

    #[test]
    fn n_features_given() {
        let data = parse_libsvm("1 2:1\n", "t", &LibsvmOptions::new().n_features(5)).unwrap();
        assert_eq!(data.n_features(), 5);
        let e =
            parse_libsvm("1 2:1\n1 6:1\n", "t", &LibsvmOptions::new().n_features(5)).unwrap_err();
        assert!(
            matches!(&e, Error::Parse { line: 2, reason, .. } if reason.contains("n_features = 5")),
            "{e}"
        );
        let e = parse_libsvm("1 2:1\n", "t", &LibsvmOptions::new().n_features(0)).unwrap_err();
        assert!(matches!(e, Error::InvalidParameter { .. }));
        let e = parse_libsvm("1\n2\n", "t", &LibsvmOptions::new()).unwrap_err();
        assert!(matches!(e, Error::InvalidParameter { .. }));
        let labels_only = parse_libsvm("1\n2\n", "t", &LibsvmOptions::new().n_features(2)).unwrap();
        assert_eq!(labels_only.features().as_slice(), &[0.0; 4]);
        let e =
            parse_libsvm("1 1:1\n", "t", &LibsvmOptions::new().n_features(usize::MAX)).unwrap_err();
        assert!(matches!(e, Error::TooLarge { .. }), "{e}");
    }

    #[test]
    fn empty_text_is_a_parse_error() {
        for text in ["", "\n  \n", "# header comment\n"] {
            let e = parse_libsvm(text, "t", &LibsvmOptions::new()).unwrap_err();
            assert!(
                matches!(&e, Error::Parse { reason, .. } if reason.contains("no samples")),
                "{text:?}: {e}"
            );
        }
    }
}
