//! # tapegrad-tensor
//!
//! n-dimensional tensors of `f32` (TensorFlow's default) or `f64` over [`ndarray`], with numpy
//! broadcasting and the numeric kernels tapegrad's ops run on. This crate knows nothing of
//! gradients: `tapegrad-autodiff` builds the tape on top of it.
//!
//! ```
//! use tapegrad_tensor::{DType, Array};
//! let x = Array::arange(0.0, 100.0, 2.0, DType::F32)?;          // np.arange(stop=100, step=2)
//! let y = x.mul(&Array::scalar(5.0f32))?.add(&Array::scalar(3.0f32))?;
//! assert_eq!(y.to_vec::<f32>()?[..3], [3.0, 13.0, 23.0]);
//! // Mixed dtypes are an error, as in TensorFlow:
//! assert!(x.add(&Array::scalar(1.0f64)).is_err());
//! # Ok::<(), tapegrad_tensor::TensorError>(())
//! ```
#![warn(missing_docs)]

mod broadcast;
mod display;
mod dtype;
mod error;
mod fuse;
mod jit;
mod kernels;
pub mod ops;
mod pool;
pub mod random;
mod size;
mod tensor;
pub mod trace;

pub use broadcast::broadcast_shape;
pub use display::format_scalar;
pub use dtype::{DType, Element};
pub use error::{Result, TensorError};
pub use pool::{pooled_bytes, release_pooled};
pub use size::{element_count, reserve_elements};
pub use tensor::Array;

pub use ndarray;

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
