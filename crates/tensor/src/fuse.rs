//! Fusion of a trace's elementwise regions: the kernels a replay would run one after another
//! over one number of elements in row-major order — maps, zips against values of that many
//! elements or of one, reductions over axes of length 1, and full sums of such values — run
//! as one loop over blocks of the elements, each op applied to a block in turn, so that no
//! intermediate value is built and each input is read once. When every op of a region has a
//! vector form, the region's loop is generated as machine code when it is planned
//! ([`crate::jit`]): each chunk of eight elements stays in registers through all the ops and
//! the sums; the interpreter here then runs only each chunk's last (fewer than eight) elements
//! and the sums' folds.
//!
//! **Exactness.** A fused region computes the same bits as its kernels one by one. Each
//! elementwise op applies the same scalar function ([`UnaryFn`], [`BinaryFn`], the same
//! rounding of a scale factor) to the same operands; only where the intermediate values live
//! changes (a block of a scratch buffer instead of a tensor). A sum keeps the order of
//! [`full_sum`](crate::ops::full_sum): eight lanes over the longest prefix that is a multiple
//! of 8, the lanes' fixed fold, then the remaining elements one by one; for tensors of at least
//! [`PARALLEL_MIN_ELEMENTS`] elements, that for each chunk of [`REDUCTION_CHUNK`] elements and
//! the chunks' sums added left to right. The blocks are a multiple of 8 elements long and
//! divide a chunk, so each lane receives its elements in the same order as the whole-tensor
//! kernel gives them. A mean divides the sum by the count in the dtype, as the kernel does.
//!
//! A region whose inputs are not what it was planned for at a replay (a view that is not
//! row-major) runs its kernels one by one instead: the same bits, without the fusion.

use std::sync::{Arc, Mutex};

use smallvec::SmallVec;

use crate::ops::{
    self as layout, BinaryFn, Lane, Lanes, UnaryFn, PARALLEL_MIN_ELEMENTS, REDUCTION_CHUNK,
};
use crate::trace::Operand;
use crate::{jit, kernels, pool, Array, DType, Element};

/// Whether regions are compiled to machine code ([`crate::jit`]): unless the environment
/// variable `TAPEGRAD_JIT` is `0` when the first region is planned (then every region runs as
/// blocks: to measure one against the other).
fn jit_enabled() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var_os("TAPEGRAD_JIT").is_none_or(|v| v != "0"))
}

/// One operand of a [`BlockFn`]: a block of elements, or one element broadcast over the block.
#[derive(Clone, Copy)]
pub(crate) enum Arg<'a, T> {
    Slice(&'a [T]),
    Scalar(T),
}

/// An elementwise op as a fused loop runs it: on a block of elements at a time, writing `out`
/// (as long as each slice operand). Unary ops ignore `b`.
pub(crate) trait BlockFn: Send + Sync {
    fn f32(&self, out: &mut [f32], a: Arg<'_, f32>, b: Arg<'_, f32>);
    fn f64(&self, out: &mut [f64], a: Arg<'_, f64>, b: Arg<'_, f64>);
    /// The op on vectors of lanes, for a region's generated loop ([`crate::jit`]); `None`
    /// when it has no such form.
    fn lanes(&self, e: &mut dyn Lanes, a: Lane, b: Lane) -> Option<Lane>;
}

// The loops are the kernels' own (`kernels::map1`, `map2`, `fill`: AVX2 where the CPU has it,
// the same bits either way).

#[inline(always)]
fn unary_block<T: Element>(out: &mut [T], a: Arg<'_, T>, f: impl Fn(T) -> T) {
    let out = layout::as_slots(out);
    match a {
        Arg::Slice(xs) => kernels::map1(out, xs, f),
        Arg::Scalar(x) => kernels::fill(out, f(x)),
    }
}

#[inline(always)]
fn binary_block<T: Element>(out: &mut [T], a: Arg<'_, T>, b: Arg<'_, T>, f: impl Fn(T, T) -> T) {
    let out = layout::as_slots(out);
    match (a, b) {
        (Arg::Slice(xs), Arg::Slice(ys)) => kernels::map2(out, xs, ys, f),
        (Arg::Slice(xs), Arg::Scalar(y)) => kernels::map1(out, xs, move |x| f(x, y)),
        (Arg::Scalar(x), Arg::Slice(ys)) => kernels::map1(out, ys, move |y| f(x, y)),
        (Arg::Scalar(x), Arg::Scalar(y)) => kernels::fill(out, f(x, y)),
    }
}

/// A [`UnaryFn`] over blocks.
pub(crate) struct Unary<F>(pub(crate) F);

impl<F: UnaryFn> BlockFn for Unary<F> {
    fn f32(&self, out: &mut [f32], a: Arg<'_, f32>, _: Arg<'_, f32>) {
        unary_block(out, a, |x| self.0.call(x))
    }
    fn f64(&self, out: &mut [f64], a: Arg<'_, f64>, _: Arg<'_, f64>) {
        unary_block(out, a, |x| self.0.call(x))
    }
    fn lanes(&self, e: &mut dyn Lanes, a: Lane, _: Lane) -> Option<Lane> {
        self.0.lanes(e, a)
    }
}

/// A [`BinaryFn`] over blocks.
pub(crate) struct Binary<F>(pub(crate) F);

