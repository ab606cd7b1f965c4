//! [`function`]: a training step traced once and replayed (TensorFlow's `tf.function`).
//!
//! The step is written as an eager one — a tape, the loss, its gradients, the optimizer's
//! update — as a closure of the optimizer and the step's inputs. The first call with inputs of
//! a given shape and dtype runs it eagerly while tracing every kernel it runs (forward,
//! backward, the variables' reads and assignments, and the optimizer's `apply_gradients` as
//! one node); later calls with such inputs replay the trace: the same kernels on the new
//! inputs, without the closure, the tape, the records or the tensors' bookkeeping. Runs of
//! elementwise kernels over one shape, with the full sums and means that end them, are fused:
//! one loop over blocks of the elements, no intermediate tensor built (`Trace::steps` lists
//! them). The replay gives the same bits as the eager step, because it runs the same scalar
//! functions on the same operands, and sums in the eager kernels' order (eight lanes, their
//! fixed fold, the tail): [`Function::verify`] runs both side by side and names the first value
//! that differs.
//!
//! As with `tf.function`, what the closure does in Rust happens at trace time only: a
//! `println!` prints once, and a Rust value the closure computes from its own state (a
//! counter, a schedule it evaluates itself) is a constant of the trace. Reading a traced value
//! into Rust (`loss.item()?` inside the step, a comparison that branches) cannot be replayed:
//! the function then runs the step eagerly from then on and says why in
//! [`Function::notes`]. [`run_functions_eagerly`] turns tracing off everywhere.
//!
//! ```
//! use tapegrad::prelude::*;
//!
//! let w = Variable::new(0.0f32);
//! let b = Variable::new(0.0f32);
//! let mut opt = Sgd::new(0.1);
//! let mut step = tapegrad::function(|opt: &mut Sgd, xy: &[Tensor]| {
//!     let tape = GradientTape::new();
//!     let loss = reduce_mean(square(&xy[0] * &w + &b - &xy[1])?, None, false)?;
//!     let grads = tape.gradients(&loss, &[&w, &b])?;
//!     opt.apply_gradients(&grads)?;
//!     Ok(loss)
//! });
//! let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3])?;
//! let y = Tensor::from_vec(vec![3.0f32, 5.0, 7.0], &[3])?;
//! for _ in 0..50 {
//!     step.call(&mut opt, &[x.clone(), y.clone()])?;
//! }
//! assert_eq!(step.traces(), 1);       // traced once, replayed 49 times
//! assert_eq!(opt.iterations(), 50);
//! assert!((w.item()? - 2.0).abs() < 0.2);
//! # Ok::<(), tapegrad::Error>(())
//! ```

use std::marker::PhantomData;

use smallvec::SmallVec;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::autodiff::{DType, Tensor};
use crate::optim::{Optimizer, TracedApply};
use crate::tensor::trace::{BoxError, ReplayError, Trace};
use crate::tensor::Array;
use crate::{Error, Result};

static EAGERLY: AtomicBool = AtomicBool::new(false);

/// Runs every [`Function`] eagerly (its closure at each call, no trace) while `eagerly` is
/// true, as `tf.config.run_functions_eagerly(True)`; for debugging a step.
///
/// ```
/// tapegrad::run_functions_eagerly(true);
/// assert!(tapegrad::functions_run_eagerly());
/// tapegrad::run_functions_eagerly(false);
/// ```
pub fn run_functions_eagerly(eagerly: bool) {
    EAGERLY.store(eagerly, Ordering::Relaxed);
}

/// Whether [`run_functions_eagerly`] is on.
pub fn functions_run_eagerly() -> bool {
    EAGERLY.load(Ordering::Relaxed)
}

/// After this many traces of one function, each new one prints TensorFlow's retracing
/// warning.
pub const RETRACE_WARNING_AFTER: usize = 5;

/// What a step's closure may be given as its optimizer: every optimizer of
/// [`tapegrad::optim`](crate::optim), `dyn Optimizer`, a boxed one, or `()` for a step that
/// updates its variables itself.
pub trait StepOptimizer {
    /// The optimizer, if there is one.
    fn optimizer(&mut self) -> Option<&mut dyn Optimizer>;
}

impl StepOptimizer for () {
    fn optimizer(&mut self) -> Option<&mut dyn Optimizer> {
        None
    }
}

