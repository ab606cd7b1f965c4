//! What the reference tests share: reading `data/keras/*.json` and its nested lists.
#![allow(dead_code)] // each test crate uses its part

use serde_json::Value;
use tapegrad_autodiff::Tensor;

/// `data/keras/{name}`, parsed.
pub fn load(name: &str) -> Value {
    let path = format!("{}/../../data/keras/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A number, or one of the strings that stand for non-finite floats.
pub fn num(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap(),
        Value::String(s) if s == "NaN" => f64::NAN,
        Value::String(s) if s == "Infinity" => f64::INFINITY,
        Value::String(s) if s == "-Infinity" => f64::NEG_INFINITY,
        other => panic!("not a number: {other}"),
    }
}

/// Nested lists → (row-major values, shape).
pub fn flat(v: &Value) -> (Vec<f64>, Vec<usize>) {
    match v {
        Value::Array(items) => {
            let mut data = Vec::new();
            let mut inner = vec![];
            for it in items {
                let (d, s) = flat(it);
                data.extend(d);
                inner = s;
            }
            let mut shape = vec![items.len()];
            shape.extend(inner);
            (data, shape)
        }
        other => (vec![num(other)], vec![]),
    }
}

/// Nested lists as a float32 tensor.
pub fn tensor(v: &Value) -> Tensor {
    let (data, shape) = flat(v);
    let data: Vec<f32> = data.into_iter().map(|x| x as f32).collect();
    Tensor::from_vec(data, &shape).unwrap()
}
