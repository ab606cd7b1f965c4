//! Keras activations (`tf.keras.activations`), by name ([`Activation::get`], `"relu".parse()`)
//! or by value ([`Activation::Relu`]), each also a free differentiable function.
//!
//! ```
//! use tapegrad_autodiff::Tensor;
//! use tapegrad_nn::Activation;
//! let x = Tensor::from_vec(vec![-1.0f32, 0.0, 2.0], &[3])?;
//! assert_eq!(Activation::get("relu")?.apply(&x)?.to_vec::<f32>()?, vec![0.0, 0.0, 2.0]);
//! let err = Activation::get("rleu").unwrap_err().to_string();
//! assert!(err.contains("unknown activation `rleu`") && err.contains("leaky_relu"));
//! # Ok::<(), tapegrad_nn::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use tapegrad_autodiff::{self as ad, IntoOperand, Tensor};

use crate::error::unknown;
use crate::ops::{mask, select};
use crate::{Error, Result};

/// SELU's `alpha` (Klambauer et al.), as TensorFlow defines it.
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
/// SELU's `scale`.
pub const SELU_SCALE: f64 = 1.050_700_987_355_480_5;

/// Declares every activation once: its variant, its Keras name and what it computes. The
/// enum, [`Activation::ALL`], [`Activation::NAMES`] and [`Activation::apply`] come from this
/// one list.
macro_rules! activations {
    ($($(#[$doc:meta])* $variant:ident = $name:literal, |$x:ident| $apply:expr;)*) => {
        /// An activation function, as `tf.keras.activations.get` resolves it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub enum Activation {
            $($(#[$doc])* $variant,)*
        }

        impl Activation {
            /// Every activation, in the order of [`Activation::NAMES`].
            pub const ALL: &'static [Activation] = &[$(Activation::$variant),*];

            /// The names [`Activation::get`] knows.
            pub const NAMES: &'static [&'static str] = &[$($name),*];

            /// Applies the activation (differentiably).
            pub fn apply(self, x: impl IntoOperand) -> Result<Tensor> {
                let x = x.into_operand()?.into_tensor(ad::DType::F32);
                match self {
                    $(Activation::$variant => {
                        let $x = x;
                        $apply
                    })*
                }
            }
        }
    };
}

activations! {
    /// Identity (`"linear"`, also what `None` means in Keras).
    #[default]
    Linear = "linear", |x| Ok(x);
    /// `max(x, 0)`.
    Relu = "relu", |x| Ok(ad::relu(x)?);
    /// `1 / (1 + e⁻ˣ)`.
    Sigmoid = "sigmoid", |x| Ok(ad::sigmoid(x)?);
    /// `tanh(x)`.
    Tanh = "tanh", |x| Ok(ad::tanh(x)?);
    /// Softmax over the last axis (the input must have rank ≥ 2, as in Keras).
    Softmax = "softmax", |x| softmax(&x, -1);
    /// `x` if `x > 0`, else `eˣ − 1` (alpha 1).
    Elu = "elu", |x| elu(&x, 1.0);
    /// `x` if `x > 0`, else `0.2·x` (`tf.nn.leaky_relu`, which `get("leaky_relu")` returns;
    /// Keras's `LeakyReLU` *layer* defaults to 0.3 instead).
    LeakyRelu = "leaky_relu", |x| leaky_relu(&x, 0.2);
    /// `ln(1 + eˣ)`.
    Softplus = "softplus", |x| Ok(ad::softplus(x)?);
    /// `x · sigmoid(x)` (`tf.nn.silu`).
    Swish = "swish", |x| swish(&x);
    /// `scale · elu(x, alpha)` with [`SELU_ALPHA`] and [`SELU_SCALE`].
    Selu = "selu", |x| selu(&x);
    /// `x / (1 + |x|)`.
    Softsign = "softsign", |x| Ok(ad::div(&x, ad::add(ad::abs(&x)?, 1.0)?)?);
    /// `eˣ`.
    Exponential = "exponential", |x| Ok(ad::exp(x)?);
    /// `clip(0.2·x + 0.5, 0, 1)` (tf-keras 2.x's definition).
    HardSigmoid = "hard_sigmoid", |x| Ok(ad::clip_by_value(ad::add(ad::mul(x, 0.2)?, 0.5)?, 0.0, 1.0)?);
}

impl Activation {
    /// `tf.keras.activations.get(name)`; an unknown name is an error listing the known ones.
    /// `"silu"` is accepted for swish, as in Keras.
    pub fn get(name: &str) -> Result<Activation> {
        if name == "silu" {
            return Ok(Activation::Swish);
        }
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .map(|i| Self::ALL[i])
            .ok_or_else(|| unknown("activation", name, Self::NAMES))
    }

    /// The Keras name (`"relu"`, ...).
    pub fn name(self) -> &'static str {
        Self::NAMES[Self::ALL.iter().position(|a| *a == self).unwrap_or(0)]
    }
}

impl FromStr for Activation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Activation::get(s)
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a builder accepts as an activation: an [`Activation`] or its name.
pub trait IntoActivation {
    /// Resolves to an activation (a name may be unknown).
    fn into_activation(self) -> Result<Activation>;
}

impl IntoActivation for Activation {
    fn into_activation(self) -> Result<Activation> {
        Ok(self)
    }
}

impl IntoActivation for &str {
    fn into_activation(self) -> Result<Activation> {
        Activation::get(self)
    }
}

impl IntoActivation for Option<Activation> {
    fn into_activation(self) -> Result<Activation> {
        Ok(self.unwrap_or_default())
    }
}

/// Keras's `softmax(x, axis)`: refuses rank < 2 inputs, as `tf.keras.activations.softmax` does.
///
/// ```
/// use tapegrad_autodiff::Tensor;
/// let x = Tensor::from_vec(vec![1.0f32, 1.0, 1.0, 3.0], &[2, 2])?;
/// let p = tapegrad_nn::activations::softmax(&x, -1)?.to_vec::<f32>()?;
/// assert_eq!(p[0], 0.5);
/// assert!(tapegrad_nn::activations::softmax(&Tensor::from_vec(vec![1.0f32], &[1])?, -1).is_err());
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
pub fn softmax(x: &Tensor, axis: isize) -> Result<Tensor> {
    if x.rank() <= 1 {
        return Err(Error::Invalid {
            what: "softmax",
            message: format!(
                "cannot apply softmax to a tensor that is {}D (shape {:?}); Keras needs rank >= 2",
                x.rank(),
                x.shape()
            ),
        });
    }
    Ok(ad::softmax(x, axis)?)
}

/// `x` where `x > 0`, else `alpha · (eˣ − 1)` (`tf.keras.activations.elu`); the gradient at 0 is
/// `alpha`'s branch, 1 for alpha 1, as TensorFlow's `EluGrad`.
///
/// ```
/// use tapegrad_autodiff::Tensor;
/// let y = tapegrad_nn::activations::elu(&Tensor::from_vec(vec![-1.0f32, 2.0], &[2])?, 1.0)?;
/// assert_eq!(y.to_vec::<f32>()?, vec![(-1.0f32).exp() - 1.0, 2.0]);
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
pub fn elu(x: &Tensor, alpha: f64) -> Result<Tensor> {
    let positive = mask(x, |v| v > 0.0);
    // exp of min(x, 0): the branch not taken must not overflow (its zero gradient times ∞ is NaN).
    let negative = ad::mul(ad::sub(ad::exp(ad::minimum(x, 0.0)?)?, 1.0)?, alpha)?;
    select(&positive, x, negative)
}

/// `x` where `x > 0`, else `alpha · x` (`tf.nn.leaky_relu`; Keras's default through
/// `activations.get("leaky_relu")` is alpha 0.2).
///
/// ```
/// use tapegrad_autodiff::Tensor;
/// let y = tapegrad_nn::activations::leaky_relu(&Tensor::from_vec(vec![-1.0f32, 2.0], &[2])?, 0.2)?;
/// assert_eq!(y.to_vec::<f32>()?, vec![-0.2, 2.0]);
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
pub fn leaky_relu(x: &Tensor, alpha: f64) -> Result<Tensor> {
    let positive = mask(x, |v| v > 0.0);
    select(&positive, x, ad::mul(x, alpha)?)
}

/// `x · sigmoid(x)` (`tf.keras.activations.swish`).
///
/// ```
/// use tapegrad_autodiff::Tensor;
/// let y = tapegrad_nn::activations::swish(&Tensor::scalar(0.0f32))?;
/// assert_eq!(y.item()?, 0.0);
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
pub fn swish(x: &Tensor) -> Result<Tensor> {
    Ok(ad::mul(x, ad::sigmoid(x)?)?)
}

/// `scale · x` where `x ≥ 0`, else `scale · alpha · (eˣ − 1)`, with the SELU constants
/// (`tf.keras.activations.selu`); the gradient at 0 is `scale`, as TensorFlow's `SeluGrad`.
///
/// ```
/// use tapegrad_autodiff::Tensor;
/// let y = tapegrad_nn::activations::selu(&Tensor::from_vec(vec![1.0f32], &[1])?)?;
/// assert_eq!(y.to_vec::<f32>()?, vec![1.050_701]);
/// # Ok::<(), tapegrad_nn::Error>(())
/// ```
pub fn selu(x: &Tensor) -> Result<Tensor> {
    let non_negative = mask(x, |v| v >= 0.0);
    let negative = ad::mul(
        ad::sub(ad::exp(ad::minimum(x, 0.0)?)?, 1.0)?,
        SELU_SCALE * SELU_ALPHA,
    )?;
    select(&non_negative, ad::mul(x, SELU_SCALE)?, negative)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tapegrad_autodiff::GradientTape;

    fn grad(a: Activation, xs: &[f32]) -> Result<(Vec<f32>, Vec<f32>)> {
        let x = Tensor::from_vec(xs.to_vec(), &[xs.len()])?;
        let tape = GradientTape::new();
        tape.watch(&x);
        let y = a.apply(&x)?;
        let s = ad::reduce_sum(&y, None, false)?;
        let g = tape.gradient(&s, &[&x])?[0].clone().unwrap();
        Ok((y.to_vec()?, g.to_vec()?))
    }

    #[test]
    fn names_round_trip_and_unknown_names_list_the_known() {
        for &a in Activation::ALL {
            assert_eq!(Activation::get(a.name()).unwrap(), a);
            assert_eq!(a.to_string().parse::<Activation>().unwrap(), a);
        }
        assert_eq!(Activation::get("silu").unwrap(), Activation::Swish);
        match Activation::get("Relu") {
            Err(Error::UnknownName { kind, name, known }) => {
                assert_eq!((kind, name.as_str()), ("activation", "Relu"));
                assert_eq!(known.len(), 13);
            }
            other => panic!("expected UnknownName, got {other:?}"),
        }
    }

    #[test]
    fn piecewise_activations_take_tensorflows_branch_at_zero() -> Result<()> {
        let (y, g) = grad(Activation::Elu, &[-1.0, 0.0, 1000.0])?;
        assert_eq!(y, vec![(-1.0f32).exp() - 1.0, 0.0, 1000.0]);
        assert_eq!(g, vec![(-1.0f32).exp(), 1.0, 1.0]);
        let (y, g) = grad(Activation::LeakyRelu, &[-2.0, 0.0, 3.0])?;
        assert_eq!(y, vec![-0.4, 0.0, 3.0]);
        assert_eq!(g, vec![0.2, 0.2, 1.0]);
        let (y, g) = grad(Activation::HardSigmoid, &[-3.0, 1.0, 3.0])?;
        assert_eq!(y, vec![0.0, 0.7, 1.0]);
        assert_eq!(g, vec![0.0, 0.2, 0.0]);
        let (y, g) = grad(Activation::Softsign, &[-3.0, 1.0])?;
        assert_eq!(y, vec![-0.75, 0.5]);
        assert_eq!(g, vec![1.0 / 16.0, 0.25]);
        Ok(())
    }

    #[test]
    fn swish_gradient_is_sigmoid_times_one_plus_x_times_one_minus_sigmoid() -> Result<()> {
        let (y, g) = grad(Activation::Swish, &[1.5])?;
        let s = 1.0 / (1.0 + (-1.5f64).exp());
        assert!((f64::from(y[0]) - 1.5 * s).abs() < 1e-6);
        assert!((f64::from(g[0]) - s * (1.0 + 1.5 * (1.0 - s))).abs() < 1e-6);
        Ok(())
    }
}
