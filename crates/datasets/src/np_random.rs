//! The global `RandomState`, like `np.random.seed(42); np.random.normal(...)`.
//!
//! One process-wide generator behind a `Mutex` (numpy's `np.random.mtrand._rand`).
//! Until [`seed`] is called it is seeded from the operating system's
//! randomness, as numpy's is.
//!
//! ```
//! use tapegrad_datasets::np_random;
//! np_random::seed(42);
//! let x1 = np_random::normal(0.0, 1.0, 100).unwrap();
//! assert_eq!(x1[0], 0.4967141530112327);
//! ```

use std::collections::hash_map::RandomState as StdHashState;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Mutex, MutexGuard, OnceLock};

use ndarray::{Array, Array1, Dimension, IntoDimension};

use crate::error::Result;
use crate::random_state::{MtState, RandomState};

fn global() -> MutexGuard<'static, RandomState> {
    static GLOBAL: OnceLock<Mutex<RandomState>> = OnceLock::new();
    GLOBAL
        .get_or_init(|| {
            let h = StdHashState::new().build_hasher().finish();
            let keys = [h as u32, (h >> 32) as u32];
            Mutex::new(RandomState::from_seed_array(&keys).unwrap_or_else(|_| RandomState::new(0)))
        })
        .lock()
        // A panic elsewhere while holding the lock leaves a valid state.
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `f` with exclusive access to the global generator, for calls that
/// have no free function here (or several calls that must not interleave
/// with other threads).
///
/// ```
/// use tapegrad_datasets::np_random;
/// np_random::seed(0);
/// let u = np_random::with_global(|rs| rs.random_sample_one());
/// assert_eq!(u, 0.5488135039273248);
/// ```
pub fn with_global<T>(f: impl FnOnce(&mut RandomState) -> T) -> T {
    f(&mut global())
}

/// `np.random.seed(seed)`.
///
/// ```
/// use tapegrad_datasets::np_random;
/// np_random::seed(42);
/// assert_eq!(np_random::random_sample_one(), 0.3745401188473625);
/// ```
pub fn seed(seed: u32) {
    global().seed(seed);
}

/// `np.random.seed([k0, k1, ...])`. Errors when `keys` is empty.
///
/// ```
/// use tapegrad_datasets::np_random;
/// np_random::seed_array(&[1, 2, 3]).unwrap();
/// ```
pub fn seed_array(keys: &[u32]) -> Result<()> {
    global().seed_array(keys)
}

/// `np.random.random_sample()` as a scalar.
///
/// ```
/// use tapegrad_datasets::np_random;
/// np_random::seed(0);
/// assert_eq!(np_random::random_sample_one(), 0.5488135039273248);
/// ```
pub fn random_sample_one() -> f64 {
    global().random_sample_one()
}

/// `np.random.rand(d0, d1, ...)`.
///
/// ```
/// use tapegrad_datasets::np_random;
/// np_random::seed(42);
/// let x = np_random::rand((100, 1)).unwrap();
/// assert_eq!(x[[0, 0]], 0.3745401188473625);
/// ```
pub fn rand<D: Dimension>(shape: impl IntoDimension<Dim = D>) -> Result<Array<f64, D>> {
    global().rand(shape)
}

/// `np.random.random_sample(size)`.
///
/// ```
/// use tapegrad_datasets::np_random;
/// np_random::seed(42);
/// assert_eq!(np_random::random_sample(1).unwrap()[0], 0.3745401188473625);
/// ```
pub fn random_sample<D: Dimension>(shape: impl IntoDimension<Dim = D>) -> Result<Array<f64, D>> {
    global().random_sample(shape)
}

/// `np.random.randn()` as a scalar.
///
/// ```
/// use tapegrad_datasets::np_random;
/// np_random::seed(42);
/// assert_eq!(np_random::randn_one(), 0.4967141530112327);
/// ```
pub fn randn_one() -> f64 {
    global().standard_normal_one()
}

