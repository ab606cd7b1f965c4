//! The comparison of our runs with the documents' printed numbers (`cargo xtask reproduce`).
//!
//! `data/expected/expected.json` lists every number the documents print, with how it is
//! compared: `exact` (our run prints the same digits, or agrees to a stated relative tolerance),
//! `distribution` (the document's run was unseeded: we run many seeds and place the printed value
//! as a percentile of ours, passing inside the central 99.8%), or `inconsistent` (the document
//! contradicts itself; shown with the arithmetic, counted apart).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::experiment::RunOutput;
use crate::{all, output, Config, Experiment, RunContext};

/// The catalogue, compiled in so the binary needs no repository at run time.
pub const EXPECTED_JSON: &str = include_str!("../../../data/expected/expected.json");

/// One printed number of a document.
#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    /// Experiment id (or a `data-*` id for printed data tables).
    pub experiment: String,
    /// Key of the quantity within the experiment.
    pub quantity: String,
    /// Seed file name.
    pub document: String,
    /// Where in the document.
    pub location: String,
    /// Line of the printed output in the seed file.
    pub line: Option<u64>,
    /// The text as printed.
    pub printed: String,
    /// The printed value as a number or (nested) list.
    pub value: Value,
    /// `exact`, `distribution` or `inconsistent`.
    pub compare: String,
    /// With `exact`: `{"kind": "printed_digits"}` or `{"kind": "relative", "value": r}`.
    pub tolerance: Option<Value>,
    /// Why that tolerance.
    pub justification: Option<String>,
    /// With `inconsistent`: the computation showing the contradiction.
    pub arithmetic: Option<String>,
    /// Anything else.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Catalogue {
    entries: Vec<Entry>,
    #[serde(default)]
    notes: BTreeMap<String, Vec<String>>,
}

/// How one number came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Same digits, or inside the stated tolerance.
    Exact,
    /// Inside the central 99.8% of our distribution.
    InDistribution,
    /// The document contradicts itself here; shown, counted apart.
    Inconsistent,
    /// Different.
    Mismatch,
    /// Outside the central 99.8% of our distribution.
    OutsideDistribution,
    /// Our run does not produce this quantity.
    Missing,
}

impl Verdict {
    /// Whether the number counts as reproduced (or explained).
    pub fn ok(self) -> bool {
        matches!(
            self,
            Verdict::Exact | Verdict::InDistribution | Verdict::Inconsistent
        )
    }
}

/// One row of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Experiment id.
    pub experiment: String,
    /// Quantity key.
    pub quantity: String,
    /// The document's text.
    pub documented: String,
    /// Ours, formatted for the table.
    pub reproduced: String,
    /// The verdict.
    pub verdict: Verdict,
    /// How it was compared and what explains a difference.
    pub detail: String,
    /// Seed file and line.
    pub source: String,
}

/// Options of a reproduction.
#[derive(Debug, Clone)]
pub struct Options {
    /// Seeds per unseeded experiment.
    pub seeds: u64,
    /// Worker threads for the seed sweeps.
    pub threads: usize,
    /// Where to write REPORT.md, report.json and the figures.
    pub out_dir: PathBuf,
    /// Only these experiments (all when empty).
    pub only: Vec<String>,
}

/// The whole result.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// One row per documented number.
    pub rows: Vec<Row>,
    /// Numbers reproduced (exact or in distribution).
    pub reproduced: usize,
    /// Numbers compared (inconsistent ones excluded).
    pub compared: usize,
    /// Numbers the document contradicts itself on.
    pub inconsistent: usize,
    /// Seeds used per unseeded experiment.
    pub seeds: BTreeMap<String, u64>,
    /// Seconds per experiment (default run plus sweep).
    pub seconds: BTreeMap<String, f64>,
}

impl Report {
    /// True when every number is exact, inside its distribution, or explained.
    pub fn passed(&self) -> bool {
        self.rows.iter().all(|r| r.verdict.ok())
    }

