//! `.keras` archives (Keras 3's `model.save`): a zip of `config.json` (the model's
//! architecture), `metadata.json` and `model.weights.h5` (the `.weights.h5` layout). Read and
//! written for `Sequential` models of the layers tapegrad has, through their Keras configs
//! ([`Layer::get_config`], [`tapegrad_nn::layer_from_config`]).

use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tapegrad_autodiff::DType;
use tapegrad_nn::{Layer, Sequential};

use crate::error::{format_err, model_err, Result};

/// The bytes of the archive's members that matter.
pub(crate) struct Archive {
    pub config: Value,
    pub weights: Vec<u8>,
}

fn member(
    archive: &mut zip::ZipArchive<std::io::Cursor<Vec<u8>>>,
    path: &Path,
    name: &str,
) -> Result<Vec<u8>> {
    let mut f = archive
        .by_name(name)
        .map_err(|e| format_err(path, format!("no `{name}` in the archive ({e})")))?;
    let (size, compressed) = (f.size(), f.compressed_size());
    // deflate expands at most ~1032 to 1: a member claiming more is a lying header, refused
    // before anything is allocated for it
    if size > compressed.saturating_mul(1032).saturating_add(1 << 16) {
        return Err(format_err(
            path,
            format!("`{name}` claims {size} bytes from {compressed} compressed, more than deflate expands to"),
        ));
    }
    // room for what the member holds, grown as it is read: a claim alone allocates little
    let mut out = Vec::with_capacity(usize::try_from(size.min(1 << 24)).unwrap_or(0));
    // no more than the entry records: a lying entry cannot make us allocate more
    f.by_ref()
        .take(size)
        .read_to_end(&mut out)
        .map_err(|e| format_err(path, format!("`{name}`: {e}")))?;
    if out.len() as u64 != size {
        return Err(format_err(
            path,
            format!("`{name}`: {} bytes, the archive records {size}", out.len()),
        ));
    }
    Ok(out)
}

pub(crate) fn read(path: &Path, bytes: Vec<u8>) -> Result<Archive> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format_err(path, format!("not a .keras archive (not a zip file: {e})")))?;
    let config = member(&mut archive, path, "config.json")?;
    let config: Value = serde_json::from_slice(&config)
        .map_err(|e| format_err(path, format!("`config.json` is not JSON: {e}")))?;
    let weights = member(&mut archive, path, "model.weights.h5")?;
    Ok(Archive { config, weights })
}

/// Where messages about the archive's weights point: `model.keras/model.weights.h5`.
pub(crate) fn weights_path(path: &Path) -> PathBuf {
    path.join("model.weights.h5")
}

/// The input shape of a Sequential's config (without the batch dimension): its
/// `InputLayer`'s `batch_shape`, or the model's `build_input_shape` / `build_config`.
fn input_shape(model: &Value) -> Option<Vec<usize>> {
    let shape = |v: &Value| -> Option<Vec<usize>> {
        let dims = v.as_array()?;
        dims.iter()
            .skip(1)
            .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()))
            .collect()
    };
    let layers = model["config"]["layers"].as_array()?;
    layers
        .iter()
        .find(|l| l["class_name"] == "InputLayer")
        .and_then(|l| {
            shape(&l["config"]["batch_shape"]).or_else(|| shape(&l["config"]["batch_input_shape"]))
        })
        .or_else(|| shape(&model["config"]["build_input_shape"]))
        .or_else(|| shape(&model["build_config"]["input_shape"]))
}

/// The most values one example may have at any layer of a model read from a config (2^28,
/// a gigabyte of float32): building the model runs it once on one example.
const MAX_EXAMPLE_VALUES: u64 = 1 << 28;

