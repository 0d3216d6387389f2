//! A small delimited-text (CSV) reader: one sample per line, numbers only.

use std::path::Path;

use nalgebra::{DMatrix, DVector};

use lisse_core::{Error, Result};

use super::text::{
    check_no_nul, class_targets, numbered_lines, parse_error, parse_finite, parse_integer_label,
    read_text,
};
use super::{Dataset, TargetKind, Targets};

/// Which column of a delimited file holds the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TargetColumn {
    /// The last column (the default).
    #[default]
    Last,
    /// The first column.
    First,
    /// The column with this 0-based index.
    Index(usize),
}

/// Options for [`read_csv`] and [`parse_csv`].
///
/// The default reads comma-separated numbers with no header, the target in the last column as
/// a real number, and skips lines starting with `#`. Set fields directly or chain the builder
/// methods:
///
/// ```
/// use lisse_oracles::data::{CsvOptions, TargetColumn, TargetKind};
/// let options = CsvOptions::new()
///     .delimiter(';')
///     .has_header(true)
///     .target_column(TargetColumn::First)
///     .target_kind(TargetKind::classes());
/// assert_eq!(options.delimiter, ';');
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct CsvOptions {
    /// The field separator (default `,`). The space delimiter `' '` splits on runs of
    /// whitespace (aligned columns); every other delimiter, the tab included, separates fields
    /// one by one, so a blank cell is a missing value and an error. Quoted fields are not
    /// supported.
    pub delimiter: char,
    /// Whether the first line that is neither blank nor a comment is a header to skip
    /// (default `false`). It must have as many fields as the data rows. A header written as a
    /// comment, as `numpy.savetxt` does (`# x1,x2,y`), is recognised too: when comment lines
    /// come first and the first other line is all numbers, that line is data.
    pub has_header: bool,
    /// Which column holds the target (default [`TargetColumn::Last`]).
    pub target_column: TargetColumn,
    /// How to read the target (default [`TargetKind::Real`]).
    pub target_kind: TargetKind,
    /// Lines whose first non-blank character is this one are skipped (default `Some('#')`).
    pub comment: Option<char>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        Self {
            delimiter: ',',
            has_header: false,
            target_column: TargetColumn::Last,
            target_kind: TargetKind::Real,
            comment: Some('#'),
        }
    }
}

impl CsvOptions {
    /// The default options (see [`CsvOptions`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the field separator.
    #[must_use]
    pub fn delimiter(mut self, delimiter: char) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// Sets whether the first line is a header to skip.
    #[must_use]
    pub fn has_header(mut self, has_header: bool) -> Self {
        self.has_header = has_header;
        self
    }

    /// Sets which column holds the target.
    #[must_use]
    pub fn target_column(mut self, target_column: TargetColumn) -> Self {
        self.target_column = target_column;
        self
    }

    /// Sets how to read the target.
    #[must_use]
    pub fn target_kind(mut self, target_kind: TargetKind) -> Self {
        self.target_kind = target_kind;
        self
    }

    /// Sets the comment character (`None`: no comment lines).
    #[must_use]
    pub fn comment(mut self, comment: Option<char>) -> Self {
        self.comment = comment;
        self
    }

    fn validate(&self) -> Result<()> {
        if matches!(self.delimiter, '\n' | '\r' | '"') {
            return Err(Error::invalid(
                "delimiter",
                self.delimiter.escape_debug(),
                "a character other than a line break or a quote",
            ));
        }
        if self.comment == Some(self.delimiter) {
            return Err(Error::invalid(
                "comment",
                self.delimiter,
                "a character different from the delimiter",
            ));
        }
        self.target_kind.validate()
    }
}

/// Reads a delimited text file of numbers into a [`Dataset`], one sample per line.
///
/// See [`parse_csv`] for the format; the file's path is the source name in parse errors.
///
/// ```
/// use lisse_oracles::data::{CsvOptions, TargetKind, read_csv};
/// let path = std::env::temp_dir().join(format!("lisse-doc-read-csv-{}.csv", std::process::id()));
/// std::fs::write(&path, "x1,x2,class\n0.5,1.0,0\n1.5,-2.0,1\n2.5,0.0,1\n").unwrap();
/// let options = CsvOptions::new().has_header(true).target_kind(TargetKind::classes());
/// let data = read_csv(&path, &options)?;
/// assert_eq!((data.n_features(), data.n_samples()), (2, 3));
/// assert_eq!(data.labels(), Some(&[0, 1, 1][..]));
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), lisse_core::Error>(())
/// ```
///
/// # Errors
/// [`Error::Io`] when the file cannot be read (missing, unreadable, not UTF-8), and the errors
/// of [`parse_csv`].
pub fn read_csv(path: impl AsRef<Path>, options: &CsvOptions) -> Result<Dataset> {
    let path = path.as_ref();
    let text = read_text(path)?;
    parse_csv(&text, &path.display().to_string(), options)
}

