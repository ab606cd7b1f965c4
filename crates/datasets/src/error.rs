//! The crate's single error type.

use std::path::PathBuf;

/// Everything that can go wrong in `tapegrad-datasets`.
///
/// Parameter errors name the parameter and, where numpy or scikit-learn
/// raise the same error, read like their messages. File errors name the
/// file and, where it makes sense, the line and column.
///
/// ```
/// use tapegrad_datasets::{DatasetsError, RandomState};
/// let mut rs = RandomState::new(0);
/// let err = rs.normal(0.0, -1.0, 3).unwrap_err();
/// assert!(matches!(err, DatasetsError::InvalidParameter { name: "scale", .. }));
/// assert_eq!(err.to_string(), "invalid parameter `scale`: scale < 0 (got -1)");
/// ```
#[derive(Debug, thiserror::Error)]
pub enum DatasetsError {
    /// A parameter is outside its allowed range.
    #[error("invalid parameter `{name}`: {message}")]
    InvalidParameter {
        /// The parameter's name as numpy/scikit-learn spell it.
        name: &'static str,
        /// What is allowed and what was given.
        message: String,
    },
    /// Two inputs disagree in length or shape.
    #[error("shape mismatch in {context}: {message}")]
    Shape {
        /// The operation that found the mismatch.
        context: &'static str,
        /// Both shapes or lengths.
        message: String,
    },
    /// A column name that the table does not have.
    #[error("no column named `{name}` (columns: {available})")]
    MissingColumn {
        /// The requested name.
        name: String,
        /// The names the table has, comma separated.
        available: String,
    },
    /// A table column that cannot become an `f64` column (from a polars
    /// `DataFrame`): a non-numeric dtype, or a null where a number is
    /// required. `row` is 0-based, as polars and pandas index rows; `None`
    /// when the column has no rows.
    #[error("column `{column}`{}: {message}", row.map_or_else(String::new, |r| format!(", row {r}")))]
    Column {
        /// The column's name.
        column: String,
        /// The first offending row (0-based), if any.
        row: Option<usize>,
        /// What was wrong.
        message: String,
    },
    /// A problem with a file's contents, located by line and column (1-based).
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse {
        /// The file being read.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// 1-based column (field) number; 0 when the whole line or file is meant.
        column: u64,
        /// What was wrong.
        message: String,
    },
    /// A malformed binary file (.npy/.npz) or an unsupported dtype.
    #[error("{}: {message}", path.display())]
    Format {
        /// The file being read.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// An operating-system I/O failure.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file being read or written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// `Result` with [`DatasetsError`].
pub type Result<T> = std::result::Result<T, DatasetsError>;

pub(crate) fn invalid(name: &'static str, message: impl Into<String>) -> DatasetsError {
    DatasetsError::InvalidParameter {
        name,
        message: message.into(),
    }
}
