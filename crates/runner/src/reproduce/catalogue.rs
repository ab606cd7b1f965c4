//! The catalogue of the documents' printed numbers (`data/expected/expected.json`), compiled
//! into the binary.

use std::collections::BTreeMap;

use anyhow::Context;
use serde::Deserialize;
use serde_json::Value;

/// The catalogue, compiled in so the binary needs no repository at run time.
pub const EXPECTED_JSON: &str = include_str!("../../../../data/expected/expected.json");

/// One printed number of a document.
#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    /// Experiment id (or a `data-*` id for printed data tables).
    pub experiment: String,
    /// Key of the quantity within the experiment.
    pub quantity: String,
    /// Seed file name.
    pub document: String,
    /// Where in the document.
    pub location: String,
    /// Line of the printed output in the seed file.
    pub line: Option<u64>,
    /// The text as printed.
    pub printed: String,
    /// The printed value as a number or (nested) list.
    pub value: Value,
    /// `exact`, `distribution` or `inconsistent`.
    pub compare: String,
    /// With `exact`: `{"kind": "printed_digits"}` or `{"kind": "relative", "value": r}`.
    pub tolerance: Option<Value>,
    /// Why that tolerance.
    pub justification: Option<String>,
    /// With `inconsistent`: the computation showing the contradiction.
    pub arithmetic: Option<String>,
    /// Anything else.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Catalogue {
    entries: Vec<Entry>,
    #[serde(default)]
    notes: BTreeMap<String, Vec<String>>,
}

/// The documents' notes per experiment (stopping-rule quirks, contradictions).
pub type Notes = BTreeMap<String, Vec<String>>;

/// Loads the catalogue.
pub fn entries() -> anyhow::Result<(Vec<Entry>, Notes)> {
    let c: Catalogue =
        serde_json::from_str(EXPECTED_JSON).context("parsing data/expected/expected.json")?;
    Ok((c.entries, c.notes))
}
