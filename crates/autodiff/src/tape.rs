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

use std::cell::{Cell, RefCell, RefMut};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;

use tapegrad_tensor as tt;

use crate::op::{Backward, Op, OpRef};
use crate::{ops, Error, Gradients, Result, Tensor, Variable};

/// A hasher for the tapes' `u64` identities (already unique; a multiply spreads them).
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type IdSet = HashSet<u64, BuildHasherDefault<IdHasher>>;
type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// Where the gradient of a recorded op's input goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// Nowhere: the input was not watched when the op was recorded (unless the tape has
    /// watched it since: see [`Record::leaves`]).
    Unwatched,
    /// To the record at this position, whose output the input is.
    Output(u32),
    /// To the leaf at this position.
    Leaf(u32),
}

/// The slots of a record's inputs: inline for up to three inputs (the rest `Unwatched`), on
/// the heap for more. (A boxed slice, not a vector, keeps this at 24 bytes and a record at
/// 128: a larger record was moved with calls of `memcpy`, ~170 instructions a two-weights step.)
#[derive(Clone, Debug)]
enum Slots {
    Few([Slot; 3]),
    Many(Box<[Slot]>),
}

impl Slots {
    #[inline]
    fn get(&self, i: usize) -> Slot {
        let slots: &[Slot] = match self {
            Slots::Few(s) => s,
            Slots::Many(s) => s,
        };
        slots.get(i).copied().unwrap_or(Slot::Unwatched)
    }
}

/// One recorded op.
#[derive(Clone)]
struct Record {
    op: OpRef,
    inputs: Inputs,
    /// Where each input's gradient goes, as found when the op was recorded.
    slots: Slots,
    output: Tensor,
    /// How many leaves the tape had when the op was recorded: an input that was not watched
    /// then but is now is among the leaves after these.
    leaves: u32,
}

/// The inputs of a record: up to three inline (nearly every op), more on the heap.
#[derive(Clone)]
pub(crate) enum Inputs {
    /// A variable read's: its input is the variable, which its op holds (the gradient goes
    /// to the leaf in the record's first slot).
    Read,
    One([Tensor; 1]),
    Two([Tensor; 2]),
    Three([Tensor; 3]),
    Many(Vec<Tensor>),
}

impl Inputs {
    pub(crate) fn from_refs(inputs: &[&Tensor]) -> Self {
        match inputs {
            [a] => Inputs::One([(*a).clone()]),
            [a, b] => Inputs::Two([(*a).clone(), (*b).clone()]),
            [a, b, c] => Inputs::Three([(*a).clone(), (*b).clone(), (*c).clone()]),
            _ => Inputs::Many(inputs.iter().map(|&t| t.clone()).collect()),
        }
    }

    fn as_slice(&self) -> &[Tensor] {
        match self {
            Inputs::Read => &[],
            Inputs::One(t) => t,
            Inputs::Two(t) => t,
            Inputs::Three(t) => t,
            Inputs::Many(t) => t,
        }
    }
}

/// Leaves are found by a scan up to this many, by an index beyond.
const LEAF_SCAN: usize = 16;

/// The identities a tape was asked to watch (tensors, variables), in the order watched.
#[derive(Clone, Default)]
struct Leaves {
    ids: Vec<u64>,
    /// The position of each id, kept once there are more than [`LEAF_SCAN`] (empty before).
    index: IdMap<u32>,
}

impl Leaves {
    fn len(&self) -> usize {
        self.ids.len()
    }

    /// The position of `id` among the leaves from position `from` on.
    fn find(&self, id: u64, from: usize) -> Option<usize> {
        if self.index.is_empty() {
            let rest = self.ids.get(from..)?;
            rest.iter().position(|&l| l == id).map(|p| from + p)
        } else {
            self.index
                .get(&id)
                .map(|&j| j as usize)
                .filter(|&j| j >= from)
        }
    }

