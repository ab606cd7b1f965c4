//! `fit` and `train_on_batch` call the model with `training = true`, `evaluate`, `predict` and
//! `test_on_batch` with `training = false`: batch normalization's moving statistics move only
//! in training, and dropout drops only there.

use tapegrad_autodiff::Tensor;
use tapegrad_nn::{BatchNormalization, Dense, Dropout, Layer, Sequential};
use tapegrad_optim::Sgd;
use tapegrad_train::{CompileExt, FitOptions, NO_METRICS};

fn data() -> (Tensor, Tensor) {
    let x: Vec<f32> = (0..40).map(|i| (i as f32 * 0.3).sin() + 2.0).collect();
    let y: Vec<f32> = (0..20).map(|i| i as f32 / 10.0).collect();
    (
        Tensor::from_vec(x, &[20, 2]).unwrap(),
        Tensor::from_vec(y, &[20, 1]).unwrap(),
    )
}

#[test]
fn batch_normalization_moves_in_fit_not_in_evaluate_or_predict() {
    let (x, y) = data();
    let model = Sequential::with_input_shape(&[2])
        .layer(BatchNormalization::new())
        .and_then(|m| m.layer(Dense::new(1)))
        .unwrap();
    let mut model = model.compile(Sgd::new(0.01), "mse", NO_METRICS).unwrap();
    model.evaluate(&x, &y, 8).unwrap();
    model.predict(&x, 8).unwrap();
    model.test_on_batch(&x, &y).unwrap();
    let moving = |m: &tapegrad_train::Compiled<Sequential>| -> Vec<f64> {
        m.model().get_weights()[2].to_f64_vec()
    };
    assert_eq!(
        moving(&model),
        [0.0, 0.0],
        "inference moved the moving mean"
    );
    model
        .fit(
            &x,
            &y,
            FitOptions::new()
                .epochs(1)
                .batch_size(8)
                .shuffle(false)
                .verbose(0),
        )
        .unwrap();
    let after_fit = moving(&model);
    assert!(after_fit.iter().all(|&m| m > 0.0), "{after_fit:?}");
    model.train_on_batch(&x, &y).unwrap();
    assert_ne!(moving(&model), after_fit);
}

#[test]
fn dropout_drops_in_training_only() {
    let (x, y) = data();
    let model = Sequential::with_input_shape(&[2])
        .layer(Dropout::new(0.5).unwrap().seed(3))
        .and_then(|m| m.layer(Dense::new(1)))
        .unwrap();
    let mut model = model.compile(Sgd::new(0.0), "mse", NO_METRICS).unwrap();
    // learning rate 0: the weights stay, so the losses differ only by the dropout
    let inference = model.test_on_batch(&x, &y).unwrap().get("loss").unwrap();
    assert_eq!(
        model.test_on_batch(&x, &y).unwrap().get("loss"),
        Some(inference)
    );
    let training = model.train_on_batch(&x, &y).unwrap().get("loss").unwrap();
    assert_ne!(training, inference);
    let p1 = model.predict(&x, 4).unwrap().to_f64_vec();
    let p2 = model.predict(&x, 20).unwrap().to_f64_vec();
    assert_eq!(p1, p2, "predict is deterministic: no dropout");
}
