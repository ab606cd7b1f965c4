//! Tracing: the kernels a computation runs, recorded once and replayed without the code that
//! called them (the machinery under `tapegrad::function`, TensorFlow's `tf.function`).
//!
//! While a thread traces ([`Trace::begin`]), every kernel of this crate called from outside a
//! kernel is recorded as a node: its name, which earlier value (or captured constant) each input
//! is, and a closure that runs the same kernel again. Crates above add their own nodes: a
//! *source* whose value is read anew at each replay (a variable's value), an *effect* that
//! changes state outside the arrays (a variable's assignment), and a *host* node the caller of
//! [`Trace::replay`] carries out (an optimizer's update). A replay runs the recorded kernels, in
//! the recorded order, on the new inputs: the same kernels on the same operands, so the same
//! bits as the run that was traced.
//!
//! Values are told apart by their allocation: the trace holds every value it records, so no
//! allocation is reused while it traces, and an array it has not seen made is a constant of the
//! trace (captured by value, as `tf.function` captures an eager tensor). Reading a recorded
//! value into Rust ([`Array::item`], [`Array::to_vec`], ...) while tracing makes the trace
//! *untraceable* (its replay could not follow a branch taken on the value): the reason, naming
//! the read, is in [`Trace::untraceable`].
//!
//! ```
//! use tapegrad_tensor::{trace::Trace, Array};
//! let x = Array::from_vec(vec![1.0f32, 2.0], &[2])?;
//! let tracing = Trace::begin(&[&x]);
//! let y = x.mul(&x)?.add(&Array::scalar(1.0f32))?;
//! let trace = tracing.finish(&y)?;
//! assert_eq!(trace.len(), 2); // mul, add
//! let x2 = Array::from_vec(vec![3.0f32, 4.0], &[2])?;
//! let y2 = trace.replay(&[&x2], &mut |_, _| Ok(()))?;
//! assert_eq!(y2.to_vec::<f32>()?, vec![10.0, 17.0]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use smallvec::SmallVec;

use crate::fuse::{self, Fusable, PlanNode, Step};
use crate::{Array, DType, Result, TensorError};

/// An error of a node a crate above this one adds (a variable's assignment, an optimizer's
/// update), boxed so this crate need not know its type.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The closure that runs a kernel again on the replay's operands.
pub type KernelFn = Box<dyn Fn(&[&Array]) -> Result<Array> + Send + Sync>;
/// The closure that runs an in-place kernel again: on the replay's first operand (a value of
/// its own), with the second.
type InPlaceFn = Box<dyn Fn(&mut Array, &Array) -> Result<()> + Send + Sync>;
/// The closure that reads a source's value at a replay.
pub type SourceFn = Box<dyn Fn() -> std::result::Result<Array, BoxError> + Send + Sync>;
/// The closure that carries out an effect at a replay.
pub type EffectFn = Box<dyn Fn(&[&Array]) -> std::result::Result<(), BoxError> + Send + Sync>;
/// What a host node hands the caller of [`Trace::replay`]: its payload and its operands.
pub type HostFn<'a> =
    dyn FnMut(&(dyn Any + Send + Sync), &[&Array]) -> std::result::Result<(), BoxError> + 'a;

/// How many threads are tracing: when none is, a kernel pays one relaxed load to know it.
static TRACING: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static BUILDER: RefCell<Option<Builder>> = const { RefCell::new(None) };
}

/// Where a node's operand comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operand {
    /// The value of an earlier node (or argument), by its slot.
    Slot(u32),
    /// A constant captured at trace time.
    Const(u32),
}

/// What a node does at a replay.
enum Action {
    /// The `i`-th argument of the replay.
    Arg(usize),
    Kernel(KernelFn),
    /// An in-place kernel: its output is its first operand updated (by the second).
    InPlace(InPlaceFn),
    Source(SourceFn),
    Effect(EffectFn),
    Host(Box<dyn Any + Send + Sync>),
}

/// One recorded step.
struct Node {
    name: &'static str,
    action: Action,
    operands: Vec<Operand>,
    /// The slot the node's value goes to (none for effects and host nodes).
    output: Option<u32>,
    /// The value's shape and dtype at trace time (checked for sources and arguments).
    shape: Vec<usize>,
    dtype: DType,
    /// What the kernel declares of itself for fusion, when it can be fused.
    fuse: Option<Fusable>,
    /// An in-place kernel's: whether it is the last use of the value it updates (which it may
    /// then update itself) when the plan runs, and when the nodes run one by one.
    last_use: (bool, bool),
}

/// The order a replay runs the nodes in: the plan's, the nodes' one by one, or either keeping
/// every value (nothing is updated in place then).
#[derive(Clone, Copy)]
enum Order {
    Plan,
    Nodes,
    Keep,
}