/// `np.random.randn(d0, d1, ...)`.
///
/// ```
/// use tapegrad_datasets::np_random;
/// np_random::seed(42);
/// assert_eq!(np_random::randn(2).unwrap()[1], -0.13826430117118466);
/// ```
pub fn randn<D: Dimension>(shape: impl IntoDimension<Dim = D>) -> Result<Array<f64, D>> {
    global().randn(shape)
}

/// `np.random.standard_normal(size)`.
///
/// ```
/// use tapegrad_datasets::np_random;
/// np_random::seed(42);
/// assert_eq!(np_random::standard_normal(1).unwrap()[0], 0.4967141530112327);
/// ```
pub fn standard_normal<D: Dimension>(shape: impl IntoDimension<Dim = D>) -> Result<Array<f64, D>> {
    global().standard_normal(shape)
}

/// `np.random.normal(loc, scale, size)`.
///
/// ```
/// use tapegrad_datasets::np_random;
/// np_random::seed(42);
/// assert_eq!(np_random::normal(0.0, 1.0, 3).unwrap()[2], 0.6476885381006925);
/// ```
pub fn normal<D: Dimension>(
    loc: f64,
    scale: f64,
    shape: impl IntoDimension<Dim = D>,
) -> Result<Array<f64, D>> {
    global().normal(loc, scale, shape)
}

/// `np.random.uniform(low, high, size)`.
///
/// ```
/// use tapegrad_datasets::np_random;
/// np_random::seed(0);
/// assert_eq!(np_random::uniform(0.0, 2.0, 1).unwrap()[0], 2.0 * 0.5488135039273248);
/// ```
pub fn uniform<D: Dimension>(
    low: f64,
    high: f64,
    shape: impl IntoDimension<Dim = D>,
) -> Result<Array<f64, D>> {
    global().uniform(low, high, shape)
}

/// `np.random.randint(low, high, size)`.
///
/// ```
/// use tapegrad_datasets::np_random;
/// np_random::seed(42);
/// assert_eq!(np_random::randint(0, 10, 3).unwrap().to_vec(), vec![6, 3, 7]);
/// ```
pub fn randint<D: Dimension>(
    low: i64,
    high: i64,
    shape: impl IntoDimension<Dim = D>,
) -> Result<Array<i64, D>> {
    global().randint(low, high, shape)
}

/// `np.random.shuffle(x)`.
///
/// ```
/// use tapegrad_datasets::np_random;
/// np_random::seed(42);
/// let mut v: Vec<u8> = (0..10).collect();
/// np_random::shuffle(&mut v);
/// assert_eq!(v, vec![8, 1, 5, 0, 7, 2, 9, 4, 3, 6]);
/// ```
pub fn shuffle<T>(x: &mut [T]) {
    global().shuffle(x)
}

/// `np.random.permutation(n)`.
///
/// ```
/// use tapegrad_datasets::np_random;
/// np_random::seed(42);
/// assert_eq!(np_random::permutation(10)?[0], 8);
/// # Ok::<(), tapegrad_datasets::DatasetsError>(())
/// ```
pub fn permutation(n: usize) -> crate::Result<Array1<usize>> {
    global().permutation(n)
}

/// `np.random.choice(a, size, replace, p)`.
///
/// ```
/// use tapegrad_datasets::np_random;
/// np_random::seed(42);
/// assert_eq!(np_random::choice(10, 3, false, None).unwrap().to_vec(), vec![8, 1, 5]);
/// ```
pub fn choice(a: usize, size: usize, replace: bool, p: Option<&[f64]>) -> Result<Array1<usize>> {
    global().choice(a, size, replace, p)
}

/// `np.random.get_state()`.
///
/// ```
/// use tapegrad_datasets::np_random;
/// np_random::seed(7);
/// assert_eq!(np_random::get_state().key[0], 7);
/// ```
pub fn get_state() -> MtState {
    global().get_state()
}

/// `np.random.set_state(state)`.
///
/// ```
/// use tapegrad_datasets::np_random;
/// np_random::seed(7);
/// let s = np_random::get_state();
/// let a = np_random::random_sample_one();
/// np_random::set_state(&s).unwrap();
/// assert_eq!(np_random::random_sample_one(), a);
/// ```
pub fn set_state(state: &MtState) -> Result<()> {
    global().set_state(state)
}
