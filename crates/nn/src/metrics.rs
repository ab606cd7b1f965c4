//! Keras metrics that accumulate over batches (`tf.keras.metrics`): [`Mean`],
//! [`MeanSquaredError`], [`MeanAbsoluteError`], [`RootMeanSquaredError`], [`R2Score`].
//! State is kept in float32, as Keras keeps it in float32 variables; `update_state` adds a
//! batch, `result` reads the value, `reset_state` starts over.
//!
//! ```
//! use tapegrad_autodiff::Tensor;
//! use tapegrad_nn::metrics::{Metric, MeanSquaredError};
//! let mut m = MeanSquaredError::new();
//! m.update_state(&Tensor::from_vec(vec![0.0f32, 1.0], &[2, 1])?, &Tensor::from_vec(vec![1.0f32, 1.0], &[2, 1])?)?;
//! m.update_state(&Tensor::from_vec(vec![0.0f32], &[1, 1])?, &Tensor::from_vec(vec![2.0f32], &[1, 1])?)?;
//! assert_eq!(m.result()?.item()? as f32, 5.0 / 3.0); // (1 + 0 + 4) / 3 samples
//! m.reset_state();
//! assert_eq!(m.result()?.item()?, 0.0);
//! # Ok::<(), tapegrad_nn::Error>(())
//! ```

use tapegrad_autodiff::{DType, Tensor};
use tapegrad_tensor as tt;
use tt::ops as k;

use crate::{losses, Error, Result};

fn f32t(t: &Tensor) -> tt::Array {
    t.value().cast(DType::F32)
}

fn scalar(v: f32) -> tt::Array {
    tt::Array::scalar(v)
}

/// `tf.math.divide_no_nan` on scalars.
fn div_no_nan(a: &tt::Array, b: &tt::Array) -> Result<tt::Array> {
    if b.item()? == 0.0 {
        Ok(scalar(0.0))
    } else {
        Ok(a.div(b)?)
    }
}

/// Matches a sample weight to `values` (Keras's `squeeze_or_expand_dimensions` and
/// `broadcast_weights`); when the weight cannot broadcast, `values` is averaged over its
/// trailing axes down to the weight's rank, as Keras's `Reduce` metric does.
fn weigh(values: tt::Array, weight: &Tensor) -> Result<(tt::Array, tt::Array)> {
    let mut w = f32t(weight);
    let (vr, wr) = (values.rank() as isize, w.rank() as isize);
    if wr != 0 {
        if wr - vr == 1 && w.shape().last() == Some(&1) {
            w = w.squeeze(Some(&[-1]))?;
        } else if vr - wr == 1 {
            w = w.expand_dims(-1)?;
        }
    }
    if let Ok(b) = w.broadcast_to(values.shape()) {
        return Ok((values.mul(&b)?, b));
    }
    if w.rank() < values.rank() {
        let axes: Vec<isize> = (w.rank()..values.rank()).map(|a| a as isize).collect();
        let reduced = values.mean(Some(&axes), false)?;
        if let Ok(b) = w.broadcast_to(reduced.shape()) {
            return Ok((reduced.mul(&b)?, b));
        }
    }
    Err(Error::Invalid {
        what: "metric update_state",
        message: format!(
            "sample_weight of shape {:?} cannot be broadcast to values of shape {:?}",
            weight.shape(),
            values.shape()
        ),
    })
}

/// The weighted mean of every value seen (`tf.keras.metrics.Mean`): state `total` and `count`.
///
/// ```
/// use tapegrad_autodiff::Tensor;
/// let mut m = tapegrad_nn::metrics::Mean::new();
/// m.update_state(&Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[4])?)?;
/// m.update_state(&Tensor::from_vec(vec![10.0f32, -2.0], &[2])?)?;
/// assert_eq!(m.result()?.item()?, 3.0);
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Mean {
    total: tt::Array,
    count: tt::Array,
}

