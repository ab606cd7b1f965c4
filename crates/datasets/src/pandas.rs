//! pandas row sampling: `DataFrame.sample(n)` and friends.
//!
//! pandas (checked against pandas 3.1.1, and unchanged in this respect since
//! 1.x) turns `random_state=None` into the `np.random` module and calls
//! `np.random.choice(len(df), size=n, replace=False, p=None)`, which numpy's
//! legacy `choice` computes as `permutation(len(df))[:n]`: a full shuffle of
//! `0..len` per call, of which the first `n` positions are kept. A seeded
//! `random_state=k` does the same with a fresh `RandomState(k)`.

use ndarray::{Array1, Array2, ArrayView2, Axis};

use crate::error::Result;
use crate::np_random;
use crate::random_state::RandomState;

/// Row positions of `df.sample(n)` on a table of `len` rows, drawn from the
/// global generator ([`np_random`]).
///
/// ```
/// use tapegrad_datasets::{np_random, pandas};
/// np_random::seed(42);
/// np_random::normal(0.0, 1.0, 300).unwrap(); // document 004's x1, x2, x3
/// assert_eq!(pandas::sample_indices(100, 1).unwrap().to_vec(), vec![77]);
/// ```
pub fn sample_indices(len: usize, n: usize) -> Result<Array1<usize>> {
    np_random::with_global(|rs| sample_indices_with(rs, len, n))
}

/// Row positions of `df.sample(n, random_state=rs)`.
///
/// ```
/// use tapegrad_datasets::{pandas, RandomState};
/// let mut rs = RandomState::new(42);
/// assert_eq!(pandas::sample_indices_with(&mut rs, 10, 3).unwrap().to_vec(), vec![8, 1, 5]);
/// assert!(pandas::sample_indices_with(&mut rs, 3, 4).is_err());
/// ```
pub fn sample_indices_with(rs: &mut RandomState, len: usize, n: usize) -> Result<Array1<usize>> {
    rs.choice(len, n, false, None)
}

/// `pd.DataFrame(x).sample(n).values` for a plain 2-D array: the sampled
/// rows, in sampled order, from the global generator.
///
/// ```
/// use ndarray::array;
/// use tapegrad_datasets::{np_random, pandas};
/// let x = array![[0.0, 0.0], [1.0, 10.0], [2.0, 20.0]];
/// np_random::seed(42);
/// let rows = pandas::sample_rows(x.view(), 2).unwrap();
/// np_random::seed(42);
/// let idx = np_random::permutation(3).unwrap();
/// assert_eq!(rows[[0, 1]], 10.0 * idx[0] as f64);
/// ```
pub fn sample_rows(x: ArrayView2<'_, f64>, n: usize) -> Result<Array2<f64>> {
    let idx = sample_indices(x.nrows(), n)?;
    Ok(x.select(Axis(0), &idx.to_vec()))
}

/// [`sample_rows`] drawing from the given generator.
///
/// ```
/// use ndarray::array;
/// use tapegrad_datasets::{pandas, RandomState};
/// let x = array![[1.0], [2.0]];
/// let rows = pandas::sample_rows_with(&mut RandomState::new(0), x.view(), 2).unwrap();
/// assert_eq!(rows.sum(), 3.0);
/// ```
pub fn sample_rows_with(
    rs: &mut RandomState,
    x: ArrayView2<'_, f64>,
    n: usize,
) -> Result<Array2<f64>> {
    let idx = sample_indices_with(rs, x.nrows(), n)?;
    Ok(x.select(Axis(0), &idx.to_vec()))
}
