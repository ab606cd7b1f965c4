//! Files: CSV tables, numpy's `.npy`/`.npz` arrays and (feature `parquet`)
//! Parquet tables.
//!
//! Reading errors name the file and, for CSV, the line and column (1-based).
//! Writing is all-or-nothing: the bytes go to a temporary file beside the
//! target, which is then renamed over it, so concurrent writers of one path
//! leave one of their files whole. A writer refuses what its reader would
//! refuse ([`write_csv`] a NaN, [`NpzWriter::add`] an unsafe member name).
//!
//! Readers allocate no more than the file promises: a `.npy` file's data
//! must be there before it is copied, and a `.npz` member is decompressed
//! only up to what its header promises (which its zip entry must confirm,
//! and [`NpzReader::max_bytes`] may cap further).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use ndarray::{Array1, ArrayBase, ArrayD, Data, Dimension, IxDyn, ShapeBuilder};

use crate::dataset::{list_positions, repeated_name, Dataset};
use crate::error::{DatasetsError, Result};

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DatasetsError + '_ {
    move |source| DatasetsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn parse_err(path: &Path, line: u64, column: u64, message: impl Into<String>) -> DatasetsError {
    DatasetsError::Parse {
        path: path.to_path_buf(),
        line,
        column,
        message: message.into(),
    }
}

fn format_err(path: &Path, message: impl Into<String>) -> DatasetsError {
    DatasetsError::Format {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Writes `bytes` to `path` whole or not at all: a temp file of its own
/// beside `path`, sync, rename (every writer here, and `tapegrad-saving`'s).
///
/// ```
/// let path = std::env::temp_dir().join("tapegrad_datasets_doc_atomic.bin");
/// tapegrad_datasets::io::write_atomic(&path, b"whole")?;
/// assert_eq!(std::fs::read(&path).unwrap(), b"whole");
/// # Ok::<(), tapegrad_datasets::DatasetsError>(())
/// ```
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| format_err(path, "not a file path"))?
        .to_string_lossy();
    // Unique per write, not only per process: two threads writing the same
    // path must not share (and interleave in) one temporary file.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let tmp: PathBuf = dir.join(format!(".{name}.tmp-{}-{n}", std::process::id()));
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(io_err(path)(e));
    }
    Ok(())
}

/// The header's names comma separated, the first 10 only for a wide table
/// (an error message must stay readable for a file of 200k columns).
fn header_preview(header: &[String]) -> String {
    const SHOWN: usize = 10;
    if header.len() <= SHOWN {
        header.join(",")
    } else {
        format!(
            "{},... ({} more)",
            header[..SHOWN].join(","),
            header.len() - SHOWN
        )
    }
}

/// Where a quoted field left open at the end of `bytes` starts, as
/// `(line, field)` (1-based; `field` counts within its record). `bytes`
/// start a record on line `line`; they are scanned as the csv crate parses:
/// a `"` opens a quoted field only as the field's first byte, `""` inside it
/// is a quote, and after the closing quote the field goes on unquoted.
fn unterminated_quote(bytes: &[u8], mut line: u64) -> Option<(u64, u64)> {
    let mut field = 1u64;
    let mut at_field_start = true;
    let mut open: Option<(u64, u64)> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if open.is_some() {
            match b {
                b'"' if bytes.get(i + 1) == Some(&b'"') => i += 1,
                b'"' => open = None,
                b'\n' => line += 1,
                _ => {}
            }
        } else {
            match b {
                b'"' if at_field_start => {
                    open = Some((line, field));
                    at_field_start = false;
                }
                b',' => {
                    field += 1;
                    at_field_start = true;
                }
                b'\n' | b'\r' => {
                    line += u64::from(b == b'\n');
                    field = 1;
                    at_field_start = true;
                }
                _ => at_field_start = false,
            }
        }
        i += 1;
    }
    open
}

/// The error for a quoted field of `bytes` (a record starting on `line`)
/// that no quote closes.
fn unterminated_quote_err(path: &Path, bytes: &[u8], line: u64) -> Result<()> {
    match unterminated_quote(bytes, line) {
        Some((l, c)) => Err(parse_err(
            path,
            l,
            c,
            format!("unterminated quoted field starting at line {l}: no closing `\"` before the end of the file"),
        )),
        None => Ok(()),
    }
}

/// A CSV header's names must be there and distinct (1-based columns in the error).
pub(crate) fn check_header(path: &Path, header: &[String]) -> Result<()> {
    if let Some(j) = header.iter().position(String::is_empty) {
        return Err(parse_err(
            path,
            1,
            j as u64 + 1,
            "empty column name in header",
        ));
    }
    if let Some((name, positions)) = repeated_name(header) {
        let columns: Vec<usize> = positions.iter().map(|p| p + 1).collect();
        return Err(parse_err(
            path,
            1,
            columns[1] as u64,
            format!(
                "column name `{name}` is repeated in the header, at columns {}",
                list_positions(&columns)
            ),
        ));
    }
    Ok(())
}

/// A record's numbers, each checked (present, a number, not NaN) and located by line and
/// column; a record with another number of fields than the header is an error.
pub(crate) fn parse_record<'a>(
    path: &'a Path,
    line: u64,
    header: &'a [String],
    record: &'a csv::StringRecord,
) -> Result<impl Iterator<Item = Result<f64>> + 'a> {
    if record.len() != header.len() {
        return Err(parse_err(
            path,
            line,
            0,
            format!(
                "row has {} fields, the header has {} ({})",
                record.len(),
                header.len(),
                header_preview(header)
            ),
        ));
    }
    Ok(record.iter().enumerate().map(move |(j, field)| {
        let column = j as u64 + 1;
        let name = &header[j];
        let text = field.trim();
        if text.is_empty() {
            return Err(parse_err(
                path,
                line,
                column,
                format!("missing value in column `{name}`"),
            ));
        }
        let v: f64 = text.parse().map_err(|_| {
            parse_err(
                path,
                line,
                column,
                format!("`{text}` is not a number (column `{name}`)"),
            )
        })?;
        if v.is_nan() {
            return Err(parse_err(
                path,
                line,
                column,
                format!("NaN in column `{name}` where a number is required"),
            ));
        }
        Ok(v)
    }))
}

