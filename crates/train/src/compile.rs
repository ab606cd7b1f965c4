//! What `compile` takes: optimizers, losses and metrics as objects or by Keras's names
//! ([`IntoOptimizer`], [`IntoLoss`], [`IntoMetric`]).

use tapegrad_autodiff::{DType, Tensor};
use tapegrad_nn::losses::{self, Loss};
use tapegrad_nn::metrics::{self, Mean, Metric};
use tapegrad_optim::{Adadelta, Adagrad, Adam, AdamW, Adamax, Nadam, Optimizer, RMSprop, Sgd};

use crate::error::{unknown, Result};

/// The optimizer names `compile` knows, each with Keras's defaults.
///
/// ```
/// use tapegrad_train::{IntoOptimizer, OPTIMIZER_NAMES};
/// for name in OPTIMIZER_NAMES {
///     assert_eq!(name.into_optimizer()?.name().to_ascii_lowercase(), *name);
/// }
/// # Ok::<(), tapegrad_train::Error>(())
/// ```
pub const OPTIMIZER_NAMES: &[&str] = &[
    "adadelta", "adagrad", "adam", "adamax", "adamw", "nadam", "rmsprop", "sgd",
];

/// The loss names `compile` knows (Keras's functions and their short names).
///
/// ```
/// use tapegrad_train::{IntoLoss, LOSS_NAMES};
/// assert!(LOSS_NAMES.iter().all(|name| name.into_loss().is_ok()));
/// ```
pub const LOSS_NAMES: &[&str] = &[
    "mse",
    "mean_squared_error",
    "mae",
    "mean_absolute_error",
    "huber",
    "huber_loss",
    "log_cosh",
    "logcosh",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
];

/// The metric names `compile` knows. `"accuracy"` (or `"acc"`) becomes binary, categorical or
/// sparse categorical accuracy from the shapes of the first batch, as Keras chooses.
///
/// ```
/// use tapegrad_train::{IntoMetric, METRIC_NAMES};
/// for name in METRIC_NAMES {
///     assert_eq!(name.into_metric()?.name(), *name);
/// }
/// # Ok::<(), tapegrad_train::Error>(())
/// ```
pub const METRIC_NAMES: &[&str] = &[
    "mae",
    "mean_absolute_error",
    "mse",
    "mean_squared_error",
    "accuracy",
    "acc",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
];

/// An optimizer, or Keras's name of one (`"adam"`: `Adam` with Keras's defaults).
///
/// ```
/// use tapegrad_train::IntoOptimizer;
/// assert_eq!("rmsprop".into_optimizer()?.learning_rate(), 0.001f32 as f64); // kept in float32
/// let err = "adamm".into_optimizer().map(|_| ()).unwrap_err().to_string();
/// assert_eq!(err, "unknown optimizer `adamm`; known: adadelta, adagrad, adam, adamax, adamw, nadam, rmsprop, sgd");
/// # Ok::<(), tapegrad_train::Error>(())
/// ```
pub trait IntoOptimizer {
    /// The optimizer, or the error naming the known names.
    fn into_optimizer(self) -> Result<Box<dyn Optimizer>>;
}

impl IntoOptimizer for &str {
    fn into_optimizer(self) -> Result<Box<dyn Optimizer>> {
        Ok(match self.to_ascii_lowercase().as_str() {
            "sgd" => Box::new(Sgd::default()),
            "adam" => Box::new(Adam::default()),
            "rmsprop" => Box::new(RMSprop::default()),
            "adagrad" => Box::new(Adagrad::default()),
            "adadelta" => Box::new(Adadelta::default()),
            "nadam" => Box::new(Nadam::default()),
            "adamax" => Box::new(Adamax::default()),
            "adamw" => Box::new(AdamW::default()),
            _ => return Err(unknown("optimizer", self, OPTIMIZER_NAMES)),
        })
    }
}

/// A `String` names what its `&str` names; with `itself`, the boxed object is itself.
macro_rules! by_owned_name {
    ($trait:ident, $method:ident, $out:ty) => {
        impl $trait for String {
            fn $method(self) -> Result<$out> {
                self.as_str().$method()
            }
        }
    };
    ($trait:ident, $method:ident, $out:ty, itself) => {
        by_owned_name!($trait, $method, $out);
        impl $trait for $out {
            fn $method(self) -> Result<$out> {
                Ok(self)
            }
        }
    };
}

by_owned_name!(IntoOptimizer, into_optimizer, Box<dyn Optimizer>, itself);
by_owned_name!(IntoLoss, into_loss, Box<dyn Loss>, itself);
by_owned_name!(IntoMetric, into_metric, CompiledMetric, itself);

macro_rules! into_optimizer {
    ($($t:ty),*) => {$(
        impl IntoOptimizer for $t {
            fn into_optimizer(self) -> Result<Box<dyn Optimizer>> {
                Ok(Box::new(self.checked()?))
            }
        }
    )*};
}
into_optimizer!(Sgd, Adam, AdamW, RMSprop, Adagrad, Adadelta, Nadam, Adamax);

