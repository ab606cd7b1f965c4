//! Reductions: sums, means and maxima over axes in a fixed summation order, the sum of a
//! broadcast back to its operand's shape, and the ops made of them (softmax, the finiteness test).

use ndarray::{ArrayD, ArrayViewD, Axis, Dimension, IxDyn, RemoveAxis};

use super::axes::{normalize_axes, normalize_axis};
use super::fill::fill_tensor;
use super::functors::Exp;
use super::layout::{row_major, row_major_mut, shared, PARALLEL_MIN_ELEMENTS};
use crate::broadcast::reduction_axes;
use std::sync::Arc;

use crate::fuse::{Fusable, WithParams};
use crate::tensor::Repr;
use crate::{kernels, pool};
use crate::{Array, Element, Result, TensorError};
use rayon::prelude::*;

/// The sum of `xs` in a fixed order, the one `ndarray`'s `sum` uses on a contiguous slice:
/// eight lanes, lane `k` adding elements `k, k + 8, k + 16, …` of the longest prefix whose
/// length is a multiple of 8; then `((((0 + (l0 + l4)) + (l1 + l5)) + (l2 + l6)) + (l3 + l7))`;
/// then the remaining (at most 7) elements one by one. The lanes let the compiler vectorise
/// without reassociating (with AVX2 where the CPU has it, the same bits); the order depends
/// only on the length, never on threads, alignment or CPU.
pub fn sum_slice<T: Element>(xs: &[T]) -> T {
    kernels::sum(xs)
}

/// The full reductions of tensors of at least [`PARALLEL_MIN_ELEMENTS`] elements sum fixed
/// chunks of this many elements (each in [`sum_slice`]'s order), then add the chunk sums left
/// to right: the same bits whatever the number of threads.
pub const REDUCTION_CHUNK: usize = 1 << 14;

/// The sum of every element: [`sum_slice`] below [`PARALLEL_MIN_ELEMENTS`] elements; above,
/// chunks of [`REDUCTION_CHUNK`] summed in parallel with [`sum_slice`], their sums added left
/// to right (a fixed order, whatever the number of threads).
pub fn full_sum<T: Element>(xs: &[T]) -> T {
    if xs.len() < PARALLEL_MIN_ELEMENTS {
        return sum_slice(xs);
    }
    let mut partials = Vec::new();
    xs.par_chunks(REDUCTION_CHUNK)
        .map(sum_slice)
        .collect_into_vec(&mut partials);
    partials.into_iter().fold(T::zero(), |acc, s| acc + s)
}

/// The sum of the products `xs[i] · ys[i]` (slices of one length) in [`full_sum`]'s order:
/// [`sum_slice`]'s order for short slices; fixed chunks in parallel, added left to right, for
/// long ones.
fn full_dot<T: Element>(xs: &[T], ys: &[T]) -> T {
    if xs.len() < PARALLEL_MIN_ELEMENTS {
        return kernels::dot(xs, ys);
    }
    let mut partials = Vec::new();
    xs.par_chunks(REDUCTION_CHUNK)
        .zip(ys.par_chunks(REDUCTION_CHUNK))
        .map(|(x, y)| kernels::dot(x, y))
        .collect_into_vec(&mut partials);
    partials.into_iter().fold(T::zero(), |acc, s| acc + s)
}

/// `a /= n` elementwise.
fn div_in_place<T: Element>(a: &mut ArrayD<T>, n: T) {
    // a plain loop over the row-major slice: ndarray's `mapv_inplace` on an `IxDyn` array
    // costs ~450 instructions even for one element
    match row_major_mut(a) {
        Some(xs) => xs.iter_mut().for_each(|x| *x = *x / n),
        None => a.mapv_inplace(|x| x / n),
    }
}

