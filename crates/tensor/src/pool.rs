//! Per-thread reuse of tensor memory, so that a training step that makes the same temporaries
//! every step stops paying the system allocator for them.
//!
//! - **Large buffers** (at least [`MIN_ELEMENTS`] elements): glibc trims the top of the heap and
//!   unmaps buffers of 128 KiB and more on every `free`, so the next step faulted them back in.
//!   A dropped tensor that owns such a buffer alone is kept whole by its thread (array and
//!   buffer, when the buffer is row-major and at most twice its elements' size), and the next
//!   large output of its dtype and shape reuses it as it is; other outputs take a buffer of
//!   capacity between `n` and `2n`, from the kept buffers or, failing that, out of a kept
//!   tensor. At most [`MAX_BUFFERS`] buffers and [`MAX_BYTES`] bytes (of capacity) per dtype
//!   are kept, and as many whole tensors and bytes per thread, the oldest evicted first (a kept
//!   tensor evicted gives its buffer to the buffers).
//! - **Array allocations** (the `Arc` holding the array header) of dropped, unshared tensors are
//!   kept as shells ([`MAX_SHELLS`] per thread), still holding their array when it is small.
//!   A small tensor of the shape of one of the newest shells takes that shell whole (array and
//!   buffer), and one that finds none makes a new allocation, so that the shells grow to what
//!   a step asks; other tensors take the oldest shell, and the small buffer it held goes to bins
//!   by power-of-two capacity ([`SMALL_PER_BIN`] each), which serve the kernels' next small
//!   outputs. A tensor of a few elements then costs no `malloc` and no `free` once a loop has run
//!   a step. Small outputs get a power-of-two capacity so that they return to the bin they are
//!   asked from.

use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::sync::Arc;

use ndarray::{ArrayD, IxDyn};

use crate::broadcast::same_shape;
use crate::dtype::same_mut;
use crate::tensor::Repr;
use crate::{Array, Element};

/// Buffers of at least this many elements go to the large-buffer pool; smaller ones to the bins.
pub(crate) const MIN_ELEMENTS: usize = 2048;
/// Large buffers kept per thread and dtype.
pub(crate) const MAX_BUFFERS: usize = 16;
/// Bytes of large buffers kept per thread and dtype.
pub(crate) const MAX_BYTES: usize = 128 << 20;
/// Small buffers kept per bin (one bin per power-of-two capacity below [`MIN_ELEMENTS`]).
pub(crate) const SMALL_PER_BIN: usize = 8;
/// Number of small bins: capacities 1, 2, 4, …, `MIN_ELEMENTS / 2`.
const BINS: usize = MIN_ELEMENTS.trailing_zeros() as usize;
/// Array shells kept per thread. A Dense step makes ~25 small tensors; with 32, the shells a
/// step makes new when it misses (see [`build_small`]) were freed again at its end, and
/// depth-mlp allocated 15 times a step instead of 3.
pub(crate) const MAX_SHELLS: usize = 64;

struct Buffers<T> {
    large: Vec<Vec<T>>,
    large_bytes: usize,
    small: [Vec<Vec<T>>; BINS],
}

impl<T> Buffers<T> {
    const fn new() -> Self {
        Buffers {
            large: Vec::new(),
            large_bytes: 0,
            small: [const { Vec::new() }; BINS],
        }
    }
}

/// The bin of a small buffer of capacity `cap` (`1 ≤ cap < MIN_ELEMENTS`): every buffer in bin
/// `k` has room for `2^k` elements.
#[inline]
fn bin_of_capacity(cap: usize) -> usize {
    cap.ilog2() as usize
}

/// The largest request served from the bins (the last bin's buffers have room for this many);
/// larger ones, up to [`MIN_ELEMENTS`], get a buffer of the large pool's smallest size.
const LARGEST_BINNED_REQUEST: usize = 1 << (BINS - 1);

/// The bin a request for `n` elements (`1 ≤ n ≤ LARGEST_BINNED_REQUEST`) is served from:
/// `2^k ≥ n`.
#[inline]
fn bin_of_request(n: usize) -> usize {
    n.next_power_of_two().trailing_zeros() as usize
}

struct Pools {
    f32: Buffers<f32>,
    f64: Buffers<f64>,
    /// Unshared tensor allocations, roughly oldest first (a reuse moves the newest into its
    /// place), ready to hold a new array: [`build_small`]
    /// reuses the newest ones of the shape it asks (whole), [`shell`] the oldest (emptied).
    shells: Vec<Arc<Repr>>,
    /// Unshared tensors of at least [`MIN_ELEMENTS`] elements, whole (array and buffer),
    /// oldest first: [`build_large`] reuses one of the shape it asks, [`take`] empties one of
    /// a fitting size when the buffers hold none; each with its buffer's capacity in bytes (see
    /// [`keep_large`]). At most [`MAX_BUFFERS`] tensors and [`MAX_BYTES`] bytes per thread.
    large_shells: Vec<(usize, Arc<Repr>)>,
    /// Bytes of the buffers (their capacity) in `large_shells`.
    large_shell_bytes: usize,
}

