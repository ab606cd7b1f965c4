//! The static check of the report page (no browser): every `href` is an anchor of the page,
//! nothing is fetched from elsewhere (no script, stylesheet link, font, `@import`, `url(...)`
//! or `src` leaving the file), and every figure the run wrote is inlined, once, and draws
//! something. `cargo xtask check-report` runs it before rendering the page in Chromium.

use std::collections::BTreeSet;
use std::path::Path;

/// What the static check found.
#[derive(Debug, Clone, Default)]
pub struct PageCheck {
    /// One line per problem; empty when the page passes.
    pub problems: Vec<String>,
    /// `id` attributes of the page.
    pub ids: usize,
    /// `href="#..."` links checked.
    pub links: usize,
    /// Inlined figures (`<svg class="figure" data-file=...>`).
    pub figures: usize,
    /// Figure files on disk (`figures/<experiment>/*.svg`).
    pub figure_files: usize,
    /// Small histograms (`<svg class="hist">`).
    pub histograms: usize,
    /// Tapes drawn (`<svg class="tape">`, an experiment's first step).
    pub tapes: usize,
}

/// One start tag: its name (lowercase) and attributes.
struct Tag {
    name: String,
    attrs: Vec<(String, String)>,
    /// Byte offset just past the tag's `>`.
    end: usize,
}

impl Tag {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses the start tag at `html[at..]` (which begins with `<` and a letter).
fn parse_tag(html: &str, at: usize) -> Option<Tag> {
    let b = html.as_bytes();
    let mut i = at + 1;
    let start = i;
    while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' && b[i] != b'/' {
        i += 1;
    }
    let name = html[start..i].to_ascii_lowercase();
    let mut attrs = Vec::new();
    loop {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        if i >= b.len() {
            return None;
        }
        if b[i] == b'>' {
            return Some(Tag {
                name,
                attrs,
                end: i + 1,
            });
        }
        let ns = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' && b[i] != b'>' {
            i += 1;
        }
        let an = html[ns..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let q = b[i];
                let vs = i + 1;
                i = vs;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
                value = html.get(vs..i)?.to_string();
                i += 1;
            } else {
                let vs = i;
                while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                    i += 1;
                }
                value = html[vs..i].to_string();
            }
        }
        attrs.push((an, unescape(&value)));
    }
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Whether a CSS text fetches anything: `@import`, `@font-face`, or a `url(...)` that is not a
/// fragment of the page.
fn css_fetches(css: &str) -> Option<String> {
    let lower = css.to_ascii_lowercase();
    if lower.contains("@import") {
        return Some("@import".into());
    }
    if lower.contains("@font-face") {
        return Some("@font-face".into());
    }
    let mut rest = lower.as_str();
    while let Some(p) = rest.find("url(") {
        let target = rest[p + 4..]
            .trim_start()
            .trim_start_matches(['"', '\''])
            .to_string();
        if !target.starts_with('#') {
            let shown: String = target.chars().take(60).collect();
            return Some(format!("url({shown}"));
        }
        rest = &rest[p + 4..];
    }
    None
}

/// The SVG files of `dir/figures/<experiment>/`, as `experiment/file.svg`.
fn figure_files(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Ok(exps) = std::fs::read_dir(dir.join("figures")) else {
        return out;
    };
    for e in exps.filter_map(|e| e.ok()) {
        let Ok(files) = std::fs::read_dir(e.path()) else {
            continue;
        };
        let exp = e.file_name().to_string_lossy().into_owned();
        for f in files.filter_map(|f| f.ok()) {
            let name = f.file_name().to_string_lossy().into_owned();
            if name.ends_with(".svg") && !name.starts_with('.') {
                out.insert(format!("{exp}/{name}"));
            }
        }
    }
    out
}

const DRAWING: [&str; 7] = [
    "<polyline",
    "<path",
    "<rect",
    "<circle",
    "<line",
    "<polygon",
    "<text",
];

