//! Subsets and random train / validation / test splits.

use nalgebra::DVector;
use rand::Rng;
use rand::seq::SliceRandom;

use lisse_core::{Error, Result};

use super::{Dataset, Targets};

impl Dataset {
    /// The samples at `indices`, in that order (repeats allowed, e.g. for a bootstrap). A
    /// classification subset keeps the parent's `n_classes`, even if some classes are absent.
    ///
    /// ```
    /// use lisse_oracles::data::digits;
    /// let data = digits();
    /// let first_three = data.subset(&[0, 1, 2])?;
    /// assert_eq!(first_three.n_samples(), 3);
    /// assert_eq!(first_three.n_classes(), Some(10));
    /// assert_eq!(first_three.sample(2)?, data.sample(2)?);
    /// # Ok::<(), lisse_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for an empty `indices` or an index `>= n_samples()`.
    pub fn subset(&self, indices: &[usize]) -> Result<Dataset> {
        if indices.is_empty() {
            return Err(Error::invalid(
                "indices",
                "[]",
                "at least one sample index (a data set is never empty)",
            ));
        }
        let n = self.n_samples();
        if let Some(&bad) = indices.iter().find(|&&i| i >= n) {
            return Err(Error::invalid(
                "sample index",
                bad,
                format!("in 0..{n} (the number of samples)"),
            ));
        }
        let features = self.features().select_columns(indices);
        let targets = match self.targets() {
            Targets::Real(y) => Targets::Real(DVector::from_iterator(
                indices.len(),
                indices.iter().map(|&i| y[i]),
            )),
            Targets::Classes { labels, n_classes } => Targets::Classes {
                labels: indices.iter().map(|&i| labels[i]).collect(),
                n_classes: *n_classes,
            },
        };
        Ok(Dataset::from_parts_unchecked(features, targets).with_classes_of(self))
    }
}

/// The sample indices of a [`Split`], each part in random order; together they are a
/// permutation of `0..n`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SplitIndices {
    /// Indices of the training samples.
    pub train: Vec<usize>,
    /// Indices of the validation samples (empty when its fraction is 0).
    pub validation: Vec<usize>,
    /// Indices of the test samples (empty when its fraction is 0).
    pub test: Vec<usize>,
}

/// A random partition of a data set into training, validation and test parts.
///
/// Made by [`split`] or [`stratified_split`]. A part whose fraction is 0 is `None`; every
/// part with a positive fraction has at least one sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// The training part.
    pub train: Dataset,
    /// The validation part, `None` when its fraction is 0.
    pub validation: Option<Dataset>,
    /// The test part, `None` when its fraction is 0.
    pub test: Option<Dataset>,
    /// Which samples of the original data set went where.
    pub indices: SplitIndices,
}

/// Splits a data set at random into training, validation and test parts of the given
/// fractions `(train, validation, test)`, shuffling with the caller's generator (the same
/// generator state gives the same split).
///
/// Part sizes are the fractions of n rounded by largest remainders (they add up to n), then
/// adjusted so that every part with a positive fraction gets at least one sample. Each part's
/// samples are in random order.
///
/// ```
/// use lisse_core::RngStreams;
/// use lisse_oracles::data::{digits, split};
/// let data = digits();
/// let parts = split(&data, (0.6, 0.2, 0.2), &mut RngStreams::new(7).stream(0))?;
/// assert_eq!(parts.train.n_samples(), 1078);
/// assert_eq!(parts.validation.as_ref().map(|v| v.n_samples()), Some(360));
/// assert_eq!(parts.test.as_ref().map(|t| t.n_samples()), Some(359));
/// # Ok::<(), lisse_core::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] when a fraction is not in `[0, 1]`, the fractions do not sum to 1
/// (within 1e-9), the training fraction is 0, or there are fewer samples than parts with a
/// positive fraction.
pub fn split<R: Rng + ?Sized>(
    data: &Dataset,
    fractions: (f64, f64, f64),
    rng: &mut R,
) -> Result<Split> {
    let indices = split_indices(data.n_samples(), fractions, rng)?;
    make_split(data, indices)
}