thread_local! {
    static POOLS: RefCell<Pools> = const {
        RefCell::new(Pools {
            f32: Buffers::new(),
            f64: Buffers::new(),
            shells: Vec::new(),
            large_shells: Vec::new(),
            large_shell_bytes: 0,
        })
    };
}

/// Runs `f` on this thread's pools; `None` when they are unavailable (thread teardown, or a
/// re-entrant call).
#[inline]
fn with_pools<R>(f: impl FnOnce(&mut Pools) -> R) -> Option<R> {
    POOLS
        .try_with(|cell| cell.try_borrow_mut().ok().map(|mut p| f(&mut p)))
        .ok()
        .flatten()
}

/// Bytes of memory this thread's pool keeps for reuse now: the capacity of its kept buffers
/// and whole tensors. Bounded per thread by [`MAX_BYTES`] of large buffers for each dtype and
/// as many in whole tensors (384 MiB in all), plus the small bins and shells (under 1 MiB).
pub fn pooled_bytes() -> usize {
    fn small<T>(b: &Buffers<T>) -> usize {
        b.small
            .iter()
            .flatten()
            .map(|v| v.capacity() * std::mem::size_of::<T>())
            .sum()
    }
    fn shell_bytes(r: &Repr) -> usize {
        match r {
            Repr::F32(a) => a.len() * 4,
            Repr::F64(a) => a.len() * 8,
        }
    }
    with_pools(|p| {
        p.f32.large_bytes
            + p.f64.large_bytes
            + p.large_shell_bytes
            + small(&p.f32)
            + small(&p.f64)
            + p.shells.iter().map(|r| shell_bytes(r)).sum::<usize>()
    })
    .unwrap_or(0)
}

/// Gives back to the system every buffer and tensor this thread's pool keeps, and returns the
/// bytes released; the pool fills again as tensors are dropped. For a long-lived thread that has
/// finished its training and goes on to other work.
///
/// ```
/// use tapegrad_tensor::{pooled_bytes, release_pooled, Array, DType};
/// let x = Array::arange(0.0, (1 << 20) as f64, 1.0, DType::F32)?;
/// drop(x.add(&x)?); // a 4 MiB result, kept for the next one
/// assert!(pooled_bytes() >= 4 << 20);
/// assert!(release_pooled() >= 4 << 20);
/// assert_eq!(pooled_bytes(), 0);
/// # Ok::<(), tapegrad_tensor::TensorError>(())
/// ```
pub fn release_pooled() -> usize {
    let before = pooled_bytes();
    // Moved out first and dropped once the pools are no longer borrowed: a dropped tensor
    // offers itself to the pool again.
    let taken = with_pools(|p| {
        let f32 = std::mem::replace(&mut p.f32, Buffers::new());
        let f64 = std::mem::replace(&mut p.f64, Buffers::new());
        let shells = std::mem::take(&mut p.shells);
        let large_shells = std::mem::take(&mut p.large_shells);
        p.large_shell_bytes = 0;
        (f32, f64, shells, large_shells)
    });
    drop(taken);
    before
}

/// The buffers of dtype `T` (a type test the compiler folds away).
#[inline]
fn buffers<T: Element>(pools: &mut Pools) -> Option<&mut Buffers<T>> {
    same_mut(&mut pools.f32).or_else(|| same_mut(&mut pools.f64))
}

/// An empty vector with room for `n` elements: a kept buffer when one fits (for a large `n`,
/// from a kept whole tensor when no buffer fits), else a new one (of power-of-two capacity
/// when small, so that it returns to the bin it is asked from).
pub(crate) fn take<T: Element>(n: usize) -> Vec<T> {
    reuse(n).unwrap_or_else(|| Vec::with_capacity(new_capacity(n)))
}

/// [`take`] for a size a caller chose (a constructor's shape, a broadcast): a new buffer is
/// asked for with `try_reserve_exact`, and a refusal is [`crate::TensorError::Alloc`] naming
/// `op` and `shape` instead of an abort.
pub(crate) fn try_take<T: Element>(
    op: &'static str,
    shape: &[usize],
    n: usize,
) -> crate::Result<Vec<T>> {
    match reuse(n) {
        Some(buffer) => Ok(buffer),
        None => crate::size::try_buffer(op, shape, new_capacity(n)),
    }
}

