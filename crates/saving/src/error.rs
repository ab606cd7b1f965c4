//! [`Error`]: what a weights file can get wrong, each on one line that starts with the file.

use std::path::PathBuf;

/// An error saving or loading weights. Each displays as one line naming the file first, then
/// the layer, the variable and the shapes or dtypes where they apply.
///
/// ```
/// use tapegrad_nn::{Dense, Layer};
/// let mut model = Dense::new(2).name("out");
/// model.build(&[3])?;
/// let path = std::env::temp_dir().join("tapegrad_saving_doc_error.safetensors");
/// std::fs::write(&path, b"not safetensors").unwrap();
/// let err = tapegrad_saving::load_weights(&model, &path).unwrap_err();
/// assert!(err.to_string().starts_with(&path.display().to_string()), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing the file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file's name says no format we know.
    #[error(
        "{}: unknown weights format (the name must end in .safetensors, .npz, .weights.h5 or .keras)",
        path.display()
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// The bytes are not a file of the format, or are cut short or garbled.
    #[error("{}: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The model has a variable the file does not hold.
    #[error("{}: {at} is not in the file", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
        /// The layer, the variable and where it was looked for in the file.
        at: Box<VariableAt>,
    },
    /// The file holds an entry the model has no variable for.
    #[error("{}: `{key}` is in the file but the model has no such variable", path.display())]
    Unexpected {
        /// The file.
        path: PathBuf,
        /// The entry.
        key: String,
    },
    /// A stored array has another shape than the variable.
    #[error(
        "{}: {at} has shape {expected:?} in the model, {found:?} in the file",
        path.display()
    )]
    Shape {
        /// The file.
        path: PathBuf,
        /// The layer, the variable and its entry in the file.
        at: Box<VariableAt>,
        /// The variable's shape.
        expected: Vec<usize>,
        /// The stored shape.
        found: Vec<usize>,
    },
    /// A stored array has another dtype than the variable.
    #[error(
        "{}: {at} is {expected} in the model, {found} in the file",
        path.display()
    )]
    DType {
        /// The file.
        path: PathBuf,
        /// The layer, the variable and its entry in the file.
        at: Box<VariableAt>,
        /// The variable's dtype.
        expected: String,
        /// The stored dtype.
        found: String,
    },
    /// A stored array has a dtype tapegrad does not have (float16, an integer, ...).
    #[error(
        "{}: {at} is stored as {found}, a dtype tapegrad does not have (the model's is {expected})",
        path.display()
    )]
    UnsupportedDType {
        /// The file.
        path: PathBuf,
        /// The layer, the variable and its entry in the file.
        at: Box<VariableAt>,
        /// The variable's dtype.
        expected: String,
        /// The stored dtype, and shape when known.
        found: String,
    },
    /// The model cannot be saved as asked (not built, two variables of one name, a layer
    /// `.keras` does not describe).
    #[error("{}: {message}", path.display())]
    Model {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The optimizer's state in the file does not fit the optimizer.
    #[error("{}: optimizer `{optimizer}`: {message}", path.display())]
    Optimizer {
        /// The file.
        path: PathBuf,
        /// The optimizer's name.
        optimizer: String,
        /// What does not fit.
        message: String,
    },
}

/// A model's variable and its entry in a file, shown in messages as
/// ``layer `dense`: variable `dense/kernel` (layers/dense/vars/0)``.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableAt {
    /// The layer that owns the variable.
    pub layer: String,
    /// The variable's name (`dense/kernel`).
    pub variable: String,
    /// Its entry in the file (`dense/kernel`, `layers/dense/vars/0`).
    pub key: String,
}

impl std::fmt::Display for VariableAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "layer `{}`: variable `{}` ({})",
            self.layer, self.variable, self.key
        )
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn format_err(path: &std::path::Path, message: impl Into<String>) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

pub(crate) fn model_err(path: &std::path::Path, message: impl Into<String>) -> Error {
    Error::Model {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// An error of `tapegrad-datasets`' file code (npz, atomic write), kept on one line with the
/// file first: its own messages already start with the path.
pub(crate) fn from_datasets(path: &std::path::Path, e: tapegrad_datasets::DatasetsError) -> Error {
    match e {
        tapegrad_datasets::DatasetsError::Io { path, source } => Error::Io { path, source },
        tapegrad_datasets::DatasetsError::Format { path, message } => {
            Error::Format { path, message }
        }
        other => format_err(path, other.to_string()),
    }
}
