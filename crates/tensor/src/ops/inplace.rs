//! In-place updates of a tensor's elements (copy-on-write): the assignments, the SGD step, the
//! bias add and mutable access to the elements.

use ndarray::{ArrayD, Zip};

use super::layout::{row_major, row_major_mut};
use crate::kernels;
use crate::tensor::Repr;
use crate::{Array, Element, Result, TensorError};

impl Array {
    /// `self -= other` in place; shapes and dtypes must be equal (a variable's `assign_sub`).
    /// Copies the buffer first only if it is shared.
    ///
    /// ```
    /// use tapegrad_tensor::Array;
    /// let mut v = Array::scalar(1.0f32);
    /// v.assign_sub(&Array::scalar(0.25f32))?;
    /// assert_eq!(v.item()?, 0.75);
    /// # Ok::<(), tapegrad_tensor::TensorError>(())
    /// ```
    pub fn assign_sub(&mut self, other: &Array) -> Result<()> {
        self.update_with("assign_sub", other, Update::Sub)
    }

    /// `self += other` in place; shapes and dtypes must be equal.
    pub fn assign_add(&mut self, other: &Array) -> Result<()> {
        self.update_with("assign_add", other, Update::Add)
    }

    /// `self = other` in place; shapes and dtypes must be equal.
    pub fn assign(&mut self, other: &Array) -> Result<()> {
        self.update_with("assign", other, Update::Set)
    }

    /// Adds `bias` to every row in place: `self[.., j] += bias[j]` (`tf.nn.bias_add` written
    /// into `self`; copy-on-write). `bias` has rank 1, `self`'s dtype, and the length of
    /// `self`'s last axis. Each element is `x + bias[j]` rounded once, as [`Array::add`]
    /// computes it.
    ///
    /// ```
    /// use tapegrad_tensor::Array;
    /// let mut y = Array::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
    /// y.bias_add_assign(&Array::from_vec(vec![10.0f32, 20.0], &[2])?)?;
    /// assert_eq!(y.to_vec::<f32>()?, vec![11.0, 22.0, 13.0, 24.0]);
    /// assert!(y.bias_add_assign(&Array::from_vec(vec![1.0f32; 3], &[3])?).is_err());
    /// # Ok::<(), tapegrad_tensor::TensorError>(())
    /// ```
    pub fn bias_add_assign(&mut self, bias: &Array) -> Result<()> {
        if crate::trace::recording() {
            return crate::trace::in_place("bias_add", self, bias, |t, b| t.bias_add_assign(b));
        }
        if self.dtype() != bias.dtype() {
            return Err(TensorError::DType {
                op: "bias_add",
                lhs: self.dtype(),
                rhs: bias.dtype(),
            });
        }
        if bias.rank() != 1 || self.shape().last() != Some(&bias.len()) {
            return Err(TensorError::Shape {
                op: "bias_add",
                message: "the bias must have rank 1 and the length of the value's last axis".into(),
                shapes: vec![self.shape().to_vec(), bias.shape().to_vec()],
            });
        }
        fn apply<T: Element>(a: &mut ArrayD<T>, b: &ArrayD<T>) {
            // `repr_mut` has made the array unique (copy-on-write).
            if let (Some(bs), Some(xs)) = (row_major(b), row_major_mut(a)) {
                if !bs.is_empty() {
                    for row in xs.chunks_exact_mut(bs.len()) {
                        kernels::update(row, bs, |x, y| x + y);
                    }
                }
                return;
            }
            Zip::from(a).and_broadcast(b).for_each(|x, &y| *x = *x + y);
        }
        match (self.repr_mut(), bias.repr()) {
            (Repr::F32(a), Repr::F32(b)) => apply(a, b),
            (Repr::F64(a), Repr::F64(b)) => apply(a, b),
            // the dtypes were checked above
            _ => {}
        }
        Ok(())
    }

    /// `self -= alpha * other` in place (the SGD update), shapes and dtypes equal.
    pub fn assign_sub_scaled(&mut self, alpha: f64, other: &Array) -> Result<()> {
        self.update_with("assign_sub", other, Update::SubScaled(alpha))
    }

    /// The elements in row-major order, mutably, when the dtype is `T`: the in-place
    /// elementwise update optimizers need (`m`, `v` and the variable advanced in one pass, no
    /// temporary). The buffer is copied first only when another tensor shares it.
    ///
    /// ```
    /// use tapegrad_tensor::Array;
    /// let mut w = Array::from_vec(vec![1.0f32, 2.0], &[2])?;
    /// let g = [0.5f32, 0.25];
    /// for (w, g) in w.elements_mut::<f32>()?.iter_mut().zip(g) {
    ///     *w -= 0.1 * g;
    /// }
    /// assert_eq!(w.to_vec::<f32>()?, vec![0.95, 1.975]);
    /// assert!(w.elements_mut::<f64>().is_err());
    /// # Ok::<(), tapegrad_tensor::TensorError>(())
    /// ```
    pub fn elements_mut<T: Element>(&mut self) -> Result<&mut [T]> {
        crate::trace::read(self, "elements_mut");
        fn slice<T: Element>(a: &mut ArrayD<T>) -> &mut [T] {
            if !a.is_standard_layout() {
                *a = a.as_standard_layout().into_owned();
            }
            // `repr_mut` has made the array unique (copy-on-write)
            a.as_slice_mut().unwrap_or_default()
        }
        self.array_mut_in("elements_mut").map(slice)
    }

