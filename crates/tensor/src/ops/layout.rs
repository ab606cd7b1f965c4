//! How the kernels reach an array's elements: row-major slices, output buffers written on the
//! calling thread or over rayon's threads, the size check of an output larger than its operands.

use ndarray::{ArrayD, Dimension, IxDyn};

use std::mem::MaybeUninit;

use crate::{kernels, pool, size};
use crate::{Element, Result};
use rayon::prelude::*;

/// Wraps `data`, laid out row-major for `dim`, as a shared array.
#[inline]
pub(super) fn shared<T: Element>(dim: IxDyn, data: Vec<T>) -> ArrayD<T> {
    // ndarray's checked constructor re-derives the size and validates the strides against the
    // buffer, a tenth of a small op's time; the one check that matters here is the length,
    // which `row_major_array` makes
    pool::row_major_array(dim.slice(), data)
}

/// The elements as one row-major slice: the layout of every array this crate builds. Views
/// with other layouts (a user's array given to `Array::from_array`) take the general ndarray
/// paths.
#[inline]
pub(crate) fn row_major<T: Element>(a: &ArrayD<T>) -> Option<&[T]> {
    let n = row_major_len(a)?;
    // SAFETY: `row_major_len` found the `n` elements of `a` in row-major order, one after
    // another from its pointer (what `as_slice` checks before making the same slice).
    Some(unsafe { std::slice::from_raw_parts(a.as_ptr(), n) })
}

/// [`row_major`] for writing.
#[inline]
pub(crate) fn row_major_mut<T: Element>(a: &mut ArrayD<T>) -> Option<&mut [T]> {
    let n = row_major_len(a)?;
    // SAFETY: as in `row_major`; the array owns its elements and is borrowed mutably.
    Some(unsafe { std::slice::from_raw_parts_mut(a.as_mut_ptr(), n) })
}

/// The number of elements of `a` when they lie in row-major order one after another from its
/// pointer (ndarray's standard layout, what `as_slice` asks), else `None`. Ranks 0 to 2 are
/// tested here from the shape and strides; ndarray's general test, which the others take,
/// costs ~50 instructions on an `IxDyn` array, and it ran several times in every small op.
#[inline]
pub(crate) fn row_major_len<T>(a: &ArrayD<T>) -> Option<usize> {
    match (a.shape(), a.strides()) {
        ([], []) => Some(1),
        (&[n], &[s]) => (n <= 1 || s == 1).then_some(n),
        (&[r, c], &[s0, s1]) => {
            let standard =
                r == 0 || c == 0 || ((c == 1 || s1 == 1) && (r == 1 || s0 == c as isize));
            standard.then_some(r * c)
        }
        _ => a.is_standard_layout().then(|| a.len()),
    }
}

/// Tensors of at least this many elements are split over rayon's threads in the elementwise
/// kernels and the full reductions; smaller ones run on the calling thread (splitting them costs
/// more than it saves).
pub const PARALLEL_MIN_ELEMENTS: usize = 1 << 17;

/// Elements per task of the parallel elementwise kernels.
const PARALLEL_TASK: usize = 1 << 14;

/// `f` over `xs` into a pooled buffer; over rayon's threads when `xs` is large.
#[inline]
pub(super) fn map1<T: Element>(xs: &[T], f: impl Fn(T) -> T + Send + Sync) -> Vec<T> {
    if xs.len() < kernels::AVX2_MIN_LEN {
        // short: the plain loop, without the kernels' dispatch
        pool::collect(xs.len(), xs.iter().map(|&x| f(x)))
    } else {
        // SAFETY: `map1_slots` writes one element per element of `xs`, `xs.len()` in all.
        unsafe { kernels::written(xs.len(), |out| map1_slots(out, xs, f)) }
    }
}

/// `f` over `xs` into `out` (as long; every element written); over rayon's threads when `xs`
/// is large.
#[inline]
pub(super) fn map1_slots<T: Element>(
    out: &mut [MaybeUninit<T>],
    xs: &[T],
    f: impl Fn(T) -> T + Send + Sync,
) {
    if xs.len() >= PARALLEL_MIN_ELEMENTS {
        par_write(out, |start, chunk| {
            kernels::map1(chunk, &xs[start..start + chunk.len()], &f);
        });
    } else {
        kernels::map1(out, xs, f);
    }
}

/// `f` over pairs of `xs` and `ys` into `out` (all three as long; every element written);
/// over rayon's threads when they are large.
#[inline]
pub(super) fn map2_slots<T: Element>(
    out: &mut [MaybeUninit<T>],
    xs: &[T],
    ys: &[T],
    f: impl Fn(T, T) -> T + Send + Sync,
) {
    assert_eq!(xs.len(), ys.len(), "map2 pairs slices of one length");
    if xs.len() >= PARALLEL_MIN_ELEMENTS {
        par_write(out, |start, chunk| {
            let end = start + chunk.len();
            kernels::map2(chunk, &xs[start..end], &ys[start..end], &f);
        });
    } else {
        kernels::map2(out, xs, ys, f);
    }
}

