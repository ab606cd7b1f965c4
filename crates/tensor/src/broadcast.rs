//! numpy's broadcasting rules, and their inverse for gradients (`sum_to_shape`).

use crate::{Result, TensorError};

/// The shape two operands broadcast to, by numpy's rules: align trailing axes; each pair of
/// lengths must be equal or one of them 1.
///
/// ```
/// use tapegrad_tensor::broadcast_shape;
/// assert_eq!(broadcast_shape("add", &[3, 1], &[3])?, vec![3, 3]);
/// assert!(broadcast_shape("add", &[2], &[3]).is_err());
/// # Ok::<(), tapegrad_tensor::TensorError>(())
/// ```
pub fn broadcast_shape(op: &'static str, lhs: &[usize], rhs: &[usize]) -> Result<Vec<usize>> {
    if lhs == rhs {
        return Ok(lhs.to_vec());
    }
    let rank = lhs.len().max(rhs.len());
    let mut out = vec![0; rank];
    for (i, slot) in out.iter_mut().enumerate() {
        let l = dim_from_end(lhs, rank - 1 - i);
        let r = dim_from_end(rhs, rank - 1 - i);
        *slot = match (l, r) {
            (a, b) if a == b => a,
            (1, b) => b,
            (a, 1) => a,
            _ => {
                return Err(TensorError::Broadcast {
                    op,
                    lhs: lhs.to_vec(),
                    rhs: rhs.to_vec(),
                })
            }
        };
    }
    Ok(out)
}

fn dim_from_end(shape: &[usize], k: usize) -> usize {
    if k < shape.len() {
        shape[shape.len() - 1 - k]
    } else {
        1
    }
}

/// The axes of `from` that must be summed (with keepdims for the aligned ones) to bring a
/// broadcast result back to `to`: the leading extra axes, then aligned axes where `to` has 1.
///
/// Returns `(leading, kept)`: the number of leading axes to drop and the aligned axes
/// (indices into `from`) to sum with keepdims.
pub(crate) fn reduction_axes(from: &[usize], to: &[usize]) -> Option<(usize, Vec<usize>)> {
    if to.len() > from.len() {
        return None;
    }
    let lead = from.len() - to.len();
    let mut kept = Vec::new();
    for (i, (&f, &t)) in from[lead..].iter().zip(to).enumerate() {
        if f != t {
            if t != 1 {
                return None;
            }
            kept.push(lead + i);
        }
    }
    Some((lead, kept))
}

/// `a == b` for shapes, compared axis by axis: a slice `==` of `usize` calls `memcmp`, whose
/// call costs more than the few axes of a shape (this runs on every small op).
#[inline]
pub(crate) fn same_shape(a: &[usize], b: &[usize]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}
