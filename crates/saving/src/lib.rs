//! # tapegrad-saving
//!
//! Weights in and out: [`save_weights`] and [`load_weights`] for any [`Layer`] (a `Dense`, a
//! `Sequential`, a layer of your own), the format taken from the file's name ([`Format`]);
//! [`save_weights_with_optimizer`] / [`load_weights_with_optimizer`] with an optimizer's
//! state, so that a training stopped and resumed gives the bits of one that ran through;
//! [`save_model`] / [`load_model`] for Keras 3's `.keras` archives of `Sequential` models of
//! the layers tapegrad has (their configs through [`Layer::get_config`]).
//!
//! | name ends in | format | names in the file |
//! |---|---|---|
//! | `.safetensors` | the `safetensors` crate's format | each variable's name, Keras's weight name: `dense/kernel`, `dense/bias` |
//! | `.npz` | numpy's `np.savez` (a zip of `.npy` members, stored) | the same names: `np.load(f)["dense/kernel"]` |
//! | `.weights.h5` | Keras 3's `model.save_weights` / `load_weights` | Keras 3's layout: `layers/dense/vars/0`, `layers/dense/vars/1`, `layers/dense_1/vars/0`, ... (layers keyed by class and position, as Keras 3 keys them; the layer's name is its `vars` group's attribute); `optimizer/vars/0`, ... |
//! | `.keras` | Keras 3's `model.save` / `keras.saving.load_model` | `config.json`, `metadata.json`, `model.weights.h5` (the layout above) |
//!
//! Names: in `.safetensors` and `.npz` a variable is keyed by its own name, `layer/weight` as
//! Keras names a weight (tf.keras's `weight.name` without `:0`, Keras 3's `weight.path`
//! inside the model). Two variables of one name cannot be saved by name: that is an error,
//! not a silent overwrite. Keras 3's HDF5 layout keys them by layer and position instead.
//!
//! Optimizer state: in `.weights.h5` (and `.keras`) Keras 3's `optimizer.variables` in its
//! order — the iteration count (int64), the learning rate (float32, when constant), then the
//! slots as Keras's `build` makes them (Adam's `m`, `v` of each variable in turn; RMSprop's
//! every `velocity`, then every `momentum`, ...), then Nadam's running product `u_product`;
//! in `.safetensors` and `.npz` the same by name, `optimizer/iteration`,
//! `optimizer/learning_rate`, `optimizer/m/dense/kernel`, `optimizer/u_product`.
//!
//! HDF5 without a C library: through `hdf5-pure`, a pure-Rust reader and writer (MIT/Apache,
//! maintained, no build script), rather than the small subset of HDF5 Keras uses written
//! here: it reads the superblock-0 files with symbol-table groups that h5py writes
//! (`data/keras/files/keras/`), and h5py and Keras 3 read its files (`data/keras/files/ours/`,
//! checked by `gen_weight_files.py --verify`). The `hdf5` crates bind libhdf5 and need it
//! installed. Only contiguous float32/float64/int64 datasets are read into variables; any
//! other dtype is an error naming it.
//!
//! Writes are atomic: the bytes go to a temporary file in the target's directory, which is
//! then renamed over the target, so a reader sees the old file or the new one, never a part.
//!
//! Loads are whole or nothing: every array in the file is checked against its variable (there,
//! same shape, same dtype, no entry left over) before any variable is assigned. An error is
//! one line naming the file, then the layer, the variable and the shapes or dtypes:
//!
//! ```
//! use tapegrad_autodiff::Tensor;
//! use tapegrad_nn::{Dense, Layer, Sequential};
//!
//! let dir = std::env::temp_dir();
//! let model = Sequential::new()
//!     .layer(Dense::new(4).name("hidden"))?
//!     .layer(Dense::new(1).name("out"))?;
//! let mut model = model;
//! model.build(&[2, 3])?;
//! let path = dir.join("tapegrad_saving_doc_model.safetensors");
//! tapegrad_saving::save_weights(&model, &path)?;
//!
//! let mut copy = Sequential::new()
//!     .layer(Dense::new(4).name("hidden"))?
//!     .layer(Dense::new(1).name("out"))?;
//! copy.build(&[2, 3])?;
//! tapegrad_saving::load_weights(&copy, &path)?;
//! assert!(model.get_weights().iter().zip(copy.get_weights()).all(|(a, b)| a.equals(&b)));
//!
//! // A model whose hidden layer is wider: refused, and nothing is assigned.
//! let mut wide = Sequential::new()
//!     .layer(Dense::new(5).name("hidden"))?
//!     .layer(Dense::new(1).name("out"))?;
//! wide.build(&[2, 3])?;
//! let before = wide.get_weights();
//! let err = tapegrad_saving::load_weights(&wide, &path).unwrap_err();
//! assert!(err.to_string().ends_with(
//!     "layer `hidden`: variable `hidden/kernel` (hidden/kernel) has shape [3, 5] in the model, [3, 4] in the file"
//! ), "{err}");
//! assert!(before.iter().zip(wide.get_weights()).all(|(a, b)| a.equals(&b)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

