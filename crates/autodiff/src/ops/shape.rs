//! Ops that move values without changing them: `reshape`, `transpose`, `expand_dims`,
//! `squeeze`, `broadcast_to`, `concat`, `stack`, `slice`, `gather`. Each backward moves the
//! gradient back.

use crate::op::{Backward, Op};
use crate::tape::{record, record1, OpRef};
use crate::tensor::resolve;
use crate::{Error, IntoOperand, Result, Tensor};

fn dims(shape: &[usize]) -> Vec<isize> {
    shape.iter().map(|&d| d as isize).collect()
}

struct Reshape;

impl Op for Reshape {
    fn rule(&self) -> &'static str {
        "the gradient reshaped back to the input's shape"
    }
    fn name(&self) -> String {
        "Reshape".into()
    }
    fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
        out.push(Some(reshape_to(b.grad, b.inputs[0].shape())?));
        Ok(())
    }
}

/// [`reshape`] to a fully known shape (no `-1`), for the backward functions: recorded as a
/// reshape, and no shape vector is built.
pub(crate) fn reshape_to(x: &Tensor, shape: &[usize]) -> Result<Tensor> {
    let value = x.value().reshape_exact(shape)?;
    Ok(record1(|| OpRef::Static(&Reshape), x.clone(), value))
}

/// `tf.reshape`; one entry of `shape` may be `-1`.
///
/// ```
/// let t = tapegrad_autodiff::Tensor::from_vec(vec![1.0f32; 6], &[6])?;
/// assert_eq!(tapegrad_autodiff::reshape(&t, &[2, -1])?.shape(), &[2, 3]);
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
pub fn reshape(x: impl IntoOperand, shape: &[isize]) -> Result<Tensor> {
    let x = resolve(x)?;
    let value = x.value().reshape(shape)?;
    Ok(record1(|| OpRef::Static(&Reshape), x, value))
}

/// `tf.expand_dims`: a new axis of length 1.
pub fn expand_dims(x: impl IntoOperand, axis: isize) -> Result<Tensor> {
    let x = resolve(x)?;
    let value = x.value().expand_dims(axis)?;
    Ok(record1(|| OpRef::Static(&Reshape), x, value))
}

/// `tf.squeeze`: drops the given axes of length 1 (all of them when `None`).
pub fn squeeze(x: impl IntoOperand, axes: Option<&[isize]>) -> Result<Tensor> {
    let x = resolve(x)?;
    let value = x.value().squeeze(axes)?;
    Ok(record1(|| OpRef::Static(&Reshape), x, value))
}

struct Transpose {
    perm: Vec<usize>,
}

impl Op for Transpose {
    fn rule(&self) -> &'static str {
        "the gradient transposed back by the inverse permutation"
    }
    fn name(&self) -> String {
        format!("Transpose({:?})", self.perm)
    }
    fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
        let mut inverse = vec![0; self.perm.len()];
        for (i, &p) in self.perm.iter().enumerate() {
            inverse[p] = i;
        }
        out.push(Some(transpose(b.grad, Some(&inverse))?));
        Ok(())
    }
}

/// `tf.transpose`: permutes axes (reverses them when `perm` is `None`).
pub fn transpose(x: impl IntoOperand, perm: Option<&[usize]>) -> Result<Tensor> {
    let x = resolve(x)?;
    let value = x.value().transpose(perm)?;
    let rank = x.rank();
    let op = || {
        let perm = perm.map_or_else(|| (0..rank).rev().collect(), <[usize]>::to_vec);
        OpRef::new(Transpose { perm })
    };
    Ok(record1(op, x, value))
}

struct BroadcastTo;

impl Op for BroadcastTo {
    fn rule(&self) -> &'static str {
        "d broadcast(x)/dx = g summed over the broadcast axes"
    }
    fn name(&self) -> String {
        "BroadcastTo".into()
    }
    fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
        out.push(Some(sum_to_shape(b.grad, b.inputs[0].shape())?));
        Ok(())
    }
}

/// `tf.broadcast_to`; the gradient sums over the broadcast axes.
pub fn broadcast_to(x: impl IntoOperand, shape: &[usize]) -> Result<Tensor> {
    let x = resolve(x)?;
    let value = x.value().broadcast_to(shape)?;
    Ok(record1(|| OpRef::Static(&BroadcastTo), x, value))
}

struct SumToShape;

