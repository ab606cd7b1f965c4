//! numpy's legacy `numpy.random.RandomState`, bit for bit.
//!
//! The generator is MT19937 seeded exactly as numpy seeds it; every method
//! consumes the same 32-bit draws in the same order as numpy's C code, so a
//! seeded sequence of calls gives numpy's values to the last bit.

use ndarray::{Array, Array1, Dimension, IntoDimension};

use crate::error::{invalid, Result};

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// The full state of a [`RandomState`], as numpy's `get_state()` returns it:
/// `('MT19937', key, pos, has_gauss, cached_gaussian)`.
///
/// ```
/// use tapegrad_datasets::RandomState;
/// let mut rs = RandomState::new(42);
/// let saved = rs.get_state();
/// assert_eq!((saved.key[0], saved.pos), (42, 624));
/// let a = rs.randn(3).unwrap();
/// rs.set_state(&saved).unwrap();
/// assert_eq!(rs.randn(3).unwrap(), a);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MtState {
    /// The 624 words of the Mersenne Twister.
    pub key: Vec<u32>,
    /// Position of the next word to temper (624 means "regenerate first").
    pub pos: usize,
    /// Whether a second normal deviate from the polar method is cached.
    pub has_gauss: bool,
    /// The cached normal deviate (0.0 when none is cached).
    pub cached_gaussian: f64,
}

/// numpy's legacy `RandomState`: MT19937 plus the legacy distributions.
///
/// ```
/// use tapegrad_datasets::RandomState;
/// let mut rs = RandomState::new(42);
/// // np.random.RandomState(42).normal(size=3)
/// let x = rs.normal(0.0, 1.0, 3).unwrap();
/// assert_eq!(x.to_vec(), vec![0.4967141530112327, -0.13826430117118466, 0.6476885381006925]);
/// ```
#[derive(Debug, Clone)]
pub struct RandomState {
    key: [u32; N],
    pos: usize,
    has_gauss: bool,
    gauss: f64,
}

/// Allocates room for `n` values, turning an impossible size into an error
/// named `size` (numpy raises `ValueError`/`MemoryError`).
fn with_room<T>(n: usize) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| invalid("size", format!("cannot allocate an array of {n} elements")))?;
    Ok(v)
}

/// Number of elements of a shape, or an error named `size` on overflow.
pub(crate) fn shape_len(shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= isize::MAX as usize / 8)
        .ok_or_else(|| invalid("size", format!("shape {shape:?} is too large")))
}

fn fill<D: Dimension, T>(
    shape: impl IntoDimension<Dim = D>,
    mut f: impl FnMut() -> Result<T>,
) -> Result<Array<T, D>> {
    let dim = shape.into_dimension();
    let n = shape_len(dim.slice())?;
    let mut v = with_room(n)?;
    for _ in 0..n {
        v.push(f()?);
    }
    Array::from_shape_vec(dim, v).map_err(|e| invalid("size", e.to_string()))
}

/// Smallest all-ones bit mask covering `max`.
fn gen_mask(max: u64) -> u64 {
    let mut mask = max;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    mask |= mask >> 32;
    mask
}

/// numpy's `kahan_sum`, used to check that probabilities sum to one.
fn kahan_sum(p: &[f64]) -> f64 {
    let Some((&first, rest)) = p.split_first() else {
        return 0.0;
    };
    let mut sum = first;
    let mut c = 0.0;
    for &x in rest {
        let y = x - c;
        let t = sum + y;
        c = (t - sum) - y;
        sum = t;
    }
    sum
}

/// `np.cumsum(p); cdf /= cdf[-1]`.
fn normalized_cdf(p: &[f64]) -> Vec<f64> {
    let mut acc = 0.0;
    let mut cdf: Vec<f64> = p
        .iter()
        .map(|&x| {
            acc += x;
            acc
        })
        .collect();
    if let Some(&last) = cdf.last() {
        for c in &mut cdf {
            *c /= last;
        }
    }
    cdf
}

