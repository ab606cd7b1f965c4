//! [`GradientTape`]: records the ops run on watched tensors and variables, and plays them back
//! in reverse to compute gradients.
//!
//! How it works, in one paragraph: every tensor and variable has an identity. A tape keeps the
//! identities it was asked to watch (its *leaves*) and a list of records. When an op runs while
//! a tape records and one of the op's inputs is watched — a leaf, or the output of one of the
//! tape's records — the tape appends the op with its inputs and output, noting for each input
//! where its gradient goes: to the record that made it, to a leaf, or nowhere. `gradient` walks
//! the list backwards from the target with one gradient per record and one per leaf, asking
//! each op to turn its output's gradient into its inputs' gradients and summing what reaches
//! each; the sources read theirs at the end.

use std::rc::Rc;

use tapegrad_tensor as tt;

use crate::{Error, Gradients, Result, Tensor, Variable};

mod backward;
mod explain;
mod graph;
mod jacobian;
mod recording;
mod records;
mod thread;

use backward::backward_pass;
pub use explain::{capture_first_gradient, ExplainedOp, Explanation};
pub use graph::{summarize, DotOptions, GraphNode, TapeGraph, ValueKind};
pub use recording::record;
pub(crate) use recording::{record1, record2, record3, OpRef};
pub(crate) use records::Inputs;
use records::Recorded;
pub(crate) use thread::{any_active, record_read, variable_read_by};
use thread::{Scratch, Shared, State, ANY_ACTIVE, SPARE_TAPES, TAPES};

/// What `gradient` returns for a source the target does not depend on
/// (`tf.UnconnectedGradients`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnconnectedGradients {
    /// `None` (TensorFlow's default).
    #[default]
    None,
    /// Zeros of the source's shape and dtype.
    Zero,
}

/// Something a gradient can be taken with respect to: a [`Tensor`] (watched with
/// [`GradientTape::watch`]) or a [`Variable`].
pub trait Source {
    /// The identity the tape knows the source by.
    fn source_id(&self) -> u64;
    /// Zeros of the source's shape and dtype.
    fn source_zeros(&self) -> Result<tt::Array>;
    /// The variable, when the source is one (a tape keeps the variables it watches).
    fn as_variable(&self) -> Option<&Variable> {
        None
    }
}

impl Source for Tensor {
    fn source_id(&self) -> u64 {
        self.id()
    }
    fn source_zeros(&self) -> Result<tt::Array> {
        Ok(self.value().zeros_like())
    }
}

impl Source for Variable {
    fn source_id(&self) -> u64 {
        self.id()
    }
    fn source_zeros(&self) -> Result<tt::Array> {
        Ok(tt::Array::zeros(self.dtype(), self.shape())?)
    }
    fn as_variable(&self) -> Option<&Variable> {
        Some(self)
    }
}

impl<S: Source + ?Sized> Source for &S {
    fn source_id(&self) -> u64 {
        (**self).source_id()
    }
    fn source_zeros(&self) -> Result<tt::Array> {
        (**self).source_zeros()
    }
    fn as_variable(&self) -> Option<&Variable> {
        (**self).as_variable()
    }
}

/// Options of a tape (`tf.GradientTape(persistent=..., watch_accessed_variables=...)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TapeOptions {
    /// Allow more than one `gradient`/`jacobian` call (default false).
    pub persistent: bool,
    /// Watch every trainable variable read while recording (default true).
    pub watch_accessed_variables: bool,
}

impl Default for TapeOptions {
    fn default() -> Self {
        TapeOptions {
            persistent: false,
            watch_accessed_variables: true,
        }
    }
}