    /// The closing line.
    pub fn summary_line(&self) -> String {
        format!(
            "reproduced {} of {} documented numbers ({} inconsistent in the documents, shown apart)",
            self.reproduced, self.compared, self.inconsistent
        )
    }
}

/// The documents' notes per experiment (stopping-rule quirks, contradictions).
pub type Notes = BTreeMap<String, Vec<String>>;

/// The quantities of one seeded run.
type SeedRun = (u64, BTreeMap<String, Value>);

/// Loads the catalogue.
pub fn entries() -> anyhow::Result<(Vec<Entry>, Notes)> {
    let c: Catalogue =
        serde_json::from_str(EXPECTED_JSON).context("parsing data/expected/expected.json")?;
    Ok((c.entries, c.notes))
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn flatten(v: &Value, out: &mut Vec<f64>) -> bool {
    match v {
        Value::Number(n) => {
            out.push(n.as_f64().unwrap_or(f64::NAN));
            true
        }
        Value::String(s) => match s.as_str() {
            "inf" | "Infinity" => {
                out.push(f64::INFINITY);
                true
            }
            "-inf" | "-Infinity" => {
                out.push(f64::NEG_INFINITY);
                true
            }
            "nan" | "NaN" => {
                out.push(f64::NAN);
                true
            }
            s => match s.trim().parse::<f64>() {
                Ok(x) => {
                    out.push(x);
                    true
                }
                Err(_) => false,
            },
        },
        Value::Array(a) => a.iter().all(|x| flatten(x, out)),
        _ => false,
    }
}

fn numbers(v: &Value) -> Option<Vec<f64>> {
    let mut out = Vec::new();
    flatten(v, &mut out).then_some(out)
}

/// Compares one exact entry with our quantity.
fn compare_exact(e: &Entry, ours: &Value) -> (Verdict, String, String) {
    let kind = e
        .tolerance
        .as_ref()
        .and_then(|t| t.get("kind"))
        .and_then(Value::as_str)
        .unwrap_or("printed_digits");
    if kind == "relative" {
        let r = e
            .tolerance
            .as_ref()
            .and_then(|t| t.get("value"))
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        let (Some(a), Some(b)) = (numbers(ours), numbers(&e.value)) else {
            return (Verdict::Mismatch, value_text(ours), "not a number".into());
        };
        if a.len() != b.len() {
            return (
                Verdict::Mismatch,
                value_text(ours),
                format!("{} values, the document {}", a.len(), b.len()),
            );
        }
        let worst = a
            .iter()
            .zip(&b)
            .map(|(x, y)| {
                if x == y {
                    0.0
                } else {
                    (x - y).abs() / y.abs().max(f64::MIN_POSITIVE)
                }
            })
            .fold(0.0, f64::max);
        let verdict = if worst <= r {
            Verdict::Exact
        } else {
            Verdict::Mismatch
        };
        let shown = a
            .iter()
            .map(|x| format!("{}", *x as f32))
            .collect::<Vec<_>>()
            .join(", ");
        (
            verdict,
            shown,
            format!("relative {r:e} (largest {worst:.1e})"),
        )
    } else {
        let ours_text = value_text(ours);
        let verdict = if collapse(&ours_text) == collapse(&e.printed) {
            Verdict::Exact
        } else {
            Verdict::Mismatch
        };
        (verdict, collapse(&ours_text), "same printed digits".into())
    }
}

/// `100 * P(X < v)` (ties count half) over our samples.
pub fn percentile(samples: &[f64], v: f64) -> f64 {
    let finite: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
    if finite.is_empty() {
        return f64::NAN;
    }
    let below = finite.iter().filter(|&&x| x < v).count() as f64;
    let ties = finite.iter().filter(|&&x| x == v).count() as f64;
    100.0 * (below + 0.5 * ties) / finite.len() as f64
}

fn quantile(samples: &[f64], q: f64) -> f64 {
    let mut s: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return f64::NAN;
    }
    s.sort_by(f64::total_cmp);
    s[((s.len() - 1) as f64 * q).round() as usize]
}

