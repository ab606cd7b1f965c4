//! The rows of a Parquet file read a row group at a time (feature `parquet`), for
//! [`Pipeline::from_parquet`](crate::pipeline::Pipeline::from_parquet).
//!
//! polars 0.55's eager `ParquetReader` is given the file's footer once and, for each row group
//! in turn, the slice of rows that is that group alone: it maps the file and decodes only the
//! row groups the slice overlaps, so what is held at a time is one row group, as `f64` columns,
//! never the file. (polars's lazy `scan_parquet(...).collect_batches(Engine::Streaming, ..)`
//! would also give bounded batches, but needs polars's `lazy` and `streaming` features, many
//! more crates to build, for nothing this reader lacks.)

use std::fs::File;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use ndarray::Array2;
use polars::io::parquet::metadata::FileMetadataRef;
use polars::io::parquet::read::{ParallelStrategy, ParquetReader};
use polars::prelude::{Column, DataFrame, DataType, PolarsResult, SerReader};

use crate::error::invalid;
use crate::pipeline::Batch;
use crate::{DatasetsError, Result};

fn format_err(path: &Path, message: impl Into<String>) -> DatasetsError {
    DatasetsError::Format {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Runs a polars call, a panic inside it (a malformed file polars does not expect) taken as
/// an error like the others.
fn guarded<T>(f: impl FnOnce() -> PolarsResult<T>) -> std::result::Result<T, String> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(panic) => Err(panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the Parquet reader failed".into())),
    }
}

/// A Parquet file's rows, one row group decoded at a time.
pub(crate) struct ParquetRows {
    path: PathBuf,
    file: File,
    metadata: FileMetadataRef,
    /// The columns' names, in the file's order.
    names: Vec<String>,
    /// For each column: `Some(k)` the k-th target, `None` a feature.
    target_of: Vec<Option<usize>>,
    n_targets: usize,
    /// The next row group to read.
    next_group: usize,
    /// The first row (0-based, of the file) of the next row group.
    next_start: usize,
    /// The current row group's columns, in the file's order.
    columns: Vec<Vec<f64>>,
    /// The next row of the current group, and its rows.
    row: usize,
    rows: usize,
    failed: bool,
}

impl ParquetRows {
    /// Opens the file and reads its footer: the columns must all be numeric and the targets
    /// among them.
    pub(crate) fn open(path: &Path, targets: &[String]) -> Result<ParquetRows> {
        let io = |source| DatasetsError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let not_parquet = |e: String| format_err(path, format!("cannot read as Parquet: {e}"));
        let mut reader = ParquetReader::new(file.try_clone().map_err(io)?);
        let metadata = guarded(|| reader.get_metadata().cloned()).map_err(not_parquet)?;
        let schema = guarded(|| reader.schema()).map_err(not_parquet)?;
        let mut names = Vec::with_capacity(schema.len());
        for (name, field) in schema.iter() {
            let dtype = DataType::from_arrow_field(field);
            if !dtype.is_primitive_numeric() {
                return Err(format_err(
                    path,
                    format!(
                        "column `{name}` is of type {dtype}, not numbers: every column is a \
                         feature or a target, and only integer and float columns can be"
                    ),
                ));
            }
            names.push(name.to_string());
        }
        if names.is_empty() {
            return Err(format_err(path, "the file has no columns"));
        }
        let mut target_of = vec![None; names.len()];
        for (k, t) in targets.iter().enumerate() {
            match names.iter().position(|h| h == t) {
                Some(j) if target_of[j].is_none() => target_of[j] = Some(k),
                Some(_) => return Err(format_err(path, format!("target `{t}` is named twice"))),
                None => {
                    return Err(format_err(
                        path,
                        format!(
                            "no column named `{t}` (the columns are {})",
                            names.join(",")
                        ),
                    ))
                }
            }
        }
        Ok(ParquetRows {
            path: path.to_path_buf(),
            file,
            metadata,
            names,
            target_of,
            n_targets: targets.len(),
            next_group: 0,
            next_start: 0,
            columns: Vec::new(),
            row: 0,
            rows: 0,
            failed: false,
        })
    }

    /// Decodes the next row group with rows; `Ok(false)` after the last.
    fn load(&mut self) -> Result<bool> {
        while self.next_group < self.metadata.row_groups.len() {
            let group = self.next_group;
            let start = self.next_start;
            let n = self.metadata.row_groups[group].num_rows();
            self.next_group += 1;
            self.next_start += n;
            if n == 0 {
                continue;
            }
            let path = &self.path;
            let at = |message: String| {
                format_err(
                    path,
                    format!(
                        "row group {group} (rows {start}..{} of the file, 0-based): {message}",
                        start + n
                    ),
                )
            };
            let file = self.file.try_clone().map_err(|source| DatasetsError::Io {
                path: path.clone(),
                source,
            })?;
            let metadata = self.metadata.clone();
            let df: DataFrame = guarded(move || {
                let mut reader = ParquetReader::new(file)
                    .read_parallel(ParallelStrategy::RowGroups)
                    .with_slice(Some((start, n)));
                reader.set_metadata(metadata);
                reader.finish()
            })
            .map_err(|e| at(format!("cannot read: {e}")))?;
            if df.height() != n || df.width() != self.names.len() {
                return Err(at(format!(
                    "read {} rows of {} columns, the footer says {n} of {}",
                    df.height(),
                    df.width(),
                    self.names.len()
                )));
            }
            self.columns.clear();
            for column in df.columns() {
                let values = column_values(column, start).map_err(&at)?;
                self.columns.push(values);
            }
            self.row = 0;
            self.rows = n;
            return Ok(true);
        }
        Ok(false)
    }

    fn read(&mut self) -> Result<Option<Batch>> {
        if self.row >= self.rows && !self.load()? {
            return Ok(None);
        }
        let i = self.row;
        self.row += 1;
        let mut features = Vec::with_capacity(self.names.len() - self.n_targets);
        let mut targets = vec![0.0; self.n_targets];
        for (j, column) in self.columns.iter().enumerate() {
            match self.target_of[j] {
                Some(k) => targets[k] = column[i],
                None => features.push(column[i]),
            }
        }
        let row = |v: Vec<f64>| {
            let n = v.len();
            Array2::from_shape_vec((1, n), v).map_err(|e| invalid("row", e.to_string()))
        };
        Ok(Some(Batch {
            features: row(features)?,
            targets: row(targets)?,
        }))
    }
}

/// A row group's column as `f64` (integers and floats cast, as polars casts them), refusing a
/// null or a NaN, as the CSV source refuses a missing value or a NaN; `start` is the group's
/// first row in the file, for the message.
fn column_values(column: &Column, start: usize) -> std::result::Result<Vec<f64>, String> {
    let name = column.name();
    let cast = column
        .cast(&DataType::Float64)
        .map_err(|e| format!("column `{name}` cannot be cast to f64: {e}"))?;
    let values = cast
        .f64()
        .map_err(|e| format!("column `{name}` cannot be cast to f64: {e}"))?;
    let mut out = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) if !v.is_nan() => out.push(v),
            Some(_) => {
                return Err(format!(
                    "NaN in column `{name}` at row {} where a number is required",
                    start + i
                ))
            }
            None => {
                return Err(format!(
                    "null in column `{name}` at row {} where a number is required",
                    start + i
                ))
            }
        }
    }
    Ok(out)
}

impl Iterator for ParquetRows {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Result<Batch>> {
        if self.failed {
            return None;
        }
        let r = self.read().transpose();
        if matches!(r, Some(Err(_))) {
            self.failed = true;
        }
        r
    }
}
