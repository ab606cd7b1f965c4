//! [`Compiled`]: a model with its optimizer, loss and metrics, and Keras's `fit`, `evaluate`,
//! `predict`, `train_on_batch` and `test_on_batch` on it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tapegrad_autodiff::{concat, GradientTape, Tensor};
use tapegrad_datasets::pipeline::{Batch, Pipeline};
use tapegrad_datasets::RandomState;
use tapegrad_nn::losses::Loss;
use tapegrad_nn::metrics::Mean;
use tapegrad_nn::Layer;
use tapegrad_optim::{Optimizer, OptimizerExt};
use tapegrad_tensor::Array;

use crate::callbacks::{Callback, TrainContext};
use crate::compile::{CompiledMetric, IntoLoss, IntoMetric, IntoOptimizer};
use crate::progress::Progress;
use crate::{Error, History, Logs, Result};

/// `model.compile(optimizer, loss, metrics)` on every layer (a [`Sequential`] or any
/// [`Layer`]): the optimizer, loss and metrics as objects or by Keras's names.
///
/// ```
/// use tapegrad_nn::{Dense, Sequential};
/// use tapegrad_optim::Sgd;
/// use tapegrad_train::{CompileExt, NO_METRICS};
/// let model = Sequential::new().layer(Dense::new(1))?;
/// let compiled = model.compile(Sgd::new(0.1).momentum(0.9), "mse", NO_METRICS)?;
/// assert_eq!(compiled.optimizer().name(), "SGD");
/// let err = Sequential::new().compile("adam", "mse", ["mea"]).unwrap_err();
/// assert!(err.to_string().starts_with("unknown metric `mea`; known: mae, "), "{err}");
/// # Ok::<(), tapegrad_train::Error>(())
/// ```
///
/// [`Sequential`]: tapegrad_nn::Sequential
pub trait CompileExt: Layer + Sized {
    /// The compiled model, or the error naming the unknown name or the bad setting.
    fn compile<O, L, I>(self, optimizer: O, loss: L, metrics: I) -> Result<Compiled<Self>>
    where
        O: IntoOptimizer,
        L: IntoLoss,
        I: IntoIterator,
        I::Item: IntoMetric,
    {
        compile(self, optimizer, loss, metrics)
    }
}

impl<M: Layer + Sized> CompileExt for M {}

/// [`CompileExt::compile`] as a function.
///
/// ```
/// use tapegrad_nn::{Dense, Sequential};
/// let m = tapegrad_train::compile(Sequential::new().layer(Dense::new(1))?, "adam", "mae", ["mse"])?;
/// assert_eq!(m.metrics_names(), ["loss", "mse"]);
/// # Ok::<(), tapegrad_train::Error>(())
/// ```
pub fn compile<M, O, L, I>(model: M, optimizer: O, loss: L, metrics: I) -> Result<Compiled<M>>
where
    M: Layer,
    O: IntoOptimizer,
    L: IntoLoss,
    I: IntoIterator,
    I::Item: IntoMetric,
{
    let metrics = (metrics.into_iter())
        .map(IntoMetric::into_metric)
        .collect::<Result<Vec<_>>>()?;
    Ok(Compiled {
        model,
        optimizer: optimizer.into_optimizer()?,
        loss: loss.into_loss()?,
        metrics,
        loss_tracker: Mean::new(),
    })
}

/// `fit`'s arguments, with Keras's defaults (`epochs` 1, `batch_size` 32, `shuffle` true,
/// `verbose` 1), set field by field or by the builder methods.
///
/// ```
/// use std::sync::{atomic::AtomicBool, Arc};
/// use tapegrad_train::{EarlyStopping, FitOptions};
/// let mut es = EarlyStopping::new("val_loss").patience(2);
/// let stop = Arc::new(AtomicBool::new(false)); // set by a Ctrl-C handler
/// let opts = FitOptions::new()
///     .epochs(20)
///     .batch_size(16)
///     .validation_split(0.2)
///     .seed(7)
///     .verbose(2)
///     .callback(&mut es)
///     .stop_flag(stop.clone());
/// assert_eq!((opts.epochs, opts.batch_size, opts.shuffle), (20, 16, true));
/// ```
pub struct FitOptions<'a> {
    /// The epoch to stop before (epochs run: `initial_epoch..epochs`).
    pub epochs: usize,
    /// Rows a batch (the last batch takes what is left).
    pub batch_size: usize,
    /// Whether the training rows are permuted at each epoch.
    pub shuffle: bool,
    /// The seed of the permutations: epoch `e` draws the `e`-th permutation of
    /// `RandomState::new(seed)`, from epoch 0 even when `initial_epoch` is later, so that a
    /// resumed fit shuffles as one that ran through.
    pub seed: u32,
    /// The fraction of the rows kept for validation: the last ones, taken before shuffling.
    pub validation_split: f64,
    /// Validation inputs and targets (used instead of `validation_split`).
    pub validation_data: Option<(Tensor, Tensor)>,
    /// The epoch to start from (for resuming).
    pub initial_epoch: usize,
    /// 0: silent, 1: a progress bar, 2: a line an epoch.
    pub verbose: u8,
    /// Called in order, before the [`History`] is recorded.
    pub callbacks: Vec<&'a mut dyn Callback>,
    /// When set (by a Ctrl-C handler, say), `fit` stops after the current batch and returns
    /// the epochs completed.
    pub stop: Option<Arc<AtomicBool>>,
}

impl Default for FitOptions<'_> {
    fn default() -> Self {
        FitOptions {
            epochs: 1,
            batch_size: 32,
            shuffle: true,
            seed: 0,
            validation_split: 0.0,
            validation_data: None,
            initial_epoch: 0,
            verbose: 1,
            callbacks: Vec::new(),
            stop: None,
        }
    }
}

