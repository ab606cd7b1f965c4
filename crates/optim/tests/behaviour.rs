//! Keras's optimizer semantics beyond the recorded trajectories: hand-computed steps, `None`
//! gradients, errors, float64 variables, clipping rules.

use tapegrad_autodiff::{Tensor, Variable};
use tapegrad_optim::{
    Adadelta, Adagrad, Adam, AdamW, Adamax, CosineDecay, CosineDecayRestarts, Error,
    ExponentialDecay, InverseTimeDecay, Nadam, NonFinite, Optimizer, OptimizerExt, PolynomialDecay,
    RMSprop, Result, Sgd,
};

fn vec_var(values: &[f32], name: &str) -> Variable {
    Variable::with_options(
        tapegrad_tensor::Array::from_vec(values.to_vec(), &[values.len()]).unwrap(),
        name,
        true,
    )
}

fn grad(values: &[f32]) -> Option<Tensor> {
    Some(Tensor::from_vec(values.to_vec(), &[values.len()]).unwrap())
}

fn f32s(v: &Variable) -> Vec<f32> {
    v.snapshot().to_vec::<f32>().unwrap()
}

/// One Adam step from the formula, in float32 in Keras's order.
#[test]
fn adam_first_two_steps_from_the_formula() -> Result<()> {
    let w = vec_var(&[1.0, -2.0], "w");
    let mut opt = Adam::new(0.01);
    let gs = [[0.5f32, -3.0], [0.25, 1.0]];
    let (mut m, mut v, mut want) = ([0.0f32; 2], [0.0f32; 2], [1.0f32, -2.0]);
    for (t, g) in gs.iter().enumerate() {
        opt.apply_gradients([(grad(g), &w)])?;
        let step = (t + 1) as f32;
        let alpha = 0.01f32 * (1.0 - 0.999f32.powf(step)).sqrt() / (1.0 - 0.9f32.powf(step));
        for i in 0..2 {
            m[i] += (g[i] - m[i]) * 0.1f32;
            v[i] += (g[i] * g[i] - v[i]) * (1.0f64 - 0.999) as f32;
            want[i] -= m[i] * alpha / (v[i].sqrt() + 1e-7);
        }
        assert_eq!(f32s(&w), want, "step {}", t + 1);
    }
    // The same two steps in float64 (Python): 1 - 0.01 - 0.0093218...
    assert!((f64::from(want[0]) - 0.980678).abs() < 1e-5, "{}", want[0]);
    assert_eq!(opt.slot(&w, "m").unwrap().to_vec::<f32>()?, m.to_vec());
    assert_eq!(opt.slot(&w, "v").unwrap().to_vec::<f32>()?, v.to_vec());
    Ok(())
}

#[test]
fn sgd_momentum_and_nesterov_by_hand() -> Result<()> {
    // Keras's docstring: steps of 0.1 then 0.18 for loss var^2 / 2 from 1.0.
    let var = Variable::new(1.0f32);
    let mut opt = Sgd::new(0.1).momentum(0.9);
    opt.minimize(|| (&var * &var)? / 2.0, &[&var])?;
    assert_eq!(var.item()? as f32, 0.9);
    opt.minimize(|| (&var * &var)? / 2.0, &[&var])?;
    assert_eq!(var.item()? as f32, 0.9 - (0.9f32 * 0.1 + 0.1 * 0.9));

    let w = Variable::new(1.0f32);
    let mut nesterov = Sgd::new(0.1).momentum(0.5).nesterov(true);
    nesterov.apply_gradients([(Some(Tensor::scalar(1.0f32)), &w)])?;
    // m = -0.1; w += -0.1 + 0.5 * m = -0.15
    assert_eq!(w.item()? as f32, 1.0 + (-0.1 + -0.1 * 0.5));
    Ok(())
}

#[test]
fn none_gradients_are_skipped_with_one_warning_and_all_none_is_an_error() -> Result<()> {
    let (a, b) = (vec_var(&[1.0], "a"), vec_var(&[1.0], "b"));
    let mut opt = Adam::default();
    for _ in 0..3 {
        opt.apply_gradients([(grad(&[1.0]), &a), (None, &b)])?;
    }
    assert_eq!(f32s(&b), [1.0]);
    assert!(f32s(&a)[0] < 1.0);
    assert_eq!(opt.warnings().len(), 1);
    assert!(
        opt.warnings()[0].contains("[\"b\"]"),
        "{}",
        opt.warnings()[0]
    );
    assert_eq!(opt.iterations(), 3);
    let err = opt.apply_gradients([(None, &a), (None, &b)]).unwrap_err();
    assert_eq!(
        err,
        Error::NoGradients {
            variables: vec!["a".into(), "b".into()]
        }
    );
    assert_eq!(opt.iterations(), 3);
    // An empty list is a no-op, as in Keras.
    assert_eq!(opt.apply_gradients(Vec::new())?, 3);
    Ok(())
}

