//! The documents' figures, regenerated from our runs as SVG and PNG with plotters.
//!
//! [`render`] draws one [`Figure`] — axes with a title, axis labels, a legend when any series has
//! a label, and each series as points, a polyline or a horizontal line, styled by matplotlib's
//! format strings (`"r--"`, `"bo"`, `"C0:"`), and further axes in one row for the documents'
//! `plt.subplot(12x)` — in the look of matplotlib's defaults: a 640×480 canvas, the axes' box at
//! `figure.subplot.*` (left 0.125, right 0.9, bottom 0.11, top 0.88, `wspace` 0.2) clipping what
//! is drawn in it, 1.5 pt lines with matplotlib's dash patterns, the `tab10` colour cycle, ranges
//! padded by 5% of the data's span, ticks where `AutoLocator` puts them and labelled as
//! `ScalarFormatter` labels them ([`ticks`]), pointing outward 3.5 pt, and the tick labels, axis
//! labels, title and legend at matplotlib's sizes and pads. Text is set in DejaVu Sans
//! (matplotlib's default font), bundled in `assets/` so that the PNG needs no system font library,
//! and in the PNG is laid out and rasterised here with the font's unrounded advances.
//!
//! ```no_run
//! # fn main() -> anyhow::Result<()> {
//! use tapegrad_runner::figures::{render, Figure, Mark, Series};
//!
//! let fig = Figure {
//!     name: "loss_history".into(),
//!     title: "Loss".into(),
//!     xlabel: "epoch".into(),
//!     ylabel: "loss".into(),
//!     series: vec![Series {
//!         label: "training".into(),
//!         mark: Mark::Line,
//!         x: vec![0.0, 1.0, 2.0],
//!         y: vec![3.0, 1.5, 1.0],
//!         color: "C0".into(),
//!     }],
//!     document_image: None,
//!     figsize: None,
//!     panels: Vec::new(),
//! };
//! let written = render(&fig, std::path::Path::new("figures"))?;
//! assert_eq!(written.len(), 2); // figures/loss_history.svg, figures/loss_history.png
//! # Ok(())
//! # }
//! ```

mod text;
pub mod ticks;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{anyhow, bail, Context};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};

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
    /// Colour and style as matplotlib's format string gives them: a colour (`C0`..`C9`, a
    /// letter `b g r c m y k w`, a name such as `red`, or `#rrggbb`), a marker (`o`, `.`, `+`,
    /// `x`) and a line style (`-`, `--`, `:`, `-.`), in any order (`"r--"`, `"bo"`, `"C1:"`).
    /// A marker without a line style draws no line, as in matplotlib; [`Mark::Points`] draws
    /// circles (`o`) unless another marker is given.
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
    /// The figure's size in inches (`plt.figure(figsize=(w, h))`), drawn at matplotlib's 100
    /// dpi; `None` for matplotlib's default, 6.4 × 4.8.
    pub figsize: Option<(f64, f64)>,
    /// Further axes drawn in one row beside this one, in the same file, as
    /// `plt.subplot(1, n, i)` lays them out (each with its own title, labels, series and
    /// ranges; their own `name`, `document_image` and `panels` are not used).
    pub panels: Vec<Figure>,
}

/// Canvas size in pixels: matplotlib's default figure (6.4 × 4.8 inches at 100 dpi).
const SIZE: (u32, u32) = (640, 480);

/// The canvas of `fig` in pixels: its `figsize` at 100 dpi (within 1 to 50 inches a side), or
/// [`SIZE`].
fn canvas(fig: &Figure) -> (u32, u32) {
    match fig.figsize {
        Some((w, h)) if w.is_finite() && h.is_finite() => (
            (w.clamp(1.0, 50.0) * 100.0).round() as u32,
            (h.clamp(1.0, 50.0) * 100.0).round() as u32,
        ),
        _ => SIZE,
    }
}

/// The font family every text of a figure uses; [`ensure_font`] registers DejaVu Sans under it.
const FAMILY: &str = "sans-serif";

/// DejaVu Sans, matplotlib's default font (licence in `assets/LICENSE_DEJAVU`).
static FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// matplotlib's default colour cycle (`tab10`), `C0`..`C9`.
const CYCLE: [RGBColor; 10] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
];

/// Registers the bundled font once per process; later calls return the first call's outcome.
fn ensure_font() -> anyhow::Result<()> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            register_font(FAMILY, FontStyle::Normal, FONT_BYTES)
                .map_err(|_| "the bundled DejaVuSans.ttf is not a valid font".to_string())
        })
        .clone()
        .map_err(|e| anyhow!(e))
}

/// Writes `fig` as `dir/NAME.svg` and `dir/NAME.png` (each written whole or not at all) and
/// returns their paths.
///
/// `dir` is created if missing. Each file is written to a temporary file in `dir` and renamed into
/// place, so a reader never sees a half-written figure and a failure leaves any previous file as it
/// was. Non-finite points are skipped (a line breaks there, as in matplotlib); axis ranges come from
/// the finite data with a 5% margin, and a figure with no finite data still gets axes.
///
/// # Errors
/// An unsafe file stem, an unknown colour, `x` and `y` of different lengths, or a failure to create,
/// draw or write a file; each error names the figure or the file.
pub fn render(fig: &Figure, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    ensure_font()?;
    if fig.name.is_empty()
        || fig.name.starts_with('.')
        || fig.name.contains(['/', '\\'])
        || Path::new(&fig.name).file_name() != Some(fig.name.as_ref())
    {
        bail!("figure name {:?} is not a plain file stem", fig.name);
    }
    let plan = plans(fig).with_context(|| format!("figure {:?}", fig.name))?;
    fs::create_dir_all(dir).with_context(|| format!("creating directory {}", dir.display()))?;

    let svg_path = dir.join(format!("{}.svg", fig.name));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, canvas(fig)).into_drawing_area();
        draw(&root, fig, &plan, false)
            .and_then(|_| root.present().map_err(|e| anyhow!("{e}")))
            .with_context(|| format!("drawing {}", svg_path.display()))?;
    }
    crate::output::replace_file(&svg_path, |tmp| {
        let mut file = fs::File::create(tmp)?;
        file.write_all(svg.as_bytes())?;
        file.sync_all()?;
        Ok(())
    })?;

    let png_path = dir.join(format!("{}.png", fig.name));
    crate::output::replace_file(&png_path, |tmp| {
        {
            // The backend infers the format from the extension: the temporary name ends in `.png`.
            let root = BitMapBackend::new(tmp, canvas(fig)).into_drawing_area();
            draw(&root, fig, &plan, true)?;
            root.present().map_err(|e| anyhow!("{e}"))?;
        }
        fs::File::open(tmp)?.sync_all()?;
        Ok(())
    })?;

    Ok(vec![svg_path, png_path])
}

/// What to draw, worked out from a [`Figure`] before any backend is touched.
#[derive(Debug)]
struct Plan {
    /// x range of the axes.
    x: (f64, f64),
    /// y range of the axes.
    y: (f64, f64),
    /// The series' colours and finite data.
    series: Vec<PlannedSeries>,
}

/// One series, ready to draw.
#[derive(Debug)]
struct PlannedSeries {
    /// Resolved colour.
    color: RGBColor,
    /// Line style (`None`: no line) and marker, from the format string.
    line: Option<LineStyle>,
    marker: Option<Marker>,
    /// Runs of consecutive finite points (a line is broken at non-finite points; for `Points`
    /// all points are in one run; for `HLine`, one run holding `(NaN, y)` or nothing).
    runs: Vec<Vec<(f64, f64)>>,
}

impl Plan {
    fn new(fig: &Figure) -> anyhow::Result<Plan> {
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        let mut series = Vec::with_capacity(fig.series.len());
        for (i, s) in fig.series.iter().enumerate() {
            let (color, line, marker) = parse_format(&s.color, i, s.mark)
                .with_context(|| format!("series {i} ({:?})", s.label))?;
            let runs = match s.mark {
                Mark::HLine => match s.y.first() {
                    Some(&y) if y.is_finite() => {
                        ys.push(y);
                        vec![vec![(f64::NAN, y)]]
                    }
                    _ => Vec::new(),
                },
                Mark::Points | Mark::Line => {
                    if s.x.len() != s.y.len() {
                        bail!(
                            "series {i} ({:?}): x has {} values but y has {}",
                            s.label,
                            s.x.len(),
                            s.y.len()
                        );
                    }
                    let mut runs = vec![Vec::new()];
                    for (&x, &y) in s.x.iter().zip(&s.y) {
                        if x.is_finite() && y.is_finite() {
                            xs.push(x);
                            ys.push(y);
                            runs.last_mut().expect("runs is never empty").push((x, y));
                        } else if s.mark == Mark::Line
                            && !runs.last().expect("runs is never empty").is_empty()
                        {
                            runs.push(Vec::new());
                        }
                    }
                    runs.retain(|r| !r.is_empty());
                    runs
                }
            };
            series.push(PlannedSeries {
                color,
                line,
                marker,
                runs,
            });
        }
        Ok(Plan {
            x: axis_range(&xs),
            y: axis_range(&ys),
            series,
        })
    }
}

