//! [`Dense`]: `activation(inputs · kernel + bias)` (`tf.keras.layers.Dense`).

use tapegrad_autodiff::{self as ad, DType, Tensor, Variable};

use crate::activations::{Activation, IntoActivation};
use crate::initializers::{GlorotUniform, Initializer, Zeros};
use crate::layer::{unique_name, Layer};
use crate::{Error, Result};

/// A densely connected layer: `activation(inputs · kernel + bias)` with a kernel of shape
/// `(input_dim, units)` and a bias of shape `(units,)`, created on the first call from the
/// input's last dimension. Inputs of rank > 2 are multiplied over their last axis, as in Keras;
/// inputs are cast to the layer's dtype (float32 unless [`Dense::dtype`] says otherwise), as
/// Keras autocasts numpy float64 data.
///
/// ```
/// use tapegrad_autodiff::Tensor;
/// use tapegrad_nn::{initializers::Constant, Dense, Layer};
/// let mut dense = Dense::new(2)
///     .activation("relu")?
///     .kernel_initializer(Constant(0.5))
///     .bias_initializer(Constant(-1.0));
/// let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[1, 3])?;
/// let y = dense.apply(&x)?;                       // builds a (3, 2) kernel
/// assert_eq!(y.to_vec::<f32>()?, vec![2.0, 2.0]); // relu(0.5 · 6 − 1)
/// assert_eq!(dense.get_weights()[0].shape(), &[3, 2]);
/// assert_eq!(dense.count_params(), 8);
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
#[derive(Debug)]
pub struct Dense {
    name: String,
    units: usize,
    activation: Activation,
    use_bias: bool,
    dtype: DType,
    kernel_initializer: Box<dyn Initializer>,
    bias_initializer: Box<dyn Initializer>,
    kernel: Option<Variable>,
    bias: Option<Variable>,
}

impl Dense {
    /// A layer of `units` outputs: linear, with a bias, a `GlorotUniform` kernel and a `Zeros`
    /// bias (Keras's defaults), named `dense`, `dense_1`, ... on this thread.
    pub fn new(units: usize) -> Self {
        Dense {
            name: unique_name("dense"),
            units,
            activation: Activation::Linear,
            use_bias: true,
            dtype: DType::F32,
            kernel_initializer: Box::new(GlorotUniform::new()),
            bias_initializer: Box::new(Zeros),
            kernel: None,
            bias: None,
        }
    }

    /// The activation, by value or by name (an unknown name is an error listing the known).
    pub fn activation(mut self, activation: impl IntoActivation) -> Result<Self> {
        self.activation = activation.into_activation()?;
        Ok(self)
    }

    /// Whether to add a bias (default true).
    pub fn use_bias(mut self, use_bias: bool) -> Self {
        self.use_bias = use_bias;
        self
    }

    /// The kernel's initializer (default `GlorotUniform`).
    pub fn kernel_initializer(mut self, init: impl Initializer + 'static) -> Self {
        self.kernel_initializer = Box::new(init);
        self
    }

    /// The bias's initializer (default `Zeros`).
    pub fn bias_initializer(mut self, init: impl Initializer + 'static) -> Self {
        self.bias_initializer = Box::new(init);
        self
    }

    crate::layer::dtype_and_name_builders!(dtype);

    /// Number of outputs.
    pub fn units(&self) -> usize {
        self.units
    }

    /// The activation.
    pub fn activation_fn(&self) -> Activation {
        self.activation
    }

    /// The kernel variable, once built.
    pub fn kernel(&self) -> Option<&Variable> {
        self.kernel.as_ref()
    }

    /// The bias variable, once built (and if the layer has one).
    pub fn bias(&self) -> Option<&Variable> {
        self.bias.as_ref()
    }

