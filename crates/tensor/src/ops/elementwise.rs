//! Elementwise ops: [`UnaryFn`] maps, [`BinaryFn`] ops with numpy broadcasting, scaling and
//! clipping.

use ndarray::{ArrayD, IxDyn, Zip};

use std::mem::MaybeUninit;
use std::sync::Arc;

use super::fill::{is_fill, last_fill};
use super::functors::{Add, BinaryFn, Div, Mul, Neg, Sub, UnaryFn};
use super::layout::{
    as_slots, map1, map1_into, map1_slots, map2_into, map2_slots, output_elements, row_major,
    shared,
};
use crate::broadcast::{broadcast_shape, same_shape};
use crate::fuse::{Binary, Fusable, Unary, WithParams};
use crate::tensor::{map_array, Repr};
use crate::{kernels, pool};
use crate::{Array, Element, Result, TensorError};

fn unary_kernel<T: Element, F: UnaryFn>(a: &ArrayD<T>, f: F) -> Array {
    match row_major(a) {
        Some(xs) if xs.len() < pool::MIN_ELEMENTS => {
            pool::build_small(a.shape(), |out| map1_into(out, xs, move |x| f.call(x)))
        }
        Some(xs) => pool::build_large(a.shape(), xs.len(), |out| {
            map1_slots(out, xs, move |x| f.call(x));
        }),
        None => T::wrap(a.map(|&x| f.call(x))),
    }
}

/// `f(x, y)` between every row of `xs` (length a multiple of `ys.len()`) and `ys`, into `out`
/// (as long as `xs`): the broadcast of a trailing-shape operand, such as a bias over a batch.
fn rows_slots<T: Element>(out: &mut [MaybeUninit<T>], xs: &[T], ys: &[T], f: impl Fn(T, T) -> T) {
    assert!(
        !ys.is_empty() && xs.len().is_multiple_of(ys.len()) && out.len() == xs.len(),
        "whole rows"
    );
    kernels::rows(out, xs, ys, f);
}

/// True when `short`'s shape is the trailing part of `long`'s (so it broadcasts row by row).
fn is_trailing(long: &[usize], short: &[usize]) -> bool {
    short.len() < long.len() && long[long.len() - short.len()..] == *short && !short.contains(&0)
}

fn binary_kernel<T: Element, F: BinaryFn>(a: &ArrayD<T>, b: &ArrayD<T>, f: F) -> Result<Array> {
    // Fast paths on row-major slices: same shapes, a one-element operand, a trailing-shape
    // operand. Each computes exactly what the general broadcast below computes. Small outputs
    // reuse a dropped tensor of their shape when the pools hold one; large ones go to a pooled
    // buffer (over rayon's threads when very large).
    if let (Some(xs), Some(ys)) = (row_major(a), row_major(b)) {
        if let Some(layout) = Layout::of(a.shape(), b.shape(), xs.len(), ys.len()) {
            let (long, dim) = match layout {
                Layout::Same | Layout::ScalarRight | Layout::RowsRight => (xs, a),
                Layout::ScalarLeft | Layout::RowsLeft => (ys, b),
            };
            if long.len() < pool::MIN_ELEMENTS {
                return Ok(pool::build_small(dim.shape(), |out| match layout {
                    Layout::Same => map2_into(out, xs, ys, move |x, y| f.call(x, y)),
                    Layout::ScalarRight => {
                        let y = ys[0];
                        map1_into(out, xs, move |x| f.call(x, y))
                    }
                    Layout::ScalarLeft => {
                        let x = xs[0];
                        map1_into(out, ys, move |y| f.call(x, y))
                    }
                    Layout::RowsRight => {
                        kernels::rows(as_slots(out), xs, ys, move |x, y| f.call(x, y))
                    }
                    Layout::RowsLeft => {
                        kernels::rows(as_slots(out), ys, xs, move |y, x| f.call(x, y))
                    }
                }));
            }
            // An operand that is the thread's last large fill (a mean's gradient) holds one
            // value throughout: read as a scalar, one input stream fewer, the same results.
            let layout = match (layout, last_fill::<T>()) {
                (Layout::Same, fill) if is_fill(ys, fill) => Layout::ScalarRight,
                (Layout::Same, fill) if is_fill(xs, fill) => Layout::ScalarLeft,
                (other, _) => other,
            };
            return Ok(pool::build_large(
                dim.shape(),
                long.len(),
                |out| match layout {
                    Layout::Same => map2_slots(out, xs, ys, move |x, y| f.call(x, y)),
                    Layout::ScalarRight => {
                        let y = ys[0];
                        map1_slots(out, xs, move |x| f.call(x, y));
                    }
                    Layout::ScalarLeft => {
                        let x = xs[0];
                        map1_slots(out, ys, move |y| f.call(x, y));
                    }
                    Layout::RowsRight => rows_slots(out, xs, ys, move |x, y| f.call(x, y)),
                    Layout::RowsLeft => rows_slots(out, ys, xs, move |y, x| f.call(x, y)),
                },
            ));
        }
    }
    binary_general(a, b, f).map(T::wrap)
}

