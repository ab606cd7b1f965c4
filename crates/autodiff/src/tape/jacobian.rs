//! [`GradientTape::jacobian`]: one backward pass per element of the target.

use tapegrad_tensor as tt;

use super::backward::backward_pass;
use super::{GradientTape, Source};
use crate::{ops, Result, Tensor};

impl GradientTape {
    /// The Jacobian of `target` with respect to `source`: shape `target.shape + source.shape`.
    ///
    /// ```
    /// use tapegrad_autodiff::{GradientTape, Tensor};
    /// let x = Tensor::from_vec(vec![1.0f64, 2.0], &[2])?;
    /// let tape = GradientTape::new();
    /// tape.watch(&x);
    /// let y = tapegrad_autodiff::square(&x)?;
    /// let j = tape.jacobian(&y, &x)?;
    /// assert_eq!(j.shape(), &[2, 2]);
    /// assert_eq!(j.to_vec::<f64>()?, vec![2.0, 0.0, 0.0, 4.0]);
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    pub fn jacobian<S: Source>(&self, target: &Tensor, source: &S) -> Result<Tensor> {
        let zeros = source.source_zeros()?;
        let n = target.len();
        let dtype = target.dtype();
        let rows = self.run(|recorded, scratch| {
            (0..n)
                .map(|i| {
                    let mut onehot = vec![0.0f64; n];
                    onehot[i] = 1.0;
                    let seed = tt::Array::from_vec(onehot, target.shape())?.cast(dtype);
                    let sources = std::slice::from_ref(source);
                    let g = backward_pass(recorded, scratch, target, Tensor::new(seed), sources)?;
                    Ok(match g.into_iter().next().flatten() {
                        Some(g) => g,
                        None => Tensor::new(zeros.clone()),
                    })
                })
                .collect::<Result<Vec<_>>>()
        })?;
        let mut shape = target.shape().to_vec();
        shape.extend_from_slice(zeros.shape());
        if rows.is_empty() {
            return Ok(Tensor::new(tt::Array::zeros(zeros.dtype(), &shape)?));
        }
        let flat: Vec<Tensor> = rows
            .iter()
            .map(|r| ops::reshape(r, &[-1]))
            .collect::<Result<_>>()?;
        let stacked = ops::stack(&flat, 0)?;
        let dims: Vec<isize> = shape.iter().map(|&d| d as isize).collect();
        ops::reshape(&stacked, &dims)
    }
}
