//! TensorFlow's stateless random numbers, bit for bit: the Philox4x32-10 generator and the CPU
//! kernels behind `tf.random.stateless_uniform`, `tf.random.stateless_normal` and
//! `tf.random.stateless_truncated_normal` (TensorFlow 2.x, the Philox algorithm TensorFlow
//! auto-selects on CPU and GPU).
//!
//! It lives in the tensor crate, below the tape, because it only makes arrays from a shape and a
//! seed: Keras's seeded initializers (`tapegrad-nn`) draw through it, and any op that wants
//! TensorFlow's stateless numbers (a seeded dropout, `tf.random.stateless_*` on tensors) can
//! reach it without depending on the layers.
//!
//! How TensorFlow turns a seed into numbers, as reproduced here:
//!
//! 1. **Key and counter** (`StatelessRandomGetKeyCounter`, [`key_counter`]): the seed pair
//!    `[s0, s1]` (int32 or int64; both are widened to 64 bits with their sign) becomes a 128-bit
//!    counter `(lo32(s0), hi32(s0), lo32(s1), hi32(s1))`, which one Philox block under the fixed
//!    key `(0x3ec8f720, 0x02461e29)` scrambles into four words `m`; the stream's key is
//!    `(m0, m1)` and its counter `(0, 0, m2, m3)`.
//! 2. **Philox4x32-10** ([`Philox4x32`]): each block of four `u32` is ten rounds over the
//!    counter, the key raised by the Weyl constants between rounds; the counter then advances
//!    by one (a 128-bit increment).
//! 3. **Fill** (`FillPhiloxRandom`): the output, in row-major order, is cut into groups of one
//!    block's worth of values — four `f32` or two `f64` — and group `g` uses the block at
//!    counter `+ g`. Truncated normal draws a variable number of words per group, so group `g`
//!    starts its own sub-stream at counter `+ 256 · g` for `f32` (`+ 128 · g` for `f64`) and
//!    takes words from it one at a time.
//! 4. **Words to floats**: an `f32` in `[0, 1)` is the word's low 23 bits as the mantissa of a
//!    float in `[1, 2)`, minus 1; an `f64` takes the low 20 bits of one word and all 32 of the
//!    next as its 52-bit mantissa, minus 1.
//! 5. **Normal** by Box–Muller on pairs of uniforms (`u1` raised to `1e-7` when below it), the
//!    radius `sqrt(-2 ln u1)` and the angle `2π u2` — for `f32` the angle is computed in `f64` and
//!    rounded, the logarithm, square root, sine and cosine in `f32`. **Truncated normal** keeps
//!    the Box–Muller values with `|z| < 2`, in order, until the group is full.
//! 6. **Scaling**, as the Python wrappers do it, in the output dtype: `u * (maxval - minval) +
//!    minval`, `z * stddev + mean` (the parameters rounded to the dtype first).
//!
//! The `f32` normals call this platform's `logf`, `sinf` and `cosf` (Rust's `f32::ln`,
//! `f32::sin_cos`), as TensorFlow's Linux build calls glibc's; on Linux with glibc they agree bit
//! for bit with TensorFlow (checked against tf 2.21 in `tapegrad-nn`'s tests), elsewhere the
//! last bit may differ where the platform's libm rounds otherwise.
//!
//! ```
//! use tapegrad_tensor::random::stateless_uniform;
//! use tapegrad_tensor::DType;
//! // tf.random.stateless_uniform((2,), seed=[11, 0])
//! let u = stateless_uniform(&[2], [11, 0], 0.0, 1.0, DType::F32)?;
//! assert_eq!(u.to_vec::<f32>()?, [0.85404277, 0.23066628]);
//! # Ok::<(), tapegrad_tensor::TensorError>(())
//! ```

use crate::{element_count, reserve_elements, Array, DType, Result};

/// Philox's round multipliers (Salmon et al. 2011, Random123).
const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
/// The Weyl sequence that raises the key between rounds (golden ratio, sqrt(3) - 1).
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;
/// The key TensorFlow scrambles a seed pair with (`StatelessRandomGetKeyCounter`).
const SEED_SCRAMBLE_KEY: [u32; 2] = [0x3EC8_F720, 0x0246_1E29];
/// Philox blocks a truncated-normal output group may consume before the next group's
/// sub-stream begins: TensorFlow reserves 256 words per output value.
const RESERVED_WORDS_PER_OUTPUT: u64 = 256;

