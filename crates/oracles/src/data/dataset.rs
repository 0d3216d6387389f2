//! The in-memory data set type: one sample per column.

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use lisse_core::{Error, Result, check_finite_hint};

/// The fix for a NaN or infinite entry in a data set.
pub(crate) const DATA_HINT: &str = "remove or impute NaN/inf entries in the data";

/// What a data set predicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Targets {
    /// Real-valued responses (regression).
    Real(DVector<f64>),
    /// Class labels in `0..n_classes` (classification; binary when `n_classes == 2`).
    ///
    /// These are dense class *indices*; the readers encode the labels found in a file (such as
    /// 2/4, −1/+1 or ids like 1600000000) as 0..K−1 in ascending order and keep the original
    /// label of each class in [`Dataset::class_labels`].
    Classes {
        /// One label per sample.
        labels: Vec<usize>,
        /// Number of classes K.
        n_classes: usize,
    },
}

impl Targets {
    /// Number of samples the targets describe.
    pub fn len(&self) -> usize {
        match self {
            Targets::Real(y) => y.len(),
            Targets::Classes { labels, .. } => labels.len(),
        }
    }

    /// Whether there are no targets.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A data set stored **one sample per column**: `features` is d×n, so each sample is
/// contiguous in memory (nalgebra is column-major), which is what per-sample and minibatch
/// kernels read.
///
/// ```
/// use lisse_oracles::data::{Dataset, Targets};
/// use nalgebra::{DMatrix, DVector};
/// let x = DMatrix::from_column_slice(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// let data = Dataset::new(x, Targets::Real(DVector::from_vec(vec![0.5, 1.5, 2.5])))?;
/// assert_eq!((data.n_features(), data.n_samples()), (2, 3));
/// assert_eq!(data.sample(1)?.as_slice(), &[3.0, 4.0]);
/// # Ok::<(), lisse_core::Error>(())
/// ```
///
/// Deserialization goes through [`Dataset::new`], so a saved data set with mismatched targets,
/// NaN features or out-of-range labels is rejected rather than loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "DatasetParts")]
pub struct Dataset {
    features: DMatrix<f64>,
    targets: Targets,
    /// The original label of each class index (the label encoding), when the classes were
    /// encoded from other labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    class_labels: Option<Vec<i64>>,
}

/// The serialized form of a [`Dataset`], validated on the way in.
#[derive(Deserialize)]
struct DatasetParts {
    features: DMatrix<f64>,
    targets: Targets,
    #[serde(default)]
    class_labels: Option<Vec<i64>>,
}

impl TryFrom<DatasetParts> for Dataset {
    type Error = Error;

