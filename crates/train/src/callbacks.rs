//! [`Callback`]s: code `fit` runs at the start and end of training, of each epoch and of each
//! batch, with the logs (`keras.callbacks`), and Keras's own: [`EarlyStopping`],
//! [`ModelCheckpoint`], [`LearningRateScheduler`], [`ReduceLROnPlateau`], [`TerminateOnNaN`],
//! [`CSVLogger`] (the [`History`](crate::History) is `fit`'s return value, kept by a callback
//! `fit` adds last, as Keras adds it).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use tapegrad_autodiff::Tensor;
use tapegrad_nn::Layer;
use tapegrad_optim::Optimizer;

use crate::error::{io_error, unknown};
use crate::{Error, Logs, Result};

/// What a callback may look at and change while `fit` runs: the model, the optimizer (its
/// learning rate), and `stop_training` (Keras's `model.stop_training`): set it and `fit`
/// stops after the current batch, or after the current epoch when set at an epoch's end.
///
/// ```
/// use tapegrad_nn::{Dense, Layer};
/// use tapegrad_optim::{Optimizer, Sgd};
/// use tapegrad_train::{Callback, LearningRateScheduler, TrainContext};
/// let mut model = Dense::new(1);
/// model.build(&[1, 3])?;
/// let mut opt = Sgd::new(0.1);
/// let mut ctx = TrainContext { model: &model, optimizer: &mut opt, stop_training: false, epochs: 5, steps: Some(10) };
/// LearningRateScheduler::new(|_, lr| lr / 2.0).on_epoch_begin(0, &mut ctx)?;
/// assert_eq!(ctx.optimizer.learning_rate(), 0.05f32 as f64);
/// assert_eq!(ctx.model.count_params(), 4);
/// # Ok::<(), tapegrad_train::Error>(())
/// ```
pub struct TrainContext<'a> {
    /// The model being trained.
    pub model: &'a dyn Layer,
    /// Its optimizer.
    pub optimizer: &'a mut dyn Optimizer,
    /// Set to stop training.
    pub stop_training: bool,
    /// The `epochs` argument of `fit` (the last epoch is `epochs - 1`).
    pub epochs: usize,
    /// Steps an epoch, when known.
    pub steps: Option<usize>,
}

/// Code run by `fit` (`keras.callbacks.Callback`); every method does nothing by default.
/// Epochs and batches are counted from 0, as Keras counts them.
///
/// ```
/// use tapegrad_train::{Callback, Logs, TrainContext, Result};
///
/// /// Stops once the loss is below a threshold.
/// struct StopBelow(f64);
///
/// impl Callback for StopBelow {
///     fn on_epoch_end(&mut self, _epoch: usize, logs: &mut Logs, ctx: &mut TrainContext<'_>) -> Result<()> {
///         if logs.get("loss").is_some_and(|l| l < self.0) {
///             ctx.stop_training = true;
///         }
///         Ok(())
///     }
/// }
/// # let _ = StopBelow(0.1);
/// ```
pub trait Callback {
    /// Before the first epoch.
    fn on_train_begin(&mut self, _ctx: &mut TrainContext<'_>) -> Result<()> {
        Ok(())
    }
    /// After the last epoch, with the last epoch's logs.
    fn on_train_end(&mut self, _logs: &Logs, _ctx: &mut TrainContext<'_>) -> Result<()> {
        Ok(())
    }
    /// Before each epoch.
    fn on_epoch_begin(&mut self, _epoch: usize, _ctx: &mut TrainContext<'_>) -> Result<()> {
        Ok(())
    }
    /// After each epoch (and its validation), with the epoch's logs; a callback may add to
    /// them (`ReduceLROnPlateau` adds `lr`), and the history records what callbacks added.
    fn on_epoch_end(
        &mut self,
        _epoch: usize,
        _logs: &mut Logs,
        _ctx: &mut TrainContext<'_>,
    ) -> Result<()> {
        Ok(())
    }
    /// Before each training batch.
    fn on_batch_begin(&mut self, _batch: usize, _ctx: &mut TrainContext<'_>) -> Result<()> {
        Ok(())
    }
    /// After each training batch, with the epoch's running logs.
    fn on_batch_end(
        &mut self,
        _batch: usize,
        _logs: &Logs,
        _ctx: &mut TrainContext<'_>,
    ) -> Result<()> {
        Ok(())
    }
}

