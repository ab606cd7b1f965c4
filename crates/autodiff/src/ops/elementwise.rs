//! Binary elementwise functions beyond arithmetic: `pow`, `maximum`, `minimum`, and
//! `clip_by_value`, with TensorFlow's gradients.

use tapegrad_tensor as tt;
use tt::ops as k;

use crate::op::{unbroadcast, Backward, Op};
use crate::tape::{record1, record2, OpRef};
use crate::tensor::{resolve, resolve_pair};
use crate::{IntoOperand, Result, Tensor};

struct Pow;

impl Op for Pow {
    fn rule(&self) -> &'static str {
        "d(x^y)/dx = g * y * x^(y - 1), d(x^y)/dy = g * x^y * ln(x)"
    }
    fn name(&self) -> String {
        "Pow".into()
    }
    fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
        self.gradients(b, out, false)
    }
    /// Nothing records this backward: `x`'s gradient for one exponent as one kernel.
    fn backward_unrecorded(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
        self.gradients(b, out, true)
    }
}

impl Pow {
    fn gradients(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>, fuse: bool) -> Result<()> {
        let (x, y, z, g) = (&b.inputs[0], &b.inputs[1], b.output, b.grad);
        let one_exponent = y.len() == 1 && y.rank() <= x.rank() && g.value().has_shape(x.shape());
        let gx = if b.needs[0] && one_exponent && fuse {
            // Nothing records this backward and the exponent is one number (`pow(e, 2.0)`):
            // the four ops below in one kernel, bitwise the same.
            let y = PowGradX(y.value().item()?);
            Some(Tensor::new(g.value().zip(x.value(), y)?))
        } else if b.needs[0] {
            // g · y · x^(y−1)
            let d = crate::mul(y, pow(x, crate::sub(y, 1.0)?)?)?;
            Some(unbroadcast(crate::mul(g, d)?, x.shape())?)
        } else {
            None
        };
        let gy = if b.needs[1] {
            // g · z · log(x) where x > 0, else 0 (TensorFlow's convention)
            let positive = Tensor::new(x.value().map(k::PositiveMask));
            let safe_x = crate::add(crate::mul(x, &positive)?, crate::sub(1.0, &positive)?)?;
            let d = crate::mul(crate::mul(z, crate::log(safe_x)?)?, &positive)?;
            Some(unbroadcast(crate::mul(g, d)?, y.shape())?)
        } else {
            None
        };
        out.extend([gx, gy]);
        Ok(())
    }
}

/// `g · (y · x^(y − 1))` for one exponent `y` (held as `f64`, exact for either dtype): the
/// gradient of `pow` with respect to `x`, each step rounded in the dtype as the separate ops
/// `sub`, `pow`, `mul`, `mul` round it.
#[derive(Clone, Copy)]
struct PowGradX(f64);

impl tt::ops::BinaryFn for PowGradX {
    const NAME: &'static str = "pow_grad";
    #[inline(always)]
    fn call<T: tt::Element>(self, g: T, x: T) -> T {
        let y = T::from_f64(self.0);
        g * (y * k::pow(x, y - T::from_f64(1.0)))
    }
}

/// `xʸ` elementwise with broadcasting (`tf.pow`).
///
/// ```
/// let y = tapegrad_autodiff::pow(tapegrad_autodiff::Tensor::scalar(2.0f32), 3.0)?;
/// assert_eq!(y.item()?, 8.0);
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
pub fn pow(x: impl IntoOperand, y: impl IntoOperand) -> Result<Tensor> {
    let (x, y) = resolve_pair("pow", x, y)?;
    let value = x.value().zip(y.value(), k::Pow)?;
    Ok(record2(|| OpRef::Static(&Pow), x, y, value))
}

struct Extremum {
    max: bool,
}

