//! What an experiment is, what a run produces, and the context it runs in.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Context;
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
#[derive(Debug, Default)]
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
    /// Whether the training loop's step was traced and replayed (`tapegrad::function`,
    /// [`RunContext::with_traced`]) rather than run eagerly.
    pub traced: bool,
    /// How many traces the step made (0 when eager; 1 when every step's inputs have one shape).
    pub traces: usize,
}

/// A table of per-step values, as long as the run: the newest rows are held in memory, at most
/// [`History::ROWS_IN_MEMORY`] of them; older ones are moved to an unnamed temporary file
/// (removed by the system when the process ends, however it ends), so a run of 10^8 steps keeps
/// its resident set flat and still writes every row to `history.csv`.
///
/// ```
/// use tapegrad_runner::History;
/// let mut h = History::new(&["step", "loss"]);
/// for step in 0..100_000 {
///     h.push(&[step as f64, 1.0 / (step + 1) as f64])?;
/// }
/// assert_eq!(h.len(), 100_000);
/// assert_eq!(h.row(3)?, [3.0, 0.25]);
/// assert!(h.push(&[1.0]).is_err()); // a row is as wide as the columns
/// # Ok::<(), anyhow::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct History {
    /// Column names.
    pub columns: Vec<String>,
    /// The newest rows, row-major.
    recent: Vec<f64>,
    /// The older rows as little-endian f64 values, row-major, and how many rows it holds.
    spilled: Option<(std::fs::File, usize)>,
}

impl History {
    /// Rows kept in memory before they move to the temporary file (`2^16`: 3 MB for six
    /// columns).
    pub const ROWS_IN_MEMORY: usize = 1 << 16;

    /// An empty table with these columns.
    pub fn new(columns: &[&str]) -> Self {
        History {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            recent: Vec::new(),
            spilled: None,
        }
    }

    fn width(&self) -> usize {
        self.columns.len().max(1)
    }

    fn spilled_rows(&self) -> usize {
        self.spilled.as_ref().map_or(0, |(_, n)| *n)
    }

    /// Appends a row; an error when it is not as wide as the columns, or the temporary file
    /// cannot be written.
    pub fn push(&mut self, row: &[f64]) -> anyhow::Result<()> {
        anyhow::ensure!(
            row.len() == self.columns.len(),
            "history row of {} values for {} columns ({})",
            row.len(),
            self.columns.len(),
            self.columns.join(", ")
        );
        if self.recent.len() >= Self::ROWS_IN_MEMORY * self.width() {
            self.spill()?;
        }
        self.recent.extend_from_slice(row);
        Ok(())
    }

    /// Moves the rows in memory to the end of the temporary file.
    fn spill(&mut self) -> anyhow::Result<()> {
        use std::io::Write;
        let rows = self.recent.len() / self.width();
        let (file, n) = match &mut self.spilled {
            Some(s) => s,
            None => self.spilled.insert((
                tempfile::tempfile().context("creating the history's temporary file")?,
                0,
            )),
        };
        let mut bytes = Vec::with_capacity(self.recent.len() * 8);
        for v in &self.recent {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        file.write_all(&bytes)
            .context("writing the history's temporary file")?;
        *n += rows;
        self.recent.clear();
        Ok(())
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.spilled_rows() + self.recent.len() / self.width()
    }

    /// True when no row was pushed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row `i` (0-based); an error past the end.
    pub fn row(&self, i: usize) -> anyhow::Result<Vec<f64>> {
        let w = self.width();
        let spilled = self.spilled_rows();
        if i < spilled {
            let mut bytes = vec![0u8; w * 8];
            if let Some((file, _)) = &self.spilled {
                use std::os::unix::fs::FileExt;
                file.read_exact_at(&mut bytes, (i * w * 8) as u64)
                    .context("reading the history's temporary file")?;
            }
            return Ok(decode(&bytes));
        }
        let j = i - spilled;
        self.recent
            .get(j * w..(j + 1) * w)
            .map(<[f64]>::to_vec)
            .with_context(|| format!("history row {i} of {}", self.len()))
    }

    /// Calls `f` with every row in order, reading the temporary file in blocks.
    pub fn for_each_row(
        &self,
        mut f: impl FnMut(&[f64]) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let w = self.width();
        if let Some((file, rows)) = &self.spilled {
            use std::os::unix::fs::FileExt;
            let block_rows = Self::ROWS_IN_MEMORY.min(*rows).max(1);
            let mut bytes = vec![0u8; block_rows * w * 8];
            let mut done = 0;
            while done < *rows {
                let take = block_rows.min(rows - done);
                let chunk = &mut bytes[..take * w * 8];
                file.read_exact_at(chunk, (done * w * 8) as u64)
                    .context("reading the history's temporary file")?;
                for row in decode(chunk).chunks_exact(w) {
                    f(row)?;
                }
                done += take;
            }
        }
        for row in self.recent.chunks_exact(w) {
            f(row)?;
        }
        Ok(())
    }

    /// Every row, in memory: for tables known to be short (a test, a figure's points).
    pub fn rows(&self) -> anyhow::Result<Vec<Vec<f64>>> {
        let mut out = Vec::with_capacity(self.len());
        self.for_each_row(|r| {
            out.push(r.to_vec());
            Ok(())
        })?;
        Ok(out)
    }
}

fn decode(bytes: &[u8]) -> Vec<f64> {
    bytes
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
        .collect()
}

/// The losses of a long run for [`RunOutput::loss_history`]: every loss is counted, the first
/// [`LossHistory::LIMIT`] are kept (8 MB); a run with more says so in its notes (every loss is
/// in `history.csv`).
///
/// ```
/// use tapegrad_runner::{LossHistory, RunOutput};
/// let mut losses = LossHistory::default();
/// for i in 0..LossHistory::LIMIT + 5 {
///     losses.push(i as f64);
/// }
/// let mut out = RunOutput::default();
/// losses.finish(&mut out);
/// assert_eq!(out.loss_history.len(), LossHistory::LIMIT);
/// assert_eq!(out.final_loss, Some((LossHistory::LIMIT + 4) as f64));
/// assert!(out.notes[0].contains("history.csv"));
/// ```
#[derive(Debug, Default)]
pub struct LossHistory {
    kept: Vec<f64>,
    count: usize,
    last: Option<f64>,
}

impl LossHistory {
    /// The most losses kept (`2^20`).
    pub const LIMIT: usize = 1 << 20;

