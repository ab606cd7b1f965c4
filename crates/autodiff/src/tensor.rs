//! The autodiff [`Tensor`]: a value with an identity that tapes can watch.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use tapegrad_tensor as tt;
use tt::{DType, Element};

use crate::{Result, Variable};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Identities are handed to each thread in blocks of this many, so that making a tensor takes
/// no atomic operation (ids are unique, increasing within a thread, not ordered across threads).
const ID_BLOCK: u64 = 1024;

thread_local! {
    /// The next id of this thread's block, and the end of the block.
    static IDS: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// A fresh identity for a tensor or a variable.
pub(crate) fn next_id() -> u64 {
    IDS.with(|ids| {
        let (next, end) = ids.get();
        if next < end {
            ids.set((next + 1, end));
            next
        } else {
            let start = NEXT_ID.fetch_add(ID_BLOCK, Ordering::Relaxed);
            ids.set((start + 1, start + ID_BLOCK));
            start
        }
    })
}

/// An immutable tensor (TensorFlow's `EagerTensor`): a value from `tapegrad-tensor` plus an
/// identity, which is what a [`GradientTape`](crate::GradientTape) watches and records.
///
/// Clones share the value and the identity.
///
/// ```
/// use tapegrad_autodiff::Tensor;
/// let x = Tensor::from_vec(vec![1.0f32, 2.0], &[2])?;
/// let y = ((&x * 3.0)? + 1.0)?;
/// assert_eq!(y.to_vec::<f32>()?, vec![4.0, 7.0]);
/// # Ok::<(), tapegrad_autodiff::Error>(())
/// ```
#[derive(Clone)]
pub struct Tensor {
    /// A plain tensor is one `Arc` (shape, strides and data pointer behind it), so this tensor
    /// is two words, cloning it is one reference count, and making one costs no allocation
    /// beyond the value's own.
    value: tt::Array,
    id: u64,
}

impl Tensor {
    /// Wraps a plain value as a new tensor (a constant until a tape watches it).
    pub fn new(value: impl Into<tt::Array>) -> Self {
        Tensor {
            value: value.into(),
            id: next_id(),
        }
    }

    /// The same value (shared) under another identity.
    pub(crate) fn with_id(&self, id: u64) -> Self {
        Tensor {
            value: self.value.clone(),
            id,
        }
    }

    /// `tf.constant(data, shape)`: a tensor from row-major data.
    pub fn from_vec<T: Element>(data: Vec<T>, shape: &[usize]) -> Result<Self> {
        Ok(Self::new(tt::Array::from_vec(data, shape)?))
    }

    /// A rank-0 tensor.
    pub fn scalar<T: Element>(value: T) -> Self {
        Self::new(tt::Array::scalar(value))
    }

    /// Zeros of a dtype and shape.
    pub fn zeros(dtype: DType, shape: &[usize]) -> Self {
        Self::new(tt::Array::zeros(dtype, shape))
    }

    /// Ones of a dtype and shape.
    pub fn ones(dtype: DType, shape: &[usize]) -> Self {
        Self::new(tt::Array::ones(dtype, shape))
    }

    /// The identity tapes know this tensor by.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The plain value.
    pub fn value(&self) -> &tt::Array {
        &self.value
    }

    /// The plain value, consuming the tensor.
    pub fn into_value(self) -> tt::Array {
        self.value
    }

    /// The dtype.
    pub fn dtype(&self) -> DType {
        self.value.dtype()
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        self.value.shape()
    }

    /// Number of axes.
    pub fn rank(&self) -> usize {
        self.value.rank()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.value.len()
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }

    /// The data as an ndarray array, like `.numpy()`; the dtype must be `T`.
    ///
    /// ```
    /// let t = tapegrad_autodiff::Tensor::scalar(2.0f32);
    /// assert_eq!(t.numpy::<f32>()?.sum(), 2.0);
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    pub fn numpy<T: Element>(&self) -> Result<tt::ndarray::ArrayD<T>> {
        Ok(self.value.to_ndarray()?)
    }

    /// The data in row-major order; the dtype must be `T`.
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        Ok(self.value.to_vec()?)
    }

    /// The value of a one-element tensor, widened to `f64`.
    pub fn item(&self) -> Result<f64> {
        Ok(self.value.item()?)
    }
}

