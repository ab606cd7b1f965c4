//! A small table of named `f64` columns: pandas' `DataFrame` as the
//! documents use it (build from columns, add a computed column, `head()`,
//! `sample(n).values`), plus feature/target batches for training loops.

use std::collections::HashMap;
use std::fmt;

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

use crate::error::{invalid, DatasetsError, Result};
use crate::pandas;
use crate::random_state::RandomState;

/// Named columns of equal length; some of them may be marked as targets.
///
/// ```
/// use ndarray::array;
/// use tapegrad_datasets::Dataset;
/// let mut df = Dataset::from_columns(vec![("x1", array![1.0, 2.0]), ("x2", array![3.0, 4.0])]).unwrap();
/// let y = &df.column("x1").unwrap() * 3.0 + &df.column("x2").unwrap();
/// df.insert("y", y).unwrap();
/// df.set_targets(&["y"]).unwrap();
/// assert_eq!(df.targets()[[1, 0]], 10.0);
/// assert_eq!(df.features().dim(), (2, 2));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dataset {
    names: Vec<String>,
    columns: Vec<Array1<f64>>,
    targets: Vec<usize>,
}

impl Dataset {
    /// An empty table.
    ///
    /// ```
    /// use tapegrad_datasets::Dataset;
    /// assert_eq!(Dataset::new().ncols(), 0);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// `pd.DataFrame({"x1": x1, ...})`. Errors on unequal lengths (naming the
    /// column and both lengths) or a repeated name (naming the column and
    /// every 0-based index where it appears in `columns`).
    ///
    /// ```
    /// use ndarray::array;
    /// use tapegrad_datasets::Dataset;
    /// assert!(Dataset::from_columns(vec![("a", array![1.0]), ("b", array![1.0, 2.0])]).is_err());
    /// let err = Dataset::from_columns(vec![("x", array![1.0]), ("y", array![2.0]), ("x", array![3.0])])
    ///     .unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "invalid parameter `columns`: column name `x` is repeated, at indices 0 and 2 of 3 columns"
    /// );
    /// ```
    pub fn from_columns<S: Into<String>>(columns: Vec<(S, Array1<f64>)>) -> Result<Self> {
        let (names, columns): (Vec<String>, Vec<Array1<f64>>) =
            columns.into_iter().map(|(n, c)| (n.into(), c)).unzip();
        if let Some((name, positions)) = repeated_name(&names) {
            return Err(invalid(
                "columns",
                format!(
                    "column name `{name}` is repeated, at indices {} of {} columns",
                    list_positions(&positions),
                    names.len()
                ),
            ));
        }
        if let Some(first) = columns.first() {
            if let Some((name, column)) = names
                .iter()
                .zip(&columns)
                .find(|(_, c)| c.len() != first.len())
            {
                return Err(DatasetsError::Shape {
                    context: "Dataset::from_columns",
                    message: format!(
                        "column `{name}` has {} rows, column `{}` has {}",
                        column.len(),
                        names[0],
                        first.len()
                    ),
                });
            }
        }
        Ok(Dataset {
            names,
            columns,
            targets: Vec::new(),
        })
    }

    /// A table from the columns of a matrix, with the given names. Errors if
    /// the number of names is not the number of columns, or a name is
    /// repeated (see [`Dataset::from_columns`]).
    ///
    /// ```
    /// use ndarray::array;
    /// use tapegrad_datasets::Dataset;
    /// let df = Dataset::from_array(array![[1.0, 2.0], [3.0, 4.0]].view(), &["a", "b"]).unwrap();
    /// assert_eq!(df.column("b").unwrap()[1], 4.0);
    /// ```
    pub fn from_array(x: ArrayView2<'_, f64>, names: &[&str]) -> Result<Self> {
        if names.len() != x.ncols() {
            return Err(DatasetsError::Shape {
                context: "Dataset::from_array",
                message: format!("{} names for {} columns", names.len(), x.ncols()),
            });
        }
        Self::from_columns(
            names
                .iter()
                .zip(x.columns())
                .map(|(n, c)| (*n, c.to_owned()))
                .collect(),
        )
    }

