//! Text of the figures, laid out with the bundled DejaVu Sans's unrounded advances and kerning
//! and, in the PNG, rasterised here with coverage blending.
//!
//! plotters' bitmap text path (`style/font/ab_glyph.rs` of plotters 0.3.7) truncates each
//! glyph's pen position to a whole pixel, drops the glyph's left side bearing and rasterises
//! every glyph at the origin, so letters sit up to about a pixel off where the font puts them
//! and words look unevenly spaced; it also takes the size as ab_glyph's *height* (ascent −
//! descent), so a PNG's letters come out 14% smaller than the SVG's. Here every glyph is
//! outlined at its exact subpixel position on the baseline, at a size in pixels per em (as the
//! SVG's `font-size` and matplotlib's points), and its coverage is blended into the canvas. The
//! SVG gets `<text>` elements placed on the same baseline.

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;

/// DejaVu Sans's `OS/2` typographic ascender and descender (1556 and −492 of 2048 units): the
/// ascent and descent matplotlib gives a line of text in its layout.
pub(super) const ASCENT_EM: f64 = 1556.0 / 2048.0;
/// See [`ASCENT_EM`].
pub(super) const DESCENT_EM: f64 = 492.0 / 2048.0;

/// The bundled font, parsed once.
fn font() -> &'static FontRef<'static> {
    static FONT: OnceLock<FontRef<'static>> = OnceLock::new();
    FONT.get_or_init(|| {
        FontRef::try_from_slice(super::FONT_BYTES).expect("the bundled DejaVuSans.ttf parses")
    })
}

/// ab_glyph's scale (the font's ascent − descent in pixels) for `em_px` pixels per em.
fn px_scale(em_px: f64) -> PxScale {
    let f = font();
    let upem = f.units_per_em().unwrap_or(2048.0);
    PxScale::from(em_px as f32 * f.height_unscaled() / upem)
}

/// The glyphs of one line of `text` at `em_px` and their pen positions from the line's start,
/// with the font's kerning; and the line's advance width. Nothing is rounded.
pub(super) fn layout(text: &str, em_px: f64) -> (Vec<(GlyphId, f32)>, f32) {
    let f = font().as_scaled(px_scale(em_px));
    let mut pen = 0.0f32;
    let mut prev: Option<GlyphId> = None;
    let mut glyphs = Vec::with_capacity(text.len());
    for c in text.chars() {
        let id = f.glyph_id(c);
        if let Some(p) = prev {
            pen += f.kern(p, id);
        }
        glyphs.push((id, pen));
        pen += f.h_advance(id);
        prev = Some(id);
    }
    (glyphs, pen)
}

/// The advance width of `text` at `em_px` pixels per em.
pub(super) fn width(text: &str, em_px: f64) -> f64 {
    f64::from(layout(text, em_px).1)
}

/// Where a text's anchor is along its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Align {
    /// The anchor is the line's start.
    Left,
    /// The anchor is the line's middle.
    Center,
    /// The anchor is the line's end.
    Right,
}

/// One line of text to draw.
#[derive(Debug, Clone)]
pub(super) struct Text<'a> {
    /// The text.
    pub text: &'a str,
    /// The anchor on the canvas, in pixels: a point of the baseline (`x` along the line as
    /// `align` says and `y` the baseline; rotated text reads upwards, its baseline at `x`).
    pub x: f64,
    /// See `x`.
    pub y: f64,
    /// Size in pixels per em.
    pub em_px: f64,
    /// Alignment along the line.
    pub align: Align,
    /// Rotated 90° anticlockwise (a y-axis label).
    pub rotated: bool,
    /// Colour.
    pub color: RGBColor,
}

