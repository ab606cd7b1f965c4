//! The inner loops of the large kernels, each written once and compiled twice on x86_64: for
//! the baseline target (SSE2) and with AVX2 enabled, the copy chosen at run time by
//! [`has_avx2`]. Other architectures run the portable copy.
//!
//! **Exactness.** Both copies give the same bits. Each loop does the same IEEE-754 operations
//! (`+ - * /`, `sqrt`, comparisons, selections, calls into the math library) on the same operands
//! in the same order; only how many of them one instruction performs changes. Those operations
//! are exactly rounded whatever the vector width, Rust never lets LLVM contract a product and a
//! sum into a fused multiply-add or reassociate float arithmetic, and the AVX2 copies do not
//! enable the `fma` feature anyway. The reductions keep the order of [`sum`]: eight independent
//! lanes (one AVX2 register of `f32`), so vectorising them changes no rounding. The tests below
//! compare both copies bit for bit, ±0, ±inf and NaN included, with one exception IEEE 754
//! itself leaves open: which NaN (sign, payload) an operation on two NaNs returns. LLVM commutes
//! `+` and `*` as suits its registers, so that choice already differed between the vector body
//! and the scalar tail of the loops before this module; every such result is a NaN either way.
//!
//! Every function here writes or reads as many elements as the shortest of its slices; callers
//! pass slices of one length.

use std::mem::MaybeUninit;

use crate::{pool, Element};

/// A pooled buffer of `n` elements, written by `fill`.
///
/// # Safety
///
/// `fill` must write every element of the slice it is given (a kernel of this module over
/// inputs of `n` elements).
#[inline]
pub(crate) unsafe fn written<T: Element>(
    n: usize,
    fill: impl FnOnce(&mut [MaybeUninit<T>]),
) -> Vec<T> {
    // SAFETY: the caller's promise, passed on.
    unsafe { write_into(pool::take::<T>(n), n, fill) }
}

/// `out` (empty, with room for `n` elements) holding the `n` elements `fill` writes.
///
/// # Safety
///
/// `fill` must write every element of the slice it is given.
#[inline]
pub(crate) unsafe fn write_into<T: Element>(
    mut out: Vec<T>,
    n: usize,
    fill: impl FnOnce(&mut [MaybeUninit<T>]),
) -> Vec<T> {
    out.clear();
    // (panics, before anything is written, when `out` has no room for `n`)
    fill(&mut out.spare_capacity_mut()[..n]);
    // SAFETY: `out` has room for `n` elements (the slice above would have panicked
    // otherwise), and `fill` has written each of the first `n` (the caller's promise).
    unsafe { out.set_len(n) };
    out
}

/// Whether this CPU has AVX2: asked once, then read from a static.
#[cfg(target_arch = "x86_64")]
#[inline]
pub(crate) fn has_avx2() -> bool {
    use std::sync::atomic::{AtomicU8, Ordering};
    /// 0: not asked yet; 1: no; 2: yes.
    static DETECTED: AtomicU8 = AtomicU8::new(0);
    match DETECTED.load(Ordering::Relaxed) {
        1 => false,
        2 => true,
        _ => {
            let yes = std::is_x86_feature_detected!("avx2");
            DETECTED.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
            yes
        }
    }
}

/// Whether this CPU has AVX2: never, off x86_64.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
pub(crate) fn has_avx2() -> bool {
    false
}

/// Slices shorter than this run the portable loop inline: for them the call and the set-up of
/// the AVX2 loop cost more than the wider registers save (measured on the mlp workload, whose
/// tensors have 1 to 100 elements: 72 more instructions per step with a threshold of 8 than
/// with 32).
pub(crate) const AVX2_MIN_LEN: usize = 32;

