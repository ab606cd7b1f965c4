//! The [`Array`] type: an immutable, cheaply cloned n-dimensional array of `f32` or `f64`.

use std::mem::ManuallyDrop;
use std::sync::Arc;

use ndarray::{ArrayD, ArrayViewD, IxDyn};

use crate::{DType, Element, Result, TensorError};

#[derive(Clone)]
pub(crate) enum Repr {
    F32(ArrayD<f32>),
    F64(ArrayD<f64>),
}

/// An n-dimensional array of `f32` or `f64` with numpy broadcasting.
///
/// Cloning is cheap (the buffer is shared, copy-on-write). Every op returns a new tensor; the
/// in-place updates (`assign_*`) exist for variables and optimizers and copy only when the
/// buffer is shared.
///
/// ```
/// use tapegrad_tensor::Array;
/// let x = Array::from_vec(vec![1.0f32, 2.0, 3.0], &[3])?;
/// let y = x.mul(&Array::scalar(2.0f32))?;
/// assert_eq!(y.to_vec::<f32>()?, vec![2.0, 4.0, 6.0]);
/// # Ok::<(), tapegrad_tensor::TensorError>(())
/// ```
#[derive(Clone)]
pub struct Array {
    /// One allocation for the array header (shape, strides, the data pointer), shared by
    /// clones: a tensor is one word, cloning it is one reference count, and making one costs two
    /// allocations (this and the data), where an `ArcArray` behind another `Arc` cost three.
    /// Both come from, and return to, the thread's pools (`crate::pool`) when nothing else
    /// shares them, hence `ManuallyDrop`: [`Drop`] hands the `Arc` over.
    repr: ManuallyDrop<Arc<Repr>>,
}

/// Runs `$body` with `$a` bound to the tensor's array, for whichever dtype it has, and wraps
/// the resulting array back into a tensor.
macro_rules! map_array {
    ($t:expr, $a:ident => $body:expr) => {
        match $t.repr() {
            $crate::tensor::Repr::F32($a) => <f32 as $crate::Element>::wrap($body),
            $crate::tensor::Repr::F64($a) => <f64 as $crate::Element>::wrap($body),
        }
    };
}
pub(crate) use map_array;

/// Like [`map_array`] for two tensors of one dtype; a dtype mismatch is an error naming `$op`.
macro_rules! map_arrays2 {
    ($op:expr, $x:expr, $y:expr, ($a:ident, $b:ident) => $body:expr) => {
        match ($x.repr(), $y.repr()) {
            ($crate::tensor::Repr::F32($a), $crate::tensor::Repr::F32($b)) => {
                Ok(<f32 as $crate::Element>::wrap($body?))
            }
            ($crate::tensor::Repr::F64($a), $crate::tensor::Repr::F64($b)) => {
                Ok(<f64 as $crate::Element>::wrap($body?))
            }
            _ => Err($crate::TensorError::DType {
                op: $op,
                lhs: $x.dtype(),
                rhs: $y.dtype(),
            }),
        }
    };
}
pub(crate) use map_arrays2;

impl Repr {
    /// The dtype of the array held.
    #[inline]
    pub(crate) fn dtype(&self) -> DType {
        match self {
            Repr::F32(_) => DType::F32,
            Repr::F64(_) => DType::F64,
        }
    }

    /// The array held, for writing, when its dtype is `T`.
    #[inline]
    pub(crate) fn array_mut<T: Element>(&mut self) -> Option<&mut ArrayD<T>> {
        match self {
            Repr::F32(a) => crate::dtype::same_mut(a),
            Repr::F64(a) => crate::dtype::same_mut(a),
        }
    }
}

impl Array {
    pub(crate) fn from_repr(repr: Repr) -> Self {
        Self::from_shell(crate::pool::shell(repr))
    }

    /// The tensor of an allocation built (or reused) by the pools.
    #[inline]
    pub(crate) fn from_shell(shell: Arc<Repr>) -> Self {
        Array {
            repr: ManuallyDrop::new(shell),
        }
    }

    #[inline]
    pub(crate) fn repr(&self) -> &Repr {
        &self.repr
    }

    /// The array for writing; copied first when a clone shares it (copy-on-write).
    pub(crate) fn repr_mut(&mut self) -> &mut Repr {
        Arc::make_mut(&mut self.repr)
    }

    /// A tensor from an ndarray array of any dimensionality.
    ///
    /// ```
    /// let t = tapegrad_tensor::Array::from_array(ndarray::array![[1.0f64, 2.0]]);
    /// assert_eq!(t.shape(), &[1, 2]);
    /// ```
    pub fn from_array<T: Element, D: ndarray::Dimension>(array: ndarray::Array<T, D>) -> Self {
        T::wrap(array.into_dyn())
    }