fn reduce_kernel<T: Element>(
    a: &ArrayD<T>,
    axes: &[usize],
    keepdims: bool,
    full: fn(&[T]) -> T,
    fold: fn(ArrayViewD<'_, T>, Axis) -> ArrayD<T>,
    divisor: Option<T>,
) -> Array {
    // a mean: each reduced value divided by the count, in the dtype (as the separate division
    // would round it)
    let finish = |v: T| divisor.map_or(v, |n| v / n);
    if axes.len() == a.ndim() && !axes.is_empty() {
        if let Some(xs) = row_major(a) {
            let v = finish(full(xs));
            let mut shape = IxDyn::zeros(if keepdims { a.ndim() } else { 0 });
            shape.slice_mut().fill(1);
            return one_value(shape.slice(), v);
        }
    }
    // The last axis of a row-major array (a Keras loss's mean over axis -1): each output
    // element reduces one contiguous row with `full` (below the parallel size), the order
    // ndarray's `sum_axis`/`fold_axis` take along the axis of smallest stride. ndarray does so
    // only when the last axis has the smallest stride (it wins ties): a row-major array may
    // carry any stride, 0 included, on an axis of length 1 (a slice, a broadcast), and then
    // ndarray adds whole columns instead.
    let last = a.ndim().wrapping_sub(1);
    if let (&[ax], Some(xs)) = (axes, row_major(a)) {
        let width = a.shape()[ax];
        let stride = a.strides()[ax].unsigned_abs();
        let smallest_stride = a.strides().iter().all(|s| s.unsigned_abs() >= stride);
        if ax == last
            && smallest_stride
            && width > 0
            && width < PARALLEL_MIN_ELEMENTS
            && !xs.is_empty()
        {
            let mut shape = a.raw_dim();
            let shape = if keepdims {
                shape[last] = 1;
                shape
            } else {
                shape.remove_axis(Axis(last))
            };
            return pool::build_small(shape.slice(), |out| {
                for (o, row) in out.iter_mut().zip(xs.chunks_exact(width)) {
                    *o = finish(full(row));
                }
            });
        }
    }
    let mut out: Option<ArrayD<T>> = None;
    for &ax in axes.iter().rev() {
        let r = match &out {
            Some(o) => fold(o.view(), Axis(ax)),
            None => fold(a.view(), Axis(ax)),
        };
        out = Some(if keepdims { r.insert_axis(Axis(ax)) } else { r });
    }
    let mut out = out.unwrap_or_else(|| a.clone());
    if let Some(n) = divisor {
        div_in_place(&mut out, n);
    }
    T::wrap(out)
}

/// A tensor of `shape` (one element) holding `v`, reusing a dropped one of its shape when the
/// pools hold one.
#[inline]
fn one_value<T: Element>(shape: &[usize], v: T) -> Array {
    pool::build_small(shape, |out| out.fill(v))
}

fn max_slice<T: Element>(xs: &[T]) -> T {
    xs.iter().fold(T::neg_infinity(), |m, &x| max_step(m, x))
}

#[inline]
fn max_step<T: Element>(m: T, x: T) -> T {
    if m.is_nan() || x.is_nan() {
        T::nan()
    } else if x > m {
        x
    } else {
        m
    }
}

fn sum_axis<T: Element>(a: ArrayViewD<'_, T>, ax: Axis) -> ArrayD<T> {
    a.sum_axis(ax)
}

fn max_axis<T: Element>(a: ArrayViewD<'_, T>, ax: Axis) -> ArrayD<T> {
    a.fold_axis(ax, T::neg_infinity(), |&m, &x| max_step(m, x))
}

/// The backward of broadcasting: sums `a` down to `shape`, given the leading axes to drop and
/// the aligned axes to sum with keepdims. Row-major fast paths: to one element (the order of
/// [`sum_slice`]) and over one leading axis (rows added first to last, as `sum_axis` does).
fn sum_to_kernel<T: Element>(a: &ArrayD<T>, shape: &[usize], lead: usize, kept: &[usize]) -> Array {
    if let Some(xs) = row_major(a) {
        if shape.iter().product::<usize>() == 1 && !xs.is_empty() {
            return one_value(shape, full_sum(xs));
        }
        if lead == 1 && kept.is_empty() && !shape.contains(&0) {
            let width: usize = shape.iter().product();
            if width < pool::MIN_ELEMENTS {
                return pool::build_small(shape, |acc| {
                    acc.fill(T::zero());
                    kernels::add_rows(acc, xs);
                });
            }
            let mut acc = vec![T::zero(); width];
            kernels::add_rows(&mut acc, xs);
            return T::wrap(shared(IxDyn(shape), acc));
        }
    }
    let mut out: ArrayD<T> = a.to_owned();
    for &ax in kept.iter().rev() {
        out = out.sum_axis(Axis(ax)).insert_axis(Axis(ax));
    }
    for _ in 0..lead {
        out = out.sum_axis(Axis(0));
    }
    T::wrap(out)
}

/// How a sum (`mean`: a mean) over `axes` fuses: over axes of length 1 only, elementwise
/// ([`unit_sum`]); over every axis of a tensor with axes and elements, the kernel's
/// [`full_sum`] of the row-major elements; else not.
fn whole_sum(x: &Array, axes: Option<&[isize]>, mean: bool) -> Option<Fusable> {
    let axes = normalize_axes("reduce_sum", axes, x.shape()).ok()?;
    if axes.ndim() == 0 || x.is_empty() {
        return None;
    }
    if axes.slice().iter().all(|&a| x.shape()[a] == 1) {
        return Some(Fusable::Map(Arc::new(WithParams {
            params: mean,
            f32: unit_sum::<f32>,
            f64: unit_sum::<f64>,
            lanes: Some(|e, x, &mean| {
                let zero = e.constant(0.0);
                let s = e.add(zero, x);
                if mean {
                    let one = e.constant(1.0);
                    e.div(s, one)
                } else {
                    s
                }
            }),
        })));
    }
    (axes.ndim() == x.rank()).then(|| Fusable::Sum {
        mean,
        over: x.shape().to_vec(),
    })
}

/// What a sum over axes of length 1 makes of each element: the one element added to zero (the
/// start of every summation order the kernels have, [`full_sum`]'s and ndarray's alike, so
/// `-0` becomes `+0`; a second reduced axis adds zero again, which changes nothing more), a
/// mean's divided by its count, 1. Elementwise: a fused region takes it as a map (a Keras
/// loss's mean over the last axis of a batch of single outputs).
fn unit_sum<T: Element>(x: T, &mean: &bool) -> T {
    let s = T::zero() + x;
    if mean {
        s / T::one()
    } else {
        s
    }
}

impl Array {
    /// Sum over `axes` (all when `None`), as `tf.reduce_sum`.
    ///
    /// ```
    /// use tapegrad_tensor::Array;
    /// let t = Array::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
    /// assert_eq!(t.sum(Some(&[0]), false)?.to_vec::<f32>()?, vec![4.0, 6.0]);
    /// assert_eq!(t.sum(None, false)?.item()?, 10.0);
    /// # Ok::<(), tapegrad_tensor::TensorError>(())
    /// ```
    pub fn sum(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
        if crate::trace::recording() {
            let fuse = whole_sum(self, axes, false);
            let axes = axes.map(<[isize]>::to_vec);
            return crate::trace::kernel_fused(
                "sum",
                &[self],
                |_, _| fuse,
                move |a| a[0].sum(axes.as_deref(), keepdims),
            );
        }
        let axes = normalize_axes("reduce_sum", axes, self.shape())?;
        if let Some(empty) = self.empty_reduction("reduce_sum", axes.slice(), keepdims, 0.0)? {
            return Ok(empty);
        }
        Ok(self.sum_over(axes.slice(), keepdims, None))
    }

    /// The reduction of an empty tensor, made without running the kernel: every output
    /// element reduces nothing, so it is the reduction's `identity` (0 for a sum, NaN for a
    /// mean's 0 / 0, -inf for a maximum), as the kernel would give, and the kernel would visit
    /// every empty lane (2^40 of them for a `(2^40, 0)` tensor) to say so. The output can
    /// also be far larger than the input (the sum over the empty axis of that tensor is 2^40
    /// zeros): it is built by the checked fill, an error naming `op` when it cannot be had.
    /// `None` for a tensor with elements.
    fn empty_reduction(
        &self,
        op: &'static str,
        axes: &[usize],
        keepdims: bool,
        identity: f64,
    ) -> Result<Option<Array>> {
        if !self.is_empty() {
            return Ok(None);
        }
        let shape: Vec<usize> = (self.shape().iter().enumerate())
            .filter_map(|(i, &d)| match axes.contains(&i) {
                true => keepdims.then_some(1),
                false => Some(d),
            })
            .collect();
        Ok(Some(match self.dtype() {
            crate::DType::F32 => fill_tensor(op, &shape, identity as f32)?,
            crate::DType::F64 => fill_tensor(op, &shape, identity)?,
        }))
    }

    /// [`Array::sum`] over axes already normalized (sorted, distinct, in range), each sum
    /// divided by `divisor` when given (a mean).
    fn sum_over(&self, axes: &[usize], keepdims: bool, divisor: Option<f64>) -> Array {
        match self.repr() {
            Repr::F32(a) => {
                let divisor = divisor.map(|n| n as f32);
                reduce_kernel(a, axes, keepdims, full_sum, sum_axis, divisor)
            }
            Repr::F64(a) => reduce_kernel(a, axes, keepdims, full_sum, sum_axis, divisor),
        }
    }

    /// Mean over `axes` (all when `None`): the sum divided by the count, in the dtype.
    pub fn mean(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
        if crate::trace::recording() {
            let fuse = whole_sum(self, axes, true);
            let axes = axes.map(<[isize]>::to_vec);
            return crate::trace::kernel_fused(
                "mean",
                &[self],
                |_, _| fuse,
                move |a| a[0].mean(axes.as_deref(), keepdims),
            );
        }
        let axes = normalize_axes("reduce_mean", axes, self.shape())?;
        if let Some(empty) =
            self.empty_reduction("reduce_mean", axes.slice(), keepdims, f64::NAN)?
        {
            return Ok(empty);
        }
        let count: usize = axes.slice().iter().map(|&a| self.shape()[a]).product();
        Ok(self.sum_over(axes.slice(), keepdims, Some(count as f64)))
    }

    /// Maximum over `axes` (all when `None`); `-inf` for an empty reduction.
    pub fn max(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Array> {
        if crate::trace::recording() {
            let axes = axes.map(<[isize]>::to_vec);
            return crate::trace::kernel("max", &[self], move |a| {
                a[0].max(axes.as_deref(), keepdims)
            });
        }
        let axes = normalize_axes("reduce_max", axes, self.shape())?;
        let empty =
            self.empty_reduction("reduce_max", axes.slice(), keepdims, f64::NEG_INFINITY)?;
        if let Some(empty) = empty {
            return Ok(empty);
        }
        Ok(match self.repr() {
            Repr::F32(a) => reduce_kernel(a, axes.slice(), keepdims, max_slice, max_axis, None),
            Repr::F64(a) => reduce_kernel(a, axes.slice(), keepdims, max_slice, max_axis, None),
        })
    }

    /// Sums a broadcast result back down to `shape` (the backward of broadcasting).
    ///
    /// ```
    /// use tapegrad_tensor::Array;
    /// let g = Array::ones(tapegrad_tensor::DType::F32, &[3, 2])?;
    /// assert_eq!(g.sum_to_shape(&[2])?.to_vec::<f32>()?, vec![3.0, 3.0]);
    /// assert_eq!(g.sum_to_shape(&[])?.item()?, 6.0);
    /// # Ok::<(), tapegrad_tensor::TensorError>(())
    /// ```
    pub fn sum_to_shape(&self, shape: &[usize]) -> Result<Array> {
        if crate::trace::recording() {
            let shape = shape.to_vec();
            let fuse = |x: &Array| {
                let whole = shape.iter().product::<usize>() == 1
                    && !x.has_shape(&shape)
                    && !x.is_empty()
                    && reduction_axes(x.shape(), &shape).is_some();
                whole.then(|| Fusable::Sum {
                    mean: false,
                    over: x.shape().to_vec(),
                })
            };
            let fuse = fuse(self);
            return crate::trace::kernel_fused(
                "sum_to_shape",
                &[self],
                |_, _| fuse,
                move |a| a[0].sum_to_shape(&shape),
            );
        }
        if self.has_shape(shape) {
            return Ok(self.clone());
        }
        let (lead, kept) =
            reduction_axes(self.shape(), shape).ok_or_else(|| TensorError::Shape {
                op: "sum_to_shape",
                message: "the target shape does not broadcast to the source shape".into(),
                shapes: vec![self.shape().to_vec(), shape.to_vec()],
            })?;
        if self.is_empty() {
            // zeros, without visiting the empty lanes; the checked fill, as the target shape
            // can be far larger than the source (`(0, 2^40)` summed to `(2^40,)`)
            return match self.dtype() {
                crate::DType::F32 => fill_tensor("sum_to_shape", shape, 0.0f32),
                crate::DType::F64 => fill_tensor("sum_to_shape", shape, 0.0f64),
            };
        }
        Ok(match self.repr() {
            Repr::F32(a) => sum_to_kernel(a, shape, lead, &kept),
            Repr::F64(a) => sum_to_kernel(a, shape, lead, &kept),
        })
    }

    /// `(self * other).sum_to_shape(shape)`, bitwise; when the operands have one shape and
    /// `shape` one element (the gradient of a scalar weight), a single pass that never
    /// materialises the product (the products are summed in [`sum_slice`]'s order).
    ///
    /// ```
    /// use tapegrad_tensor::Array;
    /// let x = Array::from_vec(vec![1.0f32, 2.0, 3.0], &[3])?;
    /// let g = Array::from_vec(vec![1.0f32, -1.0, 1.0], &[3])?;
    /// assert_eq!(x.mul_sum_to_shape(&g, &[])?.item()?, 2.0);
    /// # Ok::<(), tapegrad_tensor::TensorError>(())
    /// ```
    pub fn mul_sum_to_shape(&self, other: &Array, shape: &[usize]) -> Result<Array> {
        if crate::trace::recording() {
            let fuse = self.mul_sum_fusable(other, shape);
            let shape = shape.to_vec();
            return crate::trace::kernel_fused(
                "mul_sum_to_shape",
                &[self, other],
                |_, _| fuse,
                move |a| a[0].mul_sum_to_shape(a[1], &shape),
            );
        }
        let fused = self.has_shape(other.shape())
            && shape.iter().product::<usize>() == 1
            && !self.is_empty()
            && reduction_axes(self.shape(), shape).is_some();
        if fused {
            match (self.repr(), other.repr()) {
                (Repr::F32(a), Repr::F32(b)) => {
                    if let (Some(xs), Some(ys)) = (row_major(a), row_major(b)) {
                        return Ok(one_value(shape, full_dot(xs, ys)));
                    }
                }
                (Repr::F64(a), Repr::F64(b)) => {
                    if let (Some(xs), Some(ys)) = (row_major(a), row_major(b)) {
                        return Ok(one_value(shape, full_dot(xs, ys)));
                    }
                }
                _ => {}
            }
        }
        self.mul(other)?.sum_to_shape(shape)
    }

    /// How [`Array::mul_sum_to_shape`] on these operands fuses, following its kernel: the
    /// products summed in [`full_sum`]'s order into one element, or nothing (another shape, or
    /// a product already of the target shape, which the kernel returns as it is).
    fn mul_sum_fusable(&self, other: &Array, shape: &[usize]) -> Option<Fusable> {
        if shape.iter().product::<usize>() != 1 || self.is_empty() || other.is_empty() {
            return None;
        }
        if self.has_shape(other.shape()) && reduction_axes(self.shape(), shape).is_some() {
            // the kernel's one pass (`full_dot`)
            return Some(Fusable::MulSum {
                over: self.shape().to_vec(),
            });
        }
        // the product, then `sum_to_shape`'s full sum
        let product = crate::broadcast_shape("mul", self.shape(), other.shape()).ok()?;
        let whole = product.as_slice() != shape && reduction_axes(&product, shape).is_some();
        whole.then_some(Fusable::MulSum { over: product })
    }

    /// `exp(x - max) / sum(exp(x - max))` along `axis` (`tf.nn.softmax`).
    pub fn softmax(&self, axis: isize) -> Result<Array> {
        if crate::trace::recording() {
            return crate::trace::kernel("softmax", &[self], move |a| a[0].softmax(axis));
        }
        let ax = normalize_axis("softmax", axis, self.rank(), self.shape())? as isize;
        let m = self.max(Some(&[ax]), true)?;
        let e = self.sub(&m)?.map(Exp);
        let s = e.sum(Some(&[ax]), true)?;
        e.div(&s)
    }

    /// True when no element is a NaN or an infinity (one pass, no early exit: the test
    /// vectorizes).
    ///
    /// ```
    /// use tapegrad_tensor::Array;
    /// assert!(Array::from_vec(vec![1.0f32, -2.0], &[2])?.all_finite());
    /// assert!(!Array::from_vec(vec![1.0f64, f64::INFINITY], &[2])?.all_finite());
    /// # Ok::<(), tapegrad_tensor::TensorError>(())
    /// ```
    pub fn all_finite(&self) -> bool {
        crate::trace::read(self, "all_finite");
        fn all<T: Element>(a: &ArrayD<T>) -> bool {
            match row_major(a) {
                Some(xs) => xs.iter().fold(true, |ok, x| ok & x.is_finite()),
                None => a.iter().all(|x| x.is_finite()),
            }
        }
        match self.repr() {
            Repr::F32(a) => all(a),
            Repr::F64(a) => all(a),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::tests::values;

    #[test]
    fn large_reductions_sum_fixed_chunks_whatever_the_thread_count() -> Result<()> {
        let n = PARALLEL_MIN_ELEMENTS * 2 + 12_345;
        let xs = values(n);
        let ys: Vec<f32> = values(n + 5)[5..].to_vec();
        // the documented order, computed on one thread by hand
        let expected = xs
            .chunks(REDUCTION_CHUNK)
            .map(sum_slice)
            .fold(0.0f32, |acc, s| acc + s);
        let run = |threads: usize| -> Result<(f32, f32, Vec<f32>)> {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map_err(|e| TensorError::Invalid {
                    op: "test",
                    message: e.to_string(),
                })?;
            pool.install(|| {
                let x = Array::from_vec(xs.clone(), &[n])?;
                let y = Array::from_vec(ys.clone(), &[n])?;
                let total = x.sum(None, false)?.to_vec::<f32>()?[0];
                let dot = x.mul_sum_to_shape(&y, &[])?.to_vec::<f32>()?[0];
                let product = x.mul(&y)?.to_vec::<f32>()?;
                Ok((total, dot, product))
            })
        };
        let (one, two, four) = (run(1)?, run(2)?, run(4)?);
        assert_eq!(one.0.to_bits(), expected.to_bits());
        assert_eq!(one.0.to_bits(), two.0.to_bits());
        assert_eq!(one.0.to_bits(), four.0.to_bits());
        assert_eq!(one.1.to_bits(), two.1.to_bits());
        assert_eq!(one.1.to_bits(), four.1.to_bits());
        let plain: Vec<f32> = xs.iter().zip(&ys).map(|(x, y)| x * y).collect();
        assert_eq!(one.2, plain);
        assert_eq!(two.2, plain);
        Ok(())
    }

    #[test]
    fn full_sums_keep_ndarrays_order() -> Result<()> {
        for n in [0, 1, 7, 8, 9, 50, 63, 64, 1001] {
            let xs = values(n);
            let expected = ndarray::Array1::from(xs.clone()).sum();
            let t = Array::from_vec(xs.clone(), &[n])?;
            assert_eq!(sum_slice(&xs).to_bits(), expected.to_bits(), "n = {n}");
            assert_eq!(t.sum(None, false)?.to_vec::<f32>()?, vec![expected]);
            assert_eq!(t.sum_to_shape(&[])?.to_vec::<f32>()?, vec![expected]);
            if n > 0 {
                assert_eq!(t.sum_to_shape(&[1])?.to_vec::<f32>()?, vec![expected]);
            }
        }
        Ok(())
    }

    #[test]
    fn last_axis_reductions_equal_ndarrays() -> Result<()> {
        let wide = [2, PARALLEL_MIN_ELEMENTS + 5];
        let (row, column) = ([1usize, 64], [64usize, 1]);
        for shape in [&[3usize, 50][..], &[2, 3, 9], &[4, 1], &wide, &row, &column] {
            let n = shape.iter().product();
            let mut xs = values(n);
            if n > 2 {
                xs[1] = -0.0;
                xs[2] = f32::NAN;
            }
            let a = ndarray::ArrayD::from_shape_vec(IxDyn(shape), xs.clone()).expect("shape");
            let t = Array::from_vec(xs, shape)?;
            check_last_axis(&t, &a)?;
        }
        // one row sliced out of a matrix, one broadcast to a row: row-major arrays whose axis of
        // length 1 may carry any stride (0 included), where ndarray sums column by column
        let matrix = Array::from_vec(values(3 * 64), &[3, 64])?;
        let vector = Array::from_vec(values(64), &[64])?;
        for t in [
            matrix.slice(&[1, 0], &[1, -1])?,
            vector.broadcast_to(&[1, 64])?,
        ] {
            let a = t.array::<f32>()?.clone();
            check_last_axis(&t, &a)?;
        }
        Ok(())
    }

    /// Sums and maxima over the last axis of `t`, against ndarray's on `a` (the same array).
    fn check_last_axis(t: &Array, a: &ndarray::ArrayD<f32>) -> Result<()> {
        let shape = a.shape();
        let last = Axis(shape.len() - 1);
        let bits = |v: Vec<f32>| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for keepdims in [false, true] {
            let sum = t.sum(Some(&[-1]), keepdims)?;
            let max = t.max(Some(&[-1]), keepdims)?;
            let (mut want_sum, mut want_max) = (
                a.sum_axis(last),
                a.fold_axis(last, f32::NEG_INFINITY, |&m, &x| max_step(m, x)),
            );
            if keepdims {
                want_sum = want_sum.insert_axis(last);
                want_max = want_max.insert_axis(last);
            }
            assert_eq!(sum.shape(), want_sum.shape(), "{shape:?}");
            assert_eq!(
                bits(sum.to_vec()?),
                bits(want_sum.iter().copied().collect()),
                "{shape:?} {:?}",
                a.strides()
            );
            assert_eq!(max.shape(), want_max.shape(), "{shape:?}");
            assert_eq!(
                bits(max.to_vec()?),
                bits(want_max.iter().copied().collect())
            );
        }
        Ok(())
    }
}