impl<F: BinaryFn> BlockFn for Binary<F> {
    fn f32(&self, out: &mut [f32], a: Arg<'_, f32>, b: Arg<'_, f32>) {
        binary_block(out, a, b, |x, y| self.0.call(x, y))
    }
    fn f64(&self, out: &mut [f64], a: Arg<'_, f64>, b: Arg<'_, f64>) {
        binary_block(out, a, b, |x, y| self.0.call(x, y))
    }
    fn lanes(&self, e: &mut dyn Lanes, a: Lane, b: Lane) -> Option<Lane> {
        self.0.lanes(e, a, b)
    }
}

/// A unary op with a parameter given in `f64` (a scale factor, clipping bounds): `f` is the
/// function [`Array`]'s own kernel applies, `lanes` the same on vectors of lanes, if any.
pub(crate) struct WithParams<P> {
    pub(crate) params: P,
    pub(crate) f32: fn(f32, &P) -> f32,
    pub(crate) f64: fn(f64, &P) -> f64,
    pub(crate) lanes: Option<LanesWith<P>>,
}

/// A [`WithParams`] op's vector form.
pub(crate) type LanesWith<P> = fn(&mut dyn Lanes, Lane, &P) -> Lane;

impl<P: Send + Sync> BlockFn for WithParams<P> {
    fn f32(&self, out: &mut [f32], a: Arg<'_, f32>, _: Arg<'_, f32>) {
        unary_block(out, a, |x| (self.f32)(x, &self.params))
    }
    fn f64(&self, out: &mut [f64], a: Arg<'_, f64>, _: Arg<'_, f64>) {
        unary_block(out, a, |x| (self.f64)(x, &self.params))
    }
    fn lanes(&self, e: &mut dyn Lanes, a: Lane, _: Lane) -> Option<Lane> {
        self.lanes.map(|f| f(e, a, &self.params))
    }
}

/// What a kernel declares of itself for fusion, when it can be fused.
pub(crate) enum Fusable {
    /// An elementwise op: its output has the node's shape, each operand that shape's number of
    /// elements or one element.
    Map(Arc<dyn BlockFn>),
    /// The sum (a mean: divided by the count) of every element of its one operand, of shape
    /// `over`, into one element.
    Sum { mean: bool, over: Vec<usize> },
    /// The sum of the products of its two operands (the product of shape `over`), into one
    /// element: `mul_sum_to_shape` to one element.
    MulSum { over: Vec<usize> },
}

/// Elements a block holds: a multiple of 8 (the lanes of a sum) dividing [`REDUCTION_CHUNK`].
/// 1 024 (4 KiB of `f32` a value, a region's blocks in L1): tape-regression's traced step
/// 6.0 µs with 4 096, 5.0 with 2 048, 4.7 with 1 024, 4.9 with 512, 6.1 with 256.
const BLOCK: usize = 1024;
const _: () = assert!(BLOCK.is_multiple_of(8) && REDUCTION_CHUNK.is_multiple_of(BLOCK));

/// Where an op of a region reads an operand from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Src {
    /// The block of an earlier op of the region.
    Reg(usize),
    /// An input of the region holding the region's number of elements.
    Full(usize),
    /// An input of the region of one element.
    Scalar(usize),
    /// A value of the region that is one value throughout (an op of one-element operands).
    One(usize),
}

impl Src {
    fn is_one(self) -> bool {
        matches!(self, Src::Scalar(_) | Src::One(_))
    }
}

pub(crate) enum Op {
    Map {
        f: Arc<dyn BlockFn>,
        a: Src,
        b: Src,
        reg: usize,
    },
    /// An elementwise op of one-element operands: its one value, computed before the loop.
    One {
        f: Arc<dyn BlockFn>,
        a: Src,
        b: Src,
        one: usize,
    },
    Sum {
        src: Src,
        acc: usize,
        mean: bool,
    },
}

/// What a region's output is.
#[derive(Clone, Copy)]
enum Produced {
    Reg(usize),
    One(usize),
    Acc(usize),
}

struct Output {
    produced: Produced,
    slot: u32,
    /// The node that makes it (for a verifying replay's messages).
    node: usize,
    shape: Vec<usize>,
}

/// A fused region of a trace: see the [module](self).
pub(crate) struct Region {
    /// The trace's nodes it fuses, in order (run one by one when the region cannot run).
    pub(crate) members: Vec<usize>,
    /// Its operands from outside (the trace's slots or constants), each `Full` or `Scalar`.
    pub(crate) inputs: Vec<Operand>,
    full: Vec<bool>,
    ops: Vec<Op>,
    outputs: Vec<Output>,
    /// The members' slots that the region does not build (used only inside it).
    pub(crate) internal: Vec<u32>,
    dtype: DType,
    n: usize,
    registers: usize,
    ones: usize,
    accumulators: usize,
    scratch: Mutex<(Vec<f32>, Vec<f64>)>,
    /// The loop compiled to machine code ([`crate::jit`]), when every op has a vector form.
    jit: Option<jit::Compiled>,
}

/// What the planner knows of a node of the trace.
pub(crate) struct PlanNode<'a> {
    pub(crate) fuse: Option<&'a Fusable>,
    pub(crate) operands: &'a [Operand],
    pub(crate) output: Option<u32>,
    pub(crate) shape: &'a [usize],
    pub(crate) dtype: DType,
    /// A node that only reads (an argument, a source): a region stays open across it.
    pub(crate) reads: bool,
}

/// What a replay runs: a node of the trace, or a fused region.
pub(crate) enum Step {
    Node(usize),
    Fused(Box<Region>),
}

