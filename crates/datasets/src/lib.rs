//! numpy-exact data for tapegrad.
//!
//! The tutorial documents draw their data with numpy's legacy global
//! `RandomState`, sample rows with pandas and build regression sets with
//! scikit-learn. This crate reproduces those draws exactly, so a seeded run
//! gets the same data, the same rows and therefore the same numbers. It
//! needs no gradients and builds on ndarray; polars is optional.
//!
//! * [`RandomState`] — numpy's legacy `numpy.random.RandomState`, bit for bit
//!   (MT19937, `random_sample`, `randn`, `normal`, `uniform`, `randint`,
//!   `shuffle`, `permutation`, `choice`, `get_state`/`set_state`).
//! * [`np_random`] — the global generator: `np_random::seed(42)`,
//!   `np_random::normal(0.0, 1.0, 100)`.
//! * [`pandas`] — `DataFrame.sample(n)` row picks.
//! * [`sklearn`] — `make_regression`, `make_low_rank_matrix`,
//!   `train_test_split`, `StandardScaler`.
//! * [`recipes`] — the five documents' data cells.
//! * [`Dataset`] — named columns with a pandas-like `head()`, `sample()` and batches.
//! * [`pipeline`] — `tf.data` in small: shuffle, batch, map, repeat, over a table, a CSV
//!   file streamed a row at a time or (feature `parquet`) a Parquet file streamed a row group
//!   at a time.
//! * [`io`] — CSV, `.npy` and `.npz` in and out; Parquet with the `parquet`
//!   feature.
//! * `polars_frame` (feature `polars`) — `Dataset::to_polars`,
//!   `Dataset::from_polars`, `Dataset::from_polars_with_targets`.
//!
//! Cargo features, all off by default: `polars` (polars `DataFrame`
//! interop; polars 0.55 without its default features) and `parquet`
//! (implies `polars`; adds polars' Parquet reader and writer with their
//! compression codecs).
//!
//! ```
//! use tapegrad_datasets::{np_random, recipes, sklearn::MakeRegression};
//!
//! // Document 004: np.random.seed(42); x1, x2, x3 = normal(size=100) ...
//! np_random::seed(42);
//! let dataset = recipes::doc004_dataset(100).unwrap();
//! println!("{}", dataset.head(5));
//! let row = dataset.sample(1).unwrap(); // dataset.sample(1).values
//! assert_eq!(row.dim(), (1, 4));
//!
//! // make_regression(n_samples=10, n_features=10, n_targets=1, bias=1, random_state=42)
//! let data = MakeRegression { n_samples: 10, n_features: 10, n_targets: 1, bias: 1.0,
//!                             random_state: Some(42), ..Default::default() }
//!     .generate()
//!     .unwrap();
//! assert!((data.y[[0, 0]] - -324.129377).abs() < 1e-6);
//! ```
#![warn(missing_docs)]

pub mod dataset;
pub mod error;
pub mod io;
pub mod np_random;
pub mod pandas;
#[cfg(feature = "parquet")]
mod parquet_rows;
pub mod pipeline;
#[cfg(feature = "polars")]
pub mod polars_frame;
pub mod random_state;
pub mod recipes;
pub mod sklearn;

pub use dataset::{Batches, Dataset, Head};
pub use error::{DatasetsError, Result};
pub use random_state::{MtState, RandomState};

/// The polars crate this one converts to and from (feature `polars`), so
/// that callers use the same version.
#[cfg(feature = "polars")]
pub use polars;

/// Runs the README's example as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
