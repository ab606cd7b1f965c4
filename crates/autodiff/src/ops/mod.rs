//! Every differentiable op. One module per family; in each, the forward function, its [`Op`]
//! impl (the backward) and its tests sit together.
//!
//! [`Op`]: crate::Op

mod arithmetic;
mod cast;
mod elementwise;
mod matmul;
mod nn;
mod reduce;
mod scan;
mod shape;
mod unary;

pub use arithmetic::{add, div, mul, neg, sub};
pub use cast::{cast, stop_gradient};
pub use elementwise::{clip_by_value, maximum, minimum, pow};
pub use matmul::{matmul, matmul_bias_add, matmul_t};
pub use nn::{argmax, log_softmax, one_hot, softmax};
pub use reduce::{norm, reduce_max, reduce_mean, reduce_min, reduce_std, reduce_sum};
pub use scan::cumsum;
pub use shape::{
    broadcast_to, concat, expand_dims, gather, pad_into, reshape, scatter_add_rows, slice, squeeze,
    stack, sum_to_shape, transpose,
};
// every op of the table, whatever its name: a new entry needs no line here
pub use unary::*;