impl Default for Mean {
    fn default() -> Self {
        Self::new()
    }
}

impl Mean {
    /// A metric that has seen nothing (result 0).
    pub fn new() -> Self {
        Mean {
            total: scalar(0.0),
            count: scalar(0.0),
        }
    }

    /// Adds every element of `values` with weight 1.
    pub fn update_state(&mut self, values: &Tensor) -> Result<()> {
        self.add(f32t(values), None)
    }

    /// Adds `values` weighted by `sample_weight` (broadcast as Keras does); the count grows by
    /// the sum of the weights.
    pub fn update_state_weighted(&mut self, values: &Tensor, sample_weight: &Tensor) -> Result<()> {
        self.add(f32t(values), Some(sample_weight))
    }

    fn add(&mut self, values: tt::Array, weight: Option<&Tensor>) -> Result<()> {
        let (values, num) = match weight {
            None => {
                let n = scalar(values.len() as f32);
                (values, n)
            }
            Some(w) => {
                let (v, b) = weigh(values, w)?;
                let n = b.sum(None, false)?;
                (v, n)
            }
        };
        self.total = self.total.add(&values.sum(None, false)?)?;
        self.count = self.count.add(&num)?;
        Ok(())
    }

    /// `total / count`, 0 when nothing was counted.
    pub fn result(&self) -> Result<Tensor> {
        Ok(Tensor::new(div_no_nan(&self.total, &self.count)?))
    }

    /// Forgets everything.
    pub fn reset_state(&mut self) {
        *self = Mean::new();
    }

    /// The state variables, as Keras names them: `total`, `count`.
    pub fn state(&self) -> Vec<(&'static str, Tensor)> {
        vec![
            ("total", Tensor::new(self.total.clone())),
            ("count", Tensor::new(self.count.clone())),
        ]
    }
}