#[test]
fn a_bad_gradient_names_its_variable_and_changes_nothing() -> Result<()> {
    let (a, b) = (vec_var(&[1.0, 2.0], "a"), vec_var(&[1.0, 2.0], "kernel"));
    let mut opt = Sgd::new(0.1).momentum(0.9);
    let err = opt
        .apply_gradients([(grad(&[1.0, 1.0]), &a), (grad(&[1.0, 1.0, 1.0]), &b)])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "variable `kernel`: gradient has shape [3], the variable has shape [2]"
    );
    assert_eq!(
        f32s(&a),
        [1.0, 2.0],
        "no variable is updated when one gradient is wrong"
    );
    assert_eq!(opt.iterations(), 0);
    let wrong_dtype = Some(Tensor::from_vec(vec![1.0f64, 1.0], &[2])?);
    let err = opt.apply_gradients([(wrong_dtype, &b)]).unwrap_err();
    assert!(matches!(err, Error::GradientDType { ref variable, .. } if variable == "kernel"));
    Ok(())
}

#[test]
fn a_non_finite_learning_rate_is_an_error_naming_the_variable() {
    let w = vec_var(&[1.0], "w");
    // a constant is refused as a setting, before any step
    for lr in [f64::NAN, f64::INFINITY, 1e39, -0.1] {
        let mut opt = Sgd::new(lr);
        let err = opt.apply_gradients([(grad(&[1.0]), &w)]).unwrap_err();
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
        assert!(err.to_string().contains("≥ 0"), "{err}");
    }
    // A schedule that overflows float32 at step 2.
    let mut opt = Sgd::new(ExponentialDecay::new(1e30, 1, 1e9).unwrap());
    opt.apply_gradients([(grad(&[0.0]), &w)]).unwrap();
    let err = opt.apply_gradients([(grad(&[0.0]), &w)]).unwrap_err();
    assert!(err.to_string().contains("iteration 1"), "{err}");
    assert_eq!(f32s(&w), [1.0]);
}

#[test]
fn invalid_hyperparameters_are_errors_not_panics() {
    let w = vec_var(&[1.0], "w");
    let err = Sgd::new(0.1)
        .momentum(1.5)
        .apply_gradients([(grad(&[1.0]), &w)])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "SGD: `momentum` must be between 0 and 1, got 1.5"
    );
    let err = Adam::default()
        .clipnorm(1.0)
        .global_clipnorm(1.0)
        .apply_gradients([(grad(&[1.0]), &w)])
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Adam: `clipnorm` and `global_clipnorm`"),
        "{err}"
    );
}

#[test]
fn clipping_follows_keras_priority_and_formulas() -> Result<()> {
    // clipnorm wins over clipvalue; [3, 4] has norm 5 -> [0.6, 0.8].
    let w = vec_var(&[0.0, 0.0], "w");
    Sgd::new(1.0)
        .clipnorm(1.0)
        .clipvalue(0.1)
        .apply_gradients([(grad(&[3.0, 4.0]), &w)])?;
    assert_eq!(f32s(&w), [-3.0f32 * 1.0 / 5.0, -4.0f32 * 1.0 / 5.0]);
    // clipvalue alone.
    let w = vec_var(&[0.0, 0.0], "w");
    Sgd::new(1.0)
        .clipvalue(0.5)
        .apply_gradients([(grad(&[3.0, -0.25]), &w)])?;
    assert_eq!(f32s(&w), [-0.5, 0.25]);
    // global_clipnorm: [3] and [4] together have norm 5.
    let (a, b) = (vec_var(&[0.0], "a"), vec_var(&[0.0], "b"));
    Sgd::new(1.0)
        .global_clipnorm(2.5)
        .apply_gradients([(grad(&[3.0]), &a), (grad(&[4.0]), &b)])?;
    assert_eq!((f32s(&a)[0], f32s(&b)[0]), (-1.5, -2.0));
    // A norm below the threshold leaves the gradient as is; zero gradients stay zero.
    let w = vec_var(&[0.0, 0.0], "w");
    Sgd::new(1.0)
        .clipnorm(10.0)
        .apply_gradients([(grad(&[0.0, 0.0]), &w)])?;
    assert_eq!(f32s(&w), [0.0, 0.0]);
    Ok(())
}

#[test]
fn weight_decay_comes_before_the_update_with_the_current_rate() -> Result<()> {
    let w = Variable::new(2.0f32);
    let mut opt = AdamW::new(0.1).weight_decay(0.5);
    opt.apply_gradients([(Some(Tensor::scalar(1.0f32)), &w)])?;
    // 2 - 2 * 0.5 * 0.1 = 1.9, then Adam's first step of ~lr.
    let want = (2.0f32 - 2.0 * 0.5 * 0.1) - 0.1 * (1.0 / (1.0 + 1e-7));
    assert!((w.item()? as f32 - want).abs() < 1e-6, "{}", w.item()?);
    Ok(())
}

