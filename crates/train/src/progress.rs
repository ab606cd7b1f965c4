//! Keras's progress display (`Progbar` as `fit` drives it): `Epoch 3/20`, then
//! `12/32 [=======>......................] - ETA: 1s - loss: 0.1234` redrawn after each batch
//! (through `indicatif`, only when standard output is a terminal), and the epoch's last line
//! `32/32 [==============================] - 0s 3ms/step - loss: 0.1234 - val_loss: 0.2345`.
//! With `verbose = 2`, the header and a line an epoch: `32/32 - 0s - loss: 0.1234 - 45ms/epoch - 1ms/step`.
//!
//! The line builders are public functions, so their format is tested without a terminal.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use crate::Logs;

const WIDTH: usize = 30;

/// A value as Keras's progress bar shows it: four decimals, or `%.4e` (Python's exponent, at
/// least two digits) when its magnitude is 1e-3 or less.
///
/// ```
/// use tapegrad_train::progress::format_value;
/// assert_eq!(format_value(0.123456), "0.1235");
/// assert_eq!(format_value(12.0), "12.0000");
/// assert_eq!(format_value(0.000123456), "1.2346e-04");
/// assert_eq!(format_value(0.0), "0.0000e+00");
/// assert_eq!(format_value(f64::NAN), "nan");
/// ```
pub fn format_value(v: f64) -> String {
    value_with(v, v.abs())
}

/// Four decimals when `measure` > 1e-3, else the exponent form.
fn value_with(v: f64, measure: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if measure > 1e-3 {
        format!("{v:.4}")
    } else {
        python_exp(&format!("{v:.4e}"))
    }
}

/// Rust's `1.2346e-4` as Python's `1.2346e-04`.
fn python_exp(s: &str) -> String {
    match s.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => s.to_string(),
    }
}

/// ` - loss: 0.1234 - mae: 0.5000`: each log as the progress bar shows it.
///
/// ```
/// use tapegrad_train::{progress::format_logs, Logs};
/// let mut logs = Logs::new();
/// logs.insert("loss", 0.1234);
/// logs.insert("val_loss", 0.2345);
/// assert_eq!(format_logs(&logs), " - loss: 0.1234 - val_loss: 0.2345");
/// ```
pub fn format_logs(logs: &Logs) -> String {
    logs.iter()
        .map(|(k, v)| format!(" - {k}: {}", format_value(v)))
        .collect()
}

/// `12/32 [=======>......................]`: the count, right-aligned to the target's digits,
/// and a bar of 30.
///
/// ```
/// use tapegrad_train::progress::bar;
/// assert_eq!(bar(12, 32), "12/32 [==========>...................]");
/// assert_eq!(bar(32, 32), "32/32 [==============================]");
/// assert_eq!(bar(3, 120), "  3/120 [..............................]");
/// ```
pub fn bar(current: usize, target: usize) -> String {
    let digits = target.max(1).to_string().len();
    let mut s = format!("{current:>digits$}/{target} [");
    let filled = (WIDTH * current.min(target))
        .checked_div(target)
        .unwrap_or(WIDTH);
    if filled > 0 {
        s.push_str(&"=".repeat(filled - 1));
        s.push(if current < target { '>' } else { '=' });
    }
    s.push_str(&".".repeat(WIDTH - filled));
    s.push(']');
    s
}

/// The time per step as Keras shows it: `2s/step`, `3ms/step`, `250us/step`.
///
/// ```
/// use std::time::Duration;
/// use tapegrad_train::progress::format_time_per_unit;
/// assert_eq!(format_time_per_unit(Duration::from_micros(3_400), "step"), "3ms/step");
/// assert_eq!(format_time_per_unit(Duration::from_micros(250), "step"), "250us/step");
/// assert_eq!(format_time_per_unit(Duration::from_millis(1_600), "epoch"), "2s/epoch");
/// ```
pub fn format_time_per_unit(t: Duration, unit: &str) -> String {
    let s = t.as_secs_f64();
    if s >= 1.0 || s == 0.0 {
        format!("{s:.0}s/{unit}")
    } else if s >= 1e-3 {
        format!("{:.0}ms/{unit}", s * 1e3)
    } else {
        format!("{:.0}us/{unit}", s * 1e6)
    }
}

/// `elapsed / n` (of 1 for none), for any count (`Duration / u32` would wrap past 2³²).
fn per_unit(elapsed: Duration, n: usize) -> Duration {
    Duration::from_secs_f64(elapsed.as_secs_f64() / n.max(1) as f64)
}