    /// Counts a loss, keeping it while fewer than [`LIMIT`](Self::LIMIT) are kept.
    pub fn push(&mut self, loss: f64) {
        if self.kept.len() < Self::LIMIT {
            self.kept.push(loss);
        }
        self.count += 1;
        self.last = Some(loss);
    }

    /// The losses counted.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when none was counted.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Sets `out`'s `loss_history` and `final_loss`, and notes what was not kept.
    pub fn finish(self, out: &mut RunOutput) {
        if self.count > self.kept.len() {
            out.notes.push(format!(
                "loss_history holds the first {} of {} losses; history.csv has every one",
                self.kept.len(),
                self.count
            ));
        }
        out.final_loss = self.last;
        out.loss_history = self.kept;
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
    traced: bool,
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
            traced: false,
        }
    }

    /// The same context, whose runs call their training step through `tapegrad::function`
    /// (traced once, replayed after) when `traced`, eagerly otherwise (the default): the same
    /// closure either way ([`crate::step::Step`]), and the same numbers, bit for bit.
    ///
    /// ```
    /// use tapegrad_runner::{find, Config, RunContext};
    /// let exp = find("custom-training")?;
    /// let cfg = Config::defaults(&exp.params());
    /// let eager = exp.run(&cfg, &mut RunContext::quiet())?;
    /// let traced = exp.run(&cfg, &mut RunContext::quiet().with_traced(true))?;
    /// assert!(traced.traced && !eager.traced);
    /// assert_eq!(traced.traces, 1);
    /// assert_eq!(traced.quantities, eager.quantities);
    /// # Ok::<(), anyhow::Error>(())
    /// ```
    pub fn with_traced(mut self, traced: bool) -> Self {
        self.traced = traced;
        self
    }

    /// Whether runs in this context trace their step ([`with_traced`](Self::with_traced)).
    pub fn traced(&self) -> bool {
        self.traced
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 17, item 9: depth-dense-sgd kept every step's row in memory (714 MB at 10^6
    /// steps); the history holds at most `ROWS_IN_MEMORY` rows and the rest in its file.
    #[test]
    fn a_history_longer_than_memory_holds_keeps_its_newest_rows_and_reads_back_every_row() {
        let n = 3 * History::ROWS_IN_MEMORY + 5;
        let mut h = History::new(&["step", "twice"]);
        for i in 0..n {
            h.push(&[i as f64, 2.0 * i as f64]).unwrap();
            assert!(h.recent.len() <= History::ROWS_IN_MEMORY * 2);
        }
        assert_eq!(h.len(), n);
        assert_eq!(h.spilled_rows(), 3 * History::ROWS_IN_MEMORY);
        let mut seen = 0;
        h.for_each_row(|r| {
            assert_eq!(r, [seen as f64, 2.0 * seen as f64]);
            seen += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, n);
        for i in [0, 1, History::ROWS_IN_MEMORY, n - 6, n - 5, n - 1] {
            assert_eq!(h.row(i).unwrap(), [i as f64, 2.0 * i as f64], "row {i}");
        }
        assert!(h.row(n).is_err());
        assert!(h.push(&[1.0, 2.0, 3.0]).is_err());
    }
}