/// Calls `avx2::$name` when the CPU has AVX2 and the slices (of length `$len`) are long enough
/// ([`AVX2_MIN_LEN`]), `portable::$name` otherwise.
macro_rules! dispatch {
    ($len:expr, $name:ident($($arg:expr),*)) => {{
        #[cfg(target_arch = "x86_64")]
        {
            if $len >= AVX2_MIN_LEN && has_avx2() {
                // SAFETY: the AVX2 copy runs only on a CPU that has AVX2 (checked just above).
                return unsafe { avx2::$name($($arg),*) };
            }
        }
        portable::$name($($arg),*)
    }};
}

/// `out[i] = f(xs[i])`.
#[inline]
pub(crate) fn map1<T: Element, F: Fn(T) -> T>(out: &mut [MaybeUninit<T>], xs: &[T], f: F) {
    dispatch!(xs.len(), map1(out, xs, f))
}

/// `out[i] = f(xs[i], ys[i])`.
#[inline]
pub(crate) fn map2<T: Element, F: Fn(T, T) -> T>(
    out: &mut [MaybeUninit<T>],
    xs: &[T],
    ys: &[T],
    f: F,
) {
    dispatch!(xs.len(), map2(out, xs, ys, f))
}

/// `f(x, y)` between every row of `xs` (rows of `ys.len()` elements; `ys` not empty) and `ys`,
/// row after row into `out`.
#[inline]
pub(crate) fn rows<T: Element, F: Fn(T, T) -> T>(
    out: &mut [MaybeUninit<T>],
    xs: &[T],
    ys: &[T],
    f: F,
) {
    dispatch!(xs.len(), rows(out, xs, ys, f))
}

/// `out[i] = v`.
#[inline]
pub(crate) fn fill<T: Element>(out: &mut [MaybeUninit<T>], v: T) {
    dispatch!(out.len(), fill(out, v))
}

/// `acc[j] = acc[j] + xs[r · w + j]` for every row `r` of `xs` in turn (`w = acc.len()`, not
/// zero): a batch of rows summed into one, first row to last.
#[inline]
pub(crate) fn add_rows<T: Element>(acc: &mut [T], xs: &[T]) {
    dispatch!(xs.len(), add_rows(acc, xs))
}

/// `xs[i] = f(xs[i], ys[i])` in place.
#[inline]
pub(crate) fn update<T: Element, F: Fn(T, T) -> T>(xs: &mut [T], ys: &[T], f: F) {
    dispatch!(xs.len(), update(xs, ys, f))
}

/// The sum of `xs` in a fixed order, the one `ndarray`'s `sum` uses on a contiguous slice:
/// eight lanes, lane `k` adding elements `k, k + 8, k + 16, …` of the longest prefix whose
/// length is a multiple of 8; then `((((0 + (l0 + l4)) + (l1 + l5)) + (l2 + l6)) + (l3 + l7))`;
/// then the remaining (at most 7) elements one by one.
#[inline]
pub(crate) fn sum<T: Element>(xs: &[T]) -> T {
    dispatch!(xs.len(), sum(xs))
}

/// [`sum`]'s lanes, fed a part of the slices at a time, for several sums at once:
/// `lanes[k][j] = lanes[k][j] + xss[k][8 i + j]` for every whole chunk of 8 of `xss[k]` (all
/// as long as the first), chunk after chunk, the remaining elements untouched. One loop feeds
/// them all, so that the sums' chains of dependent additions overlap instead of running one
/// after another; each sum receives its elements in the order it would alone.
#[inline]
pub(crate) fn add_lanes_many<T: Element>(lanes: &mut [[T; 8]], xss: &[&[T]]) {
    let len = xss.first().map_or(0, |x| x.len());
    dispatch!(len, add_lanes_many(lanes, xss))
}

/// `sum` of the products `xs[i] · ys[i]` (each rounded) in [`sum`]'s order.
#[inline]
pub(crate) fn dot<T: Element>(xs: &[T], ys: &[T]) -> T {
    dispatch!(xs.len(), dot(xs, ys))
}

/// The loops, for whatever target features the function they are inlined into has.
pub(crate) mod portable {
    use super::*;