    /// Adds `id`, which is not a leaf yet.
    fn push(&mut self, id: u64) {
        self.ids.push(id);
        if self.ids.len() > LEAF_SCAN {
            if self.index.is_empty() {
                let all = self.ids.iter().enumerate().map(|(j, &id)| (id, j as u32));
                self.index.extend(all);
            } else {
                self.index.insert(id, (self.ids.len() - 1) as u32);
            }
        }
    }

    fn clear(&mut self) {
        self.ids.clear();
        self.index.clear();
    }
}

/// What a tape has recorded and watched: all a backward pass reads.
#[derive(Clone, Default)]
struct Recorded {
    records: Vec<Record>,
    leaves: Leaves,
    /// Set if a record's output has an identity below the previous record's. Identities made
    /// on one thread increase and every output is made just before it is recorded, so this
    /// stays false and outputs are found by bisection; if it did not, they would be scanned.
    unsorted: bool,
}

impl Recorded {
    /// The position of the record whose output has identity `id`.
    fn output_position(&self, id: u64) -> Option<usize> {
        let (first, last) = (self.records.first()?, self.records.last()?);
        if self.unsorted {
            return self.records.iter().rposition(|r| r.output.id() == id);
        }
        if id < first.output.id() || id > last.output.id() {
            None
        } else if id == last.output.id() {
            // most inputs are the output of the op just before
            Some(self.records.len() - 1)
        } else {
            self.records
                .binary_search_by_key(&id, |r| r.output.id())
                .ok()
        }
    }

    /// Where the gradient of the tensor with identity `id` goes now.
    fn slot(&self, id: u64) -> Slot {
        if let Some(k) = self.output_position(id) {
            Slot::Output(k as u32)
        } else if let Some(j) = self.leaves.find(id, 0) {
            Slot::Leaf(j as u32)
        } else {
            Slot::Unwatched
        }
    }

    /// Where the gradient of input `i` (identity `id`) of `r` goes now: as recorded, or to a
    /// leaf watched since.
    #[inline]
    fn slot_now(&self, r: &Record, i: usize, id: u64) -> Slot {
        match r.slots.get(i) {
            Slot::Unwatched if self.leaves.len() > r.leaves as usize => self
                .leaves
                .find(id, r.leaves as usize)
                .map_or(Slot::Unwatched, |j| Slot::Leaf(j as u32)),
            slot => slot,
        }
    }

    /// The slots of an op's inputs, if one of them is watched.
    fn slots_of(&self, inputs: &[Tensor]) -> Option<Slots> {
        let watched = |s: &Slot| *s != Slot::Unwatched;
        match inputs {
            [a] => {
                let s = [self.slot(a.id()), Slot::Unwatched, Slot::Unwatched];
                watched(&s[0]).then_some(Slots::Few(s))
            }
            [a, b] => {
                let s = [self.slot(a.id()), self.slot(b.id()), Slot::Unwatched];
                s.iter().any(watched).then_some(Slots::Few(s))
            }
            [a, b, c] => {
                let s = [self.slot(a.id()), self.slot(b.id()), self.slot(c.id())];
                s.iter().any(watched).then_some(Slots::Few(s))
            }
            _ => {
                if !inputs.iter().any(|t| watched(&self.slot(t.id()))) {
                    return None;
                }
                Some(Slots::Many(
                    inputs.iter().map(|t| self.slot(t.id())).collect(),
                ))
            }
        }
    }

    /// Starts watching `id`; false if it was watched already (a leaf or a record's output).
    fn watch(&mut self, id: u64) -> bool {
        let new = self.slot(id) == Slot::Unwatched;
        if new {
            self.leaves.push(id);
        }
        new
    }

    /// Appends a record (its output is then watched).
    fn push(&mut self, op: OpRef, inputs: Inputs, slots: Slots, output: &Tensor) {
        if self
            .records
            .last()
            .is_some_and(|r| r.output.id() >= output.id())
        {
            self.unsorted = true;
        }
        self.records.push(Record {
            op,
            inputs,
            slots,
            output: output.clone(),
            leaves: self.leaves.len() as u32,
        });
    }

