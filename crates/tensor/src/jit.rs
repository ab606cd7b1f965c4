//! A fused region's loop as machine code generated when the region is planned, with
//! Cranelift (pure Rust): each element stays in a register through every op of the region,
//! and the region's sums add into their eight lanes in the same loop, instead of one pass over
//! a block per op ([`crate::fuse`]'s interpreter).
//!
//! **Exactness.** The generated loop runs the ops' own vector forms ([`UnaryFn::lanes`],
//! [`BinaryFn::lanes`]): the IEEE-754 operations of their scalar functions, in the same order,
//! on the same operands, lane by lane (Cranelift contracts nothing into a fused multiply-add
//! and does not reassociate). A sum keeps its eight lanes as two vectors of four `f32` (four
//! of two `f64`), each lane fed the elements `8 i + k` in order, as
//! [`kernels::add_lanes_many`](crate::kernels::add_lanes_many) feeds them; the lanes' fold and
//! the remaining elements (fewer than eight a chunk) are the interpreter's, as before. A region
//! with an op that has no vector form (a call into the math library, `pow`) is not compiled
//! and runs as blocks.
//!
//! [`UnaryFn::lanes`]: crate::ops::UnaryFn::lanes
//! [`BinaryFn::lanes`]: crate::ops::BinaryFn::lanes

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{
    types, AbiParam, InstBuilder, MemFlagsData, Type, UserFuncName, Value,
};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, Module};

use crate::fuse::{Op, Src};
use crate::ops::{Lane, Lanes};
use crate::DType;

/// The generated loop: `(inputs, scalars, outputs, lanes, chunks)`. `inputs[k]` points at the
/// first element of full input `k` to read, `scalars` at one value per input (for inputs of one
/// element) followed by the region's one-element values, `outputs[j]` at the first element of
/// output `j` to write, `lanes` at the sums' lanes (eight a sum, read and written back);
/// `chunks` chunks of eight elements are run.
type LoopFn = unsafe extern "C" fn(*const *const u8, *const u8, *const *mut u8, *mut u8, usize);

/// A region's compiled loop (see the [module](self)).
pub(crate) struct Compiled {
    /// Owns the code's memory; not used after compiling but to free it.
    module: Option<JITModule>,
    f: LoopFn,
}

// SAFETY: after `finalize_definitions` the module is never used again except by `drop`, which
// has it exclusively; the code it owns is immutable, and the loop it holds touches only the
// memory its caller passes, so calling it from several threads at once is sound.
unsafe impl Send for Compiled {}
// SAFETY: as above: `&Compiled` only allows calling the immutable, reentrant loop.
unsafe impl Sync for Compiled {}

impl Drop for Compiled {
    fn drop(&mut self) {
        if let Some(module) = self.module.take() {
            // SAFETY: the only pointer into the module's code is `self.f`, dropped with it.
            unsafe { module.free_memory() };
        }
    }
}

/// What a region gives its compiled loop to run.
pub(crate) struct Plan<'a> {
    pub(crate) dtype: DType,
    pub(crate) ops: &'a [Op],
    /// Whether each input holds the region's number of elements (else one element).
    pub(crate) full: &'a [bool],
    /// The registers stored to the outputs, in the outputs' order.
    pub(crate) stores: &'a [usize],
}

impl Compiled {
    /// The region's loop compiled for this machine, or `None` when one of its ops has no
    /// vector form or Cranelift cannot compile for this machine.
    pub(crate) fn new(plan: &Plan<'_>) -> Option<Compiled> {
        let mut flags = settings::builder();
        flags.set("opt_level", "speed").ok()?;
        flags.set("is_pic", "false").ok()?;
        flags.set("use_colocated_libcalls", "false").ok()?;
        let isa = cranelift_native::builder()
            .ok()?
            .finish(settings::Flags::new(flags))
            .ok()?;
        let mut module = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
        let compiled = build(&mut module, plan);
        match compiled {
            Some(f) => Some(Compiled {
                module: Some(module),
                f,
            }),
            None => {
                // SAFETY: nothing points into the module's code (none was finished).
                unsafe { module.free_memory() };
                None
            }
        }
    }

