//! `cumsum`: running sums along an axis, and its backward (the running sums of the gradient
//! taken the other way), itself a `cumsum`, so that nested tapes differentiate it again.

use tapegrad_tensor as tt;
use tt::ndarray::{ArrayD, Axis};

use crate::op::{Backward, Op};
use crate::tape::{record1, OpRef};
use crate::tensor::resolve;
use crate::{Error, IntoOperand, Result, Tensor};

struct Cumsum {
    axis: usize,
    reverse: bool,
}

impl Op for Cumsum {
    fn rule(&self) -> &'static str {
        "d cumsum(x)/dx = the running sum of g taken the other way"
    }
    fn name(&self) -> String {
        format!("Cumsum(axis={}, reverse={})", self.axis, self.reverse)
    }
    fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
        out.push(Some(cumsum(b.grad, self.axis as isize, !self.reverse)?));
        Ok(())
    }
}

/// Running sums along `axis`, front to back, or back to front when `reverse`.
fn scan<T: tt::Element>(a: &ArrayD<T>, axis: usize, reverse: bool) -> ArrayD<T> {
    let mut out = a.to_owned();
    if out.is_empty() {
        // nothing to sum, however many empty lanes there are (2^40 of a `(0, 2^40)` tensor)
        return out;
    }
    for mut lane in out.lanes_mut(Axis(axis)) {
        let mut acc = T::zero();
        let mut add = |x: &mut T| {
            acc = acc + *x;
            *x = acc;
        };
        if reverse {
            lane.iter_mut().rev().for_each(&mut add);
        } else {
            lane.iter_mut().for_each(&mut add);
        }
    }
    out
}

/// `tf.math.cumsum(x, axis, reverse=reverse)`: each element the sum of those before it along
/// `axis` (itself included), added one after another in that order; `reverse` sums from the
/// end. Its gradient is the reverse running sum of the incoming gradient.
///
/// ```
/// use tapegrad_autodiff::{cumsum, GradientTape, Tensor};
/// let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3])?;
/// assert_eq!(cumsum(&x, 0, false)?.to_vec::<f32>()?, vec![1.0, 3.0, 6.0]);
/// assert_eq!(cumsum(&x, -1, true)?.to_vec::<f32>()?, vec![6.0, 5.0, 3.0]);
/// let tape = GradientTape::new();
/// tape.watch(&x);
/// let y = cumsum(&x, 0, false)?;
/// assert_eq!(tape.gradient(&y, &[&x])?[0].as_ref().unwrap().to_vec::<f32>()?, vec![3.0, 2.0, 1.0]);
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
pub fn cumsum(x: impl IntoOperand, axis: isize, reverse: bool) -> Result<Tensor> {
    let x = resolve(x)?;
    let rank = x.rank() as isize;
    if rank == 0 || axis < -rank || axis >= rank {
        return Err(Error::Invalid {
            op: "cumsum",
            message: format!(
                "axis {axis} is out of range for a tensor of shape {:?} (allowed: -{rank}..{rank})",
                x.shape()
            ),
        });
    }
    let axis = if axis < 0 { axis + rank } else { axis } as usize;
    let value = match x.dtype() {
        tt::DType::F32 => tt::Array::from_array(scan(x.value().array::<f32>()?, axis, reverse)),
        tt::DType::F64 => tt::Array::from_array(scan(x.value().array::<f64>()?, axis, reverse)),
    };
    Ok(record1(|| OpRef::new(Cumsum { axis, reverse }), x, value))
}

impl Tensor {
    /// [`cumsum`] along `axis`, front to back.
    pub fn cumsum(&self, axis: isize) -> Result<Tensor> {
        cumsum(self, axis, false)
    }
}

/// This module's entries of the op table ([`crate::op_table`]).
pub(crate) const OPS: &[crate::ops::OpEntry] = {
    use crate::ops::OpEntry as E;
    &[
        E::new("cumsum(axis=1)", &[&[2, 3]], crate::Domain::Any, |x| {
            cumsum(&x[0], 1, false)
        }),
        E::new(
            "cumsum(axis=0, reverse)",
            &[&[2, 3]],
            crate::Domain::Any,
            |x| cumsum(&x[0], 0, true),
        ),
    ]
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check;

    #[test]
    fn gradients_pass_the_checker_along_every_axis_both_ways() -> Result<()> {
        for axis in [0, 1, -1] {
            for reverse in [false, true] {
                check(&[&[3, 4]], |v| cumsum(&v[0], axis, reverse))?;
                check(&[&[3, 4]], |v| crate::square(cumsum(&v[0], axis, reverse)?))?;
            }
        }
        Ok(())
    }

    #[test]
    fn sums_run_in_order_and_a_bad_axis_names_the_shape() -> Result<()> {
        let x = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
        assert_eq!(
            cumsum(&x, 1, false)?.to_vec::<f64>()?,
            [1.0, 3.0, 6.0, 4.0, 9.0, 15.0]
        );
        assert_eq!(
            cumsum(&x, 0, false)?.to_vec::<f64>()?,
            [1.0, 2.0, 3.0, 5.0, 7.0, 9.0]
        );
        let err = cumsum(&x, 2, false).unwrap_err().to_string();
        assert!(err.contains("cumsum") && err.contains("[2, 3]"), "{err}");
        Ok(())
    }
}
