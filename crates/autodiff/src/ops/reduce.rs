//! Reductions: `reduce_sum`, `reduce_mean`, `reduce_max`, over chosen axes with or without
//! `keepdims`.

use std::borrow::Cow;

use tapegrad_tensor as tt;

use tt::ndarray::{Dimension, IxDyn};

use crate::op::{Backward, Op};
use crate::ops::shape::reshape_to;
use crate::tape::{record1, OpRef};
use crate::tensor::resolve;
use crate::{IntoOperand, Result, Tensor};

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Sum,
    Mean,
    Max,
}

struct Reduce {
    kind: Kind,
    axes: Option<Cow<'static, [isize]>>,
    keepdims: bool,
}

/// A [`Reduce`] constant over every axis or over the last one (no allocation to record it).
macro_rules! reduce_const {
    ($kind:ident, $axes:expr, $keep:literal) => {
        &Reduce {
            kind: Kind::$kind,
            axes: $axes,
            keepdims: $keep,
        }
    };
}

impl Reduce {
    /// The op as a `'static` constant for the common axes (all, or the last: Keras's losses),
    /// else built with its axes (one allocation).
    fn op(kind: Kind, axes: Option<&[isize]>, keepdims: bool) -> OpRef {
        const LAST: Option<Cow<'static, [isize]>> = Some(Cow::Borrowed(&[-1]));
        let constant: Option<&'static Reduce> = match (kind, axes, keepdims) {
            (Kind::Sum, None, false) => Some(reduce_const!(Sum, None, false)),
            (Kind::Sum, None, true) => Some(reduce_const!(Sum, None, true)),
            (Kind::Mean, None, false) => Some(reduce_const!(Mean, None, false)),
            (Kind::Mean, None, true) => Some(reduce_const!(Mean, None, true)),
            (Kind::Max, None, false) => Some(reduce_const!(Max, None, false)),
            (Kind::Max, None, true) => Some(reduce_const!(Max, None, true)),
            (Kind::Sum, Some([-1]), false) => Some(reduce_const!(Sum, LAST, false)),
            (Kind::Sum, Some([-1]), true) => Some(reduce_const!(Sum, LAST, true)),
            (Kind::Mean, Some([-1]), false) => Some(reduce_const!(Mean, LAST, false)),
            (Kind::Mean, Some([-1]), true) => Some(reduce_const!(Mean, LAST, true)),
            (Kind::Max, Some([-1]), false) => Some(reduce_const!(Max, LAST, false)),
            (Kind::Max, Some([-1]), true) => Some(reduce_const!(Max, LAST, true)),
            _ => None,
        };
        match constant {
            Some(op) => OpRef::Static(op),
            None => OpRef::new(Reduce {
                kind,
                axes: axes.map(|a| Cow::Owned(a.to_vec())),
                keepdims,
            }),
        }
    }

    /// The output's shape with the reduced axes kept as length 1 (inline up to rank 4).
    fn kept_shape(&self, input: &[usize]) -> IxDyn {
        let rank = input.len() as isize;
        let reduced = |i: usize| match &self.axes {
            None => true,
            Some(a) => a
                .iter()
                .any(|&x| (if x < 0 { x + rank } else { x }) == i as isize),
        };
        let mut kept = IxDyn(input);
        for (i, d) in kept.slice_mut().iter_mut().enumerate() {
            if reduced(i) {
                *d = 1;
            }
        }
        kept
    }

    /// The value of the one-element gradient `g` of a sum, or divided by the count `n` in
    /// `g`'s dtype (as `g / n` rounds) for a mean, widened to `f64` (exactly).
    fn scaled_item(&self, g: &tt::Array, n: usize) -> Result<f64> {
        let v = g.item()?;
        Ok(match (self.kind, g.dtype()) {
            (Kind::Mean, tt::DType::F32) => f64::from(v as f32 / n as f64 as f32),
            (Kind::Mean, tt::DType::F64) => v / n as f64,
            _ => v,
        })
    }

    /// The gradient of a sum or mean of `x` (with `outputs` elements) for the output gradient
    /// `g`, with the tensor kernels the recorded backward runs, in the same order: `g`
    /// reshaped with the reduced axes kept, divided by the count (a mean), broadcast to `x`'s
    /// shape (one element of `g`: the same division on its value, filled in).
    fn plain_gradient(&self, x: &tt::Array, outputs: usize, g: &tt::Array) -> Result<tt::Array> {
        let len = x.len();
        if len == outputs {
            // each input element is one output element (see `backward`)
            return Ok(g.reshape_exact(x.shape())?);
        }
        // the count each output element reduces
        let n = len / outputs.max(1);
        if g.len() == 1 {
            // one element (a loss's): its value, divided in the dtype for a mean, filled in
            let value = self.scaled_item(g, n)?;
            return Ok(tt::Array::full(g.dtype(), x.shape(), value)?);
        }
        let mut g = g.reshape_exact(self.kept_shape(x.shape()).slice())?;
        if self.kind == Kind::Mean {
            g = g.div(&tt::Array::scalar_of(g.dtype(), n as f64))?;
        }
        Ok(g.broadcast_to(x.shape())?)
    }
}