mod entries;
mod error;
mod h5_file;
mod keras_archive;
mod npz_file;
mod optimizer_state;
mod safetensors_file;

use std::path::Path;

use tapegrad_nn::Layer;
use tapegrad_optim::Optimizer;

pub use error::{Error, Result, VariableAt};

/// A weights file's format, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// `.safetensors`.
    Safetensors,
    /// `.npz` (numpy's `savez`).
    Npz,
    /// Keras 3's `.weights.h5`.
    WeightsH5,
    /// Keras 3's `.keras` archive (read by [`load_model`]; its weights by [`load_weights`]).
    Keras,
}

impl Format {
    /// The format a file name says (`model.safetensors`, `w.npz`), case-insensitively.
    ///
    /// ```
    /// use tapegrad_saving::Format;
    /// assert_eq!(Format::from_path("run/w.NPZ")?, Format::Npz);
    /// assert!(Format::from_path("w.txt").unwrap_err().to_string().contains("unknown weights format"));
    /// # Ok::<(), tapegrad_saving::Error>(())
    /// ```
    pub fn from_path(path: impl AsRef<Path>) -> Result<Format> {
        let path = path.as_ref();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        if name.ends_with(".safetensors") {
            Ok(Format::Safetensors)
        } else if name.ends_with(".npz") {
            Ok(Format::Npz)
        } else if name.ends_with(".weights.h5") {
            Ok(Format::WeightsH5)
        } else if name.ends_with(".keras") {
            Ok(Format::Keras)
        } else {
            Err(Error::UnknownFormat {
                path: path.to_path_buf(),
            })
        }
    }
}

impl Format {
    /// The format [`save_weights`] writes a file of this name in: [`from_path`](Format::from_path),
    /// with `.keras` refused (an archive holds a model: [`save_model`]). For checking a name
    /// before training, not at the first save.
    ///
    /// ```
    /// use tapegrad_saving::Format;
    /// assert_eq!(Format::for_weights("ckpt/e{epoch:02d}.weights.h5")?, Format::WeightsH5);
    /// assert!(Format::for_weights("m.keras").unwrap_err().to_string().ends_with("use save_model"));
    /// # Ok::<(), tapegrad_saving::Error>(())
    /// ```
    pub fn for_weights(path: impl AsRef<Path>) -> Result<Format> {
        let path = path.as_ref();
        match Format::from_path(path)? {
            Format::Keras => Err(use_save_model(path)),
            format => Ok(format),
        }
    }
}

/// Writes the bytes atomically (a temporary file beside `path`, then a rename).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    tapegrad_datasets::io::write_atomic(path, bytes).map_err(|e| error::from_datasets(path, e))
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Saves every variable of `model` to `path`, in the format its name says ([`Format`]),
/// whole or not at all. The model must be built.
///
/// ```
/// use tapegrad_nn::{Dense, Layer};
/// let mut layer = Dense::new(2).name("dense");
/// layer.build(&[3])?;
/// let path = std::env::temp_dir().join("tapegrad_saving_doc_save.npz");
/// tapegrad_saving::save_weights(&layer, &path)?;
/// let mut r = tapegrad_datasets::io::NpzReader::open(&path)?;
/// assert_eq!(r.names(), ["dense/bias", "dense/kernel"]);
/// assert_eq!(r.by_name::<f32>("dense/kernel")?.shape(), &[3, 2]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn save_weights(model: &dyn Layer, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let format = Format::from_path(path)?;
    let (entries, groups) = entries::model_entries(model, path)?;
    match format {
        Format::Safetensors | Format::Npz => write_flat(path, format, &flat_items(&entries)),
        Format::WeightsH5 => write_atomic(path, &h5_tree(&entries, &groups).to_bytes(path)?),
        Format::Keras => Err(use_save_model(path)),
    }
}