/// Keras's ETA: `1:02:03`, `2:05` or `7s`.
fn format_eta(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    if s > 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
    } else if s > 60 {
        format!("{}:{:02}", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// The `verbose = 1` line after `current` of `target` steps (`None`: unknown, a pipeline's
/// first epoch), `elapsed` since the epoch began: the bar and the ETA while running, the bar,
/// the elapsed seconds and the time per step when `current` is the last step.
///
/// ```
/// use std::time::Duration;
/// use tapegrad_train::{progress::progress_line, Logs};
/// let mut logs = Logs::new();
/// logs.insert("loss", 0.1234);
/// let running = progress_line(8, Some(32), Duration::from_millis(800), &logs, false);
/// assert_eq!(running, " 8/32 [======>.......................] - ETA: 2s - loss: 0.1234");
/// let done = progress_line(32, Some(32), Duration::from_millis(96), &logs, true);
/// assert_eq!(done, "32/32 [==============================] - 0s 3ms/step - loss: 0.1234");
/// ```
pub fn progress_line(
    current: usize,
    target: Option<usize>,
    elapsed: Duration,
    logs: &Logs,
    finalize: bool,
) -> String {
    let per_step = per_unit(elapsed, current);
    line(current, target, elapsed, per_step, logs, finalize)
}

/// [`progress_line`] with the time per step given.
fn line(
    current: usize,
    target: Option<usize>,
    elapsed: Duration,
    per_step: Duration,
    logs: &Logs,
    finalize: bool,
) -> String {
    let mut s = match target {
        Some(t) => bar(current, t),
        None if finalize => bar(current, current),
        None => format!("{current:>7}/Unknown"),
    };
    if finalize {
        s.push_str(&format!(
            " - {:.0}s {}",
            elapsed.as_secs_f64(),
            format_time_per_unit(per_step, "step")
        ));
    } else if let Some(t) = target {
        let eta = per_step.as_secs_f64() * t.saturating_sub(current) as f64;
        s.push_str(&format!(" - ETA: {}", format_eta(eta)));
    } else {
        s.push_str(&format!(
            " - {:.0}s {}",
            elapsed.as_secs_f64(),
            format_time_per_unit(per_step, "step")
        ));
    }
    s.push_str(&format_logs(logs));
    s
}

/// The `verbose = 2` line of an epoch of `steps` steps that took `elapsed`. Keras's
/// `verbose = 2` compares each value itself with 1e-3, not its magnitude as the bar does, so a
/// negative value shows in the exponent form there (`-2.5000e+00`); so it does here.
///
/// ```
/// use std::time::Duration;
/// use tapegrad_train::{progress::epoch_line, Logs};
/// let mut logs = Logs::new();
/// logs.insert("loss", 0.5);
/// logs.insert("val_loss", 0.25);
/// let line = epoch_line(4, Duration::from_millis(40), &logs);
/// assert_eq!(line, "4/4 - 0s - loss: 0.5000 - val_loss: 0.2500 - 40ms/epoch - 10ms/step");
/// logs.insert("loss", -2.5);
/// assert!(epoch_line(4, Duration::from_millis(40), &logs).starts_with("4/4 - 0s - loss: -2.5000e+00 - "));
/// ```
pub fn epoch_line(steps: usize, elapsed: Duration, logs: &Logs) -> String {
    let values: String = (logs.iter())
        .map(|(k, v)| format!(" - {k}: {}", value_with(v, v)))
        .collect();
    format!(
        "{steps}/{steps} - {:.0}s{} - {} - {}",
        elapsed.as_secs_f64(),
        values,
        format_time_per_unit(elapsed, "epoch"),
        format_time_per_unit(per_unit(elapsed, steps), "step"),
    )
}

/// `fit`'s display: nothing (`verbose = 0`), a bar (1) or a line an epoch (2), on standard
/// output. The bar is drawn only on a terminal; elsewhere `verbose = 1` prints the epoch
/// header and the epoch's last line.
pub(crate) struct Progress {
    verbose: u8,
    epochs: usize,
    steps: Option<usize>,
    started: Instant,
    /// When the epoch's first step ended: Keras times the steps after it (the first one pays
    /// for tracing there).
    first_step: Option<Instant>,
    bar: Option<indicatif::ProgressBar>,
    terminal: bool,
}

impl Progress {
    pub(crate) fn new(verbose: u8, epochs: usize, steps: Option<usize>) -> Progress {
        Progress {
            verbose,
            epochs,
            steps,
            started: Instant::now(),
            first_step: None,
            bar: None,
            terminal: std::io::stdout().is_terminal(),
        }
    }

    fn print(&self, line: &str) {
        let mut out = std::io::stdout().lock();
        // a closed standard output is no reason to stop training
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }

    /// Keras's `_estimate_step_duration`: the time since the first step ended over the steps
    /// after it, or the time since the start over the steps when there is one.
    fn per_step(&self, current: usize) -> Duration {
        match self.first_step {
            Some(t) if current > 1 => per_unit(t.elapsed(), current - 1),
            _ => per_unit(self.started.elapsed(), current),
        }
    }

    pub(crate) fn epoch_begin(&mut self, epoch: usize) {
        self.started = Instant::now();
        self.first_step = None;
        if self.verbose > 0 {
            self.print(&format!("Epoch {}/{}", epoch + 1, self.epochs));
        }
        if self.verbose == 1 && self.terminal {
            let pb = match self.steps {
                Some(n) => indicatif::ProgressBar::new(n as u64),
                None => indicatif::ProgressBar::no_length(),
            };
            pb.set_draw_target(indicatif::ProgressDrawTarget::stdout());
            if let Ok(style) = indicatif::ProgressStyle::with_template("{msg}") {
                pb.set_style(style);
            }
            self.bar = Some(pb);
        }
    }

    pub(crate) fn batch_end(&mut self, step: usize, logs: &Logs) {
        if step == 1 {
            self.first_step = Some(Instant::now());
        }
        if let Some(pb) = &self.bar {
            let per_step = self.per_step(step);
            let line = line(
                step,
                self.steps,
                self.started.elapsed(),
                per_step,
                logs,
                false,
            );
            pb.set_message(line);
        }
    }

    pub(crate) fn epoch_end(&mut self, steps: usize, logs: &Logs) {
        let elapsed = self.started.elapsed();
        if let Some(pb) = self.bar.take() {
            pb.finish_and_clear();
        }
        match self.verbose {
            1 => {
                let per_step = self.per_step(steps);
                self.print(&line(steps, Some(steps), elapsed, per_step, logs, true))
            }
            2 => self.print(&epoch_line(steps, elapsed, logs)),
            _ => {}
        }
        if self.steps.is_none() {
            self.steps = Some(steps);
        }
    }

    pub(crate) fn abandon(&mut self) {
        if let Some(pb) = self.bar.take() {
            pb.abandon();
        }
    }
}
