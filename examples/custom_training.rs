//! Document 003, TensorFlow's "custom training" walkthrough: a `Model` with `w = 1.0`,
//! `b = 4.0`, a mean-square loss and `assign_sub` updates. The document draws its data with
//! `tf.random.normal` (unseeded); here numpy's generator is seeded with 0.
//!
//! `cargo run --example custom_training`

use tapegrad_autodiff::{reduce_mean, square, GradientTape, Result, Tensor, Variable};
use tapegrad_datasets::{np_random, recipes};

/// class Model(object): def __init__(self): self.w = tf.Variable(1.0); self.b = tf.Variable(4.0)
struct Model {
    w: Variable,
    b: Variable,
}

impl Model {
    fn new() -> Self {
        Model {
            w: Variable::new(1.0f32),
            b: Variable::new(4.0f32),
        }
    }
    /// def __call__(self, x): return self.w * x + self.b
    fn call(&self, x: &Tensor) -> Result<Tensor> {
        (&self.w * x)? + &self.b
    }
}

/// def loss(predicted_y, desired_y): return tf.reduce_mean(tf.square(predicted_y - desired_y))
fn loss(predicted_y: &Tensor, desired_y: &Tensor) -> Result<Tensor> {
    reduce_mean(square(predicted_y - desired_y)?, None, false)
}

/// def train(model, inputs, outputs, learning_rate): ...
fn train(model: &Model, inputs: &Tensor, outputs: &Tensor, learning_rate: f64) -> Result<()> {
    let t = GradientTape::new();
    let current_loss = loss(&model.call(inputs)?, outputs)?;
    let grads = t.gradient(&current_loss, &[&model.w, &model.b])?;
    for (v, g) in [&model.w, &model.b]
        .into_iter()
        .zip(grads.into_iter().flatten())
    {
        v.assign_sub(learning_rate * &g)?;
    }
    Ok(())
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    // TRUE_W = 3.0; TRUE_b = 2.0; NUM_EXAMPLES = 1000
    np_random::seed(0);
    let (xs, ys) = recipes::doc003_synthesize(1000, 3.0, 2.0)?;
    let (inputs, outputs) = (
        Tensor::new(tapegrad_tensor::Array::from_array(xs)),
        Tensor::new(tapegrad_tensor::Array::from_array(ys)),
    );
    let model = Model::new();
    println!(
        "Current loss: {}",
        loss(&model.call(&inputs)?, &outputs)?.item()?
    );
    for epoch in 0..15 {
        let current_loss = loss(&model.call(&inputs)?, &outputs)?;
        train(&model, &inputs, &outputs, 0.1)?;
        println!(
            "Epoch {epoch:2}: W={:1.2} b={:1.2}, loss={:2.5}",
            model.w.item()?,
            model.b.item()?,
            current_loss.item()?
        );
    }
    Ok(())
}
