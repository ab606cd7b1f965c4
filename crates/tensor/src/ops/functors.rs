//! The scalar functions the kernels apply: the [`UnaryFn`] and [`BinaryFn`] traits and one
//! zero-sized functor type per op.

use crate::Element;

/// A scalar function applied elementwise, generic over the element type.
pub trait UnaryFn: Copy + Send + Sync + 'static {
    /// The op's name, for errors and graph dumps.
    const NAME: &'static str;
    /// The function.
    fn call<T: Element>(self, x: T) -> T;
}

/// A scalar function of two arguments applied with broadcasting.
pub trait BinaryFn: Copy + Send + Sync + 'static {
    /// The op's name, for errors and graph dumps.
    const NAME: &'static str;
    /// The function.
    fn call<T: Element>(self, x: T, y: T) -> T;
}

macro_rules! unary_fns {
    ($($(#[$doc:meta])* $ty:ident = $name:literal, |$x:ident| $body:expr;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $ty;
        impl UnaryFn for $ty {
            const NAME: &'static str = $name;
            #[inline(always)]
            fn call<T: Element>(self, $x: T) -> T {
                $body
            }
        }
    )*};
}

/// `T` from an `f64` constant.
#[inline(always)]
fn c<T: Element>(v: f64) -> T {
    T::from_f64(v)
}

unary_fns! {
    /// `-x`.
    Neg = "neg", |x| -x;
    /// `x * x`.
    Square = "square", |x| x * x;
    /// `sqrt(x)`.
    Sqrt = "sqrt", |x| x.sqrt();
    /// `e^x`.
    Exp = "exp", |x| x.exp();
    /// Natural logarithm.
    Log = "log", |x| x.ln();
    /// `|x|`.
    Abs = "abs", |x| x.abs();
    /// `-1`, `0` or `1` (`0` at `0`, NaN at NaN), as `tf.sign`.
    Sign = "sign", |x| if x > T::zero() { T::one() } else if x < T::zero() { -T::one() } else { x * T::zero() };
    /// `max(x, 0)`.
    Relu = "relu", |x| if x > T::zero() { x } else { T::zero() };
    /// `1 / (1 + e^-x)`.
    Sigmoid = "sigmoid", |x| T::one() / (T::one() + (-x).exp());
    /// Hyperbolic tangent.
    Tanh = "tanh", |x| x.tanh();
    /// `1 / x`.
    Reciprocal = "reciprocal", |x| T::one() / x;
    /// `1` where `x > 0`, else `0` (the derivative mask of `relu`).
    PositiveMask = "positive_mask", |x| if x > T::zero() { T::one() } else { T::zero() };
    /// `ln(1 + e^x)`, computed stably.
    Softplus = "softplus", |x| if x > c(20.0) { x } else if x < c(-20.0) { x.exp() } else { x.exp().ln_1p() };
}

macro_rules! binary_fns {
    ($($(#[$doc:meta])* $ty:ident = $name:literal, |$x:ident, $y:ident| $body:expr;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $ty;
        impl BinaryFn for $ty {
            const NAME: &'static str = $name;
            #[inline(always)]
            fn call<T: Element>(self, $x: T, $y: T) -> T {
                $body
            }
        }
    )*};
}

/// `x ^ y` as the platform's `powf`/`pow` computes it, with one shortcut: `x¹` is `x` (for
/// every non-NaN `x`), which skips the library call of a square's gradient `2·x¹`. That is
/// what glibc's `powf` returns for each of the 2³² `f32` values (checked exhaustively on the
/// machine of docs/PERFORMANCE.md; the tests check a sample on every run), and what any `pow`
/// with an error below one ulp must return. (`x²` has no such shortcut: glibc's `powf(x, 2)`
/// differs from the correctly rounded `x · x` on 6 061 values per binade, checked the same
/// way.)
///
/// ```
/// use tapegrad_tensor::ops::pow;
/// assert_eq!(pow(1.5f32, 1.0), 1.5);
/// assert_eq!(pow(2.0f64, 10.0), 1024.0);
/// ```
#[inline(always)]
pub fn pow<T: Element>(x: T, y: T) -> T {
    if y == T::one() && !x.is_nan() {
        x
    } else {
        x.powf(y)
    }
}

binary_fns! {
    /// `x + y`.
    Add = "add", |x, y| x + y;
    /// `x - y`.
    Sub = "sub", |x, y| x - y;
    /// `x * y`.
    Mul = "mul", |x, y| x * y;
    /// `x / y`.
    Div = "div", |x, y| x / y;
    /// `x ^ y` ([`pow`]).
    Pow = "pow", |x, y| pow(x, y);
    /// The larger (NaN propagates, as in TensorFlow).
    Maximum = "maximum", |x, y| if x.is_nan() || y.is_nan() { T::nan() } else if x >= y { x } else { y };
    /// The smaller (NaN propagates).
    Minimum = "minimum", |x, y| if x.is_nan() || y.is_nan() { T::nan() } else if x <= y { x } else { y };
    /// `1` where `x > y`.
    Greater = "greater", |x, y| if x > y { T::one() } else { T::zero() };
    /// `1` where `x >= y`.
    GreaterEqual = "greater_equal", |x, y| if x >= y { T::one() } else { T::zero() };
    /// `1` where `x < y`.
    Less = "less", |x, y| if x < y { T::one() } else { T::zero() };
    /// `1` where `x <= y`.
    LessEqual = "less_equal", |x, y| if x <= y { T::one() } else { T::zero() };
    /// `1` where `x == y`.
    Equal = "equal", |x, y| if x == y { T::one() } else { T::zero() };
    /// `x * sign(y)`: the backward of `abs` in one pass (bitwise the same as the two steps).
    MulSign = "mul_sign", |x, y| x * Sign.call(y);
    /// `x * (y * 2)`: the backward of `square` in one pass (bitwise the same as the two steps).
    MulTwice = "mul_twice", |x, y| x * (y * c(2.0));
    /// `x * positive_mask(y)`: the backward of `relu` in one pass (bitwise the same as the two
    /// steps, including `-0` and NaN where `x` is negative or not finite).
    MulPositiveMask = "mul_positive_mask", |x, y| x * PositiveMask.call(y);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pow_with_exponent_one_is_what_powf_returns() {
        // a sample of every binade, signs, zeros, subnormals and infinities (the whole range
        // was checked once, see `pow`)
        let mut checked = 0;
        for bits in (0..=u32::MAX)
            .step_by(4_099)
            .chain([0, 1, 0x8000_0000, 0x7f80_0000])
        {
            let x = f32::from_bits(bits);
            if !x.is_nan() {
                assert_eq!(pow(x, 1.0).to_bits(), x.powf(1.0).to_bits(), "{x:e}");
                checked += 1;
            }
        }
        assert!(checked > 1_000_000);
        for x in [0.1f64, -3.5, 1e-310, -0.0, f64::INFINITY, 1e300] {
            assert_eq!(pow(x, 1.0).to_bits(), x.powf(1.0).to_bits(), "{x:e}");
        }
        assert!(pow(f32::NAN, 1.0).is_nan());
        assert_eq!(pow(3.0f32, 2.0), 9.0);
    }
}
