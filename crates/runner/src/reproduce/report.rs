//! The report: the terminal table, REPORT.md and report.json (and the page, `html.rs`).

use std::fmt::Write as _;
use std::path::Path;

use super::judge::Verdict;
use super::{entries, Report};
use crate::{all, output};

/// How [`table`] lays the table out: the width to fit, and whether to colour the verdicts.
///
/// The default is no width and no colour: every cell whole on one line, no escape codes (what a
/// file or a pipe gets).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableStyle {
    /// The width, in terminal columns, to fit by wrapping cells; `None`: every cell on one line.
    pub width: Option<usize>,
    /// Colour each verdict with ANSI escape codes (green, yellow, bold red).
    pub color: bool,
}

impl TableStyle {
    /// The style for standard output: its terminal's width (or `COLUMNS`), and colour when it is
    /// a terminal, as [`TableStyle::from_env`] decides with the process's environment.
    pub fn for_stdout() -> Self {
        let term = console::Term::stdout();
        let is_term = term.is_term();
        let columns = if is_term {
            term.size_checked().map(|(_, cols)| usize::from(cols))
        } else {
            None
        };
        Self::from_env(is_term, columns, |name| std::env::var(name).ok())
    }

    /// The style for an output that `is_terminal` (with `terminal_columns` when known), given the
    /// environment variables `var` reads:
    ///
    /// - width: `COLUMNS` when it is a positive number, else the terminal's columns, else none;
    /// - colour: never when `NO_COLOR` is set and not empty; always when `CLICOLOR_FORCE` is set
    ///   and not `0`, or `FORCE_COLOR` is set and not empty, `0` or `false`; otherwise when the
    ///   output is a terminal, `TERM` is not `dumb` and `CLICOLOR` is not `0`.
    pub fn from_env(
        is_terminal: bool,
        terminal_columns: Option<usize>,
        var: impl Fn(&str) -> Option<String>,
    ) -> Self {
        let width = var("COLUMNS")
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|&c| c > 0)
            .or(terminal_columns.filter(|&c| c > 0));
        let set = |name: &str| var(name).filter(|v| !v.is_empty());
        let color = if set("NO_COLOR").is_some() {
            false
        } else if set("CLICOLOR_FORCE").is_some_and(|v| v != "0")
            || set("FORCE_COLOR").is_some_and(|v| v != "0" && v != "false")
        {
            true
        } else {
            is_terminal
                && var("TERM").is_none_or(|t| t != "dumb")
                && var("CLICOLOR").is_none_or(|c| c != "0")
        };
        TableStyle { width, color }
    }
}

/// The table's header.
const HEADER: [&str; COLUMNS] = [
    "experiment",
    "quantity",
    "documented",
    "reproduced",
    "verdict",
];
const COLUMNS: usize = 5;
/// Columns of the experiment and the verdict, which keep their natural width when they can.
const FIXED: [usize; 2] = [0, 4];
/// Quantity, documented and reproduced: they share what is left.
const SHARED: [usize; 3] = [1, 2, 3];
/// Between two columns.
const GAP: &str = "  ";
/// No column is made narrower than this (or than its widest cell, when that is narrower).
const MIN_WIDTH: usize = 12;
/// The experiment and verdict columns keep their natural width only while quantity, documented
/// and reproduced keep at least this (or their widest cell); below, they shrink first.
const SHARED_WIDTH: usize = 20;

