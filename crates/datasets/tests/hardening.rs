//! The file readers' hardening cases (issue 17), one test per case, each
//! named after it: bad input is refused with an error naming what was wrong
//! (file, line and column, column name and positions, member, limit), never
//! a panic, a silent loss or a runaway allocation.

use std::path::PathBuf;

use ndarray::{array, Array1};
use tapegrad_datasets::{io, Dataset, DatasetsError};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tapegrad_datasets_hardening_{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Writes `text` to a scratch file and returns the `Parse` error's line,
/// column and message.
fn csv_parse_error(name: &str, text: &str) -> (u64, u64, String) {
    let path = scratch(name);
    std::fs::write(&path, text).unwrap();
    match io::read_csv(&path).unwrap_err() {
        DatasetsError::Parse {
            path: p,
            line,
            column,
            message,
        } => {
            assert_eq!(p, path);
            (line, column, message)
        }
        e => panic!("unexpected error {e}"),
    }
}

#[test]
fn csv_repeated_column_name_is_refused_naming_it_and_its_positions() {
    let (l, c, m) = csv_parse_error("repeated.csv", "x,y,x\n1,2,3\n");
    assert_eq!((l, c), (1, 3));
    assert_eq!(
        m,
        "column name `x` is repeated in the header, at columns 1 and 3"
    );
    let (l, c, m) = csv_parse_error("repeated3.csv", "a,x,b,x,x\n1,2,3,4,5\n");
    assert_eq!((l, c), (1, 4));
    assert!(m.contains("`x`") && m.contains("columns 2, 4 and 5"), "{m}");
    // Names are trimmed as they are read, so ` x` repeats `x`.
    let (_, _, m) = csv_parse_error("repeated_space.csv", "x, x\n1,2\n");
    assert!(m.contains("columns 1 and 2"), "{m}");
}

#[test]
fn from_columns_repeated_name_is_refused_naming_it_and_its_positions() {
    let err = Dataset::from_columns(vec![
        ("x", array![1.0]),
        ("y", array![2.0]),
        ("x", array![3.0]),
    ])
    .unwrap_err();
    assert!(
        matches!(
            &err,
            DatasetsError::InvalidParameter {
                name: "columns",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "invalid parameter `columns`: column name `x` is repeated, at indices 0 and 2 of 3 columns"
    );
    // from_array goes through from_columns.
    let err = Dataset::from_array(array![[1.0, 2.0]].view(), &["a", "a"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("`a` is repeated, at indices 0 and 1"), "{err}");
    // Unequal lengths still name the column.
    let err = Dataset::from_columns(vec![("a", array![1.0]), ("b", array![1.0, 2.0])])
        .unwrap_err()
        .to_string();
    assert!(err.contains("column `b` has 2 rows"), "{err}");
}

#[test]
fn csv_of_200k_columns_reads_in_linear_time() {
    // Was ~62 s: Dataset::from_columns looked each name up in the names
    // before it (quadratic). Not a timed test: it must simply finish quickly.
    let n = 200_000;
    let mut text = String::with_capacity(n * 16);
    let names: Vec<String> = (0..n).map(|j| format!("c{j}")).collect();
    text.push_str(&names.join(","));
    text.push('\n');
    for row in 0..2 {
        let values: Vec<String> = (0..n).map(|j| (j + row).to_string()).collect();
        text.push_str(&values.join(","));
        text.push('\n');
    }
    let path = scratch("wide.csv");
    std::fs::write(&path, &text).unwrap();
    let ds = io::read_csv(&path).unwrap();
    assert_eq!((ds.nrows(), ds.ncols()), (2, n));
    assert_eq!(ds.column("c199999").unwrap()[1], 200_000.0);
    // A bad row of a wide file gives a short message, not 200k names.
    std::fs::write(&path, format!("{}\n1,2\n", names.join(","))).unwrap();
    let err = io::read_csv(&path).unwrap_err().to_string();
    assert!(err.contains("the header has 200000"), "{err}");
    assert!(err.len() < 300, "{} bytes", err.len());
    let columns: Vec<(String, Array1<f64>)> = names
        .into_iter()
        .map(|name| (name, Array1::zeros(1)))
        .collect();
    assert_eq!(Dataset::from_columns(columns).unwrap().ncols(), n);
}

#[test]
fn csv_unterminated_quote_names_the_line_where_it_starts() {
    // Was "row has 1 fields, the header has 2": the open quote swallowed
    // the rest of the file into one field.
    let (l, c, m) = csv_parse_error("quote.csv", "x,y\n1,2\n3,\"4\n5,6\n");
    assert_eq!((l, c), (3, 2));
    assert_eq!(
        m,
        "unterminated quoted field starting at line 3: no closing `\"` before the end of the file"
    );
    // In the header, after an escaped quote, after a CRLF line and at the very end.
    let (l, c, m) = csv_parse_error("quote_header.csv", "x,\"y\n1,2\n");
    assert_eq!((l, c), (1, 2), "{m}");
    let (l, c, _) = csv_parse_error("quote_escaped.csv", "x\r\n1\r\n\"a\"\"b\r\n");
    assert_eq!((l, c), (3, 1));
    let (l, c, _) = csv_parse_error("quote_last.csv", "x,y\n1,\"");
    assert_eq!((l, c), (2, 2));
    // Closed quotes are fine, and a quote inside an unquoted field is literal.
    let path = scratch("quote_ok.csv");
    std::fs::write(&path, "\"x\",\"y,z\"\n\"1\",2\n").unwrap();
    let ds = io::read_csv(&path).unwrap();
    assert_eq!(ds.names(), &["x".to_string(), "y,z".to_string()]);
    let (l, c, m) = csv_parse_error("quote_inner.csv", "x\n1\"\n");
    assert_eq!((l, c), (2, 1));
    assert!(m.contains("`1\"` is not a number"), "{m}");
}

#[test]
fn write_csv_nan_is_refused_naming_column_and_row_and_writes_nothing() {
    // read_csv refuses NaN (a field must be a number, tests/io.rs), so
    // write_csv must not write one: they agree on what a CSV table is.
    let path = scratch("nan.csv");
    let _ = std::fs::remove_file(&path);
    let ds = Dataset::from_columns(vec![
        ("a", array![1.0, 2.0, 3.0]),
        ("b", array![0.5, 1.5, f64::NAN]),
    ])
    .unwrap();
    let err = io::write_csv(&path, &ds).unwrap_err();
    assert!(
        matches!(&err, DatasetsError::Format { path: p, .. } if *p == path),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("NaN in column `b` at row 2 (0-based; line 4 of the file)"),
        "{err}"
    );
    assert!(!path.exists());
    // What read_csv cannot read back is refused too.
    for (name, what) in [("", "``"), (" a", "` a`")] {
        let ds = Dataset::from_columns(vec![(name, array![1.0])]).unwrap();
        let err = io::write_csv(&path, &ds).unwrap_err().to_string();
        assert!(err.contains(what), "{err}");
    }
    assert!(io::write_csv(&path, &Dataset::new()).is_err());
    assert!(!path.exists());
}

#[test]
fn write_csv_and_read_csv_round_trip_infinities() {
    let path = scratch("inf.csv");
    let ds = Dataset::from_columns(vec![
        ("a", array![f64::INFINITY, -1.5, f64::NEG_INFINITY]),
        ("b", array![f64::MAX, f64::MIN_POSITIVE, -0.0]),
    ])
    .unwrap();
    io::write_csv(&path, &ds).unwrap();
    let back = io::read_csv(&path).unwrap();
    assert_eq!(back, ds);
    assert!(back.column("b").unwrap()[2].is_sign_negative());
    // pandas writes inf as `inf`; it and `-inf` read back as infinities.
    std::fs::write(&path, "x\ninf\n-inf\nInfinity\n").unwrap();
    let x = io::read_csv(&path).unwrap().column("x").unwrap().to_vec();
    assert_eq!(x, vec![f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY]);
}
