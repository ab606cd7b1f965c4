//! Helpers shared by the integration tests: loading the reference JSON.
#![allow(dead_code)]

use serde_json::Value;

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
