//! Issue 17, item 8: every hyperparameter out of its range is refused where the optimizer or
//! schedule is built (`checked()`, `check_settings()`, a schedule's `new`), and again by the
//! first `apply_gradients` before any variable changes, naming the owner, the parameter, the
//! range allowed and the value given.

use tapegrad_autodiff::{Tensor, Variable};
use tapegrad_optim::{
    Adadelta, Adagrad, Adam, AdamW, Adamax, CosineDecay, CosineDecayRestarts, Error,
    ExponentialDecay, InverseTimeDecay, LearningRateSchedule, Nadam, Optimizer, OptimizerExt,
    PiecewiseConstantDecay, PolynomialDecay, RMSprop, Sgd,
};

fn var(name: &str) -> Variable {
    Variable::new(Tensor::from_vec(vec![1.0f32, -2.0], &[2]).unwrap()).with_name(name)
}

fn grad() -> Option<Tensor> {
    Some(Tensor::from_vec(vec![0.5f32, 0.25], &[2]).unwrap())
}

fn values(v: &Variable) -> Vec<f32> {
    v.numpy::<f32>().unwrap().iter().copied().collect()
}

/// `opt` is refused by `check_settings` with exactly `message`, naming `parameter`, and its
/// first `apply_gradients` changes nothing.
fn assert_refused(mut opt: Box<dyn Optimizer>, parameter: &str, message: &str) {
    let err = opt.check_settings().unwrap_err();
    assert!(
        matches!(err, Error::Config { parameter: p, .. } if p == parameter),
        "{err}"
    );
    assert_eq!(err.to_string(), message);
    let w = var("w");
    let again = opt.apply_gradients([(grad(), &w)]).unwrap_err();
    assert_eq!(again, err, "apply_gradients refuses it the same way");
    assert_eq!(values(&w), [1.0, -2.0], "no variable changes");
    assert_eq!(opt.iterations(), 0);
}

#[test]
fn adam_beta_1_of_5_beta_2_of_minus_3_and_epsilon_of_minus_1_are_refused() {
    let cases: Vec<(Box<dyn Optimizer>, &str, &str)> = vec![
        (
            Box::new(Adam::new(0.1).beta_1(5.0)),
            "beta_1",
            "Adam: `beta_1` must be ≥ 0 and < 1, got 5",
        ),
        (
            Box::new(Adam::new(0.1).beta_2(-3.0)),
            "beta_2",
            "Adam: `beta_2` must be ≥ 0 and < 1, got -3",
        ),
        (
            Box::new(Adam::new(0.1).epsilon(-1.0)),
            "epsilon",
            "Adam: `epsilon` must be a finite number ≥ 0, got -1",
        ),
        (
            Box::new(Adam::new(0.1).amsgrad(true).beta_1(1.0)),
            "beta_1",
            "Adam: `beta_1` must be ≥ 0 and < 1, got 1",
        ),
        (
            Box::new(AdamW::new(0.1).beta_1(5.0)),
            "beta_1",
            "AdamW: `beta_1` must be ≥ 0 and < 1, got 5",
        ),
        (
            Box::new(AdamW::new(0.1).beta_2(f64::NAN)),
            "beta_2",
            "AdamW: `beta_2` must be ≥ 0 and < 1, got NaN",
        ),
        (
            Box::new(AdamW::new(0.1).epsilon(f64::INFINITY)),
            "epsilon",
            "AdamW: `epsilon` must be a finite number ≥ 0, got inf",
        ),
        (
            Box::new(Nadam::new(0.1).beta_1(5.0)),
            "beta_1",
            "Nadam: `beta_1` must be ≥ 0 and < 1, got 5",
        ),
        (
            Box::new(Nadam::new(0.1).beta_2(1.0)),
            "beta_2",
            "Nadam: `beta_2` must be ≥ 0 and < 1, got 1",
        ),
        (
            Box::new(Nadam::new(0.1).epsilon(-1.0)),
            "epsilon",
            "Nadam: `epsilon` must be a finite number ≥ 0, got -1",
        ),
        (
            Box::new(Adamax::new(0.1).beta_1(5.0)),
            "beta_1",
            "Adamax: `beta_1` must be ≥ 0 and < 1, got 5",
        ),
        (
            Box::new(Adamax::new(0.1).beta_2(-3.0)),
            "beta_2",
            "Adamax: `beta_2` must be ≥ 0 and < 1, got -3",
        ),
        (
            Box::new(Adamax::new(0.1).epsilon(-1.0)),
            "epsilon",
            "Adamax: `epsilon` must be a finite number ≥ 0, got -1",
        ),
    ];
    for (opt, parameter, message) in cases {
        assert_refused(opt, parameter, message);
    }
}

