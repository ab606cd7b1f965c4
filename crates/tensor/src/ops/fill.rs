//! Tensors holding one value throughout: the checked fill and the per-thread cache of the last
//! large one.

use ndarray::IxDyn;

use super::layout::{par_write, shared, PARALLEL_MIN_ELEMENTS};
use crate::fuse::{Fusable, WithParams};
use crate::tensor::Repr;
use crate::{kernels, pool, size};
use crate::{Array, Element, Result};
use std::sync::Arc;

/// `n` copies of `v` in a pooled buffer (asked for as [`pool::try_take`] does, for `op` and
/// `shape`); over rayon's threads when `n` is large.
fn filled<T: Element>(op: &'static str, shape: &[usize], n: usize, v: T) -> Result<Vec<T>> {
    let out = pool::try_take(op, shape, n)?;
    // SAFETY: both fills write every element of their slice.
    Ok(unsafe {
        kernels::write_into(out, n, |out| {
            if n >= PARALLEL_MIN_ELEMENTS {
                par_write(out, |_, chunk| kernels::fill(chunk, v));
            } else {
                kernels::fill(out, v);
            }
        })
    })
}

/// Fills of at least 2 048 elements (the pools' large size) and at most this many are
/// remembered, the last one per thread: the backward of a mean fills one value (`1/n` times the
/// seed) over one shape every step of a training loop, and the remembered tensor (immutable;
/// copy-on-write) is shared instead of written again.
pub const FILL_CACHE_MAX: usize = 1 << 21;

thread_local! {
    static LAST_FILL: std::cell::RefCell<Option<Array>> = const { std::cell::RefCell::new(None) };
}

/// A tensor of `shape` filled with `v`: small ones through the pools, large ones shared with
/// the thread's last fill when it had this dtype, shape and value (bit for bit). A shape with
/// too many elements, or memory the system refuses, is an error naming `op`.
pub(crate) fn fill_tensor<T: Element>(op: &'static str, shape: &[usize], v: T) -> Result<Array> {
    let n = size::element_count(op, shape, T::DTYPE)?;
    if n < pool::MIN_ELEMENTS {
        return Ok(pool::build_small(shape, |out| out.fill(v)));
    }
    if n > FILL_CACHE_MAX {
        return Ok(T::wrap(shared(IxDyn(shape), filled(op, shape, n, v)?)));
    }
    let same = |t: &Array| {
        t.dtype() == T::DTYPE
            && t.has_shape(shape)
            && t.array::<T>()
                .ok()
                .and_then(|a| a.iter().next().copied())
                .is_some_and(|first| first.bits() == v.bits())
    };
    let hit = LAST_FILL
        .try_with(|last| {
            let last = last.try_borrow().ok()?;
            last.as_ref().filter(|t| same(t)).cloned()
        })
        .ok()
        .flatten();
    if let Some(t) = hit {
        return Ok(t);
    }
    let t = T::wrap(shared(IxDyn(shape), filled(op, shape, n, v)?));
    let previous = LAST_FILL
        .try_with(|last| {
            last.try_borrow_mut()
                .ok()
                .and_then(|mut last| last.replace(t.clone()))
        })
        .ok()
        .flatten();
    drop(previous);
    Ok(t)
}

/// The buffer (start, length) of the thread's last large fill ([`fill_tensor`]) when it has
/// dtype `T`: a slice with this start and length holds one value throughout. That tensor is
/// never written in place (the cache holds a reference, so a write copies it first), and no
/// other live array owns its buffer.
pub(super) fn last_fill<T: Element>() -> Option<(*const T, usize)> {
    LAST_FILL
        .try_with(|last| {
            let last = last.try_borrow().ok()?;
            let a = last.as_ref()?.array::<T>().ok()?;
            Some((a.as_ptr(), a.len()))
        })
        .ok()
        .flatten()
}

/// Whether `xs` is the whole buffer `fill` (from [`last_fill`]).
#[inline]
pub(super) fn is_fill<T>(xs: &[T], fill: Option<(*const T, usize)>) -> bool {
    fill == Some((xs.as_ptr(), xs.len()))
}

