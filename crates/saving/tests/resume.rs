//! Optimizer state in `.weights.h5`: Keras's file loaded, and a training stopped and resumed
//! equal to one that ran through, bit for bit.
mod common;

use common::*;
use tapegrad_autodiff::{reduce_mean, square, GradientTape, Tensor};
use tapegrad_nn::Layer;
use tapegrad_optim::{
    Adadelta, Adagrad, Adam, AdamW, Adamax, ExponentialDecay, Nadam, Optimizer, OptimizerExt,
    RMSprop, Sgd,
};
use tapegrad_saving::{load_weights_with_optimizer, save_weights, save_weights_with_optimizer};

/// The script's data: x = arange(24).reshape(8, 3) / 10, y = (sum of x, x0 - x2).
fn data() -> (Tensor, Tensor) {
    let x: Vec<f32> = (0..24).map(|i| i as f32 / 10.0).collect();
    let y: Vec<f32> = x
        .chunks(3)
        .flat_map(|r| [r[0] + r[1] + r[2], r[0] - r[2]])
        .collect();
    (
        Tensor::from_vec(x, &[8, 3]).unwrap(),
        Tensor::from_vec(y, &[8, 2]).unwrap(),
    )
}

fn step(model: &dyn Layer, opt: &mut dyn Optimizer, x: &Tensor, y: &Tensor) {
    let vars = model.trainable_variables();
    let refs: Vec<_> = vars.iter().collect();
    let tape = GradientTape::new();
    let pred = model.call(x).unwrap();
    let loss = reduce_mean(square((&pred - y).unwrap()).unwrap(), None, false).unwrap();
    let grads = tape.gradient(&loss, &refs).unwrap();
    opt.apply_gradients(grads.into_iter().zip(refs)).unwrap();
}

#[test]
fn loads_kerass_optimizer_variables_in_kerass_order() {
    let m = model();
    let mut opt = Adam::new(0.01);
    load_weights_with_optimizer(&m, &mut opt, keras_file("trained.weights.h5")).unwrap();
    assert!(same_bits(&m.get_weights(), &expected_weights()));
    let expected: Vec<Tensor> = expected("keras")["optimizer"]
        .as_array()
        .unwrap()
        .iter()
        .map(tensor)
        .collect();
    let state = opt.state();
    assert_eq!(state.iterations, 3);
    assert_eq!(state.learning_rate.map(f32::to_bits), Some(0x3c23d70a));
    // Keras: iteration, learning_rate, then m and v of each variable in turn
    let vars = m.trainable_variables();
    let mut ours = Vec::new();
    for v in &vars {
        ours.push(opt.slot(v, "m").unwrap());
        ours.push(opt.slot(v, "v").unwrap());
    }
    assert!(same_bits(&ours, &expected[2..]));
}

/// A fresh optimizer of one configuration, for each of the runs compared.
type MakeOptimizer = Box<dyn Fn() -> Box<dyn Optimizer>>;

fn resumes_bit_for_bit(make: &dyn Fn() -> Box<dyn Optimizer>, label: &str) {
    let dir = tmp();
    for name in ["ckpt.weights.h5", "ckpt.safetensors", "ckpt.npz"] {
        resumes_through(make, &format!("{label}, {name}"), &dir.path().join(name));
    }
}

fn resumes_through(make: &dyn Fn() -> Box<dyn Optimizer>, label: &str, path: &std::path::Path) {
    let (x, y) = data();
    let through = model();
    let stopped = model();
    let start = through.get_weights();
    stopped.set_weights(&start).unwrap();

    let mut opt = make();
    for _ in 0..6 {
        step(&through, &mut opt, &x, &y);
    }
    let mut first = make();
    for _ in 0..3 {
        step(&stopped, &mut first, &x, &y);
    }
    save_weights_with_optimizer(&stopped, &first, path).unwrap();

    let resumed = model();
    let mut second = make();
    load_weights_with_optimizer(&resumed, &mut second, path).unwrap();
    for _ in 0..3 {
        step(&resumed, &mut second, &x, &y);
    }
    assert!(
        same_bits(&through.get_weights(), &resumed.get_weights()),
        "{label}"
    );
    assert_eq!(second.iterations(), 6, "{label}");
    let (a, b) = (opt.state(), second.state());
    let slots = |s: &tapegrad_optim::OptimizerState| {
        s.slots.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>()
    };
    assert!(same_bits(&slots(&a), &slots(&b)), "{label}");
    // and the weights moved: the test compares trained values, not the start
    assert!(!same_bits(&start, &resumed.get_weights()), "{label}");
}

