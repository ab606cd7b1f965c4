//! The experiments of the unseeded documents 001-003: every quantity `expected.json` names,
//! the document's log format, and, where our numpy-exact draws meet TensorFlow's
//! (`np.random.seed(r)` in `data/tf_runs`), TensorFlow's own printed lines.

use std::collections::BTreeSet;

use serde_json::Value;
use tapegrad_datasets::RandomState;
use tapegrad_runner::{find, Config, RunContext, RunOutput, StoppedBy};

const EXPECTED: &str = include_str!("../../../data/expected/expected.json");
const TF_DOC001: &str = include_str!("../../../data/tf_runs/doc001.json");
const TF_DOC002: &str = include_str!("../../../data/tf_runs/doc002.json");

/// Runs `id` with `settings` (`KEY=VALUE`) and `seed`, returning the output and the log.
fn run(id: &str, settings: &[&str], seed: Option<u64>) -> (RunOutput, Vec<String>) {
    let exp = find(id).expect("registered");
    let settings: Vec<String> = settings.iter().map(|s| s.to_string()).collect();
    let mut cfg = Config::with_settings(&exp.params(), id, &settings).expect("valid settings");
    cfg.seed = seed;
    let mut ctx = RunContext::quiet();
    let out = exp.run(&cfg, &mut ctx).expect("the run succeeds");
    (out, ctx.lines().to_vec())
}