/// `cdf.searchsorted(x, side='right')`: the number of entries `<= x`.
fn searchsorted_right(cdf: &[f64], x: f64) -> usize {
    cdf.partition_point(|&c| c <= x)
}

impl RandomState {
    /// `np.random.RandomState(seed)` for an integer seed (numpy's `init_genrand`).
    ///
    /// ```
    /// use tapegrad_datasets::RandomState;
    /// let mut rs = RandomState::new(0);
    /// assert_eq!(rs.random_sample_one(), 0.5488135039273248);
    /// ```
    pub fn new(seed: u32) -> Self {
        let mut rs = RandomState {
            key: [0; N],
            pos: N,
            has_gauss: false,
            gauss: 0.0,
        };
        rs.seed(seed);
        rs
    }

    /// `np.random.RandomState([k0, k1, ...])`: seeding from an array of
    /// integers through MT19937's `init_by_array`, as numpy does.
    ///
    /// Errors when `keys` is empty (numpy: "Seed must be non-empty").
    ///
    /// ```
    /// use tapegrad_datasets::RandomState;
    /// let mut rs = RandomState::from_seed_array(&[1, 2, 3]).unwrap();
    /// assert!(rs.random_sample_one() < 1.0);
    /// assert!(RandomState::from_seed_array(&[]).is_err());
    /// ```
    pub fn from_seed_array(keys: &[u32]) -> Result<Self> {
        let mut rs = RandomState::new(0);
        rs.seed_array(keys)?;
        Ok(rs)
    }

    /// Reseeds in place from an integer, like `rs.seed(seed)`.
    ///
    /// ```
    /// use tapegrad_datasets::RandomState;
    /// let mut rs = RandomState::new(1);
    /// rs.seed(0);
    /// assert_eq!(rs.random_sample_one(), 0.5488135039273248);
    /// ```
    pub fn seed(&mut self, seed: u32) {
        let mut s = seed;
        for (i, k) in self.key.iter_mut().enumerate() {
            *k = s;
            s = 1_812_433_253u32
                .wrapping_mul(s ^ (s >> 30))
                .wrapping_add(i as u32 + 1);
        }
        self.pos = N;
        self.has_gauss = false;
        self.gauss = 0.0;
    }

