//! Shape ops: broadcasting, transposing, reshaping, joining, slicing and padding, gathering and
//! scattering rows.

use ndarray::{ArrayD, Axis, Dimension, IxDyn, Slice};

use super::axes::{normalize_axes, normalize_axis};
use super::fill::fill_tensor;
use super::layout::{output_elements, row_major};
use crate::broadcast::broadcast_shape;
use crate::tensor::{map_array, Repr};
use crate::{pool, size};
use crate::{Array, Element, Result, TensorError};

impl Array {
    /// Broadcasts to `shape` (`tf.broadcast_to`), materialising the result.
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Array> {
        if crate::trace::recording() {
            let shape = shape.to_vec();
            return crate::trace::kernel("broadcast_to", &[self], move |a| {
                a[0].broadcast_to(&shape)
            });
        }
        if self.has_shape(shape) {
            return Ok(self.clone());
        }
        const OP: &str = "broadcast_to";
        if self.len() == 1 && self.rank() <= shape.len() {
            // one element (of rank at most the target's) broadcasts to every shape
            return match self.repr() {
                Repr::F32(a) => fill_tensor(OP, shape, a.iter().copied().next().unwrap_or(0.0)),
                Repr::F64(a) => fill_tensor(OP, shape, a.iter().copied().next().unwrap_or(0.0)),
            };
        }
        let err = || TensorError::Broadcast {
            op: OP,
            lhs: self.shape().to_vec(),
            rhs: shape.to_vec(),
        };
        if broadcast_shape(OP, self.shape(), shape)? != shape {
            return Err(err());
        }
        let n = size::element_count(OP, shape, self.dtype())?;
        fn expand<T: Element>(a: &ArrayD<T>, shape: &[usize], n: usize) -> Result<Array> {
            let view = a
                .broadcast(IxDyn(shape))
                .ok_or_else(|| TensorError::Broadcast {
                    op: OP,
                    lhs: a.shape().to_vec(),
                    rhs: shape.to_vec(),
                })?;
            let mut data = pool::try_take(OP, shape, n)?;
            // (a view iterates in row-major order)
            data.extend(view.iter().copied());
            Ok(T::wrap(pool::row_major_array(shape, data)))
        }
        match self.repr() {
            Repr::F32(a) => expand(a, shape, n),
            Repr::F64(a) => expand(a, shape, n),
        }
    }

    /// Permutes axes (`tf.transpose`); `None` reverses them.
    pub fn transpose(&self, perm: Option<&[usize]>) -> Result<Array> {
        if crate::trace::recording() {
            let perm = perm.map(<[usize]>::to_vec);
            return crate::trace::kernel("transpose", &[self], move |a| {
                a[0].transpose(perm.as_deref())
            });
        }
        let rank = self.rank();
        let perm: Vec<usize> = match perm {
            None => (0..rank).rev().collect(),
            Some(p) => p.to_vec(),
        };
        let mut seen = vec![false; rank];
        let valid = perm.len() == rank
            && perm
                .iter()
                .all(|&p| p < rank && !std::mem::replace(&mut seen[p], true));
        if !valid {
            return Err(TensorError::Invalid {
                op: "transpose",
                message: format!(
                    "{perm:?} is not a permutation of the axes of a tensor of shape {:?}",
                    self.shape()
                ),
            });
        }
        Ok(
            map_array!(self, a => a.view().permuted_axes(IxDyn(&perm)).as_standard_layout().into_owned()),
        )
    }