impl Op for Reduce {
    fn rule(&self) -> &'static str {
        match self.kind {
            Kind::Sum => "d sum(x)/dx = g, broadcast back over the summed axes",
            Kind::Mean => "d mean(x)/dx = g / n, broadcast back over the n averaged elements",
            Kind::Max => "d max(x)/dx = g at the maximum (shared among ties), 0 elsewhere",
        }
    }
    fn name(&self) -> String {
        let n = match self.kind {
            Kind::Sum => "Sum",
            Kind::Mean => "Mean",
            Kind::Max => "Max",
        };
        format!("{n}(axes={:?}, keepdims={})", self.axes, self.keepdims)
    }
    /// Nothing records this backward (the usual case): the kernels of the recorded path,
    /// called directly.
    fn backward_unrecorded(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
        if self.kind == Kind::Max {
            return self.backward(b, out);
        }
        let grad = self.plain_gradient(b.inputs[0].value(), b.output.len(), b.grad.value())?;
        out.push(Some(Tensor::new(grad)));
        Ok(())
    }
    fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
        let x = &b.inputs[0];
        if self.kind != Kind::Max && x.len() == b.output.len() {
            // Every reduced axis has length 1 (a loss of one output per row, a mean of one
            // element): each input element is one output element, and its gradient is the
            // output's, reshaped (a mean's division by a count of 1 changes no value).
            let g = if b.grad.value().has_shape(x.shape()) {
                b.grad.clone()
            } else {
                reshape_to(b.grad, x.shape())?
            };
            out.push(Some(g));
            return Ok(());
        }
        let kept = self.kept_shape(x.shape());
        let g = reshape_to(b.grad, kept.slice())?;
        let grad = match self.kind {
            Kind::Sum => crate::broadcast_to(&g, x.shape())?,
            Kind::Mean => {
                let n = x.len() / b.output.len().max(1);
                // Dividing before broadcasting gives every element the same `g / n`, one
                // division per output element instead of per input element.
                crate::broadcast_to(crate::div(&g, n as f64)?, x.shape())?
            }
            Kind::Max => {
                // Ties share the gradient equally, as TensorFlow's _MaxGrad does.
                let y = b.output.value().reshape_exact(kept.slice())?;
                let mask = x.value().zip(&y, tt::ops::Equal)?;
                let count = mask.sum(self.axes.as_deref(), true)?;
                let share = Tensor::new(mask.div(&count)?);
                crate::mul(crate::broadcast_to(&g, x.shape())?, share)?
            }
        };
        out.push(Some(grad));
        Ok(())
    }
}

fn reduce(
    kind: Kind,
    x: impl IntoOperand,
    axes: Option<&[isize]>,
    keepdims: bool,
) -> Result<Tensor> {
    let x = resolve(x)?;
    let value = match kind {
        Kind::Sum => x.value().sum(axes, keepdims),
        Kind::Mean => x.value().mean(axes, keepdims),
        Kind::Max => x.value().max(axes, keepdims),
    }?;
    Ok(record1(|| Reduce::op(kind, axes, keepdims), x, value))
}