    /// `df[name] = column`: appends a column, or replaces one of the same name.
    ///
    /// ```
    /// use ndarray::array;
    /// use tapegrad_datasets::Dataset;
    /// let mut df = Dataset::new();
    /// df.insert("a", array![1.0, 2.0]).unwrap();
    /// df.insert("a", array![5.0, 6.0]).unwrap();
    /// assert_eq!(df.ncols(), 1);
    /// assert!(df.insert("b", array![1.0]).is_err());
    /// ```
    pub fn insert(&mut self, name: impl Into<String>, column: Array1<f64>) -> Result<()> {
        let name = name.into();
        if let Some(first) = self.columns.first() {
            if first.len() != column.len() {
                return Err(DatasetsError::Shape {
                    context: "Dataset::insert",
                    message: format!(
                        "column `{name}` has {} rows, the table has {}",
                        column.len(),
                        first.len()
                    ),
                });
            }
        }
        match self.names.iter().position(|n| *n == name) {
            Some(i) => self.columns[i] = column,
            None => {
                self.names.push(name);
                self.columns.push(column);
            }
        }
        Ok(())
    }

    /// Number of rows.
    ///
    /// ```
    /// use ndarray::array;
    /// use tapegrad_datasets::Dataset;
    /// assert_eq!(Dataset::from_columns(vec![("a", array![1.0, 2.0])]).unwrap().nrows(), 2);
    /// ```
    pub fn nrows(&self) -> usize {
        self.columns.first().map_or(0, |c| c.len())
    }

    /// Number of columns.
    ///
    /// ```
    /// use tapegrad_datasets::Dataset;
    /// assert_eq!(Dataset::new().ncols(), 0);
    /// ```
    pub fn ncols(&self) -> usize {
        self.columns.len()
    }

    /// Column names in order.
    ///
    /// ```
    /// use ndarray::array;
    /// use tapegrad_datasets::Dataset;
    /// let df = Dataset::from_columns(vec![("a", array![1.0]), ("b", array![2.0])]).unwrap();
    /// assert_eq!(df.names(), &["a".to_string(), "b".to_string()]);
    /// ```
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The columns with their names, in order.
    #[cfg_attr(not(feature = "polars"), allow(dead_code))]
    pub(crate) fn named_columns(&self) -> impl Iterator<Item = (&str, &Array1<f64>)> {
        self.names.iter().map(String::as_str).zip(&self.columns)
    }

