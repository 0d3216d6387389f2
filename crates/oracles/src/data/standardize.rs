//! Per-feature standardization fitted on training data, and the intercept feature.

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use lisse_core::{Error, Result, check_dim_hint, check_finite_hint};

use super::dataset::DATA_HINT;

/// The fix for a bad saved statistic.
const SAVED_HINT: &str = "give the statistics saved from a Standardizer::fit";

use super::Dataset;

/// Per-feature standardization `x ↦ (x − mean) / std`, with the mean and standard deviation of
/// each feature over the samples of the data set it was fitted on.
///
/// Fit it on the **training** set only and apply the same statistics to validation and test
/// data, so that no information leaks from them. The standard deviation is the population one
/// (divided by n), so standardized training features have mean 0 and standard deviation 1
/// exactly up to rounding. A constant feature gets standard deviation 1 and maps to 0; so does
/// a feature that is constant up to rounding, whose standard deviation is at most 1e-12 times
/// its largest magnitude.
///
/// Standardize before [`Dataset::with_intercept`]: the constant intercept feature would
/// otherwise map to 0.
///
/// ```
/// use lisse_core::RngStreams;
/// use lisse_oracles::data::{Standardizer, digits, split};
/// let parts = split(&digits(), (0.8, 0.0, 0.2), &mut RngStreams::new(0).stream(0))?;
/// let scaler = Standardizer::fit(&parts.train);
/// let train = scaler.transform(&parts.train)?.with_intercept();
/// let test = scaler.transform(parts.test.as_ref().unwrap())?.with_intercept();
/// assert_eq!((train.n_features(), test.n_features()), (65, 65));
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "StandardizerParts")]
pub struct Standardizer {
    mean: DVector<f64>,
    std: DVector<f64>,
}

/// The serialized form, checked by [`Standardizer::new`] when deserializing.
#[derive(Deserialize)]
struct StandardizerParts {
    mean: DVector<f64>,
    std: DVector<f64>,
}

impl TryFrom<StandardizerParts> for Standardizer {
    type Error = Error;

    fn try_from(parts: StandardizerParts) -> Result<Self> {
        Standardizer::new(parts.mean, parts.std)
    }
}

impl Standardizer {
    /// Fits the per-feature means and standard deviations over the samples of `data`.
    pub fn fit(data: &Dataset) -> Self {
        let features = data.features();
        let d = features.nrows();
        let mut mean = DVector::zeros(d);
        let mut std = DVector::from_element(d, 1.0);
        for (i, row) in features.row_iter().enumerate() {
            let (m, s) = mean_std(row.iter().copied(), row.ncols());
            mean[i] = m;
            std[i] = s;
        }
        Self { mean, std }
    }

    /// A standardizer with given statistics (for example, saved from an earlier fit).
    ///
    /// # Errors
    /// - [`Error::DimensionMismatch`] when `std` and `mean` differ in length;
    /// - [`Error::InvalidParameter`] when they are empty or a standard deviation is not
    ///   positive;
    /// - [`Error::NonFinite`] for a NaN or infinite entry.
    pub fn new(mean: DVector<f64>, std: DVector<f64>) -> Result<Self> {
        check_dim_hint(
            "standardizer std",
            mean.len(),
            std.len(),
            "give one mean and one standard deviation per feature",
        )?;
        if mean.is_empty() {
            return Err(Error::invalid(
                "standardizer features",
                0,
                "at least one feature",
            ));
        }
        check_finite_hint("standardizer mean", mean.as_slice(), SAVED_HINT)?;
        check_finite_hint("standardizer std", std.as_slice(), SAVED_HINT)?;
        if let Some(&bad) = std.iter().find(|&&s| s <= 0.0) {
            return Err(Error::invalid(
                "standardizer std",
                bad,
                "positive for every feature",
            ));
        }
        Ok(Self { mean, std })
    }

    /// The per-feature means.
    pub fn mean(&self) -> &DVector<f64> {
        &self.mean
    }

    /// The per-feature standard deviations (1 for constant features).
    pub fn std(&self) -> &DVector<f64> {
        &self.std
    }

    /// The number of features d it applies to.
    pub fn n_features(&self) -> usize {
        self.mean.len()
    }

    /// A standardized copy of `data` (targets unchanged).
    ///
    /// # Errors
    /// - [`Error::DimensionMismatch`] when `data` does not have [`n_features`](Self::n_features)
    ///   features;
    /// - [`Error::NonFinite`] when a standardized value overflows.
    pub fn transform(&self, data: &Dataset) -> Result<Dataset> {
        let mut out = data.clone();
        self.transform_in_place(&mut out)?;
        Ok(out)
    }