    /// Reshapes (`tf.reshape`); one entry may be `-1` and is inferred.
    ///
    /// ```
    /// use tapegrad_tensor::Array;
    /// let t = Array::from_vec(vec![1.0f32; 6], &[2, 3])?.reshape(&[-1, 2])?;
    /// assert_eq!(t.shape(), &[3, 2]);
    /// # Ok::<(), tapegrad_tensor::TensorError>(())
    /// ```
    pub fn reshape(&self, shape: &[isize]) -> Result<Array> {
        if crate::trace::recording() {
            let shape = shape.to_vec();
            return crate::trace::kernel("reshape", &[self], move |a| a[0].reshape(&shape));
        }
        let n = self.len();
        let bad = |message: String| TensorError::Shape {
            op: "reshape",
            message,
            shapes: vec![self.shape().to_vec()],
        };
        let unknown = shape.iter().filter(|&&d| d == -1).count();
        if unknown > 1 || shape.iter().any(|&d| d < -1) {
            return Err(bad(format!("invalid target shape {shape:?}")));
        }
        let known_dims: Vec<usize> = shape
            .iter()
            .filter(|&&d| d >= 0)
            .map(|&d| d as usize)
            .collect();
        let known = size::element_count("reshape", &known_dims, self.dtype())?;
        let dims: Vec<usize> = if unknown == 1 {
            if known == 0 || !n.is_multiple_of(known) {
                return Err(bad(format!("cannot reshape {n} elements to {shape:?}")));
            }
            shape
                .iter()
                .map(|&d| if d == -1 { n / known } else { d as usize })
                .collect()
        } else {
            shape.iter().map(|&d| d as usize).collect()
        };
        self.reshape_exact(&dims)
    }

    /// Reshapes to a fully known shape with the same number of elements.
    pub fn reshape_exact(&self, dims: &[usize]) -> Result<Array> {
        if crate::trace::recording() {
            let dims = dims.to_vec();
            return crate::trace::kernel("reshape", &[self], move |a| a[0].reshape_exact(&dims));
        }
        if size::element_count("reshape", dims, self.dtype())? != self.len() {
            return Err(TensorError::Shape {
                op: "reshape",
                message: format!("cannot reshape {} elements to {dims:?}", self.len()),
                shapes: vec![self.shape().to_vec()],
            });
        }
        if dims == self.shape() {
            return Ok(self.clone());
        }
        if self.len() < pool::MIN_ELEMENTS {
            // small: copied into a pooled (or reused same-shape) tensor
            match self.repr() {
                Repr::F32(a) => {
                    if let Some(xs) = row_major(a) {
                        return Ok(pool::build_small(dims, |out| out.copy_from_slice(xs)));
                    }
                }
                Repr::F64(a) => {
                    if let Some(xs) = row_major(a) {
                        return Ok(pool::build_small(dims, |out| out.copy_from_slice(xs)));
                    }
                }
            }
        }
        let err = || TensorError::Shape {
            op: "reshape",
            message: format!("cannot reshape to {dims:?}"),
            shapes: vec![self.shape().to_vec()],
        };
        Ok(map_array!(self, a => {
            if a.is_standard_layout() {
                a.clone().into_shape_with_order(IxDyn(dims)).map_err(|_| err())?
            } else {
                a.as_standard_layout().into_owned().into_shape_with_order(IxDyn(dims)).map_err(|_| err())?
            }
        }))
    }

    /// Inserts an axis of length 1 at `axis` (`tf.expand_dims`; negative counts from the end).
    pub fn expand_dims(&self, axis: isize) -> Result<Array> {
        if crate::trace::recording() {
            return crate::trace::kernel("expand_dims", &[self], move |a| a[0].expand_dims(axis));
        }
        let rank = self.rank();
        let ax = normalize_axis("expand_dims", axis, rank + 1, self.shape())?;
        let mut dims = self.shape().to_vec();
        dims.insert(ax, 1);
        self.reshape_exact(&dims)
    }

    /// Removes axes of length 1 (`tf.squeeze`): the given ones, or all when `None`.
    pub fn squeeze(&self, axes: Option<&[isize]>) -> Result<Array> {
        if crate::trace::recording() {
            let axes = axes.map(<[isize]>::to_vec);
            return crate::trace::kernel("squeeze", &[self], move |a| {
                a[0].squeeze(axes.as_deref())
            });
        }
        let shape = self.shape();
        let axes = match axes {
            None => (0..shape.len())
                .filter(|&i| shape[i] == 1)
                .collect::<Vec<_>>(),
            Some(list) => {
                let axes = normalize_axes("squeeze", Some(list), shape)?
                    .slice()
                    .to_vec();
                if let Some(&bad) = axes.iter().find(|&&a| shape[a] != 1) {
                    return Err(TensorError::Shape {
                        op: "squeeze",
                        message: format!("axis {bad} has length {}, not 1", shape[bad]),
                        shapes: vec![shape.to_vec()],
                    });
                }
                axes
            }
        };
        let dims: Vec<usize> = (0..shape.len())
            .filter(|i| !axes.contains(i))
            .map(|i| shape[i])
            .collect();
        self.reshape_exact(&dims)
    }

