//! The one error type of the optim crate.

use tapegrad_tensor::{DType, TensorError};

/// What an optimizer or a schedule can refuse. Errors about one variable name it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// An op, a variable or a tape refused (from `tapegrad-autodiff`).
    #[error(transparent)]
    Autodiff(#[from] tapegrad_autodiff::Error),
    /// A gradient whose shape is not its variable's.
    #[error("variable `{variable}`: gradient has shape {gradient:?}, the variable has shape {expected:?}")]
    GradientShape {
        /// The variable's name.
        variable: String,
        /// The gradient's shape.
        gradient: Vec<usize>,
        /// The variable's shape.
        expected: Vec<usize>,
    },
    /// A gradient whose dtype is not its variable's.
    #[error(
        "variable `{variable}`: gradient has dtype {gradient}, the variable has dtype {expected}"
    )]
    GradientDType {
        /// The variable's name.
        variable: String,
        /// The gradient's dtype.
        gradient: DType,
        /// The variable's dtype.
        expected: DType,
    },
    /// The learning rate (constant or from a schedule) is NaN, infinite in float32, or
    /// negative.
    #[error("variable `{variable}`: the learning rate at iteration {iteration} is {value}, not a finite float32 ≥ 0")]
    LearningRate {
        /// The variable that was about to be updated.
        variable: String,
        /// The learning rate.
        value: f64,
        /// The optimizer's iteration counter.
        iteration: u64,
    },
    /// A gradient holds a NaN or an infinity (see [`NonFinite`](crate::NonFinite)).
    #[error("variable `{variable}`: its gradient at iteration {iteration} holds a NaN or an infinity; nothing was updated (lower the learning rate, clip the gradients, or choose NonFinite::Skip or NonFinite::Apply)")]
    NonFiniteGradient {
        /// The variable whose gradient is not finite.
        variable: String,
        /// The optimizer's iteration counter.
        iteration: u64,
    },
    /// `apply_gradients` got pairs whose gradients are all `None` (Keras raises a `ValueError`).
    #[error("No gradients provided for any variable: {variables:?}")]
    NoGradients {
        /// Names of the variables that got `None`.
        variables: Vec<String>,
    },
    /// A hyperparameter that the optimizer or schedule refuses.
    #[error("{owner}: `{parameter}` {message}")]
    Config {
        /// The optimizer or schedule (`SGD`, `PiecewiseConstantDecay`, ...).
        owner: String,
        /// The hyperparameter.
        parameter: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A slot of a variable that does not have the variable's dtype or shape (only possible when
    /// a custom optimizer creates one wrongly).
    #[error("variable `{variable}`: optimizer slot `{slot}` {message}")]
    Slot {
        /// The variable's name.
        variable: String,
        /// The slot's name (`m`, `v`, ...).
        slot: String,
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