    /// Standardizes `data` in place (targets unchanged). On error `data` is left unchanged.
    ///
    /// ```
    /// use lisse_oracles::data::{Dataset, Standardizer, Targets};
    /// use nalgebra::{DMatrix, DVector};
    /// let x = DMatrix::from_column_slice(2, 2, &[1.0, 5.0, 3.0, 5.0]);
    /// let mut data = Dataset::new(x, Targets::Real(DVector::from_vec(vec![0.0, 1.0])))?;
    /// let scaler = Standardizer::fit(&data);
    /// scaler.transform_in_place(&mut data)?;
    /// assert_eq!(data.features().as_slice(), &[-1.0, 0.0, 1.0, 0.0]);
    /// # Ok::<(), lisse_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`transform`](Self::transform).
    pub fn transform_in_place(&self, data: &mut Dataset) -> Result<()> {
        check_dim_hint(
            "features of the data set to standardize",
            self.n_features(),
            data.n_features(),
            "fit the standardizer on data with the same features (before adding an intercept)",
        )?;
        self.check_transform(data.features())?;
        for mut column in data.features_mut().column_iter_mut() {
            for ((x, m), s) in column.iter_mut().zip(self.mean.iter()).zip(self.std.iter()) {
                *x = (*x - m) / s;
            }
        }
        Ok(())
    }

    /// Standardizes one point of [`n_features`](Self::n_features) entries in place, such as a
    /// new sample to predict on. On error `x` is left unchanged.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] for the wrong length, [`Error::NonFinite`] for a NaN or
    /// infinite entry or an overflow.
    pub fn transform_point(&self, x: &mut [f64]) -> Result<()> {
        check_dim_hint(
            "point to standardize",
            self.n_features(),
            x.len(),
            "give one value per feature the standardizer was fitted on",
        )?;
        check_finite_hint("point to standardize", x, DATA_HINT)?;
        self.check_transform(&DMatrix::from_column_slice(x.len(), 1, x))?;
        for ((x, m), s) in x.iter_mut().zip(self.mean.iter()).zip(self.std.iter()) {
            *x = (*x - m) / s;
        }
        Ok(())
    }

    /// Checks that standardizing `features` (d×n) gives finite numbers only.
    fn check_transform(&self, features: &DMatrix<f64>) -> Result<()> {
        for (j, column) in features.column_iter().enumerate() {
            for (i, ((x, m), s)) in column
                .iter()
                .zip(self.mean.iter())
                .zip(self.std.iter())
                .enumerate()
            {
                let z = (x - m) / s;
                if !z.is_finite() {
                    return Err(Error::NonFinite {
                        what: "standardized features (column-major index); the data are too large for the fitted \
                            scale: check for outliers or fit on comparable data"
                        .into(),
                        index: j * features.nrows() + i,
                        value: z,
                    });
                }
            }
        }
        Ok(())
    }
}

/// Mean and population standard deviation of `n >= 1` finite values, without overflow; a
/// constant sequence gets its value and standard deviation 1.
fn mean_std(values: impl Iterator<Item = f64> + Clone, n: usize) -> (f64, f64) {
    let (lo, hi) = values
        .clone()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        });
    if hi <= lo || n == 0 {
        return (if lo.is_finite() { lo } else { 0.0 }, 1.0);
    }
    // Work with values scaled into [-1, 1] so that neither sums nor squares overflow.
    let scale = lo.abs().max(hi.abs());
    let nf = n as f64;
    let mean_scaled = values.clone().map(|x| x / scale).sum::<f64>() / nf;
    let var_scaled = values
        .map(|x| (x / scale - mean_scaled).powi(2))
        .sum::<f64>()
        / nf;
    let std = scale * var_scaled.sqrt();
    let mean = (scale * mean_scaled).clamp(lo, hi);
    (
        mean,
        if std.is_finite() && std > RELATIVE_CONSTANT_STD * scale {
            std
        } else {
            1.0
        },
    )
}

/// A feature whose standard deviation is at most this fraction of its largest magnitude is
/// constant up to rounding (values such as `0.1 + 0.2` and `0.3` differ by one ulp, 1.1e-16
/// relative) and is treated as constant: standard deviation 1, so it maps to (almost) 0
/// instead of to ±1e14.
pub(crate) const RELATIVE_CONSTANT_STD: f64 = 1e-12;