/// Whether a monitored value improves by going down or up (`mode`); `Auto` is `Max` for a
/// name containing `acc` and `Min` otherwise, as Keras decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// From the monitored name.
    #[default]
    Auto,
    /// Lower is better.
    Min,
    /// Higher is better.
    Max,
}

impl std::str::FromStr for Mode {
    type Err = Error;

    /// `"auto"`, `"min"` or `"max"`.
    ///
    /// ```
    /// use tapegrad_train::Mode;
    /// assert_eq!("max".parse::<Mode>()?, Mode::Max);
    /// assert_eq!("up".parse::<Mode>().unwrap_err().to_string(), "unknown mode `up`; known: auto, min, max");
    /// # Ok::<(), tapegrad_train::Error>(())
    /// ```
    fn from_str(s: &str) -> Result<Mode> {
        match s {
            "auto" => Ok(Mode::Auto),
            "min" => Ok(Mode::Min),
            "max" => Ok(Mode::Max),
            _ => Err(unknown("mode", s, &["auto", "min", "max"])),
        }
    }
}

impl Mode {
    /// True when larger values of `monitor` are better.
    fn maximizes(self, monitor: &str) -> bool {
        match self {
            Mode::Max => true,
            Mode::Min => false,
            Mode::Auto => monitor.contains("acc") || monitor.starts_with("fmeasure"),
        }
    }

    /// The best value before any epoch: the worst there is.
    fn worst(self, monitor: &str) -> f64 {
        if self.maximizes(monitor) {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }
    }

    /// Whether `value` beats `reference` by more than `min_delta`.
    fn improves(self, monitor: &str, value: f64, reference: f64, min_delta: f64) -> bool {
        if self.maximizes(monitor) {
            value - min_delta > reference
        } else {
            value + min_delta < reference
        }
    }
}

/// Builder methods that set the field of their name and return the value.
macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $t:ty;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, $name: $t) -> Self {
                self.$name = $name;
                self
            }
        )*
    };
}

fn missing(callback: &str, monitor: &str, logs: &Logs) {
    eprintln!(
        "{callback} conditioned on metric `{monitor}` which is not available. Available metrics are: {}",
        logs.keys().collect::<Vec<_>>().join(",")
    );
}

/// Stops training when a monitored value has stopped improving
/// (`keras.callbacks.EarlyStopping`): after `patience` epochs without an improvement of more
/// than `min_delta` over the best value, counted from the last epoch that improved on it (and,
/// with a `baseline`, beat the baseline too; an improvement short of the baseline does not stop
/// training but does not reset the count), and, with `restore_best_weights`, sets the weights
/// of the best epoch back at the end of training, early or not (tf-keras 2.21's rules).
///
/// ```
/// use tapegrad_train::{EarlyStopping, Mode};
/// let es = EarlyStopping::new("val_loss").patience(3).min_delta(1e-3).mode(Mode::Min).restore_best_weights(true);
/// assert_eq!(es.stopped_epoch(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct EarlyStopping {
    monitor: String,
    min_delta: f64,
    patience: usize,
    mode: Mode,
    baseline: Option<f64>,
    restore_best_weights: bool,
    start_from_epoch: usize,
    verbose: bool,
    wait: usize,
    stopped_epoch: usize,
    best: f64,
    best_epoch: usize,
    best_weights: Option<Vec<Tensor>>,
}

