//! # tapegrad-train
//!
//! Keras's training loop over tapegrad's layers, with tf-keras 2.21's semantics and numbers:
//! [`compile`](CompileExt::compile) a model with an optimizer, a loss and metrics (objects or
//! Keras's names), then [`fit`](Compiled::fit), [`evaluate`](Compiled::evaluate),
//! [`predict`](Compiled::predict), [`train_on_batch`](Compiled::train_on_batch) and
//! [`test_on_batch`](Compiled::test_on_batch); [`Callback`]s and Keras's own
//! ([`EarlyStopping`], [`ModelCheckpoint`], ...); the progress display Keras prints.
//!
//! ```
//! use tapegrad_autodiff::Tensor;
//! use tapegrad_nn::{Dense, Sequential};
//! use tapegrad_train::{CompileExt, FitOptions};
//!
//! let x = Tensor::from_vec((0..40).map(|i| i as f32 / 40.0).collect(), &[20, 2])?;
//! let y = Tensor::from_vec((0..20).map(|i| i as f32 / 10.0).collect(), &[20, 1])?;
//! let model = Sequential::with_input_shape(&[2]).layer(Dense::new(1))?;
//! let mut model = model.compile("sgd", "mse", ["mae"])?;
//! let history = model.fit(&x, &y, FitOptions::new().epochs(3).batch_size(8).verbose(0))?;
//! assert_eq!(history.get("loss").map(|l| l.len()), Some(3));
//! assert_eq!(history.keys().collect::<Vec<_>>(), ["loss", "mae"]);
//! # Ok::<(), tapegrad_train::Error>(())
//! ```
//!
//! With `shuffle`, the rows are permuted each epoch by [`RandomState::permutation`]
//! (numpy's), seeded by `FitOptions::seed`: the order is reproducible here (a fit resumed at
//! `initial_epoch` shuffles as one that ran through), but it is not the order TensorFlow's
//! shuffle gives, so only unshuffled fits repeat tf-keras's numbers.
//!
//! Data comes as tensors ([`Compiled::fit`]) or as a datasets `Pipeline`
//! ([`Compiled::fit_pipeline`], Keras's `fit(dataset)`: a CSV file streamed a row at a time
//! trains without being held in memory).
//!
//! [`RandomState::permutation`]: tapegrad_datasets::RandomState::permutation

pub mod callbacks;
mod compile;
mod error;
mod logs;
pub mod progress;
mod trainer;

pub use callbacks::{
    CSVLogger, Callback, EarlyStopping, LearningRateScheduler, Mode, ModelCheckpoint,
    ReduceLROnPlateau, SaveFn, TerminateOnNaN, TrainContext,
};
pub use compile::{
    BinaryAccuracy, CompiledMetric, IntoLoss, IntoMetric, IntoOptimizer, LOSS_NAMES, METRIC_NAMES,
    NO_METRICS, OPTIMIZER_NAMES,
};
pub use error::{Error, Result};
pub use logs::{History, Logs};
pub use trainer::{compile, CompileExt, Compiled, FitOptions};
