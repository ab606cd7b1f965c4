//! Helpers shared by the integration tests: loading the reference JSON, scratch files, CSV
//! parse errors.
#![allow(dead_code)]

use std::path::PathBuf;

use serde_json::Value;
use tapegrad_datasets::{io, DatasetsError};

pub fn load(name: &str) -> Value {
    let path = format!(
        "{}/../../data/datasets/{}",
        env!("CARGO_MANIFEST_DIR"),
        name
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

pub fn ints(v: &Value) -> Vec<i64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_i64().expect("integer"))
        .collect()
}

pub fn usize_of(v: &Value) -> usize {
    v.as_u64().expect("unsigned") as usize
}

/// Asserts bit-identical floats, reporting the first difference.
pub fn assert_bits(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            g.to_bits() == w.to_bits(),
            "{what}[{i}]: got {g:?}, numpy {w:?}"
        );
    }
}

/// Asserts |got - want| <= rtol * max(|want|, scale) elementwise.
pub fn assert_close(got: &[f64], want: &[f64], rtol: f64, scale: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let tol = rtol * w.abs().max(scale);
        assert!((g - w).abs() <= tol, "{what}[{i}]: got {g:?}, want {w:?}");
    }
}

/// A path named `name` in a scratch directory of this test process (`suite` keeps the test
/// files' directories apart).
pub fn scratch(suite: &str, name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("tapegrad_datasets_{suite}_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Writes `text` to `path`, reads it as CSV and returns the `Parse` error's line, column and
/// message (the error must name `path`).
pub fn csv_parse_error(path: PathBuf, text: &str) -> (u64, u64, String) {
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