impl EarlyStopping {
    /// Watches `monitor` (Keras's default is `"val_loss"`), with patience 0 and min_delta 0.
    pub fn new(monitor: &str) -> Self {
        EarlyStopping {
            monitor: monitor.to_string(),
            min_delta: 0.0,
            patience: 0,
            mode: Mode::Auto,
            baseline: None,
            restore_best_weights: false,
            start_from_epoch: 0,
            verbose: false,
            wait: 0,
            stopped_epoch: 0,
            best: f64::INFINITY,
            best_epoch: 0,
            best_weights: None,
        }
    }
    /// The smallest change that counts as an improvement (its sign is ignored).
    pub fn min_delta(mut self, min_delta: f64) -> Self {
        self.min_delta = min_delta.abs();
        self
    }
    setters! {
        /// Epochs without improvement before stopping.
        patience: usize;
        /// Whether lower or higher is better.
        mode: Mode;
    }
    /// A value to beat: epochs that do not beat it count towards `patience`.
    pub fn baseline(mut self, baseline: f64) -> Self {
        self.baseline = Some(baseline);
        self
    }
    setters! {
        /// Sets the best epoch's weights back when training ends.
        restore_best_weights: bool;
        /// Epochs to let pass before any is compared (a warm-up).
        start_from_epoch: usize;
        /// Prints `Epoch N: early stopping` when it stops.
        verbose: bool;
    }
    /// The epoch training stopped at (0 when it did not stop).
    pub fn stopped_epoch(&self) -> usize {
        self.stopped_epoch
    }
    /// The epoch of the best value.
    pub fn best_epoch(&self) -> usize {
        self.best_epoch
    }
    /// The best value seen.
    pub fn best(&self) -> f64 {
        self.best
    }

    fn improves(&self, value: f64, reference: f64) -> bool {
        (self.mode).improves(&self.monitor, value, reference, self.min_delta)
    }
}

impl Callback for EarlyStopping {
    fn on_train_begin(&mut self, _ctx: &mut TrainContext<'_>) -> Result<()> {
        self.wait = 0;
        self.stopped_epoch = 0;
        self.best = self.mode.worst(&self.monitor);
        self.best_weights = None;
        self.best_epoch = 0;
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        ctx: &mut TrainContext<'_>,
    ) -> Result<()> {
        let Some(current) = logs.get(&self.monitor) else {
            missing("Early stopping", &self.monitor, logs);
            return Ok(());
        };
        if epoch < self.start_from_epoch {
            return Ok(());
        }
        if self.restore_best_weights && self.best_weights.is_none() {
            self.best_weights = Some(ctx.model.get_weights());
            self.best_epoch = epoch;
        }
        self.wait += 1;
        if self.improves(current, self.best) {
            self.best = current;
            self.best_epoch = epoch;
            if self.restore_best_weights {
                self.best_weights = Some(ctx.model.get_weights());
            }
            // an improvement that does not beat the baseline keeps counting, without stopping
            if self.baseline.is_none_or(|b| self.improves(current, b)) {
                self.wait = 0;
            }
            return Ok(());
        }
        if self.wait >= self.patience && epoch > 0 {
            self.stopped_epoch = epoch;
            ctx.stop_training = true;
        }
        Ok(())
    }

    /// Reports the stop, and with `restore_best_weights` sets the best epoch's weights back,
    /// whether training stopped early or ran to the end (as tf-keras 2.21 does).
    fn on_train_end(&mut self, _logs: &Logs, ctx: &mut TrainContext<'_>) -> Result<()> {
        if self.stopped_epoch > 0 && self.verbose {
            println!("Epoch {}: early stopping", self.stopped_epoch + 1);
        }
        if let (true, Some(w)) = (self.restore_best_weights, &self.best_weights) {
            if self.verbose {
                println!(
                    "Restoring model weights from the end of the best epoch: {}.",
                    self.best_epoch + 1
                );
            }
            ctx.model.set_weights(w)?;
        }
        Ok(())
    }
}

/// Sets the learning rate at the start of each epoch to `schedule(epoch, lr)`
/// (`keras.callbacks.LearningRateScheduler`) and logs it as `lr`.
///
/// ```
/// use tapegrad_train::LearningRateScheduler;
/// let halve_after_2 = LearningRateScheduler::new(|epoch, lr| if epoch < 2 { lr } else { lr * 0.5 });
/// # let _ = halve_after_2;
/// ```
pub struct LearningRateScheduler {
    schedule: Box<dyn FnMut(usize, f64) -> f64 + Send>,
    verbose: bool,
}