/// The `quantity` keys expected.json lists for `id`, with their `compare` kinds.
fn expected_quantities(id: &str) -> Vec<(String, String)> {
    let v: Value = serde_json::from_str(EXPECTED).expect("expected.json parses");
    v["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["experiment"] == id)
        .map(|e| {
            (
                e["quantity"].as_str().unwrap_or_default().to_string(),
                e["compare"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Every quantity is there: a string for printed-digit `exact` entries, a number otherwise.
fn assert_all_quantities(id: &str, out: &RunOutput) {
    let expected = expected_quantities(id);
    assert!(!expected.is_empty(), "expected.json lists {id}");
    for (q, compare) in &expected {
        let v = out
            .quantities
            .get(q)
            .unwrap_or_else(|| panic!("{id}: missing quantity {q}"));
        if compare == "exact" {
            assert!(v.is_string(), "{id} {q}: {v}");
        } else {
            assert!(v.as_f64().is_some_and(f64::is_finite), "{id} {q}: {v}");
        }
    }
    let names: BTreeSet<&str> = expected.iter().map(|(q, _)| q.as_str()).collect();
    for k in out.quantities.keys() {
        assert!(names.contains(k.as_str()), "{id}: unexpected quantity {k}");
    }
}

fn q(out: &RunOutput, key: &str) -> f64 {
    out.quantities[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is a number"))
}

/// The stdout of `cell` in TensorFlow's run with `np.random.seed(seed)`.
fn tf_stdout(json: &str, seed: u64, cell: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(json).expect("tf_runs JSON parses");
    let run = v["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .find(|r| r["np_seed"] == seed)
        .expect("a run with this seed");
    run["cells"]
        .as_array()
        .expect("cells")
        .iter()
        .find(|c| c["label"] == cell)
        .and_then(|c| c["stdout"].as_str())
        .expect("the cell printed")
        .lines()
        .map(str::to_string)
        .collect()
}

/// `STEP: 100 - loss: 0.084..., w0: 3.4053, w1: 3.8032` → (step, loss, "w0: ..., w1: ...").
fn split_step_line(line: &str) -> (String, f64, String) {
    let (head, rest) = line.split_once(" - loss: ").expect("STEP line");
    let (loss, weights) = rest.split_once(", ").expect("loss, weights");
    (
        head.to_string(),
        loss.parse().expect("loss"),
        weights.to_string(),
    )
}

#[test]
fn scratch_regression_defaults_give_every_quantity_and_the_document_format() {
    let (out, lines) = run("scratch-regression", &[], None);
    assert_all_quantities("scratch-regression", &out);
    assert_eq!(out.quantities["demo_gradient_x_squared_at_3"], "6.0");
    assert_eq!(lines[0], "<tf.Tensor: shape=(), dtype=float32, numpy=6.0>");
    assert_eq!(out.steps, 1001, "range(steps + 1)");
    assert_eq!(out.stopped_by, None);
    let steps: Vec<&String> = lines.iter().filter(|l| l.starts_with("STEP: ")).collect();
    assert_eq!(steps.len(), 11);
    for (i, line) in steps.iter().enumerate() {
        let (head, loss, weights) = split_step_line(line);
        assert_eq!(head, format!("STEP: {}", i * 100));
        assert!(loss > 0.0);
        let (w0, w1) = weights.split_once(", w1: ").expect("w1");
        let w0 = w0.strip_prefix("w0: ").expect("w0");
        for w in [w0, w1] {
            let (_, decimals) = w.split_once('.').expect("a decimal point");
            assert_eq!(decimals.len(), 4, "{line}");
        }
    }
    // The first step from w0 = w1 = 0 is 0.04*mean(XY), 0.04*mean(Y): both small and positive;
    // then the fit: slope near 3, intercept near 4 + mean(0.5*rand) = 4.25.
    assert!((0.2..0.5).contains(&q(&out, "w0[step=0]")));
    assert!((0.2..0.4).contains(&q(&out, "w1[step=0]")));
    assert!((2.9..3.1).contains(&q(&out, "w0[step=1000]")));
    assert!((4.1..4.4).contains(&q(&out, "w1[step=1000]")));
    assert!(q(&out, "loss[step=1000]") < q(&out, "loss[step=100]"));
    assert!((0.015..0.025).contains(&q(&out, "loss[step=1000]")));
    assert_eq!(out.figures.len(), 1);
    assert_eq!(out.figures[0].series[0].x.len(), 100);
}

#[test]
fn scratch_regression_prints_what_tensorflow_printed_for_the_same_numpy_seed() {
    for seed in [0u64, 1, 2] {
        let (_, lines) = run("scratch-regression", &[], Some(seed));
        let ours: Vec<&String> = lines.iter().filter(|l| l.starts_with("STEP")).collect();
        let tf = tf_stdout(TF_DOC001, seed, "cell 5");
        assert_eq!(ours.len(), tf.len());
        for (a, b) in ours.iter().zip(&tf) {
            let (head_a, loss_a, w_a) = split_step_line(a);
            let (head_b, loss_b, w_b) = split_step_line(b);
            // Weights to 4 decimals exactly; the float32 loss to its last ulps (TensorFlow's
            // reduction order differs).
            assert_eq!((head_a, w_a), (head_b, w_b), "seed {seed}");
            assert!(
                ((loss_a - loss_b) / loss_b).abs() < 1e-5,
                "seed {seed}: {a} vs {b}"
            );
        }
    }
    // Seed 0's first line, exactly as TensorFlow printed it.
    let (_, lines) = run("scratch-regression", &["steps=0"], None);
    assert_eq!(
        lines[1],
        "STEP: 0 - loss: 44.978965759277344, w0: 0.3083, w1: 0.2840"
    );
}

#[test]
fn scratch_regression_diverges_cleanly_at_a_huge_learning_rate() {
    let (out, lines) = run("scratch-regression", &["learning_rate=10"], None);
    assert_eq!(out.stopped_by, Some(StoppedBy::Diverged));
    assert!(out.diverged_at.is_some());
    assert!(lines
        .last()
        .is_some_and(|l| l.starts_with("Diverged at step")));
}

#[test]
fn tape_regression_full_default_run_matches_tensorflow_seed_0() {
    let (out, lines) = run("tape-regression", &[], None);
    assert_all_quantities("tape-regression", &out);
    assert_eq!(out.quantities["training_samples"], "8000");
    assert_eq!(out.quantities["test_samples"], "2000");
    assert_eq!(out.steps, 3000);
    assert_eq!(lines[0], "Training samples: 8000");
    assert_eq!(lines[1], "Test samples: 2000");
    assert_eq!(
        lines[2],
        "<tf.Variable 'Variable:0' shape=() dtype=float32, numpy=0.33004588>"
    );
    let epochs: Vec<&String> = lines.iter().filter(|l| l.starts_with("Epoch")).collect();
    assert_eq!(epochs.len(), 300);
    for (i, line) in epochs.iter().enumerate() {
        let rest = line
            .strip_prefix(&format!("Epoch: {}, loss ", i * 10))
            .unwrap_or_else(|| panic!("{line}"));
        assert_eq!(
            rest.split_once('.').map(|(_, d)| d.len()),
            Some(3),
            "{line}"
        );
    }
    // TensorFlow 2.21 after np.random.seed(0): the same initial W, B (printed there as the
    // widened float32), the same learned W, B to the bit and the same test loss.
    let tf_init = tf_stdout(TF_DOC002, 0, "init_weights");
    assert!(tf_init[0].ends_with(&format!("numpy={}>", q(&out, "initial_W"))));
    assert!(tf_init[1].ends_with(&format!("numpy={}>", q(&out, "initial_B"))));
    assert_eq!(
        lines[lines.len() - 2..],
        [
            tf_stdout(TF_DOC002, 0, "final_values")[0].clone(),
            tf_stdout(TF_DOC002, 0, "test_loss")[0].clone()
        ]
    );
    // The training log: all 300 lines agree but one, which sits on a rounding boundary of the
    // third decimal (float32 reduction order).
    let tf_train = tf_stdout(TF_DOC002, 0, "train");
    let differing: Vec<_> = epochs
        .iter()
        .zip(&tf_train)
        .filter(|(a, b)| a.as_str() != b.as_str())
        .collect();
    assert!(differing.len() <= 1, "{differing:?}");
    assert!((q(&out, "learned_W") - 9.0).abs() < 0.1);
    assert!((q(&out, "learned_B") + 2.0).abs() < 0.1);
    assert!((0.9..1.1).contains(&q(&out, "test_loss")));
    assert!((0.9..1.1).contains(&q(&out, "loss[epoch=2990]")));
    let names: Vec<&str> = out.figures.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "training_data",
            "test_data",
            "test_data_with_predicted_y_values"
        ]
    );
    assert_eq!(out.figures[2].series[0].color, "red");
}

#[test]
fn tape_regression_from_the_printed_start_cannot_give_the_printed_first_loss() {
    // expected.json: from W0 = 1.4115247, B0 = -0.7143893 the first logged loss is ~60
    // (sampling sd ~1), not the printed 51.641.
    let (out, lines) = run(
        "tape-regression",
        &["w0=1.4115247", "b0=-0.7143893", "num_epochs=101"],
        None,
    );
    assert_eq!(
        lines[2],
        "<tf.Variable 'Variable:0' shape=() dtype=float32, numpy=1.4115247>"
    );
    assert_eq!(
        lines[3],
        "<tf.Variable 'Variable:0' shape=() dtype=float32, numpy=-0.7143893>"
    );
    let first = q(&out, "loss[epoch=0]");
    assert!((56.0..64.0).contains(&first), "{first}");
    assert!(first > 51.641 + 3.0);
    // The decay over 100 epochs matches the document's ratio 0.6683 on (loss - floor).
    let ratio = (q(&out, "loss[epoch=100]") - 1.0) / (first - 1.0);
    assert!((0.64..0.70).contains(&ratio), "{ratio}");
    // Only one of W, B given: the other is still drawn (the same draw as without it).
    let (drawn, _) = run("tape-regression", &["num_epochs=0"], None);
    let (half, _) = run("tape-regression", &["w0=2.5", "num_epochs=0"], None);
    assert_eq!(q(&half, "initial_W"), 2.5);
    assert_eq!(q(&half, "initial_B"), q(&drawn, "initial_B"));
}

#[test]
fn tape_regression_a_short_run_heads_for_the_true_line() {
    let (out, _) = run("tape-regression", &["num_epochs=200"], Some(7));
    let losses = &out.loss_history;
    assert_eq!(losses.len(), 20);
    assert!(losses.windows(2).all(|w| w[1] < w[0]), "{losses:?}");
    let (w0, w) = (q(&out, "initial_W"), q(&out, "learned_W"));
    assert!((9.0 - w).abs() < (9.0 - w0).abs());
    // 200 epochs shrink the slope error by about 0.998^200 = 0.67.
    let shrink = (9.0 - w) / (9.0 - w0);
    assert!((0.6..0.72).contains(&shrink), "{shrink}");
}

#[test]
fn a_seed_beyond_numpys_range_is_an_error_not_a_panic() {
    for id in ["scratch-regression", "tape-regression", "custom-training"] {
        let exp = find(id).expect("registered");
        let mut cfg = Config::defaults(&exp.params());
        cfg.seed = Some(1 << 33);
        let err = exp
            .run(&cfg, &mut RunContext::quiet())
            .expect_err("an error");
        assert!(err.to_string().contains("2^32"), "{err}");
    }
}

#[test]
fn custom_training_defaults_give_every_quantity_and_the_document_format() {
    let (out, lines) = run("custom-training", &[], None);
    assert_all_quantities("custom-training", &out);
    assert_eq!(out.quantities["w[epoch=0]"], "1.00");
    assert_eq!(out.quantities["b[epoch=0]"], "4.00");
    assert_eq!(out.steps, 15);
    let current = lines[0].strip_prefix("Current loss: ").expect("first line");
    assert_eq!(current.split_once('.').map(|(_, d)| d.len()), Some(6));
    assert_eq!(lines.len(), 16);
    for (epoch, line) in lines[1..].iter().enumerate() {
        assert!(line.starts_with(&format!("Epoch {epoch:2}: w=")), "{line}");
        let loss = line.split_once(", loss=").expect("loss").1;
        assert_eq!(
            loss.split_once('.').map(|(_, d)| d.len()),
            Some(5),
            "{line}"
        );
    }
    assert_eq!(
        lines[1].split_once(", loss").map(|x| x.0),
        Some("Epoch  0: w=1.00 b=4.00")
    );
    // "Current loss" is the loss before the first step, i.e. loss[epoch=0].
    assert_eq!(
        q(&out, "current_loss_before_training"),
        q(&out, "loss[epoch=0]")
    );
    let losses = &out.loss_history;
    assert!(losses.windows(2).all(|w| w[1] < w[0]));
    // Each epoch shrinks the errors by roughly (1 - 2*0.1) = 0.8: the loss by ~0.64.
    let ratio = losses[14] / losses[13];
    assert!((0.6..0.68).contains(&ratio), "{ratio}");
    assert!((2.8..3.0).contains(&q(&out, "w[epoch=14]")));
    assert!((2.0..2.2).contains(&q(&out, "b[epoch=14]")));
    let names: Vec<&str> = out.figures.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "data_before_training",
            "weights_per_epoch",
            "test_predictions",
            "loss_against_weights",
        ]
    );
    // plt.subplot(121) and plt.subplot(122): one figure of two axes, w's and b's
    assert_eq!(out.figures[3].xlabel, "w");
    assert_eq!(out.figures[3].panels.len(), 1);
    assert_eq!(out.figures[3].panels[0].xlabel, "b");
    // the true values are 'r--' and 'b--'
    assert_eq!(out.figures[1].series[2].color, "r--");
    let legend: Vec<&str> = out.figures[1]
        .series
        .iter()
        .map(|s| s.label.as_str())
        .collect();
    assert_eq!(legend, ["w", "b", "True w", "True b"]);
    assert_eq!(out.figures[3].ylabel, "Loss");
}

#[test]
fn custom_training_first_loss_and_step_agree_with_the_sample_moments() {
    // The draws: numpy's RandomState(seed).normal(size=1000), rounded to float32.
    let seed = 5u64;
    let xs: Vec<f64> = RandomState::new(seed as u32)
        .normal(0.0, 1.0, 1000)
        .expect("draws")
        .iter()
        .map(|&v| f64::from(v as f32))
        .collect();
    let n = xs.len() as f64;
    let mean_x = xs.iter().sum::<f64>() / n;
    let mean_x2 = xs.iter().map(|x| x * x).sum::<f64>() / n;
    // At w = 1, b = 4 against y = 3x + 2 the error is -2x + 2:
    // loss = 4 mean(x^2) - 8 mean(x) + 4, dw = 2 mean((-2x + 2) x), db = 2 mean(-2x + 2).
    let loss0 = 4.0 * mean_x2 - 8.0 * mean_x + 4.0;
    let w1 = 1.0 - 0.1 * 2.0 * (-2.0 * mean_x2 + 2.0 * mean_x);
    let b1 = 4.0 - 0.1 * 2.0 * (-2.0 * mean_x + 2.0);
    let (out, _) = run("custom-training", &[], Some(seed));
    assert!((q(&out, "loss[epoch=0]") - loss0).abs() < 1e-5 * loss0);
    assert!((q(&out, "w[epoch=1]") - w1).abs() < 1e-5);
    assert!((q(&out, "b[epoch=1]") - b1).abs() < 1e-5);
}