    /// A tensor from a flat vector in row-major order and a shape.
    ///
    /// ```
    /// let t = tapegrad_tensor::Array::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
    /// assert_eq!(t.len(), 4);
    /// # Ok::<(), tapegrad_tensor::TensorError>(())
    /// ```
    pub fn from_vec<T: Element>(data: Vec<T>, shape: &[usize]) -> Result<Self> {
        let n = crate::size::element_count("from_vec", shape, T::DTYPE)?;
        if n != data.len() {
            return Err(TensorError::Shape {
                op: "from_vec",
                message: format!("{} values cannot fill a shape of {n} elements", data.len()),
                shapes: vec![shape.to_vec()],
            });
        }
        Ok(T::wrap(crate::pool::row_major_array(shape, data)))
    }

    /// A rank-0 tensor.
    ///
    /// ```
    /// let t = tapegrad_tensor::Array::scalar(2.5f32);
    /// assert_eq!(t.rank(), 0);
    /// ```
    pub fn scalar<T: Element>(value: T) -> Self {
        crate::pool::build_small(&[], |out| out.fill(value))
    }

    /// A rank-0 tensor of the given dtype holding `value` (rounded for `f32`).
    pub fn scalar_of(dtype: DType, value: f64) -> Self {
        match dtype {
            DType::F32 => Self::scalar(value as f32),
            DType::F64 => Self::scalar(value),
        }
    }

    /// A tensor of `shape` filled with `value` (rounded to the dtype). A large one may share
    /// its data with the thread's previous fill of the same dtype, shape and value (see
    /// [`crate::ops::FILL_CACHE_MAX`]; tensors are copy-on-write).
    ///
    /// ```
    /// use tapegrad_tensor::{DType, Array};
    /// let t = Array::full(DType::F64, &[2], 0.5)?;
    /// assert_eq!(t.to_vec::<f64>()?, vec![0.5, 0.5]);
    /// # Ok::<(), tapegrad_tensor::TensorError>(())
    /// ```
    ///
    /// A shape with more elements than memory can address is [`TensorError::TooLarge`]; one
    /// the system cannot allocate, [`TensorError::Alloc`] (never an abort):
    ///
    /// ```
    /// use tapegrad_tensor::{Array, DType, TensorError};
    /// let e = Array::zeros(DType::F32, &[usize::MAX, 2]).unwrap_err();
    /// assert!(matches!(e, TensorError::TooLarge { op: "zeros", .. }));
    /// ```
    pub fn full(dtype: DType, shape: &[usize], value: f64) -> Result<Self> {
        Self::fill("full", dtype, shape, value)
    }

    /// [`Array::full`] reported as `op`.
    fn fill(op: &'static str, dtype: DType, shape: &[usize], value: f64) -> Result<Self> {
        match dtype {
            DType::F32 => crate::ops::fill_tensor(op, shape, value as f32),
            DType::F64 => crate::ops::fill_tensor(op, shape, value),
        }
    }

    /// Zeros of a shape and dtype (`tf.zeros`); errors as [`Array::full`].
    pub fn zeros(dtype: DType, shape: &[usize]) -> Result<Self> {
        Self::fill("zeros", dtype, shape, 0.0)
    }

    /// Ones of a shape and dtype (`tf.ones`); errors as [`Array::full`].
    pub fn ones(dtype: DType, shape: &[usize]) -> Result<Self> {
        Self::fill("ones", dtype, shape, 1.0)
    }

    /// Zeros with this tensor's shape and dtype.
    pub fn zeros_like(&self) -> Self {
        self.full_like("zeros_like", 0.0)
    }

    /// Ones with this tensor's shape and dtype.
    pub fn ones_like(&self) -> Self {
        self.full_like("ones_like", 1.0)
    }

    /// `value` in this tensor's shape and dtype. The shape is an existing array's, so only the
    /// allocation can fail; it then fails as every allocation of an existing tensor's size
    /// does (a clone, a map): through ndarray's, which aborts.
    fn full_like(&self, op: &'static str, value: f64) -> Self {
        Self::fill(op, self.dtype(), self.shape(), value).unwrap_or_else(|_| {
            let shape = IxDyn(self.shape());
            match self.dtype() {
                DType::F32 => f32::wrap(ArrayD::from_elem(shape, value as f32)),
                DType::F64 => f64::wrap(ArrayD::from_elem(shape, value)),
            }
        })
    }