    /// Joins tensors along an existing axis (`tf.concat`).
    pub fn concat(tensors: &[Array], axis: isize) -> Result<Array> {
        if crate::trace::recording() {
            let refs: Vec<&Array> = tensors.iter().collect();
            return crate::trace::kernel("concat", &refs, move |a| {
                let owned: Vec<Array> = a.iter().map(|&t| t.clone()).collect();
                Array::concat(&owned, axis)
            });
        }
        let first = tensors.first().ok_or(TensorError::Invalid {
            op: "concat",
            message: "needs at least one tensor".into(),
        })?;
        let ax = normalize_axis("concat", axis, first.rank(), first.shape())?;
        let shapes = || {
            tensors
                .iter()
                .map(|t| t.shape().to_vec())
                .collect::<Vec<_>>()
        };
        for t in tensors {
            if t.dtype() != first.dtype() {
                return Err(TensorError::DType {
                    op: "concat",
                    lhs: first.dtype(),
                    rhs: t.dtype(),
                });
            }
            let same = t.rank() == first.rank()
                && t.shape()
                    .iter()
                    .zip(first.shape())
                    .enumerate()
                    .all(|(i, (a, b))| i == ax || a == b);
            if !same {
                return Err(TensorError::Shape {
                    op: "concat",
                    message: format!("shapes must agree on every axis but {ax}"),
                    shapes: shapes(),
                });
            }
        }
        let mut out_shape = first.shape().to_vec();
        out_shape[ax] = tensors
            .iter()
            .try_fold(0usize, |n, t| n.checked_add(t.shape()[ax]))
            .ok_or_else(|| TensorError::TooLarge {
                op: "concat",
                shape: first.shape().to_vec(),
                dtype: first.dtype(),
            })?;
        output_elements("concat", &out_shape, first.dtype())?;
        fn join<T: Element>(ts: &[Array], ax: usize) -> Result<ArrayD<T>> {
            let views: Vec<_> = ts.iter().map(|t| t.view::<T>()).collect::<Result<_>>()?;
            ndarray::concatenate(Axis(ax), &views).map_err(|e| TensorError::Invalid {
                op: "concat",
                message: e.to_string(),
            })
        }
        Ok(match first.dtype() {
            crate::DType::F32 => f32::wrap(join::<f32>(tensors, ax)?),
            crate::DType::F64 => f64::wrap(join::<f64>(tensors, ax)?),
        })
    }

    /// Stacks tensors of one shape and dtype along a new axis (`tf.stack`). Every error names
    /// `stack` (not the `expand_dims` and `concat` it is made of).
    ///
    /// ```
    /// use tapegrad_tensor::Array;
    /// let a = Array::from_vec(vec![1.0f32, 2.0], &[2])?;
    /// assert_eq!(Array::stack(&[a.clone(), a.clone()], 1)?.shape(), &[2, 2]);
    /// let err = Array::stack(&[a, Array::from_vec(vec![1.0f64, 2.0], &[2])?], 0).unwrap_err();
    /// assert!(err.to_string().starts_with("stack: "), "{err}");
    /// # Ok::<(), tapegrad_tensor::TensorError>(())
    /// ```
    pub fn stack(tensors: &[Array], axis: isize) -> Result<Array> {
        if crate::trace::recording() {
            let refs: Vec<&Array> = tensors.iter().collect();
            return crate::trace::kernel("stack", &refs, move |a| {
                let owned: Vec<Array> = a.iter().map(|&t| t.clone()).collect();
                Array::stack(&owned, axis)
            });
        }
        let first = tensors.first().ok_or(TensorError::Invalid {
            op: "stack",
            message: "needs at least one tensor".into(),
        })?;
        if let Some(t) = tensors.iter().find(|t| t.shape() != first.shape()) {
            return Err(TensorError::Shape {
                op: "stack",
                message: "all tensors must have the same shape".into(),
                shapes: vec![first.shape().to_vec(), t.shape().to_vec()],
            });
        }
        if let Some(t) = tensors.iter().find(|t| t.dtype() != first.dtype()) {
            return Err(TensorError::DType {
                op: "stack",
                lhs: first.dtype(),
                rhs: t.dtype(),
            });
        }
        let ax = normalize_axis("stack", axis, first.rank() + 1, first.shape())?;
        let mut out_shape = first.shape().to_vec();
        out_shape.insert(ax, tensors.len());
        output_elements("stack", &out_shape, first.dtype())?;
        let expanded = tensors
            .iter()
            .map(|t| t.expand_dims(ax as isize))
            .collect::<Result<Vec<_>>>()?;
        Array::concat(&expanded, ax as isize)
    }

