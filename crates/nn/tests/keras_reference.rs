//! Replays every case of the tf-keras 2.21 reference data in `data/keras/` (written by
//! `data/keras/gen_reference.py`): loss functions (values and gradients), loss objects with every
//! reduction and sample weights, metrics over three batches, activations (values and gradients),
//! the deterministic facts of the initializers, and the categorical losses and accuracies
//! (`categorical.json`). Values match to 1e-6 relative (float32).

mod common;

use common::{flat, load, num, tensor};
use serde_json::Value;
use tapegrad_autodiff::{reduce_sum, GradientTape, Tensor};
use tapegrad_nn::activations::{self, Activation};
use tapegrad_nn::initializers::{self, compute_fans, Initializer, VarianceScaling};
use tapegrad_nn::losses::{self, compute_weighted_loss, Loss, Reduction};
use tapegrad_nn::metrics::{self, ClassAggregation, Metric};

type ActivationFn = Box<dyn Fn(&Tensor) -> tapegrad_nn::Result<Tensor>>;
type SeededInit = Box<dyn Fn(u64) -> Box<dyn Initializer>>;

fn close(got: f64, want: f64) -> bool {
    if want.is_nan() {
        return got.is_nan();
    }
    if want.is_infinite() {
        return got == want;
    }
    (got - want).abs() <= 1e-6 * want.abs() + 1e-30 || (got - want).abs() <= 1e-12
}

fn assert_close(what: &str, got: &[f64], got_shape: &[usize], want: &Value) {
    let (w, ws) = flat(want);
    assert_eq!(got_shape, &ws[..], "{what}: shape");
    for (i, (g, w)) in got.iter().zip(&w).enumerate() {
        assert!(close(*g, *w), "{what}[{i}]: got {g}, Keras {w}");
    }
}

fn check_tensor(what: &str, got: &Tensor, want: &Value) {
    assert_close(what, &got.value().to_f64_vec(), got.shape(), want);
}

/// One ulp of 1.0 in float32 (2⁻²³).
const ULP_OF_ONE: f64 = 1.0 / 8_388_608.0;

/// Gradients of the form `1 − y²` (tanh) or `1 − 2·sigmoid(·)` (log_cosh) cancel: one float32
/// ulp of difference in `y` between Eigen's kernels and Rust's `tanh`/`exp` becomes a large
/// relative difference near saturation. They are held to 1e-6 relative *or* two ulps of 1.0
/// absolute; every value (not gradient) is held to 1e-6 relative.
fn check_gradient(what: &str, got: &Tensor, want: &Value) {
    let (w, ws) = flat(want);
    assert_eq!(got.shape(), &ws[..], "{what}: shape");
    for (i, (g, w)) in got.value().to_f64_vec().iter().zip(&w).enumerate() {
        assert!(
            close(*g, *w) || (g - w).abs() <= 2.0 * ULP_OF_ONE,
            "{what}[{i}]: got {g}, Keras {w}"
        );
    }
}

/// A loss case of the reference data: the value, and the gradient of its sum with respect to
/// the prediction `p` the tape watched.
fn check_loss_case(what: &str, tape: &GradientTape, p: &Tensor, out: &Tensor, case: &Value) {
    check_tensor(what, out, &case["value"]);
    let total = reduce_sum(out, None, false).unwrap();
    let g = tape.gradient(&total, &[p]).unwrap()[0].clone().unwrap();
    check_gradient(
        &format!("{what} gradient"),
        &g,
        &case["grad_of_sum_wrt_y_pred"],
    );
}

