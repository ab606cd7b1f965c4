//! `tapegrad fit`: Keras's `compile` and `fit` of a stack of Dense layers on a table, from the
//! command line.
//!
//! All columns but the targets are features. `--layers 8:relu,1` lists the Dense layers as
//! `UNITS[:ACTIVATION]` (Keras's activation names); with `--seed S` the kernel of the i-th
//! Dense layer (from 0) is `GlorotUniform(seed = S + i)` and every bias zeros, so that a
//! tf-keras script built the same way starts from the same weights:
//!
//! ```python
//! model = tf.keras.Sequential([tf.keras.Input((n_features,))] + [
//!     tf.keras.layers.Dense(units, activation,
//!         kernel_initializer=tf.keras.initializers.GlorotUniform(seed=S + i))
//!     for i, (units, activation) in enumerate(layers)])
//! ```
//!
//! ```
//! use tapegrad_runner::fit::{parse_layers, LayerSpec};
//! assert_eq!(
//!     parse_layers("8:relu,1")?,
//!     [LayerSpec { units: 8, activation: Some("relu".into()) }, LayerSpec { units: 1, activation: None }]
//! );
//! assert!(parse_layers("8:relux").is_err());
//! # Ok::<(), tapegrad_runner::output::UsageError>(())
//! ```

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use serde_json::{json, Value};
use tapegrad_autodiff::Tensor;
use tapegrad_nn::{Dense, GlorotUniform, IntoActivation, Layer, Sequential};
use tapegrad_optim::Optimizer;
use tapegrad_train::{CompileExt, EarlyStopping, FitOptions, History, IntoOptimizer};

use crate::json::{nums, tensor_json};
use crate::output::UsageError;

/// One Dense layer of `--layers`: its units and Keras's name of its activation.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerSpec {
    /// Output units.
    pub units: usize,
    /// The activation's name (`None`: linear).
    pub activation: Option<String>,
}

/// Parses `--layers`: `UNITS[:ACTIVATION]`, separated by commas; an activation Keras does not
/// name, or a count that is not a positive integer, is refused naming the item.
pub fn parse_layers(text: &str) -> Result<Vec<LayerSpec>, UsageError> {
    let bad = |item: &str, why: String| {
        UsageError(format!(
            "--layers: `{item}` is not UNITS[:ACTIVATION] ({why}); for example --layers 8:relu,1"
        ))
    };
    if text.trim().is_empty() {
        return Err(bad(text, "no layers".into()));
    }
    text.split(',')
        .map(|item| {
            let item = item.trim();
            let (units, activation) = match item.split_once(':') {
                Some((u, a)) => (u, Some(a.trim())),
                None => (item, None),
            };
            let units: usize = units
                .trim()
                .parse()
                .ok()
                .filter(|&u| u > 0)
                .ok_or_else(|| bad(item, "the units are a positive integer".into()))?;
            if let Some(a) = activation {
                // the activation is checked here, before any data is read
                a.into_activation().map_err(|e| bad(item, e.to_string()))?;
            }
            Ok(LayerSpec {
                units,
                activation: activation.map(str::to_string),
            })
        })
        .collect()
}

/// What `tapegrad fit` was asked to do.
#[derive(Debug, Clone)]
pub struct FitSpec {
    /// The table: CSV (or Parquet, built with the `parquet` feature).
    pub data: PathBuf,
    /// The target columns.
    pub targets: Vec<String>,
    /// The Dense layers.
    pub layers: Vec<LayerSpec>,
    /// The seed of the kernels (layer i: `seed + i`) and of the shuffle; `None`: unseeded
    /// kernels and a shuffle seeded by 0.
    pub seed: Option<u32>,
    /// Keras's name of the optimizer.
    pub optimizer: String,
    /// The learning rate (`None`: the optimizer's Keras default).
    pub learning_rate: Option<f64>,
    /// SGD's momentum.
    pub momentum: Option<f64>,
    /// Keras's name of the loss.
    pub loss: String,
    /// Keras's names of the metrics.
    pub metrics: Vec<String>,
    /// Epochs.
    pub epochs: usize,
    /// Rows a batch.
    pub batch_size: usize,
    /// Whether the rows are permuted each epoch.
    pub shuffle: bool,
    /// The last fraction of the rows kept for validation.
    pub validation_split: f64,
    /// Early stopping on `val_loss` (or `loss` without validation) after this many epochs
    /// without improvement.
    pub early_stopping_patience: Option<usize>,
    /// 0 silent, 1 a bar, 2 a line an epoch.
    pub verbose: u8,
    /// Weights to start from instead of the initializers (`.weights.h5`, `.keras`,
    /// `.safetensors`, `.npz`), checked whole before any is assigned.
    pub initial_weights: Option<PathBuf>,
    /// Where to write the trained weights (the format from the name), atomically.
    pub save_weights: Option<PathBuf>,
}

