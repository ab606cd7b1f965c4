//! What the tests share: the fixtures' model and their expected values.
#![allow(dead_code)]

use std::path::PathBuf;

use tapegrad_autodiff::Tensor;
use tapegrad_nn::{Dense, Layer, Sequential};

/// `data/keras/files/` in the repository.
pub fn files_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/keras/files")
}

/// A fixture written by Keras 3 / h5py / numpy / safetensors.
pub fn keras_file(name: &str) -> PathBuf {
    files_dir().join("keras").join(name)
}

/// The script's model: Dense(4, relu, "dense") -> Dense(2, "dense_1") on 3 features, built.
pub fn model() -> Sequential {
    let mut m = Sequential::new()
        .layer(Dense::new(4).activation("relu").unwrap().name("dense"))
        .unwrap()
        .layer(Dense::new(2).name("dense_1"))
        .unwrap();
    m.build(&[8, 3]).unwrap();
    m
}

/// One array of expected.json: float32 as hex bit patterns, int64 as numbers.
pub fn tensor(e: &serde_json::Value) -> Tensor {
    let shape: Vec<usize> = e["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    match e["dtype"].as_str().unwrap() {
        "float32" => {
            let v: Vec<f32> = e["bits"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| f32::from_bits(u32::from_str_radix(b.as_str().unwrap(), 16).unwrap()))
                .collect();
            Tensor::from_vec(v, &shape).unwrap()
        }
        "int64" => {
            let v: Vec<f64> = e["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b.as_i64().unwrap() as f64)
                .collect();
            Tensor::from_vec(v, &shape).unwrap()
        }
        other => panic!("dtype {other}"),
    }
}

/// An array as expected.json holds it.
pub fn to_json(t: &Tensor) -> serde_json::Value {
    let bits: Vec<String> = t
        .to_vec::<f32>()
        .unwrap()
        .iter()
        .map(|x| format!("{:08x}", x.to_bits()))
        .collect();
    serde_json::json!({"dtype": "float32", "shape": t.shape(), "bits": bits})
}

pub fn expected(dir: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(files_dir().join(dir).join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Keras's `get_weights()` of the fixture's trained model.
pub fn expected_weights() -> Vec<Tensor> {
    expected("keras")["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(tensor)
        .collect()
}

/// Same values, same dtypes, same shapes: bit for bit.
pub fn same_bits(a: &[Tensor], b: &[Tensor]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(a, b)| {
            a.shape() == b.shape()
                && a.dtype() == b.dtype()
                && a.to_f64_vec()
                    .iter()
                    .zip(b.to_f64_vec())
                    .all(|(x, y)| x.to_bits() == y.to_bits())
        })
}

/// A fresh directory for one test's files.
pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}
