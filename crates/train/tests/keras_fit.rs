//! `fit` against tf-keras 2.21: every case of `data/keras/fit.json` (written by
//! `data/keras/gen_fit_reference.py`): Sequential Dense models with seeded GlorotUniform
//! kernels, several optimizers, losses, metrics and batch sizes, with and without validation,
//! `shuffle=False`. The initial weights must equal tf-keras's bit for bit; each epoch's
//! history and the final weights within 1e-5 relative, and so must, on the trained model,
//! `evaluate`, `predict` (in batches), `train_on_batch`, `test_on_batch` and the weights after
//! that step.

use serde_json::Value;
use tapegrad_autodiff::Tensor;
use tapegrad_nn::{Dense, GlorotUniform, Layer, Sequential};
use tapegrad_optim::{Adadelta, Adagrad, Adam, AdamW, Adamax, Nadam, Optimizer, RMSprop, Sgd};
use tapegrad_train::{compile, FitOptions, Logs};

const TOLERANCE: f64 = 1e-5;

fn load() -> Value {
    let path = format!("{}/../../data/keras/fit.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn flat(v: &Value, out: &mut Vec<f32>, shape: &mut Vec<usize>, depth: usize) {
    match v {
        Value::Array(items) => {
            if shape.len() == depth {
                shape.push(items.len());
            }
            items.iter().for_each(|it| flat(it, out, shape, depth + 1));
        }
        Value::Number(n) => out.push(n.as_f64().unwrap() as f32),
        other => panic!("not a number: {other}"),
    }
}

fn tensor(v: &Value) -> Tensor {
    let (mut data, mut shape) = (Vec::new(), Vec::new());
    flat(v, &mut data, &mut shape, 0);
    Tensor::from_vec(data, &shape).unwrap()
}

fn optimizer(cfg: &Value) -> Box<dyn Optimizer> {
    let lr = cfg["learning_rate"].as_f64().unwrap();
    match cfg["name"].as_str().unwrap() {
        "sgd" => Box::new(
            Sgd::new(lr)
                .momentum(cfg["momentum"].as_f64().unwrap_or(0.0))
                .nesterov(cfg["nesterov"].as_bool().unwrap_or(false)),
        ),
        "adam" => Box::new(Adam::new(lr)),
        "adamw" => Box::new(AdamW::new(lr)),
        "rmsprop" => Box::new(RMSprop::new(lr)),
        "adagrad" => Box::new(Adagrad::new(lr)),
        "adadelta" => Box::new(Adadelta::new(lr)),
        "nadam" => Box::new(Nadam::new(lr)),
        "adamax" => Box::new(Adamax::new(lr)),
        other => panic!("optimizer {other}"),
    }
}

/// |a − b| / max(|a|, |b|), 0 when both are 0.
fn rel(a: f64, b: f64) -> f64 {
    let m = a.abs().max(b.abs());
    if m == 0.0 {
        0.0
    } else {
        (a - b).abs() / m
    }
}

/// Asserts that `ours` are the keys of `theirs`, in any order.
fn same_keys<'a>(
    ours: impl Iterator<Item = &'a str>,
    theirs: &serde_json::Map<String, Value>,
    what: &str,
) {
    let mut ours: Vec<&str> = ours.collect();
    let mut theirs: Vec<&str> = theirs.keys().map(String::as_str).collect();
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs, "{what}");
}

/// The largest relative deviation seen, and where.
#[derive(Default)]
struct Worst(f64, String);

impl Worst {
    /// Asserts `ours` within [`TOLERANCE`] of `theirs`, keeping the largest deviation.
    fn check(&mut self, ours: f64, theirs: f64, what: impl Fn() -> String) {
        let d = rel(ours, theirs);
        if d > self.0 {
            *self = Worst(d, what());
        }
        assert!(
            d <= TOLERANCE,
            "{}: {ours}, tf-keras {theirs} (relative {d:e})",
            what()
        );
    }

    /// Each value of each tensor, against the nested lists `theirs`.
    fn tensors(&mut self, ours: &[Tensor], theirs: &Value, what: &str) {
        let theirs = theirs.as_array().unwrap();
        assert_eq!(ours.len(), theirs.len(), "{what}");
        for (w, (ours, theirs)) in ours.iter().zip(theirs).enumerate() {
            let theirs = tensor(theirs);
            assert_eq!(ours.shape(), theirs.shape(), "{what} {w}");
            for (i, (a, b)) in ours
                .to_f64_vec()
                .iter()
                .zip(theirs.to_f64_vec())
                .enumerate()
            {
                self.check(*a, b, || format!("{what} {w}[{i}]"));
            }
        }
    }

