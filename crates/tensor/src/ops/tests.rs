//! Tests that cross the modules' concerns, and the awkward values the modules' tests share.

use super::*;
use crate::broadcast::broadcast_shape;
use crate::{Array, Result};
use ndarray::{Axis, IxDyn, Zip};

#[test]
fn large_kernels_equal_the_portable_loops_on_one_thread() -> Result<()> {
    use crate::kernels::portable;
    // every NaN as one value (which of two NaN operands comes out is left open; see the
    // kernels' tests)
    let bits = |v: &[f32]| {
        v.iter()
            .map(|x| if x.is_nan() { u32::MAX } else { x.to_bits() })
            .collect::<Vec<_>>()
    };
    for r in 0..8 {
        let n = PARALLEL_MIN_ELEMENTS * 2 + REDUCTION_CHUNK / 3 + r;
        let mut xs = values(n);
        let mut ys: Vec<f32> = values(n + 5)[5..].to_vec();
        for (i, s) in [f32::NAN, -0.0, 0.0, f32::INFINITY, f32::NEG_INFINITY]
            .into_iter()
            .enumerate()
        {
            xs[n - 1 - 3 * i] = s;
            ys[n - 2 - 5 * i] = s;
        }
        let (x, y) = (
            Array::from_vec(xs.clone(), &[n])?,
            Array::from_vec(ys.clone(), &[n])?,
        );
        let plain = |f: &dyn Fn(f32, f32) -> f32| -> Vec<f32> {
            let mut out = Vec::with_capacity(n);
            // SAFETY: `map2` writes one element per pair, `n` in all.
            unsafe {
                portable::map2(&mut out.spare_capacity_mut()[..n], &xs, &ys, f);
                out.set_len(n);
            }
            out
        };
        assert_eq!(
            bits(&x.sub(&y)?.to_vec::<f32>()?),
            bits(&plain(&|a, b| a - b))
        );
        assert_eq!(
            bits(&x.zip(&y, MulTwice)?.to_vec::<f32>()?),
            bits(&plain(&|a, b| a * (b * 2.0)))
        );
        let ys0 = Array::scalar(ys[0]);
        assert_eq!(
            bits(&ys0.broadcast_to(&[n])?.to_vec::<f32>()?),
            bits(&vec![ys[0]; n])
        );
        let clipped: Vec<f32> = xs.iter().map(|&x| x.clamp(-0.25, 0.5)).collect();
        assert_eq!(bits(&x.clip(-0.25, 0.5).to_vec::<f32>()?), bits(&clipped));
        assert_eq!(
            bits(&ys0.mul(&x)?.to_vec::<f32>()?),
            bits(&plain(&|a, _| ys[0] * a))
        );
        // the sums: chunks in the portable order, added left to right on this thread
        let chunked = |v: &[f32]| {
            v.chunks(REDUCTION_CHUNK)
                .map(portable::sum)
                .fold(0.0f32, |acc, s| acc + s)
        };
        let finite: Vec<f32> = values(n);
        let t = Array::from_vec(finite.clone(), &[n])?;
        assert_eq!(
            t.sum(None, false)?.item()?.to_bits(),
            f64::from(chunked(&finite)).to_bits()
        );
        assert_eq!(
            bits(&x.sum(None, false)?.to_vec::<f32>()?),
            bits(&[chunked(&xs)])
        );
        let dots = xs
            .chunks(REDUCTION_CHUNK)
            .zip(ys.chunks(REDUCTION_CHUNK))
            .map(|(a, b)| portable::dot(a, b))
            .fold(0.0f32, |acc, s| acc + s);
        assert_eq!(
            bits(&x.mul_sum_to_shape(&y, &[])?.to_vec::<f32>()?),
            bits(&[dots])
        );
    }
    Ok(())
}

/// Awkward values, so that any change of summation order shows in the bits.
pub(super) fn values(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7919 % 1000) as f32 - 500.0) * 1.37e-3 + 1e4 * (i % 3) as f32)
        .collect()
}

#[test]
fn fast_paths_equal_the_general_broadcast() -> Result<()> {
    let a = Array::from_vec(values(12), &[4, 3])?;
    let row = Array::from_vec(values(3), &[3])?;
    let one = Array::from_vec(vec![0.75f32], &[1, 1])?;
    let general = |x: &Array, y: &Array| -> Result<Vec<f32>> {
        let shape = broadcast_shape("test", x.shape(), y.shape())?;
        let xv = x.view::<f32>()?;
        let yv = y.view::<f32>()?;
        let (xb, yb) = (
            xv.broadcast(IxDyn(&shape)).unwrap(),
            yv.broadcast(IxDyn(&shape)).unwrap(),
        );
        Ok(Zip::from(&xb)
            .and(&yb)
            .map_collect(|&p, &q| p - q)
            .iter()
            .copied()
            .collect())
    };
    for (x, y) in [(&a, &row), (&row, &a), (&a, &one), (&one, &a), (&a, &a)] {
        assert_eq!(x.sub(y)?.to_vec::<f32>()?, general(x, y)?);
    }
    // Summing a batch of rows back to one row: rows first to last, as ndarray's sum_axis.
    let expected = a.view::<f32>()?.sum_axis(Axis(0));
    assert_eq!(a.sum_to_shape(&[3])?.view::<f32>()?, expected);
    assert_eq!(
        Array::zeros(crate::DType::F32, &[0, 3])?
            .sum_to_shape(&[3])?
            .to_vec::<f32>()?,
        vec![0.0; 3]
    );
    Ok(())
}

#[test]
fn fused_kernels_equal_the_two_steps() -> Result<()> {
    for n in [1, 7, 8, 50, 1001] {
        let x = Array::from_vec(values(n), &[n])?;
        let g = Array::from_vec(values(n + 3)[3..].to_vec(), &[n])?;
        let two_steps = x.mul(&g)?.sum_to_shape(&[])?;
        assert!(x.mul_sum_to_shape(&g, &[])?.equals(&two_steps), "n = {n}");
        let sign = x.map(Sign);
        assert!(g.zip(&x, MulSign)?.equals(&g.mul(&sign)?));
        let two = Array::scalar(2.0f32);
        assert!(g.zip(&x, MulTwice)?.equals(&g.mul(&x.mul(&two)?)?));
        let mask = x.map(PositiveMask);
        assert!(g.zip(&x, MulPositiveMask)?.equals(&g.mul(&mask)?));
    }
    // -0 and NaN where the mask is 0, as the two steps give them
    let g = Array::from_vec(vec![-1.0f32, f32::INFINITY, f32::NAN, 2.0], &[4])?;
    let y = Array::from_vec(vec![-1.0f32, -1.0, -1.0, 0.0], &[4])?;
    let fused = g.zip(&y, MulPositiveMask)?.to_vec::<f32>()?;
    let two_steps = g.mul(&y.map(PositiveMask))?.to_vec::<f32>()?;
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&fused), bits(&two_steps));
    let m = Array::from_vec(values(6), &[2, 3])?;
    let r = Array::from_vec(values(3), &[3])?;
    assert!(m
        .mul_sum_to_shape(&r, &[3])?
        .equals(&m.mul(&r)?.sum_to_shape(&[3])?));
    Ok(())
}
