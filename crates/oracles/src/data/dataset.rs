//! The in-memory data set type: one sample per column.

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use lisse_core::{Error, Result, check_finite};

/// What a data set predicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Targets {
    /// Real-valued responses (regression).
    Real(DVector<f64>),
    /// Class labels in `0..n_classes` (classification; binary when `n_classes == 2`).
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
/// assert_eq!(data.sample(1).as_slice(), &[3.0, 4.0]);
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
}

/// The serialized form of a [`Dataset`], validated on the way in.
#[derive(Deserialize)]
struct DatasetParts {
    features: DMatrix<f64>,
    targets: Targets,
}

impl TryFrom<DatasetParts> for Dataset {
    type Error = Error;

    fn try_from(parts: DatasetParts) -> Result<Self> {
        Dataset::new(parts.features, parts.targets)
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
            return Err(Error::dimension(
                "targets (one per sample, i.e. per feature column)",
                n,
                targets.len(),
            ));
        }
        check_finite("features", features.as_slice())?;
        match &targets {
            Targets::Real(y) => check_finite("targets", y.as_slice())?,
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
        Ok(Self { features, targets })
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

    /// Sample `i` as a column view (no copy). Panics if `i >= n_samples()`, like slice indexing.
    pub fn sample(&self, i: usize) -> nalgebra::DVectorView<'_, f64> {
        self.features.column(i)
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
        Self { features, targets }
    }

    /// Mutable access to the feature matrix for in-crate transforms, which must keep every
    /// entry finite and the shape unchanged.
    pub(crate) fn features_mut(&mut self) -> &mut DMatrix<f64> {
        &mut self.features
    }
}
