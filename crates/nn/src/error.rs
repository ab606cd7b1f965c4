//! The one error type of the nn crate.

use tapegrad_tensor::TensorError;

/// Everything a layer, an initializer, a loss or a metric can refuse. Each variant names what
/// was wrong: the layer, the shapes, or the unknown name together with the known ones.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// An op, a variable or a tape refused (the message names the op and the shapes).
    #[error(transparent)]
    Autodiff(#[from] tapegrad_autodiff::Error),
    /// A name (activation, initializer, reduction) that is not one of the known ones.
    #[error("unknown {kind} `{name}`; known: {}", known.join(", "))]
    UnknownName {
        /// What kind of thing was looked up (`"activation"`, ...).
        kind: &'static str,
        /// The name that was asked for.
        name: String,
        /// Every name that would have been accepted.
        known: Vec<&'static str>,
    },
    /// An input a layer cannot take (wrong rank, wrong last dimension, ...).
    #[error("layer `{layer}`: {message}")]
    Layer {
        /// The layer's name.
        layer: String,
        /// What is wrong.
        message: String,
    },
    /// `set_weights` with a value whose shape differs from the weight's.
    #[error("layer `{layer}`: weight {index} (`{weight}`) has shape {expected:?}, but the value given has shape {received:?}")]
    WeightShape {
        /// The layer's name.
        layer: String,
        /// Position of the weight in `get_weights()`.
        index: usize,
        /// The weight's (variable's) name.
        weight: String,
        /// The weight's shape.
        expected: Vec<usize>,
        /// The shape of the value given.
        received: Vec<usize>,
    },
    /// `set_weights` with a different number of arrays than the layer has weights.
    #[error("layer `{layer}`: set_weights was given {received} arrays, but the layer has {expected} weights")]
    WeightCount {
        /// The layer's name.
        layer: String,
        /// How many weights the layer has.
        expected: usize,
        /// How many values were given.
        received: usize,
    },
    /// Any other invalid argument, naming the function or type that refused it.
    #[error("{what}: {message}")]
    Invalid {
        /// The function, type or argument concerned.
        what: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl From<TensorError> for Error {
    fn from(e: TensorError) -> Self {
        Error::Autodiff(e.into())
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A lookup error for `name` among `known`.
pub(crate) fn unknown(kind: &'static str, name: &str, known: &[&'static str]) -> Error {
    Error::UnknownName {
        kind,
        name: name.to_string(),
        known: known.to_vec(),
    }
}