    /// A block of the tensor (`tf.slice`): `begin` per axis and `size` per axis (`-1` = to the end).
    ///
    /// ```
    /// use tapegrad_tensor::Array;
    /// let t = Array::from_vec(vec![0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0], &[3, 2])?;
    /// assert_eq!(t.slice(&[1, 0], &[-1, 1])?.to_vec::<f32>()?, vec![2.0, 4.0]);
    /// # Ok::<(), tapegrad_tensor::TensorError>(())
    /// ```
    pub fn slice(&self, begin: &[usize], size: &[isize]) -> Result<Array> {
        if crate::trace::recording() {
            let (begin, size) = (begin.to_vec(), size.to_vec());
            return crate::trace::kernel("slice", &[self], move |a| a[0].slice(&begin, &size));
        }
        let shape = self.shape();
        let ranges = slice_ranges("slice", shape, begin, size)?;
        Ok(map_array!(self, a => {
            let mut v = a.view();
            for (ax, &(b, e)) in ranges.iter().enumerate() {
                v.slice_axis_inplace(Axis(ax), Slice::from(b..e));
            }
            v.to_owned()
        }))
    }

    /// Places this tensor as the block at `begin` of a zero tensor of `shape` (the backward of
    /// [`Array::slice`]). Its errors name `pad_into` and this tensor's shape.
    ///
    /// ```
    /// use tapegrad_tensor::Array;
    /// let a = Array::from_vec(vec![1.0f32, 2.0], &[2])?;
    /// assert_eq!(a.pad_into(&[4], &[1])?.to_vec::<f32>()?, vec![0.0, 1.0, 2.0, 0.0]);
    /// let err = a.pad_into(&[3], &[2]).unwrap_err();
    /// assert_eq!(err.to_string(), "pad_into: a tensor of shape [2] at begin [2] does not fit in shape [3]");
    /// # Ok::<(), tapegrad_tensor::TensorError>(())
    /// ```
    pub fn pad_into(&self, shape: &[usize], begin: &[usize]) -> Result<Array> {
        if crate::trace::recording() {
            let (shape, begin) = (shape.to_vec(), begin.to_vec());
            return crate::trace::kernel("pad", &[self], move |a| a[0].pad_into(&shape, &begin));
        }
        let size: Vec<isize> = self.shape().iter().map(|&d| d as isize).collect();
        let ranges = slice_ranges("pad_into", shape, begin, &size).map_err(|_| {
            let message = if begin.len() != shape.len() || self.rank() != shape.len() {
                format!(
                    "a tensor of shape {:?} at begin {begin:?} needs the rank of shape {shape:?} and one begin per axis",
                    self.shape()
                )
            } else {
                format!(
                    "a tensor of shape {:?} at begin {begin:?} does not fit in shape {shape:?}",
                    self.shape()
                )
            };
            TensorError::Invalid {
                op: "pad_into",
                message,
            }
        })?;
        output_elements("pad_into", shape, self.dtype())?;
        Ok(map_array!(self, a => {
            let mut out = ndarray::Array::zeros(IxDyn(shape));
            let mut v = out.view_mut();
            for (ax, &(b, e)) in ranges.iter().enumerate() {
                v.slice_axis_inplace(Axis(ax), Slice::from(b..e));
            }
            v.assign(a);
            out
        }))
    }