/// Like [`split`], but each class is divided in the proportions of `fractions` (up to rounding:
/// within one or two samples per class and part), so class frequencies are the same in every
/// part. Part sizes equal those of [`split`].
///
/// ```
/// use lisse_core::RngStreams;
/// use lisse_oracles::data::{digits, stratified_split};
/// let data = digits();
/// let parts = stratified_split(&data, (0.5, 0.0, 0.5), &mut RngStreams::new(1).stream(0))?;
/// let test = parts.test.unwrap();
/// let zeros = test.labels().unwrap().iter().filter(|&&l| l == 0).count();
/// assert!((88..=90).contains(&zeros)); // 178 zeros in all
/// assert!(parts.validation.is_none());
/// # Ok::<(), lisse_core::Error>(())
/// ```
///
/// # Errors
/// The errors of [`split`], and [`Error::InvalidParameter`] for a data set with real targets.
pub fn stratified_split<R: Rng + ?Sized>(
    data: &Dataset,
    fractions: (f64, f64, f64),
    rng: &mut R,
) -> Result<Split> {
    let (Some(labels), Some(n_classes)) = (data.labels(), data.n_classes()) else {
        return Err(Error::invalid(
            "targets",
            "real",
            "class labels for a stratified split (use split for regression data)",
        ));
    };
    let n = labels.len();
    let counts = part_sizes(n, fractions)?;
    // Samples grouped by class, shuffled within each class.
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); n_classes.min(n)];
    let mut order: Vec<usize> = Vec::with_capacity(n);
    if n_classes <= n {
        for (i, &l) in labels.iter().enumerate() {
            by_class[l].push(i);
        }
        for class in &mut by_class {
            class.shuffle(rng);
            order.extend_from_slice(class);
        }
    } else {
        // More classes than samples: group by sorting instead of one bucket per class.
        order.extend(0..n);
        order.shuffle(rng);
        order.sort_by_key(|&i| labels[i]);
    }
    // Deal the grouped sequence to the parts so that every prefix (hence every class block)
    // is split in proportion: slot t goes to the part furthest behind its quota.
    let mut parts: [Vec<usize>; 3] = Default::default();
    for (t, &i) in order.iter().enumerate() {
        let behind =
            |p: usize| counts[p] as i128 * (t as i128 + 1) - parts[p].len() as i128 * n as i128;
        let mut best = 0;
        for p in 1..3 {
            if counts[p] > parts[p].len()
                && (parts[best].len() >= counts[best] || behind(p) > behind(best))
            {
                best = p;
            }
        }
        parts[best].push(i);
    }
    for part in &mut parts {
        part.shuffle(rng);
    }
    let [train, validation, test] = parts;
    make_split(
        data,
        SplitIndices {
            train,
            validation,
            test,
        },
    )
}

/// Splits a data set at random into a training and a test part, `test_fraction` of the samples
/// (rounded, at least one) going to the test part.
///
/// ```
/// use lisse_core::RngStreams;
/// use lisse_oracles::data::{digits, train_test_split};
/// let (train, test) = train_test_split(&digits(), 0.25, &mut RngStreams::new(3).stream(0))?;
/// assert_eq!((train.n_samples(), test.n_samples()), (1348, 449));
/// # Ok::<(), lisse_core::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] when `test_fraction` is not in `(0, 1)` or the data set has
/// fewer than two samples.
pub fn train_test_split<R: Rng + ?Sized>(
    data: &Dataset,
    test_fraction: f64,
    rng: &mut R,
) -> Result<(Dataset, Dataset)> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(Error::invalid("test_fraction", test_fraction, "in (0, 1)"));
    }
    let parts = split(data, (1.0 - test_fraction, 0.0, test_fraction), rng)?;
    match parts.test {
        Some(test) => Ok((parts.train, test)),
        None => Err(Error::invalid("test_fraction", test_fraction, "in (0, 1)")),
    }
}

/// The index part of [`split`]: a random partition of `0..n` into parts of the given
/// fractions `(train, validation, test)`, each part in random order.
///
/// ```
/// use lisse_core::RngStreams;
/// use lisse_oracles::data::split_indices;
/// let parts = split_indices(10, (0.8, 0.1, 0.1), &mut RngStreams::new(0).stream(0))?;
/// assert_eq!((parts.train.len(), parts.validation.len(), parts.test.len()), (8, 1, 1));
/// # Ok::<(), lisse_core::Error>(())
/// ```
///
/// # Errors
/// As [`split`], with `n` the number of samples.
pub fn split_indices<R: Rng + ?Sized>(
    n: usize,
    fractions: (f64, f64, f64),
    rng: &mut R,
) -> Result<SplitIndices> {
    let [n_train, n_validation, _] = part_sizes(n, fractions)?;
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    let test = order.split_off(n_train + n_validation);
    let validation = order.split_off(n_train);
    Ok(SplitIndices {
        train: order,
        validation,
        test,
    })
}

