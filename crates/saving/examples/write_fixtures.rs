//! Writes `data/keras/files/ours/`: files of our writers for Keras 3, numpy and safetensors
//! to load (`gen_weight_files.py --verify`). The model is the script's, loaded from Keras's
//! `trained.weights.h5` with its Adam state and trained two steps further here; and
//! `layers.keras`, Keras's `keras/layers.keras` (every layer tapegrad reads) loaded with its
//! Adam and trained three steps further here, dropout on; and `named_layers.keras`, every
//! layer under a name of ours and with settings other than Keras's defaults.
//!
//!     cargo run -p tapegrad-saving --example write_fixtures

use std::path::PathBuf;

use tapegrad_autodiff::{reduce_mean, square, GradientTape, Tensor};
use tapegrad_nn::{Dense, Layer, Sequential};
use tapegrad_optim::{Adam, Optimizer, OptimizerExt};

fn bits(t: &Tensor) -> serde_json::Value {
    let b: Vec<String> = t
        .to_vec::<f32>()
        .unwrap()
        .iter()
        .map(|x| format!("{:08x}", x.to_bits()))
        .collect();
    serde_json::json!({"dtype": "float32", "shape": t.shape(), "bits": b})
}

fn tensor(e: &serde_json::Value) -> Result<Tensor, Box<dyn std::error::Error>> {
    let shape: Vec<usize> = serde_json::from_value(e["shape"].clone())?;
    let bits: Vec<String> = serde_json::from_value(e["bits"].clone())?;
    let v = bits
        .iter()
        .map(|b| u32::from_str_radix(b, 16).map(f32::from_bits))
        .collect::<Result<Vec<f32>, _>>()?;
    Ok(Tensor::from_vec(v, &shape)?)
}

/// `ours/layers.keras` and what Keras must find in it (its `model.weights` order: an adapted
/// Normalization's int64 count after its mean and variance).
fn layers_archive(
    files: &std::path::Path,
    ours: &std::path::Path,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(files.join("keras/expected.json"))?;
    let exp: serde_json::Value = serde_json::from_str(&text)?;
    let exp = &exp["layers"];
    let (x, y) = (tensor(&exp["x"])?, tensor(&exp["y"])?);
    let (model, opt) = tapegrad_saving::load_model_and_optimizer(files.join("keras/layers.keras"))?;
    let mut opt = opt.ok_or("layers.keras has no optimizer")?;
    let vars = model.trainable_variables();
    let refs: Vec<_> = vars.iter().collect();
    for _ in 0..3 {
        let tape = GradientTape::new();
        let pred = model.call_training(&x, true)?;
        let loss = reduce_mean(square((&pred - &y)?)?, None, false)?;
        let grads = tape.gradient(&loss, &refs)?;
        opt.apply_gradients(grads.into_iter().zip(refs.iter().copied()))?;
    }
    tapegrad_saving::save_model(&model, ours.join("layers.keras"))?;
    let mut weights = Vec::new();
    for layer in model.layers() {
        let own = layer.variables();
        weights.extend(own.iter().map(|v| bits(&v.snapshot())));
        if layer.class_name() == "Normalization" && own.len() == 2 {
            weights.push(serde_json::json!({"dtype": "int64", "shape": [], "values": [0]}));
        }
    }
    let classes: Vec<&str> = model.layers().iter().map(|l| l.class_name()).collect();
    Ok(serde_json::json!({
        "classes": classes,
        "weights": weights,
        "x": exp["x"],
        "y": exp["y"],
        "predict": bits(&model.call(&x)?),
    }))
}

