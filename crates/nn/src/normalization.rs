//! The normalization layers: [`LayerNormalization`], [`BatchNormalization`] and
//! [`Normalization`] (`tf.keras.layers.*`), written in the tape's differentiable ops, so
//! their gradients (and gradients of gradients) come from the ops'.

use tapegrad_autodiff::{self as ad, DType, Tensor, Variable};

use crate::initializers::{Initializer, Ones, Zeros};
use crate::layer::{unique_name, Layer};
use crate::{Error, Result};

/// An error of layer `layer`.
fn layer_error(layer: &str, message: String) -> Error {
    Error::Layer {
        layer: layer.to_string(),
        message,
    }
}

/// `axes` (negative from the end) as sorted axes of a rank-`rank` input; one out of range or
/// repeated is an error naming the layer, the argument and the input's shape.
fn resolve_axes(layer: &str, axes: &[isize], shape: &[usize]) -> Result<Vec<usize>> {
    let rank = shape.len() as isize;
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        let r = if a < 0 { a + rank } else { a };
        if !(0..rank).contains(&r) || out.contains(&(r as usize)) {
            return Err(layer_error(
                layer,
                format!(
                    "invalid value for argument `axis` {axes:?}: each axis must be in [-{rank}, {rank}) and appear once for inputs of shape {shape:?}"
                ),
            ));
        }
        out.push(r as usize);
    }
    out.sort_unstable();
    Ok(out)
}

/// The input's sizes on `keep` (a weight's shape) and the shape broadcasting it over the input.
fn kept_shapes(shape: &[usize], keep: &[usize]) -> (Vec<usize>, Vec<isize>) {
    let param = keep.iter().map(|&a| shape[a]).collect();
    let broadcast = (0..shape.len())
        .map(|a| {
            if keep.contains(&a) {
                shape[a] as isize
            } else {
                1
            }
        })
        .collect();
    (param, broadcast)
}

/// The input must have the rank and the sizes on `keep` the layer was built for.
fn check_input(layer: &str, built: &[usize], keep: &[usize], shape: &[usize]) -> Result<()> {
    let fits = shape.len() == built.len() && keep.iter().all(|&a| shape[a] == built[a]);
    if fits {
        Ok(())
    } else {
        Err(layer_error(
            layer,
            format!(
                "input 0 is incompatible with the layer: it was built for inputs of rank {} with sizes {:?} on axes {keep:?}, but received input with shape {shape:?}",
                built.len(),
                keep.iter().map(|&a| built[a]).collect::<Vec<_>>()
            ),
        ))
    }
}

/// `tf.nn.moments(x, axes, keepdims=True)`: the mean and the biased variance over `axes`, the
/// variance taken around the mean with its gradient stopped, as TensorFlow does (the gradient
/// is the same: the deviations sum to zero).
fn moments(x: &Tensor, axes: &[usize]) -> Result<(Tensor, Tensor)> {
    let axes: Vec<isize> = axes.iter().map(|&a| a as isize).collect();
    let mean = ad::reduce_mean(x, Some(&axes), true)?;
    let centered = ad::sub(x, ad::stop_gradient(&mean)?)?;
    let variance = ad::reduce_mean(ad::square(centered)?, Some(&axes), true)?;
    Ok((mean, variance))
}

/// What LayerNormalization and BatchNormalization share: `epsilon`, the optional `gamma`
/// (scale) and `beta` (offset) with their initializers, and the dtype.
#[derive(Debug)]
struct ScaleOffset {
    epsilon: f64,
    center: bool,
    scale: bool,
    dtype: DType,
    gamma_initializer: Box<dyn Initializer>,
    beta_initializer: Box<dyn Initializer>,
    gamma: Option<Variable>,
    beta: Option<Variable>,
}

impl ScaleOffset {
    /// Keras's defaults: `epsilon=1e-3`, both weights, ones and zeros, float32.
    fn new() -> Self {
        ScaleOffset {
            epsilon: 1e-3,
            center: true,
            scale: true,
            dtype: DType::F32,
            gamma_initializer: Box::new(Ones),
            beta_initializer: Box::new(Zeros),
            gamma: None,
            beta: None,
        }
    }

    /// Makes `layer/gamma` and `layer/beta` (those asked for) of shape `param`.
    fn build(&mut self, layer: &str, param: &[usize]) -> Result<()> {
        let weight = |name: &str, init: &dyn Initializer| -> Result<Variable> {
            let value = init.init(param, self.dtype)?;
            Ok(Variable::with_options(
                value,
                &format!("{layer}/{name}"),
                true,
            ))
        };
        let gamma = self
            .scale
            .then(|| weight("gamma", self.gamma_initializer.as_ref()));
        let beta = self
            .center
            .then(|| weight("beta", self.beta_initializer.as_ref()));
        self.gamma = gamma.transpose()?;
        self.beta = beta.transpose()?;
        Ok(())
    }

    /// `gamma`, then `beta`, those that exist.
    fn variables(&self) -> impl Iterator<Item = Variable> + '_ {
        self.gamma.iter().chain(self.beta.iter()).cloned()
    }

    /// `(x − mean) / sqrt(variance + epsilon) · gamma + beta`, gamma and beta (when present)
    /// reshaped to `broadcast`.
    fn normalize(
        &self,
        x: &Tensor,
        mean: &Tensor,
        variance: &Tensor,
        broadcast: &[isize],
    ) -> Result<Tensor> {
        let inv = ad::div(1.0, ad::sqrt(ad::add(variance, self.epsilon)?)?)?;
        let mut y = ad::mul(ad::sub(x, mean)?, inv)?;
        if let Some(g) = &self.gamma {
            y = ad::mul(&y, ad::reshape(g, broadcast)?)?;
        }
        if let Some(b) = &self.beta {
            y = ad::add(&y, ad::reshape(b, broadcast)?)?;
        }
        Ok(y)
    }
}

/// The builder methods of a layer whose [`ScaleOffset`] is its field `affine`.
impl ScaleOffset {
    /// `epsilon`, `center`, `scale` and the initializers, in Keras's order after the axis.
    fn config(&self, c: &mut serde_json::Map<String, serde_json::Value>) {
        let init = |i: &dyn Initializer, default: &str| {
            crate::config::initializer_or(
                i,
                serde_json::json!({"module": "keras.initializers", "class_name": default,
                    "config": {}, "registered_name": null}),
            )
        };
        c.insert("epsilon".into(), self.epsilon.into());
        c.insert("center".into(), self.center.into());
        c.insert("scale".into(), self.scale.into());
        c.insert(
            "beta_initializer".into(),
            init(self.beta_initializer.as_ref(), "Zeros"),
        );
        c.insert(
            "gamma_initializer".into(),
            init(self.gamma_initializer.as_ref(), "Ones"),
        );
        for key in [
            "beta_regularizer",
            "gamma_regularizer",
            "beta_constraint",
            "gamma_constraint",
        ] {
            c.insert(key.into(), serde_json::Value::Null);
        }
    }

