//! Test helpers: gradient checks on deterministic inputs.

use tapegrad_tensor as tt;

use crate::gradcheck::{check_gradients, CheckOptions};
use crate::{Error, Result, Tensor};

/// Deterministic inputs in about [-1.5, 1.5], different per input and element.
pub(crate) fn inputs(shapes: &[&[usize]]) -> Vec<Tensor> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    shapes
        .iter()
        .map(|shape| {
            let n: usize = shape.iter().product();
            let data = (0..n)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    ((state >> 11) as f64 / (1u64 << 53) as f64) * 3.0 - 1.5
                })
                .collect();
            Tensor::new(tt::Array::from_vec(data, shape).expect("shape matches data"))
        })
        .collect()
}

pub(crate) fn check(shapes: &[&[usize]], f: impl Fn(&[Tensor]) -> Result<Tensor>) -> Result<()> {
    check_at(&inputs(shapes), f)
}

pub(crate) fn check_at(values: &[Tensor], f: impl Fn(&[Tensor]) -> Result<Tensor>) -> Result<()> {
    let report = check_gradients(f, values, CheckOptions::default())?;
    if report.passed {
        Ok(())
    } else {
        Err(Error::Invalid {
            op: "gradient check",
            message: format!(
                "{report:?} at shapes {:?}",
                values
                    .iter()
                    .map(|v| v.shape().to_vec())
                    .collect::<Vec<_>>()
            ),
        })
    }
}
