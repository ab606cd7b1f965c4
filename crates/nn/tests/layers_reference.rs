//! Replays `data/keras/layers.json` (written by `data/keras/gen_layers_reference.py` from
//! tf-keras 2.21): LayerNormalization, BatchNormalization and Normalization outputs, gradients
//! of `sum(y · r)` with respect to the input and to each trainable weight, BatchNormalization's
//! moving statistics after training calls, Normalization's adapted mean and variance, and
//! Dropout's distribution (its masks are drawn by TensorFlow's stateful generator).
//! Float32; every value within `TOLERANCE · (1 + |keras|)` of tf-keras's (the largest deviation
//! of each layer is printed with `--nocapture`).

use serde_json::Value;
use tapegrad_autodiff::{self as ad, GradientTape, Tensor};
use tapegrad_nn::{BatchNormalization, Dropout, Layer, LayerNormalization, Normalization};

/// Float32 arithmetic in another order than TensorFlow's (its reductions are pairwise, its
/// `rsqrt` one kernel) moves the last bits; a few ulps of values of order 1.
const TOLERANCE: f64 = 1e-5;

fn load() -> Value {
    let path = format!(
        "{}/../../data/keras/layers.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Nested lists → (row-major values, shape).
fn flat(v: &Value) -> (Vec<f64>, Vec<usize>) {
    match v {
        Value::Array(items) => {
            let mut data = Vec::new();
            let mut inner = vec![];
            for it in items {
                let (d, s) = flat(it);
                data.extend(d);
                inner = s;
            }
            let mut shape = vec![items.len()];
            shape.extend(inner);
            (data, shape)
        }
        other => (vec![other.as_f64().expect("a number")], vec![]),
    }
}

fn tensor(v: &Value) -> Tensor {
    let (data, shape) = flat(v);
    Tensor::from_vec(data.into_iter().map(|x| x as f32).collect(), &shape).unwrap()
}

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
}

fn axes(config: &Value) -> Vec<isize> {
    match &config["axis"] {
        Value::Array(a) => a.iter().map(|v| v.as_i64().unwrap() as isize).collect(),
        v => vec![v.as_i64().unwrap() as isize],
    }
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
    for (i, (got, want)) in layer
        .get_weights()
        .iter()
        .zip(case["weights_after"].as_array().unwrap())
        .enumerate()
    {
        dev.check(&format!("{what} weights after[{i}]"), got, want);
    }
}

#[test]
fn layer_normalization_matches_tf_keras() {
    let data = load();
    let mut dev = Deviation::default();
    for (i, case) in data["layer_normalization"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let c = &case["config"];
        let mut layer = LayerNormalization::new()
            .axis(&axes(c))
            .center(c.get("center").and_then(Value::as_bool).unwrap_or(true))
            .scale(c.get("scale").and_then(Value::as_bool).unwrap_or(true))
            .epsilon(c.get("epsilon").and_then(Value::as_f64).unwrap_or(1e-3));
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
    let data = load();
    let mut dev = Deviation::default();
    for (i, case) in data["batch_normalization"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let c = &case["config"];
        let mut layer = BatchNormalization::new()
            .axis(c["axis"].as_i64().unwrap() as isize)
            .momentum(c.get("momentum").and_then(Value::as_f64).unwrap_or(0.99))
            .center(c.get("center").and_then(Value::as_bool).unwrap_or(true))
            .scale(c.get("scale").and_then(Value::as_bool).unwrap_or(true))
            .epsilon(c.get("epsilon").and_then(Value::as_f64).unwrap_or(1e-3));
        let what = format!("batch_normalization[{i}] {c} training={}", case["training"]);
        replay(&mut layer, case, &what, &mut dev);
        let batches = case["batches"].as_array().unwrap();
        let after = case["weights_after_batches"].as_array().unwrap();
        for (j, (b, want)) in batches.iter().zip(after).enumerate() {
            layer.call_training(&tensor(b), true).unwrap();
            for (k, (got, want)) in layer
                .get_weights()
                .iter()
                .zip(want.as_array().unwrap())
                .enumerate()
            {
                dev.check(&format!("{what} after batch {j}, weight {k}"), got, want);
            }
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
    let data = load();
    let mut dev = Deviation::default();
    for (i, case) in data["normalization"].as_array().unwrap().iter().enumerate() {
        let c = &case["config"];
        let axis = match &c["axis"] {
            Value::Null => vec![],
            _ => axes(c),
        };
        let mut layer = Normalization::new()
            .axis(&axis)
            .invert(c.get("invert").and_then(Value::as_bool).unwrap_or(false));
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
    let data = load();
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
