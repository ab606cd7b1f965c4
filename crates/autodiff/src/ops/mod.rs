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
pub use reduce::{norm, reduce_max, reduce_mean, reduce_min, reduce_prod, reduce_std, reduce_sum};
pub use scan::{cumprod, cumsum};
pub use shape::{
    broadcast_to, concat, expand_dims, gather, pad_into, reshape, scatter_add_rows, slice, squeeze,
    stack, sum_to_shape, transpose,
};
// every op of the table, whatever its name: a new entry needs no line here
pub use unary::*;

use crate::{Result, Tensor};

/// One op of any arity as the op table lists it: its name, the shapes of the operands it is
/// checked on, where its gradient is smooth, and a call of it on such operands (with the
/// op's other arguments fixed: an axis, a shape, an exponent). Each module declares its ops'
/// entries beside the ops (`OPS`); [`op_table`] gathers them.
#[derive(Debug, Clone, Copy)]
pub struct OpEntry {
    /// The op's name and the call's arguments (`"reduce_sum(axes=[0])"`).
    pub name: &'static str,
    /// The operands' shapes.
    pub shapes: &'static [&'static [usize]],
    /// Where central differences check its gradient (for every operand).
    pub domain: Domain,
    /// The call.
    pub f: fn(&[Tensor]) -> Result<Tensor>,
}

impl OpEntry {
    /// An entry (for the modules' `OPS` tables).
    pub(crate) const fn new(
        name: &'static str,
        shapes: &'static [&'static [usize]],
        domain: Domain,
        f: fn(&[Tensor]) -> Result<Tensor>,
    ) -> Self {
        OpEntry {
            name,
            shapes,
            domain,
            f,
        }
    }
}

/// Every op of the crate that is not in the elementwise table ([`UNARY_OPS`]): arithmetic,
/// powers and extrema, products, reductions, running sums, shape ops and softmax, one entry
/// (or a few, for the forms of a call) each, declared in the op's own module. One generic test
/// checks each at first and second order and its unrecorded backward against its recorded one.
///
/// ```
/// let table = tapegrad_autodiff::op_table();
/// assert!(table.iter().any(|op| op.name.starts_with("matmul")));
/// let add = table.iter().find(|op| op.name == "add(broadcast)").unwrap();
/// assert_eq!(add.shapes, &[&[2, 3][..], &[3][..]]);
/// ```
pub fn op_table() -> Vec<OpEntry> {
    [
        arithmetic::OPS,
        elementwise::OPS,
        matmul::OPS,
        reduce::OPS,
        scan::OPS,
        shape::OPS,
        nn::OPS,
        cast::OPS,
    ]
    .concat()
}