/// Loads every variable of `model` from `path`, in the format its name says ([`Format`]).
/// Everything is checked first (each variable there with its shape and dtype, nothing
/// else in the file); on any error no variable has changed.
///
/// ```
/// use tapegrad_nn::{Dense, Layer};
/// let mut a = Dense::new(2).name("d");
/// a.build(&[3])?;
/// let path = std::env::temp_dir().join("tapegrad_saving_doc_load.safetensors");
/// tapegrad_saving::save_weights(&a, &path)?;
/// let mut b = Dense::new(2).name("d");
/// b.build(&[3])?;
/// tapegrad_saving::load_weights(&b, &path)?;
/// assert!(a.get_weights()[0].equals(&b.get_weights()[0]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load_weights(model: &dyn Layer, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let format = Format::from_path(path)?;
    let (entries, groups) = entries::model_entries(model, path)?;
    let stored = match format {
        Format::Safetensors | Format::Npz => read_flat(path, format)?
            .into_iter()
            .filter(|(k, _)| !k.starts_with(optimizer_state::FLAT_PREFIX))
            .collect(),
        Format::WeightsH5 | Format::Keras => {
            let (at, bytes) = h5_bytes(path, format)?;
            return load_h5(&at, &entries, &groups, bytes);
        }
    };
    entries::assign_all(path, &entries, stored, |e| &e.name)
}

/// A model's variables as named values of a flat file.
fn flat_items(entries: &[entries::Entry]) -> Vec<(String, entries::Values)> {
    let value = |e: &entries::Entry| entries::Values::Tensor(e.var.snapshot());
    entries.iter().map(|e| (e.name.clone(), value(e))).collect()
}

fn write_flat(path: &Path, format: Format, items: &[(String, entries::Values)]) -> Result<()> {
    match format {
        Format::Npz => npz_file::write(path, items),
        _ => write_atomic(path, &safetensors_file::to_bytes(path, items)?),
    }
}

fn read_flat(path: &Path, format: Format) -> Result<Vec<(String, entries::Stored)>> {
    match format {
        Format::Npz => npz_file::read(path),
        _ => safetensors_file::from_bytes(path, &read_file(path)?),
    }
}

/// The HDF5 bytes of a `.weights.h5` file or of a `.keras` archive's `model.weights.h5`,
/// with the path messages name (`m.keras/model.weights.h5` for an archive).
fn h5_bytes(path: &Path, format: Format) -> Result<(std::path::PathBuf, Vec<u8>)> {
    let bytes = read_file(path)?;
    if format == Format::Keras {
        let archive = keras_archive::read(path, bytes)?;
        return Ok((keras_archive::weights_path(path), archive.weights));
    }
    Ok((path.to_path_buf(), bytes))
}

/// Loads a model's part of Keras 3's HDF5 weights (the optimizer's ignored), whole or not at all.
fn load_h5(
    at: &Path,
    entries: &[entries::Entry],
    groups: &[entries::VarsGroup],
    bytes: Vec<u8>,
) -> Result<()> {
    // scalars beside the variables (Normalization's count); the optimizer's part is not read
    let budget = h5_file::Budget::for_entries(entries, 1);
    let model_part = h5_file::read(at, bytes, &budget)?
        .into_iter()
        .filter(|(k, _)| !k.starts_with(OPTIMIZER_GROUP))
        .collect();
    let stored = entries::without_counts(groups, model_part);
    entries::assign_all(at, entries, stored, |e| &e.h5)
}

/// A `.keras` archive and the model its `config.json` describes, built, weights not loaded.
fn read_model(path: &Path) -> Result<(keras_archive::Archive, tapegrad_nn::Sequential)> {
    let archive = keras_archive::read(path, read_file(path)?)?;
    let model = keras_archive::model_from_config(path, &archive.config, archive.weights.len())?;
    Ok((archive, model))
}