/// Parses delimited text of numbers into a [`Dataset`], one sample per line.
///
/// Every data line has the same number of fields (at least two): the target in
/// [`CsvOptions::target_column`] and the features in the other columns, in file order. Fields
/// are trimmed; blank lines and comment lines are skipped; a leading byte-order mark is
/// ignored; lines end in `\n`, `\r\n` or `\r`. A blank cell is a missing value, which is an
/// error naming its line and column. Class labels are integers, encoded as classes 0..K−1 in
/// ascending order unless `n_classes` is given (see [`TargetKind::Classes`]).
///
/// ```
/// use lisse_oracles::data::{CsvOptions, parse_csv};
/// let text = "# x, y\n1.0, 2.0\n2.0, 4.1\n\n3.0, 5.9\n";
/// let data = parse_csv(text, "inline", &CsvOptions::new())?;
/// assert_eq!((data.n_features(), data.n_samples()), (1, 3));
/// assert_eq!(data.real_targets().unwrap().as_slice(), &[2.0, 4.1, 5.9]);
/// # Ok::<(), lisse_core::Error>(())
/// ```
///
/// # Errors
/// - [`Error::Parse`] with the 1-based line number for a line with the wrong number of fields,
///   an empty (missing), quoted or non-numeric field, a non-finite number, a label that is not
///   an integer or not a class index below a given `n_classes`, or text with no data rows;
/// - [`Error::InvalidParameter`] for class labels that are all equal (with `n_classes` unset);
/// - [`Error::InvalidParameter`] for a target column index beyond the row width, a line break
///   or quote as delimiter, a comment character equal to the delimiter, or `n_classes < 2`.
pub fn parse_csv(text: &str, source_name: &str, options: &CsvOptions) -> Result<Dataset> {
    options.validate()?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    check_no_nul(text, source_name)?;
    let mut layout: Option<Layout> = None;
    let mut header_pending = options.has_header;
    let mut comment_before_header = false;
    let mut features: Vec<f64> = Vec::new();
    let mut real: Vec<f64> = Vec::new();
    let mut raw_labels: Vec<i64> = Vec::new();
    let mut label_lines: Vec<usize> = Vec::new();
    let mut fields: Vec<&str> = Vec::new();
    let mut last_line = 0;
    let whitespace = options.delimiter == ' ';
    for (line_no, raw) in numbered_lines(text) {
        last_line = line_no;
        if raw.trim().is_empty() {
            continue;
        }
        // Trim the line, but never of the delimiter: a leading tab is a blank first cell.
        let line = raw.trim_matches(|c: char| c.is_whitespace() && c != options.delimiter);
        if options.comment.is_some_and(|c| line.starts_with(c)) {
            comment_before_header |= header_pending;
            continue;
        }
        fields.clear();
        if whitespace {
            fields.extend(line.split_whitespace());
        } else {
            fields.extend(line.split(options.delimiter).map(str::trim));
        }
        let layout = match layout {
            Some(l) => l,
            None => *layout.insert(Layout::new(
                fields.len(),
                line_no,
                options.target_column,
                source_name,
            )?),
        };
        if fields.len() != layout.width {
            return Err(layout.width_error(source_name, line_no, line, fields.len()));
        }
        if header_pending {
            header_pending = false;
            // numpy.savetxt writes its header as a comment (`# x1,x2,y`): when a comment line
            // came first and this line is all numbers, the comment was the header.
            if !(comment_before_header
                && fields
                    .iter()
                    .all(|f| f.parse::<f64>().is_ok_and(f64::is_finite)))
            {
                continue;
            }
        }
        for (j, field) in fields.iter().enumerate() {
            if j == layout.target {
                continue;
            }
            let v = parse_finite(field, &format!("field {} (column {})", j + 1, j + 1))
                .map_err(|r| parse_error(source_name, line_no, r))?;
            features.push(v);
        }
        let target = fields[layout.target];
        let what = format!(
            "the target (field {}, column {})",
            layout.target + 1,
            layout.target + 1
        );
        let err = |r| parse_error(source_name, line_no, r);
        match options.target_kind {
            TargetKind::Real => real.push(parse_finite(target, &what).map_err(err)?),
            TargetKind::Classes { .. } if target.is_empty() => {
                return Err(err(format!(
                    "{what} is empty; missing labels are not supported"
                )));
            }
            TargetKind::Classes { .. } => {
                raw_labels.push(parse_integer_label(target).map_err(err)?);
                label_lines.push(line_no);
            }
        }
    }
    let d = layout.map_or(0, |l| l.width - 1);
    let n = features.len().checked_div(d).unwrap_or(0);
    if n == 0 {
        return Err(parse_error(
            source_name,
            last_line.max(1),
            "no data rows (only blank lines, comments or a header)",
        ));
    }
    let (targets, class_labels) = match options.target_kind {
        TargetKind::Real => (Targets::Real(DVector::from_vec(real)), None),
        TargetKind::Classes { n_classes } => {
            class_targets(&raw_labels, &label_lines, n_classes, false, source_name)?
        }
    };
    let data = Dataset::new(DMatrix::from_vec(d, n, features), targets)?;
    match class_labels {
        Some(labels) => data.with_class_labels(labels),
        None => Ok(data),
    }
}