impl LearningRateScheduler {
    /// A scheduler of `schedule(epoch, current_lr) -> new_lr`.
    pub fn new(schedule: impl FnMut(usize, f64) -> f64 + Send + 'static) -> Self {
        LearningRateScheduler {
            schedule: Box::new(schedule),
            verbose: false,
        }
    }
    setters! {
        /// Prints each new rate.
        verbose: bool;
    }
}

impl Callback for LearningRateScheduler {
    fn on_epoch_begin(&mut self, epoch: usize, ctx: &mut TrainContext<'_>) -> Result<()> {
        let lr = (self.schedule)(epoch, ctx.optimizer.learning_rate());
        ctx.optimizer.set_learning_rate(lr)?;
        if self.verbose {
            println!(
                "\nEpoch {}: LearningRateScheduler setting learning rate to {lr}.",
                epoch + 1
            );
        }
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        _epoch: usize,
        logs: &mut Logs,
        ctx: &mut TrainContext<'_>,
    ) -> Result<()> {
        logs.insert("lr", ctx.optimizer.learning_rate());
        Ok(())
    }
}

/// Multiplies the learning rate by `factor` when a monitored value has not improved by more
/// than `min_delta` for `patience` epochs, then waits `cooldown` epochs, never going below
/// `min_lr` (`keras.callbacks.ReduceLROnPlateau`); logs the rate as `lr`.
///
/// ```
/// use tapegrad_train::ReduceLROnPlateau;
/// let r = ReduceLROnPlateau::new("val_loss").factor(0.5)?.patience(2).cooldown(1).min_lr(1e-5);
/// assert!(ReduceLROnPlateau::new("loss").factor(1.0).is_err());
/// # let _ = r;
/// # Ok::<(), tapegrad_train::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ReduceLROnPlateau {
    monitor: String,
    factor: f64,
    patience: usize,
    mode: Mode,
    min_delta: f64,
    cooldown: usize,
    min_lr: f64,
    verbose: bool,
    wait: usize,
    cooldown_counter: usize,
    best: f64,
}

impl ReduceLROnPlateau {
    /// Keras's defaults: factor 0.1, patience 10, min_delta 1e-4, cooldown 0, min_lr 0.
    pub fn new(monitor: &str) -> Self {
        ReduceLROnPlateau {
            monitor: monitor.to_string(),
            factor: 0.1,
            patience: 10,
            mode: Mode::Auto,
            min_delta: 1e-4,
            cooldown: 0,
            min_lr: 0.0,
            verbose: false,
            wait: 0,
            cooldown_counter: 0,
            best: f64::INFINITY,
        }
    }
    /// The factor, refused unless it is below 1 (Keras's check).
    pub fn factor(mut self, factor: f64) -> Result<Self> {
        if factor >= 1.0 || factor.is_nan() {
            return Err(Error::Invalid {
                what: "ReduceLROnPlateau",
                message: format!("does not support a factor >= 1.0, got {factor}"),
            });
        }
        self.factor = factor;
        Ok(self)
    }
    setters! {
        /// Epochs without improvement before reducing.
        patience: usize;
        /// Whether lower or higher is better.
        mode: Mode;
        /// The smallest change that counts as an improvement.
        min_delta: f64;
        /// Epochs to wait after a reduction before counting again.
        cooldown: usize;
        /// The lowest rate.
        min_lr: f64;
        /// Prints each reduction.
        verbose: bool;
    }

    fn improves(&self, value: f64) -> bool {
        (self.mode).improves(&self.monitor, value, self.best, self.min_delta)
    }
}