    /// See [`super::map1`].
    #[inline(always)]
    pub(crate) fn map1<T: Element, F: Fn(T) -> T>(out: &mut [MaybeUninit<T>], xs: &[T], f: F) {
        for (o, &x) in out.iter_mut().zip(xs) {
            o.write(f(x));
        }
    }

    /// See [`super::map2`].
    #[inline(always)]
    pub(crate) fn map2<T: Element, F: Fn(T, T) -> T>(
        out: &mut [MaybeUninit<T>],
        xs: &[T],
        ys: &[T],
        f: F,
    ) {
        for ((o, &x), &y) in out.iter_mut().zip(xs).zip(ys) {
            o.write(f(x, y));
        }
    }

    /// See [`super::rows`].
    #[inline(always)]
    pub(crate) fn rows<T: Element, F: Fn(T, T) -> T>(
        out: &mut [MaybeUninit<T>],
        xs: &[T],
        ys: &[T],
        f: F,
    ) {
        if ys.is_empty() {
            return;
        }
        for (o, x) in out.chunks_mut(ys.len()).zip(xs.chunks(ys.len())) {
            map2(o, x, ys, &f);
        }
    }

    /// See [`super::update`].
    #[inline(always)]
    pub(crate) fn update<T: Element, F: Fn(T, T) -> T>(xs: &mut [T], ys: &[T], f: F) {
        for (x, &y) in xs.iter_mut().zip(ys) {
            *x = f(*x, y);
        }
    }

    /// See [`super::fill`].
    #[inline(always)]
    pub(crate) fn fill<T: Element>(out: &mut [MaybeUninit<T>], v: T) {
        for o in out {
            o.write(v);
        }
    }

    /// See [`super::add_rows`].
    #[inline(always)]
    pub(crate) fn add_rows<T: Element>(acc: &mut [T], xs: &[T]) {
        if acc.is_empty() {
            return;
        }
        for row in xs.chunks_exact(acc.len()) {
            for (s, &x) in acc.iter_mut().zip(row) {
                *s = *s + x;
            }
        }
    }

    /// The lanes of [`sum`] folded in their documented order, then the remaining elements.
    /// Out of line: inlined, its scalar reads of the lanes lead the compiler to keep the lanes
    /// in pairs instead of one vector (measured: 2.4 instructions per element instead of 0.2).
    #[inline(never)]
    fn finish_sum<T: Element>(lanes: [T; 8], rest: &[T]) -> T {
        let mut acc = T::zero();
        for k in 0..4 {
            acc = acc + (lanes[k] + lanes[k + 4]);
        }
        for &x in rest {
            acc = acc + x;
        }
        acc
    }

    /// [`finish_sum`] for [`dot`]: the lanes, then the remaining products.
    #[inline(never)]
    fn finish_dot<T: Element>(lanes: [T; 8], xs: &[T], ys: &[T]) -> T {
        let mut acc = T::zero();
        for k in 0..4 {
            acc = acc + (lanes[k] + lanes[k + 4]);
        }
        for (&x, &y) in xs.iter().zip(ys) {
            acc = acc + x * y;
        }
        acc
    }

    /// See [`super::sum`]. Whole chunks of 8 are arrays, so that the compiler sees the eight
    /// lanes and keeps them in vector registers.
    #[inline(always)]
    pub(crate) fn sum<T: Element>(xs: &[T]) -> T {
        let (chunks, rest) = xs.as_chunks::<8>();
        if chunks.is_empty() {
            // the lanes are all +0 and so is their fold: only the remaining elements count
            return rest.iter().fold(T::zero(), |acc, &x| acc + x);
        }
        let mut lanes = [T::zero(); 8];
        for c in chunks {
            for (l, &x) in lanes.iter_mut().zip(c) {
                *l = *l + x;
            }
        }
        finish_sum(lanes, rest)
    }

