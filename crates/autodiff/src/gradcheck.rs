//! A gradient checker: the tape's gradients against central differences, in `f64`.
//!
//! Tests use it for every op; you can use it for your own functions.
//!
//! ```
//! use tapegrad_autodiff::gradcheck::{check_gradients, CheckOptions};
//! use tapegrad_autodiff::Tensor;
//! let x = Tensor::from_vec(vec![0.5, -1.0, 2.0], &[3])?;
//! let report = check_gradients(
//!     |v| tapegrad_autodiff::mul(tapegrad_autodiff::square(&v[0])?, &v[0]),
//!     &[x],
//!     CheckOptions::default(),
//! )?;
//! assert!(report.passed, "{report:?}");
//! # Ok::<(), tapegrad_autodiff::Error>(())
//! ```

use tapegrad_tensor as tt;
use tt::DType;

use crate::{Error, GradientTape, Result, Tensor};

/// Step and tolerances of [`check_gradients`].
#[derive(Debug, Clone, Copy)]
pub struct CheckOptions {
    /// Central-difference step.
    pub eps: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance (of the numeric value).
    pub rtol: f64,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            eps: 1e-6,
            atol: 1e-6,
            rtol: 1e-5,
        }
    }
}

/// What [`check_gradients`] found.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// True when every element is inside the tolerances.
    pub passed: bool,
    /// Largest `|analytic - numeric|`.
    pub max_abs_error: f64,
    /// `(input, flat index, analytic, numeric)` of the worst element, if any.
    pub worst: Option<(usize, usize, f64, f64)>,
}

/// The numeric gradient of `sum(f(inputs))` with respect to input `which`, by central
/// differences in `f64`.
pub fn numeric_gradient(
    f: &impl Fn(&[Tensor]) -> Result<Tensor>,
    inputs: &[Tensor],
    which: usize,
    eps: f64,
) -> Result<Vec<f64>> {
    let base: Vec<tt::Array> = inputs.iter().map(|t| t.value().cast(DType::F64)).collect();
    let x = base.get(which).ok_or(Error::Invalid {
        op: "numeric_gradient",
        message: format!("input {which} does not exist ({} inputs)", inputs.len()),
    })?;
    let data = x.to_vec::<f64>()?;
    let shape = x.shape().to_vec();
    let eval = |data: Vec<f64>| -> Result<f64> {
        let mut args: Vec<Tensor> = base.iter().cloned().map(Tensor::new).collect();
        args[which] = Tensor::new(tt::Array::from_vec(data, &shape)?);
        let y = f(&args)?;
        Ok(y.value().cast(DType::F64).to_vec::<f64>()?.iter().sum())
    };
    (0..data.len())
        .map(|i| {
            let mut plus = data.clone();
            plus[i] += eps;
            let mut minus = data.clone();
            minus[i] -= eps;
            Ok((eval(plus)? - eval(minus)?) / (2.0 * eps))
        })
        .collect()
}

/// The numeric Jacobian of `f` at `x`: shape `f(x).shape + x.shape`, by central differences.
pub fn numeric_jacobian(
    f: &impl Fn(&Tensor) -> Result<Tensor>,
    x: &tt::Array,
    eps: f64,
) -> Result<tt::Array> {
    let x = x.cast(DType::F64);
    let data = x.to_vec::<f64>()?;
    let y0 = f(&Tensor::new(x.clone()))?;
    let (m, n) = (y0.len(), data.len());
    let mut jac = vec![0.0; m * n];
    for j in 0..n {
        let at = |d: f64| -> Result<Vec<f64>> {
            let mut v = data.clone();
            v[j] += d;
            let y = f(&Tensor::new(tt::Array::from_vec(v, x.shape())?))?;
            Ok(y.value().cast(DType::F64).to_vec::<f64>()?)
        };
        let (p, q) = (at(eps)?, at(-eps)?);
        for i in 0..m {
            jac[i * n + j] = (p[i] - q[i]) / (2.0 * eps);
        }
    }
    let mut shape = y0.shape().to_vec();
    shape.extend_from_slice(x.shape());
    Ok(tt::Array::from_vec(jac, &shape)?)
}

/// Compares the tape's gradients of `sum(f(inputs))` with central differences, in `f64`.
/// Also fails when a gradient is missing or has a shape other than its input's.
pub fn check_gradients(
    f: impl Fn(&[Tensor]) -> Result<Tensor>,
    inputs: &[Tensor],
    options: CheckOptions,
) -> Result<CheckReport> {
    let args: Vec<Tensor> = inputs
        .iter()
        .map(|t| Tensor::new(t.value().cast(DType::F64)))
        .collect();
    let tape = GradientTape::new();
    for a in &args {
        tape.watch(a);
    }
    let y = f(&args)?;
    let grads = tape.gradient(&y, &args)?;
    let mut report = CheckReport {
        passed: true,
        max_abs_error: 0.0,
        worst: None,
    };
    for (i, (g, x)) in grads.iter().zip(&args).enumerate() {
        let numeric = numeric_gradient(&f, inputs, i, options.eps)?;
        let analytic = match g {
            Some(g) if g.shape() == x.shape() => g.value().cast(DType::F64).to_vec::<f64>()?,
            Some(g) => {
                return Err(Error::Invalid {
                    op: "check_gradients",
                    message: format!(
                        "gradient of input {i} has shape {:?}, the input {:?}",
                        g.shape(),
                        x.shape()
                    ),
                })
            }
            None => vec![0.0; x.len()],
        };
        for (k, (&a, &n)) in analytic.iter().zip(&numeric).enumerate() {
            let err = (a - n).abs();
            if err.is_nan() || err > options.atol + options.rtol * n.abs() {
                report.passed = false;
            }
            if err.is_nan() || err >= report.max_abs_error {
                report.max_abs_error = if err.is_nan() { f64::INFINITY } else { err };
                report.worst = Some((i, k, a, n));
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_gradient_fails() -> Result<()> {
        // floor-like function whose tape gradient (sign, 0) differs from the numeric slope (1).
        let x = [Tensor::from_vec(vec![0.5, 1.5], &[2])?];
        let r = check_gradients(
            |v| crate::add(crate::sign(&v[0])?, &crate::stop_gradient(&v[0])?),
            &x,
            CheckOptions::default(),
        )?;
        assert!(!r.passed);
        assert!((r.max_abs_error - 1.0).abs() < 1e-6);
        Ok(())
    }
}
