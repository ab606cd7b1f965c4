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

/// The recorded TF 2.21 run of the SGD cells (`loss` and `weight` per iteration).
fn tf_record(cell: &str, key: &str) -> Vec<f64> {
    let text = include_str!("../../../data/reference/tf_sgd_row_indices.json");
    let cleaned = text
        .replace("-Infinity", "\"-inf\"")
        .replace("Infinity", "\"inf\"")
        .replace("NaN", "\"nan\"");
    let json: Value = serde_json::from_str(&cleaned).expect("json");
    json[cell][key]
        .as_array()
        .expect("list")
        .iter()
        .map(|v| match v {
            Value::String(s) => s.parse::<f64>().expect("inf or nan"),
            v => v.as_f64().expect("number"),
        })
        .collect()
}

fn same_f32(ours: f64, theirs: f64) -> bool {
    (ours.is_nan() && theirs.is_nan()) || ours as f32 == theirs as f32
}

#[test]
fn exploding_sgd_prints_the_documents_numbers_and_runs_30_iterations() {
    let (out, log) = run("depth-sgd-exploding", &[]);
    let printed = [
        ("417316.0", "834632.0", "-832.632"),
        ("2017845800000.0", "-4841094700.0", "4840262.5"),
        ("2.629222e+18", "1086396700000.0", "-1081556500.0"),
        ("7.1533894e+23", "-1322795400000000.0", "1321713900000.0"),
        ("8.101569e+29", "1.2259188e+18", "-1224597000000000.0"),
        ("1.4668273e+36", "-2.3956082e+21", "2.3943837e+18"),
    ];
    for (i, (l, g, w)) in printed.iter().enumerate() {
        assert_eq!(qs(&out, &format!("loss[{i}]")), *l);
        assert_eq!(qs(&out, &format!("gradient[{i}]")), *g);
        assert_eq!(qs(&out, &format!("weight[{i}]")), *w);
    }
    assert_eq!(qs(&out, "loss[6]"), "inf");
    assert_eq!(
        &log[..4],
        &[
            "CurrentLoss: tf.Tensor(417316.0, shape=(), dtype=float32)",
            "Gradient: [<tf.Tensor: shape=(), dtype=float32, numpy=834632.0>]",
            "Weights: -832.632",
            "",
        ]
    );
    assert_eq!(out.steps, 30);
    assert_eq!(out.stopped_by, Some(StoppedBy::Steps));
    assert_eq!(out.diverged_at, Some(6));
    // every iteration as TF 2.21 printed it: inf from 6, nan from 13
    let (tf_loss, tf_weight) = (
        tf_record("exploding", "loss"),
        tf_record("exploding", "weight"),
    );
    assert_eq!(out.loss_history.len(), tf_loss.len());
    for i in 0..tf_loss.len() {
        assert!(same_f32(out.loss_history[i], tf_loss[i]), "loss {i}");
        assert!(
            same_f32(out.history.row(i).unwrap()[4], tf_weight[i]),
            "weight {i}"
        );
    }
    assert!(out.loss_history[13].is_nan() && out.loss_history[12].is_infinite());
}

#[test]
fn normalized_sgd_stops_on_the_last_loss_itself() {
    let (out, log) = run("depth-sgd-normalized", &[]);
    assert_eq!(qs(&out, "initial_weight"), "2.0");
    assert_eq!(qs(&out, "final_weight"), "1.1171395");
    assert_eq!(qs(&out, "initial_loss"), "0.51440054");
    assert_eq!(qs(&out, "final_loss"), "3.440736e-05");
    assert_eq!(out.steps, 32);
    assert_eq!(out.stopped_by, Some(StoppedBy::Criterion));
    assert_eq!(
        &log[..7],
        &[
            "Results",
            "--------------\n",
            "Initial Weight: 2.0",
            "Final Weight: 1.1171395",
            "",
            "Initial Loss: 0.51440054",
            "Final Loss: 3.440736e-05",
        ]
    );
    let tf_loss = tf_record("normalized", "loss");
    assert_eq!(out.loss_history.len(), tf_loss.len());
    for (i, (&ours, &theirs)) in out.loss_history.iter().zip(&tf_loss).enumerate() {
        assert!(same_f32(ours, theirs), "loss {i}");
    }
    // the stop test is |loss| <= 1e-4, not a small change: only the last loss passes it
    assert!(out.loss_history[..31].iter().all(|&l| l > 1e-4));
}