/// `tf.reduce_sum(x, axis, keepdims)`; `None` sums every axis.
///
/// ```
/// use tapegrad_autodiff::{reduce_sum, Tensor};
/// let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
/// assert_eq!(reduce_sum(&x, Some(&[1]), true)?.shape(), &[2, 1]);
/// assert_eq!(reduce_sum(&x, None, false)?.item()?, 10.0);
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
pub fn reduce_sum(x: impl IntoOperand, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor> {
    reduce(Kind::Sum, x, axes, keepdims)
}

/// `tf.reduce_mean(x, axis, keepdims)`: the sum divided by the count.
pub fn reduce_mean(x: impl IntoOperand, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor> {
    reduce(Kind::Mean, x, axes, keepdims)
}

/// `tf.reduce_max(x, axis, keepdims)`; tied maxima share the gradient.
pub fn reduce_max(x: impl IntoOperand, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor> {
    reduce(Kind::Max, x, axes, keepdims)
}

/// The reductions as methods: over the axes given (`x.reduce_mean(&[0])?`), or over every axis
/// (`x.sum()?`, `x.mean()?`, `x.max()?`, numpy's `x.sum()`), without kept dimensions.
///
/// ```
/// use tapegrad_autodiff::Tensor;
/// let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 6.0], &[2, 2])?;
/// assert_eq!(x.reduce_mean(&[0])?.to_vec::<f32>()?, vec![2.0, 4.0]);
/// assert_eq!(x.reduce_sum(&[-1])?.to_vec::<f32>()?, vec![3.0, 9.0]);
/// assert_eq!((x.sum()?.item()?, x.mean()?.item()?, x.max()?.item()?), (12.0, 3.0, 6.0));
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
impl Tensor {
    /// [`reduce_sum`] over `axes`.
    pub fn reduce_sum(&self, axes: &[isize]) -> Result<Tensor> {
        reduce_sum(self, Some(axes), false)
    }
    /// [`reduce_mean`] over `axes`.
    pub fn reduce_mean(&self, axes: &[isize]) -> Result<Tensor> {
        reduce_mean(self, Some(axes), false)
    }
    /// [`reduce_max`] over `axes`.
    pub fn reduce_max(&self, axes: &[isize]) -> Result<Tensor> {
        reduce_max(self, Some(axes), false)
    }
    /// The sum of every element.
    pub fn sum(&self) -> Result<Tensor> {
        reduce_sum(self, None, false)
    }
    /// The mean of every element.
    pub fn mean(&self) -> Result<Tensor> {
        reduce_mean(self, None, false)
    }
    /// The largest element.
    pub fn max(&self) -> Result<Tensor> {
        reduce_max(self, None, false)
    }
}

/// `tf.reduce_min(x, axis, keepdims)`: `-reduce_max(-x)` (tied minima share the gradient).
///
/// ```
/// use tapegrad_autodiff::{reduce_min, Tensor};
/// let x = Tensor::from_vec(vec![3.0f32, -1.0, 2.0, 5.0], &[2, 2])?;
/// assert_eq!(reduce_min(&x, Some(&[1]), false)?.to_vec::<f32>()?, vec![-1.0, 2.0]);
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
pub fn reduce_min(x: impl IntoOperand, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor> {
    let max = reduce_max(crate::neg(x)?, axes, keepdims).map_err(|e| e.in_op("reduce_min"))?;
    crate::neg(max)
}

/// `tf.math.reduce_std(x, axis, keepdims)`: the square root of the mean squared deviation from
/// the mean (the population deviation, as numpy's `std` with `ddof=0`), differentiable through
/// its parts.
///
/// ```
/// use tapegrad_autodiff::{reduce_std, Tensor};
/// let x = Tensor::from_vec(vec![1.0f64, 3.0, 5.0, 7.0], &[4])?;
/// assert_eq!(reduce_std(&x, None, false)?.item()?, 5.0f64.sqrt());
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
pub fn reduce_std(x: impl IntoOperand, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor> {
    let x = resolve(x)?;
    let var = (|| {
        let mean = reduce_mean(&x, axes, true)?;
        reduce_mean(crate::square(crate::sub(&x, mean)?)?, axes, keepdims)
    })()
    .map_err(|e| e.in_op("reduce_std"))?;
    crate::sqrt(var)
}

/// `tf.norm(x)` over `axes` (every axis with `None`): the Euclidean norm
/// `sqrt(sum(x²))`. Its gradient at `x = 0` is NaN, as TensorFlow's.
///
/// ```
/// use tapegrad_autodiff::{norm, Tensor};
/// let x = Tensor::from_vec(vec![3.0f32, 4.0], &[2])?;
/// assert_eq!(norm(&x, None, false)?.item()?, 5.0);
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
pub fn norm(x: impl IntoOperand, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor> {
    crate::sqrt(reduce_sum(crate::square(x)?, axes, keepdims)?)
}

impl Tensor {
    /// [`reduce_min`] over `axes`.
    pub fn reduce_min(&self, axes: &[isize]) -> Result<Tensor> {
        reduce_min(self, Some(axes), false)
    }
    /// The smallest element.
    pub fn min(&self) -> Result<Tensor> {
        reduce_min(self, None, false)
    }
    /// [`reduce_std`] over `axes`.
    pub fn reduce_std(&self, axes: &[isize]) -> Result<Tensor> {
        reduce_std(self, Some(axes), false)
    }
    /// The Euclidean norm of every element ([`norm`]).
    pub fn norm(&self) -> Result<Tensor> {
        norm(self, None, false)
    }
}

/// This module's entries of the op table ([`crate::op_table`]).
pub(crate) const OPS: &[crate::ops::OpEntry] = {
    use crate::ops::OpEntry as E;
    &[
        E::new(
            "reduce_sum(axes=[0])",
            &[&[2, 3]],
            crate::Domain::Any,
            |x| reduce_sum(&x[0], Some(&[0]), false),
        ),
        E::new("reduce_sum(all)", &[&[2, 3]], crate::Domain::Any, |x| {
            reduce_sum(&x[0], None, false)
        }),
        E::new(
            "reduce_mean(axes=[1], keepdims)",
            &[&[2, 3]],
            crate::Domain::Any,
            |x| reduce_mean(&x[0], Some(&[1]), true),
        ),
        E::new(
            "reduce_max(axes=[1])",
            &[&[2, 3]],
            crate::Domain::Any,
            |x| reduce_max(&x[0], Some(&[1]), false),
        ),
        E::new(
            "reduce_min(axes=[0])",
            &[&[2, 3]],
            crate::Domain::Any,
            |x| reduce_min(&x[0], Some(&[0]), false),
        ),
        E::new(
            "reduce_std(axes=[1])",
            &[&[2, 3]],
            crate::Domain::Any,
            |x| reduce_std(&x[0], Some(&[1]), false),
        ),
        E::new("norm(all)", &[&[2, 3]], crate::Domain::Any, |x| {
            norm(&x[0], None, false)
        }),
    ]
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{check, check_at};

    #[test]
    fn the_unrecorded_backward_equals_the_recorded_one_bit_for_bit() -> Result<()> {
        let values: Vec<f32> = (0..24).map(|i| (i as f32 * 0.37).sin() * 3.0).collect();
        let x32 = Tensor::from_vec(values, &[2, 3, 4])?;
        // a count of 3 (axis 1), 4, 6 and 24 divides inexactly in both dtypes
        let x64 = Tensor::new(x32.value().cast(tt::DType::F64));
        for x in [x32, x64] {
            unrecorded_equals_recorded(x)?;
        }
        Ok(())
    }

    fn unrecorded_equals_recorded(x: Tensor) -> Result<()> {
        use crate::GradientTape;
        let axes: [Option<&[isize]>; 5] = [None, Some(&[1]), Some(&[-1]), Some(&[0, 2]), Some(&[])];
        for keep in [false, true] {
            for axes in axes {
                for mean in [false, true] {
                    let gradient = |outer: bool| -> Result<Vec<u64>> {
                        // a recording outer tape makes the backward run the recorded ops
                        let outer = outer.then(GradientTape::new);
                        if let Some(t) = &outer {
                            t.watch(&x);
                        }
                        let tape = GradientTape::new();
                        tape.watch(&x);
                        let r = if mean {
                            reduce_mean(&x, axes, keep)?
                        } else {
                            reduce_sum(&x, axes, keep)?
                        };
                        // a non-uniform output gradient, so that the layout shows
                        let w = Tensor::new(
                            tt::Array::from_vec(
                                (0..r.len())
                                    .map(|i| 0.3 + i as f64 / 7.0)
                                    .collect::<Vec<_>>(),
                                r.shape(),
                            )?
                            .cast(x.dtype()),
                        );
                        let y = crate::mul(&r, &w)?;
                        let g = tape.gradient(&y, &[&x])?.remove(0).expect("connected");
                        let g = g.value().cast(tt::DType::F64).to_vec::<f64>()?;
                        Ok(g.iter().map(|v| v.to_bits()).collect())
                    };
                    assert_eq!(gradient(false)?, gradient(true)?, "{axes:?} {keep} {mean}");
                }
            }
        }
        Ok(())
    }

    #[test]
    fn gradients_pass_the_checker() -> Result<()> {
        for keep in [false, true] {
            check(&[&[2, 3, 4]], |v| reduce_sum(&v[0], Some(&[1]), keep))?;
            check(&[&[2, 3, 4]], |v| reduce_sum(&v[0], Some(&[0, -1]), keep))?;
            check(&[&[2, 3]], |v| reduce_mean(&v[0], None, keep))?;
            check(&[&[2, 3]], |v| reduce_mean(&v[0], Some(&[0]), keep))?;
            check(&[&[2, 3]], |v| reduce_max(&v[0], Some(&[1]), keep))?;
        }
        Ok(())
    }

    #[test]
    fn reductions_over_axes_of_length_one_pass_the_gradient_through() -> Result<()> {
        for keep in [false, true] {
            check(&[&[3, 1]], |v| reduce_mean(&v[0], Some(&[-1]), keep))?;
            check(&[&[1]], |v| reduce_mean(&v[0], None, keep))?;
            check(&[&[1, 2, 1]], |v| reduce_sum(&v[0], Some(&[0, 2]), keep))?;
        }
        let x = Tensor::from_vec(vec![1.0f32, -2.0], &[2, 1])?;
        let tape = crate::GradientTape::new();
        tape.watch(&x);
        let y = crate::mul(reduce_mean(crate::square(&x)?, Some(&[-1]), false)?, 3.0)?;
        let g = tape.gradient(&y, &[&x])?[0].clone().unwrap();
        assert_eq!(g.shape(), &[2, 1]);
        assert_eq!(g.to_vec::<f32>()?, vec![6.0, -12.0]);
        Ok(())
    }

    #[test]
    fn max_ties_share_the_gradient() -> Result<()> {
        let x = Tensor::from_vec(vec![1.0f64, 3.0, 3.0], &[3])?;
        let tape = crate::GradientTape::new();
        tape.watch(&x);
        let m = reduce_max(&x, None, false)?;
        let g = tape.gradient(&m, &[&x])?[0].clone().unwrap();
        assert_eq!(g.to_vec::<f64>()?, vec![0.0, 0.5, 0.5]);
        let distinct = [Tensor::from_vec(vec![0.3, -1.0, 2.0, 0.1], &[2, 2])?];
        check_at(&distinct, |v| reduce_max(&v[0], None, false))?;
        Ok(())
    }

    #[test]
    fn bad_axis_is_an_error() {
        let x = Tensor::zeros(tt::DType::F32, &[2, 3]).unwrap();
        let e = reduce_sum(&x, Some(&[2]), false).unwrap_err().to_string();
        assert!(e.contains("reduce_sum") && e.contains("axis 2"), "{e}");
    }
}