#[test]
fn a_resumed_training_equals_one_that_ran_through() {
    let cases: Vec<(&str, MakeOptimizer)> = vec![
        ("adam", Box::new(|| Box::new(Adam::new(0.01)))),
        (
            "adam amsgrad",
            Box::new(|| Box::new(Adam::new(0.01).amsgrad(true))),
        ),
        ("adamw", Box::new(|| Box::new(AdamW::new(0.01)))),
        ("sgd", Box::new(|| Box::new(Sgd::new(0.05)))),
        (
            "sgd momentum",
            Box::new(|| Box::new(Sgd::new(0.05).momentum(0.9))),
        ),
        (
            "rmsprop centered momentum",
            Box::new(|| Box::new(RMSprop::new(0.01).momentum(0.5).centered(true))),
        ),
        ("adagrad", Box::new(|| Box::new(Adagrad::new(0.1)))),
        ("adadelta", Box::new(|| Box::new(Adadelta::new(1.0)))),
        ("adamax", Box::new(|| Box::new(Adamax::new(0.01)))),
        ("nadam", Box::new(|| Box::new(Nadam::new(0.01)))),
        (
            "adam, exponential decay",
            Box::new(|| Box::new(Adam::new(ExponentialDecay::new(0.01, 2, 0.5).unwrap()))),
        ),
    ];
    for (label, make) in &cases {
        resumes_bit_for_bit(make.as_ref(), label);
    }
}

#[test]
fn rmsprops_slots_go_in_kerass_groups() {
    // Keras: every velocity, then every momentum, then every average_gradient
    let m = model();
    let mut opt = RMSprop::new(0.01).momentum(0.5).centered(true);
    let (x, y) = data();
    step(&m, &mut opt, &x, &y);
    let dir = tmp();
    let path = dir.path().join("r.weights.h5");
    save_weights_with_optimizer(&m, &opt, &path).unwrap();
    let file = hdf5_pure::File::open(&path).unwrap();
    let vars = m.trainable_variables();
    let shape = |i: usize| {
        file.dataset(&format!("optimizer/vars/{i}"))
            .unwrap()
            .shape()
            .unwrap()
    };
    assert_eq!(shape(0), Vec::<u64>::new()); // iteration
    for (g, _) in ["velocity", "momentum", "average_gradient"]
        .iter()
        .enumerate()
    {
        for (j, v) in vars.iter().enumerate() {
            let want: Vec<u64> = v.shape().iter().map(|&n| n as u64).collect();
            assert_eq!(shape(2 + g * vars.len() + j), want);
        }
    }
    let got = file
        .dataset("optimizer/vars/6")
        .unwrap()
        .read_f32()
        .unwrap();
    assert_eq!(
        got,
        opt.slot(&vars[0], "momentum")
            .unwrap()
            .to_vec::<f32>()
            .unwrap()
    );
}

#[test]
fn a_state_that_does_not_fit_is_refused_and_nothing_changes() {
    let dir = tmp();
    let m = model();
    let before = m.get_weights();
    // Keras's Adam state into SGD with momentum: 10 variables, SGD has 2 + 4
    let mut sgd = Sgd::new(0.1).momentum(0.9);
    let path = keras_file("trained.weights.h5");
    let err = load_weights_with_optimizer(&m, &mut sgd, &path)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "{}: optimizer `SGD`: optimizer/vars holds 10 variables, the optimizer has 6",
            path.display()
        )),
        "{err}"
    );
    assert!(same_bits(&before, &m.get_weights()));
    assert_eq!(sgd.iterations(), 0);

    // a file without optimizer state: the weights load, the optimizer is skipped (as Keras)
    let path = keras_file("plain.weights.h5");
    let loaded = load_weights_with_optimizer(&m, &mut Adam::new(0.01), &path).unwrap();
    assert_eq!(
        loaded,
        tapegrad_saving::OptimizerLoad::Skipped(format!(
            "{}: the file holds no optimizer state: the weights are loaded, optimizer `Adam` is left as it was",
            path.display()
        ))
    );
    m.set_weights(&before).unwrap();

    // a state saved under a schedule (no learning_rate variable) into a constant rate
    let scheduled = dir.path().join("s.weights.h5");
    let mut opt = Adam::new(ExponentialDecay::new(0.01, 2, 0.5).unwrap());
    let (x, y) = data();
    step(&m, &mut opt, &x, &y);
    save_weights_with_optimizer(&m, &opt, &scheduled).unwrap();
    let fresh = model();
    let before = fresh.get_weights();
    let err = load_weights_with_optimizer(&fresh, &mut Adam::new(0.01), &scheduled)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("optimizer/vars holds 9 variables, the optimizer has 10"),
        "{err}"
    );
    assert!(same_bits(&before, &fresh.get_weights()));

    // a flat file of weights alone, and one whose optimizer part lacks a slot
    let plain = dir.path().join("w.npz");
    save_weights(&m, &plain).unwrap();
    let loaded = load_weights_with_optimizer(&m, &mut Adam::new(0.01), &plain).unwrap();
    assert!(
        matches!(loaded, tapegrad_saving::OptimizerLoad::Skipped(ref m) if m.contains("no optimizer state")),
        "{loaded:?}"
    );
    let one_slot = dir.path().join("w.safetensors");
    let mut sgd = Sgd::new(0.1).momentum(0.9);
    step(&m, &mut sgd, &x, &y);
    save_weights_with_optimizer(&m, &sgd, &one_slot).unwrap();
    let err = load_weights_with_optimizer(&m, &mut Adam::new(0.01), &one_slot)
        .unwrap_err()
        .to_string();
    assert!(err.contains("optimizer `Adam`: `optimizer/"), "{err}");
    assert!(err.ends_with("is not in the file"), "{err}");
}

