//! [`GradientTape::explain`]: one backward pass shown op by op, for the people who learn how
//! gradients are computed (`tapegrad explain`): each recorded op with its inputs and output,
//! then, in the order the backward pass visits them, the gradient that reached each op, the
//! local rule it applies and what it gave its inputs.

use std::cell::{Cell, RefCell};

use super::backward::{observed_backward_pass, Observer};
use super::records::{Inputs, Recorded};
use super::thread::{ReadVariable, State};
use super::{GradientTape, OpRef, Source};
use crate::{Result, Tensor};

/// One recorded op as an [`Explanation`] shows it.
#[derive(Debug, Clone)]
pub struct ExplainedOp {
    /// The op's name as the tape records it, TensorFlow's (`Mul`, `Tanh`, `ReadVariable(w)`).
    pub name: String,
    /// The name of the variable the op reads, for a variable read (whose one input is then
    /// the variable, with the value read).
    pub variable: Option<String>,
    /// Its inputs' values (a variable read's: the value read).
    pub inputs: Vec<Tensor>,
    /// Its output.
    pub output: Tensor,
    /// The local rule its backward applies ([`crate::Op::rule`]).
    pub rule: &'static str,
    /// The gradient of the target with respect to the output, as the backward pass brought it
    /// (`None` when the target does not depend on this op).
    pub grad: Option<Tensor>,
    /// What the op gave each input (`None` for an input nothing is asked of).
    pub input_grads: Vec<Option<Tensor>>,
}

/// One backward pass of a tape, op by op ([`GradientTape::explain`]).
#[derive(Debug, Clone)]
pub struct Explanation {
    /// The ops, in the order the tape recorded them (the forward pass).
    pub ops: Vec<ExplainedOp>,
    /// The order the backward pass visited them: indices into `ops`, the last recorded first.
    pub backward: Vec<usize>,
    /// The target's gradient with respect to each source, as `gradient` returns them.
    pub gradients: Vec<Option<Tensor>>,
    /// Each source's name: a variable's own, else `tensor #id`.
    pub sources: Vec<String>,
}

/// What the backward pass showed: per record, its output's gradient and its inputs'.
#[derive(Default)]
struct Collect {
    seen: Vec<(usize, Tensor, Vec<Option<Tensor>>)>,
}

impl Observer for Collect {
    fn record(&mut self, index: usize, grad: &Tensor, input_grads: &[Option<Tensor>]) {
        self.seen.push((index, grad.clone(), input_grads.to_vec()));
    }
    fn read(&mut self, index: usize, grad: &Tensor) {
        self.seen
            .push((index, grad.clone(), vec![Some(grad.clone())]));
    }
}

impl GradientTape {
    /// The gradient of `target` with respect to `sources`, as [`GradientTape::gradient`]
    /// computes it (the same values, and it consumes a non-persistent tape as that does), with
    /// every step of the computation: the recorded ops and the backward pass through them.
    ///
    /// ```
    /// use tapegrad_autodiff::{GradientTape, Tensor, Variable};
    /// let w = Variable::new(3.0f32).with_name("w");
    /// let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?;
    /// let tape = GradientTape::new();
    /// let loss = (&w * &x)?.tanh()?.reduce_sum(&[0])?;
    /// let e = tape.explain(&loss, &[&w])?;
    /// let names: Vec<&str> = e.ops.iter().map(|op| op.name.as_str()).collect();
    /// assert_eq!(names[..3], ["ReadVariable(w)", "Mul", "Tanh"]);
    /// let tanh = &e.ops[2];
    /// assert_eq!(tanh.rule, "d tanh(x)/dx = (1 - tanh(x)^2) g");
    /// // the backward pass starts at the last op, the sum
    /// assert_eq!(e.backward[0], e.ops.len() - 1);
    /// assert_eq!(e.sources, ["w"]);
    /// let dw = 1.0 - 3f32.tanh().powi(2) + 2.0 * (1.0 - 6f32.tanh().powi(2));
    /// assert!((e.gradients[0].as_ref().unwrap().item()? - dw as f64).abs() < 1e-6);
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    pub fn explain<S: Source>(&self, target: &Tensor, sources: &[S]) -> Result<Explanation> {
        let names: Vec<(String, Option<String>)> = {
            let st = self.shared.state.borrow();
            (st.recorded.records.iter())
                .map(|r| names_of(&st, &r.op))
                .collect()
        };
        let source_names: Vec<String> = sources
            .iter()
            .map(|s| match s.as_variable() {
                Some(v) => v.name().to_string(),
                None => format!("tensor #{}", s.source_id()),
            })
            .collect();
        let mut collect = Collect::default();
        let (gradients, mut ops) = self.run(|recorded, scratch| {
            let seed = Tensor::new(scratch.ones_like(target.value()));
            let grads =
                observed_backward_pass(recorded, scratch, target, seed, sources, &mut collect)?;
            Ok((grads, explained_ops(recorded, names)))
        })?;
        let mut backward = Vec::with_capacity(collect.seen.len());
        for (k, grad, input_grads) in collect.seen {
            if let Some(op) = ops.get_mut(k) {
                op.grad = Some(grad);
                op.input_grads = input_grads;
                backward.push(k);
            }
        }
        Ok(Explanation {
            ops,
            backward,
            gradients,
            sources: source_names,
        })
    }
}

