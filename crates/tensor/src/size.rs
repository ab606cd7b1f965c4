//! How many elements a shape has, checked once, and memory for them asked for without aborting.
//!
//! Every constructor, reshape, broadcast and shape-making op of this crate takes its element
//! count from [`element_count`], which refuses a shape whose product overflows or whose bytes a
//! process cannot address (ndarray's own invariant: the product of the non-zero axes and the
//! size in bytes are both at most `isize::MAX`). The unchecked array constructors of
//! [`crate::pool`] rely on it: a length computed with wrapping arithmetic matched a wrapped
//! product, and an array of `2^64` elements over an empty buffer was read out of bounds.
//!
//! Memory whose size a caller chose (a constructor's shape, a broadcast, a matmul's output)
//! comes from [`try_buffer`], which asks the allocator with `try_reserve_exact` and turns a
//! refusal into [`TensorError::Alloc`] naming the op and the shape, where `Vec::with_capacity`
//! would abort the process.

use crate::{DType, Result, TensorError};

/// The number of elements of `shape`, when an array of this shape and dtype can exist: the
/// product of the axes does not overflow, the product of the non-zero axes is at most
/// `isize::MAX` (what ndarray requires even of an empty array), and so is its size in bytes.
///
/// ```
/// use tapegrad_tensor::{element_count, DType};
/// assert_eq!(element_count("zeros", &[2, 3], DType::F32)?, 6);
/// assert_eq!(element_count("zeros", &[0, 5], DType::F32)?, 0);
/// assert!(element_count("zeros", &[1 << 32, 1 << 32], DType::F32).is_err());
/// assert!(element_count("zeros", &[0, usize::MAX], DType::F32).is_err());
/// # Ok::<(), tapegrad_tensor::TensorError>(())
/// ```
#[inline]
pub fn element_count(op: &'static str, shape: &[usize], dtype: DType) -> Result<usize> {
    checked_len(shape)
        .filter(|&n| {
            n.max(1)
                .checked_mul(dtype.size())
                .is_some_and(|b| b <= isize::MAX as usize)
        })
        .ok_or_else(|| too_large(op, shape, dtype))
}

/// The number of elements of `shape` when the product of its non-zero axes is at most
/// `isize::MAX` (ndarray's invariant for every array, even an empty one), else `None`. The
/// bytes are the caller's to check ([`element_count`]), or implied by a buffer that exists.
#[inline]
pub(crate) fn checked_len(shape: &[usize]) -> Option<usize> {
    // the common ranks without a loop: every op checks its output's shape
    let nonzero = |d: usize| d.max(1);
    let addressable = match *shape {
        [] => Some(1),
        [a] => Some(nonzero(a)),
        [a, b] => nonzero(a).checked_mul(nonzero(b)),
        _ => shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(nonzero(d))),
    };
    let n = addressable.filter(|&n| n <= isize::MAX as usize)?;
    Some(if shape.contains(&0) { 0 } else { n })
}

#[cold]
fn too_large(op: &'static str, shape: &[usize], dtype: DType) -> TensorError {
    TensorError::TooLarge {
        op,
        shape: shape.to_vec(),
        dtype,
    }
}

/// An empty vector with room for the elements of `shape`, for a caller that fills a tensor
/// itself (an initializer's draws, a dataset's columns): [`TensorError::TooLarge`] for a shape
/// [`element_count`] refuses, [`TensorError::Alloc`] when the allocator refuses the memory
/// (where `Vec::with_capacity` would abort).
///
/// ```
/// use tapegrad_tensor::{reserve_elements, TensorError};
/// assert!(reserve_elements::<f32>("zeros", &[2, 3])?.capacity() >= 6);
/// let e = reserve_elements::<f32>("glorot_uniform", &[1 << 30, 1 << 30]).unwrap_err();
/// assert!(matches!(e, TensorError::Alloc { op: "glorot_uniform", .. }));
/// # Ok::<(), TensorError>(())
/// ```
pub fn reserve_elements<T: crate::Element>(op: &'static str, shape: &[usize]) -> Result<Vec<T>> {
    let n = element_count(op, shape, T::DTYPE)?;
    try_buffer(op, shape, n)
}

/// An empty vector with room for exactly the `n` elements of `shape` (from [`element_count`]),
/// or [`TensorError::Alloc`] when the allocator refuses them.
pub(crate) fn try_buffer<T: crate::Element>(
    op: &'static str,
    shape: &[usize],
    n: usize,
) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| alloc_failed(op, shape, T::DTYPE, n))?;
    Ok(v)
}

/// Refuses `shape` when the allocator cannot give its `n` elements, before an op builds it
/// through ndarray (whose allocations abort): asks for them and gives them back. Used only
/// above [`PROBE_MIN_BYTES`], where a refusal is possible and one more `mmap` is nothing
/// next to writing the elements.
pub(crate) fn probe<T: crate::Element>(op: &'static str, shape: &[usize], n: usize) -> Result<()> {
    if n.saturating_mul(std::mem::size_of::<T>()) >= PROBE_MIN_BYTES {
        drop(try_buffer::<T>(op, shape, n)?);
    }
    Ok(())
}

/// See [`probe`]: 64 MiB.
const PROBE_MIN_BYTES: usize = 64 << 20;

#[cold]
fn alloc_failed(op: &'static str, shape: &[usize], dtype: DType, n: usize) -> TensorError {
    TensorError::Alloc {
        op,
        shape: shape.to_vec(),
        dtype,
        bytes: n as u128 * dtype.size() as u128,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_the_product_when_it_fits() {
        for shape in [&[][..], &[0], &[7], &[3, 4], &[2, 0, 5], &[2, 3, 4, 5]] {
            let n: usize = shape.iter().product();
            assert_eq!(
                element_count("t", shape, DType::F64).unwrap(),
                n,
                "{shape:?}"
            );
        }
    }

    #[test]
    fn wrapping_products_and_unaddressable_sizes_are_refused() {
        let refused: [&[usize]; 6] = [
            &[1 << 32, 1 << 32],
            &[7, 0x6DB6_DB6D_B6DB_6DB7],
            &[0, usize::MAX],
            &[usize::MAX, 2],
            &[1 << 62],
            &[2, 2, 1 << 61],
        ];
        for shape in refused {
            let e = element_count("reshape", shape, DType::F32).unwrap_err();
            assert!(
                matches!(&e, TensorError::TooLarge { op: "reshape", shape: s, .. } if s == shape),
                "{e}"
            );
        }
        // the bytes, not only the elements: 2^61 float32s are 2^63 bytes
        assert!(element_count("zeros", &[1 << 61], DType::F32).is_err());
        assert!(element_count("zeros", &[1 << 60], DType::F64).is_err());
        assert!(element_count("zeros", &[1 << 59], DType::F64).is_ok());
    }

    #[test]
    fn an_allocation_the_system_refuses_is_an_error_naming_op_and_shape() {
        // 2^60 float32 = 4 EiB: addressable by the type, beyond any machine's address space
        let e = try_buffer::<f32>("zeros", &[1 << 30, 1 << 30], 1 << 60).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("zeros") && text.contains("[1073741824, 1073741824]"),
            "{text}"
        );
    }
}
