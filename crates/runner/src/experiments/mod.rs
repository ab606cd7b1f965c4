//! The registry of experiments, one module per document.

use crate::config::ConfigError;
use crate::Experiment;

mod doc000;
mod doc001;
mod doc002;
mod doc003;
mod doc004;

/// Every experiment, in the documents' order.
pub fn all() -> Vec<&'static dyn Experiment> {
    vec![
        &doc000::TwoWeights,
        &doc001::ScratchRegression,
        &doc002::TapeRegression,
        &doc003::CustomTraining,
        &doc004::ManualNumpy,
        &doc004::ManualTf,
        &doc004::Tape,
        &doc004::SimpleModelExperiment,
        &doc004::KerasModel,
        &doc004::SgdExploding,
        &doc004::SgdNormalized,
        &doc004::DenseSgd,
        &doc004::DenseMinibatch,
        &doc004::Mlp,
    ]
}

/// The experiment with this id, or an error listing the known ids.
pub fn find(id: &str) -> Result<&'static dyn Experiment, ConfigError> {
    all()
        .into_iter()
        .find(|e| e.id() == id)
        .ok_or_else(|| ConfigError::UnknownExperiment {
            id: id.to_string(),
            known: all().iter().map(|e| e.id()).collect::<Vec<_>>().join(", "),
        })
}
