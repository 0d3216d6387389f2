//! Bad and unusual input to the data readers, quoted from issue 6 ("no aborts, no endless
//! runs, nothing silently wrong"), and a fuzz-style property test of the CSV and LIBSVM readers:
//! on random bytes and random mutations of valid files they return a typed error or a valid
//! data set, never a panic or an abort.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use lisse_core::Error;
use lisse_oracles::data::{
    CsvOptions, Dataset, LibsvmOptions, TargetColumn, TargetKind, Targets, parse_csv, parse_libsvm,
    read_csv, read_libsvm,
};
use lisse_oracles::loss::MultinomialLogistic;
use nalgebra::DMatrix;
use proptest::prelude::*;

/// A temporary file holding `bytes`, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(bytes: &[u8]) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let k = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "lisse-oracles-bad-input-{}-{k}.txt",
            std::process::id()
        ));
        std::fs::write(&path, bytes).expect("write temp file");
        Self(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn classes() -> CsvOptions {
    CsvOptions::new().target_kind(TargetKind::classes())
}

fn libsvm_classes() -> LibsvmOptions {
    LibsvmOptions::new().target_kind(TargetKind::classes())
}

fn reason(e: &Error) -> String {
    match e {
        Error::Parse { reason, .. } => reason.clone(),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Item 1: dense matrices over the memory limit are refused before allocating.

#[test]
fn news20_shaped_libsvm_is_refused_with_the_size_and_the_option() {
    let text = "+1 5:1 1355191:0.5\n".repeat(20_000); // 380 KB, as in the issue
    let e = parse_libsvm(&text, "news20", &libsvm_classes()).unwrap_err();
    let Error::TooLarge { bytes, remedy, .. } = &e else {
        panic!("{e}")
    };
    assert_eq!(*bytes, 1_355_191 * 20_000 * 8);
    assert!(remedy.contains("max_dense_bytes"), "{e}");
    assert!(e.to_string().contains("1355191×20000"), "{e}");

    let hashed = parse_libsvm("1 4294967296:1\n", "hashed", &LibsvmOptions::new()).unwrap_err();
    assert!(
        matches!(
            hashed,
            Error::TooLarge {
                bytes: 34_359_738_368,
                ..
            }
        ),
        "{hashed}"
    );
    // The limit is the caller's to raise: a small limit refuses a small file too.
    let small = LibsvmOptions::new().max_dense_bytes(64);
    assert!(parse_libsvm("1 8:1\n", "t", &small).is_ok());
    assert!(matches!(
        parse_libsvm("1 9:1\n", "t", &small),
        Err(Error::TooLarge { limit: 64, .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// Item 3: class labels are encoded densely and the encoding is kept.

#[test]
fn large_integer_class_ids_are_encoded_densely() {
    let text = "0.5,1600000000\n1.5,1600000001\n2.5,1600000000\n";
    let data = parse_csv(text, "ids", &classes()).unwrap();
    assert_eq!(data.n_classes(), Some(2));
    assert_eq!(data.labels(), Some(&[0, 1, 0][..]));
    assert_eq!(
        data.class_labels(),
        Some(&[1_600_000_000, 1_600_000_001][..])
    );
    let model = MultinomialLogistic::new(data).unwrap();
    assert_eq!(model.n_classes(), 2);

    let huge = parse_csv("1,1000000000000000000\n2,3\n", "t", &classes()).unwrap();
    assert_eq!(
        huge.class_labels(),
        Some(&[3, 1_000_000_000_000_000_000][..])
    );
    let e = parse_csv("1,1e18\n2,3\n", "t", &classes()).unwrap_err();
    assert!(reason(&e).contains("write it as an integer"), "{e}");
}

#[test]
fn libsvm_binary_labels_become_two_classes() {
    for (text, original) in [
        ("2 1:1\n4 1:2\n4 2:1\n", [2, 4]),
        ("1 1:1\n2 1:2\n2 2:1\n", [1, 2]),
        ("-1 1:1\n+1 1:2\n+1 2:1\n", [-1, 1]),
    ] {
        let data = parse_libsvm(text, "t", &libsvm_classes()).unwrap();
        assert_eq!(data.n_classes(), Some(2), "{text:?}");
        assert_eq!(data.labels(), Some(&[0, 1, 1][..]));
        assert_eq!(data.class_labels(), Some(&original[..]));
        assert_eq!(data.class_label(1), Some(original[1]));
        assert_eq!(data.class_of_label(original[0]), Some(0));
    }
}

#[test]
fn class_counts_that_cannot_be_stored_are_typed_errors() {
    // Class ids used directly as indices: 25 GB of weights, or a capacity overflow.
    for n_classes in [1_600_000_002, 1_000_000_000_000_000_001, usize::MAX] {
        let targets = Targets::Classes {
            labels: vec![0, 1],
            n_classes,
        };
        let data = Dataset::new(DMatrix::zeros(2, 2), targets).unwrap();
        let e = MultinomialLogistic::new(data).unwrap_err();
        assert!(
            matches!(&e, Error::TooLarge { what, remedy, .. }
                if what.contains("multinomial weights") && remedy.contains("dense indices")),
            "{e}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Items 6 and 7: blank cells, leading blank cells, uneven rows, numpy.savetxt headers.

#[test]
fn blank_cells_are_missing_values_with_line_and_column() {
    let tab = CsvOptions::new().delimiter('\t');
    let e = parse_csv("1\t\t3\t9\n", "t", &tab).unwrap_err();
    assert!(
        matches!(&e, Error::Parse { line: 1, .. }) && reason(&e).contains("column 2"),
        "{e}"
    );
    assert!(reason(&e).contains("missing values"), "{e}");
    let e = parse_csv("1\t2\t3\n\t2\t3\n", "t", &tab).unwrap_err();
    assert!(
        matches!(&e, Error::Parse { line: 2, .. }) && reason(&e).contains("column 1"),
        "{e}"
    );
    for delimiter in [',', ';', '|'] {
        let text = format!("1{delimiter}2{delimiter}3\n4{delimiter}{delimiter}6\n");
        let e = parse_csv(&text, "t", &CsvOptions::new().delimiter(delimiter)).unwrap_err();
        assert!(
            matches!(&e, Error::Parse { line: 2, .. }) && reason(&e).contains("column 2"),
            "{delimiter}: {e}"
        );
    }
    // A blank target is missing too.
    let e = parse_csv("1\t\n", "t", &tab.target_kind(TargetKind::classes())).unwrap_err();
    assert!(reason(&e).contains("empty"), "{e}");
    // Uneven rows name the counts actually found.
    let e = parse_csv("1\t2\t3\n4\t5\n", "t", &tab).unwrap_err();
    assert!(
        reason(&e).contains("expected 3 fields (as on line 1), found 2"),
        "{e}"
    );
    // The space delimiter still reads aligned columns.
    let aligned = parse_csv(
        "1   2  3\n 4  5  6\n",
        "t",
        &CsvOptions::new().delimiter(' '),
    );
    assert_eq!(aligned.unwrap().n_samples(), 2);
}

#[test]
fn numpy_savetxt_header_keeps_the_first_row() {
    let text = "# x1,x2,y\n1,2,3\n4,5,6\n";
    let data = parse_csv(text, "t", &CsvOptions::new().has_header(true)).unwrap();
    assert_eq!(data.n_samples(), 2);
    assert_eq!(data.real_targets().unwrap().as_slice(), &[3.0, 6.0]);
    // A plain header after a comment is still skipped.
    let text = "# made by hand\nx1,x2,y\n1,2,3\n";
    let data = parse_csv(text, "t", &CsvOptions::new().has_header(true)).unwrap();
    assert_eq!(data.n_samples(), 1);
}

// ---------------------------------------------------------------------------------------------
// Item 16: reader messages.

#[test]
fn reader_messages_say_what_is_wrong() {
    let cases: [(&str, &str); 3] = [
        ("1 12345678901234567890123:1\n", "too large"),
        ("1 qid:3 1:1\n", "query id"),
        ("1 1:\"2\"\n", "quoted"),
    ];
    for (text, needle) in cases {
        let e = parse_libsvm(text, "t", &LibsvmOptions::new()).unwrap_err();
        assert!(reason(&e).contains(needle), "{text:?}: {e}");
    }
    let e = parse_libsvm("18446744073709551615 1:1\n", "t", &libsvm_classes()).unwrap_err();
    assert!(reason(&e).contains("outside the 64-bit range"), "{e}");
    let e = parse_csv("1,\"2\",3\n", "t", &CsvOptions::new()).unwrap_err();
    assert!(
        reason(&e).contains("quoted fields are not supported"),
        "{e}"
    );
    let e = parse_csv("x,y\n\"a,b\",c\n", "t", &CsvOptions::new().has_header(true)).unwrap_err();
    assert!(
        reason(&e).contains("quoted fields are not supported"),
        "{e}"
    );
    // CR-only line endings are line breaks, and no raw control character reaches a message.
    let data = parse_csv("1,2\r3,4\r", "t", &CsvOptions::new()).unwrap();
    assert_eq!(data.n_samples(), 2);
    let e = parse_csv("1,2\r3,x\u{7}\r", "t", &CsvOptions::new()).unwrap_err();
    assert!(matches!(e, Error::Parse { line: 2, .. }), "{e}");
    assert!(!e.to_string().contains(['\r', '\u{7}']), "{e:?}");
}

#[test]
fn files_that_are_not_utf8_name_the_encoding() {
    let latin1 = TempFile::new(b"1,2\n3,caf\xe9\n");
    let e = read_csv(&latin1.0, &CsvOptions::new()).unwrap_err();
    assert!(
        matches!(&e, Error::Parse { line: 2, .. }) && reason(&e).contains("Latin-1"),
        "{e}"
    );
    let utf16 = TempFile::new(b"\xff\xfe1\x00,\x002\x00");
    let e = read_libsvm(&utf16.0, &LibsvmOptions::new()).unwrap_err();
    assert!(reason(&e).contains("UTF-16"), "{e}");
    let gzip = TempFile::new(b"\x1f\x8b\x08\x00\x00\x00\x00\x00");
    let e = read_csv(&gzip.0, &CsvOptions::new()).unwrap_err();
    assert!(reason(&e).contains("gzip"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Fuzz-style property test.

/// Checks the outcome of a reader: a valid data set (its parts pass `Dataset::new` and the
/// label encoding matches the classes) or a typed error with a message.
fn check_outcome(result: Result<Dataset, Error>) -> Result<(), TestCaseError> {
    match result {
        Ok(data) => {
            let (features, targets) = data.clone().into_parts();
            prop_assert!(Dataset::new(features, targets).is_ok());
            if let Some(labels) = data.class_labels() {
                prop_assert_eq!(Some(labels.len()), data.n_classes());
                prop_assert!(labels.windows(2).all(|w| w[0] < w[1]));
            }
        }
        Err(e) => prop_assert!(!e.to_string().is_empty()),
    }
    Ok(())
}

/// The options the fuzz test reads with; the LIBSVM ones cap dense memory at 1 MiB so that a
/// mutated index cannot make a test allocate gigabytes.
fn csv_options() -> [CsvOptions; 4] {
    [
        CsvOptions::new(),
        classes().has_header(true),
        CsvOptions::new()
            .delimiter('\t')
            .target_column(TargetColumn::First),
        classes().delimiter(' ').comment(None),
    ]
}

fn libsvm_options() -> [LibsvmOptions; 3] {
    let cap = 1 << 20;
    [
        LibsvmOptions::new().max_dense_bytes(cap),
        libsvm_classes().max_dense_bytes(cap),
        LibsvmOptions::new()
            .n_features(6)
            .target_kind(TargetKind::classes_with(3))
            .max_dense_bytes(cap),
    ]
}

fn read_all(bytes: &[u8]) -> Result<(), TestCaseError> {
    let text = String::from_utf8_lossy(bytes);
    for options in csv_options() {
        check_outcome(parse_csv(&text, "fuzz", &options))?;
    }
    for options in libsvm_options() {
        check_outcome(parse_libsvm(&text, "fuzz", &options))?;
    }
    Ok(())
}

/// Valid files to mutate.
fn seeds() -> [String; 3] {
    let mut csv = String::from("# x1,x2,y\n");
    let mut libsvm = String::new();
    for j in 0..6 {
        writeln!(csv, "{}.5,{},{}", j, -2 * j, j % 3).unwrap();
        writeln!(libsvm, "{} 1:{j}.25 4:-1e-3 6:{}", 2 * (j % 2) + 2, j + 1).unwrap();
    }
    [csv, libsvm, "1\t2\t0\r\n3\t4\t1\r\n".to_owned()]
}

/// Bytes that matter to the readers, so that mutations hit delimiters and number syntax.
const ALPHABET: &[u8] = b"0123456789,;\t \n\r:#.-+eE\"'qidnaif\xe9\x00";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn readers_on_random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..160)) {
        read_all(&bytes)?;
    }

    #[test]
    fn readers_on_mutated_files_never_panic(
        seed in 0usize..3,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..3, 0..ALPHABET.len()), 1..8),
    ) {
        let mut bytes = seeds()[seed].clone().into_bytes();
        for (at, kind, symbol) in edits {
            let symbol = ALPHABET[symbol];
            match kind {
                0 => bytes.insert(at.index(bytes.len() + 1), symbol),
                1 if !bytes.is_empty() => { bytes.remove(at.index(bytes.len())); }
                _ if !bytes.is_empty() => { let i = at.index(bytes.len()); bytes[i] = symbol; }
                _ => bytes.push(symbol),
            }
        }
        read_all(&bytes)?;
    }
}

#[test]
fn random_bytes_through_files_are_typed_errors_or_data() {
    // The file readers add the UTF-8 decoding step; a fixed set of byte strings goes through it.
    let cases: [&[u8]; 5] = [
        b"",
        b"\xff\xfe\x00",
        b"1,2\n\x80\x81,3\n",
        b"\x1f\x8b",
        b"1 1:1\n-1 2:\xc3\xa9\n",
    ];
    for bytes in cases {
        let file = TempFile::new(bytes);
        check_outcome(read_csv(&file.0, &CsvOptions::new())).unwrap();
        check_outcome(read_libsvm(&file.0, &LibsvmOptions::new())).unwrap();
    }
}