/// Where Keras 3 keeps an optimizer's variables in a `.weights.h5` file.
const OPTIMIZER_GROUP: &str = "optimizer/";

/// Keras 3's layout of a model's weights: `layers/<class>[_<k>]/vars/<i>`, each `vars` group named
/// after its layer, the model's own at `vars`.
fn h5_tree(entries: &[entries::Entry], groups: &[entries::VarsGroup]) -> h5_file::Tree {
    let mut tree = h5_file::Tree::default();
    for g in groups {
        tree.group(&g.group, &g.layer);
    }
    for e in entries {
        tree.dataset(&e.h5, entries::Values::Tensor(e.var.snapshot()));
    }
    // Keras 3's Normalization keeps a `count` it never updates (0), for old files
    for g in groups {
        if let Some(at) = &g.count_at {
            tree.dataset(at, entries::Values::I64(0));
        }
    }
    tree
}

/// [`save_weights`] with the optimizer's state beside the weights, as Keras 3's
/// `model.save_weights` writes a compiled model's: `optimizer/vars/0` the iteration count
/// (int64), `optimizer/vars/1` the learning rate (float32, when constant), then the slots in
/// Keras's order. In `.safetensors` and `.npz` files, beside the weights, by name:
/// `optimizer/iteration`, `optimizer/learning_rate`, `optimizer/<slot>/<variable>`
/// (`optimizer/m/dense/kernel`).
///
/// A training stopped after a save and resumed after [`load_weights_with_optimizer`] gives
/// the same bits as one that ran through.
///
/// ```
/// use tapegrad_autodiff::{reduce_sum, square, Tensor};
/// use tapegrad_nn::{Dense, Layer};
/// use tapegrad_optim::{Adam, Optimizer, OptimizerExt};
/// let mut model = Dense::new(1).name("d");
/// model.build(&[2])?;
/// let mut opt = Adam::new(0.01);
/// let x = Tensor::from_vec(vec![1.0f32, 2.0], &[1, 2])?;
/// let vars = model.trainable_variables();
/// let refs: Vec<_> = vars.iter().collect();
/// opt.minimize(|| reduce_sum(square(model.call(&x).unwrap())?, None, false), &refs)?;
/// let path = std::env::temp_dir().join("tapegrad_saving_doc_opt.weights.h5");
/// tapegrad_saving::save_weights_with_optimizer(&model, &opt, &path)?;
///
/// let mut resumed = Adam::new(0.01);
/// tapegrad_saving::load_weights_with_optimizer(&model, &mut resumed, &path)?;
/// assert_eq!(resumed.iterations(), 1);
/// assert!(resumed.slot(&vars[0], "v").unwrap().equals(&opt.slot(&vars[0], "v").unwrap()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn save_weights_with_optimizer(
    model: &dyn Layer,
    optimizer: &dyn Optimizer,
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    let format = Format::from_path(path)?;
    let (entries, groups) = entries::model_entries(model, path)?;
    match format {
        Format::WeightsH5 => {
            let mut tree = h5_tree(&entries, &groups);
            add_optimizer(&mut tree, path, optimizer)?;
            write_atomic(path, &tree.to_bytes(path)?)
        }
        Format::Safetensors | Format::Npz => {
            let mut items = flat_items(&entries);
            items.extend(optimizer_state::to_flat(path, optimizer)?);
            write_flat(path, format, &items)
        }
        Format::Keras => Err(use_save_model(path)),
    }
}

fn use_save_model(path: &Path) -> Error {
    error::model_err(
        path,
        "a .keras archive holds a model, not weights alone: use save_model",
    )
}

/// The optimizer's `vars` group, in Keras 3's layout.
fn add_optimizer(tree: &mut h5_file::Tree, path: &Path, optimizer: &dyn Optimizer) -> Result<()> {
    let group = format!("{OPTIMIZER_GROUP}vars");
    tree.group(&group, &optimizer_state::keras_name(optimizer));
    for (i, v) in optimizer_state::to_values(path, optimizer)?
        .into_iter()
        .enumerate()
    {
        tree.dataset(&format!("{group}/{i}"), v);
    }
    Ok(())
}