    /// The same keys read from a config.
    fn from_config(r: &mut crate::config::Reader<'_>, dtype: DType) -> Result<ScaleOffset> {
        let mut out = ScaleOffset::new();
        out.dtype = dtype;
        out.epsilon = r.f64("epsilon", 1e-3)?;
        out.center = r.bool("center", true)?;
        out.scale = r.bool("scale", true)?;
        out.beta_initializer = r.initializer("beta_initializer", Box::new(Zeros))?;
        out.gamma_initializer = r.initializer("gamma_initializer", Box::new(Ones))?;
        r.nulls(&[
            "beta_regularizer",
            "gamma_regularizer",
            "beta_constraint",
            "gamma_constraint",
        ])?;
        Ok(out)
    }
}

macro_rules! scale_offset_builders {
    () => {
        /// Added to the variance (default 1e-3).
        pub fn epsilon(mut self, epsilon: f64) -> Self {
            self.affine.epsilon = epsilon;
            self
        }

        /// Whether to add `beta` (default true).
        pub fn center(mut self, center: bool) -> Self {
            self.affine.center = center;
            self
        }

        /// Whether to multiply by `gamma` (default true).
        pub fn scale(mut self, scale: bool) -> Self {
            self.affine.scale = scale;
            self
        }

        /// `gamma`'s initializer (default `Ones`).
        pub fn gamma_initializer(mut self, init: impl Initializer + 'static) -> Self {
            self.affine.gamma_initializer = Box::new(init);
            self
        }

        /// `beta`'s initializer (default `Zeros`).
        pub fn beta_initializer(mut self, init: impl Initializer + 'static) -> Self {
            self.affine.beta_initializer = Box::new(init);
            self
        }

        crate::layer::dtype_and_name_builders!(affine.dtype);
    };
}

/// The input cast to `dtype` (Keras autocasts float64 data to a float32 layer).
fn cast_to(x: &Tensor, dtype: DType) -> Result<Tensor> {
    if x.dtype() == dtype {
        Ok(x.clone())
    } else {
        Ok(ad::cast(x, dtype)?)
    }
}

const NOT_BUILT: &str =
    "is not built: call `apply` (which builds it from the input's shape) or `build` first";

/// Normalizes each sample over `axis` (the last by default): `(x − mean) / sqrt(variance +
/// epsilon) · gamma + beta`, the mean and the (biased) variance taken over those axes of each
/// sample, `gamma` (ones) and `beta` (zeros) of the input's sizes on those axes (Keras's
/// `LayerNormalization`: `axis=-1`, `epsilon=1e-3`, `center=True`, `scale=True`). The same in
/// training and inference.
///
/// ```
/// use tapegrad_autodiff::Tensor;
/// use tapegrad_nn::{Layer, LayerNormalization};
/// let mut norm = LayerNormalization::new();
/// let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 10.0, 10.0, 40.0], &[2, 3])?;
/// let y = norm.apply(&x)?.to_vec::<f32>()?;
/// // each row: mean 0, variance 1 (less epsilon's share)
/// assert!(y[..3].iter().sum::<f32>().abs() < 1e-6 && (y[2] - 1.2238).abs() < 1e-4);
/// assert_eq!(norm.get_weights().len(), 2); // gamma, beta
/// assert!(LayerNormalization::new().axis(&[2]).apply(&x).is_err());
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
#[derive(Debug)]
pub struct LayerNormalization {
    name: String,
    axis: Vec<isize>,
    affine: ScaleOffset,
    /// The shape built for and the normalized axes, once built.
    built: Option<(Vec<usize>, Vec<usize>)>,
}

impl Default for LayerNormalization {
    fn default() -> Self {
        Self::new()
    }
}

impl LayerNormalization {
    /// Keras's defaults, named `layer_normalization`, `layer_normalization_1`, ....
    pub fn new() -> Self {
        LayerNormalization {
            name: unique_name("layer_normalization"),
            axis: vec![-1],
            affine: ScaleOffset::new(),
            built: None,
        }
    }

    /// The axes normalized over (Keras's `axis`, an int or a list; default `[-1]`).
    pub fn axis(mut self, axis: &[isize]) -> Self {
        self.axis = axis.to_vec();
        self
    }

    scale_offset_builders!();

    /// The LayerNormalization layer of a Keras 3 config (`axis`, `epsilon`, `center`,
    /// `scale`, the initializers; `rms_scaling` false, no regularizer or constraint).
    ///
    /// ```
    /// use tapegrad_nn::{Layer, LayerNormalization};
    /// let c = serde_json::json!({"name": "ln", "axis": [1, 2], "epsilon": 1e-5, "center": false});
    /// let ln = LayerNormalization::from_config(&c)?;
    /// let back = ln.get_config().unwrap();
    /// assert_eq!((back["axis"].clone(), back["epsilon"].as_f64(), back["center"].as_bool()),
    ///            (serde_json::json!([1, 2]), Some(1e-5), Some(false)));
    /// let e = LayerNormalization::from_config(&serde_json::json!({"name": "ln", "rms_scaling": true})).unwrap_err();
    /// assert_eq!(e.to_string(), "layer `ln`: config key `rms_scaling` of `LayerNormalization`: true is not supported (tapegrad reads false)");
    /// # Ok::<(), tapegrad_nn::Error>(())
    /// ```
    pub fn from_config(config: &serde_json::Value) -> Result<LayerNormalization> {
        let (mut r, dtype) = crate::config::Reader::new("LayerNormalization", config)?;
        let axis = r.axes("axis", &[-1])?;
        let affine = ScaleOffset::from_config(&mut r, dtype)?;
        r.fixed("rms_scaling", &[false.into()])?;
        let name = r.name().to_string();
        r.finish()?;
        Ok(LayerNormalization {
            name,
            axis,
            affine,
            built: None,
        })
    }
}

impl Layer for LayerNormalization {
    fn get_config(&self) -> Option<serde_json::Value> {
        let mut c = crate::config::base(&self.name, self.affine.dtype);
        c.insert("axis".into(), serde_json::json!(self.axis));
        self.affine.config(&mut c);
        c.insert("rms_scaling".into(), false.into());
        Some(c.into())
    }