/// The axis range for finite `values`: their span plus a 5% margin on each side (matplotlib's
/// `axes.xmargin`); a single value `v` gets `v ± 5%·|v|` (±0.05 for zero) and no values get `0..1`.
fn axis_range(values: &[f64]) -> (f64, f64) {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for &v in values {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    // Keep the margin finite for huge values, where `hi - lo` can overflow.
    if span.is_finite() && span > f64::EPSILON * hi.abs().max(lo.abs()) {
        let m = 0.05 * span;
        return (lo - m, hi + m);
    }
    if !span.is_finite() {
        return (lo, hi);
    }
    let mid = lo / 2.0 + hi / 2.0;
    let half = if mid == 0.0 { 0.05 } else { 0.05 * mid.abs() };
    (mid - half, mid + half)
}

/// A line style of matplotlib's format strings, with its dash pattern (`lines.*_pattern`, in
/// points for a 1.5 pt line, scaled by the width as matplotlib scales them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LineStyle {
    /// `-`
    Solid,
    /// `--`: 5.55 pt on, 2.4 pt off.
    Dashed,
    /// `:`: 1.5 pt on, 2.475 pt off.
    Dotted,
    /// `-.`: 9.6 on, 2.4 off, 1.5 on, 2.4 off.
    DashDot,
}

impl LineStyle {
    /// On and off lengths in pixels (points × 100/72 at matplotlib's 100 dpi); empty when solid.
    fn pattern(self) -> &'static [f64] {
        const PT: f64 = 100.0 / 72.0;
        match self {
            LineStyle::Solid => &[],
            LineStyle::Dashed => &[5.55 * PT, 2.4 * PT],
            LineStyle::Dotted => &[1.5 * PT, 2.475 * PT],
            LineStyle::DashDot => &[9.6 * PT, 2.4 * PT, 1.5 * PT, 2.4 * PT],
        }
    }
}

/// A marker of matplotlib's format strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    /// `o`: a filled circle of 6 pt.
    Circle,
    /// `.`: a filled circle of a third of that.
    Point,
    /// `+`
    Plus,
    /// `x`
    Cross,
}

/// matplotlib's `lines.linewidth` (1.5 pt) in pixels at 100 dpi.
const LINE_WIDTH: u32 = 2;

/// Parses a series' format string (see [`Series::color`]) into its colour, line style and
/// marker; `mark` gives the defaults (a scatter draws circles and no line, a plot a solid line).
fn parse_format(
    fmt: &str,
    index: usize,
    mark: Mark,
) -> anyhow::Result<(RGBColor, Option<LineStyle>, Option<Marker>)> {
    let fmt = fmt.trim();
    // a colour alone, by any of its names
    if let Ok(color) = parse_color(fmt, index) {
        return Ok((
            color,
            default_line(mark, None, false),
            default_marker(mark, None),
        ));
    }
    let (mut color, mut line, mut marker) = (None, None, None);
    let mut rest = fmt;
    while let Some(c) = rest.chars().next() {
        let (token, len) = if rest.starts_with("--") {
            ("--", 2)
        } else if rest.starts_with("-.") {
            ("-.", 2)
        } else if c == 'C' && rest[1..].starts_with(|d: char| d.is_ascii_digit()) {
            (&rest[..2], 2)
        } else {
            (&rest[..c.len_utf8()], c.len_utf8())
        };
        match token {
            "-" => line = Some(LineStyle::Solid),
            "--" => line = Some(LineStyle::Dashed),
            ":" => line = Some(LineStyle::Dotted),
            "-." => line = Some(LineStyle::DashDot),
            "o" => marker = Some(Marker::Circle),
            "." => marker = Some(Marker::Point),
            "+" => marker = Some(Marker::Plus),
            "x" => marker = Some(Marker::Cross),
            t if color.is_none() && (t.starts_with('C') || "bgrcmykw".contains(t)) => {
                color = Some(match t {
                    "c" => RGBColor(0x00, 0xbf, 0xbf),
                    "m" => RGBColor(0xbf, 0x00, 0xbf),
                    "y" => RGBColor(0xbf, 0xbf, 0x00),
                    "w" => RGBColor(0xff, 0xff, 0xff),
                    t => parse_color(t, index)?,
                });
            }
            t => bail!(
                "{t:?} in the format string {fmt:?} is not a colour, a marker (o . + x) or a line \
                 style (- -- : -.)"
            ),
        }
        rest = &rest[len..];
    }
    let color = match color {
        Some(c) => c,
        None => parse_color("", index)?,
    };
    Ok((
        color,
        default_line(mark, line, marker.is_some()),
        default_marker(mark, marker),
    ))
}

/// The line a series draws: a scatter none; a plot the format's, solid when it gives neither a
/// line style nor a marker (`"bo"` is points only); a horizontal line always one.
fn default_line(mark: Mark, line: Option<LineStyle>, has_marker: bool) -> Option<LineStyle> {
    match mark {
        Mark::Points => None,
        Mark::Line if has_marker => line,
        Mark::Line | Mark::HLine => line.or(Some(LineStyle::Solid)),
    }
}

/// The marker a series draws: a scatter circles unless told otherwise.
fn default_marker(mark: Mark, marker: Option<Marker>) -> Option<Marker> {
    match mark {
        Mark::Points => marker.or(Some(Marker::Circle)),
        Mark::Line => marker,
        Mark::HLine => None,
    }
}

/// The colour matplotlib gives `name`: `C0`..`C9`, one of a few named colours or `#rrggbb`; an
/// empty name takes the next colour of the cycle, as matplotlib does for the `index`th series.
fn parse_color(name: &str, index: usize) -> anyhow::Result<RGBColor> {
    let name = name.trim();
    if name.is_empty() {
        return Ok(CYCLE[index % CYCLE.len()]);
    }
    if let Some(digit) = name.strip_prefix('C') {
        if let Ok(i) = digit.parse::<usize>() {
            return Ok(CYCLE[i % CYCLE.len()]);
        }
    }
    if let Some(hex) = name.strip_prefix('#') {
        if hex.len() == 6 && hex.is_ascii() {
            let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16);
            if let (Ok(r), Ok(g), Ok(b)) = (byte(0), byte(2), byte(4)) {
                return Ok(RGBColor(r, g, b));
            }
        }
    }
    Ok(match name.to_ascii_lowercase().as_str() {
        "red" | "r" => RGBColor(0xff, 0x00, 0x00),
        "blue" | "b" => RGBColor(0x00, 0x00, 0xff),
        "green" | "g" => RGBColor(0x00, 0x80, 0x00),
        "black" | "k" => RGBColor(0x00, 0x00, 0x00),
        "orange" => RGBColor(0xff, 0xa5, 0x00),
        "gray" | "grey" => RGBColor(0x80, 0x80, 0x80),
        "purple" => RGBColor(0x80, 0x00, 0x80),
        _ => bail!("unknown colour {name:?} (expected C0..C9, a named colour or #rrggbb)"),
    })
}

/// Where an axes' plotting area lies on the canvas, in pixels: `(left..right, top..bottom)`.
type AxesBox = (std::ops::Range<i32>, std::ops::Range<i32>);

/// A point (1/72 inch) in pixels at matplotlib's 100 dpi.
const PT: f64 = 100.0 / 72.0;

/// matplotlib's text sizes in pixels per em: `font.size` 10 pt for tick labels
/// (`xtick.labelsize` "medium"), axis labels and the legend, and `axes.titlesize` "large"
/// (1.2 × 10 pt) for the title.
const TICK_EM: f64 = 10.0 * PT;
const LABEL_EM: f64 = 10.0 * PT;
const TITLE_EM: f64 = 12.0 * PT;
const LEGEND_EM: f64 = 10.0 * PT;

/// `xtick.major.size` 3.5 pt (outward, `xtick.direction` "out"), in whole pixels.
const TICK_LEN: i32 = 5;
/// `xtick.major.pad` 3.5 pt: from the tick's end to its label.
const TICK_PAD: f64 = 3.5 * PT;
/// `axes.labelpad` 4 pt: from the tick labels to the axis label.
const LABEL_PAD: f64 = 4.0 * PT;
/// `axes.titlepad` 6 pt: from the axes' top to the title's baseline.
const TITLE_PAD: f64 = 6.0 * PT;
/// `Axis.OFFSETTEXTPAD` 3 pt: from the tick labels (x) or the axes' top (y) to the offset text.
const OFFSET_PAD: f64 = 3.0 * PT;

/// matplotlib's `figure.subplot.*`: the axes' box as fractions of the figure, from its left
/// and bottom, and `wspace`, the gap between axes in a row as a fraction of an axes' width.
const SUBPLOT_LEFT: f64 = 0.125;
const SUBPLOT_RIGHT: f64 = 0.9;
const SUBPLOT_BOTTOM: f64 = 0.11;
const SUBPLOT_TOP: f64 = 0.88;
const SUBPLOT_WSPACE: f64 = 0.2;

