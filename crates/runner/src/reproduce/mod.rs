//! The comparison of our runs with the documents' printed numbers (`cargo xtask reproduce`).
//!
//! `data/expected/expected.json` lists every number the documents print, with how it is
//! compared: `exact` (our run prints the same digits, or agrees to a stated relative tolerance),
//! `distribution` (the document's run was unseeded: we run many seeds and place the printed value
//! as a percentile of ours, passing inside the central 99.8%), or `inconsistent` (the document
//! contradicts itself; shown with the arithmetic, counted apart).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;

use crate::experiment::RunOutput;
use crate::{all, output, Config, Experiment, RunContext};

mod catalogue;
mod html;
mod judge;
mod page_check;
mod report;
mod traced;

pub use catalogue::{
    descriptions, entries, Descriptions, Entry, ExperimentNote, FigureNote, Notes, ProseClaim,
    EXPECTED_JSON,
};
pub use html::{page, write_page, PAGE};
pub use judge::{percentile, Row, Verdict};
pub use page_check::{check_page, PageCheck};
pub use report::{markdown, table, write_report, TableStyle};
pub use traced::{compare_traced, traced_summary, TracedCheck};

use judge::{judge, numbers};

/// The folder, beside the page, of each experiment's first step drawn (`<experiment>.svg`).
pub const TAPES: &str = "tapes";

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
    /// The figures each experiment's default run drew (files under `figures/<experiment>/`).
    pub figures: BTreeMap<String, Vec<FigureInfo>>,
    /// Our samples of each unseeded quantity the documents print, with the printed value
    /// (for the page's histograms; not in report.json).
    #[serde(skip)]
    pub distributions: BTreeMap<String, BTreeMap<String, Distribution>>,
    /// Each experiment's first training step as its tape recorded it, drawn and explained
    /// (`tapegrad explain`; experiments whose gradients are written by hand have none).
    #[serde(skip)]
    pub tapes: BTreeMap<String, TapeStep>,
    /// Each experiment's default run eagerly and traced (`tapegrad run --traced`), compared
    /// bit for bit.
    pub traced: Vec<TracedCheck>,
}

/// One experiment's first training step, as `tapegrad explain ID` shows it: the text, and the
/// graph as SVG (also written to `tapes/<experiment>.svg`).
#[derive(Debug, Clone)]
pub struct TapeStep {
    /// The explanation, op by op ([`crate::explain::render`]).
    pub text: String,
    /// The graph ([`crate::explain::svg`]).
    pub svg: String,
}

/// One figure of a run: its file stem and the document's image it regenerates.
#[derive(Debug, Clone, Serialize)]
pub struct FigureInfo {
    /// File stem (`loss_history` for `loss_history.svg` / `.png`).
    pub name: String,
    /// The figure's title.
    pub title: String,
    /// The document's image it regenerates (`weights_and_bias_image_1.png`).
    pub document_image: Option<String>,
}

/// Our runs' values of one quantity over the seeds, and the document's printed value.
#[derive(Debug, Clone)]
pub struct Distribution {
    /// One value per seed.
    pub samples: Vec<f64>,
    /// The printed value.
    pub documented: f64,
}

impl Report {
    /// True when every number is exact, inside its distribution, or explained, and every
    /// traced run printed the eager run's numbers bit for bit.
    pub fn passed(&self) -> bool {
        self.rows.iter().all(|r| r.verdict.ok()) && self.traced.iter().all(TracedCheck::ok)
    }

    /// The closing line.
    pub fn summary_line(&self) -> String {
        format!(
            "reproduced {} of {} documented numbers ({} inconsistent in the documents, shown apart)",
            self.reproduced, self.compared, self.inconsistent
        )
    }
}

/// The quantities of one seeded run.
type SeedRun = (u64, BTreeMap<String, Value>);

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
        figures: BTreeMap::new(),
        distributions: BTreeMap::new(),
        tapes: BTreeMap::new(),
        traced: Vec::new(),
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
                // the default run's first gradient is explained as it is computed (the same
                // numbers: `explain` runs the same backward pass)
                let (out, explained) =
                    tapegrad_autodiff::capture_first_gradient(|| run_default(exp, None));
                let out = out?;
                let dir = opts.out_dir.join("figures").join(exp.id());
                output::write_run(&dir, exp, &Config::defaults(&exp.params()), &out)?;
                if let Some(e) = explained {
                    let step = TapeStep {
                        text: crate::explain::render(exp.id(), &e),
                        svg: crate::explain::svg(&e),
                    };
                    let file = opts.out_dir.join(TAPES).join(format!("{}.svg", exp.id()));
                    output::write_atomic(&file, step.svg.as_bytes())?;
                    report.tapes.insert(id.clone(), step);
                }
                report.figures.insert(
                    id.clone(),
                    out.figures
                        .iter()
                        .map(|f| FigureInfo {
                            name: f.name.clone(),
                            title: f.title.clone(),
                            document_image: f.document_image.clone(),
                        })
                        .collect(),
                );
                // the same run eagerly and traced, compared bit for bit
                report.traced.push(
                    compare_traced(exp, &Config::defaults(&exp.params()))
                        .with_context(|| format!("running {} eagerly and traced", exp.id()))?,
                );
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
            let printed = numbers(&e.value).and_then(|v| (v.len() == 1).then(|| v[0]));
            if let (Some(s), Some(documented), true) =
                (samples.get(&e.quantity), printed, e.compare != "exact")
            {
                report.distributions.entry(id.clone()).or_default().insert(
                    e.quantity.clone(),
                    Distribution {
                        samples: s.clone(),
                        documented,
                    },
                );
            }
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
