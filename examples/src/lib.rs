//! Shared helpers of the lisse examples: where results go, tables, SVG plots, and a progress
//! bar that observes a run. Library crates never draw progress; examples do, through
//! [`ProgressObserver`].

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use lisse_core::{Observer, Report, TraceRecord};
use plotters::prelude::*;
use serde::Serialize;

/// The README's code blocks, compiled and run as doc tests so they cannot rot.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// Boxed error for example binaries.
pub type AnyError = Box<dyn Error + Send + Sync>;

/// `<workspace>/target/reproduce/<sub>` (or under `$CARGO_TARGET_DIR`), created if missing.
///
/// # Errors
/// When the folder cannot be created.
pub fn output_dir(sub: &str) -> Result<PathBuf, AnyError> {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("target")
        },
        PathBuf::from,
    );
    let dir = target.join("reproduce").join(sub);
    std::fs::create_dir_all(&dir)?;
    Ok(dir.canonicalize().unwrap_or(dir))
}

/// Writes `value` as pretty JSON.
///
/// # Errors
/// On I/O or serialization failure.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), AnyError> {
    std::fs::write(path, serde_json::to_string_pretty(value)?)?;
    Ok(())
}

/// A Markdown table.
pub fn markdown_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "| {} |", headers.join(" | "));
    let _ = writeln!(
        s,
        "|{}|",
        headers.iter().map(|_| "---").collect::<Vec<_>>().join("|")
    );
    for r in rows {
        let _ = writeln!(s, "| {} |", r.join(" | "));
    }
    s
}

/// One named line of a plot.
#[derive(Debug, Clone, Serialize)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// (x, y) points.
    pub points: Vec<(f64, f64)>,
}

/// Axis scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Linear axis.
    Linear,
    /// Base-10 logarithmic axis (non-positive values are dropped).
    Log,
}

/// A line plot written as SVG (no system fonts needed: text is left to the viewer).
///
/// # Errors
/// On I/O failure or when there is nothing to plot.
pub fn line_plot_svg(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    y_scale: Scale,
    series: &[Series],
) -> Result<(), AnyError> {
    let keep = |y: f64| y.is_finite() && (y_scale == Scale::Linear || y > 0.0);
    let pts = || {
        series
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .filter(|&(x, y)| x.is_finite() && keep(y))
    };
    let (mut x0, mut x1, mut y0, mut y1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for (x, y) in pts() {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if !x0.is_finite() {
        return Err(format!("nothing to plot in {}", path.display()).into());
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    if y1 <= y0 {
        y1 = y0 + y0.abs().max(1e-12);
    }
    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let colors = [BLUE, RED, GREEN, MAGENTA, CYAN, BLACK];
    macro_rules! draw {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc(x_label)
                .y_desc(y_label)
                .y_label_formatter(&|v: &f64| tick_label(*v))
                .x_label_formatter(&|v: &f64| tick_label(*v))
                .draw()?;
            for (k, s) in series.iter().enumerate() {
                let color = colors[k % colors.len()];
                let line: Vec<(f64, f64)> = s
                    .points
                    .iter()
                    .copied()
                    .filter(|&(x, y)| x.is_finite() && keep(y))
                    .collect();
                chart
                    .draw_series(LineSeries::new(line, color.stroke_width(2)))?
                    .label(s.name.clone())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                    });
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()?;
        }};
    }
    let mut builder = ChartBuilder::on(&root);
    builder
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70);
    match y_scale {
        Scale::Linear => {
            let pad = 0.05 * (y1 - y0);
            draw!(builder.build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))?);
        }
        Scale::Log => draw!(builder.build_cartesian_2d(x0..x1, (y0 * 0.8..y1 * 1.25).log_scale())?),
    }
    root.present()?;
    Ok(())
}

/// A short tick label: plain for moderate magnitudes, scientific otherwise.
fn tick_label(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 || (1e-2..1e5).contains(&a) {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        format!("{v:.1e}")
    }
}

/// A progress bar over a run's iterations, drawn on stderr (hidden when stderr is not a
/// terminal, as in CI).
#[derive(Debug)]
pub struct ProgressObserver {
    bar: ProgressBar,
    metric: Option<String>,
}

impl ProgressObserver {
    /// A bar of `total` iterations, showing `metric` (if given) in its message.
    pub fn new(total: u64, label: &str, metric: Option<&str>) -> Self {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{prefix:>14} [{bar:30}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(label.to_owned());
        Self {
            bar,
            metric: metric.map(str::to_owned),
        }
    }
}

impl Observer for ProgressObserver {
    fn observe(&mut self, _solver: &dyn lisse_core::Solver, record: &TraceRecord) {
        self.bar.set_position(record.iter);
        if let Some(v) = self
            .metric
            .as_ref()
            .and_then(|m| record.metrics.get(m).map(|v| (m, v)))
        {
            self.bar.set_message(format!("{} = {:.4}", v.0, v.1));
        }
    }

    fn finish(&mut self, report: &Report) {
        self.bar.set_position(report.iterations);
        self.bar.finish_and_clear();
    }
}