/// A loss object, or Keras's name of a loss function (`"mse"`), reduced over the batch as
/// `compile` reduces it (`SUM_OVER_BATCH_SIZE`).
///
/// ```
/// use tapegrad_train::IntoLoss;
/// assert!("huber".into_loss().is_ok());
/// assert!("hinge".into_loss().map(|_| ()).unwrap_err().to_string().starts_with("unknown loss `hinge`; known: mse, "));
/// ```
pub trait IntoLoss {
    /// The loss, or the error naming the known names.
    fn into_loss(self) -> Result<Box<dyn Loss>>;
}

impl IntoLoss for &str {
    fn into_loss(self) -> Result<Box<dyn Loss>> {
        Ok(match self {
            "mse" | "mean_squared_error" => Box::new(losses::MeanSquaredError::new()),
            "mae" | "mean_absolute_error" => Box::new(losses::MeanAbsoluteError::new()),
            "huber" | "huber_loss" => Box::new(losses::Huber::new()),
            "log_cosh" | "logcosh" => Box::new(losses::LogCosh::new()),
            "binary_crossentropy" => Box::new(losses::BinaryCrossentropy::new()),
            "categorical_crossentropy" => Box::new(losses::CategoricalCrossentropy::new()),
            "sparse_categorical_crossentropy" => {
                Box::new(losses::SparseCategoricalCrossentropy::new())
            }
            _ => return Err(unknown("loss", self, LOSS_NAMES)),
        })
    }
}

macro_rules! into_loss {
    ($($t:ty),*) => {$(
        impl IntoLoss for $t {
            fn into_loss(self) -> Result<Box<dyn Loss>> {
                Ok(Box::new(self))
            }
        }
    )*};
}
into_loss!(
    losses::MeanSquaredError,
    losses::MeanAbsoluteError,
    losses::Huber,
    losses::LogCosh,
    losses::BinaryCrossentropy,
    losses::CategoricalCrossentropy,
    losses::SparseCategoricalCrossentropy
);

/// A metric object, or Keras's name of one. The name is the key in the logs and the history
/// (`"mae"` logs `mae` and `val_mae`, as Keras logs the string it was given).
///
/// ```
/// use tapegrad_train::IntoMetric;
/// assert_eq!("mae".into_metric()?.name(), "mae");
/// assert!("auc".into_metric().is_err());
/// # Ok::<(), tapegrad_train::Error>(())
/// ```
pub trait IntoMetric {
    /// The metric, or the error naming the known names.
    fn into_metric(self) -> Result<CompiledMetric>;
}

impl IntoMetric for &str {
    fn into_metric(self) -> Result<CompiledMetric> {
        let kind = match self {
            "mae" | "mean_absolute_error" => {
                Kind::Ready(Box::new(metrics::MeanAbsoluteError::new()))
            }
            "mse" | "mean_squared_error" => Kind::Ready(Box::new(metrics::MeanSquaredError::new())),
            "accuracy" | "acc" => Kind::Accuracy,
            "binary_accuracy" => Kind::Ready(Box::new(BinaryAccuracy::new())),
            "categorical_accuracy" => Kind::Ready(Box::new(metrics::CategoricalAccuracy::new())),
            "sparse_categorical_accuracy" => {
                Kind::Ready(Box::new(metrics::SparseCategoricalAccuracy::new()))
            }
            _ => return Err(unknown("metric", self, METRIC_NAMES)),
        };
        Ok(CompiledMetric {
            name: self.to_string(),
            kind,
        })
    }
}

impl IntoMetric for Box<dyn Metric> {
    fn into_metric(self) -> Result<CompiledMetric> {
        Ok(CompiledMetric {
            name: self.name().to_string(),
            kind: Kind::Ready(self),
        })
    }
}

macro_rules! into_metric {
    ($($t:ty),*) => {$(
        impl IntoMetric for $t {
            fn into_metric(self) -> Result<CompiledMetric> {
                (Box::new(self) as Box<dyn Metric>).into_metric()
            }
        }
    )*};
}
into_metric!(
    metrics::MeanAbsoluteError,
    metrics::MeanSquaredError,
    metrics::RootMeanSquaredError,
    metrics::CategoricalAccuracy,
    metrics::SparseCategoricalAccuracy,
    metrics::R2Score,
    BinaryAccuracy
);

/// No metrics, for `compile(model, "sgd", "mse", NO_METRICS)`.
pub const NO_METRICS: [&str; 0] = [];

enum Kind {
    Ready(Box<dyn Metric>),
    /// `"accuracy"`: which accuracy depends on the shapes, known at the first batch.
    Accuracy,
}