/// A metric fed `(y_true, y_pred)` batches.
pub trait Metric: Send {
    /// The metric's Keras name (`mean_squared_error`, ...).
    fn name(&self) -> &str;
    /// Adds a batch.
    fn update_state(&mut self, y_true: &Tensor, y_pred: &Tensor) -> Result<()>;
    /// Adds a batch with per-sample weights.
    fn update_state_weighted(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: &Tensor,
    ) -> Result<()>;
    /// The value so far.
    fn result(&self) -> Result<Tensor>;
    /// Forgets every batch.
    fn reset_state(&mut self);
    /// The state variables by their Keras names.
    fn state(&self) -> Vec<(&'static str, Tensor)>;
}

/// `(y_true, y_pred)` in float32 with Keras's squeeze of a trailing 1.
fn prepared(y_true: &Tensor, y_pred: &Tensor) -> Result<(Tensor, Tensor)> {
    let t = Tensor::new(f32t(y_true));
    let p = Tensor::new(f32t(y_pred));
    losses::squeeze_or_expand(&t, &p)
}

/// 1 where two class lists agree, else 0, per sample.
fn matches(a: &[usize], b: &[usize]) -> Result<Tensor> {
    if a.len() != b.len() {
        return Err(Error::Invalid {
            what: "accuracy",
            message: format!("{} targets for {} predictions", a.len(), b.len()),
        });
    }
    let v: Vec<f32> = a
        .iter()
        .zip(b)
        .map(|(x, y)| f32::from(u8::from(x == y)))
        .collect();
    let n = v.len();
    Ok(Tensor::from_vec(v, &[n])?)
}

macro_rules! mean_wrapper {
    ($(#[$doc:meta])* $name:ident, $keras:literal, |$t:ident, $p:ident| $per_sample:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default)]
        pub struct $name {
            mean: Mean,
        }

        impl $name {
            /// A metric that has seen nothing.
            pub fn new() -> Self {
                Self::default()
            }

            fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<tt::Array> {
                let ($t, $p) = prepared(y_true, y_pred)?;
                let v: Result<Tensor> = $per_sample;
                Ok(v?.into_value())
            }
        }

        impl Metric for $name {
            fn name(&self) -> &str {
                $keras
            }
            fn update_state(&mut self, y_true: &Tensor, y_pred: &Tensor) -> Result<()> {
                let v = self.values(y_true, y_pred)?;
                self.mean.add(v, None)
            }
            fn update_state_weighted(
                &mut self,
                y_true: &Tensor,
                y_pred: &Tensor,
                sample_weight: &Tensor,
            ) -> Result<()> {
                let v = self.values(y_true, y_pred)?;
                self.mean.add(v, Some(sample_weight))
            }
            fn result(&self) -> Result<Tensor> {
                mean_wrapper!(@result self, $name)
            }
            fn reset_state(&mut self) {
                self.mean.reset_state();
            }
            fn state(&self) -> Vec<(&'static str, Tensor)> {
                self.mean.state()
            }
        }
    };
    (@result $s:ident, RootMeanSquaredError) => {
        Ok(Tensor::new($s.mean.result()?.value().map(k::Sqrt)))
    };
    (@result $s:ident, $other:ident) => {
        $s.mean.result()
    };
}

mean_wrapper!(
    /// How often the predicted class (the row's largest value) is the one-hot target's
    /// (`tf.keras.metrics.CategoricalAccuracy`).
    ///
    /// ```
    /// use tapegrad_autodiff::Tensor;
    /// use tapegrad_nn::metrics::{CategoricalAccuracy, Metric};
    /// let mut m = CategoricalAccuracy::new();
    /// let t = Tensor::from_vec(vec![0.0f32, 1.0, 1.0, 0.0], &[2, 2])?;
    /// let p = Tensor::from_vec(vec![0.2f32, 0.8, 0.3, 0.7], &[2, 2])?;
    /// m.update_state(&t, &p)?;
    /// assert_eq!(m.result()?.item()?, 0.5);
    /// # Ok::<(), tapegrad_nn::Error>(())
    /// ```
    CategoricalAccuracy, "categorical_accuracy", |t, p| {
        let (a, b) = (tapegrad_autodiff::argmax(&t)?, tapegrad_autodiff::argmax(&p)?);
        matches(&a, &b)
    }
);
mean_wrapper!(
    /// How often the predicted class is the target class index
    /// (`tf.keras.metrics.SparseCategoricalAccuracy`).
    ///
    /// ```
    /// use tapegrad_autodiff::Tensor;
    /// use tapegrad_nn::metrics::{Metric, SparseCategoricalAccuracy};
    /// let mut m = SparseCategoricalAccuracy::new();
    /// let labels = Tensor::from_vec(vec![1.0f32, 1.0], &[2])?;
    /// let p = Tensor::from_vec(vec![0.2f32, 0.8, 0.3, 0.7], &[2, 2])?;
    /// m.update_state(&labels, &p)?;
    /// assert_eq!(m.result()?.item()?, 1.0);
    /// # Ok::<(), tapegrad_nn::Error>(())
    /// ```
    SparseCategoricalAccuracy, "sparse_categorical_accuracy", |t, p| {
        let classes = *p.shape().last().unwrap_or(&0);
        let a = losses::class_indices("sparse_categorical_accuracy", &t, classes)?;
        matches(&a, &tapegrad_autodiff::argmax(&p)?)
    }
);
mean_wrapper!(
    /// The mean over samples of the per-sample mean squared error
    /// (`tf.keras.metrics.MeanSquaredError`).
    MeanSquaredError, "mean_squared_error", |t, p| losses::mean_squared_error(&t, &p)
);
mean_wrapper!(
    /// The mean over samples of the per-sample mean absolute error
    /// (`tf.keras.metrics.MeanAbsoluteError`).
    MeanAbsoluteError, "mean_absolute_error", |t, p| losses::mean_absolute_error(&t, &p)
);
mean_wrapper!(
    /// `sqrt` of the mean of every squared difference (`tf.keras.metrics.RootMeanSquaredError`).
    ///
    /// ```
    /// use tapegrad_autodiff::Tensor;
    /// use tapegrad_nn::metrics::{Metric, RootMeanSquaredError};
    /// let mut m = RootMeanSquaredError::new();
    /// m.update_state(&Tensor::from_vec(vec![0.0f32, 0.0], &[2])?, &Tensor::from_vec(vec![3.0f32, 4.0], &[2])?)?;
    /// assert_eq!(m.result()?.item()?, 12.5f64.sqrt() as f32 as f64);
    /// # Ok::<(), tapegrad_nn::Error>(())
    /// ```
    RootMeanSquaredError, "root_mean_squared_error",
    |t, p| Ok(tapegrad_autodiff::square(tapegrad_autodiff::sub(&p, &t)?)?)
);

/// How [`R2Score`] combines the scores of several outputs (Keras's `class_aggregation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClassAggregation {
    /// The plain mean of the per-output scores (`"uniform_average"`).
    #[default]
    UniformAverage,
    /// Weighted by each output's total variance (`"variance_weighted_average"`).
    VarianceWeightedAverage,
    /// One score per output (`None`).
    None,
}

/// The coefficient of determination `1 − SS_res / SS_tot` per output column, accumulated over
/// batches of 2-D `(batch, outputs)` data (`tf.keras.metrics.R2Score`); with `num_regressors`
/// `p > 0` the adjusted score `1 − (1 − R²)(n − 1)/(n − p − 1)`, where `n` counts every element
/// of `y_true` seen, as Keras counts it.
///
/// ```
/// use tapegrad_autodiff::Tensor;
/// use tapegrad_nn::metrics::{Metric, R2Score};
/// let mut m = R2Score::new();
/// m.update_state(&Tensor::from_vec(vec![1.0f32, 4.0, 3.0], &[3, 1])?,
///                &Tensor::from_vec(vec![2.0f32, 4.0, 4.0], &[3, 1])?)?;
/// assert!((m.result()?.item()? - 0.57142854).abs() < 1e-7); // Keras's docstring value
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct R2Score {
    /// How per-output scores are combined.
    pub class_aggregation: ClassAggregation,
    /// Number of regressors for the adjusted score (0: plain R²).
    pub num_regressors: usize,
    num_samples: i64,
    sums: Option<R2Sums>,
}

#[derive(Debug, Clone)]
struct R2Sums {
    squared_sum: tt::Array,
    sum: tt::Array,
    residual: tt::Array,
    count: tt::Array,
}

impl R2Score {
    /// Uniform average, no regressors.
    pub fn new() -> Self {
        Self::default()
    }

