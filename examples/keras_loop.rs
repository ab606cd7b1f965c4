//! A Keras-style training loop by hand: epochs of shuffled mini-batches, a running mean of the
//! loss and a metric, a validation set, one line an epoch:
//!
//! ```python
//! model.compile(optimizer="adam", loss="mse", metrics=["mae"])
//! model.fit(X_train, y_train, epochs=20, batch_size=16, validation_data=(X_val, y_val), verbose=2)
//! # Epoch 1/20 - loss: ... - mae: ... - val_loss: ... - val_mae: ...
//! ```
//!
//! `cargo run --example keras_loop`

use tapegrad::datasets::sklearn::{train_test_split, SplitSize, TrainTestSplit};
use tapegrad::nn::metrics::{Mean, MeanAbsoluteError, Metric};
use tapegrad::prelude::*;

pub fn main() -> tapegrad::Result<()> {
    tapegrad::set_random_seed(7);
    let data = MakeRegression {
        n_samples: 160,
        n_features: 3,
        noise: 2.0,
        random_state: Some(7),
        ..MakeRegression::default()
    }
    .generate()?;
    let opts = TrainTestSplit {
        test_size: Some(SplitSize::Fraction(0.25)),
        random_state: Some(7),
        ..Default::default()
    };
    let split = train_test_split(data.x.view(), data.y.view(), &opts)?;
    let (x_val, y_val) = (
        Tensor::from_array(split.x_test.clone()).cast(DType::F32)?,
        Tensor::from_array(split.y_test.clone()).cast(DType::F32)?,
    );
    let mut model = Sequential::new();
    model.add(Dense::new(16).activation("relu")?);
    model.add(Dense::new(1));
    model.build(&[16, 3])?;
    let mut opt = Adam::new(0.05);
    let mse = MeanSquaredError::new();
    let mut rng = RandomState::new(7);
    let n = split.x_train.nrows();
    let mut history = Vec::new();
    for epoch in 1..=20 {
        let (mut loss_mean, mut mae) = (Mean::new(), MeanAbsoluteError::new());
        let order = rng.permutation(n)?;
        for rows in order.as_slice().unwrap_or_default().chunks(16) {
            let xb = Tensor::from_array(split.x_train.select(ndarray::Axis(0), rows))
                .cast(DType::F32)?;
            let yb = Tensor::from_array(split.y_train.select(ndarray::Axis(0), rows))
                .cast(DType::F32)?;
            let tape = GradientTape::new();
            let pred = model.call(&xb)?;
            let loss = mse.call(&yb, &pred)?;
            let vars = model.trainable_variables();
            let vars: Vec<&Variable> = vars.iter().collect();
            opt.apply_gradients(&tape.gradients(&loss, &vars)?)?;
            // Keras's epoch loss: the batch losses' mean weighted by batch size
            let weight = Tensor::full(DType::F32, &[rows.len()], 1.0)?;
            loss_mean.update_state_weighted(&loss.broadcast_to(&[rows.len()])?, &weight)?;
            mae.update_state(&yb, &pred)?;
        }
        let val_pred = model.call(&x_val)?;
        let val_loss = mse.call(&y_val, &val_pred)?.item()?;
        let (loss, train_mae) = (loss_mean.result()?.item()?, mae.result()?.item()?);
        println!(
            "Epoch {epoch}/20 - loss: {loss:.4} - mae: {train_mae:.4} - val_loss: {val_loss:.4}"
        );
        history.push(val_loss);
    }
    assert!(history[19] < history[0] / 10.0, "{history:?}");
    Ok(())
}
