//! Keras losses: the functions (`tf.keras.losses.mean_squared_error`, ...), which reduce over
//! the last axis only after broadcasting `y_true` against `y_pred` (no squeezing: a `(3,)` target
//! against a `(3, 1)` prediction is a 3×3 comparison, as document 004's mini-batch loss shows),
//! and the loss objects ([`MeanSquaredError`], ...), which squeeze a trailing 1 first and reduce
//! to a scalar with [`Reduction::SumOverBatchSize`] by default.
//!
//! ```
//! use tapegrad_autodiff::Tensor;
//! use tapegrad_nn::losses::{mean_squared_error, Loss, MeanSquaredError};
//! let y_true = Tensor::from_vec(vec![1.0f32, 2.0, 3.5], &[3])?;
//! let y_pred = Tensor::from_vec(vec![1.5f32, 1.0, 5.0], &[3, 1])?;
//! let per_row = mean_squared_error(&y_true, &y_pred)?;          // (3,): broadcast to 3×3
//! assert_eq!(per_row.to_vec::<f32>()?[0], (0.25 + 0.25 + 4.0) / 3.0);
//! let scalar = MeanSquaredError::new().call(&y_true, &y_pred)?; // squeezed: 3 pairs
//! assert_eq!(scalar.item()? as f32, (0.25 + 1.0 + 2.25) / 3.0);
//! # Ok::<(), tapegrad_nn::Error>(())
//! ```

use std::str::FromStr;

use tapegrad_autodiff::{self as ad, IntoOperand, Tensor};
use tapegrad_tensor as tt;

use crate::error::unknown;
use crate::ops::{mask, operand, select};
use crate::{Error, Result};

/// Keras's `backend.epsilon()`, the fuzz factor of the probability losses.
pub const EPSILON: f64 = 1e-7;

/// `y_pred` as a tensor and `y_true` cast to its dtype (Keras: `y_true = tf.cast(y_true,
/// y_pred.dtype)`).
fn pair(y_true: impl IntoOperand, y_pred: impl IntoOperand) -> Result<(Tensor, Tensor)> {
    let y_pred = operand(y_pred, ad::DType::F32)?;
    let y_true = operand(y_true, y_pred.dtype())?;
    let y_true = if y_true.dtype() == y_pred.dtype() {
        y_true
    } else {
        ad::cast(&y_true, y_pred.dtype())?
    };
    Ok((y_true, y_pred))
}

