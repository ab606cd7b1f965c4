//! `matmul` of rank-2 tensors with optional transposes; TensorFlow's `_MatMulGrad`. And
//! `matmul_bias_add`, a product and a bias added as one op (a Dense layer's).

use crate::op::{unbroadcast, Backward, Op};
use crate::tape::{record2, record3, OpRef};
use crate::tensor::{resolve, resolve_pair};
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
    fn rule(&self) -> &'static str {
        "d(A B)/dA = g B^T, d(A B)/dB = A^T g"
    }
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
    let (a, b) = resolve_pair("matmul", a, b)?;
    let value = a.value().matmul(b.value(), transpose_a, transpose_b)?;
    let op = || OpRef::Static(MatMul::of(transpose_a, transpose_b));
    Ok(record2(op, a, b, value))
}

/// `matmul(a, b) + bias` as one op.
struct MatMulBiasAdd;

impl Op for MatMulBiasAdd {
    fn rule(&self) -> &'static str {
        "d(A B + c)/dA = g B^T, d/dB = A^T g, d/dc = g summed over the rows"
    }
    fn name(&self) -> String {
        "MatMulBiasAdd".into()
    }
    fn backward(&self, b: &Backward<'_>, out: &mut Vec<Option<Tensor>>) -> Result<()> {
        let (a, w, bias, g) = (&b.inputs[0], &b.inputs[1], &b.inputs[2], b.grad);
        // the gradients of the two ops: `MatMul`'s (without transposes) of the sum's gradient,
        // which passes unchanged, and `Add`'s of the bias: `g` summed over the rows
        let ga = b.needs[0]
            .then(|| matmul_t(g, w, false, true))
            .transpose()?;
        let gw = b.needs[1]
            .then(|| matmul_t(a, g, true, false))
            .transpose()?;
        let gbias = b.needs[2]
            .then(|| unbroadcast(g.clone(), bias.shape()))
            .transpose()?;
        out.extend([ga, gw, gbias]);
        Ok(())
    }
}

/// `tf.nn.bias_add(tf.matmul(a, b), bias)`, what a Dense layer computes, as one recorded op:
/// the same values and gradients, bit for bit, as [`matmul`] then [`crate::add`], with one
/// tensor, one record and one backward call fewer (TensorFlow's graph optimizer fuses the two
/// into `_FusedMatMul`; PyTorch's `Linear` calls `addmm`). `a` and `b` have rank 2, `bias`
/// rank 1 and `b`'s number of columns.
///
/// ```
/// use tapegrad_autodiff::{matmul_bias_add, GradientTape, Tensor, Variable};
/// let x = Tensor::from_vec(vec![1.0f32, 2.0], &[1, 2])?;
/// let w = Variable::new(tapegrad_tensor::Array::from_vec(vec![3.0f32, 4.0], &[2, 1])?);
/// let b = Variable::new(tapegrad_tensor::Array::from_vec(vec![0.5f32], &[1])?);
/// let tape = GradientTape::new();
/// let y = matmul_bias_add(&x, &w, &b)?;
/// assert_eq!(y.to_vec::<f32>()?, vec![11.5]);
/// let g = tape.gradient(&y, &[&w, &b])?;
/// assert_eq!(g[0].as_ref().unwrap().to_vec::<f32>()?, vec![1.0, 2.0]);
/// assert_eq!(g[1].as_ref().unwrap().to_vec::<f32>()?, vec![1.0]);
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
pub fn matmul_bias_add(
    a: impl IntoOperand,
    b: impl IntoOperand,
    bias: impl IntoOperand,
) -> Result<Tensor> {
    let (a, b) = resolve_pair("matmul_bias_add", a, b)?;
    let bias = resolve(bias)?;
    let mut value = a.value().matmul(b.value(), false, false)?;
    // the product is new and unshared: the bias is added in place, rounded as `add` rounds
    value.bias_add_assign(bias.value())?;
    Ok(record3(
        || OpRef::Static(&MatMulBiasAdd),
        [a, b, bias],
        value,
    ))
}

impl Tensor {
    /// [`matmul`] as a method (`x.matmul(&w)?`).
    ///
    /// ```
    /// use tapegrad_autodiff::Tensor;
    /// let x = Tensor::from_vec(vec![1.0f32, 2.0], &[1, 2])?;
    /// let w = Tensor::from_vec(vec![3.0f32, 4.0], &[2, 1])?;
    /// assert_eq!(x.matmul(&w)?.to_vec::<f32>()?, vec![11.0]);
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    pub fn matmul(&self, b: impl IntoOperand) -> Result<Tensor> {
        matmul(self, b)
    }
}

