//! Document 004's experiments against the numbers the document prints.

use serde_json::Value;
use tapegrad_runner::{find, Config, RunContext, RunOutput, StoppedBy};

/// Runs `id` with its defaults plus `settings`, returning the output and the log.
fn run(id: &str, settings: &[&str]) -> (RunOutput, Vec<String>) {
    let exp = find(id).expect("registered");
    let settings: Vec<String> = settings.iter().map(|s| s.to_string()).collect();
    let cfg = Config::with_settings(&exp.params(), id, &settings).expect("valid settings");
    let mut ctx = RunContext::quiet();
    let out = exp.run(&cfg, &mut ctx).expect("runs");
    (out, ctx.lines().to_vec())
}

fn q<'a>(out: &'a RunOutput, key: &str) -> &'a Value {
    out.quantities
        .get(key)
        .unwrap_or_else(|| panic!("no quantity {key}"))
}

fn qs(out: &RunOutput, key: &str) -> String {
    q(out, key)
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string"))
        .to_string()
}

const WEIGHTS: &str = "[2.0, 1.5, 1.25, 1.125, 1.0625]";

#[test]
fn manual_numpy_and_tf_print_five_weights_and_five_losses() {
    for id in ["depth-manual-numpy", "depth-manual-tf"] {
        let (out, log) = run(id, &[]);
        assert_eq!(qs(&out, "weight_list"), WEIGHTS, "{id}");
        assert_eq!(
            qs(&out, "loss_list"),
            "[2.5, 0.625, 0.15625, 0.0390625, 0.009765625]",
            "{id}"
        );
        assert_eq!(
            log,
            vec![
                format!("({WEIGHTS},"),
                " [2.5, 0.625, 0.15625, 0.0390625, 0.009765625])".to_string()
            ],
            "{id}"
        );
        assert_eq!(out.stopped_by, Some(StoppedBy::Criterion));
        assert_eq!(out.steps, 4);
    }
}

#[test]
fn tape_and_model_classes_print_four_losses() {
    for id in ["depth-tape", "depth-simple-model", "depth-keras-model"] {
        let (out, log) = run(id, &[]);
        assert_eq!(qs(&out, "weight_list"), WEIGHTS, "{id}");
        assert_eq!(
            qs(&out, "loss_list"),
            "[2.5, 0.625, 0.15625, 0.0390625]",
            "{id}"
        );
        assert_eq!(
            log.last().map(String::as_str),
            Some("([2.0, 1.5, 1.25, 1.125, 1.0625], [2.5, 0.625, 0.15625, 0.0390625])"),
            "{id}"
        );
        assert_eq!(out.loss_history.len(), 4);
    }
}

#[test]
fn model_demos_return_six() {
    let (out, log) = run("depth-simple-model", &[]);
    assert_eq!(qs(&out, "demo_call_3"), "6.0");
    assert_eq!(log[0], "6.0");
    let (out, log) = run("depth-keras-model", &[]);
    assert_eq!(qs(&out, "demo_call_3"), "6.0");
    assert_eq!(log[0], "<tf.Tensor: shape=(), dtype=float32, numpy=6.0>");
}

#[test]
fn manual_loops_follow_their_parameters() {
    // the rule watches the step, not the gradient: a small learning rate stops at once
    let (out, _) = run("depth-manual-numpy", &["learning_rate=0.01"]);
    assert_eq!(qs(&out, "weight_list"), "[2.0, 1.95]");
    assert_eq!(out.steps, 1);
    assert_eq!(out.stopped_by, Some(StoppedBy::Criterion));
    // a learning rate far beyond 2/curvature blows w up; the loop stops and says so
    let (out, _) = run("depth-tape", &["learning_rate=10"]);
    assert_eq!(out.stopped_by, Some(StoppedBy::Diverged));
    assert!(out.diverged_at.is_some());
}