impl StepOptimizer for dyn Optimizer {
    fn optimizer(&mut self) -> Option<&mut dyn Optimizer> {
        Some(self)
    }
}

impl StepOptimizer for Box<dyn Optimizer> {
    fn optimizer(&mut self) -> Option<&mut dyn Optimizer> {
        Some(&mut **self)
    }
}

macro_rules! step_optimizers {
    ($($ty:ident),*) => {
        $(impl StepOptimizer for crate::optim::$ty {
            fn optimizer(&mut self) -> Option<&mut dyn Optimizer> {
                Some(self)
            }
        })*
    };
}
step_optimizers!(Sgd, Adam, AdamW, Adamax, Adagrad, Adadelta, Nadam, RMSprop);

/// What tells traces apart: each input's dtype and shape, and which inputs share a buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Signature {
    inputs: Vec<(DType, Vec<usize>)>,
    aliases: Vec<usize>,
}

impl Signature {
    fn of(args: &[Tensor]) -> Self {
        let inputs = args
            .iter()
            .map(|t| (t.dtype(), t.shape().to_vec()))
            .collect();
        let aliases = args
            .iter()
            .enumerate()
            .map(|(i, t)| {
                args[..i]
                    .iter()
                    .position(|u| u.value().shares_buffer(t.value()))
                    .unwrap_or(i)
            })
            .collect();
        Signature { inputs, aliases }
    }

    /// Whether `args` have this signature ([`Signature::of`] them would be equal), without
    /// building one: the check of every replay.
    fn matches(&self, args: &[Tensor]) -> bool {
        self.inputs.len() == args.len()
            && self.aliases.len() == args.len()
            && self
                .inputs
                .iter()
                .zip(args)
                .all(|((dtype, shape), t)| *dtype == t.dtype() && shape.as_slice() == t.shape())
            && args.iter().enumerate().all(|(i, t)| {
                let first = args[..i]
                    .iter()
                    .position(|u| u.value().shares_buffer(t.value()))
                    .unwrap_or(i);
                self.aliases[i] == first
            })
    }
}

/// The result of [`Function::verify`]'s calls so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Verification {
    /// Calls run both ways and compared.
    pub calls: usize,
    /// The first difference found: the call, the node (position and name) and the values.
    pub first_difference: Option<String>,
}

/// A step traced once per input signature and replayed: made by [`function`].
pub struct Function<F, O: ?Sized> {
    step: F,
    traces: Vec<(Signature, Trace)>,
    traced: usize,
    eager_only: bool,
    notes: Vec<String>,
    verify_left: usize,
    verification: Verification,
    _optimizer: PhantomData<fn(&mut O)>,
}

/// Traces `step` at its first call with inputs of a new signature (dtypes, shapes) and
/// replays the trace at the next calls (`tf.function`). See the [module](self) for what is
/// traced and what is not.
pub fn function<F, O>(step: F) -> Function<F, O>
where
    O: StepOptimizer + ?Sized,
    F: FnMut(&mut O, &[Tensor]) -> Result<Tensor>,
{
    Function {
        step,
        traces: Vec::new(),
        traced: 0,
        eager_only: false,
        notes: Vec::new(),
        verify_left: 0,
        verification: Verification::default(),
        _optimizer: PhantomData,
    }
}