/// What [`load_weights_with_optimizer`] did with the optimizer (the weights are loaded
/// either way).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptimizerLoad {
    /// Its state (iterations, learning rate, slots) is the file's.
    Restored,
    /// Left as it was, as Keras 3 skips it with a warning: the file holds no optimizer state,
    /// or the state of one that never stepped (iterations 0) which does not fit this
    /// optimizer. The message says which.
    Skipped(String),
}

/// [`load_weights`] and the optimizer's state saved beside the weights (see
/// [`save_weights_with_optimizer`]). The optimizer is built on the model's trainable
/// variables first (Keras's `optimizer.build`), which makes the slots it lacks; then the
/// weights and every optimizer variable (count, shapes, dtypes) are checked, and only when all
/// fit are the model and the optimizer assigned. On an error neither has changed: slots the
/// build made are dropped again.
///
/// A file without optimizer state, or whose optimizer never stepped (iterations 0, as a
/// compiled but untrained Keras model saves it) and does not fit, loads the weights and
/// leaves the optimizer as it was: [`OptimizerLoad::Skipped`], Keras 3's "Skipping variable
/// loading for optimizer" warning.
///
/// ```
/// use tapegrad_nn::{Dense, Layer};
/// use tapegrad_optim::Adam;
/// use tapegrad_saving::OptimizerLoad;
/// let mut model = Dense::new(1).name("d");
/// model.build(&[2])?;
/// let path = std::env::temp_dir().join("tapegrad_saving_doc_skip.weights.h5");
/// tapegrad_saving::save_weights(&model, &path)?; // the weights alone
/// let loaded = tapegrad_saving::load_weights_with_optimizer(&model, &mut Adam::new(0.01), &path)?;
/// assert!(matches!(loaded, OptimizerLoad::Skipped(ref why) if why.contains("no optimizer state")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load_weights_with_optimizer(
    model: &dyn Layer,
    optimizer: &mut dyn Optimizer,
    path: impl AsRef<Path>,
) -> Result<OptimizerLoad> {
    let path = path.as_ref();
    let format = Format::from_path(path)?;
    let (entries, groups) = entries::model_entries(model, path)?;
    let flat = matches!(format, Format::Safetensors | Format::Npz);
    let (at, values, opt_part) = if flat {
        let (opt_part, model_part): (Vec<_>, Vec<_>) = read_flat(path, format)?
            .into_iter()
            .partition(|(k, _)| k.starts_with(optimizer_state::FLAT_PREFIX));
        let values = entries::check_all(path, &entries, model_part, |e| &e.name)?;
        (path.to_path_buf(), values, opt_part)
    } else {
        let (at, bytes) = h5_bytes(path, format)?;
        // the optimizer's slots are shaped as the model's variables: nothing larger is read
        let budget = h5_file::Budget::for_entries(&entries, h5_file::Budget::largest(&entries));
        let datasets = h5_file::read(&at, bytes, &budget)?;
        let (opt_part, model_part): (Vec<_>, Vec<_>) = datasets
            .into_iter()
            .partition(|(k, _)| k.starts_with(OPTIMIZER_GROUP));
        let stored = entries::without_counts(&groups, model_part);
        let values = entries::check_all(&at, &entries, stored, |e| &e.h5)?;
        (at, values, opt_part)
    };
    let at = at.as_path();
    if opt_part.is_empty() {
        entries::assign_checked(at, &entries, values)?;
        return Ok(OptimizerLoad::Skipped(format!(
            "{}: the file holds no optimizer state: the weights are loaded, optimizer `{}` is left as it was",
            at.display(),
            optimizer.name()
        )));
    }
    let iterations_key = if flat {
        format!("{}iteration", optimizer_state::FLAT_PREFIX)
    } else {
        format!("{OPTIMIZER_GROUP}vars/0")
    };
    let never_stepped = opt_part.iter().any(|(k, s)| {
        *k == iterations_key && matches!(s, entries::Stored::I64(_, v) if v.as_slice() == [0])
    });
    // building makes slots: on a refusal the optimizer goes back to what it was
    let before = optimizer.base().clone();
    let restore = || -> Result<()> {
        let state = if flat {
            build_on(at, optimizer, model)?;
            optimizer_state::from_flat(at, optimizer, opt_part)?
        } else {
            optimizer_part(at, optimizer, model, opt_part)?
        };
        // the optimizer's state is checked as it is set, so it goes first: a refused state
        // leaves the model as it was (the model's values are checked already)
        set_state(at, optimizer, &state)
    };
    let outcome = match restore() {
        Ok(()) => OptimizerLoad::Restored,
        Err(e) => {
            *optimizer.base_mut() = before;
            if !never_stepped {
                return Err(e);
            }
            OptimizerLoad::Skipped(format!(
                "{e}; the file's optimizer never stepped (iterations 0): the weights are loaded, optimizer `{}` is left as it was",
                optimizer.name()
            ))
        }
    };
    entries::assign_checked(at, &entries, values)?;
    Ok(outcome)
}

