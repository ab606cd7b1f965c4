//! Reductions: `reduce_sum`, `reduce_mean`, `reduce_max`, `reduce_prod` and the ones made of
//! them, over chosen axes with or without `keepdims`.

use std::borrow::Cow;

use tapegrad_tensor as tt;

use tt::ndarray::{ArrayD, Dimension, IxDyn};

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
            let divisor = (self.kind == Kind::Mean).then_some(n);
            return Ok(g.spread(x.shape(), divisor)?);
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

/// The axes of a product, counted from 0, sorted, each once (`None`: every axis); an axis out
/// of range is an error naming `reduce_prod`, the axis and the shape. Inline up to rank 4.
fn product_axes(x: &Tensor, axes: Option<&[isize]>) -> Result<IxDyn> {
    let rank = x.rank();
    let Some(given) = axes else {
        let mut all = IxDyn::zeros(rank);
        (all.slice_mut().iter_mut().enumerate()).for_each(|(i, a)| *a = i);
        return Ok(all);
    };
    let r = rank as isize;
    let mut list = IxDyn::zeros(given.len());
    for (a, &g) in list.slice_mut().iter_mut().zip(given) {
        if g < -r || g >= r {
            return Err(tt::TensorError::Axis {
                op: "reduce_prod",
                axis: g,
                rank,
                shape: x.shape().to_vec(),
            }
            .into());
        }
        *a = if g < 0 { g + r } else { g } as usize;
    }
    let list = list.slice_mut();
    list.sort_unstable();
    let mut kept = 0;
    for i in 0..list.len() {
        if kept == 0 || list[i] != list[kept - 1] {
            list[kept] = list[i];
            kept += 1;
        }
    }
    Ok(IxDyn(&list[..kept]))
}

/// The product over `axes` (normalized) of `a`: for each output element, its elements in
/// row-major order of the reduced axes, multiplied one after another from the left
/// (`((x0 · x1) · x2) · …`); 1 where nothing is multiplied. The output is built by the checked
/// allocation (an error naming `reduce_prod` when the system refuses it).
fn product<T: tt::Element>(a: &ArrayD<T>, axes: &[usize], keepdims: bool) -> Result<tt::Array> {
    let shape = a.shape();
    let out_shape: Vec<usize> = (shape.iter().enumerate())
        .filter_map(|(i, &d)| match axes.contains(&i) {
            true => keepdims.then_some(1),
            false => Some(d),
        })
        .collect();
    let mut out = tt::reserve_elements::<T>("reduce_prod", &out_shape)?;
    // the allocation succeeded: the count fits
    let outputs: usize = out_shape.iter().product();
    let count: usize = axes.iter().map(|&ax| shape[ax]).product();
    if count == 0 {
        out.resize(outputs, T::one());
    } else if outputs > 0 {
        // the kept axes first, the reduced ones last: each output's elements are one run
        let mut perm: Vec<usize> = (0..shape.len()).filter(|i| !axes.contains(i)).collect();
        perm.extend_from_slice(axes);
        let view = a.view().permuted_axes(IxDyn(&perm));
        let (mut acc, mut k) = (T::one(), 0);
        for &x in view.iter() {
            acc = acc * x;
            k += 1;
            if k == count {
                out.push(acc);
                (acc, k) = (T::one(), 0);
            }
        }
    }
    Ok(tt::Array::from_vec(out, &out_shape)?)
}

/// The recorded product: its axes (normalized) and whether it kept them.
struct Prod {
    axes: IxDyn,
    keepdims: bool,
}

impl Op for Prod {
    fn rule(&self) -> &'static str {
        "d prod(x)/dx_i = g * (the product of the other elements): an exclusive cumprod from \
         each side, no division (exact at zeros)"
    }
    fn name(&self) -> String {
        format!(
            "Prod(axes={:?}, keepdims={})",
            self.axes.slice(),
            self.keepdims
        )
    }
    /// TensorFlow's `_ProdGrad`: the reduced axes moved to the front and flattened into one,
    /// the product of the others at each element is the exclusive running product from the
    /// front times the exclusive one from the back (one zero: only it has a nonzero
    /// gradient; two: none has), moved back and times `g`.
    fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
        let x = &b.inputs[0];
        let shape = x.shape();
        let axes = self.axes.slice();
        let kept: Vec<usize> = (shape.iter().enumerate())
            .map(|(i, &d)| if axes.contains(&i) { 1 } else { d })
            .collect();
        let g = crate::broadcast_to(reshape_to(b.grad, &kept)?, shape)?;
        let mut perm: Vec<usize> = axes.to_vec();
        perm.extend((0..shape.len()).filter(|i| !axes.contains(i)));
        let moved = perm.iter().enumerate().any(|(i, &p)| i != p);
        let permuted = if moved {
            crate::transpose(x, Some(&perm))?
        } else {
            x.clone()
        };
        let permuted_shape = permuted.shape().to_vec();
        let count: usize = axes.iter().map(|&ax| shape[ax]).product();
        let others: usize = (0..shape.len())
            .filter(|i| !axes.contains(i))
            .map(|i| shape[i])
            .product();
        let rows = reshape_to(&permuted, &[count, others])?;
        let left = crate::cumprod(&rows, 0, true, false)?;
        let right = crate::cumprod(&rows, 0, true, true)?;
        let y = reshape_to(&crate::mul(left, right)?, &permuted_shape)?;
        let y = if moved {
            let mut inverse = vec![0; perm.len()];
            perm.iter().enumerate().for_each(|(i, &p)| inverse[p] = i);
            crate::transpose(y, Some(&inverse))?
        } else {
            y
        };
        out.push(Some(crate::mul(g, y)?));
        Ok(())
    }
}

