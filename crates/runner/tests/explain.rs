//! `tapegrad explain`: the first training step of an experiment as its tape recorded it, checked
//! against the same step computed by hand for document 000 (two-weights) and document 004's
//! dense step, and for every experiment: explained, or said to have no tape.

use std::process::Command;

use tapegrad_runner::explain::{explain, render, svg};
use tapegrad_runner::{all, find, Config};

fn explained(id: &str) -> tapegrad_autodiff::Explanation {
    let exp = find(id).unwrap();
    explain(exp, &Config::defaults(&exp.params()))
        .unwrap()
        .unwrap_or_else(|| panic!("{id} has a tape"))
}

fn values(t: &tapegrad_autodiff::Tensor) -> Vec<f64> {
    t.value().to_f64_vec()
}

#[test]
fn two_weights_first_step_is_the_hand_computed_one() {
    // a = b = 0, y = 5x + 3 > 0 on x = 0, 2, ..., 98: every residual y - (a x + b) is positive,
    // so d/da sum|r| = -sum(x) = -2450 and d/db = -50
    let e = explained("two-weights");
    let names: Vec<&str> = e.ops.iter().map(|op| op.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "ReadVariable(a)",
            "Mul",
            "ReadVariable(b)",
            "Add",
            "Sub",
            "Abs"
        ]
    );
    assert_eq!(e.sources, ["a", "b"]);
    assert_eq!(values(e.gradients[0].as_ref().unwrap()), [-2450.0]);
    assert_eq!(values(e.gradients[1].as_ref().unwrap()), [-50.0]);
    // the backward pass visits the ops last first, each with its rule
    assert_eq!(e.backward, [5, 4, 3, 2, 1, 0]);
    assert!(e.ops[5].rule.contains("sign(x)"));
    let mul = &e.ops[1];
    assert_eq!(values(mul.grad.as_ref().unwrap()), vec![-1.0; 50]);
    assert_eq!(values(mul.input_grads[1].as_ref().unwrap()), [-2450.0]);
    assert!(mul.input_grads[0].is_none(), "x is not watched");
}

#[test]
fn the_dense_sgd_step_of_document_004_is_the_hand_computed_one() {
    let e = explained("depth-dense-sgd");
    let matmul = e
        .ops
        .iter()
        .find(|op| op.name.starts_with("MatMul"))
        .expect("a matmul");
    let x = values(&matmul.inputs[0]); // the sampled row, 1 x 3
    let w = values(&matmul.inputs[1]); // the kernel, 3 x 1
    let b = values(
        &e.ops
            .iter()
            .find(|op| op.name == "ReadVariable(biases)")
            .unwrap()
            .output,
    )[0];
    // Keras's mean_squared_error: square(y_pred - y_true), so y_true is the Sub's second input,
    // and its first is the prediction the tape computed
    let sub = e.ops.iter().find(|op| op.name == "Sub").unwrap();
    let y = values(&sub.inputs[1])[0];
    assert_eq!(x.len(), 3);
    // by hand, in f64: loss = (y - (x·w + b))^2, dL/dw = -2 (y - ŷ) x, dL/db = -2 (y - ŷ)
    let y_hat: f64 = x.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>() + b;
    assert!((y_hat - values(&sub.inputs[0])[0]).abs() < 1e-5 * y_hat.abs().max(1.0));
    let r = y - y_hat;
    let dw: Vec<f64> = x.iter().map(|xi| -2.0 * r * xi).collect();
    let got_w = values(e.gradients[0].as_ref().unwrap());
    let got_b = values(e.gradients[1].as_ref().unwrap());
    assert_eq!(e.sources, ["weights", "biases"]);
    for (g, h) in got_w.iter().zip(&dw) {
        assert!(
            (g - h).abs() <= 1e-5 * h.abs().max(1.0),
            "dw {g} by hand {h}"
        );
    }
    assert!(
        (got_b[0] + 2.0 * r).abs() <= 1e-5 * r.abs().max(1.0),
        "db {} by hand {}",
        got_b[0],
        -2.0 * r
    );
}

#[test]
fn every_experiment_is_explained_or_says_it_has_no_tape() {
    let by_hand = [
        "depth-manual-numpy",
        "depth-manual-tf",
        "depth-simple-model",
    ];
    for exp in all() {
        let e = explain(exp, &Config::defaults(&exp.params())).unwrap();
        match e {
            None => assert!(by_hand.contains(&exp.id()), "{} has no tape?", exp.id()),
            Some(e) => {
                assert!(!by_hand.contains(&exp.id()), "{}", exp.id());
                assert!(!e.ops.is_empty() && !e.backward.is_empty(), "{}", exp.id());
                for &i in &e.backward {
                    assert!(
                        !e.ops[i].rule.is_empty(),
                        "{}: {} has no rule",
                        exp.id(),
                        e.ops[i].name
                    );
                }
                let text = render(exp.id(), &e);
                assert!(text.contains("forward pass") && text.contains("backward pass"));
                // the drawing: a box for every op, a record for every value, one arrow an edge
                let picture = svg(&e);
                let g = e.graph();
                let (values, grads) = count_values(&g);
                assert_eq!(picture.matches(">data ").count(), values, "{}", exp.id());
                assert_eq!(picture.matches(">grad ").count(), grads, "{}", exp.id());
                for op in &e.ops {
                    let name = op.name.replace('<', "&lt;").replace('>', "&gt;");
                    assert!(
                        picture.contains(&name),
                        "{}: {} is not drawn",
                        exp.id(),
                        op.name
                    );
                }
                let (width, height, right, bottom) = extent(&picture);
                assert!(
                    (30.0..31.0).contains(&(width - right))
                        && (30.0..31.0).contains(&(height - bottom)),
                    "{}: the picture ({width} x {height}) is not cut to its boxes ({right}, {bottom})",
                    exp.id()
                );
                assert_eq!(
                    picture.matches("marker-end=").count(),
                    g.edges.len(),
                    "{}: one arrow per edge",
                    exp.id()
                );
            }
        }
    }
}