/// A metric as `compile` holds it: the name it logs under and the metric. A metric object
/// logs under its own name.
///
/// ```
/// use tapegrad_nn::metrics::RootMeanSquaredError;
/// use tapegrad_train::IntoMetric;
/// assert_eq!(RootMeanSquaredError::new().into_metric()?.name(), "root_mean_squared_error");
/// assert_eq!("acc".into_metric()?.name(), "acc");
/// # Ok::<(), tapegrad_train::Error>(())
/// ```
pub struct CompiledMetric {
    name: String,
    kind: Kind,
}

impl std::fmt::Debug for CompiledMetric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledMetric")
            .field("name", &self.name)
            .finish()
    }
}

impl CompiledMetric {
    /// The key in the logs.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn update(&mut self, y_true: &Tensor, y_pred: &Tensor) -> Result<()> {
        if let Kind::Accuracy = self.kind {
            self.kind = Kind::Ready(accuracy_for(y_true, y_pred));
        }
        if let Kind::Ready(m) = &mut self.kind {
            m.update_state(y_true, y_pred)?;
        }
        Ok(())
    }

    /// The value so far (0 before any batch, as Keras's metrics start).
    pub(crate) fn result(&self) -> Result<f64> {
        match &self.kind {
            Kind::Ready(m) => Ok(m.result()?.item()?),
            Kind::Accuracy => Ok(0.0),
        }
    }

    pub(crate) fn reset(&mut self) {
        if let Kind::Ready(m) = &mut self.kind {
            m.reset_state();
        }
    }
}

/// Keras's choice for `"accuracy"` (compile_utils): binary when the prediction has one column,
/// sparse when the target has fewer axes (or one column against several), categorical else.
fn accuracy_for(y_true: &Tensor, y_pred: &Tensor) -> Box<dyn Metric> {
    let (tr, pr) = (y_true.rank(), y_pred.rank());
    let t_last = y_true.shape().last().copied().unwrap_or(1);
    let p_last = y_pred.shape().last().copied().unwrap_or(1);
    if p_last == 1 {
        Box::new(BinaryAccuracy::new())
    } else if tr < pr || (t_last == 1 && p_last > 1) {
        Box::new(metrics::SparseCategoricalAccuracy::new())
    } else {
        Box::new(metrics::CategoricalAccuracy::new())
    }
}

/// How often the prediction, thresholded at 0.5, equals the 0/1 target
/// (`tf.keras.metrics.BinaryAccuracy`): per sample the mean over the last axis, then the mean
/// over samples, in float32.
///
/// ```
/// use tapegrad_autodiff::Tensor;
/// use tapegrad_nn::metrics::Metric;
/// use tapegrad_train::BinaryAccuracy;
/// let mut m = BinaryAccuracy::new();
/// let t = Tensor::from_vec(vec![1.0f32, 0.0, 1.0, 0.0], &[4, 1])?;
/// let p = Tensor::from_vec(vec![0.9f32, 0.6, 0.4, 0.1], &[4, 1])?;
/// m.update_state(&t, &p)?;
/// assert_eq!(m.result()?.item()?, 0.5);
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct BinaryAccuracy {
    mean: Mean,
}

impl BinaryAccuracy {
    /// A metric that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    fn values(y_true: &Tensor, y_pred: &Tensor) -> tapegrad_nn::Result<Tensor> {
        let (t, p) = losses::squeeze_or_expand(y_true, y_pred)?;
        let (t, p) = (t.value().cast(DType::F32), p.value().cast(DType::F32));
        let shape = tapegrad_tensor::broadcast_shape("binary_accuracy", t.shape(), p.shape())?;
        let (t, p) = (t.broadcast_to(&shape)?, p.broadcast_to(&shape)?);
        let (tv, pv) = (t.to_vec::<f32>()?, p.to_vec::<f32>()?);
        let hits: Vec<f32> = tv
            .iter()
            .zip(&pv)
            .map(|(a, b)| f32::from(u8::from(*a == f32::from(u8::from(*b > 0.5)))))
            .collect();
        let hits = tapegrad_tensor::Array::from_vec(hits, &shape)?;
        let per_sample = if !shape.is_empty() {
            hits.mean(Some(&[-1]), false)?
        } else {
            hits
        };
        Ok(Tensor::new(per_sample))
    }
}

impl Metric for BinaryAccuracy {
    fn name(&self) -> &str {
        "binary_accuracy"
    }
    fn update_state(&mut self, y_true: &Tensor, y_pred: &Tensor) -> tapegrad_nn::Result<()> {
        self.mean.update_state(&Self::values(y_true, y_pred)?)
    }
    fn update_state_weighted(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: &Tensor,
    ) -> tapegrad_nn::Result<()> {
        self.mean
            .update_state_weighted(&Self::values(y_true, y_pred)?, sample_weight)
    }
    fn result(&self) -> tapegrad_nn::Result<Tensor> {
        self.mean.result()
    }
    fn reset_state(&mut self) {
        self.mean.reset_state();
    }
    fn state(&self) -> Vec<(&'static str, Tensor)> {
        self.mean.state()
    }
}
