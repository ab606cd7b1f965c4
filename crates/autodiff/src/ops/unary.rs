//! Elementwise functions of one tensor, each declared once in [`unary_ops!`]: its kernel (a
//! functor of the tensor crate, or the scalar function written here), its gradient written in
//! differentiable ops (so nested tapes differentiate it again), and, where one kernel does the
//! same arithmetic, its gradient as that kernel alone, which the tape runs when nothing records
//! the backward pass. The same declaration makes the function, the [`Tensor`] method and the
//! entry of [`UNARY_OPS`], the table one generic test checks every op from (gradients at first
//! and second order, and the fused backward equal bit for bit to the recorded one). Adding an
//! op is one entry here. TensorFlow's conventions: `abs`, `sign` and `relu` have gradient 0 at 0.

use tapegrad_tensor as tt;
use tt::ops as k;

use crate::op::{Backward, Op};
use crate::tape::{record1, OpRef};
use crate::tensor::resolve;
use crate::{IntoOperand, Result, Tensor};

/// A tensor that no tape watches: masks and constants inside backward functions.
fn constant(value: tt::Array) -> Tensor {
    Tensor::new(value)
}

/// Where an op's gradient can be checked by central differences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// Any real input.
    Any,
    /// Positive inputs (`log`, `sqrt`).
    Positive,
    /// Inputs away from 0, where the function has a kink (`abs`, `relu`, `sign`).
    AwayFromZero,
}

/// One elementwise op of the table: its name (TensorFlow's), the function, and where its
/// gradient is smooth.
#[derive(Debug, Clone, Copy)]
pub struct UnaryOp {
    /// The name (`"exp"`, `"relu"`, ...): the function's, the method's and the graph dump's.
    pub name: &'static str,
    /// The differentiable function.
    pub f: fn(&Tensor) -> Result<Tensor>,
    /// Where central differences check its gradient.
    pub domain: Domain,
}

/// The kernel of an entry given as a scalar function: a functor the tensor crate's `map` runs.
macro_rules! unary_kernel {
    ($kernel:ident, |$s:ident| $scalar:expr, $name:ident) => {
        #[derive(Clone, Copy)]
        struct $kernel;
        impl tt::ops::UnaryFn for $kernel {
            const NAME: &'static str = stringify!($name);
            #[inline(always)]
            fn call<T: tt::Element>(self, $s: T) -> T {
                $scalar
            }
        }
    };
}

macro_rules! unary_ops {
    ($(
        $(#[$doc:meta])*
        $name:ident: $op:ident,
        kernel $kernel:ident $(= |$s:ident| $scalar:expr)?,
        domain $domain:ident,
        rule $rule:literal,
        grad |$x:ident, $y:ident, $g:ident| $grad:expr
        $(, fused $fused:expr)?;
    )*) => {
        $(
            $( unary_kernel!($kernel, |$s| $scalar, $name); )?

            struct $op;

            impl Op for $op {
                fn name(&self) -> String {
                    // TensorFlow's name: `Tanh` for `TanhOp`
                    let name = stringify!($op);
                    name.strip_suffix("Op").unwrap_or(name).into()
                }
                fn rule(&self) -> &'static str {
                    $rule
                }
                fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
                    let ($x, $y, $g) = (&b.inputs[0], b.output, b.grad);
                    let _ = ($x, $y);
                    out.push(Some($grad?));
                    Ok(())
                }
                $(
                    fn backward_unrecorded(
                        &self,
                        b: &Backward<'_>,
                        out: &mut Vec<Option<Tensor>>,
                    ) -> Result<()> {
                        let ($x, $y, $g) = (&b.inputs[0], b.output, b.grad);
                        let _ = ($x, $y);
                        let fused: tt::Result<tt::Array> = $fused;
                        out.push(Some(constant(fused?)));
                        Ok(())
                    }
                )?
            }

            $(#[$doc])*
            pub fn $name(x: impl IntoOperand) -> Result<Tensor> {
                let x = resolve(x)?;
                let value = x.value().map($kernel);
                Ok(record1(|| OpRef::Static(&$op), x, value))
            }

            impl Tensor {
                #[doc = concat!("[`", stringify!($name), "`](crate::", stringify!($name), ") of this tensor, as a method.")]
                pub fn $name(&self) -> Result<Tensor> {
                    $name(self)
                }
            }
        )*

        /// Every op declared in this module, for tests and for tools that list them.
        pub const UNARY_OPS: &[UnaryOp] = &[$(UnaryOp {
            name: stringify!($name),
            f: |x| $name(x),
            domain: Domain::$domain,
        }),*];
    };
}