impl<F, O> Function<F, O>
where
    O: StepOptimizer + ?Sized,
    F: FnMut(&mut O, &[Tensor]) -> Result<Tensor>,
{
    /// Runs the step on `inputs` with `optimizer`: the trace of their signature replayed, or
    /// the closure run eagerly and traced when there is none yet. Returns what the closure
    /// returns (the loss).
    pub fn call(&mut self, optimizer: &mut O, inputs: &[Tensor]) -> Result<Tensor> {
        if self.eager_only || functions_run_eagerly() {
            return (self.step)(optimizer, inputs);
        }
        match self.traces.iter().position(|(s, _)| s.matches(inputs)) {
            Some(i) => self.replay(i, optimizer, inputs),
            None => self.trace(Signature::of(inputs), optimizer, inputs),
        }
    }

    /// How many traces have been made (one per input signature met; more mean retracing).
    pub fn traces(&self) -> usize {
        self.traced
    }

    /// What the function has said: retracing warnings, and why it runs eagerly if it does.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Whether the step runs eagerly at every call (a trace of it could not be replayed).
    pub fn is_eager(&self) -> bool {
        self.eager_only
    }

    /// The trace of the inputs' signature, if there is one (its nodes' names, its size).
    pub fn trace_of(&self, inputs: &[Tensor]) -> Option<&Trace> {
        let signature = Signature::of(inputs);
        self.traces
            .iter()
            .find(|(s, _)| *s == signature)
            .map(|(_, t)| t)
    }

    fn trace(
        &mut self,
        signature: Signature,
        optimizer: &mut O,
        inputs: &[Tensor],
    ) -> Result<Tensor> {
        self.traced += 1;
        if self.traced > RETRACE_WARNING_AFTER {
            let note = format!(
                "the step has been traced {} times (inputs {:?}): tracing is expensive, and \
                 each new shape or dtype traces again; give the step inputs of one signature",
                self.traced, signature.inputs
            );
            eprintln!("warning: {note}");
            self.notes.push(note);
        }
        let arrays: Vec<&Array> = inputs.iter().map(|t| t.value()).collect();
        let tracing = Trace::begin(&arrays);
        let out = (self.step)(optimizer, inputs)?;
        let trace = tracing.finish(out.value())?;
        // the optimizer that applied gradients must be the one given (its address now, while
        // both are where the trace saw them; a replay applies the one it is given)
        let outer = &*optimizer as *const O as *const () as usize;
        let inner = optimizer
            .optimizer()
            .map(|o| &*o as *const dyn Optimizer as *const () as usize);
        let foreign = trace.host_payloads().any(|p| {
            p.downcast_ref::<TracedApply>()
                .is_none_or(|a| a.optimizer != outer && Some(a.optimizer) != inner)
        });
        if foreign {
            self.eager_only = true;
            self.notes.push(
                "the step runs eagerly from now on: it applied gradients with an optimizer                  other than the one given to the function's call (give the step the optimizer                  it uses)"
                    .into(),
            );
            return Ok(out);
        }
        if let Some(why) = trace.untraceable() {
            self.eager_only = true;
            self.notes.push(format!(
                "the step runs eagerly from now on: {why} (see tapegrad::function's docs)"
            ));
            return Ok(out);
        }
        self.traces.push((signature, trace));
        Ok(out)
    }

    fn replay(&mut self, i: usize, optimizer: &mut O, inputs: &[Tensor]) -> Result<Tensor> {
        let trace = &self.traces[i].1;
        let arrays: SmallVec<[&Array; 8]> = inputs.iter().map(|t| t.value()).collect();
        let out = replay(trace, optimizer, &arrays)?;
        Ok(Tensor::new(out))
    }
}