    fn index_of(&self, name: &str) -> Result<usize> {
        self.names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| DatasetsError::MissingColumn {
                name: name.to_string(),
                available: self.names.join(", "),
            })
    }

    /// `df[name]`. Errors naming the missing column and the ones present.
    ///
    /// ```
    /// use ndarray::array;
    /// use tapegrad_datasets::Dataset;
    /// let df = Dataset::from_columns(vec![("a", array![1.0])]).unwrap();
    /// assert_eq!(df.column("z").unwrap_err().to_string(), "no column named `z` (columns: a)");
    /// ```
    pub fn column(&self, name: &str) -> Result<ArrayView1<'_, f64>> {
        Ok(self.columns[self.index_of(name)?].view())
    }

    /// Marks the named columns as targets (the others are features).
    ///
    /// ```
    /// use ndarray::array;
    /// use tapegrad_datasets::Dataset;
    /// let mut df = Dataset::from_columns(vec![("x", array![1.0]), ("y", array![2.0])]).unwrap();
    /// assert!(df.set_targets(&["w"]).is_err());
    /// df.set_targets(&["y"]).unwrap();
    /// assert_eq!(df.target_names(), vec!["y"]);
    /// ```
    pub fn set_targets(&mut self, names: &[&str]) -> Result<()> {
        let idx = names
            .iter()
            .map(|n| self.index_of(n))
            .collect::<Result<Vec<_>>>()?;
        self.targets = idx;
        Ok(())
    }

    /// Names of the target columns.
    ///
    /// ```
    /// use tapegrad_datasets::Dataset;
    /// assert!(Dataset::new().target_names().is_empty());
    /// ```
    pub fn target_names(&self) -> Vec<&str> {
        self.targets
            .iter()
            .map(|&i| self.names[i].as_str())
            .collect()
    }

    fn gather(&self, cols: &[usize], rows: Option<&[usize]>) -> Array2<f64> {
        let n = rows.map_or(self.nrows(), |r| r.len());
        let mut out = Array2::zeros((n, cols.len()));
        for (j, &c) in cols.iter().enumerate() {
            let col = &self.columns[c];
            match rows {
                Some(r) => {
                    for (i, &ri) in r.iter().enumerate() {
                        out[[i, j]] = col[ri];
                    }
                }
                None => out.column_mut(j).assign(col),
            }
        }
        out
    }

    fn feature_indices(&self) -> Vec<usize> {
        (0..self.ncols())
            .filter(|i| !self.targets.contains(i))
            .collect()
    }

    /// `df.values`: all columns as a `(rows, columns)` matrix.
    ///
    /// ```
    /// use ndarray::array;
    /// use tapegrad_datasets::Dataset;
    /// let df = Dataset::from_columns(vec![("a", array![1.0, 2.0]), ("b", array![3.0, 4.0])]).unwrap();
    /// assert_eq!(df.values(), array![[1.0, 3.0], [2.0, 4.0]]);
    /// ```
    pub fn values(&self) -> Array2<f64> {
        self.gather(&(0..self.ncols()).collect::<Vec<_>>(), None)
    }

    /// The non-target columns as a matrix.
    ///
    /// ```
    /// use ndarray::array;
    /// use tapegrad_datasets::Dataset;
    /// let df = Dataset::from_columns(vec![("a", array![1.0])]).unwrap();
    /// assert_eq!(df.features(), array![[1.0]]);
    /// ```
    pub fn features(&self) -> Array2<f64> {
        self.gather(&self.feature_indices(), None)
    }

    /// The target columns as a matrix (no columns if none are marked).
    ///
    /// ```
    /// use ndarray::array;
    /// use tapegrad_datasets::Dataset;
    /// let df = Dataset::from_columns(vec![("a", array![1.0])]).unwrap();
    /// assert_eq!(df.targets().dim(), (1, 0));
    /// ```
    pub fn targets(&self) -> Array2<f64> {
        self.gather(&self.targets, None)
    }

    /// The given rows of all columns, in the given order (`df.iloc[rows].values`).
    /// Errors on an out-of-range row.
    ///
    /// ```
    /// use ndarray::array;
    /// use tapegrad_datasets::Dataset;
    /// let df = Dataset::from_columns(vec![("a", array![1.0, 2.0, 3.0])]).unwrap();
    /// assert_eq!(df.rows(&[2, 0]).unwrap(), array![[3.0], [1.0]]);
    /// assert!(df.rows(&[3]).is_err());
    /// ```
    pub fn rows(&self, rows: &[usize]) -> Result<Array2<f64>> {
        if let Some(&bad) = rows.iter().find(|&&r| r >= self.nrows()) {
            return Err(invalid(
                "rows",
                format!("row {bad} out of range for {} rows", self.nrows()),
            ));
        }
        Ok(self.gather(&(0..self.ncols()).collect::<Vec<_>>(), Some(rows)))
    }

    /// `df.sample(n).values` drawing from numpy's global RandomState, exactly
    /// as pandas does (see [`pandas`]).
    ///
    /// ```
    /// use ndarray::array;
    /// use tapegrad_datasets::{np_random, Dataset};
    /// let df = Dataset::from_columns(vec![("a", array![0.0, 1.0, 2.0, 3.0])]).unwrap();
    /// np_random::seed(42);
    /// let row = df.sample(1).unwrap();
    /// np_random::seed(42);
    /// assert_eq!(row[[0, 0]], np_random::permutation(4).unwrap()[0] as f64);
    /// ```
    pub fn sample(&self, n: usize) -> Result<Array2<f64>> {
        let idx = pandas::sample_indices(self.nrows(), n)?;
        self.rows(&idx.to_vec())
    }

    /// `df.sample(n, random_state=rs).values`.
    ///
    /// ```
    /// use ndarray::array;
    /// use tapegrad_datasets::{Dataset, RandomState};
    /// let df = Dataset::from_columns(vec![("a", array![0.0, 1.0])]).unwrap();
    /// assert!(df.sample_with(&mut RandomState::new(0), 3).is_err());
    /// ```
    pub fn sample_with(&self, rs: &mut RandomState, n: usize) -> Result<Array2<f64>> {
        let idx = pandas::sample_indices_with(rs, self.nrows(), n)?;
        self.rows(&idx.to_vec())
    }

    /// `df.head(n)`: the first `n` rows, printed like pandas prints them.
    ///
    /// ```
    /// use ndarray::array;
    /// use tapegrad_datasets::Dataset;
    /// let df = Dataset::from_columns(vec![("a", array![1.0, 2.5, 3.0]), ("long_name", array![100.0, 2.0, 0.5])]).unwrap();
    /// assert_eq!(
    ///     df.head(5).to_string(),
    ///     "     a  long_name\n0  1.0      100.0\n1  2.5        2.0\n2  3.0        0.5"
    /// );
    /// ```
    pub fn head(&self, n: usize) -> Head<'_> {
        Head {
            data: self,
            n: n.min(self.nrows()),
        }
    }

    /// Consecutive batches of `batch_size` rows as `(features, targets)`
    /// matrices; the last batch may be shorter. Errors if `batch_size` is 0.
    ///
    /// ```
    /// use ndarray::array;
    /// use tapegrad_datasets::Dataset;
    /// let mut df = Dataset::from_columns(vec![("x", array![1.0, 2.0, 3.0]), ("y", array![2.0, 4.0, 6.0])]).unwrap();
    /// df.set_targets(&["y"]).unwrap();
    /// let batches: Vec<_> = df.batches(2).unwrap().collect();
    /// assert_eq!(batches.len(), 2);
    /// assert_eq!(batches[1].0, array![[3.0]]);
    /// assert_eq!(batches[1].1, array![[6.0]]);
    /// ```
    pub fn batches(&self, batch_size: usize) -> Result<Batches> {
        if batch_size == 0 {
            return Err(invalid(
                "batch_size",
                "batch_size must be at least 1, got 0",
            ));
        }
        Ok(Batches {
            features: self.features(),
            targets: self.targets(),
            batch_size,
            start: 0,
        })
    }
}