/// The Philox4x32-10 counter-based generator, as TensorFlow's `PhiloxRandom`: a 128-bit counter
/// (four `u32`, least significant first) and a 64-bit key (two `u32`).
///
/// ```
/// use tapegrad_tensor::random::Philox4x32;
/// // Random123's known answer for counter 0, key 0
/// assert_eq!(
///     Philox4x32::block([0; 4], [0; 2]),
///     [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
/// );
/// let mut g = Philox4x32::new([0; 4], [0; 2]);
/// assert_eq!(g.next_block(), Philox4x32::block([0; 4], [0; 2]));
/// assert_eq!(g.counter(), [1, 0, 0, 0]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Philox4x32 {
    counter: [u32; 4],
    key: [u32; 2],
}

impl Philox4x32 {
    /// A generator at `counter` under `key`.
    pub const fn new(counter: [u32; 4], key: [u32; 2]) -> Self {
        Philox4x32 { counter, key }
    }

    /// The block of four words for `counter` under `key`: ten Philox rounds.
    pub fn block(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
        let (mut c, mut k) = (counter, key);
        for round in 0..10 {
            if round > 0 {
                k = [k[0].wrapping_add(W0), k[1].wrapping_add(W1)];
            }
            let p0 = u64::from(M0) * u64::from(c[0]);
            let p1 = u64::from(M1) * u64::from(c[2]);
            let (lo0, hi0) = (p0 as u32, (p0 >> 32) as u32);
            let (lo1, hi1) = (p1 as u32, (p1 >> 32) as u32);
            c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
        }
        c
    }

    /// The block at the current counter; the counter then advances by one.
    pub fn next_block(&mut self) -> [u32; 4] {
        let out = Self::block(self.counter, self.key);
        self.skip(1);
        out
    }

    /// Advances the 128-bit counter by `blocks` (TensorFlow's `PhiloxRandom::Skip`, with its
    /// carries: the low 32 bits of `blocks` are added to the first word, the high 32 bits and the
    /// carry to the second, and a carry out of the second increments the upper 64 bits).
    pub fn skip(&mut self, blocks: u64) {
        let lo = blocks as u32;
        let mut hi = (blocks >> 32) as u32;
        let c = &mut self.counter;
        c[0] = c[0].wrapping_add(lo);
        if c[0] < lo {
            hi = hi.wrapping_add(1);
        }
        c[1] = c[1].wrapping_add(hi);
        if c[1] < hi {
            c[2] = c[2].wrapping_add(1);
            if c[2] == 0 {
                c[3] = c[3].wrapping_add(1);
            }
        }
    }

    /// The current counter, least significant word first.
    pub fn counter(&self) -> [u32; 4] {
        self.counter
    }

    /// The key.
    pub fn key(&self) -> [u32; 2] {
        self.key
    }
}

/// The Philox key and counter TensorFlow derives from a stateless op's seed pair
/// (`tf.raw_ops.StatelessRandomGetKeyCounter`, and the older ops' `GenerateKey`): the seed
/// scrambled by one Philox block, so that neither half of the seed needs to be strong.
///
/// TensorFlow takes the seed as int32 or int64; either is widened with its sign, so `[-1, 0]`
/// and `[i64::from(-1i32), 0]` are the same seed.
///
/// ```
/// use tapegrad_tensor::random::{key_counter, Philox4x32};
/// let (key, counter) = key_counter([11, 0]);
/// assert_eq!(counter[..2], [0, 0]);
/// // the stream's first word, as tf's StatelessRandomUniformFullIntV2 gives it
/// assert_eq!(Philox4x32::block(counter, key)[0], 2196590918);
/// ```
pub fn key_counter(seed: [i64; 2]) -> ([u32; 2], [u32; 4]) {
    let (s0, s1) = (seed[0] as u64, seed[1] as u64);
    let counter = [s0 as u32, (s0 >> 32) as u32, s1 as u32, (s1 >> 32) as u32];
    let m = Philox4x32::block(counter, SEED_SCRAMBLE_KEY);
    ([m[0], m[1]], [0, 0, m[2], m[3]])
}

/// The generator a stateless op with `seed` starts from.
fn generator(seed: [i64; 2]) -> Philox4x32 {
    let (key, counter) = key_counter(seed);
    Philox4x32::new(counter, key)
}