impl Op for Extremum {
    fn rule(&self) -> &'static str {
        "g goes to the operand that was chosen (to x where x >= y for maximum, x <= y for minimum), 0 to the other"
    }
    fn name(&self) -> String {
        if self.max { "Maximum" } else { "Minimum" }.into()
    }
    fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
        let (x, y, g) = (&b.inputs[0], &b.inputs[1], b.grad);
        // TensorFlow: x gets the gradient where x >= y (maximum) or x <= y (minimum).
        let mask = if self.max {
            x.value().zip(y.value(), k::GreaterEqual)?
        } else {
            x.value().zip(y.value(), k::LessEqual)?
        };
        let mask = Tensor::new(mask);
        let gx = crate::mul(g, &mask)?;
        let gy = crate::sub(g, &gx)?;
        out.extend([
            Some(unbroadcast(gx, x.shape())?),
            Some(unbroadcast(gy, y.shape())?),
        ]);
        Ok(())
    }
}

/// The larger of two tensors, elementwise with broadcasting (`tf.maximum`).
pub fn maximum(x: impl IntoOperand, y: impl IntoOperand) -> Result<Tensor> {
    let (x, y) = resolve_pair("maximum", x, y)?;
    let value = x.value().zip(y.value(), k::Maximum)?;
    Ok(record2(
        || OpRef::Static(&Extremum { max: true }),
        x,
        y,
        value,
    ))
}

/// The smaller of two tensors, elementwise with broadcasting (`tf.minimum`).
pub fn minimum(x: impl IntoOperand, y: impl IntoOperand) -> Result<Tensor> {
    let (x, y) = resolve_pair("minimum", x, y)?;
    let value = x.value().zip(y.value(), k::Minimum)?;
    Ok(record2(
        || OpRef::Static(&Extremum { max: false }),
        x,
        y,
        value,
    ))
}

struct Clip {
    lo: f64,
    hi: f64,
}

impl Op for Clip {
    fn rule(&self) -> &'static str {
        "g where lo <= x <= hi, 0 where x was clipped"
    }
    fn name(&self) -> String {
        format!("ClipByValue({}, {})", self.lo, self.hi)
    }
    fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
        let x = b.inputs[0].value();
        let inside = x
            .zip(&tt::Array::scalar_of(x.dtype(), self.lo), k::GreaterEqual)?
            .mul(&x.zip(&tt::Array::scalar_of(x.dtype(), self.hi), k::LessEqual)?)?;
        out.push(Some(crate::mul(b.grad, Tensor::new(inside))?));
        Ok(())
    }
}

/// Clips to `[lo, hi]` (`tf.clip_by_value`); the gradient passes where `lo <= x <= hi`.
///
/// ```
/// let t = tapegrad_autodiff::Tensor::from_vec(vec![-2.0f32, 0.5, 3.0], &[3])?;
/// let c = tapegrad_autodiff::clip_by_value(&t, -1.0, 1.0)?;
/// assert_eq!(c.to_vec::<f32>()?, vec![-1.0, 0.5, 1.0]);
/// assert!(tapegrad_autodiff::clip_by_value(&t, 1.0, -1.0).is_err());
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
pub fn clip_by_value(x: impl IntoOperand, lo: f64, hi: f64) -> Result<Tensor> {
    if lo > hi || lo.is_nan() || hi.is_nan() {
        return Err(crate::Error::Invalid {
            op: "clip_by_value",
            message: format!("clip_value_min {lo} must not exceed clip_value_max {hi}"),
        });
    }
    let x = resolve(x)?;
    let value = x.value().clip(lo, hi);
    Ok(record1(|| OpRef::new(Clip { lo, hi }), x, value))
}

impl Tensor {
    /// [`pow`] as a method.
    pub fn pow(&self, y: impl IntoOperand) -> Result<Tensor> {
        pow(self, y)
    }
    /// [`maximum`] as a method.
    pub fn maximum(&self, y: impl IntoOperand) -> Result<Tensor> {
        maximum(self, y)
    }
    /// [`minimum`] as a method.
    pub fn minimum(&self, y: impl IntoOperand) -> Result<Tensor> {
        minimum(self, y)
    }
    /// [`clip_by_value`] as a method.
    pub fn clip_by_value(&self, lo: f64, hi: f64) -> Result<Tensor> {
        clip_by_value(self, lo, hi)
    }
}

