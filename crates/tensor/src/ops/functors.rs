//! The scalar functions the kernels apply: the [`UnaryFn`] and [`BinaryFn`] traits and one
//! zero-sized functor type per op, each with its function on a vector of lanes ([`Lanes`])
//! where it has one.

use crate::Element;

/// A scalar function applied elementwise, generic over the element type.
pub trait UnaryFn: Copy + Send + Sync + 'static {
    /// The op's name, for errors and graph dumps.
    const NAME: &'static str;
    /// The function.
    fn call<T: Element>(self, x: T) -> T;
    /// The same function on a vector of lanes, built with `e`'s IEEE-754 operations (the
    /// same operations as [`call`](UnaryFn::call), in the same order, so the same bits), or
    /// `None` when it has none (a call into the math library): code generated for a fused
    /// region (`tapegrad::function`) uses it.
    fn lanes(self, e: &mut dyn Lanes, x: Lane) -> Option<Lane> {
        let _ = (e, x);
        None
    }
}

/// A scalar function of two arguments applied with broadcasting.
pub trait BinaryFn: Copy + Send + Sync + 'static {
    /// The op's name, for errors and graph dumps.
    const NAME: &'static str;
    /// The function.
    fn call<T: Element>(self, x: T, y: T) -> T;
    /// The same function on vectors of lanes: see [`UnaryFn::lanes`].
    fn lanes(self, e: &mut dyn Lanes, x: Lane, y: Lane) -> Option<Lane> {
        let _ = (e, x, y);
        None
    }
}

/// A value of a vector of lanes being built by a [`Lanes`] builder (an opaque handle).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lane(pub(crate) u32);

/// Builds a function on vectors of lanes of the element type out of IEEE-754 operations, each
/// applied lane by lane and rounded as the scalar operation is (no fused multiply-add, no
/// reassociation). [`UnaryFn::lanes`] and [`BinaryFn::lanes`] declare an op's vector form
/// with it.
///
/// ```
/// use tapegrad_tensor::ops::{Lane, Lanes};
///
/// /// `x · (y · 2)` written with a builder: the vector form of `MulTwice`.
/// fn mul_twice(e: &mut dyn Lanes, x: Lane, y: Lane) -> Lane {
///     let two = e.constant(2.0);
///     let y2 = e.mul(y, two);
///     e.mul(x, y2)
/// }
/// # let _ = mul_twice;
/// ```
pub trait Lanes {
    /// `v` rounded to the element type, in every lane.
    fn constant(&mut self, v: f64) -> Lane;
    /// `a + b`.
    fn add(&mut self, a: Lane, b: Lane) -> Lane;
    /// `a - b`.
    fn sub(&mut self, a: Lane, b: Lane) -> Lane;
    /// `a * b`.
    fn mul(&mut self, a: Lane, b: Lane) -> Lane;
    /// `a / b`.
    fn div(&mut self, a: Lane, b: Lane) -> Lane;
    /// `-a` (the sign bit flipped, NaN included).
    fn neg(&mut self, a: Lane) -> Lane;
    /// `|a|` (the sign bit cleared, NaN included).
    fn abs(&mut self, a: Lane) -> Lane;
    /// `then` where `a > b`, `otherwise` elsewhere (NaN compares false).
    fn select_gt(&mut self, a: Lane, b: Lane, then: Lane, otherwise: Lane) -> Lane;
    /// `then` where `a < b`, `otherwise` elsewhere (NaN compares false).
    fn select_lt(&mut self, a: Lane, b: Lane, then: Lane, otherwise: Lane) -> Lane;
}

/// [`Sign`]'s vector form.
fn sign_lanes(e: &mut dyn Lanes, x: Lane) -> Lane {
    let (zero, one, minus_one) = (e.constant(0.0), e.constant(1.0), e.constant(-1.0));
    let x0 = e.mul(x, zero);
    let below = e.select_lt(x, zero, minus_one, x0);
    e.select_gt(x, zero, one, below)
}

/// [`PositiveMask`]'s vector form.
fn positive_mask_lanes(e: &mut dyn Lanes, x: Lane) -> Lane {
    let (zero, one) = (e.constant(0.0), e.constant(1.0));
    e.select_gt(x, zero, one, zero)
}

