//! `.keras` archives: Keras 3's `model.save` loaded, run and trained here; bad archives.
mod common;

use std::io::Write;

use common::*;
use tapegrad_autodiff::{reduce_mean, square, GradientTape, Tensor};
use tapegrad_nn::Layer;
use tapegrad_optim::{Adam, Optimizer, OptimizerExt};
use tapegrad_saving::{load_model, load_weights, load_weights_with_optimizer};

fn x_and_y() -> (Tensor, Tensor) {
    let x = tensor(&expected("keras")["x"]);
    let v = x.to_vec::<f32>().unwrap();
    let y: Vec<f32> = v
        .chunks(3)
        .flat_map(|r| [r[0] + r[1] + r[2], r[0] - r[2]])
        .collect();
    (x, Tensor::from_vec(y, &[8, 2]).unwrap())
}

#[test]
fn a_keras_model_runs_and_trains_here() {
    let model = load_model(keras_file("trained.keras")).unwrap();
    assert_eq!(model.name(), "sequential");
    assert!(same_bits(&model.get_weights(), &expected_weights()));
    let (x, y) = x_and_y();
    let want = tensor(&expected("keras")["predict"])
        .to_vec::<f32>()
        .unwrap();
    let got = model.call(&x).unwrap().to_vec::<f32>().unwrap();
    for (a, b) in got.iter().zip(&want) {
        assert!(
            (a - b).abs() <= 1e-6 * b.abs().max(1.0),
            "{got:?} vs {want:?}"
        );
    }
    // resume Keras's Adam from the archive and train: the loss goes down
    let mut opt = Adam::new(0.01);
    load_weights_with_optimizer(&model, &mut opt, keras_file("trained.keras")).unwrap();
    assert_eq!(opt.iterations(), 3);
    let vars = model.trainable_variables();
    let refs: Vec<_> = vars.iter().collect();
    let loss = |m: &dyn Layer| {
        reduce_mean(
            square((&m.call(&x).unwrap() - &y).unwrap()).unwrap(),
            None,
            false,
        )
        .unwrap()
    };
    let first = loss(&model).item().unwrap();
    for _ in 0..20 {
        let tape = GradientTape::new();
        let l = loss(&model);
        let grads = tape.gradient(&l, &refs).unwrap();
        opt.apply_gradients(grads.into_iter().zip(refs.iter().copied()))
            .unwrap();
    }
    assert!(loss(&model).item().unwrap() < first);
    // the archive's weights load into a model built here too
    let m = model_like_keras();
    load_weights(&m, keras_file("trained.keras")).unwrap();
    assert!(same_bits(&m.get_weights(), &expected_weights()));
}

fn model_like_keras() -> tapegrad_nn::Sequential {
    model()
}