/// Records operations for automatic differentiation, as `tf.GradientTape`.
///
/// Recording starts when the tape is created and stops when it is dropped, when
/// [`GradientTape::stop`] is called, or after `gradient` on a non-persistent tape.
///
/// ```
/// use tapegrad_autodiff::{GradientTape, Tensor, Variable};
/// let x = Tensor::scalar(3.0f32);
/// let w = Variable::new(2.0f32);
/// let tape = GradientTape::new();
/// let y = (&w * &x)?;                     // w is trainable: watched when read
/// let grads = tape.gradient(&y, &[&w])?;
/// assert_eq!(grads[0].as_ref().unwrap().item()?, 3.0);
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
pub struct GradientTape {
    shared: Rc<Shared>,
}

impl Default for GradientTape {
    fn default() -> Self {
        Self::new()
    }
}

impl GradientTape {
    /// A new, recording, non-persistent tape that watches accessed trainable variables.
    pub fn new() -> Self {
        Self::with_options(TapeOptions::default())
    }

    /// A new persistent tape (`tf.GradientTape(persistent=True)`).
    pub fn persistent() -> Self {
        Self::with_options(TapeOptions {
            persistent: true,
            ..TapeOptions::default()
        })
    }

    /// A new tape with explicit options.
    ///
    /// ```
    /// use tapegrad_autodiff::{GradientTape, TapeOptions, Variable};
    /// let v = Variable::new(1.0f32);
    /// let tape = GradientTape::with_options(TapeOptions { watch_accessed_variables: false, ..Default::default() });
    /// let y = (&v * 2.0)?;
    /// assert!(tape.gradient(&y, &[&v])?[0].is_none());
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    pub fn with_options(options: TapeOptions) -> Self {
        let shared = TAPES
            .try_with(|t| {
                let mut t = t.try_borrow_mut().ok()?;
                // the last dropped tape's allocation and buffers (emptied), if there is one
                let shared = match t.spare.pop() {
                    Some(mut spare) => match Rc::get_mut(&mut spare) {
                        Some(sh) => {
                            // its state was emptied when it was dropped
                            sh.persistent = options.persistent;
                            sh.watch_accessed_variables = options.watch_accessed_variables;
                            sh.recording.set(true);
                            sh.active.set(true);
                            sh.used.set(false);
                            spare
                        }
                        None => Rc::new(Shared::new(options, State::default())),
                    },
                    None => Rc::new(Shared::new(options, State::default())),
                };
                t.active.push(shared.clone());
                ANY_ACTIVE.set(true);
                Some(shared)
            })
            .ok()
            .flatten()
            .unwrap_or_else(|| {
                // this thread's tapes are gone (it is exiting): a tape that records nothing
                let sh = Shared::new(options, State::default());
                sh.recording.set(false);
                sh.active.set(false);
                Rc::new(sh)
            });
        GradientTape { shared }
    }

    /// Whether this tape is persistent.
    pub fn is_persistent(&self) -> bool {
        self.shared.persistent
    }

    /// Whether the tape records now.
    pub fn is_recording(&self) -> bool {
        self.shared.recording.get()
    }

    /// Starts watching a tensor or a variable (`tape.watch`).
    pub fn watch(&self, source: &impl Source) {
        match source.as_variable() {
            Some(var) => self.watch_variable(var),
            None => {
                self.shared
                    .state
                    .borrow_mut()
                    .recorded
                    .watch(source.source_id());
            }
        }
    }

    /// Starts watching a variable, as `tape.watch(variable)` (also for non-trainable ones).
    pub fn watch_variable(&self, var: &Variable) {
        let mut st = self.shared.state.borrow_mut();
        if st.recorded.watch(var.id()) {
            st.variables.push(var.clone());
        }
    }

    /// The variables this tape watches, in the order first watched.
    pub fn watched_variables(&self) -> Vec<Variable> {
        self.shared.state.borrow().variables.clone()
    }