    /// With an aggregation and a number of regressors.
    pub fn with(class_aggregation: ClassAggregation, num_regressors: usize) -> Self {
        R2Score {
            class_aggregation,
            num_regressors,
            ..Self::default()
        }
    }

    fn add(&mut self, y_true: &Tensor, y_pred: &Tensor, weight: Option<&Tensor>) -> Result<()> {
        let (t, p) = (f32t(y_true), f32t(y_pred));
        if t.rank() != 2 || p.rank() != 2 {
            return Err(Error::Invalid {
                what: "R2Score",
                message: format!(
                    "expects 2D inputs with shape (batch_size, output_dim), received y_pred.shape={:?} and y_true.shape={:?}",
                    p.shape(),
                    t.shape()
                ),
            });
        }
        let outputs = p.shape()[1];
        let zeros = || tt::Array::zeros(DType::F32, &[outputs]);
        let sums = match &mut self.sums {
            Some(sums) => sums,
            none => none.insert(R2Sums {
                squared_sum: zeros()?,
                sum: zeros()?,
                residual: zeros()?,
                count: zeros()?,
            }),
        };
        if sums.sum.shape() != [outputs] || t.shape()[1] != outputs {
            return Err(Error::Invalid {
                what: "R2Score",
                message: format!(
                    "built for {} outputs, received y_true.shape={:?} and y_pred.shape={:?}",
                    sums.sum.len(),
                    t.shape(),
                    p.shape()
                ),
            });
        }
        let mut w = match weight {
            None => scalar(1.0),
            Some(w) => f32t(w),
        };
        if w.rank() == 1 {
            w = w.expand_dims(1)?;
        }
        let w = w.broadcast_to(t.shape())?;
        let wt = t.mul(&w)?;
        let col = |x: &tt::Array| x.sum(Some(&[0]), false);
        sums.sum = sums.sum.add(&col(&wt)?)?;
        sums.squared_sum = sums.squared_sum.add(&col(&t.mul(&wt)?)?)?;
        let d = t.sub(&p)?;
        sums.residual = sums.residual.add(&col(&d.mul(&d)?.mul(&w)?)?)?;
        sums.count = sums.count.add(&col(&w)?)?;
        self.num_samples += t.len() as i64;
        Ok(())
    }
}

impl Metric for R2Score {
    fn name(&self) -> &str {
        "r2_score"
    }