/// Reads a CSV file with a header row into a [`Dataset`]; every field must
/// be a number.
///
/// Column names and fields are trimmed of surrounding whitespace. A field
/// is what Rust's `f64` parser takes, so `inf`, `-inf` and `infinity` are
/// infinities (as pandas reads `inf` and `-inf`); NaN is refused, as a
/// missing value is, since every field must be a number.
///
/// Errors name the file, line and column: an empty file, an empty or
/// repeated column name (with every column where it appears), a quoted
/// field left open at the end of the file (with the line where it starts),
/// a row with more or fewer fields than the header, an empty field, a field
/// that is not a number, a NaN.
///
/// ```
/// use tapegrad_datasets::io::{read_csv, write_csv};
/// use tapegrad_datasets::DatasetsError;
/// let dir = std::env::temp_dir().join("tapegrad_datasets_doc_read_csv");
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("bad.csv");
/// std::fs::write(&path, "x,y\n1,2\n3,abc\n").unwrap();
/// let err = read_csv(&path).unwrap_err();
/// assert!(matches!(err, DatasetsError::Parse { line: 3, column: 2, .. }));
/// std::fs::write(&path, "x,y\n1,2\n3,4\n").unwrap();
/// assert_eq!(read_csv(&path).unwrap().column("y").unwrap()[1], 4.0);
/// std::fs::write(&path, "x,y\n1,2\n\"3,4\n").unwrap();
/// let err = read_csv(&path).unwrap_err().to_string();
/// assert!(err.ends_with("bad.csv:3:1: unterminated quoted field starting at line 3: \
///                        no closing `\"` before the end of the file"), "{err}");
/// ```
pub fn read_csv(path: impl AsRef<Path>) -> Result<Dataset> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(io_err(path))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(parse_err(path, 1, 0, "empty file: expected a header row"));
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes.as_slice());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| parse_err(path, 1, 0, e.to_string()))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    // An unterminated quote swallows the rest of the file into one field of
    // the record it opens in: that record is the last one and ends at EOF.
    if reader.position().byte() as usize >= bytes.len() {
        let bom = if bytes.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        unterminated_quote_err(path, &bytes[bom..], 1)?;
    }
    check_header(path, &header)?;
    let mut columns: Vec<Vec<f64>> = vec![Vec::new(); header.len()];
    let mut record = csv::StringRecord::new();
    while reader.read_record(&mut record).map_err(|e| {
        let line = e.position().map_or(0, |p| p.line());
        parse_err(path, line, 0, e.to_string())
    })? {
        let line = record.position().map_or(0, |p| p.line());
        if reader.position().byte() as usize >= bytes.len() {
            let start = record.position().map_or(0, |p| p.byte() as usize);
            unterminated_quote_err(path, &bytes[start.min(bytes.len())..], line)?;
        }
        for (j, v) in parse_record(path, line, &header, &record)?.enumerate() {
            columns[j].push(v?);
        }
    }
    Dataset::from_columns(
        header
            .into_iter()
            .zip(columns)
            .map(|(h, c)| (h, Array1::from(c)))
            .collect(),
    )
    .map_err(|e| parse_err(path, 1, 0, e.to_string()))
}

/// Reads a CSV file and marks `targets` as the target columns; errors (naming
/// the file) if a requested column is missing.
///
/// ```
/// use tapegrad_datasets::io::read_csv_with_targets;
/// let path = std::env::temp_dir().join("tapegrad_datasets_doc_targets.csv");
/// std::fs::write(&path, "x,y\n1,2\n").unwrap();
/// let df = read_csv_with_targets(&path, &["y"]).unwrap();
/// assert_eq!(df.targets()[[0, 0]], 2.0);
/// let err = read_csv_with_targets(&path, &["z"]).unwrap_err().to_string();
/// assert!(err.contains("no column named `z`"), "{err}");
/// ```
pub fn read_csv_with_targets(path: impl AsRef<Path>, targets: &[&str]) -> Result<Dataset> {
    let path = path.as_ref();
    let mut df = read_csv(path)?;
    df.set_targets(targets)
        .map_err(|e| parse_err(path, 1, 0, e.to_string()))?;
    Ok(df)
}