use k::{Abs, Exp, Log, Relu, Sigmoid, Sign, Softplus, Sqrt, Square, Tanh};

unary_ops! {
    /// `x²` (`tf.square`); gradient `g · 2x`.
    ///
    /// ```
    /// let y = tapegrad_autodiff::square(tapegrad_autodiff::Tensor::scalar(3.0f32))?;
    /// assert_eq!(y.item()?, 9.0);
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    square: SquareOp, kernel Square, domain Any,
        rule "d(x^2)/dx = 2x g",
        grad |x, y, g| crate::mul(g, crate::mul(x, 2.0)?),
        fused g.value().zip(x.value(), k::MulTwice);
    /// `√x` (`tf.sqrt`); gradient `g · 0.5 / y`.
    sqrt: SqrtOp, kernel Sqrt, domain Positive,
        rule "d sqrt(x)/dx = g / (2 sqrt(x))",
        grad |x, y, g| crate::div(crate::mul(g, 0.5)?, y);
    /// `eˣ` (`tf.exp`); gradient `g · y`.
    exp: ExpOp, kernel Exp, domain Any,
        rule "d e^x/dx = e^x g",
        grad |x, y, g| crate::mul(g, y);
    /// Natural logarithm (`tf.math.log`); gradient `g / x`.
    log: LogOp, kernel Log, domain Positive,
        rule "d ln(x)/dx = g / x",
        grad |x, y, g| crate::mul(g, crate::div(1.0, x)?);
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
    abs: AbsOp, kernel Abs, domain AwayFromZero,
        rule "d|x|/dx = sign(x) g (0 at 0)",
        grad |x, y, g| crate::mul(g, constant(x.value().map(k::Sign))),
        fused g.value().zip(x.value(), k::MulSign);
    /// `-1`, `0` or `1` (`tf.sign`); gradient 0.
    sign: SignOp, kernel Sign, domain AwayFromZero,
        rule "d sign(x)/dx = 0",
        grad |x, y, g| Ok::<_, crate::Error>(constant(g.value().zeros_like()));
    /// `max(x, 0)` (`tf.nn.relu`); gradient `g` where `x > 0`, else 0.
    relu: ReluOp, kernel Relu, domain AwayFromZero,
        rule "d relu(x)/dx = g where x > 0, 0 elsewhere",
        grad |x, y, g| crate::mul(g, constant(y.value().map(k::PositiveMask))),
        fused g.value().zip(y.value(), k::MulPositiveMask);
    /// `1 / (1 + e⁻ˣ)` (`tf.sigmoid`); gradient `g · y · (1 − y)`.
    sigmoid: SigmoidOp, kernel Sigmoid, domain Any,
        rule "d sigmoid(x)/dx = sigmoid(x) (1 - sigmoid(x)) g",
        grad |x, y, g| crate::mul(g, crate::mul(y, crate::sub(1.0, y)?)?);
    /// Hyperbolic tangent (`tf.tanh`); gradient `g · (1 − y²)`.
    tanh: TanhOp, kernel Tanh, domain Any,
        rule "d tanh(x)/dx = (1 - tanh(x)^2) g",
        grad |x, y, g| crate::mul(g, crate::sub(1.0, crate::mul(y, y)?)?);
    /// `ln(1 + eˣ)` (`tf.nn.softplus`); gradient `g · sigmoid(x)`.
    softplus: SoftplusOp, kernel Softplus, domain Any,
        rule "d ln(1 + e^x)/dx = sigmoid(x) g",
        grad |x, y, g| crate::mul(g, sigmoid(x)?);
    /// `sin x` (`tf.sin`); gradient `g · cos x`.
    ///
    /// ```
    /// let y = tapegrad_autodiff::Tensor::scalar(0.0f32).sin()?;
    /// assert_eq!(y.item()?, 0.0);
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    sin: SinOp, kernel SinFn = |x| x.sin(), domain Any,
        rule "d sin(x)/dx = cos(x) g",
        grad |x, y, g| crate::mul(g, cos(x)?);
    /// `cos x` (`tf.cos`); gradient `−g · sin x`.
    cos: CosOp, kernel CosFn = |x| x.cos(), domain Any,
        rule "d cos(x)/dx = -sin(x) g",
        grad |x, y, g| crate::mul(g, crate::neg(sin(x)?)?);
}

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