impl Dataset {
    /// A copy with a constant-1 feature appended as the **last** feature (d + 1 features), so a
    /// linear model's last weight is its intercept. Standardize first: a [`Standardizer`]
    /// maps constant features to 0.
    ///
    /// ```
    /// use lisse_oracles::data::{Dataset, Targets};
    /// use nalgebra::{DMatrix, DVector};
    /// let x = DMatrix::from_column_slice(2, 2, &[1.0, 2.0, 3.0, 4.0]);
    /// let data = Dataset::new(x, Targets::Real(DVector::from_vec(vec![0.0, 1.0])))?;
    /// let with_one = data.with_intercept();
    /// assert_eq!(with_one.features().as_slice(), &[1.0, 2.0, 1.0, 3.0, 4.0, 1.0]);
    /// # Ok::<(), lisse_core::Error>(())
    /// ```
    #[must_use]
    pub fn with_intercept(&self) -> Dataset {
        let d = self.n_features();
        let features = self.features().clone().insert_row(d, 1.0);
        Dataset::from_parts_unchecked(features, self.targets().clone()).with_classes_of(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_std_handles_constants_and_extremes() {
        assert_eq!(mean_std([3.0, 3.0, 3.0].into_iter(), 3), (3.0, 1.0));
        assert_eq!(mean_std([0.1; 7].into_iter(), 7), (0.1, 1.0));
        let (m, s) = mean_std([1.0, 3.0].into_iter(), 2);
        assert!((m - 2.0).abs() < 1e-15 && (s - 1.0).abs() < 1e-15);
        let (m, s) = mean_std([f64::MAX, -f64::MAX, f64::MAX, -f64::MAX].into_iter(), 4);
        assert!(m.abs() < 1e300 && s.is_finite() && s > 1e307, "{m} {s}");
        let (_, s) = mean_std([0.0, 5e-324].into_iter(), 2);
        assert!(s > 0.0);
    }

    #[test]
    fn new_validates_and_deserialization_goes_through_it() {
        let ok = |m: &[f64], s: &[f64]| {
            Standardizer::new(DVector::from_row_slice(m), DVector::from_row_slice(s))
        };
        assert!(ok(&[0.0, 1.0], &[1.0, 2.0]).is_ok());
        assert!(matches!(
            ok(&[0.0, 1.0], &[1.0]),
            Err(Error::DimensionMismatch { .. })
        ));
        assert!(matches!(ok(&[], &[]), Err(Error::InvalidParameter { .. })));
        assert!(matches!(
            ok(&[0.0], &[0.0]),
            Err(Error::InvalidParameter { .. })
        ));
        assert!(matches!(
            ok(&[f64::NAN], &[1.0]),
            Err(Error::NonFinite { .. })
        ));
        let parts = StandardizerParts {
            mean: DVector::from_row_slice(&[1.0]),
            std: DVector::from_row_slice(&[-1.0]),
        };
        assert!(Standardizer::try_from(parts).is_err());
    }

    #[test]
    fn near_constant_features_are_constant() {
        // Issue 6, item 8: rounding noise (std 3e-17) standardized to 3e14.
        let values = [0.1 + 0.2, 0.3, 0.3, 0.1 + 0.2, 0.3];
        let (_, std) = mean_std(values.iter().copied(), values.len());
        assert!((std - 1.0).abs() < f64::EPSILON, "{std}");
        let data = Dataset::new(
            DMatrix::from_row_slice(2, 5, &[values, [1.0, 2.0, 3.0, 4.0, 5.0]].concat()),
            super::super::Targets::Real(DVector::from_element(5, 0.0)),
        )
        .unwrap();
        let scaler = Standardizer::fit(&data);
        assert!((scaler.std()[0] - 1.0).abs() < f64::EPSILON);
        let out = scaler.transform(&data).unwrap();
        assert!(out.features().row(0).amax() < 1e-15, "{}", out.features());
        // A small but genuine spread is kept: relative spread 1e-9 is far above rounding.
        let small = [1.0, 1.0 + 1e-9, 1.0 - 1e-9];
        let (_, std) = mean_std(small.iter().copied(), 3);
        assert!((std - 1e-9 * (2.0f64 / 3.0).sqrt()).abs() < 1e-15, "{std}");
    }

    #[test]
    fn overflow_is_an_error_and_leaves_data_unchanged() {
        let scaler = Standardizer::new(
            DVector::from_row_slice(&[-1e308]),
            DVector::from_row_slice(&[1e-10]),
        )
        .unwrap();
        let mut point = [1.0];
        assert!(matches!(
            scaler.transform_point(&mut point),
            Err(Error::NonFinite { .. })
        ));
        assert_eq!(point[0].to_bits(), 1f64.to_bits());
        let data = Dataset::new(
            DMatrix::from_row_slice(1, 2, &[0.0, 1e308]),
            super::super::Targets::Real(DVector::from_row_slice(&[0.0, 0.0])),
        )
        .unwrap();
        let mut copy = data.clone();
        assert!(matches!(
            scaler.transform_in_place(&mut copy),
            Err(Error::NonFinite { index: 0, .. })
        ));
        assert_eq!(copy, data);
    }
}
