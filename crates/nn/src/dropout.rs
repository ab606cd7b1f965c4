//! [`Dropout`] (`tf.keras.layers.Dropout`) and [`Flatten`] (`tf.keras.layers.Flatten`): layers
//! without weights.

use std::sync::atomic::{AtomicU64, Ordering};

use tapegrad_autodiff::{self as ad, Tensor};
use tapegrad_tensor as tt;

use crate::layer::{unique_name, Layer};
use crate::ops::select;
use crate::{Error, Result};

/// The methods of a layer without weights: always built, nothing to build.
macro_rules! weightless_layer {
    ($class:literal) => {
        fn name(&self) -> &str {
            &self.name
        }

        fn class_name(&self) -> &str {
            $class
        }

        fn built(&self) -> bool {
            true
        }

        fn build(&mut self, _input_shape: &[usize]) -> Result<()> {
            Ok(())
        }
    };
}

/// Sets a fraction `rate` of its inputs to 0 in training and scales the others by
/// `1 / (1 - rate)`, so that the expected sum is unchanged; outside training it is the identity
/// (Keras's `Dropout`). Only [`Layer::call_training`] with `training = true` drops units: `fit`
/// calls it so, `evaluate`, `predict` and [`Layer::call`] do not.
///
/// Each unit is kept when a uniform draw in `[0, 1)` is at least `rate`, as TensorFlow's
/// `stateless_dropout` decides, so the fraction dropped is `rate` on average and each kept
/// value is `x · (1 / (1 - rate))` in the input's dtype, as TensorFlow computes it. The draws are
/// TensorFlow's stateless Philox uniforms with the seed pair `[seed, n]` on the layer's `n`-th
/// training call (from 0): a seeded layer repeats its sequence of masks run after run, each call
/// a new mask. tf-keras 2.21's `Dropout(seed=s)` draws through a stateful generator instead
/// (its masks depend on the graph's op seeds), so the masks are not TensorFlow's bit for bit;
/// the distribution is. An unseeded layer takes its seed from the generator
/// [`initializers::set_seed`](crate::initializers::set_seed) seeds.
///
/// ```
/// use tapegrad_autodiff::{DType, GradientTape, Tensor};
/// use tapegrad_nn::{Dropout, Layer};
/// let dropout = Dropout::new(0.25)?.seed(7);
/// let x = Tensor::ones(DType::F32, &[100, 40])?;
/// assert!(dropout.call(&x)?.equals(&x)); // inference: the identity
/// let tape = GradientTape::new();
/// tape.watch(&x);
/// let y = dropout.call_training(&x, true)?;
/// let kept = y.to_vec::<f32>()?.iter().filter(|&&v| v != 0.0).count();
/// assert!((2850..3150).contains(&kept)); // 3000 of 4000 on average
/// assert!(y.to_vec::<f32>()?.iter().all(|&v| v == 0.0 || v == 1.0 / 0.75));
/// // the gradient is the mask, scaled
/// let g = tape.gradient(&y, &[&x])?[0].clone().unwrap();
/// assert!(g.equals(&y));
/// assert!(Dropout::new(1.0).is_err());
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
#[derive(Debug)]
pub struct Dropout {
    name: String,
    rate: f64,
    noise_shape: Option<Vec<Option<usize>>>,
    seed: u64,
    seeded: bool,
    calls: AtomicU64,
}

impl Dropout {
    /// A layer dropping a fraction `rate` of its inputs in training, named `dropout`,
    /// `dropout_1`, ... on this thread. A rate outside `[0, 1)` is an error.
    pub fn new(rate: f64) -> Result<Self> {
        let name = unique_name("dropout");
        if !(0.0..1.0).contains(&rate) {
            return Err(Error::Layer {
                layer: name,
                message: format!(
                    "received an invalid value for argument `rate`, expected a float in [0, 1), received rate={rate}"
                ),
            });
        }
        Ok(Dropout {
            name,
            rate,
            noise_shape: None,
            seed: crate::initializers::draw_seed(),
            seeded: false,
            calls: AtomicU64::new(0),
        })
    }

