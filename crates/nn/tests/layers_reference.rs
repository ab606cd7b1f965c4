//! Replays `data/keras/layers.json` (written by `data/keras/gen_layers_reference.py` from
//! tf-keras 2.21): LayerNormalization, BatchNormalization and Normalization outputs, gradients
//! of `sum(y · r)` with respect to the input and to each trainable weight, BatchNormalization's
//! moving statistics after training calls, Normalization's adapted mean and variance, and
//! Dropout's distribution (its masks are drawn by TensorFlow's stateful generator).
//! Float32; every value within `TOLERANCE · (1 + |keras|)` of tf-keras's (the largest deviation
//! of each layer is printed with `--nocapture`).

mod common;

use common::{flat, tensor};
use serde_json::Value;
use tapegrad_autodiff::{self as ad, GradientTape, Tensor};
use tapegrad_nn::{BatchNormalization, Dropout, Layer, LayerNormalization, Normalization};

/// Float32 arithmetic in another order than TensorFlow's (its reductions are pairwise, its
/// `rsqrt` one kernel) moves the last bits; a few ulps of values of order 1.
const TOLERANCE: f64 = 1e-5;

/// The largest deviation from Keras's values, asserting each within tolerance.
#[derive(Default)]
struct Deviation(f64);

impl Deviation {
    fn check(&mut self, what: &str, got: &Tensor, want: &Value) {
        let (w, ws) = flat(want);
        assert_eq!(got.shape(), &ws[..], "{what}: shape");
        for (i, (g, w)) in got.value().to_f64_vec().iter().zip(&w).enumerate() {
            let d = (g - w).abs();
            assert!(
                d <= TOLERANCE * (1.0 + w.abs()),
                "{what}[{i}]: got {g}, Keras {w}"
            );
            self.0 = self.0.max(d);
        }
    }

    /// Each of the layer's weights against Keras's list (Keras's may have one more: see
    /// [`replay`]).
    fn check_weights(&mut self, what: &str, layer: &dyn Layer, want: &Value) {
        let want = want.as_array().unwrap();
        for (i, (got, want)) in layer.get_weights().iter().zip(want).enumerate() {
            self.check(&format!("{what}, weight {i}"), got, want);
        }
    }
}

fn axes(config: &Value) -> Vec<isize> {
    match &config["axis"] {
        Value::Array(a) => a.iter().map(|v| v.as_i64().unwrap() as isize).collect(),
        v => vec![v.as_i64().unwrap() as isize],
    }
}

/// A boolean of the config, Keras's default when absent.
fn flag(config: &Value, key: &str, default: bool) -> bool {
    config.get(key).and_then(Value::as_bool).unwrap_or(default)
}

/// A number of the config, Keras's default when absent.
fn number(config: &Value, key: &str, default: f64) -> f64 {
    config.get(key).and_then(Value::as_f64).unwrap_or(default)
}

/// Each case of `data[key]`, with its index.
fn cases<'a>(data: &'a Value, key: &str) -> impl Iterator<Item = (usize, &'a Value)> {
    data[key].as_array().unwrap().iter().enumerate()
}