/// How two row-major operands of a binary op line up, when a fast path applies.
#[derive(Clone, Copy)]
enum Layout {
    /// One shape.
    Same,
    /// `b` has one element (and no more axes than `a`).
    ScalarRight,
    /// `a` has one element (and no more axes than `b`).
    ScalarLeft,
    /// `b`'s shape is the trailing part of `a`'s: a row broadcast (a bias over a batch).
    RowsRight,
    /// `a`'s shape is the trailing part of `b`'s.
    RowsLeft,
}

impl Layout {
    /// The layout of operands of shapes `a` and `b` holding `na` and `nb` elements.
    #[inline]
    fn of(a: &[usize], b: &[usize], na: usize, nb: usize) -> Option<Layout> {
        if same_shape(a, b) {
            Some(Layout::Same)
        } else if nb == 1 && b.len() <= a.len() {
            Some(Layout::ScalarRight)
        } else if na == 1 && a.len() <= b.len() {
            Some(Layout::ScalarLeft)
        } else if is_trailing(a, b) {
            Some(Layout::RowsRight)
        } else if is_trailing(b, a) {
            Some(Layout::RowsLeft)
        } else {
            None
        }
    }
}

/// The ndarray paths of [`binary_kernel`]: any layout, numpy broadcasting.
fn binary_general<T: Element, F: BinaryFn>(
    a: &ArrayD<T>,
    b: &ArrayD<T>,
    f: F,
) -> Result<ArrayD<T>> {
    if same_shape(a.shape(), b.shape()) {
        return Ok(Zip::from(a).and(b).map_collect(|&x, &y| f.call(x, y)));
    }
    if b.len() == 1 && b.ndim() <= a.ndim() {
        let y = b.iter().copied().next().unwrap_or_else(T::zero);
        return Ok(a.map(|&x| f.call(x, y)));
    }
    if a.len() == 1 && a.ndim() <= b.ndim() {
        let x = a.iter().copied().next().unwrap_or_else(T::zero);
        return Ok(b.map(|&y| f.call(x, y)));
    }
    let shape = broadcast_shape(F::NAME, a.shape(), b.shape())?;
    // both operands expand: the output may be far larger than either
    output_elements(F::NAME, &shape, T::DTYPE)?;
    let err = || TensorError::Broadcast {
        op: F::NAME,
        lhs: a.shape().to_vec(),
        rhs: b.shape().to_vec(),
    };
    let av = a.broadcast(IxDyn(&shape)).ok_or_else(err)?;
    let bv = b.broadcast(IxDyn(&shape)).ok_or_else(err)?;
    Ok(Zip::from(&av).and(&bv).map_collect(|&x, &y| f.call(x, y)))
}

fn scale_kernel<T: Element>(a: &ArrayD<T>, factor: f64) -> ArrayD<T> {
    let k = T::from_f64(factor);
    match row_major(a) {
        Some(xs) => shared(a.raw_dim(), map1(xs, move |x| x * k)),
        None => a.mapv(|x| x * k),
    }
}

/// `x` clipped to `[l, h]` (NaN stays NaN).
#[inline(always)]
fn clip_value<T: Element>(x: T, l: T, h: T) -> T {
    if x < l {
        l
    } else if x > h {
        h
    } else {
        x
    }
}

fn clip_kernel<T: Element>(a: &ArrayD<T>, lo: f64, hi: f64) -> ArrayD<T> {
    let (l, h) = (T::from_f64(lo), T::from_f64(hi));
    let clip = move |x: T| clip_value(x, l, h);
    match row_major(a) {
        Some(xs) => shared(a.raw_dim(), map1(xs, clip)),
        None => a.mapv(clip),
    }
}

impl Array {
    /// Applies a [`UnaryFn`] elementwise.
    ///
    /// ```
    /// use tapegrad_tensor::{ops::Abs, Array};
    /// let t = Array::from_vec(vec![-1.0f32, 2.0], &[2])?.map(Abs);
    /// assert_eq!(t.to_vec::<f32>()?, vec![1.0, 2.0]);
    /// # Ok::<(), tapegrad_tensor::TensorError>(())
    /// ```
    pub fn map<F: UnaryFn>(&self, f: F) -> Array {
        if crate::trace::recording() {
            return crate::trace::kernel_fused_infallible(
                F::NAME,
                &[self],
                |_, _| Some(Fusable::Map(Arc::new(Unary(f)))),
                move |a| a[0].map(f),
            );
        }
        match self.repr() {
            Repr::F32(a) => unary_kernel(a, f),
            Repr::F64(a) => unary_kernel(a, f),
        }
    }