/// An upper bound on the weights a layer of `class` holds for inputs of `shape` (one example),
/// and the shape of its outputs: what a config may claim is checked against the size of
/// `model.weights.h5` before anything is allocated.
fn weights_and_output(class: &str, config: &Value, shape: &[u64]) -> (Option<u64>, Vec<u64>) {
    let values = shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
    match class {
        "Dense" => {
            let units = config["units"].as_u64().unwrap_or(0);
            let fan_in = shape.last().copied().unwrap_or(1);
            let params = fan_in.checked_add(1).and_then(|n| n.checked_mul(units));
            let mut out = shape.to_vec();
            match out.last_mut() {
                Some(d) => *d = units,
                None => out.push(units),
            }
            (params, out)
        }
        "Flatten" => (Some(0), vec![values.unwrap_or(u64::MAX)]),
        // gamma and beta over the normalized axes
        "LayerNormalization" => (
            kept(config, shape).and_then(|n| n.checked_mul(2)),
            shape.to_vec(),
        ),
        // gamma, beta, moving mean and variance along the axis
        "BatchNormalization" => (
            kept(config, shape).and_then(|n| n.checked_mul(4)),
            shape.to_vec(),
        ),
        // an adapted layer's mean and variance (and its int64 count); none when given
        "Normalization" if config["mean"].is_null() => (
            kept(config, shape).and_then(|n| n.checked_mul(2)?.checked_add(2)),
            shape.to_vec(),
        ),
        _ => (Some(0), shape.to_vec()),
    }
}

/// The number of values along a config's `axis` (an axis, a list, null for none; -1 when
/// absent) of inputs of `shape` (one example: the batch axis, 0, counts 1).
fn kept(config: &Value, shape: &[u64]) -> Option<u64> {
    let rank = shape.len() as i64 + 1;
    let axes: Vec<i64> = match &config["axis"] {
        Value::Null if config.get("axis").is_some() => Vec::new(),
        Value::Null => vec![-1],
        Value::Array(a) => a.iter().filter_map(Value::as_i64).collect(),
        v => v.as_i64().into_iter().collect(),
    };
    axes.iter().try_fold(1u64, |n, &a| {
        let r = if a < 0 { a + rank } else { a };
        let d = if (1..rank).contains(&r) {
            shape[(r - 1) as usize]
        } else {
            1
        };
        n.checked_mul(d)
    })
}

/// The Sequential model `config.json` describes (each layer from its Keras 3 config through
/// [`tapegrad_nn::layer_from_config`]), built, its weights not yet loaded. A config that
/// describes more weights than `weights_len` bytes hold is refused before anything is
/// allocated (a garbled `units` must not ask for terabytes).
pub(crate) fn model_from_config(
    path: &Path,
    config: &Value,
    weights_len: usize,
) -> Result<Sequential> {
    let class = config["class_name"].as_str().unwrap_or("?");
    if class != "Sequential" {
        return Err(model_err(
            path,
            format!("the model is a `{class}`: .keras archives of Sequential models are read"),
        ));
    }
    let name = config["config"]["name"].as_str().unwrap_or("sequential");
    let layers = config["config"]["layers"]
        .as_array()
        .ok_or_else(|| format_err(path, "`config.json` lists no layers"))?;
    let width = input_shape(config).ok_or_else(|| {
        format_err(
            path,
            "`config.json` gives no input shape (no InputLayer, no build_config)",
        )
    })?;
    let mut shape: Vec<u64> = width.iter().map(|&d| d as u64).collect();
    let mut bytes = Some(0u64);
    let mut built: Vec<Box<dyn Layer>> = Vec::with_capacity(layers.len());
    for layer in layers {
        let class = layer["class_name"].as_str().unwrap_or("?");
        if class == "InputLayer" {
            continue;
        }
        let c = &layer["config"];
        let lname = c["name"].as_str().unwrap_or("?");
        let made =
            tapegrad_nn::layer_from_config(class, c).map_err(|e| model_err(path, e.to_string()))?;
        // kernel and bias at 4 bytes a float32 or more
        let (params, out) = weights_and_output(class, c, &shape);
        bytes = bytes
            .zip(params)
            .and_then(|(b, p)| b.checked_add(p.checked_mul(4)?));
        if bytes.is_none_or(|b| b > weights_len as u64) {
            return Err(format_err(
                path,
                format!("layer `{lname}`: config.json describes more weights than model.weights.h5's {weights_len} bytes hold"),
            ));
        }
        let values = out.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
        if values.is_none_or(|v| v > MAX_EXAMPLE_VALUES) {
            return Err(format_err(
                path,
                format!("layer `{lname}`: config.json describes outputs of shape {out:?} for one example, more than {MAX_EXAMPLE_VALUES} values"),
            ));
        }
        shape = out;
        built.push(made);
    }
    let mut model = Sequential::from_layers(built).with_name(name);
    let mut full = vec![1];
    full.extend(width);
    model
        .build(&full)
        .map_err(|e| model_err(path, format!("cannot build the model: {e}")))?;
    Ok(model)
}

