//! The thread's tapes: the stack of active tapes every op asks first, recording an op or a
//! variable's read on them, the state a tape keeps and the buffers it reuses.

use std::cell::{Cell, RefCell, RefMut};
use std::rc::Rc;

use tapegrad_tensor as tt;

use super::records::{IdMap, Inputs, Recorded, Slot, Slots};
use super::OpRef;
use super::TapeOptions;
use crate::op::{Backward, Op};
use crate::{Result, Tensor, Variable};

/// The buffers of a backward pass, kept by the tape (and handed to this thread's next tape
/// with the rest of its state) so that a training loop allocates them once.
#[derive(Default)]
pub(crate) struct Scratch {
    /// The gradient of each record's output, and whether it is a source's (kept to the end).
    pub(crate) grads: Vec<(Option<Tensor>, bool)>,
    /// The gradient of each leaf.
    pub(crate) leaf_grads: Vec<Option<Tensor>>,
    /// Where each source's gradient is.
    pub(crate) sources: Vec<Slot>,
    /// One op's input gradients.
    pub(crate) input_grads: Vec<Option<Tensor>>,
    /// One op's input slots and needs, for ops of more than three inputs.
    pub(crate) slots: Vec<Slot>,
    pub(crate) needs: Vec<bool>,
    /// The last default seed (ones of the target's shape and dtype): a training loop asks for
    /// the same one every step, and sharing it (tensors are immutable) saves its allocations.
    pub(crate) seed: Option<tt::Array>,
}

impl Scratch {
    /// Drops the gradients (not the seed), keeping the buffers.
    pub(crate) fn clear(&mut self) {
        self.grads.clear();
        self.leaf_grads.clear();
        self.sources.clear();
        self.input_grads.clear();
        self.slots.clear();
        self.needs.clear();
    }

    /// Ones of `target`'s shape and dtype, shared with the previous call's when they match.
    pub(crate) fn ones_like(&mut self, target: &tt::Array) -> tt::Array {
        if target.len() > SEED_CACHE_MAX {
            return target.ones_like();
        }
        match &self.seed {
            Some(t) if t.dtype() == target.dtype() && t.has_shape(target.shape()) => t.clone(),
            _ => {
                let t = target.ones_like();
                self.seed = Some(t.clone());
                t
            }
        }
    }
}

/// Seeds of at most this many elements are kept for the next gradient of the same shape.
pub(crate) const SEED_CACHE_MAX: usize = 4096;

#[derive(Default)]
pub(crate) struct State {
    pub(crate) recorded: Recorded,
    pub(crate) variables: Vec<Variable>,
}

/// Buffers larger than this many entries are freed rather than kept for the next tape.
pub(crate) const SPARE_MAX: usize = 4096;

impl State {
    /// The name of a variable this tape watches.
    pub(crate) fn variable_name(&self, id: u64) -> Option<&str> {
        self.variables
            .iter()
            .find(|v| v.id() == id)
            .map(|v| v.name())
    }

    /// An op's name as the graph dump shows it (a read names its variable).
    pub(crate) fn op_name(&self, op: &OpRef) -> String {
        match op {
            OpRef::Read(read) => match self.variable_name(read.0) {
                Some(name) => format!("ReadVariable({name})"),
                None => format!("ReadVariable(#{})", read.0),
            },
            op => op.name(),
        }
    }

    /// Empties the state for another tape, dropping what it holds now.
    pub(crate) fn clear_for_reuse(&mut self) {
        self.recorded.clear();
        limit(&mut self.recorded.records);
        limit(&mut self.recorded.leaves.ids);
        if self.recorded.leaves.index.capacity() > SPARE_MAX {
            self.recorded.leaves.index = IdMap::default();
        }
        limit(&mut self.variables);
    }
}

impl Scratch {
    /// Frees the buffers grown past [`SPARE_MAX`] (every backward pass leaves them empty).
    pub(crate) fn clear_for_reuse(&mut self) {
        fn free_if_large<T>(v: &mut Vec<T>) {
            if v.capacity() > SPARE_MAX {
                *v = Vec::new();
            }
        }
        free_if_large(&mut self.grads);
        free_if_large(&mut self.leaf_grads);
        free_if_large(&mut self.sources);
        free_if_large(&mut self.input_grads);
        free_if_large(&mut self.slots);
        free_if_large(&mut self.needs);
    }
}

/// Empties a buffer kept for another tape, or frees it if it grew past [`SPARE_MAX`].
pub(crate) fn limit<T>(v: &mut Vec<T>) {
    if v.capacity() > SPARE_MAX {
        *v = Vec::new();
    } else {
        v.clear();
    }
}

pub(crate) struct Shared {
    pub(crate) persistent: bool,
    pub(crate) watch_accessed_variables: bool,
    /// Recording now (not paused, not finished).
    pub(crate) recording: Cell<bool>,
    /// Still on this thread's stack of tapes (until finished or dropped).
    pub(crate) active: Cell<bool>,
    pub(crate) used: Cell<bool>,
    pub(crate) state: RefCell<State>,
    /// The backward pass's buffers (apart from `state`: borrowed while the ops' backward
    /// functions run, which must not find the state borrowed).
    pub(crate) scratch: RefCell<Scratch>,
}

