//! A custom layer (its own weights through `Layer`), trained with a learning-rate schedule and
//! gradient clipping:
//!
//! ```python
//! class Affine(tf.keras.layers.Layer):
//!     def build(self, input_shape):
//!         self.w = self.add_weight(shape=(input_shape[-1], 1), initializer="ones")
//!         self.b = self.add_weight(shape=(1,), initializer="zeros")
//!     def call(self, x):
//!         return tf.matmul(x, self.w) + self.b
//!
//! schedule = tf.keras.optimizers.schedules.ExponentialDecay(0.5, decay_steps=20, decay_rate=0.5)
//! opt = tf.keras.optimizers.SGD(schedule, clipnorm=1.0)
//! ```
//!
//! `cargo run --example custom_layer`

use tapegrad::nn::initializers::{Ones, Zeros};
use tapegrad::optim::ExponentialDecay;
use tapegrad::prelude::*;

/// `x @ w + b` with a `(features, 1)` kernel and a bias.
struct Affine {
    w: Option<Variable>,
    b: Option<Variable>,
}

impl Layer for Affine {
    fn name(&self) -> &str {
        "affine"
    }
    fn built(&self) -> bool {
        self.w.is_some()
    }
    fn build(&mut self, input_shape: &[usize]) -> tapegrad::nn::Result<()> {
        let features = *input_shape.last().unwrap_or(&1);
        self.w = Some(self.add_weight("w", &[features, 1], &Ones, DType::F32, true)?);
        self.b = Some(self.add_weight("b", &[1], &Zeros, DType::F32, true)?);
        Ok(())
    }
    fn call(&self, x: &Tensor) -> tapegrad::nn::Result<Tensor> {
        let (Some(w), Some(b)) = (&self.w, &self.b) else {
            return Err(tapegrad::nn::Error::Layer {
                layer: "affine".into(),
                message: "is not built".into(),
            });
        };
        Ok((x.matmul(w)? + b)?)
    }
    fn own_variables(&self) -> Vec<Variable> {
        self.w.iter().chain(&self.b).cloned().collect()
    }
}

pub fn main() -> tapegrad::Result<()> {
    let x = Tensor::from_vec(vec![1.0f32, 2.0, 2.0, 1.0, 3.0, 0.0, 0.0, 1.0], &[4, 2])?;
    let y = Tensor::from_vec(vec![5.0f32, 4.0, 6.0, 2.0], &[4, 1])?;
    let mut layer = Affine { w: None, b: None };
    layer.build(x.shape())?;
    let mut opt = Sgd::new(ExponentialDecay::new(0.5, 20, 0.5)?).clipnorm(1.0);
    opt.check_settings()?;
    let mse = MeanSquaredError::new();
    for step in 0..100 {
        let tape = GradientTape::new();
        let loss = mse.call(&y, &layer.call(&x)?)?;
        let vars = layer.trainable_variables();
        let vars: Vec<&Variable> = vars.iter().collect();
        opt.apply_gradients(&tape.gradients(&loss, &vars)?)?;
        if step % 25 == 0 {
            println!(
                "step {step:3}: loss {:.4}, lr {:.4}",
                loss.item()?,
                opt.learning_rate()
            );
        }
    }
    let loss = mse.call(&y, &layer.call(&x)?)?.item()?;
    println!("final loss {loss:.4}, weights {:?}", layer.get_weights());
    assert!(loss < 0.5);
    Ok(())
}