    /// The seed of the masks (Keras's `seed`): the same seed, the same masks, call by call.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self.seeded = true;
        self.calls = AtomicU64::new(0);
        self
    }

    /// The shape of the mask (Keras's `noise_shape`), broadcast over the input: `Some(1)` on
    /// an axis shares one draw along it (`[None, Some(1), None]` drops the same features at
    /// every time step), `None` takes the input's size. Checked against each input's shape.
    pub fn noise_shape(mut self, noise_shape: &[Option<usize>]) -> Self {
        self.noise_shape = Some(noise_shape.to_vec());
        self
    }

    /// A name instead of the generated one.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// The fraction of units dropped in training.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// The seed, when one was given.
    pub fn seed_value(&self) -> Option<u64> {
        self.seeded.then_some(self.seed)
    }

    /// The mask's shape for inputs of `shape`.
    /// The Dropout layer of a Keras 3 config (`rate`, `seed`, `noise_shape`).
    ///
    /// ```
    /// use tapegrad_nn::{Dropout, Layer};
    /// let c = serde_json::json!({"name": "drop", "rate": 0.5, "seed": 7, "noise_shape": [null, 1]});
    /// let d = Dropout::from_config(&c)?;
    /// assert_eq!((d.rate(), d.seed_value()), (0.5, Some(7)));
    /// assert_eq!(d.get_config().unwrap()["noise_shape"], serde_json::json!([null, 1]));
    /// # Ok::<(), tapegrad_nn::Error>(())
    /// ```
    pub fn from_config(config: &serde_json::Value) -> Result<Dropout> {
        let (mut r, _dtype) = crate::config::Reader::new("Dropout", config)?;
        let rate = r.f64("rate", f64::NAN)?;
        if rate.is_nan() {
            return Err(r.err("rate", "missing (a float in [0, 1))".into()));
        }
        let seed = r.usize("seed")?;
        let noise = match r.get("noise_shape") {
            None => None,
            Some(v) => {
                let dims = v.as_array().and_then(|dims| {
                    dims.iter()
                        .map(|d| match d {
                            serde_json::Value::Null => Some(None),
                            d => d.as_u64().map(|n| Some(n as usize)),
                        })
                        .collect::<Option<Vec<Option<usize>>>>()
                });
                Some(dims.ok_or_else(|| {
                    r.err(
                        "noise_shape",
                        format!("{v} is not a list of sizes and nulls"),
                    )
                })?)
            }
        };
        let name = r.name().to_string();
        r.finish()?;
        let mut d = Dropout::new(rate)
            .map_err(|e| match e {
                Error::Layer { message, .. } => Error::Layer {
                    layer: name.clone(),
                    message,
                },
                other => other,
            })?
            .name(&name);
        if let Some(seed) = seed {
            d = d.seed(seed as u64);
        }
        if let Some(noise) = noise {
            d = d.noise_shape(&noise);
        }
        Ok(d)
    }

    fn mask_shape(&self, shape: &[usize]) -> Result<Vec<usize>> {
        let Some(noise) = &self.noise_shape else {
            return Ok(shape.to_vec());
        };
        let fits = noise.len() == shape.len()
            && noise
                .iter()
                .zip(shape)
                .all(|(n, &d)| n.is_none_or(|n| n == 1 || n == d));
        if !fits {
            return Err(Error::Layer {
                layer: self.name.clone(),
                message: format!(
                    "argument `noise_shape` {noise:?} does not broadcast to the input's shape {shape:?} (same rank, each dimension None, 1 or the input's)"
                ),
            });
        }
        Ok(noise
            .iter()
            .zip(shape)
            .map(|(n, &d)| n.unwrap_or(d))
            .collect())
    }
}

impl Layer for Dropout {
    weightless_layer!("Dropout");

