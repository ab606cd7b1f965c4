//! `.keras` archives (Keras 3's `model.save`): a zip of `config.json` (the model's
//! architecture), `metadata.json` and `model.weights.h5` (the `.weights.h5` layout). Read for
//! `Sequential` models of `Dense` layers, the layers tapegrad has.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde_json::Value;
use tapegrad_autodiff::{DType, Tensor};
use tapegrad_nn::{Dense, Layer, Sequential};

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
    let size = f.size();
    let mut out = Vec::with_capacity(usize::try_from(size.min(1 << 30)).unwrap_or(0));
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

fn dtype_of(path: &Path, layer: &str, config: &Value) -> Result<DType> {
    // Keras 3: a DTypePolicy object; older files: a string
    let name = config["dtype"]["config"]["name"]
        .as_str()
        .or_else(|| config["dtype"].as_str())
        .unwrap_or("float32");
    match name {
        "float32" => Ok(DType::F32),
        "float64" => Ok(DType::F64),
        other => Err(model_err(
            path,
            format!("layer `{layer}`: dtype policy `{other}` (tapegrad has float32 and float64)"),
        )),
    }
}

/// The input width of a Sequential's config: its `InputLayer`'s `batch_shape`, or the
/// model's `build_input_shape` / `build_config`.
fn input_width(model: &Value) -> Option<Vec<usize>> {
    let shape = |v: &Value| -> Option<Vec<usize>> {
        let dims = v.as_array()?;
        dims.iter()
            .skip(1)
            .map(|d| d.as_u64().map(|d| d as usize))
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

/// The Sequential model `config.json` describes, built, its weights not yet loaded. A config
/// that describes more weights than `weights_len` bytes hold is refused before anything is
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
    let mut model = Sequential::new().with_name(name);
    let layers = config["config"]["layers"]
        .as_array()
        .ok_or_else(|| format_err(path, "`config.json` lists no layers"))?;
    let width = input_width(config).ok_or_else(|| {
        format_err(
            path,
            "`config.json` gives no input shape (no InputLayer, no build_config)",
        )
    })?;
    let mut fan_in = width.iter().try_fold(1u64, |a, &d| a.checked_mul(d as u64));
    let mut bytes = Some(0u64);
    for layer in layers {
        let class = layer["class_name"].as_str().unwrap_or("?");
        let c = &layer["config"];
        let lname = c["name"].as_str().unwrap_or("?");
        match class {
            "InputLayer" => continue,
            "Dense" => {}
            other => {
                return Err(model_err(
                    path,
                    format!("layer `{lname}` is a `{other}`, which tapegrad cannot read yet (Dense layers are read)"),
                ))
            }
        }
        let units = c["units"]
            .as_u64()
            .ok_or_else(|| format_err(path, format!("layer `{lname}`: no `units`")))?;
        // kernel and bias, at 4 bytes a float32 or more
        let params = fan_in.and_then(|n| n.checked_add(1)?.checked_mul(units));
        bytes = bytes
            .zip(params)
            .and_then(|(b, p)| b.checked_add(p.checked_mul(4)?));
        if bytes.is_none_or(|b| b > weights_len as u64) {
            return Err(format_err(
                path,
                format!("layer `{lname}`: config.json describes more weights than model.weights.h5's {weights_len} bytes hold"),
            ));
        }
        fan_in = Some(units);
        let activation = c["activation"].as_str().unwrap_or("linear");
        let dense = Dense::new(units as usize)
            .name(lname)
            .use_bias(c["use_bias"].as_bool().unwrap_or(true))
            .dtype(dtype_of(path, lname, c)?)
            .activation(activation)
            .map_err(|e| model_err(path, format!("layer `{lname}`: {e}")))?;
        model.add(dense);
    }
    let mut shape = vec![1];
    shape.extend(width);
    model
        .build(&shape)
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

/// The activation a Dense layer applies, recognised from its outputs: the `Layer` trait does
/// not give a layer's configuration, so the layer is called on inputs of both signs and
/// several scales along each input axis, and its outputs compared with each of Keras's
/// activations of `x · kernel + bias`. The first that matches (`linear`, then `relu`, ...).
fn activation_of(
    path: &Path,
    layer: &dyn Layer,
    kernel: &Tensor,
    bias: Option<&Tensor>,
) -> Result<&'static str> {
    let err = |m: String| model_err(path, format!("layer `{}`: {m}", layer.name()));
    let n = kernel.shape()[0];
    let scales = [-1000.0, -4.0, -1.0, -0.25, 0.0, 0.25, 1.0, 4.0, 1000.0];
    let mut probe = vec![0.0f64; scales.len() * n * n];
    for (s, scale) in scales.iter().enumerate() {
        for i in 0..n {
            probe[(s * n + i) * n + i] = *scale;
        }
    }
    let x = Tensor::from_vec(probe, &[scales.len() * n, n])
        .map(|t| t.into_value())
        .map_err(|e| err(e.to_string()))?;
    let x = Tensor::new(x.cast(kernel.dtype()));
    let y = layer.call(&x).map_err(|e| err(e.to_string()))?;
    let mut z = tapegrad_autodiff::matmul(&x, kernel).map_err(|e| err(e.to_string()))?;
    if let Some(b) = bias {
        z = (&z + b).map_err(|e| err(e.to_string()))?;
    }
    let want = y.to_f64_vec();
    let close = |a: &[f64]| {
        a.len() == want.len()
            && a.iter().zip(&want).all(|(a, b)| {
                a == b || (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-5 * b.abs().max(1.0)
            })
    };
    for act in tapegrad_nn::Activation::ALL {
        if let Ok(out) = act.apply(&z) {
            if close(&out.to_f64_vec()) {
                return Ok(act.name());
            }
        }
    }
    Err(err("its outputs match none of Keras's activations".into()))
}

/// `config.json` for a Sequential model of Dense layers, in Keras 3's form.
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
    let mut layers = Vec::new();
    let mut input: Option<(usize, DType)> = None;
    for layer in model.layers() {
        let vars = layer.variables();
        let kernel = vars.first().map(|v| v.snapshot());
        let (kernel, bias) = match (layer.class_name(), kernel, vars.len()) {
            ("Dense", Some(k), 1 | 2) if k.rank() == 2 => (k, vars.get(1).map(|b| b.snapshot())),
            (class, _, _) => {
                return Err(model_err(
                    path,
                    format!(
                        "layer `{}` is a `{class}`: .keras archives are written for Dense layers",
                        layer.name()
                    ),
                ))
            }
        };
        let (n, units, dtype) = (kernel.shape()[0], kernel.shape()[1], kernel.dtype());
        input.get_or_insert((n, dtype));
        let activation = activation_of(path, layer, &kernel, bias.as_ref())?;
        layers.push(serde_json::json!({
            "module": "keras.layers", "class_name": "Dense",
            "config": {
                "name": layer.name(), "trainable": true, "dtype": policy(dtype),
                "units": units, "activation": activation, "use_bias": bias.is_some(),
                "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                    "config": {"seed": null}, "registered_name": null},
                "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros",
                    "config": {}, "registered_name": null},
                "kernel_regularizer": null, "bias_regularizer": null,
                "kernel_constraint": null, "bias_constraint": null
            },
            "registered_name": null,
            "build_config": {"input_shape": [null, n]}
        }));
    }
    let Some((n, dtype)) = input else {
        return Err(model_err(
            path,
            format!("`{}` has no built layers", model.name()),
        ));
    };
    layers.insert(
        0,
        serde_json::json!({
            "module": "keras.layers", "class_name": "InputLayer",
            "config": {"batch_shape": [null, n], "dtype": dtype_name(dtype), "sparse": false,
                "ragged": false, "name": "input_layer", "optional": false},
            "registered_name": null
        }),
    );
    Ok(serde_json::json!({
        "module": "keras", "class_name": "Sequential",
        "config": {"name": model.name(), "trainable": true, "dtype": policy(dtype),
            "layers": layers, "build_input_shape": [null, n]},
        "registered_name": null,
        "build_config": {"input_shape": [null, n]},
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
