//! The [`Layer`] trait (also exported as [`Model`](crate::Model)): lazily built state, a
//! forward function, and the variables it owns (`tf.keras.layers.Layer` / `tf.keras.Model`).

use std::cell::RefCell;
use std::collections::HashMap;

use tapegrad_autodiff::{Tensor, Variable};

use crate::{Error, Result};

thread_local! {
    static NAME_COUNTS: RefCell<HashMap<String, usize>> = RefCell::new(HashMap::new());
}

/// Keras's `backend.unique_object_name`: `base`, then `base_1`, `base_2`, ... on this thread.
///
/// ```
/// let a = tapegrad_nn::unique_name("block");
/// let b = tapegrad_nn::unique_name("block");
/// assert_eq!(b, format!("{a}_1"));
/// ```
pub fn unique_name(base: &str) -> String {
    NAME_COUNTS.with(|c| {
        let mut c = c.borrow_mut();
        let n = c.entry(base.to_string()).or_insert(0);
        let name = if *n == 0 {
            base.to_string()
        } else {
            format!("{base}_{n}")
        };
        *n += 1;
        name
    })
}

/// The `dtype` and `name` builder methods of a layer whose dtype is the field at `$dtype`
/// (`dtype`, or `affine.dtype`) and whose name is the field `name`.
macro_rules! dtype_and_name_builders {
    ($($dtype:ident).+) => {
        /// The dtype of the weights and the computation (default float32).
        pub fn dtype(mut self, dtype: tapegrad_autodiff::DType) -> Self {
            self.$($dtype).+ = dtype;
            self
        }

        /// A name instead of the generated one.
        pub fn name(mut self, name: &str) -> Self {
            self.name = name.to_string();
            self
        }
    };
}
pub(crate) use dtype_and_name_builders;

/// `{"input_shape": [null, d1, d2, ...]}` for a layer built on `shape` (batch dimension first).
pub(crate) fn build_config(shape: &[usize]) -> serde_json::Value {
    let dims: Vec<serde_json::Value> = std::iter::once(serde_json::Value::Null)
        .chain(shape.iter().skip(1).map(|&d| d.into()))
        .collect();
    serde_json::json!({ "input_shape": dims })
}

/// The variables of several layers, in order, each once (for a model that holds layers).
///
/// ```
/// use tapegrad_nn::{collect_variables, Dense, Layer};
/// let mut a = Dense::new(2);
/// a.build(&[3])?;
/// let mut b = Dense::new(1);
/// b.build(&[2])?;
/// assert_eq!(collect_variables(&[&a, &b]).len(), 4);
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
pub fn collect_variables(layers: &[&dyn Layer]) -> Vec<Variable> {
    let mut out: Vec<Variable> = Vec::new();
    for layer in layers {
        for v in layer.variables() {
            if !out.iter().any(|o| o.same_as(&v)) {
                out.push(v);
            }
        }
    }
    out
}

/// A layer, or a model made of layers: `tf.keras.layers.Layer` and `tf.keras.Model` in one trait.
///
/// Implement [`name`](Layer::name), [`built`](Layer::built), [`build`](Layer::build) (create
/// the variables from the input shape), [`call`](Layer::call) (the forward pass) and
/// [`variables`](Layer::variables); the rest is provided. Call a layer with
/// [`apply`](Layer::apply), which builds it from the first input's shape (Keras's `layer(x)`).
///
/// Document 004's `SimpleModelTensorflow`:
///
/// ```
/// use tapegrad_autodiff::{GradientTape, Tensor, Variable};
/// use tapegrad_nn::{Layer, Model};
///
/// struct SimpleModelTensorflow { units: usize, weight: Option<Variable> }
///
/// impl Model for SimpleModelTensorflow {
///     fn name(&self) -> &str { "simple_model_tensorflow" }
///     fn built(&self) -> bool { self.weight.is_some() }
///     fn build(&mut self, _input_shape: &[usize]) -> tapegrad_nn::Result<()> {
///         self.weight = Some(Variable::with_options(2.0f32, "weight", true));
///         Ok(())
///     }
///     fn call(&self, x: &Tensor) -> tapegrad_nn::Result<Tensor> {
///         let w = self.weight.as_ref().expect("built by apply");
///         Ok((x * w)?)
///     }
///     fn variables(&self) -> Vec<Variable> { self.weight.iter().cloned().collect() }
/// }
///
/// let mut model = SimpleModelTensorflow { units: 1, weight: None };
/// assert_eq!(model.apply(&Tensor::scalar(3.0f32))?.item()?, 6.0);
/// let (y_true, x) = (Tensor::from_vec(vec![1.0f32, 2.0], &[2])?, Tensor::from_vec(vec![1.0f32, 2.0], &[2])?);
/// let t = GradientTape::new();
/// let pred = model.apply(&x)?;
/// let loss = tapegrad_autodiff::reduce_mean(tapegrad_autodiff::square((&y_true - &pred)?)?, None, false)?;
/// let gradient = t.gradient(&loss, &model.trainable_variables())?;
/// let new_weight = (&model.get_weights()[0] - 0.1 * gradient[0].clone().unwrap())?;
/// model.set_weights(&[new_weight])?;
/// assert_eq!(model.get_weights()[0].item()?, 1.5);
/// # let _ = model.units;
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
pub trait Layer: Send + Sync {
    /// The layer's name (`dense`, `dense_1`, ...).
    fn name(&self) -> &str;