impl Op for SumToShape {
    fn rule(&self) -> &'static str {
        "the gradient broadcast back to the input's shape"
    }
    fn name(&self) -> String {
        "SumToShape".into()
    }
    fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
        out.push(Some(broadcast_to(b.grad, b.inputs[0].shape())?));
        Ok(())
    }
}

/// Sums `x` down to `shape`, which must broadcast to `x`'s shape: the backward of broadcasting
/// (TensorFlow's `reduce_sum` over `broadcast_gradient_args`).
pub fn sum_to_shape(x: impl IntoOperand, shape: &[usize]) -> Result<Tensor> {
    let x = resolve(x)?;
    let value = x.value().sum_to_shape(shape)?;
    Ok(record1(|| OpRef::Static(&SumToShape), x, value))
}

struct Slice {
    begin: Vec<usize>,
}

impl Op for Slice {
    fn rule(&self) -> &'static str {
        "g placed where the slice was taken, 0 elsewhere"
    }
    fn name(&self) -> String {
        format!("Slice(begin={:?})", self.begin)
    }
    fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
        out.push(Some(pad_into(b.grad, b.inputs[0].shape(), &self.begin)?));
        Ok(())
    }
}

/// `tf.slice(x, begin, size)`; a size of `-1` runs to the end of the axis.
pub fn slice(x: impl IntoOperand, begin: &[usize], size: &[isize]) -> Result<Tensor> {
    let x = resolve(x)?;
    let value = x.value().slice(begin, size)?;
    Ok(record1(
        || {
            OpRef::new(Slice {
                begin: begin.to_vec(),
            })
        },
        x,
        value,
    ))
}

struct PadInto {
    begin: Vec<usize>,
}

impl Op for PadInto {
    fn rule(&self) -> &'static str {
        "the slice of g where the input was placed"
    }
    fn name(&self) -> String {
        format!("Pad(begin={:?})", self.begin)
    }
    fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
        let size = dims(b.inputs[0].shape());
        out.push(Some(slice(b.grad, &self.begin, &size)?));
        Ok(())
    }
}

/// Places `x` at `begin` inside zeros of `shape` (the backward of `slice`).
pub fn pad_into(x: impl IntoOperand, shape: &[usize], begin: &[usize]) -> Result<Tensor> {
    let x = resolve(x)?;
    let value = x.value().pad_into(shape, begin)?;
    Ok(record1(
        || {
            OpRef::new(PadInto {
                begin: begin.to_vec(),
            })
        },
        x,
        value,
    ))
}

struct Concat {
    axis: usize,
}

impl Op for Concat {
    fn rule(&self) -> &'static str {
        "g split back into the pieces along the axis"
    }
    fn name(&self) -> String {
        format!("ConcatV2(axis={})", self.axis)
    }
    fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
        let mut offset = 0;
        let mut begin = vec![0; b.grad.rank()];
        for (x, &need) in b.inputs.iter().zip(b.needs) {
            begin[self.axis] = offset;
            offset += x.shape()[self.axis];
            out.push(if need {
                Some(slice(b.grad, &begin, &dims(x.shape()))?)
            } else {
                None
            });
        }
        Ok(())
    }
}

/// `tf.concat`: joins tensors along an existing axis.
///
/// ```
/// use tapegrad_autodiff::{concat, Tensor};
/// let a = Tensor::from_vec(vec![1.0f32, 2.0], &[1, 2])?;
/// assert_eq!(concat(&[a.clone(), a], 0)?.shape(), &[2, 2]);
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
pub fn concat(tensors: &[Tensor], axis: isize) -> Result<Tensor> {
    let values: Vec<_> = tensors.iter().map(|t| t.value().clone()).collect();
    let value = tapegrad_tensor::Array::concat(&values, axis)?;
    let rank = tensors.first().map_or(0, Tensor::rank) as isize;
    let axis = if axis < 0 { axis + rank } else { axis } as usize;
    let refs: Vec<&Tensor> = tensors.iter().collect();
    Ok(record(Concat { axis }, &refs, value))
}