impl Callback for ReduceLROnPlateau {
    fn on_train_begin(&mut self, _ctx: &mut TrainContext<'_>) -> Result<()> {
        self.wait = 0;
        self.cooldown_counter = 0;
        self.best = self.mode.worst(&self.monitor);
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        ctx: &mut TrainContext<'_>,
    ) -> Result<()> {
        logs.insert("lr", ctx.optimizer.learning_rate());
        let Some(current) = logs.get(&self.monitor) else {
            missing("Learning rate reduction", &self.monitor, logs);
            return Ok(());
        };
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.wait = 0;
        }
        if self.improves(current) {
            self.best = current;
            self.wait = 0;
        } else if self.cooldown_counter == 0 {
            self.wait += 1;
            if self.wait >= self.patience {
                // Keras reads the rate as a float32 and multiplies it in float32 (numpy 2's
                // rule for a Python float beside a float32)
                let old = ctx.optimizer.learning_rate() as f32;
                if old > self.min_lr as f32 {
                    let new = f64::from(old * self.factor as f32).max(self.min_lr);
                    ctx.optimizer.set_learning_rate(new)?;
                    if self.verbose {
                        println!(
                            "\nEpoch {}: ReduceLROnPlateau reducing learning rate to {new}.",
                            epoch + 1
                        );
                    }
                    self.cooldown_counter = self.cooldown;
                    self.wait = 0;
                }
            }
        }
        Ok(())
    }
}

/// Stops training at the first batch whose loss is NaN or infinite
/// (`keras.callbacks.TerminateOnNaN`): `fit` ends after that batch, the epoch's logs and
/// history holding the non-finite loss.
///
/// ```
/// use tapegrad_nn::{Dense, Layer};
/// use tapegrad_optim::Sgd;
/// use tapegrad_train::{Callback, Logs, TerminateOnNaN, TrainContext};
/// let mut model = Dense::new(1);
/// model.build(&[1, 1])?;
/// let mut opt = Sgd::new(0.1);
/// let mut ctx = TrainContext { model: &model, optimizer: &mut opt, stop_training: false, epochs: 1, steps: None };
/// let mut logs = Logs::new();
/// logs.insert("loss", f64::NAN);
/// TerminateOnNaN.on_batch_end(0, &logs, &mut ctx)?;
/// assert!(ctx.stop_training);
/// # Ok::<(), tapegrad_train::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct TerminateOnNaN;

impl Callback for TerminateOnNaN {
    fn on_batch_end(
        &mut self,
        batch: usize,
        logs: &Logs,
        ctx: &mut TrainContext<'_>,
    ) -> Result<()> {
        if logs.get("loss").is_some_and(|l| !l.is_finite()) {
            println!("Batch {batch}: Invalid loss, terminating training");
            ctx.stop_training = true;
        }
        Ok(())
    }
}

/// Keras's `History` callback: each epoch's logs appended (`fit` returns its own; give one
/// to `fit` as a callback to keep a second record, across several `fit` calls). As Keras's,
/// the start of training forgets the epochs but not the values.
///
/// ```
/// use tapegrad_autodiff::Tensor;
/// use tapegrad_nn::{initializers::Constant, Dense, Sequential};
/// use tapegrad_train::{compile, FitOptions, History, NO_METRICS};
/// let model = Sequential::with_input_shape(&[1]).layer(Dense::new(1).kernel_initializer(Constant(1.0)))?;
/// let mut model = compile(model, "sgd", "mse", NO_METRICS)?;
/// let (x, y) = (Tensor::from_vec(vec![1.0f32, 2.0], &[2, 1])?, Tensor::from_vec(vec![2.0f32, 4.0], &[2, 1])?);
/// let mut kept = History::default();
/// let returned = model.fit(&x, &y, FitOptions::new().epochs(2).verbose(0).callback(&mut kept))?;
/// assert_eq!(kept.get("loss"), returned.get("loss"));
/// model.fit(&x, &y, FitOptions::new().epochs(1).verbose(0).callback(&mut kept))?;
/// assert_eq!((kept.epoch.clone(), kept.get("loss").map(|l| l.len())), (vec![0], Some(3)));
/// # Ok::<(), tapegrad_train::Error>(())
/// ```
impl Callback for crate::History {
    fn on_train_begin(&mut self, _ctx: &mut TrainContext<'_>) -> Result<()> {
        self.epoch.clear();
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        _ctx: &mut TrainContext<'_>,
    ) -> Result<()> {
        self.record(epoch, logs);
        Ok(())
    }
}