/// Sets the case's weights, calls the layer once with the case's flag and checks the output
/// and the gradients with respect to the input and to each trainable weight.
fn replay(layer: &mut dyn Layer, case: &Value, what: &str, dev: &mut Deviation) {
    let x = tensor(&case["x"]);
    layer.build(x.shape()).unwrap();
    let weights: Vec<Tensor> = case["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(tensor)
        .collect();
    // (tf-keras's adapted Normalization has a third weight, the int64 count, which ours keeps
    // as a field: Keras 3's two weights)
    layer
        .set_weights(&weights[..layer.variables().len()])
        .unwrap();
    let training = case["training"].as_bool().unwrap();
    let tape = GradientTape::persistent();
    tape.watch(&x);
    let y = layer.call_training(&x, training).unwrap();
    let loss = ad::reduce_sum(ad::mul(&y, tensor(&case["r"])).unwrap(), None, false).unwrap();
    dev.check(&format!("{what} y"), &y, &case["y"]);
    let gx = tape.gradient(&loss, &[&x]).unwrap();
    dev.check(
        &format!("{what} grad_x"),
        gx[0].as_ref().unwrap(),
        &case["grad_x"],
    );
    let vars = layer.trainable_variables();
    let want = case["grad_weights"].as_array().unwrap();
    assert_eq!(vars.len(), want.len(), "{what}: trainable weights");
    let g = tape.gradient(&loss, &vars).unwrap();
    for (i, (g, want)) in g.iter().zip(want).enumerate() {
        dev.check(
            &format!("{what} grad_weights[{i}]"),
            g.as_ref().unwrap(),
            want,
        );
    }
    dev.check_weights(
        &format!("{what} weights after"),
        layer,
        &case["weights_after"],
    );
}

#[test]
fn layer_normalization_matches_tf_keras() {
    let data = common::load("layers.json");
    let mut dev = Deviation::default();
    for (i, case) in cases(&data, "layer_normalization") {
        let c = &case["config"];
        let mut layer = LayerNormalization::new()
            .axis(&axes(c))
            .center(flag(c, "center", true))
            .scale(flag(c, "scale", true))
            .epsilon(number(c, "epsilon", 1e-3));
        let what = format!("layer_normalization[{i}] {c}");
        replay(&mut layer, case, &what, &mut dev);
    }
    eprintln!(
        "LayerNormalization: largest deviation from tf-keras {:e}",
        dev.0
    );
}

#[test]
fn batch_normalization_matches_tf_keras() {
    let data = common::load("layers.json");
    let mut dev = Deviation::default();
    for (i, case) in cases(&data, "batch_normalization") {
        let c = &case["config"];
        let mut layer = BatchNormalization::new()
            .axis(c["axis"].as_i64().unwrap() as isize)
            .momentum(number(c, "momentum", 0.99))
            .center(flag(c, "center", true))
            .scale(flag(c, "scale", true))
            .epsilon(number(c, "epsilon", 1e-3));
        let what = format!("batch_normalization[{i}] {c} training={}", case["training"]);
        replay(&mut layer, case, &what, &mut dev);
        let batches = case["batches"].as_array().unwrap();
        let after = case["weights_after_batches"].as_array().unwrap();
        for (j, (b, want)) in batches.iter().zip(after).enumerate() {
            layer.call_training(&tensor(b), true).unwrap();
            dev.check_weights(&format!("{what} after batch {j}"), &layer, want);
        }
        let y = layer.call(&tensor(&case["x"])).unwrap();
        dev.check(
            &format!("{what} inference after"),
            &y,
            &case["y_inference_after"],
        );
    }
    eprintln!(
        "BatchNormalization: largest deviation from tf-keras {:e}",
        dev.0
    );
}

#[test]
fn normalization_adapts_and_normalizes_as_tf_keras() {
    let data = common::load("layers.json");
    let mut dev = Deviation::default();
    for (i, case) in cases(&data, "normalization") {
        let c = &case["config"];
        let axis = match &c["axis"] {
            Value::Null => vec![],
            _ => axes(c),
        };
        let mut layer = Normalization::new()
            .axis(&axis)
            .invert(flag(c, "invert", false));
        let what = format!("normalization[{i}] {c}");
        if let Some(mean) = c.get("mean") {
            let list = |v: &Value| flat(v).0;
            layer = layer.mean_variance(&list(mean), &list(&c["variance"]));
        } else {
            let adapt = tensor(&case["adapt"]);
            layer.adapt(&adapt).unwrap();
            assert_eq!(
                layer.count() as usize,
                adapt.shape().iter().product::<usize>() / flat(&case["mean"]).0.len()
            );
            let w = layer.get_weights();
            dev.check(&format!("{what} adapted mean"), &w[0], &case["mean"]);
            dev.check(
                &format!("{what} adapted variance"),
                &w[1],
                &case["variance"],
            );
        }
        replay(&mut layer, case, &what, &mut dev);
    }
    eprintln!("Normalization: largest deviation from tf-keras {:e}", dev.0);
}

/// TensorFlow's dropout masks come from a stateful generator: what is compared is the
/// distribution (the fraction dropped, within five standard deviations of the rate as TF's is)
/// and the bits of the kept values and of the gradient.
#[test]
fn dropout_has_tf_keras_distribution_and_scale() {
    let data = common::load("layers.json");
    for case in data["dropout"].as_array().unwrap() {
        let rate = case["rate"].as_f64().unwrap();
        let layer = Dropout::new(rate).unwrap().seed(11);
        let x = Tensor::ones(tapegrad_autodiff::DType::F32, &[400, 500]).unwrap();
        assert!(layer.call(&x).unwrap().equals(&x));
        assert!(case["inference_is_identity"].as_bool().unwrap());
        let tape = GradientTape::new();
        tape.watch(&x);
        let y = layer.call_training(&x, true).unwrap();
        let g = tape.gradient(&y, &[&x]).unwrap()[0].clone().unwrap();
        let values = y.to_vec::<f32>().unwrap();
        let dropped = values.iter().filter(|&&v| v == 0.0).count() as f64 / values.len() as f64;
        let sd = (rate * (1.0 - rate) / values.len() as f64).sqrt();
        let tf_dropped = case["fraction_dropped"].as_f64().unwrap();
        assert!(
            (dropped - rate).abs() < 5.0 * sd,
            "rate {rate}: ours {dropped}"
        );
        assert!(
            (tf_dropped - rate).abs() < 5.0 * sd,
            "rate {rate}: TF {tf_dropped}"
        );
        let mut kept: Vec<f32> = values.iter().copied().filter(|&v| v != 0.0).collect();
        kept.dedup();
        let want = |k: &str| -> Vec<f32> { flat(&case[k]).0.iter().map(|&v| v as f32).collect() };
        assert_eq!(kept, want("kept_values"), "rate {rate}");
        let mut grads = g.to_vec::<f32>().unwrap();
        grads.sort_by(f32::total_cmp);
        grads.dedup();
        assert_eq!(grads, want("gradient_values"), "rate {rate}");
        eprintln!("Dropout({rate}): fraction dropped {dropped} (tf-keras {tf_dropped})");
    }
}