impl Array {
    /// A tensor of `shape` holding everywhere the one element of `self`, divided by `divisor`
    /// in the dtype when one is given (as `x / n` rounds): the gradient a sum (`None`) or a
    /// mean (`Some(n)`) spreads back over the `n` elements it reduced. Built as
    /// [`Array::full`] builds its tensors; an error when `self` has not one element.
    ///
    /// ```
    /// use tapegrad_tensor::Array;
    /// let g = Array::scalar(1.0f32);
    /// assert_eq!(g.spread(&[3], Some(3))?.to_vec::<f32>()?, vec![1.0 / 3.0; 3]);
    /// assert_eq!(g.spread(&[2, 2], None)?.to_vec::<f32>()?, vec![1.0; 4]);
    /// assert!(Array::zeros(g.dtype(), &[2])?.spread(&[2], None).is_err());
    /// # Ok::<(), tapegrad_tensor::TensorError>(())
    /// ```
    pub fn spread(&self, shape: &[usize], divisor: Option<usize>) -> Result<Array> {
        if crate::trace::recording() {
            let fuse = (self.len() == 1).then(|| {
                Fusable::Map(Arc::new(WithParams {
                    params: divisor,
                    f32: |x, d| spread_value(x, *d),
                    f64: |x, d| spread_value(x, *d),
                    // (its operand is one element: a region computes it once, before its loop)
                    lanes: None,
                }))
            });
            let shape = shape.to_vec();
            return crate::trace::kernel_fused(
                "spread",
                &[self],
                |_, _| fuse,
                move |a| a[0].spread(&shape, divisor),
            );
        }
        if self.len() != 1 {
            return Err(crate::TensorError::Shape {
                op: "spread",
                message: "spreads a tensor of one element".into(),
                shapes: vec![self.shape().to_vec(), shape.to_vec()],
            });
        }
        match self.repr() {
            Repr::F32(a) => {
                let v = a.iter().copied().next().unwrap_or(0.0);
                fill_tensor("spread", shape, spread_value(v, divisor))
            }
            Repr::F64(a) => {
                let v = a.iter().copied().next().unwrap_or(0.0);
                fill_tensor("spread", shape, spread_value(v, divisor))
            }
        }
    }
}

/// `x`, divided by `divisor` in the dtype when there is one.
#[inline(always)]
fn spread_value<T: Element>(x: T, divisor: Option<usize>) -> T {
    divisor.map_or(x, |n| x / T::from_f64(n as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fill_cache_compares_bits_not_widened_values() -> Result<()> {
        // a quiet NaN and a signalling one widen to the same f64; the cache must tell them apart
        let (quiet, signalling) = (f32::from_bits(0x7fe0_0000), f32::from_bits(0x7fa0_0000));
        for (first, second) in [(quiet, signalling), (signalling, quiet)] {
            let a = Array::scalar(first).broadcast_to(&[3_000])?;
            let b = Array::scalar(second).broadcast_to(&[3_000])?;
            let bits = |t: &Array| {
                t.array::<f32>()
                    .map(|a| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
            };
            assert!(bits(&a)?.iter().all(|&v| v == first.to_bits()));
            assert!(bits(&b)?.iter().all(|&v| v == second.to_bits()));
        }
        Ok(())
    }

    #[test]
    fn large_fills_of_one_value_share_the_last_one_and_stay_intact() -> Result<()> {
        let shape = [3, 1000];
        let quarter = Array::scalar(0.25f32);
        let a = quarter.broadcast_to(&shape)?;
        let b = quarter.broadcast_to(&shape)?;
        assert!(a.shares_buffer(&b), "the second fill is the first, shared");
        assert_eq!(b.to_vec::<f32>()?, vec![0.25; 3000]);
        // another value, shape or dtype is a new fill
        let c = Array::scalar(0.5f32).broadcast_to(&shape)?;
        assert!(!c.shares_buffer(&a));
        assert_eq!(c.to_vec::<f32>()?, vec![0.5; 3000]);
        let d = Array::scalar(0.5f32).broadcast_to(&[3000])?;
        assert!(!d.shares_buffer(&c));
        let e = Array::scalar(0.5f64).broadcast_to(&[3000])?;
        assert_eq!(e.to_vec::<f64>()?, vec![0.5; 3000]);
        let negative_zero = Array::scalar(-0.0f64).broadcast_to(&[3000])?;
        let zero = Array::scalar(0.0f64).broadcast_to(&[3000])?;
        assert!(!zero.shares_buffer(&negative_zero));
        assert!(zero.to_vec::<f64>()?.iter().all(|z| z.to_bits() == 0));
        // writing into a remembered fill copies it first: the next fill is still all 0.5
        let ones = Array::scalar(1.0f32).broadcast_to(&[3000])?;
        let mut f = Array::scalar(0.5f32).broadcast_to(&[3000])?;
        f.assign_add(&ones)?;
        assert_eq!(f.to_vec::<f32>()?, vec![1.5; 3000]);
        let g = Array::scalar(0.5f32).broadcast_to(&[3000])?;
        assert!(!g.shares_buffer(&f));
        assert_eq!(g.to_vec::<f32>()?, vec![0.5; 3000]);
        Ok(())
    }
}