impl<'a> FitOptions<'a> {
    /// Keras's defaults.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets `epochs`.
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }
    /// Sets `batch_size`.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }
    /// Sets `shuffle`.
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }
    /// Sets the seed of the shuffles.
    pub fn seed(mut self, seed: u32) -> Self {
        self.seed = seed;
        self
    }
    /// Sets `validation_split`.
    pub fn validation_split(mut self, split: f64) -> Self {
        self.validation_split = split;
        self
    }
    /// Sets `validation_data`.
    pub fn validation_data(mut self, x: Tensor, y: Tensor) -> Self {
        self.validation_data = Some((x, y));
        self
    }
    /// Sets `initial_epoch`.
    pub fn initial_epoch(mut self, epoch: usize) -> Self {
        self.initial_epoch = epoch;
        self
    }
    /// Sets `verbose`.
    pub fn verbose(mut self, verbose: u8) -> Self {
        self.verbose = verbose;
        self
    }
    /// Adds a callback.
    pub fn callback(mut self, callback: &'a mut dyn Callback) -> Self {
        self.callbacks.push(callback);
        self
    }
    /// Sets the stop flag.
    pub fn stop_flag(mut self, stop: Arc<AtomicBool>) -> Self {
        self.stop = Some(stop);
        self
    }
}

/// A compiled model (what `model.compile` makes of a Keras model): the model, its optimizer,
/// its loss and its metrics.
///
/// ```
/// use tapegrad_autodiff::Tensor;
/// use tapegrad_nn::{Dense, Layer, Sequential};
/// use tapegrad_train::CompileExt;
/// let net = Sequential::with_input_shape(&[2]).layer(Dense::new(1))?;
/// let mut model = net.compile("sgd", "mse", ["mae", "mse"])?;
/// assert_eq!(model.metrics_names(), ["loss", "mae", "mse"]);
/// model.optimizer_mut().set_learning_rate(0.5)?; // `model.optimizer.learning_rate = 0.5`
/// assert_eq!(model.optimizer().learning_rate(), 0.5);
/// let x = Tensor::from_vec(vec![1.0f32, 2.0], &[1, 2])?;
/// let y = Tensor::from_vec(vec![1.0f32], &[1, 1])?;
/// model.train_on_batch(&x, &y)?;
/// assert_eq!(model.optimizer().iterations(), 1);
/// model.reset_metrics();
/// let net: Sequential = model.into_model(); // the trained layers, without the optimizer
/// assert_eq!(net.count_params(), 3);
/// # Ok::<(), tapegrad_train::Error>(())
/// ```
pub struct Compiled<M> {
    model: M,
    optimizer: Box<dyn Optimizer>,
    loss: Box<dyn Loss>,
    metrics: Vec<CompiledMetric>,
    /// The `loss` of the logs: each batch's loss weighted by its rows, in float32 (Keras's
    /// `Mean` metric, as its compiled loss keeps it).
    loss_tracker: Mean,
}

impl<M> std::fmt::Debug for Compiled<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("optimizer", &self.optimizer.name())
            .field("metrics", &self.metrics)
            .finish_non_exhaustive()
    }
}

/// The rows of `x`, at least one, or an error naming `what`.
fn rows(what: &'static str, name: &str, x: &Tensor) -> Result<usize> {
    match x.shape().first() {
        Some(&0) => Err(Error::Data {
            what,
            message: format!("{name} has no rows (shape {:?})", x.shape()),
        }),
        Some(&n) => Ok(n),
        None => Err(Error::Data {
            what,
            message: format!("{name} is a scalar; it needs a first axis of rows"),
        }),
    }
}

fn same_rows(what: &'static str, x: &Tensor, y: &Tensor) -> Result<usize> {
    let (n, m) = (rows(what, "x", x)?, rows(what, "y", y)?);
    if n != m {
        return Err(Error::Data {
            what,
            message: format!(
                "x has {n} rows (shape {:?}) and y {m} (shape {:?}); they must be equal",
                x.shape(),
                y.shape()
            ),
        });
    }
    Ok(n)
}

fn check_batch_size(what: &'static str, batch_size: usize) -> Result<()> {
    if batch_size == 0 {
        return Err(Error::Invalid {
            what,
            message: "batch_size must be at least 1".into(),
        });
    }
    Ok(())
}

/// Rows `start..end` of `x`, on no tape.
fn take(x: &Tensor, start: usize, end: usize) -> Result<Tensor> {
    if start == 0 && x.shape().first() == Some(&end) {
        return Ok(x.clone());
    }
    let idx: Vec<usize> = (start..end).collect();
    Ok(Tensor::new(x.value().gather(&idx)?))
}

fn detached(t: &Tensor) -> Tensor {
    Tensor::new(t.value().clone())
}

