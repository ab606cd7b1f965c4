//! `cast` between float32 and float64, and `stop_gradient`.

use tapegrad_tensor::DType;

use crate::op::{Backward, Op};
use crate::tape::{record1, OpRef};
use crate::tensor::resolve;
use crate::{IntoOperand, Result, Tensor};

struct Cast {
    from: DType,
    to: DType,
}

impl Op for Cast {
    fn rule(&self) -> &'static str {
        "the gradient cast back to the input's dtype"
    }
    fn name(&self) -> String {
        format!("Cast({} -> {})", self.from, self.to)
    }
    fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
        out.push(Some(cast(b.grad, self.from)?));
        Ok(())
    }
}

/// `tf.cast(x, dtype)`; the gradient is cast back.
///
/// ```
/// use tapegrad_autodiff::{cast, Tensor};
/// use tapegrad_tensor::DType;
/// let x = Tensor::scalar(1.5f32);
/// assert_eq!(cast(&x, DType::F64)?.dtype(), DType::F64);
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
pub fn cast(x: impl IntoOperand, dtype: DType) -> Result<Tensor> {
    let x = resolve(x)?;
    if x.dtype() == dtype {
        return Ok(x);
    }
    let value = x.value().cast(dtype);
    let from = x.dtype();
    Ok(record1(|| OpRef::new(Cast { from, to: dtype }), x, value))
}

/// `tf.stop_gradient(x)`: the same value, and no tape sees through it.
///
/// ```
/// use tapegrad_autodiff::{stop_gradient, GradientTape, Tensor};
/// let x = Tensor::scalar(2.0f32);
/// let tape = GradientTape::new();
/// tape.watch(&x);
/// let y = (stop_gradient(&x)? * &x)?;
/// assert_eq!(tape.gradient(&y, &[&x])?[0].as_ref().unwrap().item()?, 2.0);
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
pub fn stop_gradient(x: impl IntoOperand) -> Result<Tensor> {
    let x = resolve(x)?;
    Ok(Tensor::new(x.value().clone()))
}

impl Tensor {
    /// [`cast`] as a method (`x.cast(DType::F64)?`).
    ///
    /// ```
    /// use tapegrad_autodiff::{DType, Tensor};
    /// assert_eq!(Tensor::scalar(1.5f32).cast(DType::F64)?.dtype(), DType::F64);
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    pub fn cast(&self, dtype: DType) -> Result<Tensor> {
        cast(self, dtype)
    }
    /// [`stop_gradient`] as a method.
    pub fn stop_gradient(&self) -> Result<Tensor> {
        stop_gradient(self)
    }
}

/// This module's entries of the op table ([`crate::op_table`]).
pub(crate) const OPS: &[crate::ops::OpEntry] = &[crate::ops::OpEntry::new(
    "cast(float32 to float64)",
    &[&[2, 3]],
    crate::Domain::Any,
    |x| cast(&x[0], crate::DType::F64),
)];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{check_gradients, CheckOptions};

    #[test]
    fn cast_round_trip_gradient() -> Result<()> {
        // The float32 leg rounds, so the numeric slope needs a wide step.
        let x = [crate::Tensor::from_vec(vec![0.3, -1.7, 2.2], &[3])?];
        let opts = CheckOptions {
            eps: 1e-2,
            atol: 1e-5,
            rtol: 1e-4,
        };
        let r = check_gradients(
            |v| crate::square(cast(cast(&v[0], DType::F32)?, DType::F64)?),
            &x,
            opts,
        )?;
        assert!(r.passed, "{r:?}");
        let tape = crate::GradientTape::new();
        let y = Tensor::scalar(1.0f32);
        tape.watch(&y);
        let z = cast(&y, DType::F64)?;
        assert_eq!(
            tape.gradient(&z, &[&y])?[0].as_ref().map(Tensor::dtype),
            Some(DType::F32)
        );
        Ok(())
    }
}