/// Builds the parts of a split from its indices.
fn make_split(data: &Dataset, indices: SplitIndices) -> Result<Split> {
    let optional = |part: &[usize]| {
        if part.is_empty() {
            Ok(None)
        } else {
            data.subset(part).map(Some)
        }
    };
    Ok(Split {
        train: data.subset(&indices.train)?,
        validation: optional(&indices.validation)?,
        test: optional(&indices.test)?,
        indices,
    })
}

/// Part sizes for `n` samples: largest-remainder rounding of the fractions, then at least one
/// sample for each part with a positive fraction.
fn part_sizes(n: usize, fractions: (f64, f64, f64)) -> Result<[usize; 3]> {
    let f = [fractions.0, fractions.1, fractions.2];
    let shown = || format!("({}, {}, {})", f[0], f[1], f[2]);
    let sum: f64 = f.iter().sum();
    if f.iter().any(|x| !(0.0..=1.0).contains(x)) || (sum - 1.0).abs() > 1e-9 {
        return Err(Error::invalid(
            "fractions",
            shown(),
            "three numbers in [0, 1] summing to 1 (train, validation, test)",
        ));
    }
    if f[0] == 0.0 {
        return Err(Error::invalid(
            "fractions",
            shown(),
            "a positive training fraction",
        ));
    }
    let positive = f.iter().filter(|&&x| x > 0.0).count();
    if n < positive {
        return Err(Error::invalid(
            "fractions",
            shown(),
            format!(
                "at most {n} positive parts: each positive part needs a sample, and the data set has {n}"
            ),
        ));
    }
    let exact = f.map(|x| x / sum * n as f64);
    let mut sizes = exact.map(|x| (x.floor() as usize).min(n));
    // Hand out the remainder by largest fractional part, among the positive parts.
    let mut by_remainder: Vec<usize> = (0..3).filter(|&p| f[p] > 0.0).collect();
    by_remainder
        .sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    let mut k = 0;
    while sizes.iter().sum::<usize>() < n {
        sizes[by_remainder[k % by_remainder.len()]] += 1;
        k += 1;
    }
    while sizes.iter().sum::<usize>() > n {
        let largest = (0..3).max_by_key(|&p| sizes[p]).unwrap_or(0);
        sizes[largest] -= 1;
    }
    // Every positive part gets a sample, taken from the largest part (which has at least two,
    // since n >= the number of positive parts).
    for p in 0..3 {
        if f[p] > 0.0 && sizes[p] == 0 {
            let largest = (0..3).max_by_key(|&q| sizes[q]).unwrap_or(0);
            sizes[largest] -= 1;
            sizes[p] += 1;
        }
    }
    Ok(sizes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_round_by_largest_remainder() {
        assert_eq!(part_sizes(10, (0.8, 0.1, 0.1)).unwrap(), [8, 1, 1]);
        assert_eq!(part_sizes(10, (0.55, 0.25, 0.2)).unwrap(), [6, 2, 2]);
        assert_eq!(part_sizes(1797, (0.6, 0.2, 0.2)).unwrap(), [1078, 360, 359]);
        assert_eq!(
            part_sizes(3, (1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0)).unwrap(),
            [1, 1, 1]
        );
        assert_eq!(part_sizes(5, (1.0, 0.0, 0.0)).unwrap(), [5, 0, 0]);
        assert_eq!(part_sizes(1, (1.0, 0.0, 0.0)).unwrap(), [1, 0, 0]);
        // Tiny positive fractions still get one sample each.
        assert_eq!(part_sizes(4, (0.98, 0.01, 0.01)).unwrap(), [2, 1, 1]);
        assert_eq!(part_sizes(2, (0.01, 0.99, 0.0)).unwrap(), [1, 1, 0]);
        assert!(part_sizes(1, (0.7, 0.0, 0.3)).is_err());
        for n in 2..40 {
            let s = part_sizes(n, (0.7, 0.0, 0.3)).unwrap();
            assert_eq!(s.iter().sum::<usize>(), n);
            assert_eq!(s[1], 0);
        }
    }

    #[test]
    fn bad_fractions_are_rejected() {
        for f in [
            (0.5, 0.5, 0.5),
            (1.1, -0.1, 0.0),
            (f64::NAN, 0.5, 0.5),
            (0.0, 0.5, 0.5),
            (0.5, 0.2, 0.2),
        ] {
            assert!(
                matches!(part_sizes(10, f), Err(Error::InvalidParameter { .. })),
                "{f:?}"
            );
        }
        assert!(part_sizes(2, (0.5, 0.25, 0.25)).is_err());
        assert!(part_sizes(0, (1.0, 0.0, 0.0)).is_err());
        assert!(part_sizes(10, (0.6, 0.2, 0.2 + 1e-12)).is_ok());
    }
}
