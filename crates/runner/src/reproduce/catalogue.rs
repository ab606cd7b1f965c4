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

/// One experiment of the catalogue: its document and title.
#[derive(Debug, Clone, Deserialize)]
pub struct ExperimentNote {
    /// Seed file name.
    pub document: String,
    /// The document's title (document 004: `document title -- section`).
    pub title: String,
}

/// One figure of a document, as the catalogue describes it.
#[derive(Debug, Clone, Deserialize)]
pub struct FigureNote {
    /// Experiment id.
    pub experiment: String,
    /// Seed file name.
    pub document: String,
    /// The image as the page links it (`None` when the page text has no link).
    pub image: Option<String>,
    /// The `savefig` name when there is no image link.
    pub saved_as: Option<String>,
    /// Line of the plotting cell in the seed file.
    pub line: Option<u64>,
    /// What the document plots.
    pub plots: Option<String>,
    /// The title as coded and as it renders.
    pub title: Option<String>,
    /// x-axis label (a string, or one per subplot).
    pub xlabel: Option<Value>,
    /// y-axis label.
    pub ylabel: Option<Value>,
    /// Legend entries.
    pub legend: Option<Vec<String>>,
    /// Anything else.
    pub note: Option<String>,
}

impl FigureNote {
    /// The image's file name (the link's last component, or the `savefig` name).
    pub fn file_name(&self) -> Option<&str> {
        self.image
            .as_deref()
            .or(self.saved_as.as_deref())
            .map(|s| s.rsplit('/').next().unwrap_or(s))
    }
}

/// A claim the document's prose makes, checked against its code.
#[derive(Debug, Clone, Deserialize)]
pub struct ProseClaim {
    /// Experiment id.
    pub experiment: String,
    /// Line in the seed file.
    pub line: Option<u64>,
    /// The claim as written.
    pub text: String,
    /// Whether the code and its output bear it out.
    pub consistent: bool,
    /// Why.
    pub remark: Option<String>,
}

/// The catalogue's descriptive parts: experiments, figures, prose claims.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Descriptions {
    /// Per experiment id.
    #[serde(default)]
    pub experiments: BTreeMap<String, ExperimentNote>,
    /// Every figure the documents show.
    #[serde(default)]
    pub figures: Vec<FigureNote>,
    /// Numbers or rules stated in prose.
    #[serde(default)]
    pub prose_claims: Vec<ProseClaim>,
}

/// Loads the catalogue's descriptions (for the report page).
pub fn descriptions() -> anyhow::Result<Descriptions> {
    serde_json::from_str(EXPECTED_JSON).context("parsing data/expected/expected.json")
}