/// Issue 17, item 7: `depth-sgd-exploding --set iterations=31` failed at step 31 and
/// `depth-sgd-normalized --set learning_rate=10` at step 33, discarding the run. Past the
/// recorded draws the rows are our generator's, the ones `--seed 42` draws at that point, and
/// the run says so.
#[test]
fn sgd_rows_past_the_recording_come_from_the_stated_generator_with_a_note() {
    let rows = |id: &str, settings: &[&str], seed: Option<u64>| {
        let exp = find(id).expect("registered");
        let settings: Vec<String> = settings.iter().map(|s| s.to_string()).collect();
        let mut cfg = Config::with_settings(&exp.params(), exp.id(), &settings).expect("valid");
        cfg.seed = seed;
        let mut ctx = RunContext::quiet();
        let out = exp.run(&cfg, &mut ctx).expect("runs past the recording");
        let row: Vec<f64> = out.history.rows().unwrap().iter().map(|r| r[1]).collect();
        (out, row, ctx.lines().to_vec())
    };
    let (out, recorded, log) = rows("depth-sgd-exploding", &["iterations=40"], None);
    assert_eq!(out.steps, 40);
    assert_eq!(out.notes.len(), 1, "{:?}", out.notes);
    assert!(
        out.notes[0].contains("used up at step 31"),
        "{}",
        out.notes[0]
    );
    assert!(out.notes[0].contains("RandomState(42)"), "{}", out.notes[0]);
    assert!(log.contains(&out.notes[0]), "the note is in the log");
    let (_, seeded, _) = rows("depth-sgd-exploding", &["iterations=40"], Some(42));
    assert_eq!(recorded[30..], seeded[30..], "rows 31.. are --seed 42's");
    assert_ne!(recorded[..30], seeded[..30], "rows 1..30 are TensorFlow's");

    // the normalized cell's draws follow the exploding cell's 30
    let (out, recorded, _) = rows("depth-sgd-normalized", &["learning_rate=10"], None);
    assert!(
        out.steps > 32,
        "ran past the 32 recorded rows: {}",
        out.steps
    );
    assert!(
        out.notes[0].contains("used up at step 33"),
        "{}",
        out.notes[0]
    );
    assert!(out.notes[0].contains("draw 63 on"), "{}", out.notes[0]);
    let (_, seeded, _) = rows("depth-sgd-normalized", &["learning_rate=10"], Some(42));
    // the two runs' losses differ, so they stop at different steps: the rows agree as far as
    // both go
    let n = recorded.len().min(seeded.len());
    assert!(n > 40, "{n}");
    assert_eq!(recorded[32..n], seeded[32..n]);

    // a run within the recording has no note
    let (out, _, _) = rows("depth-sgd-exploding", &[], None);
    assert!(out.notes.is_empty());
}

fn numbers(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(a) => a.iter().flat_map(numbers).collect(),
        v => vec![v.as_f64().expect("number")],
    }
}

#[test]
fn dense_sgd_reproduces_every_printed_digit() {
    let (out, log) = run("depth-dense-sgd", &[]);
    assert_eq!(
        qs(&out, "initial_weights"),
        "[[ 0.8773805 ]\n [ 0.3983569 ]\n [-0.34608656]]"
    );
    assert_eq!(qs(&out, "initial_bias"), "[0.]");
    let f32s =
        |key: &str| -> Vec<f32> { numbers(q(&out, key)).iter().map(|&x| x as f32).collect() };
    assert_eq!(
        f32s("final_weights"),
        vec![1.854_427_2, 2.219_267_1, -7.027_398_6]
    );
    assert_eq!(f32s("final_bias"), vec![4.617_867]);
    assert_eq!(f32s("initial_loss"), vec![114.215_28]);
    assert_eq!(f32s("final_loss"), vec![2.568_285_3e-5]);
    assert_eq!(out.steps, 12);
    assert_eq!(out.stopped_by, Some(StoppedBy::Criterion));
    let text = log.join("\n");
    for printed in [
        "0  0.496714 -1.415371  0.357787   1.154889",
        "Final Weights: [[ 1.8544272]\n [ 2.2192671]\n [-7.0273986]]",
        "Final Bias: [4.617867]",
        "Initial Loss: [[114.21528]]",
        "Final Loss: [[2.5682853e-05]]",
    ] {
        assert!(text.contains(printed), "{printed} not in\n{text}");
    }
}