    fn try_from(parts: DatasetParts) -> Result<Self> {
        let data = Dataset::new(parts.features, parts.targets)?;
        match parts.class_labels {
            Some(labels) => data.with_class_labels(labels),
            None => Ok(data),
        }
    }
}

/// The default limit on the memory of one dense matrix the crate allocates from user input
/// (4 GiB): a data set's d×n features when a LIBSVM file is read densely, or a model's d×K
/// weights. Raise it per call with [`LibsvmOptions::max_dense_bytes`](super::LibsvmOptions)
/// (see `docs/limits.md`).
pub const DEFAULT_MAX_DENSE_BYTES: usize = 4 << 30;

/// Checks that a dense `rows`×`cols` matrix of `f64` fits in `limit` bytes, before allocating
/// it, so that a huge shape is a typed error instead of an abort.
///
/// ```
/// use lisse_oracles::data::{DEFAULT_MAX_DENSE_BYTES, check_dense_size};
/// assert!(check_dense_size("features", 100, 1000, DEFAULT_MAX_DENSE_BYTES, "").is_ok());
/// let e = check_dense_size("features", 1_355_191, 19_996, DEFAULT_MAX_DENSE_BYTES, "raise it")
///     .unwrap_err();
/// assert!(e.to_string().contains("216787193888 bytes"));
/// ```
///
/// # Errors
/// [`Error::TooLarge`] naming the shape, its size in bytes, the limit and `remedy` (how to
/// raise the limit or avoid the matrix).
pub fn check_dense_size(
    what: &str,
    rows: usize,
    cols: usize,
    limit: usize,
    remedy: &str,
) -> Result<()> {
    let bytes = (rows as u128)
        .checked_mul(cols as u128)
        .and_then(|len| len.checked_mul(size_of::<f64>() as u128))
        .unwrap_or(u128::MAX);
    let addressable = (isize::MAX as u128).min(limit as u128);
    if bytes <= addressable {
        Ok(())
    } else {
        Err(Error::TooLarge {
            what: format!("{what} ({rows}×{cols} dense f64)"),
            bytes,
            limit: limit as u128,
            remedy: remedy.to_owned(),
        })
    }
}

impl Dataset {
    /// A data set from a d×n feature matrix (one sample per column) and n targets.
    ///
    /// # Errors
    /// - [`Error::DimensionMismatch`] when the targets do not number n;
    /// - [`Error::NonFinite`] for NaN or infinite features or real targets;
    /// - [`Error::InvalidParameter`] for a label outside `0..n_classes`, or `n_classes < 2`;
    /// - [`Error::InvalidParameter`] for an empty data set (n = 0 or d = 0).
    pub fn new(features: DMatrix<f64>, targets: Targets) -> Result<Self> {
        let (d, n) = features.shape();
        if n == 0 || d == 0 {
            return Err(Error::invalid(
                "data set shape",
                format!("{d}×{n}"),
                "at least one feature and one sample (features are d×n, one sample per column)",
            ));
        }
        if targets.len() != n {
            return Err(Error::dimension_hint(
                "targets",
                n,
                targets.len(),
                "give one target per sample, i.e. per column of the d×n feature matrix",
            ));
        }
        check_finite_hint("features", features.as_slice(), DATA_HINT)?;
        match &targets {
            Targets::Real(y) => check_finite_hint("targets", y.as_slice(), DATA_HINT)?,
            Targets::Classes { labels, n_classes } => {
                if *n_classes < 2 {
                    return Err(Error::invalid("n_classes", n_classes, "at least 2"));
                }
                if let Some(&bad) = labels.iter().find(|&&l| l >= *n_classes) {
                    return Err(Error::invalid(
                        "label",
                        bad,
                        format!("in 0..{n_classes} (n_classes)"),
                    ));
                }
            }
        }
        Ok(Self {
            features,
            targets,
            class_labels: None,
        })
    }