#[test]
fn loads_kerass_nadam_with_its_running_product() {
    let m = model();
    let mut opt = Nadam::new(0.01);
    load_weights_with_optimizer(&m, &mut opt, keras_file("nadam.weights.h5")).unwrap();
    let exp = &expected("keras")["nadam"];
    let want = |k: &str| -> Vec<Tensor> { exp[k].as_array().unwrap().iter().map(tensor).collect() };
    assert!(same_bits(&m.get_weights(), &want("weights")));
    let opt_vars = want("optimizer");
    let state = opt.state();
    assert_eq!(state.iterations, 2);
    // iteration, learning_rate, (m, v) per variable, then u_product
    let vars = m.trainable_variables();
    let mut ours = Vec::new();
    for v in &vars {
        ours.push(opt.slot(v, "m").unwrap());
        ours.push(opt.slot(v, "v").unwrap());
    }
    ours.push(state.extra[0].1.clone());
    assert!(same_bits(&ours, &opt_vars[2..]));
}

/// A file whose optimizer state is refused (a negative learning rate) changes nothing: not
/// the optimizer, and not the model's weights either, though they alone would fit.
#[test]
fn a_refused_optimizer_state_leaves_the_model_as_it_was() {
    use tapegrad_datasets::io::{NpzReader, NpzWriter};
    let dir = tmp();
    let (x, y) = data();
    let trained = model();
    let mut opt = Adam::new(0.01);
    step(&trained, &mut opt, &x, &y);
    let good = dir.path().join("good.npz");
    save_weights_with_optimizer(&trained, &opt, &good).unwrap();
    // the same file with learning_rate -1
    let mut reader = NpzReader::open(&good).unwrap();
    let mut writer = NpzWriter::new(false);
    for name in reader.names() {
        let key = name.trim_end_matches(".npy").to_string();
        if key == "optimizer/learning_rate" {
            writer
                .add(&key, &ndarray::arr0(-1.0f32).into_dyn())
                .unwrap();
        } else if key == "optimizer/iteration" {
            let v: ndarray::ArrayD<i64> = reader.by_name(&key).unwrap();
            writer.add(&key, &v).unwrap();
        } else {
            let v: ndarray::ArrayD<f32> = reader.by_name(&key).unwrap();
            writer.add(&key, &v).unwrap();
        }
    }
    let bad = dir.path().join("bad.npz");
    writer.write(&bad).unwrap();
    let fresh = model();
    let before = fresh.get_weights();
    let mut fresh_opt = Adam::new(0.01);
    let err = load_weights_with_optimizer(&fresh, &mut fresh_opt, &bad)
        .unwrap_err()
        .to_string();
    assert!(err.contains("learning_rate"), "{err}");
    assert!(
        same_bits(&before, &fresh.get_weights()),
        "the model was changed"
    );
    assert_eq!(fresh_opt.iterations(), 0);
    // the good file loads
    load_weights_with_optimizer(&fresh, &mut fresh_opt, &good).unwrap();
    assert!(same_bits(&trained.get_weights(), &fresh.get_weights()));
}