/// Writes a [`Dataset`] as CSV (header, then rows; shortest round-trip
/// float formatting), whole or not at all.
///
/// It writes only what [`read_csv`] reads back as the same table, so it
/// refuses (naming the file, and the column and 0-based row) a NaN, an empty
/// column name, a name with surrounding whitespace (read_csv trims names)
/// and a table without columns; nothing is written then. Infinities are
/// written as `inf`/`-inf`, which read_csv (and pandas) read back.
///
/// ```
/// use ndarray::array;
/// use tapegrad_datasets::{io, Dataset};
/// let df = Dataset::from_columns(vec![("a", array![0.1, 2.0])]).unwrap();
/// let path = std::env::temp_dir().join("tapegrad_datasets_doc_write.csv");
/// io::write_csv(&path, &df).unwrap();
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "a\n0.1\n2\n");
/// assert_eq!(io::read_csv(&path).unwrap(), df);
/// let nan = Dataset::from_columns(vec![("a", array![1.0, f64::NAN])]).unwrap();
/// let err = io::write_csv(&path, &nan).unwrap_err().to_string();
/// assert!(err.contains("NaN in column `a` at row 1"), "{err}");
/// assert_eq!(io::read_csv(&path).unwrap(), df); // the old file is untouched
/// ```
pub fn write_csv(path: impl AsRef<Path>, data: &Dataset) -> Result<()> {
    let path = path.as_ref();
    let names = data.names();
    if names.is_empty() {
        return Err(format_err(
            path,
            "a table without columns cannot be written as CSV (read_csv needs a header)",
        ));
    }
    if let Some((j, name)) = names
        .iter()
        .enumerate()
        .find(|(_, n)| n.is_empty() || n.trim() != n.as_str())
    {
        return Err(format_err(
            path,
            format!(
                "column {j} (0-based) is named `{name}`: read_csv refuses an empty name and \
                 trims surrounding whitespace, so it is not written"
            ),
        ));
    }
    let values = data.values();
    if let Some(((i, j), _)) = values.indexed_iter().find(|(_, v)| v.is_nan()) {
        return Err(format_err(
            path,
            format!(
                "NaN in column `{}` at row {i} (0-based; line {} of the file): read_csv \
                 refuses NaN, so it is not written",
                names[j],
                i + 2
            ),
        ));
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| format_err(path, e.to_string());
    w.write_record(names).map_err(csv_err)?;
    for row in values.rows() {
        w.write_record(row.iter().map(|v| v.to_string()))
            .map_err(csv_err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| format_err(path, e.to_string()))?;
    write_atomic(path, &bytes)
}

/// An element type that `.npy` files can hold: its numpy `descr` and its
/// little-endian byte form.
pub trait NpyElement: Copy + Default {
    /// numpy's dtype string, e.g. `"<f8"`.
    const DESCR: &'static str;
    /// Size in bytes.
    const SIZE: usize;
    /// Appends the little-endian bytes of `self`.
    fn write_le(self, out: &mut Vec<u8>);
    /// Reads one value from exactly `SIZE` little-endian bytes.
    fn read_le(bytes: &[u8]) -> Self;
}

macro_rules! npy_element {
    ($t:ty, $descr:expr) => {
        impl NpyElement for $t {
            const DESCR: &'static str = $descr;
            const SIZE: usize = std::mem::size_of::<$t>();
            fn write_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn read_le(bytes: &[u8]) -> Self {
                let mut b = [0u8; std::mem::size_of::<$t>()];
                b.copy_from_slice(bytes);
                <$t>::from_le_bytes(b)
            }
        }
    };
}
npy_element!(f64, "<f8");
npy_element!(f32, "<f4");
npy_element!(i64, "<i8");
npy_element!(i32, "<i4");
npy_element!(u8, "|u1");

const MAGIC: &[u8] = b"\x93NUMPY";

/// The bytes of a `.npy` file holding `array` (format 1.0, or 2.0 for a
/// header over 64 KiB; C order; header padded to 64 bytes as numpy does).
///
/// ```
/// use ndarray::array;
/// use tapegrad_datasets::io::{from_npy_bytes, to_npy_bytes};
/// let bytes = to_npy_bytes(&array![[1.0f64, 2.0], [3.0, 4.0]]);
/// assert_eq!(&bytes[..6], b"\x93NUMPY");
/// assert_eq!(bytes.len() % 64, 32);
/// let back = from_npy_bytes::<f64>(&bytes, "mem.npy".as_ref()).unwrap();
/// assert_eq!(back.shape(), &[2, 2]);
/// ```
pub fn to_npy_bytes<A: NpyElement, S: Data<Elem = A>, D: Dimension>(
    array: &ArrayBase<S, D>,
) -> Vec<u8> {
    let shape = match array.shape() {
        [n] => format!("({n},)"),
        dims => format!(
            "({})",
            dims.iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {shape}, }}",
        A::DESCR
    );
    let (version, len_bytes) = if dict.len() + 11 <= 65535 {
        (1u8, 2)
    } else {
        (2u8, 4)
    };
    let prefix = MAGIC.len() + 2 + len_bytes;
    let total = (prefix + dict.len() + 1).div_ceil(64) * 64;
    let mut header = dict.into_bytes();
    header.resize(total - prefix - 1, b' ');
    header.push(b'\n');
    let mut out = Vec::with_capacity(total + array.len() * A::SIZE);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(&header);
    for &v in array.iter() {
        v.write_le(&mut out);
    }
    out
}

/// Writes `array` as a `.npy` file, whole or not at all.
///
/// ```
/// use ndarray::array;
/// use tapegrad_datasets::io::{read_npy, write_npy};
/// let path = std::env::temp_dir().join("tapegrad_datasets_doc.npy");
/// write_npy(&path, &array![1.5f32, -2.0]).unwrap();
/// assert_eq!(read_npy::<f32>(&path).unwrap().into_raw_vec_and_offset().0, vec![1.5, -2.0]);
/// assert!(read_npy::<f64>(&path).is_err()); // the file holds <f4
/// ```
pub fn write_npy<A: NpyElement, S: Data<Elem = A>, D: Dimension>(
    path: impl AsRef<Path>,
    array: &ArrayBase<S, D>,
) -> Result<()> {
    write_atomic(path.as_ref(), &to_npy_bytes(array))
}

/// Reads a `.npy` file holding elements of type `A`.
///
/// ```
/// use tapegrad_datasets::io::read_npy;
/// let path = std::env::temp_dir().join("tapegrad_datasets_doc_bad.npy");
/// std::fs::write(&path, b"not numpy").unwrap();
/// assert!(read_npy::<f64>(&path).unwrap_err().to_string().contains("not a .npy file"));
/// ```
pub fn read_npy<A: NpyElement>(path: impl AsRef<Path>) -> Result<ArrayD<A>> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(io_err(path))?;
    from_npy_bytes(&bytes, path)
}