/// A word as an `f32` in `[0, 1)`: its low 23 bits as the mantissa of a float in `[1, 2)`,
/// minus 1 (TensorFlow's `Uint32ToFloat`).
pub fn uint32_to_f32(x: u32) -> f32 {
    f32::from_bits((127 << 23) | (x & 0x7F_FFFF)) - 1.0
}

/// Two words as an `f64` in `[0, 1)`: the low 20 bits of `hi` and the 32 bits of `lo` as the
/// 52-bit mantissa of a double in `[1, 2)`, minus 1 (TensorFlow's `Uint64ToDouble(hi, lo)`).
pub fn uint64_to_f64(hi: u32, lo: u32) -> f64 {
    let mantissa = (u64::from(hi & 0xF_FFFF) << 32) | u64::from(lo);
    f64::from_bits((1023 << 52) | mantissa) - 1.0
}

/// Box–Muller on two words: two standard normal `f32` (TensorFlow's `BoxMullerFloat`).
pub fn box_muller_f32(x0: u32, x1: u32) -> [f32; 2] {
    const EPSILON: f32 = 1.0e-7;
    let u1 = uint32_to_f32(x0).max(EPSILON);
    // `2.0f * M_PI * u` in C++: M_PI is a double, so the product is a double, then rounded
    let v1 = (2.0 * std::f64::consts::PI * f64::from(uint32_to_f32(x1))) as f32;
    let radius = (-2.0f32 * u1.ln()).sqrt();
    let (s, c) = v1.sin_cos();
    [s * radius, c * radius]
}

/// Box–Muller on four words: two standard normal `f64` (TensorFlow's `BoxMullerDouble`).
pub fn box_muller_f64(x: [u32; 4]) -> [f64; 2] {
    const EPSILON: f64 = 1.0e-7;
    let u1 = uint64_to_f64(x[0], x[1]).max(EPSILON);
    let v1 = 2.0 * std::f64::consts::PI * uint64_to_f64(x[2], x[3]);
    let radius = (-2.0 * u1.ln()).sqrt();
    let (s, c) = v1.sin_cos();
    [s * radius, c * radius]
}

/// One word at a time from a Philox stream (TensorFlow's `SingleSampleAdapter`).
struct Words {
    generator: Philox4x32,
    block: [u32; 4],
    used: usize,
}

impl Words {
    fn new(generator: Philox4x32) -> Self {
        Words {
            generator,
            block: [0; 4],
            used: 4,
        }
    }

    fn next(&mut self) -> u32 {
        if self.used == 4 {
            self.block = self.generator.next_block();
            self.used = 0;
        }
        self.used += 1;
        self.block[self.used - 1]
    }
}

/// `n` values, `K` from each Philox block in order, block `g` at counter `+ g` (the last block's
/// surplus dropped without growing `out` past `n`).
fn fill_blocks<T: Copy, const K: usize>(
    mut g: Philox4x32,
    n: usize,
    mut out: Vec<T>,
    group: impl Fn([u32; 4]) -> [T; K],
) -> Vec<T> {
    while out.len() < n {
        let values = group(g.next_block());
        let take = (n - out.len()).min(K);
        out.extend_from_slice(&values[..take]);
    }
    out
}

/// Truncated normal groups of `per_group` values: group `g` draws from its own sub-stream at
/// counter `+ g · per_group · 256 / 4`, keeping Box–Muller values with `|z| < 2` in order.
fn fill_truncated<T: Copy>(
    base: Philox4x32,
    n: usize,
    mut out: Vec<T>,
    per_group: usize,
    mut pair: impl FnMut(&mut Words) -> [T; 2],
    inside: impl Fn(T) -> bool,
) -> Vec<T> {
    let skip_per_group = per_group as u64 * RESERVED_WORDS_PER_OUTPUT / 4;
    let mut group = 0u64;
    while out.len() < n {
        let mut g = base;
        g.skip(group * skip_per_group);
        let mut words = Words::new(g);
        let want = (n - out.len()).min(per_group);
        let mut kept = 0;
        // TensorFlow fills the whole group and copies the part the output needs; the values
        // kept are the same prefix.
        'group: loop {
            for z in pair(&mut words) {
                if inside(z) {
                    out.push(z);
                    kept += 1;
                    if kept == want {
                        break 'group;
                    }
                }
            }
        }
        group += 1;
    }
    out
}

