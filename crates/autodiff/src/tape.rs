//! [`GradientTape`]: records the ops run on watched tensors and variables, and plays them back
//! in reverse to compute gradients.
//!
//! How it works, in one paragraph: every tensor and variable has an identity. A tape keeps the
//! set of identities it watches. When an op runs while a tape records and one of the op's inputs
//! is watched, the tape appends the op (with its inputs and output) to its list and starts
//! watching the output. `gradient` walks that list backwards from the target, asking each op to
//! turn its output's gradient into its inputs' gradients, and sums what reaches each source.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;

use tapegrad_tensor as tt;

use crate::op::{Backward, Op, OpRef};
use crate::{ops, Error, Result, Tensor, Variable};

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

/// One recorded op.
#[derive(Clone)]
struct Record {
    op: OpRef,
    inputs: Inputs,
    output: Tensor,
}

/// The inputs of a record: one or two inline (nearly every op), more on the heap.
#[derive(Clone)]
pub(crate) enum Inputs {
    One([Tensor; 1]),
    Two([Tensor; 2]),
    Many(Vec<Tensor>),
}

impl Inputs {
    pub(crate) fn from_refs(inputs: &[&Tensor]) -> Self {
        match inputs {
            [a] => Inputs::One([(*a).clone()]),
            [a, b] => Inputs::Two([(*a).clone(), (*b).clone()]),
            _ => Inputs::Many(inputs.iter().map(|&t| t.clone()).collect()),
        }
    }

    fn as_slice(&self) -> &[Tensor] {
        match self {
            Inputs::One(t) => t,
            Inputs::Two(t) => t,
            Inputs::Many(t) => t,
        }
    }
}

/// Tapes are short: room for this many watched tensors before the set grows.
const WATCHED_CAPACITY: usize = 32;

struct State {
    watched: IdSet,
    records: Vec<Record>,
    variables: Vec<Variable>,
}

impl Default for State {
    fn default() -> Self {
        let (records, watched, variables) = SPARE
            .try_with(|s| {
                s.try_borrow_mut().ok().map(|mut s| {
                    (
                        std::mem::take(&mut s.records),
                        std::mem::take(&mut s.watched),
                        std::mem::take(&mut s.variables),
                    )
                })
            })
            .ok()
            .flatten()
            .unwrap_or_default();
        State {
            watched: if watched.capacity() > 0 {
                watched
            } else {
                IdSet::with_capacity_and_hasher(WATCHED_CAPACITY, Default::default())
            },
            records,
            variables,
        }
    }
}

/// The buffers of this thread's last finished tape and backward pass, emptied, for the next
/// ones: a training loop that makes a tape a step stops allocating them every step.
#[derive(Default)]
struct Spare {
    records: Vec<Record>,
    watched: IdSet,
    variables: Vec<Variable>,
    grads: IdMap<Tensor>,
    needs: Vec<bool>,
    input_grads: Vec<Option<Tensor>>,
}

/// Buffers larger than this many entries are freed rather than kept.
const SPARE_MAX: usize = 4096;

thread_local! {
    static SPARE: RefCell<Spare> = RefCell::new(Spare::default());
}

/// Empties the buffers (dropping their contents first) and keeps those the spare lacks.
fn give_back(
    mut records: Vec<Record>,
    mut watched: IdSet,
    mut variables: Vec<Variable>,
    mut grads: IdMap<Tensor>,
) {
    records.clear();
    watched.clear();
    variables.clear();
    grads.clear();
    let _ = SPARE.try_with(|s| {
        let Ok(mut s) = s.try_borrow_mut() else {
            return;
        };
        if s.records.capacity() == 0 && records.capacity() <= SPARE_MAX {
            s.records = records;
        }
        if s.watched.capacity() == 0 && watched.capacity() <= SPARE_MAX {
            s.watched = watched;
        }
        if s.variables.capacity() == 0 && variables.capacity() <= SPARE_MAX {
            s.variables = variables;
        }
        if s.grads.capacity() == 0 && grads.capacity() <= SPARE_MAX {
            s.grads = grads;
        }
    });
}