/// A trace being recorded on this thread.
struct Builder {
    /// Above 0 inside a kernel or a paused section: nothing is recorded there.
    depth: u32,
    nodes: Vec<Node>,
    /// The slot of each value seen, by its allocation.
    slots: HashMap<usize, u32>,
    /// Every value recorded, by slot: held so that no allocation is reused while tracing.
    values: Vec<Array>,
    consts: Vec<Array>,
    const_index: HashMap<usize, u32>,
    untraceable: Option<String>,
    states: Vec<State>,
}

/// A piece of state outside the arrays that the trace reads or changes (a variable), as a
/// verifying caller saves and restores it.
struct State {
    id: u64,
    read: SourceFn,
    write: EffectFn,
}

impl Builder {
    fn operand(&mut self, a: &Array) -> Operand {
        let key = a.key();
        if let Some(&s) = self.slots.get(&key) {
            return Operand::Slot(s);
        }
        let next = self.consts.len() as u32;
        let c = *self.const_index.entry(key).or_insert(next);
        if c == next {
            self.consts.push(a.clone());
        }
        Operand::Const(c)
    }

    fn push(&mut self, name: &'static str, action: Action, inputs: &[&Array], out: Option<&Array>) {
        self.push_fusable(name, action, inputs, out, None)
    }

    fn push_fusable(
        &mut self,
        name: &'static str,
        action: Action,
        inputs: &[&Array],
        out: Option<&Array>,
        fuse: Option<Fusable>,
    ) {
        let operands = inputs.iter().map(|a| self.operand(a)).collect();
        let (output, shape, dtype) = match out {
            Some(v) => {
                let s = self.values.len() as u32;
                self.values.push(v.clone());
                self.slots.insert(v.key(), s);
                (Some(s), v.shape().to_vec(), v.dtype())
            }
            None => (None, Vec::new(), DType::F32),
        };
        self.nodes.push(Node {
            name,
            action,
            operands,
            output,
            shape,
            dtype,
            fuse,
            last_use: (false, false),
        });
    }
}

/// Whether this thread records kernels now (tracing, and not inside a kernel or a pause).
#[inline(always)]
pub fn recording() -> bool {
    TRACING.load(Ordering::Relaxed) != 0 && recording_slow()
}

#[inline(never)]
fn recording_slow() -> bool {
    BUILDER.with(|b| b.borrow().as_ref().is_some_and(|b| b.depth == 0))
}

fn with_builder<R>(f: impl FnOnce(&mut Builder) -> R) -> Option<R> {
    BUILDER.with(|b| b.borrow_mut().as_mut().map(f))
}

/// Leaves a paused section (or a kernel) when dropped: see [`pause`].
pub struct Paused {
    active: bool,
}

impl Drop for Paused {
    fn drop(&mut self) {
        if self.active {
            with_builder(|b| b.depth -= 1);
        }
    }
}

/// Stops recording until the guard is dropped: what runs meanwhile belongs to a node recorded
/// by the caller (an effect, a host node), which replays it whole.
pub fn pause() -> Paused {
    let active = TRACING.load(Ordering::Relaxed) != 0 && with_builder(|b| b.depth += 1).is_some();
    Paused { active }
}