    /// `start, start + step, ...` below `stop`, like `np.arange(start, stop, step, dtype)`.
    ///
    /// Values are computed as numpy does: `start + i * step` in the target dtype.
    ///
    /// ```
    /// use tapegrad_tensor::{DType, Array};
    /// let x = Array::arange(0.0, 100.0, 2.0, DType::F32)?;
    /// assert_eq!(x.len(), 50);
    /// # Ok::<(), tapegrad_tensor::TensorError>(())
    /// ```
    pub fn arange(start: f64, stop: f64, step: f64, dtype: DType) -> Result<Self> {
        if step == 0.0 || !step.is_finite() || !start.is_finite() || !stop.is_finite() {
            return Err(TensorError::Invalid {
                op: "arange",
                message: format!("start, stop and step must be finite and step non-zero (got {start}, {stop}, {step})"),
            });
        }
        let count = ((stop - start) / step).ceil().max(0.0);
        // (a count beyond `usize` saturates, and is then refused as too large)
        let shape = [count as usize];
        let n = crate::size::element_count("arange", &shape, dtype)?;
        fn values<T: Element>(
            shape: &[usize],
            n: usize,
            value: impl Fn(usize) -> T,
        ) -> Result<Array> {
            let mut data = crate::size::try_buffer("arange", shape, n)?;
            data.extend((0..n).map(value));
            Array::from_vec(data, shape)
        }
        match dtype {
            DType::F32 => {
                let (s, d) = (start as f32, step as f32);
                values(&shape, n, |i| s + i as f32 * d)
            }
            DType::F64 => values(&shape, n, |i| start + i as f64 * step),
        }
    }

    /// The dtype.
    pub fn dtype(&self) -> DType {
        self.repr().dtype()
    }

    /// The shape (empty for a scalar).
    pub fn shape(&self) -> &[usize] {
        match self.repr() {
            Repr::F32(a) => a.shape(),
            Repr::F64(a) => a.shape(),
        }
    }

    /// True when the shape is `shape` (compared axis by axis: cheaper than `==` on the slices,
    /// which calls `memcmp`, on the few axes of a shape).
    ///
    /// ```
    /// let t = tapegrad_tensor::Array::zeros(tapegrad_tensor::DType::F32, &[2, 3])?;
    /// assert!(t.has_shape(&[2, 3]));
    /// assert!(!t.has_shape(&[3, 2]) && !t.has_shape(&[6]));
    /// # Ok::<(), tapegrad_tensor::TensorError>(())
    /// ```
    #[inline]
    pub fn has_shape(&self, shape: &[usize]) -> bool {
        crate::broadcast::same_shape(self.shape(), shape)
    }

    /// Number of axes.
    pub fn rank(&self) -> usize {
        self.shape().len()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape().iter().product()
    }

    /// True when the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Borrows the array when the dtype is `T`; an error names both dtypes otherwise.
    ///
    /// ```
    /// let t = tapegrad_tensor::Array::scalar(1.0f32);
    /// assert!(t.array::<f32>().is_ok());
    /// assert!(t.array::<f64>().is_err());
    /// ```
    pub fn array<T: Element>(&self) -> Result<&ArrayD<T>> {
        crate::trace::read(self, "array");
        T::unwrap(self).ok_or(TensorError::DType {
            op: "array",
            lhs: self.dtype(),
            rhs: T::DTYPE,
        })
    }

    /// The array for writing when the dtype is `T`; copied first when a clone shares it
    /// (copy-on-write).
    ///
    /// ```
    /// let mut t = tapegrad_tensor::Array::from_vec(vec![1.0f32, 2.0], &[2])?;
    /// let shared = t.clone();
    /// t.array_mut::<f32>()?[[0]] = 5.0;
    /// assert_eq!((t.to_vec::<f32>()?, shared.to_vec::<f32>()?), (vec![5.0, 2.0], vec![1.0, 2.0]));
    /// assert!(t.array_mut::<f64>().is_err());
    /// # Ok::<(), tapegrad_tensor::TensorError>(())
    /// ```
    pub fn array_mut<T: Element>(&mut self) -> Result<&mut ArrayD<T>> {
        crate::trace::read(self, "array_mut");
        self.array_mut_in("array_mut")
    }

    /// [`Array::array_mut`] for `op` (named by its error); a tensor of another dtype is
    /// neither copied nor changed.
    pub(crate) fn array_mut_in<T: Element>(&mut self, op: &'static str) -> Result<&mut ArrayD<T>> {
        let dtype = self.dtype();
        let err = || TensorError::DType {
            op,
            lhs: dtype,
            rhs: T::DTYPE,
        };
        if dtype != T::DTYPE {
            return Err(err());
        }
        self.repr_mut().array_mut().ok_or_else(err)
    }

