//! # tapegrad
//!
//! TensorFlow's `GradientTape` way of training models, in Rust. This facade re-exports every
//! crate of the workspace and gathers the names the documents use in one [`prelude`]:
//!
//! | crate | what it holds |
//! |---|---|
//! | [`tensor`] (`tapegrad-tensor`) | f32/f64 tensors, numpy broadcasting, kernels |
//! | [`autodiff`] (`tapegrad-autodiff`) | `Variable`, `GradientTape`, differentiable ops |
//! | [`nn`] (`tapegrad-nn`) | `Dense`, activations, initializers, losses, metrics |
//! | [`optim`] (`tapegrad-optim`) | `Sgd`, `Adam`, ... and learning-rate schedules |
//! | [`datasets`] (`tapegrad-datasets`) | numpy-exact `RandomState`, `make_regression`, files |
//! | [`train`] (`tapegrad-train`) | Keras's `compile`, `fit`, `evaluate`, callbacks, progress |
//! | [`saving`] (`tapegrad-saving`) | `save_weights`/`load_weights`: safetensors, `.npz`, Keras 3's files |
//!
//! Document 000's fit, as its Python reads:
//!
//! ```
//! use tapegrad::prelude::*;
//!
//! let x_train = Tensor::arange(0.0, 100.0, 2.0, DType::F32)?;
//! let y_train = ((&x_train * 5.0)? + 3.0)?;
//! let a = Variable::new(0.0);
//! let b = Variable::new(0.0);
//! let mut opt = Sgd::new(0.0001);
//! for _ in 0..15000 {
//!     let tape = GradientTape::new();
//!     let y_test = (&x_train * &a + &b)?;
//!     let loss = abs(&y_train - y_test)?;
//!     let gradients = tape.gradients(&loss, &[&a, &b])?;
//!     opt.apply_gradients(&gradients)?;
//! }
//! assert_eq!(format!("a: {:.4}, b: {:.4}", a.item()?, b.item()?), "a: 4.9825, b: 2.9952");
//! # Ok::<(), tapegrad::Error>(())
//! ```

mod error;

pub use error::{Error, Result};

/// Seeds every generator tapegrad draws from without a seed of its own, as Keras's
/// `keras.utils.set_random_seed`: the numpy-style global generator
/// ([`datasets::np_random`], `np.random.seed`) and the unseeded initializers
/// ([`nn::initializers::set_seed`], `tf.random.set_seed`), on every thread. A model built in a
/// worker thread after it is the same as one built in `main`.
///
/// ```
/// use tapegrad::prelude::*;
/// tapegrad::set_random_seed(42);
/// let mut a = Dense::new(3);
/// a.build(&[1, 2])?;
/// let x = np_random::randn(2)?;
/// tapegrad::set_random_seed(42);
/// let (b, y) = std::thread::spawn(|| -> tapegrad::Result<_> {
///     let mut b = Dense::new(3);
///     b.build(&[1, 2])?;
///     Ok((b, np_random::randn(2)?))
/// })
/// .join()
/// .unwrap()?;
/// assert!(a.get_weights()[0].equals(&b.get_weights()[0]));
/// assert_eq!(x, y);
/// # Ok::<(), tapegrad::Error>(())
/// ```
pub fn set_random_seed(seed: u32) {
    datasets::np_random::seed(seed);
    nn::initializers::set_seed(u64::from(seed));
}
mod function;
pub use function::{
    function, functions_run_eagerly, run_functions_eagerly, Function, StepOptimizer, Verification,
    RETRACE_WARNING_AFTER,
};
pub use tapegrad_autodiff as autodiff;
pub use tapegrad_datasets as datasets;
pub use tapegrad_nn as nn;
pub use tapegrad_optim as optim;
pub use tapegrad_saving as saving;
pub use tapegrad_tensor as tensor;
pub use tapegrad_train as train;

/// The names the documents use, in one import.
pub mod prelude {
    // every differentiable op (a new one in the autodiff crate's table arrives here by itself)
    pub use tapegrad_autodiff::ops::*;
    pub use tapegrad_autodiff::{
        DType, GradientTape, Gradients, IntoTensor, Tensor, UnconnectedGradients, Variable,
    };
    pub use tapegrad_datasets::sklearn::MakeRegression;
    pub use tapegrad_datasets::{np_random, RandomState};
    // The loss objects, not the functions: `mean_squared_error(y, pred)` broadcasts a `(n,)`
    // target against an `(n, 1)` prediction to `n × n` as Keras's does; the objects squeeze
    // first and refuse such a pair. The functions stay in `tapegrad::nn::losses`.
    pub use crate::{Error, Result};
    pub use tapegrad_nn::losses::{Loss, MeanAbsoluteError, MeanSquaredError};
    pub use tapegrad_nn::{
        BatchNormalization, Dense, Dropout, Flatten, GlorotUniform, Layer, LayerNormalization,
        Normalization, Sequential,
    };
    pub use tapegrad_optim::{Adam, Optimizer, OptimizerExt, Sgd};
    // `model.compile(..)` on every layer, and `fit`'s arguments
    pub use tapegrad_train::{CompileExt, FitOptions};
}

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