/// Runs `f` on `inputs` and, when this thread records, records it as a kernel node named
/// `name` that runs `f` again at each replay. Kernels called inside `f` are part of it.
///
/// Crates above this one wrap their own kernels (code that reads arrays' elements) in this,
/// so that a trace replays them instead of finding them untraceable. `f` must be a function
/// of its inputs alone (no random draw, no state read): a kernel whose inputs are all
/// constants of the trace is run once, while tracing, and its value kept as a constant.
pub fn kernel<F>(name: &'static str, inputs: &[&Array], f: F) -> Result<Array>
where
    F: Fn(&[&Array]) -> Result<Array> + Send + Sync + 'static,
{
    if !recording() {
        return f(inputs);
    }
    let out = {
        let _inside = pause();
        f(inputs)?
    };
    with_builder(|b| b.push(name, Action::Kernel(Box::new(f)), inputs, Some(&out)));
    Ok(out)
}

/// [`kernel`] for a kernel of this crate that declares itself for fusion: `fuse` (asked only
/// while recording, given the inputs and the output) says what the kernel computes
/// elementwise, or `None` when this call of it cannot be fused.
pub(crate) fn kernel_fused<F, D>(
    name: &'static str,
    inputs: &[&Array],
    fuse: D,
    f: F,
) -> Result<Array>
where
    F: Fn(&[&Array]) -> Result<Array> + Send + Sync + 'static,
    D: FnOnce(&[&Array], &Array) -> Option<Fusable>,
{
    if !recording() {
        return f(inputs);
    }
    let out = {
        let _inside = pause();
        f(inputs)?
    };
    let fuse = fuse(inputs, &out);
    with_builder(|b| b.push_fusable(name, Action::Kernel(Box::new(f)), inputs, Some(&out), fuse));
    Ok(out)
}

/// [`kernel_fused`] for a kernel that cannot fail.
pub(crate) fn kernel_fused_infallible<F, D>(
    name: &'static str,
    inputs: &[&Array],
    fuse: D,
    f: F,
) -> Array
where
    F: Fn(&[&Array]) -> Array + Send + Sync + 'static,
    D: FnOnce(&[&Array], &Array) -> Option<Fusable>,
{
    if !recording() {
        return f(inputs);
    }
    let out = {
        let _inside = pause();
        f(inputs)
    };
    let fuse = fuse(inputs, &out);
    with_builder(|b| {
        b.push_fusable(
            name,
            Action::Kernel(Box::new(move |a| Ok(f(a)))),
            inputs,
            Some(&out),
            fuse,
        )
    });
    out
}

/// [`kernel`] for a kernel that cannot fail.
pub fn kernel_infallible<F>(name: &'static str, inputs: &[&Array], f: F) -> Array
where
    F: Fn(&[&Array]) -> Array + Send + Sync + 'static,
{
    if !recording() {
        return f(inputs);
    }
    let out = {
        let _inside = pause();
        f(inputs)
    };
    with_builder(|b| {
        b.push(
            name,
            Action::Kernel(Box::new(move |a| Ok(f(a)))),
            inputs,
            Some(&out),
        )
    });
    out
}

/// Records, when this thread records, that `value` is read from outside the arrays (a
/// variable's value): at each replay `read` gives it anew.
pub fn source<F>(name: &'static str, value: &Array, read: F)
where
    F: Fn() -> std::result::Result<Array, BoxError> + Send + Sync + 'static,
{
    if recording() {
        with_builder(|b| b.push(name, Action::Source(Box::new(read)), &[], Some(value)));
    }
}

/// Declares, when this thread records, a piece of state outside the arrays that the trace
/// reads or changes (a variable; `id` tells pieces apart): `read` gives its value and `write`
/// sets it, for [`Trace::save_state`] and [`Trace::restore_state`].
pub fn state<R, W>(id: u64, read: R, write: W)
where
    R: Fn() -> std::result::Result<Array, BoxError> + Send + Sync + 'static,
    W: Fn(&[&Array]) -> std::result::Result<(), BoxError> + Send + Sync + 'static,
{
    if recording() {
        with_builder(|b| {
            if !b.states.iter().any(|s| s.id == id) {
                b.states.push(State {
                    id,
                    read: Box::new(read),
                    write: Box::new(write),
                });
            }
        });
    }
}

/// Records, when this thread records, an effect on state outside the arrays (a variable's
/// assignment) that `apply` carries out again at each replay with the operands' new values.
/// The caller runs the effect itself now, inside a [`pause`].
pub fn effect<F>(name: &'static str, inputs: &[&Array], apply: F)
where
    F: Fn(&[&Array]) -> std::result::Result<(), BoxError> + Send + Sync + 'static,
{
    if recording() {
        with_builder(|b| b.push(name, Action::Effect(Box::new(apply)), inputs, None));
    }
}

/// Records, when this thread records, a node the caller of [`Trace::replay`] carries out
/// (given `payload` and the operands' new values). The caller runs it itself now, inside a
/// [`pause`].
pub fn host(name: &'static str, inputs: &[&Array], payload: Box<dyn Any + Send + Sync>) {
    if recording() {
        with_builder(|b| b.push(name, Action::Host(payload), inputs, None));
    }
}

/// Notes, when this thread records, that `value`'s elements are read into Rust by `what`:
/// when `value` is a value of the trace (not a constant), the trace becomes untraceable.
#[inline]
pub fn read(value: &Array, what: &'static str) {
    if recording() {
        read_slow(value, what);
    }
}

/// Makes the trace this thread records untraceable: `what` reads state into Rust that a
/// replay cannot read again (a variable's elements, say).
pub fn untraceable(what: &'static str) {
    if recording() {
        with_builder(|b| {
            if b.untraceable.is_none() {
                b.untraceable = Some(format!(
                    "`{what}` reads values into Rust: a replay could not follow what Rust does with them"
                ));
            }
        });
    }
}

#[inline(never)]
fn read_slow(value: &Array, what: &'static str) {
    with_builder(|b| {
        if b.untraceable.is_none() {
            if let Some(&s) = b.slots.get(&value.key()) {
                let made_by = b
                    .nodes
                    .iter()
                    .find(|n| n.output == Some(s))
                    .map_or("?", |n| n.name);
                b.untraceable = Some(format!(
                    "`{what}` reads the elements of a traced value (made by `{made_by}`, shape \
                     {:?}) into Rust: a replay could not follow what Rust does with them",
                    value.shape()
                ));
            }
        }
    });
}

/// Records `f`, an in-place kernel on `target`, as a kernel node (the new value in place of
/// the old): when this thread records, the update runs on a copy-on-write clone. A replay runs
/// `f` on the old value itself where this node is its last use (no copy), else on a copy.
pub(crate) fn in_place<F>(name: &'static str, target: &mut Array, other: &Array, f: F) -> Result<()>
where
    F: Fn(&mut Array, &Array) -> Result<()> + Send + Sync + 'static,
{
    if !recording() {
        return f(target, other);
    }
    let before = target.clone();
    {
        let _inside = pause();
        f(target, other)?;
    }
    with_builder(|b| {
        b.push(
            name,
            Action::InPlace(Box::new(f)),
            &[&before, other],
            Some(target),
        )
    });
    Ok(())
}

/// A trace being recorded on this thread: made by [`Trace::begin`], ended by
/// [`Tracing::finish`] (or dropped, which records nothing).
pub struct Tracing {
    done: bool,
}

impl Drop for Tracing {
    fn drop(&mut self) {
        if !self.done {
            BUILDER.with(|b| b.borrow_mut().take());
            TRACING.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Tracing {
    /// Ends the trace; `outputs` are the values a replay returns (each must be a value of the
    /// trace or a constant). Fails if the thread was not tracing.
    pub fn finish(mut self, output: &Array) -> Result<Trace> {
        let builder = BUILDER.with(|b| b.borrow_mut().take());
        self.done = true;
        TRACING.fetch_sub(1, Ordering::Relaxed);
        let mut b = builder.ok_or_else(|| TensorError::Shape {
            op: "trace",
            message: "this thread is not tracing".into(),
            shapes: Vec::new(),
        })?;
        let output = b.operand(output);
        Ok(Trace::new(b, output))
    }
}

/// Folds the trace's constants: a kernel node whose operands are all constants (captured at
/// trace time, or the values of nodes folded before it) computes the same value at every
/// replay, the value it computed while tracing; that value becomes a constant of the trace and
/// the nodes using it read the constant. Returns which nodes are folded (a fused replay does
/// not run them; the trace's output is never folded). A kernel is a function of its operands
/// ([`kernel`]), so this changes no bit: the gradient seeds of a loss and their reshapes, say,
/// are made once instead of at each step.
fn fold_constants(b: &mut Builder, output: Operand) -> Vec<bool> {
    let mut as_const: Vec<Option<u32>> = vec![None; b.values.len()];
    let mut folded = vec![false; b.nodes.len()];
    for (node, folded) in b.nodes.iter_mut().zip(&mut folded) {
        for o in &mut node.operands {
            if let Operand::Slot(s) = *o {
                if let Some(c) = as_const[s as usize] {
                    *o = Operand::Const(c);
                }
            }
        }
        let constant = matches!(node.action, Action::Kernel(_) | Action::InPlace(_))
            && !node.operands.is_empty()
            && node.operands.iter().all(|o| matches!(o, Operand::Const(_)));
        if let (true, Some(s)) = (constant, node.output) {
            if output != Operand::Slot(s) {
                if let Some(v) = b.values.get(s as usize) {
                    as_const[s as usize] = Some(b.consts.len() as u32);
                    b.consts.push(v.clone());
                    *folded = true;
                }
            }
        }
    }
    folded
}

/// A recorded trace: replayed by [`Trace::replay`].
pub struct Trace {
    nodes: Vec<Node>,
    consts: Vec<Array>,
    output: Operand,
    /// The number of slots.
    slots: usize,
    /// What a replay runs: the nodes, elementwise regions fused ([`crate::fuse`]).
    plan: Vec<Step>,
    /// For each step of the plan, the slots whose last use it is (freed after it runs).
    frees: Vec<Vec<u32>>,
    /// For each node, the slots whose last use it is, when the nodes run one by one.
    node_frees: Vec<Vec<u32>>,
    /// The slot table of the last replay, empty, kept for the next (no allocation a replay).
    table: std::sync::Mutex<Vec<Option<Array>>>,
    untraceable: Option<String>,
    /// The trace-time values, by slot (for [`Trace::replay_compared`]).
    values: Vec<Array>,
    states: Vec<State>,
}

impl Trace {
    /// Starts tracing on this thread; `args` are the arguments a replay is given anew (in this
    /// order). A thread traces one trace at a time: a trace begun inside another records into
    /// the outer one (its `finish` then fails).
    pub fn begin(args: &[&Array]) -> Tracing {
        let mut builder = Builder {
            depth: 0,
            nodes: Vec::new(),
            slots: HashMap::new(),
            values: Vec::new(),
            consts: Vec::new(),
            const_index: HashMap::new(),
            untraceable: None,
            states: Vec::new(),
        };
        for (i, a) in args.iter().enumerate() {
            builder.push("arg", Action::Arg(i), &[], Some(a));
        }
        let already = BUILDER.with(|b| b.borrow().is_some());
        if already {
            // nested: the outer trace goes on recording; this one finishes empty-handed
            return Tracing { done: true };
        }
        BUILDER.with(|b| *b.borrow_mut() = Some(builder));
        TRACING.fetch_add(1, Ordering::Relaxed);
        Tracing { done: false }
    }

    fn new(mut b: Builder, output: Operand) -> Trace {
        let slots = b.values.len();
        let folded = fold_constants(&mut b, output);
        let plan = {
            let nodes: Vec<PlanNode<'_>> = b
                .nodes
                .iter()
                .map(|n| PlanNode {
                    fuse: n.fuse.as_ref(),
                    operands: &n.operands,
                    output: n.output,
                    shape: &n.shape,
                    dtype: n.dtype,
                    // a folded node runs no more: a region stays open across it
                    reads: matches!(n.action, Action::Arg(_) | Action::Source(_)),
                })
                .zip(&folded)
                .map(|(mut n, &folded)| {
                    if folded {
                        n.fuse = None;
                        n.reads = true;
                    }
                    n
                })
                .collect();
            let shape_of = |o: Operand| match o {
                Operand::Slot(s) => b
                    .values
                    .get(s as usize)
                    .map_or((Vec::new(), DType::F32), |v| {
                        (v.shape().to_vec(), v.dtype())
                    }),
                Operand::Const(c) => b
                    .consts
                    .get(c as usize)
                    .map_or((Vec::new(), DType::F32), |v| {
                        (v.shape().to_vec(), v.dtype())
                    }),
            };
            // the nodes using each slot
            let mut users: Vec<Vec<usize>> = vec![Vec::new(); slots];
            for (i, n) in b.nodes.iter().enumerate() {
                for o in &n.operands {
                    if let Operand::Slot(s) = o {
                        users[*s as usize].push(i);
                    }
                }
            }
            let used_outside = |s: u32, members: &[usize]| {
                output == Operand::Slot(s) || users[s as usize].iter().any(|u| !members.contains(u))
            };
            let mut plan = fuse::plan(&nodes, &shape_of, &used_outside);
            plan.retain(|step| !matches!(step, Step::Node(i) if folded[*i]));
            plan
        };
        let last_uses = |reads: &mut dyn Iterator<Item = (usize, &[Operand])>, len: usize| {
            let mut last = vec![usize::MAX; slots];
            for (i, operands) in reads {
                for o in operands {
                    if let Operand::Slot(s) = o {
                        last[*s as usize] = i;
                    }
                }
            }
            let mut frees = vec![Vec::new(); len];
            for (s, &i) in last.iter().enumerate() {
                if i != usize::MAX && output != Operand::Slot(s as u32) {
                    frees[i].push(s as u32);
                }
            }
            frees
        };
        let node_frees = last_uses(
            &mut b.nodes.iter().map(|n| n.operands.as_slice()).enumerate(),
            b.nodes.len(),
        );
        let frees = last_uses(
            &mut plan
                .iter()
                .map(|step| match step {
                    Step::Node(i) => b.nodes[*i].operands.as_slice(),
                    Step::Fused(r) => r.inputs.as_slice(),
                })
                .enumerate(),
            plan.len(),
        );
        // an in-place kernel whose first operand's slot is freed after it: its last use
        fn consumes_at(node: &Node, frees: &[u32]) -> bool {
            match (&node.action, node.operands.first()) {
                (Action::InPlace(_), Some(Operand::Slot(s))) => frees.contains(s),
                _ => false,
            }
        }
        for (step, frees) in plan.iter().zip(&frees) {
            if let Step::Node(i) = step {
                let node = &mut b.nodes[*i];
                node.last_use.0 = consumes_at(node, frees);
            }
        }
        for (node, frees) in b.nodes.iter_mut().zip(&node_frees) {
            node.last_use.1 = consumes_at(node, frees);
        }
        Trace {
            nodes: b.nodes,
            consts: b.consts,
            output,
            slots,
            plan,
            frees,
            node_frees,
            table: std::sync::Mutex::new(Vec::new()),
            untraceable: b.untraceable,
            values: b.values,
            states: b.states,
        }
    }

    /// The values of the state the trace reads or changes (its variables), in the order the
    /// trace first met them.
    pub fn save_state(&self) -> std::result::Result<Vec<Array>, BoxError> {
        let _paused = pause();
        self.states.iter().map(|s| (s.read)()).collect()
    }

    /// Sets the state the trace reads or changes to values [`save_state`](Trace::save_state)
    /// gave.
    pub fn restore_state(&self, saved: &[Array]) -> std::result::Result<(), BoxError> {
        let _paused = pause();
        if saved.len() != self.states.len() {
            return Err(format!(
                "{} values saved, the trace has {} pieces of state",
                saved.len(),
                self.states.len()
            )
            .into());
        }
        for (s, v) in self.states.iter().zip(saved) {
            (s.write)(&[v])?;
        }
        Ok(())
    }

    /// The trace-time value of each node, in order, arguments aside, as `(name, value)`
    /// (effects and host nodes have none).
    pub fn values(&self) -> Vec<(&'static str, Option<&Array>)> {
        self.nodes
            .iter()
            .filter(|n| !matches!(n.action, Action::Arg(_)))
            .map(|n| (n.name, n.output.and_then(|s| self.values.get(s as usize))))
            .collect()
    }

    /// The number of nodes, arguments aside.
    pub fn len(&self) -> usize {
        self.nodes
            .iter()
            .filter(|n| !matches!(n.action, Action::Arg(_)))
            .count()
    }

    /// Whether the trace records nothing but its arguments.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The nodes' names, in order, arguments aside (`"zip:mul"`, `"sum"`, `"read:w"`, ...).
    pub fn names(&self) -> Vec<&'static str> {
        self.nodes
            .iter()
            .filter(|n| !matches!(n.action, Action::Arg(_)))
            .map(|n| n.name)
            .collect()
    }

    /// The payloads of the host nodes, in order.
    pub fn host_payloads(&self) -> impl Iterator<Item = &(dyn Any + Send + Sync)> {
        self.nodes.iter().filter_map(|n| match &n.action {
            Action::Host(p) => Some(p.as_ref()),
            _ => None,
        })
    }

    /// The number of constants of the trace: those it captured and those it folded.
    pub fn constants(&self) -> usize {
        self.consts.len()
    }

    /// Why the trace cannot be replayed (a traced value read into Rust), if it cannot.
    pub fn untraceable(&self) -> Option<&str> {
        self.untraceable.as_deref()
    }

    /// Replays the trace on `args` (the shapes and dtypes it was traced with): each node in
    /// order, its elementwise regions fused ([`Trace::steps`]), `host` carrying out the host
    /// nodes. Returns the output.
    pub fn replay(
        &self,
        args: &[&Array],
        host: &mut HostFn<'_>,
    ) -> std::result::Result<Array, ReplayError> {
        self.run(args, host, None, true)
    }

    /// [`replay`](Trace::replay) with every node run one by one, no region fused: the same
    /// bits, for comparing the two.
    ///
    /// ```
    /// use tapegrad_tensor::{trace::Trace, Array};
    /// let x = Array::from_vec(vec![1.0f32, 2.0, 3.0], &[3])?;
    /// let tracing = Trace::begin(&[&x]);
    /// let y = x.mul(&x)?.add(&Array::scalar(1.0f32))?.sum(None, false)?;
    /// let trace = tracing.finish(&y)?;
    /// assert_eq!(trace.steps(), ["fused(mul, add, sum)"]);
    /// let fused = trace.replay(&[&x], &mut |_, _| Ok(()))?;
    /// let one_by_one = trace.replay_unfused(&[&x], &mut |_, _| Ok(()))?;
    /// assert!(fused.equals(&one_by_one));
    /// assert_eq!(fused.item()?, 17.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn replay_unfused(
        &self,
        args: &[&Array],
        host: &mut HostFn<'_>,
    ) -> std::result::Result<Array, ReplayError> {
        self.run(args, host, None, false)
    }

    /// How many of the replay's fused regions run as generated machine code.
    #[cfg(test)]
    pub(crate) fn compiled_regions(&self) -> usize {
        self.plan
            .iter()
            .filter(|step| matches!(step, Step::Fused(r) if r.compiled()))
            .count()
    }

    /// Drops the regions' generated code: they run as blocks (to test one against the other).
    #[cfg(test)]
    pub(crate) fn without_jit(&mut self) {
        for step in &mut self.plan {
            if let Step::Fused(r) = step {
                r.drop_jit();
            }
        }
    }

    /// What a replay runs, arguments aside: each node's name, and `fused(a, b, ...)` for a
    /// region of nodes run as one loop.
    pub fn steps(&self) -> Vec<String> {
        self.plan
            .iter()
            .filter_map(|step| match step {
                Step::Node(i) => match self.nodes[*i].action {
                    Action::Arg(_) => None,
                    _ => Some(self.nodes[*i].name.to_string()),
                },
                Step::Fused(r) => Some(r.describe(&|m| self.nodes[m].name)),
            })
            .collect()
    }

    /// [`replay`](Trace::replay), keeping every value, and the first node whose value differs
    /// bit for bit from the trace-time value of the node at the same place in `reference` (a
    /// trace of the same computation run eagerly). The values inside a fused region exist only
    /// as blocks of its loop: what it outputs is compared.
    pub fn replay_compared(
        &self,
        args: &[&Array],
        host: &mut HostFn<'_>,
        reference: &Trace,
    ) -> std::result::Result<(Array, Option<Mismatch>), ReplayError> {
        let mut first = None;
        let out = self.run(args, host, Some((reference, &mut first)), true)?;
        Ok((out, first))
    }

    fn run(
        &self,
        args: &[&Array],
        host: &mut HostFn<'_>,
        mut compare: Option<(&Trace, &mut Option<Mismatch>)>,
        fused: bool,
    ) -> std::result::Result<Array, ReplayError> {
        let _paused = pause();
        let mut values = self
            .table
            .try_lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default();
        values.clear();
        values.resize(self.slots, None);
        let result = self.run_in(&mut values, args, host, &mut compare, fused);
        values.clear();
        if let Ok(mut t) = self.table.try_lock() {
            *t = values;
        }
        result
    }

    fn run_in(
        &self,
        values: &mut [Option<Array>],
        args: &[&Array],
        host: &mut HostFn<'_>,
        compare: &mut Option<(&Trace, &mut Option<Mismatch>)>,
        fused: bool,
    ) -> std::result::Result<Array, ReplayError> {
        let keep = compare.is_some();
        if fused {
            for (k, step) in self.plan.iter().enumerate() {
                match step {
                    Step::Node(i) => {
                        let order = if keep { Order::Keep } else { Order::Plan };
                        self.run_node(*i, args, host, values, compare, order)?
                    }
                    Step::Fused(region) => {
                        let first = region.members[0];
                        let mut operands: SmallVec<[&Array; 8]> = SmallVec::new();
                        for &o in &region.inputs {
                            operands.push(self.operand(o, values).ok_or_else(|| ReplayError {
                                node: self.nodes[first].name,
                                position: first,
                                source: "an operand was freed before its use".into(),
                            })?);
                        }
                        let mut made: SmallVec<[(u32, usize, Array); 4]> = SmallVec::new();
                        let ran = region.run(&operands, &mut |s, node, v| made.push((s, node, v)));
                        drop(operands);
                        if ran {
                            for (s, position, v) in made {
                                if compare.is_some() {
                                    self.check(position, s, &v, compare);
                                }
                                values[s as usize] = Some(v);
                            }
                        } else {
                            // an input the region was not planned for: its nodes one by one
                            for &m in &region.members {
                                self.run_node(m, args, host, values, compare, Order::Keep)?;
                            }
                            for &s in &region.internal {
                                values[s as usize] = None;
                            }
                        }
                    }
                }
                if !keep {
                    for &s in &self.frees[k] {
                        values[s as usize] = None;
                    }
                }
            }
        } else {
            for i in 0..self.nodes.len() {
                let order = if keep { Order::Keep } else { Order::Nodes };
                self.run_node(i, args, host, values, compare, order)?;
                if !keep {
                    for &s in &self.node_frees[i] {
                        values[s as usize] = None;
                    }
                }
            }
        }
        let out = match self.output {
            Operand::Slot(s) => values[s as usize].take(),
            Operand::Const(c) => self.consts.get(c as usize).cloned(),
        };
        out.ok_or_else(|| ReplayError {
            node: "output",
            position: self.nodes.len(),
            source: "the output has no value".into(),
        })
    }

    /// The value of operand `o` now.
    #[inline]
    fn operand<'v>(&'v self, o: Operand, values: &'v [Option<Array>]) -> Option<&'v Array> {
        match o {
            Operand::Slot(s) => values.get(s as usize)?.as_ref(),
            Operand::Const(c) => self.consts.get(c as usize),
        }
    }

    /// Compares `v`, the value of slot `s` made by the node at `position`, with the reference
    /// of a compared replay, noting the first difference.
    #[inline]
    fn check(
        &self,
        position: usize,
        s: u32,
        v: &Array,
        compare: &mut Option<(&Trace, &mut Option<Mismatch>)>,
    ) {
        if let Some((reference, first)) = compare.as_mut() {
            if first.is_none() {
                let theirs = reference.values.get(s as usize);
                if !theirs.is_some_and(|t| t.equals(v)) {
                    **first = Some(Mismatch {
                        position,
                        node: self.nodes.get(position).map_or("?", |n| n.name),
                        message: format!(
                            "replayed {}, eager {}",
                            v,
                            theirs.map_or("nothing".to_string(), |t| t.to_string())
                        ),
                    });
                }
            }
        }
    }

    /// [`run_node`](Trace::run_node) for an in-place kernel: on the value of its first operand
    /// itself when `last`, else on a copy of it.
    #[inline(never)]
    fn run_in_place(
        &self,
        i: usize,
        f: &InPlaceFn,
        values: &mut [Option<Array>],
        compare: &mut Option<(&Trace, &mut Option<Mismatch>)>,
        last: bool,
    ) -> std::result::Result<(), ReplayError> {
        let node = &self.nodes[i];
        let fail = |source: BoxError| ReplayError {
            node: node.name,
            position: i,
            source,
        };
        let freed = || fail("an operand was freed before its use".into());
        let &[target, other] = node.operands.as_slice() else {
            return Err(fail("an in-place kernel has two operands".into()));
        };
        let mut x = match target {
            // its last use, and not also the other operand: the value itself
            Operand::Slot(s) if last && other != target => {
                values[s as usize].take().ok_or_else(freed)?
            }
            _ => crate::pool::unique_copy(self.operand(target, values).ok_or_else(freed)?),
        };
        f(&mut x, self.operand(other, values).ok_or_else(freed)?).map_err(|e| fail(e.into()))?;
        if let Some(s) = node.output {
            if compare.is_some() {
                self.check(i, s, &x, compare);
            }
            values[s as usize] = Some(x);
        }
        Ok(())
    }

    /// Runs node `i` on the values so far, storing its value, the nodes run in `order`.
    #[inline(always)]
    fn run_node(
        &self,
        i: usize,
        args: &[&Array],
        host: &mut HostFn<'_>,
        values: &mut [Option<Array>],
        compare: &mut Option<(&Trace, &mut Option<Mismatch>)>,
        order: Order,
    ) -> std::result::Result<(), ReplayError> {
        let node = &self.nodes[i];
        let fail = |source: BoxError| ReplayError {
            node: node.name,
            position: i,
            source,
        };
        if let Action::InPlace(f) = &node.action {
            let last = match order {
                Order::Plan => node.last_use.0,
                Order::Nodes => node.last_use.1,
                Order::Keep => false,
            };
            return self.run_in_place(i, f, values, compare, last);
        }
        let out = {
            let mut operands: SmallVec<[&Array; 4]> = SmallVec::new();
            for &o in &node.operands {
                operands.push(
                    self.operand(o, values)
                        .ok_or_else(|| fail("an operand was freed before its use".into()))?,
                );
            }
            match &node.action {
                Action::Arg(k) => {
                    let a = args
                        .get(*k)
                        .ok_or_else(|| fail(format!("argument {k} missing").into()))?;
                    Some((*a).clone())
                }
                Action::Kernel(f) => Some(f(&operands).map_err(|e| fail(e.into()))?),
                // run above
                Action::InPlace(_) => None,
                Action::Source(read) => Some(read().map_err(fail)?),
                Action::Effect(apply) => {
                    apply(&operands).map_err(fail)?;
                    None
                }
                Action::Host(payload) => {
                    host(payload.as_ref(), &operands).map_err(fail)?;
                    None
                }
            }
        };
        if let (Some(v), Some(s)) = (out, node.output) {
            if matches!(node.action, Action::Arg(_) | Action::Source(_))
                && (v.shape() != node.shape.as_slice() || v.dtype() != node.dtype)
            {
                return Err(fail(
                    format!(
                        "traced with {} {:?}, given {} {:?}",
                        node.dtype,
                        node.shape,
                        v.dtype(),
                        v.shape()
                    )
                    .into(),
                ));
            }
            if compare.is_some() {
                self.check(i, s, &v, compare);
            }
            values[s as usize] = Some(v);
        }
        Ok(())
    }
}

/// The first value of a compared replay that differs from the eager run's
/// ([`Trace::replay_compared`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// The node's position in the trace.
    pub position: usize,
    /// The node's name.
    pub node: &'static str,
    /// Both values.
    pub message: String,
}

/// A node that failed at a replay: its name and position, and why.
#[derive(Debug)]
pub struct ReplayError {
    /// The node's name.
    pub node: &'static str,
    /// Its position in the trace.
    pub position: usize,
    /// What failed.
    pub source: BoxError,
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "replaying node {} (`{}`) of the trace: {}",
            self.position, self.node, self.source
        )
    }
}

impl std::error::Error for ReplayError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.source)
    }
}

impl Array {
    /// The identity of the allocation: what a trace tells values apart by.
    #[inline]
    pub(crate) fn key(&self) -> usize {
        self.repr() as *const crate::tensor::Repr as usize
    }
}