    fn get_build_config(&self) -> Option<serde_json::Value> {
        self.built
            .as_ref()
            .map(|(shape, _)| crate::layer::build_config(shape))
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &str {
        "LayerNormalization"
    }

    fn built(&self) -> bool {
        self.built.is_some()
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<()> {
        if self.axis.is_empty() {
            return Err(layer_error(
                &self.name,
                format!("argument `axis` is empty: name at least one axis of inputs of shape {input_shape:?}"),
            ));
        }
        let keep = resolve_axes(&self.name, &self.axis, input_shape)?;
        let (param, _) = kept_shapes(input_shape, &keep);
        self.affine.build(&self.name, &param)?;
        self.built = Some((input_shape.to_vec(), keep));
        Ok(())
    }

    fn call(&self, inputs: &Tensor) -> Result<Tensor> {
        let (shape, keep) = self
            .built
            .as_ref()
            .ok_or_else(|| layer_error(&self.name, NOT_BUILT.into()))?;
        check_input(&self.name, shape, keep, inputs.shape())?;
        let x = cast_to(inputs, self.affine.dtype)?;
        let (_, broadcast) = kept_shapes(inputs.shape(), keep);
        let (mean, variance) = moments(&x, keep)?;
        self.affine.normalize(&x, &mean, &variance, &broadcast)
    }

    fn own_variables(&self) -> Vec<Variable> {
        self.affine.variables().collect()
    }
}

/// Normalizes each feature over the batch (Keras's `BatchNormalization`: `axis=-1`,
/// `momentum=0.99`, `epsilon=1e-3`, `center=True`, `scale=True`). In training
/// ([`Layer::call_training`] with `true`) the output is `(x − mean) / sqrt(variance + epsilon) ·
/// gamma + beta` with the batch's mean and biased variance over every axis but `axis`, and each
/// such call moves the non-trainable `moving_mean` and `moving_variance` towards the batch's as
/// tf-keras does, `moving −= (moving − batch) · (1 − momentum)`; in inference ([`Layer::call`])
/// the moving statistics take the batch's place. Weights in Keras's order: `gamma`, `beta`,
/// `moving_mean`, `moving_variance`; only the first two are trainable, so optimizers given
/// [`Layer::trainable_variables`] leave the statistics alone.
///
/// As tf-keras's fused kernel does for inputs of rank 4 with `axis` 1 or 3 and rank 5 with
/// `axis` 1 or 4, the moving variance of those inputs moves towards the batch's variance with
/// Bessel's correction (`n / (n − 1)`, `n` the values per feature); the output still uses the
/// biased one.
///
/// ```
/// use tapegrad_autodiff::Tensor;
/// use tapegrad_nn::{BatchNormalization, Layer};
/// let mut bn = BatchNormalization::new();
/// let x = Tensor::from_vec(vec![1.0f32, 10.0, 3.0, 30.0], &[2, 2])?;
/// let y = bn.apply_training(&x, true)?.to_vec::<f32>()?;
/// assert!((y[0] + 0.9995).abs() < 1e-4 && (y[3] - 0.999_995).abs() < 1e-4); // ±1 per feature
/// let moving_mean = bn.get_weights()[2].to_vec::<f32>()?; // 0.01 of the way to the batch's
/// assert!((moving_mean[0] - 0.02).abs() < 1e-7 && (moving_mean[1] - 0.2).abs() < 1e-7);
/// assert_eq!(bn.trainable_variables().len(), 2);
/// // inference: the moving statistics (mean 0.2, variance 1.99 for the second feature)
/// assert!((bn.call(&x)?.to_vec::<f32>()?[1] - 9.8 / 1.991f32.sqrt()).abs() < 1e-5);
/// assert_eq!(bn.get_weights()[2].to_vec::<f32>()?, moving_mean);
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
#[derive(Debug)]
pub struct BatchNormalization {
    name: String,
    axis: isize,
    momentum: f64,
    affine: ScaleOffset,
    moving_mean_initializer: Box<dyn Initializer>,
    moving_variance_initializer: Box<dyn Initializer>,
    moving: Option<(Variable, Variable)>,
    /// The shape built for and the feature axis, once built.
    built: Option<(Vec<usize>, usize)>,
}

impl Default for BatchNormalization {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchNormalization {
    /// Keras's defaults, named `batch_normalization`, `batch_normalization_1`, ....
    pub fn new() -> Self {
        BatchNormalization {
            name: unique_name("batch_normalization"),
            axis: -1,
            momentum: 0.99,
            affine: ScaleOffset::new(),
            moving_mean_initializer: Box::new(Zeros),
            moving_variance_initializer: Box::new(Ones),
            moving: None,
            built: None,
        }
    }

    /// The feature axis (default −1, the last).
    pub fn axis(mut self, axis: isize) -> Self {
        self.axis = axis;
        self
    }

    /// The moving statistics' momentum (default 0.99).
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    scale_offset_builders!();

    /// `moving_mean`'s initializer (default `Zeros`).
    pub fn moving_mean_initializer(mut self, init: impl Initializer + 'static) -> Self {
        self.moving_mean_initializer = Box::new(init);
        self
    }

    /// `moving_variance`'s initializer (default `Ones`).
    pub fn moving_variance_initializer(mut self, init: impl Initializer + 'static) -> Self {
        self.moving_variance_initializer = Box::new(init);
        self
    }

    /// The BatchNormalization layer of a Keras 3 config (`axis`, `momentum`, `epsilon`,
    /// `center`, `scale`, the four initializers; `renorm` false, no regularizer or
    /// constraint; `synchronized` read and ignored, as on one device).
    ///
    /// ```
    /// use tapegrad_nn::{BatchNormalization, Layer};
    /// let c = serde_json::json!({"name": "bn", "axis": 1, "momentum": 0.9, "scale": false});
    /// let bn = BatchNormalization::from_config(&c)?;
    /// let back = bn.get_config().unwrap();
    /// assert_eq!((back["axis"].as_i64(), back["momentum"].as_f64(), back["scale"].as_bool()),
    ///            (Some(1), Some(0.9), Some(false)));
    /// # Ok::<(), tapegrad_nn::Error>(())
    /// ```
    pub fn from_config(config: &serde_json::Value) -> Result<BatchNormalization> {
        let (mut r, dtype) = crate::config::Reader::new("BatchNormalization", config)?;
        let axes = r.axes("axis", &[-1])?;
        let [axis] = axes[..] else {
            return Err(r.err(
                "axis",
                format!("{axes:?}: tapegrad normalizes along one axis"),
            ));
        };
        let momentum = r.f64("momentum", 0.99)?;
        let affine = ScaleOffset::from_config(&mut r, dtype)?;
        let moving_mean = r.initializer("moving_mean_initializer", Box::new(Zeros))?;
        let moving_variance = r.initializer("moving_variance_initializer", Box::new(Ones))?;
        r.fixed("renorm", &[false.into()])?;
        r.nulls(&["renorm_clipping"])?;
        r.ignore(&["renorm_momentum", "synchronized"]);
        let name = r.name().to_string();
        r.finish()?;
        Ok(BatchNormalization {
            name,
            axis,
            momentum,
            affine,
            moving_mean_initializer: moving_mean,
            moving_variance_initializer: moving_variance,
            moving: None,
            built: None,
        })
    }

    /// The moving mean and variance, once built.
    pub fn moving_statistics(&self) -> Option<(&Variable, &Variable)> {
        self.moving.as_ref().map(|(m, v)| (m, v))
    }

    /// Whether tf-keras runs its fused kernel on inputs of rank `rank`, features on `axis`.
    fn fused(rank: usize, axis: usize) -> bool {
        matches!((rank, axis), (4, 1) | (4, 3) | (5, 1) | (5, 4))
    }

    /// `variable −= (variable − value) · (1 − momentum)`, tf-keras's `_assign_moving_average`.
    fn move_towards(&self, variable: &Variable, value: &Tensor) -> Result<()> {
        let shape: Vec<isize> = variable.shape().iter().map(|&d| d as isize).collect();
        let value = Tensor::new(value.value().reshape(&shape)?);
        let delta = ad::mul(ad::sub(variable.snapshot(), value)?, 1.0 - self.momentum)?;
        Ok(variable.assign_sub(&delta)?)
    }
}

impl Layer for BatchNormalization {
    fn get_config(&self) -> Option<serde_json::Value> {
        let mut c = crate::config::base(&self.name, self.affine.dtype);
        c.insert("axis".into(), self.axis.into());
        c.insert("momentum".into(), self.momentum.into());
        self.affine.config(&mut c);
        let init = |i: &dyn Initializer, default: &str| {
            crate::config::initializer_or(
                i,
                serde_json::json!({"module": "keras.initializers", "class_name": default,
                    "config": {}, "registered_name": null}),
            )
        };
        c.insert(
            "moving_mean_initializer".into(),
            init(self.moving_mean_initializer.as_ref(), "Zeros"),
        );
        c.insert(
            "moving_variance_initializer".into(),
            init(self.moving_variance_initializer.as_ref(), "Ones"),
        );
        c.insert("synchronized".into(), false.into());
        c.insert("renorm".into(), false.into());
        c.insert("renorm_clipping".into(), serde_json::Value::Null);
        c.insert("renorm_momentum".into(), 0.99.into());
        Some(c.into())
    }

    fn get_build_config(&self) -> Option<serde_json::Value> {
        self.built
            .as_ref()
            .map(|(shape, _)| crate::layer::build_config(shape))
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &str {
        "BatchNormalization"
    }

    fn built(&self) -> bool {
        self.built.is_some()
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<()> {
        let axis = resolve_axes(&self.name, &[self.axis], input_shape)?[0];
        let param = [input_shape[axis]];
        self.affine.build(&self.name, &param)?;
        let dtype = self.affine.dtype;
        let mean = self.moving_mean_initializer.init(&param, dtype)?;
        let variance = self.moving_variance_initializer.init(&param, dtype)?;
        self.moving = Some((
            self.add_weight_value("moving_mean", mean, false),
            self.add_weight_value("moving_variance", variance, false),
        ));
        self.built = Some((input_shape.to_vec(), axis));
        Ok(())
    }

    fn call(&self, inputs: &Tensor) -> Result<Tensor> {
        self.call_training(inputs, false)
    }

    fn call_training(&self, inputs: &Tensor, training: bool) -> Result<Tensor> {
        let (Some((shape, axis)), Some((moving_mean, moving_variance))) =
            (self.built.as_ref(), self.moving.as_ref())
        else {
            return Err(layer_error(&self.name, NOT_BUILT.into()));
        };
        check_input(&self.name, shape, &[*axis], inputs.shape())?;
        let x = cast_to(inputs, self.affine.dtype)?;
        let rank = x.shape().len();
        let (_, broadcast) = kept_shapes(x.shape(), &[*axis]);
        if !training {
            let mean = ad::reshape(moving_mean, &broadcast)?;
            let variance = ad::reshape(moving_variance, &broadcast)?;
            return self.affine.normalize(&x, &mean, &variance, &broadcast);
        }
        let reduce: Vec<usize> = (0..rank).filter(|a| a != axis).collect();
        let (mean, variance) = moments(&x, &reduce)?;
        let y = self.affine.normalize(&x, &mean, &variance, &broadcast)?;
        let mut moving_target = Tensor::new(variance.value().clone());
        if Self::fused(rank, *axis) {
            let values: usize = x.shape().iter().product();
            let n = values.checked_div(x.shape()[*axis]).unwrap_or(0) as f64;
            moving_target = ad::mul(&moving_target, n / (n - 1.0).max(1.0))?;
        }
        self.move_towards(moving_mean, &mean)?;
        self.move_towards(moving_variance, &moving_target)?;
        Ok(y)
    }

    fn own_variables(&self) -> Vec<Variable> {
        let moving = self.moving.iter().flat_map(|(m, v)| [m.clone(), v.clone()]);
        self.affine.variables().chain(moving).collect()
    }
}

/// Shifts and scales inputs to mean 0 and variance 1 with a fixed mean and variance per
/// feature: `(x − mean) / max(sqrt(variance), 1e-7)`, or with `invert`, `mean + x ·
/// max(sqrt(variance), 1e-7)` (Keras's `Normalization`). The mean and variance are given
/// ([`Normalization::mean_variance`]) or computed from data by [`Normalization::adapt`]. `axis`
/// (default −1) names the axes that keep their own statistics; the others are averaged over.
///
/// `adapt` works as tf-keras's: it forgets any earlier state, then takes the data in batches of
/// 32 rows (or [`Normalization::adapt_batched`]'s size), each batch's mean and biased variance
/// folded into the running ones weighted by the number of values. The adapted statistics are
/// two non-trainable weights, `mean` and `variance` (Keras 3's weights; tf-keras also keeps
/// the count of values adapted on as a third, int64, weight: ours is a field).
///
/// ```
/// use tapegrad_autodiff::Tensor;
/// use tapegrad_nn::{Layer, Normalization};
/// let data = Tensor::from_vec(vec![1.0f32, 10.0, 3.0, 30.0, 5.0, 50.0], &[3, 2])?;
/// let mut norm = Normalization::new();
/// norm.adapt(&data)?;
/// assert_eq!(norm.get_weights()[0].to_vec::<f32>()?, vec![3.0, 30.0]);
/// let y = norm.call(&data)?.to_vec::<f32>()?;
/// assert!((y[4] - 1.224_745).abs() < 1e-6 && (y[5] - 1.224_745).abs() < 1e-6);
/// let mut fixed = Normalization::new().mean_variance(&[3.0], &[4.0]).invert(true);
/// assert_eq!(fixed.apply(&Tensor::from_vec(vec![1.0f32, -1.0], &[1, 2])?)?.to_vec::<f32>()?, vec![5.0, 1.0]);
/// assert!(fixed.adapt(&data).is_err()); // its statistics were given
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
#[derive(Debug)]
pub struct Normalization {
    name: String,
    axis: Vec<isize>,
    invert: bool,
    dtype: DType,
    given: Option<(Vec<f64>, Vec<f64>)>,
    /// The given statistics, once built.
    stats: Option<(Tensor, Tensor)>,
    adapted: Option<(Variable, Variable)>,
    count: u64,
    /// The shape built for and the kept axes, once built.
    built: Option<(Vec<usize>, Vec<usize>)>,
}

impl Default for Normalization {
    fn default() -> Self {
        Self::new()
    }
}

impl Normalization {
    /// Keras's defaults (`axis=-1`, to be adapted), named `normalization`, `normalization_1`, ....
    pub fn new() -> Self {
        Normalization {
            name: unique_name("normalization"),
            axis: vec![-1],
            invert: false,
            dtype: DType::F32,
            given: None,
            stats: None,
            adapted: None,
            count: 0,
            built: None,
        }
    }

    /// The axes that keep their own mean and variance (Keras's `axis`); `&[]` is Keras's
    /// `axis=None`, one mean and one variance for all values.
    pub fn axis(mut self, axis: &[isize]) -> Self {
        self.axis = axis.to_vec();
        self
    }

    /// A fixed mean and variance (Keras's `mean=`, `variance=`): one value each, or one per
    /// position of the kept axes, in row-major order. Such a layer has no weights and cannot
    /// be adapted.
    pub fn mean_variance(mut self, mean: &[f64], variance: &[f64]) -> Self {
        self.given = Some((mean.to_vec(), variance.to_vec()));
        self
    }

    /// Whether to undo the normalization instead (default false).
    pub fn invert(mut self, invert: bool) -> Self {
        self.invert = invert;
        self
    }

    crate::layer::dtype_and_name_builders!(dtype);

    /// The Normalization layer of a Keras 3 config: `axis` (an axis, a list, or null for a
    /// single mean and variance), `invert`, and `mean` / `variance` (null for a layer adapted
    /// on data, whose statistics are its weights; else numbers, as a scalar or a list, nested or
    /// not, of the kept axes' size).
    ///
    /// ```
    /// use tapegrad_nn::{Layer, Normalization};
    /// use tapegrad_autodiff::Tensor;
    /// let c = serde_json::json!({"name": "norm", "axis": [-1], "invert": false,
    ///                            "mean": [1.0, 2.0], "variance": [4.0, 1.0]});
    /// let mut n = Normalization::from_config(&c)?;
    /// let y = n.apply(&Tensor::from_vec(vec![3.0f32, 3.0], &[1, 2])?)?;
    /// assert_eq!(y.to_vec::<f32>()?, vec![1.0, 1.0]);
    /// assert_eq!(n.get_config().unwrap()["mean"], serde_json::json!([1.0, 2.0]));
    /// # Ok::<(), tapegrad_nn::Error>(())
    /// ```
    pub fn from_config(config: &serde_json::Value) -> Result<Normalization> {
        let (mut r, dtype) = crate::config::Reader::new("Normalization", config)?;
        let axis = r.axes("axis", &[-1])?;
        let invert = r.bool("invert", false)?;
        let mut numbers = |key: &'static str| -> Result<Option<Vec<f64>>> {
            let Some(v) = r.get(key) else {
                return Ok(None);
            };
            let mut out = Vec::new();
            if flatten_numbers(v, &mut out) {
                Ok(Some(out))
            } else {
                Err(r.err(key, format!("{v} is not a number or a list of numbers")))
            }
        };
        let mean = numbers("mean")?;
        let variance = numbers("variance")?;
        let given = match (mean, variance) {
            (Some(m), Some(v)) => Some((m, v)),
            (None, None) => None,
            (m, _) => {
                let (key, other) = if m.is_some() {
                    ("variance", "mean")
                } else {
                    ("mean", "variance")
                };
                return Err(r.err(
                    key,
                    format!("null, but `{other}` is given (give both or neither)"),
                ));
            }
        };
        let name = r.name().to_string();
        r.finish()?;
        let mut n = Normalization::new().name(&name).dtype(dtype).axis(&axis);
        n.invert = invert;
        n.given = given;
        Ok(n)
    }

    /// How many values per feature [`adapt`](Normalization::adapt) has seen.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Computes the mean and variance of `data` (rows along the first axis), in batches of 32
    /// rows, as tf-keras's `adapt(data)`.
    pub fn adapt(&mut self, data: &Tensor) -> Result<()> {
        self.adapt_batched(data, 32)
    }

    /// [`adapt`](Normalization::adapt) in batches of `batch_size` rows (Keras's `batch_size`).
    pub fn adapt_batched(&mut self, data: &Tensor, batch_size: usize) -> Result<()> {
        if self.given.is_some() {
            return Err(layer_error(
                &self.name,
                "cannot `adapt` a Normalization layer initialized with a static `mean` and `variance`".into(),
            ));
        }
        let shape = data.shape().to_vec();
        if shape.is_empty() || shape[0] == 0 || batch_size == 0 {
            return Err(layer_error(
                &self.name,
                format!("`adapt` needs at least one row of data and a positive `batch_size`; received data of shape {shape:?}, batch_size={batch_size}"),
            ));
        }
        if let Some(axis) = shape.iter().position(|&d| d == 0) {
            // a mean over no values is NaN; Keras gives NaN silently
            return Err(layer_error(
                &self.name,
                format!("`adapt` received data of shape {shape:?}, with a zero-length axis {axis}: there are no values to take a mean and variance of"),
            ));
        }
        if !self.built() {
            self.build(&shape)?;
        }
        let (Some((built, keep)), Some((mean_var, variance_var))) =
            (self.built.clone(), self.adapted.clone())
        else {
            return Err(layer_error(&self.name, NOT_BUILT.into()));
        };
        check_input(&self.name, &built, &keep, &shape)?;
        let data = Tensor::new(data.value().cast(self.dtype));
        let reduce: Vec<usize> = (0..shape.len()).filter(|a| !keep.contains(a)).collect();
        let param: Vec<isize> = keep.iter().map(|&a| shape[a] as isize).collect();
        let mut mean = Tensor::zeros(self.dtype, mean_var.shape())?;
        let mut variance = Tensor::ones(self.dtype, variance_var.shape())?;
        let mut count = 0u64;
        for start in (0..shape[0]).step_by(batch_size) {
            let rows = batch_size.min(shape[0] - start);
            let mut begin = vec![0; shape.len()];
            begin[0] = start;
            let mut size: Vec<isize> = shape.iter().map(|&d| d as isize).collect();
            size[0] = rows as isize;
            let batch = Tensor::new(data.value().slice(&begin, &size)?);
            let (batch_mean, batch_variance) = moments(&batch, &reduce)?;
            let batch_mean = ad::reshape(&batch_mean, &param)?;
            let batch_variance = ad::reshape(&batch_variance, &param)?;
            let batch_count: u64 = reduce
                .iter()
                .map(|&a| if a == 0 { rows } else { shape[a] } as u64)
                .product();
            let total = count + batch_count;
            // the weights in the layer's dtype, as tf-keras casts the counts before dividing
            let (batch_weight, existing_weight) = match self.dtype {
                DType::F32 => {
                    let w = batch_count as f32 / total as f32;
                    (f64::from(w), f64::from(1.0 - w))
                }
                DType::F64 => {
                    let w = batch_count as f64 / total as f64;
                    (w, 1.0 - w)
                }
            };
            let total_mean = ad::add(
                ad::mul(&mean, existing_weight)?,
                ad::mul(&batch_mean, batch_weight)?,
            )?;
            let spread = |v: &Tensor, m: &Tensor, w: f64| -> Result<Tensor> {
                let shift = ad::square(ad::sub(m, &total_mean)?)?;
                Ok(ad::mul(ad::add(v, shift)?, w)?)
            };
            variance = ad::add(
                spread(&variance, &mean, existing_weight)?,
                spread(&batch_variance, &batch_mean, batch_weight)?,
            )?;
            mean = total_mean;
            count = total;
        }
        mean_var.assign(&mean)?;
        variance_var.assign(&variance)?;
        self.count = count;
        Ok(())
    }

    /// The given statistics of `param`'s shape: one value broadcast, or one per position.
    fn given_stats(&self, param: &[usize]) -> Result<Option<(Tensor, Tensor)>> {
        let Some((mean, variance)) = &self.given else {
            return Ok(None);
        };
        let n: usize = param.iter().product();
        let expand = |what: &str, v: &[f64]| -> Result<Tensor> {
            let values = match v.len() {
                1 => vec![v[0]; n],
                len if len == n => v.to_vec(),
                len => {
                    return Err(layer_error(
                        &self.name,
                        format!("argument `{what}` has {len} values, but the kept axes have shape {param:?} ({n} values, or give 1)"),
                    ))
                }
            };
            Ok(Tensor::new(
                tapegrad_tensor::Array::from_vec(values, param)?.cast(self.dtype),
            ))
        };
        Ok(Some((expand("mean", mean)?, expand("variance", variance)?)))
    }
}

/// The numbers of a JSON number or (nested) list, in order; false for anything else.
fn flatten_numbers(v: &serde_json::Value, out: &mut Vec<f64>) -> bool {
    match v {
        serde_json::Value::Array(items) => items.iter().all(|i| flatten_numbers(i, out)),
        v => v.as_f64().map(|x| out.push(x)).is_some(),
    }
}

/// `values` as nested JSON lists of `shape` (a scalar for shape `[]`).
fn nested(values: &[f64], shape: &[usize]) -> serde_json::Value {
    match shape.split_first() {
        None => values.first().copied().unwrap_or(0.0).into(),
        Some((_, rest)) => {
            let step = rest.iter().product::<usize>().max(1);
            values
                .chunks(step)
                .map(|c| nested(c, rest))
                .collect::<Vec<_>>()
                .into()
        }
    }
}

impl Layer for Normalization {
    fn get_config(&self) -> Option<serde_json::Value> {
        let mut c = crate::config::base(&self.name, self.dtype);
        c.insert("axis".into(), serde_json::json!(self.axis));
        c.insert("invert".into(), self.invert.into());
        let (mean, variance) = match (&self.given, &self.stats) {
            (Some(_), Some((m, v))) => (
                nested(&m.to_f64_vec(), m.shape()),
                nested(&v.to_f64_vec(), v.shape()),
            ),
            (Some((m, v)), None) => (serde_json::json!(m), serde_json::json!(v)),
            (None, _) => (serde_json::Value::Null, serde_json::Value::Null),
        };
        c.insert("mean".into(), mean);
        c.insert("variance".into(), variance);
        Some(c.into())
    }

    fn get_build_config(&self) -> Option<serde_json::Value> {
        self.built
            .as_ref()
            .map(|(shape, _)| crate::layer::build_config(shape))
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &str {
        "Normalization"
    }

    fn built(&self) -> bool {
        self.built.is_some()
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<()> {
        let keep = resolve_axes(&self.name, &self.axis, input_shape)?;
        let (param, _) = kept_shapes(input_shape, &keep);
        if let Some(stats) = self.given_stats(&param)? {
            self.stats = Some(stats);
        } else {
            let mean = Tensor::zeros(self.dtype, &param)?;
            let variance = Tensor::ones(self.dtype, &param)?;
            let vars = (
                self.add_weight_value("mean", mean, false),
                self.add_weight_value("variance", variance, false),
            );
            self.adapted = Some(vars);
            self.count = 0;
        }
        self.built = Some((input_shape.to_vec(), keep));
        Ok(())
    }

    fn call(&self, inputs: &Tensor) -> Result<Tensor> {
        let Some((shape, keep)) = self.built.as_ref() else {
            return Err(layer_error(&self.name, NOT_BUILT.into()));
        };
        check_input(&self.name, shape, keep, inputs.shape())?;
        let (mean, variance) = match (&self.adapted, &self.stats) {
            (Some((m, v)), _) => (m.value(), v.value()),
            (None, Some((m, v))) => (m.clone(), v.clone()),
            (None, None) => return Err(layer_error(&self.name, NOT_BUILT.into())),
        };
        let (_, broadcast) = kept_shapes(inputs.shape(), keep);
        let mean = ad::reshape(&mean, &broadcast)?;
        let spread = ad::maximum(ad::sqrt(ad::reshape(&variance, &broadcast)?)?, 1e-7)?;
        let x = cast_to(inputs, self.dtype)?;
        if self.invert {
            Ok(ad::add(&mean, ad::mul(&x, &spread)?)?)
        } else {
            Ok(ad::div(ad::sub(&x, &mean)?, &spread)?)
        }
    }

    fn own_variables(&self) -> Vec<Variable> {
        self.adapted
            .iter()
            .flat_map(|(m, v)| [m.clone(), v.clone()])
            .collect()
    }
}

/// A variable `layer/name` holding `value` (for layers whose weights come from a computed value).
trait WeightValue: Layer {
    fn add_weight_value(&self, name: &str, value: Tensor, trainable: bool) -> Variable {
        Variable::with_options(value, &format!("{}/{name}", self.name()), trainable)
    }
}

impl<L: Layer + ?Sized> WeightValue for L {}

#[cfg(test)]
mod tests {
    use super::*;
    use tapegrad_autodiff::gradcheck::{check_gradients, CheckOptions};

    /// `sum(layer(x) · r)` for a fixed `r`: a plain sum of a normalized output is constant.
    fn weighted(
        layer: &dyn Layer,
        training: bool,
    ) -> impl Fn(&[Tensor]) -> ad::Result<Tensor> + '_ {
        move |v: &[Tensor]| {
            let n = v[0].shape().iter().product::<usize>();
            let r: Vec<f64> = (0..n).map(|i| ((i * 7) % 5) as f64 - 1.5).collect();
            let r = Tensor::from_vec(r, v[0].shape())?;
            let y = layer.call_training(&v[0], training).map_err(|e| match e {
                Error::Autodiff(e) => e,
                other => panic!("{other}"),
            })?;
            ad::mul(y, r)
        }
    }

    fn ramp(shape: &[usize]) -> Tensor {
        let n: usize = shape.iter().product();
        let v: Vec<f64> = (0..n).map(|i| ((i * 37) % 11) as f64 * 0.3 - 1.0).collect();
        Tensor::from_vec(v, shape).unwrap()
    }

    #[test]
    fn layer_normalization_gradients_match_central_differences() -> Result<()> {
        for axis in [vec![-1], vec![1, 2], vec![1]] {
            let x = ramp(&[2, 3, 4]);
            let mut layer = LayerNormalization::new()
                .axis(&axis)
                .dtype(DType::F64)
                .gamma_initializer(crate::Constant(1.5))
                .beta_initializer(crate::Constant(0.25));
            layer.build(x.shape())?;
            let report = check_gradients(weighted(&layer, true), &[x], CheckOptions::default())?;
            assert!(report.passed, "axis {axis:?}: {report:?}");
        }
        Ok(())
    }

    #[test]
    fn layer_normalization_refuses_bad_axes_and_shapes() -> Result<()> {
        let x = ramp(&[2, 3]);
        let e = LayerNormalization::new()
            .name("ln")
            .axis(&[-3])
            .apply(&x)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`ln`") && e.contains("`axis` [-3]") && e.contains("[2, 3]"),
            "{e}"
        );
        assert!(LayerNormalization::new().axis(&[1, -1]).apply(&x).is_err());
        assert!(LayerNormalization::new().axis(&[]).apply(&x).is_err());
        let mut layer = LayerNormalization::new().name("ln2");
        layer.apply(&x)?;
        let e = layer.call(&ramp(&[2, 4])).unwrap_err().to_string();
        assert!(e.contains("`ln2`") && e.contains("[2, 4]"), "{e}");
        assert!(layer.call(&ramp(&[2, 2, 3])).is_err());
        assert_eq!(layer.class_name(), "LayerNormalization");
        let names: Vec<String> = layer.variables().iter().map(|v| v.name().into()).collect();
        assert_eq!(names, ["ln2/gamma", "ln2/beta"]);
        Ok(())
    }
    #[test]
    fn batch_normalization_gradients_match_central_differences() -> Result<()> {
        for (shape, axis) in [(vec![5, 3], -1), (vec![2, 3, 4], 1), (vec![2, 2, 2, 3], -1)] {
            let x = ramp(&shape);
            let mut layer = BatchNormalization::new()
                .axis(axis)
                .dtype(DType::F64)
                .gamma_initializer(crate::Constant(0.75))
                .moving_variance_initializer(crate::Constant(2.0));
            layer.build(x.shape())?;
            for training in [true, false] {
                let f = weighted(&layer, training);
                let report = check_gradients(f, std::slice::from_ref(&x), CheckOptions::default())?;
                assert!(
                    report.passed,
                    "{shape:?} axis {axis} {training}: {report:?}"
                );
            }
        }
        Ok(())
    }

    #[test]
    fn batch_normalization_statistics_are_weights_but_not_trained() -> Result<()> {
        let mut model = crate::Sequential::new();
        model.add(BatchNormalization::new().name("bn"));
        model.build(&[4, 3])?;
        let names: Vec<String> = model.variables().iter().map(|v| v.name().into()).collect();
        assert_eq!(
            names,
            [
                "bn/gamma",
                "bn/beta",
                "bn/moving_mean",
                "bn/moving_variance"
            ]
        );
        assert_eq!(model.trainable_variables().len(), 2);
        assert_eq!(model.non_trainable_variables().len(), 2);
        assert!(model
            .summary()?
            .contains("Non-trainable params: 6 (24.00 Byte)"));
        // building (an inference call) moved nothing; a training call through the model does
        assert_eq!(model.get_weights()[2].to_vec::<f32>()?, vec![0.0; 3]);
        let x = Tensor::from_vec((0..12).map(|i| i as f32).collect(), &[4, 3])?;
        model.call_training(&x, true)?;
        // batch means 4.5, 5.5, 6.5; variance 11.25 each; 1 − 0.99 of the way there
        let w = model.get_weights();
        let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(a, b)| (a - b).abs() < 1e-6);
        assert!(close(&w[2].to_vec::<f32>()?, &[0.045, 0.055, 0.065]));
        assert!(close(&w[3].to_vec::<f32>()?, &[1.1025; 3]));
        Ok(())
    }

    #[test]
    fn batch_normalization_refuses_bad_axes_and_shapes() -> Result<()> {
        let x = ramp(&[2, 3]);
        let e = BatchNormalization::new()
            .name("bn")
            .axis(2)
            .apply(&x)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`bn`") && e.contains("`axis` [2]") && e.contains("[2, 3]"),
            "{e}"
        );
        let mut layer = BatchNormalization::new().name("bn2");
        layer.apply(&x)?;
        let e = layer
            .call_training(&ramp(&[2, 5]), true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`bn2`") && e.contains("[2, 5]"), "{e}");
        assert!(BatchNormalization::new().call(&x).is_err());
        assert_eq!(layer.class_name(), "BatchNormalization");
        Ok(())
    }
    #[test]
    fn normalization_adapts_in_batches_and_differentiates() -> Result<()> {
        let data = ramp(&[70, 2, 3]);
        let mut batched = Normalization::new().axis(&[1]).dtype(DType::F64);
        batched.adapt_batched(&data, 16)?;
        let mut whole = Normalization::new().axis(&[1]).dtype(DType::F64);
        whole.adapt_batched(&data, 70)?;
        assert_eq!(batched.count(), 210);
        for (a, b) in batched.get_weights().iter().zip(whole.get_weights()) {
            let (a, b) = (a.to_vec::<f64>()?, b.to_vec::<f64>()?);
            assert!(
                a.iter().zip(&b).all(|(a, b)| (a - b).abs() < 1e-12),
                "{a:?} {b:?}"
            );
        }
        // adapting again forgets the first data, as tf-keras's adapt does
        whole.adapt(&ramp(&[3, 2, 3]))?;
        assert_eq!(whole.count(), 9);
        for invert in [false, true] {
            let mut layer = Normalization::new()
                .axis(&[])
                .dtype(DType::F64)
                .invert(invert);
            layer.adapt(&data)?;
            let f = weighted(&layer, false);
            let report = check_gradients(f, &[ramp(&[2, 2, 3])], CheckOptions::default())?;
            assert!(report.passed, "{report:?}");
        }
        Ok(())
    }

    #[test]
    fn normalization_refuses_bad_arguments() -> Result<()> {
        let x = ramp(&[4, 3]);
        let e = Normalization::new()
            .name("norm")
            .mean_variance(&[1.0, 2.0], &[1.0])
            .apply(&x)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`norm`") && e.contains("`mean` has 2 values") && e.contains("[3]"),
            "{e}"
        );
        let e = Normalization::new()
            .axis(&[5])
            .adapt(&x)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`axis` [5]") && e.contains("[4, 3]"), "{e}");
        let mut layer = Normalization::new().name("norm2");
        layer.adapt(&x)?;
        let e = layer.call(&ramp(&[4, 2])).unwrap_err().to_string();
        assert!(e.contains("`norm2`") && e.contains("[4, 2]"), "{e}");
        assert!(layer.adapt(&ramp(&[4, 2])).is_err());
        assert!(layer.adapt(&Tensor::scalar(1.0f32)).is_err());
        assert!(Normalization::new().call(&x).is_err());
        assert_eq!(layer.trainable_variables().len(), 0);
        assert_eq!(layer.class_name(), "Normalization");
        Ok(())
    }
    #[test]
    fn gradients_of_gradients_match_central_differences() -> Result<()> {
        // the gradient with respect to the input, itself differentiated: a nested tape
        let x = ramp(&[4, 3]);
        let mut ln = LayerNormalization::new().dtype(DType::F64);
        ln.build(x.shape())?;
        let mut bn = BatchNormalization::new().dtype(DType::F64);
        bn.build(x.shape())?;
        for layer in [&ln as &dyn Layer, &bn] {
            let f = weighted(layer, true);
            let grad = |v: &[Tensor]| -> ad::Result<Tensor> {
                let inner = tapegrad_autodiff::GradientTape::new();
                inner.watch(&v[0]);
                let y = ad::reduce_sum(f(v)?, None, false)?;
                let g = inner.gradient(&y, &[&v[0]])?[0].clone().expect("connected");
                ad::mul(ad::square(g)?, 0.5)
            };
            let report = check_gradients(grad, std::slice::from_ref(&x), CheckOptions::default())?;
            assert!(report.passed, "{}: {report:?}", layer.class_name());
        }
        Ok(())
    }
}

#[cfg(test)]
mod config_tests {
    use super::*;

    #[test]
    fn adapt_on_a_zero_length_axis_is_an_error_not_nan() -> Result<()> {
        // axis -1 kept; the reduced axis 1 has no values: a mean of nothing
        for shape in [vec![4, 0, 3], vec![4, 3, 0]] {
            let mut n = Normalization::new().name("norm");
            let data = Tensor::zeros(DType::F32, &shape)?;
            let e = match n.adapt(&data) {
                Ok(()) => format!("adapted: {:?}", n.get_weights()[0].to_f64_vec()),
                Err(e) => e.to_string(),
            };
            assert!(
                e.contains("`norm`")
                    && e.contains("zero-length axis")
                    && e.contains(&format!("{shape:?}")),
                "{shape:?}: {e}"
            );
            assert!(!n.built(), "{shape:?}: built by a refused adapt");
        }
        Ok(())
    }

    #[test]
    fn configs_round_trip_through_from_config() -> Result<()> {
        let ln = LayerNormalization::new()
            .axis(&[1, 2])
            .epsilon(1e-5)
            .name("ln");
        let c = ln.get_config().unwrap();
        assert_eq!(
            LayerNormalization::from_config(&c)?.get_config().unwrap(),
            c
        );
        let bn = BatchNormalization::new()
            .momentum(0.9)
            .center(false)
            .name("bn");
        let c = bn.get_config().unwrap();
        assert_eq!(
            BatchNormalization::from_config(&c)?.get_config().unwrap(),
            c
        );
        let mut n = Normalization::new()
            .axis(&[1, 2])
            .mean_variance(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[1.0; 6])
            .name("n");
        n.build(&[1, 2, 3])?;
        let c = n.get_config().unwrap();
        assert_eq!(
            c["mean"],
            serde_json::json!([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
        );
        let mut back = Normalization::from_config(&c)?;
        back.build(&[1, 2, 3])?;
        let x = Tensor::ones(DType::F32, &[1, 2, 3])?;
        assert!(back.call(&x)?.equals(&n.call(&x)?));
        let e = Normalization::from_config(&serde_json::json!({"name": "n", "mean": [1.0]}))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "layer `n`: config key `variance` of `Normalization`: null, but `mean` is given (give both or neither)"
        );
        let e = BatchNormalization::from_config(&serde_json::json!({"name": "b", "renorm": true}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`renorm`"), "{e}");
        Ok(())
    }
}