    fn clear(&mut self) {
        self.records.clear();
        self.leaves.clear();
        self.unsorted = false;
    }
}

/// The buffers of a backward pass, kept by the tape (and handed to this thread's next tape
/// with the rest of its state) so that a training loop allocates them once.
#[derive(Default)]
struct Scratch {
    /// The gradient of each record's output, and whether it is a source's (kept to the end).
    grads: Vec<(Option<Tensor>, bool)>,
    /// The gradient of each leaf.
    leaf_grads: Vec<Option<Tensor>>,
    /// Where each source's gradient is.
    sources: Vec<Slot>,
    /// One op's input gradients.
    input_grads: Vec<Option<Tensor>>,
    /// One op's input slots and needs, for ops of more than three inputs.
    slots: Vec<Slot>,
    needs: Vec<bool>,
    /// The last default seed (ones of the target's shape and dtype): a training loop asks for
    /// the same one every step, and sharing it (tensors are immutable) saves its allocations.
    seed: Option<tt::Array>,
}

impl Scratch {
    /// Drops the gradients (not the seed), keeping the buffers.
    fn clear(&mut self) {
        self.grads.clear();
        self.leaf_grads.clear();
        self.sources.clear();
        self.input_grads.clear();
        self.slots.clear();
        self.needs.clear();
    }