/// A parameter as an error shows it: as Rust prints it (`-1`, `NaN`), in exponent form when
/// that would print more than 16 digits (`1e39`, `1e-50`).
fn show(value: f64) -> String {
    if value.is_finite() && value != 0.0 && !(1e-5..1e16).contains(&value.abs()) {
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

fn mean_last(x: Tensor) -> Result<Tensor> {
    Ok(ad::reduce_mean(x, Some(&[-1]), false)?)
}

/// `mean((y_pred − y_true)², axis=-1)` after broadcasting (`tf.keras.losses.mean_squared_error`,
/// also `tf.keras.metrics.mean_squared_error`).
///
/// ```
/// use tapegrad_autodiff::Tensor;
/// let l = tapegrad_nn::losses::mean_squared_error(
///     &Tensor::from_vec(vec![1.0f32, 2.0], &[1, 2])?, &Tensor::from_vec(vec![2.0f32, 4.0], &[1, 2])?)?;
/// assert_eq!(l.to_vec::<f32>()?, vec![2.5]);
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
pub fn mean_squared_error(y_true: impl IntoOperand, y_pred: impl IntoOperand) -> Result<Tensor> {
    let (t, p) = pair(y_true, y_pred)?;
    mean_last(ad::square(ad::sub(&p, &t)?)?)
}

/// `mean(|y_pred − y_true|, axis=-1)` (`tf.keras.losses.mean_absolute_error`).
pub fn mean_absolute_error(y_true: impl IntoOperand, y_pred: impl IntoOperand) -> Result<Tensor> {
    let (t, p) = pair(y_true, y_pred)?;
    mean_last(ad::abs(ad::sub(&p, &t)?)?)
}

/// Huber loss with `delta` (Keras's default 1.0): `½e²` where `|e| ≤ delta`, else
/// `delta·|e| − ½delta²`, averaged over the last axis (`tf.keras.losses.huber`).
///
/// `delta` must be finite and > 0 in the prediction's dtype (a negative one makes the loss
/// negative, 0 makes it 0 everywhere); anything else is [`Error::Invalid`] naming it.
///
/// ```
/// use tapegrad_autodiff::Tensor;
/// let (t, p) = (Tensor::from_vec(vec![0.0f32, 0.0], &[2])?, Tensor::from_vec(vec![0.5f32, 3.0], &[2])?);
/// let l = tapegrad_nn::losses::huber(&t, &p, 1.0)?;
/// assert_eq!(l.item()?, (0.125 + 2.5) / 2.0);
/// let err = tapegrad_nn::losses::huber(&t, &p, -1.0).unwrap_err();
/// assert_eq!(err.to_string(), "huber: `delta` must be a finite number > 0, got -1");
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
pub fn huber(y_true: impl IntoOperand, y_pred: impl IntoOperand, delta: f64) -> Result<Tensor> {
    let (t, p) = pair(y_true, y_pred)?;
    // Keras rounds delta to the dtype before comparing and computing
    let rounded = tt::Array::scalar_of(p.dtype(), delta).item()?;
    if !(rounded.is_finite() && rounded > 0.0) {
        let dtype = if rounded == delta {
            String::new()
        } else {
            format!(" ({rounded} in {})", p.dtype())
        };
        return Err(Error::Invalid {
            what: "huber",
            message: format!(
                "`delta` must be a finite number > 0, got {}{dtype}",
                show(delta)
            ),
        });
    }
    let delta = rounded;
    let error = ad::sub(&p, &t)?;
    let abs_error = ad::abs(&error)?;
    let inside = mask(&abs_error, |e| e <= delta);
    let quadratic = ad::mul(ad::square(&error)?, 0.5)?;
    let linear = ad::sub(ad::mul(&abs_error, delta)?, 0.5 * delta * delta)?;
    mean_last(select(&inside, quadratic, linear)?)
}

/// `log(cosh(e))` of the error, averaged over the last axis, computed as Keras does:
/// `e + softplus(−2e) − log 2` (`tf.keras.losses.log_cosh`).
pub fn log_cosh(y_true: impl IntoOperand, y_pred: impl IntoOperand) -> Result<Tensor> {
    let (t, p) = pair(y_true, y_pred)?;
    let e = ad::sub(&p, &t)?;
    let v = ad::sub(
        ad::add(&e, ad::softplus(ad::mul(&e, -2.0)?)?)?,
        std::f64::consts::LN_2,
    )?;
    mean_last(v)
}

/// Binary crossentropy averaged over the last axis (`tf.keras.losses.binary_crossentropy`).
///
/// Probabilities (`from_logits = false`) are clipped to `[ε, 1 − ε]` and scored as
/// `−(t·log(p + ε) + (1 − t)·log(1 − p + ε))` with ε = 1e-7; logits use TensorFlow's
/// `sigmoid_cross_entropy_with_logits` (`max(x, 0) − x·t + log(1 + e^−|x|)`), which needs
/// `y_true` and `y_pred` of the same shape. `label_smoothing` moves targets toward ½:
/// `t·(1 − ls) + ls/2`; it must be between 0 and 1 ([`Error::Invalid`] naming it otherwise).
///
/// ```
/// use tapegrad_autodiff::Tensor;
/// use tapegrad_nn::losses::binary_crossentropy;
/// let t = Tensor::from_vec(vec![1.0f32, 0.0], &[2])?;
/// let p = Tensor::from_vec(vec![0.5f32, 0.5], &[2])?;
/// let l = binary_crossentropy(&t, &p, false, 0.0)?.item()?;
/// assert!((l - (0.5f64 + 1e-7).ln().abs()).abs() < 1e-6);
/// let err = binary_crossentropy(&t, &p, false, 1.5).unwrap_err();
/// assert_eq!(err.to_string(), "binary_crossentropy: `label_smoothing` must be between 0 and 1, got 1.5");
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
pub fn binary_crossentropy(
    y_true: impl IntoOperand,
    y_pred: impl IntoOperand,
    from_logits: bool,
    label_smoothing: f64,
) -> Result<Tensor> {
    if !(0.0..=1.0).contains(&label_smoothing) {
        return Err(Error::Invalid {
            what: "binary_crossentropy",
            message: format!("`label_smoothing` must be between 0 and 1, got {label_smoothing}"),
        });
    }
    let (mut t, p) = pair(y_true, y_pred)?;
    if label_smoothing != 0.0 {
        t = ad::add(ad::mul(&t, 1.0 - label_smoothing)?, 0.5 * label_smoothing)?;
    }
    let bce = if from_logits {
        if t.shape() != p.shape() {
            return Err(Error::Invalid {
                what: "binary_crossentropy",
                message: format!(
                    "`logits` and `labels` must have the same shape, received ({:?} vs {:?})",
                    p.shape(),
                    t.shape()
                ),
            });
        }
        let non_negative = mask(&p, |x| x >= 0.0);
        let relu_logits = select(&non_negative, &p, 0.0)?;
        let neg_abs = select(&non_negative, ad::neg(&p)?, &p)?;
        ad::add(
            ad::sub(relu_logits, ad::mul(&p, &t)?)?,
            ad::softplus(neg_abs)?,
        )?
    } else {
        let eps = tt::Array::scalar_of(p.dtype(), EPSILON);
        let hi = tt::Array::scalar_of(p.dtype(), 1.0).sub(&eps)?.item()?;
        let out = ad::clip_by_value(&p, eps.item()?, hi)?;
        let pos = ad::mul(&t, ad::log(ad::add(&out, EPSILON)?)?)?;
        let neg = ad::mul(
            ad::sub(1.0, &t)?,
            ad::log(ad::add(ad::sub(1.0, &out)?, EPSILON)?)?,
        )?;
        ad::neg(ad::add(pos, neg)?)?
    };
    mean_last(bce)
}

/// How a loss object reduces the per-sample losses (`tf.keras.losses.Reduction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reduction {
    /// Same as `SumOverBatchSize` outside a distribution strategy (`"auto"`).
    #[default]
    Auto,
    /// Sum of the weighted losses divided by their number of elements.
    SumOverBatchSize,
    /// Sum of the weighted losses.
    Sum,
    /// No reduction: the weighted per-sample losses.
    None,
}

impl Reduction {
    /// The names `from_str` knows.
    pub const NAMES: [&'static str; 4] = ["auto", "sum_over_batch_size", "sum", "none"];

    /// Reduces weighted losses (Keras's `reduce_weighted_loss`; the mean divides by the number
    /// of elements, not by the sum of the weights, and is 0 for no elements).
    pub fn apply(self, weighted: &Tensor) -> Result<Tensor> {
        match self {
            Reduction::None => Ok(weighted.clone()),
            Reduction::Sum => Ok(ad::reduce_sum(weighted, None, false)?),
            Reduction::Auto | Reduction::SumOverBatchSize => {
                let total = ad::reduce_sum(weighted, None, false)?;
                if weighted.is_empty() {
                    return Ok(ad::mul(total, 0.0)?);
                }
                Ok(ad::div(total, weighted.len() as f64)?)
            }
        }
    }
}

impl FromStr for Reduction {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "auto" => Reduction::Auto,
            "sum_over_batch_size" => Reduction::SumOverBatchSize,
            "sum" => Reduction::Sum,
            "none" => Reduction::None,
            _ => return Err(unknown("reduction", s, &Reduction::NAMES)),
        })
    }
}

