//! `tf.data` in small: a [`Pipeline`] of rows — from a table in memory, or from a CSV file read
//! lazily, a row at a time, or a Parquet file (feature `parquet`), a row group at a time, so
//! that a file larger than memory streams through — shuffled through
//! a buffer, batched, mapped and repeated, in the order the stages are added, as
//! `tf.data.Dataset.shuffle(...).batch(...).map(...).repeat(...)` composes them.
//!
//! What it holds at any time is the shuffle buffer and the batch being built, never the file:
//! the resident set of a pass over a file is bounded by `buffer_size` rows (see the ignored test
//! `a_file_larger_than_the_buffers_streams_in_bounded_memory`).
//!
//! The shuffle is `tf.data`'s algorithm (a buffer of `buffer_size` rows; each row out is drawn
//! uniformly from the buffer and its place taken by the next row in), drawing from numpy's
//! `RandomState` seeded with the given seed: reproducible, and a fresh order on each repeat
//! (`reshuffle_each_iteration=True`, TensorFlow's default), but not TensorFlow's own draws.
//!
//! ```
//! use ndarray::array;
//! use tapegrad_datasets::{pipeline::Pipeline, Dataset};
//! let mut df = Dataset::from_columns(vec![
//!     ("x", array![1.0, 2.0, 3.0, 4.0, 5.0]),
//!     ("y", array![2.0, 4.0, 6.0, 8.0, 10.0]),
//! ])?;
//! df.set_targets(&["y"])?;
//! let batches: Vec<_> = Pipeline::from_dataset(&df)
//!     .batch(2)
//!     .repeat(2)
//!     .iter()?
//!     .collect::<Result<_, _>>()?;
//! // 5 rows in batches of 2, twice: 2, 2, 1, 2, 2, 1
//! let sizes: Vec<usize> = batches.iter().map(|b| b.len()).collect();
//! assert_eq!(sizes, [2, 2, 1, 2, 2, 1]);
//! assert_eq!(batches[2].features, array![[5.0]]);
//! assert_eq!(batches[2].targets, array![[10.0]]);
//! # Ok::<(), tapegrad_datasets::DatasetsError>(())
//! ```

use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use ndarray::{Array2, Axis};

use crate::error::invalid;
use crate::io::{check_header, parse_record};
#[cfg(feature = "parquet")]
use crate::parquet_rows::ParquetRows;
use crate::{Dataset, DatasetsError, RandomState, Result};

/// Rows of features and targets, as a pipeline yields them (one row before any
/// [`batch`](Pipeline::batch) stage).
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// One row per example.
    pub features: Array2<f64>,
    /// One row per example (no columns when the source has no targets).
    pub targets: Array2<f64>,
}

impl Batch {
    /// The number of rows.
    pub fn len(&self) -> usize {
        self.features.nrows()
    }

    /// True when the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A function of a batch, as [`Pipeline::map`] takes it.
type MapFn = Arc<dyn Fn(Batch) -> Result<Batch> + Send + Sync>;

/// Where the rows come from.
#[derive(Clone)]
enum Source {
    /// A table in memory.
    Table {
        features: Arc<Array2<f64>>,
        targets: Arc<Array2<f64>>,
    },
    /// A CSV file with a header, read a row at a time on each pass; `targets` name the target
    /// columns, the others are the features.
    Csv { path: PathBuf, targets: Vec<String> },
    /// A Parquet file, read a row group at a time on each pass; `targets` as for `Csv`.
    #[cfg(feature = "parquet")]
    Parquet { path: PathBuf, targets: Vec<String> },
}

/// One stage, applied in the order added.
#[derive(Clone)]
enum Stage {
    Shuffle { buffer: usize, seed: u32 },
    Batch { size: usize, drop_remainder: bool },
    Map(MapFn),
}

/// A pipeline of rows: a source and stages ([`shuffle`](Pipeline::shuffle),
/// [`batch`](Pipeline::batch), [`map`](Pipeline::map)), passed over once or
/// [`repeat`](Pipeline::repeat)ed; [`iter`](Pipeline::iter) runs it. It can be cloned and sent
/// to another thread; each `iter` is a fresh pass from the start.
#[derive(Clone)]
pub struct Pipeline {
    source: Source,
    stages: Vec<Stage>,
    /// Passes over the source: `None` for ever.
    passes: Option<usize>,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            Source::Table { features, .. } => format!("table of {} rows", features.nrows()),
            Source::Csv { path, .. } => format!("csv {}", path.display()),
            #[cfg(feature = "parquet")]
            Source::Parquet { path, .. } => format!("parquet {}", path.display()),
        };
        let stages: Vec<String> = (self.stages.iter())
            .map(|s| match s {
                Stage::Shuffle { buffer, seed } => format!("shuffle({buffer}, seed={seed})"),
                Stage::Batch {
                    size,
                    drop_remainder,
                } => format!("batch({size}, drop_remainder={drop_remainder})"),
                Stage::Map(_) => "map".to_string(),
            })
            .collect();
        f.debug_struct("Pipeline")
            .field("source", &source)
            .field("stages", &stages)
            .field("passes", &self.passes)
            .finish()
    }
}