    /// Pauses recording until the returned guard is dropped (`with tape.stop_recording():`).
    ///
    /// ```
    /// use tapegrad_autodiff::{GradientTape, Variable};
    /// let v = Variable::new(1.0f32);
    /// let tape = GradientTape::new();
    /// let y = {
    ///     let _paused = tape.stop_recording();
    ///     (&v * 2.0)?
    /// };
    /// assert!(tape.gradient(&y, &[&v])?[0].is_none());
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    pub fn stop_recording(&self) -> RecordingPaused<'_> {
        let was = self.shared.recording.replace(false);
        RecordingPaused { tape: self, was }
    }

    /// Ends recording for good (leaving TensorFlow's `with` block): the tape keeps what it has
    /// recorded and can still compute gradients.
    pub fn stop(&self) {
        self.shared.recording.set(false);
        deactivate(&self.shared);
    }

    /// Forgets everything recorded and watched (`tape.reset()`); recording goes on if it was on.
    pub fn reset(&self) {
        let mut st = self.shared.state.borrow_mut();
        // Cleared in place: a tape reset in a loop keeps its buffers.
        st.recorded.clear();
        st.variables.clear();
        self.shared.used.set(false);
    }

    /// Number of ops recorded so far.
    pub fn len(&self) -> usize {
        self.shared.state.borrow().recorded.records.len()
    }

    /// True when nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Gradients of `target` (of its sum, if it is not a scalar) with respect to each variable,
    /// looked up by variable ([`Gradients::get`]) and accepted as they are by every optimizer's
    /// `apply_gradients`. The same computation as [`GradientTape::gradient`].
    ///
    /// ```
    /// use tapegrad_autodiff::{GradientTape, Variable};
    /// let w = Variable::new(2.0);
    /// let tape = GradientTape::new();
    /// let loss = (&w * &w)?;
    /// let grads = tape.gradients(&loss, &[&w])?;
    /// assert_eq!(grads.get(&w).unwrap().item()?, 4.0);
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    pub fn gradients(&self, target: &Tensor, variables: &[&Variable]) -> Result<Gradients> {
        let grads = self.gradient(target, variables)?;
        Ok(Gradients::new(
            variables.iter().map(|&v| v.clone()).zip(grads).collect(),
        ))
    }

    /// Gradients of `target` (of its sum, if it is not a scalar) with respect to each source:
    /// `None` for a source the target does not depend on.
    pub fn gradient<S: Source>(
        &self,
        target: &Tensor,
        sources: &[S],
    ) -> Result<Vec<Option<Tensor>>> {
        self.gradient_with(target, sources, None, UnconnectedGradients::None)
    }

    /// [`GradientTape::gradient`] with an `output_gradients` seed (same shape as the target) and
    /// a choice of what unconnected sources get.
    ///
    /// ```
    /// use tapegrad_autodiff::{GradientTape, Tensor, UnconnectedGradients};
    /// let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?;
    /// let z = Tensor::scalar(5.0f32);
    /// let tape = GradientTape::persistent();
    /// tape.watch(&x);
    /// tape.watch(&z);
    /// let y = tapegrad_autodiff::square(&x)?;
    /// let seed = Tensor::from_vec(vec![1.0f32, 10.0], &[2])?;
    /// let g = tape.gradient_with(&y, &[&x, &z], Some(&seed), UnconnectedGradients::Zero)?;
    /// assert_eq!(g[0].as_ref().unwrap().to_vec::<f32>()?, vec![2.0, 40.0]);
    /// assert_eq!(g[1].as_ref().unwrap().item()?, 0.0);
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    pub fn gradient_with<S: Source>(
        &self,
        target: &Tensor,
        sources: &[S],
        output_gradients: Option<&Tensor>,
        unconnected: UnconnectedGradients,
    ) -> Result<Vec<Option<Tensor>>> {
        let given = match output_gradients {
            Some(g) => {
                if g.shape() != target.shape() || g.dtype() != target.dtype() {
                    return Err(Error::Invalid {
                        op: "gradient",
                        message: format!(
                            "output_gradients has shape {:?} and dtype {}, the target has shape {:?} and dtype {}",
                            g.shape(),
                            g.dtype(),
                            target.shape(),
                            target.dtype()
                        ),
                    });
                }
                Some(g.clone())
            }
            None => None,
        };
        if given.is_none() && explain::wanted() {
            // `capture_first_gradient` asked for this one: the same pass, shown op by op
            let explanation = self.explain(target, sources)?;
            let grads = explanation.gradients.clone();
            explain::captured(explanation);
            return connect(grads, sources, unconnected);
        }
        let grads = self.run(|recorded, scratch| {
            let seed = match given {
                Some(g) => g,
                None => Tensor::new(scratch.ones_like(target.value())),
            };
            backward_pass(recorded, scratch, target, seed, sources)
        })?;
        connect(grads, sources, unconnected)
    }

    /// Runs a backward computation over the recorded ops with this tape paused; consumes a
    /// non-persistent tape.
    fn run<R>(&self, f: impl FnOnce(&Recorded, &mut Scratch) -> Result<R>) -> Result<R> {
        let sh = &self.shared;
        if sh.used.get() && !sh.persistent {
            return Err(Error::TapeConsumed);
        }
        let was = sh.recording.replace(false);
        if !sh.persistent {
            deactivate(sh);
            sh.used.set(true);
        }
        // The state is not borrowed while the ops' backward functions run.
        let mut recorded = {
            let mut st = sh.state.borrow_mut();
            if sh.persistent {
                st.recorded.clone()
            } else {
                std::mem::take(&mut st.recorded)
            }
        };
        let out = {
            // a gradient asked for from inside a backward function of this tape gets its own
            let mut own = None;
            let mut guard = sh.scratch.try_borrow_mut();
            let scratch = match &mut guard {
                Ok(s) => &mut **s,
                Err(_) => own.insert(Scratch::default()),
            };
            f(&recorded, scratch)
        };
        if sh.persistent {
            drop(recorded);
            sh.recording.set(was && sh.active.get());
        } else {
            // emptied, the buffers go back to the (now empty) tape, for the next one
            recorded.clear();
            let mut st = sh.state.borrow_mut();
            if st.recorded.records.capacity() == 0 && st.recorded.leaves.ids.capacity() == 0 {
                st.recorded = recorded;
            }
        }
        out
    }
}