/// The capacity of a new buffer for `n` elements: a power of two when small, so that it
/// returns to the bin it is asked from; at least the large pool's smallest buffer otherwise.
#[inline]
fn new_capacity(n: usize) -> usize {
    if n <= LARGEST_BINNED_REQUEST {
        n.next_power_of_two()
    } else {
        n.max(MIN_ELEMENTS)
    }
}

/// A kept buffer with room for `n` elements (emptied), when the pools hold one.
#[inline]
fn reuse<T: Element>(n: usize) -> Option<Vec<T>> {
    if n == 0 {
        return Some(Vec::new());
    }
    let found = with_pools(|pools| {
        let b = buffers::<T>(pools)?;
        if n <= LARGEST_BINNED_REQUEST {
            b.small[bin_of_request(n)].pop()
        } else {
            let best = b
                .large
                .iter()
                .enumerate()
                .filter(|(_, v)| v.capacity() >= n && v.capacity() <= 2 * n)
                .min_by_key(|(_, v)| v.capacity())
                .map(|(i, _)| i)?;
            let buffer = b.large.swap_remove(best);
            b.large_bytes -= buffer.capacity() * std::mem::size_of::<T>();
            Some(buffer)
        }
    })
    .flatten();
    let found = found.or_else(|| {
        if n <= LARGEST_BINNED_REQUEST {
            return None;
        }
        with_pools(|pools| take_from_large_shell::<T>(pools, n)).flatten()
    });
    found.map(|mut buffer| {
        buffer.clear();
        buffer
    })
}

/// `n` values of `iter` in a buffer from [`take`].
#[inline]
pub(crate) fn collect<T: Element>(n: usize, iter: impl Iterator<Item = T>) -> Vec<T> {
    let mut out = take(n);
    out.extend(iter);
    out
}

/// Keeps `buffer` (emptied) for a later [`take`], or frees it when the pool is full.
fn keep<T: Element>(pools: &mut Pools, mut buffer: Vec<T>) {
    let cap = buffer.capacity();
    if cap == 0 {
        return;
    }
    let Some(b) = buffers::<T>(pools) else {
        return;
    };
    if cap < MIN_ELEMENTS {
        let bin = &mut b.small[bin_of_capacity(cap)];
        if bin.len() < SMALL_PER_BIN {
            buffer.clear();
            bin.push(buffer);
        }
        return;
    }
    let bytes = cap * std::mem::size_of::<T>();
    if bytes > MAX_BYTES {
        return;
    }
    // the oldest buffers make room: a loop whose sizes changed (another workload, another
    // batch size) must not be blocked by buffers it no longer asks for
    while b.large.len() >= MAX_BUFFERS || b.large_bytes + bytes > MAX_BYTES {
        let old = b.large.remove(0);
        b.large_bytes -= old.capacity() * std::mem::size_of::<T>();
    }
    b.large_bytes += bytes;
    buffer.clear();
    b.large.push(buffer);
}

/// Takes a tensor that is being dropped and that nothing else shares. Its allocation is kept
/// as a shell for a later tensor; a small array stays in it until then (taking the buffer out
/// now would cost an empty array's construction), a large one too when [`keep_large`] allows,
/// else its buffer goes to the buffers at once.
#[inline]
pub(crate) fn release(shell: Arc<Repr>) {
    if Arc::strong_count(&shell) != 1 {
        return; // shared: a plain reference-count decrement
    }
    keep_shell(shell);
}

/// [`release`] of a tensor nothing else shares: out of line, so that dropping a shared one (a
/// step drops about as many clones as tensors) is only the test and the decrement.
#[inline(never)]
fn keep_shell(mut shell: Arc<Repr>) {
    let _ = with_pools(move |pools| {
        if !is_large(&shell) {
            // small: kept with its array, for the next tensor of its shape
            push_shell(pools, shell);
            return;
        }
        let whole = match Arc::get_mut(&mut shell) {
            Some(Repr::F32(a)) => keep_large(pools, a),
            Some(Repr::F64(a)) => keep_large(pools, a),
            None => None,
        };
        let Some(bytes) = whole else {
            // its buffer went to the buffers: an empty shell
            push_shell(pools, shell);
            return;
        };
        // kept whole, for the next output of its shape
        pools.large_shell_bytes += bytes;
        pools.large_shells.push((bytes, shell));
        while pools.large_shells.len() > MAX_BUFFERS || pools.large_shell_bytes > MAX_BYTES {
            let oldest = remove_large_shell(pools, 0);
            strip(pools, oldest);
        }
    });
}

