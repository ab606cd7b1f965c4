//! Elementwise functions of one tensor and their derivatives, as TensorFlow defines them
//! (`abs`, `sign` and `relu` have gradient 0 at 0).

use tapegrad_tensor as tt;
use tt::ops as k;

use crate::op::{record1, Backward, Op, OpRef};
use crate::tensor::resolve;
use crate::{IntoOperand, Result, Tensor};

/// A tensor that no tape watches: masks and constants inside backward functions.
fn constant(value: tt::Array) -> Tensor {
    Tensor::new(value)
}

macro_rules! unary_op {
    ($(#[$doc:meta])* $fn_name:ident, $op:ident, $kernel:expr, |$b:ident, $x:ident, $y:ident, $g:ident| $grad:expr) => {
        struct $op;

        impl Op for $op {
            fn name(&self) -> String {
                stringify!($op).into()
            }
            fn backward(&self, $b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
                let ($x, $y, $g) = (&$b.inputs[0], $b.output, $b.grad);
                let _ = ($x, $y);
                out.push(Some($grad?));
                Ok(())
            }
        }

        $(#[$doc])*
        pub fn $fn_name(x: impl IntoOperand) -> Result<Tensor> {
            let x = resolve(x)?;
            let value = x.value().map($kernel);
            Ok(record1(|| OpRef::Static(&$op), x, value))
        }

        impl Tensor {
            #[doc = concat!("[`", stringify!($fn_name), "`](crate::", stringify!($fn_name), ") of this tensor, as a method.")]
            pub fn $fn_name(&self) -> Result<Tensor> {
                $fn_name(self)
            }
        }
    };
}

unary_op!(
    /// `x²` (`tf.square`); gradient `g · 2x`.
    ///
    /// ```
    /// let y = tapegrad_autodiff::square(tapegrad_autodiff::Tensor::scalar(3.0f32))?;
    /// assert_eq!(y.item()?, 9.0);
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    square, Square, k::Square, |b, x, y, g| if crate::tape::any_active() {
        crate::mul(g, crate::mul(x, 2.0)?)
    } else {
        // Nothing records this backward: one kernel, bitwise the same.
        Ok(constant(g.value().zip(x.value(), k::MulTwice)?))
    }
);
unary_op!(
    /// `√x` (`tf.sqrt`); gradient `g · 0.5 / y`.
    sqrt, Sqrt, k::Sqrt, |b, x, y, g| crate::div(crate::mul(g, 0.5)?, y)
);
unary_op!(
    /// `eˣ` (`tf.exp`); gradient `g · y`.
    exp, Exp, k::Exp, |b, x, y, g| crate::mul(g, y)
);
unary_op!(
    /// Natural logarithm (`tf.math.log`); gradient `g / x`.
    log, Log, k::Log, |b, x, y, g| crate::mul(g, crate::div(1.0, x)?)
);
unary_op!(
    /// `|x|` (`tf.abs`); gradient `g · sign(x)`, 0 at 0.
    ///
    /// ```
    /// use tapegrad_autodiff::{abs, GradientTape, Tensor};
    /// let x = Tensor::from_vec(vec![-2.0f32, 0.0, 3.0], &[3])?;
    /// let tape = GradientTape::new();
    /// tape.watch(&x);
    /// let y = abs(&x)?;
    /// let g = tape.gradient(&y, &[&x])?[0].clone().unwrap();
    /// assert_eq!(g.to_vec::<f32>()?, vec![-1.0, 0.0, 1.0]);
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    abs, Abs, k::Abs, |b, x, y, g| if crate::tape::any_active() {
        crate::mul(g, constant(x.value().map(k::Sign)))
    } else {
        // Nothing records this backward: one kernel, bitwise the same.
        Ok(constant(g.value().zip(x.value(), k::MulSign)?))
    }
);
unary_op!(
    /// `-1`, `0` or `1` (`tf.sign`); gradient 0.
    sign, Sign, k::Sign, |b, x, y, g| Ok::<_, crate::Error>(constant(g.value().zeros_like()))
);
unary_op!(
    /// `max(x, 0)` (`tf.nn.relu`); gradient `g` where `x > 0`, else 0.
    relu, Relu, k::Relu, |b, x, y, g| if crate::tape::any_active() {
        crate::mul(g, constant(y.value().map(k::PositiveMask)))
    } else {
        // Nothing records this backward: one kernel, bitwise the same.
        Ok(constant(g.value().zip(y.value(), k::MulPositiveMask)?))
    }
);
unary_op!(
    /// `1 / (1 + e⁻ˣ)` (`tf.sigmoid`); gradient `g · y · (1 − y)`.
    sigmoid, Sigmoid, k::Sigmoid, |b, x, y, g| crate::mul(g, crate::mul(y, crate::sub(1.0, y)?)?)
);
unary_op!(
    /// Hyperbolic tangent (`tf.tanh`); gradient `g · (1 − y²)`.
    tanh, Tanh, k::Tanh, |b, x, y, g| crate::mul(g, crate::sub(1.0, crate::mul(y, y)?)?)
);
unary_op!(
    /// `ln(1 + eˣ)` (`tf.nn.softplus`); gradient `g · sigmoid(x)`.
    softplus, Softplus, k::Softplus, |b, x, y, g| crate::mul(g, sigmoid(x)?)
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{check, check_at};

    #[test]
    fn values_and_tensorflow_conventions_at_zero() -> Result<()> {
        let x = Tensor::from_vec(vec![-1.5f32, 0.0, 2.0], &[3])?;
        assert_eq!(abs(&x)?.to_vec::<f32>()?, vec![1.5, 0.0, 2.0]);
        assert_eq!(sign(&x)?.to_vec::<f32>()?, vec![-1.0, 0.0, 1.0]);
        assert_eq!(relu(&x)?.to_vec::<f32>()?, vec![0.0, 0.0, 2.0]);
        let tape = crate::GradientTape::persistent();
        tape.watch(&x);
        let (a, r, s) = (abs(&x)?, relu(&x)?, sign(&x)?);
        let ga = tape.gradient(&a, &[&x])?[0].clone().unwrap();
        let gr = tape.gradient(&r, &[&x])?[0].clone().unwrap();
        let gs = tape.gradient(&s, &[&x])?[0].clone().unwrap();
        assert_eq!(ga.to_vec::<f32>()?, vec![-1.0, 0.0, 1.0]);
        assert_eq!(gr.to_vec::<f32>()?, vec![0.0, 0.0, 1.0]);
        assert_eq!(gs.to_vec::<f32>()?, vec![0.0, 0.0, 0.0]);
        Ok(())
    }

    #[test]
    fn gradients_pass_the_checker() -> Result<()> {
        for shape in [&[][..], &[4][..], &[2, 3][..]] {
            check(&[shape], |v| square(&v[0]))?;
            check(&[shape], |v| exp(&v[0]))?;
            check(&[shape], |v| sigmoid(&v[0]))?;
            check(&[shape], |v| tanh(&v[0]))?;
            check(&[shape], |v| softplus(&v[0]))?;
            check(&[shape], |v| {
                sqrt(crate::add(crate::mul(&v[0], &v[0])?, 1.0)?)
            })?;
            check(&[shape], |v| {
                log(crate::add(crate::mul(&v[0], &v[0])?, 1.0)?)
            })?;
        }
        // away from the kinks
        let away = [Tensor::from_vec(vec![-1.3, 0.7, 2.1, -0.4], &[4])?];
        check_at(&away, |v| abs(&v[0]))?;
        check_at(&away, |v| relu(&v[0]))?;
        check_at(&away, |v| sign(&v[0]))?;
        Ok(())
    }
}