/// Checks the page `html`, whose figures were written under `dir/figures/`.
pub fn check_page(html: &str, dir: &Path) -> PageCheck {
    let mut c = PageCheck::default();
    let mut ids: BTreeSet<String> = BTreeSet::new();
    let mut hrefs: Vec<String> = Vec::new();
    let mut inlined: Vec<String> = Vec::new();
    let b = html.as_bytes();
    let mut i = 0;
    while let Some(p) = html[i..].find('<') {
        let at = i + p;
        if html[at..].starts_with("<!--") {
            i = html[at..].find("-->").map_or(html.len(), |e| at + e + 3);
            continue;
        }
        if !b.get(at + 1).is_some_and(|x| x.is_ascii_alphabetic()) {
            i = at + 1;
            continue;
        }
        let Some(tag) = parse_tag(html, at) else {
            c.problems.push(format!("unterminated tag at byte {at}"));
            break;
        };
        i = tag.end;
        if let Some(id) = tag.attr("id") {
            if !ids.insert(id.to_string()) {
                c.problems.push(format!("duplicate id {id:?}"));
            }
        }
        for (name, value) in &tag.attrs {
            if name == "href" || name == "xlink:href" {
                hrefs.push(value.clone());
            }
            if name == "src" {
                let v = value.trim();
                if v.starts_with("data:") {
                    continue;
                }
                let local = !v.contains("://") && !v.starts_with("//");
                let file = v.split(['#', '?']).next().unwrap_or(v);
                if local && !file.is_empty() && !dir.join(file).exists() {
                    c.problems.push(format!(
                        "<{}> references {v:?}, a file that is absent",
                        tag.name
                    ));
                } else {
                    c.problems.push(format!(
                        "<{}> fetches {v:?}: the page must be self-contained",
                        tag.name
                    ));
                }
            }
            if name == "style" {
                if let Some(f) = css_fetches(value) {
                    c.problems
                        .push(format!("a style attribute fetches something: {f}"));
                }
            }
        }
        match tag.name.as_str() {
            "script" => c.problems.push(format!(
                "<script{}>: the page must hold no script",
                tag.attr("src")
                    .map_or(String::new(), |s| format!(" src={s:?}"))
            )),
            "link" | "iframe" | "object" | "embed" | "base" => c
                .problems
                .push(format!("<{}>: the page must fetch nothing", tag.name)),
            "style" => {
                let end = html[i..].find("</style").map_or(html.len(), |e| i + e);
                if let Some(f) = css_fetches(&html[i..end]) {
                    c.problems
                        .push(format!("the stylesheet fetches something: {f}"));
                }
                i = end;
            }
            "svg" => {
                let class = tag.attr("class").unwrap_or("");
                if class.split_whitespace().any(|k| k == "hist") {
                    c.histograms += 1;
                }
                if class.split_whitespace().any(|k| k == "tape") {
                    c.tapes += 1;
                    let body_end = html[i..].find("</svg>").map_or(html.len(), |e| i + e);
                    if !DRAWING.iter().any(|d| html[i..body_end].contains(d)) {
                        let file = tag.attr("data-file").unwrap_or("?");
                        c.problems.push(format!("the tape {file:?} is drawn empty"));
                    }
                }
                if class.split_whitespace().any(|k| k == "figure") {
                    c.figures += 1;
                    let file = tag.attr("data-file").unwrap_or("").to_string();
                    let body_end = html[i..].find("</svg>").map_or(html.len(), |e| i + e);
                    let body = &html[i..body_end];
                    if !DRAWING.iter().any(|d| body.contains(d)) {
                        c.problems
                            .push(format!("the figure {file:?} is inlined empty"));
                    }
                    if file.is_empty() {
                        c.problems
                            .push("an inlined figure names no data-file".to_string());
                    } else {
                        inlined.push(file);
                    }
                }
            }
            _ => {}
        }
    }
    c.ids = ids.len();
    for h in &hrefs {
        match h.strip_prefix('#') {
            Some(target) if !target.is_empty() => {
                c.links += 1;
                if !ids.contains(target) {
                    c.problems
                        .push(format!("broken link: href=\"#{target}\" names no id"));
                }
            }
            _ => c.problems.push(format!(
                "link {h:?} leaves the page (only #anchors are allowed)"
            )),
        }
    }
    let on_disk = figure_files(dir);
    c.figure_files = on_disk.len();
    for f in &on_disk {
        match inlined.iter().filter(|x| *x == f).count() {
            0 => c
                .problems
                .push(format!("missing figure: figures/{f} is not on the page")),
            1 => {}
            n => c
                .problems
                .push(format!("the figure figures/{f} is inlined {n} times")),
        }
    }
    for f in &inlined {
        if !on_disk.contains(f) {
            c.problems.push(format!(
                "the page shows figures/{f}, a figure file that is absent"
            ));
        }
    }
    c
}
