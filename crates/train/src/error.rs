//! The one error type of the train crate.

/// What `compile`, `fit`, `evaluate`, `predict` and the callbacks can refuse. Each variant
/// names what was wrong: the unknown name with the known ones, the argument, the shapes, the
/// file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// From a layer, a loss or a metric.
    #[error(transparent)]
    Nn(#[from] tapegrad_nn::Error),
    /// From an optimizer.
    #[error(transparent)]
    Optim(#[from] tapegrad_optim::Error),
    /// From an op, a variable or a tape.
    #[error(transparent)]
    Autodiff(#[from] tapegrad_autodiff::Error),
    /// From a data pipeline or a random generator.
    #[error(transparent)]
    Datasets(#[from] tapegrad_datasets::DatasetsError),
    /// From writing or reading a weights file (it names the file, layer and variable).
    #[error(transparent)]
    Saving(#[from] tapegrad_saving::Error),
    /// A name (optimizer, loss, metric, mode) that is not one of the known ones.
    #[error("unknown {kind} `{name}`; known: {}", known.join(", "))]
    UnknownName {
        /// What kind of thing was looked up (`"optimizer"`, ...).
        kind: &'static str,
        /// The name that was asked for.
        name: String,
        /// Every name that would have been accepted.
        known: Vec<&'static str>,
    },
    /// Data that cannot be trained on: rows that do not match, an empty split, ...
    #[error("{what}: {message}")]
    Data {
        /// The function or argument concerned (`fit`, `validation_split`, ...).
        what: &'static str,
        /// What is wrong, with the shapes.
        message: String,
    },
    /// An argument out of its range.
    #[error("{what}: {message}")]
    Invalid {
        /// The function, type or argument concerned.
        what: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A file a callback writes (CSV log, checkpoint) could not be written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's message.
        message: String,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<tapegrad_tensor::TensorError> for Error {
    fn from(e: tapegrad_tensor::TensorError) -> Self {
        Error::Autodiff(e.into())
    }
}

pub(crate) fn unknown(kind: &'static str, name: &str, known: &[&'static str]) -> Error {
    Error::UnknownName {
        kind,
        name: name.to_string(),
        known: known.to_vec(),
    }
}

pub(crate) fn io_error(path: &std::path::Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}