    /// Runs `chunks` chunks of eight elements.
    ///
    /// # Safety
    ///
    /// `inputs` must hold a pointer for every input of the region (to `8 · chunks` readable
    /// elements of the region's dtype for a full input; any pointer for the others), `scalars`
    /// one readable value per input and per one-element value of the region, `outputs` a
    /// pointer to `8 · chunks` writable elements per stored register, and `lanes` eight
    /// readable and writable elements per sum.
    pub(crate) unsafe fn run(
        &self,
        inputs: &[*const u8],
        scalars: *const u8,
        outputs: &[*mut u8],
        lanes: *mut u8,
        chunks: usize,
    ) {
        // SAFETY: the caller's promise, which is what the loop reads and writes.
        unsafe { (self.f)(inputs.as_ptr(), scalars, outputs.as_ptr(), lanes, chunks) }
    }
}

/// A vector of eight lanes as the loop holds it: `parts` Cranelift vectors.
type Eight = [Value; 4];

/// The [`Lanes`] builder over Cranelift's instructions.
struct Builder<'a, 'f> {
    b: &'a mut FunctionBuilder<'f>,
    vector: Type,
    scalar: Type,
    parts: usize,
    values: Vec<Eight>,
}

impl Builder<'_, '_> {
    fn push(&mut self, v: Eight) -> Lane {
        self.values.push(v);
        Lane((self.values.len() - 1) as u32)
    }

    fn get(&self, l: Lane) -> Eight {
        self.values[l.0 as usize]
    }