/// Runs one experiment with the default configuration, quietly.
fn run_default(exp: &dyn Experiment, seed: Option<u64>) -> anyhow::Result<RunOutput> {
    let mut cfg = Config::defaults(&exp.params());
    cfg.seed = seed;
    exp.run(&cfg, &mut RunContext::quiet())
        .with_context(|| format!("running {}", exp.id()))
}

/// Runs `exp` for seeds `0..seeds` on `threads` threads and collects every numeric quantity.
fn sweep(
    exp: &'static dyn Experiment,
    seeds: u64,
    threads: usize,
) -> anyhow::Result<BTreeMap<String, Vec<f64>>> {
    let threads = threads.max(1);
    let results: Vec<anyhow::Result<Vec<SeedRun>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    (t as u64..seeds)
                        .step_by(threads)
                        .map(|seed| run_default(exp, Some(seed)).map(|o| (seed, o.quantities)))
                        .collect::<anyhow::Result<Vec<_>>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(anyhow::anyhow!("a sweep thread of {} panicked", exp.id()))
                })
            })
            .collect()
    });
    let mut by_seed = Vec::new();
    for r in results {
        by_seed.extend(r?);
    }
    by_seed.sort_by_key(|(seed, _)| *seed);
    let mut out: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (_, q) in by_seed {
        for (k, v) in q {
            if let Some(n) = numbers(&v) {
                if n.len() == 1 {
                    out.entry(k).or_default().push(n[0]);
                }
            }
        }
    }
    Ok(out)
}

/// The printed data tables of document 004, regenerated: `dataset.head()` of the three normal
/// columns (printed twice, after `np.random.seed(42)`) and of `make_regression(10, 10, bias=1,
/// random_state=42)`, six decimals as pandas shows them (the page's table export drops trailing
/// zeros: `1.52303`).
fn data_quantities(id: &str) -> anyhow::Result<BTreeMap<String, Value>> {
    use tapegrad_datasets::{np_random, recipes};
    let mut q = BTreeMap::new();
    match id {
        "data-004-normal-head" => {
            np_random::seed(42);
            let d = recipes::doc004_dataset(100)?;
            for cell in ["cell20", "cell23"] {
                for col in ["x1", "x2", "x3", "y"] {
                    let c = d.column(col)?;
                    for r in 0..5 {
                        q.insert(
                            format!("{cell}.head.{col}[{r}]"),
                            Value::String(pandas_cell(c[r])),
                        );
                    }
                }
            }
        }
        "data-004-make-regression-head" => {
            // The document's frame: pd.DataFrame(X) with columns 0..9 (feature_0.. here) and y (target).
            let d = recipes::doc004_regression()?;
            for name in d.names() {
                let key = if name == "y" {
                    "target".to_string()
                } else {
                    format!("feature_{name}")
                };
                let c = d.column(name)?;
                for r in 0..5.min(c.len()) {
                    q.insert(format!("head.{key}[{r}]"), Value::String(pandas_cell(c[r])));
                }
            }
        }
        _ => anyhow::bail!("no generator for the data table `{id}`"),
    }
    Ok(q)
}

/// A float as the document's pandas table shows it: six decimals, trailing zeros dropped.
fn pandas_cell(x: f64) -> String {
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0');
    s.strip_suffix('.').unwrap_or(s).to_string()
}