/// Finds `'key': value` in a numpy header dict and returns the value text.
fn header_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let start = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[start..].trim_start().strip_prefix(':')?.trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')')? + 1
    } else if let Some(r) = rest.strip_prefix('\'') {
        r.find('\'')? + 2
    } else {
        rest.find([',', '}']).unwrap_or(rest.len())
    };
    Some(rest[..end].trim())
}

/// What a `.npy` preamble and header say: where the data starts and what
/// it holds.
#[derive(Debug)]
struct NpyHeader {
    /// Bytes before the data: preamble and header.
    data_offset: usize,
    shape: Vec<usize>,
    /// The shape as the header spells it, for messages.
    shape_text: String,
    fortran: bool,
    /// Number of elements.
    len: usize,
    /// Bytes of data the shape and dtype need (`len * A::SIZE`).
    data_bytes: usize,
}

/// Length of the preamble (magic string, version, header length) of format
/// version `major`, or `None` for a version this reader does not know.
fn npy_preamble_len(major: u8) -> Option<usize> {
    match major {
        1 => Some(10),
        2 | 3 => Some(12),
        _ => None,
    }
}

/// Checks the preamble at the start of `bytes` (a whole file, or at least
/// its first [`npy_preamble_len`] bytes when it has them) and returns
/// `(preamble length, header length)`. A file cut inside the preamble is
/// called truncated, with what is missing; `what` names the source in
/// messages ("file", "member").
fn npy_preamble(bytes: &[u8], path: &Path, what: &str) -> Result<(usize, usize)> {
    let n = bytes.len();
    if n == 0 {
        return Err(format_err(
            path,
            format!("not a .npy {what}: it is empty (no magic string)"),
        ));
    }
    if n < MAGIC.len() {
        return Err(if MAGIC.starts_with(bytes) {
            format_err(
                path,
                format!(
                    "truncated .npy {what}: {n} bytes, cut inside the {}-byte magic string",
                    MAGIC.len()
                ),
            )
        } else {
            format_err(path, format!("not a .npy {what} (bad magic string)"))
        });
    }
    if !bytes.starts_with(MAGIC) {
        return Err(format_err(
            path,
            format!("not a .npy {what} (bad magic string)"),
        ));
    }
    if n < 8 {
        return Err(format_err(
            path,
            format!("truncated .npy {what}: {n} bytes, cut before the format version (bytes 7-8)"),
        ));
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let start = npy_preamble_len(major).ok_or_else(|| {
        format_err(
            path,
            format!("unsupported .npy format version {major}.{minor} (versions 1-3 are read)"),
        )
    })?;
    if n < start {
        return Err(format_err(
            path,
            format!(
                "truncated .npy {what}: {n} bytes, cut inside the {start}-byte preamble of \
                 format {major}.{minor} (it ends with the header length)"
            ),
        ));
    }
    let hlen = if major == 1 {
        u16::from_le_bytes([bytes[8], bytes[9]]) as u64
    } else {
        u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as u64
    };
    let hlen = usize::try_from(hlen)
        .map_err(|_| format_err(path, format!("header length {hlen} is too large")))?;
    Ok((start, hlen))
}

/// Parses the header dict (the `hlen` bytes after the preamble) for
/// element type `A`: dtype, order and shape, and the data size they promise
/// (checked arithmetic: a shape whose size overflows is an error).
fn npy_header<A: NpyElement>(header: &[u8], start: usize, path: &Path) -> Result<NpyHeader> {
    let header =
        std::str::from_utf8(header).map_err(|_| format_err(path, "the .npy header is not text"))?;
    let descr = header_value(header, "descr")
        .map(|d| d.trim_matches('\''))
        .ok_or_else(|| format_err(path, format!("header has no 'descr': {header}")))?;
    let descr_ok = descr == A::DESCR
        || (A::SIZE == 1 && descr.ends_with(&A::DESCR[1..]))
        || (descr.starts_with('=')
            && descr[1..] == A::DESCR[1..]
            && cfg!(target_endian = "little"));
    if !descr_ok {
        return Err(format_err(
            path,
            format!(
                "dtype '{descr}' does not match the requested '{}'",
                A::DESCR
            ),
        ));
    }
    let fortran = match header_value(header, "fortran_order") {
        Some("False") => false,
        Some("True") => true,
        other => return Err(format_err(path, format!("bad 'fortran_order': {other:?}"))),
    };
    let shape_text = header_value(header, "shape")
        .ok_or_else(|| format_err(path, format!("header has no 'shape': {header}")))?;
    let shape = shape_text
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| format_err(path, format!("bad shape {shape_text}")))
        })
        .collect::<Result<Vec<usize>>>()?;
    let too_large = || {
        format_err(
            path,
            format!(
                "shape {shape_text} of '{}' is too large to hold in memory",
                A::DESCR
            ),
        )
    };
    let len = crate::random_state::shape_len(&shape).map_err(|_| too_large())?;
    let data_bytes = len.checked_mul(A::SIZE).ok_or_else(too_large)?;
    let data_offset = start
        .checked_add(header.len())
        .filter(|o| o.checked_add(data_bytes).is_some())
        .ok_or_else(too_large)?;
    Ok(NpyHeader {
        data_offset,
        shape,
        shape_text: shape_text.to_string(),
        fortran,
        len,
        data_bytes,
    })
}