macro_rules! unary_fns {
    ($($(#[$doc:meta])* $ty:ident = $name:literal, |$x:ident| $body:expr
        $(, lanes |$e:ident, $lx:ident| $lanes:expr)?;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $ty;
        impl UnaryFn for $ty {
            const NAME: &'static str = $name;
            #[inline(always)]
            fn call<T: Element>(self, $x: T) -> T {
                $body
            }
            $(
            fn lanes(self, $e: &mut dyn Lanes, $lx: Lane) -> Option<Lane> {
                Some($lanes)
            }
            )?
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
    Neg = "neg", |x| -x, lanes |e, x| e.neg(x);
    /// `x * x`.
    Square = "square", |x| x * x, lanes |e, x| e.mul(x, x);
    /// `sqrt(x)`.
    Sqrt = "sqrt", |x| x.sqrt();
    /// `e^x`.
    Exp = "exp", |x| x.exp();
    /// Natural logarithm.
    Log = "log", |x| x.ln();
    /// `|x|`.
    Abs = "abs", |x| x.abs(), lanes |e, x| e.abs(x);
    /// `-1`, `0` or `1` (`0` at `0`, NaN at NaN), as `tf.sign`.
    Sign = "sign", |x| if x > T::zero() { T::one() } else if x < T::zero() { -T::one() } else { x * T::zero() },
        lanes |e, x| sign_lanes(e, x);
    /// `max(x, 0)`.
    Relu = "relu", |x| if x > T::zero() { x } else { T::zero() },
        lanes |e, x| { let zero = e.constant(0.0); e.select_gt(x, zero, x, zero) };
    /// `1 / (1 + e^-x)`.
    Sigmoid = "sigmoid", |x| T::one() / (T::one() + (-x).exp());
    /// Hyperbolic tangent.
    Tanh = "tanh", |x| x.tanh();
    /// `1 / x`.
    Reciprocal = "reciprocal", |x| T::one() / x,
        lanes |e, x| { let one = e.constant(1.0); e.div(one, x) };
    /// `1` where `x > 0`, else `0` (the derivative mask of `relu`).
    PositiveMask = "positive_mask", |x| if x > T::zero() { T::one() } else { T::zero() },
        lanes |e, x| positive_mask_lanes(e, x);
    /// `ln(1 + e^x)`, computed stably.
    Softplus = "softplus", |x| if x > c(20.0) { x } else if x < c(-20.0) { x.exp() } else { x.exp().ln_1p() };
}

macro_rules! binary_fns {
    ($($(#[$doc:meta])* $ty:ident = $name:literal, |$x:ident, $y:ident| $body:expr
        $(, lanes |$e:ident, $lx:ident, $ly:ident| $lanes:expr)?;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $ty;
        impl BinaryFn for $ty {
            const NAME: &'static str = $name;
            #[inline(always)]
            fn call<T: Element>(self, $x: T, $y: T) -> T {
                $body
            }
            $(
            fn lanes(self, $e: &mut dyn Lanes, $lx: Lane, $ly: Lane) -> Option<Lane> {
                Some($lanes)
            }
            )?
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
    Add = "add", |x, y| x + y, lanes |e, x, y| e.add(x, y);
    /// `x - y`.
    Sub = "sub", |x, y| x - y, lanes |e, x, y| e.sub(x, y);
    /// `x * y`.
    Mul = "mul", |x, y| x * y, lanes |e, x, y| e.mul(x, y);
    /// `x / y`.
    Div = "div", |x, y| x / y, lanes |e, x, y| e.div(x, y);
    /// `x ^ y` ([`pow`]).
    Pow = "pow", |x, y| pow(x, y);
    /// The larger (NaN propagates, as in TensorFlow).
    Maximum = "maximum", |x, y| if x.is_nan() || y.is_nan() { T::nan() } else if x >= y { x } else { y };
    /// The smaller (NaN propagates).
    Minimum = "minimum", |x, y| if x.is_nan() || y.is_nan() { T::nan() } else if x <= y { x } else { y };
    /// `1` where `x > y`.
    Greater = "greater", |x, y| if x > y { T::one() } else { T::zero() },
        lanes |e, x, y| { let (zero, one) = (e.constant(0.0), e.constant(1.0)); e.select_gt(x, y, one, zero) };
    /// `1` where `x >= y`.
    GreaterEqual = "greater_equal", |x, y| if x >= y { T::one() } else { T::zero() };
    /// `1` where `x < y`.
    Less = "less", |x, y| if x < y { T::one() } else { T::zero() },
        lanes |e, x, y| { let (zero, one) = (e.constant(0.0), e.constant(1.0)); e.select_lt(x, y, one, zero) };
    /// `1` where `x <= y`.
    LessEqual = "less_equal", |x, y| if x <= y { T::one() } else { T::zero() };
    /// `1` where `x == y`.
    Equal = "equal", |x, y| if x == y { T::one() } else { T::zero() };
    /// `x * sign(y)`: the backward of `abs` in one pass (bitwise the same as the two steps).
    MulSign = "mul_sign", |x, y| x * Sign.call(y),
        lanes |e, x, y| { let s = sign_lanes(e, y); e.mul(x, s) };
    /// `x * (y * 2)`: the backward of `square` in one pass (bitwise the same as the two steps).
    MulTwice = "mul_twice", |x, y| x * (y * c(2.0)),
        lanes |e, x, y| { let two = e.constant(2.0); let y2 = e.mul(y, two); e.mul(x, y2) };
    /// `x * positive_mask(y)`: the backward of `relu` in one pass (bitwise the same as the two
    /// steps, including `-0` and NaN where `x` is negative or not finite).
    MulPositiveMask = "mul_positive_mask", |x, y| x * PositiveMask.call(y),
        lanes |e, x, y| { let m = positive_mask_lanes(e, y); e.mul(x, m) };
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
