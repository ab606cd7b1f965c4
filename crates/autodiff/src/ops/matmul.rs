//! `matmul` of rank-2 tensors with optional transposes; TensorFlow's `_MatMulGrad`.

use crate::op::{record2, Backward, Op, OpRef};
use crate::tensor::resolve_pair;
use crate::{IntoOperand, Result, Tensor};

struct MatMul {
    ta: bool,
    tb: bool,
}

impl MatMul {
    /// The op as a `'static` constant (recording it allocates nothing).
    fn of(ta: bool, tb: bool) -> &'static MatMul {
        match (ta, tb) {
            (false, false) => &MatMul {
                ta: false,
                tb: false,
            },
            (false, true) => &MatMul {
                ta: false,
                tb: true,
            },
            (true, false) => &MatMul {
                ta: true,
                tb: false,
            },
            (true, true) => &MatMul { ta: true, tb: true },
        }
    }
}

impl Op for MatMul {
    fn name(&self) -> String {
        format!("MatMul(transpose_a={}, transpose_b={})", self.ta, self.tb)
    }
    fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
        let (a, w, g) = (&b.inputs[0], &b.inputs[1], b.grad);
        // each product only when its input needs a gradient: for a layer's input (data, not
        // watched) `g · wᵀ` would be a batch × features array computed for nothing
        let ga = match (b.needs[0], self.ta, self.tb) {
            (false, _, _) => None,
            (true, false, false) => Some(matmul_t(g, w, false, true)?),
            (true, false, true) => Some(matmul_t(g, w, false, false)?),
            (true, true, false) => Some(matmul_t(w, g, false, true)?),
            (true, true, true) => Some(matmul_t(w, g, true, true)?),
        };
        let gb = match (b.needs[1], self.ta, self.tb) {
            (false, _, _) => None,
            (true, false, false) => Some(matmul_t(a, g, true, false)?),
            (true, false, true) => Some(matmul_t(g, a, true, false)?),
            (true, true, false) => Some(matmul_t(a, g, false, false)?),
            (true, true, true) => Some(matmul_t(g, a, true, true)?),
        };
        out.extend([ga, gb]);
        Ok(())
    }
}

/// Matrix product of two rank-2 tensors (`tf.matmul(a, b)`).
///
/// ```
/// use tapegrad_autodiff::{matmul, Tensor};
/// let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[1, 3])?;
/// let w = Tensor::from_vec(vec![1.0f32, 1.0, 1.0], &[3, 1])?;
/// assert_eq!(matmul(&x, &w)?.to_vec::<f32>()?, vec![6.0]);
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
pub fn matmul(a: impl IntoOperand, b: impl IntoOperand) -> Result<Tensor> {
    matmul_t(a, b, false, false)
}

/// Matrix product with transposes (`tf.matmul(a, b, transpose_a, transpose_b)`).
pub fn matmul_t(
    a: impl IntoOperand,
    b: impl IntoOperand,
    transpose_a: bool,
    transpose_b: bool,
) -> Result<Tensor> {
    let (a, b) = resolve_pair(a, b)?;
    let value = a.value().matmul(b.value(), transpose_a, transpose_b)?;
    let op = || OpRef::Static(MatMul::of(transpose_a, transpose_b));
    Ok(record2(op, a, b, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::check;

    #[test]
    fn gradients_pass_the_checker_for_every_transpose() -> Result<()> {
        check(&[&[2, 3], &[3, 4]], |v| {
            matmul_t(&v[0], &v[1], false, false)
        })?;
        check(&[&[3, 2], &[3, 4]], |v| matmul_t(&v[0], &v[1], true, false))?;
        check(&[&[2, 3], &[4, 3]], |v| matmul_t(&v[0], &v[1], false, true))?;
        check(&[&[3, 2], &[4, 3]], |v| matmul_t(&v[0], &v[1], true, true))?;
        Ok(())
    }

    #[test]
    fn inner_dimension_mismatch_is_an_error() {
        let a = Tensor::zeros(tapegrad_tensor::DType::F32, &[2, 3]);
        let e = matmul(&a, &a).unwrap_err().to_string();
        assert!(e.contains("matmul") && e.contains("[2, 3]"), "{e}");
    }
}
