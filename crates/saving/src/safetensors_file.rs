//! `.safetensors` through the `safetensors` crate: one tensor per variable, keyed by the
//! variable's name (`dense/kernel`), little-endian, row-major.

use std::path::Path;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use tapegrad_autodiff::{DType, Tensor};

use crate::entries::{Stored, Values};
use crate::error::{format_err, Result};

/// A tensor's elements as little-endian bytes.
pub(crate) fn le_bytes(t: &Tensor) -> Vec<u8> {
    fn each<T: tapegrad_tensor::Element, const N: usize>(
        t: &Tensor,
        le: fn(T) -> [u8; N],
    ) -> Vec<u8> {
        let v = t.to_vec::<T>().unwrap_or_default();
        v.into_iter().flat_map(le).collect()
    }
    match t.dtype() {
        DType::F32 => each(t, f32::to_le_bytes),
        DType::F64 => each(t, f64::to_le_bytes),
    }
}

/// A tensor of `dtype` and `shape` from little-endian bytes (whose length the caller checked).
pub(crate) fn from_le_bytes(dtype: DType, shape: &[usize], bytes: &[u8]) -> Option<Tensor> {
    match dtype {
        DType::F32 => {
            let v: Vec<f32> = bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            Tensor::from_vec(v, shape).ok()
        }
        DType::F64 => {
            let v: Vec<f64> = bytes
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                .collect();
            Tensor::from_vec(v, shape).ok()
        }
    }
}

pub(crate) fn to_bytes(path: &Path, items: &[(String, Values)]) -> Result<Vec<u8>> {
    let data: Vec<(&str, Dtype, Vec<usize>, Vec<u8>)> = items
        .iter()
        .map(|(name, v)| match v {
            Values::Tensor(t) => {
                let dtype = match t.dtype() {
                    DType::F32 => Dtype::F32,
                    DType::F64 => Dtype::F64,
                };
                (name.as_str(), dtype, t.shape().to_vec(), le_bytes(t))
            }
            Values::I64(i) => (
                name.as_str(),
                Dtype::I64,
                Vec::new(),
                i.to_le_bytes().to_vec(),
            ),
        })
        .collect();
    let mut views = Vec::with_capacity(data.len());
    for (name, dtype, shape, bytes) in &data {
        let view = TensorView::new(*dtype, shape.clone(), bytes)
            .map_err(|e| format_err(path, format!("`{name}`: {e}")))?;
        views.push((*name, view));
    }
    safetensors::serialize(views, None).map_err(|e| format_err(path, e.to_string()))
}

pub(crate) fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Vec<(String, Stored)>> {
    let file = SafeTensors::deserialize(bytes)
        .map_err(|e| format_err(path, format!("not a whole .safetensors file: {e:?}")))?;
    let mut out = Vec::new();
    for (name, view) in file.iter() {
        let shape = view.shape().to_vec();
        let dtype = match view.dtype() {
            Dtype::F32 => DType::F32,
            Dtype::F64 => DType::F64,
            Dtype::I64 => {
                let v = view
                    .data()
                    .chunks_exact(8)
                    .map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                    .collect();
                out.push((name.to_string(), Stored::I64(shape, v)));
                continue;
            }
            other => {
                out.push((
                    name.to_string(),
                    Stored::Unsupported {
                        dtype: format!("{other:?}"),
                        shape: Some(shape),
                    },
                ));
                continue;
            }
        };
        let t = from_le_bytes(dtype, &shape, view.data()).ok_or_else(|| {
            format_err(path, format!("`{name}`: data does not fit shape {shape:?}"))
        })?;
        out.push((name.to_string(), Stored::Tensor(t)));
    }
    Ok(out)
}
