//! Element types: `f32` (the default, as in TensorFlow) and `f64`.

use std::fmt;

use ndarray::ArrayD;
use num_traits::Float;

use crate::tensor::{Array, Repr};

/// The dtype of a [`Array`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DType {
    /// 32-bit IEEE float, TensorFlow's default.
    #[default]
    F32,
    /// 64-bit IEEE float.
    F64,
}

impl DType {
    /// TensorFlow's name for the dtype (`float32`, `float64`).
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }

    /// Bytes per element (`4` for float32, `8` for float64).
    ///
    /// ```
    /// assert_eq!(tapegrad_tensor::DType::F32.size(), 4);
    /// ```
    pub const fn size(self) -> usize {
        match self {
            DType::F32 => 4,
            DType::F64 => 8,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A float type a [`Array`] can hold. Implemented for `f32` and `f64` only.
pub trait Element:
    Float
    + ndarray::LinalgScalar
    + ndarray::ScalarOperand
    + fmt::Display
    + fmt::Debug
    + fmt::LowerExp
    + Default
    + Send
    + Sync
    + std::iter::Sum
    + std::str::FromStr
    + 'static
{
    /// The matching [`DType`].
    const DTYPE: DType;
    /// Wraps an array in a [`Array`].
    fn wrap(array: ArrayD<Self>) -> Array;
    /// Borrows the array of a tensor of this dtype.
    fn unwrap(tensor: &Array) -> Option<&ArrayD<Self>>;
    /// Converts from `f64` (rounding to nearest for `f32`).
    fn from_f64(value: f64) -> Self;
    /// Widens to `f64` (exact).
    fn to_f64(self) -> f64;
    /// The value's bits, widened to `u64` (no conversion through `f64`, which would quiet a
    /// signalling NaN): two values have the same bits exactly when these are equal.
    fn bits(self) -> u64;
}

impl Element for f32 {
    const DTYPE: DType = DType::F32;
    fn wrap(array: ArrayD<Self>) -> Array {
        Array::from_repr(Repr::F32(array))
    }
    fn unwrap(tensor: &Array) -> Option<&ArrayD<Self>> {
        match tensor.repr() {
            Repr::F32(a) => Some(a),
            Repr::F64(_) => None,
        }
    }
    fn from_f64(value: f64) -> Self {
        value as f32
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn bits(self) -> u64 {
        u64::from(self.to_bits())
    }
}

impl Element for f64 {
    const DTYPE: DType = DType::F64;
    fn wrap(array: ArrayD<Self>) -> Array {
        Array::from_repr(Repr::F64(array))
    }
    fn unwrap(tensor: &Array) -> Option<&ArrayD<Self>> {
        match tensor.repr() {
            Repr::F64(a) => Some(a),
            Repr::F32(_) => None,
        }
    }
    fn from_f64(value: f64) -> Self {
        value
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn bits(self) -> u64 {
        self.to_bits()
    }
}

/// `x` as a `U` when `T` is `U`, else `None`: `<dyn Any>::downcast_mut` without its call of
/// `type_id` through the vtable (which the compiler left in the hot paths of the pools); the
/// two `TypeId`s are constants, so the test folds away.
#[inline(always)]
pub(crate) fn same_mut<T: 'static, U: 'static>(x: &mut T) -> Option<&mut U> {
    if std::any::TypeId::of::<T>() == std::any::TypeId::of::<U>() {
        // SAFETY: `T` and `U` are the same type, so the pointer is to a valid, unique `U`
        // for as long as the borrow of `x`.
        Some(unsafe { &mut *(x as *mut T).cast::<U>() })
    } else {
        None
    }
}