/// An empty gradient map: the spare one, or a new one with room for `n` entries.
fn take_grads(n: usize) -> IdMap<Tensor> {
    let spare = SPARE
        .try_with(|s| {
            s.try_borrow_mut()
                .map(|mut s| std::mem::take(&mut s.grads))
                .unwrap_or_default()
        })
        .unwrap_or_default();
    if spare.capacity() > 0 {
        spare
    } else {
        IdMap::with_capacity_and_hasher(n, Default::default())
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let st = self.state.get_mut();
        give_back(
            std::mem::take(&mut st.records),
            std::mem::take(&mut st.watched),
            std::mem::take(&mut st.variables),
            IdMap::default(),
        );
    }
}

struct Shared {
    persistent: bool,
    watch_accessed_variables: bool,
    /// Recording now (not paused, not finished).
    recording: std::cell::Cell<bool>,
    /// Still on this thread's stack of tapes (until finished or dropped).
    active: std::cell::Cell<bool>,
    used: std::cell::Cell<bool>,
    state: RefCell<State>,
}

thread_local! {
    static ACTIVE: RefCell<Vec<Rc<Shared>>> = const { RefCell::new(Vec::new()) };
}

/// True when some tape on this thread may record.
#[inline]
pub(crate) fn any_active() -> bool {
    ACTIVE.with(|a| !a.borrow().is_empty())
}

/// Records `op` on each recording tape that watches one of `inputs` (moved into the last such
/// tape's record, cloned for the others).
pub(crate) fn record_op(op: OpRef, inputs: Inputs, output: &Tensor) {
    ACTIVE.with(|a| {
        let tapes = a.borrow();
        let wants = |tape: &Shared, inputs: &Inputs| {
            tape.recording.get() && {
                let st = tape.state.borrow();
                inputs
                    .as_slice()
                    .iter()
                    .any(|t| st.watched.contains(&t.id()))
            }
        };
        let Some(last) = tapes.iter().rposition(|tape| wants(tape, &inputs)) else {
            return;
        };
        for tape in tapes[..last].iter().filter(|tape| wants(tape, &inputs)) {
            tape.push(op.clone(), inputs.clone(), output);
        }
        tapes[last].push(op, inputs, output);
    });
}

/// Called when a variable is read: tapes that watch it (or watch every trainable variable read)
/// record the read, so that the gradient reaches the variable.
pub(crate) fn record_read(var: &Variable, value: &Tensor) {
    ACTIVE.with(|a| {
        for tape in a.borrow().iter() {
            if !tape.recording.get() {
                continue;
            }
            let mut st = tape.state.borrow_mut();
            let id = var.id();
            if tape.watch_accessed_variables && var.trainable() && st.watched.insert(id) {
                st.variables.push(var.clone());
            }
            if st.watched.contains(&id) {
                st.watched.insert(value.id());
                st.records.push(Record {
                    op: OpRef::Read(ReadVariable(var.clone())),
                    inputs: Inputs::One([value.with_id(id)]),
                    output: value.clone(),
                });
            }
        }
    });
}

/// The read of a variable: the gradient passes through unchanged.
#[derive(Clone)]
pub(crate) struct ReadVariable(Variable);

impl Op for ReadVariable {
    fn name(&self) -> String {
        format!("ReadVariable({})", self.0.name())
    }
    fn backward(&self, b: &Backward<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(b.grad.clone())])
    }
    fn backward_into(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
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
    fn source_zeros(&self) -> tt::Tensor;
}

impl Source for Tensor {
    fn source_id(&self) -> u64 {
        self.id()
    }
    fn source_zeros(&self) -> tt::Tensor {
        self.value().zeros_like()
    }
}

impl Source for Variable {
    fn source_id(&self) -> u64 {
        self.id()
    }
    fn source_zeros(&self) -> tt::Tensor {
        self.snapshot().zeros_like()
    }
}