/// The Keras version whose `.keras` layout we write (`metadata.json`'s `keras_version`).
const KERAS_FORMAT_VERSION: &str = "3.15.1";

fn dtype_name(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "float32",
        DType::F64 => "float64",
    }
}

fn policy(dtype: DType) -> Value {
    serde_json::json!({
        "module": "keras", "class_name": "DTypePolicy",
        "config": {"name": dtype_name(dtype)}, "registered_name": null
    })
}

/// `config.json` for a Sequential model, in Keras 3's form: an `InputLayer` of the shape the
/// model was built on, then each layer's [`Layer::get_config`] and
/// [`Layer::get_build_config`].
pub(crate) fn config_of(path: &Path, model: &dyn Layer) -> Result<Value> {
    if model.class_name() != "Sequential" {
        return Err(model_err(
            path,
            format!(
                "`{}` is a `{}`: .keras archives are written for Sequential models",
                model.name(),
                model.class_name()
            ),
        ));
    }
    let input = model.get_build_config().ok_or_else(|| {
        model_err(
            path,
            format!(
                "`{}` does not know the input shape it was built on",
                model.name()
            ),
        )
    })?;
    let input = input["input_shape"].clone();
    let dtype = model
        .variables()
        .first()
        .map(|v| v.dtype())
        .unwrap_or(DType::F32);
    let mut layers = vec![serde_json::json!({
        "module": "keras.layers", "class_name": "InputLayer",
        "config": {"batch_shape": input, "dtype": dtype_name(dtype), "sparse": false,
            "ragged": false, "name": "input_layer", "optional": false},
        "registered_name": null
    })];
    for layer in model.layers() {
        let config = layer.get_config().ok_or_else(|| {
            model_err(
                path,
                format!(
                    "layer `{}` is a `{}`, which has no Keras config: .keras archives are written for the layers {}",
                    layer.name(),
                    layer.class_name(),
                    tapegrad_nn::config::LAYER_CLASSES.join(", ")
                ),
            )
        })?;
        let mut entry = serde_json::json!({
            "module": "keras.layers", "class_name": layer.class_name(),
            "config": config, "registered_name": null
        });
        if let Some(build) = layer.get_build_config() {
            entry["build_config"] = build;
        }
        layers.push(entry);
    }
    Ok(serde_json::json!({
        "module": "keras", "class_name": "Sequential",
        "config": {"name": model.name(), "trainable": true, "dtype": policy(dtype),
            "layers": layers, "build_input_shape": input},
        "registered_name": null,
        "build_config": {"input_shape": input},
        "compile_config": null
    }))
}

/// The archive's bytes: `metadata.json`, `config.json`, `model.weights.h5`, stored.
pub(crate) fn to_bytes(path: &Path, config: &Value, weights: &[u8]) -> Result<Vec<u8>> {
    use std::io::Write as _;
    let zerr = |e: String| format_err(path, format!("cannot write the archive: {e}"));
    let metadata =
        serde_json::json!({"keras_version": KERAS_FORMAT_VERSION, "saved_by": "tapegrad"});
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in [
        ("metadata.json", metadata.to_string().into_bytes()),
        ("config.json", config.to_string().into_bytes()),
        ("model.weights.h5", weights.to_vec()),
    ] {
        z.start_file(name, options)
            .map_err(|e| zerr(e.to_string()))?;
        z.write_all(&bytes).map_err(|e| zerr(e.to_string()))?;
    }
    Ok(z.finish().map_err(|e| zerr(e.to_string()))?.into_inner())
}