fn loss_fn(
    name: &str,
    kwargs: Option<&Value>,
    t: &Tensor,
    p: &Tensor,
) -> tapegrad_nn::Result<Tensor> {
    let flag = |k: &str| {
        kwargs
            .and_then(|kw| kw.get(k))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    let ls = kwargs
        .and_then(|kw| kw.get("label_smoothing"))
        .map(num)
        .unwrap_or(0.0);
    match name {
        "mean_squared_error" => losses::mean_squared_error(t, p),
        "mean_absolute_error" => losses::mean_absolute_error(t, p),
        "huber" => losses::huber(t, p, 1.0),
        "huber_delta0.5" => losses::huber(t, p, 0.5),
        "log_cosh" => losses::log_cosh(t, p),
        n if n.starts_with("binary_crossentropy") => {
            losses::binary_crossentropy(t, p, flag("from_logits"), ls)
        }
        other => panic!("no loss function for {other}"),
    }
}

#[test]
fn loss_functions_values_and_gradients() {
    let data = load("losses.json");
    let cases = data["functions"].as_array().unwrap();
    let mut checked = 0;
    for c in cases {
        let name = c["fn"].as_str().unwrap();
        let what = format!("{name}/{}", c["case"].as_str().unwrap());
        let (t, p) = (tensor(&c["y_true"]), tensor(&c["y_pred"]));
        let tape = GradientTape::new();
        tape.watch(&p);
        let out = loss_fn(name, c.get("kwargs"), &t, &p);
        if c.get("error").is_some() {
            assert!(out.is_err(), "{what}: Keras raised, we returned {out:?}");
            checked += 1;
            continue;
        }
        let out = out.unwrap_or_else(|e| panic!("{what}: {e}"));
        check_loss_case(&what, &tape, &p, &out, c);
        checked += 1;
    }
    assert_eq!(checked, cases.len());
    assert!(checked >= 52);
}

#[test]
fn binary_crossentropy_on_a_plain_sigmoid_tensor() {
    // Keras's quirk (a Keras sigmoid output carries its logits) is not reproduced; the plain
    // tensor path is.
    let c = &load("losses.json")["keras_sigmoid_bce"];
    let out = losses::binary_crossentropy(
        tensor(&c["y_true"]),
        tensor(&c["sigmoid_values"]),
        false,
        0.0,
    )
    .unwrap();
    check_tensor("plain sigmoid bce", &out, &c["on_plain_tensor"]);
}

fn loss_object(name: &str, reduction: Reduction) -> Box<dyn Loss> {
    match name {
        "MeanSquaredError" => Box::new(losses::MeanSquaredError::new().with_reduction(reduction)),
        "MeanAbsoluteError" => Box::new(losses::MeanAbsoluteError::new().with_reduction(reduction)),
        "Huber" => Box::new(losses::Huber::new().with_reduction(reduction)),
        "Huber_delta0.5" => Box::new(losses::Huber {
            delta: 0.5,
            reduction,
        }),
        "LogCosh" => Box::new(losses::LogCosh::new().with_reduction(reduction)),
        "BinaryCrossentropy" => {
            Box::new(losses::BinaryCrossentropy::new().with_reduction(reduction))
        }
        "BinaryCrossentropy_from_logits" => Box::new(losses::BinaryCrossentropy {
            from_logits: true,
            label_smoothing: 0.0,
            reduction,
        }),
        "BinaryCrossentropy_label_smoothing0.1" => Box::new(losses::BinaryCrossentropy {
            from_logits: false,
            label_smoothing: 0.1,
            reduction,
        }),
        other => panic!("no loss object for {other}"),
    }
}

/// A Keras loss object given numpy arrays skips the squeeze: the function broadcasts.
fn call_numpy(
    obj: &dyn Loss,
    t: &Tensor,
    p: &Tensor,
    w: Option<&Tensor>,
) -> tapegrad_nn::Result<Tensor> {
    let per_sample = obj.per_sample(t, p)?;
    compute_weighted_loss(&per_sample, w, obj.reduction())
}

#[test]
fn loss_objects_with_every_reduction_and_input_kind() {
    let data = load("losses.json");
    let cases = data["objects"].as_array().unwrap();
    for c in cases {
        let reduction: Reduction = c["reduction"].as_str().unwrap().parse().unwrap();
        let obj = loss_object(c["object"].as_str().unwrap(), reduction);
        let (t, p) = (tensor(&c["y_true"]), tensor(&c["y_pred"]));
        let kind = c["input_kind"].as_str().unwrap();
        let what = format!("{}/{}/{}/{kind}", c["object"], c["case"], c["reduction"]);
        let out = if kind == "tensor" {
            obj.call(&t, &p)
        } else {
            call_numpy(obj.as_ref(), &t, &p, None)
        };
        match c.get("error") {
            Some(e) => assert!(
                out.is_err(),
                "{what}: Keras raised {e}, we returned {out:?}"
            ),
            None => check_tensor(
                &what,
                &out.unwrap_or_else(|e| panic!("{what}: {e}")),
                &c["value"],
            ),
        }
    }
    assert_eq!(cases.len(), 312);
}

#[test]
fn loss_objects_with_sample_weights() {
    let data = load("losses.json");
    let cases = data["objects_with_sample_weight"].as_array().unwrap();
    for c in cases {
        let reduction: Reduction = c["reduction"].as_str().unwrap().parse().unwrap();
        let obj = loss_object(c["object"].as_str().unwrap(), reduction);
        let (t, p, w) = (
            tensor(&c["y_true"]),
            tensor(&c["y_pred"]),
            tensor(&c["sample_weight"]),
        );
        let kind = c
            .get("input_kind")
            .and_then(Value::as_str)
            .unwrap_or("tensor");
        let what = format!(
            "{}/{}/{}/{kind}",
            c["object"], c["sample_weight_name"], c["reduction"]
        );
        let out = if kind == "tensor" {
            obj.call_weighted(&t, &p, &w)
        } else {
            call_numpy(obj.as_ref(), &t, &p, Some(&w))
        };
        match c.get("error") {
            Some(e) => assert!(out.is_err(), "{what}: Keras raised {e}"),
            None => check_tensor(
                &what,
                &out.unwrap_or_else(|e| panic!("{what}: {e}")),
                &c["value"],
            ),
        }
    }
    assert_eq!(cases.len(), 30);
}

#[test]
fn metrics_over_three_batches_and_after_reset() {
    let data = load("metrics.json");
    let cases = data["metrics"].as_array().unwrap();
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let updates = c["updates"].as_array().unwrap();
        if name.starts_with("Mean")
            && !name.starts_with("MeanSquared")
            && !name.starts_with("MeanAbsolute")
        {
            let mut m = metrics::Mean::new();
            for (i, u) in updates.iter().enumerate() {
                let values = tensor(&u["batch"]["values"]);
                match u["batch"].get("sample_weight") {
                    Some(w) => m.update_state_weighted(&values, &tensor(w)).unwrap(),
                    None => m.update_state(&values).unwrap(),
                }
                check_tensor(
                    &format!("{name} update {i}"),
                    &m.result().unwrap(),
                    &u["result"],
                );
                for (k, (state_name, value)) in m.state().iter().enumerate() {
                    let want = &u["state"][k];
                    assert_eq!(want["name"].as_str().unwrap(), format!("{state_name}:0"));
                    assert_close(
                        &format!("{name} {state_name}"),
                        &value.to_f64_vec(),
                        value.shape(),
                        &want["value"],
                    );
                }
            }
            m.reset_state();
            check_tensor(
                &format!("{name} after reset"),
                &m.result().unwrap(),
                &c["after_reset"]["result"],
            );
            continue;
        }
        let mut m: Box<dyn Metric> = match name {
            "MeanSquaredError"
            | "MeanSquaredError_sample_weight"
            | "MeanSquaredError_rank_mismatch" => Box::new(metrics::MeanSquaredError::new()),
            "MeanAbsoluteError" => Box::new(metrics::MeanAbsoluteError::new()),
            "RootMeanSquaredError" => Box::new(metrics::RootMeanSquaredError::new()),
            "R2Score" => Box::new(metrics::R2Score::new()),
            "R2Score_variance_weighted" => Box::new(metrics::R2Score::with(
                ClassAggregation::VarianceWeightedAverage,
                0,
            )),
            "R2Score_no_aggregation" => Box::new(metrics::R2Score::with(ClassAggregation::None, 0)),
            "R2Score_num_regressors1" => {
                Box::new(metrics::R2Score::with(ClassAggregation::UniformAverage, 1))
            }
            other => panic!("no metric for {other}"),
        };
        for (i, u) in updates.iter().enumerate() {
            let (t, p) = (tensor(&u["batch"]["y_true"]), tensor(&u["batch"]["y_pred"]));
            match u["batch"].get("sample_weight") {
                Some(w) => m.update_state_weighted(&t, &p, &tensor(w)).unwrap(),
                None => m.update_state(&t, &p).unwrap(),
            }
            check_tensor(
                &format!("{name} update {i}"),
                &m.result().unwrap(),
                &u["result"],
            );
            let state = m.state();
            for want in u["state"].as_array().unwrap() {
                let wname = want["name"].as_str().unwrap().trim_end_matches(":0");
                let (_, got) = state
                    .iter()
                    .find(|(n, _)| *n == wname)
                    .unwrap_or_else(|| panic!("{name}: no state {wname}"));
                assert_close(
                    &format!("{name} {wname}"),
                    &got.to_f64_vec(),
                    got.shape(),
                    &want["value"],
                );
            }
        }
        m.reset_state();
        check_tensor(
            &format!("{name} after reset"),
            &m.result().unwrap(),
            &c["after_reset"]["result"],
        );
    }
    assert_eq!(cases.len(), 11);
}