impl Pipeline {
    /// The rows of a table's features and targets (`from_tensor_slices((x, y))`).
    pub fn from_dataset(dataset: &Dataset) -> Pipeline {
        Pipeline::from_source(Source::Table {
            features: Arc::new(dataset.features()),
            targets: Arc::new(dataset.targets()),
        })
    }

    /// The rows of `features` and `targets`, which must have as many rows.
    ///
    /// ```
    /// use ndarray::array;
    /// use tapegrad_datasets::pipeline::Pipeline;
    /// let err = Pipeline::from_arrays(array![[1.0], [2.0]], array![[1.0]]).unwrap_err();
    /// assert!(err.to_string().contains("2 rows of features and 1 of targets"));
    /// ```
    pub fn from_arrays(features: Array2<f64>, targets: Array2<f64>) -> Result<Pipeline> {
        if features.nrows() != targets.nrows() {
            return Err(invalid(
                "targets",
                format!(
                    "{} rows of features and {} of targets: each row needs its target",
                    features.nrows(),
                    targets.nrows()
                ),
            ));
        }
        Ok(Pipeline::from_source(Source::Table {
            features: Arc::new(features),
            targets: Arc::new(targets),
        }))
    }

    /// The rows of a CSV file with a header (numbers only, as [`crate::io::read_csv`] reads
    /// them), read lazily: a row at a time, on each pass. `targets` name the target columns;
    /// the others, in the file's order, are the features. The header is checked when a pass
    /// starts; a bad row is an error naming the file, its line and column when the pass
    /// reaches it.
    ///
    /// ```
    /// use tapegrad_datasets::pipeline::Pipeline;
    /// let path = std::env::temp_dir().join("tapegrad_pipeline_doc.csv");
    /// std::fs::write(&path, "a,y,b\n1,10,2\n3,30,4\n5,50,x\n").unwrap();
    /// let mut rows = Pipeline::from_csv(&path, &["y"]).iter()?;
    /// let first = rows.next().unwrap()?;
    /// assert_eq!(first.features.row(0).to_vec(), [1.0, 2.0]);
    /// assert_eq!(first.targets.row(0).to_vec(), [10.0]);
    /// rows.next().unwrap()?;
    /// let err = rows.next().unwrap().unwrap_err().to_string();
    /// assert!(err.contains(":4:3:") && err.contains("`x` is not a number"), "{err}");
    /// # Ok::<(), tapegrad_datasets::DatasetsError>(())
    /// ```
    pub fn from_csv(path: impl AsRef<Path>, targets: &[&str]) -> Pipeline {
        Pipeline::from_source(Source::Csv {
            path: path.as_ref().to_path_buf(),
            targets: targets.iter().map(|t| t.to_string()).collect(),
        })
    }

