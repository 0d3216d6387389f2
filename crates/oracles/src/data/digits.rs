//! The UCI handwritten digits, embedded in the crate (no network needed).

use std::sync::OnceLock;

use super::{CsvOptions, Dataset, TargetKind, parse_csv};

/// The embedded file: 1,797 lines of 64 pixel values in 0..=16 followed by the label 0..=9.
const DIGITS_CSV: &str = include_str!("../../data/digits.csv");

/// Source, licence and citation of the data behind [`digits`]. Keep it next to results or
/// copies that use the data (CC BY 4.0 requires attribution).
pub const DIGITS_ATTRIBUTION: &str = "Optical Recognition of Handwritten Digits (test part, 1,797 \
     samples, as distributed by scikit-learn). Alpaydin, E. & Kaynak, C. (1998). Optical \
     Recognition of Handwritten Digits [Dataset]. UCI Machine Learning Repository. \
     https://doi.org/10.24432/C50P49. Licence: Creative Commons Attribution 4.0 International \
     (CC BY 4.0).";

/// The UCI "Optical Recognition of Handwritten Digits" data (test part; the copy scikit-learn
/// distributes): 1,797 samples of 8×8 images, 64 features (pixel counts 0..=16, row by row)
/// and 10 classes (the digits 0..=9).
///
/// The data are embedded in the crate and parsed on the first call; later calls clone the
/// cached copy. See [`DIGITS_ATTRIBUTION`] for the source, licence (CC BY 4.0) and citation.
///
/// ```
/// use lisse_oracles::data::digits;
/// let data = digits();
/// assert_eq!((data.n_features(), data.n_samples(), data.n_classes()), (64, 1797, Some(10)));
/// assert_eq!(data.labels().unwrap()[0], 0);
/// ```
///
/// # Panics
/// Never in practice: the embedded file is a compile-time constant that the crate's tests
/// parse; a panic would mean the crate itself was built from a corrupted copy.
pub fn digits() -> Dataset {
    static CACHE: OnceLock<Dataset> = OnceLock::new();
    CACHE
        .get_or_init(|| {
            let options = CsvOptions::new()
                .target_kind(TargetKind::classes_with(10))
                .comment(None);
            parse_csv(DIGITS_CSV, "embedded digits.csv", &options)
                .expect("the embedded digits file parses")
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_file_parses_with_the_expected_shape() {
        let options = CsvOptions::new().target_kind(TargetKind::classes_with(10));
        let data = parse_csv(DIGITS_CSV, "embedded", &options).unwrap();
        assert_eq!(
            (data.n_features(), data.n_samples(), data.n_classes()),
            (64, 1797, Some(10))
        );
        assert_eq!(data, digits());
        assert!(
            DIGITS_ATTRIBUTION.contains("10.24432/C50P49")
                && DIGITS_ATTRIBUTION.contains("CC BY 4.0")
        );
    }
}