/// What a fit gives: the history and the weights before and after, in Keras's
/// `get_weights()` order, and the model (for saving).
pub struct FitOutcome {
    /// Each epoch's logs.
    pub history: History,
    /// The weights before training.
    pub initial_weights: Vec<Tensor>,
    /// The weights after training.
    pub weights: Vec<Tensor>,
    /// The trained model.
    pub model: Sequential,
}

/// Reads the table: its features and targets as float32 `(rows, columns)` tensors.
pub fn read_table(path: &Path, targets: &[String]) -> anyhow::Result<(Tensor, Tensor)> {
    if targets.is_empty() {
        return Err(UsageError("--target: name at least one target column".into()).into());
    }
    let names: Vec<&str> = targets.iter().map(String::as_str).collect();
    let is_parquet = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    let data = if is_parquet {
        read_parquet(path)?
    } else {
        tapegrad_datasets::io::read_csv(path)?
    };
    let mut data = data;
    data.set_targets(&names)?;
    if data.ncols() == targets.len() {
        return Err(UsageError(format!(
            "{}: every column is a target; the features are the other columns",
            path.display()
        ))
        .into());
    }
    let f32s = |a: ndarray::Array2<f64>| Tensor::from_array(a.mapv(|v| v as f32));
    Ok((f32s(data.features()), f32s(data.targets())))
}

#[cfg(feature = "parquet")]
fn read_parquet(path: &Path) -> anyhow::Result<tapegrad_datasets::Dataset> {
    Ok(tapegrad_datasets::io::read_parquet(path)?)
}

#[cfg(not(feature = "parquet"))]
fn read_parquet(path: &Path) -> anyhow::Result<tapegrad_datasets::Dataset> {
    Err(UsageError(format!(
        "{}: a Parquet file, and this tapegrad was built without Parquet; build it with the \
         `parquet` feature: cargo build -p tapegrad-runner --release --features parquet \
         (or cargo run -p tapegrad-runner --features parquet -- fit ...)",
        path.display()
    ))
    .into())
}

/// The model of `layers` on `features` inputs, its kernels seeded as the module says, its
/// layers named as Keras names those of a fresh session (`dense`, `dense_1`, ...), which a
/// weights file's entries are keyed by.
pub fn build_model(
    layers: &[LayerSpec],
    features: usize,
    seed: Option<u32>,
) -> anyhow::Result<Sequential> {
    let mut model = Sequential::with_input_shape(&[features]);
    for (i, spec) in layers.iter().enumerate() {
        let name = if i == 0 {
            "dense".to_string()
        } else {
            format!("dense_{i}")
        };
        let mut dense = Dense::new(spec.units).name(&name);
        if let Some(a) = &spec.activation {
            dense = dense.activation(a.as_str())?;
        }
        if let Some(s) = seed {
            dense = dense.kernel_initializer(GlorotUniform::new().seed(u64::from(s) + i as u64));
        }
        model = model.layer(dense)?;
    }
    Ok(model)
}

/// The optimizer of `name` with the learning rate and momentum asked for.
fn optimizer(spec: &FitSpec) -> anyhow::Result<Box<dyn Optimizer>> {
    let mut opt: Box<dyn Optimizer> =
        match (spec.optimizer.to_ascii_lowercase().as_str(), spec.momentum) {
            ("sgd", Some(m)) => Box::new(tapegrad_optim::Sgd::default().momentum(m)),
            ("rmsprop", Some(m)) => Box::new(tapegrad_optim::RMSprop::default().momentum(m)),
            (_, Some(_)) => {
                return Err(UsageError(format!(
                    "--momentum: {} has no momentum (sgd and rmsprop have)",
                    spec.optimizer
                ))
                .into())
            }
            (name, None) => name
                .into_optimizer()
                .map_err(|e| UsageError(format!("--optimizer: {e}")))?,
        };
    if let Some(lr) = spec.learning_rate {
        opt.set_learning_rate(lr)
            .map_err(|e| UsageError(format!("--learning-rate: {e}")))?;
    }
    opt.validate()
        .map_err(|e| UsageError(format!("--optimizer {}: {e}", spec.optimizer)))?;
    Ok(opt)
}