#[test]
fn activations_values_and_gradients() {
    let data = load("activations.json");
    let x = tensor(&data["x"]);
    let mut checked = 0;
    for c in data["elementwise"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let f: ActivationFn = match name {
            "leaky_relu_via_get" => Box::new(|x| Activation::get("leaky_relu")?.apply(x)),
            "LeakyReLU_layer_default" => Box::new(|x| activations::leaky_relu(x, 0.3)),
            // relu's alpha / max_value / threshold arguments and gelu are not implemented
            "relu_alpha0.3" | "relu_max_value6" | "gelu" | "gelu_approximate" => continue,
            n => {
                let a = Activation::get(n).unwrap();
                Box::new(move |x| a.apply(x))
            }
        };
        let tape = GradientTape::new();
        tape.watch(&x);
        let y = f(&x).unwrap();
        check_tensor(name, &y, &c["value"]);
        let s = reduce_sum(&y, None, false).unwrap();
        let g = tape.gradient(&s, &[&x]).unwrap()[0].clone().unwrap();
        check_gradient(&format!("{name} gradient"), &g, &c["grad"]);
        checked += 1;
    }
    assert_eq!(checked, 13);
    for c in data["softmax"].as_array().unwrap() {
        let axis = c["axis"].as_i64().unwrap() as isize;
        let out = activations::softmax(&tensor(&c["x"]), axis);
        match c.get("error") {
            Some(_) => assert!(out.is_err()),
            None => check_tensor(c["case"].as_str().unwrap(), &out.unwrap(), &c["value"]),
        }
    }
}