/// This module's entries of the op table ([`crate::op_table`]).
pub(crate) const OPS: &[crate::ops::OpEntry] = {
    use crate::ops::OpEntry as E;
    &[
        E::new(
            "pow(tensor exponent)",
            &[&[2, 3], &[2, 3]],
            crate::Domain::Positive,
            |x| pow(&x[0], &x[1]),
        ),
        E::new("pow(2)", &[&[2, 3]], crate::Domain::Any, |x| {
            pow(&x[0], 2.0)
        }),
        E::new("maximum", &[&[2, 3], &[2, 3]], crate::Domain::Any, |x| {
            maximum(&x[0], &x[1])
        }),
        E::new(
            "minimum(broadcast)",
            &[&[2, 3], &[3]],
            crate::Domain::Any,
            |x| minimum(&x[0], &x[1]),
        ),
        E::new(
            "clip_by_value(-1, 1)",
            &[&[2, 3]],
            crate::Domain::AwayFromZero,
            |x| clip_by_value(&x[0], -1.0, 1.0),
        ),
    ]
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{check, check_at};

    #[test]
    fn gradients_pass_the_checker() -> Result<()> {
        let x = Tensor::from_vec(vec![0.5, 1.3, 2.0, 0.9], &[4])?;
        let y = Tensor::from_vec(vec![1.5, -0.7, 2.5, 3.0], &[4])?;
        check_at(&[x.clone(), y.clone()], |v| pow(&v[0], &v[1]))?;
        check_at(&[x.clone(), y.clone()], |v| maximum(&v[0], &v[1]))?;
        check_at(&[x.clone(), y], |v| minimum(&v[0], &v[1]))?;
        check_at(&[x], |v| clip_by_value(&v[0], 0.7, 1.5))?;
        check(&[&[2, 3], &[3]], |v| maximum(&v[0], &v[1]))?;
        Ok(())
    }

    #[test]
    fn pow_gradient_in_one_kernel_equals_the_separate_ops() -> Result<()> {
        // with a second tape active the backward runs as recorded ops, without it as one kernel
        let xs: Vec<f32> = (0..50).map(|i| (i as f32 - 20.0) * 0.37).collect();
        let ws: Vec<f32> = (0..50).map(|i| 1.0 + i as f32 * 0.013).collect();
        for exponent in [2.0, 3.0, 0.5, -1.5, 1.0, 0.0, 2.7] {
            let gradient = |separate_ops: bool| -> Result<Vec<u32>> {
                let _outer = separate_ops.then(crate::GradientTape::new);
                let x = Tensor::from_vec(xs.clone(), &[50])?;
                let w = Tensor::from_vec(ws.clone(), &[50])?;
                let tape = crate::GradientTape::new();
                tape.watch(&x);
                let loss = crate::reduce_sum(crate::mul(pow(&x, exponent)?, &w)?, None, false)?;
                let g = tape.gradient(&loss, &[&x])?[0].clone().expect("connected");
                Ok(g.to_vec::<f32>()?.iter().map(|v| v.to_bits()).collect())
            };
            assert_eq!(gradient(false)?, gradient(true)?, "exponent {exponent}");
        }
        Ok(())
    }

    #[test]
    fn pow_gradient_wrt_exponent_is_zero_for_non_positive_base() -> Result<()> {
        let x = Tensor::from_vec(vec![-2.0f64, 0.0], &[2])?;
        let y = Tensor::scalar(2.0f64);
        let tape = crate::GradientTape::new();
        tape.watch(&y);
        let z = pow(&x, &y)?;
        let g = tape.gradient(&z, &[&y])?[0].clone().unwrap();
        assert_eq!(g.item()?, 0.0);
        Ok(())
    }
}