/// An archive of `members` (name, bytes).
fn archive(dir: &std::path::Path, members: &[(&str, &[u8])]) -> std::path::PathBuf {
    let path = dir.join("m.keras");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    for (name, bytes) in members {
        z.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
    path
}

#[test]
fn bad_archives_are_one_line_errors() {
    let dir = tmp();
    let weights = std::fs::read(keras_file("plain.weights.h5")).unwrap();
    let config: serde_json::Value = {
        let f = std::fs::File::open(keras_file("trained.keras")).unwrap();
        let mut z = zip::ZipArchive::new(f).unwrap();
        serde_json::from_reader(z.by_name("config.json").unwrap()).unwrap()
    };
    let check = |path: &std::path::Path, tail: &str| {
        let err = load_model(path).unwrap_err().to_string();
        assert!(err.starts_with(&path.display().to_string()), "{err}");
        assert!(err.ends_with(tail), "{err}");
        assert!(!err.contains('\n'));
    };
    // config.json as given, beside Keras's weights
    let with_config = |config: &str| {
        let members: [(&str, &[u8]); 2] = [
            ("config.json", config.as_bytes()),
            ("model.weights.h5", &weights),
        ];
        archive(dir.path(), &members)
    };
    let text = config.to_string();
    let cases = [
        ("{}".to_string(), "the model is a `?`: .keras archives of Sequential models are read"),
        (
            text.replace("\"Dense\"", "\"Conv2D\""),
            "layer `dense`: class `Conv2D` is not one of tapegrad's layers (Dense, Dropout, Flatten, LayerNormalization, BatchNormalization, Normalization)",
        ),
        (
            text.replace("\"units\":2", "\"units\":3"),
            "layer `dense_1`: variable `dense_1/kernel` (layers/dense_1/vars/0) has shape [4, 3] in the model, [4, 2] in the file",
        ),
        (
            text.replace("\"units\":4", "\"units\":4000000000000"),
            "layer `dense`: config.json describes more weights than model.weights.h5's 14512 bytes hold",
        ),
    ];
    for (config, tail) in &cases {
        check(&with_config(config), tail);
    }
    // a config key Keras's Dense does not have: named, with the keys it has
    let p = with_config(&text.replace("\"use_bias\":true", "\"use_bias\":true,\"frobnicate\":1"));
    let err = load_model(&p).unwrap_err().to_string();
    assert!(err.starts_with(&format!("{}: layer `dense`: config key `frobnicate` of `Dense`: unknown (`Dense` has name, trainable, dtype, units, activation, use_bias,", p.display())), "{err}");
    assert!(!err.contains('\n'));
    // a setting tapegrad does not have: named, with what is read
    let p = with_config(&text.replace(
        "\"kernel_regularizer\":null",
        "\"kernel_regularizer\":{\"class_name\":\"L2\"}",
    ));
    check(&p, "layer `dense`: config key `kernel_regularizer` of `Dense`: {\"class_name\":\"L2\"} is not supported (tapegrad reads null)");
    let p = archive(dir.path(), &[("config.json", text.as_bytes())]);
    check(
        &p,
        "no `model.weights.h5` in the archive (specified file not found in archive)",
    );
    std::fs::write(&p, b"PK not really").unwrap();
    let err = load_model(&p).unwrap_err().to_string();
    assert!(err.contains("not a .keras archive"), "{err}");
    let bytes = std::fs::read(keras_file("trained.keras")).unwrap();
    for cut in (0..bytes.len()).step_by(211) {
        std::fs::write(&p, &bytes[..cut]).unwrap();
        assert!(load_model(&p).is_err(), "cut at {cut}");
    }
}

#[test]
fn save_model_round_trips_every_activation() {
    let dir = tmp();
    for name in tapegrad_nn::Activation::NAMES {
        let mut m = tapegrad_nn::Sequential::new()
            .layer(
                tapegrad_nn::Dense::new(3)
                    .activation(*name)
                    .unwrap()
                    .name("a"),
            )
            .unwrap()
            .layer(tapegrad_nn::Dense::new(2).use_bias(false).name("b"))
            .unwrap();
        m.build(&[1, 4]).unwrap();
        let path = dir.path().join(format!("{name}.keras"));
        tapegrad_saving::save_model(&m, &path).unwrap();
        let back = load_model(&path).unwrap();
        assert!(same_bits(&m.get_weights(), &back.get_weights()), "{name}");
        let x = Tensor::from_vec((0..8).map(|i| i as f32 - 3.5).collect(), &[2, 4]).unwrap();
        let (a, b) = (m.call(&x).unwrap(), back.call(&x).unwrap());
        assert!(same_bits(&[a], &[b]), "{name}");
    }
}

#[test]
fn save_model_refuses_what_keras_config_cannot_say() {
    let dir = tmp();
    let mut d = tapegrad_nn::Dense::new(2).name("solo");
    d.build(&[3]).unwrap();
    let err = tapegrad_saving::save_model(&d, dir.path().join("m.keras"))
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("`solo` is a `Dense`: .keras archives are written for Sequential models"),
        "{err}"
    );
    let err = tapegrad_saving::save_model(&model(), dir.path().join("m.weights.h5"))
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("a model is saved as a .keras archive"),
        "{err}"
    );
    let err = tapegrad_saving::save_weights(&model(), dir.path().join("m.keras"))
        .unwrap_err()
        .to_string();
    assert!(err.ends_with("use save_model"), "{err}");
    // an unbuilt model is said to be unbuilt, not to hold the wrong layers
    let unbuilt = tapegrad_nn::Sequential::new()
        .layer(tapegrad_nn::Dense::new(2))
        .unwrap();
    let err = tapegrad_saving::save_model(&unbuilt, dir.path().join("u.keras"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("built"), "{err}");
    assert!(!dir.path().join("u.keras").exists());
}

