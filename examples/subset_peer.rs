//! `cargo run --release --example subset_peer -- DIR T K`
//!
//! The lisse side of `benches/subset_abcvoting.py`: for every PrefLib `.soc` file in DIR,
//! solves approval-CC and PAV over T-approval (each voter approves its top T) with committee
//! size K by the exact ILP, and prints one JSON line per (file, rule) with the exact optimal
//! score and the median wall time of 5 solves (after one warm-up).

use std::time::Instant;

use lisse_examples::AnyError;
use lisse_subset::{CommitteeScoringRule, Constraints, PreflibFile, solver};

fn main() -> Result<(), AnyError> {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, t, k] = args.as_slice() else {
        return Err("usage: subset_peer DIR T K".into());
    };
    let (t, k): (usize, usize) = (t.parse()?, k.parse()?);
    let mut files: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "soc"))
        .collect();
    files.sort();
    for path in files {
        let profile = PreflibFile::read(&path)?.to_profile()?;
        for (name, rule) in [
            ("cc", CommitteeScoringRule::approval_cc(t)),
            ("pav", CommitteeScoringRule::pav(t)),
        ] {
            let f = rule.instantiate(&profile, k)?;
            let c = Constraints::cardinality(k);
            let best = solver::ilp(&f, &c)?;
            let mut times = Vec::new();
            for _ in 0..5 {
                let t0 = Instant::now();
                let again = solver::ilp(&f, &c)?;
                times.push(t0.elapsed().as_secs_f64());
                assert_eq!(again.score, best.score);
            }
            times.sort_by(f64::total_cmp);
            println!(
                "{{\"file\": {:?}, \"rule\": \"{name}\", \"score\": {}, \"seconds\": {}, \"committee\": {:?}}}",
                path.file_name().and_then(|s| s.to_str()).unwrap_or(""),
                best.score.value(),
                times[2],
                best.committee
            );
        }
    }
    Ok(())
}
