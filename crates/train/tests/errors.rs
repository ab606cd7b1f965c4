//! What `compile`, `fit`, `evaluate`, `predict` and the `*_on_batch` calls refuse: each an
//! `Err` whose one line names the argument, the shapes or the known names; none panics.

use tapegrad_autodiff::Tensor;
use tapegrad_nn::initializers::Constant;
use tapegrad_nn::{Dense, Sequential};
use tapegrad_train::{compile, Compiled, FitOptions, Mode, NO_METRICS};

fn model() -> Sequential {
    Sequential::with_input_shape(&[2])
        .layer(Dense::new(1).kernel_initializer(Constant(0.5)))
        .unwrap()
}

fn t(rows: usize, cols: usize) -> Tensor {
    Tensor::from_vec(
        (0..rows * cols).map(|i| i as f32 / 10.0).collect(),
        &[rows, cols],
    )
    .unwrap()
}

fn trainer() -> Compiled<Sequential> {
    compile(model(), "sgd", "mse", ["mae"]).unwrap()
}

#[test]
fn unknown_names_list_the_known_ones() {
    let err = |r: tapegrad_train::Result<Compiled<Sequential>>| r.err().unwrap().to_string();
    assert_eq!(
        err(compile(model(), "adamm", "mse", NO_METRICS)),
        "unknown optimizer `adamm`; known: adadelta, adagrad, adam, adamax, adamw, nadam, rmsprop, sgd"
    );
    let e = err(compile(model(), "adam", "squared", NO_METRICS));
    assert!(
        e.starts_with("unknown loss `squared`; known: mse, mean_squared_error, mae"),
        "{e}"
    );
    assert!(e.contains("sparse_categorical_crossentropy"), "{e}");
    let e = err(compile(model(), "adam", "mse", ["mae", "f1"]));
    assert!(e.starts_with("unknown metric `f1`; known: mae, "), "{e}");
    assert!(e.contains("accuracy"), "{e}");
    assert_eq!(
        "best".parse::<Mode>().unwrap_err().to_string(),
        "unknown mode `best`; known: auto, min, max"
    );
    // an optimizer object out of range is refused at compile, naming the parameter
    let e = err(compile(
        model(),
        tapegrad_optim::Adam::new(0.1).beta_1(2.0),
        "mse",
        NO_METRICS,
    ));
    assert!(e.contains("beta_1"), "{e}");
}

#[test]
fn mismatched_rows_and_shapes_name_both_shapes() {
    let mut m = trainer();
    let e = m
        .fit(&t(10, 2), &t(9, 1), FitOptions::new().verbose(0))
        .unwrap_err()
        .to_string();
    assert!(e.contains("[10, 2]") && e.contains("[9, 1]"), "{e}");
    let e = m.evaluate(&t(4, 2), &t(5, 1), 2).unwrap_err().to_string();
    assert!(e.contains("[4, 2]") && e.contains("[5, 1]"), "{e}");
    let e = m
        .train_on_batch(&t(4, 2), &t(3, 1))
        .unwrap_err()
        .to_string();
    assert!(e.contains("[4, 2]") && e.contains("[3, 1]"), "{e}");
    let e = m.test_on_batch(&t(4, 2), &t(3, 1)).unwrap_err().to_string();
    assert!(e.contains("[3, 1]"), "{e}");
    // three features into a layer built for two: the layer says so
    let e = m.predict(&t(4, 3), 2).unwrap_err().to_string();
    assert!(e.contains('3') && e.contains("dense"), "{e}");
    // a target that broadcasts against the prediction into every pair: the loss refuses it
    let e = m
        .train_on_batch(&t(4, 2), &t(1, 4).reshape(&[1, 4]).unwrap())
        .unwrap_err()
        .to_string();
    assert!(!e.is_empty(), "{e}");
    let one = Tensor::scalar(1.0f32);
    let e = m
        .fit(&one, &one, FitOptions::new().verbose(0))
        .unwrap_err()
        .to_string();
    assert_eq!(e, "fit: x is a scalar; it needs a first axis of rows");
}

/// `fit`'s error message for these arguments.
fn fit_err(m: &mut Compiled<Sequential>, x: &Tensor, y: &Tensor, opts: FitOptions<'_>) -> String {
    m.fit(x, y, opts).unwrap_err().to_string()
}

#[test]
fn bad_fit_arguments() {
    let mut m = trainer();
    let (x, y) = (t(10, 2), t(10, 1));
    let opts = || FitOptions::new().verbose(0);
    let e = fit_err(&mut m, &x, &y, opts().batch_size(0));
    assert_eq!(e, "fit: batch_size must be at least 1");
    let e = fit_err(&mut m, &x, &y, opts().validation_split(1.5));
    assert_eq!(e, "validation_split: must be ≥ 0 and < 1, got 1.5");
    let e = fit_err(&mut m, &x, &y, opts().validation_split(f64::NAN));
    assert_eq!(e, "validation_split: must be ≥ 0 and < 1, got NaN");
    // 0.95 of 10 rows leaves floor(10 × 0.05) = 0 to train on
    let e = fit_err(&mut m, &x, &y, opts().validation_split(0.95));
    assert_eq!(
        e,
        "validation_split: 0.95 of 10 rows leaves 0 to train on and 10 to validate on; both need at least one"
    );
    let e = fit_err(&mut m, &x, &y, opts().validation_data(t(3, 2), t(2, 1)));
    assert_eq!(
        e,
        "validation_data: x has 3 rows (shape [3, 2]) and y 2 (shape [2, 1]); they must be equal"
    );
    let e = fit_err(&mut m, &x, &y, opts().validation_data(t(0, 2), t(0, 1)));
    assert_eq!(e, "validation_data: x has no rows (shape [0, 2])");
    let e = fit_err(&mut m, &t(0, 2), &t(0, 1), opts());
    assert_eq!(e, "fit: x has no rows (shape [0, 2])");
    let e = fit_err(&mut m, &x, &y, opts().verbose(3));
    assert_eq!(e, "fit: verbose must be 0, 1 or 2, got 3");
    let e = m.evaluate(&x, &y, 0).unwrap_err().to_string();
    assert_eq!(e, "evaluate: batch_size must be at least 1");
    let e = m.evaluate(&t(0, 2), &t(0, 1), 4).unwrap_err().to_string();
    assert_eq!(e, "evaluate: x has no rows (shape [0, 2])");
    let e = m.predict(&x, 0).unwrap_err().to_string();
    assert_eq!(e, "predict: batch_size must be at least 1");
    let e = m.train_on_batch(&x, &t(0, 1)).unwrap_err().to_string();
    assert_eq!(e, "train_on_batch: y has no rows (shape [0, 1])");
    // nothing was trained by the refused calls
    assert_eq!(m.optimizer().iterations(), 0);
    // initial_epoch at or past epochs runs nothing, as in Keras
    let h = m.fit(&x, &y, opts().epochs(2).initial_epoch(2)).unwrap();
    assert!(h.is_empty());
}
