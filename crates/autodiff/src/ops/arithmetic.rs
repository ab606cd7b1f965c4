//! `+ - * /` and negation, with numpy broadcasting; the backward sums over broadcast axes.
//! Gradients follow TensorFlow's `_AddGrad`, `_SubGrad`, `_MulGrad`, `_RealDivGrad`.

use std::ops;

use tapegrad_tensor as tt;

use crate::op::{unbroadcast, Backward, Op};
use crate::tape::{record1, record2, OpRef};
use crate::tensor::resolve_pair;
use crate::{IntoOperand, Result, Tensor, Variable};

/// The four arithmetic ops, each declared once: TensorFlow's op name, the tensor crate's kernel,
/// the local rule, and the gradients of both operands written in differentiable ops (before the
/// reduction over broadcast axes, which every binary op shares), with, where one kernel does
/// the same arithmetic, the backward as that kernel alone for when nothing records it. The
/// declaration makes the op, the function and the [`Tensor`] method; adding one is one entry.
macro_rules! binary_ops {
    ($(
        $(#[$doc:meta])*
        $name:ident: $op:ident $tf:literal,
        kernel $kernel:ident,
        rule $rule:literal,
        grad |$x:ident, $y:ident, $g:ident, $needs:ident| $grad:expr
        $(, unrecorded |$b:ident, $out:ident| $unrecorded:expr)?;
    )*) => {
        $(
            struct $op;

            impl Op for $op {
                fn rule(&self) -> &'static str {
                    $rule
                }
                fn name(&self) -> String {
                    $tf.into()
                }
                $(
                    fn backward_unrecorded(
                        &self,
                        $b: &Backward<'_>,
                        $out: &mut Vec<Option<Tensor>>,
                    ) -> Result<()> {
                        $unrecorded
                    }
                )?
                fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
                    let ($x, $y, $g, $needs) = (&b.inputs[0], &b.inputs[1], b.grad, b.needs);
                    let (gx, gy): (Option<Tensor>, Option<Tensor>) = $grad;
                    // both raw gradients first, then the reductions (the order a recording
                    // tape sees)
                    let gx = gx.map(|g| unbroadcast(g, $x.shape())).transpose()?;
                    let gy = gy.map(|g| unbroadcast(g, $y.shape())).transpose()?;
                    out.extend([gx, gy]);
                    Ok(())
                }
            }

            $(#[$doc])*
            #[inline]
            pub fn $name(a: impl IntoOperand, b: impl IntoOperand) -> Result<Tensor> {
                let (a, b) = resolve_pair(stringify!($name), a, b)?;
                let value = a.value().$kernel(b.value())?;
                Ok(record2(|| OpRef::Static(&$op), a, b, value))
            }
        )*

        /// The arithmetic ops as methods, for chains (`x.mul(&w)?.add(1.0)?`) beside the
        /// operators.
        impl Tensor {
            $(
                #[doc = concat!("[`", stringify!($name), "`] as a method.")]
                pub fn $name(&self, other: impl IntoOperand) -> Result<Tensor> {
                    $name(self, other)
                }
            )*
        }
    };
}

binary_ops! {
    /// `a + b` with broadcasting (`tf.add`). Operands: tensors, variables, results, scalars.
    ///
    /// ```
    /// use tapegrad_autodiff::{add, Tensor};
    /// let s = add(&Tensor::from_vec(vec![1.0f32, 2.0], &[2])?, 1.0)?;
    /// assert_eq!(s.to_vec::<f32>()?, vec![2.0, 3.0]);
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    add: AddOp "Add",
        kernel add,
        rule "d(a + b)/da = g, d(a + b)/db = g, each summed over the axes it was broadcast along",
        grad |x, y, g, needs| (needs[0].then(|| g.clone()), needs[1].then(|| g.clone()));

    /// `a - b` with broadcasting (`tf.subtract`).
    sub: SubOp "Sub",
        kernel sub,
        rule "d(a - b)/da = g, d(a - b)/db = -g, each summed over the axes it was broadcast along",
        grad |x, y, g, needs| (
            needs[0].then(|| g.clone()),
            needs[1].then(|| negate(g)).transpose()?,
        );

    /// `a * b` with broadcasting (`tf.multiply`).
    mul: MulOp "Mul",
        kernel mul,
        rule "d(a * b)/da = g * b, d(a * b)/db = g * a, each summed over the axes it was broadcast along",
        grad |x, y, g, needs| (
            needs[0].then(|| mul(g, y)).transpose()?,
            needs[1].then(|| mul(x, g)).transpose()?,
        ),
        // a product's gradient and its reduction to the input's shape in one kernel, bitwise
        // the same as `mul` then `unbroadcast`
        unrecorded |b, out| {
            let (x, y, g) = (&b.inputs[0], &b.inputs[1], b.grad);
            let fused = |a: &Tensor, other: &Tensor, need: bool| {
                need.then(|| a.value().mul_sum_to_shape(g.value(), other.shape()))
                    .transpose()
                    .map(|t| t.map(Tensor::new))
            };
            let (gx, gy) = (fused(y, x, b.needs[0])?, fused(x, y, b.needs[1])?);
            out.extend([gx, gy]);
            Ok(())
        };

    /// `a / b` with broadcasting (`tf.divide`).
    div: RealDivOp "RealDiv",
        kernel div,
        rule "d(a / b)/da = g / b, d(a / b)/db = -g * a / b^2, each summed over the axes it was broadcast along",
        grad |x, y, g, needs| (
            needs[0].then(|| div(g, y)).transpose()?,
            needs[1].then(|| mul(g, div(div(neg(x)?, y)?, y)?)).transpose()?,
        );
}