/// A region being built.
struct Builder {
    members: Vec<usize>,
    inputs: Vec<Operand>,
    full: Vec<bool>,
    ops: Vec<Op>,
    /// The slot of each value the region computes, where it is, the node that makes it and
    /// its shape.
    produced: Vec<(u32, Produced, usize, Vec<usize>)>,
    dtype: DType,
    n: usize,
    registers: usize,
    ones: usize,
    accumulators: usize,
}

impl Builder {
    fn new(shape: &[usize], dtype: DType) -> Option<Builder> {
        let n: usize = shape.iter().product();
        (n > 0).then(|| Builder {
            members: Vec::new(),
            inputs: Vec::new(),
            full: Vec::new(),
            ops: Vec::new(),
            produced: Vec::new(),
            dtype,
            n,
            registers: 0,
            ones: 0,
            accumulators: 0,
        })
    }

    /// Where the region reads `o` from, when it can: one of its blocks, or an input of the
    /// region's shape or of one element (added when new). `None` for a sum it computes (its
    /// value exists only after the loop) or an operand of another size.
    fn src(
        &mut self,
        o: Operand,
        shape_of: &dyn Fn(Operand) -> (Vec<usize>, DType),
    ) -> Option<Src> {
        if let Operand::Slot(s) = o {
            if let Some((_, p, _, _)) = self.produced.iter().find(|(t, ..)| *t == s) {
                return match *p {
                    Produced::Reg(r) => Some(Src::Reg(r)),
                    Produced::One(r) => Some(Src::One(r)),
                    Produced::Acc(_) => None,
                };
            }
        }
        let (shape, dtype) = shape_of(o);
        if dtype != self.dtype {
            return None;
        }
        let len: usize = shape.iter().product();
        let full = len == self.n;
        if !full && len != 1 {
            return None;
        }
        let k = match self.inputs.iter().position(|&i| i == o) {
            Some(k) => k,
            None => {
                self.inputs.push(o);
                self.full.push(full);
                self.inputs.len() - 1
            }
        };
        Some(if full { Src::Full(k) } else { Src::Scalar(k) })
    }

    /// Adds node `i` when the region can take it; `false` (the region unchanged) when not.
    fn add(
        &mut self,
        i: usize,
        node: &PlanNode<'_>,
        shape_of: &dyn Fn(Operand) -> (Vec<usize>, DType),
    ) -> bool {
        let (Some(fuse), Some(slot)) = (node.fuse, node.output) else {
            return false;
        };
        if node.dtype != self.dtype {
            return false;
        }
        let (inputs, full) = (self.inputs.len(), self.full.len());
        let undo = |b: &mut Builder| {
            b.inputs.truncate(inputs);
            b.full.truncate(full);
            false
        };
        let srcs: SmallVec<[Option<Src>; 2]> = node
            .operands
            .iter()
            .map(|&o| self.src(o, shape_of))
            .collect();
        let Some(srcs) = srcs.into_iter().collect::<Option<SmallVec<[Src; 2]>>>() else {
            return undo(self);
        };
        match fuse {
            Fusable::Map(f) => {
                // the region's number of elements, in row-major order, whatever the shape
                // (a reduction over axes of length 1 drops them)
                let len: usize = node.shape.iter().product();
                if len != self.n || srcs.is_empty() || srcs.len() > 2 {
                    return undo(self);
                }
                let (a, b) = (srcs[0], *srcs.get(1).unwrap_or(&srcs[0]));
                let produced = if a.is_one() && b.is_one() {
                    // one value throughout: computed once, before the loop
                    let one = self.ones;
                    self.ones += 1;
                    self.ops.push(Op::One {
                        f: f.clone(),
                        a,
                        b,
                        one,
                    });
                    Produced::One(one)
                } else {
                    let reg = self.registers;
                    self.registers += 1;
                    self.ops.push(Op::Map {
                        f: f.clone(),
                        a,
                        b,
                        reg,
                    });
                    Produced::Reg(reg)
                };
                self.produced.push((slot, produced, i, node.shape.to_vec()));
            }
            Fusable::Sum { mean, over } => {
                let whole = srcs.len() == 1 && matches!(srcs[0], Src::Reg(_) | Src::Full(_));
                if over.iter().product::<usize>() != self.n || !whole {
                    return undo(self);
                }
                let acc = self.accumulators;
                self.accumulators += 1;
                self.ops.push(Op::Sum {
                    src: srcs[0],
                    acc,
                    mean: *mean,
                });
                self.produced
                    .push((slot, Produced::Acc(acc), i, node.shape.to_vec()));
            }
            Fusable::MulSum { over } => {
                if over.iter().product::<usize>() != self.n || srcs.len() != 2 {
                    return undo(self);
                }
                let reg = self.registers;
                self.registers += 1;
                self.ops.push(Op::Map {
                    f: Arc::new(Binary(crate::ops::Mul)),
                    a: srcs[0],
                    b: srcs[1],
                    reg,
                });
                let acc = self.accumulators;
                self.accumulators += 1;
                self.ops.push(Op::Sum {
                    src: Src::Reg(reg),
                    acc,
                    mean: false,
                });
                self.produced
                    .push((slot, Produced::Acc(acc), i, node.shape.to_vec()));
            }
        }
        self.members.push(i);
        true
    }

    /// The shape of the elements a node would make the region loop over.
    fn shape_for(node: &PlanNode<'_>) -> Option<(Vec<usize>, DType)> {
        match node.fuse? {
            Fusable::Map(_) => Some((node.shape.to_vec(), node.dtype)),
            Fusable::Sum { over, .. } | Fusable::MulSum { over } => {
                Some((over.clone(), node.dtype))
            }
        }
    }