/// The optimizer a `.keras` archive's `compile_config` names (`None` when the model was not
/// compiled), with its hyperparameters; Keras's settings tapegrad does not have (`use_ema`,
/// `gradient_accumulation_steps`, `loss_scale_factor`, a schedule) are an error naming them.
pub(crate) fn optimizer_from_config(
    path: &Path,
    config: &Value,
) -> Result<Option<Box<dyn tapegrad_optim::Optimizer>>> {
    use tapegrad_optim::{Adadelta, Adagrad, Adam, AdamW, Adamax, Nadam, RMSprop, Sgd};
    let opt = &config["compile_config"]["optimizer"];
    if opt.is_null() {
        return Ok(None);
    }
    let class = opt["class_name"].as_str().unwrap_or("?");
    let c = &opt["config"];
    let err = |m: String| model_err(path, format!("optimizer `{class}`: {m}"));
    for (key, off) in [
        ("use_ema", Value::Bool(false)),
        ("gradient_accumulation_steps", Value::Null),
        ("loss_scale_factor", Value::Null),
    ] {
        if !c[key].is_null() && c[key] != off {
            return Err(err(format!("`{key}` = {} is not supported", c[key])));
        }
    }
    let lr = c["learning_rate"].as_f64().ok_or_else(|| {
        err(format!(
            "learning_rate {} is not a number (schedules are not read yet)",
            c["learning_rate"]
        ))
    })?;
    let f = |key: &str, default: f64| c[key].as_f64().unwrap_or(default);
    let b = |key: &str| c[key].as_bool().unwrap_or(false);
    // Keras's Adam family: betas and epsilon, and AMSGrad for Adam and AdamW
    macro_rules! betas {
        ($t:ident) => {
            $t::new(lr)
                .beta_1(f("beta_1", 0.9))
                .beta_2(f("beta_2", 0.999))
                .epsilon(f("epsilon", 1e-7))
        };
    }
    let mut out: Box<dyn tapegrad_optim::Optimizer> = match class {
        "SGD" => Box::new(
            Sgd::new(lr)
                .momentum(f("momentum", 0.0))
                .nesterov(b("nesterov")),
        ),
        "Adam" => Box::new(betas!(Adam).amsgrad(b("amsgrad"))),
        "AdamW" => Box::new(betas!(AdamW).amsgrad(b("amsgrad"))),
        "Adamax" => Box::new(betas!(Adamax)),
        "Nadam" => Box::new(betas!(Nadam)),
        "RMSprop" => Box::new(
            RMSprop::new(lr)
                .rho(f("rho", 0.9))
                .momentum(f("momentum", 0.0))
                .epsilon(f("epsilon", 1e-7))
                .centered(b("centered")),
        ),
        "Adagrad" => Box::new(
            Adagrad::new(lr)
                .initial_accumulator_value(f("initial_accumulator_value", 0.1))
                .epsilon(f("epsilon", 1e-7)),
        ),
        "Adadelta" => Box::new(
            Adadelta::new(lr)
                .rho(f("rho", 0.95))
                .epsilon(f("epsilon", 1e-7)),
        ),
        other => {
            return Err(err(format!(
                "`{other}` is not one of tapegrad's optimizers"
            )))
        }
    };
    let base = out.base_mut();
    base.set_clipnorm(c["clipnorm"].as_f64());
    base.set_clipvalue(c["clipvalue"].as_f64());
    base.set_global_clipnorm(c["global_clipnorm"].as_f64());
    if let Some(wd) = c["weight_decay"].as_f64() {
        base.set_weight_decay(Some(wd));
    }
    out.check_settings().map_err(|e| err(e.to_string()))?;
    Ok(Some(out))
}