/// `-g` inside a backward function: the kernel alone when nothing records it.
fn negate(g: &Tensor) -> Result<Tensor> {
    if crate::tape::any_active() {
        neg(g)
    } else {
        Ok(Tensor::new(g.value().map(tt::ops::Neg)))
    }
}

impl Tensor {
    /// [`neg`] as a method.
    pub fn neg(&self) -> Result<Tensor> {
        neg(self)
    }
}

struct Neg;

impl Op for Neg {
    fn rule(&self) -> &'static str {
        "d(-x)/dx = -g"
    }
    fn name(&self) -> String {
        "Neg".into()
    }
    fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
        out.push(Some(negate(b.grad)?));
        Ok(())
    }
}

/// `-x` (`tf.negative`).
pub fn neg(x: impl IntoOperand) -> Result<Tensor> {
    let x = crate::tensor::resolve(x)?;
    let value = x.value().map(tt::ops::Neg);
    Ok(record1(|| OpRef::Static(&Neg), x, value))
}

macro_rules! impl_operators {
    ($($lhs:ty),*) => {$(
        impl<R: IntoOperand> ops::Add<R> for $lhs {
            type Output = Result<Tensor>;
            fn add(self, rhs: R) -> Result<Tensor> { add(self, rhs) }
        }
        impl<R: IntoOperand> ops::Sub<R> for $lhs {
            type Output = Result<Tensor>;
            fn sub(self, rhs: R) -> Result<Tensor> { sub(self, rhs) }
        }
        impl<R: IntoOperand> ops::Mul<R> for $lhs {
            type Output = Result<Tensor>;
            fn mul(self, rhs: R) -> Result<Tensor> { mul(self, rhs) }
        }
        impl<R: IntoOperand> ops::Div<R> for $lhs {
            type Output = Result<Tensor>;
            fn div(self, rhs: R) -> Result<Tensor> { div(self, rhs) }
        }
        impl ops::Neg for $lhs {
            type Output = Result<Tensor>;
            fn neg(self) -> Result<Tensor> { neg(self) }
        }
    )*};
}
impl_operators!(Tensor, &Tensor, Variable, &Variable);

/// Operators whose left side is foreign (`Result<Tensor>`, `f32`, `f64`) need concrete right sides.
macro_rules! impl_foreign_lhs {
    ($lhs:ty => $($rhs:ty),*) => {$(
        impl ops::Add<$rhs> for $lhs {
            type Output = Result<Tensor>;
            fn add(self, rhs: $rhs) -> Result<Tensor> { add(self, rhs) }
        }
        impl ops::Sub<$rhs> for $lhs {
            type Output = Result<Tensor>;
            fn sub(self, rhs: $rhs) -> Result<Tensor> { sub(self, rhs) }
        }
        impl ops::Mul<$rhs> for $lhs {
            type Output = Result<Tensor>;
            fn mul(self, rhs: $rhs) -> Result<Tensor> { mul(self, rhs) }
        }
        impl ops::Div<$rhs> for $lhs {
            type Output = Result<Tensor>;
            fn div(self, rhs: $rhs) -> Result<Tensor> { div(self, rhs) }
        }
    )*};
}
// `Result<Tensor> + Result<Tensor>` or `Result<Tensor> + f32` would break the orphan rule: use
// the functions (`add(a, b)`) there, or put the `?` before the number. A number on the left is
// an `f64` or an `i32` (an unsuffixed `0.1` and `2`), and takes the tensor's dtype as on the
// right. A second float or integer type on the left would make `(0.1 * &t)?` ambiguous to
// Rust's inference (the `?` needs the type before the literal's fallback), so `f32`, `i64`, ...
// go on the right (`&t * 0.1f32`), where every number type is accepted.
impl_foreign_lhs!(Result<Tensor> => Tensor, &Tensor, Variable, &Variable);
impl_foreign_lhs!(f64 => Tensor, &Tensor, Variable, &Variable);
impl_foreign_lhs!(i32 => Tensor, &Tensor, Variable, &Variable);

