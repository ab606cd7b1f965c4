//! The optimizer part of a load: skipped as Keras 3 skips it when the file's optimizer never
//! stepped, and nothing left built when it is refused.
mod common;

use common::*;
use tapegrad_nn::Layer;
use tapegrad_optim::{Adam, Optimizer};
use tapegrad_saving::load_weights_with_optimizer;

#[test]
fn a_file_whose_optimizer_never_stepped_loads_into_a_fresh_compiled_model() {
    // Keras's model compiled with Adam and saved untrained: optimizer/vars holds iterations
    // (0) and the learning rate, no slots; Keras skips it with a warning and loads the weights
    let m = model();
    let mut opt = Adam::new(0.01);
    let loaded =
        load_weights_with_optimizer(&m, &mut opt, keras_file("never_stepped.weights.h5")).unwrap();
    assert!(same_bits(&m.get_weights(), &expected_weights()));
    assert_eq!(opt.iterations(), 0);
    assert!(
        opt.slot_variables().is_empty(),
        "slots built by a skipped load"
    );
    let note = format!("{loaded:?}");
    assert!(
        note.contains("never stepped") && note.contains("optimizer `Adam` is left as it was"),
        "{note}"
    );
    // a file of weights alone: the same, as Keras does
    let m = model();
    let loaded = load_weights_with_optimizer(&m, &mut opt, keras_file("plain.weights.h5")).unwrap();
    assert!(same_bits(&m.get_weights(), &expected_weights()));
    assert!(format!("{loaded:?}").contains("holds no optimizer state"));
}

#[test]
fn a_refused_optimizer_state_leaves_no_slot_built() {
    // Keras's Nadam state (with its u_product) does not fit Adam: refused, and the slots that
    // building Adam on the model made are gone again
    let m = model();
    let before = m.get_weights();
    let mut opt = Adam::new(0.01);
    let err = load_weights_with_optimizer(&m, &mut opt, keras_file("nadam.weights.h5"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("optimizer `Adam`"), "{err}");
    assert!(same_bits(&before, &m.get_weights()));
    assert_eq!(opt.iterations(), 0);
    assert!(
        opt.slot_variables().is_empty(),
        "half loaded: {:?}",
        opt.slot_variables()
            .iter()
            .map(|(n, _)| n)
            .collect::<Vec<_>>()
    );
    // a flat file whose optimizer part lacks slots: the same
    let dir = tmp();
    let path = dir.path().join("w.safetensors");
    let mut sgd = tapegrad_optim::Sgd::new(0.1).momentum(0.9);
    let vars = m.trainable_variables();
    let refs: Vec<_> = vars.iter().collect();
    sgd.build(&refs).unwrap();
    // one SGD step so that the file's optimizer stepped
    tapegrad_optim::OptimizerExt::apply_gradients(
        &mut sgd,
        vars.iter().map(|v| {
            (
                Some(tapegrad_autodiff::Tensor::ones(v.dtype(), v.shape()).unwrap()),
                v,
            )
        }),
    )
    .unwrap();
    tapegrad_saving::save_weights_with_optimizer(&m, &sgd, &path).unwrap();
    let mut opt = Adam::new(0.01);
    assert!(load_weights_with_optimizer(&m, &mut opt, &path).is_err());
    assert!(opt.slot_variables().is_empty());
}
