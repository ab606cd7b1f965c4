//! The report page, `index.html`: one self-contained file (no script, no font, no link leaving
//! the page) opening with the summary, then per document its experiments: the table of
//! documented and reproduced numbers, the distributions of unseeded runs as small histograms
//! with the document's value marked, the figures (inlined SVG) beside the document's own
//! description of them, and the arithmetic of each inconsistency.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::catalogue::{Descriptions, FigureNote, Notes};
use super::judge::{Row, Verdict, UNSEEDED};
use super::report::verdict_word;
use super::{descriptions, entries, Distribution, Report, TapeStep, TAPES};
use crate::{all, output};

/// The page's file name inside the output directory.
pub const PAGE: &str = "index.html";

/// Every verdict, in the order the page's legend shows them.
const VERDICTS: [Verdict; 6] = [
    Verdict::Exact,
    Verdict::InDistribution,
    Verdict::Inconsistent,
    Verdict::Mismatch,
    Verdict::OutsideDistribution,
    Verdict::Missing,
];

/// The CSS class of a verdict (`v-exact`, ...); the stylesheet colours each one.
pub(super) fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Exact => "v-exact",
        Verdict::InDistribution => "v-in-distribution",
        Verdict::Inconsistent => "v-inconsistent",
        Verdict::Mismatch => "v-mismatch",
        Verdict::OutsideDistribution => "v-outside-distribution",
        Verdict::Missing => "v-missing",
    }
}