    /// Reseeds in place from an array of integers (`init_by_array`).
    ///
    /// ```
    /// use tapegrad_datasets::RandomState;
    /// let mut a = RandomState::new(5);
    /// a.seed_array(&[42]).unwrap();
    /// let mut b = RandomState::from_seed_array(&[42]).unwrap();
    /// assert_eq!(a.next_u32(), b.next_u32());
    /// ```
    pub fn seed_array(&mut self, keys: &[u32]) -> Result<()> {
        if keys.is_empty() {
            return Err(invalid("seed", "Seed must be non-empty"));
        }
        self.seed(19_650_218);
        let mt = &mut self.key;
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(keys.len()) {
            mt[i] = (mt[i] ^ (mt[i - 1] ^ (mt[i - 1] >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(keys[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
            if j >= keys.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            mt[i] = (mt[i] ^ (mt[i - 1] ^ (mt[i - 1] >> 30)).wrapping_mul(1_566_083_941))
                .wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                mt[0] = mt[N - 1];
                i = 1;
            }
        }
        mt[0] = 0x8000_0000;
        self.pos = N;
        self.has_gauss = false;
        self.gauss = 0.0;
        Ok(())
    }

    fn generate(&mut self) {
        let k = &mut self.key;
        let twist = |a: u32, b: u32, c: u32| {
            let y = (a & UPPER_MASK) | (b & LOWER_MASK);
            c ^ (y >> 1) ^ (0u32.wrapping_sub(y & 1) & MATRIX_A)
        };
        for i in 0..N - M {
            k[i] = twist(k[i], k[i + 1], k[i + M]);
        }
        for i in N - M..N - 1 {
            k[i] = twist(k[i], k[i + 1], k[i + M - N]);
        }
        k[N - 1] = twist(k[N - 1], k[0], k[M - 1]);
        self.pos = 0;
    }

    /// The next raw 32-bit output of MT19937 (numpy's `mt19937_next32`).
    ///
    /// ```
    /// use tapegrad_datasets::RandomState;
    /// // The reference MT19937 output for init_genrand(5489).
    /// assert_eq!(RandomState::new(5489).next_u32(), 3499211612);
    /// ```
    pub fn next_u32(&mut self) -> u32 {
        if self.pos >= N {
            self.generate();
        }
        let mut y = self.key[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// Two draws, high word first (numpy's `mt19937_next64`).
    fn next_u64(&mut self) -> u64 {
        let hi = u64::from(self.next_u32());
        (hi << 32) | u64::from(self.next_u32())
    }

    /// One double in `[0, 1)` with 53 random bits, from two 32-bit draws
    /// (numpy's `legacy_double`); the scalar form of `random_sample()`.
    ///
    /// ```
    /// use tapegrad_datasets::RandomState;
    /// assert_eq!(RandomState::new(42).random_sample_one(), 0.3745401188473625);
    /// ```
    pub fn random_sample_one(&mut self) -> f64 {
        let a = self.next_u32() >> 5;
        let b = self.next_u32() >> 6;
        (f64::from(a) * 67_108_864.0 + f64::from(b)) / 9_007_199_254_740_992.0
    }

    /// `random_sample(size)`: uniform doubles in `[0, 1)`.
    ///
    /// `shape` is anything ndarray turns into a dimension: `5`, `(100, 1)`, `[2, 3, 4]`.
    ///
    /// ```
    /// use tapegrad_datasets::RandomState;
    /// let x = RandomState::new(42).random_sample((2, 2)).unwrap();
    /// assert_eq!(x[[0, 0]], 0.3745401188473625);
    /// assert_eq!(x.shape(), &[2, 2]);
    /// ```
    pub fn random_sample<D: Dimension>(
        &mut self,
        shape: impl IntoDimension<Dim = D>,
    ) -> Result<Array<f64, D>> {
        fill(shape, || Ok(self.random_sample_one()))
    }

    /// `rand(d0, d1, ...)`: the same draws as [`random_sample`](Self::random_sample).
    ///
    /// ```
    /// use tapegrad_datasets::RandomState;
    /// let mut rs = RandomState::new(42);
    /// let x = rs.rand((100, 1)).unwrap();
    /// assert_eq!(x.dim(), (100, 1));
    /// ```
    pub fn rand<D: Dimension>(
        &mut self,
        shape: impl IntoDimension<Dim = D>,
    ) -> Result<Array<f64, D>> {
        self.random_sample(shape)
    }

    /// One standard normal deviate by numpy's legacy polar method
    /// (`legacy_gauss`): each accepted pair gives two values, the second is
    /// cached and returned by the next call.
    ///
    /// ```
    /// use tapegrad_datasets::RandomState;
    /// let mut rs = RandomState::new(42);
    /// assert_eq!(rs.standard_normal_one(), 0.4967141530112327);
    /// assert_eq!(rs.standard_normal_one(), -0.13826430117118466);
    /// ```
    pub fn standard_normal_one(&mut self) -> f64 {
        if self.has_gauss {
            let g = self.gauss;
            self.has_gauss = false;
            self.gauss = 0.0;
            return g;
        }
        loop {
            let x1 = 2.0 * self.random_sample_one() - 1.0;
            let x2 = 2.0 * self.random_sample_one() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                // `ln` and `sqrt` go to the platform libm, as numpy's C does.
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.gauss = f * x1;
                self.has_gauss = true;
                return f * x2;
            }
        }
    }

    /// `standard_normal(size)`.
    ///
    /// ```
    /// use tapegrad_datasets::RandomState;
    /// let x = RandomState::new(42).standard_normal((10, 10)).unwrap();
    /// assert_eq!(x[[0, 1]], -0.13826430117118466);
    /// ```
    pub fn standard_normal<D: Dimension>(
        &mut self,
        shape: impl IntoDimension<Dim = D>,
    ) -> Result<Array<f64, D>> {
        fill(shape, || Ok(self.standard_normal_one()))
    }

    /// `randn(d0, d1, ...)`: the same draws as [`standard_normal`](Self::standard_normal).
    ///
    /// ```
    /// use tapegrad_datasets::RandomState;
    /// assert_eq!(RandomState::new(42).randn(1).unwrap()[0], 0.4967141530112327);
    /// ```
    pub fn randn<D: Dimension>(
        &mut self,
        shape: impl IntoDimension<Dim = D>,
    ) -> Result<Array<f64, D>> {
        self.standard_normal(shape)
    }

    /// Scalar `normal(loc, scale)`: `loc + scale * gauss`.
    ///
    /// ```
    /// use tapegrad_datasets::RandomState;
    /// let mut rs = RandomState::new(42);
    /// assert_eq!(rs.normal_one(1.0, 2.0).unwrap(), 1.0 + 2.0 * 0.4967141530112327);
    /// ```
    pub fn normal_one(&mut self, loc: f64, scale: f64) -> Result<f64> {
        check_scale(scale)?;
        Ok(loc + scale * self.standard_normal_one())
    }

    /// `normal(loc, scale, size)`. Errors if `scale < 0` or is NaN.
    ///
    /// ```
    /// use tapegrad_datasets::RandomState;
    /// let mut rs = RandomState::new(42);
    /// let x = rs.normal(0.0, 1.0, 100).unwrap();
    /// assert_eq!(x[0], 0.4967141530112327);
    /// assert!(rs.normal(0.0, -1.0, 3).is_err());
    /// ```
    pub fn normal<D: Dimension>(
        &mut self,
        loc: f64,
        scale: f64,
        shape: impl IntoDimension<Dim = D>,
    ) -> Result<Array<f64, D>> {
        check_scale(scale)?;
        fill(shape, || Ok(loc + scale * self.standard_normal_one()))
    }

    /// Scalar `uniform(low, high)`: `low + (high - low) * random_sample()`.
    ///
    /// ```
    /// use tapegrad_datasets::RandomState;
    /// let u = RandomState::new(42).uniform_one(-1.0, 1.0).unwrap();
    /// assert_eq!(u, -1.0 + 2.0 * 0.3745401188473625);
    /// ```
    pub fn uniform_one(&mut self, low: f64, high: f64) -> Result<f64> {
        let range = uniform_range(low, high)?;
        Ok(low + range * self.random_sample_one())
    }

    /// `uniform(low, high, size)`. Errors when `high - low` is not finite
    /// (numpy: "Range exceeds valid bounds").
    ///
    /// ```
    /// use tapegrad_datasets::RandomState;
    /// let u = RandomState::new(0).uniform(0.0, 1.0, (2, 3)).unwrap();
    /// assert_eq!(u[[0, 0]], 0.5488135039273248);
    /// ```
    pub fn uniform<D: Dimension>(
        &mut self,
        low: f64,
        high: f64,
        shape: impl IntoDimension<Dim = D>,
    ) -> Result<Array<f64, D>> {
        let range = uniform_range(low, high)?;
        fill(shape, || Ok(low + range * self.random_sample_one()))
    }

    /// Integer in the closed interval `[0, rng]` by numpy's legacy masked
    /// rejection sampling (`random_bounded_uint64` with `use_masked`).
    fn bounded_masked(&mut self, rng: u64) -> u64 {
        if rng == 0 {
            0
        } else if rng <= u64::from(u32::MAX) {
            if rng == u64::from(u32::MAX) {
                return u64::from(self.next_u32());
            }
            let mask = gen_mask(rng) as u32;
            loop {
                let v = self.next_u32() & mask;
                if u64::from(v) <= rng {
                    return u64::from(v);
                }
            }
        } else {
            if rng == u64::MAX {
                return self.next_u64();
            }
            let mask = gen_mask(rng);
            loop {
                let v = self.next_u64() & mask;
                if v <= rng {
                    return v;
                }
            }
        }
    }

    /// Scalar `randint(low, high)`: an integer in `[low, high)`.
    ///
    /// ```
    /// use tapegrad_datasets::RandomState;
    /// let k = RandomState::new(42).randint_one(0, 10).unwrap();
    /// assert_eq!(k, 6);
    /// ```
    pub fn randint_one(&mut self, low: i64, high: i64) -> Result<i64> {
        let rng = randint_range(low, high)?;
        Ok(low.wrapping_add(self.bounded_masked(rng) as i64))
    }

    /// `randint(low, high, size)` with numpy's default int64 dtype: integers
    /// in `[low, high)`, drawn by numpy's legacy masked rejection. (numpy's
    /// `randint(n)` is `randint(0, n)`.) Errors if `low >= high`.
    ///
    /// ```
    /// use tapegrad_datasets::RandomState;
    /// let k = RandomState::new(42).randint(0, 10, 5).unwrap();
    /// assert_eq!(k.to_vec(), vec![6, 3, 7, 4, 6]);
    /// ```
    pub fn randint<D: Dimension>(
        &mut self,
        low: i64,
        high: i64,
        shape: impl IntoDimension<Dim = D>,
    ) -> Result<Array<i64, D>> {
        let rng = randint_range(low, high)?;
        fill(shape, || {
            Ok(low.wrapping_add(self.bounded_masked(rng) as i64))
        })
    }

    /// numpy's `random_interval(max)`: an integer in `[0, max]` by masked
    /// rejection; the bounded draw of `shuffle`.
    fn random_interval(&mut self, max: usize) -> usize {
        let max = max as u64;
        if max == 0 {
            return 0;
        }
        let mask = gen_mask(max);
        if max <= u64::from(u32::MAX) {
            loop {
                let v = u64::from(self.next_u32()) & mask;
                if v <= max {
                    return v as usize;
                }
            }
        }
        loop {
            let v = self.next_u64() & mask;
            if v <= max {
                return v as usize;
            }
        }
    }

    /// `shuffle(x)` in place along the first axis: Fisher–Yates from the end,
    /// `j = random_interval(i)` for `i = n-1 .. 1`, exactly as numpy.
    ///
    /// ```
    /// use tapegrad_datasets::RandomState;
    /// let mut v: Vec<i32> = (0..10).collect();
    /// RandomState::new(42).shuffle(&mut v);
    /// assert_eq!(v, vec![8, 1, 5, 0, 7, 2, 9, 4, 3, 6]);
    /// ```
    pub fn shuffle<T>(&mut self, x: &mut [T]) {
        for i in (1..x.len()).rev() {
            let j = self.random_interval(i);
            x.swap(i, j);
        }
    }

    /// `permutation(n)`: `arange(n)` shuffled. An `n` memory cannot hold is an error named
    /// `n` (numpy's `MemoryError`), not an abort.
    ///
    /// ```
    /// use tapegrad_datasets::RandomState;
    /// let p = RandomState::new(42).permutation(10)?;
    /// assert_eq!(p.to_vec(), vec![8, 1, 5, 0, 7, 2, 9, 4, 3, 6]);
    /// assert!(RandomState::new(42).permutation(1 << 62).is_err());
    /// # Ok::<(), tapegrad_datasets::DatasetsError>(())
    /// ```
    pub fn permutation(&mut self, n: usize) -> Result<Array1<usize>> {
        shape_len(&[n]).map_err(|_| invalid("n", format!("{n} elements cannot be allocated")))?;
        let mut v: Vec<usize> = with_room(n)
            .map_err(|_| invalid("n", format!("cannot allocate an array of {n} elements")))?;
        v.extend(0..n);
        self.shuffle(&mut v);
        Ok(Array1::from(v))
    }

    /// `permutation(x)` for an array: a copy with its rows (first axis)
    /// permuted by the same draws as `shuffle`.
    ///
    /// ```
    /// use ndarray::array;
    /// use tapegrad_datasets::RandomState;
    /// let x = array![[0.0, 0.5], [1.0, 1.5], [2.0, 2.5]];
    /// let p = RandomState::new(42).permutation_of(&x);
    /// let order = RandomState::new(42).permutation(3).unwrap();
    /// assert_eq!(p[[0, 0]], order[0] as f64);
    /// ```
    pub fn permutation_of<A: Clone, D: Dimension + ndarray::RemoveAxis>(
        &mut self,
        x: &Array<A, D>,
    ) -> Array<A, D> {
        if x.ndim() == 0 {
            return x.clone();
        }
        // the rows of an array that exists: as many indices fit in memory as its rows did
        // (the shuffle draws the same numbers as `permutation`)
        let mut order: Vec<usize> = (0..x.len_of(ndarray::Axis(0))).collect();
        self.shuffle(&mut order);
        x.select(ndarray::Axis(0), &order)
    }

    /// `choice(a, size, replace, p)` over `arange(a)`, returning the chosen
    /// indices, exactly as numpy's legacy `choice`:
    ///
    /// * `replace=true`, no `p`: `randint(0, a, size)`;
    /// * `replace=true`, with `p`: inverse CDF of `random_sample(size)`;
    /// * `replace=false`, no `p`: `permutation(a)[:size]`;
    /// * `replace=false`, with `p`: numpy's repeated draw-and-deduplicate loop.
    ///
    /// Errors (named `a`, `p` or `size`) as numpy raises them: empty
    /// population, `p` of the wrong length, negative or NaN probabilities,
    /// probabilities not summing to 1 (within `sqrt(eps)`), a sample larger
    /// than the population without replacement.
    ///
    /// ```
    /// use tapegrad_datasets::RandomState;
    /// let mut rs = RandomState::new(42);
    /// let idx = rs.choice(100, 3, false, None).unwrap();
    /// assert_eq!(idx.to_vec(), RandomState::new(42).permutation(100).unwrap().to_vec()[..3].to_vec());
    /// let bad = rs.choice(3, 2, true, Some(&[0.5, 0.2, 0.2]));
    /// assert_eq!(
    ///     bad.unwrap_err().to_string(),
    ///     "invalid parameter `p`: probabilities do not sum to 1"
    /// );
    /// ```
    pub fn choice(
        &mut self,
        a: usize,
        size: usize,
        replace: bool,
        p: Option<&[f64]>,
    ) -> Result<Array1<usize>> {
        if a == 0 && size != 0 {
            return Err(invalid(
                "a",
                "a must be greater than 0 unless no samples are taken",
            ));
        }
        if let Some(p) = p {
            if p.len() != a {
                return Err(invalid(
                    "p",
                    format!(
                        "'a' and 'p' must have same size (a={a}, len(p)={})",
                        p.len()
                    ),
                ));
            }
            let sum = kahan_sum(p);
            if sum.is_nan() {
                return Err(invalid("p", "probabilities contain NaN"));
            }
            if p.iter().any(|&x| x < 0.0) {
                return Err(invalid("p", "probabilities are not non-negative"));
            }
            let atol = f64::EPSILON.sqrt();
            if (sum - 1.0).abs() > atol {
                return Err(invalid("p", "probabilities do not sum to 1"));
            }
        }
        shape_len(&[size])?;
        if replace {
            match p {
                Some(p) => {
                    let cdf = normalized_cdf(p);
                    let u = self.random_sample(size)?;
                    Ok(u.mapv(|x| searchsorted_right(&cdf, x)))
                }
                None => {
                    let k = self.randint(0, a as i64, size)?;
                    Ok(k.mapv(|v| v as usize))
                }
            }
        } else {
            if size > a {
                return Err(invalid(
                    "size",
                    format!(
                        "Cannot take a larger sample than population when 'replace=False' \
                         (size={size}, population={a})"
                    ),
                ));
            }
            match p {
                Some(p) => {
                    if p.iter().filter(|&&x| x > 0.0).count() < size {
                        return Err(invalid("p", "Fewer non-zero entries in p than size"));
                    }
                    let mut p = p.to_vec();
                    let mut found: Vec<usize> = with_room(size)?;
                    while found.len() < size {
                        let x = self.random_sample(size - found.len())?;
                        for &f in &found {
                            p[f] = 0.0;
                        }
                        let cdf = normalized_cdf(&p);
                        // np.unique(new, return_index=True), indices sorted:
                        // the first occurrence of each value, in draw order.
                        let mut seen: Vec<usize> = Vec::new();
                        for &xi in x.iter() {
                            let k = searchsorted_right(&cdf, xi);
                            if !seen.contains(&k) {
                                seen.push(k);
                            }
                        }
                        found.extend(seen);
                    }
                    Ok(Array1::from(found))
                }
                None => {
                    let perm = self.permutation(a)?;
                    Ok(perm.slice_move(ndarray::s![..size]))
                }
            }
        }
    }

    /// `choice(values, size, replace, p)` for a slice of values: the values
    /// at the indices [`choice`](Self::choice) draws.
    ///
    /// ```
    /// use tapegrad_datasets::RandomState;
    /// let picks = RandomState::new(1).choice_from(&["a", "b", "c"], 4, true, None).unwrap();
    /// assert_eq!(picks.len(), 4);
    /// ```
    pub fn choice_from<T: Clone>(
        &mut self,
        values: &[T],
        size: usize,
        replace: bool,
        p: Option<&[f64]>,
    ) -> Result<Vec<T>> {
        let idx = self.choice(values.len(), size, replace, p)?;
        Ok(idx.iter().map(|&i| values[i].clone()).collect())
    }

    /// `get_state()`: a copy of the full generator state.
    ///
    /// ```
    /// use tapegrad_datasets::RandomState;
    /// let mut rs = RandomState::new(3);
    /// rs.randn(1).unwrap();
    /// let s = rs.get_state();
    /// assert!(s.has_gauss);
    /// assert_eq!(s.key.len(), 624);
    /// ```
    pub fn get_state(&self) -> MtState {
        MtState {
            key: self.key.to_vec(),
            pos: self.pos,
            has_gauss: self.has_gauss,
            cached_gaussian: self.gauss,
        }
    }

    /// `set_state(state)`. Errors if the key does not have 624 words or
    /// `pos > 624`.
    ///
    /// ```
    /// use tapegrad_datasets::{MtState, RandomState};
    /// let mut rs = RandomState::new(0);
    /// let bad = MtState { key: vec![0; 3], pos: 0, has_gauss: false, cached_gaussian: 0.0 };
    /// assert!(rs.set_state(&bad).is_err());
    /// ```
    pub fn set_state(&mut self, state: &MtState) -> Result<()> {
        if state.key.len() != N {
            return Err(invalid(
                "state",
                format!("key must have 624 elements, got {}", state.key.len()),
            ));
        }
        if state.pos > N {
            return Err(invalid(
                "state",
                format!("pos must be in 0..=624, got {}", state.pos),
            ));
        }
        self.key.copy_from_slice(&state.key);
        self.pos = state.pos;
        self.has_gauss = state.has_gauss;
        self.gauss = if state.has_gauss {
            state.cached_gaussian
        } else {
            0.0
        };
        Ok(())
    }
}

fn check_scale(scale: f64) -> Result<()> {
    if scale >= 0.0 {
        Ok(())
    } else if scale.is_nan() {
        Err(invalid(
            "scale",
            "scale value must be non-negative, got NaN",
        ))
    } else {
        Err(invalid("scale", format!("scale < 0 (got {scale})")))
    }
}

fn uniform_range(low: f64, high: f64) -> Result<f64> {
    let range = high - low;
    if range.is_finite() {
        Ok(range)
    } else {
        Err(invalid(
            "high",
            format!("Range exceeds valid bounds (low={low}, high={high})"),
        ))
    }
}

fn randint_range(low: i64, high: i64) -> Result<u64> {
    if low >= high {
        return Err(invalid(
            "high",
            format!("low >= high (low={low}, high={high})"),
        ));
    }
    // high - 1 - low, computed without overflow.
    Ok((high as i128 - 1 - low as i128) as u64)
}