#[test]
fn adam_beta_1_of_5_is_refused_where_the_optimizer_is_built() {
    let err = Adam::new(0.1).beta_1(5.0).checked().unwrap_err();
    assert_eq!(err.to_string(), "Adam: `beta_1` must be ≥ 0 and < 1, got 5");
    let opt = Adam::new(0.1)
        .beta_1(0.0)
        .beta_2(0.0)
        .epsilon(0.0)
        .checked()
        .expect("0 is in every range");
    assert_eq!(opt.name(), "Adam");
}

#[test]
fn rmsprop_adadelta_adagrad_rho_momentum_epsilon_and_accumulator_out_of_range_are_refused() {
    let cases: Vec<(Box<dyn Optimizer>, &str, &str)> = vec![
        (
            Box::new(RMSprop::new(0.1).rho(1.0)),
            "rho",
            "RMSprop: `rho` must be ≥ 0 and < 1, got 1",
        ),
        (
            Box::new(RMSprop::new(0.1).rho(-0.5)),
            "rho",
            "RMSprop: `rho` must be ≥ 0 and < 1, got -0.5",
        ),
        (
            Box::new(RMSprop::new(0.1).momentum(1.5)),
            "momentum",
            "RMSprop: `momentum` must be between 0 and 1, got 1.5",
        ),
        (
            Box::new(RMSprop::new(0.1).momentum(f64::NAN)),
            "momentum",
            "RMSprop: `momentum` must be between 0 and 1, got NaN",
        ),
        (
            Box::new(RMSprop::new(0.1).centered(true).epsilon(-1.0)),
            "epsilon",
            "RMSprop: `epsilon` must be a finite number ≥ 0, got -1",
        ),
        (
            Box::new(Adadelta::new(1.0).rho(5.0)),
            "rho",
            "Adadelta: `rho` must be ≥ 0 and < 1, got 5",
        ),
        (
            Box::new(Adadelta::new(1.0).epsilon(0.0)),
            "epsilon",
            "Adadelta: `epsilon` must be a finite number > 0, got 0",
        ),
        (
            Box::new(Adagrad::new(0.1).initial_accumulator_value(-1.0)),
            "initial_accumulator_value",
            "Adagrad: `initial_accumulator_value` must be a finite number ≥ 0, got -1",
        ),
        (
            Box::new(Adagrad::new(0.1).epsilon(f64::NAN)),
            "epsilon",
            "Adagrad: `epsilon` must be a finite number ≥ 0, got NaN",
        ),
        (
            Box::new(Sgd::new(0.1).momentum(-0.1)),
            "momentum",
            "SGD: `momentum` must be between 0 and 1, got -0.1",
        ),
        (
            Box::new(Sgd::new(0.1).momentum(f64::NAN)),
            "momentum",
            "SGD: `momentum` must be between 0 and 1, got NaN",
        ),
    ];
    for (opt, parameter, message) in cases {
        assert_refused(opt, parameter, message);
    }
}

