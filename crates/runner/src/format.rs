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
/// ```
pub fn py_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    let a = x.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        let s = format!("{x:e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let e: i32 = e.parse().unwrap_or(0);
        return format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    let s = format!("{x}");
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
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
