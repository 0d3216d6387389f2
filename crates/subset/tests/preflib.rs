//! PrefLib reading and writing.

use lisse_core::Error;
use lisse_subset::culture::{Culture, Mallows};
use lisse_subset::{DataType, PreflibFile, Profile};

const TOI: &str = "# FILE NAME: 00001-00000001.toi
# TITLE: test election
# DATA TYPE: toi
# NUMBER ALTERNATIVES: 4
# NUMBER VOTERS: 6
# NUMBER UNIQUE ORDERS: 3
# ALTERNATIVE NAME 1: Alice
# ALTERNATIVE NAME 2: Bob
# ALTERNATIVE NAME 3: Carol
# ALTERNATIVE NAME 4: Dave
3: 2,{4,1},3
2: 3
1: {1,2}
";

fn line_of(e: &Error) -> usize {
    match e {
        Error::Parse { line, .. } => *line,
        other => panic!("not a parse error: {other}"),
    }
}

#[test]
fn files_round_trip_and_follow_the_tie_policy() {
    let f = PreflibFile::parse(TOI, "toi").unwrap();
    assert_eq!(f.data_type, DataType::Toi);
    assert_eq!(f.names[2], "Carol");
    assert_eq!(f.ballots[0].tiers, vec![vec![1], vec![3, 0], vec![2]]);
    let again = PreflibFile::parse(&f.to_string(), "again").unwrap();
    assert_eq!(again, f);
    let p = f.to_profile().unwrap();
    assert_eq!(p.n_voters(), 6);
    // Ties in ascending id, unranked items after, ascending.
    assert_eq!(p.order(0), &[1, 0, 3, 2]);
    assert_eq!(p.order(1), &[2, 0, 1, 3]);
    assert_eq!(p.order(2), &[0, 1, 2, 3]);
    // A sampled profile written as SOC and read back.
    let sample = Mallows::new(0.6)
        .unwrap()
        .sample(6, 40, &mut lisse_core::RngStreams::new(1).stream(0))
        .unwrap();
    let names: Vec<String> = (0..6).map(|i| format!("item {i}")).collect();
    let soc = PreflibFile::from_profile(&sample, names).unwrap();
    let dir = std::env::temp_dir().join(format!("lisse-subset-{}.soc", std::process::id()));
    soc.write(&dir).unwrap();
    let back = PreflibFile::read(&dir).unwrap();
    std::fs::remove_file(&dir).ok();
    assert_eq!(back, soc);
    assert_eq!(back.to_profile().unwrap(), sample.merge_identical());
    assert_eq!(back.to_profile().unwrap().n_voters(), 40);
}

#[test]
fn malformed_files_give_the_line() {
    let soc = |body: &str, voters: u64, unique: usize| {
        format!(
            "# DATA TYPE: soc\n# NUMBER ALTERNATIVES: 3\n# NUMBER VOTERS: {voters}\n# NUMBER UNIQUE ORDERS: {unique}\n{body}"
        )
    };
    let cases: Vec<(String, usize, &str)> = vec![
        (
            "# DATA TYPE: soc\n# NUMBER ALTERNATIVES: 3\n1: 1,2,3\n".into(),
            3,
            "truncated header",
        ),
        (
            "# DATA TYPE: soc\n# NUMBER ALTERNATIVES: 3\n".into(),
            3,
            "truncated header",
        ),
        (
            soc("1: 1,2,3\n1: 1,2,4\n", 2, 2),
            6,
            "unknown alternative 4",
        ),
        (soc("1: 1,2,3\n1: 1,1,2\n", 2, 2), 6, "appears twice"),
        (soc("1: 1,2,3\n1: 2,1,3\n", 5, 2), 3, "NUMBER VOTERS says 5"),
        (soc("1: 1,2,3\n", 1, 2), 4, "NUMBER UNIQUE ORDERS says 2"),
        (soc("1: 1,{2,3}\n", 1, 1), 5, "a tie"),
        (soc("1: 1,2\n", 1, 1), 5, "ranks 2 of 3"),
        (soc("x: 1,2,3\n", 1, 1), 5, "not a positive integer"),
        (
            soc("1: 1,2,3\n# NUMBER VOTERS: 1\n", 1, 1),
            6,
            "header line after",
        ),
        ("# DATA TYPE: wmd\n".into(), 1, "unsupported DATA TYPE"),
    ];
    for (text, line, msg) in cases {
        let e = PreflibFile::parse(&text, "bad.soc").unwrap_err();
        assert_eq!(line_of(&e), line, "{e}");
        let s = e.to_string();
        assert!(s.contains(msg) && s.contains("bad.soc"), "{s} lacks {msg}");
    }
    let missing = PreflibFile::read("/nonexistent/file.soc").unwrap_err();
    assert!(matches!(missing, Error::Io { .. }));
}

#[test]
fn profiles_reject_non_permutations() {
    let e = Profile::new(4, vec![vec![0, 1, 2, 3], vec![3, 3, 1, 0]]).unwrap_err();
    assert!(e.to_string().contains("rankings[1]"), "{e}");
}
