//! `softmax`, with TensorFlow's `_SoftmaxGrad`.

use crate::op::{record1, Backward, Op, OpRef};
use crate::tensor::resolve;
use crate::{IntoOperand, Result, Tensor};

struct Softmax {
    axis: isize,
}

impl Op for Softmax {
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
    let value = x.value().softmax(axis)?;
    Ok(record1(|| OpRef::new(Softmax { axis }), x, value))
}

impl Tensor {
    /// [`softmax`] as a method.
    pub fn softmax(&self, axis: isize) -> Result<Tensor> {
        softmax(self, axis)
    }
}

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
