//! A small per-thread pool of large buffers, so that a training step that makes the same
//! large temporaries every step reuses their memory instead of returning it to the system
//! allocator and faulting it back in (glibc trims the top of the heap, and unmaps buffers of
//! 128 KiB and more, on every `free`).
//!
//! A [`Tensor`](crate::Tensor) whose buffer holds at least [`MIN_ELEMENTS`] elements and is not
//! shared gives its buffer to the pool of its thread when dropped; the kernels take their output
//! buffers from the pool. Each thread keeps at most [`MAX_BUFFERS`] buffers and [`MAX_BYTES`]
//! bytes per dtype; buffers beyond that are freed as usual.

use std::any::{Any, TypeId};
use std::cell::RefCell;

use ndarray::{ArrayD, IxDyn};

use crate::Element;

/// Buffers smaller than this many elements go straight to the allocator (its per-thread caches
/// serve small sizes well).
pub(crate) const MIN_ELEMENTS: usize = 2048;
/// Buffers kept per thread and dtype.
pub(crate) const MAX_BUFFERS: usize = 16;
/// Bytes kept per thread and dtype.
pub(crate) const MAX_BYTES: usize = 128 << 20;

struct Pool<T> {
    buffers: Vec<Vec<T>>,
    bytes: usize,
}

impl<T> Pool<T> {
    const fn new() -> Self {
        Pool {
            buffers: Vec::new(),
            bytes: 0,
        }
    }
}

thread_local! {
    static F32: RefCell<Pool<f32>> = const { RefCell::new(Pool::new()) };
    static F64: RefCell<Pool<f64>> = const { RefCell::new(Pool::new()) };
}

/// Runs `f` on this thread's pool for `T`; `None` when the pool is unavailable (thread
/// teardown, or a re-entrant call).
fn with_pool<T: Element, R>(f: impl FnOnce(&mut Pool<T>) -> R) -> Option<R> {
    fn run<U: 'static, T: 'static, R>(
        key: &'static std::thread::LocalKey<RefCell<Pool<U>>>,
        f: impl FnOnce(&mut Pool<T>) -> R,
    ) -> Option<R> {
        key.try_with(|cell| {
            let mut pool = cell.try_borrow_mut().ok()?;
            let pool: &mut dyn Any = &mut *pool;
            pool.downcast_mut::<Pool<T>>().map(f)
        })
        .ok()
        .flatten()
    }
    if TypeId::of::<T>() == TypeId::of::<f32>() {
        run(&F32, f)
    } else if TypeId::of::<T>() == TypeId::of::<f64>() {
        run(&F64, f)
    } else {
        None
    }
}

/// An empty vector with room for `n` elements: a pooled buffer when one of capacity between
/// `n` and `2n` is free, a new allocation otherwise.
pub(crate) fn take<T: Element>(n: usize) -> Vec<T> {
    if n >= MIN_ELEMENTS {
        let found = with_pool::<T, _>(|pool| {
            let best = pool
                .buffers
                .iter()
                .enumerate()
                .filter(|(_, b)| b.capacity() >= n && b.capacity() <= 2 * n)
                .min_by_key(|(_, b)| b.capacity())
                .map(|(i, _)| i)?;
            let buffer = pool.buffers.swap_remove(best);
            pool.bytes -= buffer.capacity() * std::mem::size_of::<T>();
            Some(buffer)
        })
        .flatten();
        if let Some(mut buffer) = found {
            buffer.clear();
            return buffer;
        }
    }
    Vec::with_capacity(n)
}

/// `n` values of `iter` in a buffer from [`take`].
#[inline]
pub(crate) fn collect<T: Element>(n: usize, iter: impl Iterator<Item = T>) -> Vec<T> {
    let mut out = take(n);
    out.extend(iter);
    out
}

/// Gives the buffer of an array that is about to be dropped (and that no clone shares: the
/// caller holds it uniquely) to the pool, when it is large; leaves an empty array in its place.
pub(crate) fn recycle<T: Element>(array: &mut ArrayD<T>) {
    if array.len() < MIN_ELEMENTS {
        return;
    }
    let taken = std::mem::replace(
        array,
        ArrayD::from_shape_vec(IxDyn(&[0]), Vec::new()).expect("an empty array"),
    );
    let (buffer, _) = taken.into_raw_vec_and_offset();
    let bytes = buffer.capacity() * std::mem::size_of::<T>();
    if bytes > MAX_BYTES {
        return;
    }
    with_pool::<T, _>(move |pool| {
        // the oldest buffers make room: a loop whose sizes changed (another workload, another
        // batch size) must not be blocked by buffers it no longer asks for
        while pool.buffers.len() >= MAX_BUFFERS || pool.bytes + bytes > MAX_BYTES {
            let old = pool.buffers.remove(0);
            pool.bytes -= old.capacity() * std::mem::size_of::<T>();
        }
        pool.bytes += bytes;
        pool.buffers.push(buffer);
    });
}

#[cfg(test)]
mod tests {
    use crate::ops::Neg;
    use crate::{DType, Tensor};

    #[test]
    fn a_dropped_large_buffer_serves_the_next_output_of_its_size() {
        let x = Tensor::ones(DType::F32, &[10_000]);
        let y = x.map(Neg);
        let ptr = y.array::<f32>().map(|a| a.as_ptr()).ok();
        drop(y);
        let z = x.map(Neg);
        assert_eq!(z.array::<f32>().map(|a| a.as_ptr()).ok(), ptr);
        assert_eq!(z.to_vec::<f32>().ok(), Some(vec![-1.0; 10_000]));
        // a shared buffer is not taken: the clone keeps its values
        let w = z.clone();
        drop(z);
        let v = x.map(Neg);
        assert_eq!(w.to_vec::<f32>().ok(), Some(vec![-1.0; 10_000]));
        assert!(!v.shares_buffer(&w));
        // a full pool of other sizes makes room for the new size
        let others: Vec<Tensor> = (0..super::MAX_BUFFERS)
            .map(|i| Tensor::ones(DType::F32, &[3_000 + i]).map(Neg))
            .collect();
        drop(others);
        let big = Tensor::ones(DType::F32, &[50_000]);
        let b1 = big.map(Neg);
        let p1 = b1.array::<f32>().map(|a| a.as_ptr()).ok();
        drop(b1);
        let b2 = big.map(Neg);
        assert_eq!(b2.array::<f32>().map(|a| a.as_ptr()).ok(), p1);
        // small buffers are not pooled; f64 has its own pool
        let d = Tensor::ones(DType::F64, &[4_096]).map(Neg);
        assert_eq!(d.to_vec::<f64>().ok(), Some(vec![-1.0; 4_096]));
    }
}
