//! The numeric kernels: elementwise maps, broadcasting binary ops, reductions, linear algebra
//! and shape manipulation. Nothing here knows about gradients.

mod axes;
mod elementwise;
mod fill;
mod functors;
mod inplace;
mod layout;
mod matmul;
mod reduce;
mod shape;
#[cfg(test)]
mod tests;

pub(crate) use fill::fill_tensor;
pub use fill::FILL_CACHE_MAX;
pub use functors::{
    pow, Abs, Add, BinaryFn, Div, Equal, Exp, Greater, GreaterEqual, Lane, Lanes, Less, LessEqual,
    Log, Maximum, Minimum, Mul, MulPositiveMask, MulSign, MulTwice, Neg, PositiveMask, Pow,
    Reciprocal, Relu, Sigmoid, Sign, Softplus, Sqrt, Square, Sub, Tanh, UnaryFn,
};
pub use layout::PARALLEL_MIN_ELEMENTS;
pub(crate) use layout::{as_slots, row_major, row_major_len, row_major_mut};
pub use matmul::PLAIN_MATMUL_MAX_WORK;
pub use reduce::{full_sum, sum_slice, REDUCTION_CHUNK};
