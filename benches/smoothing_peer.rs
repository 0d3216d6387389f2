//! The Rust side of `benches/smoothing_peer.py`: writes the benchmark's softmax layer and
//! inputs as text, certifies each input with CERTIFY (σ = 0.5, n₀ = 100, n = 100 000,
//! α = 0.001, batch 10 000), and writes the certificates and per-image times as JSON.
//!
//! `cargo run --release -p lisse-benches --example smoothing_peer -- OUT_DIR [IMAGES]`

use std::fmt::Write as _;
use std::time::Instant;

use lisse_benches::smoothing_model;
use lisse_smoothing::cohen::{CertifyParams, certify};
use lisse_smoothing::noise::input_streams;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = std::path::PathBuf::from(
        args.next()
            .ok_or("usage: smoothing_peer OUT_DIR [IMAGES]")?,
    );
    let m: usize = args.next().map_or(Ok(8), |s| s.parse())?;
    std::fs::create_dir_all(&out)?;
    let (model, inputs) = smoothing_model(m);
    let (k, d) = (model.weights().nrows(), model.weights().ncols());
    let mut text = format!("{k} {d}\n");
    for c in 0..k {
        for j in 0..d {
            write!(text, "{} ", model.weights()[(c, j)])?;
        }
        writeln!(text, "{}", model.bias()[c])?;
    }
    std::fs::write(out.join("model.txt"), text)?;
    let rows: Vec<String> = inputs
        .chunks_exact(d)
        .map(|x| x.iter().map(f64::to_string).collect::<Vec<_>>().join(" "))
        .collect();
    std::fs::write(out.join("inputs.txt"), rows.join("\n") + "\n")?;
    let params = CertifyParams {
        n: 100_000,
        batch: 10_000,
        ..CertifyParams::default()
    };
    let mut json = Vec::new();
    for (i, x) in inputs.chunks_exact(d).enumerate() {
        let t = Instant::now();
        let c = certify(&model, x, 0.5, &params, &input_streams(2024, i as u64))?;
        let secs = t.elapsed().as_secs_f64();
        json.push(format!(
            "{{\"class\": {}, \"radius\": {}, \"count_a\": {}, \"p_a_lower\": {}, \"selected\": {}, \"seconds\": {secs}}}",
            c.class.map_or("null".to_owned(), |v| v.to_string()),
            c.radius,
            c.count_a,
            c.p_a_lower,
            c.selected
        ));
    }
    std::fs::write(out.join("rust.json"), format!("[{}]\n", json.join(",\n")))?;
    println!("wrote {}", out.display());
    Ok(())
}
