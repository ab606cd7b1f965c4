//! What a tape holds: its records (an op, its inputs, where each input's gradient goes, its
//! output), the identities it watches (its leaves), and how a new record finds its inputs.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::OpRef;
use crate::Tensor;

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

pub(crate) type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// Where the gradient of a recorded op's input goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
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
/// 128: a larger record is moved with calls of `memcpy`; see docs/PERFORMANCE.md.)
#[derive(Clone, Debug)]
pub(crate) enum Slots {
    Few([Slot; 3]),
    Many(Box<[Slot]>),
}

impl Slots {
    #[inline]
    pub(crate) fn get(&self, i: usize) -> Slot {
        let slots: &[Slot] = match self {
            Slots::Few(s) => s,
            Slots::Many(s) => s,
        };
        slots.get(i).copied().unwrap_or(Slot::Unwatched)
    }
}

/// One recorded op.
#[derive(Clone)]
pub(crate) struct Record {
    pub(crate) op: OpRef,
    pub(crate) inputs: Inputs,
    /// Where each input's gradient goes, as found when the op was recorded.
    pub(crate) slots: Slots,
    pub(crate) output: Tensor,
    /// How many leaves the tape had when the op was recorded: an input that was not watched
    /// then but is now is among the leaves after these.
    pub(crate) leaves: u32,
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

    #[inline]
    pub(crate) fn as_slice(&self) -> &[Tensor] {
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
pub(crate) const LEAF_SCAN: usize = 16;

/// The identities a tape was asked to watch (tensors, variables), in the order watched.
#[derive(Clone, Default)]
pub(crate) struct Leaves {
    pub(crate) ids: Vec<u64>,
    /// The position of each id, kept once there are more than [`LEAF_SCAN`] (empty before).
    pub(crate) index: IdMap<u32>,
}

impl Leaves {
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    /// The position of `id` among the leaves from position `from` on.
    #[inline]
    pub(crate) fn find(&self, id: u64, from: usize) -> Option<usize> {
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
    pub(crate) fn push(&mut self, id: u64) {
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

    pub(crate) fn clear(&mut self) {
        self.ids.clear();
        self.index.clear();
    }
}

/// What a tape has recorded and watched: all a backward pass reads.
#[derive(Clone, Default)]
pub(crate) struct Recorded {
    pub(crate) records: Vec<Record>,
    pub(crate) leaves: Leaves,
    /// Set if a record's output has an identity below the previous record's. Identities made
    /// on one thread increase and every output is made just before it is recorded, so this
    /// stays false and outputs are found by bisection; if it did not, they would be scanned.
    pub(crate) unsorted: bool,
}

impl Recorded {
    /// The position of the record whose output has identity `id`.
    #[inline]
    pub(crate) fn output_position(&self, id: u64) -> Option<usize> {
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
    #[inline]
    pub(crate) fn slot(&self, id: u64) -> Slot {
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
    pub(crate) fn slot_now(&self, r: &Record, i: usize, id: u64) -> Slot {
        match r.slots.get(i) {
            Slot::Unwatched if self.leaves.len() > r.leaves as usize => self
                .leaves
                .find(id, r.leaves as usize)
                .map_or(Slot::Unwatched, |j| Slot::Leaf(j as u32)),
            slot => slot,
        }
    }

    /// The slots of an op's inputs, if one of them is watched.
    #[inline]
    pub(crate) fn slots_of(&self, inputs: &[Tensor]) -> Option<Slots> {
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
    pub(crate) fn watch(&mut self, id: u64) -> bool {
        let new = self.slot(id) == Slot::Unwatched;
        if new {
            self.leaves.push(id);
        }
        new
    }

    /// Appends a record (its output is then watched).
    #[inline]
    pub(crate) fn push(&mut self, op: OpRef, inputs: Inputs, slots: Slots, output: &Tensor) {
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

    pub(crate) fn clear(&mut self) {
        self.records.clear();
        self.leaves.clear();
        self.unsorted = false;
    }
}