    /// The region, its outputs the values used after it (by `used_outside`), or its members
    /// one by one when fusing them gains nothing.
    fn finish(self, used_outside: &dyn Fn(u32, &[usize]) -> bool, steps: &mut Vec<Step>) {
        if self.members.len() < 2 {
            steps.extend(self.members.into_iter().map(Step::Node));
            return;
        }
        // a region pays for its loop by the values it does not build: with none, its members
        // run as they are
        if self
            .produced
            .iter()
            .all(|(slot, ..)| used_outside(*slot, &self.members))
        {
            steps.extend(self.members.into_iter().map(Step::Node));
            return;
        }
        let mut outputs = Vec::new();
        let mut internal = Vec::new();
        for (slot, produced, node, shape) in self.produced {
            if used_outside(slot, &self.members) {
                outputs.push(Output {
                    produced,
                    slot,
                    node,
                    shape,
                });
            } else {
                internal.push(slot);
            }
        }
        let stores: Vec<usize> = outputs
            .iter()
            .filter_map(|o| match o.produced {
                Produced::Reg(r) => Some(r),
                Produced::One(_) | Produced::Acc(_) => None,
            })
            .collect();
        let jit = jit_enabled()
            .then(|| {
                jit::Compiled::new(&jit::Plan {
                    dtype: self.dtype,
                    ops: &self.ops,
                    full: &self.full,
                    stores: &stores,
                })
            })
            .flatten();
        steps.push(Step::Fused(Box::new(Region {
            jit,
            members: self.members,
            inputs: self.inputs,
            full: self.full,
            ops: self.ops,
            outputs,
            internal,
            dtype: self.dtype,
            n: self.n,
            registers: self.registers,
            ones: self.ones,
            accumulators: self.accumulators,
            scratch: Mutex::new((Vec::new(), Vec::new())),
        })));
    }
}

/// The steps a replay runs for `nodes`: maximal runs of fusable nodes (arguments and sources
/// between them do not interrupt a run: they only read) become regions. `shape_of` gives an
/// operand's shape and dtype at trace time; `used_outside(slot, members)` whether a value is
/// used by a node other than `members` (or is the trace's output).
pub(crate) fn plan(
    nodes: &[PlanNode<'_>],
    shape_of: &dyn Fn(Operand) -> (Vec<usize>, DType),
    used_outside: &dyn Fn(u32, &[usize]) -> bool,
) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut current: Option<Builder> = None;
    for (i, node) in nodes.iter().enumerate() {
        if node.fuse.is_none() {
            if !node.reads {
                if let Some(b) = current.take() {
                    b.finish(used_outside, &mut steps);
                }
            }
            steps.push(Step::Node(i));
            continue;
        }
        if let Some(b) = current.as_mut() {
            if b.add(i, node, shape_of) {
                continue;
            }
        }
        if let Some(b) = current.take() {
            b.finish(used_outside, &mut steps);
        }
        let started = Builder::shape_for(node).and_then(|(shape, dtype)| {
            let mut b = Builder::new(&shape, dtype)?;
            b.add(i, node, shape_of).then_some(b)
        });
        match started {
            Some(b) => current = Some(b),
            None => steps.push(Step::Node(i)),
        }
    }
    if let Some(b) = current.take() {
        b.finish(used_outside, &mut steps);
    }
    steps
}

/// A region's sums in [`full_sum`](crate::ops::full_sum)'s order, fed a block of each at a
/// time, all in one loop ([`kernels::add_lanes_many`]): their chains of dependent additions
/// overlap, each sum's lanes receive the same elements in the same order as alone.
struct Sums<T> {
    lanes: SmallVec<[[T; 8]; 4]>,
    totals: SmallVec<[T; 4]>,
}

impl<T: Element> Sums<T> {
    fn new(count: usize) -> Self {
        Sums {
            lanes: SmallVec::from_elem([T::zero(); 8], count),
            totals: SmallVec::from_elem(T::zero(), count),
        }
    }

    /// Adds `xss[k]` to sum `k`: each the elements `off..off + len` of `n` (a block, never
    /// across a chunk; all of one length).
    #[inline]
    fn add(&mut self, xss: &[&[T]], off: usize, n: usize) {
        let Some(len) = xss.first().map(|x| x.len()) else {
            return;
        };
        let large = n >= PARALLEL_MIN_ELEMENTS;
        let chunk = if large { REDUCTION_CHUNK } else { n };
        let start = off - off % chunk;
        let chunk_len = chunk.min(n - start);
        let whole = chunk_len - chunk_len % 8;
        let main = len.min(whole.saturating_sub(off - start));
        if main > 0 {
            let heads: SmallVec<[&[T]; 4]> = xss.iter().map(|xs| &xs[..main]).collect();
            kernels::add_lanes_many(&mut self.lanes, &heads);
        }
        if off + len == start + chunk_len {
            let rests: SmallVec<[&[T]; 4]> = xss.iter().map(|xs| &xs[main..]).collect();
            self.end_chunk(&rests, large);
        }
    }

    /// The end of a chunk (for a small operand, of the operand: `kernels::sum`'s order): the
    /// lanes' fixed fold, then `rests[k]`, the remaining elements of sum `k`, one by one; the
    /// chunk's sum added to the total when the operand goes by chunks (`large`).
    fn end_chunk(&mut self, rests: &[&[T]], large: bool) {
        for ((lanes, total), xs) in self.lanes.iter_mut().zip(&mut self.totals).zip(rests) {
            let mut s = T::zero();
            for k in 0..4 {
                s = s + (lanes[k] + lanes[k + 4]);
            }
            for &x in *xs {
                s = s + x;
            }
            *total = if large { *total + s } else { s };
            *lanes = [T::zero(); 8];
        }
    }
}

