//! Data sets: the [`Dataset`] type (one sample per column), the embedded handwritten digits,
//! CSV and LIBSVM readers, splits and standardization.
//!
//! ```
//! use lisse_core::RngStreams;
//! use lisse_oracles::data::{Standardizer, digits, stratified_split};
//! let parts = stratified_split(&digits(), (0.6, 0.2, 0.2), &mut RngStreams::new(42).stream(0))?;
//! let scaler = Standardizer::fit(&parts.train); // training statistics only
//! let train = scaler.transform(&parts.train)?.with_intercept();
//! let validation = scaler.transform(parts.validation.as_ref().unwrap())?.with_intercept();
//! assert_eq!(train.n_samples() + validation.n_samples() + parts.test.unwrap().n_samples(), 1797);
//! # Ok::<(), lisse_core::Error>(())
//! ```

mod csv;
mod dataset;
mod digits;
mod libsvm;
mod split;
mod standardize;
mod text;

pub use csv::{CsvOptions, TargetColumn, parse_csv, read_csv};
pub use dataset::{DEFAULT_MAX_DENSE_BYTES, Dataset, Targets, check_dense_size};
pub use digits::{DIGITS_ATTRIBUTION, digits};
pub use libsvm::{LibsvmOptions, parse_libsvm, read_libsvm};
pub use split::{Split, SplitIndices, split, split_indices, stratified_split, train_test_split};
pub use standardize::Standardizer;
pub use text::TargetKind;