    /// Logs against a dict of tf-keras's, key for key.
    fn logs(&mut self, ours: &Logs, theirs: &Value, what: &str) {
        let theirs = theirs.as_object().unwrap();
        same_keys(ours.keys(), theirs, what);
        for (k, v) in theirs {
            self.check(ours.get(k).unwrap(), v.as_f64().unwrap(), || {
                format!("{what} {k}")
            });
        }
    }
}

#[test]
fn fit_matches_tf_keras_history_and_weights() {
    let doc = load();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 8);
    let mut worst = Worst::default();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let seed = case["seed"].as_u64().unwrap();
        let features = case["features"].as_u64().unwrap() as usize;
        let mut model = Sequential::with_input_shape(&[features]);
        for (i, layer) in case["layers"].as_array().unwrap().iter().enumerate() {
            let dense = Dense::new(layer[0].as_u64().unwrap() as usize)
                .activation(layer[1].as_str().unwrap())
                .unwrap()
                .kernel_initializer(GlorotUniform::seeded(seed + i as u64));
            model = model.layer(dense).unwrap();
        }
        for (ours, theirs) in model
            .get_weights()
            .iter()
            .zip(case["initial_weights"].as_array().unwrap())
        {
            assert!(
                ours.equals(&tensor(theirs)),
                "{name}: initial weights differ"
            );
        }
        let metrics: Vec<&str> = (case["metrics"].as_array().unwrap().iter())
            .map(|m| m.as_str().unwrap())
            .collect();
        let loss = case["loss"].as_str().unwrap();
        let mut trainer = match case["optimizer"].as_str() {
            // Keras's name, with its defaults
            Some(name) => compile(model, name, loss, metrics),
            None => compile(model, optimizer(&case["optimizer"]), loss, metrics),
        }
        .unwrap();
        let mut opts = FitOptions::new()
            .epochs(case["epochs"].as_u64().unwrap() as usize)
            .batch_size(case["batch_size"].as_u64().unwrap() as usize)
            .shuffle(false)
            .verbose(0);
        if let Some(s) = case["validation_split"].as_f64() {
            opts = opts.validation_split(s);
        }
        if let Some(e) = case["initial_epoch"].as_u64() {
            opts = opts.initial_epoch(e as usize);
        }
        if !case["validation_x"].is_null() {
            opts =
                opts.validation_data(tensor(&case["validation_x"]), tensor(&case["validation_y"]));
        }
        let history = trainer
            .fit(&tensor(&case["x"]), &tensor(&case["y"]), opts)
            .unwrap();
        let epochs: Vec<usize> = (case["epochs_run"].as_array().unwrap().iter())
            .map(|e| e.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(history.epoch, epochs, "{name}");
        let theirs = case["history"].as_object().unwrap();
        same_keys(history.keys(), theirs, &format!("{name}: history keys"));
        for (key, values) in theirs {
            let ours = history.get(key).unwrap();
            for (epoch, (a, b)) in ours.iter().zip(values.as_array().unwrap()).enumerate() {
                worst.check(*a, b.as_f64().unwrap(), || format!("{name} {key}[{epoch}]"));
            }
        }
        let what = format!("{name} final weight");
        worst.tensors(
            &trainer.model().get_weights(),
            &case["final_weights"],
            &what,
        );
        // the trained model's evaluate, predict, train_on_batch and test_on_batch
        let (x, y) = (tensor(&case["x"]), tensor(&case["y"]));
        let rows = |t: &Tensor, a: usize, b: usize| {
            let idx: Vec<usize> = (a..b).collect();
            Tensor::new(t.value().gather(&idx).unwrap())
        };
        let batch = case["batch_size"].as_u64().unwrap() as usize;
        let logs = trainer.evaluate(&x, &y, batch).unwrap();
        worst.logs(&logs, &case["evaluate"], &format!("{name} evaluate"));
        let predicted = trainer.predict(&rows(&x, 0, 7), 3).unwrap();
        let what = format!("{name} predict");
        worst.tensors(
            &[predicted],
            &Value::Array(vec![case["predict"].clone()]),
            &what,
        );
        for (key, a, b) in [("train_on_batch", 0, 5), ("test_on_batch", 5, 11)] {
            let (xb, yb) = (rows(&x, a, b), rows(&y, a, b));
            let logs = match key {
                "train_on_batch" => trainer.train_on_batch(&xb, &yb),
                _ => trainer.test_on_batch(&xb, &yb),
            };
            worst.logs(&logs.unwrap(), &case[key], &format!("{name} {key}"));
        }
        let what = format!("{name} weight after train_on_batch");
        worst.tensors(
            &trainer.model().get_weights(),
            &case["weights_after_train_on_batch"],
            &what,
        );
    }
    println!(
        "largest relative deviation from tf-keras: {:e} ({})",
        worst.0, worst.1
    );
}