/// `fill(start, chunk)` for consecutive chunks of `out` of [`PARALLEL_TASK`] elements, in
/// parallel.
pub(super) fn par_write<T: Element>(
    out: &mut [MaybeUninit<T>],
    fill: impl Fn(usize, &mut [MaybeUninit<T>]) + Send + Sync,
) {
    out.par_chunks_mut(PARALLEL_TASK)
        .enumerate()
        .for_each(|(i, chunk)| fill(i * PARALLEL_TASK, chunk));
}

/// The elements of `out` (initialised: the stale values of a reused tensor) as the
/// uninitialised slots the kernels write.
#[inline]
pub(crate) fn as_slots<T: Element>(out: &mut [T]) -> &mut [MaybeUninit<T>] {
    // SAFETY: `MaybeUninit<T>` has `T`'s layout, and the kernels write only values of `T`
    // through it (never an uninitialised one), so `out` stays initialised.
    unsafe { &mut *(out as *mut [T] as *mut [MaybeUninit<T>]) }
}

/// [`map1`] into `out` (as long as `xs`): the small outputs that reuse a dropped tensor.
#[inline]
pub(super) fn map1_into<T: Element>(out: &mut [T], xs: &[T], f: impl Fn(T) -> T) {
    if xs.len() < kernels::AVX2_MIN_LEN {
        for (o, &x) in out.iter_mut().zip(xs) {
            *o = f(x);
        }
    } else {
        kernels::map1(as_slots(out), xs, f);
    }
}

/// [`map2`] into `out` (as long as `xs` and `ys`).
#[inline]
pub(super) fn map2_into<T: Element>(out: &mut [T], xs: &[T], ys: &[T], f: impl Fn(T, T) -> T) {
    if xs.len() < kernels::AVX2_MIN_LEN {
        for ((o, &x), &y) in out.iter_mut().zip(xs).zip(ys) {
            *o = f(x, y);
        }
    } else {
        kernels::map2(as_slots(out), xs, ys, f);
    }
}

/// The element count of an output of `shape` that an op makes larger than its operands (a
/// broadcast of both, a padding, a gather, an outer product), checked by
/// [`size::element_count`], and its memory probed ([`size::probe`]) before ndarray allocates
/// it: a size that cannot be had is an error naming `op` and the shape, never an abort.
pub(super) fn output_elements(
    op: &'static str,
    shape: &[usize],
    dtype: crate::DType,
) -> Result<usize> {
    let n = size::element_count(op, shape, dtype)?;
    match dtype {
        crate::DType::F32 => size::probe::<f32>(op, shape, n)?,
        crate::DType::F64 => size::probe::<f64>(op, shape, n)?,
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_row_major_test_agrees_with_ndarray_on_every_layout() {
        use ndarray::{s, ShapeBuilder};
        let mut arrays: Vec<ArrayD<f32>> = Vec::new();
        for shape in [
            vec![],
            vec![0],
            vec![1],
            vec![5],
            vec![0, 3],
            vec![3, 0],
            vec![1, 1],
        ] {
            let n = shape.iter().product();
            arrays.push(ArrayD::from_shape_vec(IxDyn(&shape), vec![1.0; n]).expect("fits"));
        }
        for (r, c) in [(1, 4), (4, 1), (3, 4), (2, 2), (1, 1)] {
            let values: Vec<f32> = (0..r * c).map(|i| i as f32).collect();
            let c_order = ndarray::Array::from_shape_vec((r, c), values.clone()).expect("fits");
            let f_order = ndarray::Array::from_shape_vec((r, c).f(), values).expect("fits");
            let mut reversed = c_order.clone();
            reversed.invert_axis(ndarray::Axis(0));
            let mut columns_reversed = c_order.clone();
            columns_reversed.invert_axis(ndarray::Axis(1));
            let mut stepped = c_order.clone();
            stepped.slice_collapse(s![.., ..;2]);
            for a in [
                c_order.clone(),
                f_order,
                reversed,
                columns_reversed,
                stepped,
            ] {
                arrays.push(a.clone().into_dyn());
                arrays.push(a.reversed_axes().into_dyn());
            }
            let mut v = ndarray::Array::from_iter((0..r * c).map(|i| i as f32));
            v.invert_axis(ndarray::Axis(0));
            arrays.push(v.into_dyn());
            let mut v = ndarray::Array::from_iter((0..r * c).map(|i| i as f32));
            v.slice_collapse(s![..;3]);
            arrays.push(v.into_dyn());
            let three =
                ndarray::Array::from_shape_vec((r, 1, c).f(), vec![0.0; r * c]).expect("fits");
            arrays.push(three.into_dyn());
        }
        for mut a in arrays {
            let expected = a.as_slice().map(<[f32]>::to_vec);
            assert_eq!(
                row_major(&a).map(<[f32]>::to_vec),
                expected,
                "{:?}",
                a.strides()
            );
            assert_eq!(row_major_mut(&mut a).map(|s| s.to_vec()), expected);
        }
    }
}