    /// Rows (entries of axis 0) by index (`tf.gather` on axis 0); negative indices are errors.
    ///
    /// ```
    /// use tapegrad_tensor::Array;
    /// let t = Array::from_vec(vec![0.0f32, 1.0, 2.0, 3.0], &[2, 2])?;
    /// assert_eq!(t.gather(&[1, 1, 0])?.shape(), &[3, 2]);
    /// assert!(t.gather(&[2]).is_err());
    /// # Ok::<(), tapegrad_tensor::TensorError>(())
    /// ```
    pub fn gather(&self, indices: &[usize]) -> Result<Array> {
        if crate::trace::recording() {
            let indices = indices.to_vec();
            return crate::trace::kernel("gather", &[self], move |a| a[0].gather(&indices));
        }
        if self.rank() == 0 {
            return Err(TensorError::Shape {
                op: "gather",
                message: "cannot gather rows of a scalar".into(),
                shapes: vec![vec![]],
            });
        }
        let n = self.shape()[0];
        if let Some(&bad) = indices.iter().find(|&&i| i >= n) {
            return Err(TensorError::Index {
                op: "gather",
                index: bad as i64,
                len: n,
                shape: self.shape().to_vec(),
            });
        }
        let mut out_shape = self.shape().to_vec();
        out_shape[0] = indices.len();
        output_elements("gather", &out_shape, self.dtype())?;
        Ok(map_array!(self, a => gather_rows(a, indices, &out_shape)))
    }

    /// Adds rows of this tensor into a zero tensor with `rows` rows at `indices` (the backward of
    /// [`Array::gather`], TensorFlow's `unsorted_segment_sum`).
    pub fn scatter_add_rows(&self, indices: &[usize], rows: usize) -> Result<Array> {
        if crate::trace::recording() {
            let indices = indices.to_vec();
            return crate::trace::kernel("scatter_add_rows", &[self], move |a| {
                a[0].scatter_add_rows(&indices, rows)
            });
        }
        let shape = self.shape();
        if shape.first() != Some(&indices.len()) {
            return Err(TensorError::Shape {
                op: "scatter_add_rows",
                message: format!("{} indices for the leading axis", indices.len()),
                shapes: vec![shape.to_vec()],
            });
        }
        if let Some(&bad) = indices.iter().find(|&&i| i >= rows) {
            return Err(TensorError::Index {
                op: "scatter_add_rows",
                index: bad as i64,
                len: rows,
                shape: shape.to_vec(),
            });
        }
        let mut out_shape = shape.to_vec();
        out_shape[0] = rows;
        output_elements("scatter_add_rows", &out_shape, self.dtype())?;
        Ok(map_array!(self, a => {
            let mut out = ndarray::Array::zeros(IxDyn(&out_shape));
            for (src, &dst) in a.outer_iter().zip(indices) {
                let mut row = out.index_axis_mut(Axis(0), dst);
                row += &src;
            }
            out
        }))
    }
}

