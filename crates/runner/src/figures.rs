//! The documents' figures, regenerated from our runs as SVG and PNG with plotters.

use std::path::{Path, PathBuf};

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Points (`plt.scatter`).
    Points,
    /// A polyline (`plt.plot`).
    Line,
    /// A horizontal line at the first `y` value (`plt.axhline`), e.g. a true value.
    HLine,
}

/// One series of a figure.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend label (empty: no legend entry).
    pub label: String,
    /// How to draw it.
    pub mark: Mark,
    /// x values (for `HLine`, ignored).
    pub x: Vec<f64>,
    /// y values.
    pub y: Vec<f64>,
    /// Colour as matplotlib names it: `C0`..`C9`, or `red`, `blue`, `green`, `black`, `orange`.
    pub color: String,
}

/// One figure: a single axes with a title, axis labels and series.
#[derive(Debug, Clone)]
pub struct Figure {
    /// File stem (`loss_history` → `loss_history.svg` and `loss_history.png`).
    pub name: String,
    /// The document's title text.
    pub title: String,
    /// x-axis label.
    pub xlabel: String,
    /// y-axis label.
    pub ylabel: String,
    /// The series.
    pub series: Vec<Series>,
    /// The document's image this figure regenerates (e.g. `weights_and_bias_image_1.png`).
    pub document_image: Option<String>,
}

/// Writes `fig` as `dir/NAME.svg` and `dir/NAME.png` (each written whole or not at all) and
/// returns their paths.
pub fn render(fig: &Figure, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let _ = (fig, dir);
    anyhow::bail!("figure rendering is being written")
}