/// The row width and target position, fixed by the first non-blank, non-comment line.
#[derive(Debug, Clone, Copy)]
struct Layout {
    width: usize,
    target: usize,
    first_line: usize,
}

impl Layout {
    /// The error for a row of `found` fields.
    fn width_error(&self, source_name: &str, line_no: usize, line: &str, found: usize) -> Error {
        let quotes = if line.contains(['"', '\'']) {
            " (quoted fields are not supported; a delimiter inside quotes splits the field)"
        } else {
            ""
        };
        parse_error(
            source_name,
            line_no,
            format!(
                "expected {} fields (as on line {}), found {found}{quotes}",
                self.width, self.first_line
            ),
        )
    }

    fn new(
        width: usize,
        first_line: usize,
        column: TargetColumn,
        source_name: &str,
    ) -> Result<Self> {
        if width < 2 {
            return Err(parse_error(
                source_name,
                first_line,
                format!(
                    "found {width} field; need at least one feature and a target (is the delimiter right?)"
                ),
            ));
        }
        let target = match column {
            TargetColumn::Last => width - 1,
            TargetColumn::First => 0,
            TargetColumn::Index(j) if j < width => j,
            TargetColumn::Index(j) => {
                return Err(Error::invalid(
                    "target_column",
                    format!("Index({j})"),
                    format!(
                        "a 0-based index below the number of fields ({width}, line {first_line})"
                    ),
                ));
            }
        };
        Ok(Self {
            width,
            target,
            first_line,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes() -> CsvOptions {
        CsvOptions::new().target_kind(TargetKind::classes())
    }

    #[test]
    fn reads_features_column_major_and_real_targets() {
        let data = parse_csv("1,2,3\n4,5,6\n", "t", &CsvOptions::new()).unwrap();
        assert_eq!(data.features().as_slice(), &[1.0, 2.0, 4.0, 5.0]);
        assert_eq!(data.real_targets().unwrap().as_slice(), &[3.0, 6.0]);
    }

    #[test]
    fn target_column_first_and_index() {
        let first = parse_csv(
            "1,2,3\n4,5,6\n",
            "t",
            &CsvOptions::new().target_column(TargetColumn::First),
        )
        .unwrap();
        assert_eq!(first.features().as_slice(), &[2.0, 3.0, 5.0, 6.0]);
        assert_eq!(first.real_targets().unwrap().as_slice(), &[1.0, 4.0]);
        let mid = parse_csv(
            "1,2,3\n4,5,6\n",
            "t",
            &CsvOptions::new().target_column(TargetColumn::Index(1)),
        )
        .unwrap();
        assert_eq!(mid.features().as_slice(), &[1.0, 3.0, 4.0, 6.0]);
        let bad = parse_csv(
            "1,2,3\n",
            "t",
            &CsvOptions::new().target_column(TargetColumn::Index(3)),
        )
        .unwrap_err();
        assert!(matches!(bad, Error::InvalidParameter { .. }), "{bad}");
    }

    #[test]
    fn header_comments_blank_lines_crlf_and_whitespace() {
        let text = "\u{feff}# comment\r\na b label\r\n\r\n 1.5  2   0 \r\n3\t4\t1\r\n";
        let options = classes().delimiter(' ').has_header(true);
        let data = parse_csv(text, "t", &options).unwrap();
        assert_eq!(data.features().as_slice(), &[1.5, 2.0, 3.0, 4.0]);
        assert_eq!(data.labels(), Some(&[0, 1][..]));
        assert_eq!(data.n_classes(), Some(2));
    }

    #[test]
    fn n_classes_inferred_or_given() {
        let data = parse_csv("0,3\n1,0\n", "t", &classes()).unwrap();
        assert_eq!(data.n_classes(), Some(2));
        assert_eq!(data.labels(), Some(&[1, 0][..]));
        assert_eq!(data.class_labels(), Some(&[0, 3][..]));
        let all_zero = parse_csv("0,0\n1,0\n", "t", &classes()).unwrap_err();
        assert!(
            matches!(all_zero, Error::InvalidParameter { .. }),
            "{all_zero}"
        );
        let zero_given_k = parse_csv(
            "0,0\n1,0\n",
            "t",
            &classes().target_kind(TargetKind::classes_with(2)),
        );
        assert_eq!(zero_given_k.unwrap().n_classes(), Some(2));
        let given = parse_csv(
            "0,3\n1,0\n",
            "t",
            &CsvOptions::new().target_kind(TargetKind::classes_with(7)),
        )
        .unwrap();
        assert_eq!(given.n_classes(), Some(7));
        let e = parse_csv(
            "0,1\n1,7\n",
            "t",
            &CsvOptions::new().target_kind(TargetKind::classes_with(7)),
        )
        .unwrap_err();
        assert!(
            matches!(&e, Error::Parse { line: 2, reason, .. } if reason.contains("n_classes = 7")),
            "{e}"
        );
        let e = parse_csv(
            "0,1\n",
            "t",
            &CsvOptions::new().target_kind(TargetKind::classes_with(1)),
        )
        .unwrap_err();
        assert!(matches!(e, Error::InvalidParameter { .. }));
    }

    #[test]
    fn errors_name_the_line_and_problem() {
        let e = parse_csv("1,2\n3,4,5\n", "src.csv", &CsvOptions::new()).unwrap_err();
        assert!(
            matches!(&e, Error::Parse { line: 2, reason, source_name } if reason.contains("expected 2 fields") && source_name == "src.csv"),
            "{e}"
        );
        let e = parse_csv("1,2\n\n3,abc\n", "t", &CsvOptions::new()).unwrap_err();
        assert!(
            matches!(&e, Error::Parse { line: 3, reason, .. } if reason.contains("\"abc\"")),
            "{e}"
        );
        let e = parse_csv("1,2\n3,,\n", "t", &CsvOptions::new()).unwrap_err();
        assert!(matches!(e, Error::Parse { line: 2, .. }));
        let e = parse_csv("1,,2\n", "t", &CsvOptions::new()).unwrap_err();
        assert!(
            matches!(&e, Error::Parse { line: 1, reason, .. } if reason.contains("empty")),
            "{e}"
        );
        let e = parse_csv("1,2.5\n", "t", &classes()).unwrap_err();
        assert!(
            matches!(&e, Error::Parse { line: 1, reason, .. } if reason.contains("not an integer")),
            "{e}"
        );
        let k2 = classes().target_kind(TargetKind::classes_with(2));
        let e = parse_csv("1,-1\n", "t", &k2).unwrap_err();
        assert!(
            matches!(&e, Error::Parse { reason, .. } if reason.contains("class index in 0..2")),
            "{e}"
        );
        let e = parse_csv("1,inf\n", "t", &CsvOptions::new()).unwrap_err();
        assert!(
            matches!(&e, Error::Parse { reason, .. } if reason.contains("non-finite")),
            "{e}"
        );
        let e = parse_csv("1 2 3\n", "t", &CsvOptions::new()).unwrap_err();
        assert!(
            matches!(&e, Error::Parse { reason, .. } if reason.contains("delimiter")),
            "{e}"
        );
    }

    #[test]
    fn empty_inputs_are_parse_errors() {
        for text in ["", "\n\n", "# only a comment\n", "a,b\n"] {
            let e = parse_csv(text, "t", &CsvOptions::new().has_header(true)).unwrap_err();
            assert!(
                matches!(&e, Error::Parse { reason, .. } if reason.contains("no data rows")),
                "{text:?}: {e}"
            );
        }
    }

    #[test]
    fn bad_options_are_rejected() {
        assert!(parse_csv("1,2\n", "t", &CsvOptions::new().delimiter('\n')).is_err());
        assert!(parse_csv("1#2\n", "t", &CsvOptions::new().delimiter('#')).is_err());
        assert!(
            parse_csv(
                "1#2\n",
                "t",
                &CsvOptions::new().delimiter('#').comment(None)
            )
            .is_ok()
        );
    }
}
