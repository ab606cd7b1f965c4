//! [`Slot`]: per-variable optimizer state (Keras's slot variables `m`, `v`, ...).

use std::any::Any;

use ndarray::{ArrayD, IxDyn};
use tapegrad_tensor::{self as tt, DType, Element};

#[derive(Debug, Clone)]
enum Data {
    F32(ArrayD<f32>),
    F64(ArrayD<f64>),
}

/// One piece of optimizer state for one variable, with the variable's shape and dtype (Keras's
/// `add_variable_from_reference`). It is owned by the optimizer and updated in place.
///
/// ```
/// use tapegrad_optim::Slot;
/// use tapegrad_tensor::DType;
/// let mut s = Slot::full("accumulator", DType::F32, &[2], 0.1);
/// s.array_mut::<f32>().unwrap()[[1]] += 1.0;
/// assert_eq!(s.to_tensor().to_vec::<f32>()?, vec![0.1, 1.1]);
/// assert!(s.array_mut::<f64>().is_none());
/// # Ok::<(), tapegrad_tensor::TensorError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Slot {
    name: &'static str,
    data: Data,
}

impl Slot {
    /// A slot of `dtype` and `shape` filled with `value` (rounded to the dtype).
    pub fn full(name: &'static str, dtype: DType, shape: &[usize], value: f64) -> Self {
        let data = match dtype {
            DType::F32 => Data::F32(ArrayD::from_elem(IxDyn(shape), value as f32)),
            DType::F64 => Data::F64(ArrayD::from_elem(IxDyn(shape), value)),
        };
        Slot { name, data }
    }

    /// The slot's name (`m`, `v`, `velocity`, ...).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The dtype.
    pub fn dtype(&self) -> DType {
        match self.data {
            Data::F32(_) => DType::F32,
            Data::F64(_) => DType::F64,
        }
    }

    /// The values, mutably, when the dtype is `T`.
    pub fn array_mut<T: Element>(&mut self) -> Option<&mut ArrayD<T>> {
        match &mut self.data {
            Data::F32(a) => (a as &mut dyn Any).downcast_mut(),
            Data::F64(a) => (a as &mut dyn Any).downcast_mut(),
        }
    }

    /// A copy of the values as a tensor.
    pub fn to_tensor(&self) -> tt::Tensor {
        match &self.data {
            Data::F32(a) => tt::Tensor::from_array(a.clone()),
            Data::F64(a) => tt::Tensor::from_array(a.clone()),
        }
    }
}