    /// Ones of `target`'s shape and dtype, shared with the previous call's when they match.
    fn ones_like(&mut self, target: &tt::Array) -> tt::Array {
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
const SEED_CACHE_MAX: usize = 4096;

#[derive(Default)]
struct State {
    recorded: Recorded,
    variables: Vec<Variable>,
}

/// Buffers larger than this many entries are freed rather than kept for the next tape.
const SPARE_MAX: usize = 4096;

impl State {
    /// The name of a variable this tape watches.
    fn variable_name(&self, id: u64) -> Option<&str> {
        self.variables
            .iter()
            .find(|v| v.id() == id)
            .map(|v| v.name())
    }

    /// An op's name as the graph dump shows it (a read names its variable).
    fn op_name(&self, op: &OpRef) -> String {
        match op {
            OpRef::Read(read) => match self.variable_name(read.0) {
                Some(name) => format!("ReadVariable({name})"),
                None => format!("ReadVariable(#{})", read.0),
            },
            op => op.name(),
        }
    }

    /// Empties the state for another tape, dropping what it holds now.
    fn clear_for_reuse(&mut self) {
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
    fn clear_for_reuse(&mut self) {
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
fn limit<T>(v: &mut Vec<T>) {
    if v.capacity() > SPARE_MAX {
        *v = Vec::new();
    } else {
        v.clear();
    }
}

struct Shared {
    persistent: bool,
    watch_accessed_variables: bool,
    /// Recording now (not paused, not finished).
    recording: Cell<bool>,
    /// Still on this thread's stack of tapes (until finished or dropped).
    active: Cell<bool>,
    used: Cell<bool>,
    state: RefCell<State>,
    /// The backward pass's buffers (apart from `state`: borrowed while the ops' backward
    /// functions run, which must not find the state borrowed).
    scratch: RefCell<Scratch>,
}

impl Shared {
    fn new(options: TapeOptions, state: State) -> Self {
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
struct Tapes {
    /// The tapes on this thread's stack (made, not yet finished or dropped), oldest first.
    active: Vec<Rc<Shared>>,
    /// The last dropped tapes (at most [`SPARE_TAPES`]), emptied, for the next ones: a training
    /// loop that makes a tape a step (or nested tapes) reuses their allocations and buffers
    /// instead of making new ones every step.
    spare: Vec<Rc<Shared>>,
}

/// How many dropped tapes a thread keeps for reuse.
const SPARE_TAPES: usize = 4;

thread_local! {
    static TAPES: RefCell<Tapes> = const {
        RefCell::new(Tapes {
            active: Vec::new(),
            spare: Vec::new(),
        })
    };
    /// Whether `TAPES.active` is non-empty: what every op asks first, in one load.
    static ANY_ACTIVE: Cell<bool> = const { Cell::new(false) };
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

fn record_read_on_tapes(var: &Variable, value: &Tensor) {
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
    fn name(&self) -> String {
        "ReadVariable".into()
    }
    fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
        out.push(Some(b.grad.clone()));
        Ok(())
    }
}

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
    fn source_zeros(&self) -> tt::Array;
    /// The variable, when the source is one (a tape keeps the variables it watches).
    fn as_variable(&self) -> Option<&Variable> {
        None
    }
}

impl Source for Tensor {
    fn source_id(&self) -> u64 {
        self.id()
    }
    fn source_zeros(&self) -> tt::Array {
        self.value().zeros_like()
    }
}

impl Source for Variable {
    fn source_id(&self) -> u64 {
        self.id()
    }
    fn source_zeros(&self) -> tt::Array {
        tt::Array::zeros(self.dtype(), self.shape())
    }
    fn as_variable(&self) -> Option<&Variable> {
        Some(self)
    }
}

impl<S: Source + ?Sized> Source for &S {
    fn source_id(&self) -> u64 {
        (**self).source_id()
    }
    fn source_zeros(&self) -> tt::Array {
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
        let grads = self.run(|recorded, scratch| {
            let seed = match given {
                Some(g) => g,
                None => Tensor::new(scratch.ones_like(target.value())),
            };
            backward_pass(recorded, scratch, target, seed, sources)
        })?;
        // `grads` first: the vector is collected in place (no second allocation)
        Ok(grads
            .into_iter()
            .zip(sources)
            .map(|(g, s)| match (g, unconnected) {
                (Some(g), _) => Some(g),
                (None, UnconnectedGradients::Zero) => Some(Tensor::new(s.source_zeros())),
                (None, UnconnectedGradients::None) => None,
            })
            .collect())
    }

    /// The Jacobian of `target` with respect to `source`: shape `target.shape + source.shape`.
    ///
    /// ```
    /// use tapegrad_autodiff::{GradientTape, Tensor};
    /// let x = Tensor::from_vec(vec![1.0f64, 2.0], &[2])?;
    /// let tape = GradientTape::new();
    /// tape.watch(&x);
    /// let y = tapegrad_autodiff::square(&x)?;
    /// let j = tape.jacobian(&y, &x)?;
    /// assert_eq!(j.shape(), &[2, 2]);
    /// assert_eq!(j.to_vec::<f64>()?, vec![2.0, 0.0, 0.0, 4.0]);
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    pub fn jacobian<S: Source>(&self, target: &Tensor, source: &S) -> Result<Tensor> {
        let zeros = source.source_zeros();
        let n = target.len();
        let dtype = target.dtype();
        let rows = self.run(|recorded, scratch| {
            (0..n)
                .map(|i| {
                    let mut onehot = vec![0.0f64; n];
                    onehot[i] = 1.0;
                    let seed = tt::Array::from_vec(onehot, target.shape())?.cast(dtype);
                    let sources = std::slice::from_ref(source);
                    let g = backward_pass(recorded, scratch, target, Tensor::new(seed), sources)?;
                    Ok(match g.into_iter().next().flatten() {
                        Some(g) => g,
                        None => Tensor::new(zeros.clone()),
                    })
                })
                .collect::<Result<Vec<_>>>()
        })?;
        let mut shape = target.shape().to_vec();
        shape.extend_from_slice(zeros.shape());
        if rows.is_empty() {
            return Ok(Tensor::new(tt::Array::zeros(zeros.dtype(), &shape)));
        }
        let flat: Vec<Tensor> = rows
            .iter()
            .map(|r| ops::reshape(r, &[-1]))
            .collect::<Result<_>>()?;
        let stacked = ops::stack(&flat, 0)?;
        let dims: Vec<isize> = shape.iter().map(|&d| d as isize).collect();
        ops::reshape(&stacked, &dims)
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

    /// The recorded graph as Graphviz DOT: one box per op, one ellipse per tensor, labelled
    /// with shapes and dtypes.
    ///
    /// ```
    /// use tapegrad_autodiff::{GradientTape, Variable};
    /// let a = Variable::new(2.0f32).with_name("a");
    /// let tape = GradientTape::new();
    /// let y = tapegrad_autodiff::square(&a)?;
    /// let dot = tape.to_dot();
    /// assert!(dot.starts_with("digraph tape {"));
    /// assert!(dot.contains("Square") && dot.contains("ReadVariable(a)"));
    /// # let _ = y;
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    pub fn to_dot(&self) -> String {
        use std::fmt::Write;
        let st = self.shared.state.borrow();
        let mut out =
            String::from("digraph tape {\n  rankdir=LR;\n  node [fontname=\"monospace\"];\n");
        let mut seen = IdSet::default();
        let var_names: IdMap<String> = st
            .variables
            .iter()
            .map(|v| (v.id(), v.name().to_string()))
            .collect();
        let mut node = |out: &mut String, t: &Tensor| {
            if seen.insert(t.id()) {
                let label = match var_names.get(&t.id()) {
                    Some(n) => format!("variable {n}\\n{:?} {}", t.shape(), t.dtype()),
                    None => format!("t{}\\n{:?} {}", t.id(), t.shape(), t.dtype()),
                };
                let _ = writeln!(out, "  t{} [shape=ellipse, label=\"{label}\"];", t.id());
            }
        };
        for (i, r) in st.recorded.records.iter().enumerate() {
            // a variable read's input: the variable, with the value read
            let read;
            let inputs = match (&r.op, &r.inputs) {
                (OpRef::Read(ReadVariable(id)), Inputs::Read) => {
                    read = [r.output.with_id(*id)];
                    &read[..]
                }
                (_, inputs) => inputs.as_slice(),
            };
            for t in inputs {
                node(&mut out, t);
            }
            node(&mut out, &r.output);
            let _ = writeln!(
                out,
                "  op{i} [shape=box, label=\"{}\"];",
                st.op_name(&r.op).replace('"', "'")
            );
            for t in inputs {
                let _ = writeln!(out, "  t{} -> op{i};", t.id());
            }
            let _ = writeln!(out, "  op{i} -> t{};", r.output.id());
        }
        out.push_str("}\n");
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

/// Reverse accumulation over the records from `target` (seeded with `seed`) to `sources`, in
/// `scratch`'s buffers (left empty).
fn backward_pass<S: Source>(
    recorded: &Recorded,
    scratch: &mut Scratch,
    target: &Tensor,
    seed: Tensor,
    sources: &[S],
) -> Result<Vec<Option<Tensor>>> {
    let out = accumulate(recorded, scratch, target, seed, sources);
    scratch.clear();
    out
}

/// The gradient a slot holds.
fn slot_grad<'a>(
    grads: &'a mut [(Option<Tensor>, bool)],
    leaf_grads: &'a mut [Option<Tensor>],
    slot: Slot,
) -> Option<&'a mut Option<Tensor>> {
    match slot {
        Slot::Output(k) => grads.get_mut(k as usize).map(|(g, _)| g),
        Slot::Leaf(j) => leaf_grads.get_mut(j as usize),
        Slot::Unwatched => None,
    }
}

/// Adds `g` to the gradient in `sum` (recorded, like every op, if a tape records).
#[inline]
fn add_into(sum: &mut Option<Tensor>, g: Tensor) -> Result<()> {
    match sum {
        None => {
            *sum = Some(g);
            Ok(())
        }
        Some(prev) => add_to(prev, g),
    }
}

/// `*prev += g`, kept out of line: most gradients reach their slot once.
#[inline(never)]
fn add_to(prev: &mut Tensor, g: Tensor) -> Result<()> {
    *prev = ops::add(&*prev, &g)?;
    Ok(())
}

/// [`backward_pass`]'s work, which may stop at an error.
fn accumulate<S: Source>(
    recorded: &Recorded,
    scratch: &mut Scratch,
    target: &Tensor,
    seed: Tensor,
    sources: &[S],
) -> Result<Vec<Option<Tensor>>> {
    let Scratch {
        grads,
        leaf_grads,
        sources: source_slots,
        input_grads,
        slots: many_slots,
        needs: many_needs,
        seed: _,
    } = scratch;
    let records = &recorded.records;
    grads.clear();
    grads.resize_with(records.len(), || (None, false));
    leaf_grads.clear();
    leaf_grads.resize_with(recorded.leaves.len(), || None);
    input_grads.clear();
    // the sources are found once; an intermediate one keeps its gradient to the end
    source_slots.clear();
    source_slots.extend(sources.iter().map(|s| recorded.slot(s.source_id())));
    for &slot in source_slots.iter() {
        if let Slot::Output(k) = slot {
            if let Some((_, keep)) = grads.get_mut(k as usize) {
                *keep = true;
            }
        }
    }
    // An unwatched target reaches only the sources that are the target itself.
    let mut unwatched_seed = None;
    match slot_grad(grads, leaf_grads, recorded.slot(target.id())) {
        Some(g) => *g = Some(seed),
        None => unwatched_seed = Some(seed),
    }
    for (k, r) in records.iter().enumerate().rev() {
        let g = match grads.get_mut(k) {
            Some((g, true)) => g.clone(),
            Some((g, false)) => g.take(),
            None => None,
        };
        let Some(g) = g else { continue };
        if let (OpRef::Read(_), Slot::Leaf(_)) = (&r.op, r.slots.get(0)) {
            // a variable read passes its gradient on unchanged: moved to the variable, without
            // a call of the op
            if let Some(sum) = slot_grad(grads, leaf_grads, r.slots.get(0)) {
                add_into(sum, g)?;
            }
            continue;
        }
        let inputs = r.inputs.as_slice();
        let n = inputs.len();
        let (mut few_slots, mut few_needs) = ([Slot::Unwatched; 3], [false; 3]);
        let (slots, needs): (&mut [Slot], &mut [bool]) = if n <= 3 {
            (&mut few_slots[..n], &mut few_needs[..n])
        } else {
            many_slots.clear();
            many_slots.resize(n, Slot::Unwatched);
            many_needs.clear();
            many_needs.resize(n, false);
            (many_slots, many_needs)
        };
        let mut any = false;
        for (i, ((t, slot), need)) in inputs.iter().zip(&mut *slots).zip(&mut *needs).enumerate() {
            *slot = recorded.slot_now(r, i, t.id());
            *need = *slot != Slot::Unwatched;
            any |= *need;
        }
        if !any {
            continue;
        }
        let b = Backward {
            inputs,
            output: &r.output,
            grad: &g,
            needs,
        };
        // `input_grads` is empty here (cleared before the first op and after each)
        // the tape chooses: recorded ops when a tape records this pass, else the op's plain form
        if any_active() {
            r.op.backward(&b, input_grads)?;
        } else {
            r.op.backward_unrecorded(&b, input_grads)?;
        }
        if input_grads.len() != inputs.len() {
            let message = format!(
                "op {} gave {} gradients for its {} inputs (Op::backward pushes one per input)",
                r.op.name(),
                input_grads.len(),
                inputs.len()
            );
            input_grads.clear();
            return Err(Error::Invalid {
                op: "gradient",
                message,
            });
        }
        for (gi, &slot) in input_grads.iter_mut().zip(&*slots) {
            let Some(gi) = gi.take() else { continue };
            if let Some(sum) = slot_grad(grads, leaf_grads, slot) {
                add_into(sum, gi)?;
            }
        }
        input_grads.clear();
    }
    let target_id = target.id();
    Ok(sources
        .iter()
        .zip(source_slots.iter())
        .map(|(s, &slot)| match slot_grad(grads, leaf_grads, slot) {
            Some(g) => g.clone(),
            None if s.source_id() == target_id => unwatched_seed.clone(),
            None => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let read = format!("t{} -> op0;", a.id());
        assert!(dot.contains("label=\"variable a\\n[] float32\""), "{dot}");
        assert!(dot.contains(&read), "{dot}");
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
