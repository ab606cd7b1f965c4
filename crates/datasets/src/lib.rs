//! numpy-exact data for tapegrad.
pub mod dataset;
pub mod error;
pub mod io;
pub mod np_random;
pub mod pandas;
pub mod random_state;
pub mod recipes;
pub mod sklearn;

pub use dataset::{Batches, Dataset, Head};
pub use error::{DatasetsError, Result};
pub use random_state::{MtState, RandomState};
