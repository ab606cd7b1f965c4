//! Gradient clipping as TensorFlow computes it (`tf.clip_by_norm`, `tf.clip_by_global_norm`),
//! in the gradients' dtype: what the optimizers' `clipnorm` and `global_clipnorm` run, and
//! public for a training loop that clips by hand.

use tapegrad_autodiff::Tensor;
use tapegrad_tensor::{self as tt, Element};

use crate::{Error, Result};

/// `tf.clip_by_norm(t, clip_norm)`: `t * clip_norm / max(||t||, clip_norm)`, so that the
/// result's L2 norm is at most `clip_norm` (a plain value: no tape records it).
///
/// ```
/// use tapegrad_autodiff::Tensor;
/// let g = Tensor::from_vec(vec![3.0f32, 4.0], &[2])?;
/// assert_eq!(tapegrad_optim::clip_by_norm(&g, 1.0)?.to_vec::<f32>()?, vec![0.6, 0.8]);
/// assert_eq!(tapegrad_optim::clip_by_norm(&g, 10.0)?.to_vec::<f32>()?, vec![3.0, 4.0]);
/// # Ok::<(), tapegrad_optim::Error>(())
/// ```
pub fn clip_by_norm(t: &Tensor, clip_norm: f64) -> Result<Tensor> {
    check_clip("clip_by_norm", clip_norm)?;
    let c = by_dtype!(t.dtype(), T => clip_by_norm_of::<T>(t.value(), clip_norm))?;
    Ok(Tensor::new(c))
}

/// `tf.clip_by_global_norm(ts, clip_norm)`: every tensor scaled by one factor so that their
/// global L2 norm is at most `clip_norm`; returns them and the global norm before clipping.
/// The tensors must share one dtype.
///
/// ```
/// use tapegrad_autodiff::Tensor;
/// let (a, b) = (Tensor::scalar(3.0f32), Tensor::scalar(4.0f32));
/// let (clipped, norm) = tapegrad_optim::clip_by_global_norm(&[a, b], 1.0)?;
/// assert_eq!(norm, 5.0);
/// assert_eq!((clipped[0].item()?, clipped[1].item()?), (0.6f32 as f64, 0.8f32 as f64));
/// # Ok::<(), tapegrad_optim::Error>(())
/// ```
pub fn clip_by_global_norm(ts: &[Tensor], clip_norm: f64) -> Result<(Vec<Tensor>, f64)> {
    check_clip("clip_by_global_norm", clip_norm)?;
    let Some(first) = ts.first() else {
        return Ok((Vec::new(), 0.0));
    };
    let dtype = first.dtype();
    if let Some(t) = ts.iter().find(|t| t.dtype() != dtype) {
        return Err(Error::Config {
            owner: "clip_by_global_norm".into(),
            parameter: "t_list",
            message: format!("needs tensors of one dtype, got {dtype} and {}", t.dtype()),
        });
    }
    let arrays: Vec<&tt::Array> = ts.iter().map(Tensor::value).collect();
    let (clipped, norm) = by_dtype!(dtype, T => clip_by_global_norm_of::<T>(&arrays, clip_norm))?;
    Ok((clipped.into_iter().map(Tensor::new).collect(), norm))
}

fn check_clip(owner: &str, clip_norm: f64) -> Result<()> {
    if clip_norm.is_finite() && clip_norm > 0.0 {
        Ok(())
    } else {
        Err(Error::Config {
            owner: owner.into(),
            parameter: "clip_norm",
            message: format!("must be a finite number > 0, got {clip_norm}"),
        })
    }
}

/// `tf.clip_by_norm(g, c)`: `g * c / max(||g||, c)`, computed in the gradient's dtype.
pub(crate) fn clip_by_norm_of<T: Element>(g: &tt::Array, clip: f64) -> Result<tt::Array> {
    let a = g.view::<T>()?;
    let c = T::from_f64(clip);
    let l2sum = a.iter().fold(T::zero(), |s, &x| s + x * x);
    let l2norm = if l2sum > T::zero() {
        l2sum.sqrt()
    } else {
        l2sum
    };
    let denom = if l2norm < c { c } else { l2norm };
    Ok(tt::Array::from_array(a.mapv(|x| x * c / denom)))
}

/// `tf.clip_by_global_norm(grads, c)`: every gradient times
/// `c * min(1 / global_norm, 1 / c)`, where `global_norm = sqrt(2 * sum(l2_loss(g)))`; and
/// the global norm.
pub(crate) fn clip_by_global_norm_of<T: Element>(
    grads: &[&tt::Array],
    clip: f64,
) -> Result<(Vec<tt::Array>, f64)> {
    let half = T::from_f64(0.5);
    let mut total = T::zero();
    for g in grads {
        total = total
            + g.view::<T>()?
                .iter()
                .fold(T::zero(), |s, &x| s + x * x * half);
    }
    let norm = (total * T::from_f64(2.0)).sqrt();
    let c = T::from_f64(clip);
    let (inv_norm, inv_c) = (T::one() / norm, T::one() / c);
    // TensorFlow adds `norm - norm`: 0 for a finite norm, NaN otherwise.
    let poison = if norm.is_finite() {
        T::zero()
    } else {
        T::nan()
    };
    let scale = c * (if inv_norm < inv_c { inv_norm } else { inv_c }) + poison;
    let clipped = grads
        .iter()
        .map(|g| Ok(tt::Array::from_array(g.view::<T>()?.mapv(|x| x * scale))))
        .collect::<Result<Vec<_>>>()?;
    Ok((clipped, norm.to_f64()))
}