/// Python's `repr` of a float, as the `csv` module writes it: the shortest digits that read
/// back, in exponent form below 1e-4 or from 1e16.
fn python_repr(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let a = v.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        let s = format!("{v:e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match e.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', e),
        };
        format!("{m}e{sign}{digits:0>2}")
    } else if v.fract() == 0.0 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

/// Writes each epoch's logs as a row of a CSV file (`keras.callbacks.CSVLogger`): a header
/// `epoch,` then the log names sorted (followed by their `val_` names when the first epoch has
/// no validation, as Keras's), each value as Python writes a float (`repr`), a missing one as
/// `NA`, lines ending `\r\n` as Python's `csv` ends them. With `append`, rows go after those of an earlier run (no second header).
///
/// ```
/// use tapegrad_train::CSVLogger;
/// let log = CSVLogger::new(std::env::temp_dir().join("training.log")).separator(';').append(false);
/// # let _ = log;
/// ```
#[derive(Debug)]
pub struct CSVLogger {
    path: PathBuf,
    separator: char,
    append: bool,
    keys: Option<Vec<String>>,
    file: Option<File>,
    write_header: bool,
}

impl CSVLogger {
    /// Logs to `path`, comma-separated, replacing the file.
    pub fn new(path: impl AsRef<Path>) -> Self {
        CSVLogger {
            path: path.as_ref().to_path_buf(),
            separator: ',',
            append: false,
            keys: None,
            file: None,
            write_header: true,
        }
    }
    setters! {
        /// The separator.
        separator: char;
        /// Appends to the file instead of replacing it.
        append: bool;
    }
}

impl Callback for CSVLogger {
    fn on_train_begin(&mut self, _ctx: &mut TrainContext<'_>) -> Result<()> {
        let existing = self.append && std::fs::metadata(&self.path).is_ok_and(|m| m.len() > 0);
        self.write_header = !existing;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(self.append)
            .truncate(!self.append)
            .open(&self.path)
            .map_err(|e| io_error(&self.path, e))?;
        self.file = Some(file);
        self.keys = None;
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        _ctx: &mut TrainContext<'_>,
    ) -> Result<()> {
        let keys = self.keys.get_or_insert_with(|| {
            let mut k: Vec<String> = logs.keys().map(str::to_string).collect();
            k.sort();
            // Keras adds the `val_` columns when the first epoch has none (they are `NA` then)
            if !k.iter().any(|k| k.starts_with("val_")) {
                let val: Vec<String> = k.iter().map(|k| format!("val_{k}")).collect();
                k.extend(val);
            }
            k
        });
        let sep = self.separator.to_string();
        let mut text = String::new();
        if self.write_header {
            text.push_str(&format!("epoch{sep}{}\r\n", keys.join(&sep)));
            self.write_header = false;
        }
        let values: Vec<String> = (keys.iter())
            .map(|k| logs.get(k).map_or("NA".to_string(), python_repr))
            .collect();
        text.push_str(&format!("{epoch}{sep}{}\r\n", values.join(&sep)));
        if let Some(f) = &mut self.file {
            f.write_all(text.as_bytes())
                .and_then(|_| f.flush())
                .map_err(|e| io_error(&self.path, e))?;
        }
        Ok(())
    }

    fn on_train_end(&mut self, _logs: &Logs, _ctx: &mut TrainContext<'_>) -> Result<()> {
        self.file = None;
        Ok(())
    }
}