fn squeeze_last(x: &Tensor) -> Result<Tensor> {
    Ok(ad::squeeze(x, Some(&[-1]))?)
}

/// Keras's `squeeze_or_expand_dimensions(y_pred, y_true)`: when the ranks differ by one and the
/// larger one ends in 1, that trailing 1 is dropped. Returns `(y_true, y_pred)`.
///
/// ```
/// use tapegrad_autodiff::Tensor;
/// let t = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?;
/// let p = Tensor::from_vec(vec![1.0f32, 2.0], &[2, 1])?;
/// let (t, p) = tapegrad_nn::losses::squeeze_or_expand(&t, &p)?;
/// assert_eq!((t.shape(), p.shape()), (&[2][..], &[2][..]));
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
pub fn squeeze_or_expand(y_true: &Tensor, y_pred: &Tensor) -> Result<(Tensor, Tensor)> {
    let (tr, pr) = (y_true.rank() as isize, y_pred.rank() as isize);
    let p_last_one = y_pred.shape().last() == Some(&1);
    let t_last_one = y_true.shape().last() == Some(&1);
    if pr - tr != 1 || p_last_one {
        if pr - tr == 1 && p_last_one {
            return Ok((y_true.clone(), squeeze_last(y_pred)?));
        }
        if pr - tr == -1 && t_last_one {
            return Ok((squeeze_last(y_true)?, y_pred.clone()));
        }
    }
    Ok((y_true.clone(), y_pred.clone()))
}

