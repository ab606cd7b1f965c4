//! `.npz` as numpy's `savez` writes it (a zip of stored `.npy` members, `dense/kernel.npy`),
//! through `tapegrad-datasets`' reader and writer.

use std::path::Path;

use tapegrad_autodiff::{DType, Tensor};
use tapegrad_datasets::io::{NpzReader, NpzWriter};
use tapegrad_datasets::DatasetsError;

use crate::entries::{Stored, Values};
use crate::error::{from_datasets, Result};

pub(crate) fn write(path: &Path, items: &[(String, Values)]) -> Result<()> {
    let mut w = NpzWriter::new(false);
    for (name, v) in items {
        let added = match v {
            Values::Tensor(t) if t.dtype() == DType::F32 => {
                t.numpy::<f32>().map(|a| w.add(name, &a))
            }
            Values::Tensor(t) => t.numpy::<f64>().map(|a| w.add(name, &a)),
            Values::I64(i) => Ok(w.add(name, &ndarray::arr0(*i))),
        };
        added
            .map_err(|err| crate::error::format_err(path, format!("`{name}`: {err}")))?
            .map_err(|err| from_datasets(path, err))?;
    }
    w.write(path).map_err(|err| from_datasets(path, err))
}

/// The dtype a `.npy` member holds when it is not the one asked for (the reader says
/// "dtype '<f2' does not match the requested '<f4'").
fn other_dtype(e: &DatasetsError) -> Option<String> {
    let m = e.to_string();
    let rest = m.split("dtype '").nth(1)?;
    m.contains("does not match the requested")
        .then(|| rest.split('\'').next().unwrap_or("").to_string())
}

fn numpy_name(descr: &str) -> String {
    let name = match descr.trim_start_matches(['<', '>', '|', '=']) {
        "f2" => "float16",
        "i8" => "int64",
        "i4" => "int32",
        "i2" => "int16",
        "i1" => "int8",
        "u1" => "uint8",
        "b1" => "bool",
        _ => descr,
    };
    name.to_string()
}

pub(crate) fn read(path: &Path) -> Result<Vec<(String, Stored)>> {
    let mut r = NpzReader::open(path).map_err(|e| from_datasets(path, e))?;
    let mut out = Vec::new();
    for name in r.names() {
        let stored = match r.by_name::<f32>(&name) {
            Ok(a) => Stored::Tensor(Tensor::from_array(a)),
            Err(e) if other_dtype(&e).is_some() => match r.by_name::<f64>(&name) {
                Ok(a) => Stored::Tensor(Tensor::from_array(a)),
                Err(e) => match other_dtype(&e) {
                    Some(descr) if descr.trim_start_matches(['<', '=']) == "i8" => {
                        let a = r
                            .by_name::<i64>(&name)
                            .map_err(|e| from_datasets(path, e))?;
                        let shape = a.shape().to_vec();
                        Stored::I64(shape, a.into_raw_vec_and_offset().0)
                    }
                    Some(descr) => Stored::Unsupported {
                        dtype: numpy_name(&descr),
                        shape: None,
                    },
                    None => return Err(from_datasets(path, e)),
                },
            },
            Err(e) => return Err(from_datasets(path, e)),
        };
        out.push((name, stored));
    }
    Ok(out)
}
