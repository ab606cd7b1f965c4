//! A training step run eagerly or traced (`tapegrad run --traced`): one closure, two ways of
//! calling it.
//!
//! Each experiment writes its step once, as the closure [`tapegrad::function`] takes (the
//! optimizer and the step's inputs in, the loss out), and calls it through a [`Step`]: eagerly
//! (the closure itself, at every call) or traced (the closure traced at its first call and the
//! trace replayed after it). The loop around it is the same either way, so the two runs cannot
//! drift apart: what differs is only who runs the kernels. Whatever changes from one step to
//! the next (a sampled row, a weight held as a tensor) is an input of the step, never a value
//! the closure makes from Rust state, which a trace would keep as a constant; and every value
//! the loop prints is read from what the step returns (or a variable it assigned), after the
//! call, never inside it.
//!
//! ```
//! use tapegrad::prelude::*;
//! use tapegrad_runner::step::{no_gradient, Step};
//!
//! let w = Variable::new(0.0f32);
//! let mut losses = Vec::new();
//! for traced in [false, true] {
//!     w.assign(0.0)?;
//!     let mut step = Step::new(traced, |_: &mut (), x: &[Tensor]| {
//!         let tape = GradientTape::new();
//!         let loss = reduce_mean(square(((&x[0] * &w)? - 1.0)?)?, None, false)?;
//!         let g = tape.gradients(&loss, &[&w])?;
//!         w.assign_sub((g.get(&w).ok_or_else(|| no_gradient("w"))? * 0.1)?)?;
//!         Ok(loss)
//!     });
//!     let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?;
//!     let mut seen = Vec::new();
//!     for _ in 0..10 {
//!         seen.push(step.call(&mut (), &[x.clone()])?.item()?.to_bits());
//!     }
//!     assert_eq!(step.traces(), usize::from(traced)); // traced once, replayed nine times
//!     losses.push((seen, w.item()?.to_bits()));
//! }
//! assert_eq!(losses[0], losses[1]); // the same bits either way
//! # Ok::<(), anyhow::Error>(())
//! ```

use tapegrad::{Function, StepOptimizer};
use tapegrad_autodiff::{Tensor, Variable};

use crate::experiment::RunOutput;

/// A step's closure: what [`tapegrad::function`] takes.
pub trait StepFn<O: ?Sized>: FnMut(&mut O, &[Tensor]) -> tapegrad::Result<Tensor> {}

impl<O: ?Sized, F: FnMut(&mut O, &[Tensor]) -> tapegrad::Result<Tensor>> StepFn<O> for F {}

/// One training step, called eagerly or through [`tapegrad::function`].
pub enum Step<F, O: ?Sized> {
    /// The closure, run at every call.
    Eager(F),
    /// The closure traced once per input signature and replayed.
    Traced(Function<F, O>),
}

impl<F, O> Step<F, O>
where
    O: StepOptimizer + ?Sized,
    F: StepFn<O>,
{
    /// The step `f`, traced when `traced`.
    pub fn new(traced: bool, f: F) -> Self {
        if traced {
            Step::Traced(tapegrad::function(f))
        } else {
            Step::Eager(f)
        }
    }

    /// Runs the step on `inputs` with `optimizer` (`()` for a step that assigns its variables
    /// itself); returns what the closure returns.
    pub fn call(&mut self, optimizer: &mut O, inputs: &[Tensor]) -> anyhow::Result<Tensor> {
        Ok(match self {
            Step::Eager(f) => f(optimizer, inputs)?,
            Step::Traced(f) => f.call(optimizer, inputs)?,
        })
    }

    /// How many traces were made (0 for an eager step).
    pub fn traces(&self) -> usize {
        match self {
            Step::Eager(_) => 0,
            Step::Traced(f) => f.traces(),
        }
    }

    /// Whether the step replays a trace (false when eager, or when the function fell back to
    /// running the closure eagerly).
    pub fn is_traced(&self) -> bool {
        match self {
            Step::Eager(_) => false,
            Step::Traced(f) => !f.is_eager(),
        }
    }

    /// Writes how the step ran into `out`: `traced`, `traces`, and the function's notes (a
    /// fallback to eager and why, a retracing warning).
    pub fn report(&self, out: &mut RunOutput) {
        out.traced = self.is_traced();
        out.traces = self.traces();
        if let Step::Traced(f) = self {
            out.notes.extend(f.notes().iter().cloned());
        }
    }
}

/// The error of a step whose tape gave no gradient for the variable `name`.
pub fn no_gradient(name: &str) -> tapegrad::Error {
    tapegrad::Error::Autodiff(tapegrad_autodiff::Error::Variable {
        name: name.to_string(),
        message: "the tape gave no gradient for it (it took no part in the loss)".into(),
    })
}

/// `variable.assign_sub(learning_rate * gradient)` for each variable and its gradient, inside
/// a step.
pub fn assign_sub_all(
    variables: &[Variable],
    gradients: &[Option<Tensor>],
    learning_rate: f64,
) -> tapegrad::Result<()> {
    for (v, g) in variables.iter().zip(gradients) {
        let g = g.as_ref().ok_or_else(|| no_gradient(v.name()))?;
        v.assign_sub(learning_rate * g)?;
    }
    Ok(())
}

/// What `--traced` notes for an experiment whose loop does its arithmetic on ndarray arrays
/// (numpy's), not with tapegrad's ops: there is no step to trace, and it runs as it does
/// eagerly.
pub fn not_traceable(out: &mut RunOutput, traced: bool, why: &str) {
    out.traced = false;
    out.traces = 0;
    if traced {
        out.notes.push(format!("not traced: {why}"));
    }
}