    /// One sum of [`super::add_lanes_many`]. The lanes in a local array, so that they stay in a
    /// register.
    #[inline(always)]
    pub(crate) fn add_lanes<T: Element>(acc: &mut [T; 8], xs: &[T]) {
        let mut lanes = *acc;
        for c in xs.as_chunks::<8>().0 {
            for (l, &x) in lanes.iter_mut().zip(c) {
                *l = *l + x;
            }
        }
        *acc = lanes;
    }

    /// See [`super::add_lanes_many`]: up to four sums in one loop with their lanes in
    /// registers, more four at a time.
    #[inline(always)]
    pub(crate) fn add_lanes_many<T: Element>(lanes: &mut [[T; 8]], xss: &[&[T]]) {
        let mut lanes = lanes;
        let mut xss = xss;
        while !lanes.is_empty() && !xss.is_empty() {
            let k = lanes.len().min(xss.len()).min(4);
            match k {
                1 => add_lanes(&mut lanes[0], xss[0]),
                2 => add_lanes_k::<T, 2>(lanes, xss),
                3 => add_lanes_k::<T, 3>(lanes, xss),
                _ => add_lanes_k::<T, 4>(lanes, xss),
            }
            lanes = &mut lanes[k..];
            xss = &xss[k..];
        }
    }

    /// `K` sums of [`add_lanes_many`] (`lanes` and `xss` hold at least `K`), over the whole
    /// chunks of 8 of the shortest of the first `K` slices.
    #[inline(always)]
    fn add_lanes_k<T: Element, const K: usize>(acc: &mut [[T; 8]], xss: &[&[T]]) {
        let mut lanes: [[T; 8]; K] = std::array::from_fn(|k| acc[k]);
        let chunks: [&[[T; 8]]; K] = std::array::from_fn(|k| xss[k].as_chunks::<8>().0);
        let m = chunks.iter().map(|c| c.len()).min().unwrap_or(0);
        let chunks: [&[[T; 8]]; K] = std::array::from_fn(|k| &chunks[k][..m]);
        for i in 0..m {
            for (l, c) in lanes.iter_mut().zip(&chunks) {
                for (l, &x) in l.iter_mut().zip(&c[i]) {
                    *l = *l + x;
                }
            }
        }
        acc[..K].copy_from_slice(&lanes);
    }

    /// See [`super::dot`].
    #[inline(always)]
    pub(crate) fn dot<T: Element>(xs: &[T], ys: &[T]) -> T {
        let n = xs.len().min(ys.len());
        let (xc, xr) = xs[..n].as_chunks::<8>();
        let (yc, yr) = ys[..n].as_chunks::<8>();
        if xc.is_empty() {
            // as in `sum`: no whole chunk, so the fold of the lanes is +0
            return xr
                .iter()
                .zip(yr)
                .fold(T::zero(), |acc, (&x, &y)| acc + x * y);
        }
        let mut lanes = [T::zero(); 8];
        for (x8, y8) in xc.iter().zip(yc) {
            for ((l, &x), &y) in lanes.iter_mut().zip(x8).zip(y8) {
                *l = *l + x * y;
            }
        }
        finish_dot(lanes, xr, yr)
    }
}