/// The table printed on the terminal: one row per documented number, with its experiment,
/// quantity, the document's text, ours and the verdict.
///
/// With a `style.width`, cells wrap at spaces to fit it, and a word longer than its column is
/// broken across lines (after `_`, `-`, `/`, `,` or `;`, or before `[` or `(`, when one is past
/// the first third of the line); no text is ever dropped. The experiment and verdict columns keep their
/// natural width while the other three can have 20 columns each (or their widest cell), and
/// those three share the rest in proportion to their natural widths; on a narrower width the
/// experiment and verdict shrink first, then the others, no column below 12 (or its widest
/// cell): when even that does not fit, the table is wider than asked. Without a width, every
/// cell is whole on one line. With `style.color`, each verdict is coloured (green when
/// reproduced, yellow when explained, bold red otherwise), the padding counted on the visible
/// text.
///
/// ```
/// use std::collections::BTreeMap;
/// use tapegrad_runner::reproduce::{table, Report, Row, TableStyle, Verdict};
///
/// let row = Row {
///     experiment: "two-weights".into(),
///     quantity: "a".into(),
///     documented: "4.9999723 after 15000 iterations of SGD".into(),
///     reproduced: "4.9999723 after 15000 iterations of SGD".into(),
///     verdict: Verdict::Exact,
///     detail: String::new(),
///     source: String::new(),
/// };
/// let report = Report {
///     rows: vec![row],
///     reproduced: 1,
///     compared: 1,
///     inconsistent: 0,
///     seeds: BTreeMap::new(),
///     seconds: BTreeMap::new(),
///     figures: BTreeMap::new(),
///     distributions: BTreeMap::new(),
///     tapes: BTreeMap::new(),
///     traced: Vec::new(),
/// };
/// let narrow = table(&report, &TableStyle { width: Some(60), color: false });
/// assert!(narrow.lines().all(|line| line.chars().count() <= 60));
/// assert!(narrow.contains("15000"));
/// assert_eq!(narrow.lines().count(), 1 + 4); // the header, then the row on four lines
///
/// let whole = table(&report, &TableStyle::default());
/// assert_eq!(whole.lines().count(), 2);
/// assert!(whole.contains("4.9999723 after 15000 iterations of SGD"));
/// ```
pub fn table(report: &Report, style: &TableStyle) -> String {
    let rows: Vec<[&str; COLUMNS]> = report
        .rows
        .iter()
        .map(|r| {
            [
                r.experiment.as_str(),
                r.quantity.as_str(),
                r.documented.as_str(),
                r.reproduced.as_str(),
                verdict_word(r.verdict),
            ]
        })
        .collect();
    let mut natural = HEADER.map(text_width);
    for row in &rows {
        for (n, cell) in natural.iter_mut().zip(row) {
            *n = (*n).max(text_width(cell));
        }
    }
    let widths = match style.width {
        Some(w) => column_widths(natural, w),
        None => natural,
    };
    let mut s = String::new();
    push_row(&mut s, &HEADER, &widths, style.width.is_some(), None);
    for (row, r) in rows.iter().zip(&report.rows) {
        let color = style.color.then_some(verdict_color(r.verdict));
        push_row(&mut s, row, &widths, style.width.is_some(), color);
    }
    s
}

/// The ANSI escape code that starts a verdict's colour.
fn verdict_color(v: Verdict) -> &'static str {
    match v {
        Verdict::Exact | Verdict::InDistribution => GREEN,
        Verdict::Inconsistent => YELLOW,
        Verdict::Mismatch | Verdict::OutsideDistribution | Verdict::Missing => BOLD_RED,
    }
}

const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const BOLD_RED: &str = "\x1b[1;31m";
const RESET: &str = "\x1b[0m";

