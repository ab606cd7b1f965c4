//! # tapegrad-runner
//!
//! The documents' training runs as typed experiments, the `tapegrad` command line that runs
//! them, their figures, and the comparison of their numbers with the documents' printed ones
//! (`cargo xtask reproduce`).
//!
//! ```
//! use tapegrad_runner::{find, Config, RunContext};
//! let exp = find("two-weights")?;
//! let out = exp.run(&Config::defaults(&exp.params()), &mut RunContext::quiet())?;
//! assert_eq!(out.steps, 15000);
//! # Ok::<(), anyhow::Error>(())
//! ```
#![warn(missing_docs)]

pub mod config;
pub mod experiment;
pub mod experiments;
pub mod explain;
pub mod figures;
pub mod fit;
pub mod format;
pub mod json;
pub mod output;
pub mod reproduce;
pub mod step;

pub use config::{Config, ConfigError, Param};
pub use experiment::{Experiment, History, LossHistory, RunContext, RunOutput, StoppedBy};
pub use experiments::{all, find};

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