/// Appends the elements of `data` (whole elements, little-endian).
fn decode_into<A: NpyElement>(data: &[u8], out: &mut Vec<A>) {
    out.extend(data.chunks_exact(A::SIZE).map(A::read_le));
}

/// The array of `values` in the header's shape and order.
fn npy_array<A: NpyElement>(h: NpyHeader, values: Vec<A>, path: &Path) -> Result<ArrayD<A>> {
    let dim = IxDyn(&h.shape);
    let array = if h.fortran {
        ArrayD::from_shape_vec(dim.f(), values)
    } else {
        ArrayD::from_shape_vec(dim, values)
    };
    array.map_err(|e| format_err(path, e.to_string()))
}

/// Room for `n` elements, or an error naming the bytes that could not be had.
fn npy_buffer<A: NpyElement>(h: &NpyHeader, path: &Path) -> Result<Vec<A>> {
    let mut values = Vec::new();
    values.try_reserve_exact(h.len).map_err(|_| {
        format_err(
            path,
            format!(
                "cannot allocate {} bytes for shape {} of '{}'",
                h.data_bytes,
                h.shape_text,
                A::DESCR
            ),
        )
    })?;
    Ok(values)
}

/// Parses `.npy` bytes (`path` only names the source in errors).
///
/// Accepts format versions 1–3, C or Fortran order; errors on a dtype other
/// than `A`'s, a malformed header, or a truncated file, saying where it is
/// cut: inside the magic string or the preamble, inside the header (with
/// the length the preamble gives), or inside the data (with the bytes the
/// shape needs). Bytes after the data are ignored, as numpy ignores them.
///
/// ```
/// use tapegrad_datasets::io::{from_npy_bytes, to_npy_bytes};
/// let err = from_npy_bytes::<f64>(b"\x93NUMPY\x01\x00", "x.npy".as_ref()).unwrap_err();
/// assert!(err.to_string().contains("truncated .npy file: 8 bytes"), "{err}");
/// let bytes = to_npy_bytes(&ndarray::array![1.0f64, 2.0]);
/// let err = from_npy_bytes::<f64>(&bytes[..100], "x.npy".as_ref()).unwrap_err();
/// assert!(err.to_string().contains("truncated header: the preamble says 118 header bytes, \
///                                   the file has 90 after it"), "{err}");
/// ```
pub fn from_npy_bytes<A: NpyElement>(bytes: &[u8], path: &Path) -> Result<ArrayD<A>> {
    let (start, hlen) = npy_preamble(bytes, path, "file")?;
    let after = bytes.len() - start;
    let header = bytes
        .get(start..)
        .and_then(|h| h.get(..hlen))
        .ok_or_else(|| {
            format_err(
                path,
                format!(
                "truncated header: the preamble says {hlen} header bytes, the file has {after} \
                 after it"
            ),
            )
        })?;
    let h = npy_header::<A>(header, start, path)?;
    let data = &bytes[h.data_offset..];
    if data.len() < h.data_bytes {
        return Err(format_err(
            path,
            format!(
                "truncated data: shape {} of '{}' needs {} bytes, file has {} after the header",
                h.shape_text,
                A::DESCR,
                h.data_bytes,
                data.len()
            ),
        ));
    }
    let mut values = npy_buffer::<A>(&h, path)?;
    decode_into(&data[..h.data_bytes], &mut values);
    npy_array(h, values, path)
}

/// Why `name` cannot be a member of a `.npz` archive (written or read), or
/// `None` if it can: an empty name, an absolute path, a `..` component, a
/// backslash, a drive letter or a NUL could make a tool that extracts the
/// archive write outside its folder.
fn unsafe_member_name(name: &str) -> Option<&'static str> {
    let b = name.as_bytes();
    if name.is_empty() {
        Some("it is empty")
    } else if name.starts_with('/') {
        Some("it is an absolute path")
    } else if name.contains('\\') {
        Some("it contains a backslash")
    } else if name.contains('\0') {
        Some("it contains a NUL character")
    } else if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        Some("it starts with a drive letter")
    } else if name.split('/').any(|c| c == "..") {
        Some("it has a `..` component")
    } else {
        None
    }
}

/// Builds a `.npz` archive (`np.savez`, or `np.savez_compressed` when
/// `compressed`): one `<name>.npy` member per array.
///
/// ```
/// use ndarray::array;
/// use tapegrad_datasets::io::{NpzReader, NpzWriter};
/// let path = std::env::temp_dir().join("tapegrad_datasets_doc.npz");
/// let mut w = NpzWriter::new(true);
/// w.add("x", &array![[1.0f64, 2.0]]).unwrap();
/// w.add("k", &array![7i64]).unwrap();
/// w.write(&path).unwrap();
/// let mut r = NpzReader::open(&path).unwrap();
/// assert_eq!(r.names(), vec!["k".to_string(), "x".to_string()]);
/// assert_eq!(r.by_name::<i64>("k").unwrap()[[0]], 7);
/// assert!(r.by_name::<f64>("missing").is_err());
/// ```
#[derive(Debug)]
pub struct NpzWriter {
    compressed: bool,
    members: Vec<(String, Vec<u8>)>,
}

impl NpzWriter {
    /// An empty archive; `compressed` deflates the members.
    ///
    /// ```
    /// use tapegrad_datasets::io::NpzWriter;
    /// let w = NpzWriter::new(false);
    /// assert_eq!(w.len(), 0);
    /// ```
    pub fn new(compressed: bool) -> Self {
        NpzWriter {
            compressed,
            members: Vec::new(),
        }
    }