    /// Applies a [`BinaryFn`] with numpy broadcasting. Dtypes must match.
    ///
    /// ```
    /// use tapegrad_tensor::{ops::Add, Array};
    /// let a = Array::from_vec(vec![1.0f32, 2.0, 3.0], &[3, 1])?;
    /// let b = Array::from_vec(vec![10.0f32, 20.0, 30.0], &[3])?;
    /// assert_eq!(a.zip(&b, Add)?.shape(), &[3, 3]);
    /// # Ok::<(), tapegrad_tensor::TensorError>(())
    /// ```
    pub fn zip<F: BinaryFn>(&self, other: &Array, f: F) -> Result<Array> {
        if crate::trace::recording() {
            return crate::trace::kernel_fused(
                F::NAME,
                &[self, other],
                |_, _| Some(Fusable::Map(Arc::new(Binary(f)))),
                move |a| a[0].zip(a[1], f),
            );
        }
        match (self.repr(), other.repr()) {
            (Repr::F32(a), Repr::F32(b)) => binary_kernel(a, b, f),
            (Repr::F64(a), Repr::F64(b)) => binary_kernel(a, b, f),
            _ => Err(TensorError::DType {
                op: F::NAME,
                lhs: self.dtype(),
                rhs: other.dtype(),
            }),
        }
    }

    /// `self + other`, broadcasting.
    pub fn add(&self, other: &Array) -> Result<Array> {
        self.zip(other, Add)
    }
    /// `self - other`, broadcasting.
    pub fn sub(&self, other: &Array) -> Result<Array> {
        self.zip(other, Sub)
    }
    /// `self * other`, broadcasting.
    pub fn mul(&self, other: &Array) -> Result<Array> {
        self.zip(other, Mul)
    }
    /// `self / other`, broadcasting.
    pub fn div(&self, other: &Array) -> Result<Array> {
        self.zip(other, Div)
    }
    /// `-self`.
    pub fn neg(&self) -> Array {
        self.map(Neg)
    }

    /// Multiplies every element by a scalar given in `f64` (rounded to the dtype first).
    pub fn scale(&self, factor: f64) -> Array {
        if crate::trace::recording() {
            let fuse = |_: &[&Array], _: &Array| {
                Some(Fusable::Map(Arc::new(WithParams {
                    params: (<f32 as Element>::from_f64(factor), factor),
                    f32: |x, k| x * k.0,
                    f64: |x, k| x * k.1,
                    // (the factor rounded to the element type, as `k.0` is for `f32`)
                    lanes: Some(|e, x, k| {
                        let k = e.constant(k.1);
                        e.mul(x, k)
                    }),
                })))
            };
            return crate::trace::kernel_fused_infallible("scale", &[self], fuse, move |a| {
                a[0].scale(factor)
            });
        }
        map_array!(self, a => scale_kernel(a, factor))
    }

    /// Clips to `[lo, hi]` (`tf.clip_by_value`).
    pub fn clip(&self, lo: f64, hi: f64) -> Array {
        if crate::trace::recording() {
            let fuse = |_: &[&Array], _: &Array| {
                let bounds = (
                    <f32 as Element>::from_f64(lo),
                    <f32 as Element>::from_f64(hi),
                    lo,
                    hi,
                );
                Some(Fusable::Map(Arc::new(WithParams {
                    params: bounds,
                    f32: |x, b| clip_value(x, b.0, b.1),
                    f64: |x, b| clip_value(x, b.2, b.3),
                    lanes: None,
                })))
            };
            return crate::trace::kernel_fused_infallible("clip", &[self], fuse, move |a| {
                a[0].clip(lo, hi)
            });
        }
        map_array!(self, a => clip_kernel(a, lo, hi))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::tests::values;
    use crate::ops::MulTwice;

    #[test]
    fn an_operand_that_is_the_last_fill_is_read_as_a_scalar() -> Result<()> {
        let n = 5_000;
        let fill = Array::scalar(0.3f32).broadcast_to(&[n])?;
        let same_values = Array::from_vec(vec![0.3f32; n], &[n])?;
        let slice = |t: &Array| t.array::<f32>().map(|a| a.as_slice().map(<[f32]>::to_vec));
        let cached = last_fill::<f32>();
        assert!(is_fill(
            fill.array::<f32>()?.as_slice().expect("row-major"),
            cached
        ));
        assert!(!is_fill(
            same_values.array::<f32>()?.as_slice().expect("row-major"),
            cached
        ));
        let x = Array::from_vec(values(n), &[n])?;
        let bits = |t: Array| -> Result<Vec<u32>> {
            Ok(t.to_vec::<f32>()?.iter().map(|v| v.to_bits()).collect())
        };
        assert_eq!(
            bits(x.zip(&fill, MulTwice)?)?,
            bits(x.zip(&same_values, MulTwice)?)?
        );
        assert_eq!(
            bits(fill.zip(&x, MulTwice)?)?,
            bits(same_values.zip(&x, MulTwice)?)?
        );
        assert_eq!(bits(fill.sub(&x)?)?, bits(same_values.sub(&x)?)?);
        // the fill itself is never written: a write to a clone copies it first
        let mut clone = fill.clone();
        clone.elements_mut::<f32>()?[0] = 1.0;
        assert_eq!(slice(&fill)?, Some(vec![0.3f32; n]));
        Ok(())
    }
}
