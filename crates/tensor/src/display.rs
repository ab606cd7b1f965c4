//! Printing like numpy: `[1.  2.5]`, `[[ 0.8773805 ]\n [-0.34608656]]`, and scalars as numpy's
//! `str(np.float32(x))` gives them (`2017845800000.0`, `1.4668273e+36`, `inf`).

use std::fmt;

use crate::tensor::Repr;
use crate::{Array, Element};

/// Formats one value as numpy prints a scalar of its dtype (`str(np.float32(x))`): the shortest
/// digits that round-trip, positional for `1e-4 <= |x| < 1e16`, scientific otherwise.
///
/// ```
/// use tapegrad_tensor::format_scalar;
/// assert_eq!(format_scalar(114.21528f32), "114.21528");
/// assert_eq!(format_scalar(2017845837824.0f32), "2017845800000.0");
/// assert_eq!(format_scalar(1.4668273e36f32), "1.4668273e+36");
/// assert_eq!(format_scalar(3.440736e-05f32), "3.440736e-05");
/// assert_eq!(format_scalar(2.0f64), "2.0");
/// assert_eq!(format_scalar(f32::INFINITY), "inf");
/// ```
pub fn format_scalar<T: Element>(x: T) -> String {
    if let Some(s) = non_finite(x) {
        return s;
    }
    let a = x.abs().to_f64();
    if a == 0.0 || (1e-4..1e16).contains(&a) {
        let (neg, digits, exp) = shortest_digits(x);
        let mut s = positional(&digits, exp);
        if !s.contains('.') {
            s.push_str(".0");
        }
        if neg {
            s.insert(0, '-');
        }
        s
    } else {
        scientific(x, None)
    }
}

fn non_finite<T: Element>(x: T) -> Option<String> {
    if x.is_nan() {
        Some("nan".into())
    } else if x.is_infinite() {
        Some(if x > T::zero() { "inf" } else { "-inf" }.into())
    } else {
        None
    }
}

/// Sign, significant digits and decimal exponent of the shortest round-trip representation:
/// `x = 0.d1d2d3... * 10^exp` is written as digits "d1d2d3" and `exp` such that the value is
/// `d1.d2d3 * 10^exp`.
///
/// Among the equally short candidates Python and numpy print the one closest to the exact
/// value (ties to even); Rust's shortest form can pick its neighbour, so the digits are redone
/// at that length with exact rounding and kept when they still round-trip.
fn shortest_digits<T: Element>(x: T) -> (bool, String, i32) {
    let short = format!("{x:e}");
    let n = short
        .split('e')
        .next()
        .map_or(1, |m| m.chars().filter(char::is_ascii_digit).count());
    let exact = format!("{:.*e}", n.saturating_sub(1), x);
    let s = if exact.parse::<T>().is_ok_and(|y| y == x) {
        exact
    } else {
        short
    };
    let neg = s.starts_with('-');
    let s = s.trim_start_matches('-');
    let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = digits.trim_end_matches('0').to_string();
    let digits = if digits.is_empty() {
        "0".to_string()
    } else {
        digits
    };
    (neg, digits, exp.parse().unwrap_or(0))
}

/// `d1.d2d3 * 10^exp` written positionally, without a trailing `.0`.
fn positional(digits: &str, exp: i32) -> String {
    if digits == "0" {
        return "0".into();
    }
    let n = digits.len() as i32;
    if exp >= n - 1 {
        format!("{digits}{}", "0".repeat((exp - (n - 1)) as usize))
    } else if exp >= 0 {
        let (a, b) = digits.split_at((exp + 1) as usize);
        format!("{a}.{b}")
    } else {
        format!("0.{}{digits}", "0".repeat((-exp - 1) as usize))
    }
}

/// numpy's scientific form: `d.ddde+XX`, mantissa digits padded to `width` if given.
fn scientific<T: Element>(x: T, mant_digits: Option<usize>) -> String {
    if let Some(s) = non_finite(x) {
        return s;
    }
    let (neg, digits, exp) = shortest_digits(x);
    let (first, rest) = digits.split_at(1);
    let mut rest = rest.to_string();
    if let Some(w) = mant_digits {
        while rest.len() < w {
            rest.push('0');
        }
    }
    let sign = if neg { "-" } else { "" };
    let esign = if exp < 0 { '-' } else { '+' };
    let point = if rest.is_empty() { "" } else { "." };
    format!("{sign}{first}{point}{rest}e{esign}{:02}", exp.abs())
}