fn deactivate(shared: &Rc<Shared>) {
    if shared.active.replace(false) {
        shared.recording.set(false);
        let _ = TAPES.try_with(|t| {
            let Ok(mut t) = t.try_borrow_mut() else {
                return;
            };
            // nearly always the newest tape
            if let Some(i) = t.active.iter().rposition(|s| Rc::ptr_eq(s, shared)) {
                // not the last handle (the caller holds one): dropping it frees nothing
                t.active.remove(i);
            }
            ANY_ACTIVE.set(!t.active.is_empty());
        });
    }
}

impl Drop for GradientTape {
    fn drop(&mut self) {
        deactivate(&self.shared);
        // The allocation and buffers go to this thread's next tape, emptied now (the records'
        // tensors are freed here, not when the next tape starts).
        let sh = &self.shared;
        if Rc::strong_count(sh) != 1 || Rc::weak_count(sh) != 0 {
            return;
        }
        match (sh.state.try_borrow_mut(), sh.scratch.try_borrow_mut()) {
            (Ok(mut st), Ok(mut scratch)) => {
                st.clear_for_reuse();
                scratch.clear_for_reuse();
            }
            _ => return,
        }
        let _ = TAPES.try_with(|t| {
            if let Ok(mut t) = t.try_borrow_mut() {
                if t.spare.len() < SPARE_TAPES {
                    t.spare.push(sh.clone());
                }
            }
        });
    }
}

/// Keeps a tape paused; recording resumes when this is dropped.
pub struct RecordingPaused<'a> {
    tape: &'a GradientTape,
    was: bool,
}

