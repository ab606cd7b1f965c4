//! `cargo xtask readme-images [--from DIR] [--to DIR]`: the README's pictures, drawn by headless
//! Chromium from what `cargo xtask reproduce` wrote (`--from`, default `target/reproduce`):
//!
//! - `report-page.png`: the report page's first screen, 1280 × 900 pixels;
//! - `explained-tape.png`: the first training step of `two-weights` (document 000) drawn as
//!   `tapegrad explain two-weights --svg` draws it (`tapes/two-weights.svg`), whole.
//!
//! Written to `--to` (default `docs/images`), each whole or not at all.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use tapegrad_runner::reproduce::{PAGE, TAPES};

use crate::check_report::{find_or_install_chromium, Cdp};

/// The experiment whose first step the README shows.
const TAPE: &str = "two-weights";

/// The usage line of `--help`.
pub const USAGE: &str = "usage: cargo xtask readme-images [--from DIR] [--to DIR]\n\n\
    Draws the README's pictures with headless Chromium from what `cargo xtask reproduce` wrote:\n  \
    report-page.png     the report page's first screen (1280 x 900)\n  \
    explained-tape.png  two-weights' first training step, as `tapegrad explain --svg` draws it\n\n\
    options:\n  \
    --from DIR  the reproduction's folder (default target/reproduce)\n  \
    --to DIR    where the PNGs go (default docs/images)\n  \
    -h, --help  this message";

/// Runs the task.
pub fn readme_images(root: &Path, args: Vec<String>) -> Result<()> {
    let mut from = root.join("target").join("reproduce");
    let mut to = root.join("docs").join("images");
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value"));
        match a.as_str() {
            "--from" => from = PathBuf::from(value("--from")?),
            "--to" => to = PathBuf::from(value("--to")?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown option `{other}` (known: --from DIR, --to DIR, --help)"),
        }
    }
    let from = std::path::absolute(&from).unwrap_or(from);
    let page = from.join(PAGE);
    let tape = from.join(TAPES).join(format!("{TAPE}.svg"));
    for f in [&page, &tape] {
        if !f.is_file() {
            bail!(
                "{} is missing: run `cargo xtask reproduce` first",
                f.display()
            );
        }
    }
    let (width, height) = svg_size(&tape)?;
    let chromium = find_or_install_chromium()?;
    let log = from.join("chromium.log");
    let shots = [
        (page.as_path(), 1280, 900, "report-page.png"),
        (tape.as_path(), width, height, "explained-tape.png"),
    ];
    for (n, (file, w, h, name)) in shots.into_iter().enumerate() {
        let profile =
            std::env::temp_dir().join(format!("tapegrad-readme-images-{}-{n}", std::process::id()));
        let png = (|| {
            let (mut cdp, sid) = Cdp::open_page(&chromium, file, w, h, &log, &profile)?;
            cdp.capture(&sid, 0, w, u64::from(h))
        })();
        let _ = std::fs::remove_dir_all(&profile);
        let png = png.with_context(|| {
            format!(
                "drawing {} in {} (its stderr: {})",
                file.display(),
                chromium.display(),
                log.display()
            )
        })?;
        let out = to.join(name);
        tapegrad_runner::output::write_atomic(&out, &png)?;
        println!(
            "wrote {} ({w} x {h} px, from {})",
            out.display(),
            file.display()
        );
    }
    Ok(())
}

/// The `width` and `height` of an SVG file's root element, rounded up to whole pixels.
fn svg_size(file: &Path) -> Result<(u32, u32)> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let root = text
        .find("<svg")
        .and_then(|at| text[at..].find('>').map(|end| &text[at..at + end]))
        .with_context(|| format!("{} holds no <svg> element", file.display()))?;
    let attr = |name: &str| -> Result<u32> {
        let key = format!(" {name}=\"");
        let at = root
            .find(&key)
            .with_context(|| format!("{}: the <svg> has no {name}", file.display()))?;
        let rest = &root[at + key.len()..];
        let v: f64 = rest[..rest.find('"').unwrap_or(rest.len())]
            .parse()
            .with_context(|| format!("{}: the <svg>'s {name} is not a number", file.display()))?;
        if !(1.0..=20_000.0).contains(&v) {
            bail!(
                "{}: the <svg>'s {name} {v} is out of 1..20000",
                file.display()
            );
        }
        Ok(v.ceil() as u32)
    };
    Ok((attr("width")?, attr("height")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_svgs_size_is_read_from_its_root_and_bad_ones_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("g.svg");
        std::fs::write(
            &f,
            r#"<?xml version="1.0"?><svg width="753.15" height="660" viewBox="0 0 1 1"><rect width="5"/></svg>"#,
        )
        .unwrap();
        assert_eq!(svg_size(&f).unwrap(), (754, 660));
        std::fs::write(&f, r#"<svg height="660"></svg>"#).unwrap();
        let e = format!("{:#}", svg_size(&f).unwrap_err());
        assert!(e.contains("g.svg") && e.contains("no width"), "{e}");
        std::fs::write(&f, r#"<svg width="0" height="660"></svg>"#).unwrap();
        assert!(format!("{:#}", svg_size(&f).unwrap_err()).contains("out of"));
        std::fs::write(&f, "no picture").unwrap();
        assert!(format!("{:#}", svg_size(&f).unwrap_err()).contains("no <svg>"));
    }

    #[test]
    fn it_asks_for_a_reproduction_first() {
        let dir = tempfile::tempdir().unwrap();
        let e = readme_images(
            dir.path(),
            vec!["--from".into(), dir.path().display().to_string()],
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("run `cargo xtask reproduce` first"));
    }
}