/// Compiles and fits as the spec says, stopping after the current batch when `stop` is set.
pub fn fit(spec: &FitSpec, stop: Option<Arc<AtomicBool>>) -> anyhow::Result<FitOutcome> {
    if spec.epochs == 0 {
        return Err(UsageError("--epochs: at least 1".into()).into());
    }
    if spec.batch_size == 0 {
        return Err(UsageError("--batch-size: at least 1".into()).into());
    }
    if !(0.0..1.0).contains(&spec.validation_split) {
        return Err(UsageError(format!(
            "--validation-split: a fraction in [0, 1), got {}",
            spec.validation_split
        ))
        .into());
    }
    let opt = optimizer(spec)?;
    let (x, y) = read_table(&spec.data, &spec.targets)?;
    let model = build_model(&spec.layers, x.shape()[1], spec.seed)?;
    if let Some(path) = &spec.initial_weights {
        tapegrad_saving::load_weights(&model, path)?;
    }
    if let Some(path) = &spec.save_weights {
        // refused before training: a format we cannot write, a directory that is not there
        if tapegrad_saving::Format::from_path(path)? == tapegrad_saving::Format::Keras {
            return Err(UsageError(format!(
                "--save-weights: {} is a .keras archive, which holds a model; name a \
                 .weights.h5, .safetensors or .npz file",
                path.display()
            ))
            .into());
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.is_dir() {
                return Err(UsageError(format!(
                    "--save-weights: {} is not a directory",
                    dir.display()
                ))
                .into());
            }
        }
    }
    let initial_weights = model.get_weights();
    let metrics: Vec<&str> = spec.metrics.iter().map(String::as_str).collect();
    let mut compiled = model
        .compile(opt, spec.loss.as_str(), metrics)
        .map_err(|e| UsageError(e.to_string()))?;
    let monitor = if spec.validation_split > 0.0 {
        "val_loss"
    } else {
        "loss"
    };
    let mut early = spec
        .early_stopping_patience
        .map(|p| EarlyStopping::new(monitor).patience(p));
    let mut options = FitOptions::new()
        .epochs(spec.epochs)
        .batch_size(spec.batch_size)
        .shuffle(spec.shuffle)
        .seed(spec.seed.unwrap_or(0))
        .validation_split(spec.validation_split)
        .verbose(spec.verbose);
    if let Some(e) = early.as_mut() {
        options = options.callback(e);
    }
    if let Some(stop) = stop {
        options = options.stop_flag(stop);
    }
    let history = compiled.fit(&x, &y, options)?;
    let model = compiled.into_model();
    if let Some(path) = &spec.save_weights {
        if history.interrupted {
            // as Keras: a fit stopped by Ctrl-C raises KeyboardInterrupt and the script's
            // save_weights never runs; a file from --save-weights is always a whole fit's
            crate::output::note(&format!(
                "interrupted: --save-weights {} not written (the fit did not complete its epochs;                  nothing is written on an interrupt, as in Keras)",
                path.display()
            ));
        } else {
            tapegrad_saving::save_weights(&model, path)?;
        }
    }
    let weights = model.get_weights();
    Ok(FitOutcome {
        history,
        initial_weights,
        weights,
        model,
    })
}

/// The `--json` line: `{"history": {...}, "initial_weights": [...], "weights": [...]}`, the
/// weights as nested lists of their shapes (a non-finite number as `"nan"`, `"inf"`).
pub fn outcome_json(outcome: &FitOutcome) -> Value {
    let history: serde_json::Map<String, Value> = outcome
        .history
        .keys()
        .map(|k| {
            (
                k.to_string(),
                nums(outcome.history.get(k).unwrap_or_default()),
            )
        })
        .collect();
    json!({
        "history": history,
        "initial_weights": outcome.initial_weights.iter().map(tensor_json).collect::<Vec<_>>(),
        "weights": outcome.weights.iter().map(tensor_json).collect::<Vec<_>>(),
    })
}