impl Shared {
    pub(crate) fn new(options: TapeOptions, state: State) -> Self {
        Shared {
            persistent: options.persistent,
            watch_accessed_variables: options.watch_accessed_variables,
            recording: Cell::new(true),
            active: Cell::new(true),
            used: Cell::new(false),
            state: RefCell::new(state),
            scratch: RefCell::default(),
        }
    }
}

/// This thread's tapes.
pub(crate) struct Tapes {
    /// The tapes on this thread's stack (made, not yet finished or dropped), oldest first.
    pub(crate) active: Vec<Rc<Shared>>,
    /// The last dropped tapes (at most [`SPARE_TAPES`]), emptied, for the next ones: a training
    /// loop that makes a tape a step (or nested tapes) reuses their allocations and buffers
    /// instead of making new ones every step.
    pub(crate) spare: Vec<Rc<Shared>>,
}

/// How many dropped tapes a thread keeps for reuse.
pub(crate) const SPARE_TAPES: usize = 4;

thread_local! {
    pub(crate) static TAPES: RefCell<Tapes> = const {
        RefCell::new(Tapes {
            active: Vec::new(),
            spare: Vec::new(),
        })
    };
    /// Whether `TAPES.active` is non-empty: what every op asks first, in one load.
    pub(crate) static ANY_ACTIVE: Cell<bool> = const { Cell::new(false) };
}

/// True when some tape on this thread may record.
#[inline]
pub(crate) fn any_active() -> bool {
    ANY_ACTIVE.with(Cell::get)
}

/// Records `op` on each recording tape that watches one of `inputs` (moved into the last such
/// tape's record, cloned for the others). Callers ask [`any_active`] first, so that they build
/// `inputs` only when some tape may record.
pub(crate) fn record_op(op: OpRef, inputs: Inputs, output: &Tensor) {
    let _ = TAPES.try_with(|t| {
        let Ok(t) = t.try_borrow() else { return };
        if let [tape] = t.active.as_slice() {
            // one tape (the usual case): no record to hold back for a later tape
            if !tape.recording.get() {
                return;
            }
            let Ok(mut st) = tape.state.try_borrow_mut() else {
                return;
            };
            if let Some(slots) = st.recorded.slots_of(inputs.as_slice()) {
                st.recorded.push(op, inputs, slots, output);
            }
            return;
        }
        // the last tape that wants the op, held until the next one is found
        let mut last: Option<(RefMut<'_, State>, Slots)> = None;
        for tape in &t.active {
            if !tape.recording.get() {
                continue;
            }
            let Ok(st) = tape.state.try_borrow_mut() else {
                continue;
            };
            let Some(slots) = st.recorded.slots_of(inputs.as_slice()) else {
                continue;
            };
            if let Some((mut prev, prev_slots)) = last.replace((st, slots)) {
                prev.recorded
                    .push(op.clone(), inputs.clone(), prev_slots, output);
            }
        }
        if let Some((mut st, slots)) = last {
            st.recorded.push(op, inputs, slots, output);
        }
    });
}

/// Called when a variable is read: tapes that watch it (or watch every trainable variable read)
/// record the read, so that the gradient reaches the variable.
#[inline]
pub(crate) fn record_read(var: &Variable, value: &Tensor) {
    if any_active() {
        record_read_on_tapes(var, value);
    }
}

pub(crate) fn record_read_on_tapes(var: &Variable, value: &Tensor) {
    let _ = TAPES.try_with(|t| {
        let Ok(t) = t.try_borrow() else { return };
        let id = var.id();
        for tape in &t.active {
            if !tape.recording.get() {
                continue;
            }
            let Ok(mut st) = tape.state.try_borrow_mut() else {
                continue;
            };
            let st = &mut *st;
            let mut leaf = st.recorded.leaves.find(id, 0);
            if leaf.is_none() && tape.watch_accessed_variables && var.trainable() {
                st.recorded.leaves.push(id);
                st.variables.push(var.clone());
                leaf = Some(st.recorded.leaves.len() - 1);
            }
            if let Some(j) = leaf {
                st.recorded.push(
                    OpRef::Read(ReadVariable(id)),
                    Inputs::Read,
                    Slots::Few([Slot::Leaf(j as u32), Slot::Unwatched, Slot::Unwatched]),
                    value,
                );
            }
        }
    });
}

/// The name of the variable whose read made the tensor with identity `id`, if a tape of this
/// thread recorded that read (for error messages: nothing else keeps the link).
pub(crate) fn variable_read_by(id: u64) -> Option<String> {
    TAPES
        .try_with(|t| {
            let t = t.try_borrow().ok()?;
            t.active.iter().find_map(|tape| {
                let st = tape.state.try_borrow().ok()?;
                let i = st.recorded.output_position(id)?;
                match &st.recorded.records[i].op {
                    OpRef::Read(read) => st.variable_name(read.0).map(str::to_string),
                    _ => None,
                }
            })
        })
        .ok()
        .flatten()
}

/// The read of the variable with this identity: the gradient passes through unchanged. (The
/// identity, not the variable: the tape that records the read watches the variable and keeps
/// it, and a record holding one more handle cost two atomic counts a read.)
#[derive(Clone, Copy)]
pub(crate) struct ReadVariable(pub(crate) u64);

impl Op for ReadVariable {
    fn rule(&self) -> &'static str {
        "a variable read passes g on unchanged, summed into the variable's gradient"
    }
    fn name(&self) -> String {
        "ReadVariable".into()
    }
    fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
        out.push(Some(b.grad.clone()));
        Ok(())
    }
}