impl<S: Source + ?Sized> Source for &S {
    fn source_id(&self) -> u64 {
        (**self).source_id()
    }
    fn source_zeros(&self) -> tt::Tensor {
        (**self).source_zeros()
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
        let shared = Rc::new(Shared {
            persistent: options.persistent,
            watch_accessed_variables: options.watch_accessed_variables,
            recording: std::cell::Cell::new(true),
            active: std::cell::Cell::new(true),
            used: std::cell::Cell::new(false),
            state: RefCell::new(State::default()),
        });
        ACTIVE.with(|a| a.borrow_mut().push(shared.clone()));
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
        self.shared
            .state
            .borrow_mut()
            .watched
            .insert(source.source_id());
    }

    /// Starts watching a variable, as `tape.watch(variable)` (also for non-trainable ones).
    pub fn watch_variable(&self, var: &Variable) {
        let mut st = self.shared.state.borrow_mut();
        if st.watched.insert(var.id()) {
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
        st.watched.clear();
        st.records.clear();
        st.variables.clear();
        self.shared.used.set(false);
    }

    /// Number of ops recorded so far.
    pub fn len(&self) -> usize {
        self.shared.state.borrow().records.len()
    }

    /// True when nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
        let seed = match output_gradients {
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
                g.clone()
            }
            None => Tensor::new(ones_like_cached(target.value())),
        };
        // a few sources' ids on the stack
        let mut few = [0u64; 8];
        let many: Vec<u64>;
        let ids: &[u64] = if sources.len() <= few.len() {
            for (slot, s) in few.iter_mut().zip(sources) {
                *slot = s.source_id();
            }
            &few[..sources.len()]
        } else {
            many = sources.iter().map(|s| s.source_id()).collect();
            &many
        };
        let grads =
            self.run(|records, watched| backward_pass(records, watched, target, seed, ids))?;
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
        let id = source.source_id();
        let zeros = source.source_zeros();
        let n = target.len();
        let dtype = target.dtype();
        let rows = self.run(|records, watched| {
            (0..n)
                .map(|i| {
                    let mut onehot = vec![0.0f64; n];
                    onehot[i] = 1.0;
                    let seed = tt::Tensor::from_vec(onehot, target.shape())?.cast(dtype);
                    let g = backward_pass(records, watched, target, Tensor::new(seed), &[id])?;
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
            return Ok(Tensor::new(tt::Tensor::zeros(zeros.dtype(), &shape)));
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
    fn run<R>(&self, f: impl FnOnce(&[Record], &IdSet) -> Result<R>) -> Result<R> {
        let sh = &self.shared;
        if sh.used.get() && !sh.persistent {
            return Err(Error::TapeConsumed);
        }
        let was = sh.recording.replace(false);
        if !sh.persistent {
            deactivate(sh);
            sh.used.set(true);
        }
        let (records, watched) = {
            let mut st = sh.state.borrow_mut();
            if sh.persistent {
                (st.records.clone(), st.watched.clone())
            } else {
                (
                    std::mem::take(&mut st.records),
                    std::mem::take(&mut st.watched),
                )
            }
        };
        let out = f(&records, &watched);
        if sh.persistent {
            sh.recording.set(was && sh.active.get());
        } else {
            give_back(records, watched, Vec::new(), IdMap::default());
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
        for (i, r) in st.records.iter().enumerate() {
            for t in r.inputs.as_slice() {
                node(&mut out, t);
            }
            node(&mut out, &r.output);
            let _ = writeln!(
                out,
                "  op{i} [shape=box, label=\"{}\"];",
                r.op.name().replace('"', "'")
            );
            for t in r.inputs.as_slice() {
                let _ = writeln!(out, "  t{} -> op{i};", t.id());
            }
            let _ = writeln!(out, "  op{i} -> t{};", r.output.id());
        }
        out.push_str("}\n");
        out
    }
}

impl Shared {
    /// Appends a record and watches its output.
    fn push(&self, op: OpRef, inputs: Inputs, output: &Tensor) {
        let mut st = self.state.borrow_mut();
        st.watched.insert(output.id());
        st.records.push(Record {
            op,
            inputs,
            output: output.clone(),
        });
    }
}

fn deactivate(shared: &Rc<Shared>) {
    if shared.active.replace(false) {
        ACTIVE.with(|a| a.borrow_mut().retain(|t| !Rc::ptr_eq(t, shared)));
    }
}

impl Drop for GradientTape {
    fn drop(&mut self) {
        deactivate(&self.shared);
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

/// Reverse accumulation over `records` from `target` (seeded with `seed`) to `sources`.
/// Seeds of at most this many elements are kept for the next gradient of the same shape.
const SEED_CACHE_MAX: usize = 4096;

thread_local! {
    /// The last default seed (ones of the target's shape and dtype): a training loop asks for
    /// the same one every step, and sharing it (tensors are immutable) saves its allocations.
    static SEED: RefCell<Option<tt::Tensor>> = const { RefCell::new(None) };
}

/// Ones of `target`'s shape and dtype, shared with the previous call's when they match.
fn ones_like_cached(target: &tt::Tensor) -> tt::Tensor {
    if target.len() > SEED_CACHE_MAX {
        return target.ones_like();
    }
    SEED.try_with(|cell| {
        let mut cached = cell.try_borrow_mut().ok()?;
        match &*cached {
            Some(t) if t.dtype() == target.dtype() && t.shape() == target.shape() => {
                Some(t.clone())
            }
            _ => {
                let t = target.ones_like();
                *cached = Some(t.clone());
                Some(t)
            }
        }
    })
    .ok()
    .flatten()
    .unwrap_or_else(|| target.ones_like())
}

fn backward_pass(
    records: &[Record],
    watched: &IdSet,
    target: &Tensor,
    seed: Tensor,
    sources: &[u64],
) -> Result<Vec<Option<Tensor>>> {
    // A few sources are searched in place; many go in a set.
    let source_set: Option<IdSet> = (sources.len() > 8).then(|| sources.iter().copied().collect());
    let is_source = |id: u64| match &source_set {
        Some(set) => set.contains(&id),
        None => sources.contains(&id),
    };
    let mut grads: IdMap<Tensor> = take_grads((records.len() + 1).min(WATCHED_CAPACITY));
    if watched.contains(&target.id()) || is_source(target.id()) {
        grads.insert(target.id(), seed);
    }
    let (mut needs, mut input_grads) = SPARE
        .try_with(|s| {
            s.try_borrow_mut()
                .map(|mut s| {
                    (
                        std::mem::take(&mut s.needs),
                        std::mem::take(&mut s.input_grads),
                    )
                })
                .unwrap_or_default()
        })
        .unwrap_or_default();
    for r in records.iter().rev() {
        let oid = r.output.id();
        let g = if is_source(oid) {
            grads.get(&oid).cloned()
        } else {
            grads.remove(&oid)
        };
        let Some(g) = g else { continue };
        let inputs = r.inputs.as_slice();
        needs.clear();
        needs.extend(inputs.iter().map(|t| watched.contains(&t.id())));
        if !needs.iter().any(|&n| n) {
            continue;
        }
        let b = Backward {
            inputs,
            output: &r.output,
            grad: &g,
            needs: &needs,
        };
        input_grads.clear();
        r.op.backward_into(&b, &mut input_grads)?;
        for ((t, gi), &need) in inputs.iter().zip(input_grads.drain(..)).zip(needs.iter()) {
            let Some(gi) = gi else { continue };
            if !need {
                continue;
            }
            match grads.remove(&t.id()) {
                Some(prev) => {
                    let sum = ops::add(&prev, &gi)?;
                    grads.insert(t.id(), sum);
                }
                None => {
                    grads.insert(t.id(), gi);
                }
            }
        }
    }
    let out = sources.iter().map(|id| grads.get(id).cloned()).collect();
    give_back(Vec::new(), IdSet::default(), Vec::new(), grads);
    input_grads.clear();
    let _ = SPARE.try_with(|s| {
        if let Ok(mut s) = s.try_borrow_mut() {
            s.needs = needs;
            s.input_grads = input_grads;
        }
    });
    Ok(out)
}