/// Appends one row of the table, on as many lines as its tallest cell, the verdict (the last
/// cell) in `color` when given; no trailing spaces.
fn push_row(
    s: &mut String,
    cells: &[&str; COLUMNS],
    widths: &[usize; COLUMNS],
    wrapped: bool,
    color: Option<&str>,
) {
    let lines: Vec<Vec<String>> = cells
        .iter()
        .zip(widths)
        .map(|(cell, &w)| {
            if wrapped {
                wrap(cell, w)
            } else {
                vec![cell.to_string()]
            }
        })
        .collect();
    let height = lines.iter().map(Vec::len).max().unwrap_or(1);
    for i in 0..height {
        let mut line = String::new();
        for (c, (cell, &w)) in lines.iter().zip(widths).enumerate() {
            let text = cell.get(i).map_or("", String::as_str);
            if c > 0 {
                line.push_str(GAP);
            }
            match color {
                Some(code) if c == COLUMNS - 1 && !text.is_empty() => {
                    let _ = write!(line, "{code}{text}{RESET}");
                }
                _ => line.push_str(text),
            }
            if c < COLUMNS - 1 {
                let pad = w.saturating_sub(text_width(text));
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        s.push_str(line.trim_end_matches(' '));
        s.push('\n');
    }
}

/// The width of `text` in terminal columns.
fn text_width(text: &str) -> usize {
    console::measure_text_width(text)
}

/// The columns' widths for a table of `natural` widths to fit in `width` (see [`table`]).
fn column_widths(natural: [usize; COLUMNS], width: usize) -> [usize; COLUMNS] {
    let room = width.saturating_sub(GAP.len() * (COLUMNS - 1));
    if natural.iter().sum::<usize>() <= room {
        return natural;
    }
    let min = natural.map(|n| n.min(MIN_WIDTH));
    let roomy = natural.map(|n| n.min(SHARED_WIDTH));
    let sum = |w: &[usize; COLUMNS], cols: &[usize]| cols.iter().map(|&c| w[c]).sum::<usize>();
    let mut widths = min;
    if sum(&natural, &FIXED) + sum(&roomy, &SHARED) <= room {
        for &c in &FIXED {
            widths[c] = natural[c];
        }
        let left = room - sum(&natural, &FIXED);
        share(&mut widths, &natural, &roomy, &SHARED, left);
    } else if sum(&min, &FIXED) + sum(&roomy, &SHARED) <= room {
        for &c in &SHARED {
            widths[c] = roomy[c];
        }
        let left = room - sum(&roomy, &SHARED);
        share(&mut widths, &natural, &min, &FIXED, left);
    } else {
        let left = room.saturating_sub(sum(&min, &FIXED));
        share(&mut widths, &natural, &min, &SHARED, left);
    }
    widths
}

/// Shares `room` columns among the columns `cols` of `widths` in proportion to their `natural`
/// widths, none narrower than its `min` nor wider than its natural width (the rounding's
/// leftovers go to the largest fractions, the first of equal ones).
fn share(
    widths: &mut [usize; COLUMNS],
    natural: &[usize; COLUMNS],
    min: &[usize; COLUMNS],
    cols: &[usize],
    room: usize,
) {
    let mut free = cols.to_vec();
    let mut room = room;
    loop {
        let total: usize = free.iter().map(|&c| natural[c]).sum();
        if total <= room {
            for &c in &free {
                widths[c] = natural[c];
            }
            return;
        }
        // A column whose share is below its minimum takes the minimum, and the others share
        // what is left.
        match free
            .iter()
            .position(|&c| room * natural[c] < min[c] * total)
        {
            Some(i) => {
                let c = free.remove(i);
                widths[c] = min[c];
                room = room.saturating_sub(min[c]);
            }
            None => {
                let mut given = 0;
                for &c in &free {
                    widths[c] = room * natural[c] / total;
                    given += widths[c];
                }
                let mut by_fraction = free.clone();
                by_fraction.sort_by_key(|&c| std::cmp::Reverse(room * natural[c] % total));
                for &c in by_fraction.iter().take(room - given) {
                    widths[c] += 1;
                }
                return;
            }
        }
    }
}

/// `text` on lines of at most `width` columns, broken at spaces, a word longer than `width`
/// broken where the line is full (or a little before, at a [`break_after`] or [`break_before`]
/// character); every word kept, in order (runs of spaces become one).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for word in text.split_whitespace() {
        let w = text_width(word);
        if !line.is_empty() && used + 1 + w <= width {
            line.push(' ');
            line.push_str(word);
            used += 1 + w;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        let mut rest: Vec<char> = word.chars().collect();
        loop {
            // The longest start of `rest` that fits (at least one character).
            let (mut fit, mut fit_width) = (0, 0);
            while let Some(&ch) = rest.get(fit) {
                let cw = char_width(ch);
                if fit > 0 && fit_width + cw > width {
                    break;
                }
                fit += 1;
                fit_width += cw;
            }
            if fit == rest.len() {
                line = rest.into_iter().collect();
                used = fit_width;
                break;
            }
            let cut = ((fit / 3).max(1)..=fit)
                .rev()
                .find(|&i| break_after(rest[i - 1]) || break_before(rest[i]))
                .unwrap_or(fit);
            lines.push(rest.drain(..cut).collect());
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// A character after which a word too long for its column is best broken.
fn break_after(ch: char) -> bool {
    matches!(ch, '_' | '-' | '/' | ',' | ';')
}

/// A character before which a word too long for its column is best broken.
fn break_before(ch: char) -> bool {
    matches!(ch, '[' | '(')
}

/// The width of `ch` in terminal columns.
fn char_width(ch: char) -> usize {
    text_width(ch.encode_utf8(&mut [0; 4]))
}

pub(super) fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Exact => "exact",
        Verdict::InDistribution => "in distribution",
        Verdict::Inconsistent => "inconsistent (explained)",
        Verdict::Mismatch => "MISMATCH",
        Verdict::OutsideDistribution => "OUTSIDE DISTRIBUTION",
        Verdict::Missing => "MISSING",
    }
}

/// `REPORT.md`: every row, with the detail, the documents' notes and the figures.
pub fn markdown(report: &Report) -> anyhow::Result<String> {
    let (_, notes) = entries()?;
    let mut s = String::from("# Reproducing the documents\n\n");
    let _ = writeln!(s, "{}.\n", report.summary_line());
    let _ = writeln!(
        s,
        "`exact`: same printed digits (or the stated relative tolerance); `in distribution`: the document's run was \
         unseeded, and its printed value falls inside the central 99.8% of our runs over many seeds (the percentile is \
         shown); `inconsistent`: the document contradicts itself — the arithmetic is shown.\n"
    );
    let mut current = String::new();
    for r in &report.rows {
        if r.experiment != current {
            current = r.experiment.clone();
            let _ = writeln!(s, "\n## {current}\n");
            if let Some(exp) = all().into_iter().find(|e| e.id() == current) {
                let _ = writeln!(
                    s,
                    "How we run it (document {}): {}\n",
                    exp.document(),
                    exp.description()
                );
            }
            if let Some(n) = notes.get(&current) {
                for line in n {
                    let _ = writeln!(s, "- {line}");
                }
                s.push('\n');
            }
            if let Some(t) = report.seconds.get(&current) {
                let seeds = report
                    .seeds
                    .get(&current)
                    .map_or(String::new(), |n| format!(", {n} seeds"));
                let _ = writeln!(s, "_{t:.2} s{seeds}_\n");
            }
            let _ = writeln!(
                s,
                "| quantity | documented | reproduced | verdict | how / why | where |"
            );
            let _ = writeln!(s, "|---|---|---|---|---|---|");
        }
        let esc = |t: &str| t.replace('|', "\\|");
        let _ = writeln!(
            s,
            "| `{}` | `{}` | `{}` | {} | {} | {} |",
            esc(&r.quantity),
            esc(&r.documented),
            esc(&r.reproduced),
            verdict_word(r.verdict),
            esc(&r.detail),
            esc(&r.source)
        );
    }
    if !report.traced.is_empty() {
        let _ = writeln!(
            s,
            "\n## Traced runs\n\nEach experiment's default run again with its step through \
             `tapegrad::function` (`tapegrad run --traced`), compared with the eager run bit for \
             bit: {}.\n",
            super::traced_summary(&report.traced)
        );
        for check in &report.traced {
            let _ = writeln!(s, "- {}", check.line());
        }
    }
    Ok(s)
}

/// Writes `REPORT.md`, `report.json` and `index.html` into `dir`, embedding the figures found under
/// `dir/figures/<experiment>/`.
pub fn write_report(report: &Report, dir: &Path) -> anyhow::Result<()> {
    let mut md = markdown(report)?;
    let figs = dir.join("figures");
    if figs.is_dir() {
        md.push_str("\n## Figures\n");
        let mut exps: Vec<_> = std::fs::read_dir(&figs)?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .collect();
        exps.sort();
        for e in exps.iter().filter(|p| p.is_dir()) {
            let mut pngs: Vec<_> = std::fs::read_dir(e)?
                .filter_map(|f| f.ok())
                .map(|f| f.path())
                .filter(|p| p.extension().is_some_and(|x| x == "png"))
                .collect();
            pngs.sort();
            if pngs.is_empty() {
                continue;
            }
            let name = e.file_name().and_then(|n| n.to_str()).unwrap_or("?");
            let _ = writeln!(md, "\n### {name}\n");
            for p in pngs {
                let file = p.file_name().and_then(|n| n.to_str()).unwrap_or("?");
                let _ = writeln!(md, "![{name}: {file}](figures/{name}/{file})");
            }
        }
    }
    output::write_atomic(&dir.join("REPORT.md"), md.as_bytes())?;
    let json = serde_json::to_string_pretty(report)?;
    output::write_atomic(&dir.join("report.json"), json.as_bytes())?;
    super::html::write_page(report, dir)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::reproduce::Row;

    fn row(
        experiment: &str,
        quantity: &str,
        documented: &str,
        reproduced: &str,
        verdict: Verdict,
    ) -> Row {
        Row {
            experiment: experiment.into(),
            quantity: quantity.into(),
            documented: documented.into(),
            reproduced: reproduced.into(),
            verdict,
            detail: String::new(),
            source: String::new(),
        }
    }

    fn report(rows: Vec<Row>) -> Report {
        Report {
            rows,
            reproduced: 0,
            compared: 0,
            inconsistent: 0,
            seeds: BTreeMap::new(),
            seconds: BTreeMap::new(),
            figures: BTreeMap::new(),
            distributions: BTreeMap::new(),
            tapes: BTreeMap::new(),
            traced: Vec::new(),
        }
    }

    #[test]
    fn a_traced_difference_is_in_the_report_and_fails_it() {
        use crate::reproduce::TracedCheck;
        let check = |id: &str, difference: Option<&str>| TracedCheck {
            experiment: id.into(),
            traced: true,
            traces: 1,
            lines: 2,
            quantities: 1,
            variables: 2,
            losses: 3,
            history: 6,
            first_difference: difference.map(String::from),
            note: None,
        };
        let mut r = report(Vec::new());
        r.traced = vec![check("alpha", None)];
        assert!(r.passed());
        let md = markdown(&r).unwrap();
        assert!(md.contains("## Traced runs"), "{md}");
        assert!(
            md.contains("- traced alpha: 1 trace; the same 2 log lines"),
            "{md}"
        );
        r.traced.push(check(
            "beta",
            Some("quantity `final_a`: eager 1.0, traced 1.5"),
        ));
        assert!(!r.passed());
        let md = markdown(&r).unwrap();
        assert!(
            md.contains("traced beta: 1 trace; DIFFERS from eager at quantity `final_a`"),
            "{md}"
        );
        assert!(md.contains("1 of 2 experiments"), "{md}");
    }

    /// Rows like the documents' own: short and long cells, every verdict.
    fn sample() -> Report {
        report(vec![
            row("two-weights", "a", "4.9999723", "4.9999723", Verdict::Exact),
            row(
                "two-weights",
                "loss_history[-1]",
                "0.2460938",
                "p34.0 of 1000 seeds (mean 0.24609, sd 0.0012, range 0.2401 to 0.2522)",
                Verdict::InDistribution,
            ),
            row(
                "scratch-reg",
                "weights after 10 epochs of the first run",
                "[[0.41289365] [0.04290927] [-0.3217445] [0.15498617]]",
                "[[0.41289365] [0.04290927] [-0.3217445] [0.15498617]]",
                Verdict::Exact,
            ),
            row(
                "scratch-reg",
                "mse",
                "the printed loss is 12.5 but its own arithmetic gives 12.25",
                "12.25",
                Verdict::Inconsistent,
            ),
            row(
                "keras",
                "accuracy",
                "0.9821",
                "0.9734 (relative 9e-3)",
                Verdict::Mismatch,
            ),
            row(
                "keras",
                "val_loss",
                "0.051",
                "p99.95 of 1000 seeds (mean 0.09, sd 0.01)",
                Verdict::OutsideDistribution,
            ),
            row("keras", "figure count", "3 figures", "—", Verdict::Missing),
        ])
    }

    fn visible(line: &str) -> String {
        console::strip_ansi_codes(line).into_owned()
    }

    /// The output's rows (the header first), each a list of cells, each cell the text of its
    /// lines in its column joined with spaces; found from the header's words' positions, a row
    /// starting on each line with text in the experiment column.
    fn parse(out: &str) -> Vec<[String; COLUMNS]> {
        let lines: Vec<Vec<char>> = out.lines().map(|l| visible(l).chars().collect()).collect();
        let header: String = lines[0].iter().collect();
        let starts: Vec<usize> = HEADER
            .iter()
            .map(|h| {
                header
                    .find(h)
                    .expect("every header word on the header's line")
            })
            .collect();
        let mut rows: Vec<[String; COLUMNS]> = Vec::new();
        for line in &lines {
            let cell = |c: usize| -> String {
                let end = starts
                    .get(c + 1)
                    .copied()
                    .unwrap_or(usize::MAX)
                    .min(line.len());
                let start = starts[c].min(end);
                line[start..end]
                    .iter()
                    .collect::<String>()
                    .trim()
                    .to_string()
            };
            if !cell(0).is_empty() || rows.is_empty() {
                rows.push(Default::default());
            }
            let last = rows.last_mut().expect("a row");
            for (c, text) in last.iter_mut().enumerate() {
                let piece = cell(c);
                if !piece.is_empty() {
                    if !text.is_empty() {
                        text.push(' ');
                    }
                    text.push_str(&piece);
                }
            }
        }
        rows
    }

    fn cells(r: &Row) -> [String; COLUMNS] {
        [
            r.experiment.clone(),
            r.quantity.clone(),
            r.documented.clone(),
            r.reproduced.clone(),
            verdict_word(r.verdict).to_string(),
        ]
    }

    fn words(s: &str) -> Vec<&str> {
        s.split_whitespace().collect()
    }

    #[test]
    fn fits_the_width_and_keeps_every_word_in_its_cell() {
        let rep = sample();
        for width in [70, 80, 100, 120, 160] {
            let out = table(
                &rep,
                &TableStyle {
                    width: Some(width),
                    color: false,
                },
            );
            for line in out.lines() {
                assert!(
                    text_width(line) <= width,
                    "width {width}: a line of {} columns: {line:?}",
                    text_width(line)
                );
            }
            let rows = parse(&out);
            assert_eq!(rows.len(), 1 + rep.rows.len(), "width {width}:\n{out}");
            assert_eq!(rows[0], HEADER.map(String::from));
            for (got, r) in rows[1..].iter().zip(&rep.rows) {
                for (g, want) in got.iter().zip(cells(r)) {
                    // every character in order; every word no wider than the narrowest column
                    // whole (longer ones may be broken across lines)
                    assert_eq!(
                        g.replace(' ', ""),
                        want.replace(' ', ""),
                        "width {width}:\n{out}"
                    );
                    let got_words = words(g);
                    for w in words(&want)
                        .into_iter()
                        .filter(|w| text_width(w) <= MIN_WIDTH)
                    {
                        assert!(
                            got_words.contains(&w),
                            "width {width}: {w:?} broken:\n{out}"
                        );
                    }
                    if width >= 160 {
                        assert_eq!(got_words, words(&want), "width {width}:\n{out}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_narrow_width_wraps_rows_onto_more_lines() {
        let rep = sample();
        let wide = table(
            &rep,
            &TableStyle {
                width: Some(300),
                color: false,
            },
        );
        let narrow = table(
            &rep,
            &TableStyle {
                width: Some(80),
                color: false,
            },
        );
        assert_eq!(wide.lines().count(), 1 + rep.rows.len());
        assert!(
            narrow.lines().count() > wide.lines().count() + 3,
            "{narrow}"
        );
    }

    #[test]
    fn the_experiment_and_verdict_columns_keep_their_width_and_the_others_share() {
        // experiment 11, quantity 40, documented 60, reproduced 60, verdict 24
        let natural = [11, 40, 60, 60, 24];
        let w = column_widths(natural, 130);
        assert_eq!((w[0], w[4]), (11, 24));
        assert_eq!(w.iter().sum::<usize>() + 8, 130);
        // 87 columns shared 40:60:60 → 21.75, 32.625, 32.625; the two leftovers to the largest
        // fractions
        assert_eq!(&w[1..4], [22, 33, 32]);
        // the shared columns would get under 20: the verdict shrinks first (the experiment is
        // at its minimum, 11)
        assert_eq!(column_widths(natural, 100), [11, 20, 20, 20, 21]);
        // then the shared columns, down to 12: 49 columns shared 40:60:60
        assert_eq!(column_widths(natural, 80), [11, 12, 19, 18, 12]);
        // room only for the minimums
        let w = column_widths(natural, 40);
        assert_eq!(w, [11, 12, 12, 12, 12]);
        // everything fits: the natural widths
        assert_eq!(column_widths(natural, 300), natural);
    }

    #[test]
    fn too_narrow_a_width_is_exceeded_rather_than_text_lost() {
        let rep = sample();
        let out = table(
            &rep,
            &TableStyle {
                width: Some(30),
                color: false,
            },
        );
        let widest = out.lines().map(text_width).max().unwrap_or(0);
        assert!(
            widest > 30 && widest <= 11 + 4 * MIN_WIDTH + 8,
            "{widest}\n{out}"
        );
        let all_words: Vec<String> = rep
            .rows
            .iter()
            .flat_map(|r| cells(r).into_iter())
            .flat_map(|c| c.split_whitespace().map(String::from).collect::<Vec<_>>())
            .filter(|w| text_width(w) <= MIN_WIDTH)
            .collect();
        for w in &all_words {
            assert!(out.contains(w.as_str()), "{w:?} lost:\n{out}");
        }
    }

    #[test]
    fn a_word_longer_than_its_column_is_broken_and_every_character_kept() {
        let long: String = (0..90).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
        let rep = report(vec![row("two-weights", "w", &long, "1.0", Verdict::Exact)]);
        let out = table(
            &rep,
            &TableStyle {
                width: Some(70),
                color: false,
            },
        );
        assert!(!out.contains(&long), "{out}");
        assert!(out.lines().all(|l| text_width(l) <= 70), "{out}");
        let rows = parse(&out);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1][2].replace(' ', ""), long);
        assert!(rows[1][2].split(' ').count() > 1);

        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("ab abcdefghij c", 4), ["ab", "abcd", "efgh", "ij c"]);
        assert_eq!(wrap("one  two three", 9), ["one two", "three"]);
        assert_eq!(wrap("", 5), [""]);
        // a better place to break near the end of the line
        assert_eq!(
            wrap("demo_gradient_x_squared_at_3", 20),
            ["demo_gradient_x_", "squared_at_3"]
        );
        assert_eq!(wrap("loss[step=100]", 12), ["loss", "[step=100]"]);
        // not in the first third of the line
        assert_eq!(wrap("a_bcdefghijkl", 9), ["a_bcdefgh", "ijkl"]);
    }

    #[test]
    fn no_escape_codes_without_colour() {
        let rep = sample();
        for width in [None, Some(80)] {
            let out = table(
                &rep,
                &TableStyle {
                    width,
                    color: false,
                },
            );
            assert!(!out.contains('\x1b'), "{out}");
        }
    }

    #[test]
    fn each_verdict_row_has_its_colour_and_the_same_alignment() {
        let rep = sample();
        for width in [None, Some(80)] {
            let plain = table(
                &rep,
                &TableStyle {
                    width,
                    color: false,
                },
            );
            let coloured = table(&rep, &TableStyle { width, color: true });
            assert_eq!(visible(&coloured), plain);
            let lines: Vec<&str> = coloured.lines().collect();
            assert!(!lines[0].contains('\x1b'));
            let mut starts = lines.iter().skip(1).filter(|l| !l.starts_with(' '));
            for r in &rep.rows {
                let line = starts.next().expect("a line per row");
                let want = match r.verdict {
                    Verdict::Exact | Verdict::InDistribution => "\x1b[32m",
                    Verdict::Inconsistent => "\x1b[33m",
                    _ => "\x1b[1;31m",
                };
                assert!(
                    line.contains(&format!(
                        "{want}{}",
                        verdict_word(r.verdict).split(' ').next().unwrap_or("")
                    )),
                    "{:?}: {line:?}",
                    r.verdict
                );
                assert_eq!(line.matches('\x1b').count(), 2, "{line:?}");
                assert!(line.ends_with("\x1b[0m"), "{line:?}");
            }
        }
    }

    #[test]
    fn without_a_width_every_cell_is_whole_on_one_line() {
        let mut rep = sample();
        rep.rows.push(row(
            "two-weights",
            "loss_history",
            &"0.123456 ".repeat(40),
            &"0.123457 ".repeat(40),
            Verdict::Exact,
        ));
        let out = table(&rep, &TableStyle::default());
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 1 + rep.rows.len());
        for (line, r) in lines[1..].iter().zip(&rep.rows) {
            for cell in cells(r) {
                assert!(line.contains(cell.trim()), "{cell:?} not whole in {line:?}");
            }
        }
        let rows = parse(&out);
        for (got, r) in rows[1..].iter().zip(&rep.rows) {
            assert_eq!(got, &cells(r).map(|c| c.trim().to_string()));
        }
        assert!(lines.iter().all(|l| !l.ends_with(' ')));
    }

    #[test]
    fn the_style_follows_the_terminal_and_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let s = TableStyle::from_env(true, Some(100), env(&[]));
        assert_eq!(
            s,
            TableStyle {
                width: Some(100),
                color: true
            }
        );
        let s = TableStyle::from_env(false, None, env(&[]));
        assert_eq!(
            s,
            TableStyle {
                width: None,
                color: false
            }
        );
        let s = TableStyle::from_env(false, None, env(&[("COLUMNS", "90")]));
        assert_eq!(
            s,
            TableStyle {
                width: Some(90),
                color: false
            }
        );
        let s = TableStyle::from_env(true, Some(100), env(&[("COLUMNS", "72")]));
        assert_eq!(s.width, Some(72));
        let s = TableStyle::from_env(true, Some(100), env(&[("COLUMNS", "wide")]));
        assert_eq!(s.width, Some(100));
        assert!(!TableStyle::from_env(true, None, env(&[("NO_COLOR", "1")])).color);
        assert!(TableStyle::from_env(true, None, env(&[("NO_COLOR", "")])).color);
        assert!(!TableStyle::from_env(true, None, env(&[("TERM", "dumb")])).color);
        assert!(!TableStyle::from_env(true, None, env(&[("CLICOLOR", "0")])).color);
        assert!(TableStyle::from_env(false, None, env(&[("CLICOLOR_FORCE", "1")])).color);
        assert!(TableStyle::from_env(false, None, env(&[("FORCE_COLOR", "1")])).color);
        assert!(!TableStyle::from_env(false, None, env(&[("FORCE_COLOR", "0")])).color);
        assert!(
            !TableStyle::from_env(false, None, env(&[("FORCE_COLOR", "1"), ("NO_COLOR", "1")]))
                .color
        );
    }
}
