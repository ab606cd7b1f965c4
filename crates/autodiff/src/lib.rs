//! # tapegrad-autodiff
//!
//! `tf.GradientTape` in Rust: [`Variable`]s, a [`GradientTape`] that records the ops run on
//! what it watches, and every differentiable op with its backward. Backward functions are
//! written in the same differentiable ops, so nested tapes give higher-order gradients.
//!
//! Document 004's tape loop, in Rust:
//!
//! ```
//! use tapegrad_autodiff::{reduce_mean, square, GradientTape, Tensor};
//! let y_true = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?;
//! let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?;
//! let mut w = Tensor::scalar(2.0f32);
//! let mut weights = vec![w.item()?];
//! for _ in 0..4 {
//!     let t = GradientTape::new();
//!     t.watch(&w);
//!     let loss = reduce_mean(square(&y_true - (&x * &w)?)?, None, false)?;
//!     let gradient = t.gradient(&loss, &[&w])?;
//!     w = (&w - 0.1 * gradient[0].clone().unwrap())?;
//!     weights.push(w.item()?);
//! }
//! assert_eq!(weights, vec![2.0, 1.5, 1.25, 1.125, 1.0625]);
//! # Ok::<(), tapegrad_autodiff::Error>(())
//! ```
#![warn(missing_docs)]

mod error;
pub mod gradcheck;
mod gradients;
mod op;
pub mod ops;
mod tape;
mod tensor;
#[cfg(test)]
mod testing;
mod value_cell;
mod variable;

pub use error::{Error, Result};
pub use gradients::Gradients;
pub use op::{Backward, Op};
pub use ops::*;
pub use tape::record;
pub use tape::{capture_first_gradient, ExplainedOp, Explanation};
pub use tape::{summarize, DotOptions, GraphNode, TapeGraph, ValueKind};
pub use tape::{GradientTape, RecordingPaused, Source, TapeOptions, UnconnectedGradients};
pub use tensor::{IntoOperand, IntoTensor, Operand, Tensor};
pub use variable::Variable;

pub use tapegrad_tensor::{DType, Element};

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