    fn get_config(&self) -> Option<serde_json::Value> {
        let mut c = crate::config::base(&self.name, tapegrad_autodiff::DType::F32);
        c.insert("rate".into(), self.rate.into());
        c.insert("seed".into(), self.seed_value().into());
        c.insert("noise_shape".into(), serde_json::json!(self.noise_shape));
        Some(c.into())
    }

    fn call(&self, inputs: &Tensor) -> Result<Tensor> {
        Ok(inputs.clone())
    }

    fn call_training(&self, inputs: &Tensor, training: bool) -> Result<Tensor> {
        let mask_shape = self.mask_shape(inputs.shape())?;
        if !training || self.rate == 0.0 {
            return Ok(inputs.clone());
        }
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        let pair = [self.seed as i64, n as i64];
        let dtype = inputs.dtype();
        let u = tt::random::stateless_uniform(&mask_shape, pair, 0.0, 1.0, dtype)
            .map_err(|e| e.in_op("Dropout"))?;
        let rate = self.rate;
        let keep: Vec<f64> = u
            .to_f64_vec()
            .into_iter()
            .map(|v| if v >= rate { 1.0 } else { 0.0 })
            .collect();
        let keep = Tensor::new(tt::Array::from_vec(keep, &mask_shape)?.cast(dtype));
        let keep = ad::broadcast_to(&keep, inputs.shape())?;
        let scaled = ad::mul(inputs, 1.0 / (1.0 - rate))?;
        select(&keep, &scaled, 0.0)
    }
}

/// Flattens each sample into one axis: inputs of shape `(batch, d1, d2, ...)` give
/// `(batch, d1 · d2 · ...)`, and inputs of shape `(batch,)` give `(batch, 1)` (Keras's
/// `Flatten` with the default `data_format="channels_last"`). Scalars are an error.
///
/// ```
/// use tapegrad_autodiff::{DType, Tensor};
/// use tapegrad_nn::{Flatten, Layer};
/// let x = Tensor::zeros(DType::F32, &[2, 3, 4])?;
/// assert_eq!(Flatten::new().call(&x)?.shape(), &[2, 12]);
/// assert_eq!(Flatten::new().call(&Tensor::zeros(DType::F32, &[5])?)?.shape(), &[5, 1]);
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Flatten {
    name: String,
}

impl Default for Flatten {
    fn default() -> Self {
        Self::new()
    }
}

impl Flatten {
    /// The layer, named `flatten`, `flatten_1`, ... on this thread.
    pub fn new() -> Self {
        Flatten {
            name: unique_name("flatten"),
        }
    }

    /// A name instead of the generated one.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// The Flatten layer of a Keras 3 config (`data_format` `channels_last`; tapegrad does not
    /// reorder `channels_first` inputs).
    ///
    /// ```
    /// use tapegrad_nn::{Flatten, Layer};
    /// let f = Flatten::from_config(&serde_json::json!({"name": "flat", "data_format": "channels_last"}))?;
    /// assert_eq!(f.get_config().unwrap()["name"], "flat");
    /// assert!(Flatten::from_config(&serde_json::json!({"data_format": "channels_first"})).is_err());
    /// # Ok::<(), tapegrad_nn::Error>(())
    /// ```
    pub fn from_config(config: &serde_json::Value) -> Result<Flatten> {
        let (mut r, _dtype) = crate::config::Reader::new("Flatten", config)?;
        r.fixed(
            "data_format",
            &["channels_last".into(), serde_json::Value::Null],
        )?;
        let name = r.name().to_string();
        r.finish()?;
        Ok(Flatten::new().name(&name))
    }
}

impl Layer for Flatten {
    weightless_layer!("Flatten");

    fn get_config(&self) -> Option<serde_json::Value> {
        let mut c = crate::config::base(&self.name, tapegrad_autodiff::DType::F32);
        c.insert("data_format".into(), "channels_last".into());
        Some(c.into())
    }

