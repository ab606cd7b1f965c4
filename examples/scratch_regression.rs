//! Document 001, "Linear regression from scratch with tf.GradientTape", line by line.
//! The document draws unseeded; here numpy's generator is seeded with 0.
//!
//! `cargo run --example scratch_regression`

use tapegrad_autodiff::{reduce_mean, GradientTape, Result, Tensor, Variable};
use tapegrad_datasets::{np_random, recipes};
use tapegrad_tensor::DType;

/// def loss_mse(X, Y, w0, w1): Y_hat = w0 * X + w1; errors = (Y_hat - Y)**2; return tf.reduce_mean(errors)
fn loss_mse(x: &Tensor, y: &Tensor, w0: &Variable, w1: &Variable) -> Result<Tensor> {
    let y_hat = ((w0 * x)? + w1)?;
    let errors = tapegrad_autodiff::pow(y_hat - y, 2.0)?;
    reduce_mean(errors, None, false)
}

/// def compute_gradients(X, Y, w0, w1): with tf.GradientTape() as tape: ...; return tape.gradient(loss, [w0, w1])
fn compute_gradients(
    x: &Tensor,
    y: &Tensor,
    w0: &Variable,
    w1: &Variable,
) -> Result<(Tensor, Tensor)> {
    let tape = GradientTape::new();
    let loss = loss_mse(x, y, w0, w1)?;
    let mut g = tape.gradient(&loss, &[w0, w1])?.into_iter().flatten();
    match (g.next(), g.next()) {
        (Some(dw0), Some(dw1)) => Ok((dw0, dw1)),
        _ => Err(tapegrad_autodiff::Error::Invalid {
            op: "compute_gradients",
            message: "the loss does not depend on w0 and w1".into(),
        }),
    }
}

/// def update_weights(w0, w1, dw0, dw1, learning_rate): w0.assign_sub(dw0 * learning_rate); ...
fn update_weights(
    w0: &Variable,
    w1: &Variable,
    dw0: &Tensor,
    dw1: &Tensor,
    learning_rate: f64,
) -> Result<()> {
    w0.assign_sub(dw0 * learning_rate)?;
    w1.assign_sub(dw1 * learning_rate)
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    np_random::seed(0);
    // X, Y = linear_like_data_generator(100, 3, 4)   (numpy float64; TensorFlow converts to float32)
    let (x, y) = recipes::doc001_linear_like_data(100, 3.0, 4.0)?;
    let x = Tensor::new(tapegrad_tensor::Array::from_array(x).cast(DType::F32));
    let y = Tensor::new(tapegrad_tensor::Array::from_array(y).cast(DType::F32));

    let steps = 1000;
    let learning_rate = 0.02;
    let w0 = Variable::new(0.0f32);
    let w1 = Variable::new(0.0f32);
    for step in 0..=steps {
        let (dw0, dw1) = compute_gradients(&x, &y, &w0, &w1)?;
        update_weights(&w0, &w1, &dw0, &dw1, learning_rate)?;
        if step % 100 == 0 {
            let loss = loss_mse(&x, &y, &w0, &w1)?;
            println!(
                "STEP: {step} - loss: {}, w0: {:.4}, w1: {:.4}",
                loss.item()?,
                w0.item()?,
                w1.item()?
            );
        }
    }
    Ok(())
}