    fn each(
        &mut self,
        a: Lane,
        mut f: impl FnMut(&mut FunctionBuilder<'_>, Value) -> Value,
    ) -> Lane {
        let a = self.get(a);
        let mut out = a;
        for p in 0..self.parts {
            out[p] = f(self.b, a[p]);
        }
        self.push(out)
    }

    fn each2(
        &mut self,
        a: Lane,
        b: Lane,
        mut f: impl FnMut(&mut FunctionBuilder<'_>, Value, Value) -> Value,
    ) -> Lane {
        let (a, b) = (self.get(a), self.get(b));
        let mut out = a;
        for p in 0..self.parts {
            out[p] = f(self.b, a[p], b[p]);
        }
        self.push(out)
    }

    fn select(&mut self, cc: FloatCC, a: Lane, b: Lane, then: Lane, otherwise: Lane) -> Lane {
        let (a, b, t, o) = (
            self.get(a),
            self.get(b),
            self.get(then),
            self.get(otherwise),
        );
        let mut out = a;
        for p in 0..self.parts {
            let mask = self.b.ins().fcmp(cc, a[p], b[p]);
            let mask = self.b.ins().bitcast(self.vector, MemFlagsData::new(), mask);
            out[p] = self.b.ins().bitselect(mask, t[p], o[p]);
        }
        self.push(out)
    }
}

impl Lanes for Builder<'_, '_> {
    fn constant(&mut self, v: f64) -> Lane {
        let one = if self.scalar == types::F32 {
            self.b.ins().f32const(v as f32)
        } else {
            self.b.ins().f64const(v)
        };
        let splat = self.b.ins().splat(self.vector, one);
        self.push([splat; 4])
    }
    fn add(&mut self, a: Lane, b: Lane) -> Lane {
        self.each2(a, b, |b, x, y| b.ins().fadd(x, y))
    }
    fn sub(&mut self, a: Lane, b: Lane) -> Lane {
        self.each2(a, b, |b, x, y| b.ins().fsub(x, y))
    }
    fn mul(&mut self, a: Lane, b: Lane) -> Lane {
        self.each2(a, b, |b, x, y| b.ins().fmul(x, y))
    }
    fn div(&mut self, a: Lane, b: Lane) -> Lane {
        self.each2(a, b, |b, x, y| b.ins().fdiv(x, y))
    }
    fn neg(&mut self, a: Lane) -> Lane {
        self.each(a, |b, x| b.ins().fneg(x))
    }
    fn abs(&mut self, a: Lane) -> Lane {
        self.each(a, |b, x| b.ins().fabs(x))
    }
    fn select_gt(&mut self, a: Lane, b: Lane, then: Lane, otherwise: Lane) -> Lane {
        self.select(FloatCC::GreaterThan, a, b, then, otherwise)
    }
    fn select_lt(&mut self, a: Lane, b: Lane, then: Lane, otherwise: Lane) -> Lane {
        self.select(FloatCC::LessThan, a, b, then, otherwise)
    }
}

/// Generates and finishes the loop in `module`.
fn build(module: &mut JITModule, plan: &Plan<'_>) -> Option<LoopFn> {
    // every op must have a vector form, asked of a builder that builds nothing
    for op in plan.ops {
        if let Op::Map { f, .. } = op {
            f.lanes(&mut Probe, Lane(0), Lane(0))?;
        }
    }
    let (vector, scalar, size) = match plan.dtype {
        DType::F32 => (types::F32X4, types::F32, 4i32),
        DType::F64 => (types::F64X2, types::F64, 8),
    };
    let per = 16 / size; // lanes a vector
    let parts = (8 / per) as usize;
    let ptr = module.target_config().pointer_type();
    let word = i32::from(ptr.bytes() as u16);
    let mut sig = module.make_signature();
    for _ in 0..4 {
        sig.params.push(AbiParam::new(ptr));
    }
    sig.params.push(AbiParam::new(ptr));
    let id = module.declare_anonymous_function(&sig).ok()?;
    let mut ctx = module.make_context();
    ctx.func.signature = sig;
    ctx.func.name = UserFuncName::user(0, id.as_u32());
    let mut fctx = FunctionBuilderContext::new();
    let flags = MemFlagsData::new().with_notrap();
    {
        let mut fb = FunctionBuilder::new(&mut ctx.func, &mut fctx);
        let (entry, header, body, exit) = (
            fb.create_block(),
            fb.create_block(),
            fb.create_block(),
            fb.create_block(),
        );
        fb.append_block_params_for_function_params(entry);
        fb.switch_to_block(entry);
        let params = fb.block_params(entry).to_vec();
        let (p_inputs, p_scalars, p_outputs, p_lanes, p_chunks) =
            (params[0], params[1], params[2], params[3], params[4]);
        // the inputs' and outputs' pointers, the scalars splat, the sums' lanes
        let bases: Vec<Option<Value>> = plan
            .full
            .iter()
            .enumerate()
            .map(|(k, &full)| full.then(|| fb.ins().load(ptr, flags, p_inputs, word * k as i32)))
            .collect();
        let outs: Vec<Value> = (0..plan.stores.len())
            .map(|j| fb.ins().load(ptr, flags, p_outputs, word * j as i32))
            .collect();
        let mut scalars: Vec<Option<Value>> = Vec::new();
        let mut scalar_at = |fb: &mut FunctionBuilder<'_>, k: usize| -> Value {
            if scalars.len() <= k {
                scalars.resize(k + 1, None);
            }
            *scalars[k].get_or_insert_with(|| {
                let v = fb.ins().load(scalar, flags, p_scalars, size * k as i32);
                fb.ins().splat(vector, v)
            })
        };
        let inputs = plan.full.len();
        // every one-element value the loop reads, splat once here
        let mut splats: Vec<(Src, Value)> = Vec::new();
        for op in plan.ops {
            let srcs: &[Src] = match op {
                Op::Map { a, b, .. } => &[*a, *b],
                Op::Sum { src, .. } => std::slice::from_ref(src),
                Op::One { .. } => &[],
            };
            for &s in srcs {
                let k = match s {
                    Src::Scalar(k) => k,
                    Src::One(o) => inputs + o,
                    Src::Reg(_) | Src::Full(_) => continue,
                };
                let v = scalar_at(&mut fb, k);
                splats.push((s, v));
            }
        }
        let accumulators = plan
            .ops
            .iter()
            .filter(|op| matches!(op, Op::Sum { .. }))
            .count();
        let mut accs: Vec<Vec<Variable>> = Vec::new();
        for a in 0..accumulators {
            let mut vars = Vec::new();
            for p in 0..parts {
                let var = fb.declare_var(vector);
                let offset = (a as i32 * 8 + p as i32 * per) * size;
                let v = fb.ins().load(vector, flags, p_lanes, offset);
                fb.def_var(var, v);
                vars.push(var);
            }
            accs.push(vars);
        }
        let step = 8 * i64::from(size);
        let end = fb.ins().imul_imm_u(p_chunks, step);
        let off = fb.declare_var(ptr);
        let zero = fb.ins().iconst(ptr, 0);
        fb.def_var(off, zero);
        fb.ins().jump(header, &[]);

        fb.switch_to_block(header);
        let at = fb.use_var(off);
        let more = fb.ins().icmp(IntCC::UnsignedLessThan, at, end);
        fb.ins().brif(more, body, &[], exit, &[]);

        fb.switch_to_block(body);
        let at = fb.use_var(off);
        let mut loaded: Vec<Option<Lane>> = vec![None; inputs];
        let mut regs: Vec<Option<Lane>> = Vec::new();
        let mut e = Builder {
            b: &mut fb,
            vector,
            scalar,
            parts,
            values: Vec::new(),
        };
        let mut lane_of =
            |e: &mut Builder<'_, '_>, s: Src, regs: &[Option<Lane>]| -> Option<Lane> {
                match s {
                    Src::Reg(r) => regs.get(r).copied().flatten(),
                    Src::Full(k) => {
                        if let Some(l) = loaded[k] {
                            return Some(l);
                        }
                        let addr = e.b.ins().iadd(bases[k]?, at);
                        let mut v = [addr; 4];
                        for (p, slot) in v.iter_mut().enumerate().take(parts) {
                            *slot = e.b.ins().load(vector, flags, addr, p as i32 * 16);
                        }
                        let l = e.push(v);
                        loaded[k] = Some(l);
                        Some(l)
                    }
                    Src::Scalar(_) | Src::One(_) => {
                        let v = splats.iter().find(|(t, _)| same(*t, s))?.1;
                        Some(e.push([v; 4]))
                    }
                }
            };
        for op in plan.ops {
            match op {
                Op::Map { f, a, b, reg } => {
                    let la = lane_of(&mut e, *a, &regs)?;
                    let lb = lane_of(&mut e, *b, &regs)?;
                    let out = f.lanes(&mut e, la, lb)?;
                    if regs.len() <= *reg {
                        regs.resize(*reg + 1, None);
                    }
                    regs[*reg] = Some(out);
                }
                Op::One { .. } => {}
                Op::Sum { src, acc, .. } => {
                    let x = lane_of(&mut e, *src, &regs)?;
                    let x = e.get(x);
                    for p in 0..parts {
                        let var = accs[*acc][p];
                        let sum = e.b.use_var(var);
                        let sum = e.b.ins().fadd(sum, x[p]);
                        e.b.def_var(var, sum);
                    }
                }
            }
        }
        for (j, &r) in plan.stores.iter().enumerate() {
            let v = e.get(regs.get(r).copied().flatten()?);
            let addr = e.b.ins().iadd(outs[j], at);
            for (p, &part) in v.iter().enumerate().take(parts) {
                e.b.ins().store(flags, part, addr, p as i32 * 16);
            }
        }
        let next = fb.ins().iadd_imm_u(at, step);
        fb.def_var(off, next);
        fb.ins().jump(header, &[]);

        fb.switch_to_block(exit);
        for (a, vars) in accs.iter().enumerate() {
            for (p, &var) in vars.iter().enumerate() {
                let v = fb.use_var(var);
                let offset = (a as i32 * 8 + p as i32 * per) * size;
                fb.ins().store(flags, v, p_lanes, offset);
            }
        }
        fb.ins().return_(&[]);
        fb.seal_all_blocks();
        let config = module.target_config();
        fb.finalize(config);
    }
    module.define_function(id, &mut ctx).ok()?;
    module.clear_context(&mut ctx);
    module.finalize_definitions().ok()?;
    let code = module.get_finalized_function(id);
    // SAFETY: the function was declared with `LoopFn`'s signature in the platform's default
    // calling convention (`make_signature`), which is `extern "C"`'s.
    Some(unsafe { std::mem::transmute::<*const u8, LoopFn>(code) })
}

/// Whether two sources of one-element values are the same value.
fn same(a: Src, b: Src) -> bool {
    match (a, b) {
        (Src::Scalar(x), Src::Scalar(y)) | (Src::One(x), Src::One(y)) => x == y,
        _ => false,
    }
}

/// A [`Lanes`] builder that builds nothing: asks an op whether it has a vector form.
struct Probe;

impl Lanes for Probe {
    fn constant(&mut self, _: f64) -> Lane {
        Lane(0)
    }
    fn add(&mut self, a: Lane, _: Lane) -> Lane {
        a
    }
    fn sub(&mut self, a: Lane, _: Lane) -> Lane {
        a
    }
    fn mul(&mut self, a: Lane, _: Lane) -> Lane {
        a
    }
    fn div(&mut self, a: Lane, _: Lane) -> Lane {
        a
    }
    fn neg(&mut self, a: Lane) -> Lane {
        a
    }
    fn abs(&mut self, a: Lane) -> Lane {
        a
    }
    fn select_gt(&mut self, a: Lane, _: Lane, _: Lane, _: Lane) -> Lane {
        a
    }
    fn select_lt(&mut self, a: Lane, _: Lane, _: Lane, _: Lane) -> Lane {
        a
    }
}

#[cfg(test)]
mod tests {
    use crate::ops::*;
    use crate::trace::Trace;
    use crate::{Array, Element};