    /// A view of the data when the dtype is `T`.
    pub fn view<T: Element>(&self) -> Result<ArrayViewD<'_, T>> {
        self.array::<T>().map(|a| a.view())
    }

    /// The data as an owned ndarray array (numpy's `.numpy()`), when the dtype is `T`.
    ///
    /// ```
    /// let t = tapegrad_tensor::Array::from_vec(vec![1.0f32, 2.0], &[2])?;
    /// assert_eq!(t.to_ndarray::<f32>()?, ndarray::arr1(&[1.0f32, 2.0]).into_dyn());
    /// # Ok::<(), tapegrad_tensor::TensorError>(())
    /// ```
    pub fn to_ndarray<T: Element>(&self) -> Result<ArrayD<T>> {
        self.array::<T>().map(|a| a.to_owned())
    }

    /// The data in row-major order, when the dtype is `T`.
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        self.array::<T>().map(|a| a.iter().copied().collect())
    }

    /// The data widened to `f64`, whatever the dtype.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        crate::trace::read(self, "to_f64_vec");
        match self.repr() {
            Repr::F32(a) => a.iter().map(|&x| f64::from(x)).collect(),
            Repr::F64(a) => a.iter().copied().collect(),
        }
    }

    /// The single value of a one-element tensor, widened to `f64`.
    ///
    /// ```
    /// let t = tapegrad_tensor::Array::scalar(0.5f32);
    /// assert_eq!(t.item()?, 0.5);
    /// # Ok::<(), tapegrad_tensor::TensorError>(())
    /// ```
    pub fn item(&self) -> Result<f64> {
        crate::trace::read(self, "item");
        if self.len() != 1 {
            return Err(TensorError::Shape {
                op: "item",
                message: "only a tensor of one element has an item".into(),
                shapes: vec![self.shape().to_vec()],
            });
        }
        Ok(match self.repr() {
            Repr::F32(a) => f64::from(a.iter().copied().next().unwrap_or_default()),
            Repr::F64(a) => a.iter().copied().next().unwrap_or_default(),
        })
    }

    /// Converts to another dtype (`tf.cast`); a copy only when the dtype changes.
    ///
    /// ```
    /// use tapegrad_tensor::{DType, Array};
    /// let t = Array::scalar(0.1f64).cast(DType::F32);
    /// assert_eq!(t.to_vec::<f32>()?, vec![0.1f32]);
    /// # Ok::<(), tapegrad_tensor::TensorError>(())
    /// ```
    pub fn cast(&self, dtype: DType) -> Array {
        if crate::trace::recording() {
            return crate::trace::kernel_infallible("cast", &[self], move |a| a[0].cast(dtype));
        }
        match (self.repr(), dtype) {
            (Repr::F32(_), DType::F32) | (Repr::F64(_), DType::F64) => self.clone(),
            (Repr::F32(a), DType::F64) => f64::wrap(a.mapv(f64::from)),
            (Repr::F64(a), DType::F32) => f32::wrap(a.mapv(|x| x as f32)),
        }
    }

    /// True when both tensors have the same dtype, shape and values (NaN never equals).
    pub fn equals(&self, other: &Array) -> bool {
        crate::trace::read(self, "equals");
        crate::trace::read(other, "equals");
        match (self.repr(), other.repr()) {
            (Repr::F32(a), Repr::F32(b)) => a == b,
            (Repr::F64(a), Repr::F64(b)) => a == b,
            _ => false,
        }
    }

    /// True when both tensors share one buffer (a clone, not a copy).
    pub fn shares_buffer(&self, other: &Array) -> bool {
        match (self.repr(), other.repr()) {
            (Repr::F32(a), Repr::F32(b)) => a.as_ptr() == b.as_ptr(),
            (Repr::F64(a), Repr::F64(b)) => a.as_ptr() == b.as_ptr(),
            _ => false,
        }
    }
}

/// A buffer and allocation that nothing else shares go to the thread's pools, for the next
/// tensors.
impl Drop for Array {
    fn drop(&mut self) {
        // SAFETY: `self.repr` is taken once, here, and never used again.
        let repr = unsafe { ManuallyDrop::take(&mut self.repr) };
        crate::pool::release(repr);
    }
}

impl<T: Element, D: ndarray::Dimension> From<ndarray::Array<T, D>> for Array {
    fn from(array: ndarray::Array<T, D>) -> Self {
        Array::from_array(array)
    }
}

impl From<f32> for Array {
    fn from(value: f32) -> Self {
        Array::scalar(value)
    }
}

impl From<f64> for Array {
    fn from(value: f64) -> Self {
        Array::scalar(value)
    }
}

impl std::fmt::Debug for Array {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Array({}, shape={:?}, dtype={})",
            self,
            self.shape(),
            self.dtype()
        )
    }
}