    /// Number of arrays added.
    ///
    /// ```
    /// use ndarray::array;
    /// use tapegrad_datasets::io::NpzWriter;
    /// let mut w = NpzWriter::new(false);
    /// w.add("a", &array![1.0f64]).unwrap();
    /// assert_eq!(w.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether no array has been added.
    ///
    /// ```
    /// use tapegrad_datasets::io::NpzWriter;
    /// assert!(NpzWriter::new(false).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Adds `array` under `name` (stored as `name.npy`). Errors on an empty
    /// or repeated name, and on a name that could escape a folder when the
    /// archive is extracted: absolute (`/x`), with a `..` component
    /// (`../evil`), a backslash, a drive letter (`C:x`) or a NUL.
    ///
    /// ```
    /// use ndarray::array;
    /// use tapegrad_datasets::io::NpzWriter;
    /// let mut w = NpzWriter::new(false);
    /// w.add("a", &array![1.0f64]).unwrap();
    /// assert!(w.add("a", &array![2.0f64]).is_err());
    /// let err = w.add("../evil", &array![2.0f64]).unwrap_err().to_string();
    /// assert!(err.contains("`../evil` is not a safe .npz member name"), "{err}");
    /// ```
    pub fn add<A: NpyElement, S: Data<Elem = A>, D: Dimension>(
        &mut self,
        name: &str,
        array: &ArrayBase<S, D>,
    ) -> Result<()> {
        if let Some(why) = unsafe_member_name(name) {
            return Err(crate::error::invalid(
                "name",
                format!("array name `{name}` is not a safe .npz member name: {why}"),
            ));
        }
        if name.is_empty() || self.members.iter().any(|(n, _)| n == name) {
            return Err(crate::error::invalid(
                "name",
                format!("array name `{name}` is empty or already used"),
            ));
        }
        self.members.push((name.to_string(), to_npy_bytes(array)));
        Ok(())
    }

    /// Writes the archive to `path`, whole or not at all.
    ///
    /// ```
    /// use tapegrad_datasets::io::NpzWriter;
    /// let path = std::env::temp_dir().join("tapegrad_datasets_doc_empty.npz");
    /// NpzWriter::new(false).write(&path).unwrap();
    /// ```
    pub fn write(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let zerr = |e: zip::result::ZipError| format_err(path, e.to_string());
        let mut zw = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let method = if self.compressed {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        for (name, bytes) in &self.members {
            zw.start_file(format!("{name}.npy"), options)
                .map_err(zerr)?;
            zw.write_all(bytes).map_err(io_err(path))?;
        }
        let bytes = zw.finish().map_err(zerr)?.into_inner();
        write_atomic(path, &bytes)
    }
}

/// Reads the arrays of a `.npz` archive (from `np.savez`, `np.savez_compressed`
/// or [`NpzWriter`]).
///
/// What [`NpzReader::by_name`] allocates is bounded by what the member's
/// `.npy` header promises (shape × item size, computed with checked
/// arithmetic), and the size the zip entry records must agree with it
/// before anything is decompressed; a member that decompresses to more
/// bytes than that is refused without reading them. By default nothing
/// else bounds it: a small deflated member can honestly promise a large
/// array (a 1 GiB array of zeros deflates to about 1 MB), so set
/// [`NpzReader::max_bytes`] when reading archives you do not trust.
///
/// Member names that could escape a folder when the archive is extracted
/// (absolute, with a `..` component, a backslash or a drive letter) are
/// refused by [`NpzReader::open`], as [`NpzWriter::add`] refuses them.
#[derive(Debug)]
pub struct NpzReader {
    path: PathBuf,
    archive: zip::ZipArchive<std::io::Cursor<Vec<u8>>>,
    max_bytes: Option<u64>,
}

impl NpzReader {
    /// Opens an archive. Errors if the file is missing or not a zip archive,
    /// or if a member's name is unsafe (naming the member and why).
    ///
    /// ```
    /// use tapegrad_datasets::io::NpzReader;
    /// let path = std::env::temp_dir().join("tapegrad_datasets_doc_notzip.npz");
    /// std::fs::write(&path, b"plain text").unwrap();
    /// assert!(NpzReader::open(&path).is_err());
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = fs::read(path).map_err(io_err(path))?;
        let archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
            .map_err(|e| format_err(path, format!("not a .npz archive: {e}")))?;
        for member in archive.file_names() {
            let member = member.map_err(|e| format_err(path, format!("bad member name: {e}")))?;
            if let Some(why) = unsafe_member_name(&member) {
                return Err(format_err(
                    path,
                    format!("member `{member}` has an unsafe name: {why}"),
                ));
            }
        }
        Ok(NpzReader {
            path: path.to_path_buf(),
            archive,
            max_bytes: None,
        })
    }

    /// Caps the bytes [`NpzReader::by_name`] decompresses for one member
    /// (its `.npy` preamble, header and data): a larger member is refused,
    /// naming it, its size and the limit, before any of its data is read.
    /// The default is no cap beyond what the member's header promises.
    ///
    /// ```
    /// use ndarray::Array1;
    /// use tapegrad_datasets::io::{NpzReader, NpzWriter};
    /// let path = std::env::temp_dir().join("tapegrad_datasets_doc_limit.npz");
    /// let mut w = NpzWriter::new(true);
    /// w.add("big", &Array1::<f64>::zeros(1 << 17)).unwrap(); // 1 MiB of data
    /// w.write(&path).unwrap();
    /// assert!(std::fs::metadata(&path).unwrap().len() < 10_000);
    /// let mut r = NpzReader::open(&path).unwrap().max_bytes(1 << 16);
    /// let err = r.by_name::<f64>("big").unwrap_err().to_string();
    /// assert!(err.contains("over the limit of 65536 bytes"), "{err}");
    /// let mut r = NpzReader::open(&path).unwrap().max_bytes(2 << 20);
    /// assert_eq!(r.by_name::<f64>("big").unwrap().len(), 1 << 17);
    /// ```
    pub fn max_bytes(mut self, limit: u64) -> Self {
        self.max_bytes = Some(limit);
        self
    }

