//! Running sums and products along an axis: `cumsum` and `cumprod` (TensorFlow's
//! `tf.math.cumsum` and `tf.math.cumprod`, with `exclusive` and `reverse`), and their
//! backwards, written in the same ops (a `cumsum` the other way; for `cumprod`, a `cumprod`, a
//! `cumsum` and a division), so that nested tapes differentiate them again.

use tapegrad_tensor as tt;
use tt::ndarray::{ArrayD, Axis};

use crate::op::{Backward, Op};
use crate::tape::{record1, OpRef};
use crate::tensor::resolve;
use crate::{Error, IntoOperand, Result, Tensor};

struct Cumsum {
    axis: usize,
    exclusive: bool,
    reverse: bool,
}

impl Op for Cumsum {
    fn rule(&self) -> &'static str {
        "d cumsum(x)/dx = the running sum of g taken the other way (exclusive when the sum was)"
    }
    fn name(&self) -> String {
        format!(
            "Cumsum(axis={}, exclusive={}, reverse={})",
            self.axis, self.exclusive, self.reverse
        )
    }
    fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
        // TensorFlow's _CumsumGrad
        let axis = self.axis as isize;
        out.push(Some(cumsum(b.grad, axis, self.exclusive, !self.reverse)?));
        Ok(())
    }
}

struct Cumprod {
    axis: usize,
    exclusive: bool,
    reverse: bool,
}

impl Op for Cumprod {
    fn rule(&self) -> &'static str {
        "d cumprod(x)/dx = cumsum(cumprod(x) * g, taken the other way) / x (not defined at x = 0)"
    }
    fn name(&self) -> String {
        format!(
            "Cumprod(axis={}, exclusive={}, reverse={})",
            self.axis, self.exclusive, self.reverse
        )
    }
    fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
        // TensorFlow's _CumprodGrad: each running product that holds x_j, times its gradient,
        // summed, over x_j. The division makes it NaN or infinite where x is 0 (TensorFlow's
        // own TODO says the same; its newer versions divide with div_no_nan, which gives 0 there,
        // not the derivative either).
        let x = &b.inputs[0];
        let axis = self.axis as isize;
        let prod = cumprod(x, axis, self.exclusive, self.reverse)?;
        let sums = cumsum(
            crate::mul(prod, b.grad)?,
            axis,
            self.exclusive,
            !self.reverse,
        )?;
        out.push(Some(crate::div(sums, x)?));
        Ok(())
    }
}

/// Running sums or products along `axis`: `acc = combine(acc, x)` from `identity`, front to
/// back (back to front when `reverse`), each element replaced by `acc` after its own step
/// (inclusive) or before it (`exclusive`).
fn scan<T: tt::Element>(
    a: &ArrayD<T>,
    axis: usize,
    exclusive: bool,
    reverse: bool,
    identity: T,
    combine: fn(T, T) -> T,
) -> ArrayD<T> {
    let mut out = a.to_owned();
    if out.is_empty() {
        // nothing to combine, however many empty lanes there are (2^40 of a `(0, 2^40)` tensor)
        return out;
    }
    for mut lane in out.lanes_mut(Axis(axis)) {
        let mut acc = identity;
        let mut step = |x: &mut T| {
            let next = combine(acc, *x);
            *x = if exclusive { acc } else { next };
            acc = next;
        };
        if reverse {
            lane.iter_mut().rev().for_each(&mut step);
        } else {
            lane.iter_mut().for_each(&mut step);
        }
    }
    out
}

/// `axis` of `x` counted from 0, or an error naming `op`, the axis and the shape.
fn scan_axis(op: &'static str, x: &Tensor, axis: isize) -> Result<usize> {
    let rank = x.rank() as isize;
    if rank == 0 || axis < -rank || axis >= rank {
        return Err(Error::Invalid {
            op,
            message: format!(
                "axis {axis} is out of range for a tensor of shape {:?} (allowed: -{rank}..{rank})",
                x.shape()
            ),
        });
    }
    Ok(if axis < 0 { axis + rank } else { axis } as usize)
}