/// The portable loops compiled with AVX2 (no FMA). Calling them is safe only on a CPU with AVX2.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::*;

    #[target_feature(enable = "avx2")]
    pub(super) fn map1<T: Element, F: Fn(T) -> T>(out: &mut [MaybeUninit<T>], xs: &[T], f: F) {
        portable::map1(out, xs, f)
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn map2<T: Element, F: Fn(T, T) -> T>(
        out: &mut [MaybeUninit<T>],
        xs: &[T],
        ys: &[T],
        f: F,
    ) {
        portable::map2(out, xs, ys, f)
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn rows<T: Element, F: Fn(T, T) -> T>(
        out: &mut [MaybeUninit<T>],
        xs: &[T],
        ys: &[T],
        f: F,
    ) {
        portable::rows(out, xs, ys, f)
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn update<T: Element, F: Fn(T, T) -> T>(xs: &mut [T], ys: &[T], f: F) {
        portable::update(xs, ys, f)
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn fill<T: Element>(out: &mut [MaybeUninit<T>], v: T) {
        portable::fill(out, v)
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn add_rows<T: Element>(acc: &mut [T], xs: &[T]) {
        portable::add_rows(acc, xs)
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn sum<T: Element>(xs: &[T]) -> T {
        portable::sum(xs)
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn dot<T: Element>(xs: &[T], ys: &[T]) -> T {
        portable::dot(xs, ys)
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn add_lanes_many<T: Element>(lanes: &mut [[T; 8]], xss: &[&[T]]) {
        portable::add_lanes_many(lanes, xss)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::*;

    /// A xorshift generator: arbitrary bit patterns (every class of float: NaN with payloads,
    /// ±inf, ±0, subnormals), ordinary numbers of mixed magnitude, and the special values.
    struct Values(u64);

    impl Values {
        fn bits(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn one<T: Element>(&mut self, specials: bool) -> T {
            let r = self.bits();
            let special = [
                f64::NAN,
                -f64::NAN,
                0.0,
                -0.0,
                f64::INFINITY,
                f64::NEG_INFINITY,
                1e-310,
                -1.0,
            ];
            match r % 16 {
                0 | 1 if specials => T::from_f64(special[(r >> 8) as usize % special.len()]),
                2 if specials => {
                    // arbitrary bits of the element's width
                    let (narrow, wide) = (f32::from_bits((r >> 16) as u32), f64::from_bits(r));
                    let any: &dyn std::any::Any = &T::zero();
                    if any.is::<f32>() {
                        *(&narrow as &dyn std::any::Any)
                            .downcast_ref::<T>()
                            .expect("f32")
                    } else {
                        *(&wide as &dyn std::any::Any)
                            .downcast_ref::<T>()
                            .expect("f64")
                    }
                }
                _ => {
                    let m = (r >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                    T::from_f64(m * 10f64.powi((r % 7) as i32 - 2))
                }
            }
        }

        fn many<T: Element>(&mut self, n: usize, specials: bool) -> Vec<T> {
            (0..n).map(|_| self.one(specials)).collect()
        }
    }

    /// The exact bits, except that every NaN counts as one value: which of two NaN operands an
    /// operation returns (its sign and payload) is left open by IEEE 754, and LLVM, for which
    /// `+` and `*` commute, orders them as suits the registers. The kernels before this module
    /// already returned one NaN in their vector body and the other in their scalar tail.
    fn any_nan<T: Element>(xs: &[T]) -> Vec<u64> {
        bits(xs)
            .into_iter()
            .zip(xs)
            .map(|(b, x)| if x.is_nan() { u64::MAX } else { b })
            .collect()
    }

    /// The exact bits (a conversion to `f64` would quiet signalling NaNs).
    fn bits<T: Element>(xs: &[T]) -> Vec<u64> {
        xs.iter()
            .map(|x| {
                let any: &dyn std::any::Any = x;
                match (any.downcast_ref::<f32>(), any.downcast_ref::<f64>()) {
                    (Some(x), _) => u64::from(x.to_bits()),
                    (_, Some(x)) => x.to_bits(),
                    _ => unreachable!("f32 and f64 are the only elements"),
                }
            })
            .collect()
    }

    /// Lengths with every remainder modulo 8, and a large one (the parallel splitting of large
    /// tensors is checked in `ops`' tests).
    fn lengths() -> Vec<usize> {
        let mut n: Vec<usize> = (0..=40).collect();
        n.extend([47, 63, 64, 65, 71, 95, 127, 1000, 1001, 8007]);
        n.push((1 << 17) + 5);
        n
    }

    /// `f` through the dispatched and the portable copy of `map1`.
    fn both_map1<T: Element>(xs: &[T], f: impl Fn(T) -> T + Copy) -> (Vec<T>, Vec<T>) {
        // SAFETY: `map1` writes one element per element of `xs`.
        unsafe {
            (
                written(xs.len(), |o| map1(o, xs, f)),
                written(xs.len(), |o| portable::map1(o, xs, f)),
            )
        }
    }

    fn both_map2<T: Element>(xs: &[T], ys: &[T], f: impl Fn(T, T) -> T + Copy) -> [Vec<T>; 2] {
        // SAFETY: `map2` writes one element per pair; `ys` is as long as `xs`.
        unsafe {
            [
                written(xs.len(), |o| map2(o, xs, ys, f)),
                written(xs.len(), |o| portable::map2(o, xs, ys, f)),
            ]
        }
    }

    /// The documented order of [`sum`], spelled out with indices.
    fn reference_sum<T: Element>(xs: &[T]) -> T {
        let whole = xs.len() / 8 * 8;
        let mut lanes = [T::zero(); 8];
        let mut i = 0;
        while i < whole {
            for (k, l) in lanes.iter_mut().enumerate() {
                *l = *l + xs[i + k];
            }
            i += 8;
        }
        let mut acc = T::zero();
        acc = acc + (lanes[0] + lanes[4]);
        acc = acc + (lanes[1] + lanes[5]);
        acc = acc + (lanes[2] + lanes[6]);
        acc = acc + (lanes[3] + lanes[7]);
        for &x in &xs[whole..] {
            acc = acc + x;
        }
        acc
    }

    /// Every kernel through the dispatched copy (AVX2 on a CPU that has it) and the portable
    /// one, bit for bit. The copies differ only once optimised (`cargo test --release`); the
    /// sums and dots are also checked against their documented order spelled out by hand.
    fn check_type<T: Element>() {
        if !has_avx2() {
            eprintln!("no AVX2 on this CPU: the dispatched copy is the portable one");
        }
        let mut v = Values(0x9E37_79B9_7F4A_7C15);
        for n in lengths() {
            for specials in [true, false] {
                let xs: Vec<T> = v.many(n, specials);
                let ys: Vec<T> = v.many(n, specials);
                macro_rules! unary {
                    ($($f:ident),*) => {$({
                        // one operand: the NaN returned is the operand's, bit for bit
                        let (fast, plain) = both_map1(&xs, move |x| $f.call(x));
                        assert_eq!(bits(&fast), bits(&plain), "{} n = {n}", $f::NAME);
                    })*};
                }
                unary!(
                    Neg,
                    Square,
                    Sqrt,
                    Exp,
                    Log,
                    Abs,
                    Sign,
                    Relu,
                    Sigmoid,
                    Tanh,
                    Reciprocal,
                    PositiveMask,
                    Softplus
                );
                macro_rules! binary {
                    ($($f:ident),*) => {$({
                        let f = $f;
                        let name = $f::NAME;
                        let [fast, plain] = both_map2(&xs, &ys, move |x, y| f.call(x, y));
                        assert_eq!(any_nan(&fast), any_nan(&plain), "{name} n = {n}");
                        // with a scalar on either side, as `with_scalar` runs them
                        let y = ys.first().copied().unwrap_or_else(T::one);
                        let (fast, plain) = both_map1(&xs, move |x| f.call(x, y));
                        assert_eq!(any_nan(&fast), any_nan(&plain), "{name} n = {n}");
                        let (fast, plain) = both_map1(&xs, move |x| f.call(y, x));
                        assert_eq!(any_nan(&fast), any_nan(&plain), "{name} n = {n}");
                    })*};
                }
                binary!(
                    Add,
                    Sub,
                    Mul,
                    Div,
                    Pow,
                    Maximum,
                    Minimum,
                    Greater,
                    GreaterEqual,
                    Less,
                    LessEqual,
                    Equal,
                    MulSign,
                    MulTwice,
                    MulPositiveMask
                );
                let s = sum(&xs);
                assert_eq!(any_nan(&[s]), any_nan(&[portable::sum(&xs)]), "sum n = {n}");
                assert_eq!(any_nan(&[s]), any_nan(&[reference_sum(&xs)]), "sum n = {n}");
                let products: Vec<T> = xs.iter().zip(&ys).map(|(&x, &y)| x * y).collect();
                let d = dot(&xs, &ys);
                assert_eq!(
                    any_nan(&[d]),
                    any_nan(&[portable::dot(&xs, &ys)]),
                    "dot n = {n}"
                );
                assert_eq!(
                    any_nan(&[d]),
                    any_nan(&[reference_sum(&products)]),
                    "dot n = {n}"
                );
                // several sums in one loop: each as `add_lanes` alone, from lanes not zero
                let others: Vec<Vec<T>> = (0..6).map(|_| v.many(n, specials)).collect();
                for count in 1..=6 {
                    let start: Vec<[T; 8]> = (0..count)
                        .map(|_| std::array::from_fn(|_| v.one(specials)))
                        .collect();
                    let xss: Vec<&[T]> = others[..count].iter().map(|x| &x[..]).collect();
                    let (mut fast, mut plain, mut alone) =
                        (start.clone(), start.clone(), start.clone());
                    add_lanes_many(&mut fast, &xss);
                    portable::add_lanes_many(&mut plain, &xss);
                    for (l, xs) in alone.iter_mut().zip(&xss) {
                        portable::add_lanes(l, xs);
                    }
                    let flat = |ls: &[[T; 8]]| any_nan(&ls.concat());
                    assert_eq!(flat(&fast), flat(&alone), "add_lanes_many n = {n}");
                    assert_eq!(flat(&plain), flat(&alone), "add_lanes_many n = {n}");
                }
                for width in [1, 3, 8, 10] {
                    let m = n / width * width;
                    let row: Vec<T> = v.many(width, specials);
                    let (xs, row) = (&xs[..m], &row[..]);
                    let mut acc = row.to_vec();
                    let mut plain = row.to_vec();
                    add_rows(&mut acc, xs);
                    portable::add_rows(&mut plain, xs);
                    assert_eq!(any_nan(&acc), any_nan(&plain), "add_rows n = {n}");
                    let f = |x: T, y: T| x - y;
                    // SAFETY: `rows` writes one element per element of `xs`, a whole number
                    // of rows.
                    let (fast, plain) = unsafe {
                        (
                            written(m, |o| rows(o, xs, row, f)),
                            written(m, |o| portable::rows(o, xs, row, f)),
                        )
                    };
                    assert_eq!(any_nan(&fast), any_nan(&plain), "rows n = {n}");
                    let by_hand: Vec<T> = xs
                        .iter()
                        .enumerate()
                        .map(|(i, &x)| x - row[i % width])
                        .collect();
                    assert_eq!(any_nan(&fast), any_nan(&by_hand), "rows n = {n}");
                }
                let (mut fast, mut plain) = (xs.clone(), xs.clone());
                let k = T::from_f64(0.1);
                update(&mut fast, &ys, |x, y| x - y * k);
                portable::update(&mut plain, &ys, |x, y| x - y * k);
                assert_eq!(any_nan(&fast), any_nan(&plain), "update n = {n}");
                let x0 = xs.first().copied().unwrap_or_else(T::nan);
                // SAFETY: `fill` writes every element.
                let filled = unsafe { written(n, |o| fill(o, x0)) };
                assert_eq!(bits(&filled), bits(&vec![x0; n]));
            }
        }
    }

    #[test]
    fn the_avx2_copies_equal_the_portable_ones_bit_for_bit_f32() {
        check_type::<f32>();
    }

    #[test]
    fn the_avx2_copies_equal_the_portable_ones_bit_for_bit_f64() {
        check_type::<f64>();
    }
}
