//! Each experiment run eagerly and traced (`tapegrad run --traced`), and the two runs compared
//! bit for bit: the log it prints, the documented numbers, the final parameters, the losses and
//! the history. A difference names the first number that differs.

use serde::Serialize;
use serde_json::Value;

use crate::experiment::RunOutput;
use crate::{Config, Experiment, RunContext};

/// One experiment's eager and traced runs compared.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TracedCheck {
    /// The experiment.
    pub experiment: String,
    /// Whether the traced run's step was traced (false: it stays eager, `note` says why).
    pub traced: bool,
    /// How many traces the traced run made.
    pub traces: usize,
    /// Log lines compared.
    pub lines: usize,
    /// Documented numbers (quantities) compared.
    pub quantities: usize,
    /// Final parameters (variables) compared.
    pub variables: usize,
    /// Losses compared.
    pub losses: usize,
    /// History values compared (rows × columns).
    pub history: usize,
    /// The first difference, naming the number; `None` when the runs agree bit for bit.
    pub first_difference: Option<String>,
    /// Why the step was not traced, when it was not.
    pub note: Option<String>,
}

impl TracedCheck {
    /// True when the traced run printed the same numbers as the eager one, bit for bit.
    pub fn ok(&self) -> bool {
        self.first_difference.is_none()
    }

    /// The report's line for this experiment.
    ///
    /// ```
    /// use tapegrad_runner::reproduce::TracedCheck;
    /// let mut c = TracedCheck {
    ///     experiment: "two-weights".into(), traced: true, traces: 1, lines: 1, quantities: 2,
    ///     variables: 3, losses: 1500, history: 6000, first_difference: None, note: None,
    /// };
    /// assert_eq!(c.line(), "traced two-weights: 1 trace; the same 1 log line, 2 documented \
    ///     numbers, 3 final parameters, 1500 losses and 6000 history values as eager, bit for bit");
    /// c.first_difference = Some("quantity `final_a`: eager 4.9825, traced 4.9826".into());
    /// assert!(c.line().contains("DIFFERS from eager at quantity `final_a`"));
    /// ```
    pub fn line(&self) -> String {
        let how = if self.traced {
            format!(
                "{} trace{}",
                self.traces,
                if self.traces == 1 { "" } else { "s" }
            )
        } else {
            format!(
                "stays eager ({})",
                self.note.as_deref().unwrap_or("not traced")
            )
        };
        match &self.first_difference {
            Some(d) => format!(
                "traced {}: {how}; DIFFERS from eager at {d}",
                self.experiment
            ),
            None => format!(
                "traced {}: {how}; the same {}, {}, {}, {} and {} as eager, bit for bit",
                self.experiment,
                counted(self.lines, "log line"),
                counted(self.quantities, "documented number"),
                counted(self.variables, "final parameter"),
                counted(self.losses, "loss"),
                counted(self.history, "history value"),
            ),
        }
    }
}

/// `n` and the noun, plural unless `n` is 1 (`1 loss`, `2 losses`).
fn counted(n: usize, noun: &str) -> String {
    match (n, noun.ends_with('s')) {
        (1, _) => format!("1 {noun}"),
        (_, true) => format!("{n} {noun}es"),
        _ => format!("{n} {noun}s"),
    }
}

/// The closing line of the traced comparison.
pub fn traced_summary(checks: &[TracedCheck]) -> String {
    let traced = checks.iter().filter(|c| c.traced).count();
    let same = checks.iter().filter(|c| c.ok()).count();
    let eager: Vec<&str> = checks
        .iter()
        .filter(|c| !c.traced)
        .map(|c| c.experiment.as_str())
        .collect();
    let mut line = format!(
        "traced runs: {same} of {} experiments print the same numbers and final parameters as \
         eager, bit for bit; {traced} traced",
        checks.len()
    );
    if !eager.is_empty() {
        line.push_str(&format!(", {} eager ({})", eager.len(), eager.join(", ")));
    }
    line
}

/// One run's output and log.
struct Run {
    out: RunOutput,
    lines: Vec<String>,
}

fn run(exp: &dyn Experiment, cfg: &Config, traced: bool) -> anyhow::Result<Run> {
    let mut ctx = RunContext::quiet().with_traced(traced);
    let out = exp.run(cfg, &mut ctx)?;
    Ok(Run {
        out,
        lines: ctx.lines().to_vec(),
    })
}

/// Runs `exp` with `cfg` eagerly and traced and compares the two runs.
pub fn compare_traced(exp: &dyn Experiment, cfg: &Config) -> anyhow::Result<TracedCheck> {
    let eager = run(exp, cfg, false)?;
    let traced = run(exp, cfg, true)?;
    let mut check = TracedCheck {
        experiment: exp.id().to_string(),
        traced: traced.out.traced,
        traces: traced.out.traces,
        lines: eager.lines.len(),
        quantities: eager.out.quantities.len(),
        variables: eager.out.variables.values().map(count_numbers).sum(),
        losses: eager.out.loss_history.len(),
        history: eager.out.history.len() * eager.out.history.columns.len(),
        first_difference: None,
        note: None,
    };
    if !check.traced {
        check.note = traced
            .out
            .notes
            .iter()
            .find_map(|n| n.strip_prefix("not traced: "))
            .map(|n| n.split(':').next().unwrap_or(n).to_string())
            .or_else(|| traced.out.notes.last().cloned());
    }
    check.first_difference = first_difference(&eager, &traced)?;
    Ok(check)
}

fn count_numbers(v: &Value) -> usize {
    match v {
        Value::Array(items) => items.iter().map(count_numbers).sum(),
        Value::Object(m) => m.values().map(count_numbers).sum(),
        _ => 1,
    }
}

