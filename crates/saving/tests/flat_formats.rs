//! `.safetensors` and `.npz`: files numpy and safetensors wrote, round trips, bad files.
mod common;

use common::*;
use tapegrad_autodiff::Tensor;
use tapegrad_datasets::io::NpzWriter;
use tapegrad_nn::Layer;
use tapegrad_saving::{load_weights, save_weights, Error};

#[test]
fn loads_what_safetensors_and_numpy_wrote_bit_for_bit() {
    loads_expected(&["weights.safetensors", "weights.npz"]);
}

#[test]
fn round_trips_and_the_written_names_are_kerass() {
    let dir = tmp();
    for name in ["w.safetensors", "w.npz"] {
        let path = dir.path().join(name);
        let a = model();
        save_weights(&a, &path).unwrap();
        let b = model();
        assert!(!same_bits(&a.get_weights(), &b.get_weights()));
        load_weights(&b, &path).unwrap();
        assert!(same_bits(&a.get_weights(), &b.get_weights()), "{name}");
    }
    let r = tapegrad_datasets::io::NpzReader::open(dir.path().join("w.npz")).unwrap();
    assert_eq!(
        r.names(),
        [
            "dense/bias",
            "dense/kernel",
            "dense_1/bias",
            "dense_1/kernel"
        ]
    );
    // no temporary file left beside them
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn truncated_and_garbled_files_are_errors_not_panics() {
    let dir = tmp();
    for name in ["weights.safetensors", "weights.npz"] {
        let bytes = std::fs::read(keras_file(name)).unwrap();
        let path = dir.path().join(name);
        // an error or a whole load, never a panic or half a load
        cut_and_garble(&bytes, &path, 7, 3);
        std::fs::write(&path, b"plain text, not weights").unwrap();
        let err = refused(&path);
        assert!(err.contains("not a"), "{err}");
    }
}

/// A file of `(name, tensor)` written by the flat format `ext`.
fn write_flat(dir: &std::path::Path, ext: &str, arrays: &[(&str, Tensor)]) -> std::path::PathBuf {
    let path = dir.join(format!("w.{ext}"));
    if ext == "npz" {
        let mut w = NpzWriter::new(false);
        for (n, t) in arrays {
            w.add(n, &t.numpy::<f32>().unwrap()).unwrap();
        }
        w.write(&path).unwrap();
    } else {
        let data: Vec<(String, Vec<u8>, Vec<usize>)> = arrays
            .iter()
            .map(|(n, t)| {
                let b = t
                    .to_vec::<f32>()
                    .unwrap()
                    .iter()
                    .flat_map(|x| x.to_le_bytes())
                    .collect();
                (n.to_string(), b, t.shape().to_vec())
            })
            .collect();
        let views: Vec<(String, safetensors::tensor::TensorView)> = data
            .iter()
            .map(|(n, b, s)| {
                let v = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b);
                (n.clone(), v.unwrap())
            })
            .collect();
        std::fs::write(&path, safetensors::serialize(views, None).unwrap()).unwrap();
    }
    path
}

#[test]
fn wrong_shape_missing_and_extra_variables_name_layer_variable_and_shapes() {
    let dir = tmp();
    let w = expected_weights();
    let names = [
        "dense/kernel",
        "dense/bias",
        "dense_1/kernel",
        "dense_1/bias",
    ];
    for ext in ["safetensors", "npz"] {
        let all: Vec<(&str, Tensor)> = names.iter().copied().zip(w.iter().cloned()).collect();

        let mut wrong = all.clone();
        wrong[2].1 = Tensor::zeros(tapegrad_autodiff::DType::F32, &[5, 2]).unwrap();
        let err = refused(&write_flat(dir.path(), ext, &wrong));
        assert!(err.ends_with(
            "layer `dense_1`: variable `dense_1/kernel` (dense_1/kernel) has shape [4, 2] in the model, [5, 2] in the file"
        ), "{err}");

        let err = refused(&write_flat(dir.path(), ext, &all[..3]));
        assert!(
            err.ends_with(
                "layer `dense_1`: variable `dense_1/bias` (dense_1/bias) is not in the file"
            ),
            "{err}"
        );

        let mut extra = all.clone();
        extra.push(("dense_2/kernel", w[0].clone()));
        let err = refused(&write_flat(dir.path(), ext, &extra));
        assert!(
            err.ends_with("`dense_2/kernel` is in the file but the model has no such variable"),
            "{err}"
        );
    }
}

#[test]
fn a_dtype_we_do_not_have_names_it() {
    let dir = tmp();
    // safetensors: float16
    let path = dir.path().join("w.safetensors");
    let half = vec![0u8; 2 * 12];
    let views = vec![(
        "dense/kernel",
        safetensors::tensor::TensorView::new(safetensors::Dtype::F16, vec![3, 4], &half).unwrap(),
    )];
    std::fs::write(&path, safetensors::serialize(views, None).unwrap()).unwrap();
    let err = refused(&path);
    assert!(err.ends_with(
        "layer `dense`: variable `dense/kernel` (dense/kernel) is stored as F16 [3, 4], a dtype tapegrad does not have (the model's is float32)"
    ), "{err}");
    // npz: int64
    let path = dir.path().join("w.npz");
    let mut w = NpzWriter::new(false);
    w.add("dense/kernel", &ndarray::Array2::<i64>::zeros((3, 4)))
        .unwrap();
    w.write(&path).unwrap();
    let err = refused(&path);
    assert!(err.ends_with(
        "layer `dense`: variable `dense/kernel` (dense/kernel) is stored as int64 [3, 4], a dtype tapegrad does not have (the model's is float32)"
    ), "{err}");
}

#[test]
fn unknown_names_unbuilt_models_and_missing_files() {
    let m = model();
    let err = save_weights(&m, "w.bin").unwrap_err();
    assert!(matches!(err, Error::UnknownFormat { .. }));
    let unbuilt = tapegrad_nn::Dense::new(2).name("d");
    let err = save_weights(&unbuilt, "w.npz").unwrap_err().to_string();
    assert_eq!(
        err,
        "w.npz: model `d` is not built: build it (or call it once) so that its variables exist"
    );
    let err = load_weights(&m, "/nonexistent/w.safetensors").unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
}
