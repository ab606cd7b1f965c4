//! Judging one printed number against our runs: the exact comparisons (printed digits or a
//! relative tolerance), the percentiles of unseeded runs, and the row each makes.

use serde::Serialize;
use serde_json::Value;

use super::catalogue::Entry;

/// The detail of a row placed in our distribution (the page shortens it).
pub(super) const UNSEEDED: &str =
    "unseeded in the document: the printed value placed in our distribution";

/// How one number came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Same digits, or inside the stated tolerance.
    Exact,
    /// Inside the central 99.8% of our distribution.
    InDistribution,
    /// The document contradicts itself here; shown, counted apart.
    Inconsistent,
    /// Different.
    Mismatch,
    /// Outside the central 99.8% of our distribution.
    OutsideDistribution,
    /// Our run does not produce this quantity.
    Missing,
}

impl Verdict {
    /// Whether the number counts as reproduced (or explained).
    pub fn ok(self) -> bool {
        matches!(
            self,
            Verdict::Exact | Verdict::InDistribution | Verdict::Inconsistent
        )
    }
}

/// One row of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Experiment id.
    pub experiment: String,
    /// Quantity key.
    pub quantity: String,
    /// The document's text.
    pub documented: String,
    /// Ours, formatted for the table.
    pub reproduced: String,
    /// The verdict.
    pub verdict: Verdict,
    /// How it was compared and what explains a difference.
    pub detail: String,
    /// Seed file and line.
    pub source: String,
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn flatten(v: &Value, out: &mut Vec<f64>) -> bool {
    match v {
        Value::Number(n) => {
            out.push(n.as_f64().unwrap_or(f64::NAN));
            true
        }
        Value::String(s) => match s.as_str() {
            "inf" | "Infinity" => {
                out.push(f64::INFINITY);
                true
            }
            "-inf" | "-Infinity" => {
                out.push(f64::NEG_INFINITY);
                true
            }
            "nan" | "NaN" => {
                out.push(f64::NAN);
                true
            }
            s => match s.trim().parse::<f64>() {
                Ok(x) => {
                    out.push(x);
                    true
                }
                Err(_) => false,
            },
        },
        Value::Array(a) => a.iter().all(|x| flatten(x, out)),
        _ => false,
    }
}

pub(super) fn numbers(v: &Value) -> Option<Vec<f64>> {
    let mut out = Vec::new();
    flatten(v, &mut out).then_some(out)
}

/// Compares one exact entry with our quantity.
fn compare_exact(e: &Entry, ours: &Value) -> (Verdict, String, String) {
    let kind = e
        .tolerance
        .as_ref()
        .and_then(|t| t.get("kind"))
        .and_then(Value::as_str)
        .unwrap_or("printed_digits");
    if kind == "relative" {
        let r = e
            .tolerance
            .as_ref()
            .and_then(|t| t.get("value"))
            .and_then(Value::as_f64)
            .unwrap_or(0.0);
        let (Some(a), Some(b)) = (numbers(ours), numbers(&e.value)) else {
            return (Verdict::Mismatch, value_text(ours), "not a number".into());
        };
        if a.len() != b.len() {
            return (
                Verdict::Mismatch,
                value_text(ours),
                format!("{} values, the document {}", a.len(), b.len()),
            );
        }
        let worst = a
            .iter()
            .zip(&b)
            .map(|(x, y)| {
                if x == y {
                    0.0
                } else {
                    (x - y).abs() / y.abs().max(f64::MIN_POSITIVE)
                }
            })
            .fold(0.0, f64::max);
        let verdict = if worst <= r {
            Verdict::Exact
        } else {
            Verdict::Mismatch
        };
        let shown = a
            .iter()
            .map(|x| format!("{}", *x as f32))
            .collect::<Vec<_>>()
            .join(", ");
        (
            verdict,
            shown,
            format!("relative {r:e} (largest {worst:.1e})"),
        )
    } else {
        let ours_text = value_text(ours);
        let verdict = if collapse(&ours_text) == collapse(&e.printed) {
            Verdict::Exact
        } else {
            Verdict::Mismatch
        };
        (verdict, collapse(&ours_text), "same printed digits".into())
    }
}

/// `100 * P(X < v)` (ties count half) over our samples.
pub fn percentile(samples: &[f64], v: f64) -> f64 {
    let finite: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
    if finite.is_empty() {
        return f64::NAN;
    }
    let below = finite.iter().filter(|&&x| x < v).count() as f64;
    let ties = finite.iter().filter(|&&x| x == v).count() as f64;
    100.0 * (below + 0.5 * ties) / finite.len() as f64
}

fn quantile(samples: &[f64], q: f64) -> f64 {
    let mut s: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return f64::NAN;
    }
    s.sort_by(f64::total_cmp);
    s[((s.len() - 1) as f64 * q).round() as usize]
}

/// The verdict on one printed number, from our value (exact) or our samples (distribution).
pub(super) fn judge(e: &Entry, ours: Option<&Value>, samples: Option<&Vec<f64>>) -> Row {
    let source = format!(
        "{} line {}",
        e.document,
        e.line.map_or("?".into(), |l| l.to_string())
    );
    let mut row = Row {
        experiment: e.experiment.clone(),
        quantity: e.quantity.clone(),
        documented: collapse(&e.printed),
        reproduced: String::from("—"),
        verdict: Verdict::Missing,
        detail: String::from("our run does not produce this quantity"),
        source,
    };
    let printed_value = numbers(&e.value).and_then(|v| (v.len() == 1).then(|| v[0]));
    match e.compare.as_str() {
        "exact" => {
            if let Some(ours) = ours {
                let (v, shown, how) = compare_exact(e, ours);
                row.verdict = v;
                row.reproduced = shown;
                row.detail = match &e.justification {
                    Some(j) if v == Verdict::Mismatch => format!("{how}; {j}"),
                    _ => how,
                };
            }
        }
        "distribution" | "inconsistent" => {
            let ours_text = ours.map(value_text);
            if let (Some(s), Some(v)) = (samples.filter(|s| !s.is_empty()), printed_value) {
                let p = percentile(s, v);
                let inside = (0.1..=99.9).contains(&p);
                row.reproduced = format!(
                    "p{:.1} of {} seeds (median {:.6}, 99.8% in [{:.6}, {:.6}])",
                    p,
                    s.len(),
                    quantile(s, 0.5),
                    quantile(s, 0.001),
                    quantile(s, 0.999)
                );
                row.verdict = if inside {
                    Verdict::InDistribution
                } else {
                    Verdict::OutsideDistribution
                };
                row.detail = UNSEEDED.into();
            } else if let Some(t) = ours_text {
                row.reproduced = t;
                row.verdict = Verdict::OutsideDistribution;
                row.detail = "no seed sweep was run for this quantity".into();
            }
            if e.compare == "inconsistent" {
                row.verdict = Verdict::Inconsistent;
                row.detail = format!(
                    "the document contradicts itself: {}",
                    e.arithmetic.clone().unwrap_or_default()
                );
            }
        }
        other => {
            row.verdict = Verdict::Mismatch;
            row.detail = format!("unknown comparison `{other}` in expected.json");
        }
    }
    row
}