    /// The array names (member names without `.npy`), sorted.
    ///
    /// ```
    /// use ndarray::array;
    /// use tapegrad_datasets::io::{NpzReader, NpzWriter};
    /// let path = std::env::temp_dir().join("tapegrad_datasets_doc_names.npz");
    /// let mut w = NpzWriter::new(false);
    /// w.add("b", &array![1u8]).unwrap();
    /// w.write(&path).unwrap();
    /// assert_eq!(NpzReader::open(&path).unwrap().names(), vec!["b".to_string()]);
    /// ```
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .archive
            .file_names()
            .filter_map(|n| n.ok())
            .map(|n| n.strip_suffix(".npy").unwrap_or(&n).to_string())
            .collect();
        names.sort();
        names
    }

    /// The array stored under `name`, with element type `A`. Errors (naming
    /// the archive and member) if `name` is not a safe member name, if the
    /// member is missing, of another dtype, truncated, larger than its
    /// header promises or than [`NpzReader::max_bytes`], or if its zip entry
    /// records another size than its header promises.
    ///
    /// ```
    /// use ndarray::array;
    /// use tapegrad_datasets::io::{NpzReader, NpzWriter};
    /// let path = std::env::temp_dir().join("tapegrad_datasets_doc_byname.npz");
    /// let mut w = NpzWriter::new(false);
    /// w.add("x", &array![1.0f32]).unwrap();
    /// w.write(&path).unwrap();
    /// let mut r = NpzReader::open(&path).unwrap();
    /// assert_eq!(r.by_name::<f32>("x").unwrap()[[0]], 1.0);
    /// assert!(r.by_name::<f64>("x").is_err());
    /// assert!(r.by_name::<f32>("../x").is_err());
    /// ```
    pub fn by_name<A: NpyElement>(&mut self, name: &str) -> Result<ArrayD<A>> {
        if let Some(why) = unsafe_member_name(name) {
            return Err(crate::error::invalid(
                "name",
                format!("array name `{name}` is not a safe .npz member name: {why}"),
            ));
        }
        let member = format!("{name}.npy");
        let member_path = self.path.join(&member);
        let Some(index) = self.archive.index_for_name(&member) else {
            let names = self.names().join(", ");
            return Err(format_err(
                &self.path,
                format!("no array named `{name}` (arrays: {names})"),
            ));
        };
        let file = self
            .archive
            .by_index(index)
            .map_err(|e| format_err(&member_path, format!("cannot read the member: {e}")))?;
        read_npz_member(file, &member_path, self.max_bytes)
    }
}

/// Reads one `.npy` member, allocating no more than its header promises
/// (and `limit`, if any) and checking the zip entry's recorded size first.
fn read_npz_member<A: NpyElement, R: std::io::Read>(
    mut file: zip::read::ZipFile<'_, R>,
    path: &Path,
    limit: Option<u64>,
) -> Result<ArrayD<A>> {
    use std::io::Read;
    let recorded = file.size();
    let over_limit = |what: String, n: u64, limit: u64| {
        format_err(
            path,
            format!(
                "{what} {n} bytes, over the limit of {limit} bytes set with NpzReader::max_bytes"
            ),
        )
    };
    if let Some(limit) = limit.filter(|&l| recorded > l) {
        return Err(over_limit(
            "the zip entry records".to_string(),
            recorded,
            limit,
        ));
    }
    let read_err = |e: std::io::Error| format_err(path, format!("cannot read the member: {e}"));
    // Magic string and version, then the rest of the preamble they imply.
    let mut preamble = Vec::with_capacity(12);
    (&mut file)
        .take(8)
        .read_to_end(&mut preamble)
        .map_err(read_err)?;
    if let Some(len) = preamble.get(6).and_then(|&m| npy_preamble_len(m)) {
        (&mut file)
            .take((len - preamble.len().min(len)) as u64)
            .read_to_end(&mut preamble)
            .map_err(read_err)?;
    }
    let (start, hlen) = npy_preamble(&preamble, path, "member")?;
    let header_end = start as u64 + hlen as u64;
    if header_end > recorded {
        return Err(format_err(
            path,
            format!(
                "truncated header: the preamble says {hlen} header bytes, the zip entry records \
                 {recorded} bytes for the whole member"
            ),
        ));
    }
    let mut header = Vec::new();
    (&mut file)
        .take(hlen as u64)
        .read_to_end(&mut header)
        .map_err(read_err)?;
    if header.len() < hlen {
        return Err(format_err(
            path,
            format!(
                "truncated header: the preamble says {hlen} header bytes, the member has {} \
                 after it",
                header.len()
            ),
        ));
    }
    let h = npy_header::<A>(&header, start, path)?;
    let total = h.data_offset as u64 + h.data_bytes as u64;
    let promise = format!(
        "its header (shape {} of '{}') promises",
        h.shape_text,
        A::DESCR
    );
    if let Some(limit) = limit.filter(|&l| total > l) {
        return Err(over_limit(promise, total, limit));
    }
    if recorded < total {
        return Err(format_err(
            path,
            format!("truncated member: the zip entry records {recorded} bytes, {promise} {total}"),
        ));
    }
    if recorded > total {
        return Err(format_err(
            path,
            format!("the zip entry records {recorded} bytes, {promise} only {total}"),
        ));
    }
    let mut values = npy_buffer::<A>(&h, path)?;
    let mut chunk = vec![0u8; h.data_bytes.min(1 << 16)];
    let mut left = h.data_bytes;
    while left > 0 {
        let want = left.min(chunk.len());
        let mut n = 0;
        while n < want {
            match file.read(&mut chunk[n..want]) {
                Ok(0) => {
                    return Err(format_err(
                        path,
                        format!(
                            "truncated data: {promise} {} bytes of data, the member has {} \
                             after the header",
                            h.data_bytes,
                            h.data_bytes - left + n
                        ),
                    ))
                }
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(read_err(e)),
            }
        }
        decode_into(&chunk[..want], &mut values);
        left -= want;
    }
    // One byte more: a member longer than its header promises is refused
    // (and reading to its end checks its CRC).
    match file.read(&mut [0u8; 1]) {
        Ok(0) => npy_array(h, values, path),
        Ok(_) => Err(format_err(
            path,
            format!("the member holds more than the {total} bytes {promise}"),
        )),
        Err(e) => Err(read_err(e)),
    }
}