/// Every optimizer updates float64 variables in float64 (the learning rate is the float32
/// Keras keeps, widened).
#[test]
fn float64_variables_are_updated_in_float64() -> Result<()> {
    let mut opts: Vec<Box<dyn Optimizer>> = vec![
        Box::new(Sgd::new(0.1)),
        Box::new(Sgd::new(0.1).momentum(0.9)),
        Box::new(Adam::new(0.1)),
        Box::new(AdamW::new(0.1)),
        Box::new(RMSprop::new(0.1).centered(true).momentum(0.5)),
        Box::new(Adagrad::new(0.1)),
        Box::new(Adadelta::new(1.0)),
        Box::new(Nadam::new(0.1)),
        Box::new(Adamax::new(0.1)),
    ];
    for opt in &mut opts {
        let w = Variable::new(Tensor::scalar(1.0f64));
        for _ in 0..3 {
            opt.minimize(|| (&w * &w)? * 0.5, &[&w])?;
        }
        let value = w.item()?;
        assert!(value < 1.0 && value > 0.0, "{}: {value}", opt.name());
        assert!(opt
            .slot_variables()
            .iter()
            .all(|(_, t)| t.dtype() == w.dtype()));
    }
    // SGD in float64: w = (1 - lr)^3 with lr = f64(f32(0.1)).
    let w = Variable::new(Tensor::scalar(1.0f64));
    let mut sgd = Sgd::new(0.1);
    for _ in 0..3 {
        sgd.minimize(|| (&w * &w)? * 0.5, &[&w])?;
    }
    let lr = f64::from(0.1f32);
    assert_eq!(w.item()?, (1.0 - lr) * (1.0 - lr) * (1.0 - lr));
    Ok(())
}

#[test]
fn nadam_refuses_variables_of_two_dtypes_like_keras() -> Result<()> {
    let (a, b) = (
        Variable::new(1.0f32).with_name("a"),
        Variable::new(Tensor::scalar(1.0f64)).with_name("b"),
    );
    let mut opt = Nadam::default();
    let err = opt
        .apply_gradients([
            (Some(Tensor::scalar(1.0f32)), &a),
            (Some(Tensor::scalar(1.0f64)), &b),
        ])
        .unwrap_err();
    assert!(
        matches!(err, Error::Slot { ref variable, .. } if variable == "b"),
        "{err}"
    );
    Ok(())
}

#[test]
fn schedules_are_evaluated_at_iterations() -> Result<()> {
    let w = Variable::new(0.0f32);
    let mut opt = Sgd::new(ExponentialDecay::new(0.1, 1, 0.5)?.staircase(true));
    let mut rates = vec![];
    for _ in 0..3 {
        opt.apply_gradients([(Some(Tensor::scalar(1.0f32)), &w)])?;
        rates.push(opt.learning_rate() as f32);
    }
    assert_eq!(rates, [0.1, 0.05, 0.025]);
    assert_eq!(w.item()? as f32, -0.1 - 0.05 - 0.025);
    Ok(())
}

#[test]
fn adagrad_adadelta_adamax_rmsprop_first_steps_by_hand() -> Result<()> {
    let g = 2.0f32;
    let w = Variable::new(1.0f32);
    Adagrad::new(0.1).apply_gradients([(Some(Tensor::scalar(g)), &w)])?;
    assert_eq!(
        w.item()? as f32,
        1.0 - 0.1 * g / (0.1f32 + g * g + 1e-7).sqrt()
    );

    let w = Variable::new(1.0f32);
    RMSprop::new(0.1).apply_gradients([(Some(Tensor::scalar(g)), &w)])?;
    let velocity = 0.1f32 * (g * g);
    assert_eq!(
        w.item()? as f32,
        1.0 - 0.1 * g * (1.0 / (velocity + 1e-7).sqrt())
    );

    let w = Variable::new(1.0f32);
    Adamax::new(0.1).apply_gradients([(Some(Tensor::scalar(g)), &w)])?;
    let m = g * 0.1;
    assert_eq!(
        w.item()? as f32,
        1.0 - 0.1 * m / ((1.0 - 0.9f32) * (g + 1e-7))
    );

    let w = Variable::new(1.0f32);
    Adadelta::new(1.0).apply_gradients([(Some(Tensor::scalar(g)), &w)])?;
    let acc = 0.05f32 * g * g;
    let delta = -(1e-7f32).sqrt() * g / (acc + 1e-7).sqrt();
    assert_eq!(w.item()? as f32, 1.0 + delta);
    Ok(())
}