/// Categorical crossentropy over the last axis (`tf.keras.losses.categorical_crossentropy`):
/// `−sum(t · log(p))` with the probabilities rescaled to sum to 1 and clipped to
/// `[ε, 1 − ε]`, or, from logits, `−sum(t · log_softmax(x))`
/// (`tf.nn.softmax_cross_entropy_with_logits`). Targets are one-hot (or soft) rows.
///
/// ```
/// use tapegrad_autodiff::Tensor;
/// use tapegrad_nn::losses::categorical_crossentropy;
/// let t = Tensor::from_vec(vec![0.0f32, 1.0], &[1, 2])?;
/// let p = Tensor::from_vec(vec![0.25f32, 0.75], &[1, 2])?;
/// let l = categorical_crossentropy(&t, &p, false)?.item()?;
/// assert!((l - 0.75f64.ln().abs()).abs() < 1e-6);
/// let logits = Tensor::from_vec(vec![0.0f32, 0.0], &[1, 2])?;
/// assert!((categorical_crossentropy(&t, &logits, true)?.item()? - 2f64.ln()).abs() < 1e-6);
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
pub fn categorical_crossentropy(
    y_true: impl IntoOperand,
    y_pred: impl IntoOperand,
    from_logits: bool,
) -> Result<Tensor> {
    let (t, p) = pair(y_true, y_pred)?;
    if t.shape() != p.shape() {
        return Err(Error::Invalid {
            what: "categorical_crossentropy",
            message: format!(
                "y_true has shape {:?} and y_pred shape {:?}: they must match (one-hot targets; for class indices use sparse_categorical_crossentropy)",
                t.shape(),
                p.shape()
            ),
        });
    }
    let log_p = if from_logits {
        ad::log_softmax(&p, -1)?
    } else {
        let p = ad::div(&p, ad::reduce_sum(&p, Some(&[-1]), true)?)?;
        let eps = tt::Array::scalar_of(p.dtype(), EPSILON);
        let hi = tt::Array::scalar_of(p.dtype(), 1.0).sub(&eps)?.item()?;
        ad::log(ad::clip_by_value(&p, eps.item()?, hi)?)?
    };
    Ok(ad::neg(ad::reduce_sum(
        ad::mul(&t, log_p)?,
        Some(&[-1]),
        false,
    )?)?)
}

