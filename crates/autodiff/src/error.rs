//! The one error type of the autodiff crate.

use tapegrad_tensor::TensorError;

/// What an op, a variable or a tape can refuse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A kernel refused its operands (the message names the op and the shapes).
    #[error(transparent)]
    Tensor(#[from] TensorError),
    /// `gradient` or `jacobian` called a second time on a non-persistent tape.
    #[error("A non-persistent GradientTape can only be used to compute one set of gradients (or jacobians); create it with GradientTape::persistent() to call gradient more than once")]
    TapeConsumed,
    /// An op's two operands have different dtypes (TensorFlow does not promote).
    #[error("{op}: the operands have different dtypes, {lhs} and {rhs}; {fix}")]
    DType {
        /// The op that was called.
        op: &'static str,
        /// The left operand: what it is (a variable's name where one is) and its dtype.
        lhs: String,
        /// The right operand, described the same way.
        rhs: String,
        /// How to make them agree.
        fix: String,
    },
    /// A value whose shape or dtype does not fit a variable.
    #[error("variable `{name}`: {message}")]
    Variable {
        /// The variable's name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// Any other invalid argument, naming the operation.
    #[error("{op}: {message}")]
    Invalid {
        /// The operation that was called.
        op: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    /// The same error, named after `op` (see [`TensorError::in_op`]): for ops built from
    /// others, so that `stack` does not report `concat` and `reduce_min` not `reduce_max`.
    pub fn in_op(self, name: &'static str) -> Self {
        match self {
            Error::Tensor(e) => Error::Tensor(e.in_op(name)),
            Error::DType { lhs, rhs, fix, .. } => Error::DType {
                op: name,
                lhs,
                rhs,
                fix,
            },
            Error::Invalid { message, .. } => Error::Invalid { op: name, message },
            other => other,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