/// Runs everything and compares.
pub fn reproduce(opts: &Options) -> anyhow::Result<Report> {
    let (entries, _) = entries()?;
    let mut report = Report {
        rows: Vec::new(),
        reproduced: 0,
        compared: 0,
        inconsistent: 0,
        seeds: BTreeMap::new(),
        seconds: BTreeMap::new(),
    };
    let mut ids: Vec<String> = Vec::new();
    for e in &entries {
        if !ids.contains(&e.experiment) {
            ids.push(e.experiment.clone());
        }
    }
    let wanted = |id: &str| opts.only.is_empty() || opts.only.iter().any(|o| o == id);
    for id in ids.iter().filter(|id| wanted(id)) {
        let started = std::time::Instant::now();
        let mine: Vec<&Entry> = entries.iter().filter(|e| &e.experiment == id).collect();
        let exp = all().into_iter().find(|e| e.id() == id);
        let (quantities, samples) = match exp {
            None if id.starts_with("data-") => (data_quantities(id)?, BTreeMap::new()),
            None => (BTreeMap::new(), BTreeMap::new()),
            Some(exp) => {
                let out = run_default(exp, None)?;
                let dir = opts.out_dir.join("figures").join(exp.id());
                output::write_run(&dir, exp, &Config::defaults(&exp.params()), &out)?;
                let needs_sweep = mine.iter().any(|e| e.compare != "exact");
                let samples = if needs_sweep && exp.unseeded() {
                    report.seeds.insert(id.clone(), opts.seeds);
                    sweep(exp, opts.seeds, opts.threads)?
                } else {
                    BTreeMap::new()
                };
                (out.quantities, samples)
            }
        };
        for e in mine {
            report.rows.push(judge(
                e,
                quantities.get(&e.quantity),
                samples.get(&e.quantity),
            ));
        }
        report
            .seconds
            .insert(id.clone(), started.elapsed().as_secs_f64());
    }
    for r in &report.rows {
        match r.verdict {
            Verdict::Inconsistent => report.inconsistent += 1,
            v => {
                report.compared += 1;
                if v.ok() {
                    report.reproduced += 1;
                }
            }
        }
    }
    Ok(report)
}

fn judge(e: &Entry, ours: Option<&Value>, samples: Option<&Vec<f64>>) -> Row {
    let source = format!(
        "{} line {}",
        e.document,
        e.line.map_or("?".into(), |l| l.to_string())
    );
    let mut row = Row {
        experiment: e.experiment.clone(),
        quantity: e.quantity.clone(),
        documented: collapse(&e.printed),
        reproduced: String::from("—"),
        verdict: Verdict::Missing,
        detail: String::from("our run does not produce this quantity"),
        source,
    };
    let printed_value = numbers(&e.value).and_then(|v| (v.len() == 1).then(|| v[0]));
    match e.compare.as_str() {
        "exact" => {
            if let Some(ours) = ours {
                let (v, shown, how) = compare_exact(e, ours);
                row.verdict = v;
                row.reproduced = shown;
                row.detail = match &e.justification {
                    Some(j) if v == Verdict::Mismatch => format!("{how}; {j}"),
                    _ => how,
                };
            }
        }
        "distribution" | "inconsistent" => {
            let ours_text = ours.map(value_text);
            if let (Some(s), Some(v)) = (samples.filter(|s| !s.is_empty()), printed_value) {
                let p = percentile(s, v);
                let inside = (0.1..=99.9).contains(&p);
                row.reproduced = format!(
                    "p{:.1} of {} seeds (median {:.6}, 99.8% in [{:.6}, {:.6}])",
                    p,
                    s.len(),
                    quantile(s, 0.5),
                    quantile(s, 0.001),
                    quantile(s, 0.999)
                );
                row.verdict = if inside {
                    Verdict::InDistribution
                } else {
                    Verdict::OutsideDistribution
                };
                row.detail =
                    "unseeded in the document: the printed value placed in our distribution".into();
            } else if let Some(t) = ours_text {
                row.reproduced = t;
                row.verdict = Verdict::OutsideDistribution;
                row.detail = "no seed sweep was run for this quantity".into();
            }
            if e.compare == "inconsistent" {
                row.verdict = Verdict::Inconsistent;
                row.detail = format!(
                    "the document contradicts itself: {}",
                    e.arithmetic.clone().unwrap_or_default()
                );
            }
        }
        other => {
            row.verdict = Verdict::Mismatch;
            row.detail = format!("unknown comparison `{other}` in expected.json");
        }
    }
    row
}

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

fn verdict_word(v: Verdict) -> &'static str {
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

/// Writes `REPORT.md` and `report.json` into `dir`, embedding the figures found under
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
    Ok(())
}