impl GradientTape {
    /// The recorded ops as [`ExplainedOp`]s, without gradients.
    pub(crate) fn explained_ops(&self) -> Vec<ExplainedOp> {
        let st = self.shared.state.borrow();
        let names = (st.recorded.records.iter())
            .map(|r| names_of(&st, &r.op))
            .collect();
        explained_ops(&st.recorded, names)
    }
}

/// An op's name, and for a variable read the variable's.
fn names_of(st: &State, op: &OpRef) -> (String, Option<String>) {
    let variable = match op {
        OpRef::Read(ReadVariable(id)) => Some(
            st.variable_name(*id)
                .map_or_else(|| format!("#{id}"), str::to_string),
        ),
        _ => None,
    };
    (st.op_name(op), variable)
}

/// Each record with its name: its inputs (a read's: the variable, with the value read) and
/// its output; the gradients are filled in by the backward pass.
fn explained_ops(recorded: &Recorded, names: Vec<(String, Option<String>)>) -> Vec<ExplainedOp> {
    (recorded.records.iter().zip(names))
        .map(|(r, (name, variable))| {
            let inputs = match (&r.op, &r.inputs) {
                (OpRef::Read(ReadVariable(id)), Inputs::Read) => vec![r.output.with_id(*id)],
                (_, inputs) => inputs.as_slice().to_vec(),
            };
            ExplainedOp {
                name,
                variable,
                rule: r.op.rule(),
                input_grads: vec![None; inputs.len()],
                inputs,
                output: r.output.clone(),
                grad: None,
            }
        })
        .collect()
}

thread_local! {
    /// Whether this thread's next gradient is to be explained, and the explanation once it is.
    static WANTED: Cell<bool> = const { Cell::new(false) };
    static CAPTURED: RefCell<Option<Explanation>> = const { RefCell::new(None) };
}

/// True when this thread asked for its next gradient to be explained: one read of a thread
/// local, the only cost `gradient` pays for this.
#[inline]
pub(crate) fn wanted() -> bool {
    WANTED.with(Cell::get)
}

/// Keeps the explanation of the gradient that was wanted, and wants no more.
pub(crate) fn captured(explanation: Explanation) {
    WANTED.with(|w| w.set(false));
    CAPTURED.with(|c| *c.borrow_mut() = Some(explanation));
}

/// Runs `f` and explains the first gradient it computes on this thread (whatever code computes
/// it: a training loop written without any thought of this), returning `f`'s result and that
/// explanation (`None` when `f` computed none).
///
/// ```
/// use tapegrad_autodiff::{capture_first_gradient, square, GradientTape, Variable};
/// let w = Variable::new(2.0f32).with_name("w");
/// let (steps, explained) = capture_first_gradient(|| {
///     for _ in 0..3 {
///         let tape = GradientTape::new();
///         let loss = square(&w).unwrap();
///         let g = tape.gradient(&loss, &[&w]).unwrap();
///         w.assign_sub(&(g[0].as_ref().unwrap() * 0.1).unwrap()).unwrap();
///     }
///     3
/// });
/// assert_eq!(steps, 3);
/// let e = explained.unwrap();
/// assert_eq!(e.ops[1].name, "Square");
/// assert_eq!(e.gradients[0].as_ref().unwrap().item()?, 4.0); // the first step's, at w = 2
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
pub fn capture_first_gradient<R>(f: impl FnOnce() -> R) -> (R, Option<Explanation>) {
    WANTED.with(|w| w.set(true));
    CAPTURED.with(|c| *c.borrow_mut() = None);
    let out = f();
    WANTED.with(|w| w.set(false));
    (out, CAPTURED.with(|c| c.borrow_mut().take()))
}