/// Builds the optimizer's slots for the model's trainable variables (Keras's
/// `optimizer.build(model.trainable_variables)`).
fn build_on(path: &Path, optimizer: &mut dyn Optimizer, model: &dyn Layer) -> Result<()> {
    let trainable = model.trainable_variables();
    let refs: Vec<&tapegrad_autodiff::Variable> = trainable.iter().collect();
    optimizer
        .build(&refs)
        .map_err(|e| optimizer_err(path, optimizer, e))
}

fn optimizer_err(path: &Path, optimizer: &dyn Optimizer, e: tapegrad_optim::Error) -> Error {
    Error::Optimizer {
        path: path.to_path_buf(),
        optimizer: optimizer.name().to_string(),
        message: e.to_string(),
    }
}

fn set_state(
    path: &Path,
    optimizer: &mut dyn Optimizer,
    state: &tapegrad_optim::OptimizerState,
) -> Result<()> {
    optimizer
        .set_state(state)
        .map_err(|e| optimizer_err(path, optimizer, e))
}

/// The optimizer's state in `datasets` (`optimizer/vars/<i>`, each index once from 0), for
/// the optimizer built on `model`'s trainable variables.
fn optimizer_part(
    path: &Path,
    optimizer: &mut dyn Optimizer,
    model: &dyn Layer,
    datasets: Vec<(String, entries::Stored)>,
) -> Result<tapegrad_optim::OptimizerState> {
    let group = format!("{OPTIMIZER_GROUP}vars");
    let name = optimizer.name().to_string();
    let opt_err = |message: String| Error::Optimizer {
        path: path.to_path_buf(),
        optimizer: name.clone(),
        message,
    };
    if datasets.is_empty() {
        return Err(opt_err(format!(
            "the file has no optimizer state (no `{group}` group)"
        )));
    }
    let mut indexed: Vec<(usize, entries::Stored)> = Vec::with_capacity(datasets.len());
    for (k, r) in datasets {
        let i = k
            .strip_prefix(&format!("{group}/"))
            .and_then(|i| i.parse::<usize>().ok())
            .ok_or_else(|| opt_err(format!("`{k}` is not one of Keras's `{group}/<index>`")))?;
        indexed.push((i, r));
    }
    indexed.sort_by_key(|(i, _)| *i);
    if let Some((j, (i, _))) = indexed.iter().enumerate().find(|(j, (i, _))| j != i) {
        return Err(opt_err(format!(
            "`{group}/{j}` is missing (next: `{group}/{i}`)"
        )));
    }
    build_on(path, optimizer, model)?;
    let stored = indexed
        .into_iter()
        .map(|(i, r)| (format!("{group}/{i}"), r))
        .collect();
    optimizer_state::from_values(path, optimizer, &group, stored)
}

/// The `Sequential` model of a `.keras` archive (Keras 3's `model.save`), built from its
/// `config.json` (an `InputLayer`, then each layer through
/// [`tapegrad_nn::layer_from_config`]: Dense, Dropout, Flatten, LayerNormalization,
/// BatchNormalization, Normalization) with its weights from `model.weights.h5`, ready to
/// predict and to train. Another layer or model class, a config key the layer does not have
/// or a setting tapegrad lacks is one error naming the file, the layer and the key.
///
/// ```no_run
/// let model = tapegrad_saving::load_model("trained.keras")?;
/// # Ok::<(), tapegrad_saving::Error>(())
/// ```
pub fn load_model(path: impl AsRef<Path>) -> Result<tapegrad_nn::Sequential> {
    let path = path.as_ref();
    let (archive, model) = read_model(path)?;
    let at = keras_archive::weights_path(path);
    let (entries, groups) = entries::model_entries(&model, &at)?;
    load_h5(&at, &entries, &groups, archive.weights)?;
    Ok(model)
}