fn slice_ranges(
    op: &'static str,
    shape: &[usize],
    begin: &[usize],
    size: &[isize],
) -> Result<Vec<(usize, usize)>> {
    if begin.len() != shape.len() || size.len() != shape.len() {
        return Err(TensorError::Invalid {
            op,
            message: format!(
                "begin {begin:?} and size {size:?} need one entry per axis of shape {shape:?}"
            ),
        });
    }
    shape
        .iter()
        .zip(begin)
        .zip(size)
        .map(|((&d, &b), &s)| {
            let e = if s == -1 {
                Some(d)
            } else if s >= 0 {
                b.checked_add(s as usize)
            } else {
                None
            };
            match e {
                Some(e) if b <= d && e <= d && b <= e => Ok((b, e)),
                _ => Err(TensorError::Invalid {
                    op,
                    message: format!(
                        "begin {begin:?} with size {size:?} falls outside shape {shape:?}"
                    ),
                }),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stack_errors_are_labelled_stack_not_concat_or_expand_dims() {
        use crate::DType;
        let a = Array::from_vec(vec![1.0f32, 2.0], &[2]).unwrap();
        let b = Array::from_vec(vec![1.0f64, 2.0], &[2]).unwrap();
        let err = Array::stack(&[a.clone(), b], 0).unwrap_err();
        assert!(
            matches!(
                err,
                TensorError::DType {
                    op: "stack",
                    lhs: DType::F32,
                    rhs: DType::F64
                }
            ),
            "{err}"
        );
        let big = Array::zeros(DType::F32, &[0, 1 << 62]).unwrap();
        let err = Array::stack(
            &[big.clone(), big.clone(), big.clone(), big.clone(), big],
            1,
        )
        .unwrap_err();
        assert!(
            matches!(err, TensorError::TooLarge { op: "stack", ref shape, .. } if *shape == [0, 5, 1 << 62]),
            "{err:?}"
        );
        for err in [
            Array::stack(&[], 0).unwrap_err(),
            Array::stack(&[a.clone(), a.clone()], 2).unwrap_err(),
            Array::stack(&[a.clone(), a.clone()], -3).unwrap_err(),
            Array::stack(&[a.clone(), Array::scalar(1.0f32)], 0).unwrap_err(),
        ] {
            assert!(err.to_string().starts_with("stack: "), "{err}");
        }
        // valid stacks are the concatenation of the expanded tensors, as before
        let s = Array::stack(&[a.clone(), a.clone()], -1).unwrap();
        assert_eq!(
            (s.shape(), s.to_vec::<f32>().unwrap()),
            (&[2, 2][..], vec![1.0, 1.0, 2.0, 2.0])
        );
    }

    #[test]
    fn pad_into_errors_are_labelled_pad_into_not_slice() {
        let a = Array::from_vec(vec![1.0f32, 2.0], &[2]).unwrap();
        for (err, message) in [
            (
                a.pad_into(&[1], &[0]).unwrap_err(),
                "pad_into: a tensor of shape [2] at begin [0] does not fit in shape [1]",
            ),
            (
                a.pad_into(&[3], &[usize::MAX]).unwrap_err(),
                "pad_into: a tensor of shape [2] at begin [18446744073709551615] does not fit in shape [3]",
            ),
            (
                a.pad_into(&[3, 3], &[0, 0]).unwrap_err(),
                "pad_into: a tensor of shape [2] at begin [0, 0] needs the rank of shape [3, 3] and one begin per axis",
            ),
            (
                a.pad_into(&[3], &[0, 0]).unwrap_err(),
                "pad_into: a tensor of shape [2] at begin [0, 0] needs the rank of shape [3] and one begin per axis",
            ),
        ] {
            assert!(matches!(err, TensorError::Invalid { op: "pad_into", .. }), "{err}");
            assert_eq!(err.to_string(), message);
        }
        let err = a.pad_into(&[1 << 62], &[0]).unwrap_err();
        assert!(
            matches!(err, TensorError::TooLarge { op: "pad_into", .. }),
            "{err:?}"
        );
        assert_eq!(
            a.pad_into(&[3], &[1]).unwrap().to_vec::<f32>().unwrap(),
            vec![0.0, 1.0, 2.0]
        );
    }
}

/// The rows `indices` (checked) of `a`: each row copied whole from a row-major array (ndarray's
/// `select` appends them one by one, two thirds of a training loop's batching in `fit`), else
/// `select`.
fn gather_rows<T: Clone>(
    a: &ndarray::ArrayD<T>,
    indices: &[usize],
    out_shape: &[usize],
) -> ndarray::ArrayD<T> {
    if let Some(data) = a.as_slice() {
        let row: usize = a.shape()[1..].iter().product();
        let mut out = Vec::with_capacity(indices.len() * row);
        for &i in indices {
            out.extend_from_slice(&data[i * row..(i + 1) * row]);
        }
        if let Ok(g) = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(out_shape), out) {
            return g;
        }
    }
    a.select(ndarray::Axis(0), indices)
}

#[cfg(test)]
mod gather_tests {
    use crate::Array;

    /// The row copy gives what ndarray's `select` gives: row-major, transposed (not row-major,
    /// so `select`), rank 1 and 3, repeated indices, empty rows and no indices.
    #[test]
    fn gather_is_select() -> crate::Result<()> {
        let x = Array::from_vec((0..24).map(|v| v as f32).collect(), &[4, 3, 2])?;
        let cases: [(Array, &[usize]); 5] = [
            (x.clone(), &[3, 0, 0, 2]),
            (x.reshape(&[4, 6])?.transpose(None)?, &[5, 1, 1]),
            (Array::from_vec(vec![1.0f64, 2.0, 3.0], &[3])?, &[2, 2, 0]),
            (Array::from_vec(Vec::<f32>::new(), &[3, 0])?, &[1, 2]),
            (x.clone(), &[]),
        ];
        for (a, idx) in cases {
            let ours = a.gather(idx)?;
            let select = crate::tensor::map_array!(a, v => v.select(ndarray::Axis(0), idx));
            assert!(
                ours.equals(&select),
                "{a:?} at {idx:?}: {ours:?} / {select:?}"
            );
            assert_eq!(ours.shape(), select.shape());
        }
        Ok(())
    }
}
