//! A two-layer network on scikit-learn's `make_regression`, with Keras's layers and Adam:
//!
//! ```python
//! X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
//! X, y = X.astype("float32"), y.astype("float32").reshape(-1, 1)
//! model = tf.keras.Sequential([tf.keras.layers.Dense(16, activation="relu"),
//!                              tf.keras.layers.Dense(1)])
//! opt = tf.keras.optimizers.Adam(0.05)
//! mse = tf.keras.losses.MeanSquaredError()
//! for step in range(300):
//!     with tf.GradientTape() as tape:
//!         loss = mse(y, model(X))
//!     grads = tape.gradient(loss, model.trainable_variables)
//!     opt.apply_gradients(zip(grads, model.trainable_variables))
//! ```
//!
//! `cargo run --example two_layer_network`

use tapegrad::prelude::*;

pub fn main() -> tapegrad::Result<()> {
    tapegrad::set_random_seed(0);
    let data = MakeRegression {
        n_samples: 200,
        n_features: 5,
        noise: 1.0,
        random_state: Some(0),
        ..MakeRegression::default()
    }
    .generate()?;
    let x = Tensor::from_array(data.x).cast(DType::F32)?;
    let y = Tensor::from_array(data.y)
        .cast(DType::F32)?
        .reshape(&[-1, 1])?;
    let mut model = Sequential::new();
    model.add(Dense::new(16).activation("relu")?);
    model.add(Dense::new(1));
    model.build(&[200, 5])?;
    let mut opt = Adam::new(0.05);
    let mse = MeanSquaredError::new();
    let first = mse.call(&y, &model.call(&x)?)?.item()?;
    let mut last = first;
    for _ in 0..300 {
        let tape = GradientTape::new();
        let loss = mse.call(&y, &model.call(&x)?)?;
        let vars = model.trainable_variables();
        let vars: Vec<&Variable> = vars.iter().collect();
        opt.apply_gradients(&tape.gradients(&loss, &vars)?)?;
        last = loss.item()?;
    }
    println!("{}", model.summary()?);
    println!("loss {first:.1} -> {last:.3}");
    assert!(last < first / 100.0);
    Ok(())
}
