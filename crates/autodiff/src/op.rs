//! The [`Op`] trait: how a recorded op turns the gradient of its output into gradients of its
//! inputs. Each op's forward function and its `Op` impl live side by side in one module of
//! [`crate::ops`].

use crate::tape;
use crate::{Result, Tensor};

/// What a backward function sees: the op's inputs and output as recorded, the gradient flowing
/// into the output, and which inputs need a gradient.
pub struct Backward<'a> {
    /// The inputs, as the forward pass saw them.
    pub inputs: &'a [Tensor],
    /// The output of the forward pass.
    pub output: &'a Tensor,
    /// The gradient of the target with respect to `output`.
    pub grad: &'a Tensor,
    /// `needs[i]` is false when no gradient of input `i` is wanted (skip the work).
    pub needs: &'a [bool],
}

/// A differentiable operation as a tape records it.
///
/// `backward` is written with this crate's differentiable ops, so that a tape recording while
/// another tape computes its gradient records the gradient computation too: nested tapes give
/// gradients of gradients. When no tape records, those ops run as plain kernels.
///
/// ```
/// use tapegrad_autodiff::{mul, record, Backward, GradientTape, Op, Result, Tensor};
///
/// /// `2x`, as a custom op.
/// struct Double;
///
/// impl Op for Double {
///     fn name(&self) -> String {
///         "Double".into()
///     }
///     fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
///         out.push(Some(mul(b.grad, 2.0)?));
///         Ok(())
///     }
/// }
///
/// let x = Tensor::from_vec(vec![1.0f32, 3.0], &[2])?;
/// let tape = GradientTape::new();
/// tape.watch(&x);
/// // the forward value, computed with the tape paused (only `Double` is to be recorded)
/// let two_x = {
///     let _paused = tape.stop_recording();
///     (&x * 2.0f32)?
/// };
/// let y = record(Double, &[&x], two_x);
/// assert_eq!(y.to_vec::<f32>()?, vec![2.0, 6.0]);
/// assert_eq!(tape.len(), 1); // Double, and nothing else
/// let g = tape.gradient(&y, &[&x])?;
/// assert_eq!(g[0].as_ref().map(|g| g.to_vec::<f32>()).transpose()?, Some(vec![2.0, 2.0]));
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
pub trait Op: 'static {
    /// The op's name, as the graph dump shows it.
    fn name(&self) -> String;
    /// Pushes onto `out` (empty on entry) the gradient of each input, one per input in order
    /// (`None` where none flows or `b.needs` says none is wanted). The backward pass hands
    /// every op the same buffer: no vector is allocated per op.
    fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()>;

    /// [`backward`](Op::backward) when no tape records the backward pass: the tape calls this
    /// one then, so an op may compute the same values with fewer kernels (one fused kernel, no
    /// tensors for intermediate values). It must give the same bits as `backward`; by default
    /// it is `backward`.
    fn backward_unrecorded(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
        self.backward(b, out)
    }

    /// The local rule that turns the output's gradient `g` into the inputs', as a person
    /// reads it (`"d/dx tanh(x) = 1 - tanh(x)^2"`), for tools that show a tape
    /// ([`crate::GradientTape::explain`]); empty when the op does not say.
    fn rule(&self) -> &'static str {
        ""
    }
}

/// Sums a broadcast gradient back to an input's shape, recording the reduction (the gradient
/// itself when it has the shape already).
#[inline]
pub(crate) fn unbroadcast(grad: Tensor, shape: &[usize]) -> Result<Tensor> {
    if grad.value().has_shape(shape) {
        Ok(grad)
    } else {
        sum_to_shape(&grad, shape)
    }
}

/// `sum_to_shape` inside a backward function: the kernel alone when nothing records it.
#[inline(never)]
fn sum_to_shape(grad: &Tensor, shape: &[usize]) -> Result<Tensor> {
    if tape::any_active() {
        crate::ops::sum_to_shape(grad, shape)
    } else {
        // nothing records it: the kernel alone
        Ok(Tensor::new(grad.value().sum_to_shape(shape)?))
    }
}