    /// The class name the summary shows (`Dense`, `Sequential`).
    fn class_name(&self) -> &str {
        "Layer"
    }

    /// The layer's configuration as Keras 3's `get_config()` gives it: the keys Keras's layer of
    /// [`class_name`](Layer::class_name) has (`name`, `trainable`, `dtype`, then the layer's own:
    /// Dense's `units`, `activation`, `use_bias`, initializers, ...), from which
    /// [`layer_from_config`](crate::layer_from_config) makes the layer again. `None` (the
    /// default) for a layer Keras does not have; every layer of this crate but
    /// [`Sequential`](crate::Sequential) has one (a Sequential is written by
    /// `tapegrad_saving::save_model`).
    ///
    /// ```
    /// use tapegrad_nn::{BatchNormalization, Layer};
    /// let bn = BatchNormalization::new().momentum(0.9).name("bn");
    /// let config = bn.get_config().unwrap();
    /// assert_eq!((config["name"].as_str(), config["momentum"].as_f64()), (Some("bn"), Some(0.9)));
    /// assert_eq!(config["axis"], -1);
    /// ```
    fn get_config(&self) -> Option<serde_json::Value> {
        None
    }

    /// The input shape the layer was built for, as Keras 3's `get_build_config()` gives it
    /// (`{"input_shape": [null, 3]}`, the batch dimension null), `None` when the layer is not
    /// built or does not know it.
    ///
    /// ```
    /// use tapegrad_nn::{Dense, Layer};
    /// let mut dense = Dense::new(2);
    /// assert!(dense.get_build_config().is_none());
    /// dense.build(&[8, 3])?;
    /// assert_eq!(dense.get_build_config().unwrap(), serde_json::json!({"input_shape": [null, 3]}));
    /// # Ok::<(), tapegrad_nn::Error>(())
    /// ```
    fn get_build_config(&self) -> Option<serde_json::Value> {
        None
    }

    /// Whether [`build`](Layer::build) has run.
    fn built(&self) -> bool;

    /// Creates the variables for inputs of `input_shape` (batch dimension included, or not: a
    /// layer reads what it needs, usually the last dimension).
    fn build(&mut self, input_shape: &[usize]) -> Result<()>;

    /// The forward pass on a built layer (Keras's `call`); predicting needs no `&mut`. An
    /// unbuilt layer is an error: [`apply`](Layer::apply) builds first.
    fn call(&self, inputs: &Tensor) -> Result<Tensor>;

    /// The forward pass in training (`training = true`, as `fit` and `train_on_batch` call it)
    /// or inference (`false`: `evaluate`, `predict`), Keras's `call(inputs, training=...)`.
    /// Layers that behave alike in both ([`Dense`](crate::Dense)) keep this default,
    /// [`call`](Layer::call); [`Dropout`](crate::Dropout) drops units and
    /// [`BatchNormalization`](crate::BatchNormalization) uses and updates the batch's statistics
    /// only when `training`. A composite layer passes the flag on to the layers it holds, as
    /// [`Sequential`](crate::Sequential) does. [`call`](Layer::call) is inference.
    ///
    /// ```
    /// use tapegrad_autodiff::Tensor;
    /// use tapegrad_nn::{Dropout, Layer};
    /// let dropout = Dropout::new(0.5)?.seed(1);
    /// let x = Tensor::ones(tapegrad_autodiff::DType::F32, &[2, 4])?;
    /// assert_eq!(dropout.call_training(&x, false)?.to_vec::<f32>()?, vec![1.0; 8]);
    /// let y = dropout.call_training(&x, true)?.to_vec::<f32>()?;
    /// assert!(y.iter().all(|&v| v == 0.0 || v == 2.0)); // kept units scaled by 1 / (1 - rate)
    /// # Ok::<(), tapegrad_nn::Error>(())
    /// ```
    fn call_training(&self, inputs: &Tensor, training: bool) -> Result<Tensor> {
        let _ = training;
        self.call(inputs)
    }

    /// The layers this one holds (Keras tracks sub-layers assigned to attributes; Rust has no
    /// such hook, so a composite layer lists them here once). None by default.
    fn layers(&self) -> Vec<&dyn Layer> {
        Vec::new()
    }

    /// The variables this layer made itself (with [`add_weight`](Layer::add_weight) or
    /// [`Variable::with_options`]), not those of its sub-layers. None by default.
    fn own_variables(&self) -> Vec<Variable> {
        Vec::new()
    }

    /// Every variable, trainable or not, of this layer and the layers it holds: its own, then
    /// each sub-layer's, each once. A composite layer does not list them by hand.
    fn variables(&self) -> Vec<Variable> {
        let mut out = self.own_variables();
        for layer in self.layers() {
            for v in layer.variables() {
                if !out.iter().any(|o| o.same_as(&v)) {
                    out.push(v);
                }
            }
        }
        out
    }