/// Each variable keeps its own slots whatever the order and length of the lists: the states
/// found by position (the same list as the last step) and by id (any other list) agree.
#[test]
fn slots_follow_their_variables_when_the_list_changes_order_or_length() -> Result<()> {
    let (a1, b1) = (vec_var(&[1.0, 2.0], "a"), vec_var(&[-3.0], "b"));
    let (a2, b2) = (vec_var(&[1.0, 2.0], "a"), vec_var(&[-3.0], "b"));
    let (mut one, mut two) = (Adam::new(0.1), Adam::new(0.1));
    let (ga, gb) = (|| grad(&[0.5, -1.0]), || grad(&[2.0]));
    for _ in 0..2 {
        one.apply_gradients([(ga(), &a1), (gb(), &b1)])?;
    }
    one.apply_gradients([(ga(), &a1)])?;
    one.apply_gradients([(ga(), &a1), (gb(), &b1)])?;
    // the same updates, listed in another order, and with a `None` gradient
    two.apply_gradients([(ga(), &a2), (gb(), &b2)])?;
    two.apply_gradients([(gb(), &b2), (ga(), &a2)])?;
    two.apply_gradients([(None, &b2), (ga(), &a2)])?;
    two.apply_gradients([(ga(), &a2), (gb(), &b2)])?;
    assert_eq!(f32s(&a1), f32s(&a2));
    assert_eq!(f32s(&b1), f32s(&b2));
    assert_ne!(f32s(&a1), vec![1.0, 2.0]);
    Ok(())
}

#[test]
fn bad_settings_are_refused_naming_the_parameter_and_what_is_allowed() {
    for (err, parameter) in [
        (
            ExponentialDecay::new(0.1, 0, 0.5).unwrap_err(),
            "decay_steps",
        ),
        (
            ExponentialDecay::new(f64::NAN, 5, 0.5).unwrap_err(),
            "initial_learning_rate",
        ),
        (
            ExponentialDecay::new(0.1, 5, f64::INFINITY).unwrap_err(),
            "decay_rate",
        ),
        (
            InverseTimeDecay::new(0.1, 0, 0.5).unwrap_err(),
            "decay_steps",
        ),
        (PolynomialDecay::new(0.1, 0).unwrap_err(), "decay_steps"),
        (CosineDecay::new(0.1, 0).unwrap_err(), "decay_steps"),
        (
            CosineDecayRestarts::new(0.1, 0).unwrap_err(),
            "first_decay_steps",
        ),
    ] {
        assert!(
            matches!(err, Error::Config { parameter: p, .. } if p == parameter),
            "{err}"
        );
        assert!(err.to_string().contains(parameter), "{err}");
    }
    let w = vec_var(&[1.0], "w");
    for (opt, parameter) in [
        (Sgd::new(0.1).clipnorm(-1.0), "clipnorm"),
        (Sgd::new(0.1).clipvalue(f64::NAN), "clipvalue"),
        (Sgd::new(0.1).global_clipnorm(-0.5), "global_clipnorm"),
        (Sgd::new(0.1).weight_decay(-0.01), "weight_decay"),
    ] {
        let mut opt = opt;
        assert!(
            opt.check_settings().is_err(),
            "validate() refuses it before any step"
        );
        let err = opt.apply_gradients([(grad(&[1.0]), &w)]).unwrap_err();
        assert!(
            matches!(err, Error::Config { parameter: p, .. } if p == parameter),
            "{err}"
        );
        assert!(err.to_string().contains("≥ 0"), "{err}");
    }
    assert_eq!(f32s(&w), [1.0]);
}

#[test]
fn a_non_finite_gradient_is_refused_naming_its_variable_and_changes_nothing() {
    let (a, b) = (vec_var(&[1.0], "a"), vec_var(&[1.0], "b"));
    let mut opt = Adam::new(0.1);
    let err = opt
        .apply_gradients([(grad(&[1.0]), &a), (grad(&[f32::INFINITY]), &b)])
        .unwrap_err();
    assert!(
        matches!(err, Error::NonFiniteGradient { ref variable, iteration: 0 } if variable == "b")
    );
    assert!(err.to_string().contains("NonFinite::Skip"), "{err}");
    assert_eq!(
        (f32s(&a), f32s(&b), opt.iterations()),
        (vec![1.0], vec![1.0], 0)
    );
    let mut skip = Adam::new(0.1).non_finite(NonFinite::Skip);
    skip.apply_gradients([(grad(&[1.0]), &a), (grad(&[f32::NAN]), &b)])
        .unwrap();
    assert_eq!((f32s(&a), skip.iterations()), (vec![1.0], 0));
    assert!(skip.warnings()[0].contains("`b`"));
    skip.apply_gradients([(grad(&[1.0]), &a), (grad(&[1.0]), &b)])
        .unwrap();
    assert_eq!(skip.iterations(), 1);
    assert!(f32s(&a)[0] < 1.0);
}