    type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

    /// Every class of value an op can meet: signed zeros, infinities, NaN, subnormals, the
    /// constants the vector forms compare with, ordinary numbers; 37 of them, so that the
    /// loop runs four chunks of eight and the interpreter the last five.
    fn specials<T: Element>(shift: usize) -> Vec<T> {
        let base = [
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            1e-310,
            -1e-310,
            1e-40,
            1.0,
            -1.0,
            2.0,
            0.5,
            -3.25,
            1e30,
            -7e-20,
            0.1,
            1.0 / 3.0,
        ];
        (0..37)
            .map(|i| T::from_f64(base[(i * 5 + shift) % base.len()] * (1.0 + i as f64 * 1e-3)))
            .collect()
    }

    /// The bits of `a`, every NaN as one value (which NaN an op on two NaNs returns is left
    /// open by IEEE 754: see `kernels`).
    fn bits(a: &Array) -> Result<Vec<u64>> {
        Ok(a.to_f64_vec()
            .iter()
            .map(|v| if v.is_nan() { u64::MAX } else { v.to_bits() })
            .collect())
    }

    /// `f` traced and replayed (its region compiled) gives the bits it gives eagerly.
    fn check<T: Element>(name: &str, f: &dyn Fn(&Array, &Array) -> Result<Array>) -> Result<()> {
        for shift in [0, 3, 11] {
            let x = Array::from_vec(specials::<T>(shift), &[37])?;
            let y = Array::from_vec(specials::<T>(shift + 7), &[37])?;
            let tracing = Trace::begin(&[&x, &y]);
            let traced = f(&x, &y)?;
            let trace = tracing.finish(&traced)?;
            assert_eq!(trace.compiled_regions(), 1, "{name}: {:?}", trace.steps());
            let (x2, y2) = (
                Array::from_vec(specials::<T>(shift + 1), &[37])?,
                Array::from_vec(specials::<T>(shift + 5), &[37])?,
            );
            let replayed = trace.replay(&[&x2, &y2], &mut |_, _| Ok(()))?;
            let eager = f(&x2, &y2)?;
            assert_eq!(bits(&replayed)?, bits(&eager)?, "{name}, {shift}");
        }
        Ok(())
    }