/// `tf.stack`: joins tensors of one shape along a new axis. Built from `expand_dims` and
/// `concat`; its errors name `stack`.
///
/// ```
/// use tapegrad_autodiff::{stack, Tensor};
/// let a = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?;
/// assert_eq!(stack(&[a.clone(), a.clone()], 0)?.shape(), [2, 2]);
/// assert!(stack(&[], 0).unwrap_err().to_string().starts_with("stack:"));
/// let e = stack(&[a.clone(), Tensor::from_vec(vec![1.0f64, 2.0], &[2])?], 0).unwrap_err();
/// assert!(e.to_string().starts_with("stack:"), "{e}");
/// let e = stack(&[a.clone()], 3).unwrap_err();
/// assert!(e.to_string().starts_with("stack: axis 3"), "{e}");
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
pub fn stack(tensors: &[Tensor], axis: isize) -> Result<Tensor> {
    let Some(first) = tensors.first() else {
        return Err(Error::Invalid {
            op: "stack",
            message: "needs at least one tensor".into(),
        });
    };
    let rank = first.rank() as isize;
    // the new axis goes anywhere in 0..=rank (counted from the end when negative)
    if axis < -(rank + 1) || axis > rank {
        return Err(Error::Invalid {
            op: "stack",
            message: format!(
                "axis {axis} is out of range for stacking tensors of shape {:?} \
                 (allowed: {}..={rank})",
                first.shape(),
                -(rank + 1)
            ),
        });
    }
    let axis = if axis < 0 { axis + rank + 1 } else { axis };
    if let Some(t) = tensors.iter().find(|t| t.shape() != first.shape()) {
        return Err(tapegrad_tensor::TensorError::Shape {
            op: "stack",
            message: "all tensors must have the same shape".into(),
            shapes: vec![first.shape().to_vec(), t.shape().to_vec()],
        }
        .into());
    }
    let expanded = tensors
        .iter()
        .map(|t| expand_dims(t, axis))
        .collect::<Result<Vec<_>>>()
        .map_err(|e| e.in_op("stack"))?;
    concat(&expanded, axis).map_err(|e| e.in_op("stack"))
}

struct Gather {
    indices: Vec<usize>,
}

impl Op for Gather {
    fn rule(&self) -> &'static str {
        "g's rows added into the rows they were gathered from"
    }
    fn name(&self) -> String {
        format!("GatherV2({} rows)", self.indices.len())
    }
    fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
        let rows = b.inputs[0].shape()[0];
        out.push(Some(scatter_add_rows(b.grad, &self.indices, rows)?));
        Ok(())
    }
}

/// `tf.gather(x, indices)` on axis 0: rows by index (repeats allowed).
///
/// ```
/// use tapegrad_autodiff::{gather, Tensor};
/// let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3])?;
/// assert_eq!(gather(&x, &[2, 0])?.to_vec::<f32>()?, vec![3.0, 1.0]);
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
pub fn gather(x: impl IntoOperand, indices: &[usize]) -> Result<Tensor> {
    let x = resolve(x)?;
    let value = x.value().gather(indices)?;
    Ok(record1(
        || {
            OpRef::new(Gather {
                indices: indices.to_vec(),
            })
        },
        x,
        value,
    ))
}

struct ScatterAddRows {
    indices: Vec<usize>,
}

impl Op for ScatterAddRows {
    fn rule(&self) -> &'static str {
        "the rows of g gathered back from where they were added"
    }
    fn name(&self) -> String {
        "UnsortedSegmentSum".into()
    }
    fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
        out.push(Some(gather(b.grad, &self.indices)?));
        Ok(())
    }
}

/// Adds the rows of `x` into zeros with `rows` rows at `indices` (the backward of `gather`).
pub fn scatter_add_rows(x: impl IntoOperand, indices: &[usize], rows: usize) -> Result<Tensor> {
    let x = resolve(x)?;
    let value = x.value().scatter_add_rows(indices, rows)?;
    Ok(record1(
        || {
            OpRef::new(ScatterAddRows {
                indices: indices.to_vec(),
            })
        },
        x,
        value,
    ))
}

/// The shape ops as methods.
impl Tensor {
    /// [`reshape`] as a method (one `-1` is inferred).
    pub fn reshape(&self, shape: &[isize]) -> Result<Tensor> {
        reshape(self, shape)
    }
    /// [`expand_dims`] as a method.
    pub fn expand_dims(&self, axis: isize) -> Result<Tensor> {
        expand_dims(self, axis)
    }
    /// [`squeeze`] as a method (every axis of length 1 with `None`).
    pub fn squeeze(&self, axes: Option<&[isize]>) -> Result<Tensor> {
        squeeze(self, axes)
    }
    /// [`transpose`] as a method (the axes reversed with `None`).
    pub fn transpose(&self, perm: Option<&[usize]>) -> Result<Tensor> {
        transpose(self, perm)
    }
    /// [`broadcast_to`] as a method.
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Tensor> {
        broadcast_to(self, shape)
    }
    /// [`slice`] as a method.
    pub fn slice(&self, begin: &[usize], size: &[isize]) -> Result<Tensor> {
        slice(self, begin, size)
    }
    /// [`gather`] as a method (rows of the first axis).
    pub fn gather(&self, indices: &[usize]) -> Result<Tensor> {
        gather(self, indices)
    }
}