/// Keeps `shell` as the newest shell; a full pool drops its oldest first, so that the shells
/// of shapes a loop no longer makes give way to the ones it does (dropping the new one instead
/// left a loop that followed another one missing, and allocating, on every step: an MLP made
/// 21 allocations a step after the linear workloads instead of 3).
#[inline]
fn push_shell(pools: &mut Pools, shell: Arc<Repr>) {
    if pools.shells.len() >= MAX_SHELLS {
        drop_oldest_shell(pools);
    }
    pools.shells.push(shell);
}

/// See [`push_shell`]: out of line, as a loop of one workload rarely fills the pool.
#[cold]
#[inline(never)]
fn drop_oldest_shell(pools: &mut Pools) {
    drop(pools.shells.remove(0));
}

/// Decides how a large array that nothing else shares is kept. When its elements fill its
/// buffer from the start in row-major order, the buffer is at most twice their size, and they
/// are fewer than [`crate::ops::PARALLEL_MIN_ELEMENTS`], the array stays whole and its
/// buffer's size in bytes is returned. (Above that size the bookkeeping saved is nothing next
/// to a pass over the data, and keeping them whole measured slower: a Dense step on 10⁶ × 16
/// inputs went from 22 to 26 ms.) The buffer's size is known only here, where the buffer is
/// taken out to read its capacity and put back: a user's array may sit in a much larger
/// buffer, which must not be kept whole. Otherwise the buffer goes to the buffers (which check
/// their own limits) and the array is left empty.
fn keep_large<T: Element>(pools: &mut Pools, a: &mut ArrayD<T>) -> Option<usize> {
    let n = crate::ops::row_major_len(a).filter(|&n| n < crate::ops::PARALLEL_MIN_ELEMENTS);
    if n.is_none() {
        keep(pools, take_buffer(a));
        return None;
    }
    let dim = a.raw_dim();
    let (data, offset) = std::mem::replace(a, empty()).into_raw_vec_and_offset();
    let bytes = data.capacity() * std::mem::size_of::<T>();
    let whole = n == Some(data.len()) && offset == Some(0) && data.capacity() <= 2 * data.len();
    if !whole {
        keep(pools, data);
        return None;
    }
    // `data` holds the array's `n` elements from its start, in the row-major order of its
    // shape (`row_major_len` found that layout, and the offset of the first is 0)
    *a = row_major_array(ndarray::Dimension::slice(&dim), data);
    Some(bytes)
}

/// Keeps an unshared tensor's allocation as a shell: a large buffer goes to the buffers, a
/// small array stays in it until the shell is reused (taking it out now would cost an empty
/// array's construction).
fn strip(pools: &mut Pools, mut shell: Arc<Repr>) {
    if is_large(&shell) {
        match Arc::get_mut(&mut shell) {
            Some(Repr::F32(a)) => keep(pools, take_buffer(a)),
            Some(Repr::F64(a)) => keep(pools, take_buffer(a)),
            None => return,
        }
    }
    push_shell(pools, shell);
}

/// True when `repr` holds at least [`MIN_ELEMENTS`] elements.
#[inline(always)]
fn is_large(repr: &Repr) -> bool {
    match repr {
        Repr::F32(a) => a.len() >= MIN_ELEMENTS,
        Repr::F64(a) => a.len() >= MIN_ELEMENTS,
    }
}

/// The buffer of `a`, which is left empty.
#[inline(always)]
fn take_buffer<T: Element>(a: &mut ArrayD<T>) -> Vec<T> {
    std::mem::replace(a, empty()).into_raw_vec_and_offset().0
}

/// The elements of a kept tensor of dtype `T`, row-major, for writing (a kept tensor is
/// unique, and its array row-major: every array this crate builds is).
#[inline(always)]
fn elements_of<T: Element>(shell: &mut Arc<Repr>) -> Option<&mut [T]> {
    Arc::get_mut(shell)
        .and_then(Repr::array_mut::<T>)
        .and_then(crate::ops::row_major_mut)
}

/// The buffer of a kept large tensor of dtype `T` with room for `n` elements and at most `2n`
/// (the newest such), its allocation going to the shells; `None` when none fits.
fn take_from_large_shell<T: Element>(pools: &mut Pools, n: usize) -> Option<Vec<T>> {
    let size = std::mem::size_of::<T>();
    let i = pools.large_shells.iter().rposition(|(bytes, shell)| {
        shell.dtype() == T::DTYPE && *bytes >= n * size && *bytes <= 2 * n * size
    })?;
    let mut shell = remove_large_shell(pools, i);
    let buffer = Arc::get_mut(&mut shell)
        .and_then(Repr::array_mut::<T>)
        .map(take_buffer);
    push_shell(pools, shell);
    buffer
}

/// The large tensor kept whole at position `i`, out of the pool (its bytes no longer counted).
fn remove_large_shell(pools: &mut Pools, i: usize) -> Arc<Repr> {
    let (bytes, shell) = pools.large_shells.remove(i);
    pools.large_shell_bytes -= bytes;
    shell
}