    fn update_with(&mut self, op: &'static str, other: &Array, kind: Update) -> Result<()> {
        if crate::trace::recording() {
            return crate::trace::in_place(op, self, other, move |t, o| t.update_with(op, o, kind));
        }
        self.check_same(op, other)?;
        fn apply<T: Element>(a: &mut ArrayD<T>, b: &ArrayD<T>, kind: Update) {
            // `repr_mut` has made the array unique (copy-on-write).
            if let (Some(ys), Some(xs)) = (row_major(b), row_major_mut(a)) {
                match kind {
                    Update::Set => xs.copy_from_slice(ys),
                    Update::Add => kernels::update(xs, ys, |x, y| x + y),
                    Update::Sub => kernels::update(xs, ys, |x, y| x - y),
                    Update::SubScaled(alpha) => {
                        let k = T::from_f64(alpha);
                        kernels::update(xs, ys, move |x, y| x - y * k)
                    }
                }
                return;
            }
            match kind {
                Update::Set => a.assign(b),
                Update::Add => Zip::from(a).and(b).for_each(|x, &y| *x = *x + y),
                Update::Sub => Zip::from(a).and(b).for_each(|x, &y| *x = *x - y),
                Update::SubScaled(alpha) => {
                    let k = T::from_f64(alpha);
                    Zip::from(a).and(b).for_each(|x, &y| *x = *x - y * k)
                }
            }
        }
        match (self.repr_mut(), other.repr()) {
            (Repr::F32(a), Repr::F32(b)) => apply(a, b, kind),
            (Repr::F64(a), Repr::F64(b)) => apply(a, b, kind),
            // `check_same` has already rejected mixed dtypes.
            _ => {}
        }
        Ok(())
    }

    fn check_same(&self, op: &'static str, other: &Array) -> Result<()> {
        if self.dtype() != other.dtype() {
            return Err(TensorError::DType {
                op,
                lhs: self.dtype(),
                rhs: other.dtype(),
            });
        }
        if !self.has_shape(other.shape()) {
            return Err(TensorError::Shape {
                op,
                message: "shapes must be equal".into(),
                shapes: vec![self.shape().to_vec(), other.shape().to_vec()],
            });
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Update {
    Set,
    Add,
    Sub,
    SubScaled(f64),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bias_add_assign_is_add_in_place_for_every_layout_and_leaves_clones_alone() -> Result<()> {
        use crate::DType;
        use ndarray::ShapeBuilder;
        let values: Vec<f64> = (0..12)
            .map(|i| (i as f64 * 0.77).sin() * 1e3 + 0.1)
            .collect();
        let bias: Vec<f64> = (0..4).map(|j| (j as f64 * 1.3).cos() / 3.0).collect();
        // row-major, and column-major (the general path)
        let c = Array::from_vec(values.clone(), &[3, 4])?;
        let f = Array::from_array(
            ndarray::Array2::from_shape_vec((3, 4).f(), values.clone()).expect("12 values"),
        );
        for dtype in [DType::F32, DType::F64] {
            let b = Array::from_vec(bias.clone(), &[4])?.cast(dtype);
            for x in [&c, &f] {
                let x = x.cast(dtype);
                let expected = x.add(&b)?;
                let mut y = x.clone();
                y.bias_add_assign(&b)?;
                let bits = |t: &Array| -> Result<Vec<u64>> {
                    Ok(t.cast(DType::F64)
                        .to_vec::<f64>()?
                        .iter()
                        .map(|v| v.to_bits())
                        .collect())
                };
                assert_eq!(bits(&y)?, bits(&expected)?);
                // the clone it was made from is unchanged (copy-on-write)
                assert_ne!(bits(&x)?, bits(&y)?);
            }
        }
        let mut y = c.clone();
        let wrong = [
            Array::from_vec(vec![1.0f64; 3], &[3])?,
            Array::from_vec(vec![1.0f64; 4], &[1, 4])?,
            Array::from_vec(vec![1.0f32; 4], &[4])?,
        ];
        for b in &wrong {
            let e = y.bias_add_assign(b).unwrap_err().to_string();
            assert!(e.contains("bias_add"), "{e}");
        }
        assert_eq!(y.to_vec::<f64>()?, values);
        Ok(())
    }

    #[test]
    fn in_place_updates_copy_a_shared_buffer() -> Result<()> {
        let mut v = Array::from_vec(vec![1.0f32, 2.0], &[2])?;
        let before = v.clone();
        v.assign_sub_scaled(0.5, &before)?;
        assert_eq!(v.to_vec::<f32>()?, vec![0.5, 1.0]);
        assert_eq!(before.to_vec::<f32>()?, vec![1.0, 2.0]);
        let mean = Array::from_vec(vec![1.0f64, 2.0, 4.0], &[3])?.mean(None, true)?;
        assert_eq!((mean.shape(), mean.item()?), (&[1usize][..], 7.0 / 3.0));
        Ok(())
    }
}
