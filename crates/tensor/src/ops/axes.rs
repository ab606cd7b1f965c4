//! Axis arguments: negative axes counted from the end, checked against the rank, sorted and
//! deduplicated.

use ndarray::{Dimension, IxDyn};

use crate::{Result, TensorError};

pub(super) fn normalize_axis(
    op: &'static str,
    axis: isize,
    rank: usize,
    shape: &[usize],
) -> Result<usize> {
    let r = rank as isize;
    if axis < -r || axis >= r {
        return Err(TensorError::Axis {
            op,
            axis,
            rank,
            shape: shape.to_vec(),
        });
    }
    Ok(if axis < 0 {
        (axis + r) as usize
    } else {
        axis as usize
    })
}

/// Sorted, deduplicated, non-negative axes; `None` means every axis. An `IxDyn` holds up to
/// four of them inline: a reduction allocates nothing for its axes.
pub(super) fn normalize_axes(
    op: &'static str,
    axes: Option<&[isize]>,
    shape: &[usize],
) -> Result<IxDyn> {
    let rank = shape.len();
    let given = match axes {
        // one axis (a Keras loss's -1): nothing to sort
        Some(&[axis]) => return Ok(IxDyn(&[normalize_axis(op, axis, rank, shape)?])),
        // every axis, in order
        None => {
            let mut all = IxDyn::zeros(rank);
            all.slice_mut()
                .iter_mut()
                .enumerate()
                .for_each(|(i, a)| *a = i);
            return Ok(all);
        }
        Some(given) => given,
    };
    let mut out = IxDyn::zeros(given.len());
    let list = out.slice_mut();
    for (a, &g) in list.iter_mut().zip(given) {
        *a = normalize_axis(op, g, rank, shape)?;
    }
    list.sort_unstable();
    let mut kept = 0;
    for i in 0..list.len() {
        if kept == 0 || list[i] != list[kept - 1] {
            list[kept] = list[i];
            kept += 1;
        }
    }
    Ok(if kept == list.len() {
        out
    } else {
        IxDyn(&out.slice()[..kept])
    })
}
