//! Writing run results: `summary.json`, `history.csv` and figures, each file whole or not at
//! all (a temporary file in the same directory, then a rename).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;

use crate::experiment::{RunOutput, StoppedBy};
use crate::{figures, Config, Experiment};

/// Prints one line on stdout; false when stdout is closed (a reader like `head` went away),
/// instead of the panic `println!` would raise.
pub fn print_line(line: &str) -> bool {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").and_then(|_| out.flush()).is_ok()
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating directory {}", dir.display()))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| -> anyhow::Result<()> {
        let mut f =
            std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(bytes)
            .with_context(|| format!("writing {}", tmp.display()))?;
        f.sync_all()
            .with_context(|| format!("flushing {}", tmp.display()))?;
        std::fs::rename(&tmp, path)
            .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The JSON object `tapegrad run --json` prints and `summary.json` holds.
pub fn summary(exp: &dyn Experiment, cfg: &Config, out: &RunOutput) -> Value {
    let loss_history: Vec<Value> = out
        .loss_history
        .iter()
        .map(|&x| crate::json::num(x))
        .collect();
    serde_json::json!({
        "experiment": exp.id(),
        "document": exp.document(),
        "config": cfg.to_json(),
        "steps": out.steps,
        "stopped_by": out.stopped_by.unwrap_or(StoppedBy::Steps),
        "diverged_at": out.diverged_at,
        "variables": out.variables,
        "loss_history": loss_history,
        "final_loss": out.final_loss.map(crate::json::num),
        "train_seconds": out.train_seconds,
    })
}

/// `history.csv`: the per-step table.
pub fn history_csv(out: &RunOutput) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&out.history.columns)?;
    for row in &out.history.rows {
        w.write_record(row.iter().map(|x| crate::format::py_float(*x)))?;
    }
    w.into_inner()
        .map_err(|e| anyhow::anyhow!("history.csv: {e}"))
}

/// Writes `history.csv`, `summary.json` and the figures into `dir`; returns the paths.
pub fn write_run(
    dir: &Path,
    exp: &dyn Experiment,
    cfg: &Config,
    out: &RunOutput,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let h = dir.join("history.csv");
    write_atomic(&h, &history_csv(out)?)?;
    written.push(h);
    let s = dir.join("summary.json");
    let mut text = serde_json::to_string_pretty(&summary(exp, cfg, out))?;
    text.push('\n');
    write_atomic(&s, text.as_bytes())?;
    written.push(s);
    for fig in &out.figures {
        written.extend(figures::render(fig, dir).with_context(|| format!("figure {}", fig.name))?);
    }
    Ok(written)
}