    fn update_state(&mut self, y_true: &Tensor, y_pred: &Tensor) -> Result<()> {
        self.add(y_true, y_pred, None)
    }

    fn update_state_weighted(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: &Tensor,
    ) -> Result<()> {
        self.add(y_true, y_pred, Some(sample_weight))
    }

    /// The score; NaN before any batch (Keras gives NaN there too once built).
    fn result(&self) -> Result<Tensor> {
        let Some(s) = &self.sums else {
            return Ok(Tensor::new(scalar(f32::NAN)));
        };
        let mean = s.sum.zip(&s.count, k::Div)?;
        let total = s.squared_sum.sub(&s.sum.mul(&mean)?)?;
        let raw = scalar(1.0).sub(&s.residual.zip(&total, k::Div)?)?;
        let raw: Vec<f32> = raw
            .to_vec::<f32>()?
            .into_iter()
            .map(|v| if v.is_infinite() { 0.0 } else { v })
            .collect();
        let raw = tt::Array::from_vec(raw, &[s.sum.len()])?;
        let r2 = match self.class_aggregation {
            ClassAggregation::UniformAverage => raw.mean(None, false)?,
            ClassAggregation::VarianceWeightedAverage => total
                .mul(&raw)?
                .sum(None, false)?
                .div(&total.sum(None, false)?)?,
            ClassAggregation::None => raw,
        };
        let (n, p) = (self.num_samples, self.num_regressors as i64);
        if p != 0 && p < n - 1 {
            let (nf, pf) = (scalar(n as f32), scalar(p as f32));
            let num = scalar(1.0).sub(&r2)?.mul(&nf.sub(&scalar(1.0))?)?;
            let den = nf.sub(&pf)?.sub(&scalar(1.0))?;
            return Ok(Tensor::new(scalar(1.0).sub(&num.div(&den)?)?));
        }
        Ok(Tensor::new(r2))
    }

    /// Zeros the sums (the number of outputs stays, as Keras's built variables do).
    fn reset_state(&mut self) {
        self.num_samples = 0;
        if let Some(s) = &mut self.sums {
            for t in [
                &mut s.squared_sum,
                &mut s.sum,
                &mut s.residual,
                &mut s.count,
            ] {
                *t = t.zeros_like();
            }
        }
    }

    fn state(&self) -> Vec<(&'static str, Tensor)> {
        let mut out = vec![("num_samples", Tensor::scalar(self.num_samples as f64))];
        if let Some(s) = &self.sums {
            out.push(("squared_sum", Tensor::new(s.squared_sum.clone())));
            out.push(("sum", Tensor::new(s.sum.clone())));
            out.push(("residual", Tensor::new(s.residual.clone())));
            out.push(("count", Tensor::new(s.count.clone())));
        }
        out
    }
}