impl<F, O> Function<F, O>
where
    O: StepOptimizer + Clone,
    F: FnMut(&mut O, &[Tensor]) -> Result<Tensor>,
{
    /// Makes each of the next `calls` replays run eagerly too, from the same state (the
    /// variables and the optimizer saved, restored between), and compare every value bit for
    /// bit, node by node; [`verification`](Function::verification) has the first difference.
    /// The replay's result is the one kept. Call the function with
    /// [`call_verified`](Function::call_verified) meanwhile.
    ///
    /// ```
    /// use tapegrad::prelude::*;
    /// let w = Variable::new(3.0f32);
    /// let mut step = tapegrad::function(|opt: &mut Adam, x: &[Tensor]| {
    ///     let tape = GradientTape::new();
    ///     let loss = reduce_sum(square(&x[0] * &w)?, None, false)?;
    ///     opt.apply_gradients(&tape.gradients(&loss, &[&w])?)?;
    ///     Ok(loss)
    /// });
    /// let (mut opt, x) = (Adam::new(0.1), Tensor::from_vec(vec![1.0f32, -2.0], &[2])?);
    /// step.verify(10);
    /// for _ in 0..11 {
    ///     step.call_verified(&mut opt, &[x.clone()])?;
    /// }
    /// assert_eq!(step.verification().calls, 10);
    /// assert_eq!(step.verification().first_difference, None);
    /// # Ok::<(), tapegrad::Error>(())
    /// ```
    pub fn verify(&mut self, calls: usize) {
        self.verify_left = calls;
    }

    /// What [`verify`](Function::verify) found so far.
    pub fn verification(&self) -> &Verification {
        &self.verification
    }

    /// [`call`](Function::call), verifying the replay when [`verify`](Function::verify)
    /// asked for it.
    pub fn call_verified(&mut self, optimizer: &mut O, inputs: &[Tensor]) -> Result<Tensor> {
        if self.verify_left == 0 || self.eager_only || functions_run_eagerly() {
            let left = std::mem::take(&mut self.verify_left);
            let out = self.call(optimizer, inputs);
            self.verify_left = left;
            return out;
        }
        let Some(i) = self.traces.iter().position(|(s, _)| s.matches(inputs)) else {
            let left = std::mem::take(&mut self.verify_left);
            let out = self.call(optimizer, inputs);
            self.verify_left = left;
            return out;
        };
        self.verify_left -= 1;
        let arrays: Vec<&Array> = inputs.iter().map(|t| t.value()).collect();
        let before = self.traces[i].1.save_state().map_err(boxed)?;
        let optimizer_before = optimizer.clone();
        // the eager run, traced afresh: every value it computes, node by node
        let tracing = Trace::begin(&arrays);
        let eager_out = (self.step)(optimizer, inputs)?;
        let reference = tracing.finish(eager_out.value())?;
        let trace = &self.traces[i].1;
        let eager_state = trace.save_state().map_err(boxed)?;
        let eager_iterations = optimizer.optimizer().map(|o| o.iterations());
        trace.restore_state(&before).map_err(boxed)?;
        *optimizer = optimizer_before;
        let call = self.verification.calls;
        self.verification.calls += 1;
        let (out, first) = {
            let mut host = host_for(optimizer);
            trace
                .replay_compared(&arrays, &mut host, &reference)
                .map_err(replay_error)?
        };
        if self.verification.first_difference.is_none() {
            let mut difference = first.map(|m| {
                format!(
                    "call {call}: node {} (`{}`): {}",
                    m.position, m.node, m.message
                )
            });
            if difference.is_none() && !out.equals(eager_out.value()) {
                difference = Some(format!(
                    "call {call}: the output: replayed {out}, eager {}",
                    eager_out.value()
                ));
            }
            if difference.is_none() {
                let replay_state = trace.save_state().map_err(boxed)?;
                if let Some(k) =
                    (0..replay_state.len()).find(|&k| !replay_state[k].equals(&eager_state[k]))
                {
                    difference = Some(format!(
                        "call {call}: variable {k} after the step: replayed {}, eager {}",
                        replay_state[k], eager_state[k]
                    ));
                }
            }
            if difference.is_none()
                && optimizer.optimizer().map(|o| o.iterations()) != eager_iterations
            {
                difference = Some(format!("call {call}: the optimizer's iterations"));
            }
            self.verification.first_difference = difference;
        }
        Ok(Tensor::new(out))
    }
}

fn boxed(e: BoxError) -> Error {
    Error::Function(e.to_string())
}

fn replay_error(e: ReplayError) -> Error {
    Error::Function(e.to_string())
}

/// Replays `trace`, the host nodes (an optimizer's `apply_gradients`) carried out by
/// `optimizer`.
fn replay<O: StepOptimizer + ?Sized>(
    trace: &Trace,
    optimizer: &mut O,
    inputs: &[&Array],
) -> Result<Array> {
    let mut host = host_for(optimizer);
    trace.replay(inputs, &mut host).map_err(replay_error)
}

/// The host nodes' carrying out: an optimizer's `apply_gradients` by `optimizer`.
fn host_for<O: StepOptimizer + ?Sized>(
    optimizer: &mut O,
) -> impl FnMut(&(dyn std::any::Any + Send + Sync), &[&Array]) -> std::result::Result<(), BoxError> + '_
{
    move |payload, operands| {
        let apply = payload
            .downcast_ref::<TracedApply>()
            .ok_or("a host node this function does not know")?;
        let opt = optimizer.optimizer().ok_or(
            "the step applied gradients with an optimizer, but the function was called with none",
        )?;
        let pairs: SmallVec<[(Option<Tensor>, &crate::autodiff::Variable); 8]> = apply
            .variables
            .iter()
            .map(|(v, g)| match g {
                Some(g) => operands
                    .get(*g)
                    .map(|a| (Some(Tensor::new((*a).clone())), v))
                    .ok_or_else(|| BoxError::from("a gradient of the trace is missing")),
                None => Ok((None, v)),
            })
            .collect::<std::result::Result<_, _>>()?;
        opt.apply_gradient_slice(&pairs)?;
        Ok(())
    }
}