#[test]
fn the_files_we_committed_for_python_load_back_here() {
    // data/keras/files/ours/ (written by examples/write_fixtures.rs, checked in Keras 3 by
    // gen_weight_files.py --verify): our reader agrees with our writer and with its record
    let ours = files_dir().join("ours");
    let exp = expected("ours");
    let want: Vec<Tensor> = exp["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(tensor)
        .collect();
    for name in [
        "plain.weights.h5",
        "trained.weights.h5",
        "weights.npz",
        "weights.safetensors",
        "model.keras",
    ] {
        let m = model();
        load_weights(&m, ours.join(name)).unwrap();
        assert!(same_bits(&m.get_weights(), &want), "{name}");
    }
    let m = load_model(ours.join("model.keras")).unwrap();
    assert!(same_bits(&m.get_weights(), &want));
    let mut opt = Adam::new(0.01);
    load_weights_with_optimizer(&model(), &mut opt, ours.join("trained.weights.h5")).unwrap();
    assert_eq!(opt.iterations(), 5); // Keras's 3 steps and 2 of ours
                                     // layers.keras: every layer, Keras's Normalization counts included in the record
    let lay = &exp["layers"];
    let m = load_model(ours.join("layers.keras")).unwrap();
    let want: Vec<Tensor> = lay["weights"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["dtype"] == "float32")
        .map(tensor)
        .collect();
    assert!(same_bits(&m.get_weights(), &want));
    let x = tensor(&lay["x"]);
    assert!(same_bits(
        &[m.call(&x).unwrap()],
        &[tensor(&lay["predict"])]
    ));
    // named_layers.keras: every layer under names of ours
    let nl = &exp["named_layers"];
    let m = load_model(ours.join("named_layers.keras")).unwrap();
    let names: Vec<&str> = m.layers().iter().map(|l| l.name()).collect();
    assert_eq!(
        names,
        ["adapted", "flat", "hidden", "bn", "drop", "ln", "given", "out"]
    );
    let want: Vec<Tensor> = nl["weights"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["dtype"] == "float32")
        .map(tensor)
        .collect();
    assert!(same_bits(&m.get_weights(), &want));
    let x = tensor(&nl["x"]);
    assert!(same_bits(&[m.call(&x).unwrap()], &[tensor(&nl["predict"])]));
    // and Keras 3 loaded them (gen_weight_files.py --verify's record)
    let text = std::fs::read_to_string(ours.join("verified.json")).unwrap();
    let verified: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(verified["weights_bit_for_bit"], true);
    assert!(
        verified["predict_max_relative_difference"]
            .as_f64()
            .unwrap()
            <= 1e-6
    );
    assert!(verified["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r.as_str().unwrap().starts_with("ok")));
}

#[test]
fn the_archives_optimizer_goes_on_as_the_one_built_by_hand() {
    let (model, opt) =
        tapegrad_saving::load_model_and_optimizer(keras_file("trained.keras")).unwrap();
    let mut opt = opt.expect("compiled with Adam");
    assert_eq!((opt.name(), opt.iterations()), ("Adam", 3));
    let by_hand = model_like_keras();
    let mut adam = Adam::new(0.01);
    load_weights_with_optimizer(&by_hand, &mut adam, keras_file("trained.weights.h5")).unwrap();
    let (x, y) = x_and_y();
    for (m, o) in [
        (&model as &dyn Layer, &mut opt as &mut dyn Optimizer),
        (&by_hand, &mut adam),
    ] {
        let vars = m.trainable_variables();
        let refs: Vec<_> = vars.iter().collect();
        for _ in 0..3 {
            let tape = GradientTape::new();
            let l = reduce_mean(
                square((&m.call(&x).unwrap() - &y).unwrap()).unwrap(),
                None,
                false,
            )
            .unwrap();
            let grads = tape.gradient(&l, &refs).unwrap();
            o.apply_gradients(grads.into_iter().zip(refs.iter().copied()))
                .unwrap();
        }
    }
    assert!(same_bits(&model.get_weights(), &by_hand.get_weights()));
    assert!(!same_bits(&model.get_weights(), &expected_weights()));
}

#[test]
fn an_optimizer_config_we_cannot_follow_is_refused_by_name() {
    let dir = tmp();
    let (config, weights) = {
        let f = std::fs::File::open(keras_file("trained.keras")).unwrap();
        let mut z = zip::ZipArchive::new(f).unwrap();
        let c: serde_json::Value =
            serde_json::from_reader(z.by_name("config.json").unwrap()).unwrap();
        let mut w = Vec::new();
        std::io::Read::read_to_end(&mut z.by_name("model.weights.h5").unwrap(), &mut w).unwrap();
        (c.to_string(), w)
    };
    for (from, to, tail) in [
        (
            "\"class_name\":\"Adam\"",
            "\"class_name\":\"Lion\"",
            "optimizer `Lion`: `Lion` is not one of tapegrad's optimizers",
        ),
        (
            "\"use_ema\":false",
            "\"use_ema\":true",
            "optimizer `Adam`: `use_ema` = true is not supported",
        ),
        (
            "\"beta_1\":0.9",
            "\"beta_1\":1.5",
            "optimizer `Adam`: Adam: `beta_1` must be ≥ 0 and < 1, got 1.5",
        ),
    ] {
        assert!(config.contains(from), "{from}");
        let text = config.replace(from, to);
        let p = archive(
            dir.path(),
            &[
                ("config.json", text.as_bytes()),
                ("model.weights.h5", &weights),
            ],
        );
        let err = tapegrad_saving::load_model_and_optimizer(&p)
            .err()
            .unwrap()
            .to_string();
        assert!(err.ends_with(tail), "{err}");
        // the model alone still loads
        load_model(&p).unwrap();
    }
}

#[test]
fn a_zero_kernel_relu_layer_is_saved_as_relu() {
    // the activation is the layer's config, not recognised from its outputs (a zero kernel
    // made relu and linear look alike)
    let dir = tmp();
    let mut m = tapegrad_nn::Sequential::new()
        .layer(
            tapegrad_nn::Dense::new(3)
                .activation("relu")
                .unwrap()
                .kernel_initializer(tapegrad_nn::Zeros)
                .name("zero"),
        )
        .unwrap();
    m.build(&[1, 2]).unwrap();
    let path = dir.path().join("z.keras");
    tapegrad_saving::save_model(&m, &path).unwrap();
    let f = std::fs::File::open(&path).unwrap();
    let mut z = zip::ZipArchive::new(f).unwrap();
    let c: serde_json::Value = serde_json::from_reader(z.by_name("config.json").unwrap()).unwrap();
    let dense = &c["config"]["layers"][1];
    assert_eq!(dense["config"]["activation"], "relu");
    assert_eq!(dense["config"]["kernel_initializer"]["class_name"], "Zeros");
    assert_eq!(
        dense["build_config"],
        serde_json::json!({"input_shape": [null, 2]})
    );
    assert_eq!(
        c["config"]["layers"][0]["config"]["batch_shape"],
        serde_json::json!([null, 2])
    );
}

/// expected.json's `layers`: the archive `layers.keras` of every layer tapegrad reads.
fn layers_expected() -> serde_json::Value {
    expected("keras")["layers"].clone()
}

/// The largest |a - b| / max(|b|, 1).
fn max_relative(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(&a, &b)| ((a - b).abs() / b.abs().max(1.0)) as f64)
        .fold(0.0, f64::max)
}

#[test]
fn a_keras_sequential_of_every_layer_predicts_here_as_in_keras() {
    let exp = layers_expected();
    let model = load_model(keras_file("layers.keras")).unwrap();
    let classes: Vec<&str> = model.layers().iter().map(|l| l.class_name()).collect();
    let want: Vec<&str> = exp["layer_configs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["class_name"].as_str().unwrap())
        .collect();
    assert_eq!(classes, want);
    // every float weight bit for bit (Keras's int64 Normalization count is no variable here)
    let weights: Vec<Tensor> = exp["weights"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["dtype"] == "float32")
        .map(tensor)
        .collect();
    assert!(same_bits(&model.get_weights(), &weights));
    let x = tensor(&exp["x"]);
    let got = model.call(&x).unwrap().to_vec::<f32>().unwrap();
    let want = tensor(&exp["predict"]).to_vec::<f32>().unwrap();
    let rel = max_relative(&got, &want);
    println!("layers.keras: predict's max relative difference from Keras {rel:e}");
    assert!(rel <= 1e-6, "{rel}");
    // each layer's config as Keras 3's get_config gives it
    for (layer, keras) in model
        .layers()
        .iter()
        .zip(exp["layer_configs"].as_array().unwrap())
    {
        let ours = layer.get_config().unwrap();
        let theirs = &keras["config"];
        let keys = |v: &serde_json::Value| {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(keys(&ours), keys(theirs), "{}", layer.name());
        for k in keys(theirs) {
            if k == "dtype" {
                assert_eq!(ours[&k]["config"], theirs[&k]["config"], "{}", layer.name());
            } else {
                assert_eq!(ours[&k], theirs[&k], "{}: `{k}`", layer.name());
            }
        }
    }
}

#[test]
fn a_keras_sequential_of_every_layer_trains_here() {
    let exp = layers_expected();
    let (model, opt) =
        tapegrad_saving::load_model_and_optimizer(keras_file("layers.keras")).unwrap();
    let mut opt = opt.expect("compiled with Adam");
    assert_eq!((opt.name(), opt.iterations()), ("Adam", 8)); // 2 epochs of 4 batches
    let (x, y) = (tensor(&exp["x"]), tensor(&exp["y"]));
    let loss = |training: bool| {
        let pred = model.call_training(&x, training).unwrap();
        reduce_mean(square((&pred - &y).unwrap()).unwrap(), None, false).unwrap()
    };
    let first = loss(false).item().unwrap();
    let vars = model.trainable_variables();
    let refs: Vec<_> = vars.iter().collect();
    let moving_before = model.non_trainable_variables()[2].snapshot(); // BN's moving mean
    for _ in 0..30 {
        let tape = GradientTape::new();
        let l = loss(true);
        let grads = tape.gradient(&l, &refs).unwrap();
        opt.apply_gradients(grads.into_iter().zip(refs.iter().copied()))
            .unwrap();
    }
    let last = loss(false).item().unwrap();
    assert!(last < first, "{first} -> {last}");
    assert!(!model.non_trainable_variables()[2]
        .snapshot()
        .equals(&moving_before));
}

#[test]
fn every_layer_round_trips_through_save_model_with_its_config() {
    use tapegrad_nn::{
        BatchNormalization, Dense, Dropout, Flatten, LayerNormalization, Normalization,
    };
    let dir = tmp();
    let x = Tensor::from_vec(
        (0..24).map(|i| (i as f32 * 0.37).sin()).collect(),
        &[4, 2, 3],
    )
    .unwrap();
    let mut norm = Normalization::new().axis(&[1, 2]).name("adapted");
    norm.adapt(&x).unwrap();
    let mut m = tapegrad_nn::Sequential::new()
        .layer(norm)
        .unwrap()
        .layer(Flatten::new().name("flat"))
        .unwrap()
        .layer(
            Dense::new(5)
                .activation("elu")
                .unwrap()
                .use_bias(false)
                .name("hidden"),
        )
        .unwrap()
        .layer(
            BatchNormalization::new()
                .momentum(0.8)
                .epsilon(1e-4)
                .center(false)
                .name("bn"),
        )
        .unwrap()
        .layer(
            Dropout::new(0.3)
                .unwrap()
                .seed(9)
                .noise_shape(&[None, Some(1)])
                .name("drop"),
        )
        .unwrap()
        .layer(LayerNormalization::new().scale(false).name("ln"))
        .unwrap()
        .layer(
            Normalization::new()
                .mean_variance(&[0.5], &[2.0])
                .invert(true)
                .name("given"),
        )
        .unwrap()
        .layer(Dense::new(1).name("out"))
        .unwrap();
    m.build(&[4, 2, 3]).unwrap();
    m.call_training(&x, true).unwrap(); // the moving statistics move
    let path = dir.path().join("all.keras");
    tapegrad_saving::save_model(&m, &path).unwrap();
    let back = load_model(&path).unwrap();
    assert!(same_bits(&m.get_weights(), &back.get_weights()));
    for (a, b) in m.layers().iter().zip(back.layers()) {
        assert_eq!(a.get_config(), b.get_config(), "{}", a.name());
    }
    assert!(same_bits(&[m.call(&x).unwrap()], &[back.call(&x).unwrap()]));
}

#[test]
fn a_layer_without_a_keras_config_is_named_when_saving() {
    struct Custom(tapegrad_nn::Dense);
    impl Layer for Custom {
        fn name(&self) -> &str {
            "mine"
        }
        fn class_name(&self) -> &str {
            "Mine"
        }
        fn built(&self) -> bool {
            self.0.built()
        }
        fn build(&mut self, shape: &[usize]) -> tapegrad_nn::Result<()> {
            self.0.build(shape)
        }
        fn call(&self, x: &Tensor) -> tapegrad_nn::Result<Tensor> {
            self.0.call(x)
        }
        fn layers(&self) -> Vec<&dyn Layer> {
            vec![&self.0]
        }
    }
    let dir = tmp();
    let mut m = tapegrad_nn::Sequential::new()
        .layer(Custom(tapegrad_nn::Dense::new(2).name("inner")))
        .unwrap();
    m.build(&[1, 3]).unwrap();
    let path = dir.path().join("c.keras");
    let err = tapegrad_saving::save_model(&m, &path)
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("layer `mine` is a `Mine`, which has no Keras config: .keras archives are written for the layers Dense, Dropout, Flatten, LayerNormalization, BatchNormalization, Normalization"),
        "{err}"
    );
    assert!(!path.exists());
}

#[test]
fn a_wide_given_normalization_is_not_taken_for_weights_the_file_lacks() {
    // 1000 features normalized by a given mean and variance (no weights), then Dense(1): the
    // archive's weights are the Dense layer's alone; and LayerNormalization over the last
    // axis of (10, 100) examples holds 200 values, not 2000
    use tapegrad_nn::{Dense, Flatten, LayerNormalization, Normalization};
    let dir = tmp();
    let mut m = tapegrad_nn::Sequential::new()
        .layer(Normalization::new().mean_variance(&[0.5], &[2.0]))
        .unwrap()
        .layer(LayerNormalization::new())
        .unwrap()
        .layer(Flatten::new())
        .unwrap()
        .layer(Dense::new(1))
        .unwrap();
    m.build(&[1, 10, 100]).unwrap();
    let path = dir.path().join("wide.keras");
    tapegrad_saving::save_model(&m, &path).unwrap();
    let back = load_model(&path).unwrap();
    assert!(same_bits(&m.get_weights(), &back.get_weights()));
}