/// The newest large tensor kept whole of dtype `T` and `shape`, out of the pool.
fn kept_whole<T: Element>(shape: &[usize]) -> Option<Arc<Repr>> {
    with_pools(|pools| {
        let i = pools
            .large_shells
            .iter()
            .rposition(|(_, shell)| holds::<T>(shell, shape))?;
        Some(remove_large_shell(pools, i))
    })
    .flatten()
}

/// A tensor of `shape` (`n` elements, at least [`MIN_ELEMENTS`]) whose elements `write` writes:
/// it must write every one. A kept large tensor of this dtype and shape is reused whole (a
/// training step makes the same large temporaries every step): no array is built, no buffer
/// or allocation moves. Otherwise the buffer comes from [`take`].
pub(crate) fn build_large<T: Element>(
    shape: &[usize],
    n: usize,
    write: impl FnOnce(&mut [MaybeUninit<T>]),
) -> Array {
    match build_large_from(shape, n, write, || {
        Ok::<_, std::convert::Infallible>(take(n))
    }) {
        Ok(array) => array,
        Err(never) => match never {},
    }
}

/// [`build_large`] of a size a caller chose: a new buffer comes from [`try_take`].
pub(crate) fn try_build_large<T: Element>(
    op: &'static str,
    shape: &[usize],
    n: usize,
    write: impl FnOnce(&mut [MaybeUninit<T>]),
) -> crate::Result<Array> {
    build_large_from(shape, n, write, || try_take(op, shape, n))
}

/// [`build_large`] with the new buffer from `alloc`.
#[inline]
fn build_large_from<T: Element, E>(
    shape: &[usize],
    n: usize,
    write: impl FnOnce(&mut [MaybeUninit<T>]),
    alloc: impl FnOnce() -> Result<Vec<T>, E>,
) -> Result<Array, E> {
    debug_assert_eq!(n, shape.iter().product::<usize>(), "one element per index");
    if let Some(mut shell) = kept_whole::<T>(shape) {
        if let Some(xs) = elements_of::<T>(&mut shell) {
            // SAFETY: `MaybeUninit<T>` has `T`'s layout, and `write` writes only values of `T`
            // (every element, the caller's promise), so the array stays initialised.
            write(unsafe { &mut *(xs as *mut [T] as *mut [MaybeUninit<T>]) });
            return Ok(Array::from_shell(shell));
        }
    }
    // SAFETY: `write` writes every one of the `n` elements (the caller's promise).
    let data = unsafe { crate::kernels::write_into(alloc()?, n, write) };
    // `data` holds `n` = the product of `shape` values (the caller's promise, checked by
    // `row_major_array`), in the row-major order of the default strides
    Ok(T::wrap(row_major_array(shape, data)))
}

/// `data` as an array of `shape`, row-major. Ranks 1 and 2 are built through ndarray's fixed
/// dimensions and converted, which costs a third of the instructions of building the `IxDyn`
/// shape and strides directly (cachegrind: ~190 → ~60 per array).
///
/// `data.len()` must be the number of elements of `shape` ([`crate::size::checked_len`]):
/// every caller computed its shape through [`crate::size::element_count`] or took it from an
/// array that exists. The check is made here again, because ndarray's unchecked constructor
/// would otherwise build an array that reads past its buffer from a length that a wrapping
/// product matched; a mismatch is a bug in this crate, and stops the program.
#[inline]
pub(crate) fn row_major_array<T: Element>(shape: &[usize], data: Vec<T>) -> ArrayD<T> {
    assert!(
        crate::size::checked_len(shape) == Some(data.len()),
        "row_major_array: {} values for shape {shape:?}",
        data.len()
    );
    match *shape {
        [_] => ndarray::Array1::from_vec(data).into_dyn(),
        // SAFETY: `data` holds one value per element of `shape` and the product of its axes
        // is addressable (checked above), in the row-major order of the default strides.
        [rows, columns] => unsafe {
            ndarray::Array2::from_shape_vec_unchecked((rows, columns), data).into_dyn()
        },
        // SAFETY: as above.
        _ => unsafe { ArrayD::from_shape_vec_unchecked(IxDyn(shape), data) },
    }
}

/// An array of no elements (shape `[0]`) that allocates nothing: what a shell holds once its
/// large buffer has gone to the pool. (`ArrayD::default()` has rank 0, hence one element, and
/// allocates it.)
#[inline]
fn empty<T: Element>() -> ArrayD<T> {
    // built as a one-dimensional array: a third of the instructions of an `IxDyn` construction
    ndarray::Array1::from_vec(Vec::new()).into_dyn()
}

