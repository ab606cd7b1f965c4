//! Numbers printed the way the documents print them: numpy's float32 `str`, Python's `repr`
//! of a widened float32, `%.2f`, lists of floats.

use tapegrad_tensor::format_scalar;

/// numpy's `str(np.float32(x))`: shortest round-trip digits (`417316.0`, `2017845800000.0`,
/// `2.629222e+18`, `inf`).
///
/// ```
/// assert_eq!(tapegrad_runner::format::np_f32(114.21528), "114.21528");
/// ```
pub fn np_f32(x: f32) -> String {
    format_scalar(x)
}

/// Python's `repr(float(x))` for a float64 (`0.1`, `1e-05`, `2017845837824.0`, `inf`).
///
/// ```
/// assert_eq!(tapegrad_runner::format::py_float(0.5), "0.5");
/// assert_eq!(tapegrad_runner::format::py_float(1e-5), "1e-05");
/// assert_eq!(tapegrad_runner::format::py_float(1e16), "1e+16");
/// assert_eq!(tapegrad_runner::format::py_float(8.9924468994140625), "8.992446899414062");
/// assert_eq!(tapegrad_runner::format::py_float(-2017845837824.0), "-2017845837824.0");
/// assert_eq!(tapegrad_runner::format::py_float(45.64582824707031), "45.64582824707031");
/// ```
pub fn py_float(x: f64) -> String {
    // Python's repr and numpy's float64 `str` are one rule: the shortest digits that round-trip
    // (the closest among them), positional for 1e-4 <= |x| < 1e16, scientific otherwise
    format_scalar(x)
}

/// Python's `'%.{digits}f' % x`.
pub fn fixed(x: f64, digits: usize) -> String {
    if x.is_nan() {
        "nan".into()
    } else if x.is_infinite() {
        if x > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        format!("{x:.digits$}")
    }
}

/// A Python list of numbers as the documents show it (`[2.0, 1.5, 1.25]`), each element
/// formatted by `f`.
pub fn list<T: Copy>(xs: &[T], f: impl Fn(T) -> String) -> String {
    format!(
        "[{}]",
        xs.iter().map(|&x| f(x)).collect::<Vec<_>>().join(", ")
    )
}