/// This module's entries of the op table ([`crate::op_table`]).
pub(crate) const OPS: &[crate::ops::OpEntry] = {
    use crate::ops::OpEntry as E;
    &[
        E::new("reshape", &[&[2, 3]], crate::Domain::Any, |x| {
            reshape(&x[0], &[3, -1])
        }),
        E::new("expand_dims", &[&[2, 3]], crate::Domain::Any, |x| {
            expand_dims(&x[0], 1)
        }),
        E::new("squeeze", &[&[2, 1, 3]], crate::Domain::Any, |x| {
            squeeze(&x[0], None)
        }),
        E::new("transpose", &[&[2, 3]], crate::Domain::Any, |x| {
            transpose(&x[0], None)
        }),
        E::new("broadcast_to", &[&[3]], crate::Domain::Any, |x| {
            broadcast_to(&x[0], &[2, 3])
        }),
        E::new("sum_to_shape", &[&[2, 3]], crate::Domain::Any, |x| {
            sum_to_shape(&x[0], &[3])
        }),
        E::new("slice", &[&[2, 3]], crate::Domain::Any, |x| {
            slice(&x[0], &[0, 1], &[-1, 2])
        }),
        E::new("pad_into", &[&[2, 3]], crate::Domain::Any, |x| {
            pad_into(&x[0], &[3, 4], &[1, 0])
        }),
        E::new(
            "concat(axis=1)",
            &[&[2, 3], &[2, 2]],
            crate::Domain::Any,
            |x| concat(&[x[0].clone(), x[1].clone()], 1),
        ),
        E::new(
            "stack(axis=0)",
            &[&[2, 3], &[2, 3]],
            crate::Domain::Any,
            |x| stack(&[x[0].clone(), x[1].clone()], 0),
        ),
        E::new(
            "gather(rows 1, 0, 1)",
            &[&[2, 3]],
            crate::Domain::Any,
            |x| gather(&x[0], &[1, 0, 1]),
        ),
        E::new("scatter_add_rows", &[&[3, 2]], crate::Domain::Any, |x| {
            scatter_add_rows(&x[0], &[1, 0, 1], 2)
        }),
    ]
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check;

    #[test]
    fn gradients_pass_the_checker() -> Result<()> {
        check(&[&[2, 3]], |v| reshape(&v[0], &[3, 2]))?;
        check(&[&[2, 3]], |v| transpose(&v[0], None))?;
        check(&[&[2, 3, 4]], |v| transpose(&v[0], Some(&[1, 2, 0])))?;
        check(&[&[3]], |v| expand_dims(&v[0], 0))?;
        check(&[&[3, 1]], |v| squeeze(&v[0], None))?;
        check(&[&[3, 1]], |v| broadcast_to(&v[0], &[2, 3, 4]))?;
        check(&[&[2, 3, 4]], |v| sum_to_shape(&v[0], &[3, 1]))?;
        check(&[&[4, 3]], |v| slice(&v[0], &[1, 1], &[2, -1]))?;
        check(&[&[4, 3]], |v| gather(&v[0], &[3, 0, 3]))?;
        check(&[&[2, 3], &[1, 3]], |v| concat(v, 0))?;
        check(&[&[2, 3], &[2, 2]], |v| concat(v, -1))?;
        check(&[&[2, 3], &[2, 3]], |v| stack(v, 1))?;
        check(&[&[3, 2]], |v| scatter_add_rows(&v[0], &[1, 1, 0], 4))?;
        Ok(())
    }

    #[test]
    fn bad_arguments_are_errors() {
        let x = Tensor::zeros(tapegrad_tensor::DType::F32, &[2, 3]).unwrap();
        assert!(reshape(&x, &[4, 2]).is_err());
        assert!(squeeze(&x, Some(&[0])).is_err());
        assert!(transpose(&x, Some(&[0, 0])).is_err());
        assert!(slice(&x, &[1, 0], &[2, 1]).is_err());
        assert!(gather(&x, &[5]).is_err());
        assert!(concat(&[], 0).is_err());
        assert!(broadcast_to(&x, &[3, 3]).is_err());
    }
}
