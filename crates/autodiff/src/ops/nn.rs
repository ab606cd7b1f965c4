//! `softmax`, with TensorFlow's `_SoftmaxGrad`.

use crate::op::{Backward, Op};
use crate::tape::{record1, OpRef};
use crate::tensor::resolve;
use crate::{IntoOperand, Result, Tensor};

struct Softmax {
    axis: isize,
}

impl Op for Softmax {
    fn rule(&self) -> &'static str {
        "d softmax(x)/dx = y * (g - sum(g * y)) along the axis, y = softmax(x)"
    }
    fn name(&self) -> String {
        format!("Softmax(axis={})", self.axis)
    }
    fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
        let (y, g) = (b.output, b.grad);
        let dot = crate::reduce_sum(crate::mul(g, y)?, Some(&[self.axis]), true)?;
        out.push(Some(crate::mul(crate::sub(g, dot)?, y)?));
        Ok(())
    }
}

/// `tf.nn.softmax(x, axis)`: `exp(x) / sum(exp(x))` along `axis`, computed stably.
///
/// ```
/// use tapegrad_autodiff::{softmax, Tensor};
/// let p = softmax(&Tensor::from_vec(vec![0.0f64, 0.0], &[2])?, -1)?;
/// assert_eq!(p.to_vec::<f64>()?, vec![0.5, 0.5]);
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
pub fn softmax(x: impl IntoOperand, axis: isize) -> Result<Tensor> {
    let x = resolve(x)?;
    let value = x.value().softmax(axis).map_err(|e| e.in_op("softmax"))?;
    Ok(record1(|| OpRef::new(Softmax { axis }), x, value))
}

impl Tensor {
    /// [`softmax`] as a method.
    pub fn softmax(&self, axis: isize) -> Result<Tensor> {
        softmax(self, axis)
    }
}

/// `tf.nn.log_softmax(x, axis)`: `x − max − log(sum(exp(x − max)))` along `axis`, which stays
/// finite where `log(softmax(x))` underflows; the max is a constant of the gradient, as the
/// result does not depend on it.
///
/// ```
/// use tapegrad_autodiff::{log_softmax, Tensor};
/// let x = Tensor::from_vec(vec![0.0f64, 1000.0], &[2])?;
/// assert_eq!(log_softmax(&x, -1)?.to_vec::<f64>()?, vec![-1000.0, 0.0]);
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
pub fn log_softmax(x: impl IntoOperand, axis: isize) -> Result<Tensor> {
    let x = resolve(x)?;
    (|| {
        let max = crate::stop_gradient(crate::reduce_max(&x, Some(&[axis]), true)?)?;
        let shifted = crate::sub(&x, max)?;
        let lse = crate::log(crate::reduce_sum(
            crate::exp(&shifted)?,
            Some(&[axis]),
            true,
        )?)?;
        crate::sub(shifted, lse)
    })()
    .map_err(|e| e.in_op("log_softmax"))
}

/// The index of the largest value along the last axis of each row (`tf.argmax(x, axis=-1)`;
/// the first of tied maxima), as plain indices: nothing to differentiate.
///
/// ```
/// use tapegrad_autodiff::{argmax, Tensor};
/// let x = Tensor::from_vec(vec![0.1f32, 0.7, 0.2, 0.5, 0.1, 0.4], &[2, 3])?;
/// assert_eq!(argmax(&x)?, vec![1, 0]);
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
pub fn argmax(x: &Tensor) -> Result<Vec<usize>> {
    let n = *x.shape().last().ok_or_else(|| crate::Error::Invalid {
        op: "argmax",
        message: "needs a tensor of rank 1 or more, got a scalar".into(),
    })?;
    if n == 0 {
        return Err(crate::Error::Invalid {
            op: "argmax",
            message: format!("the last axis is empty (shape {:?})", x.shape()),
        });
    }
    let values = x.to_f64_vec();
    Ok(values
        .chunks(n)
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |(bi, bv), (i, &v)| {
                    if v > bv || (v.is_nan() && !bv.is_nan()) {
                        (i, v)
                    } else {
                        (bi, bv)
                    }
                })
                .0
        })
        .collect())
}

/// `tf.one_hot(indices, depth)`: a `(len, depth)` tensor of `dtype`, 1 at each index and 0
/// elsewhere (a row of zeros for an index ≥ `depth`, as in TensorFlow). A `depth` whose
/// tensor memory cannot hold is an error naming `one_hot` and the shape.
///
/// ```
/// use tapegrad_autodiff::{one_hot, DType};
/// let t = one_hot(&[2, 0], 3, DType::F32)?;
/// assert_eq!(t.to_vec::<f32>()?, vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
/// assert!(one_hot(&[0, 1], usize::MAX, DType::F32).is_err());
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
pub fn one_hot(indices: &[usize], depth: usize, dtype: crate::DType) -> Result<Tensor> {
    let shape = [indices.len(), depth];
    let mut data = tapegrad_tensor::reserve_elements::<f64>("one_hot", &shape)?;
    data.resize(indices.len() * depth, 0.0);
    for (row, &i) in indices.iter().enumerate() {
        if i < depth {
            data[row * depth + i] = 1.0;
        }
    }
    Ok(Tensor::new(
        tapegrad_tensor::Array::from_vec(data, &shape)?.cast(dtype),
    ))
}

impl Tensor {
    /// [`log_softmax`] as a method.
    pub fn log_softmax(&self, axis: isize) -> Result<Tensor> {
        log_softmax(self, axis)
    }
    /// [`argmax`] along the last axis, as a method.
    pub fn argmax(&self) -> Result<Vec<usize>> {
        argmax(self)
    }
}

/// This module's entries of the op table ([`crate::op_table`]).
pub(crate) const OPS: &[crate::ops::OpEntry] = {
    use crate::ops::OpEntry as E;
    &[
        E::new("softmax(axis=-1)", &[&[2, 3]], crate::Domain::Any, |x| {
            softmax(&x[0], -1)
        }),
        E::new("log_softmax(axis=0)", &[&[2, 3]], crate::Domain::Any, |x| {
            log_softmax(&x[0], 0)
        }),
    ]
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check;

    #[test]
    fn gradients_pass_the_checker() -> Result<()> {
        let w = |n: usize| {
            Tensor::new(
                tapegrad_tensor::Array::from_vec(
                    (0..n).map(|i| 0.3 * i as f64 - 0.5).collect(),
                    &[n],
                )
                .unwrap(),
            )
        };
        check(&[&[2, 3]], |v| crate::mul(softmax(&v[0], -1)?, w(3)))?;
        check(&[&[3, 2]], |v| {
            crate::mul(softmax(&v[0], 0)?, crate::reshape(w(3), &[3, 1])?)
        })?;
        Ok(())
    }
}