/// How [`ModelCheckpoint`] writes a model to a file: any `FnMut(&dyn Layer, &Path)`, e.g. a
/// weights writer of the format the path names.
///
/// ```
/// use std::path::Path;
/// use tapegrad_nn::Layer;
/// use tapegrad_train::SaveFn;
/// let writer: SaveFn = Box::new(|model: &dyn Layer, path: &Path| {
///     let text = format!("{} weights", model.get_weights().len());
///     std::fs::write(path, text).map_err(|e| tapegrad_train::Error::Io { path: path.display().to_string(), message: e.to_string() })
/// });
/// # let _ = writer;
/// ```
pub type SaveFn = Box<dyn FnMut(&dyn Layer, &Path) -> Result<()> + Send>;

/// Saves the model after each epoch, or only when a monitored value improved
/// (`keras.callbacks.ModelCheckpoint` with `save_freq="epoch"`), through a writer given as an
/// argument. The file name may hold Keras's fields: `{epoch}` / `{epoch:02d}` (from 1) and
/// any log, `{val_loss:.2f}`. Each file is written whole or not at all: the writer writes a
/// temporary file beside it (the same name behind a `.tmp-` prefix, so the extension is kept),
/// renamed over the target when it returns.
///
/// ```
/// use tapegrad_train::{Logs, ModelCheckpoint};
/// let ckpt = ModelCheckpoint::new("ckpt/weights.{epoch:02d}-{val_loss:.2f}.npz", |_model, _path| Ok(()))
///     .monitor("val_loss")
///     .save_best_only(true);
/// let mut logs = Logs::new();
/// logs.insert("val_loss", 0.12345);
/// assert_eq!(ckpt.file_name(2, &logs)?, "ckpt/weights.03-0.12.npz");
/// # Ok::<(), tapegrad_train::Error>(())
/// ```
pub struct ModelCheckpoint {
    filepath: String,
    save: SaveFn,
    monitor: String,
    mode: Mode,
    save_best_only: bool,
    verbose: bool,
    best: f64,
    saved: Vec<PathBuf>,
    /// Checks the file name when training begins (the weights writer's format).
    check: Option<fn(&Path) -> Result<()>>,
}

impl ModelCheckpoint {
    /// Saves the model's weights to `filepath` in the format its name gives
    /// (`tapegrad_saving::save_weights`: `.weights.h5`, `.safetensors`, `.npz`), written
    /// atomically. The name's format is checked when training begins (`on_train_begin`):
    /// another extension, or `.keras`, stops `fit` before its first epoch.
    ///
    /// ```
    /// let ckpt = tapegrad_train::ModelCheckpoint::weights("ckpt/epoch{epoch:02d}.weights.h5")
    ///     .save_best_only(true);
    /// # let _ = ckpt;
    /// ```
    pub fn weights(filepath: &str) -> Self {
        let mut ckpt = Self::new(filepath, |model: &dyn Layer, path: &Path| {
            Ok(tapegrad_saving::save_weights(model, path)?)
        });
        ckpt.check = Some(|path: &Path| {
            tapegrad_saving::Format::for_weights(path)?;
            Ok(())
        });
        ckpt
    }

    /// Saves to `filepath` with `save(model, path)`; monitors `val_loss` by default.
    pub fn new(
        filepath: &str,
        save: impl FnMut(&dyn Layer, &Path) -> Result<()> + Send + 'static,
    ) -> Self {
        ModelCheckpoint {
            filepath: filepath.to_string(),
            save: Box::new(save),
            monitor: "val_loss".into(),
            mode: Mode::Auto,
            save_best_only: false,
            verbose: false,
            best: f64::INFINITY,
            saved: Vec::new(),
            check: None,
        }
    }
    /// The log compared with `save_best_only`.
    pub fn monitor(mut self, monitor: &str) -> Self {
        self.monitor = monitor.to_string();
        self
    }
    setters! {
        /// Whether lower or higher is better.
        mode: Mode;
        /// Saves only when the monitored value is better than every earlier one.
        save_best_only: bool;
        /// Prints each save.
        verbose: bool;
    }
    /// The files written, in order.
    pub fn saved(&self) -> &[PathBuf] {
        &self.saved
    }

