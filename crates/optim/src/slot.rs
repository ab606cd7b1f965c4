//! [`Slot`]: per-variable optimizer state (Keras's slot variables `m`, `v`, ...).

use ndarray::ArrayD;
use tapegrad_autodiff::Tensor;
use tapegrad_tensor::{self as tt, DType, Element};

use crate::Result;

/// One piece of optimizer state for one variable, with the variable's shape and dtype (Keras's
/// `add_variable_from_reference`). It is owned by the optimizer and updated in place.
///
/// ```
/// use tapegrad_optim::Slot;
/// use tapegrad_tensor::DType;
/// let mut s = Slot::full("accumulator", DType::F32, &[2], 0.1)?;
/// s.array_mut::<f32>().unwrap()[[1]] += 1.0;
/// let before = s.to_tensor();
/// assert_eq!(before.to_vec::<f32>()?, vec![0.1, 1.1]);
/// s.array_mut::<f32>().unwrap()[[0]] = 7.0;
/// // a tensor taken before keeps its values
/// assert_eq!(before.to_vec::<f32>()?, vec![0.1, 1.1]);
/// assert_eq!(s.to_tensor().to_vec::<f32>()?, vec![7.0, 1.1]);
/// assert!(s.array_mut::<f64>().is_none());
/// # Ok::<(), tapegrad_optim::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Slot {
    name: &'static str,
    value: tt::Array,
}

impl Slot {
    /// A slot of `dtype` and `shape` filled with `value` (rounded to the dtype); a shape
    /// memory cannot hold is an error, as [`tapegrad_autodiff::Tensor::full`].
    pub fn full(name: &'static str, dtype: DType, shape: &[usize], value: f64) -> Result<Self> {
        Ok(Slot {
            name,
            value: tt::Array::full(dtype, shape, value)?,
        })
    }

    /// The slot's name (`m`, `v`, `velocity`, ...).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The dtype.
    pub fn dtype(&self) -> DType {
        self.value.dtype()
    }

    /// The values, mutably, when the dtype is `T` (copied first when a tensor from
    /// [`Slot::to_tensor`] still shares them).
    pub fn array_mut<T: Element>(&mut self) -> Option<&mut ArrayD<T>> {
        self.value.array_mut().ok()
    }

    /// The values as a tensor (shared until one of the two is written: copy-on-write).
    pub fn to_tensor(&self) -> Tensor {
        Tensor::new(self.value.clone())
    }
}