/// Sparse categorical crossentropy (`tf.keras.losses.sparse_categorical_crossentropy`): the
/// targets are class indices (shape `(n,)` or `(n, 1)`, as numbers), one-hot encoded to the
/// prediction's last axis and scored as [`categorical_crossentropy`] from logits; probabilities
/// are clipped to `[ε, 1 − ε]` and logged first, as Keras does, so unlike the dense loss the
/// clipped row is renormalized after the clip (TensorFlow's values, `data/keras/categorical.json`).
/// An index outside `0..classes` is an error naming it.
///
/// ```
/// use tapegrad_autodiff::Tensor;
/// use tapegrad_nn::losses::sparse_categorical_crossentropy;
/// let labels = Tensor::from_vec(vec![1.0f32, 0.0], &[2])?;
/// let logits = Tensor::from_vec(vec![0.0f32, 0.0, 5.0, -5.0], &[2, 2])?;
/// let l = sparse_categorical_crossentropy(&labels, &logits, true)?;
/// assert_eq!(l.shape(), &[2]);
/// assert!(sparse_categorical_crossentropy(&Tensor::from_vec(vec![2.0f32], &[1])?, &logits.slice(&[0, 0], &[1, -1])?, true).is_err());
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
pub fn sparse_categorical_crossentropy(
    y_true: impl IntoOperand,
    y_pred: impl IntoOperand,
    from_logits: bool,
) -> Result<Tensor> {
    let (t, p) = pair(y_true, y_pred)?;
    let classes = *p.shape().last().unwrap_or(&0);
    let labels = class_indices("sparse_categorical_crossentropy", &t, classes)?;
    let t = ad::one_hot(&labels, classes, p.dtype())?;
    let t = ad::reshape(
        &t,
        &p.shape().iter().map(|&d| d as isize).collect::<Vec<_>>(),
    )?;
    if from_logits {
        return categorical_crossentropy(&t, &p, true);
    }
    // Keras's sparse path from probabilities: clipped to [eps, 1 - eps] and logged, then
    // scored as logits (`sparse_softmax_cross_entropy_with_logits(log(clip(p)))`), so the
    // clipped row is renormalized after the clip, not before it as the dense path does: a
    // one-hot prediction of the right class costs log(1 + 2 eps) - log(1 - eps), not -log(1 - eps)
    let eps = tt::Array::scalar_of(p.dtype(), EPSILON);
    let hi = tt::Array::scalar_of(p.dtype(), 1.0).sub(&eps)?.item()?;
    let logits = ad::log(ad::clip_by_value(&p, eps.item()?, hi)?)?;
    categorical_crossentropy(&t, &logits, true)
}

/// Class indices from a tensor of whole numbers in `0..classes`, naming the first bad one.
pub(crate) fn class_indices(what: &'static str, t: &Tensor, classes: usize) -> Result<Vec<usize>> {
    t.to_f64_vec()
        .iter()
        .map(|&v| {
            if v >= 0.0 && v.fract() == 0.0 && (v as usize) < classes {
                Ok(v as usize)
            } else {
                Err(Error::Invalid {
                    what,
                    message: format!(
                        "label {v} is not a class index in 0..{classes} (the prediction's last axis)"
                    ),
                })
            }
        })
        .collect()
}

/// Matches a sample weight to the losses' rank (Keras: squeeze a trailing 1 or add one).
fn match_weight_rank(losses: &Tensor, weight: &Tensor) -> Result<Tensor> {
    let (lr, wr) = (losses.rank() as isize, weight.rank() as isize);
    if wr == 0 {
        Ok(weight.clone())
    } else if wr - lr == 1 {
        squeeze_last(weight)
    } else if lr - wr == 1 {
        Ok(ad::expand_dims(weight, -1)?)
    } else {
        Ok(weight.clone())
    }
}