    /// The rows of a Parquet file (feature `parquet`), read lazily: a row group at a time, on
    /// each pass, so that what is held is one row group, never the file. `targets` name the
    /// target columns; the others, in the file's order, are the features: the split of
    /// [`from_csv`](Pipeline::from_csv), whatever targets the file's metadata records. Every
    /// column must be numeric: integers and floats (float32 too) are cast to `f64`, so a table
    /// written as CSV and as Parquet gives the same rows, bit for bit.
    ///
    /// When a pass starts, the footer is read and checked (a file that is not Parquet, a
    /// column that is not numeric, a missing target column); a null or a NaN is an error naming
    /// the file, the row group, the column and the row when the pass reaches it.
    ///
    /// ```
    /// use ndarray::array;
    /// use tapegrad_datasets::{io, pipeline::Pipeline, Dataset};
    /// let df = Dataset::from_columns(vec![
    ///     ("a", array![1.0, 3.0, 5.0]),
    ///     ("y", array![10.0, 30.0, 50.0]),
    ///     ("b", array![2.0, 4.0, 6.0]),
    /// ])?;
    /// let path = std::env::temp_dir().join("tapegrad_pipeline_doc.parquet");
    /// io::write_parquet(&path, &df)?;
    /// let batches: Vec<_> = Pipeline::from_parquet(&path, &["y"])
    ///     .batch(2)
    ///     .iter()?
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(batches[0].features, array![[1.0, 2.0], [3.0, 4.0]]);
    /// assert_eq!(batches[1].targets, array![[50.0]]);
    /// let err = Pipeline::from_parquet(&path, &["z"]).iter().unwrap_err().to_string();
    /// assert!(err.contains("no column named `z` (the columns are a,y,b)"), "{err}");
    /// # Ok::<(), tapegrad_datasets::DatasetsError>(())
    /// ```
    #[cfg(feature = "parquet")]
    pub fn from_parquet(path: impl AsRef<Path>, targets: &[&str]) -> Pipeline {
        Pipeline::from_source(Source::Parquet {
            path: path.as_ref().to_path_buf(),
            targets: targets.iter().map(|t| t.to_string()).collect(),
        })
    }

    fn from_source(source: Source) -> Pipeline {
        Pipeline {
            source,
            stages: Vec::new(),
            passes: Some(1),
        }
    }

    /// Shuffles through a buffer of `buffer_size` rows (or batches, after `batch`), drawing from
    /// numpy's `RandomState(seed)` (`shuffle(buffer_size, seed=seed)`; see the module's note on
    /// the draws). A buffer at least as long as the data shuffles it uniformly; a buffer of one
    /// keeps the order. A `buffer_size` of 0 is an error when the pipeline runs.
    pub fn shuffle(mut self, buffer_size: usize, seed: u32) -> Pipeline {
        self.stages.push(Stage::Shuffle {
            buffer: buffer_size,
            seed,
        });
        self
    }

    /// Groups consecutive rows into batches of `batch_size` (`batch(batch_size)`); the last
    /// batch holds what is left, unless [`drop_remainder`](Pipeline::drop_remainder) follows.
    /// One `batch` per pipeline; a `batch_size` of 0 is an error when the pipeline runs.
    pub fn batch(mut self, batch_size: usize) -> Pipeline {
        self.stages.push(Stage::Batch {
            size: batch_size,
            drop_remainder: false,
        });
        self
    }

    /// Drops the last batch when it is short (`batch(n, drop_remainder=True)`); applies to the
    /// `batch` stage before it.
    ///
    /// ```
    /// use ndarray::Array2;
    /// use tapegrad_datasets::pipeline::Pipeline;
    /// let x = Array2::from_shape_fn((5, 1), |(i, _)| i as f64);
    /// let p = Pipeline::from_arrays(x.clone(), x)?.batch(2).drop_remainder(true);
    /// assert_eq!(p.iter()?.count(), 2);
    /// # Ok::<(), tapegrad_datasets::DatasetsError>(())
    /// ```
    pub fn drop_remainder(mut self, drop: bool) -> Pipeline {
        if let Some(Stage::Batch { drop_remainder, .. }) = (self.stages.iter_mut())
            .rev()
            .find(|s| matches!(s, Stage::Batch { .. }))
        {
            *drop_remainder = drop;
        }
        self
    }