#[test]
fn dense_minibatch_reproduces_the_broadcast_loss() {
    let (out, log) = run("depth-dense-minibatch", &[]);
    let f32s =
        |key: &str| -> Vec<f32> { numbers(q(&out, key)).iter().map(|&x| x as f32).collect() };
    assert_eq!(f32s("initial_loss"), vec![155.672_67]);
    assert_eq!(f32s("final_loss"), vec![39.838_947]);
    assert_eq!(
        f32s("final_weights"),
        vec![0.421_210_26, 0.454_999_33, -2.528_852_2]
    );
    assert_eq!(f32s("final_bias"), vec![4.058_79]);
    assert_eq!(qs(&out, "initial_bias"), "[0.]");
    assert_eq!(out.steps, 1209);
    let text = log.join("\n");
    assert!(text.contains("Final Weights: [[ 0.42121026]\n [ 0.45499933]\n [-2.5288522 ]]"));
    assert!(text.contains("Initial Loss: 155.67267\n\nFinal Loss: 39.838947"));
}

#[test]
fn mlp_predicts_the_documents_ten_samples() {
    let (out, log) = run("depth-mlp", &[]);
    let predictions = [
        -251.457_06f32,
        -320.130_92,
        -140.716_96,
        187.340_27,
        -121.191_64,
        -140.716_96,
        187.340_27,
        203.538,
        63.713_146,
        -140.716_96,
    ];
    let real = [
        "[-247.01207405]",
        "[-324.12937683]",
        "[-136.84556017]",
        "[187.39641651]",
        "[-121.36189259]",
        "[-136.84556017]",
        "[187.39641651]",
        "[219.73358496]",
        "[60.94917984]",
        "[-136.84556017]",
    ];
    for i in 0..10 {
        let p = numbers(q(&out, &format!("prediction[{i}]")));
        assert_eq!(
            p.iter().map(|&x| x as f32).collect::<Vec<_>>(),
            vec![predictions[i]]
        );
        assert_eq!(qs(&out, &format!("real_value[{i}]")), real[i]);
    }
    // 403 training draws precede the evaluation rows, as the printed real values imply
    assert_eq!(out.steps, 403);
    assert_eq!(out.stopped_by, Some(StoppedBy::Criterion));
    let text = log.join("\n");
    assert!(text.contains("Sample Results:\n--------------\n\nPrediction: [[-251.45706]]\nReal value: [-247.01207405]"));
}

#[test]
fn dense_runs_follow_a_seed_and_a_step_cap() {
    let exp = find("depth-dense-sgd").expect("registered");
    let mut cfg = Config::with_settings(&exp.params(), exp.id(), &[]).expect("defaults");
    cfg.seed = Some(1);
    let a = exp.run(&cfg, &mut RunContext::quiet()).expect("runs");
    let b = exp.run(&cfg, &mut RunContext::quiet()).expect("runs");
    assert_eq!(a.loss_history, b.loss_history);
    assert_ne!(
        qs(&a, "initial_weights"),
        "[[ 0.8773805 ]\n [ 0.3983569 ]\n [-0.34608656]]"
    );
    let (out, _) = run("depth-mlp", &["max_iterations=5", "error_margin=0"]);
    assert_eq!(out.steps, 6);
    assert_eq!(out.stopped_by, Some(StoppedBy::Steps));
}