/// A JSON value as text (`-0.0` and `0.0` apart, floats written to round-trip).
fn text(v: &Value) -> String {
    v.to_string()
}

fn first_difference(eager: &Run, traced: &Run) -> anyhow::Result<Option<String>> {
    let (e, t) = (&eager.out, &traced.out);
    for (i, pair) in eager.lines.iter().zip(&traced.lines).enumerate() {
        if pair.0 != pair.1 {
            return Ok(Some(line_difference(i, pair.0, pair.1)));
        }
    }
    if eager.lines.len() != traced.lines.len() {
        return Ok(Some(format!(
            "the log: eager printed {} lines, traced {}",
            eager.lines.len(),
            traced.lines.len()
        )));
    }
    for (what, a, b) in [
        ("quantity", &e.quantities, &t.quantities),
        ("final parameter", &e.variables, &t.variables),
    ] {
        for (key, va) in a {
            match b.get(key) {
                Some(vb) if text(va) == text(vb) => {}
                Some(vb) => {
                    return Ok(Some(format!(
                        "{what} `{key}`: eager {}, traced {}",
                        text(va),
                        text(vb)
                    )))
                }
                None => return Ok(Some(format!("{what} `{key}`: missing from the traced run"))),
            }
        }
        if let Some(key) = b.keys().find(|k| !a.contains_key(*k)) {
            return Ok(Some(format!("{what} `{key}`: only in the traced run")));
        }
    }
    if let Some(d) = floats_difference("loss_history", &e.loss_history, &t.loss_history) {
        return Ok(Some(d));
    }
    let (he, ht) = (&e.history, &t.history);
    if he.len() != ht.len() || he.columns != ht.columns {
        return Ok(Some(format!(
            "the history: eager {} rows of {:?}, traced {} rows of {:?}",
            he.len(),
            he.columns,
            ht.len(),
            ht.columns
        )));
    }
    for i in 0..he.len() {
        let (re, rt) = (he.row(i)?, ht.row(i)?);
        for (c, (a, b)) in re.iter().zip(&rt).enumerate() {
            if a.to_bits() != b.to_bits() {
                return Ok(Some(format!(
                    "history row {i}, `{}`: eager {a:?}, traced {b:?}",
                    he.columns[c]
                )));
            }
        }
    }
    let fields = [
        ("steps", e.steps.to_string(), t.steps.to_string()),
        (
            "stopped_by",
            format!("{:?}", e.stopped_by),
            format!("{:?}", t.stopped_by),
        ),
        (
            "diverged_at",
            format!("{:?}", e.diverged_at),
            format!("{:?}", t.diverged_at),
        ),
        (
            "final_loss",
            format!("{:?}", e.final_loss.map(f64::to_bits)),
            format!("{:?}", t.final_loss.map(f64::to_bits)),
        ),
    ];
    for (name, a, b) in fields {
        if a != b {
            return Ok(Some(format!("{name}: eager {a}, traced {b}")));
        }
    }
    Ok(None)
}

/// The first differing word of log line `i` (0-based; reported 1-based).
fn line_difference(i: usize, eager: &str, traced: &str) -> String {
    let word = eager
        .split_whitespace()
        .zip(traced.split_whitespace())
        .find(|(a, b)| a != b);
    match word {
        Some((a, b)) => format!("log line {}: `{a}` eager, `{b}` traced", i + 1),
        None => format!("log line {}: eager `{eager}`, traced `{traced}`", i + 1),
    }
}

fn floats_difference(what: &str, a: &[f64], b: &[f64]) -> Option<String> {
    if let Some(i) = (0..a.len().min(b.len())).find(|&i| a[i].to_bits() != b[i].to_bits()) {
        return Some(format!("{what}[{i}]: eager {:?}, traced {:?}", a[i], b[i]));
    }
    (a.len() != b.len()).then(|| format!("{what}: eager {} values, traced {}", a.len(), b.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::History;

    fn run_of(lines: &[&str], loss: f64) -> Run {
        let mut out = RunOutput::default();
        out.quantities
            .insert("final_a".into(), crate::json::num(loss));
        out.loss_history = vec![1.0, loss];
        out.history = History::new(&["step", "loss"]);
        out.history.push(&[0.0, loss]).unwrap();
        Run {
            out,
            lines: lines.iter().map(|l| l.to_string()).collect(),
        }
    }

    #[test]
    fn the_first_differing_number_is_named() {
        let a = run_of(&["Final: a 1.5 b 2"], 0.25);
        assert_eq!(
            first_difference(&a, &run_of(&["Final: a 1.5 b 2"], 0.25)).unwrap(),
            None
        );
        let d = first_difference(&a, &run_of(&["Final: a 1.5 b 3"], 0.25)).unwrap();
        assert_eq!(d.as_deref(), Some("log line 1: `2` eager, `3` traced"));
        let d = first_difference(&a, &run_of(&["Final: a 1.5 b 2"], 0.5)).unwrap();
        assert_eq!(
            d.as_deref(),
            Some("quantity `final_a`: eager 0.25, traced 0.5")
        );
        // a sign of zero is a difference
        let (z, mz) = (run_of(&[], 0.0), run_of(&[], -0.0));
        let d = first_difference(&z, &mz).unwrap().unwrap();
        assert!(d.starts_with("quantity `final_a`"), "{d}");
        let mut b = run_of(&["Final: a 1.5 b 2"], 0.25);
        b.out.history = History::new(&["step", "loss"]);
        b.out.history.push(&[0.0, 0.25f64.next_up()]).unwrap();
        let d = first_difference(&a, &b).unwrap().unwrap();
        assert!(d.starts_with("history row 0, `loss`"), "{d}");
    }
}
