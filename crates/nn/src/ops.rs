//! The one op this crate adds to the tape: [`select`] (`tf.where` with a constant condition),
//! which the piecewise activations and losses (elu, leaky_relu, huber, the logits form of binary
//! crossentropy) are built from.

use tapegrad_autodiff::{self as ad, record, Backward, IntoOperand, Op, Tensor};
use tapegrad_tensor as tt;

use crate::Result;

struct Select {
    mask: tt::Array,
}

impl Op for Select {
    fn name(&self) -> String {
        "Select".into()
    }
    fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> ad::Result<()> {
        let on = Tensor::new(self.mask.clone());
        let off = Tensor::new(tt::Array::ones_like(&self.mask).sub(&self.mask)?);
        let ga = if b.needs[0] {
            Some(ad::mul(b.grad, on)?)
        } else {
            None
        };
        let gb = if b.needs[1] {
            Some(ad::mul(b.grad, off)?)
        } else {
            None
        };
        out.extend([ga, gb]);
        Ok(())
    }
}

/// `tf.where(mask, a, b)` for a constant 0/1 `mask`: `a` where the mask is 1, `b` elsewhere.
/// `a` and `b` are broadcast to the mask's shape first; the gradient flows to `a` where the
/// mask is 1 and to `b` where it is 0. As with `tf.where`, a branch not taken still passes a zero
/// gradient back through its own ops, and `0 · ∞` is NaN: clamp the inputs of a branch that can
/// overflow (elu computes `exp(min(x, 0))`).
///
/// ```
/// use tapegrad_autodiff::Tensor;
/// use tapegrad_nn::ops::{mask, select};
/// let x = Tensor::from_vec(vec![-1.0f32, 2.0], &[2])?;
/// let positive = mask(&x, |v| v > 0.0);
/// let y = select(&positive, &x, 0.0)?;
/// assert_eq!(y.to_vec::<f32>()?, vec![0.0, 2.0]);
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
#[doc(alias = "where")]
pub fn select(mask: &Tensor, a: impl IntoOperand, b: impl IntoOperand) -> Result<Tensor> {
    let dtype = mask.dtype();
    let a = operand(a, dtype)?;
    let b = operand(b, dtype)?;
    let a = ad::broadcast_to(&a, mask.shape())?;
    let b = ad::broadcast_to(&b, mask.shape())?;
    let on = mask.to_f64_vec();
    let (av, bv) = (a.value().to_f64_vec(), b.value().to_f64_vec());
    let out: Vec<f64> = on
        .iter()
        .zip(av.iter().zip(&bv))
        .map(|(&m, (&x, &y))| if m != 0.0 { x } else { y })
        .collect();
    let value = tt::Array::from_vec(out, mask.shape())?.cast(dtype);
    Ok(record(
        Select {
            mask: mask.value().clone(),
        },
        &[&a, &b],
        value,
    ))
}

/// A 0/1 tensor of `x`'s dtype and shape: 1 where `f(x)` holds (a condition for [`select`]).
pub fn mask(x: &Tensor, f: impl Fn(f64) -> bool) -> Tensor {
    let v: Vec<f64> = x
        .value()
        .to_f64_vec()
        .into_iter()
        .map(|v| if f(v) { 1.0 } else { 0.0 })
        .collect();
    Tensor::new(
        tt::Array::from_vec(v, x.shape())
            .map(|t| t.cast(x.dtype()))
            .unwrap_or_else(|_| x.value().zeros_like()),
    )
}

/// Resolves an operand to a tensor; a bare number takes `dtype`.
pub(crate) fn operand(x: impl IntoOperand, dtype: ad::DType) -> Result<Tensor> {
    Ok(x.into_operand()?.into_tensor(dtype))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tapegrad_autodiff::GradientTape;

    #[test]
    fn select_routes_values_and_gradients() -> Result<()> {
        let x = Tensor::from_vec(vec![-3.0f32, 0.5, 40.0], &[3])?;
        let tape = GradientTape::new();
        tape.watch(&x);
        let m = mask(&x, |v| v < 1.0);
        let y = select(&m, ad::exp(&x)?, ad::mul(&x, 3.0)?)?;
        let g = tape.gradient(&y, &[&x])?[0].clone().unwrap();
        assert_eq!(
            y.to_vec::<f32>()?,
            vec![(-3.0f32).exp(), 0.5f32.exp(), 120.0]
        );
        assert_eq!(g.to_vec::<f32>()?, vec![(-3.0f32).exp(), 0.5f32.exp(), 3.0]);
        assert!(select(&m, Tensor::from_vec(vec![1.0f32; 2], &[2])?, 0.0).is_err());
        Ok(())
    }
}
