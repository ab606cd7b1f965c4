//! What an experiment is, what a run produces, and the context it runs in.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::Value;

use crate::config::{Config, Param};
use crate::figures::Figure;

/// One documented training run.
pub trait Experiment: Sync {
    /// The stable id (`two-weights`, `depth-tape`, ...).
    fn id(&self) -> &'static str;
    /// The document number (`000` ... `004`).
    fn document(&self) -> &'static str;
    /// A one-line title.
    fn title(&self) -> &'static str;
    /// What the experiment does, for `tapegrad show`.
    fn description(&self) -> &'static str;
    /// Its parameters with the document's values as defaults.
    fn params(&self) -> Vec<Param>;
    /// True when the document's run draws from an unseeded generator, so that its printed
    /// numbers are compared as a distribution over seeds.
    fn unseeded(&self) -> bool {
        false
    }
    /// Runs it.
    fn run(&self, cfg: &Config, ctx: &mut RunContext) -> anyhow::Result<RunOutput>;
}

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoppedBy {
    /// It ran the number of steps or epochs it was given.
    Steps,
    /// The document's stopping rule fired.
    Criterion,
    /// The loss stopped being finite.
    Diverged,
}

/// What a run produced.
#[derive(Debug, Clone, Default)]
pub struct RunOutput {
    /// Parameter updates performed.
    pub steps: usize,
    /// Why it stopped (`None` reads as `Steps`).
    pub stopped_by: Option<StoppedBy>,
    /// Where it diverged (step index), if it did.
    pub diverged_at: Option<usize>,
    /// Final variables, named as the document names them.
    pub variables: BTreeMap<String, Value>,
    /// The losses the document's code records, in its order.
    pub loss_history: Vec<f64>,
    /// The last loss.
    pub final_loss: Option<f64>,
    /// Seconds spent in the training loop alone.
    pub train_seconds: f64,
    /// Every number the document prints, keyed as `data/expected/expected.json` keys them
    /// (`final_a`, `loss[3]`, `weight_list`, ...), for the comparison.
    pub quantities: BTreeMap<String, Value>,
    /// Per-step history for `history.csv`: column names and rows.
    pub history: History,
    /// The figures the document shows.
    pub figures: Vec<Figure>,
    /// What the run did differently from the document and the reader should know (a source
    /// of random numbers that ran out and was continued by ours); also printed in the log.
    pub notes: Vec<String>,
}

/// A table of per-step values.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, one value per column.
    pub rows: Vec<Vec<f64>>,
}

impl History {
    /// An empty table with these columns.
    pub fn new(columns: &[&str]) -> Self {
        History {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row.
    pub fn push(&mut self, row: Vec<f64>) {
        self.rows.push(row);
    }
}

/// Where a run writes its log and reports progress.
pub struct RunContext {
    lines: Vec<String>,
    echo: bool,
    progress: Option<indicatif::ProgressBar>,
    show_progress: bool,
    started: Instant,
    stdout_error: Option<std::io::Error>,
}

impl RunContext {
    /// A context that prints each log line as it comes when `echo` and shows a progress bar
    /// when `progress` (and the run lasts more than a second).
    pub fn new(echo: bool, progress: bool) -> Self {
        RunContext {
            lines: Vec::new(),
            echo,
            progress: None,
            show_progress: progress,
            started: Instant::now(),
            stdout_error: None,
        }
    }

    /// A silent context (tests, reproduce).
    pub fn quiet() -> Self {
        Self::new(false, false)
    }

    /// One line of the document-style log.
    pub fn println(&mut self, line: impl Into<String>) {
        let line = line.into();
        if self.echo {
            match &self.progress {
                Some(pb) => pb.println(&line),
                // A closed pipe (`tapegrad run ... | head`) ends the echo, not the run; any
                // other failure ends the echo and is reported when the run is done.
                None => match crate::output::print_line(&line) {
                    Ok(open) => self.echo = open,
                    Err(e) => {
                        self.echo = false;
                        self.stdout_error = Some(e);
                    }
                },
            }
        }
        self.lines.push(line);
    }

    /// The error that ended the echo on stdout, if one did (not a closed pipe, which ends it
    /// quietly): the caller reports it once the run's results are safe.
    pub fn take_stdout_error(&mut self) -> Option<std::io::Error> {
        self.stdout_error.take()
    }

    /// The log so far.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// Reports progress `done` of `total` steps; the bar appears once a second has passed.
    pub fn progress(&mut self, done: u64, total: u64) {
        if !self.show_progress {
            return;
        }
        if self.progress.is_none() && self.started.elapsed().as_secs_f64() > 1.0 {
            let pb = indicatif::ProgressBar::new(total);
            pb.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            self.progress = Some(pb);
        }
        if let Some(pb) = &self.progress {
            pb.set_position(done);
        }
    }

    /// Removes the progress bar.
    pub fn finish(&mut self) {
        if let Some(pb) = self.progress.take() {
            pb.finish_and_clear();
        }
    }
}