/// Draws `t` on `area` (whose origin is the canvas'): as coverage-blended glyphs when `raster`
/// (the PNG), as an SVG `<text>` on the same baseline otherwise.
pub(super) fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    raster: bool,
    t: &Text,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    if t.text.is_empty() {
        return Ok(());
    }
    let (glyphs, w) = layout(t.text, t.em_px);
    let start = -f64::from(w)
        * match t.align {
            Align::Left => 0.0,
            Align::Center => 0.5,
            Align::Right => 1.0,
        };
    if !raster {
        return svg_text(area, t);
    }
    let f = font();
    let scale = px_scale(t.em_px);
    // Glyphs are outlined in the text's own frame (u along the baseline, v down), placed so that
    // its whole pixels fall on the canvas' whole pixels.
    let (x0, y0) = (t.x.floor(), t.y.floor());
    let (u0, v0) = if t.rotated {
        (start - (t.y - y0), t.x - x0)
    } else {
        (start + (t.x - x0), t.y - y0)
    };
    let mut err = None;
    for (id, pen) in glyphs {
        let glyph = id.with_scale_and_position(scale, ab_glyph::point(u0 as f32 + pen, v0 as f32));
        let Some(outline) = f.outline_glyph(glyph) else {
            continue;
        };
        let b = outline.px_bounds();
        let (bx, by) = (b.min.x as i32, b.min.y as i32);
        outline.draw(|px, py, c| {
            if err.is_some() || c <= 0.0 {
                return;
            }
            let (p, q) = (bx + px as i32, by + py as i32);
            let at = if t.rotated {
                (x0 as i32 + q, y0 as i32 - p - 1)
            } else {
                (x0 as i32 + p, y0 as i32 + q)
            };
            if let Err(e) = area.draw_pixel(at, &t.color.mix(f64::from(c.min(1.0)))) {
                err = Some(e);
            }
        });
    }
    match err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The SVG `<text>` of `t`, in DejaVu Sans (or the viewer's sans-serif): plotters writes `font-size` as its size / 1.24 and, for a top
/// anchor, `dy="0.76em"`, which is DejaVu Sans's ascent; so the element's point is placed an
/// ascent above the baseline (beside it, for rotated text).
fn svg_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    t: &Text,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let h = match t.align {
        Align::Left => HPos::Left,
        Align::Center => HPos::Center,
        Align::Right => HPos::Right,
    };
    // DejaVu Sans where the viewer has it (matplotlib's font, the PNG's), else its sans-serif
    let family = FontFamily::Name("'DejaVu Sans', sans-serif");
    let mut style = TextStyle::from((family, t.em_px * 1.24).into_font())
        .color(&t.color)
        .pos(Pos::new(h, VPos::Top));
    let ascent = 0.76 * t.em_px;
    let at = if t.rotated {
        style = style.transform(FontTransform::Rotate270);
        ((t.x - ascent).round() as i32, t.y.round() as i32)
    } else {
        (t.x.round() as i32, (t.y - ascent).round() as i32)
    };
    area.draw_text(t.text, &style, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The columns of `buf` (RGB, `w` wide) holding any ink in rows `rows`.
    fn ink_columns(buf: &[u8], w: usize, rows: std::ops::Range<usize>) -> Vec<usize> {
        (0..w)
            .filter(|&x| rows.clone().any(|y| buf[(y * w + x) * 3] < 200))
            .collect()
    }

    /// Where the font puts the ink of `text` drawn from pen position `x` (left edge of the
    /// first glyph's outline, right edge of the last's), from its unrounded layout.
    fn expected_ink(text: &str, em_px: f64, x: f64) -> (f64, f64) {
        let (glyphs, _) = layout(text, em_px);
        let f = font();
        let scale = px_scale(em_px);
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for (id, pen) in glyphs {
            let g = id.with_scale_and_position(scale, ab_glyph::point(x as f32 + pen, 50.0));
            if let Some(o) = f.outline_glyph(g) {
                let b = o.px_bounds();
                lo = lo.min(f64::from(b.min.x));
                hi = hi.max(f64::from(b.max.x));
            }
        }
        (lo, hi)
    }

    /// Issue 16: "letter spacing in the PNGs is about a pixel off". A string's ink starts and
    /// ends where the font's unrounded advances and kerning put it, within a pixel, and each
    /// letter of a run of the same letter is equally far from the next; plotters' own text path
    /// is measured alongside to show the drift it had.
    #[test]
    fn png_text_is_spaced_as_the_font_says() {
        super::super::ensure_font().unwrap();
        let (w, h) = (900usize, 100usize);
        let em = 10.0 * 100.0 / 72.0;
        let text = "Weights and bias per epoch (loss value) 0.25 1.75";
        let mut ours = vec![255u8; w * h * 3];
        let mut theirs = vec![255u8; w * h * 3];
        {
            let root =
                BitMapBackend::with_buffer(&mut ours, (w as u32, h as u32)).into_drawing_area();
            let t = Text {
                text,
                x: 10.0,
                y: 50.0,
                em_px: em,
                align: Align::Left,
                rotated: false,
                color: BLACK,
            };
            draw(&root, true, &t).unwrap();
            root.present().unwrap();
        }
        {
            // plotters' path, at the size that gives the same em (its size is ascent − descent)
            let root =
                BitMapBackend::with_buffer(&mut theirs, (w as u32, h as u32)).into_drawing_area();
            let size = f64::from(px_scale(em).y);
            let style = TextStyle::from((super::super::FAMILY, size).into_font()).color(&BLACK);
            root.draw_text(text, &style, (10, 40)).unwrap();
            root.present().unwrap();
        }
        let (lo, hi) = expected_ink(text, em, 10.0);
        let measure = |buf: &[u8]| {
            let cols = ink_columns(buf, w, 0..h);
            (cols[0] as f64, (cols[cols.len() - 1] + 1) as f64)
        };
        let (a, b) = measure(&ours);
        let (pa, pb) = measure(&theirs);
        let ours_err = (a - lo).abs().max((b - hi).abs());
        let theirs_err = (pa - lo).abs().max((pb - hi).abs());
        eprintln!(
            "ink of {text:?}: font {lo:.2}..{hi:.2}, ours {a}..{b} (off {ours_err:.2} px), \
             plotters {pa}..{pb} (off {theirs_err:.2} px)"
        );
        assert!(ours_err <= 1.0, "ours {a}..{b} vs {lo:.2}..{hi:.2}");
        assert!(
            (f64::from(layout(text, em).1) - (hi - lo)).abs() < 3.0,
            "advance sum and ink span agree to the bearings"
        );

        // A run of one letter between spaces: each letter's ink centre lies one advance of
        // "l " after the previous one's (a fraction of a pixel each), within half a pixel of
        // the line through the first; plotters' truncated pen positions are measured too.
        let run = "l l l l l l l l l l l l l l l l l l l l";
        let step = width("l ", em);
        let mut ours = vec![255u8; w * h * 3];
        let mut theirs = vec![255u8; w * h * 3];
        {
            let root =
                BitMapBackend::with_buffer(&mut ours, (w as u32, h as u32)).into_drawing_area();
            let t = Text {
                text: run,
                x: 10.0,
                y: 50.0,
                em_px: em,
                align: Align::Left,
                rotated: false,
                color: BLACK,
            };
            draw(&root, true, &t).unwrap();
            root.present().unwrap();
        }
        {
            let root =
                BitMapBackend::with_buffer(&mut theirs, (w as u32, h as u32)).into_drawing_area();
            let size = f64::from(px_scale(em).y);
            let style = TextStyle::from((super::super::FAMILY, size).into_font()).color(&BLACK);
            root.draw_text(run, &style, (10, 40)).unwrap();
            root.present().unwrap();
        }
        let spacing_error = |buf: &[u8]| {
            let c = centroids(buf, w, h);
            assert_eq!(c.len(), 20, "{c:?}");
            c.iter()
                .enumerate()
                .map(|(i, x)| (x - (c[0] + i as f64 * step)).abs())
                .fold(0.0f64, f64::max)
        };
        let (ours_err, theirs_err) = (spacing_error(&ours), spacing_error(&theirs));
        eprintln!(
            "letters of {run:?} off their places by up to {ours_err:.2} px (plotters: \
             {theirs_err:.2} px); advance of \"l \" {step:.3} px"
        );
        assert!(ours_err < 0.5, "{ours_err}");
    }

    /// The ink centre of each run of inked columns of `buf`.
    fn centroids(buf: &[u8], w: usize, h: usize) -> Vec<f64> {
        let darkness = |x: usize| -> f64 {
            (0..h)
                .map(|y| f64::from(255 - buf[(y * w + x) * 3]))
                .sum::<f64>()
        };
        let mut out = Vec::new();
        let mut col = 0;
        while col < w {
            if darkness(col) > 0.0 {
                let (mut m, mut s) = (0.0, 0.0);
                while col < w && darkness(col) > 0.0 {
                    m += darkness(col) * col as f64;
                    s += darkness(col);
                    col += 1;
                }
                out.push(m / s);
            }
            col += 1;
        }
        out
    }

    #[test]
    fn rotated_text_reads_upwards_from_its_anchor() {
        super::super::ensure_font().unwrap();
        let (w, h) = (100usize, 300usize);
        let mut buf = vec![255u8; w * h * 3];
        let em = 13.9;
        {
            let root =
                BitMapBackend::with_buffer(&mut buf, (w as u32, h as u32)).into_drawing_area();
            let t = Text {
                text: "loss value",
                x: 50.0,
                y: 150.0,
                em_px: em,
                align: Align::Center,
                rotated: true,
                color: BLACK,
            };
            draw(&root, true, &t).unwrap();
            root.present().unwrap();
        }
        let inked: Vec<(usize, usize)> = (0..w * h)
            .filter(|i| buf[i * 3] < 200)
            .map(|i| (i % w, i / w))
            .collect();
        let (xmin, xmax) = (
            inked.iter().map(|p| p.0).min().unwrap(),
            inked.iter().map(|p| p.0).max().unwrap(),
        );
        let (ymin, ymax) = (
            inked.iter().map(|p| p.1).min().unwrap(),
            inked.iter().map(|p| p.1).max().unwrap(),
        );
        // ascenders to the left of the baseline at x = 50, no descender in "loss value"
        assert!(
            xmax <= 51 && xmin as f64 >= 50.0 - 0.8 * em,
            "{xmin}..{xmax}"
        );
        let len = width("loss value", em);
        let mid = (ymin + ymax) as f64 / 2.0;
        assert!((mid - 150.0).abs() < 2.0, "{ymin}..{ymax}");
        assert!(
            ((ymax - ymin) as f64 - len).abs() < 3.0,
            "{ymin}..{ymax} vs {len}"
        );
    }
}