    /// The Dense layer of a Keras 3 config (`units`, `activation`, `use_bias`, the
    /// initializers, `dtype`; regularizers, constraints, LoRA and quantization must be null),
    /// not built; see [`Layer::get_config`] and [`layer_from_config`](crate::layer_from_config).
    ///
    /// ```
    /// use tapegrad_nn::{Dense, Layer};
    /// let c = serde_json::json!({"name": "out", "units": 2, "activation": "tanh", "use_bias": false});
    /// let mut d = Dense::from_config(&c)?;
    /// d.build(&[1, 3])?;
    /// assert_eq!((d.units(), d.activation_fn().name(), d.variables().len()), (2, "tanh", 1));
    /// # Ok::<(), tapegrad_nn::Error>(())
    /// ```
    pub fn from_config(config: &serde_json::Value) -> Result<Dense> {
        let (mut r, dtype) = crate::config::Reader::new("Dense", config)?;
        let units = r
            .usize("units")?
            .ok_or_else(|| r.err("units", "missing (a positive integer)".into()))?;
        let activation = match r.get("activation") {
            None => Activation::Linear,
            Some(v) => {
                let name = v.as_str().ok_or_else(|| {
                    r.err(
                        "activation",
                        format!("{v} is not the name of an activation"),
                    )
                })?;
                Activation::get(name).map_err(|e| r.err("activation", e.to_string()))?
            }
        };
        let use_bias = r.bool("use_bias", true)?;
        let kernel = r.initializer("kernel_initializer", Box::new(GlorotUniform::new()))?;
        let bias = r.initializer("bias_initializer", Box::new(Zeros))?;
        r.nulls(&[
            "kernel_regularizer",
            "bias_regularizer",
            "activity_regularizer",
            "kernel_constraint",
            "bias_constraint",
            "lora_rank",
            "quantization_config",
        ])?;
        r.ignore(&["lora_alpha"]);
        let name = r.name().to_string();
        r.finish()?;
        Ok(Dense {
            name,
            units,
            activation,
            use_bias,
            dtype,
            kernel_initializer: kernel,
            bias_initializer: bias,
            kernel: None,
            bias: None,
        })
    }

    fn error(&self, message: String) -> Error {
        Error::Layer {
            layer: self.name.clone(),
            message,
        }
    }
}

impl Layer for Dense {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_name(&self) -> &str {
        "Dense"
    }

    fn built(&self) -> bool {
        self.kernel.is_some()
    }

    fn get_config(&self) -> Option<serde_json::Value> {
        let mut c = crate::config::base(&self.name, self.dtype);
        let glorot = serde_json::json!({"module": "keras.initializers", "class_name": "GlorotUniform",
            "config": {"seed": null, "input_axes": null, "output_axes": null}, "registered_name": null});
        let zeros = serde_json::json!({"module": "keras.initializers", "class_name": "Zeros",
            "config": {}, "registered_name": null});
        let fields = serde_json::json!({
            "units": self.units,
            "activation": self.activation.name(),
            "use_bias": self.use_bias,
            "kernel_initializer": crate::config::initializer_or(self.kernel_initializer.as_ref(), glorot),
            "bias_initializer": crate::config::initializer_or(self.bias_initializer.as_ref(), zeros),
            "kernel_regularizer": null, "bias_regularizer": null,
            "kernel_constraint": null, "bias_constraint": null,
            "quantization_config": null
        });
        c.extend(fields.as_object().cloned().unwrap_or_default());
        Some(c.into())
    }

    fn get_build_config(&self) -> Option<serde_json::Value> {
        let kernel = self.kernel.as_ref()?;
        Some(crate::layer::build_config(&[0, kernel.shape()[0]]))
    }

    fn build(&mut self, input_shape: &[usize]) -> Result<()> {
        if self.units == 0 {
            return Err(self.error(
                "received an invalid value for `units`, expected a positive integer, received units=0"
                    .into(),
            ));
        }
        let input_dim = match input_shape.last() {
            Some(&d) if d > 0 => d,
            _ => {
                return Err(self.error(format!(
                    "the last dimension of the inputs to a Dense layer should be defined and positive, found input shape {input_shape:?}"
                )))
            }
        };
        let kernel = self
            .kernel_initializer
            .init(&[input_dim, self.units], self.dtype)?;
        self.kernel = Some(Variable::with_options(
            kernel,
            &format!("{}/kernel", self.name),
            true,
        ));
        if self.use_bias {
            let bias = self.bias_initializer.init(&[self.units], self.dtype)?;
            self.bias = Some(Variable::with_options(
                bias,
                &format!("{}/bias", self.name),
                true,
            ));
        }
        Ok(())
    }

    fn call(&self, inputs: &Tensor) -> Result<Tensor> {
        let kernel = self.kernel.as_ref().ok_or_else(|| {
            self.error("is not built: call `apply` (which builds it from the input's shape) or `build` first".into())
        })?;
        let input_dim = kernel.shape()[0];
        let shape = inputs.shape();
        if shape.len() < 2 {
            return Err(self.error(format!(
                "input 0 is incompatible with the layer: expected min_ndim=2, found ndim={}; full shape received: {shape:?}",
                shape.len()
            )));
        }
        if shape[shape.len() - 1] != input_dim {
            return Err(self.error(format!(
                "input 0 is incompatible with the layer: expected axis -1 of input shape to have value {input_dim}, but received input with shape {shape:?}"
            )));
        }
        let x = if inputs.dtype() == self.dtype {
            inputs.clone()
        } else {
            ad::cast(inputs, self.dtype)?
        };
        let mut y = if shape.len() == 2 {
            if let Some(bias) = &self.bias {
                // the product and the bias as one op (the same values and gradients)
                return self
                    .activation
                    .apply(&ad::matmul_bias_add(&x, kernel, bias)?);
            }
            ad::matmul(&x, kernel)?
        } else {
            let flat = ad::reshape(&x, &[-1, input_dim as isize])?;
            let out: Vec<isize> = shape[..shape.len() - 1]
                .iter()
                .map(|&d| d as isize)
                .chain([self.units as isize])
                .collect();
            ad::reshape(ad::matmul(&flat, kernel)?, &out)?
        };
        if let Some(bias) = &self.bias {
            y = ad::add(&y, bias)?;
        }
        self.activation.apply(&y)
    }

