//! Integration tests of `lisse_oracles::data`: the embedded digits, the CSV and LIBSVM readers,
//! splits and standardization.

// Exact float comparisons are intended here: parsed numbers, zeros and ones are exact.
#![allow(clippy::float_cmp)]

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use approx::assert_abs_diff_eq;
use lisse_core::{Error, RngStreams};
use lisse_oracles::data::{
    CsvOptions, DIGITS_ATTRIBUTION, Dataset, LibsvmOptions, Split, Standardizer, TargetColumn,
    TargetKind, Targets, digits, parse_csv, parse_libsvm, read_csv, read_libsvm, split,
    stratified_split, train_test_split,
};
use nalgebra::{DMatrix, DVector};
use proptest::prelude::*;

/// A temporary file that is removed when dropped; the name is unique per process and call.
struct TempFile(PathBuf);

impl TempFile {
    fn new(contents: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let k = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "lisse-oracles-data-test-{}-{k}.txt",
            std::process::id()
        ));
        std::fs::write(&path, contents).expect("write temp file");
        Self(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn real_data(d: usize, n: usize, seed: f64) -> Dataset {
    let x = DMatrix::from_fn(d, n, |i, j| {
        ((i * 7 + j * 3) as f64 * seed).sin() * (i + 1) as f64
    });
    let y = DVector::from_fn(n, |j, _| j as f64);
    Dataset::new(x, Targets::Real(y)).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Digits

#[test]
fn digits_has_the_known_shape_range_and_class_counts() {
    let data = digits();
    assert_eq!(data.n_samples(), 1797);
    assert_eq!(data.n_features(), 64);
    assert_eq!(data.n_classes(), Some(10));
    let x = data.features();
    assert!(
        x.iter()
            .all(|&v| (0.0..=16.0).contains(&v) && v.fract() == 0.0)
    );
    assert_eq!(x.max(), 16.0);
    assert_eq!(x.min(), 0.0);
    let mut counts = [0usize; 10];
    for &l in data.labels().unwrap() {
        counts[l] += 1;
    }
    assert_eq!(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
    // First sample of the scikit-learn copy: a zero.
    assert_eq!(data.labels().unwrap()[0], 0);
    assert_eq!(
        &data.sample(0).unwrap().as_slice()[..8],
        &[0.0, 0.0, 5.0, 13.0, 9.0, 1.0, 0.0, 0.0]
    );
    assert!(DIGITS_ATTRIBUTION.contains("CC BY 4.0"));
    assert!(DIGITS_ATTRIBUTION.contains("Alpaydin"));
}

// ---------------------------------------------------------------------------------------------
// CSV

#[test]
fn csv_round_trip_from_string_and_file() {
    let text = "f1,f2,f3,label\n0.5,-1,2e-3,2\n1.5,0,3,0\n# comment\n\n-2,4.25,1,1\n";
    let options = CsvOptions::new()
        .has_header(true)
        .target_kind(TargetKind::classes());
    let from_text = parse_csv(text, "inline", &options).unwrap();
    assert_eq!((from_text.n_features(), from_text.n_samples()), (3, 3));
    assert_eq!(from_text.sample(0).unwrap().as_slice(), &[0.5, -1.0, 2e-3]);
    assert_eq!(from_text.sample(2).unwrap().as_slice(), &[-2.0, 4.25, 1.0]);
    assert_eq!(from_text.labels(), Some(&[2, 0, 1][..]));
    assert_eq!(from_text.n_classes(), Some(3));

    let file = TempFile::new(text);
    let from_file = read_csv(&file.0, &options).unwrap();
    assert_eq!(from_file, from_text);

    // Writing a data set out and reading it back gives it again (Rust prints f64 round-trip).
    let data = real_data(3, 5, 0.37);
    let mut out = String::new();
    for j in 0..data.n_samples() {
        let y = data.real_targets().unwrap()[j];
        let row: Vec<String> = std::iter::once(y)
            .chain(data.sample(j).unwrap().iter().copied())
            .map(|v| v.to_string())
            .collect();
        out.push_str(&row.join(";"));
        out.push('\n');
    }
    let file = TempFile::new(&out);
    let back = read_csv(
        &file.0,
        &CsvOptions::new()
            .delimiter(';')
            .target_column(TargetColumn::First),
    )
    .unwrap();
    assert_eq!(back, data);
}

#[test]
fn csv_errors_are_typed_with_line_numbers() {
    let ragged = parse_csv("1,2,3\n4,5\n", "ragged.csv", &CsvOptions::new()).unwrap_err();
    assert!(
        matches!(&ragged, Error::Parse { source_name, line: 2, reason } if source_name == "ragged.csv" && reason.contains("expected 3 fields")),
        "{ragged}"
    );
    let word = parse_csv("1,2\n3,abc\n", "t", &CsvOptions::new()).unwrap_err();
    assert!(
        matches!(&word, Error::Parse { line: 2, reason, .. } if reason.contains("abc")),
        "{word}"
    );
    let fractional = parse_csv(
        "1,0\n2,2.5\n",
        "t",
        &CsvOptions::new().target_kind(TargetKind::classes()),
    )
    .unwrap_err();
    assert!(
        matches!(&fractional, Error::Parse { line: 2, reason, .. } if reason.contains("not an integer")),
        "{fractional}"
    );
    let missing =
        std::env::temp_dir().join(format!("lisse-no-such-file-{}.csv", std::process::id()));
    let e = read_csv(&missing, &CsvOptions::new()).unwrap_err();
    assert!(
        matches!(&e, Error::Io { path, message } if path.contains("lisse-no-such-file") && !message.is_empty()),
        "{e}"
    );
    // The file name is the source name of parse errors from read_csv.
    let file = TempFile::new("1,2\nx,3\n");
    let e = read_csv(&file.0, &CsvOptions::new()).unwrap_err();
    assert!(
        matches!(&e, Error::Parse { source_name, line: 2, .. } if source_name.contains("lisse-oracles-data-test")),
        "{e}"
    );
    assert!(e.to_string().contains("line 2"));
}

// ---------------------------------------------------------------------------------------------
// LIBSVM

#[test]
fn libsvm_round_trip_from_string_and_file() {
    let text = "+1 1:0.5 3:-2\n-1 2:1.25 4:1e-2\n+1\n";
    let options = LibsvmOptions::new().target_kind(TargetKind::classes());
    let data = parse_libsvm(text, "inline", &options).unwrap();
    assert_eq!((data.n_features(), data.n_samples()), (4, 3));
    assert_eq!(data.sample(0).unwrap().as_slice(), &[0.5, 0.0, -2.0, 0.0]);
    assert_eq!(data.sample(1).unwrap().as_slice(), &[0.0, 1.25, 0.0, 1e-2]);
    assert_eq!(data.sample(2).unwrap().as_slice(), &[0.0; 4]);
    assert_eq!(data.labels(), Some(&[1, 0, 1][..]));
    let file = TempFile::new(text);
    assert_eq!(read_libsvm(&file.0, &options).unwrap(), data);

    // Real targets, a given width, and a write-out / read-back round trip of the digits head.
    let head = digits().subset(&(0..20).collect::<Vec<_>>()).unwrap();
    let mut out = String::new();
    for j in 0..head.n_samples() {
        out.push_str(&head.labels().unwrap()[j].to_string());
        for (i, &v) in head.sample(j).unwrap().iter().enumerate() {
            if v != 0.0 {
                write!(out, " {}:{v}", i + 1).unwrap();
            }
        }
        out.push('\n');
    }
    let file = TempFile::new(&out);
    let back = read_libsvm(
        &file.0,
        &LibsvmOptions::new()
            .n_features(64)
            .target_kind(TargetKind::classes_with(10)),
    )
    .unwrap();
    assert_eq!(back, head);
    let real = read_libsvm(&file.0, &LibsvmOptions::new().n_features(64)).unwrap();
    assert_eq!(real.features(), head.features());
    assert_eq!(
        real.real_targets().unwrap()[0],
        head.labels().unwrap()[0] as f64
    );
}

#[test]
fn libsvm_errors_are_typed_with_line_numbers() {
    let opts = LibsvmOptions::new();
    let zero = parse_libsvm("1 1:1\n1 0:2\n", "t", &opts).unwrap_err();
    assert!(
        matches!(&zero, Error::Parse { line: 2, reason, .. } if reason.contains("1-based")),
        "{zero}"
    );
    let decreasing = parse_libsvm("1 3:1 2:2\n", "t", &opts).unwrap_err();
    assert!(
        matches!(&decreasing, Error::Parse { line: 1, reason, .. } if reason.contains("increase")),
        "{decreasing}"
    );
    let too_small =
        parse_libsvm("1 1:1\n\n1 5:2\n", "t", &LibsvmOptions::new().n_features(4)).unwrap_err();
    assert!(
        matches!(&too_small, Error::Parse { line: 3, reason, .. } if reason.contains("n_features = 4")),
        "{too_small}"
    );
    let value = parse_libsvm("1 1:abc\n", "t", &opts).unwrap_err();
    assert!(
        matches!(&value, Error::Parse { line: 1, reason, .. } if reason.contains("abc")),
        "{value}"
    );
    let label = parse_libsvm(
        "2.5 1:1\n",
        "t",
        &LibsvmOptions::new().target_kind(TargetKind::classes()),
    )
    .unwrap_err();
    assert!(
        matches!(&label, Error::Parse { line: 1, reason, .. } if reason.contains("not an integer")),
        "{label}"
    );
    let missing =
        std::env::temp_dir().join(format!("lisse-no-such-file-{}.svm", std::process::id()));
    assert!(matches!(
        read_libsvm(&missing, &opts),
        Err(Error::Io { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// Subsets and splits

fn check_partition(parts: &Split, n: usize) {
    let SplitIndicesView {
        train,
        validation,
        test,
    } = SplitIndicesView::of(parts);
    assert_eq!(train.len() + validation.len() + test.len(), n);
    let all: HashSet<usize> = train
        .iter()
        .chain(validation)
        .chain(test)
        .copied()
        .collect();
    assert_eq!(all.len(), n, "parts overlap");
    assert!(all.iter().all(|&i| i < n));
    assert_eq!(parts.train.n_samples(), train.len());
    assert_eq!(
        parts.validation.as_ref().map_or(0, Dataset::n_samples),
        validation.len()
    );
    assert_eq!(
        parts.test.as_ref().map_or(0, Dataset::n_samples),
        test.len()
    );
}

struct SplitIndicesView<'a> {
    train: &'a [usize],
    validation: &'a [usize],
    test: &'a [usize],
}

impl<'a> SplitIndicesView<'a> {
    fn of(parts: &'a Split) -> Self {
        Self {
            train: &parts.indices.train,
            validation: &parts.indices.validation,
            test: &parts.indices.test,
        }
    }
}

#[test]
fn subset_copies_columns_and_rejects_bad_indices() {
    let data = real_data(2, 5, 1.3);
    let sub = data.subset(&[4, 0, 4]).unwrap();
    assert_eq!(sub.sample(0), data.sample(4));
    assert_eq!(sub.sample(1), data.sample(0));
    assert_eq!(sub.real_targets().unwrap().as_slice(), &[4.0, 0.0, 4.0]);
    assert!(matches!(
        data.subset(&[]),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        data.subset(&[0, 5]),
        Err(Error::InvalidParameter { .. })
    ));
}

#[test]
fn split_is_a_reproducible_partition() {
    let data = digits();
    let n = data.n_samples();
    let parts = split(&data, (0.7, 0.15, 0.15), &mut RngStreams::new(5).stream(0)).unwrap();
    check_partition(&parts, n);
    for (j, &i) in parts.indices.train.iter().enumerate() {
        assert_eq!(parts.train.sample(j), data.sample(i));
        assert_eq!(parts.train.labels().unwrap()[j], data.labels().unwrap()[i]);
    }
    let again = split(&data, (0.7, 0.15, 0.15), &mut RngStreams::new(5).stream(0)).unwrap();
    assert_eq!(again, parts);
    let other = split(&data, (0.7, 0.15, 0.15), &mut RngStreams::new(6).stream(0)).unwrap();
    assert_ne!(other.indices, parts.indices);

    let two = split(&data, (0.9, 0.0, 0.1), &mut RngStreams::new(5).stream(1)).unwrap();
    check_partition(&two, n);
    assert!(two.validation.is_none());
    let (train, test) = train_test_split(&data, 0.1, &mut RngStreams::new(5).stream(1)).unwrap();
    assert_eq!(Some(&test), two.test.as_ref());
    assert_eq!(train, two.train);
}

#[test]
fn split_rejects_bad_fractions_with_typed_errors() {
    let data = real_data(2, 3, 0.5);
    let rng = &mut RngStreams::new(0).stream(0);
    for f in [
        (0.5, 0.5, 0.5),
        (-0.1, 0.6, 0.5),
        (0.0, 0.5, 0.5),
        (f64::NAN, 0.0, 1.0),
    ] {
        assert!(
            matches!(split(&data, f, rng), Err(Error::InvalidParameter { .. })),
            "{f:?}"
        );
    }
    // Each positive part needs a sample: 3 samples suffice for 3 parts, 2 do not.
    assert!(split(&data, (0.98, 0.01, 0.01), rng).is_ok());
    let small = data.subset(&[0, 1]).unwrap();
    assert!(matches!(
        split(&small, (0.98, 0.01, 0.01), rng),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        train_test_split(&data, 1.0, rng),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        train_test_split(&data.subset(&[0]).unwrap(), 0.5, rng),
        Err(Error::InvalidParameter { .. })
    ));
    assert!(matches!(
        stratified_split(&data, (0.5, 0.0, 0.5), rng),
        Err(Error::InvalidParameter { .. })
    ));
}

#[test]
fn stratified_split_keeps_class_proportions() {
    let data = digits();
    let labels = data.labels().unwrap();
    let fractions = (0.6, 0.2, 0.2);
    let parts = stratified_split(&data, fractions, &mut RngStreams::new(11).stream(0)).unwrap();
    check_partition(&parts, data.n_samples());
    let plain = split(&data, fractions, &mut RngStreams::new(11).stream(0)).unwrap();
    assert_eq!(parts.train.n_samples(), plain.train.n_samples());
    let total = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180];
    for (part, f) in [
        (&parts.indices.train, 0.6),
        (&parts.indices.validation, 0.2),
        (&parts.indices.test, 0.2),
    ] {
        let mut counts = [0usize; 10];
        for &i in part {
            counts[labels[i]] += 1;
        }
        for (c, (&got, &all)) in counts.iter().zip(&total).enumerate() {
            let want = f * all as f64;
            assert!(
                (got as f64 - want).abs() <= 2.0,
                "class {c}: {got} vs {want}"
            );
        }
    }
    // Reproducible, and each part is shuffled rather than sorted by class.
    assert_eq!(
        stratified_split(&data, fractions, &mut RngStreams::new(11).stream(0)).unwrap(),
        parts
    );
    let train_labels = parts.train.labels().unwrap();
    assert!(train_labels.windows(2).any(|w| w[0] > w[1]));
    // Classes absent from the data and more classes than samples are fine.
    let x = DMatrix::from_fn(1, 4, |_, j| j as f64);
    let sparse = Dataset::new(
        x,
        Targets::Classes {
            labels: vec![7, 2, 7, 2],
            n_classes: 10,
        },
    )
    .unwrap();
    let parts =
        stratified_split(&sparse, (0.5, 0.0, 0.5), &mut RngStreams::new(0).stream(0)).unwrap();
    let test = parts.test.unwrap();
    let mut test_labels = test.labels().unwrap().to_vec();
    test_labels.sort_unstable();
    assert_eq!(test_labels, [2, 7]);
    let x = DMatrix::from_fn(1, 3, |_, j| j as f64);
    let many = Dataset::new(
        x,
        Targets::Classes {
            labels: vec![90, 5, 90],
            n_classes: 100,
        },
    )
    .unwrap();
    let parts =
        stratified_split(&many, (0.34, 0.33, 0.33), &mut RngStreams::new(0).stream(0)).unwrap();
    check_partition(&parts, 3);
}

// ---------------------------------------------------------------------------------------------
// Standardization

fn column_stats(data: &Dataset) -> Vec<(f64, f64)> {
    data.features()
        .row_iter()
        .map(|row| {
            let n = row.len() as f64;
            let mean = row.sum() / n;
            let var = row.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
            (mean, var.sqrt())
        })
        .collect()
}

#[test]
fn standardizer_uses_training_statistics_only() {
    let data = digits();
    let parts = split(&data, (0.8, 0.0, 0.2), &mut RngStreams::new(2).stream(0)).unwrap();
    let test = parts.test.unwrap();
    let scaler = Standardizer::fit(&parts.train);
    assert_eq!(scaler.n_features(), 64);
    let train_std = scaler.transform(&parts.train).unwrap();
    for ((mean, std), &s) in column_stats(&train_std)
        .into_iter()
        .zip(scaler.std().iter())
    {
        assert_abs_diff_eq!(mean, 0.0, epsilon = 1e-12);
        if s == 1.0 && std == 0.0 {
            continue; // a constant pixel (always 0 in the training part)
        }
        assert_abs_diff_eq!(std, 1.0, epsilon = 1e-12);
    }
    // Test data: transformed with the training statistics, not refit.
    let test_std = scaler.transform(&test).unwrap();
    for j in 0..test.n_samples() {
        for i in 0..64 {
            let want = (test.features()[(i, j)] - scaler.mean()[i]) / scaler.std()[i];
            assert_abs_diff_eq!(test_std.features()[(i, j)], want, epsilon = 1e-12);
        }
    }
    assert_ne!(Standardizer::fit(&test), scaler);
    assert_eq!(test_std.targets(), test.targets());
    let mut in_place = test.clone();
    scaler.transform_in_place(&mut in_place).unwrap();
    assert_eq!(in_place, test_std);
    let mut point: Vec<f64> = test.sample(0).unwrap().iter().copied().collect();
    scaler.transform_point(&mut point).unwrap();
    assert_eq!(point.as_slice(), test_std.sample(0).unwrap().as_slice());

    // Constant features map to 0; the intercept goes last, after standardizing.
    let pixel0 = scaler.std()[0];
    assert_eq!(pixel0, 1.0);
    assert!(train_std.features().row(0).iter().all(|&v| v == 0.0));
    let with_one = train_std.with_intercept();
    assert_eq!(with_one.n_features(), 65);
    assert!(with_one.features().row(64).iter().all(|&v| v == 1.0));
    assert_eq!(
        with_one.features().rows(0, 64),
        train_std.features().rows(0, 64)
    );

    // Wrong width: a dimension error, not a panic.
    assert!(matches!(
        scaler.transform(&with_one),
        Err(Error::DimensionMismatch {
            expected: 64,
            got: 65,
            ..
        })
    ));
    let mut short = vec![0.0; 3];
    assert!(matches!(
        scaler.transform_point(&mut short),
        Err(Error::DimensionMismatch { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn standardized_training_features_have_mean_0_and_std_1(
        d in 1usize..5,
        n in 2usize..30,
        values in prop::collection::vec(-1e3f64..1e3, 150),
        scale in prop::sample::select(vec![1e-6, 1.0, 1e6]),
        shift in -1e4f64..1e4,
    ) {
        let x = DMatrix::from_fn(d, n, |i, j| values[(i * n + j) % values.len()] * scale + shift);
        let data = Dataset::new(x, Targets::Real(DVector::zeros(n))).unwrap();
        let scaler = Standardizer::fit(&data);
        let z = scaler.transform(&data).unwrap();
        let raw = column_stats(&data);
        for (i, (mean, std)) in column_stats(&z).into_iter().enumerate() {
            let (raw_mean, raw_std) = raw[i];
            let constant = data.features().row(i).iter().all(|&v| v == data.features()[(i, 0)]);
            if constant {
                prop_assert_eq!(std, 0.0);
                prop_assert_eq!(mean, 0.0);
                prop_assert_eq!(scaler.std()[i], 1.0);
                continue;
            }
            // Rounding of x itself (relative 1e-16 of |x|) is amplified by 1/std.
            let largest = data.features().row(i).amax();
            let tol = 1e-12 * (1.0 + largest / raw_std);
            prop_assert!(mean.abs() < tol, "feature {i}: mean {mean}, tolerance {tol}");
            prop_assert!((std - 1.0).abs() < tol, "feature {i}: std {std}, tolerance {tol}");
            prop_assert!((scaler.mean()[i] - raw_mean).abs() <= 1e-12 * largest);
            prop_assert!((scaler.std()[i] - raw_std).abs() <= 1e-12 * raw_std + 1e-12 * largest);
        }
    }

    #[test]
    fn csv_parses_what_it_is_given(
        rows in prop::collection::vec(prop::collection::vec(-1e6f64..1e6, 3), 1..20),
        labels in prop::collection::vec(0usize..5, 20),
    ) {
        let mut text = String::new();
        for (row, label) in rows.iter().zip(&labels) {
            writeln!(text, "{},{},{},{label}", row[0], row[1], row[2]).unwrap();
        }
        let data = parse_csv(&text, "prop", &CsvOptions::new().target_kind(TargetKind::classes_with(5))).unwrap();
        prop_assert_eq!(data.n_samples(), rows.len());
        for (j, row) in rows.iter().enumerate() {
            let sample = data.sample(j).unwrap();
            prop_assert_eq!(sample.as_slice(), row.as_slice());
            prop_assert_eq!(data.labels().unwrap()[j], labels[j]);
        }
    }
}

#[test]
fn datasets_round_trip_through_json_and_invalid_ones_are_rejected() {
    let data = lisse_oracles::data::digits().subset(&[0, 1, 2]).unwrap();
    let json = serde_json::to_string(&data).unwrap();
    let back: lisse_oracles::data::Dataset = serde_json::from_str(&json).unwrap();
    assert_eq!(back, data);
    // A label of 10 in a 10-class data set is rejected on load, with the core error's message.
    let bad = json.replacen("\"labels\":[0,", "\"labels\":[10,", 1);
    assert_ne!(bad, json, "the test must actually corrupt the label");
    let err = serde_json::from_str::<lisse_oracles::data::Dataset>(&bad).unwrap_err();
    assert!(err.to_string().contains("label"), "{err}");
}
