//! Runs a workload `n` times, for instruction counts that the load of a shared machine does not
//! disturb: `valgrind --tool=cachegrind --cache-sim=no target/release/examples/steps two_weights
//! 12000`, or `perf stat -e instructions:u ...` where the machine has hardware counters.
//! Run it with two counts and divide the difference by the difference of the counts
//! (docs/PERFORMANCE.md, "How to measure").
//! Workloads: `two_weights`, `scratch_regression`, `tape_regression`, `custom_training`,
//! `dense_sgd`, `dense_minibatch`, `mlp`, and the single ops `add_not_recorded`, `add_recorded`;
//! a workload's name with `_traced` runs it through `tapegrad::function` (traced at the first
//! step, replayed after).

use std::hint::black_box;

use tapegrad::optim::Sgd;
use tapegrad_autodiff::{add, GradientTape, Tensor};
use tapegrad_benches::{DenseNet, LinearMse, TwoWeights};

/// Runs `step` `n` times.
fn repeat(n: usize, mut step: impl FnMut()) {
    for _ in 0..n {
        step();
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "two_weights".into());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let (x, y) = (Tensor::scalar(1.0f32), Tensor::scalar(2.0f32));
    let (name, traced) = match which.strip_suffix("_traced") {
        Some(name) => (name, true),
        None => (which.as_str(), false),
    };
    match name {
        "two_weights" if traced => {
            let model = TwoWeights::new().expect("data");
            let mut step = tapegrad::function(|_: &mut (), _: &[Tensor]| Ok(model.step_loss()?));
            repeat(n, || drop(step.call(&mut (), &[]).expect("step")));
        }
        "two_weights" => {
            let model = TwoWeights::new().expect("data");
            repeat(n, || model.step().expect("step"));
        }
        "add_not_recorded" => repeat(n, || {
            black_box(add(black_box(&x), black_box(&y)).expect("add"));
        }),
        "add_recorded" => {
            let tape = GradientTape::new();
            tape.watch(&x);
            for i in 0..n {
                if i % 10_000 == 0 {
                    tape.reset();
                    tape.watch(&x);
                }
                black_box(add(black_box(&x), black_box(&y)).expect("add"));
            }
        }
        "scratch_regression" | "tape_regression" | "custom_training" => {
            let model = match name {
                "scratch_regression" => LinearMse::scratch_regression(),
                "tape_regression" => LinearMse::tape_regression(),
                _ => LinearMse::custom_training(),
            }
            .expect("data");
            if traced {
                let mut step =
                    tapegrad::function(|_: &mut (), _: &[Tensor]| Ok(model.step_loss()?));
                repeat(n, || drop(step.call(&mut (), &[]).expect("step")));
            } else {
                repeat(n, || model.step().expect("step"));
            }
        }
        "dense_sgd" | "dense_minibatch" | "mlp" => {
            let mut model = match name {
                "dense_sgd" => DenseNet::dense_sgd(),
                "dense_minibatch" => DenseNet::dense_minibatch(),
                _ => DenseNet::mlp(),
            }
            .expect("model");
            if traced {
                let mut sgd = Sgd::new(model.learning_rate());
                let mut step = tapegrad::function(|opt: &mut Sgd, _: &[Tensor]| {
                    model
                        .step_with(opt)
                        .map_err(|e| tapegrad::Error::Function(e.to_string()))
                });
                repeat(n, || drop(step.call(&mut sgd, &[]).expect("step")));
            } else {
                repeat(n, || model.step().expect("step"));
            }
        }
        other => panic!("unknown workload {other}"),
    }
}