    /// Applies `f` to every element (a row, or a batch after `batch`), in order (`map(f)`); an
    /// error from `f` ends the pass with it.
    ///
    /// ```
    /// use ndarray::array;
    /// use tapegrad_datasets::pipeline::{Batch, Pipeline};
    /// let p = Pipeline::from_arrays(array![[1.0], [2.0]], array![[0.0], [1.0]])?
    ///     .map(|b: Batch| Ok(Batch { features: b.features * 10.0, ..b }))
    ///     .batch(2);
    /// let b = p.iter()?.next().unwrap()?;
    /// assert_eq!(b.features, array![[10.0], [20.0]]);
    /// # Ok::<(), tapegrad_datasets::DatasetsError>(())
    /// ```
    pub fn map(mut self, f: impl Fn(Batch) -> Result<Batch> + Send + Sync + 'static) -> Pipeline {
        self.stages.push(Stage::Map(Arc::new(f)));
        self
    }

    /// Passes over the source `count` times (`repeat(count)`), each pass shuffled afresh.
    pub fn repeat(mut self, count: usize) -> Pipeline {
        self.passes = Some(count);
        self
    }

    /// Passes over the source for ever (`repeat()`): take what you need from the iterator.
    pub fn repeat_forever(mut self) -> Pipeline {
        self.passes = None;
        self
    }

    /// Runs the pipeline: its elements in order, each a [`Batch`] (of one row before any
    /// `batch` stage). Its settings are checked here (a buffer or batch size of 0, two `batch`
    /// stages; a CSV or Parquet file that cannot be opened, a bad header or footer, a missing
    /// target column) and errors name them; a bad row is an error at the element it would have
    /// been.
    pub fn iter(&self) -> Result<Stream> {
        let mut batches = 0;
        for s in &self.stages {
            match s {
                Stage::Shuffle { buffer: 0, .. } => {
                    return Err(invalid(
                        "buffer_size",
                        "shuffle's buffer_size must be at least 1, got 0",
                    ));
                }
                Stage::Batch { size: 0, .. } => {
                    return Err(invalid(
                        "batch_size",
                        "batch_size must be at least 1, got 0",
                    ));
                }
                Stage::Batch { .. } => batches += 1,
                _ => {}
            }
        }
        if batches > 1 {
            return Err(invalid(
                "batch",
                format!("a pipeline batches once; this one has {batches} batch stages"),
            ));
        }
        // the first pass's source now, so a missing file or a bad header is said at once
        let first = self.rows()?;
        let shuffles = (self.stages.iter())
            .map(|s| match s {
                Stage::Shuffle { seed, .. } => Some(Arc::new(Mutex::new(RandomState::new(*seed)))),
                _ => None,
            })
            .collect();
        let mut stream = Stream {
            pipeline: self.clone(),
            pass: 1,
            yielded: 0,
            shuffles,
            current: None,
            done: false,
        };
        stream.current = Some(stream.pass_over(first));
        Ok(stream)
    }

    /// A fresh pass over the source's rows.
    fn rows(&self) -> Result<Rows> {
        match &self.source {
            Source::Table { features, targets } => Ok(Rows::Table {
                features: features.clone(),
                targets: targets.clone(),
                next: 0,
            }),
            Source::Csv { path, targets } => {
                CsvRows::open(path, targets).map(|r| Rows::Csv(Box::new(r)))
            }
            #[cfg(feature = "parquet")]
            Source::Parquet { path, targets } => {
                ParquetRows::open(path, targets).map(|r| Rows::Parquet(Box::new(r)))
            }
        }
    }
}

/// The rows of one pass.
enum Rows {
    Table {
        features: Arc<Array2<f64>>,
        targets: Arc<Array2<f64>>,
        next: usize,
    },
    Csv(Box<CsvRows>),
    #[cfg(feature = "parquet")]
    Parquet(Box<ParquetRows>),
}

impl Iterator for Rows {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Result<Batch>> {
        match self {
            Rows::Table {
                features,
                targets,
                next,
            } => {
                let i = *next;
                if i >= features.nrows() {
                    return None;
                }
                *next += 1;
                let row = |a: &Array2<f64>| a.slice_axis(Axis(0), (i..i + 1).into()).to_owned();
                Some(Ok(Batch {
                    features: row(features),
                    targets: row(targets),
                }))
            }
            Rows::Csv(rows) => rows.next(),
            #[cfg(feature = "parquet")]
            Rows::Parquet(rows) => rows.next(),
        }
    }
}

