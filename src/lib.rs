//! tapegrad: TensorFlow's GradientTape way of training models, in Rust.
pub use tapegrad_autodiff as autodiff;
pub use tapegrad_tensor as tensor;
