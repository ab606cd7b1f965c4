//! Document 000, "Linear Regression With Two Trainable Weights", line by line.
//!
//! `cargo run --example two_weights`

use tapegrad_autodiff::{abs, GradientTape, Tensor, Variable};
use tapegrad_optim::{OptimizerExt, Sgd};
use tapegrad_tensor::DType;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // actual_gradient = 5.
    // actual_offset = 3.
    let actual_gradient = 5.0;
    let actual_offset = 3.0;

    // X_train = np.arange(stop=100, step=2, dtype=np.float32)
    // Y_train = X_train * actual_gradient + actual_offset
    let x_train = Tensor::new(tapegrad_tensor::Array::arange(0.0, 100.0, 2.0, DType::F32)?);
    let y_train = ((&x_train * actual_gradient)? + actual_offset)?;

    // a = tf.Variable(0., trainable=True)
    // b = tf.Variable(0., trainable=True)
    let a = Variable::new(0.0f32);
    let b = Variable::new(0.0f32);

    // opt = tf.keras.optimizers.SGD(learning_rate=0.0001)
    let mut opt = Sgd::new(0.0001);

    // loss_history = np.array([])
    let mut loss_history = Vec::new();

    // for i in range(15000):
    for i in 0..15000 {
        // with tf.GradientTape() as tape:
        let tape = GradientTape::new();
        //     Y_test = X_train * a + b
        let y_test = ((&x_train * &a)? + &b)?;
        //     loss = tf.abs(Y_train - Y_test)
        let loss = abs(&y_train - y_test)?;
        // gradients = tape.gradient(loss, [a, b])
        let gradients = tape.gradient(&loss, &[&a, &b])?;
        // opt.apply_gradients(zip(gradients, [a, b]))
        opt.apply_gradients(gradients.into_iter().zip([&a, &b]))?;
        // if i % 10 == 0:
        //     loss_history = np.append(loss_history, np.mean(loss.numpy()))
        if i % 10 == 0 {
            loss_history.push(loss.value().mean(None, false)?.item()?);
        }
    }

    // print(f'Final result: y = a: {a.numpy():.04f}, b: {b.numpy():.04f}')
    println!("Final result: y = a: {:.4}, b: {:.4}", a.item()?, b.item()?);
    println!(
        "({} losses in the history, last {:.4})",
        loss_history.len(),
        loss_history.last().copied().unwrap_or(f64::NAN)
    );
    Ok(())
}
