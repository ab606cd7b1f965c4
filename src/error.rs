//! [`Error`]: the one error type of the facade, which every crate's error converts into.

/// Any error of a tapegrad crate, so that a function returning [`Result`] can `?` a tensor op,
/// a layer, an optimizer and a file read alike. It displays the underlying error's one line.
///
/// ```
/// use tapegrad::prelude::*;
///
/// fn step(x: &Tensor, w: &Variable, opt: &mut Sgd) -> tapegrad::Result<f64> {
///     let tape = GradientTape::new();
///     let loss = reduce_mean(square(x * w)?, None, false)?;   // autodiff's error
///     let grads = tape.gradients(&loss, &[w])?;
///     opt.apply_gradients(&grads)?;                          // optim's error
///     let _ = tapegrad::datasets::RandomState::new(0).normal(0.0, 1.0, 2)?; // datasets'
///     Ok(loss.item()?)
/// }
/// let w = Variable::new(1.0);
/// let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?;
/// assert_eq!(step(&x, &w, &mut Sgd::new(0.1))?, 2.5);
/// let err = step(&Tensor::scalar(1.0f64), &w, &mut Sgd::new(0.1)).unwrap_err();
/// assert!(err.to_string().starts_with("mul: "), "{err}");
/// # Ok::<(), tapegrad::Error>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// From `tapegrad-tensor`'s kernels.
    #[error(transparent)]
    Tensor(#[from] crate::tensor::TensorError),
    /// From an op, a variable or a tape.
    #[error(transparent)]
    Autodiff(#[from] crate::autodiff::Error),
    /// From a layer, a loss, a metric or an initializer.
    #[error(transparent)]
    Nn(#[from] crate::nn::Error),
    /// From an optimizer or a schedule.
    #[error(transparent)]
    Optim(#[from] crate::optim::Error),
    /// From a data set, a random generator or a file.
    #[error(transparent)]
    Datasets(#[from] crate::datasets::DatasetsError),
    /// From a traced step ([`crate::function`]): a replay that failed, naming its node.
    #[error("tapegrad::function: {0}")]
    Function(String),
    /// From `compile`, `fit`, `evaluate`, `predict` or a callback (boxed: it holds any
    /// crate's error, and unboxed it would make every `Result` of the facade larger).
    #[error(transparent)]
    Train(Box<crate::train::Error>),
    /// From saving or loading weights.
    #[error(transparent)]
    Saving(#[from] crate::saving::Error),
}

impl From<crate::train::Error> for Error {
    fn from(e: crate::train::Error) -> Self {
        Error::Train(Box::new(e))
    }
}

/// Shorthand for results with the facade's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