/// A tensor allocation holding `repr`: the oldest kept shell when there is one (the small
/// buffer it still held goes to the bins). The oldest, because the newest are the likeliest to
/// be asked for whole by [`build_small`] (a training step makes its tensors of each shape in
/// the order it released them the step before).
#[inline]
pub(crate) fn shell(repr: Repr) -> Arc<Repr> {
    // (at most `MAX_SHELLS` pointers move: cheaper than a ring buffer's index arithmetic on
    // every search and push)
    let oldest = with_pools(|pools| (!pools.shells.is_empty()).then(|| pools.shells.remove(0)));
    let Some(mut shell) = oldest.flatten() else {
        return Arc::new(repr);
    };
    // a kept shell is unique: only the pool held it
    let Some(slot) = Arc::get_mut(&mut shell) else {
        return Arc::new(repr);
    };
    let old = std::mem::replace(slot, repr);
    let _ = with_pools(move |pools| match old {
        Repr::F32(a) => keep(pools, a.into_raw_vec_and_offset().0),
        Repr::F64(a) => keep(pools, a.into_raw_vec_and_offset().0),
    });
    shell
}

/// Kept shells searched, from the most recently kept, for one whose array has the shape asked.
/// Measured (instructions a step, cachegrind): with 4, a two-layer Dense step found a shell
/// for only part of its ~25 small tensors of six shapes (35 700); with 16, for nearly all
/// (33 400); 32 gained nothing more; the one-shape steps (two-weights, tape-regression) did not
/// move.
const SHELL_SEARCH: usize = 16;

/// True when `repr` holds an array of dtype `T` and of `shape`.
#[inline]
fn holds<T: Element>(repr: &Repr, shape: &[usize]) -> bool {
    match repr {
        Repr::F32(a) => T::DTYPE == crate::DType::F32 && same_shape(a.shape(), shape),
        Repr::F64(a) => T::DTYPE == crate::DType::F64 && same_shape(a.shape(), shape),
    }
}

/// A copy of `a` that no other tensor shares, its buffer from the pools ([`build_small`])
/// when `a` is row-major: what an in-place kernel replayed by a trace writes into.
pub(crate) fn unique_copy(a: &Array) -> Array {
    fn copy<T: Element>(x: &ArrayD<T>) -> Array {
        match crate::ops::row_major(x) {
            Some(xs) => build_small(x.shape(), |out| out.copy_from_slice(xs)),
            None => T::wrap(x.to_owned()),
        }
    }
    match a.repr() {
        Repr::F32(x) => copy(x),
        Repr::F64(x) => copy(x),
    }
}

/// A tensor of `shape` whose elements `fill` writes: it gets them all, holding stale values,
/// and must write every one. When one of the last kept shells holds an array of this dtype and
/// shape (a loop making the same tensors every step), that tensor is reused whole: no
/// allocation, no array construction, no buffer moved. Meant for tensors of fewer than
/// [`MIN_ELEMENTS`] elements; a larger one is served too: a large tensor of its shape kept
/// whole, else a pooled buffer zero-filled first (a pass that [`crate::kernels::written`]
/// avoids for kernels that write uninitialised memory).
pub(crate) fn build_small<T: Element>(shape: &[usize], fill: impl FnOnce(&mut [T])) -> Array {
    let found = with_pools(|pools| {
        let end = pools.shells.len();
        let start = end.saturating_sub(SHELL_SEARCH);
        let i = (start..end)
            .rev()
            .find(|&i| holds::<T>(&pools.shells[i], shape))?;
        Some(pools.shells.swap_remove(i))
    })
    .flatten();
    // a large one (a reduction's output) from the tensors kept whole
    let found = found.or_else(|| {
        let large = shape.iter().product::<usize>() >= MIN_ELEMENTS;
        large.then(|| kept_whole::<T>(shape)).flatten()
    });
    if let Some(mut shell) = found {
        if let Some(xs) = elements_of::<T>(&mut shell) {
            fill(xs);
            return Array::from_shell(shell);
        }
    }
    #[cfg(test)]
    tests::MISSES.with(|m| m.set(m.get() + 1));
    let n = shape.iter().product();
    let mut data = take::<T>(n);
    data.resize(n, T::zero());
    fill(&mut data);
    // `data` holds `n` = the product of `shape` values, in the row-major order of the
    // default strides
    let array = row_major_array(shape, data);
    // A new allocation, not a kept shell of another shape: shells are only ever recycled, so
    // taking one here would leave a loop that makes one more tensor of this shape than it
    // released the step before missing by one, every step, for good. With a new one the
    // shells grow (up to `MAX_SHELLS`) until each step finds all of its shapes.
    match repr_of(array) {
        Ok(repr) => Array::from_shell(Arc::new(repr)),
        Err(array) => T::wrap(array),
    }
}