/// `tf.math.cumsum(x, axis, exclusive, reverse)`: each element the sum of those before it
/// along `axis` (itself included, or not when `exclusive`: the first is then 0), added one
/// after another in that order; `reverse` sums from the end. Its gradient is the running sum
/// of the incoming gradient taken the other way (exclusive when this one is).
///
/// ```
/// use tapegrad_autodiff::{cumsum, GradientTape, Tensor};
/// let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3])?;
/// assert_eq!(cumsum(&x, 0, false, false)?.to_vec::<f32>()?, vec![1.0, 3.0, 6.0]);
/// assert_eq!(cumsum(&x, -1, false, true)?.to_vec::<f32>()?, vec![6.0, 5.0, 3.0]);
/// assert_eq!(cumsum(&x, 0, true, false)?.to_vec::<f32>()?, vec![0.0, 1.0, 3.0]);
/// let tape = GradientTape::new();
/// tape.watch(&x);
/// let y = cumsum(&x, 0, false, false)?;
/// assert_eq!(tape.gradient(&y, &[&x])?[0].as_ref().unwrap().to_vec::<f32>()?, vec![3.0, 2.0, 1.0]);
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
pub fn cumsum(x: impl IntoOperand, axis: isize, exclusive: bool, reverse: bool) -> Result<Tensor> {
    let x = resolve(x)?;
    let axis = scan_axis("cumsum", &x, axis)?;
    let value = match x.dtype() {
        tt::DType::F32 => {
            let a = x.value().array::<f32>()?;
            tt::Array::from_array(scan(a, axis, exclusive, reverse, 0.0, |a, b| a + b))
        }
        tt::DType::F64 => {
            let a = x.value().array::<f64>()?;
            tt::Array::from_array(scan(a, axis, exclusive, reverse, 0.0, |a, b| a + b))
        }
    };
    let op = || {
        OpRef::new(Cumsum {
            axis,
            exclusive,
            reverse,
        })
    };
    Ok(record1(op, x, value))
}

/// `tf.math.cumprod(x, axis, exclusive, reverse)`: each element the product of those before
/// it along `axis` (itself included, or not when `exclusive`: the first is then 1), multiplied
/// one after another in that order, `((x0 · x1) · x2) · …`; `reverse` multiplies from the end.
///
/// Its gradient is TensorFlow's: `cumsum(cumprod(x) · g)` taken the other way, divided by `x`.
/// That division makes the gradient NaN or infinite where an element of `x` is 0 (TensorFlow's
/// own gradient has the same limit; [`reduce_prod`](crate::reduce_prod) is exact at zeros at
/// first order, and at second order it differentiates this gradient, with the same limit).
///
/// ```
/// use tapegrad_autodiff::{cumprod, GradientTape, Tensor};
/// let x = Tensor::from_vec(vec![2.0f32, 3.0, 4.0], &[3])?;
/// assert_eq!(cumprod(&x, 0, false, false)?.to_vec::<f32>()?, vec![2.0, 6.0, 24.0]);
/// assert_eq!(cumprod(&x, 0, true, false)?.to_vec::<f32>()?, vec![1.0, 2.0, 6.0]);
/// assert_eq!(cumprod(&x, -1, false, true)?.to_vec::<f32>()?, vec![24.0, 12.0, 4.0]);
/// assert_eq!(cumprod(&x, 0, true, true)?.to_vec::<f32>()?, vec![12.0, 4.0, 1.0]);
/// let tape = GradientTape::new();
/// tape.watch(&x);
/// let y = cumprod(&x, 0, false, false)?;
/// // d/dx of 2 + 2·3 + 2·3·4: (1 + 3 + 12, 2 + 8, 6)
/// assert_eq!(tape.gradient(&y, &[&x])?[0].as_ref().unwrap().to_vec::<f32>()?, vec![16.0, 10.0, 6.0]);
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
pub fn cumprod(x: impl IntoOperand, axis: isize, exclusive: bool, reverse: bool) -> Result<Tensor> {
    let x = resolve(x)?;
    let axis = scan_axis("cumprod", &x, axis)?;
    let value = match x.dtype() {
        tt::DType::F32 => {
            let a = x.value().array::<f32>()?;
            tt::Array::from_array(scan(a, axis, exclusive, reverse, 1.0, |a, b| a * b))
        }
        tt::DType::F64 => {
            let a = x.value().array::<f64>()?;
            tt::Array::from_array(scan(a, axis, exclusive, reverse, 1.0, |a, b| a * b))
        }
    };
    let op = || {
        OpRef::new(Cumprod {
            axis,
            exclusive,
            reverse,
        })
    };
    Ok(record1(op, x, value))
}

