//! Document 004, "GradientTape in depth": the manual gradient, the same with tensor ops, then
//! with a GradientTape — three ways to the same weights.
//!
//! `cargo run --example depth`

use tapegrad_autodiff::{reduce_mean, square, GradientTape, Tensor};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // y_true = np.array([1,2]).astype('float32'); w = 2.; x = np.array([1,2]).astype('float32')
    let y_true = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?;
    let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?;
    let learning_rate = 0.1;
    let error_margin = 0.1;

    // def mean_squared_error(y_true, x, w): return tf.reduce_mean(tf.square(y_true - x*w))
    let mean_squared_error = |w: &Tensor| reduce_mean(square(&y_true - (&x * w)?)?, None, false);

    // With TensorFlow ops and a hand-written gradient:
    // def gradient_mse(y_true, x, w): return 2 * tf.reduce_mean((x*w - y_true)*x)
    let gradient_mse = |w: &Tensor| 2.0 * reduce_mean((((&x * w)? - &y_true)? * &x)?, None, false)?;
    let mut w = Tensor::scalar(2.0f32);
    let (mut weight_list, mut loss_list) = (vec![], vec![]);
    loop {
        weight_list.push(w.item()?);
        loss_list.push(mean_squared_error(&w)?.item()?);
        let n = weight_list.len();
        if n > 1 && (weight_list[n - 1] - weight_list[n - 2]).abs() <= error_margin {
            break;
        }
        w = (&w - (learning_rate * gradient_mse(&w)?)?)?;
    }
    println!("{weight_list:?}, {loss_list:?}");

    // With a GradientTape: no hand-written derivative.
    // w_tf = tf.Variable(w, trainable=True, dtype=tf.float32) -- and then `w_tf = w_tf - ...`
    // turns it into a plain tensor, which is why the document calls t.watch(w_tf).
    let mut w_tf = Tensor::scalar(2.0f32);
    let (mut weight_list, mut loss_list) = (vec![], vec![]);
    loop {
        weight_list.push(w_tf.item()?);
        let n = weight_list.len();
        if n > 1 && (weight_list[n - 1] - weight_list[n - 2]).abs() <= error_margin {
            break;
        }
        let t = GradientTape::new();
        t.watch(&w_tf);
        let current_loss = mean_squared_error(&w_tf)?;
        loss_list.push(current_loss.item()?);
        let gradient = t.gradient(&current_loss, &[&w_tf])?;
        let g = gradient[0]
            .as_ref()
            .ok_or("w_tf is watched, so its gradient exists")?;
        w_tf = (&w_tf - (learning_rate * g)?)?;
    }
    // ([2.0, 1.5, 1.25, 1.125, 1.0625], [2.5, 0.625, 0.15625, 0.0390625])
    println!("{weight_list:?}, {loss_list:?}");

    // What the tape recorded for one step, as Graphviz DOT:
    let t = GradientTape::new();
    t.watch(&w_tf);
    let _ = mean_squared_error(&w_tf)?;
    println!("{}", t.to_dot());
    Ok(())
}