    /// The file name for `epoch` (from 0; the name shows it from 1) with these logs: fields
    /// `{epoch}`, `{epoch:0Nd}`, `{name}`, `{name:.Nf}`; an unknown field is an error.
    pub fn file_name(&self, epoch: usize, logs: &Logs) -> Result<String> {
        let mut out = String::new();
        let mut rest = self.filepath.as_str();
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let Some(close) = rest[open..].find('}') else {
                return Err(self.bad_field(&rest[open..]));
            };
            let field = &rest[open + 1..open + close];
            let (name, spec) = field.split_once(':').unwrap_or((field, ""));
            let value = if name == "epoch" {
                (epoch + 1) as f64
            } else {
                logs.get(name).ok_or_else(|| self.bad_field(field))?
            };
            out.push_str(&format_field(value, spec).ok_or_else(|| self.bad_field(field))?);
            rest = &rest[open + close + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn bad_field(&self, field: &str) -> Error {
        Error::Invalid {
            what: "ModelCheckpoint",
            message: format!(
                "the file path `{}` has the field `{{{field}}}`, which is neither `epoch` nor a log of this epoch, or has a format other than `0Nd` or `.Nf`",
                self.filepath
            ),
        }
    }
}

/// `{value:spec}` for Python's `d`, `0Nd`, `.Nf` and no spec.
fn format_field(value: f64, spec: &str) -> Option<String> {
    if spec.is_empty() {
        return Some(if value.fract() == 0.0 && value.abs() < 1e15 {
            format!("{}", value as i64)
        } else {
            python_repr(value)
        });
    }
    if let Some(d) = spec.strip_suffix('d') {
        // Python's `{:02d}` pads with zeros, `{:2d}` with spaces, `{:0d}` not at all
        let zeros = d.len() > 1 && d.starts_with('0');
        let width: usize = if d.is_empty() { 0 } else { d.parse().ok()? };
        let v = value as i64;
        return Some(if zeros {
            format!("{v:0width$}")
        } else {
            format!("{v:>width$}")
        });
    }
    let digits: usize = spec.strip_prefix('.')?.strip_suffix('f')?.parse().ok()?;
    Some(format!("{value:.digits$}"))
}

/// Calls `write(tmp)` on a temporary path beside `path`, then renames it to `path`; the
/// temporary file is removed when `write` fails.
pub(crate) fn write_atomically(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".tmp-{}-{name}", std::process::id()));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    }
    if let Err(e) = write(&tmp) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(|e| io_error(path, e))
}

impl Callback for ModelCheckpoint {
    fn on_train_begin(&mut self, _ctx: &mut TrainContext<'_>) -> Result<()> {
        if let Some(check) = self.check {
            check(Path::new(&self.filepath))?;
        }
        self.best = self.mode.worst(&self.monitor);
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        epoch: usize,
        logs: &mut Logs,
        ctx: &mut TrainContext<'_>,
    ) -> Result<()> {
        let path = PathBuf::from(self.file_name(epoch, logs)?);
        if self.save_best_only {
            let Some(current) = logs.get(&self.monitor) else {
                eprintln!(
                    "Can save best model only with {} available, skipping.",
                    self.monitor
                );
                return Ok(());
            };
            let better = (self.mode).improves(&self.monitor, current, self.best, 0.0);
            if !better {
                if self.verbose {
                    println!(
                        "\nEpoch {}: {} did not improve from {:.5}",
                        epoch + 1,
                        self.monitor,
                        self.best
                    );
                }
                return Ok(());
            }
            if self.verbose {
                println!(
                    "\nEpoch {}: {} improved from {:.5} to {current:.5}, saving model to {}",
                    epoch + 1,
                    self.monitor,
                    self.best,
                    path.display()
                );
            }
            self.best = current;
        } else if self.verbose {
            println!("\nEpoch {}: saving model to {}", epoch + 1, path.display());
        }
        let model = ctx.model;
        let save = &mut self.save;
        write_atomically(&path, |tmp| save(model, tmp))?;
        self.saved.push(path);
        Ok(())
    }
}