/// Saves a `Sequential` model as a `.keras` archive that Keras 3's `keras.saving.load_model`
/// reads: `config.json` (an `InputLayer` of the shape the model was built on, then each
/// layer's [`Layer::get_config`]: Dense, Dropout, Flatten, LayerNormalization,
/// BatchNormalization, Normalization), `metadata.json`, and the weights in
/// `model.weights.h5` (an adapted Normalization's int64 `count` included, as Keras 3 keeps
/// it). Written atomically. A layer without a Keras config is an error naming it.
///
/// An initializer Keras does not have is written as Keras's default for that weight (it does
/// not matter to a trained model). No optimizer is saved: keep its state with
/// [`save_weights_with_optimizer`].
///
/// ```
/// use tapegrad_nn::{Dense, Dropout, Layer, LayerNormalization, Sequential};
/// let mut model = Sequential::new()
///     .layer(Dense::new(3).activation("tanh")?.name("hidden"))?
///     .layer(Dropout::new(0.5)?.seed(1))?
///     .layer(LayerNormalization::new())?
///     .layer(Dense::new(1).name("out"))?;
/// model.build(&[1, 2])?;
/// let path = std::env::temp_dir().join("tapegrad_saving_doc_model.keras");
/// tapegrad_saving::save_model(&model, &path)?;
/// let back = tapegrad_saving::load_model(&path)?;
/// assert!(back.get_weights().iter().zip(model.get_weights()).all(|(a, b)| a.equals(&b)));
/// let classes: Vec<&str> = back.layers().iter().map(|l| l.class_name()).collect();
/// assert_eq!(classes, ["Dense", "Dropout", "LayerNormalization", "Dense"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn save_model(model: &dyn Layer, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    if Format::from_path(path)? != Format::Keras {
        return Err(error::model_err(
            path,
            "a model is saved as a .keras archive",
        ));
    }
    let at = keras_archive::weights_path(path);
    // an unbuilt model is refused as such before its layers' configuration is asked for
    let (entries, groups) = entries::model_entries(model, &at)?;
    let config = keras_archive::config_of(path, model)?;
    let weights = h5_tree(&entries, &groups).to_bytes(&at)?;
    write_atomic(path, &keras_archive::to_bytes(path, &config, &weights)?)
}

/// Runs the README's example as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// [`load_model`] and the optimizer the archive was compiled with (Keras's `compile_config`:
/// SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax or Nadam, with its hyperparameters),
/// its state restored from `model.weights.h5` when the archive holds one: training goes on
/// where Keras stopped. `None` for a model saved uncompiled.
///
/// ```no_run
/// use tapegrad_optim::Optimizer;
/// let (model, optimizer) = tapegrad_saving::load_model_and_optimizer("trained.keras")?;
/// assert_eq!(optimizer.map(|o| o.iterations()), Some(3));
/// # Ok::<(), tapegrad_saving::Error>(())
/// ```
pub fn load_model_and_optimizer(
    path: impl AsRef<Path>,
) -> Result<(tapegrad_nn::Sequential, Option<Box<dyn Optimizer>>)> {
    let path = path.as_ref();
    let (archive, model) = read_model(path)?;
    let Some(mut optimizer) = keras_archive::optimizer_from_config(path, &archive.config)? else {
        load_weights(&model, path)?;
        return Ok((model, None));
    };
    let at = keras_archive::weights_path(path);
    // which datasets there are, none read
    let has_state = h5_file::read(&at, archive.weights, &h5_file::Budget::default())?
        .iter()
        .any(|(k, _)| k.starts_with(OPTIMIZER_GROUP));
    if has_state {
        load_weights_with_optimizer(&model, &mut optimizer, path)?;
    } else {
        load_weights(&model, path)?;
    }
    Ok((model, Some(optimizer)))
}