/// `ours/named_layers.keras`: each layer named by us, non-default settings, seeded
/// initializers; its weights (Keras's order, the adapted Normalization's count included),
/// input and inference outputs.
fn named_layers(ours: &std::path::Path) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    use tapegrad_nn::{
        BatchNormalization, Dropout, Flatten, GlorotUniform, LayerNormalization, Normalization,
    };
    let x = Tensor::from_vec(
        (0..24).map(|i| (i as f32 * 0.37).sin()).collect(),
        &[4, 2, 3],
    )?;
    let mut norm = Normalization::new().axis(&[1, 2]).name("adapted");
    norm.adapt(&x)?;
    let mut m = Sequential::new()
        .layer(norm)?
        .layer(Flatten::new().name("flat"))?
        .layer(
            Dense::new(5)
                .activation("elu")?
                .use_bias(false)
                .kernel_initializer(GlorotUniform::seeded(5))
                .name("hidden"),
        )?
        .layer(
            BatchNormalization::new()
                .momentum(0.8)
                .epsilon(1e-4)
                .center(false)
                .name("bn"),
        )?
        .layer(
            Dropout::new(0.3)?
                .seed(9)
                .noise_shape(&[None, Some(1)])
                .name("drop"),
        )?
        .layer(LayerNormalization::new().scale(false).name("ln"))?
        .layer(
            Normalization::new()
                .mean_variance(&[0.5], &[2.0])
                .invert(true)
                .name("given"),
        )?
        .layer(
            Dense::new(1)
                .kernel_initializer(GlorotUniform::seeded(6))
                .name("out"),
        )?;
    m.build(&[4, 2, 3])?;
    m.call_training(&x, true)?; // the moving statistics move
    tapegrad_saving::save_model(&m, ours.join("named_layers.keras"))?;
    let mut weights = Vec::new();
    for layer in m.layers() {
        let own = layer.variables();
        weights.extend(own.iter().map(|v| bits(&v.snapshot())));
        if layer.class_name() == "Normalization" && own.len() == 2 {
            weights.push(serde_json::json!({"dtype": "int64", "shape": [], "values": [0]}));
        }
    }
    let names: Vec<&str> = m.layers().iter().map(|l| l.name()).collect();
    Ok(serde_json::json!({
        "names": names,
        "weights": weights,
        "x": bits(&x),
        "predict": bits(&m.call(&x)?),
    }))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/keras/files");
    let ours = files.join("ours");
    std::fs::create_dir_all(&ours)?;
    let mut model = Sequential::new()
        .layer(Dense::new(4).activation("relu")?.name("dense"))?
        .layer(Dense::new(2).name("dense_1"))?;
    model.build(&[8, 3])?;
    let mut opt = Adam::new(0.01);
    let trained = files.join("keras/trained.weights.h5");
    tapegrad_saving::load_weights_with_optimizer(&model, &mut opt, &trained)?;

    let x: Vec<f32> = (0..24).map(|i| i as f32 / 10.0).collect();
    let y: Vec<f32> = x
        .chunks(3)
        .flat_map(|r| [r[0] + r[1] + r[2], r[0] - r[2]])
        .collect();
    let (x, y) = (Tensor::from_vec(x, &[8, 3])?, Tensor::from_vec(y, &[8, 2])?);
    let vars = model.trainable_variables();
    let refs: Vec<_> = vars.iter().collect();
    for _ in 0..2 {
        let tape = GradientTape::new();
        let pred = model.call(&x)?;
        let loss = reduce_mean(square((&pred - &y)?)?, None, false)?;
        let grads = tape.gradient(&loss, &refs)?;
        opt.apply_gradients(grads.into_iter().zip(refs.iter().copied()))?;
    }

    tapegrad_saving::save_weights(&model, ours.join("plain.weights.h5"))?;
    tapegrad_saving::save_weights_with_optimizer(&model, &opt, ours.join("trained.weights.h5"))?;
    tapegrad_saving::save_weights(&model, ours.join("weights.npz"))?;
    tapegrad_saving::save_weights(&model, ours.join("weights.safetensors"))?;
    tapegrad_saving::save_model(&model, ours.join("model.keras"))?;

    let state = opt.state();
    let mut optimizer = vec![
        serde_json::json!({"dtype": "int64", "shape": [], "values": [state.iterations]}),
        bits(&Tensor::scalar(state.learning_rate.unwrap_or(0.0))),
    ];
    for v in &vars {
        optimizer.push(bits(&opt.slot(v, "m").unwrap()));
        optimizer.push(bits(&opt.slot(v, "v").unwrap()));
    }
    let names: Vec<String> = vars.iter().map(|v| v.name().to_string()).collect();
    let layers = layers_archive(&files, &ours)?;
    let named = named_layers(&ours)?;
    let expected = serde_json::json!({
        "layers": layers,
        "named_layers": named,
        "names": names,
        "weights": model.get_weights().iter().map(bits).collect::<Vec<_>>(),
        "optimizer": optimizer,
        "predict": bits(&model.call(&x)?),
        "x": bits(&x),
    });
    std::fs::write(
        ours.join("expected.json"),
        serde_json::to_string_pretty(&expected)? + "\n",
    )?;
    println!("wrote {}", ours.display());
    Ok(())
}