impl<M: Layer> Compiled<M> {
    /// Writes the model's weights and the optimizer's state (iterations, slots) to `path`, in
    /// the format its name gives (`.weights.h5` as Keras 3 writes it, `.safetensors`, `.npz`),
    /// atomically: [`load_weights`](Compiled::load_weights) then resumes training where it
    /// stopped, bit for bit.
    ///
    /// ```
    /// use tapegrad_autodiff::Tensor;
    /// use tapegrad_nn::{Dense, GlorotUniform, Layer, Sequential};
    /// use tapegrad_train::{CompileExt, FitOptions};
    /// let x = Tensor::from_vec((0..16).map(|i| i as f32 / 16.0).collect(), &[8, 2])?;
    /// let y = Tensor::from_vec((0..8).map(|i| i as f32).collect(), &[8, 1])?;
    /// let make = || -> tapegrad_train::Result<_> {
    ///     Sequential::with_input_shape(&[2])
    ///         // the file's entries are named by layer (Keras's layers/<name>/vars/0)
    ///         .layer(Dense::new(1).name("out").kernel_initializer(GlorotUniform::seeded(1)))?
    ///         .compile("adam", "mse", tapegrad_train::NO_METRICS)
    /// };
    /// let opts = || FitOptions::new().epochs(2).batch_size(4).shuffle(false).verbose(0);
    /// let dir = std::env::temp_dir().join(format!("tapegrad-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let path = dir.join("model.weights.h5");
    ///
    /// let mut first = make()?;
    /// first.fit(&x, &y, opts())?;
    /// first.save_weights(&path)?;
    /// first.fit(&x, &y, opts())?;
    ///
    /// let mut resumed = make()?;
    /// resumed.load_weights(&path)?;
    /// resumed.fit(&x, &y, opts())?;
    /// assert_eq!(resumed.model().get_weights()[0].to_f64_vec(), first.model().get_weights()[0].to_f64_vec());
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), tapegrad_train::Error>(())
    /// ```
    pub fn save_weights(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        Ok(tapegrad_saving::save_weights_with_optimizer(
            &self.model,
            self.optimizer.as_ref(),
            path,
        )?)
    }

    /// Reads what [`save_weights`](Compiled::save_weights) wrote: the weights and the
    /// optimizer's state, all checked before anything is assigned (a file of another model or
    /// optimizer changes nothing). A file of weights only, or one whose optimizer never
    /// stepped and does not fit (a compiled, untrained Keras model's), loads the weights and
    /// skips the optimizer as Keras 3 does: the result says so
    /// ([`OptimizerLoad::Skipped`](tapegrad_saving::OptimizerLoad::Skipped)), and the
    /// note is printed to stderr, as Keras warns.
    ///
    /// ```
    /// use tapegrad_nn::{Dense, Layer, Sequential};
    /// use tapegrad_train::CompileExt;
    /// let model = Sequential::with_input_shape(&[2]).layer(Dense::new(1).name("out"))?;
    /// let path = std::env::temp_dir().join(format!("tapegrad-doc-skip-{}.weights.h5", std::process::id()));
    /// tapegrad_saving::save_weights(&model, &path)?; // weights, no optimizer
    /// let mut compiled = model.compile("adam", "mse", tapegrad_train::NO_METRICS)?;
    /// let loaded = compiled.load_weights(&path)?;
    /// assert!(matches!(loaded, tapegrad_saving::OptimizerLoad::Skipped(_)));
    /// # std::fs::remove_file(&path).ok();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load_weights(
        &mut self,
        path: impl AsRef<std::path::Path>,
    ) -> Result<tapegrad_saving::OptimizerLoad> {
        let loaded = tapegrad_saving::load_weights_with_optimizer(
            &self.model,
            self.optimizer.as_mut(),
            path,
        )?;
        if let tapegrad_saving::OptimizerLoad::Skipped(note) = &loaded {
            eprintln!("WARNING: {note}");
        }
        Ok(loaded)
    }

    /// The model.
    pub fn model(&self) -> &M {
        &self.model
    }
    /// The model, mutably (to add or rebuild layers).
    pub fn model_mut(&mut self) -> &mut M {
        &mut self.model
    }
    /// The model, giving the optimizer, loss and metrics up.
    pub fn into_model(self) -> M {
        self.model
    }
    /// The optimizer.
    pub fn optimizer(&self) -> &dyn Optimizer {
        self.optimizer.as_ref()
    }
    /// The optimizer, mutably (its learning rate).
    pub fn optimizer_mut(&mut self) -> &mut dyn Optimizer {
        self.optimizer.as_mut()
    }

    /// The names of the logs, in order: `loss`, then the metrics (`model.metrics_names`).
    pub fn metrics_names(&self) -> Vec<String> {
        std::iter::once("loss".to_string())
            .chain(self.metrics.iter().map(|m| m.name().to_string()))
            .collect()
    }

    /// Clears the loss and metric totals (`model.reset_metrics()`).
    pub fn reset_metrics(&mut self) {
        self.loss_tracker.reset_state();
        for m in &mut self.metrics {
            m.reset();
        }
    }

    /// The current loss and metric values, `loss` first.
    fn logs(&self) -> Result<Logs> {
        let mut logs = Logs::new();
        logs.insert("loss", self.loss_tracker.result()?.item()?);
        for m in &self.metrics {
            logs.insert(m.name(), m.result()?);
        }
        Ok(logs)
    }

    fn ensure_built(&mut self, x: &Tensor) -> Result<()> {
        if !self.model.built() {
            self.model.build(x.shape())?;
        }
        Ok(())
    }

    /// Adds a batch to the totals: its loss weighted by its rows, and the metrics.
    fn track(&mut self, y: &Tensor, y_pred: &Tensor, loss: &Tensor) -> Result<()> {
        // Keras's batch_dim: the rows of the target (a scalar counts as one)
        let batch = Tensor::scalar(y.shape().first().map_or(1.0, |&n| n as f32));
        self.loss_tracker
            .update_state_weighted(&detached(loss), &batch)?;
        let y_pred = detached(y_pred);
        for m in &mut self.metrics {
            m.update(y, &y_pred)?;
        }
        Ok(())
    }

    /// One step of training (Keras's `train_step`): the forward pass on a tape with
    /// `training = true` (dropout drops, batch normalization uses and moves the batch's
    /// statistics), the loss, its gradients applied by the optimizer; the totals take the loss
    /// and the metrics of the predictions made before the update. `evaluate` and `predict` call
    /// the model with `training = false`.
    fn train_step(&mut self, x: &Tensor, y: &Tensor) -> Result<()> {
        self.ensure_built(x)?;
        let tape = GradientTape::new();
        let y_pred = self.model.call_training(x, true)?;
        let loss = self.loss.call(y, &y_pred)?;
        let vars = self.model.trainable_variables();
        let refs: Vec<_> = vars.iter().collect();
        let grads = tape.gradients(&loss, &refs)?;
        drop(tape);
        self.optimizer.apply_gradients(&grads)?;
        self.track(y, &y_pred, &loss)
    }

    fn test_step(&mut self, x: &Tensor, y: &Tensor) -> Result<()> {
        self.ensure_built(x)?;
        let y_pred = self.model.call(x)?;
        let loss = self.loss.call(y, &y_pred)?;
        self.track(y, &y_pred, &loss)
    }

    /// Trains on one batch and returns its logs (`model.train_on_batch(x, y)`, with the
    /// totals reset first as Keras's `reset_metrics=True`).
    ///
    /// ```
    /// use tapegrad_autodiff::Tensor;
    /// use tapegrad_nn::{Dense, initializers::Ones, Sequential};
    /// use tapegrad_optim::Sgd;
    /// use tapegrad_train::CompileExt;
    /// let model = Sequential::with_input_shape(&[1]).layer(Dense::new(1).kernel_initializer(Ones))?;
    /// let mut model = model.compile(Sgd::new(0.1), "mse", ["mae"])?;
    /// let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2, 1])?;
    /// let y = Tensor::from_vec(vec![2.0f32, 4.0], &[2, 1])?;
    /// let logs = model.train_on_batch(&x, &y)?;
    /// assert_eq!(logs.get("loss"), Some(2.5)); // ((1-2)² + (2-4)²) / 2, before the step
    /// assert_eq!(logs.get("mae"), Some(1.5));
    /// # Ok::<(), tapegrad_train::Error>(())
    /// ```
    pub fn train_on_batch(&mut self, x: &Tensor, y: &Tensor) -> Result<Logs> {
        same_rows("train_on_batch", x, y)?;
        self.reset_metrics();
        self.train_step(x, y)?;
        self.logs()
    }

    /// The logs of one batch, without training (`model.test_on_batch(x, y)`).
    ///
    /// ```
    /// use tapegrad_autodiff::Tensor;
    /// use tapegrad_nn::{Dense, initializers::Ones, Sequential};
    /// use tapegrad_train::{CompileExt, NO_METRICS};
    /// let model = Sequential::with_input_shape(&[1]).layer(Dense::new(1).kernel_initializer(Ones))?;
    /// let mut model = model.compile("sgd", "mae", NO_METRICS)?;
    /// let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2, 1])?;
    /// let y = Tensor::from_vec(vec![2.0f32, 4.0], &[2, 1])?;
    /// assert_eq!(model.test_on_batch(&x, &y)?.get("loss"), Some(1.5));
    /// let wrong = Tensor::from_vec(vec![2.0f32], &[1, 1])?;
    /// assert!(model.test_on_batch(&x, &wrong).unwrap_err().to_string().contains("x has 2 rows"));
    /// # Ok::<(), tapegrad_train::Error>(())
    /// ```
    pub fn test_on_batch(&mut self, x: &Tensor, y: &Tensor) -> Result<Logs> {
        same_rows("test_on_batch", x, y)?;
        self.reset_metrics();
        self.test_step(x, y)?;
        self.logs()
    }

    /// The loss and metrics over `x`, `y` in batches of `batch_size`
    /// (`model.evaluate(x, y, batch_size)`): each a mean over the rows, as Keras's.
    ///
    /// ```
    /// use tapegrad_autodiff::Tensor;
    /// use tapegrad_nn::{Dense, initializers::Ones, Sequential};
    /// use tapegrad_train::CompileExt;
    /// let model = Sequential::with_input_shape(&[1]).layer(Dense::new(1).kernel_initializer(Ones))?;
    /// let mut model = model.compile("sgd", "mse", ["mae"])?;
    /// let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3, 1])?;
    /// let y = Tensor::from_vec(vec![1.0f32, 2.0, 6.0], &[3, 1])?;
    /// let logs = model.evaluate(&x, &y, 2)?; // batches of 2 rows and 1 row
    /// assert_eq!(logs.get("loss"), Some(3.0));
    /// assert_eq!(logs.get("mae"), Some(1.0));
    /// # Ok::<(), tapegrad_train::Error>(())
    /// ```
    pub fn evaluate(&mut self, x: &Tensor, y: &Tensor, batch_size: usize) -> Result<Logs> {
        check_batch_size("evaluate", batch_size)?;
        let n = same_rows("evaluate", x, y)?;
        self.reset_metrics();
        for start in (0..n).step_by(batch_size) {
            let end = (start + batch_size).min(n);
            self.test_step(&take(x, start, end)?, &take(y, start, end)?)?;
        }
        self.logs()
    }

    /// The model's outputs for `x`, computed in batches of `batch_size` and stacked
    /// (`model.predict(x, batch_size)`).
    ///
    /// ```
    /// use tapegrad_autodiff::Tensor;
    /// use tapegrad_nn::{Dense, initializers::Ones, Sequential};
    /// use tapegrad_train::{CompileExt, NO_METRICS};
    /// let model = Sequential::with_input_shape(&[2]).layer(Dense::new(1).kernel_initializer(Ones))?;
    /// let mut model = model.compile("sgd", "mse", NO_METRICS)?;
    /// let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2])?;
    /// let y = model.predict(&x, 2)?;
    /// assert_eq!(y.shape(), [3, 1]);
    /// assert_eq!(y.to_vec::<f32>()?, [3.0, 7.0, 11.0]);
    /// # Ok::<(), tapegrad_train::Error>(())
    /// ```
    pub fn predict(&mut self, x: &Tensor, batch_size: usize) -> Result<Tensor> {
        check_batch_size("predict", batch_size)?;
        let n = rows("predict", "x", x)?;
        self.ensure_built(x)?;
        let mut outs = Vec::new();
        for start in (0..n).step_by(batch_size) {
            let end = (start + batch_size).min(n);
            outs.push(detached(&self.model.call(&take(x, start, end)?)?));
        }
        if outs.len() == 1 {
            return Ok(outs.remove(0));
        }
        Ok(detached(&concat(&outs, 0)?))
    }

    /// Trains for `epochs` (`model.fit`) and returns the [`History`]: each epoch's loss and
    /// metrics (the means over its rows of what each batch gave before its update, in
    /// float32, as Keras's `Mean` accumulates them) and their `val_` values on the
    /// validation data after the epoch.
    ///
    /// The validation rows are `validation_data` or, with `validation_split`, the last
    /// `split` of the rows (before any shuffle, as Keras takes them). Callbacks are called in
    /// the order given; a callback that sets `stop_training` ends training after the batch or
    /// the epoch. When the stop flag is set, training ends after the current batch, that epoch
    /// is not recorded, and [`History::interrupted`] is true.
    ///
    /// ```
    /// use tapegrad_autodiff::Tensor;
    /// use tapegrad_nn::{Dense, GlorotUniform, Sequential};
    /// use tapegrad_train::{CompileExt, FitOptions};
    /// let x = Tensor::from_vec((0..60).map(|i| (i % 7) as f32).collect(), &[30, 2])?;
    /// let y = Tensor::from_vec((0..30).map(|i| (i % 3) as f32).collect(), &[30, 1])?;
    /// let model = Sequential::with_input_shape(&[2])
    ///     .layer(Dense::new(4).activation("relu")?.kernel_initializer(GlorotUniform::new().seed(1)))?
    ///     .layer(Dense::new(1))?;
    /// let mut model = model.compile("adam", "mse", ["mae"])?;
    /// let opts = FitOptions::new().epochs(2).batch_size(8).validation_split(0.2).verbose(0);
    /// let h = model.fit(&x, &y, opts)?;
    /// assert_eq!(h.keys().collect::<Vec<_>>(), ["loss", "mae", "val_loss", "val_mae"]);
    /// assert_eq!(h.epoch, [0, 1]);
    /// let err = model.fit(&x, &y, FitOptions::new().validation_split(1.5)).unwrap_err();
    /// assert!(err.to_string().starts_with("validation_split: "), "{err}");
    /// # Ok::<(), tapegrad_train::Error>(())
    /// ```
    pub fn fit(&mut self, x: &Tensor, y: &Tensor, opts: FitOptions<'_>) -> Result<History> {
        check_batch_size("fit", opts.batch_size)?;
        let n = same_rows("fit", x, y)?;
        let (x, y, validation) = split(x, y, n, &opts)?;
        self.ensure_built(&x)?;
        let shuffle = if opts.shuffle {
            // the permutations of the epochs before `initial_epoch` drawn and dropped: a fit
            // resumed at epoch k shuffles its epochs as the fit that ran through did
            let mut rng = Box::new(RandomState::new(opts.seed));
            for _ in 0..opts.initial_epoch.min(opts.epochs) {
                rng.permutation(x.shape()[0])?;
            }
            Some(rng)
        } else {
            None
        };
        let source = Source::Tensors {
            x,
            y,
            batch_size: opts.batch_size,
            shuffle,
        };
        self.run(source, validation, opts)
    }

    /// [`fit`](Compiled::fit) on a [`Pipeline`] (Keras's `fit(dataset)`): each epoch is one
    /// pass over it, in the batches it yields (`batch_size`, `shuffle` and `seed` are the
    /// pipeline's own, and `FitOptions`'s are not used); the number of steps is learnt from
    /// the first epoch. Features and targets are cast to float32, as Keras casts its inputs.
    /// `validation_data` is the validation; `validation_split` is refused, as Keras refuses it
    /// for a dataset. A pipeline that repeats for ever never ends an epoch.
    ///
    /// ```
    /// use ndarray::Array2;
    /// use tapegrad_datasets::pipeline::Pipeline;
    /// use tapegrad_nn::{Dense, Sequential};
    /// use tapegrad_train::{CompileExt, FitOptions, NO_METRICS};
    /// let x = Array2::from_shape_fn((20, 2), |(i, j)| (i * 2 + j) as f64 / 40.0);
    /// let y = Array2::from_shape_fn((20, 1), |(i, _)| i as f64 / 20.0);
    /// let data = Pipeline::from_arrays(x, y)?.shuffle(20, 3).batch(8);
    /// let mut model = Sequential::new().layer(Dense::new(1))?.compile("sgd", "mse", NO_METRICS)?;
    /// let h = model.fit_pipeline(&data, FitOptions::new().epochs(2).verbose(0))?;
    /// assert_eq!(h.epoch, [0, 1]);
    /// let split = FitOptions::new().validation_split(0.2);
    /// let err = model.fit_pipeline(&data, split).unwrap_err().to_string();
    /// assert!(err.starts_with("validation_split: is only supported for tensors"), "{err}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// [`Pipeline`]: tapegrad_datasets::pipeline::Pipeline
    pub fn fit_pipeline(&mut self, data: &Pipeline, opts: FitOptions<'_>) -> Result<History> {
        if opts.validation_split != 0.0 {
            return Err(Error::Invalid {
                what: "validation_split",
                message: "is only supported for tensors, not a pipeline; pass validation_data"
                    .into(),
            });
        }
        let validation = opts.validation_data.clone();
        if let Some((vx, vy)) = &validation {
            same_rows("validation_data", vx, vy)?;
        }
        self.run(Source::Pipeline(data), validation, opts)
    }

    /// [`evaluate`](Compiled::evaluate) over the batches of a [`Pipeline`] (one pass).
    ///
    /// ```
    /// use ndarray::Array2;
    /// use tapegrad_datasets::pipeline::Pipeline;
    /// use tapegrad_nn::{Dense, initializers::Ones, Sequential};
    /// use tapegrad_train::CompileExt;
    /// let x = Array2::from_shape_vec((3, 1), vec![1.0, 2.0, 3.0])?;
    /// let y = Array2::from_shape_vec((3, 1), vec![1.0, 2.0, 6.0])?;
    /// let data = Pipeline::from_arrays(x, y)?.batch(2);
    /// let net = Sequential::with_input_shape(&[1]).layer(Dense::new(1).kernel_initializer(Ones))?;
    /// let mut model = net.compile("sgd", "mse", ["mae"])?;
    /// assert_eq!(model.evaluate_pipeline(&data)?.get("loss"), Some(3.0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// [`Pipeline`]: tapegrad_datasets::pipeline::Pipeline
    pub fn evaluate_pipeline(&mut self, data: &Pipeline) -> Result<Logs> {
        self.reset_metrics();
        for batch in data.iter()? {
            let (x, y) = tensors(batch?)?;
            self.test_step(&x, &y)?;
        }
        self.logs()
    }

    /// The loop of `fit` over a source of batches.
    fn run(
        &mut self,
        mut source: Source<'_>,
        validation: Option<(Tensor, Tensor)>,
        mut opts: FitOptions<'_>,
    ) -> Result<History> {
        if opts.verbose > 2 {
            return Err(Error::Invalid {
                what: "fit",
                message: format!("verbose must be 0, 1 or 2, got {}", opts.verbose),
            });
        }
        let mut state = Shared {
            stop_training: false,
            epochs: opts.epochs,
            steps: source.steps(),
        };
        let mut progress = Progress::new(opts.verbose, opts.epochs, state.steps);
        let mut history = History::default();
        let callbacks = &mut opts.callbacks;
        let mut last_logs = Logs::new();
        self.each(callbacks, &mut state, |cb, ctx| cb.on_train_begin(ctx))?;
        for epoch in opts.initial_epoch..opts.epochs {
            self.reset_metrics();
            self.each(callbacks, &mut state, |cb, ctx| {
                cb.on_epoch_begin(epoch, ctx)
            })?;
            progress.epoch_begin(epoch);
            let mut logs = Logs::new();
            let mut interrupted = false;
            let mut steps = 0;
            for (step, batch) in source.epoch()?.enumerate() {
                let (xb, yb) = batch?;
                self.each(callbacks, &mut state, |cb, ctx| {
                    cb.on_batch_begin(step, ctx)
                })?;
                self.ensure_built(&xb)?;
                self.train_step(&xb, &yb)?;
                steps = step + 1;
                logs = self.logs()?;
                self.each(callbacks, &mut state, |cb, ctx| {
                    cb.on_batch_end(step, &logs, ctx)
                })?;
                progress.batch_end(steps, &logs);
                if opts.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst)) {
                    interrupted = true;
                    break;
                }
                if state.stop_training {
                    break;
                }
            }
            if interrupted {
                progress.abandon();
                history.interrupted = true;
                break;
            }
            if steps == 0 {
                return Err(Error::Data {
                    what: "fit",
                    message: format!("epoch {} had no batch to train on", epoch + 1),
                });
            }
            state.steps.get_or_insert(steps);
            if let Some((vx, vy)) = &validation {
                let val = self.evaluate(vx, vy, source.validation_batch_size())?;
                for (k, v) in val.iter() {
                    logs.insert(&format!("val_{k}"), v);
                }
            }
            progress.epoch_end(steps, &logs);
            self.each(callbacks, &mut state, |cb, ctx| {
                cb.on_epoch_end(epoch, &mut logs, ctx)
            })?;
            history.record(epoch, &logs);
            last_logs = logs;
            if state.stop_training {
                break;
            }
        }
        self.each(callbacks, &mut state, |cb, ctx| {
            cb.on_train_end(&last_logs, ctx)
        })?;
        Ok(history)
    }

    /// Calls `f` on each callback with a context over this model.
    fn each(
        &mut self,
        callbacks: &mut [&mut dyn Callback],
        state: &mut Shared,
        mut f: impl FnMut(&mut dyn Callback, &mut TrainContext<'_>) -> Result<()>,
    ) -> Result<()> {
        for cb in callbacks.iter_mut() {
            let mut ctx = TrainContext {
                model: &self.model,
                optimizer: self.optimizer.as_mut(),
                stop_training: state.stop_training,
                epochs: state.epochs,
                steps: state.steps,
            };
            f(&mut **cb, &mut ctx)?;
            state.stop_training = ctx.stop_training;
        }
        Ok(())
    }
}