/// The boxes (left, top, right, bottom in pixels from the canvas' top left) of `n` axes in one
/// row of a `w` × `h` canvas, as matplotlib's `GridSpec(1, n)` places them.
fn axes_boxes(w: f64, h: f64, n: usize) -> Vec<(f64, f64, f64, f64)> {
    let n = n.max(1) as f64;
    let total = (SUBPLOT_RIGHT - SUBPLOT_LEFT) * w;
    let cell = total / (n + SUBPLOT_WSPACE * (n - 1.0));
    let sep = SUBPLOT_WSPACE * cell;
    let (top, bottom) = ((1.0 - SUBPLOT_TOP) * h, (1.0 - SUBPLOT_BOTTOM) * h);
    (0..n as usize)
        .map(|i| {
            let left = SUBPLOT_LEFT * w + i as f64 * (cell + sep);
            (left, top, left + cell, bottom)
        })
        .collect()
}

/// Draws `fig` and its panels on `root`, one axes each in a row (`plans` in the same order), on a
/// white background; returns each axes' box. `raster`: the backend is a bitmap (text is then
/// rasterised here, see [`text`]).
fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fig: &Figure,
    plans: &[Plan],
    raster: bool,
) -> anyhow::Result<Vec<AxesBox>> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("{e}");
    root.fill(&WHITE).map_err(e)?;
    let figures: Vec<&Figure> = std::iter::once(fig).chain(&fig.panels).collect();
    let (w, h) = root.dim_in_pixel();
    let places = axes_boxes(f64::from(w), f64::from(h), figures.len());
    let mut boxes = Vec::with_capacity(figures.len());
    for ((place, f), plan) in places.into_iter().zip(figures).zip(plans) {
        boxes.push(draw_axes(root, place, f, plan, raster)?);
    }
    Ok(boxes)
}

/// The plans of `fig` and of each of its panels.
fn plans(fig: &Figure) -> anyhow::Result<Vec<Plan>> {
    std::iter::once(fig)
        .chain(&fig.panels)
        .enumerate()
        .map(|(i, f)| match i {
            0 => Plan::new(f),
            i => Plan::new(f).with_context(|| format!("panel {i}")),
        })
        .collect()
}

/// One axis' ticks as matplotlib places and labels them: the values shown, their labels and
/// the offset text.
struct AxisTicks {
    values: Vec<f64>,
    labels: Vec<String>,
    offset_text: String,
}

impl AxisTicks {
    /// The ticks of an axis showing `lo..hi` over `len_px` pixels.
    fn new(lo: f64, hi: f64, len_px: f64, axis: ticks::Axis) -> AxisTicks {
        let all = ticks::locator_ticks(lo, hi, ticks::nbins(len_px, TICK_EM, axis));
        let format = ticks::TickFormat::new(&all, lo, hi);
        let values = ticks::visible(&all, lo, hi);
        let labels = values.iter().map(|&v| format.label(v)).collect();
        AxisTicks {
            values,
            labels,
            offset_text: format.offset_text(),
        }
    }
}

/// Draws one axes on `root` in the box `place` (left, top, right, bottom): the series (clipped to
/// the axes), the spines, outward ticks with their labels, the axis labels and the title where
/// matplotlib puts them, and, when any series has a label, the legend.
fn draw_axes<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    place: (f64, f64, f64, f64),
    fig: &Figure,
    plan: &Plan,
    raster: bool,
) -> anyhow::Result<AxesBox> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("{e}");
    let (x0, x1) = plan.x;
    let (y0, y1) = plan.y;
    let (cw, ch) = root.dim_in_pixel();
    let (l, t, r, b) = (
        place.0.round() as i32,
        place.1.round() as i32,
        place.2.round() as i32,
        place.3.round() as i32,
    );
    // plotters maps a range onto its area's first to last pixel: one pixel more than the box,
    // so that the range's ends fall on the spines (and what is drawn on them is not clipped).
    let area = root.margin(t, ch as i32 - b - 1, l, cw as i32 - r - 1);
    let mut chart = ChartBuilder::on(&area)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(e)?;

    let scale = (
        f64::from((r - l).max(1)) / (x1 - x0),
        f64::from((b - t).max(1)) / (y1 - y0),
    );
    for p in &plan.series {
        let color = p.color;
        let line = color.stroke_width(LINE_WIDTH);
        if let Some(dash) = p.line {
            let pieces = line_pieces(&p.runs, plan, dash, scale);
            chart
                .draw_series(
                    pieces
                        .into_iter()
                        .map(|piece| PathElement::new(piece, line)),
                )
                .map_err(e)?;
        }
        if let Some(marker) = p.marker {
            let points = p.runs.iter().flatten().copied();
            let inside = points.filter(|&(x, y)| x >= x0 && x <= x1 && y >= y0 && y <= y1);
            match marker {
                Marker::Circle | Marker::Point => {
                    let r = if marker == Marker::Circle { 4 } else { 2 };
                    chart
                        .draw_series(inside.map(|xy| Circle::new(xy, r, color.filled())))
                        .map_err(e)?;
                }
                Marker::Plus | Marker::Cross => {
                    let arms = marker_arms(marker);
                    let thin = color.stroke_width(1);
                    chart
                        .draw_series(inside.map(|xy| {
                            EmptyElement::at(xy)
                                + PathElement::new(arms[0].to_vec(), thin)
                                + PathElement::new(arms[1].to_vec(), thin)
                        }))
                        .map_err(e)?;
                }
            }
        }
    }

    // `axes.linewidth` 0.8 pt spines, and ticks of `xtick.major.width` 0.8 pt: one pixel.
    root.draw(&PathElement::new(
        vec![(l, t), (r, t), (r, b), (l, b), (l, t)],
        BLACK,
    ))
    .map_err(e)?;
    let put = |text: &str, x: f64, y: f64, em_px: f64, align: text::Align, rotated: bool| {
        text::draw(
            root,
            raster,
            &text::Text {
                text,
                x,
                y,
                em_px,
                align,
                rotated,
                color: BLACK,
            },
        )
        .map_err(e)
    };
    let (bf, lf) = (f64::from(b), f64::from(l));
    let ascent = text::ASCENT_EM;

    let xt = AxisTicks::new(x0, x1, place.2 - place.0, ticks::Axis::X);
    for (v, label) in xt.values.iter().zip(&xt.labels) {
        let px = chart.backend_coord(&(*v, y0)).0;
        root.draw(&PathElement::new(vec![(px, b), (px, b + TICK_LEN)], BLACK))
            .map_err(e)?;
        // `va="top"` at the tick's end plus the pad: the baseline an ascent lower
        let baseline = bf + f64::from(TICK_LEN) + TICK_PAD + ascent * TICK_EM;
        put(
            label,
            f64::from(px),
            baseline,
            TICK_EM,
            text::Align::Center,
            false,
        )?;
    }
    // the x tick labels' box ends a line (ascent + descent) below their top
    let xlabels_bottom = bf
        + f64::from(TICK_LEN)
        + TICK_PAD
        + if xt.labels.is_empty() {
            0.0
        } else {
            (ascent + text::DESCENT_EM) * TICK_EM
        };
    if !xt.offset_text.is_empty() {
        let baseline = xlabels_bottom + OFFSET_PAD + ascent * TICK_EM;
        put(
            &xt.offset_text,
            f64::from(r),
            baseline,
            TICK_EM,
            text::Align::Right,
            false,
        )?;
    }

    let yt = AxisTicks::new(y0, y1, place.3 - place.1, ticks::Axis::Y);
    let mut ylabels_left = lf - f64::from(TICK_LEN) - TICK_PAD;
    for (v, label) in yt.values.iter().zip(&yt.labels) {
        let py = chart.backend_coord(&(x0, *v)).1;
        root.draw(&PathElement::new(vec![(l - TICK_LEN, py), (l, py)], BLACK))
            .map_err(e)?;
        // `ha="right"`, `va="center_baseline"`: the middle of the ascent on the tick
        let right = lf - f64::from(TICK_LEN) - TICK_PAD;
        let baseline = f64::from(py) + ascent * TICK_EM / 2.0;
        put(label, right, baseline, TICK_EM, text::Align::Right, false)?;
        ylabels_left = ylabels_left.min(right - text::width(label, TICK_EM));
    }
    if !yt.offset_text.is_empty() {
        let baseline = f64::from(t) - OFFSET_PAD;
        put(
            &yt.offset_text,
            lf,
            baseline,
            TICK_EM,
            text::Align::Left,
            false,
        )?;
    }

    let centre_x = (place.0 + place.2) / 2.0;
    // `va="top"` a label pad below the tick labels
    let xlabel_baseline = xlabels_bottom + LABEL_PAD + ascent * LABEL_EM;
    put(
        &fig.xlabel,
        centre_x,
        xlabel_baseline,
        LABEL_EM,
        text::Align::Center,
        false,
    )?;
    // rotated, `va="bottom"` (its descent towards the axes) a label pad left of the tick labels
    let ylabel_baseline = ylabels_left - LABEL_PAD - text::DESCENT_EM * LABEL_EM;
    let centre_y = (place.1 + place.3) / 2.0;
    put(
        &fig.ylabel,
        ylabel_baseline,
        centre_y,
        LABEL_EM,
        text::Align::Center,
        true,
    )?;
    // `va="baseline"` a title pad above the axes
    put(
        &fig.title,
        centre_x,
        place.1 - TITLE_PAD,
        TITLE_EM,
        text::Align::Center,
        false,
    )?;

    if fig.series.iter().any(|s| !s.label.is_empty()) {
        draw_legend(root, fig, plan, (l, t, r, b), raster)?;
    }
    Ok((l..r, t..b))
}