#[test]
fn initializers_fans_spreads_and_draw_statistics() {
    let data = load("initializers.json");
    for c in data["initializers"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let (vs, seeded): (VarianceScaling, SeededInit) = match name {
            "GlorotUniform" => (
                initializers::GlorotUniform::new().0,
                Box::new(|s| Box::new(initializers::GlorotUniform::seeded(s))),
            ),
            "GlorotNormal" => (
                initializers::GlorotNormal::new().0,
                Box::new(|s| Box::new(initializers::GlorotNormal::seeded(s))),
            ),
            "HeUniform" => (
                initializers::HeUniform::new().0,
                Box::new(|s| Box::new(initializers::HeUniform::seeded(s))),
            ),
            "HeNormal" => (
                initializers::HeNormal::new().0,
                Box::new(|s| Box::new(initializers::HeNormal::seeded(s))),
            ),
            "LecunNormal" => (
                initializers::LecunNormal::new().0,
                Box::new(|s| Box::new(initializers::LecunNormal::seeded(s))),
            ),
            "LecunUniform" => (
                initializers::LecunUniform::new().0,
                Box::new(|s| Box::new(initializers::LecunUniform::seeded(s))),
            ),
            other => panic!("no initializer {other}"),
        };
        assert_eq!(vs.scale, num(&c["scale"]), "{name} scale");
        for s in c["shapes"].as_array().unwrap() {
            let shape: Vec<usize> = s["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            let (fan_in, fan_out) = compute_fans(&shape);
            assert_eq!(
                (fan_in, fan_out),
                (num(&s["fan_in"]), num(&s["fan_out"])),
                "{name} {shape:?}"
            );
            assert!(close(vs.scale_over_fan(&shape), num(&s["scale_over_fan"])));
            let spread = s.get("stddev").or(s.get("limit")).map(num).unwrap();
            assert!(
                (vs.spread(&shape) - spread).abs() <= 1e-15 * spread,
                "{name} {shape:?}"
            );
        }
        // The same draws as TensorFlow's (tests/seeded_initializers.rs checks them bit for bit):
        // the extremes are equal, the moments equal up to the order of summation.
        for d in c["draw_stats_200x300"].as_array().unwrap() {
            let seed = d["seed"].as_u64().unwrap();
            let v = seeded(seed)
                .init(&[200, 300], tapegrad_autodiff::DType::F32)
                .unwrap()
                .to_f64_vec();
            let n = v.len() as f64;
            let mean = v.iter().sum::<f64>() / n;
            let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
            let max = v.iter().cloned().fold(f64::MIN, f64::max);
            let (k_std, k_max) = (num(&d["std"]), num(&d["max"]));
            assert!(
                (std / k_std - 1.0).abs() < 0.01,
                "{name} seed {seed}: std {std} vs Keras {k_std}"
            );
            assert!(mean.abs() < 0.01 * k_std, "{name}: mean {mean}");
            let bound = vs.spread(&[200, 300])
                * if c["distribution"] == "uniform" {
                    1.0
                } else {
                    2.0
                };
            assert!(
                max <= bound + 1e-6 && k_max <= bound + 1e-6,
                "{name}: max {max}, Keras {k_max}, bound {bound}"
            );
            assert_eq!(max, k_max, "{name} seed {seed}: max");
            let min = v.iter().cloned().fold(f64::MAX, f64::min);
            assert_eq!(min, num(&d["min"]), "{name} seed {seed}: min");
            assert!(
                (mean - num(&d["mean"])).abs() <= 1e-9 * k_std,
                "{name}: mean {mean}"
            );
        }
    }
}

/// `categorical.json`'s loss functions: categorical and sparse categorical cross-entropy from
/// probabilities and from logits, values and the gradient of their sum, to 1e-6 relative (the
/// gradient to two ulps of 1.0 as well, see [`check_gradient`]). Prints how many values are
/// TensorFlow's bits exactly (its logits path is a fused kernel; ours is `log_softmax`).
#[test]
fn categorical_loss_functions_values_and_gradients() {
    let data = load("categorical.json");
    let cases = data["functions"].as_array().unwrap();
    let (mut checked, mut values, mut same_bits) = (0, 0, 0);
    for c in cases {
        let name = c["fn"].as_str().unwrap();
        let from_logits = c["from_logits"].as_bool().unwrap();
        let what = format!(
            "{name}/{}/from_logits={from_logits}",
            c["case"].as_str().unwrap()
        );
        let (t, p) = (tensor(&c["y_true"]), tensor(&c["y_pred"]));
        let tape = GradientTape::new();
        tape.watch(&p);
        let out = match name {
            "categorical_crossentropy" => losses::categorical_crossentropy(&t, &p, from_logits),
            "sparse_categorical_crossentropy" => {
                losses::sparse_categorical_crossentropy(&t, &p, from_logits)
            }
            other => panic!("no loss function for {other}"),
        };
        let out = out.unwrap_or_else(|e| panic!("{what}: {e}"));
        check_loss_case(&what, &tape, &p, &out, c);
        let (want, _) = flat(&c["value"]);
        for (g, w) in out.value().to_f64_vec().iter().zip(&want) {
            values += 1;
            same_bits += usize::from((*g as f32).to_bits() == (*w as f32).to_bits());
        }
        checked += 1;
    }
    eprintln!("categorical losses: {same_bits} of {values} values are TensorFlow's bits");
    assert_eq!(checked, cases.len());
    assert!(checked >= 14);
}

/// `categorical.json`'s loss objects under `sum_over_batch_size`, `sum` and `none`.
#[test]
fn categorical_loss_objects_reduce_as_keras() {
    let data = load("categorical.json");
    let cases = data["objects"].as_array().unwrap();
    for c in cases {
        let from_logits = c["from_logits"].as_bool().unwrap();
        let reduction: Reduction = c["reduction"].as_str().unwrap().parse().unwrap();
        let what = format!(
            "{}/{}/from_logits={from_logits}/{}",
            c["object"].as_str().unwrap(),
            c["case"].as_str().unwrap(),
            c["reduction"].as_str().unwrap()
        );
        let (t, p) = (tensor(&c["y_true"]), tensor(&c["y_pred"]));
        let out = match c["object"].as_str().unwrap() {
            "CategoricalCrossentropy" => losses::CategoricalCrossentropy {
                from_logits,
                ..Default::default()
            }
            .with_reduction(reduction)
            .call(&t, &p),
            "SparseCategoricalCrossentropy" => losses::SparseCategoricalCrossentropy {
                from_logits,
                ..Default::default()
            }
            .with_reduction(reduction)
            .call(&t, &p),
            other => panic!("no loss object {other}"),
        };
        check_tensor(
            &what,
            &out.unwrap_or_else(|e| panic!("{what}: {e}")),
            &c["value"],
        );
    }
    assert!(cases.len() >= 24);
}

/// `categorical.json`'s accuracies over three batches, with argmax ties and sample weights.
#[test]
fn categorical_accuracies_over_three_batches() {
    let data = load("categorical.json");
    for rec in data["metrics"].as_array().unwrap() {
        let name = rec["name"].as_str().unwrap();
        let mut m: Box<dyn Metric> = match rec["class"].as_str().unwrap() {
            "CategoricalAccuracy" => Box::new(metrics::CategoricalAccuracy::new()),
            "SparseCategoricalAccuracy" => Box::new(metrics::SparseCategoricalAccuracy::new()),
            other => panic!("no metric {other}"),
        };
        for (i, u) in rec["updates"].as_array().unwrap().iter().enumerate() {
            let b = &u["batch"];
            let (t, p) = (tensor(&b["y_true"]), tensor(&b["y_pred"]));
            match b.get("sample_weight") {
                Some(w) => m.update_state_weighted(&t, &p, &tensor(w)).unwrap(),
                None => m.update_state(&t, &p).unwrap(),
            }
            check_tensor(
                &format!("{name} after batch {i}"),
                &m.result().unwrap(),
                &u["result"],
            );
        }
    }
}