    fn variables(&self) -> Vec<Variable> {
        self.kernel
            .iter()
            .chain(self.bias.iter())
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::initializers::Constant;
    use tapegrad_autodiff::GradientTape;
    use tapegrad_tensor as tt;

    fn ramp(shape: &[usize], scale: f32) -> tt::Array {
        let n = shape.iter().product::<usize>();
        tt::Array::from_vec((0..n).map(|i| i as f32 * scale - 0.5).collect(), shape).unwrap()
    }

    #[test]
    fn rank_three_inputs_apply_over_the_last_axis() -> Result<()> {
        let mut d = Dense::new(2);
        let x = Tensor::new(ramp(&[2, 3, 4], 0.1));
        let y = d.apply(&x)?;
        assert_eq!(y.shape(), &[2, 3, 2]);
        // row (1, 2, :) against the same row through a rank-2 call
        let row = Tensor::new(x.value().reshape(&[6, 4])?.slice(&[5, 0], &[1, 4])?);
        let y_row = d.apply(&row)?.to_vec::<f32>()?;
        assert_eq!(&y.to_vec::<f32>()?[10..12], &y_row[..]);
        Ok(())
    }

    #[test]
    fn gradients_of_kernel_and_bias_are_the_matmul_ones() -> Result<()> {
        let mut d = Dense::new(1)
            .kernel_initializer(Constant(1.0))
            .bias_initializer(Constant(0.5));
        let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
        let tape = GradientTape::new();
        let y = d.apply(&x)?; // [3.5, 7.5]
        let loss = ad::reduce_sum(ad::square(&y)?, None, false)?;
        let g = tape.gradient(&loss, &d.trainable_variables())?;
        // dL/dy = 2y = [7, 15]; dW = xᵀ·dy = [7 + 45, 14 + 60]; db = 22
        assert_eq!(g[0].as_ref().unwrap().to_vec::<f32>()?, vec![52.0, 74.0]);
        assert_eq!(g[1].as_ref().unwrap().to_vec::<f32>()?, vec![22.0]);
        Ok(())
    }

    #[test]
    fn errors_name_the_layer_and_the_shapes() -> Result<()> {
        let mut d = Dense::new(3).name("hidden");
        d.build(&[4])?;
        let e = d
            .apply(&Tensor::from_vec(vec![0.0f32; 5], &[1, 5])?)
            .unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("`hidden`") && msg.contains("value 4") && msg.contains("[1, 5]"),
            "{msg}"
        );
        let e = d
            .apply(&Tensor::from_vec(vec![0.0f32; 4], &[4])?)
            .unwrap_err();
        assert!(e.to_string().contains("min_ndim=2"));
        let e = d.set_weights(&[
            Tensor::zeros(DType::F32, &[4, 2]).unwrap(),
            Tensor::zeros(DType::F32, &[3]).unwrap(),
        ]);
        match e {
            Err(Error::WeightShape {
                layer,
                index,
                expected,
                received,
                ..
            }) => {
                assert_eq!((layer.as_str(), index), ("hidden", 0));
                assert_eq!((expected, received), (vec![4, 3], vec![4, 2]));
            }
            other => panic!("expected WeightShape, got {other:?}"),
        }
        assert!(matches!(
            d.set_weights(&[Tensor::zeros(DType::F32, &[4, 3]).unwrap()]),
            Err(Error::WeightCount {
                expected: 2,
                received: 1,
                ..
            })
        ));
        assert!(Dense::new(0).build(&[2]).is_err());
        assert!(Dense::new(1).activation("relux").is_err());
        Ok(())
    }

    #[test]
    fn float64_inputs_are_cast_to_the_layer_dtype_and_names_are_unique() -> Result<()> {
        let mut d = Dense::new(1).kernel_initializer(Constant(2.0));
        let y = d.apply(&Tensor::from_vec(vec![0.1f64, 0.2], &[1, 2])?)?;
        assert_eq!(y.dtype(), DType::F32);
        assert_eq!(
            y.to_vec::<f32>()?,
            vec![(0.1f64 as f32) * 2.0 + (0.2f64 as f32) * 2.0]
        );
        let (a, b) = (Dense::new(1), Dense::new(1));
        assert_ne!(a.name, b.name);
        assert!(d.kernel().unwrap().name().ends_with("/kernel"));
        Ok(())
    }
}