/// The first name that occurs more than once, with every 0-based index where
/// it occurs; `None` if the names are distinct. Linear in the number of names.
pub(crate) fn repeated_name(names: &[String]) -> Option<(&str, Vec<usize>)> {
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(names.len());
    let (_, name) = names
        .iter()
        .enumerate()
        .find(|&(i, n)| *seen.entry(n.as_str()).or_insert(i) != i)?;
    let positions = names
        .iter()
        .enumerate()
        .filter(|&(_, n)| n == name)
        .map(|(i, _)| i)
        .collect();
    Some((name.as_str(), positions))
}

/// `0`, `0 and 2`, `0, 2 and 5`.
pub(crate) fn list_positions(positions: &[usize]) -> String {
    match positions {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(usize::to_string).collect();
            format!("{} and {last}", init.join(", "))
        }
    }
}

/// Iterator of `(features, targets)` batches from [`Dataset::batches`].
#[derive(Debug, Clone)]
pub struct Batches {
    features: Array2<f64>,
    targets: Array2<f64>,
    batch_size: usize,
    start: usize,
}

impl Iterator for Batches {
    type Item = (Array2<f64>, Array2<f64>);

    fn next(&mut self) -> Option<Self::Item> {
        let n = self.features.nrows();
        if self.start >= n {
            return None;
        }
        let end = (self.start + self.batch_size).min(n);
        let r = self.start..end;
        self.start = end;
        Some((
            self.features
                .slice_axis(Axis(0), r.clone().into())
                .to_owned(),
            self.targets.slice_axis(Axis(0), r.into()).to_owned(),
        ))
    }
}

/// The first rows of a [`Dataset`]; `Display` prints them like pandas.
#[derive(Debug, Clone, Copy)]
pub struct Head<'a> {
    data: &'a Dataset,
    n: usize,
}

/// pandas' float column format: 6 decimals, trailing zeros trimmed while
/// every value of the column ends in one, a sign slot before each value.
fn format_float_column(values: &[f64]) -> Vec<String> {
    let mut s: Vec<String> = values
        .iter()
        .map(|v| {
            if v.is_nan() {
                "NaN".to_string()
            } else {
                format!("{v:.6}")
            }
        })
        .collect();
    let finite = |x: &String| x.contains('.');
    while !s.is_empty()
        && s.iter()
            .filter(|x| finite(x))
            .all(|x| x.ends_with('0') && !x.ends_with(".0"))
        && s.iter().any(finite)
    {
        for x in s.iter_mut().filter(|x| x.contains('.')) {
            x.pop();
        }
    }
    s.into_iter()
        .map(|x| {
            if x.starts_with('-') {
                x
            } else {
                format!(" {x}")
            }
        })
        .collect()
}

impl fmt::Display for Head<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.data;
        let index: Vec<String> = (0..self.n).map(|i| i.to_string()).collect();
        let iw = index.iter().map(String::len).max().unwrap_or(0);
        let cols: Vec<Vec<String>> = d
            .columns
            .iter()
            .map(|c| {
                format_float_column(
                    &c.as_slice().map_or_else(|| c.to_vec(), <[f64]>::to_vec)[..self.n],
                )
            })
            .collect();
        let widths: Vec<usize> = cols
            .iter()
            .zip(&d.names)
            .map(|(c, name)| {
                c.iter()
                    .map(String::len)
                    .max()
                    .unwrap_or(0)
                    .max(name.chars().count() + 1)
            })
            .collect();
        write!(f, "{:iw$}", "")?;
        for (name, w) in d.names.iter().zip(&widths) {
            write!(f, " {name:>w$}")?;
        }
        for (r, idx) in index.iter().enumerate() {
            write!(f, "\n{idx:<iw$}")?;
            for (c, w) in cols.iter().zip(&widths) {
                write!(f, " {:>w$}", c[r])?;
            }
        }
        Ok(())
    }
}