/// The Parquet file-level metadata key under which [`write_parquet`] stores
/// the target columns: their 0-based column indices, comma separated
/// (`"2,3"`; empty when there are none).
#[cfg(feature = "parquet")]
pub const PARQUET_TARGETS_KEY: &str = "tapegrad.targets";

/// Writes a [`Dataset`] as a Parquet file (one `Float64` column per column,
/// zstd-compressed as polars writes by default), whole or not at all: the
/// bytes go to a temporary file beside `path`, which is renamed over it.
/// The target columns are kept in the file's metadata under
/// [`PARQUET_TARGETS_KEY`], so [`read_parquet`] gives the same split back.
/// Errors name the file.
///
/// ```
/// use ndarray::array;
/// use tapegrad_datasets::{io, Dataset};
/// let mut ds = Dataset::from_columns(vec![("x", array![1.0, 2.0]), ("y", array![0.5, -3.0])]).unwrap();
/// ds.set_targets(&["y"]).unwrap();
/// let path = std::env::temp_dir().join("tapegrad_datasets_doc.parquet");
/// io::write_parquet(&path, &ds).unwrap();
/// assert_eq!(io::read_parquet(&path).unwrap(), ds);
/// ```
#[cfg(feature = "parquet")]
pub fn write_parquet(path: impl AsRef<Path>, data: &Dataset) -> Result<()> {
    use polars::prelude::{KeyValueMetadata, ParquetWriter};
    let path = path.as_ref();
    let mut df = data.to_polars();
    let names = data.names();
    let targets = data
        .target_names()
        .iter()
        .filter_map(|t| names.iter().position(|n| n == t))
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes)
        .with_key_value_metadata(Some(KeyValueMetadata::from_static(vec![(
            PARQUET_TARGETS_KEY.to_string(),
            targets,
        )])))
        .finish(&mut df)
        .map_err(|e| format_err(path, format!("cannot write Parquet: {e}")))?;
    write_atomic(path, &bytes)
}

/// Reads a Parquet file into a [`Dataset`]: numeric columns become `f64`
/// (see [`Dataset::from_polars`]); the target columns are those recorded by
/// [`write_parquet`] under [`PARQUET_TARGETS_KEY`], none for a file written
/// by another program.
///
/// Errors name the file: a missing file, a file that is not Parquet, a
/// non-numeric column or a null (with the column and 0-based row), a
/// malformed targets entry.
///
/// ```
/// use tapegrad_datasets::io::read_parquet;
/// let path = std::env::temp_dir().join("tapegrad_datasets_doc_bad.parquet");
/// std::fs::write(&path, b"x,y\n1,2\n").unwrap();
/// let err = read_parquet(&path).unwrap_err().to_string();
/// assert!(err.starts_with(&path.display().to_string()), "{err}");
/// ```
#[cfg(feature = "parquet")]
pub fn read_parquet(path: impl AsRef<Path>) -> Result<Dataset> {
    use polars::prelude::{ParquetReader, SerReader};
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(io_err(path))?;
    let not_parquet =
        |e: polars::prelude::PolarsError| format_err(path, format!("cannot read as Parquet: {e}"));
    let mut reader = ParquetReader::new(std::io::Cursor::new(bytes));
    let targets: Option<String> = reader
        .get_metadata()
        .map_err(not_parquet)?
        .key_value_metadata()
        .as_ref()
        .and_then(|kv| kv.iter().find(|kv| kv.key == PARQUET_TARGETS_KEY))
        .map(|kv| kv.value.clone().unwrap_or_default());
    let df = reader.finish().map_err(not_parquet)?;
    let mut data = Dataset::from_polars(&df).map_err(|e| format_err(path, e.to_string()))?;
    if let Some(targets) = targets.filter(|t| !t.is_empty()) {
        let names = data.names().to_vec();
        let target_names = targets
            .split(',')
            .map(|i| {
                i.trim()
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| names.get(i))
                    .map(String::as_str)
                    .ok_or_else(|| {
                        format_err(
                            path,
                            format!(
                                "metadata `{PARQUET_TARGETS_KEY}` = `{targets}`: \
                                 `{i}` is not a column index (the file has {} columns)",
                                names.len()
                            ),
                        )
                    })
            })
            .collect::<Result<Vec<&str>>>()?;
        data.set_targets(&target_names)
            .map_err(|e| format_err(path, e.to_string()))?;
    }
    Ok(data)
}
