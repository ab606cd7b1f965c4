//! `tapegrad run --traced`: every experiment's training step through `tapegrad::function`
//! prints the eager run's numbers and ends with its parameters, bit for bit, tracing once.

use std::process::{Command, Output};

use serde_json::Value;
use tapegrad_runner::reproduce::compare_traced;
use tapegrad_runner::{all, find, Config, RunContext};

/// The experiments whose loop is numpy arithmetic (ndarray), with no tapegrad op to trace.
const EAGER_ONLY: [&str; 2] = ["depth-manual-numpy", "depth-simple-model"];

/// Every experiment, default configuration: the same log, documented numbers, final
/// parameters, losses and history, bit for bit; one trace for each traced step.
#[test]
fn every_experiment_traced_prints_the_eager_numbers_bit_for_bit() -> anyhow::Result<()> {
    for exp in all() {
        let check = compare_traced(exp, &Config::defaults(&exp.params()))?;
        assert!(check.ok(), "{}", check.line());
        assert!(check.lines > 0 && check.variables > 0, "{}", check.line());
        if EAGER_ONLY.contains(&exp.id()) {
            assert!(!check.traced, "{}", check.line());
            assert_eq!(check.traces, 0);
            assert!(check.note.is_some(), "{}", check.line());
        } else {
            assert!(
                check.traced,
                "{} was not traced: {:?}",
                exp.id(),
                check.note
            );
            assert_eq!(check.traces, 1, "{}: one signature, one trace", exp.id());
        }
    }
    Ok(())
}

/// Other configurations than the documents': seeded draws, a diverging run (inf and NaN
/// replayed as the eager run computes them), other batch sizes and rates.
#[test]
fn seeded_diverging_and_changed_runs_traced_match_eager() -> anyhow::Result<()> {
    let cases: [(&str, Option<u64>, &[&str]); 8] = [
        ("two-weights", None, &["loss=mse", "steps=400"]),
        ("scratch-regression", Some(7), &["steps=300"]),
        (
            "tape-regression",
            Some(3),
            &["num_epochs=200", "n_samples=2000"],
        ),
        ("custom-training", Some(11), &[]),
        ("depth-sgd-exploding", Some(5), &[]),
        (
            "depth-dense-sgd",
            Some(9),
            &["max_steps=200", "error_margin=0"],
        ),
        (
            "depth-dense-minibatch",
            None,
            &["batch_size=5", "max_steps=300"],
        ),
        ("depth-mlp", Some(2), &["max_iterations=150"]),
    ];
    for (id, seed, settings) in cases {
        let exp = find(id)?;
        let settings: Vec<String> = settings.iter().map(|s| s.to_string()).collect();
        let mut cfg = Config::with_settings(&exp.params(), id, &settings)?;
        cfg.seed = seed;
        let check = compare_traced(exp, &cfg)?;
        assert!(
            check.ok(),
            "{id} {settings:?} seed {seed:?}: {}",
            check.line()
        );
        assert_eq!((check.traced, check.traces), (true, 1), "{id}");
    }
    Ok(())
}

/// A traced step traces at its first call only: a run of many steps reports one trace, and
/// the trace is replayed (the run is not an eager one in disguise: `traced` is false when the
/// function falls back to eager).
#[test]
fn a_traced_run_traces_once_however_many_steps_it_takes() -> anyhow::Result<()> {
    for (id, steps, setting) in [
        ("two-weights", 2000, "steps=2000"),
        ("depth-dense-minibatch", 500, "max_steps=500"),
    ] {
        let exp = find(id)?;
        let mut cfg = Config::with_settings(&exp.params(), id, &[setting.to_string()])?;
        if id == "depth-dense-minibatch" {
            cfg.set(&exp.params(), id, "error_margin", "0")?;
        }
        let out = exp.run(&cfg, &mut RunContext::quiet().with_traced(true))?;
        assert_eq!(out.steps, steps, "{id}");
        assert!(out.traced, "{id}: {:?}", out.notes);
        assert_eq!(out.traces, 1, "{id}");
        assert!(out.notes.is_empty(), "{id}: {:?}", out.notes);
    }
    Ok(())
}

fn tapegrad(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tapegrad"))
        .args(args)
        .output()
        .expect("the tapegrad binary runs")
}

/// The log, and the --json object without its timing.
fn log_and_json(o: &Output) -> (Vec<String>, Value) {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let last = lines.pop().expect("a JSON line");
    let mut v: Value = serde_json::from_str(&last).expect("the last line is JSON");
    v.as_object_mut().map(|m| m.remove("train_seconds"));
    (lines, v)
}

#[test]
fn run_traced_json_says_traced_and_prints_the_eager_run() {
    for id in ["depth-dense-sgd", "tape-regression", "depth-sgd-exploding"] {
        let (eager_log, mut eager) = log_and_json(&tapegrad(&["run", id, "--json", "--quiet"]));
        let (traced_log, mut traced) =
            log_and_json(&tapegrad(&["run", id, "--json", "--quiet", "--traced"]));
        assert_eq!(traced["traced"], Value::Bool(true), "{id}: {traced}");
        assert_eq!(traced["traces"], 1, "{id}");
        assert_eq!(eager["traced"], Value::Bool(false), "{id}");
        assert_eq!(eager["traces"], 0, "{id}");
        assert_eq!(traced_log, eager_log, "{id}: the printed log");
        for v in [&mut eager, &mut traced] {
            let m = v.as_object_mut().expect("an object");
            m.remove("traced");
            m.remove("traces");
        }
        // the same text: floats written to round-trip, so the same bits
        assert_eq!(traced.to_string(), eager.to_string(), "{id}");
    }
}

#[test]
fn run_traced_on_a_numpy_loop_says_it_stays_eager() {
    let (_, v) = log_and_json(&tapegrad(&[
        "run",
        "depth-manual-numpy",
        "--json",
        "--traced",
    ]));
    assert_eq!(v["traced"], Value::Bool(false));
    assert_eq!(v["traces"], 0);
    let note = v["notes"][0].as_str().unwrap_or_default();
    assert!(note.starts_with("not traced: "), "{note}");
}
