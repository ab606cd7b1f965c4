//! The autodiff [`Tensor`]: a value with an identity that tapes can watch.

use std::borrow::Cow;
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

    /// Zeros of a dtype and shape (`tf.zeros`). A shape with more elements than memory can
    /// address, or memory the system refuses, is an error naming the op and the shape:
    ///
    /// ```
    /// use tapegrad_autodiff::{DType, Tensor};
    /// assert_eq!(Tensor::zeros(DType::F32, &[2, 3])?.shape(), &[2, 3]);
    /// assert!(Tensor::zeros(DType::F32, &[usize::MAX, 2]).is_err());
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    pub fn zeros(dtype: DType, shape: &[usize]) -> Result<Self> {
        Ok(Self::new(tt::Array::zeros(dtype, shape)?))
    }

    /// Ones of a dtype and shape (`tf.ones`); errors as [`Tensor::zeros`].
    pub fn ones(dtype: DType, shape: &[usize]) -> Result<Self> {
        Ok(Self::new(tt::Array::ones(dtype, shape)?))
    }

    /// `value` everywhere (`tf.fill(shape, value)`), rounded to `dtype`; errors as
    /// [`Tensor::zeros`].
    ///
    /// ```
    /// use tapegrad_autodiff::{DType, Tensor};
    /// assert_eq!(Tensor::full(DType::F32, &[2], 0.5)?.to_vec::<f32>()?, vec![0.5, 0.5]);
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    pub fn full(dtype: DType, shape: &[usize], value: f64) -> Result<Self> {
        Ok(Self::new(tt::Array::full(dtype, shape, value)?))
    }

    /// A tensor holding an ndarray array (its dtype and shape).
    ///
    /// ```
    /// let t = tapegrad_autodiff::Tensor::from_array(ndarray::array![[1.0f32, 2.0]]);
    /// assert_eq!(t.shape(), &[1, 2]);
    /// ```
    pub fn from_array<T: Element, D: tt::ndarray::Dimension>(
        array: tt::ndarray::Array<T, D>,
    ) -> Self {
        Self::new(tt::Array::from_array(array))
    }

    /// `np.arange(start, stop, step)` in `dtype` (`tf.range`).
    ///
    /// ```
    /// use tapegrad_autodiff::{DType, Tensor};
    /// let x = Tensor::arange(0.0, 100.0, 2.0, DType::F32)?;  // np.arange(stop=100, step=2)
    /// assert_eq!((x.len(), x.to_vec::<f32>()?[49]), (50, 98.0));
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    pub fn arange(start: f64, stop: f64, step: f64, dtype: DType) -> Result<Self> {
        Ok(Self::new(tt::Array::arange(start, stop, step, dtype)?))
    }

    /// `num` evenly spaced values from `start` to `stop`, both included (`np.linspace`,
    /// `tf.linspace`): `start + i * (stop - start) / (num - 1)` in float64, then rounded to
    /// `dtype`; the last value is `stop` exactly.
    ///
    /// ```
    /// use tapegrad_autodiff::{DType, Tensor};
    /// let x = Tensor::linspace(0.0, 1.0, 5, DType::F64)?;
    /// assert_eq!(x.to_vec::<f64>()?, vec![0.0, 0.25, 0.5, 0.75, 1.0]);
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    pub fn linspace(start: f64, stop: f64, num: usize, dtype: DType) -> Result<Self> {
        let mut values = tt::reserve_elements::<f64>("linspace", &[num])?;
        match num {
            0 => {}
            1 => values.push(start),
            _ => {
                let step = (stop - start) / (num - 1) as f64;
                values.extend((0..num - 1).map(|i| start + i as f64 * step));
                values.push(stop);
            }
        }
        Ok(Self::new(tt::Array::from_vec(values, &[num])?.cast(dtype)))
    }

    /// Normal samples of `mean` and `stddev` (`tf.random.normal(shape, mean, stddev, seed=seed)`),
    /// drawn in float64 and rounded to `dtype`. The same seed gives the same values on every
    /// call and every thread; the stream is rand's `StdRng`, not TensorFlow's Philox, so the
    /// values are not TensorFlow's (their distribution is). A negative or non-finite `stddev`
    /// is an error.
    ///
    /// ```
    /// use tapegrad_autodiff::{DType, Tensor};
    /// let a = Tensor::random_normal(&[1000], 0.0, 2.0, 7, DType::F32)?;
    /// assert!(a.equals(&Tensor::random_normal(&[1000], 0.0, 2.0, 7, DType::F32)?));
    /// let (m, s) = (a.mean()?.item()?, a.reduce_std(&[0])?.item()?);
    /// assert!(m.abs() < 0.2 && (s - 2.0).abs() < 0.2);
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    pub fn random_normal(
        shape: &[usize],
        mean: f64,
        stddev: f64,
        seed: u64,
        dtype: DType,
    ) -> Result<Self> {
        use ndarray_rand::rand_distr::{Distribution, StandardNormal};
        if !(stddev.is_finite() && stddev >= 0.0 && mean.is_finite()) {
            return Err(crate::Error::Invalid {
                op: "random_normal",
                message: format!(
                    "mean must be finite and stddev finite and ≥ 0, got mean={mean}, stddev={stddev}"
                ),
            });
        }
        seeded("random_normal", shape, seed, dtype, |rng| {
            let z: f64 = StandardNormal.sample(rng);
            mean + stddev * z
        })
    }

    /// Uniform samples in `[minval, maxval)` (`tf.random.uniform(shape, minval, maxval,
    /// seed=seed)`), drawn in float64 and rounded to `dtype`; seeded as
    /// [`Tensor::random_normal`]. `minval ≥ maxval` is an error.
    ///
    /// ```
    /// use tapegrad_autodiff::{DType, Tensor};
    /// let u = Tensor::random_uniform(&[2, 50], -1.0, 1.0, 3, DType::F64)?;
    /// assert!(u.to_vec::<f64>()?.iter().all(|&v| (-1.0..1.0).contains(&v)));
    /// assert!(Tensor::random_uniform(&[2], 1.0, 1.0, 3, DType::F32).is_err());
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    pub fn random_uniform(
        shape: &[usize],
        minval: f64,
        maxval: f64,
        seed: u64,
        dtype: DType,
    ) -> Result<Self> {
        use ndarray_rand::rand::Rng;
        if !(minval.is_finite() && maxval.is_finite() && minval < maxval) {
            return Err(crate::Error::Invalid {
                op: "random_uniform",
                message: format!(
                    "needs finite minval < maxval, got minval={minval}, maxval={maxval}"
                ),
            });
        }
        seeded("random_uniform", shape, seed, dtype, |rng| {
            minval + (maxval - minval) * rng.random::<f64>()
        })
    }

    /// The `n × n` identity matrix (`tf.eye`).
    ///
    /// ```
    /// use tapegrad_autodiff::{DType, Tensor};
    /// assert_eq!(Tensor::eye(2, DType::F32)?.to_vec::<f32>()?, vec![1.0, 0.0, 0.0, 1.0]);
    /// assert!(Tensor::eye(1 << 32, DType::F32).is_err());
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    pub fn eye(n: usize, dtype: DType) -> Result<Self> {
        let mut values = tt::reserve_elements::<f64>("eye", &[n, n])?;
        values.extend((0..n * n).map(|i| if i % (n + 1) == 0 { 1.0 } else { 0.0 }));
        Ok(Self::new(tt::Array::from_vec(values, &[n, n])?.cast(dtype)))
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

    /// The data in row-major order, widened to `f64` whatever the dtype.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        self.value.to_f64_vec()
    }

    /// True when both have the same dtype, shape and values (`==` on every element: NaN is
    /// never equal), whatever their identities.
    ///
    /// ```
    /// use tapegrad_autodiff::Tensor;
    /// assert!(Tensor::scalar(1.0f32).equals(&Tensor::scalar(1.0f32)));
    /// assert!(!Tensor::scalar(1.0f32).equals(&Tensor::scalar(1.0f64)));
    /// ```
    pub fn equals(&self, other: &Tensor) -> bool {
        self.value.equals(&other.value)
    }
}

