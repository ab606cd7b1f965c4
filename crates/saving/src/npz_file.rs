//! `.npz` as numpy's `savez` writes it (a zip of stored `.npy` members, `dense/kernel.npy`),
//! through `tapegrad-datasets`' reader and writer.

use std::path::Path;

use tapegrad_autodiff::{DType, Tensor};
use tapegrad_datasets::io::{NpzReader, NpzWriter};
use tapegrad_datasets::DatasetsError;

use crate::entries::{Entry, Stored};
use crate::error::{from_datasets, Result};

pub(crate) fn write(path: &Path, entries: &[Entry]) -> Result<()> {
    let mut w = NpzWriter::new(false);
    for e in entries {
        let t = e.var.snapshot();
        let added = match t.dtype() {
            DType::F32 => t.numpy::<f32>().map(|a| w.add(&e.name, &a)),
            DType::F64 => t.numpy::<f64>().map(|a| w.add(&e.name, &a)),
        };
        added
            .map_err(|err| crate::error::format_err(path, format!("`{}`: {err}", e.name)))?
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
