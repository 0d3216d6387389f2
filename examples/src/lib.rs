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

/// A file-system failure of the main job, with the path and the operating system's cause; its
/// message reads `cannot <action> <path>: <cause>`.
#[derive(Debug)]
pub struct OutputError {
    /// What was attempted ("create the output folder", "write").
    pub action: &'static str,
    /// The path that failed.
    pub path: PathBuf,
    /// The cause, with a hint where one helps.
    pub cause: String,
}

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot {} {}: {}",
            self.action,
            self.path.display(),
            self.cause
        )
    }
}

impl Error for OutputError {}

/// The target folder results go under: `$CARGO_TARGET_DIR`, or the workspace's `target/`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("target")
        },
        PathBuf::from,
    )
}

/// `<workspace>/target/reproduce/<sub>` (or under `$CARGO_TARGET_DIR`), created if missing and
/// checked to be writable, so that a job fails before it computes rather than after.
///
/// # Errors
/// An [`OutputError`] naming the folder and the cause when it cannot be created or written.
pub fn output_dir(sub: &str) -> Result<PathBuf, AnyError> {
    output_dir_in(&target_dir(), sub)
}

/// [`output_dir`] under a given target folder: `<target>/reproduce/<sub>`.
///
/// # Errors
/// As [`output_dir`].
pub fn output_dir_in(target: &Path, sub: &str) -> Result<PathBuf, AnyError> {
    let dir = target.join("reproduce").join(sub);
    let failed = |action, cause: std::io::Error| OutputError {
        action,
        path: dir.clone(),
        cause: with_hint(&dir, &cause),
    };
    std::fs::create_dir_all(&dir).map_err(|e| failed("create the output folder", e))?;
    // Probe that the folder is writable now, not after the computation.
    let probe = dir.join(".write-check");
    std::fs::write(&probe, b"").map_err(|e| failed("write to the output folder", e))?;
    let _ = std::fs::remove_file(&probe);
    Ok(dir.canonicalize().unwrap_or(dir))
}

/// The cause of an I/O failure at `path`, with a hint when a part of the path is a file.
fn with_hint(path: &Path, cause: &std::io::Error) -> String {
    let file_in_the_way = path
        .ancestors()
        .skip(1)
        .find(|a| a.exists())
        .filter(|a| !a.is_dir());
    match file_in_the_way {
        Some(file) => format!(
            "{cause}; {} is a file, not a folder: move it away or set CARGO_TARGET_DIR",
            file.display()
        ),
        None if cause.kind() == std::io::ErrorKind::PermissionDenied => {
            format!("{cause}; make the folder writable or set CARGO_TARGET_DIR to a writable one")
        }
        None => cause.to_string(),
    }
}

/// Writes `contents` to `path`.
///
/// # Errors
/// An [`OutputError`] naming the path and the cause.
pub fn write_text(path: &Path, contents: &str) -> Result<(), AnyError> {
    std::fs::write(path, contents).map_err(|e| {
        Box::new(OutputError {
            action: "write",
            path: path.to_owned(),
            cause: with_hint(path, &e),
        }) as AnyError
    })
}

/// Writes `value` as pretty JSON.
///
/// # Errors
/// On serialization failure, or an [`OutputError`] naming the path.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), AnyError> {
    write_text(path, &serde_json::to_string_pretty(value)?)
}

/// The message of an error and of its chain of sources, for printing at the end of a run.
pub fn error_chain(error: &(dyn Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(message, ": {cause}");
        source = cause.source();
    }
    message
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh temporary folder, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("lisse-examples-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn output_folder_errors_name_the_path_and_the_cause() {
        // Issue 6, item 14: `target/reproduce` as a file printed `Os { code: 20, .. }`.
        let tmp = TempDir::new("file-in-the-way");
        std::fs::write(tmp.0.join("reproduce"), "not a folder").unwrap();
        let e = output_dir_in(&tmp.0, "digits").unwrap_err();
        let message = error_chain(e.as_ref());
        assert!(
            message.starts_with("cannot create the output folder "),
            "{message}"
        );
        assert!(message.contains("reproduce/digits"), "{message}");
        assert!(message.contains("is a file, not a folder"), "{message}");
        assert!(!message.contains("Os {"), "{message}");
        let ok = TempDir::new("writable");
        let dir = output_dir_in(&ok.0, "digits").unwrap();
        assert!(dir.is_dir() && !dir.join(".write-check").exists());
        let e = write_text(&ok.0.join("missing").join("table.md"), "x").unwrap_err();
        assert!(e.to_string().starts_with("cannot write "), "{e}");
        assert!(e.to_string().contains("missing"), "{e}");
    }
}