/// numpy's array element: unique digits, at most 8 after the point, `1.` for whole numbers.
fn array_positional<T: Element>(x: T) -> (String, String) {
    if let Some(s) = non_finite(x) {
        return (s, String::new());
    }
    let (neg, digits, exp) = shortest_digits(x);
    let mut s = positional(&digits, exp);
    if let Some((_, frac)) = s.split_once('.') {
        if frac.len() > 8 {
            let r = format!("{:.8}", x.to_f64());
            s = r.trim_end_matches('0').trim_start_matches('-').to_string();
        }
    }
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i.to_string(), f.to_string()),
        None => (s, String::new()),
    };
    let int = if neg { format!("-{int}") } else { int };
    (format!("{int}."), frac)
}

fn format_array<T: Element>(
    a: &ndarray::ArrayViewD<'_, T>,
    f: &mut fmt::Formatter<'_>,
) -> fmt::Result {
    if a.ndim() == 0 {
        let x = a.iter().copied().next().unwrap_or_else(T::zero);
        return f.write_str(&format_scalar(x));
    }
    let finite: Vec<f64> = a
        .iter()
        .filter(|v| v.is_finite())
        .map(|v| v.abs().to_f64())
        .collect();
    let max = finite.iter().copied().fold(0.0, f64::max);
    let min_nz = finite
        .iter()
        .copied()
        .filter(|&v| v > 0.0)
        .fold(f64::INFINITY, f64::min);
    let sci = max >= 1e8 || (min_nz.is_finite() && (min_nz < 1e-4 || max / min_nz > 1e3));
    let cells: Vec<String> = if sci {
        let width = a
            .iter()
            .map(|&v| shortest_digits(v).1.len().saturating_sub(1))
            .max()
            .unwrap_or(0)
            .min(8);
        a.iter().map(|&v| scientific(v, Some(width))).collect()
    } else {
        let parts: Vec<(String, String)> = a.iter().map(|&v| array_positional(v)).collect();
        let iw = parts.iter().map(|p| p.0.len()).max().unwrap_or(0);
        let fw = parts.iter().map(|p| p.1.len()).max().unwrap_or(0);
        parts
            .into_iter()
            .map(|(i, fr)| format!("{i:>iw$}{fr:<fw$}"))
            .collect()
    };
    let width = cells.iter().map(|c| c.len()).max().unwrap_or(0);
    let cells: Vec<String> = cells.into_iter().map(|c| format!("{c:>width$}")).collect();
    let shape = a.shape().to_vec();
    let mut out = String::new();
    write_nested(&mut out, &cells, &shape, 0, &mut 0);
    f.write_str(&out)
}

fn write_nested(
    out: &mut String,
    cells: &[String],
    shape: &[usize],
    depth: usize,
    pos: &mut usize,
) {
    out.push('[');
    if depth + 1 == shape.len() {
        for i in 0..shape[depth] {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(&cells[*pos]);
            *pos += 1;
        }
    } else {
        for i in 0..shape[depth] {
            if i > 0 {
                out.push_str(&"\n".repeat(shape.len() - depth - 1));
                out.push_str(&" ".repeat(depth + 1));
            }
            write_nested(out, cells, shape, depth + 1, pos);
        }
    }
    out.push(']');
}

impl fmt::Display for Array {
    /// numpy's `str(array)`.
    ///
    /// ```
    /// use tapegrad_tensor::Array;
    /// let t = Array::from_vec(vec![0.8773805f32, 0.3983569, -0.34608656], &[3, 1])?;
    /// assert_eq!(t.to_string(), "[[ 0.8773805 ]\n [ 0.3983569 ]\n [-0.34608656]]");
    /// let t = Array::from_vec(vec![1.0f32, 2.5], &[2])?;
    /// assert_eq!(t.to_string(), "[1.  2.5]");
    /// # Ok::<(), tapegrad_tensor::TensorError>(())
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.repr() {
            Repr::F32(a) => format_array(&a.view(), f),
            Repr::F64(a) => format_array(&a.view(), f),
        }
    }
}