/// Where an op of a region finds an operand in the block at `off` (`len` elements): a block
/// of an earlier op (in `regs`, `block` elements each), a slice of an input, or one value.
#[inline(always)]
fn block_arg<'a, T: Copy>(
    s: Src,
    regs: &'a [T],
    xs: &[&'a [T]],
    ones: &[T],
    block: usize,
    off: usize,
    len: usize,
) -> Arg<'a, T> {
    match s {
        Src::Reg(r) => Arg::Slice(&regs[r * block..r * block + len]),
        Src::Full(k) => Arg::Slice(&xs[k][off..off + len]),
        Src::Scalar(k) => Arg::Scalar(xs[k][0]),
        Src::One(o) => Arg::Scalar(ones[o]),
    }
}

/// The element types a region runs on.
pub(crate) trait Fused: Element {
    fn apply(f: &dyn BlockFn, out: &mut [Self], a: Arg<'_, Self>, b: Arg<'_, Self>);
    fn scratch(s: &mut (Vec<f32>, Vec<f64>)) -> &mut Vec<Self>;
}

impl Fused for f32 {
    #[inline]
    fn apply(f: &dyn BlockFn, out: &mut [f32], a: Arg<'_, f32>, b: Arg<'_, f32>) {
        f.f32(out, a, b)
    }
    fn scratch(s: &mut (Vec<f32>, Vec<f64>)) -> &mut Vec<f32> {
        &mut s.0
    }
}

impl Fused for f64 {
    #[inline]
    fn apply(f: &dyn BlockFn, out: &mut [f64], a: Arg<'_, f64>, b: Arg<'_, f64>) {
        f.f64(out, a, b)
    }
    fn scratch(s: &mut (Vec<f32>, Vec<f64>)) -> &mut Vec<f64> {
        &mut s.1
    }
}

impl Region {
    /// Runs the region on its inputs' values (in [`Region::inputs`]' order), handing each
    /// output to `store` with its slot. `false`, nothing stored, when an input is not what the
    /// region was planned for (then its members must run one by one).
    pub(crate) fn run(&self, inputs: &[&Array], store: &mut dyn FnMut(u32, usize, Array)) -> bool {
        match self.dtype {
            DType::F32 => self.run_typed::<f32>(inputs, store),
            DType::F64 => self.run_typed::<f64>(inputs, store),
        }
    }

    fn run_typed<T: Fused>(
        &self,
        inputs: &[&Array],
        store: &mut dyn FnMut(u32, usize, Array),
    ) -> bool {
        let n = self.n;
        let mut xs: SmallVec<[&[T]; 8]> = SmallVec::new();
        for (a, &full) in inputs.iter().zip(&self.full) {
            let Some(s) = T::unwrap(a).and_then(layout::row_major) else {
                return false;
            };
            if s.len() != if full { n } else { 1 } {
                return false;
            }
            xs.push(s);
        }
        if xs.len() != self.inputs.len() {
            return false;
        }
        // the outputs of the region's shape, built now and written a block at a time
        let mut outs: SmallVec<[(usize, Array); 4]> = SmallVec::new();
        for (k, o) in self.outputs.iter().enumerate() {
            if matches!(o.produced, Produced::Reg(_)) {
                outs.push((k, pool::build_small::<T>(&o.shape, |_| {})));
            }
        }
        let mut dsts: SmallVec<[(usize, &mut [T]); 4]> = SmallVec::new();
        for (k, a) in outs.iter_mut() {
            let Produced::Reg(r) = self.outputs[*k].produced else {
                continue;
            };
            let Some(d) = a
                .array_mut_in::<T>("fused")
                .ok()
                .and_then(layout::row_major_mut)
            else {
                return false;
            };
            dsts.push((r, d));
        }
        let block = if n >= PARALLEL_MIN_ELEMENTS {
            BLOCK
        } else {
            BLOCK.min(n)
        };
        let mut guard = match self.scratch.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let buf = T::scratch(&mut guard);
        if buf.len() < self.registers * block {
            buf.resize(self.registers * block, T::zero());
        }
        let mut sums = Sums::<T>::new(self.accumulators);
        let mut ones: SmallVec<[T; 4]> = SmallVec::from_elem(T::zero(), self.ones);
        for op in &self.ops {
            if let Op::One { ref f, a, b, one } = *op {
                let value = |s: Src| match s {
                    Src::Scalar(k) => xs[k][0],
                    Src::One(o) => ones[o],
                    Src::Reg(_) | Src::Full(_) => T::zero(),
                };
                let mut out = [T::zero()];
                T::apply(&**f, &mut out, Arg::Scalar(value(a)), Arg::Scalar(value(b)));
                ones[one] = out[0];
            }
        }
        match &self.jit {
            Some(jit) => {
                // the compiled loop over each chunk's whole chunks of eight, the chunk's
                // remaining elements (and the sums' fold) as blocks
                let chunk = if n >= PARALLEL_MIN_ELEMENTS {
                    REDUCTION_CHUNK
                } else {
                    n
                };
                let mut scalars: SmallVec<[T; 8]> = xs.iter().map(|x| x[0]).collect();
                scalars.extend_from_slice(&ones);
                let mut start = 0;
                while start < n {
                    let len = chunk.min(n - start);
                    let whole = len - len % 8;
                    if whole > 0 {
                        let inputs: SmallVec<[*const u8; 8]> = xs
                            .iter()
                            .zip(&self.full)
                            .map(|(x, &full)| {
                                if full {
                                    x[start..].as_ptr().cast()
                                } else {
                                    x.as_ptr().cast()
                                }
                            })
                            .collect();
                        let outputs: SmallVec<[*mut u8; 4]> = dsts
                            .iter_mut()
                            .map(|(_, d)| d[start..].as_mut_ptr().cast())
                            .collect();
                        // SAFETY: each full input and each output holds `n` elements from
                        // `start`, at least `whole`; `scalars` one value per input and per
                        // one-element value; `sums.lanes` eight lanes per sum; the loop was
                        // compiled for this region's dtype, `T`.
                        unsafe {
                            jit.run(
                                &inputs,
                                scalars.as_ptr().cast(),
                                &outputs,
                                sums.lanes.as_mut_ptr().cast(),
                                whole / 8,
                            )
                        };
                    }
                    if whole < len {
                        self.blocks(
                            &xs,
                            &ones,
                            buf,
                            block,
                            &mut dsts,
                            &mut sums,
                            start + whole,
                            start + len,
                        );
                    } else {
                        let none: SmallVec<[&[T]; 4]> =
                            SmallVec::from_elem(&[][..], self.accumulators);
                        sums.end_chunk(&none, n >= PARALLEL_MIN_ELEMENTS);
                    }
                    start += len;
                }
            }
            None => self.blocks(&xs, &ones, buf, block, &mut dsts, &mut sums, 0, n),
        }
        drop(dsts);
        drop(guard);
        let mut sums = sums.totals;
        for op in &self.ops {
            if let Op::Sum {
                acc, mean: true, ..
            } = *op
            {
                sums[acc] = sums[acc] / T::from_f64(n as f64);
            }
        }
        let mut outs = outs.into_iter();
        for o in &self.outputs {
            let value = match o.produced {
                Produced::Reg(_) => match outs.next() {
                    Some((_, a)) => a,
                    None => return false,
                },
                Produced::Acc(acc) => {
                    let v = sums[acc];
                    pool::build_small::<T>(&o.shape, |out| out.fill(v))
                }
                Produced::One(one) => {
                    let v = ones[one];
                    match o.shape.iter().product::<usize>() {
                        n if n >= pool::MIN_ELEMENTS => {
                            pool::build_large::<T>(&o.shape, n, |out| kernels::fill(out, v))
                        }
                        _ => pool::build_small::<T>(&o.shape, |out| out.fill(v)),
                    }
                }
            };
            store(o.slot, o.node, value);
        }
        true
    }