impl std::fmt::Display for Tensor {
    /// TensorFlow's `tf.Tensor(<numpy>, shape=(..), dtype=..)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dims: Vec<String> = self.shape().iter().map(|d| d.to_string()).collect();
        let shape = if dims.len() == 1 {
            format!("({},)", dims[0])
        } else {
            format!("({})", dims.join(", "))
        };
        write!(
            f,
            "tf.Tensor({}, shape={shape}, dtype={})",
            self.value,
            self.dtype()
        )
    }
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self} #{}", self.id)
    }
}

impl From<tt::Array> for Tensor {
    fn from(value: tt::Array) -> Self {
        Tensor::new(value)
    }
}

impl From<Tensor> for tt::Array {
    fn from(t: Tensor) -> Self {
        t.into_value()
    }
}

/// Anything an op accepts as an operand: tensors, variables (read through the tape), results of
/// earlier ops (so that chains need one `?`), and scalars (which take the other operand's dtype,
/// as Python numbers do in TensorFlow).
pub trait IntoOperand {
    /// Converts to an operand.
    fn into_operand(self) -> Result<Operand>;
}

/// A resolved operand: a tensor, or a scalar waiting for a dtype.
#[derive(Clone, Debug)]
pub enum Operand {
    /// A tensor (or a read variable).
    Tensor(Tensor),
    /// A number that takes the dtype of the other operand.
    Scalar(f64),
}

impl Operand {
    /// The tensor, making a scalar of `dtype` if needed.
    pub(crate) fn into_tensor(self, dtype: DType) -> Tensor {
        match self {
            Operand::Tensor(t) => t,
            Operand::Scalar(v) => Tensor::new(tt::Array::scalar_of(dtype, v)),
        }
    }

    fn dtype(&self) -> Option<DType> {
        match self {
            Operand::Tensor(t) => Some(t.dtype()),
            Operand::Scalar(_) => None,
        }
    }
}

/// Resolves two operands to tensors: a scalar takes the other's dtype (float32 if both are scalars).
#[inline]
pub(crate) fn resolve_pair(a: impl IntoOperand, b: impl IntoOperand) -> Result<(Tensor, Tensor)> {
    let a = a.into_operand()?;
    let b = b.into_operand()?;
    Ok(match (a, b) {
        (Operand::Tensor(a), Operand::Tensor(b)) => (a, b),
        (a, b) => {
            let dtype = a.dtype().or(b.dtype()).unwrap_or(DType::F32);
            (a.into_tensor(dtype), b.into_tensor(dtype))
        }
    })
}

/// Resolves one operand to a tensor (a bare scalar becomes float32, as in TensorFlow).
pub(crate) fn resolve(a: impl IntoOperand) -> Result<Tensor> {
    Ok(a.into_operand()?.into_tensor(DType::F32))
}

impl IntoOperand for Tensor {
    fn into_operand(self) -> Result<Operand> {
        Ok(Operand::Tensor(self))
    }
}
impl IntoOperand for &Tensor {
    fn into_operand(self) -> Result<Operand> {
        Ok(Operand::Tensor(self.clone()))
    }
}
impl IntoOperand for Result<Tensor> {
    fn into_operand(self) -> Result<Operand> {
        self.map(Operand::Tensor)
    }
}
impl IntoOperand for &Variable {
    fn into_operand(self) -> Result<Operand> {
        Ok(Operand::Tensor(self.read_value()))
    }
}
impl IntoOperand for Variable {
    fn into_operand(self) -> Result<Operand> {
        Ok(Operand::Tensor(self.read_value()))
    }
}
impl IntoOperand for f32 {
    fn into_operand(self) -> Result<Operand> {
        Ok(Operand::Scalar(f64::from(self)))
    }
}
impl IntoOperand for f64 {
    fn into_operand(self) -> Result<Operand> {
        Ok(Operand::Scalar(self))
    }
}
impl IntoOperand for tt::Array {
    fn into_operand(self) -> Result<Operand> {
        Ok(Operand::Tensor(Tensor::new(self)))
    }
}
impl IntoOperand for &tt::Array {
    fn into_operand(self) -> Result<Operand> {
        Ok(Operand::Tensor(Tensor::new(self.clone())))
    }
}
impl IntoOperand for Operand {
    fn into_operand(self) -> Result<Operand> {
        Ok(self)
    }
}
impl IntoOperand for Result<Operand> {
    fn into_operand(self) -> Result<Operand> {
        self
    }
}