/// What callbacks share across calls.
struct Shared {
    stop_training: bool,
    epochs: usize,
    /// Steps an epoch, once known.
    steps: Option<usize>,
}

type Pairs<'s> = Box<dyn Iterator<Item = Result<(Tensor, Tensor)>> + 's>;

/// Where `fit`'s batches come from.
enum Source<'p> {
    /// Rows of tensors, in batches of `batch_size`, permuted each epoch when `shuffle` holds
    /// a generator.
    Tensors {
        x: Tensor,
        y: Tensor,
        batch_size: usize,
        // boxed: a generator's state is 2.5 KB
        shuffle: Option<Box<RandomState>>,
    },
    /// A pipeline's batches, a pass an epoch.
    Pipeline(&'p Pipeline),
}

impl Source<'_> {
    fn steps(&self) -> Option<usize> {
        match self {
            Source::Tensors { x, batch_size, .. } => Some(x.shape()[0].div_ceil(*batch_size)),
            Source::Pipeline(_) => None,
        }
    }

    /// Keras's default validation batch size: the training one (32 for a pipeline).
    fn validation_batch_size(&self) -> usize {
        match self {
            Source::Tensors { batch_size, .. } => *batch_size,
            Source::Pipeline(_) => 32,
        }
    }

    /// The batches of one epoch.
    fn epoch(&mut self) -> Result<Pairs<'_>> {
        match self {
            Source::Tensors {
                x,
                y,
                batch_size,
                shuffle,
            } => {
                let n = x.shape()[0];
                let b = *batch_size;
                let (x, y) = (&*x, &*y);
                Ok(match shuffle {
                    Some(rng) => {
                        let order = rng.permutation(n)?.to_vec();
                        Box::new((0..n).step_by(b).map(move |start| {
                            let idx = &order[start..(start + b).min(n)];
                            Ok((
                                Tensor::new(x.value().gather(idx)?),
                                Tensor::new(y.value().gather(idx)?),
                            ))
                        }))
                    }
                    None => Box::new((0..n).step_by(b).map(move |start| {
                        let end = (start + b).min(n);
                        Ok((take(x, start, end)?, take(y, start, end)?))
                    })),
                })
            }
            Source::Pipeline(p) => Ok(Box::new(p.iter()?.map(|b| tensors(b?)))),
        }
    }
}