/// `tf.math.reduce_prod(x, axis, keepdims)`: the product of the elements over `axes` (every
/// axis with `None`; 1 over an empty axis, as TensorFlow's).
///
/// The elements of each product are multiplied one after another from the left, in row-major
/// order of the reduced axes: `((x0 · x1) · x2) · …`. TensorFlow's CPU kernel (Eigen)
/// multiplies in a tree of packets instead, so the last bits of a long product may differ from
/// it (and from numpy's `np.prod`); products that round nowhere (small integers, powers of
/// two) are equal.
///
/// Its gradient is TensorFlow's `_ProdGrad`: at each element, `g` times the product of the
/// other elements, computed as an exclusive running product from each side (no division by
/// `x`). One zero on an axis gives only that element a nonzero gradient (the product of the
/// others), two give every element 0. The gradient is written in [`cumprod`](crate::cumprod),
/// whose own gradient divides by `x`: a second-order gradient is NaN or infinite where an
/// element is 0, as TensorFlow's.
///
/// ```
/// use tapegrad_autodiff::{reduce_prod, GradientTape, Tensor};
/// let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
/// assert_eq!(reduce_prod(&x, None, false)?.item()?, 24.0);
/// assert_eq!(reduce_prod(&x, Some(&[0]), false)?.to_vec::<f32>()?, vec![3.0, 8.0]);
/// assert_eq!(reduce_prod(&x, Some(&[1]), true)?.shape(), &[2, 1]);
/// let z = Tensor::from_vec(vec![2.0f32, 0.0, 5.0], &[3])?;
/// let tape = GradientTape::new();
/// tape.watch(&z);
/// let p = reduce_prod(&z, None, false)?;
/// // only the zero's gradient is nonzero: the product of the others
/// assert_eq!(tape.gradient(&p, &[&z])?[0].as_ref().unwrap().to_vec::<f32>()?, vec![0.0, 10.0, 0.0]);
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
pub fn reduce_prod(x: impl IntoOperand, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor> {
    let x = resolve(x)?;
    let axes = product_axes(&x, axes)?;
    let value = match x.dtype() {
        tt::DType::F32 => product(x.value().array::<f32>()?, axes.slice(), keepdims),
        tt::DType::F64 => product(x.value().array::<f64>()?, axes.slice(), keepdims),
    }?;
    Ok(record1(|| OpRef::new(Prod { axes, keepdims }), x, value))
}

impl Tensor {
    /// [`reduce_prod`] over `axes`.
    ///
    /// ```
    /// let x = tapegrad_autodiff::Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0], &[2, 2])?;
    /// assert_eq!(x.reduce_prod(&[-1])?.to_vec::<f64>()?, vec![2.0, 12.0]);
    /// assert_eq!(x.prod()?.item()?, 24.0);
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    pub fn reduce_prod(&self, axes: &[isize]) -> Result<Tensor> {
        reduce_prod(self, Some(axes), false)
    }
    /// The product of every element.
    pub fn prod(&self) -> Result<Tensor> {
        reduce_prod(self, None, false)
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
        // away from 0: the second order divides by x (see `reduce_prod`)
        E::new(
            "reduce_prod(all)",
            &[&[2, 3]],
            crate::Domain::AwayFromZero,
            |x| reduce_prod(&x[0], None, false),
        ),
        E::new(
            "reduce_prod(axes=[1])",
            &[&[2, 3]],
            crate::Domain::AwayFromZero,
            |x| reduce_prod(&x[0], Some(&[1]), false),
        ),
        E::new(
            "reduce_prod(axes=[0], keepdims)",
            &[&[3, 2]],
            crate::Domain::AwayFromZero,
            |x| reduce_prod(&x[0], Some(&[0]), true),
        ),
        E::new(
            "reduce_prod(axes=[0, 2])",
            &[&[2, 3, 2]],
            crate::Domain::AwayFromZero,
            |x| reduce_prod(&x[0], Some(&[0, 2]), false),
        ),
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

    /// The gradient of `sum(reduce_prod(x, axes, keepdims) * w)` (`w` of the output's shape,
    /// ones when `None`), and the product itself, both widened to `f64`.
    fn prod_and_gradient(
        x: &Tensor,
        axes: Option<&[isize]>,
        keepdims: bool,
        w: Option<&[f64]>,
    ) -> Result<(Vec<usize>, Vec<f64>, Vec<f64>)> {
        let tape = crate::GradientTape::new();
        tape.watch(x);
        let p = reduce_prod(x, axes, keepdims)?;
        assert_eq!(p.dtype(), x.dtype());
        let y = match w {
            Some(w) => {
                let w = Tensor::from_vec(w.to_vec(), p.shape())?.cast(x.dtype())?;
                crate::mul(&p, w)?
            }
            None => p.clone(),
        };
        let g = tape.gradient(&y, &[x])?.remove(0).expect("connected");
        assert_eq!((g.dtype(), g.shape()), (x.dtype(), x.shape()));
        Ok((p.shape().to_vec(), p.to_f64_vec(), g.to_f64_vec()))
    }

    #[test]
    fn products_equal_numpys_prod_over_every_form_of_axes() -> Result<()> {
        for dtype in [tt::DType::F32, tt::DType::F64] {
            let x =
                Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?.cast(dtype)?;
            let prod = |axes: Option<&[isize]>, keep| -> Result<(Vec<usize>, Vec<f64>)> {
                let p = reduce_prod(&x, axes, keep)?;
                assert_eq!(p.dtype(), dtype);
                Ok((p.shape().to_vec(), p.to_f64_vec()))
            };
            // np.prod(x), np.prod(x, axis=0), np.prod(x, axis=1, keepdims=True), ...
            assert_eq!(prod(None, false)?, (vec![], vec![720.0]));
            assert_eq!(prod(None, true)?, (vec![1, 1], vec![720.0]));
            assert_eq!(prod(Some(&[0]), false)?, (vec![3], vec![4.0, 10.0, 18.0]));
            assert_eq!(prod(Some(&[1]), true)?, (vec![2, 1], vec![6.0, 120.0]));
            assert_eq!(prod(Some(&[-1]), false)?, (vec![2], vec![6.0, 120.0]));
            assert_eq!(prod(Some(&[1, 0]), false)?, (vec![], vec![720.0]));
            assert_eq!(prod(Some(&[0, 0, -2]), false)?.1, vec![4.0, 10.0, 18.0]);
            // over no axis: each element its own product
            assert_eq!(prod(Some(&[]), false)?, (vec![2, 3], x.to_f64_vec()));
            assert_eq!(x.prod()?.item()?, 720.0);
            assert_eq!(x.reduce_prod(&[0])?.to_f64_vec(), vec![4.0, 10.0, 18.0]);
            // np.prod(x3, axis=(0, 2)) of a (2, 2, 2) tensor, and with a zero
            let x3 = Tensor::from_vec(vec![1.0f64, 2.0, 0.0, 5.0, 3.0, 4.0, 6.0, 7.0], &[2, 2, 2])?
                .cast(dtype)?;
            let p = reduce_prod(&x3, Some(&[0, 2]), true)?;
            assert_eq!(
                (p.shape(), p.to_f64_vec()),
                (&[1, 2, 1][..], vec![24.0, 0.0])
            );
            // a scalar, and empty products (1, as numpy's)
            assert_eq!(
                reduce_prod(Tensor::scalar(3.0f32), None, false)?.item()?,
                3.0
            );
            let e = Tensor::zeros(dtype, &[0, 3])?;
            assert_eq!(
                reduce_prod(&e, Some(&[0]), false)?.to_f64_vec(),
                vec![1.0; 3]
            );
            assert_eq!(reduce_prod(&e, None, false)?.item()?, 1.0);
            assert_eq!(reduce_prod(&e, Some(&[1]), false)?.shape(), &[0]);
        }
        Ok(())
    }

    #[test]
    fn the_gradient_is_the_product_of_the_others_exact_at_one_zero_and_two() -> Result<()> {
        for dtype in [tt::DType::F32, tt::DType::F64] {
            // rows: no zero, one zero, two zeros; the columns: two zeros, none, one
            let x = Tensor::from_vec(
                vec![2.0f64, 3.0, 4.0, 0.0, 5.0, 6.0, 0.0, 7.0, 0.0],
                &[3, 3],
            )?
            .cast(dtype)?;
            for keep in [false, true] {
                let (shape, p, g) = prod_and_gradient(&x, Some(&[1]), keep, None)?;
                assert_eq!(shape, if keep { vec![3, 1] } else { vec![3] });
                assert_eq!(p, [24.0, 0.0, 0.0]);
                // 3·4, 2·4, 2·3; only the zero, 5·6; nothing
                assert_eq!(g, [12.0, 8.0, 6.0, 30.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
                // along the columns, with an output gradient of (1, 2, 3)
                let (shape, p, g) =
                    prod_and_gradient(&x, Some(&[0]), keep, Some(&[1.0, 2.0, 3.0]))?;
                assert_eq!(shape, if keep { vec![1, 3] } else { vec![3] });
                assert_eq!(p, [0.0, 105.0, 0.0]);
                #[rustfmt::skip]
                assert_eq!(g, [
                    0.0, 2.0 * 35.0, 0.0,
                    0.0, 2.0 * 21.0, 0.0,
                    0.0, 2.0 * 15.0, 3.0 * 24.0,
                ]);
                // every axis: three zeros
                let (_, p, g) = prod_and_gradient(&x, None, keep, None)?;
                assert_eq!((p, g), (vec![0.0], vec![0.0; 9]));
            }
            // every axis of a 2 × 2: no zero, one, two
            for (values, grad) in [
                ([1.0, 2.0, 3.0, 4.0], [24.0, 12.0, 8.0, 6.0]),
                ([1.0, 2.0, 0.0, 4.0], [0.0, 0.0, 8.0, 0.0]),
                ([0.0, 2.0, 0.0, 4.0], [0.0; 4]),
            ] {
                let x = Tensor::from_vec(values.to_vec(), &[2, 2])?.cast(dtype)?;
                for keep in [false, true] {
                    assert_eq!(prod_and_gradient(&x, None, keep, None)?.2, grad);
                }
            }
            // two axes, (0, 2) of a (2, 2, 2): for j = 0 no zero, for j = 1 one (5 · 6 · 7)
            let x3 = Tensor::from_vec(vec![1.0f64, 2.0, 0.0, 5.0, 3.0, 4.0, 6.0, 7.0], &[2, 2, 2])?
                .cast(dtype)?;
            for (axes, keep) in [(&[0, 2][..], false), (&[-1, 0][..], true)] {
                let (_, p, g) = prod_and_gradient(&x3, Some(axes), keep, Some(&[1.0, 0.5]))?;
                assert_eq!(p, [24.0, 0.0]);
                assert_eq!(g, [24.0, 12.0, 105.0, 0.0, 8.0, 6.0, 0.0, 0.0]);
            }
            // an empty product's gradient: nothing to differentiate
            let e = Tensor::zeros(dtype, &[0, 3])?;
            assert_eq!(prod_and_gradient(&e, Some(&[0]), false, None)?.2, vec![]);
        }
        Ok(())
    }

    #[test]
    fn the_products_gradient_passes_the_checker_at_first_and_second_order() -> Result<()> {
        let axes: [Option<&[isize]>; 5] = [None, Some(&[1]), Some(&[-1]), Some(&[0, 2]), Some(&[])];
        // first order: a polynomial, smooth everywhere
        for keep in [false, true] {
            for axes in axes {
                check(&[&[2, 3, 2]], |v| reduce_prod(&v[0], axes, keep))?;
            }
        }
        // second order: away from 0 (it goes through cumprod's division by x)
        let values: Vec<f64> = (0..12)
            .map(|i| (if i % 3 == 1 { -1.0 } else { 1.0 }) * (0.6 + 0.11 * i as f64))
            .collect();
        let away = [Tensor::from_vec(values, &[2, 3, 2])?];
        for keep in [false, true] {
            for axes in axes {
                check_at(&away, |v| reduce_prod(&v[0], axes, keep))?;
                check_at(&away, |v| {
                    let tape = crate::GradientTape::new();
                    tape.watch(&v[0]);
                    let p = reduce_prod(&v[0], axes, keep)?;
                    let y = crate::reduce_sum(crate::square(p)?, None, false)?;
                    Ok(tape.gradient(&y, &[&v[0]])?.remove(0).expect("connected"))
                })?;
            }
        }
        Ok(())
    }

    #[test]
    fn a_bad_axis_of_a_product_names_the_op_and_the_axis() {
        let x = Tensor::zeros(tt::DType::F32, &[2, 3]).unwrap();
        for axes in [&[2][..], &[0, -3], &[1, 7]] {
            let e = reduce_prod(&x, Some(axes), false).unwrap_err().to_string();
            let bad = axes[axes.len() - 1];
            assert_eq!(
                e,
                format!(
                    "reduce_prod: axis {bad} is out of range for a tensor of rank 2 (shape [2, 3])"
                )
            );
        }
        let e = x.reduce_prod(&[-5]).unwrap_err().to_string();
        assert!(e.starts_with("reduce_prod: axis -5 "), "{e}");
    }
}