fn array<T: crate::Element>(values: Vec<T>, shape: &[usize]) -> Result<Array> {
    Array::from_vec(values, shape)
}

/// `tf.random.stateless_uniform(shape, seed, minval, maxval, dtype)` for a float dtype: values in
/// `[minval, maxval)`, the same for the same seed on every call and every machine. `minval` and
/// `maxval` are rounded to `dtype`, and each value is `u * (maxval - minval) + minval` in
/// `dtype`, `u` TensorFlow's uniform in `[0, 1)`. A shape memory cannot hold is an error naming
/// the op and the shape.
///
/// ```
/// use tapegrad_tensor::random::stateless_uniform;
/// use tapegrad_tensor::DType;
/// // tf.keras.initializers.GlorotUniform(seed=11)((5, 8)): the limit is sqrt(6 / 13)
/// let l = (6.0f64 / 13.0).sqrt();
/// let w = stateless_uniform(&[5, 8], [11, 0], -l, l, DType::F32)?;
/// assert_eq!(w.to_vec::<f32>()?[..2], [0.48104942, -0.36595246]);
/// assert!(stateless_uniform(&[1 << 40, 1 << 40], [11, 0], 0.0, 1.0, DType::F32).is_err());
/// # Ok::<(), tapegrad_tensor::TensorError>(())
/// ```
pub fn stateless_uniform(
    shape: &[usize],
    seed: [i64; 2],
    minval: f64,
    maxval: f64,
    dtype: DType,
) -> Result<Array> {
    const OP: &str = "stateless_uniform";
    let g = generator(seed);
    match dtype {
        DType::F32 => {
            let n = element_count(OP, shape, dtype)?;
            let out = reserve_elements::<f32>(OP, shape)?;
            let (lo, hi) = (minval as f32, maxval as f32);
            let range = hi - lo;
            let v = fill_blocks(g, n, out, |b| b.map(|w| uint32_to_f32(w) * range + lo));
            array(v, shape)
        }
        DType::F64 => {
            let n = element_count(OP, shape, dtype)?;
            let out = reserve_elements::<f64>(OP, shape)?;
            let range = maxval - minval;
            let v = fill_blocks(g, n, out, |b| {
                [uint64_to_f64(b[0], b[1]), uint64_to_f64(b[2], b[3])].map(|u| u * range + minval)
            });
            array(v, shape)
        }
    }
}

/// `tf.random.stateless_normal(shape, seed, mean, stddev, dtype)`: Box–Muller normals from
/// TensorFlow's stream, each `z * stddev + mean` in `dtype` (the parameters rounded to it).
///
/// ```
/// use tapegrad_tensor::random::stateless_normal;
/// use tapegrad_tensor::DType;
/// // tf.random.stateless_normal((3,), seed=[11, 0], dtype=tf.float64), TensorFlow 2.21
/// let z = stateless_normal(&[3], [11, 0], 0.0, 1.0, DType::F64)?;
/// assert_eq!(z.to_vec::<f64>()?, [-0.33448048170708605, -0.5051178315043464, 0.6630744919006859]);
/// # Ok::<(), tapegrad_tensor::TensorError>(())
/// ```
pub fn stateless_normal(
    shape: &[usize],
    seed: [i64; 2],
    mean: f64,
    stddev: f64,
    dtype: DType,
) -> Result<Array> {
    const OP: &str = "stateless_normal";
    let g = generator(seed);
    match dtype {
        DType::F32 => {
            let n = element_count(OP, shape, dtype)?;
            let out = reserve_elements::<f32>(OP, shape)?;
            let (m, s) = (mean as f32, stddev as f32);
            let v = fill_blocks(g, n, out, |b| {
                let [z0, z1] = box_muller_f32(b[0], b[1]);
                let [z2, z3] = box_muller_f32(b[2], b[3]);
                [z0, z1, z2, z3].map(|z| z * s + m)
            });
            array(v, shape)
        }
        DType::F64 => {
            let n = element_count(OP, shape, dtype)?;
            let out = reserve_elements::<f64>(OP, shape)?;
            let v = fill_blocks(g, n, out, |b| box_muller_f64(b).map(|z| z * stddev + mean));
            array(v, shape)
        }
    }
}