    fn call(&self, inputs: &Tensor) -> Result<Tensor> {
        let shape = inputs.shape();
        let Some(&batch) = shape.first() else {
            return Err(Error::Layer {
                layer: self.name.clone(),
                message: format!(
                    "input 0 is incompatible with the layer: expected min_ndim=1, found ndim=0; full shape received: {shape:?}"
                ),
            });
        };
        let rest: usize = shape[1..].iter().product();
        Ok(ad::reshape(inputs, &[batch as isize, rest as isize])?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dense, Sequential};
    use tapegrad_autodiff::{DType, GradientTape};

    #[test]
    fn masks_repeat_by_seed_and_change_by_call() -> Result<()> {
        let x = Tensor::ones(DType::F32, &[8, 16])?;
        let (a, b) = (Dropout::new(0.5)?.seed(3), Dropout::new(0.5)?.seed(3));
        let a1 = a.call_training(&x, true)?;
        let a2 = a.call_training(&x, true)?;
        assert!(a1.equals(&b.call_training(&x, true)?));
        assert!(!a1.equals(&a2));
        assert!(a2.equals(&b.call_training(&x, true)?));
        assert!(Dropout::new(-0.1)
            .unwrap_err()
            .to_string()
            .contains("rate=-0.1"));
        Ok(())
    }

    #[test]
    fn fraction_dropped_and_scale_follow_the_rate() -> Result<()> {
        // 200 000 Bernoulli draws: the fraction dropped within 5 standard deviations of the rate
        for rate in [0.1, 0.5, 0.8] {
            let d = Dropout::new(rate)?.seed(11);
            let x = Tensor::ones(DType::F32, &[400, 500])?;
            let y = d.call_training(&x, true)?.to_vec::<f32>()?;
            let dropped = y.iter().filter(|&&v| v == 0.0).count() as f64 / y.len() as f64;
            let sd = (rate * (1.0 - rate) / y.len() as f64).sqrt();
            assert!((dropped - rate).abs() < 5.0 * sd, "rate {rate}: {dropped}");
            let scale = (1.0 / (1.0 - rate)) as f32;
            assert!(y.iter().all(|&v| v == 0.0 || v == scale));
            let mean = y.iter().map(|&v| v as f64).sum::<f64>() / y.len() as f64;
            assert!((mean - 1.0).abs() < 5.0 * sd / (1.0 - rate), "{mean}");
        }
        Ok(())
    }

    #[test]
    fn noise_shape_shares_draws_and_is_checked() -> Result<()> {
        let d = Dropout::new(0.5)?
            .seed(5)
            .noise_shape(&[None, Some(1), None]);
        let x = Tensor::ones(DType::F32, &[2, 6, 10])?;
        let y = d.call_training(&x, true)?.to_vec::<f32>()?;
        for b in 0..2 {
            for t in 1..6 {
                assert_eq!(
                    &y[b * 60 + t * 10..b * 60 + t * 10 + 10],
                    &y[b * 60..b * 60 + 10]
                );
            }
        }
        let e = d
            .call_training(&Tensor::ones(DType::F32, &[2, 6])?, true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("noise_shape") && e.contains("[2, 6]"), "{e}");
        Ok(())
    }

    #[test]
    fn sequential_passes_the_flag_on() -> Result<()> {
        let mut model = Sequential::new();
        model.add(Flatten::new());
        model.add(Dropout::new(0.9)?.seed(1));
        model.add(Dense::new(1).kernel_initializer(crate::Ones));
        let x = Tensor::ones(DType::F32, &[3, 4, 5])?;
        let tape = GradientTape::new();
        let inference = model.apply(&x)?.to_vec::<f32>()?;
        assert_eq!(inference, vec![20.0; 3]);
        let trained = model.apply_training(&x, true)?;
        assert_ne!(trained.to_vec::<f32>()?, inference);
        let g = tape.gradient(&trained, &model.trainable_variables())?;
        assert!(g[0].is_some());
        let e = Flatten::new()
            .name("flat")
            .call(&Tensor::scalar(1.0f32))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`flat`") && e.contains("ndim=0"), "{e}");
        Ok(())
    }
}