#[test]
fn explaining_a_run_changes_none_of_its_numbers() {
    for id in ["two-weights", "depth-dense-sgd", "depth-mlp"] {
        let exp = find(id).unwrap();
        let cfg = Config::defaults(&exp.params());
        let plain = exp
            .run(&cfg, &mut tapegrad_runner::RunContext::quiet())
            .unwrap();
        let (explained, e) = tapegrad_autodiff::capture_first_gradient(|| {
            exp.run(&cfg, &mut tapegrad_runner::RunContext::quiet())
                .unwrap()
        });
        assert!(e.is_some());
        assert_eq!(plain.quantities, explained.quantities, "{id}");
        assert_eq!(
            plain
                .loss_history
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>(),
            explained
                .loss_history
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>(),
            "{id}"
        );
    }
}

#[test]
fn the_cli_prints_the_step_and_its_gradients() {
    let o = Command::new(env!("CARGO_BIN_EXE_tapegrad"))
        .args(["explain", "two-weights"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("[5] Abs"), "{text}");
    assert!(text.contains("  a: () float32 -2450.0"), "{text}");
    assert!(text.contains("  b: () float32 -50.0"), "{text}");
    let o = Command::new(env!("CARGO_BIN_EXE_tapegrad"))
        .args(["explain", "depth-manual-numpy"])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8(o.stdout)
        .unwrap()
        .contains("by hand, without a tape"));
    let o = Command::new(env!("CARGO_BIN_EXE_tapegrad"))
        .args(["explain", "nope"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// An SVG's root width and height, and the right and bottom edges of its rectangles.
fn extent(svg: &str) -> (f64, f64, f64, f64) {
    let attr = |tag: &str, name: &str| -> f64 {
        let key = format!(" {name}=\"");
        let at = tag.find(&key).unwrap() + key.len();
        tag[at..].split('"').next().unwrap().parse().unwrap()
    };
    let tag_at = |at: usize| &svg[at..at + svg[at..].find('>').unwrap()];
    let root = tag_at(svg.find("<svg ").unwrap());
    let (mut right, mut bottom) = (0.0f64, 0.0f64);
    for (at, _) in svg.match_indices("<rect ") {
        let r = tag_at(at);
        right = right.max(attr(r, "x") + attr(r, "width"));
        bottom = bottom.max(attr(r, "y") + attr(r, "height"));
    }
    (attr(root, "width"), attr(root, "height"), right, bottom)
}

/// The graph's value nodes, and those with a gradient.
fn count_values(g: &tapegrad_autodiff::TapeGraph) -> (usize, usize) {
    let mut counts = (0, 0);
    for n in &g.nodes {
        if let tapegrad_autodiff::GraphNode::Value { grad, .. } = n {
            counts.0 += 1;
            counts.1 += usize::from(grad.is_some());
        }
    }
    counts
}

#[test]
fn an_empty_step_draws_a_note_not_a_panic() {
    let e = tapegrad_autodiff::Explanation {
        ops: Vec::new(),
        backward: Vec::new(),
        gradients: Vec::new(),
        sources: Vec::new(),
    };
    let picture = svg(&e);
    assert!(picture.contains("<svg") && picture.contains("no op was recorded"));
}

#[test]
fn the_cli_draws_the_step_to_a_file_or_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("step.svg");
    let o = Command::new(env!("CARGO_BIN_EXE_tapegrad"))
        .args(["explain", "two-weights", "--svg"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.starts_with("<?xml") && written.contains("ReadVariable(a)"));
    assert!(String::from_utf8(o.stdout).unwrap().contains("[5] Abs"));
    assert!(String::from_utf8(o.stderr).unwrap().contains("wrote"));
    // `-`: the picture on stdout, the text on stderr
    let o = Command::new(env!("CARGO_BIN_EXE_tapegrad"))
        .args(["explain", "two-weights", "--svg", "-"])
        .output()
        .unwrap();
    assert!(o.status.success());
    // the same picture, byte for byte (nothing in it depends on a hash map's order)
    assert!(o.stdout == written.as_bytes(), "stdout and the file differ");
    assert!(String::from_utf8(o.stderr).unwrap().contains("[5] Abs"));
    // a directory is refused before the run, naming it
    let o = Command::new(env!("CARGO_BIN_EXE_tapegrad"))
        .args(["explain", "two-weights", "--svg"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.contains(&dir.path().display().to_string()), "{err}");
    assert!(o.stdout.is_empty(), "the run went ahead");
}
