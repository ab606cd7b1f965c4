//! The backward pass: reverse accumulation over a tape's records, from a target to its
//! sources, one gradient per record and per leaf.

use super::records::{Recorded, Slot};
use super::thread::{any_active, Scratch};
use super::OpRef;
use super::Source;
use crate::op::Backward;
use crate::{ops, Error, Result, Tensor};

/// Reverse accumulation over the records from `target` (seeded with `seed`) to `sources`, in
/// `scratch`'s buffers (left empty).
pub(crate) fn backward_pass<S: Source>(
    recorded: &Recorded,
    scratch: &mut Scratch,
    target: &Tensor,
    seed: Tensor,
    sources: &[S],
) -> Result<Vec<Option<Tensor>>> {
    observed_backward_pass(recorded, scratch, target, seed, sources, &mut Unobserved)
}

/// [`backward_pass`] that also shows `observer` each record's gradient as the pass reaches it.
pub(crate) fn observed_backward_pass<S: Source>(
    recorded: &Recorded,
    scratch: &mut Scratch,
    target: &Tensor,
    seed: Tensor,
    sources: &[S],
    observer: &mut impl Observer,
) -> Result<Vec<Option<Tensor>>> {
    let out = accumulate(recorded, scratch, target, seed, sources, observer);
    scratch.clear();
    out
}

/// What the backward pass shows of its work, record by record, in its (the tape's reverse)
/// order: the gradient that reached the record's output, and the gradients it gave its inputs.
pub(crate) trait Observer {
    /// An op's record: its output's gradient and what it gave each input.
    fn record(&mut self, index: usize, grad: &Tensor, input_grads: &[Option<Tensor>]);
    /// A variable read's record, which passes `grad` on unchanged.
    fn read(&mut self, index: usize, grad: &Tensor);
}

/// The backward pass of `gradient`: shown to no one (compiled away).
struct Unobserved;

impl Observer for Unobserved {
    #[inline(always)]
    fn record(&mut self, _: usize, _: &Tensor, _: &[Option<Tensor>]) {}
    #[inline(always)]
    fn read(&mut self, _: usize, _: &Tensor) {}
}

/// The gradient a slot holds.
#[inline]
pub(crate) fn slot_grad<'a>(
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
pub(crate) fn add_into(sum: &mut Option<Tensor>, g: Tensor) -> Result<()> {
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
pub(crate) fn add_to(prev: &mut Tensor, g: Tensor) -> Result<()> {
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
    observer: &mut impl Observer,
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
    // the tape chooses once for the pass: recorded ops when a tape records it (nested tapes),
    // else each op's plain form
    let recorded_pass = any_active();
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
            observer.read(k, &g);
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
        if recorded_pass {
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
        observer.record(k, &g, input_grads);
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