/// A CSV file read a record at a time.
struct CsvRows {
    path: PathBuf,
    header: Vec<String>,
    /// For each column: `Some(k)` the k-th target, `None` a feature.
    target_of: Vec<Option<usize>>,
    n_targets: usize,
    reader: csv::Reader<BufReader<File>>,
    record: csv::StringRecord,
    failed: bool,
}

impl CsvRows {
    fn open(path: &Path, targets: &[String]) -> Result<CsvRows> {
        let parse = |line: u64, message: String| DatasetsError::Parse {
            path: path.to_path_buf(),
            line,
            column: 0,
            message,
        };
        let file = File::open(path).map_err(|source| DatasetsError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .from_reader(BufReader::new(file));
        let header: Vec<String> = (reader.headers())
            .map_err(|e| parse(1, e.to_string()))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        if header.is_empty() {
            return Err(parse(1, "empty file: expected a header row".into()));
        }
        check_header(path, &header)?;
        let mut target_of = vec![None; header.len()];
        for (k, t) in targets.iter().enumerate() {
            match header.iter().position(|h| h == t) {
                Some(j) if target_of[j].is_none() => target_of[j] = Some(k),
                Some(_) => return Err(parse(1, format!("target `{t}` is named twice"))),
                None => {
                    return Err(parse(
                        1,
                        format!(
                            "no column named `{t}` (the header has {})",
                            header.join(",")
                        ),
                    ))
                }
            }
        }
        Ok(CsvRows {
            path: path.to_path_buf(),
            n_targets: targets.len(),
            header,
            target_of,
            reader,
            record: csv::StringRecord::new(),
            failed: false,
        })
    }

    fn read(&mut self) -> Result<Option<Batch>> {
        let more = self
            .reader
            .read_record(&mut self.record)
            .map_err(|e| DatasetsError::Parse {
                path: self.path.clone(),
                line: e.position().map_or(0, |p| p.line()),
                column: 0,
                message: e.to_string(),
            })?;
        if !more {
            return Ok(None);
        }
        let line = self.record.position().map_or(0, |p| p.line());
        let n_features = self.header.len() - self.n_targets;
        let mut features = Vec::with_capacity(n_features);
        let mut targets = vec![0.0; self.n_targets];
        for (j, v) in parse_record(&self.path, line, &self.header, &self.record)?.enumerate() {
            match self.target_of[j] {
                Some(k) => targets[k] = v?,
                None => features.push(v?),
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

impl Iterator for CsvRows {
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

/// The elements of a running [`Pipeline`] ([`Pipeline::iter`]); after an error it yields
/// nothing more. It can be sent to another thread.
pub struct Stream {
    pipeline: Pipeline,
    /// Passes begun.
    pass: usize,
    /// Elements the current pass has yielded.
    yielded: usize,
    /// Each stage's generator (a shuffle's), kept across passes (each pass a new order).
    shuffles: Vec<Option<Arc<Mutex<RandomState>>>>,
    current: Option<Box<dyn Iterator<Item = Result<Batch>> + Send>>,
    done: bool,
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stream")
            .field("pipeline", &self.pipeline)
            .field("pass", &self.pass)
            .finish()
    }
}

impl Stream {
    /// One pass: the rows through every stage, in the order they were added.
    fn pass_over(&self, rows: Rows) -> Box<dyn Iterator<Item = Result<Batch>> + Send> {
        let mut it: Box<dyn Iterator<Item = Result<Batch>> + Send> = Box::new(rows);
        for (stage, rs) in self.pipeline.stages.iter().zip(&self.shuffles) {
            it = match (stage, rs) {
                (Stage::Shuffle { buffer, .. }, Some(rs)) => Box::new(Shuffled {
                    input: Some(it),
                    buffer: Vec::with_capacity((*buffer).min(1 << 16)),
                    size: *buffer,
                    rs: rs.clone(),
                    failed: false,
                }),
                (Stage::Shuffle { .. }, None) => it,
                (
                    Stage::Batch {
                        size,
                        drop_remainder,
                    },
                    _,
                ) => Box::new(Batched {
                    input: it,
                    size: *size,
                    drop_remainder: *drop_remainder,
                    done: false,
                }),
                (Stage::Map(f), _) => {
                    let f = f.clone();
                    Box::new(it.map(move |b| b.and_then(|b| f(b))))
                }
            };
        }
        it
    }
}

impl Iterator for Stream {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Result<Batch>> {
        loop {
            if self.done {
                return None;
            }
            if let Some(it) = &mut self.current {
                match it.next() {
                    Some(Ok(b)) => {
                        self.yielded += 1;
                        return Some(Ok(b));
                    }
                    Some(Err(e)) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                    None => self.current = None,
                }
            }
            // a pass ended: another, unless that was the last (or it gave nothing, which every
            // pass would: `repeat` of nothing is nothing)
            let last = self.pipeline.passes.is_some_and(|n| self.pass >= n);
            if last || self.yielded == 0 {
                self.done = true;
                return None;
            }
            match self.pipeline.rows() {
                Ok(rows) => {
                    self.pass += 1;
                    self.yielded = 0;
                    self.current = Some(self.pass_over(rows));
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

/// `tf.data`'s shuffle buffer: full first, then each element out is drawn uniformly from it
/// and its place taken by the next element in.
struct Shuffled {
    input: Option<Box<dyn Iterator<Item = Result<Batch>> + Send>>,
    buffer: Vec<Batch>,
    size: usize,
    rs: Arc<Mutex<RandomState>>,
    failed: bool,
}

impl Shuffled {
    /// The input's next element; `Ok(None)` once it is exhausted.
    fn pull(&mut self) -> Result<Option<Batch>> {
        match self.input.as_mut().and_then(Iterator::next) {
            Some(r) => r.map(Some),
            None => {
                self.input = None;
                Ok(None)
            }
        }
    }
}

impl Iterator for Shuffled {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Result<Batch>> {
        if self.failed {
            return None;
        }
        while self.buffer.len() < self.size && self.input.is_some() {
            match self.pull() {
                Ok(Some(b)) => self.buffer.push(b),
                Ok(None) => break,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
        if self.buffer.is_empty() {
            return None;
        }
        let n = self.buffer.len();
        let draw = {
            let mut rs = self.rs.lock().unwrap_or_else(PoisonError::into_inner);
            rs.randint_one(0, n as i64)
        };
        let i = match draw {
            Ok(i) => i as usize,
            Err(e) => {
                self.failed = true;
                return Some(Err(e));
            }
        };
        let out = match self.pull() {
            Ok(Some(next)) => std::mem::replace(&mut self.buffer[i], next),
            Ok(None) => self.buffer.swap_remove(i),
            Err(e) => {
                self.failed = true;
                return Some(Err(e));
            }
        };
        Some(Ok(out))
    }
}

/// Consecutive elements' rows stacked into batches.
struct Batched {
    input: Box<dyn Iterator<Item = Result<Batch>> + Send>,
    size: usize,
    drop_remainder: bool,
    done: bool,
}

impl Iterator for Batched {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Result<Batch>> {
        if self.done {
            return None;
        }
        let mut parts = Vec::with_capacity(self.size.min(1 << 16));
        let mut rows = 0;
        while rows < self.size {
            match self.input.next() {
                Some(Ok(b)) => {
                    rows += b.len();
                    parts.push(b);
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                None => {
                    self.done = true;
                    break;
                }
            }
        }
        if parts.is_empty() || (self.drop_remainder && rows < self.size) {
            return None;
        }
        let stack = |pick: fn(&Batch) -> &Array2<f64>| {
            let views: Vec<_> = parts.iter().map(|b| pick(b).view()).collect();
            ndarray::concatenate(Axis(0), &views).map_err(|e| {
                invalid(
                    "batch",
                    format!("the elements do not stack into a batch: {e}"),
                )
            })
        };
        Some(
            stack(|b| &b.features)
                .and_then(|features| Ok((features, stack(|b| &b.targets)?)))
                .map(|(features, targets)| Batch { features, targets }),
        )
    }
}