/// `array` as a [`Repr`] when `T` is `f32` or `f64` (a type test the compiler folds away);
/// the array back otherwise.
#[inline]
fn repr_of<T: Element>(array: ArrayD<T>) -> std::result::Result<Repr, ArrayD<T>> {
    let mut slot = Some(array);
    if let Some(a) = same_mut::<_, Option<ArrayD<f32>>>(&mut slot).and_then(Option::take) {
        return Ok(Repr::F32(a));
    }
    if let Some(a) = same_mut::<_, Option<ArrayD<f64>>>(&mut slot).and_then(Option::take) {
        return Ok(Repr::F64(a));
    }
    match slot {
        Some(array) => Err(array),
        // not reached: neither test above took the array
        None => Ok(Repr::F32(empty())),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use crate::ops::Neg;
    use crate::{Array, DType};

    thread_local! {
        /// Tensors `build_small` could not find a kept shell for, on this thread.
        pub(super) static MISSES: Cell<usize> = const { Cell::new(0) };
    }

    #[test]
    fn a_dropped_large_tensor_is_reused_whole_by_its_shape_and_its_buffer_by_another() {
        let x = Array::ones(DType::F32, &[40, 100]).unwrap();
        let y = x.map(Neg);
        let ptr = y.array::<f32>().map(|a| a.as_ptr()).ok();
        drop(y);
        // the same shape: the tensor whole
        let z = x.zip(&x, crate::ops::Add).expect("one shape");
        assert_eq!(z.array::<f32>().map(|a| a.as_ptr()).ok(), ptr);
        assert_eq!(z.to_vec::<f32>().ok(), Some(vec![2.0; 4000]));
        drop(z);
        // another shape of a size the buffer fits: its buffer, in a new array
        // (an input from a vector: a fill would take a pooled buffer itself)
        let flat = Array::from_vec(vec![1.0f32; 3000], &[3000]).expect("fits");
        let w = flat.map(Neg);
        assert_eq!(w.array::<f32>().map(|a| a.as_ptr()).ok(), ptr);
        assert_eq!(w.shape(), &[3000]);
        assert_eq!(w.to_vec::<f32>().ok(), Some(vec![-1.0; 3000]));
        // a shared large tensor is never handed out
        let kept = x.map(Neg);
        let clone = kept.clone();
        drop(kept);
        let v = x.map(Neg);
        assert!(!v.shares_buffer(&clone));
        assert_eq!(clone.to_vec::<f32>().ok(), Some(vec![-1.0; 4000]));
    }

    #[test]
    fn a_large_tensor_in_a_much_larger_buffer_is_not_kept_whole() {
        // a user's vector truncated to 4096 values keeps its room for 1M: the tensor must not
        // be kept whole (counted by its length, it would hold 4 MB as 16 KB)
        let kept_whole = || super::with_pools(|p| p.large_shells.len()).unwrap_or(0);
        let before = kept_whole();
        for _ in 0..4 {
            let mut v: Vec<f32> = Vec::with_capacity(1 << 20);
            v.extend((0..4096).map(|i| i as f32));
            let t = Array::from_vec(v, &[4096]).expect("fits");
            drop(t);
            assert_eq!(kept_whole(), before);
        }
        // the buffers count what they hold by capacity, within their limit
        let held = super::with_pools(|p| p.f32.large_bytes).unwrap_or(0);
        assert!(held <= super::MAX_BYTES);
        // a tensor of the crate's own making is kept whole
        let ones = Array::ones(DType::F32, &[4096]).unwrap();
        drop(ones.map(Neg));
        assert_eq!(kept_whole(), before + 1);
    }

    #[test]
    fn a_step_needing_one_more_tensor_of_a_shape_than_it_released_stops_missing() {
        // two-weights' pattern: six tensors of one shape (one of them dropped mid-step), then
        // two of another. The shells kept from the step before are one short of the first
        // shape; taking a shell of the other shape for it left every step one short of both.
        let step = || {
            let mut live: Vec<Array> = (0..6)
                .map(|_| Array::zeros(DType::F32, &[50]).unwrap())
                .collect();
            drop(live.remove(0));
            live.extend((0..2).map(|_| Array::zeros(DType::F32, &[]).unwrap()));
            live
        };
        // the misses of 10 steps after 4 to settle
        let misses_once_settled = || {
            for _ in 0..4 {
                drop(step());
            }
            let before = MISSES.with(Cell::get);
            for _ in 0..10 {
                drop(step());
            }
            MISSES.with(Cell::get) - before
        };
        assert_eq!(misses_once_settled(), 0);

        // after another loop has filled the pool with shells of its own shape, the shells
        // of this loop replace them within a few steps
        let other: Vec<Array> = (0..2 * super::MAX_SHELLS)
            .map(|_| Array::zeros(DType::F32, &[7]).unwrap())
            .collect();
        drop(other);
        assert_eq!(misses_once_settled(), 0);
    }

    #[test]
    fn a_dropped_large_buffer_serves_the_next_output_of_its_size() {
        let x = Array::ones(DType::F32, &[10_000]).unwrap();
        let y = x.map(Neg);
        let ptr = y.array::<f32>().map(|a| a.as_ptr()).ok();
        drop(y);
        let z = x.map(Neg);
        assert_eq!(z.array::<f32>().map(|a| a.as_ptr()).ok(), ptr);
        assert_eq!(z.to_vec::<f32>().ok(), Some(vec![-1.0; 10_000]));
        // a shared buffer is not taken: the clone keeps its values
        let w = z.clone();
        drop(z);
        let v = x.map(Neg);
        assert_eq!(w.to_vec::<f32>().ok(), Some(vec![-1.0; 10_000]));
        assert!(!v.shares_buffer(&w));
        // a full pool of other sizes makes room for the new size
        let others: Vec<Array> = (0..super::MAX_BUFFERS)
            .map(|i| Array::ones(DType::F32, &[3_000 + i]).unwrap().map(Neg))
            .collect();
        drop(others);
        let big = Array::ones(DType::F32, &[50_000]).unwrap();
        let b1 = big.map(Neg);
        let p1 = b1.array::<f32>().map(|a| a.as_ptr()).ok();
        drop(b1);
        let b2 = big.map(Neg);
        assert_eq!(b2.array::<f32>().map(|a| a.as_ptr()).ok(), p1);
        // f64 has its own pool
        let d = Array::ones(DType::F64, &[4_096]).unwrap().map(Neg);
        assert_eq!(d.to_vec::<f64>().ok(), Some(vec![-1.0; 4_096]));
    }

    #[test]
    fn every_size_is_served_whatever_the_pools_hold() {
        // each size twice: the first allocates, the second is served from what the first left
        for n in (1..=4100).chain([8191, 8192, 8193]) {
            for _ in 0..2 {
                let x = Array::ones(DType::F32, &[n]).unwrap();
                let y = x.map(Neg);
                assert_eq!(y.len(), n);
                assert!(
                    y.to_vec::<f32>()
                        .is_ok_and(|v| v.iter().all(|&e| e == -1.0)),
                    "{n}"
                );
                let mut v = super::take::<f64>(n);
                assert!(v.capacity() >= n, "{n}");
                v.resize(n, 0.0);
            }
        }
    }

    #[test]
    fn small_tensors_reuse_their_buffers_once_a_loop_runs() {
        let x = Array::from_vec((0..50).map(|i| i as f32).collect(), &[50]).expect("50 values");
        let mut seen = Vec::new();
        for _ in 0..6 {
            let y = x.map(Neg);
            assert_eq!(
                y.to_vec::<f32>().ok(),
                Some((0..50).map(|i| -(i as f32)).collect())
            );
            seen.push(y.array::<f32>().map(|a| a.as_ptr()).ok());
        }
        // once the first steps have filled the shell stack and the bins, two buffers take turns
        // (the next output's is taken before the previous output's is dropped)
        assert_eq!(seen[2], seen[4]);
        assert_eq!(seen[3], seen[5]);
        // a small output of the shape of a tensor just dropped is that tensor, rewritten
        let y = x.map(Neg);
        let ptr = y.array::<f32>().map(|a| a.as_ptr()).ok();
        drop(y);
        let doubled = x.zip(&x, crate::ops::Add).expect("one shape");
        assert_eq!(doubled.array::<f32>().map(|a| a.as_ptr()).ok(), ptr);
        assert_eq!(
            doubled.to_vec::<f32>().ok(),
            Some((0..50).map(|i| 2.0 * i as f32).collect())
        );
        // a buffer a clone still shares is never handed out
        let kept = x.map(Neg);
        let clone = kept.clone();
        drop(kept);
        for _ in 0..4 {
            let z = x.map(Neg);
            assert!(!z.shares_buffer(&clone));
        }
        assert_eq!(
            clone.to_vec::<f32>().ok(),
            Some((0..50).map(|i| -(i as f32)).collect())
        );
        // other sizes and dtypes are served correctly from the same pools
        let s = Array::scalar(2.0f64).map(Neg);
        assert_eq!(s.to_vec::<f64>().ok(), Some(vec![-2.0]));
        let w = Array::ones(DType::F32, &[3, 7]).unwrap().map(Neg);
        assert_eq!(w.shape(), &[3, 7]);
        assert_eq!(w.to_vec::<f32>().ok(), Some(vec![-1.0; 21]));
    }
}