impl Tensor {
    /// [`cumsum`] along `axis`, front to back, inclusive.
    pub fn cumsum(&self, axis: isize) -> Result<Tensor> {
        cumsum(self, axis, false, false)
    }
    /// [`cumprod`] along `axis`, front to back, inclusive.
    ///
    /// ```
    /// let x = tapegrad_autodiff::Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2])?;
    /// assert_eq!(x.cumprod(0)?.to_vec::<f64>()?, vec![1.0, 2.0, 3.0, 8.0]);
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    pub fn cumprod(&self, axis: isize) -> Result<Tensor> {
        cumprod(self, axis, false, false)
    }
}

/// This module's entries of the op table ([`crate::op_table`]). `cumprod`'s away from 0,
/// where its gradient divides by `x`.
pub(crate) const OPS: &[crate::ops::OpEntry] = {
    use crate::ops::OpEntry as E;
    &[
        E::new("cumsum(axis=1)", &[&[2, 3]], crate::Domain::Any, |x| {
            cumsum(&x[0], 1, false, false)
        }),
        E::new(
            "cumsum(axis=0, reverse)",
            &[&[2, 3]],
            crate::Domain::Any,
            |x| cumsum(&x[0], 0, false, true),
        ),
        E::new(
            "cumsum(axis=1, exclusive)",
            &[&[2, 3]],
            crate::Domain::Any,
            |x| cumsum(&x[0], 1, true, false),
        ),
        E::new(
            "cumprod(axis=1)",
            &[&[2, 3]],
            crate::Domain::AwayFromZero,
            |x| cumprod(&x[0], 1, false, false),
        ),
        E::new(
            "cumprod(axis=0, reverse)",
            &[&[3, 2]],
            crate::Domain::AwayFromZero,
            |x| cumprod(&x[0], 0, false, true),
        ),
        E::new(
            "cumprod(axis=-1, exclusive, reverse)",
            &[&[2, 3]],
            crate::Domain::AwayFromZero,
            |x| cumprod(&x[0], -1, true, true),
        ),
    ]
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{check, check_at};
    use crate::GradientTape;

    #[test]
    fn gradients_pass_the_checker_along_every_axis_both_ways() -> Result<()> {
        for axis in [0, 1, -1] {
            for exclusive in [false, true] {
                for reverse in [false, true] {
                    check(&[&[3, 4]], |v| cumsum(&v[0], axis, exclusive, reverse))?;
                    check(&[&[3, 4]], |v| {
                        crate::square(cumsum(&v[0], axis, exclusive, reverse)?)
                    })?;
                }
            }
        }
        Ok(())
    }

    #[test]
    fn sums_run_in_order_and_a_bad_axis_names_the_shape() -> Result<()> {
        let x = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
        let sums = |axis, exclusive, reverse| -> Result<Vec<f64>> {
            cumsum(&x, axis, exclusive, reverse)?.to_vec::<f64>()
        };
        assert_eq!(sums(1, false, false)?, [1.0, 3.0, 6.0, 4.0, 9.0, 15.0]);
        assert_eq!(sums(0, false, false)?, [1.0, 2.0, 3.0, 5.0, 7.0, 9.0]);
        // np.cumsum(x, 1) - x, and its reverse
        assert_eq!(sums(1, true, false)?, [0.0, 1.0, 3.0, 0.0, 4.0, 9.0]);
        assert_eq!(sums(1, true, true)?, [5.0, 3.0, 0.0, 11.0, 6.0, 0.0]);
        assert_eq!(sums(0, true, true)?, [4.0, 5.0, 6.0, 0.0, 0.0, 0.0]);
        let err = cumsum(&x, 2, false, false).unwrap_err().to_string();
        assert!(err.contains("cumsum") && err.contains("[2, 3]"), "{err}");
        Ok(())
    }

    /// `x` of shape `[2, 3]` in `dtype`.
    fn two_by_three(values: [f64; 6], dtype: tt::DType) -> Result<Tensor> {
        Tensor::from_vec(values.to_vec(), &[2, 3])?.cast(dtype)
    }

    #[test]
    fn products_equal_numpys_cumprod_in_both_dtypes() -> Result<()> {
        for dtype in [tt::DType::F32, tt::DType::F64] {
            let x = two_by_three([1.0, 2.0, 3.0, -4.0, 0.5, 0.0], dtype)?;
            let prods = |axis, exclusive, reverse| -> Result<Vec<f64>> {
                let y = cumprod(&x, axis, exclusive, reverse)?;
                assert_eq!((y.dtype(), y.shape()), (dtype, &[2, 3][..]));
                Ok(y.to_f64_vec())
            };
            // np.cumprod(x, axis=1), np.cumprod(x, axis=0)
            assert_eq!(prods(1, false, false)?, [1.0, 2.0, 6.0, -4.0, -2.0, -0.0]);
            assert_eq!(prods(0, false, false)?, [1.0, 2.0, 3.0, -4.0, 1.0, 0.0]);
            // np.cumprod(x[:, ::-1], axis=1)[:, ::-1]
            assert_eq!(prods(-1, false, true)?, [6.0, 6.0, 3.0, -0.0, 0.0, 0.0]);
            // exclusive: shifted by one, 1 first
            assert_eq!(prods(1, true, false)?, [1.0, 1.0, 2.0, 1.0, -4.0, -2.0]);
            assert_eq!(prods(1, true, true)?, [6.0, 3.0, 1.0, 0.0, 0.0, 1.0]);
            assert_eq!(prods(0, true, true)?, [-4.0, 0.5, 0.0, 1.0, 1.0, 1.0]);
            assert_eq!(x.cumprod(1)?.to_f64_vec(), prods(1, false, false)?);
        }
        Ok(())
    }

    #[test]
    fn the_gradient_of_a_running_product_is_tensorflows_and_passes_the_checker() -> Result<()> {
        for dtype in [tt::DType::F32, tt::DType::F64] {
            let x = Tensor::from_vec(vec![2.0f64, 3.0, 4.0], &[3])?.cast(dtype)?;
            let grad = |exclusive, reverse| -> Result<Vec<f64>> {
                let tape = GradientTape::new();
                tape.watch(&x);
                let y = cumprod(&x, 0, exclusive, reverse)?;
                let g = tape.gradient(&y, &[&x])?.remove(0).expect("connected");
                assert_eq!(g.dtype(), dtype);
                Ok(g.to_f64_vec())
            };
            // y = (a, ab, abc): (1 + b + bc, a + ac, ab)
            assert_eq!(grad(false, false)?, [16.0, 10.0, 6.0]);
            // y = (abc, bc, c): (bc, ac + c, ab + b + 1)
            assert_eq!(grad(false, true)?, [12.0, 12.0, 10.0]);
            // y = (1, a, ab): (1 + b, a, 0)
            assert_eq!(grad(true, false)?, [4.0, 2.0, 0.0]);
            // y = (bc, c, 1): (0, c, b + 1)
            assert_eq!(grad(true, true)?, [0.0, 4.0, 4.0]);
        }
        let away = [Tensor::from_vec(
            vec![
                1.3, -0.7, 0.9, 1.6, -1.2, 0.8, 0.6, 1.1, -1.4, 0.75, 1.25, -0.9,
            ],
            &[3, 4],
        )?];
        for axis in [0, 1, -1] {
            for exclusive in [false, true] {
                for reverse in [false, true] {
                    check_at(&away, |v| cumprod(&v[0], axis, exclusive, reverse))?;
                    // second order: the gradient of the gradient, through its division
                    check_at(&away, |v| {
                        let tape = GradientTape::new();
                        tape.watch(&v[0]);
                        let y = cumprod(&v[0], axis, exclusive, reverse)?;
                        let y = crate::mul(&y, &y)?;
                        Ok(tape.gradient(&y, &[&v[0]])?.remove(0).expect("connected"))
                    })?;
                }
            }
        }
        Ok(())
    }

    #[test]
    fn a_zero_makes_the_running_products_gradient_nan_as_tensorflows() -> Result<()> {
        let x = Tensor::from_vec(vec![2.0f64, 0.0, 4.0], &[3])?;
        let tape = GradientTape::new();
        tape.watch(&x);
        let y = cumprod(&x, 0, false, false)?;
        let g = tape.gradient(&y, &[&x])?.remove(0).expect("connected");
        // the zero's derivative is a + ac = 2 + 8, but its sum of products is divided by 0: 0 / 0
        let g = g.to_vec::<f64>()?;
        assert_eq!(g[0], 1.0);
        assert!(g[1].is_nan(), "{g:?}");
        Ok(())
    }

    #[test]
    fn a_bad_axis_names_the_op_the_axis_and_the_shape() {
        let x = Tensor::zeros(tt::DType::F32, &[2, 3]).unwrap();
        for axis in [2, -3] {
            let err = cumprod(&x, axis, false, false).unwrap_err().to_string();
            assert!(
                err.starts_with("cumprod: ")
                    && err.contains(&format!("axis {axis} "))
                    && err.contains("[2, 3]"),
                "{err}"
            );
        }
        let err = cumprod(Tensor::scalar(1.0f32), 0, false, false).unwrap_err();
        assert!(err.to_string().starts_with("cumprod: axis 0"), "{err}");
    }
}