/// matplotlib's legend (`legend.*` rcParams, in font sizes of 10 pt): `borderpad` 0.4 inside
/// the frame, rows of text `labelspacing` 0.5 apart, a handle `handlelength` 2.0 long and
/// `handletextpad` 0.8 before the text, the frame `borderaxespad` 0.5 from the spines in the
/// corner [`best_legend_position`] picks, white at `framealpha` 0.8 with a 0.8-grey edge.
fn draw_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fig: &Figure,
    plan: &Plan,
    (l, t, r, b): (i32, i32, i32, i32),
    raster: bool,
) -> anyhow::Result<()> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow!("{e}");
    let em = LEGEND_EM;
    let entries: Vec<(&Series, &PlannedSeries)> = fig
        .series
        .iter()
        .zip(&plan.series)
        .filter(|(s, _)| !s.label.is_empty())
        .collect();
    let text_w = entries
        .iter()
        .map(|(s, _)| text::width(&s.label, em))
        .fold(0.0f64, f64::max);
    let row_h = (text::ASCENT_EM + text::DESCENT_EM) * em;
    let rows = entries.len() as f64;
    let (pad, spacing, handle, handle_pad, axes_pad) =
        (0.4 * em, 0.5 * em, 2.0 * em, 0.8 * em, 0.5 * em);
    let w = pad + handle + handle_pad + text_w + pad;
    let h = pad + rows * row_h + (rows - 1.0) * spacing + pad;
    let (aw, ah) = (f64::from((r - l).max(1)), f64::from((b - t).max(1)));
    let corner = best_legend_position(plan, ((w + axes_pad) / aw, (h + axes_pad) / ah));
    let (left, top) = match corner {
        SeriesLabelPosition::UpperLeft => (f64::from(l) + axes_pad, f64::from(t) + axes_pad),
        SeriesLabelPosition::LowerLeft => (f64::from(l) + axes_pad, f64::from(b) - axes_pad - h),
        SeriesLabelPosition::LowerRight => {
            (f64::from(r) - axes_pad - w, f64::from(b) - axes_pad - h)
        }
        _ => (f64::from(r) - axes_pad - w, f64::from(t) + axes_pad),
    };
    let frame = [
        (left.round() as i32, top.round() as i32),
        ((left + w).round() as i32, (top + h).round() as i32),
    ];
    root.draw(&Rectangle::new(frame, WHITE.mix(0.8).filled()))
        .map_err(e)?;
    root.draw(&Rectangle::new(frame, RGBColor(0xcc, 0xcc, 0xcc)))
        .map_err(e)?;
    for (i, (s, p)) in entries.iter().enumerate() {
        let row_top = top + pad + i as f64 * (row_h + spacing);
        let baseline = row_top + text::ASCENT_EM * em;
        // the handle on the middle of the text's ascent, as matplotlib centres it
        let mid = (baseline - text::ASCENT_EM * em / 2.0).round() as i32;
        root.draw(&LegendGlyph {
            at: ((left + pad).round() as i32, mid),
            len: handle.round() as i32,
            color: p.color,
            dash: p.line,
            marker: p.marker,
        })
        .map_err(e)?;
        text::draw(
            root,
            raster,
            &text::Text {
                text: &s.label,
                x: left + pad + handle + handle_pad,
                y: baseline,
                em_px: em,
                align: text::Align::Left,
                rotated: false,
                color: BLACK,
            },
        )
        .map_err(e)?;
    }
    Ok(())
}

/// The two strokes of a `+` or `x` marker, in pixels from its centre (6 pt across).
fn marker_arms(marker: Marker) -> [[(i32, i32); 2]; 2] {
    match marker {
        Marker::Cross => [[(-3, -3), (3, 3)], [(-3, 3), (3, -3)]],
        _ => [[(-4, 0), (4, 0)], [(0, -4), (0, 4)]],
    }
}

/// A legend entry's sample: a line `len` pixels long in the series' dash pattern, and its marker
/// in the middle, as matplotlib draws a legend handle.
struct LegendGlyph {
    at: (i32, i32),
    len: i32,
    color: RGBColor,
    dash: Option<LineStyle>,
    marker: Option<Marker>,
}

impl<'a> plotters::element::PointCollection<'a, (i32, i32)> for &'a LegendGlyph {
    type Point = &'a (i32, i32);
    type IntoIter = std::iter::Once<&'a (i32, i32)>;
    fn point_iter(self) -> Self::IntoIter {
        std::iter::once(&self.at)
    }
}

impl<DB: DrawingBackend> plotters::element::Drawable<DB> for LegendGlyph {
    fn draw<I: Iterator<Item = (i32, i32)>>(
        &self,
        mut pos: I,
        backend: &mut DB,
        _parent_dim: (u32, u32),
    ) -> Result<(), plotters_backend::DrawingErrorKind<DB::ErrorType>> {
        let Some((x, y)) = pos.next() else {
            return Ok(());
        };
        let line = self.color.stroke_width(LINE_WIDTH);
        if let Some(dash) = self.dash {
            let pattern = dash.pattern();
            let (mut at, mut k) = (0.0f64, 0usize);
            let len = f64::from(self.len);
            while at < len {
                let end = match pattern.is_empty() {
                    true => len,
                    false => (at + pattern[k % pattern.len()]).min(len),
                };
                if k % 2 == 0 {
                    backend.draw_line((x + at as i32, y), (x + end.round() as i32, y), &line)?;
                }
                at = end;
                k += 1;
            }
        }
        let centre = (x + self.len / 2, y);
        match self.marker {
            Some(Marker::Circle) => backend.draw_circle(centre, 4, &self.color.filled(), true)?,
            Some(Marker::Point) => backend.draw_circle(centre, 2, &self.color.filled(), true)?,
            Some(m @ (Marker::Plus | Marker::Cross)) => {
                for [(ax, ay), (bx, by)] in marker_arms(m) {
                    let thin = self.color.stroke_width(1);
                    backend.draw_line((centre.0 + ax, y + ay), (centre.0 + bx, y + by), &thin)?;
                }
            }
            None => {}
        }
        Ok(())
    }
}

/// The pieces of a series' line to draw, in data coordinates: each run (a horizontal line:
/// the axes' width) clipped to the axes; cut where the line turns back on itself (a plot over
/// unsorted x, whose joins would otherwise stick out as spikes) and, for a dashed style, into
/// its dashes, measured in pixels (`scale`: pixels per data unit on each axis) and continued
/// across the points of a piece as matplotlib continues them.
fn line_pieces(
    runs: &[Vec<(f64, f64)>],
    plan: &Plan,
    dash: LineStyle,
    scale: (f64, f64),
) -> Vec<Vec<(f64, f64)>> {
    let (x0, x1) = plan.x;
    let (y0, y1) = plan.y;
    let mut polylines: Vec<Vec<(f64, f64)>> = Vec::new();
    for run in runs {
        let points: Vec<(f64, f64)> = match run.as_slice() {
            [(x, y)] if x.is_nan() => vec![(x0, *y), (x1, *y)],
            points => points.to_vec(),
        };
        let mut current: Vec<(f64, f64)> = Vec::new();
        let mut last_dir: Option<(f64, f64)> = None;
        for w in points.windows(2) {
            let Some((a, b)) = clip_segment(w[0], w[1], (x0, x1), (y0, y1)) else {
                if current.len() > 1 {
                    polylines.push(std::mem::take(&mut current));
                }
                current.clear();
                last_dir = None;
                continue;
            };
            let dir = ((b.0 - a.0) * scale.0, (b.1 - a.1) * scale.1);
            let joined = current.last() == Some(&a);
            let reverses = last_dir.is_some_and(|d| d.0 * dir.0 + d.1 * dir.1 < 0.0);
            if !joined || reverses {
                if current.len() > 1 {
                    polylines.push(std::mem::take(&mut current));
                }
                current.clear();
                current.push(a);
            }
            current.push(b);
            last_dir = Some(dir);
        }
        if current.len() > 1 {
            polylines.push(current);
        }
    }
    let pattern = dash.pattern();
    if pattern.is_empty() {
        return polylines;
    }
    let mut dashes = Vec::new();
    for line in polylines {
        // position in the pattern: index of the current dash or gap, and pixels left of it
        let (mut k, mut left) = (0usize, pattern[0]);
        let mut piece: Vec<(f64, f64)> = vec![line[0]];
        for w in line.windows(2) {
            let (a, b) = (w[0], w[1]);
            let len = ((b.0 - a.0) * scale.0).hypot((b.1 - a.1) * scale.1);
            let mut done = 0.0;
            while len - done > left {
                done += left;
                let t = done / len;
                let p = (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1));
                if k % 2 == 0 {
                    piece.push(p);
                    dashes.push(std::mem::take(&mut piece));
                } else {
                    piece = vec![p];
                }
                k += 1;
                left = pattern[k % pattern.len()];
            }
            left -= len - done;
            if k % 2 == 0 {
                piece.push(b);
            }
        }
        if k % 2 == 0 && piece.len() > 1 {
            dashes.push(piece);
        }
    }
    dashes
}

