//! The one error type of the tensor crate.

use crate::DType;

/// Everything a tensor kernel can refuse. Each variant names the op and the shapes involved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TensorError {
    /// Two operands whose shapes do not broadcast (numpy's rules).
    #[error("{op}: shapes {lhs:?} and {rhs:?} are not broadcastable")]
    Broadcast {
        /// The op that was called.
        op: &'static str,
        /// Shape of the left operand.
        lhs: Vec<usize>,
        /// Shape of the right operand.
        rhs: Vec<usize>,
    },
    /// Operands of different dtypes (TensorFlow does not promote; call `cast`).
    #[error("{op}: dtype mismatch, {lhs} vs {rhs} (cast one operand explicitly)")]
    DType {
        /// The op that was called.
        op: &'static str,
        /// dtype of the left operand.
        lhs: DType,
        /// dtype of the right operand.
        rhs: DType,
    },
    /// A shape that the op cannot accept.
    #[error("{op}: {message} (shapes {shapes:?})")]
    Shape {
        /// The op that was called.
        op: &'static str,
        /// What is wrong.
        message: String,
        /// The shapes involved.
        shapes: Vec<Vec<usize>>,
    },
    /// An axis outside `-rank..rank`.
    #[error("{op}: axis {axis} is out of range for a tensor of rank {rank} (shape {shape:?})")]
    Axis {
        /// The op that was called.
        op: &'static str,
        /// The axis asked for.
        axis: isize,
        /// The tensor's rank.
        rank: usize,
        /// The tensor's shape.
        shape: Vec<usize>,
    },
    /// An index outside `0..len`.
    #[error("{op}: index {index} is out of range 0..{len} (shape {shape:?})")]
    Index {
        /// The op that was called.
        op: &'static str,
        /// The index asked for.
        index: i64,
        /// The length of the indexed axis.
        len: usize,
        /// The tensor's shape.
        shape: Vec<usize>,
    },
    /// A shape with more elements, or more bytes, than a process can address (its product
    /// overflows, or exceeds `isize::MAX`, ndarray's limit).
    #[error("{op}: shape {shape:?} of {dtype} has more elements than memory can address")]
    TooLarge {
        /// The op that was called.
        op: &'static str,
        /// The shape asked for.
        shape: Vec<usize>,
        /// Its dtype.
        dtype: DType,
    },
    /// Memory for a tensor that the system would not give.
    #[error("{op}: cannot allocate {bytes} bytes for a {dtype} tensor of shape {shape:?}")]
    Alloc {
        /// The op that was called.
        op: &'static str,
        /// The shape asked for.
        shape: Vec<usize>,
        /// Its dtype.
        dtype: DType,
        /// The bytes asked for.
        bytes: u128,
    },
    /// Any other invalid argument.
    #[error("{op}: {message}")]
    Invalid {
        /// The op that was called.
        op: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl TensorError {
    /// The same error, named after `op`: an op built from others (`stack` from `concat`,
    /// `reduce_min` from `reduce_max`) reports the op its caller called.
    ///
    /// ```
    /// use tapegrad_tensor::TensorError;
    /// let e = TensorError::Invalid { op: "concat", message: "no tensors".into() };
    /// assert_eq!(e.in_op("stack").to_string(), "stack: no tensors");
    /// ```
    pub fn in_op(mut self, name: &'static str) -> Self {
        match &mut self {
            TensorError::Broadcast { op, .. }
            | TensorError::DType { op, .. }
            | TensorError::Shape { op, .. }
            | TensorError::Axis { op, .. }
            | TensorError::Index { op, .. }
            | TensorError::TooLarge { op, .. }
            | TensorError::Alloc { op, .. }
            | TensorError::Invalid { op, .. } => *op = name,
        }
        self
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = TensorError> = std::result::Result<T, E>;
