//! [`Dataset`] to and from a polars [`DataFrame`] (cargo feature `polars`).
//!
//! A `Dataset` becomes a `DataFrame` of `Float64` columns with the same
//! names in the same order. Back from polars, every numeric column (any
//! integer or float dtype) is cast to `f64`; a column of another dtype
//! (string, boolean, date, ...) or a null is an error naming the column and
//! the first offending row. NaN is a float like any other and is kept.
//! Integers beyond ±2^53 round to the nearest `f64`, as in pandas.
//!
//! A polars `DataFrame` has no place for the targets/features split, so the
//! convention is: [`Dataset::to_polars`] keeps every column, features and
//! targets alike, and the split travels as the list of target names, which
//! [`Dataset::from_polars_with_targets`] takes back:
//!
//! ```
//! use ndarray::array;
//! use tapegrad_datasets::Dataset;
//! let mut ds = Dataset::from_columns(vec![("x", array![1.0, 2.0]), ("y", array![3.0, 5.0])]).unwrap();
//! ds.set_targets(&["y"]).unwrap();
//! let df = ds.to_polars();
//! let back = Dataset::from_polars_with_targets(&df, &ds.target_names()).unwrap();
//! assert_eq!(back, ds);
//! ```
//!
//! Parquet files (feature `parquet`) keep the split themselves: see
//! [`crate::io::write_parquet`].

use polars::prelude::{AnyValue, Column, DataFrame, DataType};

use crate::dataset::Dataset;
use crate::error::{DatasetsError, Result};

fn column_err(column: &Column, row: Option<usize>, message: impl Into<String>) -> DatasetsError {
    DatasetsError::Column {
        column: column.name().to_string(),
        row,
        message: message.into(),
    }
}

/// The `f64` values of one polars column, or an error naming the column and
/// the first row that is not a number.
fn column_values(column: &Column) -> Result<Vec<f64>> {
    let dtype = column.dtype();
    if !dtype.is_primitive_numeric() {
        if column.is_empty() {
            return Err(column_err(
                column,
                None,
                format!("dtype {dtype} is not numeric"),
            ));
        }
        let value = column
            .get(0)
            .map_err(|e| column_err(column, Some(0), e.to_string()))?;
        return Err(match value {
            AnyValue::Null => column_err(column, Some(0), "null where a number is required"),
            v => column_err(
                column,
                Some(0),
                format!("{v} is not a number (dtype {dtype}; only numeric columns convert to f64)"),
            ),
        });
    }
    let cast = column
        .cast(&DataType::Float64)
        .map_err(|e| column_err(column, None, e.to_string()))?;
    let values = cast
        .f64()
        .map_err(|e| column_err(column, None, e.to_string()))?;
    values
        .iter()
        .enumerate()
        .map(|(row, v)| {
            v.ok_or_else(|| column_err(column, Some(row), "null where a number is required"))
        })
        .collect()
}

impl Dataset {
    /// The table as a polars `DataFrame`: one `Float64` column per column,
    /// same names, same order (targets included; see the [module
    /// docs](crate::polars_frame) for the targets convention).
    ///
    /// ```
    /// use ndarray::array;
    /// use polars::prelude::DataType;
    /// use tapegrad_datasets::Dataset;
    /// let ds = Dataset::from_columns(vec![("a", array![1.0, 2.5]), ("b", array![-1.0, 0.0])]).unwrap();
    /// let df = ds.to_polars();
    /// assert_eq!(df.shape(), (2, 2));
    /// assert_eq!(df.column("b").unwrap().dtype(), &DataType::Float64);
    /// assert_eq!(df.column("a").unwrap().f64().unwrap().get(1), Some(2.5));
    /// ```
    pub fn to_polars(&self) -> DataFrame {
        let columns: Vec<Column> = self
            .named_columns()
            .map(|(name, values)| Column::new(name.into(), values.to_vec()))
            .collect();
        // A Dataset's columns have distinct names and equal lengths, which is
        // all DataFrame::new checks.
        DataFrame::new(self.nrows(), columns)
            .expect("a Dataset's columns have distinct names and equal lengths")
    }

    /// A table from a polars `DataFrame`, with no target columns. Numeric
    /// columns (integers and floats) become `f64`; another dtype or a null is
    /// an error naming the column and row.
    ///
    /// ```
    /// use polars::prelude::*;
    /// use tapegrad_datasets::{Dataset, DatasetsError};
    /// let df = DataFrame::new(3, vec![
    ///     Column::new("n".into(), [1i64, 2, 3]),
    ///     Column::new("x".into(), [0.5f32, 1.5, 2.5]),
    /// ]).unwrap();
    /// let ds = Dataset::from_polars(&df).unwrap();
    /// assert_eq!(ds.values(), ndarray::array![[1.0, 0.5], [2.0, 1.5], [3.0, 2.5]]);
    ///
    /// let df = DataFrame::new(2, vec![Column::new("x".into(), [Some(1.0), None])]).unwrap();
    /// let err = Dataset::from_polars(&df).unwrap_err();
    /// assert!(matches!(err, DatasetsError::Column { row: Some(1), .. }));
    /// assert_eq!(err.to_string(), "column `x`, row 1: null where a number is required");
    /// ```
    pub fn from_polars(df: &DataFrame) -> Result<Self> {
        let mut ds = Dataset::new();
        for column in df.columns() {
            let values = column_values(column)?;
            ds.insert(column.name().as_str(), values.into())?;
        }
        Ok(ds)
    }

    /// [`Dataset::from_polars`], then marks `targets` as the target columns:
    /// the inverse of [`Dataset::to_polars`] given the `target_names()`.
    /// Errors if a target column is missing.
    ///
    /// ```
    /// use polars::prelude::*;
    /// use tapegrad_datasets::Dataset;
    /// let df = DataFrame::new(2, vec![
    ///     Column::new("x".into(), [1.0, 2.0]),
    ///     Column::new("y".into(), [2.0, 4.0]),
    /// ]).unwrap();
    /// let ds = Dataset::from_polars_with_targets(&df, &["y"]).unwrap();
    /// assert_eq!(ds.targets(), ndarray::array![[2.0], [4.0]]);
    /// assert_eq!(ds.features(), ndarray::array![[1.0], [2.0]]);
    /// assert!(Dataset::from_polars_with_targets(&df, &["z"]).is_err());
    /// ```
    pub fn from_polars_with_targets(df: &DataFrame, targets: &[&str]) -> Result<Self> {
        let mut ds = Self::from_polars(df)?;
        ds.set_targets(targets)?;
        Ok(ds)
    }
}
