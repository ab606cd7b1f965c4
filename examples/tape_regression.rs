//! Document 002, "Linear Regression using TensorFlow GradientTape", line by line.
//! The document draws unseeded; here numpy's generator is seeded with 0.
//!
//! `cargo run --release --example tape_regression`

use tapegrad_autodiff::{reduce_mean, square, GradientTape, Tensor, Variable};
use tapegrad_datasets::{np_random, recipes};
use tapegrad_tensor::DType;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // n_samples = 10000; m = 9; c = -2; mean = 0.0; std = 1.0; num_epochs = 3000; learning_rate = 0.001
    let (n_samples, m, c, mean, std, num_epochs, learning_rate) =
        (10000, 9.0, -2.0, 0.0, 1.0, 3000, 0.001);
    np_random::seed(0);
    let d = recipes::doc002_create_dataset(n_samples, m, c, mean, std)?;
    println!("Training samples: {}", d.x_train.len());
    println!("Test samples: {}", d.x_test.len());
    let f32_tensor = |a: &ndarray::Array1<f64>| {
        Tensor::new(tapegrad_tensor::Array::from_array(a.clone()).cast(DType::F32))
    };
    let (x_train, y_train) = (f32_tensor(&d.x_train), f32_tensor(&d.y_train));
    let (x_test, y_test) = (f32_tensor(&d.x_test), f32_tensor(&d.y_test));

    // W = tf.Variable(np.random.randn()); B = tf.Variable(np.random.randn())
    let w = Variable::new(np_random::randn_one() as f32);
    let b = Variable::new(np_random::randn_one() as f32);
    println!("{w}\n{b}");

    for epoch in 0..num_epochs {
        let tape = GradientTape::new();
        let y_pred = ((&w * &x_train)? + &b)?;
        let loss = reduce_mean(square(&y_train - y_pred)?, None, false)?;
        let grads = tape.gradient(&loss, &[&w, &b])?;
        for (v, g) in [&w, &b].into_iter().zip(grads.into_iter().flatten()) {
            v.assign_sub(learning_rate * &g)?;
        }
        if epoch % 10 == 0 {
            println!("Epoch: {epoch}, loss: {:.3}", loss.item()?);
        }
    }
    println!("Learned W: {}, learned B: {}", w.item()?, b.item()?);
    let test_loss = reduce_mean(square(&y_test - ((&w * &x_test)? + &b)?)?, None, false)?;
    println!("Test loss: {:.3}", test_loss.item()?);
    Ok(())
}
