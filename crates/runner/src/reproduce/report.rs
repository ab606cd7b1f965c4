//! The report: the terminal table, REPORT.md and report.json (and the page, `html.rs`).

use std::fmt::Write as _;
use std::path::Path;

use super::judge::Verdict;
use super::{entries, Report};
use crate::{all, output};

/// The table printed on the terminal.
pub fn table(report: &Report) -> String {
    let mut s = String::new();
    let w_exp = report
        .rows
        .iter()
        .map(|r| r.experiment.len())
        .max()
        .unwrap_or(10);
    let w_q = report
        .rows
        .iter()
        .map(|r| r.quantity.len())
        .max()
        .unwrap_or(8)
        .min(28);
    let _ = writeln!(
        s,
        "{:<w_exp$}  {:<w_q$}  {:<24}  {:<24}  verdict",
        "experiment", "quantity", "documented", "reproduced"
    );
    for r in &report.rows {
        let cut = |t: &str, n: usize| {
            if t.chars().count() > n {
                format!("{}…", t.chars().take(n - 1).collect::<String>())
            } else {
                t.to_string()
            }
        };
        let _ = writeln!(
            s,
            "{:<w_exp$}  {:<w_q$}  {:<24}  {:<24}  {}",
            r.experiment,
            cut(&r.quantity, w_q),
            cut(&r.documented, 24),
            cut(&r.reproduced, 24),
            verdict_word(r.verdict)
        );
    }
    s
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