    /// Makes a weight of this layer (Keras's `add_weight`): a variable named
    /// `layer_name/name`, of `shape` and `dtype`, initialized by `initializer`. Keep it in a
    /// field and return it from [`own_variables`](Layer::own_variables).
    ///
    /// ```
    /// use tapegrad_autodiff::{DType, Tensor, Variable};
    /// use tapegrad_nn::{Dense, Layer, Result};
    /// use tapegrad_nn::initializers::Ones;
    ///
    /// /// A scale per feature, then a Dense layer: a composite layer.
    /// struct Scaled { scale: Option<Variable>, dense: Dense }
    ///
    /// impl Layer for Scaled {
    ///     fn name(&self) -> &str { "scaled" }
    ///     fn built(&self) -> bool { self.scale.is_some() }
    ///     fn build(&mut self, input_shape: &[usize]) -> Result<()> {
    ///         let features = *input_shape.last().unwrap_or(&1);
    ///         self.scale = Some(self.add_weight("scale", &[features], &Ones, DType::F32, true)?);
    ///         self.dense.build(input_shape)
    ///     }
    ///     fn call(&self, x: &Tensor) -> Result<Tensor> {
    ///         let scale = self.scale.as_ref().expect("built");
    ///         self.dense.call(&(x * scale)?)
    ///     }
    ///     fn own_variables(&self) -> Vec<Variable> { self.scale.iter().cloned().collect() }
    ///     fn layers(&self) -> Vec<&dyn Layer> { vec![&self.dense] }
    /// }
    ///
    /// let mut layer = Scaled { scale: None, dense: Dense::new(2) };
    /// layer.build(&[4, 3])?;
    /// let names: Vec<String> = layer.variables().iter().map(|v| v.name().to_string()).collect();
    /// assert_eq!(names.len(), 3);
    /// assert_eq!(names[0], "scaled/scale");
    /// assert!(names[1].ends_with("/kernel") && names[2].ends_with("/bias"));
    /// # Ok::<(), tapegrad_nn::Error>(())
    /// ```
    fn add_weight(
        &self,
        name: &str,
        shape: &[usize],
        initializer: &dyn crate::Initializer,
        dtype: tapegrad_autodiff::DType,
        trainable: bool,
    ) -> Result<Variable> {
        let value = initializer.init(shape, dtype)?;
        Ok(Variable::with_options(
            value,
            &format!("{}/{name}", self.name()),
            trainable,
        ))
    }

    /// Builds the layer from the input's shape on first use, then calls it (`layer(inputs)`).
    fn apply(&mut self, inputs: &Tensor) -> Result<Tensor> {
        if !self.built() {
            self.build(inputs.shape())?;
        }
        self.call(inputs)
    }

    /// [`apply`](Layer::apply) with the `training` flag of
    /// [`call_training`](Layer::call_training): builds on first use, then calls.
    fn apply_training(&mut self, inputs: &Tensor, training: bool) -> Result<Tensor> {
        if !self.built() {
            self.build(inputs.shape())?;
        }
        self.call_training(inputs, training)
    }

    /// The variables gradients are taken for, in creation order.
    fn trainable_variables(&self) -> Vec<Variable> {
        self.variables()
            .into_iter()
            .filter(|v| v.trainable())
            .collect()
    }

    /// The variables that are not trained.
    fn non_trainable_variables(&self) -> Vec<Variable> {
        self.variables()
            .into_iter()
            .filter(|v| !v.trainable())
            .collect()
    }

    /// The current values of [`variables`](Layer::variables), as tensors no tape sees
    /// (`get_weights()`; `.numpy::<f32>()` gives the numpy-like array).
    fn get_weights(&self) -> Vec<Tensor> {
        self.variables().iter().map(|v| v.snapshot()).collect()
    }

    /// Assigns every weight at once (`set_weights`), checking the count and each shape first;
    /// values are cast to the weight's dtype, as Keras does with numpy arrays. Nothing is
    /// assigned when any check fails.
    fn set_weights(&self, weights: &[Tensor]) -> Result<()> {
        let vars = self.variables();
        if vars.len() != weights.len() {
            return Err(Error::WeightCount {
                layer: self.name().to_string(),
                expected: vars.len(),
                received: weights.len(),
            });
        }
        for (index, (v, w)) in vars.iter().zip(weights).enumerate() {
            if v.shape() != w.shape() {
                return Err(Error::WeightShape {
                    layer: self.name().to_string(),
                    index,
                    weight: v.name().to_string(),
                    expected: v.shape().to_vec(),
                    received: w.shape().to_vec(),
                });
            }
        }
        for (v, w) in vars.iter().zip(weights) {
            v.assign(w.value().cast(v.dtype()))?;
        }
        Ok(())
    }

    /// Number of scalars in the weights (`count_params()`).
    fn count_params(&self) -> usize {
        self.variables()
            .iter()
            .map(|v| v.shape().iter().product::<usize>())
            .sum()
    }
}
