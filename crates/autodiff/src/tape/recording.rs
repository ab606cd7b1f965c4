//! Recording an op on the thread's tapes: [`record`] and its forms for owned inputs, and
//! [`OpRef`], how a tape holds an op.

use std::rc::Rc;

use tapegrad_tensor as tt;

use super::thread::{any_active, record_op, ReadVariable};
use super::Inputs;
use crate::op::Op;
use crate::Tensor;

/// Wraps the forward result of an op as a tensor, and records the op on every recording tape
/// that watches one of its inputs. With no tape active this is a counter increment.
///
/// `value` is the forward result: a [`Tensor`] or the tensor crate's array. A tensor's value is
/// taken into a new tensor, the op's output (so a result computed with differentiable ops is
/// best computed with the tapes paused, [`crate::GradientTape::stop_recording`], or the tape
/// records those ops too).
pub fn record<O: Op>(op: O, inputs: &[&Tensor], value: impl Into<tt::Array>) -> Tensor {
    let out = Tensor::new(value.into());
    if any_active() {
        record_op(OpRef::new(op), Inputs::from_refs(inputs), &out);
    }
    out
}

/// A recorded op as tapes hold it: a `'static` constant for ops without state (no allocation),
/// else one allocation shared by every tape that records it.
#[derive(Clone)]
pub(crate) enum OpRef {
    Static(&'static dyn Op),
    Shared(Rc<dyn Op>),
    /// A variable read: the variable's identity (the tape keeps the variable).
    Read(ReadVariable),
}

impl OpRef {
    /// An op with state (axes, a permutation, …).
    pub(crate) fn new(op: impl Op) -> Self {
        OpRef::Shared(Rc::new(op))
    }
}

impl std::ops::Deref for OpRef {
    type Target = dyn Op;
    fn deref(&self) -> &dyn Op {
        match self {
            OpRef::Static(op) => *op,
            OpRef::Shared(op) => &**op,
            OpRef::Read(op) => op,
        }
    }
}

/// [`record`] for an op of two inputs the caller owns: they move into the record. The op is
/// built (`op()`, an allocation for an op with state) only when some tape may record it.
#[inline]
pub(crate) fn record2(
    op: impl FnOnce() -> OpRef,
    a: Tensor,
    b: Tensor,
    value: tt::Array,
) -> Tensor {
    let out = Tensor::new(value);
    if any_active() {
        record_op(op(), Inputs::Two([a, b]), &out);
    }
    out
}

/// [`record`] for an op of three inputs the caller owns: they move into the record. The op is
/// built only when some tape may record it.
#[inline]
pub(crate) fn record3(op: impl FnOnce() -> OpRef, inputs: [Tensor; 3], value: tt::Array) -> Tensor {
    let out = Tensor::new(value);
    if any_active() {
        record_op(op(), Inputs::Three(inputs), &out);
    }
    out
}

/// [`record`] for an op of one input the caller owns: it moves into the record. The op is
/// built only when some tape may record it.
#[inline]
pub(crate) fn record1(op: impl FnOnce() -> OpRef, x: Tensor, value: tt::Array) -> Tensor {
    let out = Tensor::new(value);
    if any_active() {
        record_op(op(), Inputs::One([x]), &out);
    }
    out
}
