//! A linear fit, as a TensorFlow user writes it first:
//!
//! ```python
//! rng = np.random.RandomState(0)
//! x = rng.uniform(-1, 1, 200).astype(np.float32)
//! y = 3 * x + 2 + rng.normal(0, 0.1, 200).astype(np.float32)
//! w, b = tf.Variable(0.), tf.Variable(0.)
//! opt = tf.keras.optimizers.SGD(learning_rate=0.1)
//! for step in range(200):
//!     with tf.GradientTape() as tape:
//!         loss = tf.reduce_mean(tf.square(y - (w * x + b)))
//!     grads = tape.gradient(loss, [w, b])
//!     opt.apply_gradients(zip(grads, [w, b]))
//! print(w.numpy(), b.numpy())
//! ```
//!
//! `cargo run --example linear_fit`

use tapegrad::prelude::*;

pub fn main() -> tapegrad::Result<()> {
    let mut rng = RandomState::new(0);
    let x = Tensor::from_array(rng.uniform(-1.0, 1.0, 200)?); // float64 data, as numpy's
    let x = x.cast(DType::F32)?;
    let noise = Tensor::from_array(rng.normal(0.0, 0.1, 200)?).cast(DType::F32)?;
    let y = ((&x * 3)? + 2.0 + noise)?;
    let (w, b) = (
        Variable::new(0.0).with_name("w"),
        Variable::new(0.0).with_name("b"),
    );
    let mut opt = Sgd::new(0.1);
    let mut loss = Tensor::scalar(0.0f32);
    for _ in 0..200 {
        let tape = GradientTape::new();
        loss = (&y - (&w * &x + &b)?)?.square()?.mean()?;
        opt.apply_gradients(&tape.gradients(&loss, &[&w, &b])?)?;
    }
    println!(
        "w = {:.3}, b = {:.3}, loss = {:.5}",
        w.item()?,
        b.item()?,
        loss.item()?
    );
    assert!((w.item()? - 3.0).abs() < 0.05 && (b.item()? - 2.0).abs() < 0.05);
    Ok(())
}