/// `tf.random.stateless_truncated_normal(shape, seed, mean, stddev, dtype)`: standard normals
/// redrawn (in TensorFlow's order, from TensorFlow's stream) until within two standard
/// deviations, each `z * stddev + mean` in `dtype`; `stddev` is that of the normal before
/// truncation.
///
/// ```
/// use tapegrad_tensor::random::stateless_truncated_normal;
/// use tapegrad_tensor::DType;
/// let z = stateless_truncated_normal(&[1000], [42, 0], 0.0, 1.0, DType::F32)?;
/// assert!(z.to_vec::<f32>()?.iter().all(|v| v.abs() < 2.0));
/// # Ok::<(), tapegrad_tensor::TensorError>(())
/// ```
pub fn stateless_truncated_normal(
    shape: &[usize],
    seed: [i64; 2],
    mean: f64,
    stddev: f64,
    dtype: DType,
) -> Result<Array> {
    const OP: &str = "stateless_truncated_normal";
    let g = generator(seed);
    match dtype {
        DType::F32 => {
            let n = element_count(OP, shape, dtype)?;
            let out = reserve_elements::<f32>(OP, shape)?;
            let (m, s) = (mean as f32, stddev as f32);
            let pair = |w: &mut Words| {
                let x0 = w.next();
                box_muller_f32(x0, w.next())
            };
            let mut v = fill_truncated(g, n, out, 4, pair, |z: f32| z.abs() < 2.0);
            v.iter_mut().for_each(|z| *z = *z * s + m);
            array(v, shape)
        }
        DType::F64 => {
            let n = element_count(OP, shape, dtype)?;
            let out = reserve_elements::<f64>(OP, shape)?;
            let pair = |w: &mut Words| {
                let x = [w.next(), w.next(), w.next(), w.next()];
                box_muller_f64(x)
            };
            let mut v = fill_truncated(g, n, out, 2, pair, |z: f64| z.abs() < 2.0);
            v.iter_mut().for_each(|z| *z = *z * stddev + mean);
            array(v, shape)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random123's known-answer vectors for philox4x32-10 (its `kat_vectors`; TensorFlow's
    /// `stateful_random_ops_test.py` checks the same three).
    #[test]
    fn philox_known_answers() {
        let cases = [
            (
                [0; 4],
                [0; 2],
                [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
            ),
            (
                [u32::MAX; 4],
                [u32::MAX; 2],
                [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
            ),
            (
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0],
                [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
            ),
        ];
        for (counter, key, want) in cases {
            assert_eq!(
                Philox4x32::block(counter, key),
                want,
                "{counter:x?} {key:x?}"
            );
        }
    }

    #[test]
    fn skip_carries_through_the_128_bit_counter() {
        let mut g = Philox4x32::new([u32::MAX, u32::MAX, 5, 0], [0; 2]);
        g.skip(1);
        assert_eq!(g.counter(), [0, 0, 6, 0]);
        let mut g = Philox4x32::new([u32::MAX, 0, u32::MAX, 0], [0; 2]);
        g.skip(1 << 32 | 1);
        assert_eq!(g.counter(), [0, 2, u32::MAX, 0]);
        let mut g = Philox4x32::new([0, u32::MAX, u32::MAX, 7], [0; 2]);
        g.skip(1 << 32);
        assert_eq!(g.counter(), [0, 0, 0, 8]);
    }

    #[test]
    fn words_to_floats() {
        assert_eq!(uint32_to_f32(0), 0.0);
        assert_eq!(uint32_to_f32(u32::MAX), 1.0 - f32::EPSILON);
        assert_eq!(
            uint32_to_f32(0x0080_0000),
            0.0,
            "only the low 23 bits count"
        );
        assert_eq!(uint64_to_f64(0, 0), 0.0);
        assert_eq!(uint64_to_f64(u32::MAX, u32::MAX), 1.0 - f64::EPSILON);
        assert_eq!(
            uint64_to_f64(0x0010_0000, 0),
            0.0,
            "only the low 20 bits of hi count"
        );
    }

    #[test]
    fn empty_and_scalar_shapes() -> Result<()> {
        let e = stateless_truncated_normal(&[0, 3], [1, 2], 0.0, 1.0, DType::F64)?;
        assert_eq!(e.shape(), &[0, 3]);
        let s = stateless_uniform(&[], [11, 0], 0.0, 1.0, DType::F32)?;
        let v = stateless_uniform(&[4], [11, 0], 0.0, 1.0, DType::F32)?;
        assert_eq!(s.to_vec::<f32>()?[0], v.to_vec::<f32>()?[0]);
        Ok(())
    }
}