/// This module's entries of the op table ([`crate::op_table`]).
pub(crate) const OPS: &[crate::ops::OpEntry] = {
    use crate::ops::OpEntry as E;
    &[
        E::new(
            "add(broadcast)",
            &[&[2, 3], &[3]],
            crate::Domain::Any,
            |x| add(&x[0], &x[1]),
        ),
        E::new(
            "sub(broadcast)",
            &[&[2, 3], &[2, 1]],
            crate::Domain::Any,
            |x| sub(&x[0], &x[1]),
        ),
        E::new(
            "mul(broadcast)",
            &[&[2, 3], &[3]],
            crate::Domain::Any,
            |x| mul(&x[0], &x[1]),
        ),
        E::new(
            "mul(same shape)",
            &[&[2, 3], &[2, 3]],
            crate::Domain::Any,
            |x| mul(&x[0], &x[1]),
        ),
        E::new(
            "div(broadcast)",
            &[&[2, 3], &[3]],
            crate::Domain::Positive,
            |x| div(&x[0], &x[1]),
        ),
        E::new("neg", &[&[2, 3]], crate::Domain::Any, |x| neg(&x[0])),
    ]
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check;

    #[test]
    fn forward_broadcasts_and_adopts_scalar_dtype() -> Result<()> {
        let x = Tensor::from_vec(vec![1.0f64, 2.0, 3.0], &[3, 1])?;
        let y = Tensor::from_vec(vec![10.0f64, 20.0], &[2])?;
        let s = (&x + &y)?;
        assert_eq!(s.shape(), &[3, 2]);
        assert_eq!(s.to_vec::<f64>()?, vec![11.0, 21.0, 12.0, 22.0, 13.0, 23.0]);
        let h = (0.5 * &x)?;
        assert_eq!(h.dtype(), tt::DType::F64);
        assert_eq!(div(2.0 - &x, 2.0)?.to_vec::<f64>()?, vec![0.5, 0.0, -0.5]);
        Ok(())
    }

    #[test]
    fn numbers_of_every_kind_on_either_side_take_the_tensor_dtype() -> Result<()> {
        let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?;
        let v = Variable::new(2.0);
        let forms = [
            (2.0 * &x)?,
            (2 * &x)?,
            (&x * 2i64)?,
            (&x * 2)?,
            (&x * 2usize)?,
            (&x * 2.0f32)?,
            (((&x * 5.0)? + 1.0)? - 1.0)?.div(2.5)?,
            (&x * &v)?,
            ((2 * &v * &x)? / 2)?,
        ];
        for y in &forms {
            assert_eq!(y.dtype(), tt::DType::F32);
            assert_eq!(y.to_vec::<f32>()?, vec![2.0, 4.0]);
        }
        assert_eq!((1 - &x)?.to_vec::<f32>()?, vec![0.0, -1.0]);
        assert_eq!((4.0 / &x)?.to_vec::<f32>()?, vec![4.0, 2.0]);
        Ok(())
    }

    #[test]
    fn mismatches_are_errors_naming_the_op() {
        let a = Tensor::from_vec(vec![1.0f32; 2], &[2]).unwrap();
        let b = Tensor::from_vec(vec![1.0f32; 3], &[3]).unwrap();
        let e = (&a * &b).unwrap_err().to_string();
        assert!(
            e.contains("mul") && e.contains("[2]") && e.contains("[3]"),
            "{e}"
        );
        let c = Tensor::scalar(1.0f64);
        assert!((&a + &c).unwrap_err().to_string().contains("dtype"));
    }

    #[test]
    fn gradients_pass_the_checker() -> Result<()> {
        let shapes: &[(&[usize], &[usize])] = &[
            (&[3], &[3]),
            (&[2, 3], &[3]),
            (&[2, 1], &[1, 4]),
            (&[], &[2, 2]),
        ];
        for &(sa, sb) in shapes {
            check(&[sa, sb], |v| add(&v[0], &v[1]))?;
            check(&[sa, sb], |v| sub(&v[0], &v[1]))?;
            check(&[sa, sb], |v| mul(&v[0], &v[1]))?;
            check(&[sa, sb], |v| div(&v[0], add(mul(&v[1], &v[1])?, 1.0)?))?;
            check(&[sa], |v| neg(&v[0]))?;
        }
        Ok(())
    }
}
