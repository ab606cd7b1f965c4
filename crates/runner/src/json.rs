//! The JSON forms of the numbers a run reports: floats that may be infinite or NaN, lists of
//! them, tensors as nested lists.

use serde_json::Value;

/// JSON for a float that may be infinite or NaN (as the strings `inf`, `-inf`, `nan`).
pub fn num(x: f64) -> Value {
    if x.is_finite() {
        serde_json::json!(x)
    } else if x.is_nan() {
        Value::String("nan".into())
    } else if x > 0.0 {
        Value::String("inf".into())
    } else {
        Value::String("-inf".into())
    }
}

/// JSON for a list of floats.
pub fn nums(xs: &[f64]) -> Value {
    Value::Array(xs.iter().map(|&x| num(x)).collect())
}

/// JSON for a tensor's values as nested lists of its shape.
pub fn tensor_json(t: &tapegrad_autodiff::Tensor) -> Value {
    fn nest(data: &[f64], shape: &[usize]) -> Value {
        match shape.split_first() {
            None => num(data.first().copied().unwrap_or(f64::NAN)),
            Some((&n, rest)) => {
                let step: usize = rest.iter().product();
                Value::Array(
                    (0..n)
                        .map(|i| nest(&data[i * step..(i + 1) * step], rest))
                        .collect(),
                )
            }
        }
    }
    nest(&t.to_f64_vec(), t.shape())
}