/// The loss objects' guard: after Keras's squeeze, a target and prediction whose broadcast has
/// more elements than either compare every target with every prediction. Shapes that do not
/// broadcast at all are the loss function's to judge: the sparse cross-entropy's class indices
/// `(n,)` against its `(n, classes)` prediction, or an error of the function's own.
fn refuse_cross_broadcast(t: &Tensor, p: &Tensor) -> Result<()> {
    let Ok(shape) = tt::broadcast_shape("loss", t.shape(), p.shape()) else {
        return Ok(());
    };
    let n: usize = shape.iter().product();
    if n > t.len() && n > p.len() {
        return Err(Error::Invalid {
            what: "loss",
            message: format!(
                "y_true has shape {:?} and y_pred shape {:?}, which broadcast to {shape:?}: every target would be compared with every prediction; reshape one to the other's shape (e.g. `y_true.reshape(&[-1, 1])`)",
                t.shape(),
                p.shape()
            ),
        });
    }
    Ok(())
}

/// A loss object (`tf.keras.losses.Loss`): a per-sample loss function plus a [`Reduction`].
pub trait Loss: Send + Sync {
    /// The per-sample losses (`fn(y_true, y_pred)` after Keras's squeeze of a trailing 1).
    fn per_sample(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor>;

    /// The reduction (default [`Reduction::Auto`]).
    fn reduction(&self) -> Reduction;

    /// `loss(y_true, y_pred)`: squeeze, per-sample losses, reduction.
    ///
    /// Unlike Keras, a target and prediction whose broadcast is larger than both (a `(1, n)`
    /// target against an `(n, 1)` prediction: `n × n` comparisons) are refused, with the two
    /// shapes and the fix: that loss trains a model that learns nothing. The loss functions
    /// keep Keras's broadcasting.
    ///
    /// ```
    /// use tapegrad_autodiff::Tensor;
    /// use tapegrad_nn::losses::{Loss, MeanSquaredError};
    /// let y = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[1, 3])?;
    /// let pred = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3, 1])?;
    /// let err = MeanSquaredError::new().call(&y, &pred).unwrap_err().to_string();
    /// assert!(err.contains("[1, 3]") && err.contains("[3, 1]") && err.contains("reshape"), "{err}");
    /// # Ok::<(), tapegrad_nn::Error>(())
    /// ```
    fn call(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Tensor> {
        let (t, p) = squeeze_or_expand(y_true, y_pred)?;
        refuse_cross_broadcast(&t, &p)?;
        let losses = self.per_sample(&t, &p)?;
        self.reduction().apply(&losses)
    }

    /// `loss(y_true, y_pred, sample_weight)`: the per-sample losses weighted and reduced by
    /// [`compute_weighted_loss`].
    fn call_weighted(
        &self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: &Tensor,
    ) -> Result<Tensor> {
        let (t, p) = squeeze_or_expand(y_true, y_pred)?;
        refuse_cross_broadcast(&t, &p)?;
        let losses = self.per_sample(&t, &p)?;
        compute_weighted_loss(&losses, Some(sample_weight), self.reduction())
    }
}

/// Keras's `compute_weighted_loss`: the weight (cast to the losses' dtype) is matched to the
/// losses' rank (a trailing 1 squeezed, or one added), broadcast, multiplied in, and the result
/// reduced.
///
/// ```
/// use tapegrad_autodiff::Tensor;
/// use tapegrad_nn::losses::{compute_weighted_loss, Reduction};
/// let losses = Tensor::from_vec(vec![1.0f32, 3.0], &[2])?;
/// let w = Tensor::from_vec(vec![2.0f32, 0.0], &[2, 1])?;
/// let l = compute_weighted_loss(&losses, Some(&w), Reduction::SumOverBatchSize)?;
/// assert_eq!(l.item()?, 1.0);
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
pub fn compute_weighted_loss(
    losses: &Tensor,
    sample_weight: Option<&Tensor>,
    reduction: Reduction,
) -> Result<Tensor> {
    let Some(w) = sample_weight else {
        return reduction.apply(losses);
    };
    let w = if w.dtype() == losses.dtype() {
        w.clone()
    } else {
        ad::cast(w, losses.dtype())?
    };
    let w = match_weight_rank(losses, &w)?;
    let weighted = ad::mul(losses, &w)?;
    reduction.apply(&weighted)
}

macro_rules! loss_object {
    ($(#[$doc:meta])* $name:ident { $($field:ident : $ty:ty = $default:expr),* } |$s:ident, $t:ident, $p:ident| $body:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $(
                #[doc = concat!("`", stringify!($field), "` (see the loss function).")]
                pub $field: $ty,
            )*
            /// How the per-sample losses are reduced.
            pub reduction: Reduction,
        }

        impl $name {
            /// Keras's defaults.
            pub fn new() -> Self {
                $name { $($field: $default,)* reduction: Reduction::Auto }
            }
            /// The same loss with another reduction.
            pub fn with_reduction(mut self, reduction: Reduction) -> Self {
                self.reduction = reduction;
                self
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl Loss for $name {
            fn per_sample(&self, $t: &Tensor, $p: &Tensor) -> Result<Tensor> {
                let $s = self;
                let _ = $s;
                $body
            }
            fn reduction(&self) -> Reduction {
                self.reduction
            }
        }
    };
}

loss_object!(
    /// `tf.keras.losses.MeanSquaredError`.
    MeanSquaredError {} |s, t, p| mean_squared_error(t, p)
);
loss_object!(
    /// `tf.keras.losses.MeanAbsoluteError`.
    MeanAbsoluteError {} |s, t, p| mean_absolute_error(t, p)
);
loss_object!(
    /// `tf.keras.losses.Huber(delta=1.0)`.
    Huber { delta: f64 = 1.0 } |s, t, p| huber(t, p, s.delta)
);
impl Huber {
    /// `Huber(delta=delta)`, refused unless `delta` is finite and > 0 (the fields are public:
    /// [`huber`] checks `delta` again at every call).
    ///
    /// ```
    /// use tapegrad_nn::losses::Huber;
    /// assert_eq!(Huber::with_delta(2.0)?.delta, 2.0);
    /// assert!(Huber::with_delta(-1.0).is_err());
    /// # Ok::<(), tapegrad_nn::Error>(())
    /// ```
    pub fn with_delta(delta: f64) -> Result<Self> {
        if !(delta.is_finite() && delta > 0.0) {
            return Err(Error::Invalid {
                what: "Huber",
                message: format!("`delta` must be a finite number > 0, got {}", show(delta)),
            });
        }
        Ok(Huber {
            delta,
            ..Huber::new()
        })
    }
}

loss_object!(
    /// `tf.keras.losses.LogCosh`.
    LogCosh {} |s, t, p| log_cosh(t, p)
);
loss_object!(
    /// `tf.keras.losses.BinaryCrossentropy(from_logits=False, label_smoothing=0.0)`.
    BinaryCrossentropy { from_logits: bool = false, label_smoothing: f64 = 0.0 }
    |s, t, p| binary_crossentropy(t, p, s.from_logits, s.label_smoothing)
);

impl BinaryCrossentropy {
    /// `BinaryCrossentropy(label_smoothing=label_smoothing)`, refused unless it is between 0
    /// and 1 ([`binary_crossentropy`] checks it again at every call).
    ///
    /// ```
    /// use tapegrad_nn::losses::BinaryCrossentropy;
    /// assert_eq!(BinaryCrossentropy::with_label_smoothing(0.1)?.label_smoothing, 0.1);
    /// assert!(BinaryCrossentropy::with_label_smoothing(f64::NAN).is_err());
    /// # Ok::<(), tapegrad_nn::Error>(())
    /// ```
    pub fn with_label_smoothing(label_smoothing: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&label_smoothing) {
            return Err(Error::Invalid {
                what: "BinaryCrossentropy",
                message: format!(
                    "`label_smoothing` must be between 0 and 1, got {label_smoothing}"
                ),
            });
        }
        Ok(BinaryCrossentropy {
            label_smoothing,
            ..BinaryCrossentropy::new()
        })
    }
}

loss_object!(
    /// `tf.keras.losses.CategoricalCrossentropy(from_logits=False)`.
    CategoricalCrossentropy { from_logits: bool = false }
    |s, t, p| categorical_crossentropy(t, p, s.from_logits)
);
loss_object!(
    /// `tf.keras.losses.SparseCategoricalCrossentropy(from_logits=False)`.
    SparseCategoricalCrossentropy { from_logits: bool = false }
    |s, t, p| sparse_categorical_crossentropy(t, p, s.from_logits)
);

#[cfg(test)]
mod tests {
    use super::*;
    use tapegrad_autodiff::GradientTape;

    fn t(v: &[f32], shape: &[usize]) -> Tensor {
        Tensor::from_vec(v.to_vec(), shape).unwrap()
    }

    #[test]
    fn functions_broadcast_a_flat_target_against_a_column_into_a_matrix() -> Result<()> {
        // document 004's mini-batch shapes: y_true (3,), y_pred (3, 1)
        let y_true = t(&[1.0, 2.0, 4.0], &[3]);
        let y_pred = t(&[0.0, 1.0, 3.0], &[3, 1]);
        let l = mean_squared_error(&y_true, &y_pred)?;
        assert_eq!(l.shape(), &[3]);
        // row i: mean over j of (p_i − t_j)²
        assert_eq!(l.to_vec::<f32>()?, vec![7.0, 10.0 / 3.0, 2.0]);
        let m = mean_absolute_error(&y_true, &y_pred)?;
        assert_eq!(m.to_vec::<f32>()?, vec![7.0 / 3.0, 4.0 / 3.0, 4.0 / 3.0]);
        Ok(())
    }

    #[test]
    fn huber_switches_at_delta_and_its_gradient_is_clipped() -> Result<()> {
        let y_pred = t(&[0.5, -3.0, 1.0], &[3]);
        let tape = GradientTape::new();
        tape.watch(&y_pred);
        let l = huber(t(&[0.0, 0.0, 0.0], &[3]), &y_pred, 1.0)?;
        let g = tape.gradient(&l, &[&y_pred])?[0].clone().unwrap();
        assert_eq!(l.item()? as f32, (0.125f32 + 2.5 + 0.5) / 3.0);
        assert_eq!(g.to_vec::<f32>()?, vec![0.5 / 3.0, -1.0 / 3.0, 1.0 / 3.0]);
        Ok(())
    }

    #[test]
    fn reductions_and_sample_weights() -> Result<()> {
        let y_true = t(&[0.0, 0.0, 0.0, 0.0], &[2, 2]);
        let y_pred = t(&[1.0, 3.0, 2.0, 2.0], &[2, 2]);
        let mse = MeanSquaredError::new();
        assert_eq!(mse.call(&y_true, &y_pred)?.item()?, 4.5); // (5 + 4) / 2
        let sum = mse.clone().with_reduction(Reduction::Sum);
        assert_eq!(sum.call(&y_true, &y_pred)?.item()?, 9.0);
        let none = mse.clone().with_reduction("none".parse()?);
        assert_eq!(
            none.call(&y_true, &y_pred)?.to_vec::<f32>()?,
            vec![5.0, 4.0]
        );
        let w = t(&[2.0, 0.0], &[2, 1]); // squeezed to (2,)
        assert_eq!(mse.call_weighted(&y_true, &y_pred, &w)?.item()?, 5.0); // 10 / 2 elements
        assert!("mean".parse::<Reduction>().is_err());
        Ok(())
    }

    #[test]
    fn logits_need_matching_shapes() {
        let e = binary_crossentropy(t(&[1.0, 0.0], &[2]), t(&[1.0, 0.0], &[2, 1]), true, 0.0);
        assert!(e.unwrap_err().to_string().contains("same shape"));
    }
}