    /// Records the original label of each class index (a label encoding, as the readers
    /// build): `labels[k]` is the label of class `k`.
    ///
    /// ```
    /// use lisse_oracles::data::{Dataset, Targets};
    /// use nalgebra::DMatrix;
    /// let targets = Targets::Classes { labels: vec![1, 0, 1], n_classes: 2 };
    /// let data = Dataset::new(DMatrix::zeros(1, 3), targets)?.with_class_labels(vec![2, 4])?;
    /// assert_eq!(data.class_label(1), Some(4));
    /// assert_eq!(data.class_of_label(2), Some(0));
    /// # Ok::<(), lisse_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless this is a classification data set and `labels` holds
    /// `n_classes` distinct labels in ascending order.
    pub fn with_class_labels(mut self, labels: Vec<i64>) -> Result<Self> {
        let Some(k) = self.n_classes() else {
            return Err(Error::invalid(
                "class labels",
                "given",
                "only for a classification data set (Targets::Classes)",
            ));
        };
        if labels.len() != k || labels.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::invalid(
                "class labels",
                format!("{} labels", labels.len()),
                format!("{k} distinct labels (one per class) in ascending order"),
            ));
        }
        self.class_labels = Some(labels);
        Ok(self)
    }

    /// The original label of each class index, when the classes were encoded from other
    /// labels (by a reader, or [`with_class_labels`](Self::with_class_labels)); `None` when the
    /// class indices are the labels.
    pub fn class_labels(&self) -> Option<&[i64]> {
        self.class_labels.as_deref()
    }

    /// The original label of class `class`: its recorded label, or `class` itself when none
    /// was recorded; `None` for a class index out of range or a regression data set.
    pub fn class_label(&self, class: usize) -> Option<i64> {
        if class >= self.n_classes()? {
            return None;
        }
        match &self.class_labels {
            Some(labels) => labels.get(class).copied(),
            None => i64::try_from(class).ok(),
        }
    }

    /// A copy whose classes are encoded like `reference`'s: each sample's original label
    /// becomes `reference`'s class index for it, and `reference`'s label encoding is kept. Use
    /// it to read a test file (which may lack some classes) with the training file's classes.
    ///
    /// ```
    /// use lisse_oracles::data::{CsvOptions, TargetKind, parse_csv};
    /// let options = CsvOptions::new().target_kind(TargetKind::classes());
    /// let train = parse_csv("0.1,2\n0.2,4\n0.3,8\n", "train", &options)?;
    /// let test = parse_csv("0.4,8\n0.5,4\n", "test", &options)?; // classes 4 → 0, 8 → 1
    /// let test = test.with_classes_like(&train)?; // classes 4 → 1, 8 → 2
    /// assert_eq!(test.labels(), Some(&[2, 1][..]));
    /// assert_eq!(test.n_classes(), Some(3));
    /// # Ok::<(), lisse_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless both are classification data sets and every label of
    /// this one is a class of `reference`.
    pub fn with_classes_like(&self, reference: &Dataset) -> Result<Dataset> {
        let (Some(labels), Some(n_classes)) = (self.labels(), reference.n_classes()) else {
            return Err(Error::invalid(
                "targets",
                "real values",
                "class labels (Targets::Classes) in both data sets",
            ));
        };
        let mut encoded = Vec::with_capacity(labels.len());
        for &class in labels {
            let label = self.class_label(class).unwrap_or_default();
            let Some(new_class) = reference.class_of_label(label) else {
                return Err(Error::invalid(
                    "class label",
                    label,
                    "one of the reference data set's classes (a label the training data lacks \
                     cannot be predicted)",
                ));
            };
            encoded.push(new_class);
        }
        let targets = Targets::Classes {
            labels: encoded,
            n_classes,
        };
        Ok(
            Dataset::from_parts_unchecked(self.features.clone(), targets)
                .with_classes_of(reference),
        )
    }

    /// The class index of an original label (the inverse of [`class_label`](Self::class_label)),
    /// for example to encode the labels of a second file like this one's.
    pub fn class_of_label(&self, label: i64) -> Option<usize> {
        let k = self.n_classes()?;
        match &self.class_labels {
            Some(labels) => labels.binary_search(&label).ok(),
            None => usize::try_from(label).ok().filter(|&c| c < k),
        }
    }

    /// The d×n feature matrix.
    pub fn features(&self) -> &DMatrix<f64> {
        &self.features
    }

    /// The targets.
    pub fn targets(&self) -> &Targets {
        &self.targets
    }

    /// Number of samples n.
    pub fn n_samples(&self) -> usize {
        self.features.ncols()
    }

    /// Number of features d.
    pub fn n_features(&self) -> usize {
        self.features.nrows()
    }

    /// Sample `i` as a column view (no copy).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when `i >= n_samples()`.
    pub fn sample(&self, i: usize) -> Result<nalgebra::DVectorView<'_, f64>> {
        let n = self.n_samples();
        if i >= n {
            return Err(Error::invalid(
                "sample index",
                i,
                format!("in 0..{n} (the number of samples)"),
            ));
        }
        Ok(self.features.column(i))
    }

    /// Class labels, if this is a classification data set.
    pub fn labels(&self) -> Option<&[usize]> {
        match &self.targets {
            Targets::Classes { labels, .. } => Some(labels),
            Targets::Real(_) => None,
        }
    }

    /// Number of classes, if this is a classification data set.
    pub fn n_classes(&self) -> Option<usize> {
        match &self.targets {
            Targets::Classes { n_classes, .. } => Some(*n_classes),
            Targets::Real(_) => None,
        }
    }

    /// Real targets, if this is a regression data set.
    pub fn real_targets(&self) -> Option<&DVector<f64>> {
        match &self.targets {
            Targets::Real(y) => Some(y),
            Targets::Classes { .. } => None,
        }
    }

    /// Decomposes into the feature matrix and the targets.
    pub fn into_parts(self) -> (DMatrix<f64>, Targets) {
        (self.features, self.targets)
    }

    /// Builds a data set from parts that already satisfy the invariants of [`Dataset::new`]
    /// (non-empty, finite, one target per column, labels below `n_classes >= 2`); checked
    /// only in debug builds.
    pub(crate) fn from_parts_unchecked(features: DMatrix<f64>, targets: Targets) -> Self {
        debug_assert!(Self::new(features.clone(), targets.clone()).is_ok());
        Self {
            features,
            targets,
            class_labels: None,
        }
    }

    /// Keeps the label encoding of `source`, whose classes these targets share.
    pub(crate) fn with_classes_of(mut self, source: &Dataset) -> Self {
        self.class_labels.clone_from(&source.class_labels);
        self
    }

    /// Mutable access to the feature matrix for in-crate transforms, which must keep every
    /// entry finite and the shape unchanged.
    pub(crate) fn features_mut(&mut self) -> &mut DMatrix<f64> {
        &mut self.features
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn three() -> Dataset {
        let x = DMatrix::from_column_slice(1, 3, &[1.0, 2.0, 3.0]);
        Dataset::new(x, Targets::Real(DVector::from_vec(vec![0.0; 3]))).unwrap()
    }

    #[test]
    fn sample_out_of_range_is_an_error() {
        // Issue 6, item 4: `Dataset::sample(5)` with n = 3 panicked.
        let data = three();
        let e = data.sample(5).unwrap_err();
        assert!(
            matches!(&e, Error::InvalidParameter { name, allowed, .. }
                if name == "sample index" && allowed.contains("0..3")),
            "{e}"
        );
        assert_eq!(data.sample(2).unwrap().as_slice(), &[3.0]);
    }

    #[test]
    fn class_labels_must_match_the_classes() {
        let targets = Targets::Classes {
            labels: vec![1, 0, 1],
            n_classes: 2,
        };
        let data = Dataset::new(DMatrix::zeros(1, 3), targets).unwrap();
        assert_eq!(data.class_label(1), Some(1));
        assert_eq!(data.class_of_label(1), Some(1));
        assert_eq!(data.class_of_label(2), None);
        assert!(data.clone().with_class_labels(vec![4, 2]).is_err());
        assert!(data.clone().with_class_labels(vec![2, 2]).is_err());
        assert!(data.clone().with_class_labels(vec![2]).is_err());
        let ids = data
            .with_class_labels(vec![1_600_000_000, 1_600_000_001])
            .unwrap();
        assert_eq!(ids.class_label(0), Some(1_600_000_000));
        assert_eq!(ids.class_label(2), None);
        assert_eq!(ids.class_of_label(1_600_000_001), Some(1));
        assert!(three().with_class_labels(vec![0, 1]).is_err());
    }

    #[test]
    fn label_encoding_survives_serde_and_transfers() {
        let targets = Targets::Classes {
            labels: vec![1, 0, 1],
            n_classes: 2,
        };
        let data = Dataset::new(DMatrix::zeros(1, 3), targets)
            .unwrap()
            .with_class_labels(vec![-1, 1])
            .unwrap();
        let json = serde_json::to_string(&data).unwrap();
        let back: Dataset = serde_json::from_str(&json).unwrap();
        assert_eq!(back, data);
        let bad = json.replace("[-1,1]", "[1,-1]");
        assert!(serde_json::from_str::<Dataset>(&bad).is_err());
        // Re-encoding like a reference with more classes, and a label the reference lacks.
        let reference = Dataset::new(
            DMatrix::zeros(1, 3),
            Targets::Classes {
                labels: vec![0, 1, 2],
                n_classes: 3,
            },
        )
        .unwrap()
        .with_class_labels(vec![-1, 0, 1])
        .unwrap();
        let like = data.with_classes_like(&reference).unwrap();
        assert_eq!(like.labels(), Some(&[2, 0, 2][..]));
        assert_eq!(like.class_labels(), Some(&[-1, 0, 1][..]));
        assert!(reference.with_classes_like(&data).is_err());
        assert!(three().with_classes_like(&data).is_err());
    }

    #[test]
    fn dense_size_guard_refuses_before_allocating() {
        // Issue 6, item 1: news20's shape asked for 216787193888 bytes.
        let e = check_dense_size(
            "features",
            1_355_191,
            19_996,
            DEFAULT_MAX_DENSE_BYTES,
            "fix",
        )
        .unwrap_err();
        assert!(
            matches!(
                &e,
                Error::TooLarge {
                    bytes: 216_787_193_888,
                    ..
                }
            ),
            "{e}"
        );
        let e = check_dense_size("features", usize::MAX, usize::MAX, usize::MAX, "").unwrap_err();
        assert!(matches!(e, Error::TooLarge { .. }));
        assert!(check_dense_size("w", 1 << 20, 512, DEFAULT_MAX_DENSE_BYTES, "").is_ok());
        assert!(check_dense_size("w", 1 << 20, 513, DEFAULT_MAX_DENSE_BYTES, "").is_err());
    }
}
