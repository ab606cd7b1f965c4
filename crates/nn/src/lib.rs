//! # tapegrad-nn
//!
//! Keras's building blocks over `tapegrad-autodiff`: the [`Layer`] trait (also [`Model`]),
//! with its `training` flag ([`Layer::call_training`]); the layers [`Dense`], [`Dropout`],
//! [`Flatten`], [`LayerNormalization`], [`BatchNormalization`] and [`Normalization`];
//! [`Sequential`] with `summary()`; [`Activation`]s, [`initializers`], [`losses`] and
//! [`metrics`], each matched to tf-keras 2.x's definitions.
//!
//! Document 004's `CustomDense` step, with Keras's `Dense`:
//!
//! ```
//! use tapegrad_autodiff::{GradientTape, Tensor};
//! use tapegrad_nn::{initializers::Constant, losses::mean_squared_error, Dense, Layer};
//!
//! let mut custom_dense = Dense::new(1).activation("linear")?.kernel_initializer(Constant(0.5));
//! custom_dense.build(&[3])?;
//! let random_x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[1, 3])?;
//! let random_y = Tensor::from_vec(vec![5.0f32], &[1])?;
//! let t = GradientTape::new();
//! let current_loss = mean_squared_error(&random_y, custom_dense.apply(&random_x)?)?;
//! let gradient = t.gradient(&current_loss, &custom_dense.trainable_variables())?;
//! for (v, g) in custom_dense.trainable_variables().iter().zip(&gradient) {
//!     v.assign_sub_scaled(0.1, g.as_ref().unwrap())?;
//! }
//! assert_eq!(current_loss.to_vec::<f32>()?, vec![4.0]);            // (3 − 5)²
//! assert_eq!(custom_dense.get_weights()[1].to_vec::<f32>()?, vec![0.4]); // 0 − 0.1 · 2 · (3 − 5)
//! # Ok::<(), tapegrad_nn::Error>(())
//! ```
#![warn(missing_docs)]

pub mod activations;
pub mod config;
mod dense;
mod dropout;
mod error;
pub mod initializers;
mod layer;
pub mod losses;
pub mod metrics;
mod normalization;
pub mod ops;
mod sequential;

pub use activations::{Activation, IntoActivation};
pub use config::layer_from_config;
pub use dense::Dense;
pub use dropout::{Dropout, Flatten};
pub use error::{Error, Result};
pub use initializers::{
    Constant, GlorotNormal, GlorotUniform, HeNormal, HeUniform, Initializer, LecunNormal,
    LecunUniform, Ones, RandomNormal, RandomUniform, TruncatedNormal, Zeros,
};
pub use layer::{collect_variables, unique_name, Layer, Layer as Model};
pub use normalization::{BatchNormalization, LayerNormalization, Normalization};
pub use sequential::Sequential;

/// The README's examples, run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