/// A pipeline's batch as float32 tensors.
fn tensors(batch: Batch) -> Result<(Tensor, Tensor)> {
    let f32s = |a: ndarray::Array2<f64>| Tensor::new(Array::from_array(a.mapv(|v| v as f32)));
    Ok((f32s(batch.features), f32s(batch.targets)))
}

type Split = (Tensor, Tensor, Option<(Tensor, Tensor)>);

/// The training rows and the validation rows: `validation_data`, or the last
/// `validation_split` of the rows (`floor(n * (1 - split))` rows kept for training, Keras's).
fn split(x: &Tensor, y: &Tensor, n: usize, opts: &FitOptions<'_>) -> Result<Split> {
    let s = opts.validation_split;
    if !(0.0..1.0).contains(&s) {
        return Err(Error::Invalid {
            what: "validation_split",
            message: format!("must be ≥ 0 and < 1, got {s}"),
        });
    }
    if let Some((vx, vy)) = &opts.validation_data {
        same_rows("validation_data", vx, vy)?;
        return Ok((x.clone(), y.clone(), Some((vx.clone(), vy.clone()))));
    }
    if s == 0.0 {
        return Ok((x.clone(), y.clone(), None));
    }
    let at = (n as f64 * (1.0 - s)).floor() as usize;
    if at == 0 || at == n {
        return Err(Error::Data {
            what: "validation_split",
            message: format!(
                "{s} of {n} rows leaves {at} to train on and {} to validate on; both need at least one",
                n - at
            ),
        });
    }
    Ok((
        take(x, 0, at)?,
        take(y, 0, at)?,
        Some((take(x, at, n)?, take(y, at, n)?)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NO_METRICS;
    use tapegrad_nn::initializers::Ones;
    use tapegrad_nn::{Dense, GlorotUniform, Sequential};
    use tapegrad_optim::Sgd;

    fn data(n: usize) -> (Tensor, Tensor) {
        let x: Vec<f32> = (0..2 * n).map(|i| ((i * 7 % 11) as f32) / 11.0).collect();
        let y: Vec<f32> = (0..n).map(|i| x[2 * i] - 2.0 * x[2 * i + 1]).collect();
        (
            Tensor::from_vec(x, &[n, 2]).unwrap(),
            Tensor::from_vec(y, &[n, 1]).unwrap(),
        )
    }

    fn model(seed: u64) -> Sequential {
        Sequential::with_input_shape(&[2])
            .layer(
                Dense::new(3)
                    .activation("tanh")
                    .unwrap()
                    .kernel_initializer(GlorotUniform::seeded(seed)),
            )
            .unwrap()
            .layer(Dense::new(1).kernel_initializer(GlorotUniform::seeded(seed + 1)))
            .unwrap()
    }

    fn quiet() -> FitOptions<'static> {
        FitOptions::new().verbose(0)
    }

    #[test]
    fn validation_split_takes_the_last_rows_before_shuffling() -> Result<()> {
        let (x, y) = data(10);
        // 10 * (1 - 0.25) = 7.5: 7 rows to train on, the last 3 to validate on
        let mut a = compile(model(3), Sgd::new(0.05), "mse", ["mae"])?;
        let h = a.fit(&x, &y, quiet().epochs(2).validation_split(0.25).seed(4))?;
        let mut b = compile(model(3), Sgd::new(0.05), "mse", ["mae"])?;
        let (vx, vy) = (take(&x, 7, 10)?, take(&y, 7, 10)?);
        let opts = quiet().epochs(2).seed(4).validation_data(vx, vy);
        let g = b.fit(&take(&x, 0, 7)?, &take(&y, 0, 7)?, opts)?;
        assert_eq!(h, g);
        assert!(h.get("val_loss").is_some_and(|v| v.len() == 2));
        Ok(())
    }

    #[test]
    fn shuffle_is_seeded_and_changes_the_batches() -> Result<()> {
        let (x, y) = data(24);
        let run = |shuffle: bool, seed: u32| -> Result<History> {
            let mut m = compile(model(5), Sgd::new(0.1), "mse", NO_METRICS)?;
            m.fit(
                &x,
                &y,
                quiet().epochs(3).batch_size(5).shuffle(shuffle).seed(seed),
            )
        };
        assert_eq!(run(true, 1)?, run(true, 1)?);
        assert_ne!(run(true, 1)?.get("loss"), run(true, 2)?.get("loss"));
        assert_ne!(run(true, 1)?.get("loss"), run(false, 1)?.get("loss"));
        Ok(())
    }

    #[test]
    fn the_epoch_loss_is_the_row_weighted_mean_of_the_batch_losses() -> Result<()> {
        // an untrainable step (learning rate 0): the epoch loss is evaluate's, and both are
        // the mean over rows, not over the 3 batches of 4, 4 and 2 rows
        let (x, y) = data(10);
        let mut m = compile(model(7), Sgd::new(0.0), "mse", ["mae"])?;
        let h = m.fit(&x, &y, quiet().batch_size(4).shuffle(false))?;
        let whole = m.test_on_batch(&x, &y)?;
        let batched = m.evaluate(&x, &y, 4)?;
        let loss = h.get("loss").unwrap()[0];
        assert!((loss - whole.get("loss").unwrap()).abs() < 1e-6);
        assert_eq!(loss, batched.get("loss").unwrap());
        let per_batch: Vec<f64> = [(0, 4), (4, 8), (8, 10)]
            .iter()
            .map(|&(a, b)| {
                m.test_on_batch(&take(&x, a, b).unwrap(), &take(&y, a, b).unwrap())
                    .unwrap()
                    .get("loss")
                    .unwrap()
            })
            .collect();
        let unweighted = per_batch.iter().sum::<f64>() / 3.0;
        let weighted = (per_batch[0] * 4.0 + per_batch[1] * 4.0 + per_batch[2] * 2.0) / 10.0;
        assert!((loss - weighted).abs() < 1e-6);
        assert!((loss - unweighted).abs() > 1e-4, "{loss} {unweighted}");
        Ok(())
    }

    #[test]
    fn predict_in_batches_equals_one_call() -> Result<()> {
        let (x, _) = data(9);
        let mut m = compile(model(9), "adam", "mse", NO_METRICS)?;
        let whole = m.model().call(&x)?;
        for batch in [1, 2, 4, 9, 50] {
            assert_eq!(
                m.predict(&x, batch)?.to_vec::<f32>()?,
                whole.to_vec::<f32>()?
            );
        }
        Ok(())
    }

    #[test]
    fn an_unbuilt_model_is_built_from_the_data() -> Result<()> {
        let (x, y) = data(6);
        let net = Sequential::new().layer(Dense::new(1).kernel_initializer(Ones))?;
        let mut m = net.compile(Sgd::new(0.01), "mae", NO_METRICS)?;
        let h = m.fit(&x, &y, quiet().epochs(2))?;
        assert_eq!(h.len(), 2);
        assert_eq!(m.model().count_params(), 3);
        Ok(())
    }

    #[test]
    fn a_compiled_model_can_train_in_another_thread() -> Result<()> {
        fn send<T: Send>(t: T) -> T {
            t
        }
        let (x, y) = data(8);
        let mut m = send(compile(model(4), "rmsprop", "huber", ["mse"])?);
        let h = std::thread::spawn(move || m.fit(&x, &y, quiet().epochs(2)))
            .join()
            .map_err(|_| Error::Invalid {
                what: "thread",
                message: "panicked".into(),
            })??;
        assert_eq!(h.len(), 2);
        Ok(())
    }

    #[test]
    fn a_fit_resumed_at_initial_epoch_equals_one_that_ran_through() -> Result<()> {
        let (x, y) = data(11);
        let opts = || quiet().batch_size(3).seed(8).validation_split(0.2);
        let mut through = compile(model(6), "adam", "mse", ["mae"])?;
        let whole = through.fit(&x, &y, opts().epochs(5))?;
        let mut resumed = compile(model(6), "adam", "mse", ["mae"])?;
        let first = resumed.fit(&x, &y, opts().epochs(2))?;
        let rest = resumed.fit(&x, &y, opts().epochs(5).initial_epoch(2))?;
        assert_eq!(rest.epoch, [2, 3, 4]);
        for key in ["loss", "mae", "val_loss", "val_mae"] {
            let joined: Vec<f64> = [first.get(key).unwrap(), rest.get(key).unwrap()].concat();
            assert_eq!(joined, whole.get(key).unwrap(), "{key}");
        }
        let (a, b) = (through.model().get_weights(), resumed.model().get_weights());
        assert!(a.iter().zip(&b).all(|(u, v)| u.value().equals(v.value())));
        Ok(())
    }

    #[test]
    fn a_pipeline_in_order_trains_as_the_same_tensors_do() -> Result<()> {
        let (x, y) = data(13);
        let (vx, vy) = (take(&x, 0, 4)?, take(&y, 0, 4)?);
        let wide = |t: &Tensor| {
            let v: Vec<f64> = t
                .to_vec::<f32>()
                .unwrap()
                .iter()
                .map(|&a| f64::from(a))
                .collect();
            ndarray::Array2::from_shape_vec((t.shape()[0], t.shape()[1]), v).unwrap()
        };
        let pipe = Pipeline::from_arrays(wide(&x), wide(&y))?.batch(5);
        let mut a = compile(model(2), "adam", "mse", ["mae"])?;
        let opts = quiet().epochs(3).validation_data(vx.clone(), vy.clone());
        let from_pipe = a.fit_pipeline(&pipe, opts.batch_size(4))?;
        let mut b = compile(model(2), "adam", "mse", ["mae"])?;
        let opts = quiet().epochs(3).batch_size(5).shuffle(false);
        // validation in batches of 32 for a pipeline: 4 rows, one batch either way
        let from_tensors = b.fit(&x, &y, opts.validation_data(vx, vy))?;
        assert_eq!(from_pipe, from_tensors);
        for (u, v) in a.model().get_weights().iter().zip(b.model().get_weights()) {
            assert!(u.value().equals(v.value()));
        }
        assert_eq!(a.evaluate_pipeline(&pipe)?, b.evaluate(&x, &y, 5)?);
        Ok(())
    }

    #[test]
    fn a_csv_file_streamed_trains_as_its_rows_in_memory() -> Result<()> {
        let (x, y) = data(10);
        let (xv, yv) = (x.to_vec::<f32>()?, y.to_vec::<f32>()?);
        let mut text = String::from("a,b,y\n");
        for i in 0..10 {
            text.push_str(&format!("{},{},{}\n", xv[2 * i], xv[2 * i + 1], yv[i]));
        }
        let path = std::env::temp_dir().join(format!("train-csv-{}.csv", std::process::id()));
        std::fs::write(&path, text).map_err(|e| crate::error::io_error(&path, e))?;
        let pipe = Pipeline::from_csv(&path, &["y"]).batch(4);
        let mut a = compile(model(8), "sgd", "mse", ["mae"])?;
        let streamed = a.fit_pipeline(&pipe, quiet().epochs(2));
        std::fs::remove_file(&path).map_err(|e| crate::error::io_error(&path, e))?;
        let mut b = compile(model(8), "sgd", "mse", ["mae"])?;
        let in_memory = b.fit(&x, &y, quiet().epochs(2).batch_size(4).shuffle(false))?;
        assert_eq!(streamed?, in_memory);
        Ok(())
    }
}