/// This module's entries of the op table ([`crate::op_table`]).
pub(crate) const OPS: &[crate::ops::OpEntry] = {
    use crate::ops::OpEntry as E;
    &[
        E::new("matmul", &[&[2, 3], &[3, 2]], crate::Domain::Any, |x| {
            matmul(&x[0], &x[1])
        }),
        E::new(
            "matmul_t(a, b^T)",
            &[&[2, 3], &[2, 3]],
            crate::Domain::Any,
            |x| matmul_t(&x[0], &x[1], false, true),
        ),
        E::new(
            "matmul_bias_add",
            &[&[2, 3], &[3, 2], &[2]],
            crate::Domain::Any,
            |x| matmul_bias_add(&x[0], &x[1], &x[2]),
        ),
    ]
};

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
    fn matmul_bias_add_passes_the_checker() -> Result<()> {
        check(&[&[2, 3], &[3, 4], &[4]], |v| {
            matmul_bias_add(&v[0], &v[1], &v[2])
        })
    }

    #[test]
    fn matmul_bias_add_equals_matmul_then_add_bit_for_bit() -> Result<()> {
        use crate::{add, mul, reduce_sum, square, GradientTape};
        use tapegrad_tensor as tt;
        let ramp = |shape: &[usize], k: f64| -> Result<Tensor> {
            let n = shape.iter().product::<usize>();
            let v: Vec<f64> = (0..n)
                .map(|i| ((i as f64 + k) * 0.731).sin() * 1.7)
                .collect();
            Tensor::from_vec(v, shape)
        };
        for dtype in [tt::DType::F32, tt::DType::F64] {
            let cast = |t: Tensor| Tensor::new(t.value().cast(dtype));
            let (x, w, b) = (
                cast(ramp(&[5, 3], 0.0)?),
                cast(ramp(&[3, 4], 1.0)?),
                cast(ramp(&[4], 2.0)?),
            );
            // values, first gradients (an outer tape recording the backward or not), and the
            // gradients of a first gradient (the backward's recorded ops)
            let run = |fused: bool, outer: bool| -> Result<Vec<Vec<u64>>> {
                let outer = outer.then(GradientTape::persistent);
                if let Some(t) = &outer {
                    for v in [&x, &w, &b] {
                        t.watch(v);
                    }
                }
                let tape = GradientTape::new();
                for v in [&x, &w, &b] {
                    tape.watch(v);
                }
                let y = if fused {
                    matmul_bias_add(&x, &w, &b)?
                } else {
                    add(matmul(&x, &w)?, &b)?
                };
                let loss = reduce_sum(mul(square(&y)?, 0.5)?, None, false)?;
                let mut out = vec![y.clone()];
                let grads = tape.gradient(&loss, &[&x, &w, &b])?;
                out.extend(grads.iter().map(|g| g.clone().expect("connected")));
                if let Some(t) = &outer {
                    let gw = reduce_sum(square(out[2].clone())?, None, false)?;
                    let second = t.gradient(&gw, &[&x, &w, &b])?;
                    out.extend(second.into_iter().flatten());
                }
                out.iter()
                    .map(|t| {
                        let v = t.value().cast(tt::DType::F64).to_vec::<f64>()?;
                        Ok(v.iter().map(|v| v.to_bits()).collect())
                    })
                    .collect()
            };
            for outer in [false, true] {
                let fused = run(true, outer)?;
                assert_eq!(fused.len(), if outer { 7 } else { 4 });
                assert_eq!(fused, run(false, outer)?, "{dtype} outer={outer}");
            }
        }
        Ok(())
    }

    #[test]
    fn matmul_bias_add_rejects_a_bias_of_another_length_or_rank() {
        let a = Tensor::zeros(tapegrad_tensor::DType::F32, &[2, 3]).unwrap();
        let w = Tensor::zeros(tapegrad_tensor::DType::F32, &[3, 4]).unwrap();
        for shape in [&[3][..], &[1, 4], &[]] {
            let bias = Tensor::zeros(tapegrad_tensor::DType::F32, shape).unwrap();
            let e = matmul_bias_add(&a, &w, &bias).unwrap_err().to_string();
            assert!(e.contains("bias_add") && e.contains("[2, 4]"), "{e}");
        }
    }

    #[test]
    fn inner_dimension_mismatch_is_an_error() {
        let a = Tensor::zeros(tapegrad_tensor::DType::F32, &[2, 3]).unwrap();
        let e = matmul(&a, &a).unwrap_err().to_string();
        assert!(e.contains("matmul") && e.contains("[2, 3]"), "{e}");
    }
}