    fn every_vector_form<T: Element>() -> Result<()> {
        // each op, then `neg` (exact), so that the op's value stays inside the region
        macro_rules! unary {
            ($($f:ident),*) => {$(
                check::<T>(stringify!($f), &|x, _| Ok(x.map($f).map(Neg)))?;
            )*};
        }
        macro_rules! binary {
            ($($f:ident),*) => {$(
                check::<T>(stringify!($f), &|x, y| Ok(x.zip(y, $f)?.map(Neg)))?;
            )*};
        }
        unary!(Neg, Square, Abs, Sign, Relu, Reciprocal, PositiveMask);
        binary!(
            Add,
            Sub,
            Mul,
            Div,
            Greater,
            Less,
            MulSign,
            MulTwice,
            MulPositiveMask
        );
        check::<T>("scale", &|x, _| Ok(x.scale(0.1).map(Neg)))?;
        // with a sum: the lanes, their fold and the tail
        check::<T>("sum", &|x, y| {
            Ok(x.zip(y, MulTwice)?.map(Abs).sum(None, false)?)
        })?;
        Ok(())
    }

    #[test]
    fn every_vector_form_gives_its_scalar_functions_bits_f32() -> Result<()> {
        every_vector_form::<f32>()
    }

    #[test]
    fn every_vector_form_gives_its_scalar_functions_bits_f64() -> Result<()> {
        every_vector_form::<f64>()
    }
}