/// `shape`'s elements drawn in float64 from a generator seeded with `seed`, rounded to `dtype`.
fn seeded(
    op: &'static str,
    shape: &[usize],
    seed: u64,
    dtype: DType,
    mut draw: impl FnMut(&mut ndarray_rand::rand::rngs::StdRng) -> f64,
) -> Result<Tensor> {
    use ndarray_rand::rand::SeedableRng;
    let mut rng = ndarray_rand::rand::rngs::StdRng::seed_from_u64(seed);
    let n = tt::element_count(op, shape, DType::F64)?;
    let mut v = tt::reserve_elements::<f64>(op, shape)?;
    v.extend((0..n).map(|_| draw(&mut rng)));
    Ok(Tensor::new(tt::Array::from_vec(v, shape)?.cast(dtype)))
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

/// The same as `Display` (no identity: two tensors of the same value print alike).
impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// What becomes a tensor when a value is made from it (a [`Variable`]'s initial value,
/// `tf.convert_to_tensor` with no other tensor to follow): tensors and ndarray arrays keep
/// their dtype; a Rust float becomes float32, as a Python float does in TensorFlow (ask for
/// float64 with an `f64` tensor or a dtype argument).
///
/// ```
/// use tapegrad_autodiff::{DType, IntoTensor, Tensor};
/// assert_eq!(0.5.into_tensor().dtype(), DType::F32);
/// assert_eq!(Tensor::scalar(0.5f64).into_tensor().dtype(), DType::F64);
/// assert_eq!(ndarray::array![1.0f64].into_tensor().dtype(), DType::F64);
/// ```
pub trait IntoTensor {
    /// The tensor.
    fn into_tensor(self) -> Tensor;
}

impl IntoTensor for Tensor {
    fn into_tensor(self) -> Tensor {
        self
    }
}
impl IntoTensor for &Tensor {
    fn into_tensor(self) -> Tensor {
        self.clone()
    }
}
impl IntoTensor for tt::Array {
    fn into_tensor(self) -> Tensor {
        Tensor::new(self)
    }
}
impl IntoTensor for f32 {
    fn into_tensor(self) -> Tensor {
        Tensor::scalar(self)
    }
}
impl IntoTensor for f64 {
    fn into_tensor(self) -> Tensor {
        Tensor::new(tt::Array::scalar_of(DType::F32, self))
    }
}
impl<T: Element, D: tt::ndarray::Dimension> IntoTensor for tt::ndarray::Array<T, D> {
    fn into_tensor(self) -> Tensor {
        Tensor::from_array(self)
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

    /// [`into_operand`](IntoOperand::into_operand), with the variable the operand reads when
    /// it is one ([`Variable`] and `&Variable` say; by default, nothing), so that an error
    /// about two operands (two dtypes) names the variable even when no tape recorded its
    /// read. The variable is the one given (borrowed, or moved): nothing is allocated or
    /// counted for it unless the error happens.
    ///
    /// ```
    /// use std::borrow::Cow;
    /// use tapegrad_autodiff::{IntoOperand, Tensor, Variable};
    /// let v = Variable::new(1.0).with_name("v");
    /// let (_, from) = (&v).into_operand_from()?;
    /// assert!(matches!(from, Some(Cow::Borrowed(w)) if w.same_as(&v)));
    /// assert!(Tensor::scalar(1.0f32).into_operand_from()?.1.is_none());
    /// # Ok::<(), tapegrad_autodiff::Error>(())
    /// ```
    fn into_operand_from<'v>(self) -> Result<(Operand, Option<Cow<'v, Variable>>)>
    where
        Self: Sized + 'v,
    {
        Ok((self.into_operand()?, None))
    }
}

/// A resolved operand: a tensor, or a scalar waiting for a dtype.
#[derive(Clone, Debug)]
pub enum Operand {
    /// A tensor (or a read variable).
    Tensor(Tensor),
    /// A number that takes the dtype of the other operand.
    Scalar(f64),
    /// Data that is not yet a tensor (an ndarray array): it takes the dtype of the other
    /// operand, as `tf.convert_to_tensor` does.
    Value(tt::Array),
}

impl Operand {
    /// The tensor; a scalar or an array that is not yet a tensor becomes one of `dtype`.
    pub fn into_tensor(self, dtype: DType) -> Tensor {
        match self {
            Operand::Tensor(t) => t,
            Operand::Scalar(v) => Tensor::new(tt::Array::scalar_of(dtype, v)),
            Operand::Value(v) => Tensor::new(v.cast(dtype)),
        }
    }

    fn dtype(&self) -> Option<DType> {
        match self {
            Operand::Tensor(t) => Some(t.dtype()),
            Operand::Scalar(_) | Operand::Value(_) => None,
        }
    }
}

/// Resolves the two operands of `op` to tensors: a scalar takes the other's dtype (float32 if
/// both are scalars); two tensors of different dtypes are an error naming both.
#[inline]
pub(crate) fn resolve_pair(
    op: &'static str,
    a: impl IntoOperand,
    b: impl IntoOperand,
) -> Result<(Tensor, Tensor)> {
    let (a, a_from) = a.into_operand_from()?;
    let (b, b_from) = b.into_operand_from()?;
    match (a, b) {
        (Operand::Tensor(a), Operand::Tensor(b)) => {
            if a.dtype() != b.dtype() {
                return Err(dtype_error(
                    op,
                    (&a, a_from.as_deref()),
                    (&b, b_from.as_deref()),
                ));
            }
            Ok((a, b))
        }
        (a, b) => {
            let dtype = a.dtype().or(b.dtype()).unwrap_or(DType::F32);
            Ok((a.into_tensor(dtype), b.into_tensor(dtype)))
        }
    }
}

/// The error for operands of two dtypes: each described (a variable by its name: the one the
/// operand was given as, or the one a tape recorded reading it from), and the fix.
#[cold]
#[inline(never)]
fn dtype_error(
    op: &'static str,
    a: (&Tensor, Option<&Variable>),
    b: (&Tensor, Option<&Variable>),
) -> crate::Error {
    let describe = |(t, from): (&Tensor, Option<&Variable>)| {
        let name = match from {
            Some(v) => Some(v.name().to_string()),
            None => crate::tape::variable_read_by(t.id()),
        };
        let what = match name {
            Some(name) => format!("the variable `{name}`"),
            None if t.rank() == 0 => "a scalar tensor".to_string(),
            None => format!("a tensor of shape {:?}", t.shape()),
        };
        format!("{what} ({})", t.dtype())
    };
    // two dtypes exist: the fix casts the float64 operand to TensorFlow's default
    crate::Error::DType {
        op,
        lhs: describe(a),
        rhs: describe(b),
        fix: "TensorFlow does not convert between them: cast the float64 one with `.cast(DType::F32)` (or build it as float32; a Rust float scalar already takes the other operand's dtype)".into(),
    }
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
    #[inline]
    fn into_operand_from<'v>(self) -> Result<(Operand, Option<Cow<'v, Variable>>)>
    where
        Self: 'v,
    {
        Ok((
            Operand::Tensor(self.read_value()),
            Some(Cow::Borrowed(self)),
        ))
    }
}
impl IntoOperand for Variable {
    fn into_operand(self) -> Result<Operand> {
        Ok(Operand::Tensor(self.read_value()))
    }
    #[inline]
    fn into_operand_from<'v>(self) -> Result<(Operand, Option<Cow<'v, Variable>>)>
    where
        Self: 'v,
    {
        Ok((Operand::Tensor(self.read_value()), Some(Cow::Owned(self))))
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
macro_rules! integer_operands {
    ($($t:ty),*) => {$(
        /// An integer takes the other operand's dtype, as a Python int does (`x * 3`).
        impl IntoOperand for $t {
            fn into_operand(self) -> Result<Operand> {
                Ok(Operand::Scalar(self as f64))
            }
        }
    )*};
}
integer_operands!(i32, i64, u32, usize);
/// An ndarray array is a value that is not yet a tensor: it takes the dtype of the tensor it
/// meets (`tf.convert_to_tensor(np_array, dtype_hint)`), float32 when it meets none.
impl<T: Element, D: tt::ndarray::Dimension> IntoOperand for tt::ndarray::Array<T, D> {
    fn into_operand(self) -> Result<Operand> {
        Ok(Operand::Value(tt::Array::from_array(self)))
    }
}
impl<T: Element, D: tt::ndarray::Dimension> IntoOperand for &tt::ndarray::Array<T, D> {
    fn into_operand(self) -> Result<Operand> {
        Ok(Operand::Value(tt::Array::from_array(self.clone())))
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