/// The part of the segment `a`–`b` inside the box (Liang–Barsky), or `None` when none is.
fn clip_segment(
    a: (f64, f64),
    b: (f64, f64),
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> Option<((f64, f64), (f64, f64))> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-dx, a.0 - x0),
        (dx, x1 - a.0),
        (-dy, a.1 - y0),
        (dy, y1 - a.1),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
        }
    }
    if t0 > t1 {
        return None;
    }
    let at = |t: f64| {
        if t == 0.0 {
            a
        } else if t == 1.0 {
            b
        } else {
            (a.0 + t * dx, a.1 + t * dy)
        }
    };
    Some((at(t0), at(t1)))
}

/// Like matplotlib's `loc="best"`: the corner (in its order of preference) whose legend box of
/// `size` (fractions of the axes' width and height) covers the fewest data points; lines are
/// sampled along their segments.
fn best_legend_position(plan: &Plan, size: (f64, f64)) -> SeriesLabelPosition {
    let (x0, x1) = plan.x;
    let (y0, y1) = plan.y;
    let mut samples = Vec::new();
    for s in &plan.series {
        for run in &s.runs {
            match run.as_slice() {
                [(x, y)] if x.is_nan() => {
                    // A horizontal line spans the width.
                    samples.extend((0..=20).map(|k| (f64::from(k) / 20.0, (y - y0) / (y1 - y0))));
                }
                points => {
                    let norm = |(x, y): (f64, f64)| ((x - x0) / (x1 - x0), (y - y0) / (y1 - y0));
                    samples.extend(points.iter().map(|&p| norm(p)));
                    for w in points.windows(2) {
                        let (a, b) = (norm(w[0]), norm(w[1]));
                        for k in 1..10 {
                            let t = f64::from(k) / 10.0;
                            samples.push((a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1)));
                        }
                    }
                }
            }
        }
    }
    let (w, h) = size;
    let m = 0.03; // the legend's margin from the spines
    let corners = [
        (SeriesLabelPosition::UpperRight, (1.0 - m - w, 1.0 - m - h)),
        (SeriesLabelPosition::UpperLeft, (m, 1.0 - m - h)),
        (SeriesLabelPosition::LowerLeft, (m, m)),
        (SeriesLabelPosition::LowerRight, (1.0 - m - w, m)),
    ];
    let mut best = (SeriesLabelPosition::UpperRight, usize::MAX);
    for (pos, (bx, by)) in corners {
        let covered = samples
            .iter()
            .filter(|&&(x, y)| x >= bx && x <= bx + w && y >= by && y <= by + h)
            .count();
        if covered < best.1 {
            best = (pos, covered);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(label: &str, mark: Mark, x: Vec<f64>, y: Vec<f64>, color: &str) -> Series {
        Series {
            label: label.into(),
            mark,
            x,
            y,
            color: color.into(),
        }
    }

    fn figure(name: &str, series: Vec<Series>) -> Figure {
        Figure {
            name: name.into(),
            title: format!("Title of {name}"),
            xlabel: "epoch".into(),
            ylabel: "loss value".into(),
            series,
            document_image: None,
            figsize: None,
            panels: Vec::new(),
        }
    }

    /// A figure with every kind of mark, as the documents draw them: data, a fit and a true value.
    fn all_marks() -> Figure {
        let x: Vec<f64> = (0..50).map(|i| f64::from(i) / 10.0).collect();
        let noisy: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(i, v)| 3.0 * v + 2.0 + if i % 2 == 0 { 0.8 } else { -0.8 })
            .collect();
        let fit: Vec<f64> = x.iter().map(|v| 3.0 * v + 2.0).collect();
        figure(
            "all_marks",
            vec![
                series("data", Mark::Points, x.clone(), noisy, "C0"),
                series("fit", Mark::Line, x, fit, "C1"),
                series("true bias", Mark::HLine, vec![], vec![2.0], "red"),
            ],
        )
    }

    fn scratch_dir() -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix("tapegrad-figures-")
            .tempdir_in(std::env::temp_dir())
            .expect("temp dir")
    }

    /// Renders into an in-memory RGB buffer, as the PNG would look.
    fn pixels(fig: &Figure) -> Vec<u8> {
        pixels_and_boxes(fig).0
    }

    /// The RGB buffer and the axes' boxes.
    fn pixels_and_boxes(fig: &Figure) -> (Vec<u8>, Vec<AxesBox>) {
        ensure_font().unwrap();
        let plans = plans(fig).unwrap();
        let mut buf = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
        let boxes;
        {
            let root = BitMapBackend::with_buffer(&mut buf, SIZE).into_drawing_area();
            boxes = draw(&root, fig, &plans, true).unwrap();
            root.present().unwrap();
        }
        (buf, boxes)
    }

    /// The SVG text and the axes' boxes.
    fn svg_and_boxes(fig: &Figure) -> (String, Vec<AxesBox>) {
        ensure_font().unwrap();
        let plans = plans(fig).unwrap();
        let mut svg = String::new();
        let boxes;
        {
            let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
            boxes = draw(&root, fig, &plans, false).unwrap();
            root.present().unwrap();
        }
        (svg, boxes)
    }

    /// The points of every `<polyline>` of the SVG stroked in `stroke` (`#FF0000`).
    fn polylines(svg: &str, stroke: &str) -> Vec<Vec<(f64, f64)>> {
        svg.split("<polyline")
            .skip(1)
            .filter(|el| el.contains(&format!("stroke=\"{stroke}\"")))
            .map(|el| {
                let points = el
                    .split("points=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap();
                points
                    .split_whitespace()
                    .map(|p| {
                        let (x, y) = p.split_once(',').unwrap();
                        (x.parse().unwrap(), y.parse().unwrap())
                    })
                    .collect()
            })
            .collect()
    }

    /// Pixels in rows `rows` that are not white.
    fn non_white(buf: &[u8], rows: std::ops::Range<u32>) -> usize {
        let w = SIZE.0 as usize;
        buf[rows.start as usize * w * 3..rows.end as usize * w * 3]
            .chunks(3)
            .filter(|p| p != &[255, 255, 255])
            .count()
    }

    fn count_color(buf: &[u8], c: RGBColor) -> usize {
        buf.chunks(3).filter(|p| p == &[c.0, c.1, c.2]).count()
    }

    fn check_written(paths: &[PathBuf], dir: &Path, fig: &Figure) {
        let svg_path = dir.join(format!("{}.svg", fig.name));
        let png_path = dir.join(format!("{}.png", fig.name));
        assert_eq!(paths, [svg_path.clone(), png_path.clone()]);
        let svg = fs::read_to_string(&svg_path).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
        assert!(svg.contains(&fig.title), "SVG lacks the title");
        assert!(svg.contains(&fig.xlabel) && svg.contains(&fig.ylabel));
        let png = fs::read(&png_path).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert!(png.len() > 5_000, "PNG only {} bytes", png.len());
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
    }

    #[test]
    fn renders_each_mark_to_svg_and_png() {
        let dir = scratch_dir();
        for (name, mark) in [
            ("points", Mark::Points),
            ("line", Mark::Line),
            ("hline", Mark::HLine),
        ] {
            let fig = figure(
                name,
                vec![series(
                    name,
                    mark,
                    vec![1.0, 2.0, 3.0],
                    vec![1.0, 4.0, 9.0],
                    "C2",
                )],
            );
            let paths = render(&fig, dir.path()).unwrap();
            check_written(&paths, dir.path(), &fig);
            let buf = pixels(&fig);
            assert!(count_color(&buf, CYCLE[2]) > 20, "{name}: C2 not drawn");
        }
    }

    #[test]
    fn all_marks_with_legend() {
        let dir = scratch_dir();
        let fig = all_marks();
        let paths = render(&fig, dir.path()).unwrap();
        check_written(&paths, dir.path(), &fig);
        let svg = fs::read_to_string(&paths[0]).unwrap();
        for label in ["data", "fit", "true bias"] {
            assert!(svg.contains(label), "legend lacks {label}");
        }
        // matplotlib's C0 and C1, and pure red.
        assert!(svg.to_ascii_lowercase().contains("#1f77b4"));
        assert!(svg.to_ascii_lowercase().contains("#ff7f0e"));
        let buf = pixels(&fig);
        assert!(count_color(&buf, CYCLE[0]) > 100);
        assert!(count_color(&buf, CYCLE[1]) > 100);
        assert!(count_color(&buf, RGBColor(255, 0, 0)) > 100);
    }

    #[test]
    fn title_is_drawn_in_the_png() {
        let fig = all_marks();
        let with = pixels(&fig);
        let without = pixels(&Figure {
            title: String::new(),
            ..fig.clone()
        });
        // The title band holds text; without a title the band above the axes stays white.
        // (Rows 0..50, not 0..40 as under plotters' caption: matplotlib puts the title's
        // baseline 6 pt above the axes' top at 57.6 px, so the title spans rows 36..53.)
        let title_ink = non_white(&with, 0..50);
        assert!(title_ink > 300, "title band has {title_ink} inked pixels");
        assert_eq!(non_white(&without, 0..8), 0);
        // Antialiased glyphs: grey levels, not only black.
        let greys = with[..50 * SIZE.0 as usize * 3]
            .chunks(3)
            .filter(|p| p[0] > 0 && p[0] < 255)
            .count();
        assert!(greys > 50, "{greys}");
    }

    #[test]
    fn replaces_existing_files_whole() {
        let dir = scratch_dir();
        let fig = all_marks();
        fs::write(dir.path().join("all_marks.png"), b"old").unwrap();
        fs::write(dir.path().join("all_marks.svg"), b"old").unwrap();
        let paths = render(&fig, dir.path()).unwrap();
        check_written(&paths, dir.path(), &fig);
        // Rendering twice gives the same SVG.
        let first = fs::read(&paths[0]).unwrap();
        render(&fig, dir.path()).unwrap();
        assert_eq!(fs::read(&paths[0]).unwrap(), first);
    }

    #[test]
    fn degenerate_data_still_renders() {
        let dir = scratch_dir();
        let cases = [
            figure("empty", vec![]),
            figure(
                "single",
                vec![series("one", Mark::Points, vec![2.0], vec![5.0], "C0")],
            ),
            figure(
                "constant",
                vec![series(
                    "c",
                    Mark::Line,
                    vec![0.0, 1.0, 2.0],
                    vec![0.0; 3],
                    "",
                )],
            ),
            figure(
                "non_finite",
                vec![series(
                    "",
                    Mark::Line,
                    vec![0.0, 1.0, f64::NAN, 3.0, 4.0],
                    vec![1.0, f64::INFINITY, 2.0, 3.0, f64::NEG_INFINITY],
                    "black",
                )],
            ),
            figure(
                "all_nan",
                vec![
                    series("n", Mark::Points, vec![f64::NAN], vec![f64::NAN], "C3"),
                    series("h", Mark::HLine, vec![], vec![], "orange"),
                ],
            ),
            figure(
                "hline_only",
                vec![series("t", Mark::HLine, vec![], vec![-3.5], "green")],
            ),
        ];
        for fig in &cases {
            let paths = render(fig, dir.path()).unwrap();
            check_written(&paths, dir.path(), fig);
        }
    }

    #[test]
    fn axis_ranges() {
        assert_eq!(axis_range(&[]), (0.0, 1.0));
        assert_eq!(axis_range(&[0.0, 10.0]), (-0.5, 10.5));
        assert_eq!(axis_range(&[0.0]), (-0.05, 0.05));
        let (lo, hi) = axis_range(&[4.0, 4.0]);
        assert!(
            (lo - 3.8).abs() < 1e-12 && (hi - 4.2).abs() < 1e-12,
            "{lo} {hi}"
        );
        let (lo, hi) = axis_range(&[-f64::MAX, f64::MAX]);
        assert!(lo.is_finite() && hi.is_finite() && lo < hi);
        // Skipping non-finite values is the caller's job; the Plan does it.
        let fig = figure(
            "p",
            vec![series(
                "",
                Mark::Points,
                vec![1.0, f64::NAN, 3.0],
                vec![2.0, 7.0, f64::INFINITY],
                "",
            )],
        );
        let plan = Plan::new(&fig).unwrap();
        assert_eq!(plan.series[0].runs, vec![vec![(1.0, 2.0)]]);
        assert_eq!(plan.x, (0.95, 1.05));
    }

    #[test]
    fn lines_break_at_non_finite_points() {
        let fig = figure(
            "l",
            vec![series(
                "",
                Mark::Line,
                vec![0.0, 1.0, 2.0, 3.0, 4.0],
                vec![0.0, 1.0, f64::NAN, 3.0, 4.0],
                "",
            )],
        );
        let plan = Plan::new(&fig).unwrap();
        assert_eq!(
            plan.series[0].runs,
            vec![vec![(0.0, 0.0), (1.0, 1.0)], vec![(3.0, 3.0), (4.0, 4.0)]]
        );
    }

    #[test]
    fn colours_are_matplotlibs() {
        assert_eq!(parse_color("C0", 5).unwrap(), RGBColor(0x1f, 0x77, 0xb4));
        assert_eq!(parse_color("C3", 0).unwrap(), RGBColor(0xd6, 0x27, 0x28));
        assert_eq!(parse_color("C9", 0).unwrap(), RGBColor(0x17, 0xbe, 0xcf));
        assert_eq!(parse_color("", 1).unwrap(), RGBColor(0xff, 0x7f, 0x0e));
        assert_eq!(parse_color("green", 0).unwrap(), RGBColor(0, 0x80, 0));
        assert_eq!(parse_color("orange", 0).unwrap(), RGBColor(0xff, 0xa5, 0));
        assert_eq!(parse_color("#0a0B0c", 0).unwrap(), RGBColor(10, 11, 12));
        let err = parse_color("chartreuse", 0).unwrap_err().to_string();
        assert!(err.contains("chartreuse"), "{err}");
    }

    /// Was `tick_formatter`'s test: the same ranges through matplotlib's `ScalarFormatter`
    /// (figures::ticks). The first two give the labels they gave; for 0..3e7 plotters' style
    /// wrote "1.00e7" on the tick, matplotlib writes "1.0" there and "1e7" at the axis' end.
    #[test]
    fn tick_labels_share_their_decimals() {
        let f = |lo: f64, hi: f64| ticks::TickFormat::new(&ticks::locator_ticks(lo, hi, 9), lo, hi);
        let t = f(-0.05, 1.05);
        assert_eq!(t.label(0.0), "0.0");
        assert_eq!(t.label(0.5), "0.5");
        assert_eq!(t.label(0.1 + 0.2), "0.3");
        assert_eq!(f(0.0, 100.0).label(20.0), "20");
        let t = f(0.0, 3e7);
        assert_eq!(t.label(1e7), "1.0");
        assert_eq!(t.offset_text(), "1e7");
        assert_eq!(f(-1.0, 1.0).label(-0.5), "\u{2212}0.50");
    }

    #[test]
    fn legend_avoids_the_data() {
        // Data rising to the upper right: the legend goes upper left.
        let x: Vec<f64> = (0..20).map(f64::from).collect();
        let fig = figure(
            "rise",
            vec![series("up", Mark::Line, x.clone(), x.clone(), "")],
        );
        let plan = Plan::new(&fig).unwrap();
        assert_eq!(
            best_legend_position(&plan, (0.2, 0.1)),
            SeriesLabelPosition::UpperLeft
        );
        // Falling from the upper left: upper right is free.
        let down: Vec<f64> = x.iter().map(|v| -v).collect();
        let fig = figure("fall", vec![series("down", Mark::Line, x, down, "")]);
        let plan = Plan::new(&fig).unwrap();
        assert_eq!(
            best_legend_position(&plan, (0.2, 0.1)),
            SeriesLabelPosition::UpperRight
        );
    }

    #[test]
    fn errors_name_the_figure_or_file() {
        let dir = scratch_dir();
        let bad = figure(
            "bad_colour",
            vec![series("s", Mark::Line, vec![0.0], vec![0.0], "chartreuse")],
        );
        let err = format!("{:#}", render(&bad, dir.path()).unwrap_err());
        assert!(
            err.contains("bad_colour") && err.contains("chartreuse"),
            "{err}"
        );

        let ragged = figure(
            "ragged",
            vec![series("s", Mark::Points, vec![0.0, 1.0], vec![0.0], "")],
        );
        let err = format!("{:#}", render(&ragged, dir.path()).unwrap_err());
        assert!(err.contains("ragged") && err.contains("x has 2"), "{err}");

        for name in ["", "../escape", "a/b", ".hidden"] {
            let fig = figure(name, vec![]);
            assert!(render(&fig, dir.path()).is_err(), "{name:?} accepted");
        }

        // The directory is a file: the error names it, and nothing is written.
        let file = dir.path().join("not_a_dir");
        fs::write(&file, b"x").unwrap();
        let err = format!("{:#}", render(&all_marks(), &file).unwrap_err());
        assert!(err.contains("not_a_dir"), "{err}");
    }

    /// Issue 16: `tape-regression/test_data_with_predicted_y_values.png`'s red line ran out of
    /// the axes to the picture's corners as a thick band: `plt.plot` over unsorted x turns back
    /// at every point, and plotters' joins there are spikes. The line is now clipped to the
    /// axes and cut where it turns back: every point inside the box, in the SVG and the PNG,
    /// and one thin line's worth of red.
    #[test]
    fn a_plot_over_unsorted_x_stays_inside_its_axes_as_one_thin_line() {
        let x: Vec<f64> = (0..400)
            .map(|i| ((i * 7919) % 400) as f64 / 100.0 - 2.0)
            .collect();
        let y: Vec<f64> = x.iter().map(|v| 9.0 * v - 2.0).collect();
        let scattered: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(i, v)| 9.0 * v - 2.0 + ((i % 7) as f64 - 3.0))
            .collect();
        let fig = figure(
            "unsorted",
            vec![
                series("", Mark::Line, x.clone(), y, "red"),
                series("", Mark::Points, x, scattered, "C0"),
            ],
        );
        let (svg, boxes) = svg_and_boxes(&fig);
        let (xs, ys) = &boxes[0];
        let lines = polylines(&svg, "#FF0000");
        assert!(!lines.is_empty());
        for p in lines.iter().flatten() {
            assert!(
                p.0 >= f64::from(xs.start) - 1.0 && p.0 <= f64::from(xs.end) + 1.0,
                "{p:?} outside {xs:?}"
            );
            assert!(
                p.1 >= f64::from(ys.start) - 1.0 && p.1 <= f64::from(ys.end) + 1.0,
                "{p:?} outside {ys:?}"
            );
        }
        let (buf, _) = pixels_and_boxes(&fig);
        let w = SIZE.0 as usize;
        let mut red = 0;
        for (i, px) in buf.chunks(3).enumerate() {
            if px == [255, 0, 0] {
                red += 1;
                let (px_x, px_y) = ((i % w) as i32, (i / w) as i32);
                assert!(
                    xs.start - 2 <= px_x
                        && px_x <= xs.end + 2
                        && ys.start - 2 <= px_y
                        && px_y <= ys.end + 2,
                    "red pixel at {px_x},{px_y} outside the axes {boxes:?}"
                );
            }
        }
        // a 2-pixel line across the axes' diagonal, not a band: at most ~3 pixels a step
        let diagonal = f64::from(xs.end - xs.start).hypot(f64::from(ys.end - ys.start));
        assert!(
            f64::from(red) < 3.5 * diagonal,
            "{red} red pixels for a {diagonal:.0}-pixel line"
        );
    }

    /// Issue 16: `custom-training/weights_per_epoch.png`'s `'r--'` and `'b--'` true values were
    /// solid. A dashed line is now its dashes (matplotlib's 5.55 pt on, 2.4 off at 1.5 pt), a
    /// dotted one its dots, each a piece of its own in the SVG.
    #[test]
    fn dashed_and_dotted_lines_are_drawn_in_matplotlibs_patterns() {
        for (fmt, on, off) in [("r--", 5.55, 2.4), ("r:", 1.5, 2.475)] {
            let fig = figure(
                "dashes",
                vec![
                    series("", Mark::Line, vec![0.0, 10.0], vec![0.0, 10.0], "C0"),
                    series("", Mark::HLine, vec![], vec![5.0], fmt),
                ],
            );
            let (svg, boxes) = svg_and_boxes(&fig);
            let width = f64::from(boxes[0].0.end - boxes[0].0.start);
            let dashes = polylines(&svg, "#FF0000");
            let px = 100.0 / 72.0;
            let expected = width / ((on + off) * px);
            assert!(
                (dashes.len() as f64 - expected).abs() <= 2.0,
                "{fmt}: {} dashes across {width} px, expected ~{expected:.0}",
                dashes.len()
            );
            for d in &dashes[..dashes.len() - 1] {
                let len = (d[d.len() - 1].0 - d[0].0).abs();
                assert!((len - on * px).abs() <= 1.0, "{fmt}: a dash of {len} px");
            }
            for w in dashes.windows(2) {
                let gap = w[1][0].0 - w[0][w[0].len() - 1].0;
                assert!((gap - off * px).abs() <= 1.0, "{fmt}: a gap of {gap} px");
            }
        }
    }

    #[test]
    fn format_strings_give_matplotlibs_colours_markers_and_lines() {
        let red = RGBColor(0xff, 0, 0);
        let blue = RGBColor(0, 0, 0xff);
        assert_eq!(
            parse_format("r--", 0, Mark::Line).unwrap(),
            (red, Some(LineStyle::Dashed), None)
        );
        assert_eq!(
            parse_format("bo", 0, Mark::Line).unwrap(),
            (blue, None, Some(Marker::Circle))
        );
        assert_eq!(
            parse_format("b.", 0, Mark::Points).unwrap(),
            (blue, None, Some(Marker::Point))
        );
        assert_eq!(
            parse_format("r+", 0, Mark::Points).unwrap(),
            (red, None, Some(Marker::Plus))
        );
        assert_eq!(
            parse_format("x-.C3", 0, Mark::Line).unwrap().1,
            Some(LineStyle::DashDot)
        );
        assert_eq!(
            parse_format("C3:", 0, Mark::Line).unwrap(),
            (CYCLE[3], Some(LineStyle::Dotted), None)
        );
        assert_eq!(
            parse_format("red", 0, Mark::Line).unwrap(),
            (red, Some(LineStyle::Solid), None)
        );
        assert_eq!(
            parse_format("", 1, Mark::Points).unwrap(),
            (CYCLE[1], None, Some(Marker::Circle))
        );
        assert_eq!(
            parse_format("b--", 0, Mark::HLine).unwrap().1,
            Some(LineStyle::Dashed)
        );
        let err = parse_format("r*", 0, Mark::Line).unwrap_err().to_string();
        assert!(err.contains("\"*\"") && err.contains("r*"), "{err}");
    }

    /// Issue 16: `loss_against_w` and `loss_against_b` were two files where the document draws
    /// one figure of two subplots (`plt.subplot(120 + idx + 1)`).
    #[test]
    fn subplots_are_axes_side_by_side_in_one_file() {
        let mut fig = figure(
            "pair",
            vec![series("", Mark::Line, vec![0.0, 1.0], vec![1.0, 0.0], "r")],
        );
        let mut right = figure(
            "",
            vec![series("", Mark::Line, vec![5.0, 6.0], vec![0.0, 1.0], "bo")],
        );
        right.title = "right panel".into();
        fig.panels = vec![right];
        let (svg, boxes) = svg_and_boxes(&fig);
        assert_eq!(boxes.len(), 2);
        assert!(boxes[0].0.end < boxes[1].0.start, "side by side: {boxes:?}");
        assert_eq!(boxes[0].1, boxes[1].1, "one row");
        assert!(svg.contains("Title of pair") && svg.contains("right panel"));
        // the right panel's blue dots are inside its own box
        for c in svg
            .split("<circle")
            .skip(1)
            .filter(|c| c.contains("#0000FF"))
        {
            let cx: f64 = c
                .split("cx=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert!(cx >= f64::from(boxes[1].0.start), "{cx}");
        }
        let dir = scratch_dir();
        let written = render(&fig, dir.path()).unwrap();
        assert_eq!(written.len(), 2, "one SVG and one PNG for the two axes");
    }

    /// The SVG's `<text>` elements: x, y, `text-anchor`, whether rotated, and the text.
    fn svg_texts(svg: &str) -> Vec<(f64, f64, String, bool, String)> {
        let attr = |el: &str, name: &str| -> String {
            el.split(&format!(" {name}=\""))
                .nth(1)
                .and_then(|v| v.split('"').next())
                .unwrap_or_default()
                .to_string()
        };
        svg.split("<text")
            .skip(1)
            .map(|el| {
                let (head, rest) = el.split_once('>').unwrap();
                let content = rest.split("</text>").next().unwrap().trim().to_string();
                (
                    attr(head, "x").parse().unwrap(),
                    attr(head, "y").parse().unwrap(),
                    attr(head, "text-anchor"),
                    head.contains("rotate("),
                    content,
                )
            })
            .collect()
    }

    /// Issue 16, "tick and label placement": the ticks point outward (below the x axis, left of
    /// the y axis), 3.5 pt long, one at each of matplotlib's tick values (`ticks::ticks`, and
    /// the values matplotlib 3.11 draws for this figure: 0..5 and 2..16), each labelled under
    /// or beside it.
    #[test]
    fn ticks_point_outward_at_matplotlibs_values() {
        let fig = all_marks();
        let plan = Plan::new(&fig).unwrap();
        let (svg, boxes) = svg_and_boxes(&fig);
        let (xs, ys) = boxes[0].clone();
        assert_eq!(
            (xs.clone(), ys.clone()),
            (80..576, 58..427),
            "matplotlib's axes box"
        );
        let place = axes_boxes(640.0, 480.0, 1)[0];
        let xt = ticks::ticks(
            plan.x.0,
            plan.x.1,
            place.2 - place.0,
            TICK_EM,
            ticks::Axis::X,
        );
        let yt = ticks::ticks(
            plan.y.0,
            plan.y.1,
            place.3 - place.1,
            TICK_EM,
            ticks::Axis::Y,
        );
        assert_eq!(xt, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(yt, [2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0]);
        let len = (3.5 * PT).round();
        let px = |v: f64, (lo, hi): (f64, f64), (a, b): (i32, i32)| {
            f64::from(a) + (f64::from(b - a) * ((v - lo) / (hi - lo)) + 1e-3).floor()
        };
        let black = polylines(&svg, "#000000");
        let x_marks: Vec<&Vec<(f64, f64)>> = black
            .iter()
            .filter(|p| p.len() == 2 && p[0].0 == p[1].0)
            .collect();
        let y_marks: Vec<&Vec<(f64, f64)>> = black
            .iter()
            .filter(|p| p.len() == 2 && p[0].1 == p[1].1)
            .collect();
        assert_eq!(x_marks.len(), xt.len(), "{x_marks:?}");
        assert_eq!(y_marks.len(), yt.len(), "{y_marks:?}");
        let bottom = f64::from(ys.end);
        for (m, v) in x_marks.iter().zip(&xt) {
            assert_eq!(m[0].0, px(*v, plan.x, (xs.start, xs.end)), "x tick {v}");
            // from the spine downwards: outside the axes
            assert_eq!(
                (m[0].1, m[1].1),
                (bottom, bottom + len),
                "x tick {v}: {m:?}"
            );
        }
        let left = f64::from(xs.start);
        for (m, v) in y_marks.iter().zip(&yt) {
            // plotters maps y upwards from the bottom, rounding towards it
            let up = f64::from(ys.start - ys.end) * ((v - plan.y.0) / (plan.y.1 - plan.y.0));
            let y = f64::from(ys.end) + (up - 1e-3).ceil();
            assert_eq!(m[0].1, y, "y tick {v}: {m:?}");
            assert_eq!((m[0].0, m[1].0), (left - len, left), "y tick {v}: {m:?}");
        }
        let texts = svg_texts(&svg);
        let x_labels: Vec<_> = texts
            .iter()
            .filter(|t| t.2 == "middle" && t.1 > bottom && t.1 < bottom + 20.0)
            .collect();
        let got: Vec<&str> = x_labels.iter().map(|t| t.4.as_str()).collect();
        assert_eq!(got, ["0", "1", "2", "3", "4", "5"]);
        for (t, m) in x_labels.iter().zip(&x_marks) {
            assert_eq!(t.0, m[0].0, "label {} centred under its tick", t.4);
        }
        let y_labels: Vec<&str> = texts
            .iter()
            .filter(|t| t.2 == "end" && t.0 < left)
            .map(|t| t.4.as_str())
            .collect();
        assert_eq!(y_labels, ["2", "4", "6", "8", "10", "12", "14", "16"]);
    }

    /// The title, axis labels and tick labels of a default figure where matplotlib 3.11 puts
    /// them (the `layout` record of `data/matplotlib/ticks.json`: a line through (0, 0) and
    /// (10, 10), titled "Title", labelled "xlabel" and "ylabel"), within a pixel and a half.
    #[test]
    fn labels_sit_where_matplotlib_puts_them() {
        let record = matplotlib_record();
        let layout = &record["layout"];
        let bbox = |v: &serde_json::Value| -> [f64; 4] {
            let a: Vec<f64> = v
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            [a[0], a[1], a[2], a[3]]
        };
        let (svg, boxes) = svg_and_boxes(&layout_figure());
        let axes = bbox(&layout["axes"]);
        let (xs, ys) = &boxes[0];
        for (ours, theirs) in [
            (xs.start, axes[0]),
            (ys.start, axes[1]),
            (xs.end, axes[2]),
            (ys.end, axes[3]),
        ] {
            assert!(
                (f64::from(ours) - theirs).abs() <= 0.5,
                "{boxes:?} vs {axes:?}"
            );
        }
        let texts = svg_texts(&svg);
        let find = |s: &str| texts.iter().find(|t| t.4 == s).unwrap().clone();
        let near = |what: &str, ours: f64, theirs: f64| {
            assert!(
                (ours - theirs).abs() <= 1.5,
                "{what}: ours {ours:.2}, matplotlib's {theirs:.2}"
            );
        };
        // An SVG text's y is an ascent (0.76 em) above its baseline; matplotlib's boxes reach a
        // descent (0.24 em) below it, and an ascent above it at least.
        let (asc, desc) = (text::ASCENT_EM, text::DESCENT_EM);
        let title = find("Title");
        let tb = bbox(&layout["title"]);
        near(
            "title baseline",
            title.1 + 0.76 * TITLE_EM,
            tb[3] - desc * TITLE_EM,
        );
        near("title centre", title.0, (tb[0] + tb[2]) / 2.0);
        let xl = find("xlabel");
        let xb = bbox(&layout["xlabel"]);
        near("xlabel top", xl.1 + (0.76 - asc) * LABEL_EM, xb[1]);
        near("xlabel centre", xl.0, (xb[0] + xb[2]) / 2.0);
        let yl = find("ylabel");
        let yb = bbox(&layout["ylabel"]);
        assert!(yl.3, "the y label is rotated");
        // rotated: x is an ascent left of the baseline, whose descent side faces the axes
        near(
            "ylabel right",
            yl.0 + 0.76 * LABEL_EM + desc * LABEL_EM,
            yb[2],
        );
        near("ylabel centre", yl.1, (yb[1] + yb[3]) / 2.0);
        for (label, b) in ["0", "2", "4", "6", "8", "10"]
            .iter()
            .zip(layout["xtick_labels"].as_array().unwrap())
        {
            let b = bbox(b);
            let t = texts
                .iter()
                .find(|t| t.4 == *label && t.2 == "middle")
                .unwrap();
            near("x tick label top", t.1 + (0.76 - asc) * TICK_EM, b[1]);
            near("x tick label centre", t.0, (b[0] + b[2]) / 2.0);
        }
        for (label, b) in ["0", "2", "4", "6", "8", "10"]
            .iter()
            .zip(layout["ytick_labels"].as_array().unwrap())
        {
            let b = bbox(b);
            let t = texts
                .iter()
                .find(|t| t.4 == *label && t.2 == "end")
                .unwrap();
            near("y tick label right", t.0, b[2]);
            near("y tick label top", t.1 + (0.76 - asc) * TICK_EM, b[1]);
        }
    }

    /// The figure of the `layout` and `ink` records of `data/matplotlib/ticks.json`.
    fn layout_figure() -> Figure {
        let mut fig = figure(
            "layout",
            vec![series("", Mark::Line, vec![0.0, 10.0], vec![0.0, 10.0], "")],
        );
        fig.title = "Title".into();
        fig.xlabel = "xlabel".into();
        fig.ylabel = "ylabel".into();
        fig
    }

    /// The recorded matplotlib data (`data/matplotlib/ticks.json`).
    fn matplotlib_record() -> serde_json::Value {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../data/matplotlib/ticks.json"
        );
        serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
    }

    /// Issue 16, tick and label placement and letter spacing, in the PNG: the ink of the title,
    /// the axis labels and two tick labels lies where it lies in matplotlib 3.11's PNG of the
    /// same figure, to a pixel on each side (the `ink` record of `data/matplotlib/ticks.json`).
    #[test]
    fn png_text_sits_where_matplotlibs_png_has_it() {
        let buf = pixels(&layout_figure());
        let w = SIZE.0 as usize;
        let record = matplotlib_record();
        for (name, entry) in record["ink"].as_object().unwrap() {
            let get = |k: &str| -> Vec<usize> {
                entry[k]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap() as usize)
                    .collect()
            };
            let (region, theirs) = (get("region"), get("ink"));
            let mut ours = [usize::MAX, usize::MAX, 0, 0];
            for y in region[1]..region[3] {
                for x in region[0]..region[2] {
                    if buf[(y * w + x) * 3] < 128 {
                        ours = [
                            ours[0].min(x),
                            ours[1].min(y),
                            ours[2].max(x),
                            ours[3].max(y),
                        ];
                    }
                }
            }
            for (o, t) in ours.iter().zip(&theirs) {
                assert!(
                    o.abs_diff(*t) <= 1,
                    "{name}: our ink {ours:?}, matplotlib's {theirs:?}"
                );
            }
        }
    }

    #[test]
    fn a_figsize_in_inches_is_the_canvas_at_100_dpi() {
        let mut fig = figure(
            "big",
            vec![series("", Mark::Line, vec![0.0, 1.0], vec![0.0, 1.0], "")],
        );
        assert_eq!(canvas(&fig), (640, 480), "matplotlib's default, 6.4 x 4.8");
        fig.figsize = Some((12.0, 9.0));
        assert_eq!(canvas(&fig), (1200, 900));
        fig.figsize = Some((f64::NAN, 1e9));
        assert_eq!(canvas(&fig), (640, 480));
        fig.figsize = Some((0.0, 1e9));
        assert_eq!(canvas(&fig), (100, 5000));
        let dir = scratch_dir();
        fig.figsize = Some((12.0, 9.0));
        render(&fig, dir.path()).unwrap();
        let svg = fs::read_to_string(dir.path().join("big.svg")).unwrap();
        assert!(
            svg.contains("width=\"1200\"") && svg.contains("height=\"900\""),
            "{}",
            &svg[..200]
        );
    }
}
