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
    // Python's repr: the shortest digits that round-trip, and among those the closest to x.
    let short = format!("{x:e}");
    let n = short
        .split('e')
        .next()
        .map_or(1, |m| m.chars().filter(char::is_ascii_digit).count());
    let exact = format!("{:.*e}", n.saturating_sub(1), x);
    let sci = if exact.parse::<f64>().is_ok_and(|y| y == x) {
        exact
    } else {
        short
    };
    py_float_from(x, &sci)
}

fn py_float_from(x: f64, sci: &str) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    let (m, e) = sci.split_once('e').unwrap_or((sci, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    let a = x.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        let m = if m.contains('.') {
            m.trim_end_matches('0').trim_end_matches('.')
        } else {
            m
        };
        return format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    // positional: move the point of the mantissa digits by the exponent
    let neg = m.starts_with('-');
    let digits: String = m.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let k = digits.len() as i32;
    let body = if digits == "0" {
        "0.0".to_string()
    } else if e >= k - 1 {
        format!("{digits}{}.0", "0".repeat((e - (k - 1)) as usize))
    } else if e >= 0 {
        let (a, b) = digits.split_at((e + 1) as usize);
        format!("{a}.{b}")
    } else {
        format!("0.{}{digits}", "0".repeat((-e - 1) as usize))
    };
    if neg {
        format!("-{body}")
    } else {
        body
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