#[test]
fn sgd_learning_rate_of_minus_1_is_refused() {
    assert_refused(
        Box::new(Sgd::new(-1.0)),
        "learning_rate",
        "SGD: `learning_rate` must be a finite number ≥ 0, got -1",
    );
    assert!(Sgd::new(-1.0).checked().is_err());
    assert!(Sgd::new(0.0).checked().is_ok(), "Keras allows 0");
    // set_learning_rate refuses it too and keeps the rate it had
    let mut opt = Sgd::new(0.1);
    for bad in [-1.0, f64::NAN, f64::INFINITY, 1e39] {
        let err = opt.set_learning_rate(bad).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Config {
                    parameter: "learning_rate",
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(opt.learning_rate(), 0.1f32 as f64);
        assert!(opt.check_settings().is_ok());
    }
    assert_eq!(
        opt.set_learning_rate(1e39).unwrap_err().to_string(),
        "SGD: `learning_rate` must be a finite number ≥ 0, got 1e39 (beyond float32's largest value, 3.4028235e38)"
    );
    opt.set_learning_rate(0.0).unwrap();
    assert_eq!(opt.learning_rate(), 0.0);
}

#[derive(Debug)]
struct Negative;

impl LearningRateSchedule for Negative {
    fn at(&self, step: u64) -> f64 {
        0.1 - 0.1 * step as f64
    }
}

#[test]
fn a_schedule_that_gives_a_negative_rate_is_refused_naming_the_variable() {
    let w = var("kernel");
    let mut opt = Sgd::new(Negative);
    opt.apply_gradients([(grad(), &w)]).unwrap(); // 0.1
    opt.apply_gradients([(grad(), &w)]).unwrap(); // 0.0: allowed
    let before = values(&w);
    let err = opt.apply_gradients([(grad(), &w)]).unwrap_err();
    assert!(
        matches!(err, Error::LearningRate { ref variable, iteration: 2, .. } if variable == "kernel"),
        "{err}"
    );
    assert!(err.to_string().contains("≥ 0"), "{err}");
    assert_eq!(values(&w), before);
    assert_eq!(opt.iterations(), 2);
}

#[test]
fn schedule_settings_out_of_range_are_refused_naming_them() {
    let at_new: Vec<(Error, &str, &str)> = vec![
        (
            ExponentialDecay::new(-0.1, 5, 0.5).unwrap_err(),
            "initial_learning_rate",
            "ExponentialDecay: `initial_learning_rate` must be a finite number ≥ 0, got -0.1",
        ),
        (
            ExponentialDecay::new(0.1, 5, -0.5).unwrap_err(),
            "decay_rate",
            "ExponentialDecay: `decay_rate` must be a finite number ≥ 0, got -0.5",
        ),
        (
            InverseTimeDecay::new(0.1, 5, -2.0).unwrap_err(),
            "decay_rate",
            "InverseTimeDecay: `decay_rate` must be a finite number ≥ 0, got -2",
        ),
        (
            InverseTimeDecay::new(0.1, 5, f64::NAN).unwrap_err(),
            "decay_rate",
            "InverseTimeDecay: `decay_rate` must be a finite number ≥ 0, got NaN",
        ),
        (
            PolynomialDecay::new(f64::INFINITY, 5).unwrap_err(),
            "initial_learning_rate",
            "PolynomialDecay: `initial_learning_rate` must be a finite number ≥ 0, got inf",
        ),
        (
            CosineDecay::new(-1.0, 5).unwrap_err(),
            "initial_learning_rate",
            "CosineDecay: `initial_learning_rate` must be a finite number ≥ 0, got -1",
        ),
        (
            CosineDecayRestarts::new(1e39, 5).unwrap_err(),
            "initial_learning_rate",
            "CosineDecayRestarts: `initial_learning_rate` must be a finite number ≥ 0, got 1e39 (beyond float32's largest value, 3.4028235e38)",
        ),
        (
            PiecewiseConstantDecay::new(&[5], &[0.1, f64::NAN]).unwrap_err(),
            "values",
            "PiecewiseConstantDecay: `values` must be finite numbers ≥ 0 in float32 (learning rates), got NaN in [0.1, NaN]",
        ),
        (
            PiecewiseConstantDecay::new(&[5], &[-0.1, 0.1]).unwrap_err(),
            "values",
            "PiecewiseConstantDecay: `values` must be finite numbers ≥ 0 in float32 (learning rates), got -0.1 in [-0.1, 0.1]",
        ),
    ];
    for (err, parameter, message) in at_new {
        assert!(
            matches!(err, Error::Config { parameter: p, .. } if p == parameter),
            "{err}"
        );
        assert_eq!(err.to_string(), message);
    }
    // set by builder methods: refused by validate()/checked(), and by an optimizer using them
    let polynomial = || PolynomialDecay::new(0.1, 10).unwrap();
    let cosine = || CosineDecay::new(0.1, 10).unwrap();
    let restarts = || CosineDecayRestarts::new(0.1, 4).unwrap();
    type Build = Box<dyn Fn() -> Sgd>;
    let builders: Vec<(Build, &str, &str)> = vec![
        (
            Box::new(move || Sgd::new(polynomial().power(-1.0))),
            "power",
            "PolynomialDecay: `power` must be a finite number ≥ 0, got -1",
        ),
        (
            Box::new(move || Sgd::new(polynomial().end_learning_rate(f64::NAN))),
            "end_learning_rate",
            "PolynomialDecay: `end_learning_rate` must be a finite number ≥ 0, got NaN",
        ),
        (
            Box::new(move || Sgd::new(cosine().alpha(2.0))),
            "alpha",
            "CosineDecay: `alpha` must be between 0 and 1, got 2",
        ),
        (
            Box::new(move || Sgd::new(cosine().warmup(-0.2, 5))),
            "warmup_target",
            "CosineDecay: `warmup_target` must be a finite number ≥ 0, got -0.2",
        ),
        (
            Box::new(move || Sgd::new(restarts().t_mul(0.0))),
            "t_mul",
            "CosineDecayRestarts: `t_mul` must be a finite number > 0, got 0",
        ),
        (
            Box::new(move || Sgd::new(restarts().m_mul(-1.0))),
            "m_mul",
            "CosineDecayRestarts: `m_mul` must be a finite number ≥ 0, got -1",
        ),
        (
            Box::new(move || Sgd::new(restarts().alpha(f64::NAN))),
            "alpha",
            "CosineDecayRestarts: `alpha` must be between 0 and 1, got NaN",
        ),
    ];
    for (build, parameter, message) in builders {
        assert_refused(Box::new(build()), parameter, message);
        assert_eq!(build().checked().unwrap_err().to_string(), message);
    }
    assert_eq!(
        cosine().alpha(-0.5).checked().unwrap_err().to_string(),
        "CosineDecay: `alpha` must be between 0 and 1, got -0.5"
    );
    assert!(restarts()
        .t_mul(1.0)
        .m_mul(0.0)
        .alpha(1.0)
        .checked()
        .is_ok());
    assert!(polynomial()
        .power(0.0)
        .end_learning_rate(0.0)
        .checked()
        .is_ok());
    assert!(ExponentialDecay::new(0.0, 1, 0.0).is_ok());
}

#[test]
fn clipnorm_nan_is_refused_naming_clipnorm() {
    for bad in [f64::NAN, f64::INFINITY, -1.0, 1e39] {
        for (opt, parameter) in [
            (Sgd::new(0.1).clipnorm(bad), "clipnorm"),
            (Sgd::new(0.1).clipvalue(bad), "clipvalue"),
            (Sgd::new(0.1).global_clipnorm(bad), "global_clipnorm"),
            (Sgd::new(0.1).weight_decay(bad), "weight_decay"),
        ] {
            let err = opt.checked().unwrap_err();
            assert!(
                matches!(err, Error::Config { parameter: p, .. } if p == parameter),
                "{err}"
            );
            let text = err.to_string();
            assert!(
                text.starts_with(&format!(
                    "SGD: `{parameter}` must be a finite number ≥ 0 (0: off), got "
                )),
                "{text}"
            );
        }
    }
    // a clipnorm that float32 rounds to infinity would make every clipped gradient NaN
    // (g * inf / inf); it is refused rather than applied
    let w = var("w");
    let mut opt = Adam::new(0.1).clipnorm(1e39);
    assert!(opt.apply_gradients([(grad(), &w)]).is_err());
    assert_eq!(values(&w), [1.0, -2.0]);
}

#[test]
fn weight_decay_nan_does_not_turn_the_variable_to_nan() {
    for mut opt in [
        Box::new(AdamW::new(0.1).weight_decay(f64::NAN)) as Box<dyn Optimizer>,
        Box::new(Sgd::new(0.1).weight_decay(f64::NAN)),
        Box::new(AdamW::new(0.1).weight_decay(1e39)),
    ] {
        let w = var("w");
        let err = opt.apply_gradients([(grad(), &w)]).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Config {
                    parameter: "weight_decay",
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(values(&w), [1.0, -2.0]);
    }
}

#[test]
fn the_ends_of_every_range_that_are_allowed_are_accepted() {
    let opts: Vec<Box<dyn Optimizer>> = vec![
        Box::new(Sgd::new(0.0).momentum(1.0).nesterov(true)),
        Box::new(Sgd::new(0.1).momentum(0.0).clipnorm(0.0).clipvalue(0.0)),
        Box::new(Adam::new(0.1).beta_1(0.0).beta_2(0.0).epsilon(1.0)),
        Box::new(AdamW::new(0.1).weight_decay(0.0).global_clipnorm(0.0)),
        Box::new(Nadam::new(0.1).beta_1(0.0).beta_2(0.0)),
        Box::new(Adamax::new(0.1).beta_1(0.0).beta_2(0.0).epsilon(0.0)),
        Box::new(RMSprop::new(0.1).rho(0.0).momentum(1.0).epsilon(0.0)),
        Box::new(Adadelta::new(1.0).rho(0.0).epsilon(1.0)),
        Box::new(
            Adagrad::new(0.1)
                .initial_accumulator_value(0.0)
                .epsilon(0.0),
        ),
    ];
    for mut opt in opts {
        opt.check_settings()
            .unwrap_or_else(|e| panic!("{}: {e}", opt.name()));
        let w = var("w");
        opt.apply_gradients([(grad(), &w)])
            .unwrap_or_else(|e| panic!("{}: {e}", opt.name()));
        assert_eq!(opt.iterations(), 1);
    }
}
