//! The comparison of our runs with the documents' printed numbers (`cargo xtask reproduce`).