impl Drop for RecordingPaused<'_> {
    fn drop(&mut self) {
        let sh = &self.tape.shared;
        sh.recording.set(self.was && sh.active.get());
    }
}

/// The gradients as `gradient_with` returns them: an unconnected source's as `unconnected` says.
fn connect<S: Source>(
    grads: Vec<Option<Tensor>>,
    sources: &[S],
    unconnected: UnconnectedGradients,
) -> Result<Vec<Option<Tensor>>> {
    // `grads` first: the vector is collected in place (no second allocation)
    grads
        .into_iter()
        .zip(sources)
        .map(|(g, s)| match (g, unconnected) {
            (Some(g), _) => Ok(Some(g)),
            (None, UnconnectedGradients::Zero) => Ok(Some(Tensor::new(s.source_zeros()?))),
            (None, UnconnectedGradients::None) => Ok(None),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::records::{Leaves, Record, Slot, LEAF_SCAN};
    use super::thread::ReadVariable;
    use super::*;
    use crate::op::{Backward, Op};
    use crate::ops;

    #[test]
    fn a_record_fits_in_128_bytes() {
        // larger records were moved with calls of `memcpy` (see `Slots`)
        assert!(std::mem::size_of::<Record>() <= 128);
    }

    fn read_op() -> OpRef {
        OpRef::Read(ReadVariable(Variable::new(0.0f32).id()))
    }

    /// A record of `input` -> `output` on `rec`, as a tape makes it.
    fn push(rec: &mut Recorded, input: &Tensor, output: &Tensor) {
        let slots = rec.slots_of(std::slice::from_ref(input)).expect("watched");
        rec.push(read_op(), Inputs::One([input.clone()]), slots, output);
    }

    #[test]
    fn outputs_are_found_by_position_sorted_or_not() {
        let ts: Vec<Tensor> = (0..6).map(|i| Tensor::scalar(i as f32)).collect();
        let mut rec = Recorded::default();
        assert!(rec.watch(ts[0].id()));
        assert!(!rec.watch(ts[0].id()), "watched twice");
        for pair in ts[..5].windows(2) {
            push(&mut rec, &pair[0], &pair[1]);
        }
        assert!(!rec.unsorted);
        assert_eq!(rec.slot(ts[0].id()), Slot::Leaf(0));
        for (k, t) in ts[1..5].iter().enumerate() {
            assert_eq!(rec.slot(t.id()), Slot::Output(k as u32));
        }
        assert_eq!(rec.slot(ts[5].id()), Slot::Unwatched);
        assert!(!rec.watch(ts[2].id()), "an output is watched already");
        // an output older than the last one (never made by the ops, which record new tensors)
        let older = Tensor::scalar(9.0f32);
        let oldest = ts[0].with_id(ts[0].id() - 1);
        push(&mut rec, &ts[4], &older);
        push(&mut rec, &older, &oldest);
        assert!(rec.unsorted);
        assert_eq!(rec.slot(oldest.id()), Slot::Output(5));
        assert_eq!(rec.slot(older.id()), Slot::Output(4));
        assert_eq!(rec.slot(ts[3].id()), Slot::Output(2));
        rec.clear();
        assert!(!rec.unsorted);
        assert_eq!(rec.slot(ts[3].id()), Slot::Unwatched);
    }

    #[test]
    fn leaves_are_indexed_past_the_scan_and_found_from_a_position() {
        let mut leaves = Leaves::default();
        let ids: Vec<u64> = (0..3 * LEAF_SCAN as u64).map(|i| 1000 + 7 * i).collect();
        for (j, &id) in ids.iter().enumerate() {
            leaves.push(id);
            assert_eq!(leaves.index.is_empty(), j < LEAF_SCAN);
            for (i, &earlier) in ids[..=j].iter().enumerate() {
                assert_eq!(leaves.find(earlier, 0), Some(i));
                assert_eq!(leaves.find(earlier, i), Some(i));
                assert_eq!(leaves.find(earlier, i + 1), None);
            }
            assert_eq!(leaves.find(999, 0), None);
        }
        leaves.clear();
        assert_eq!(leaves.find(ids[0], 0), None);
        leaves.push(ids[1]);
        assert!(leaves.index.is_empty());
        assert_eq!(leaves.find(ids[1], 0), Some(0));
    }

    #[test]
    fn a_variable_read_is_drawn_from_the_variable() -> Result<()> {
        let a = Variable::new(2.0f32).with_name("a");
        let tape = GradientTape::new();
        let y = ops::square(&a)?;
        let dot = tape.to_dot();
        // the variable, then its read, then the value read
        assert!(
            dot.contains("n0 [shape=ellipse, label=\"variable a\\n[] float32\"]"),
            "{dot}"
        );
        assert!(
            dot.contains("n1 [shape=box, label=\"ReadVariable(a)\"]"),
            "{dot}"
        );
        assert!(
            dot.contains("n0 -> n1;") && dot.contains("n1 -> n2;"),
            "{dot}"
        );
        assert_eq!(tape.gradient(&y, &[&a])?[0].as_ref().unwrap().item()?, 4.0);
        Ok(())
    }

    #[test]
    fn an_op_that_gives_the_wrong_number_of_gradients_is_an_error() -> Result<()> {
        struct Careless;
        impl Op for Careless {
            fn name(&self) -> String {
                "Careless".into()
            }
            fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
                out.extend([Some(b.grad.clone()), None]);
                Ok(())
            }
        }
        let x = Tensor::scalar(1.0f32);
        let tape = GradientTape::new();
        tape.watch(&x);
        let y = crate::record(Careless, &[&x], x.value().clone());
        let e = tape.gradient(&y, &[&x]).unwrap_err().to_string();
        assert!(
            e.contains("Careless") && e.contains("2 gradients") && e.contains("1 inputs"),
            "{e}"
        );
        Ok(())
    }

    #[test]
    fn a_dropped_tape_is_reused_emptied() -> Result<()> {
        let x = Tensor::scalar(2.0f32);
        let tape = GradientTape::persistent();
        tape.watch(&x);
        let y = ops::square(&x)?;
        assert_eq!(tape.gradient(&y, &[&x])?[0].as_ref().unwrap().item()?, 4.0);
        let first = Rc::as_ptr(&tape.shared);
        drop(tape);
        let tape = GradientTape::new();
        assert_eq!(Rc::as_ptr(&tape.shared), first, "the spare allocation");
        assert!(!tape.is_persistent() && tape.is_recording() && tape.is_empty());
        assert!(tape.watched_variables().is_empty());
        assert!(tape.gradient(&y, &[&x])?[0].is_none(), "x is not watched");
        Ok(())
    }

    #[test]
    fn nested_tapes_in_a_loop_reuse_their_allocations() -> Result<()> {
        let spares = || TAPES.with(|t| t.borrow().spare.len());
        let x = Tensor::scalar(3.0f32);
        for step in 0..3 {
            let outer = GradientTape::new();
            outer.watch(&x);
            let inner = GradientTape::new();
            inner.watch(&x);
            assert_eq!(spares(), 0, "step {step}: both tapes came from the spares");
            let y = ops::mul(ops::square(&x)?, &x)?;
            let dy = inner.gradient(&y, &[&x])?.remove(0).unwrap();
            let d2y = outer.gradient(&dy, &[&x])?.remove(0).unwrap();
            assert_eq!((dy.item()?, d2y.item()?), (27.0, 18.0));
            drop(inner);
            assert_eq!(spares(), 1);
            drop(outer);
            assert_eq!(spares(), 2);
        }
        let tapes: Vec<GradientTape> = (0..SPARE_TAPES + 2).map(|_| GradientTape::new()).collect();
        drop(tapes);
        assert_eq!(spares(), SPARE_TAPES, "no more are kept");
        Ok(())
    }
}