const STYLE: &str = r#"
:root { color-scheme: light; }
body { margin: 0; background: #fff; color: #1b1b1b;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 15px; line-height: 1.45; }
main { max-width: 1180px; margin: 0 auto; padding: 1.2rem 1.5rem 3rem; }
h1 { font-size: 1.7rem; margin: .4rem 0 .6rem; }
h2 { font-size: 1.35rem; margin: 2.4rem 0 .4rem; padding-top: .6rem; border-top: 3px solid #333; }
h3 { font-size: 1.12rem; margin: 1.8rem 0 .3rem; }
h4 { font-size: 1rem; margin: 1.2rem 0 .3rem; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace; font-size: .88em; }
p.meta { color: #555; margin: .2rem 0; }
table { border-collapse: collapse; width: 100%; font-size: .86rem; margin: .5rem 0 1rem; }
th, td { border-bottom: 1px solid #d8d8d8; padding: .22rem .45rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; border-bottom: 2px solid #bbb; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace;
  font-size: .82rem; overflow-wrap: anywhere; }
td.quantity { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .82rem; white-space: nowrap; }
td.num small { display: block; color: #555; font-size: .74rem; }
td.detail { color: #333; font-size: .8rem; }
td.source { color: #555; font-size: .78rem; white-space: nowrap; }
tr.v-inconsistent td, tr.v-mismatch td, tr.v-outside-distribution td, tr.v-missing td { border-color: #d8d8d8; }
tr.v-exact, tr.v-in-distribution { background: none; }
tr[class^="v-"] { color: inherit; }
.verdict { display: inline-block; white-space: nowrap; font-weight: 600; font-size: .8rem;
  padding: 0 .35rem; border: 1px solid; border-radius: 3px; }
.v-exact { background: #e2f3e5; color: #124d27; border-color: #2e8a4f; }
.v-in-distribution { background: #e3eefb; color: #173a80; border-color: #3d6fc2; }
.v-inconsistent { background: #fff2cc; color: #634500; border-color: #b7860b; }
.v-mismatch, .v-outside-distribution, .v-missing { background: #fde1e1; color: #7a1616; border-color: #c23030; }
.legend span.verdict { margin-right: .4rem; }
ul.summary { padding-left: 1.2rem; }
nav.toc { columns: 2; column-gap: 2rem; font-size: .9rem; margin: .5rem 0 1rem; }
nav.toc ul { margin: 0; padding-left: 1.1rem; }
nav.toc > ul { padding-left: 0; list-style: none; }
svg.hist { display: block; margin-top: .15rem; }
.figure-pair { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 1.2rem;
  align-items: start; margin: 1rem 0 1.6rem; }
.figure-pair svg.figure { width: 100%; height: auto; border: 1px solid #ccc; }
.figure-pair dl { margin: 0; font-size: .88rem; }
.figure-pair dt { font-weight: 600; margin-top: .35rem; }
.figure-pair dd { margin: 0 0 0 .8rem; }
.tape-graph { overflow: auto; border: 1px solid #ccc; max-height: 36rem; }
.tape-graph svg.tape { display: block; }
.explanation { border-left: 4px solid #b7860b; background: #fffaf0; padding: .4rem .8rem; margin: .6rem 0; }
.explanation p { margin: .25rem 0; }
.claims li.inconsistent-claim::marker { color: #b7860b; }
@media print {
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  main { max-width: none; padding: 0; }
  nav.toc { display: none; }
  .figure-pair, .explanation, tr { break-inside: avoid; }
}
"#;

/// Escapes text for HTML element content and attribute values.
pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An anchor name from any text: lowercase letters, digits and single dashes.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

fn doc_anchor(document: &str) -> String {
    format!("doc-{}", slug(document_number(document)))
}

fn exp_anchor(id: &str) -> String {
    format!("exp-{}", slug(id))
}

fn inc_anchor(row: &Row) -> String {
    format!("inc-{}-{}", slug(&row.experiment), slug(&row.quantity))
}

/// `000` of `000_23143503c1934991.txt`.
fn document_number(document: &str) -> &str {
    document.split('_').next().unwrap_or(document)
}

/// A short number for a histogram's axis.
fn short(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let a = x.abs();
    if !(1e-3..1e5).contains(&a) {
        return format!("{x:.2e}");
    }
    let decimals = (3 - a.log10().floor() as i32).clamp(0, 6) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A small histogram of our samples with the document's value marked (inline SVG).
pub(super) fn histogram(d: &Distribution) -> String {
    const W: f64 = 220.0;
    const H: f64 = 30.0;
    const BINS: usize = 24;
    let finite: Vec<f64> = d
        .samples
        .iter()
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    let mut s = String::new();
    if finite.is_empty() {
        let _ = write!(
            s,
            r##"<svg class="hist" role="img" aria-label="no finite samples" width="{W}" height="14" viewBox="0 0 {W} 14"><text x="0" y="11" font-size="10" fill="#555">no finite samples</text></svg>"##
        );
        return s;
    }
    let mut lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let mut hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if d.documented.is_finite() {
        lo = lo.min(d.documented);
        hi = hi.max(d.documented);
    }
    if hi <= lo {
        lo -= 0.5;
        hi += 0.5;
    }
    let mut counts = [0usize; BINS];
    for &x in &finite {
        let b = (((x - lo) / (hi - lo)) * BINS as f64).floor() as usize;
        counts[b.min(BINS - 1)] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let p = super::percentile(&finite, d.documented);
    let label = format!(
        "{} seeds from {} to {}; the document's {} at p{:.1}",
        finite.len(),
        short(lo),
        short(hi),
        short(d.documented),
        p
    );
    let _ = write!(
        s,
        r#"<svg class="hist" role="img" aria-label="{l}" width="{W}" height="{h}" viewBox="0 0 {W} {h}"><title>{l}</title>"#,
        l = esc(&label),
        h = H + 12.0
    );
    let bw = W / BINS as f64;
    for (i, &c) in counts.iter().enumerate() {
        if c == 0 {
            continue;
        }
        let bh = (c as f64 / top * (H - 4.0)).max(1.0);
        let _ = write!(
            s,
            r##"<rect x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}" fill="#8d99a8"/>"##,
            i as f64 * bw + 0.5,
            H - bh,
            (bw - 1.0).max(0.5),
            bh
        );
    }
    let _ = write!(
        s,
        r##"<line x1="0" y1="{H}" x2="{W}" y2="{H}" stroke="#666" stroke-width="1"/>"##
    );
    if d.documented.is_finite() {
        let x = ((d.documented - lo) / (hi - lo) * W).clamp(1.0, W - 1.0);
        let _ = write!(
            s,
            r##"<line x1="{x:.2}" y1="0" x2="{x:.2}" y2="{H}" stroke="#c2410c" stroke-width="2"/><path d="M{a:.2},0 L{b:.2},0 L{x:.2},5 Z" fill="#c2410c"/>"##,
            a = x - 4.0,
            b = x + 4.0
        );
    }
    let _ = write!(
        s,
        r##"<text x="0" y="{y}" font-size="9" fill="#444">{}</text><text x="{W}" y="{y}" font-size="9" fill="#444" text-anchor="end">{}</text><text x="{m}" y="{y}" font-size="9" fill="#c2410c" text-anchor="middle">document p{p:.1}</text></svg>"##,
        esc(&short(lo)),
        esc(&short(hi)),
        y = H + 10.0,
        m = W / 2.0
    );
    s
}

/// One figure file, ready to inline: the prologue dropped, the root `<svg>` tagged with its
/// class and file, every `id` (and what refers to it) prefixed so figures cannot collide.
pub(super) fn inline_svg(text: &str, file: &str, prefix: &str, label: &str) -> Option<String> {
    let start = text.find("<svg")?;
    let body = &text[start..];
    let body = body
        .replace(" id=\"", &format!(" id=\"{prefix}-"))
        .replace("url(#", &format!("url(#{prefix}-"))
        .replace("href=\"#", &format!("href=\"#{prefix}-"));
    let rest = body.strip_prefix("<svg")?;
    Some(format!(
        "<svg class=\"figure\" data-file=\"{}\" role=\"img\" aria-label=\"{}\"{}",
        esc(file),
        esc(label),
        rest.trim_end()
    ))
}

/// An experiment's first training step: its tape drawn (inlined, ids prefixed as a figure's
/// are), and the text of `tapegrad explain` under a disclosure.
fn tape_section(id: &str, step: &TapeStep) -> String {
    let file = format!("{TAPES}/{id}.svg");
    let label = format!("the first training step of {id}, as its tape recorded it");
    let svg = inline_svg(&step.svg, &file, &format!("tape-{}", slug(id)), &label)
        .map(|svg| svg.replacen("<svg class=\"figure\"", "<svg class=\"tape\"", 1));
    let mut s = format!(
        "<h4>The first training step, drawn</h4>\n<p class=\"meta\">Each tensor with its value \
         (<code>data</code>) and the gradient of the loss with respect to it (<code>grad</code>), \
         each op a box; <code>tapegrad explain {id}</code> prints it, <code>--svg FILE</code> \
         draws it.</p>\n"
    );
    if let Some(svg) = svg {
        let _ = writeln!(
            s,
            "<div class=\"tape-graph\" id=\"tape-{}\">{svg}</div>",
            slug(id)
        );
    }
    let _ = writeln!(
        s,
        "<details><summary>Op by op, with each local rule</summary>\n<pre>{}</pre>\n</details>",
        esc(step.text.trim_end())
    );
    s
}

/// Where one experiment's document figure is described, matched by the document image the
/// figure regenerates, or by its file stem against the catalogue's image name.
fn describe(
    figures: &[FigureNote],
    experiment: &str,
    stem: &str,
    document_image: Option<&str>,
) -> Option<usize> {
    let mine = || {
        figures
            .iter()
            .enumerate()
            .filter(move |(_, f)| f.experiment == experiment)
    };
    if let Some(img) = document_image {
        if let Some((i, _)) = mine().find(|(_, f)| f.file_name() == Some(img)) {
            return Some(i);
        }
    }
    mine()
        .find(|(_, f)| {
            f.file_name()
                .and_then(|n| n.rsplit_once('.').map(|(s, _)| s))
                .is_some_and(|s| s == stem)
        })
        .map(|(i, _)| i)
}

fn label_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) => a.iter().map(label_text).collect::<Vec<_>>().join(" / "),
        other => other.to_string(),
    }
}

/// The SVG files of one experiment's folder, sorted.
fn svg_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = read
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "svg")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| !n.starts_with('.'))
        })
        .collect();
    files.sort();
    files
}

/// The page for `report`, with the figures found under `dir/figures/<experiment>/`.
pub fn page(report: &Report, dir: &Path) -> anyhow::Result<String> {
    let (_, notes) = entries()?;
    let desc = descriptions()?;
    render(report, &desc, &notes, dir)
}

/// Writes `dir/index.html` and returns its path.
pub fn write_page(report: &Report, dir: &Path) -> anyhow::Result<PathBuf> {
    let html = page(report, dir)?;
    let path = dir.join(PAGE);
    output::write_atomic(&path, html.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// One experiment's rows and where it belongs.
struct ExpGroup<'a> {
    id: String,
    document: String,
    rows: Vec<&'a Row>,
}

fn titles(desc: &Descriptions, id: &str) -> (Option<String>, Option<String>) {
    match desc.experiments.get(id) {
        Some(e) => match e.title.split_once(" -- ") {
            Some((doc, section)) => (Some(doc.to_string()), Some(section.to_string())),
            None => (Some(e.title.clone()), Some(e.title.clone())),
        },
        None => (None, None),
    }
}

pub(super) fn render(
    report: &Report,
    desc: &Descriptions,
    notes: &Notes,
    dir: &Path,
) -> anyhow::Result<String> {
    // Experiments in the report's order, grouped by document in order of first appearance.
    let mut groups: Vec<ExpGroup> = Vec::new();
    for r in &report.rows {
        match groups.iter_mut().find(|g| g.id == r.experiment) {
            Some(g) => g.rows.push(r),
            None => groups.push(ExpGroup {
                id: r.experiment.clone(),
                document: desc
                    .experiments
                    .get(&r.experiment)
                    .map(|e| e.document.clone())
                    .unwrap_or_else(|| r.source.split(' ').next().unwrap_or("?").to_string()),
                rows: vec![r],
            }),
        }
    }
    let mut documents: Vec<String> = Vec::new();
    for g in &groups {
        if !documents.contains(&g.document) {
            documents.push(g.document.clone());
        }
    }
    let doc_title = |document: &str| -> String {
        groups
            .iter()
            .filter(|g| g.document == document)
            .find(|g| !g.id.starts_with("data-"))
            .or_else(|| groups.iter().find(|g| g.document == document))
            .and_then(|g| titles(desc, &g.id).0)
            .unwrap_or_default()
    };
    let experiments = all();

    let mut s = String::new();
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    s.push_str("<title>tapegrad: reproducing the documents</title>\n<style>");
    s.push_str(STYLE);
    s.push_str("</style>\n</head>\n<body>\n<main>\n");

    // The summary.
    s.push_str("<header id=\"summary\">\n<h1>Reproducing the documents</h1>\n");
    let _ = writeln!(
        s,
        "<p class=\"lead\"><strong>{}.</strong></p>",
        esc(&report.summary_line())
    );
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &report.rows {
        *counts.entry(verdict_class(r.verdict)).or_default() += 1;
    }
    s.push_str("<p class=\"legend\">");
    for v in VERDICTS {
        let n = counts.get(verdict_class(v)).copied().unwrap_or(0);
        if n > 0 || v.ok() {
            let _ = write!(
                s,
                "<span class=\"verdict {}\">{}</span>{n} &nbsp; ",
                verdict_class(v),
                esc(verdict_word(v))
            );
        }
    }
    s.push_str("</p>\n");
    s.push_str(
        "<p><span class=\"verdict v-exact\">exact</span>: the same printed digits (or the stated relative \
         tolerance). <span class=\"verdict v-in-distribution\">in distribution</span>: the document's run was \
         unseeded, and its printed value falls inside the central 99.8% of our runs over many seeds (the \
         percentile is shown, and the histogram of our runs with the document's value marked). \
         <span class=\"verdict v-inconsistent\">inconsistent (explained)</span>: the document contradicts \
         itself; the arithmetic is shown, and the number is counted apart.</p>\n",
    );
    let figure_total: usize = groups
        .iter()
        .map(|g| svg_files(&dir.join("figures").join(&g.id)).len())
        .sum();
    let _ = writeln!(
        s,
        "<p class=\"meta\">{} experiments in {} documents, {} figures. Also written: \
         <code>REPORT.md</code>, <code>report.json</code>, the figures as PNG and SVG under \
         <code>figures/&lt;experiment&gt;/</code>.</p>",
        groups.len(),
        documents.len(),
        figure_total
    );

    // The overview table.
    s.push_str(
        "<table class=\"overview\">\n<thead><tr><th>document</th><th>experiment</th><th class=\"num\">numbers</th>\
         <th class=\"num\">exact</th><th class=\"num\">in distribution</th><th class=\"num\">inconsistent</th>\
         <th class=\"num\">not reproduced</th><th class=\"num\">seeds</th><th class=\"num\">seconds</th></tr></thead>\n<tbody>\n",
    );
    for g in &groups {
        let c = |v: Verdict| g.rows.iter().filter(|r| r.verdict == v).count();
        let bad = g.rows.iter().filter(|r| !r.verdict.ok()).count();
        let bad_cell = if bad > 0 {
            format!("<span class=\"verdict v-mismatch\">{bad} failed</span>")
        } else {
            "0".to_string()
        };
        let _ = writeln!(
            s,
            "<tr><td><a href=\"#{}\">{}</a></td><td><a href=\"#{}\">{}</a></td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            doc_anchor(&g.document),
            esc(document_number(&g.document)),
            exp_anchor(&g.id),
            esc(&g.id),
            g.rows.len(),
            c(Verdict::Exact),
            c(Verdict::InDistribution),
            c(Verdict::Inconsistent),
            bad_cell,
            report
                .seeds
                .get(&g.id)
                .map_or("—".to_string(), |n| n.to_string()),
            report
                .seconds
                .get(&g.id)
                .map_or("—".to_string(), |t| format!("{t:.2}")),
        );
    }
    s.push_str("</tbody>\n</table>\n");

    // Every inconsistency and every failure, linked.
    let flagged: Vec<&Row> = report
        .rows
        .iter()
        .filter(|r| r.verdict != Verdict::Exact && r.verdict != Verdict::InDistribution)
        .collect();
    if !flagged.is_empty() {
        s.push_str("<h4>Where the documents contradict themselves, or we differ</h4>\n<ul class=\"summary\">\n");
        for r in &flagged {
            let target = if r.verdict == Verdict::Inconsistent {
                inc_anchor(r)
            } else {
                exp_anchor(&r.experiment)
            };
            let _ = writeln!(
                s,
                "<li><span class=\"verdict {}\">{}</span> <a href=\"#{}\"><code>{}</code> · <code>{}</code></a>: documented <code>{}</code></li>",
                verdict_class(r.verdict),
                esc(verdict_word(r.verdict)),
                target,
                esc(&r.experiment),
                esc(&r.quantity),
                esc(&r.documented)
            );
        }
        s.push_str("</ul>\n");
    }

    // Contents.
    s.push_str("<nav class=\"toc\" aria-label=\"contents\">\n<ul>\n");
    for d in &documents {
        let _ = write!(
            s,
            "<li><a href=\"#{}\">Document {}</a>: {}\n<ul>\n",
            doc_anchor(d),
            esc(document_number(d)),
            esc(&doc_title(d))
        );
        for g in groups.iter().filter(|g| &g.document == d) {
            let _ = writeln!(
                s,
                "<li><a href=\"#{}\"><code>{}</code></a></li>",
                exp_anchor(&g.id),
                esc(&g.id)
            );
        }
        s.push_str("</ul></li>\n");
    }
    s.push_str("</ul>\n</nav>\n</header>\n");

    // Per document, per experiment.
    let mut figure_index = 0usize;
    for d in &documents {
        let _ = writeln!(
            s,
            "<section class=\"document\" id=\"{}\">\n<h2>Document {}: {}</h2>\n<p class=\"meta\">Seed file <code>{}</code>.</p>",
            doc_anchor(d),
            esc(document_number(d)),
            esc(&doc_title(d)),
            esc(d)
        );
        for g in groups.iter().filter(|g| &g.document == d) {
            let (_, section) = titles(desc, &g.id);
            let _ = writeln!(
                s,
                "<section class=\"experiment\" id=\"{}\">\n<h3><code>{}</code>{}</h3>",
                exp_anchor(&g.id),
                esc(&g.id),
                section.map_or(String::new(), |t| format!(" — {}", esc(&t)))
            );
            if let Some(exp) = experiments.iter().find(|e| e.id() == g.id) {
                let _ = writeln!(
                    s,
                    "<p><strong>How we run it.</strong> {}</p>",
                    esc(exp.description())
                );
            }
            let timing = report.seconds.get(&g.id).map(|t| {
                let seeds = report
                    .seeds
                    .get(&g.id)
                    .map_or(String::new(), |n| format!(", {n} seeds"));
                format!("{t:.2} s{seeds}")
            });
            if let Some(t) = timing {
                let _ = writeln!(s, "<p class=\"meta\">{}</p>", esc(&t));
            }
            if let Some(n) = notes.get(&g.id).filter(|n| !n.is_empty()) {
                s.push_str("<h4>The catalogue's notes</h4>\n<ul>\n");
                for line in n {
                    let _ = writeln!(s, "<li>{}</li>", esc(line));
                }
                s.push_str("</ul>\n");
            }
            let claims: Vec<_> = desc
                .prose_claims
                .iter()
                .filter(|c| c.experiment == g.id)
                .collect();
            if !claims.is_empty() {
                s.push_str("<h4>What the prose claims</h4>\n<ul class=\"claims\">\n");
                for c in claims {
                    let _ = writeln!(
                        s,
                        "<li class=\"{}\">{}“{}” — {}{}</li>",
                        if c.consistent {
                            "consistent-claim"
                        } else {
                            "inconsistent-claim"
                        },
                        c.line.map_or(String::new(), |l| format!("line {l}: ")),
                        esc(&c.text),
                        if c.consistent {
                            "borne out"
                        } else {
                            "<strong>not borne out</strong>"
                        },
                        c.remark
                            .as_deref()
                            .map_or(String::new(), |r| format!(": {}", esc(r)))
                    );
                }
                s.push_str("</ul>\n");
            }

            // The numbers.
            let dists = report.distributions.get(&g.id);
            let has_dist = dists.is_some_and(|m| !m.is_empty());
            s.push_str("<table class=\"numbers\">\n<thead><tr><th>quantity</th><th class=\"num\">documented</th>\
                        <th class=\"num\">reproduced</th><th>verdict</th>");
            if has_dist {
                s.push_str("<th>our runs (document's value marked)</th>");
            }
            s.push_str("<th>how / why</th><th>where</th></tr></thead>\n<tbody>\n");
            for r in &g.rows {
                // `p34.0 of 1000 seeds (median ..., 99.8% in [...])`: the percentile first, the
                // spread below it.
                let reproduced = match r.reproduced.split_once(" seeds (") {
                    Some((head, tail)) if r.reproduced.starts_with('p') => {
                        format!("{} seeds<small>({}</small>", esc(head), esc(tail))
                    }
                    _ => esc(&r.reproduced),
                };
                let _ = write!(
                    s,
                    "<tr class=\"{cls}\"><td class=\"quantity\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                     <td><span class=\"verdict {cls}\">{}</span></td>",
                    esc(&r.quantity),
                    esc(&r.documented),
                    reproduced,
                    esc(verdict_word(r.verdict)),
                    cls = verdict_class(r.verdict)
                );
                if has_dist {
                    s.push_str("<td>");
                    if let Some(dist) = dists.and_then(|m| m.get(&r.quantity)) {
                        s.push_str(&histogram(dist));
                    }
                    s.push_str("</td>");
                }
                let detail = if r.verdict == Verdict::Inconsistent {
                    format!(
                        "the document contradicts itself: <a href=\"#{}\">the arithmetic</a>",
                        inc_anchor(r)
                    )
                } else if r.verdict == Verdict::InDistribution && r.detail == UNSEEDED {
                    "unseeded: placed in our runs".to_string()
                } else {
                    esc(&r.detail)
                };
                // The seed file is the section's; the line is what tells rows apart.
                let line = r
                    .source
                    .strip_prefix(g.document.as_str())
                    .map_or(r.source.as_str(), str::trim);
                let _ = writeln!(
                    s,
                    "<td class=\"detail\">{detail}</td><td class=\"source\" title=\"{}\">{}</td></tr>",
                    esc(&r.source),
                    esc(line)
                );
            }
            s.push_str("</tbody>\n</table>\n");

            // The inconsistencies, with their arithmetic.
            let incs: Vec<&&Row> = g
                .rows
                .iter()
                .filter(|r| r.verdict == Verdict::Inconsistent)
                .collect();
            if !incs.is_empty() {
                s.push_str("<h4>Where the document contradicts itself</h4>\n");
                for r in incs {
                    let _ = writeln!(
                        s,
                        "<div class=\"explanation\" id=\"{}\">\n<p><code>{}</code>: documented <code>{}</code>; ours {} ({}).</p>\n<p>{}</p>\n</div>",
                        inc_anchor(r),
                        esc(&r.quantity),
                        esc(&r.documented),
                        esc(&r.reproduced),
                        esc(&r.source),
                        esc(r
                            .detail
                            .strip_prefix("the document contradicts itself: ")
                            .unwrap_or(&r.detail))
                    );
                }
            }

            // The figures, beside the document's description.
            let fig_dir = dir.join("figures").join(&g.id);
            let infos = report.figures.get(&g.id);
            // In the order the run drew them (the document's order), then any others by name.
            let mut files = svg_files(&fig_dir);
            files.sort_by_key(|f| {
                let stem = f.file_stem().and_then(|n| n.to_str()).unwrap_or("");
                infos
                    .and_then(|v| v.iter().position(|i| i.name == stem))
                    .unwrap_or(usize::MAX)
            });
            let mut described: Vec<usize> = Vec::new();
            if !files.is_empty() {
                s.push_str("<h4>Figures</h4>\n");
            }
            for f in &files {
                let stem = f.file_stem().and_then(|n| n.to_str()).unwrap_or("?");
                let file_name = f.file_name().and_then(|n| n.to_str()).unwrap_or("?");
                let rel = format!("{}/{}", g.id, file_name);
                let text = std::fs::read_to_string(f)
                    .with_context(|| format!("reading the figure {}", f.display()))?;
                let info = infos.and_then(|v| v.iter().find(|i| i.name == stem));
                let note = describe(
                    &desc.figures,
                    &g.id,
                    stem,
                    info.and_then(|i| i.document_image.as_deref()),
                );
                described.extend(note);
                let note = note.map(|i| &desc.figures[i]);
                figure_index += 1;
                let label = info
                    .map(|i| i.title.clone())
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| stem.to_string());
                let svg = inline_svg(&text, &rel, &format!("f{figure_index}"), &label)
                    .with_context(|| format!("{} holds no <svg> element", f.display()))?;
                let _ = writeln!(
                    s,
                    "<div class=\"figure-pair\" id=\"fig-{}-{}\">\n<div>{svg}</div>\n<dl>",
                    slug(&g.id),
                    slug(stem)
                );
                let _ = writeln!(
                    s,
                    "<dt>Ours</dt><dd><code>{}</code>{}</dd>",
                    esc(&rel),
                    info.filter(|i| !i.title.is_empty())
                        .map_or(String::new(), |i| format!(": “{}”", esc(&i.title)))
                );
                match note {
                    Some(n) => {
                        let _ = writeln!(
                            s,
                            "<dt>The document's figure</dt><dd><code>{}</code>{}</dd>",
                            esc(n.image.as_deref().or(n.saved_as.as_deref()).unwrap_or("?")),
                            n.line
                                .map_or(String::new(), |l| format!(", plotted at line {l}"))
                        );
                        let field = |s: &mut String, name: &str, v: Option<String>| {
                            if let Some(v) = v.filter(|v| !v.is_empty()) {
                                let _ = writeln!(s, "<dt>{name}</dt><dd>{}</dd>", esc(&v));
                            }
                        };
                        field(&mut s, "What it plots", n.plots.clone());
                        field(&mut s, "Title", n.title.clone());
                        field(&mut s, "x label", n.xlabel.as_ref().map(label_text));
                        field(&mut s, "y label", n.ylabel.as_ref().map(label_text));
                        field(&mut s, "Legend", n.legend.as_ref().map(|l| l.join(", ")));
                        field(&mut s, "Note", n.note.clone());
                    }
                    None => {
                        let _ = writeln!(
                            s,
                            "<dt>The document's figure</dt><dd>not described in the catalogue{}</dd>",
                            info.and_then(|i| i.document_image.as_deref())
                                .map_or(String::new(), |d| format!(" (regenerates <code>{}</code>)", esc(d)))
                        );
                    }
                }
                s.push_str("</dl>\n</div>\n");
            }
            let missing: Vec<&FigureNote> = desc
                .figures
                .iter()
                .enumerate()
                .filter(|(i, f)| f.experiment == g.id && !described.contains(i))
                .map(|(_, f)| f)
                .collect();
            if !missing.is_empty() {
                s.push_str(
                    "<p class=\"meta\">The document's figures not regenerated here:</p>\n<ul>\n",
                );
                for n in missing {
                    let _ = writeln!(
                        s,
                        "<li><code>{}</code>{}: {}</li>",
                        esc(n.file_name().unwrap_or("?")),
                        n.line.map_or(String::new(), |l| format!(" (line {l})")),
                        esc(n.plots.as_deref().unwrap_or(""))
                    );
                }
                s.push_str("</ul>\n");
            }
            if let Some(step) = report.tapes.get(&g.id) {
                s.push_str(&tape_section(&g.id, step));
            }
            s.push_str("</section>\n");
        }
        s.push_str("</section>\n");
    }
    s.push_str("<p class=\"meta\"><a href=\"#summary\">Back to the summary</a></p>\n</main>\n</body>\n</html>\n");
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reproduce::catalogue::{ExperimentNote, ProseClaim};
    use crate::reproduce::{check_page, FigureInfo};
    use std::collections::BTreeSet;

    const SVG: &str = r##"<?xml version="1.0" encoding="UTF-8"?>
<svg width="640" height="480" viewBox="0 0 640 480" xmlns="http://www.w3.org/2000/svg">
<defs><clipPath id="clip0"><rect x="0" y="0" width="10" height="10"/></clipPath></defs>
<polyline clip-path="url(#clip0)" fill="none" stroke="#000" points="0,0 5,5"/>
<text x="1" y="1">x &lt; y</text>
</svg>
"##;

    fn row(exp: &str, doc: &str, q: &str, v: Verdict, detail: &str) -> Row {
        Row {
            experiment: exp.into(),
            quantity: q.into(),
            documented: "1.5".into(),
            reproduced: "1.5".into(),
            verdict: v,
            detail: detail.into(),
            source: format!("{doc} line 3"),
        }
    }

    /// Two documents, three experiments, every verdict, one distribution, two figures that
    /// share an id, and `<` in the texts.
    fn fixture(dir: &Path) -> (Report, Descriptions, Notes) {
        let d0 = "000_aaaa.txt";
        let d1 = "001_bbbb.txt";
        let rows = vec![
            row(
                "alpha",
                d0,
                "final_a",
                Verdict::Exact,
                "same printed digits",
            ),
            row("alpha", d0, "loss[0]", Verdict::InDistribution, "unseeded"),
            row(
                "alpha",
                d0,
                "loss[1]",
                Verdict::Inconsistent,
                "the document contradicts itself: a < b since 2 * 3 = 6",
            ),
            row("beta", d0, "w", Verdict::Mismatch, "relative 1e-6"),
            row("gamma", d1, "b", Verdict::OutsideDistribution, "p99.99"),
            row(
                "gamma",
                d1,
                "c",
                Verdict::Missing,
                "our run does not produce this",
            ),
        ];
        let mut distributions = BTreeMap::new();
        let mut m = BTreeMap::new();
        m.insert(
            "loss[0]".to_string(),
            Distribution {
                samples: (0..100).map(|i| i as f64 / 10.0).collect(),
                documented: 4.2,
            },
        );
        distributions.insert("alpha".to_string(), m);
        let mut figures = BTreeMap::new();
        figures.insert(
            "alpha".to_string(),
            vec![
                FigureInfo {
                    name: "second".into(),
                    title: "Second <figure>".into(),
                    document_image: Some("img_2.png".into()),
                },
                FigureInfo {
                    name: "first".into(),
                    title: "First".into(),
                    document_image: Some("img_1.png".into()),
                },
            ],
        );
        let report = Report {
            rows,
            reproduced: 2,
            compared: 5,
            inconsistent: 1,
            seeds: BTreeMap::from([("alpha".to_string(), 100)]),
            seconds: BTreeMap::new(),
            figures,
            distributions,
            tapes: BTreeMap::from([("alpha".to_string(), tape_step())]),
            traced: Vec::new(),
        };
        let fig_dir = dir.join("figures").join("alpha");
        std::fs::create_dir_all(&fig_dir).unwrap();
        std::fs::write(fig_dir.join("first.svg"), SVG).unwrap();
        std::fs::write(fig_dir.join("second.svg"), SVG).unwrap();
        std::fs::write(fig_dir.join("first.png"), b"not inlined").unwrap();
        let note = |img: &str, plots: &str| FigureNote {
            experiment: "alpha".into(),
            document: d0.into(),
            image: Some(format!("/assets/{img}")),
            saved_as: None,
            line: Some(7),
            plots: Some(plots.into()),
            title: Some("a title".into()),
            xlabel: Some(serde_json::json!(["w", "b"])),
            ylabel: None,
            legend: Some(vec!["Real Data".into()]),
            note: None,
        };
        let exp = |doc: &str, title: &str| ExperimentNote {
            document: doc.into(),
            title: title.into(),
        };
        let desc = Descriptions {
            experiments: BTreeMap::from([
                ("alpha".to_string(), exp(d0, "Doc zero -- Section alpha")),
                ("beta".to_string(), exp(d0, "Doc zero -- Section beta")),
                ("gamma".to_string(), exp(d1, "Doc one")),
            ]),
            figures: vec![
                note("img_1.png", "plt.plot(x) where x < 3"),
                note("img_2.png", "the second"),
                note("img_3.png", "never regenerated"),
            ],
            prose_claims: vec![ProseClaim {
                experiment: "alpha".into(),
                line: Some(9),
                text: "close to <zero>".into(),
                consistent: false,
                remark: Some("it is 1.4".into()),
            }],
        };
        let notes = Notes::from([("alpha".to_string(), vec!["a note & more".to_string()])]);
        (report, desc, notes)
    }

    /// A step of `w * x` with w = 3, x = 2, explained as `reproduce` explains a run's.
    fn tape_step() -> TapeStep {
        use tapegrad_autodiff::{GradientTape, Tensor, Variable};
        let w = Variable::new(3.0f32).with_name("w");
        let x = Tensor::scalar(2.0f32);
        let tape = GradientTape::new();
        let y = (&w * &x).unwrap();
        let e = tape.explain(&y, &[&w]).unwrap();
        TapeStep {
            text: crate::explain::render("alpha", &e),
            svg: crate::explain::svg(&e),
        }
    }

    #[test]
    fn the_first_step_is_drawn_and_explained_where_the_run_has_one() {
        let dir = tempfile::tempdir().unwrap();
        let html = page_of(dir.path());
        // alpha has a tape, beta and gamma do not
        assert_eq!(html.matches("<svg class=\"tape\"").count(), 1);
        assert_eq!(html.matches("<details>").count(), 1);
        let alpha = html.find("id=\"exp-alpha\"").unwrap();
        let beta = html.find("id=\"exp-beta\"").unwrap();
        let tape = html.find("<svg class=\"tape\"").unwrap();
        assert!(
            alpha < tape && tape < beta,
            "the tape is in alpha's section"
        );
        assert!(html.contains("data-file=\"tapes/alpha.svg\""));
        // the graph's values and gradient, and the text op by op
        let graph = &html[tape..tape + html[tape..].find("</svg>").unwrap()];
        for needle in ["ReadVariable(w)", "Mul", "data 3.0", "grad 2.0", "data 6.0"] {
            assert!(graph.contains(needle), "{needle} is not in the graph");
        }
        assert!(html.contains("backward pass"));
        // its marker ids are prefixed, so two graphs cannot collide
        assert!(graph.contains("id=\"tape-alpha-endarrow\""));
        assert!(!graph.contains("url(#endarrow)"));
        let check = check_page(&html, dir.path());
        assert_eq!(check.tapes, 1);
        assert!(check.problems.is_empty(), "{:?}", check.problems);
    }

    #[test]
    fn a_tape_drawn_empty_is_a_problem() {
        let dir = tempfile::tempdir().unwrap();
        let html = page_of(dir.path());
        let at = html.find("<svg class=\"tape\"").unwrap();
        let end = at + html[at..].find("</svg>").unwrap();
        let open = at + html[at..].find('>').unwrap() + 1;
        let emptied = format!("{}{}", &html[..open], &html[end..]);
        let check = check_page(&emptied, dir.path());
        assert!(
            check
                .problems
                .iter()
                .any(|p| p.contains("tapes/alpha.svg") && p.contains("empty")),
            "{:?}",
            check.problems
        );
    }

    fn page_of(dir: &Path) -> String {
        let (report, desc, notes) = fixture(dir);
        render(&report, &desc, &notes, dir).unwrap()
    }

    #[test]
    fn the_page_is_self_contained() {
        let dir = tempfile::tempdir().unwrap();
        let html = page_of(dir.path());
        let lower = html.to_ascii_lowercase();
        for bad in [
            "src=\"http",
            "src='http",
            "<script",
            "@import",
            "url(http",
            "@font-face",
            "<link",
            "<img",
        ] {
            assert!(!lower.contains(bad), "the page contains {bad:?}");
        }
        assert!(lower.starts_with("<!doctype html>"));
        assert!(html.contains("<meta charset=\"utf-8\">"));
        // Figures keep their SVG namespace (an http URL as a name, not a fetch) and nothing else.
        for (at, _) in lower.match_indices("http") {
            let before = &lower[at.saturating_sub(7)..at];
            assert_eq!(
                before, "xmlns=\"",
                "an http reference that is not a namespace"
            );
        }
    }

    #[test]
    fn one_section_per_document_and_per_experiment() {
        let dir = tempfile::tempdir().unwrap();
        let html = page_of(dir.path());
        assert_eq!(html.matches("<section class=\"document\"").count(), 2);
        assert_eq!(html.matches("<section class=\"experiment\"").count(), 3);
        for id in ["doc-000", "doc-001", "exp-alpha", "exp-beta", "exp-gamma"] {
            assert_eq!(html.matches(&format!(" id=\"{id}\"")).count(), 1, "{id}");
            assert!(html.contains(&format!("href=\"#{id}\"")), "no link to {id}");
        }
        // Document 000 holds alpha and beta, in that order, before document 001 and gamma.
        let pos = |s: &str| html.find(s).unwrap();
        assert!(pos("id=\"doc-000\"") < pos("id=\"exp-alpha\""));
        assert!(pos("id=\"exp-alpha\"") < pos("id=\"exp-beta\""));
        assert!(pos("id=\"exp-beta\"") < pos("id=\"doc-001\""));
        assert!(pos("id=\"doc-001\"") < pos("id=\"exp-gamma\""));
        // The summary comes first.
        assert!(pos("id=\"summary\"") < pos("id=\"doc-000\""));
        assert!(html.contains("Doc zero") && html.contains("Section beta"));
    }

    #[test]
    fn every_figure_the_run_wrote_is_inlined_beside_its_description() {
        let dir = tempfile::tempdir().unwrap();
        let html = page_of(dir.path());
        assert_eq!(html.matches("<svg class=\"figure\"").count(), 2);
        assert!(html.contains("data-file=\"alpha/first.svg\""));
        assert!(html.contains("data-file=\"alpha/second.svg\""));
        assert!(!html.contains("<?xml"), "the XML prologue is inlined");
        // In the run's order (second, then first), each with its document's description.
        let first = html.find("data-file=\"alpha/first.svg\"").unwrap();
        let second = html.find("data-file=\"alpha/second.svg\"").unwrap();
        assert!(second < first);
        assert!(html[first..].contains("plt.plot(x) where x &lt; 3"));
        assert!(html[second..first].contains("the second"));
        assert!(html.contains("/assets/img_1.png") && html.contains("w / b"));
        // The figure the document shows but the run did not draw is listed.
        assert!(html.contains("img_3.png") && html.contains("never regenerated"));
        // Ids are prefixed per figure, and what refers to them follows.
        assert!(html.contains("id=\"f1-clip0\"") && html.contains("url(#f1-clip0)"));
        assert!(html.contains("id=\"f2-clip0\"") && html.contains("url(#f2-clip0)"));
        let check = check_page(&html, dir.path());
        assert!(check.problems.is_empty(), "{:?}", check.problems);
        assert_eq!((check.figures, check.figure_files), (2, 2));
    }

    #[test]
    fn every_verdict_has_its_css_class_and_word() {
        let dir = tempfile::tempdir().unwrap();
        let html = page_of(dir.path());
        let mut classes = BTreeSet::new();
        for v in VERDICTS {
            let class = verdict_class(v);
            assert!(classes.insert(class), "{class} shared");
            assert!(STYLE.contains(&format!(".{class} ")) || STYLE.contains(&format!(".{class},")));
            let badge = format!(
                "<span class=\"verdict {class}\">{}</span>",
                esc(verdict_word(v))
            );
            assert!(html.contains(&badge), "no {badge}");
            assert!(html.contains(&format!("<tr class=\"{class}\">")));
        }
    }

    #[test]
    fn histograms_mark_the_documents_value() {
        let dir = tempfile::tempdir().unwrap();
        let html = page_of(dir.path());
        assert_eq!(html.matches("<svg class=\"hist\"").count(), 1);
        let d = Distribution {
            samples: (0..100).map(|i| i as f64 / 10.0).collect(),
            documented: 4.2,
        };
        let h = histogram(&d);
        // 4.2 is one of the samples: ties count half.
        assert!(h.contains("the document&#39;s 4.2 at p42.5"), "{h}");
        assert_eq!(h.matches("<rect").count(), 24);
        // The marker stands at 4.2 of [0, 9.9] across 220 px.
        assert!(
            h.contains(&format!("x1=\"{:.2}\"", 4.2 / 9.9 * 220.0)),
            "{h}"
        );
        let far = histogram(&Distribution {
            samples: vec![1.0, 1.0, f64::NAN],
            documented: 3.0,
        });
        assert!(far.contains("x1=\"219.00\""), "{far}");
        let none = histogram(&Distribution {
            samples: vec![f64::NAN],
            documented: 3.0,
        });
        assert!(none.contains("no finite samples"));
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("a < b & \"c\" > 'd'"),
            "a &lt; b &amp; &quot;c&quot; &gt; &#39;d&#39;"
        );
        let dir = tempfile::tempdir().unwrap();
        let html = page_of(dir.path());
        for raw in ["a < b", "x < 3", "<zero>", "<figure>", "a note & more"] {
            assert!(!html.contains(raw), "{raw:?} unescaped");
        }
        for escaped in [
            "a &lt; b since 2 * 3 = 6",
            "x &lt; 3",
            "&lt;zero&gt;",
            "Second &lt;figure&gt;",
            "a note &amp; more",
        ] {
            assert!(html.contains(escaped), "{escaped:?} missing");
        }
    }

    #[test]
    fn inconsistencies_carry_their_arithmetic_under_an_anchor() {
        let dir = tempfile::tempdir().unwrap();
        let html = page_of(dir.path());
        let at = html.find("id=\"inc-alpha-loss-1\"").unwrap();
        assert!(html[at..].contains("a &lt; b since 2 * 3 = 6"));
        assert!(html.matches("href=\"#inc-alpha-loss-1\"").count() >= 2);
    }

    #[test]
    fn the_static_check_finds_each_failure() {
        let dir = tempfile::tempdir().unwrap();
        let html = page_of(dir.path());
        let problems = |h: &str| check_page(h, dir.path()).problems;
        let broken = html.replacen("href=\"#exp-beta\"", "href=\"#exp-nowhere\"", 1);
        assert!(problems(&broken).iter().any(|p| p.contains("#exp-nowhere")));
        let external = html.replacen("href=\"#exp-beta\"", "href=\"https://example.com\"", 1);
        assert!(problems(&external)
            .iter()
            .any(|p| p.contains("leaves the page")));
        let script = html.replacen("</main>", "<script src=\"x.js\"></script></main>", 1);
        assert!(problems(&script).iter().any(|p| p.contains("script")));
        let import = html.replacen("<style>", "<style>@import url(a.css);", 1);
        assert!(problems(&import).iter().any(|p| p.contains("@import")));
        let img = html.replacen("</main>", "<img src=\"figures/alpha/gone.png\"></main>", 1);
        assert!(problems(&img).iter().any(|p| p.contains("absent")));
        // A figure written after the page was made is missing from it.
        std::fs::write(dir.path().join("figures/alpha/third.svg"), SVG).unwrap();
        assert!(problems(&html)
            .iter()
            .any(|p| p.contains("missing figure: figures/alpha/third.svg")));
        std::fs::remove_file(dir.path().join("figures/alpha/third.svg")).unwrap();
        // A figure on the page whose file is gone.
        std::fs::remove_file(dir.path().join("figures/alpha/first.svg")).unwrap();
        assert!(problems(&html)
            .iter()
            .any(|p| p.contains("figures/alpha/first.svg, a figure file that is absent")));
        // An inlined figure that draws nothing.
        let empty = html.replacen(
            "data-file=\"alpha/second.svg\"",
            "data-file=\"alpha/second.svg\"></svg><svg",
            1,
        );
        assert!(check_page(&empty, dir.path())
            .problems
            .iter()
            .any(|p| p.contains("inlined empty")));
    }
}
