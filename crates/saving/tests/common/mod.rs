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

/// Loads `path` into a fresh [`model`], expecting a refusal: one line starting with the
/// file's name, and the model unchanged. Returns the message.
pub fn refused(path: &std::path::Path) -> String {
    let m = model();
    let before = m.get_weights();
    let err = tapegrad_saving::load_weights(&m, path)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with(&path.display().to_string()), "{err}");
    assert!(!err.contains('\n'), "{err}");
    assert!(same_bits(&before, &m.get_weights()), "half loaded: {err}");
    err
}

/// `bytes` cut every `cut` bytes (each prefix refused) and with every `flip`-th byte changed
/// (refused or loaded whole), written to `path`: no panic, nothing half loaded.
pub fn cut_and_garble(bytes: &[u8], path: &std::path::Path, cut: usize, flip: usize) {
    for n in (0..bytes.len()).step_by(cut) {
        std::fs::write(path, &bytes[..n]).unwrap();
        refused(path);
    }
    for i in (0..bytes.len()).step_by(flip) {
        let mut b = bytes.to_vec();
        b[i] ^= 0xa5;
        std::fs::write(path, &b).unwrap();
        let m = model();
        let before = m.get_weights();
        if tapegrad_saving::load_weights(&m, path).is_err() {
            assert!(same_bits(&before, &m.get_weights()), "byte {i}");
        }
    }
}

/// Each Python-written fixture `names` loads into the script's model bit for bit.
pub fn loads_expected(names: &[&str]) {
    for name in names {
        let m = model();
        tapegrad_saving::load_weights(&m, keras_file(name)).unwrap();
        assert!(same_bits(&m.get_weights(), &expected_weights()), "{name}");
    }
}
