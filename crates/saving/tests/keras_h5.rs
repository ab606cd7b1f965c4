//! Keras 3's `.weights.h5`: files h5py wrote, round trips, bad files.
mod common;

use common::*;
use tapegrad_nn::{Dense, Layer, Sequential};
use tapegrad_saving::{load_weights, save_weights};

#[test]
fn loads_what_keras_wrote_bit_for_bit() {
    // with and without the optimizer's variables beside the weights
    loads_expected(&["plain.weights.h5", "trained.weights.h5"]);
}

#[test]
fn what_we_write_is_kerass_layout() {
    let dir = tmp();
    let path = dir.path().join("m.weights.h5");
    let a = model();
    load_weights(&a, keras_file("plain.weights.h5")).unwrap();
    save_weights(&a, &path).unwrap();
    let file = hdf5_pure::File::open(&path).unwrap();
    let root = file.root();
    assert_eq!(root.groups().unwrap(), ["layers", "vars"]);
    assert_eq!(
        file.group("layers").unwrap().groups().unwrap(),
        ["dense", "dense_1"]
    );
    let vars = file.group("layers/dense_1/vars").unwrap();
    assert_eq!(vars.datasets().unwrap(), ["0", "1"]);
    assert_eq!(vars.attrs().unwrap()["name"].as_str(), Some("dense_1"));
    assert_eq!(
        file.dataset("layers/dense/vars/0")
            .unwrap()
            .shape()
            .unwrap(),
        [3, 4]
    );
    let b = model();
    load_weights(&b, &path).unwrap();
    assert!(same_bits(&b.get_weights(), &expected_weights()));
}

#[test]
fn nested_models_nest_their_groups() {
    let dir = tmp();
    let path = dir.path().join("nested.weights.h5");
    let build = || {
        let inner = Sequential::new()
            .with_name("block")
            .layer(Dense::new(3).name("inner_dense"))
            .unwrap();
        let mut m = Sequential::new()
            .layer(inner)
            .unwrap()
            .layer(Dense::new(1).name("head"))
            .unwrap();
        m.build(&[2, 4]).unwrap();
        m
    };
    let (a, b) = (build(), build());
    save_weights(&a, &path).unwrap();
    let file = hdf5_pure::File::open(&path).unwrap();
    assert_eq!(
        // Keras 3 keys sub-layers by class (`sequential`, `dense`), as its own file of this
        // model does; the names are the groups' `name` attributes
        file.dataset("layers/sequential/layers/dense/vars/0")
            .unwrap()
            .shape()
            .unwrap(),
        [4, 3]
    );
    load_weights(&b, &path).unwrap();
    assert!(same_bits(&a.get_weights(), &b.get_weights()));
}

#[test]
fn bad_files_name_the_file_layer_variable_and_shapes() {
    let err = refused(&keras_file("float16.weights.h5"));
    assert!(err.ends_with(
        "layer `dense`: variable `dense/kernel` (layers/dense/vars/0) is stored as float16 [3, 4], a dtype tapegrad does not have (the model's is float32)"
    ), "{err}");
    let err = refused(&keras_file("renamed.weights.h5"));
    assert!(
        err.ends_with(
            "layer `dense_1`: variable `dense_1/kernel` (layers/dense_1/vars/0) is not in the file"
        ),
        "{err}"
    );

    // a model whose second layer is wider than the file's
    let mut wide = Sequential::new()
        .layer(Dense::new(4).name("dense"))
        .unwrap()
        .layer(Dense::new(3).name("dense_1"))
        .unwrap();
    wide.build(&[1, 3]).unwrap();
    let before = wide.get_weights();
    let err = load_weights(&wide, keras_file("plain.weights.h5"))
        .unwrap_err()
        .to_string();
    assert!(err.ends_with(
        "layer `dense_1`: variable `dense_1/kernel` (layers/dense_1/vars/0) has shape [4, 3] in the model, [4, 2] in the file"
    ), "{err}");
    assert!(same_bits(&before, &wide.get_weights()));

    // a file with a layer the model does not have
    let mut small = Sequential::new()
        .layer(Dense::new(4).name("dense"))
        .unwrap();
    small.build(&[1, 3]).unwrap();
    let err = load_weights(&small, keras_file("plain.weights.h5"))
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("`layers/dense_1/vars/0` is in the file but the model has no such variable"),
        "{err}"
    );

    let dir = tmp();
    let path = dir.path().join("text.weights.h5");
    std::fs::write(&path, b"not hdf5 at all").unwrap();
    assert!(refused(&path).ends_with("not an HDF5 file (no HDF5 signature)"));
}

#[test]
fn truncated_and_garbled_files_are_errors_not_panics() {
    let dir = tmp();
    let path = dir.path().join("cut.weights.h5");
    let bytes = std::fs::read(keras_file("plain.weights.h5")).unwrap();
    cut_and_garble(&bytes, &path, 97, 13);
}

/// plain.weights.h5 with `layers/dense/vars/0`'s header claiming shape (3, 2^40): 4 TiB of
/// float32 that the file does not hold.
fn lying_header(dir: &std::path::Path) -> std::path::PathBuf {
    let mut bytes = std::fs::read(keras_file("plain.weights.h5")).unwrap();
    let dims: Vec<u8> = [3u64, 4].iter().flat_map(|d| d.to_le_bytes()).collect();
    let huge: Vec<u8> = [3u64, 1 << 40]
        .iter()
        .flat_map(|d| d.to_le_bytes())
        .collect();
    let at: Vec<usize> = (0..bytes.len() - 16)
        .filter(|&i| bytes[i..i + 16] == dims[..])
        .collect();
    assert_eq!(at.len(), 2, "the dataspace's dims and max dims");
    for i in at {
        bytes[i..i + 16].copy_from_slice(&huge);
    }
    let path = dir.join("huge.weights.h5");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_dataset_claiming_terabytes_is_refused_by_its_shape_before_any_read() {
    let dir = tmp();
    let path = lying_header(dir.path());
    let tail = "layer `dense`: variable `dense/kernel` (layers/dense/vars/0) has shape [3, 4] in the model, [3, 1099511627776] in the file";
    let err = refused(&path);
    assert!(err.ends_with(tail), "{err}");
    let m = model();
    let before = m.get_weights();
    let err = tapegrad_saving::load_weights_with_optimizer(
        &m,
        &mut tapegrad_optim::Adam::new(0.01),
        &path,
    )
    .unwrap_err()
    .to_string();
    assert!(err.ends_with(tail), "{err}");
    assert!(same_bits(&before, &m.get_weights()));
}

#[test]
fn layers_of_any_name_load_from_kerass_class_keyed_groups() {
    // Keras's Dense layers named `hidden` and `out`: stored at layers/dense and layers/dense_1
    let mut m = Sequential::new()
        .layer(Dense::new(4).activation("relu").unwrap().name("hidden"))
        .unwrap()
        .layer(Dense::new(2).name("out"))
        .unwrap();
    m.build(&[1, 3]).unwrap();
    load_weights(&m, keras_file("named.weights.h5")).unwrap();
    assert!(same_bits(&m.get_weights(), &expected_weights()));
}