    /// Runs the elements `from..to` as blocks of `block` elements: each op over a block in
    /// turn, then the sums fed together, then the outputs' blocks copied out.
    #[allow(clippy::too_many_arguments)]
    fn blocks<T: Fused>(
        &self,
        xs: &[&[T]],
        ones: &[T],
        buf: &mut [T],
        block: usize,
        dsts: &mut [(usize, &mut [T])],
        sums: &mut Sums<T>,
        from: usize,
        to: usize,
    ) {
        let n = self.n;
        let mut off = from;
        while off < to {
            let len = block.min(to - off);
            for op in &self.ops {
                match *op {
                    Op::Map { ref f, a, b, reg } => {
                        let (before, rest) = buf.split_at_mut(reg * block);
                        let (a, b) = (
                            block_arg(a, before, xs, ones, block, off, len),
                            block_arg(b, before, xs, ones, block, off, len),
                        );
                        T::apply(&**f, &mut rest[..len], a, b);
                    }
                    Op::One { .. } | Op::Sum { .. } => {}
                }
            }
            // the sums last, together (their operands are in the block by now: no op writes
            // a block another has written)
            if self.accumulators > 0 {
                let mut values: SmallVec<[&[T]; 4]> = SmallVec::new();
                for op in &self.ops {
                    if let Op::Sum { src, acc, .. } = *op {
                        debug_assert_eq!(acc, values.len());
                        values.push(match src {
                            Src::Reg(r) => &buf[r * block..r * block + len],
                            Src::Full(k) => &xs[k][off..off + len],
                            // (the planner gives a sum a whole operand)
                            Src::Scalar(_) | Src::One(_) => &[],
                        });
                    }
                }
                sums.add(&values, off, n);
            }
            for (r, d) in dsts.iter_mut() {
                d[off..off + len].copy_from_slice(&buf[*r * block..*r * block + len]);
            }
            off += len;
        }
    }

    /// Whether the region runs as machine code generated for it ([`crate::jit`]).
    #[cfg(test)]
    pub(crate) fn compiled(&self) -> bool {
        self.jit.is_some()
    }

    /// The region without its generated code: it runs as blocks.
    #[cfg(test)]
    pub(crate) fn drop_jit(&mut self) {
        self.jit = None;
    }

    /// The names of the region's ops (`"fused(mul, add, sum)"`), given its members' names.
    pub(crate) fn describe(&self, name: &dyn Fn(usize) -> &'static str) -> String {
        let names: Vec<&str> = self.members.iter().map(|&m| name(m)).collect();
        format!("fused({})", names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use crate::ops::{Abs, MulSign, Square};
    use crate::trace::Trace;
    use crate::Array;

    type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

    /// Awkward values (mixed magnitudes, so that a change of summation order shows), with
    /// signed zeros here and there.
    fn values(n: usize, seed: usize) -> Vec<f32> {
        (0..n)
            .map(|i| match (i * 31 + seed) % 97 {
                0 => -0.0,
                1 => 0.0,
                k => ((i * 7919 + seed) % 1000) as f32 * 1.37e-3 - 0.5 + 1e4 * (k % 3) as f32,
            })
            .collect()
    }

    /// A step of document 002's shape on `n` points: the forward pass, the mean's gradient
    /// spread, the products summed into two scalar gradients.
    fn step(x: &Array, y: &Array, w: &Array, b: &Array) -> Result<Array> {
        let e = x.mul(w)?.add(b)?.sub(y)?;
        let loss = e.map(Square).mean(None, false)?;
        let g = Array::scalar(1.0f32).spread(e.shape(), Some(e.len()))?;
        let ge = g.mul(&e)?.scale(2.0);
        let gb = ge.sum_to_shape(&[])?;
        let gw = x.mul_sum_to_shape(&ge, &[])?;
        let signs = e.zip(&y.map(Abs), MulSign)?.sum(None, true)?;
        Ok(loss.add(&gb)?.add(&gw)?.add(&signs)?)
    }

    fn bits(a: &Array) -> Result<Vec<u32>> {
        Ok(a.to_vec::<f32>()?.iter().map(|v| v.to_bits()).collect())
    }

    #[test]
    fn fused_regions_give_the_kernels_bits_at_every_size() -> Result<()> {
        // below and above a block, with tails of every length, and above the size at which the
        // sums go by chunks
        let sizes = [
            1,
            7,
            8,
            9,
            63,
            1023,
            1024,
            1025,
            4095,
            4097,
            10_001,
            (1 << 17) + 13,
            3 << 17,
        ];
        for &n in &sizes {
            let x = Array::from_vec(values(n, 1), &[n])?;
            let y = Array::from_vec(values(n, 2), &[n])?;
            let (w, b) = (Array::scalar(0.37f32), Array::scalar(-1.25f32));
            let eager = step(&x, &y, &w, &b)?;
            let tracing = Trace::begin(&[&x, &y, &w, &b]);
            let traced = step(&x, &y, &w, &b)?;
            let trace = tracing.finish(&traced)?;
            let fused = trace
                .steps()
                .iter()
                .filter(|s| s.starts_with("fused("))
                .count();
            assert!(fused >= 1, "n = {n}: {:?}", trace.steps());
            let (x2, y2) = (
                Array::from_vec(values(n, 3), &[n])?,
                Array::from_vec(values(n, 4), &[n])?,
            );
            let args = [&x2, &y2, &w, &b];
            let replayed = trace.replay(&args, &mut |_, _| Ok(()))?;
            let one_by_one = trace.replay_unfused(&args, &mut |_, _| Ok(()))?;
            let direct = step(&x2, &y2, &w, &b)?;
            assert_eq!(bits(&replayed)?, bits(&direct)?, "n = {n}");
            assert_eq!(bits(&one_by_one)?, bits(&direct)?, "n = {n}");
            // the regions' generated loops (where Cranelift targets the machine), then the
            // same regions as blocks
            if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
                assert!(
                    trace.compiled_regions() >= 1,
                    "n = {n}: {:?}",
                    trace.steps()
                );
            }
            let mut blocks = trace;
            blocks.without_jit();
            assert_eq!(blocks.compiled_regions(), 0);
            let as_blocks = blocks.replay(&args, &mut |_, _| Ok(()))?;
            assert_eq!(bits(&as_blocks)?, bits(&direct)?, "n = {n}");
            assert_eq!(bits(&traced)?, bits(&eager)?, "n = {n}");
        }
        Ok(())
    }

    #[test]
    fn a_region_fuses_only_what_it_need_not_build() -> Result<()> {
        let x = Array::from_vec(values(100, 1), &[100])?;
        let tracing = Trace::begin(&[&x]);
        let y = x.mul(&x)?.add(&x)?.sum(None, false)?;
        let trace = tracing.finish(&y)?;
        assert_eq!(trace.steps(), ["fused(mul, add, sum)"]);
        // both values are used after the region: fusing would build both anyway
        let tracing = Trace::begin(&[&x]);
        let a = x.mul(&x)?;
        let b = a.add(&x)?;
        let out = a.reshape(&[10, 10])?.add(&b.reshape(&[10, 10])?)?;
        let trace = tracing.finish(&out)?;
        assert!(
            !trace.steps().iter().any(|s| s.starts_with("fused")),
            "{:?}",
            trace.steps()
        );
        Ok(())
    }

    #[test]
    fn an_input_of_another_layout_runs_the_kernels_one_by_one() -> Result<()> {
        let a = Array::from_vec(values(12, 1), &[3, 4])?;
        let f = |a: &Array| -> Result<Array> { Ok(a.map(Square).add(a)?.sum(None, false)?) };
        let tracing = Trace::begin(&[&a]);
        let out = f(&a)?;
        let trace = tracing.finish(&out)?;
        assert_eq!(trace.steps(), ["fused(square, add, sum)"]);
        // a transposed view of the same shape: not row-major, so the region cannot read it
        let t = Array::from_vec(values(12, 5), &[4, 3])?.transpose(None)?;
        assert_eq!(t.shape(), &[3, 4]);
        let replayed = trace.replay(&[&t], &mut |_, _| Ok(()))?;
        assert_eq!(bits(&replayed)?, bits(&f(&t)?)?);
        Ok(())
    }

    #[test]
    fn kernels_of_constants_run_once_and_give_the_same_bits() -> Result<()> {
        let c = Array::from_vec(values(20, 5), &[4, 5])?;
        let f = |x: &Array| -> Result<Array> {
            // `c`'s reshapes and their product depend on no argument: folded
            let cc = c.reshape_exact(&[20])?.mul(&c.reshape_exact(&[20])?)?;
            Ok(x.add(&cc)?.sum(None, false)?)
        };
        let x = Array::from_vec(values(20, 3), &[20])?;
        let tracing = Trace::begin(&[&x]);
        let out = f(&x)?;
        let trace = tracing.finish(&out)?;
        assert_eq!(trace.names(), ["reshape", "reshape", "mul", "add", "sum"]);
        assert_eq!(trace.steps(), ["fused(add, sum)"]);
        let x2 = Array::from_vec(values(20, 7), &[20])?;
        let replayed = trace.replay(&[&x2], &mut |_, _| Ok(()))?;
        let one_by_one = trace.replay_unfused(&[&x2], &mut |_, _| Ok(()))?;
        assert_eq!(bits(&replayed)?, bits(&f(&x2)?)?);
        assert_eq!(bits(&one_by_one)?, bits(&f(&x2)?)?);
        // the output itself is never folded: a replay returns it
        let tracing = Trace::begin(&[&x]);
        let only = c.reshape_exact(&[20])?;
        let trace = tracing.finish(&only)?;
        assert_eq!(trace.steps(), ["reshape"]);
        assert_eq!(
            bits(&trace.replay(&[&x], &mut |_, _| Ok(()))?)?,
            bits(&only)?
        );
        Ok(())
    }

    #[test]
    fn reductions_over_axes_of_length_one_fuse_as_maps() -> Result<()> {
        // a Keras loss on a batch of single outputs: the mean over the last axis (of length 1),
        // then the mean over the batch
        let loss = |x: &Array, y: &Array| -> Result<Array> {
            let per_row = x.sub(y)?.map(Square).mean(Some(&[-1]), false)?;
            Ok(per_row.mean(None, false)?)
        };
        // signed zeros through a sum over an axis of length 1: `0 + -0` is `+0`
        let signs = |x: &Array| -> Result<Array> {
            Ok(x.mul(&Array::scalar(1.0f32))?
                .sum(Some(&[1]), true)?
                .sum(Some(&[1]), false)?)
        };
        for n in [1, 3, 9, 4097] {
            let (x, y) = (
                Array::from_vec(values(n, 1), &[n, 1])?,
                Array::from_vec(values(n, 2), &[n, 1])?,
            );
            let tracing = Trace::begin(&[&x, &y]);
            let out = loss(&x, &y)?;
            let trace = tracing.finish(&out)?;
            assert_eq!(trace.steps(), ["fused(sub, square, mean, mean)"], "n = {n}");
            let (x2, y2) = (
                Array::from_vec(values(n, 3), &[n, 1])?,
                Array::from_vec(values(n, 4), &[n, 1])?,
            );
            let replayed = trace.replay(&[&x2, &y2], &mut |_, _| Ok(()))?;
            assert_eq!(bits(&replayed)?, bits(&loss(&x2, &y2)?)?, "n = {n}");

            let tracing = Trace::begin(&[&x]);
            let out = signs(&x)?;
            let trace = tracing.finish(&out)?;
            assert_eq!(trace.steps(), ["fused(mul, sum, sum)"], "n = {n}");
            let zeros = Array::from_vec(vec![-0.0f32; n], &[n, 1])?;
            for x in [&x2, &zeros] {
                let replayed = trace.replay(&[x], &mut |_, _| Ok(()))?;
                assert_eq!(replayed.shape(), &[n]);
                assert_eq!(bits(&replayed)?, bits(&signs(x)?)?, "n = {n}");
            }
            assert!(
                bits(&signs(&zeros)?)?.iter().all(|&b| b == 0),
                "+0 everywhere"
            );
        }
        Ok(())
    }

    #[test]
    fn an_in_place_kernel_updates_a_value_only_at_its_last_use() -> Result<()> {
        let bias = Array::from_vec(vec![0.5f32, -0.0, 3.0], &[3])?;
        // the product is used after the bias is added to a clone of it: it must not change
        let f = |x: &Array| -> Result<Array> {
            let m = x.mul(x)?;
            let mut z = m.clone();
            z.bias_add_assign(&bias)?;
            Ok(z.add(&m)?)
        };
        // the argument itself updated: the caller's array must not change
        let g = |x: &Array| -> Result<Array> {
            let mut z = x.clone();
            z.bias_add_assign(&bias)?;
            Ok(z)
        };
        for h in [&f as &dyn Fn(&Array) -> Result<Array>, &g] {
            let x = Array::from_vec(values(6, 1), &[2, 3])?;
            let tracing = Trace::begin(&[&x]);
            let out = h(&x)?;
            let trace = tracing.finish(&out)?;
            assert!(trace.names().contains(&"bias_add"), "{:?}", trace.names());
            let x2 = Array::from_vec(values(6, 2), &[2, 3])?;
            let before = bits(&x2)?;
            for _ in 0..3 {
                let replayed = trace.replay(&[&x2], &mut |_, _| Ok(()))?;
                let one_by_one = trace.replay_unfused(&[&x2], &mut |_, _| Ok(()))?;
                assert_eq!(bits(&replayed)?, bits(&h(&x2)?)?);
                assert_eq!(bits(&one_by_one)?, bits(&h(&x2)?)?);
                assert_eq!(bits(&x2)?, before, "the argument is unchanged");
            }
        }
        Ok(())
    }
}
