//! What Keras's training loop costs on top of the loop a user writes by hand: one epoch of
//! `Compiled::fit` (unshuffled, verbose 0, the loss tracked as Keras's `Mean`) beside the same
//! batches through a hand-written step (tape, the model, the loss, `apply_gradients`), on
//! 1 024 rows of 8 features, `Dense(16, relu) -> Dense(1)`, SGD, MSE, batches of 32; and the
//! same with 10 features and a batch of one row (where the loop's per-batch work shows most).

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tapegrad::prelude::*;
use tapegrad::train::{CompileExt, FitOptions};
use tapegrad_benches::uniform_data;

fn model(features: usize) -> Sequential {
    Sequential::with_input_shape(&[features])
        .layer(Dense::new(16).activation("relu").expect("relu"))
        .and_then(|m| m.layer(Dense::new(1)))
        .expect("model")
}

fn data(rows: usize, features: usize) -> (Tensor, Tensor) {
    let x = uniform_data(rows * features, 7);
    let y = uniform_data(rows, 8);
    (
        Tensor::from_vec(x, &[rows, features]).expect("x"),
        Tensor::from_vec(y, &[rows, 1]).expect("y"),
    )
}

fn fit_overhead(c: &mut Criterion) {
    let mut g = c.benchmark_group("fit-epoch");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    for (rows, features, batch) in [(1024usize, 8usize, 32usize), (256, 10, 1)] {
        let (x, y) = data(rows, features);
        let label = format!("rows{rows}_f{features}_b{batch}");
        g.throughput(Throughput::Elements(rows as u64));
        let mut compiled = model(features)
            .compile(Sgd::new(0.01), "mse", tapegrad::train::NO_METRICS)
            .expect("compile");
        g.bench_function(BenchmarkId::new("fit", &label), |b| {
            b.iter(|| {
                compiled
                    .fit(
                        &x,
                        &y,
                        FitOptions::new()
                            .epochs(1)
                            .batch_size(batch)
                            .shuffle(false)
                            .verbose(0),
                    )
                    .expect("fit")
            })
        });
        // the same batches by hand
        let net = model(features);
        net.call(&x).expect("build");
        let vars = net.trainable_variables();
        let refs: Vec<&Variable> = vars.iter().collect();
        let mut opt = Sgd::new(0.01);
        let loss = MeanSquaredError::new();
        let batches: Vec<(Tensor, Tensor)> = (0..rows.div_ceil(batch))
            .map(|i| {
                let (lo, hi) = (i * batch, ((i + 1) * batch).min(rows));
                (
                    x.slice(&[lo, 0], &[(hi - lo) as isize, -1]).expect("rows"),
                    y.slice(&[lo, 0], &[(hi - lo) as isize, -1]).expect("rows"),
                )
            })
            .collect();
        g.bench_function(BenchmarkId::new("hand", &label), |b| {
            b.iter(|| {
                for (bx, by) in &batches {
                    let tape = GradientTape::new();
                    let l = loss.call(by, &net.call(bx).expect("call")).expect("loss");
                    let grads = tape.gradients(&l, &refs).expect("gradients");
                    opt.apply_gradients(&grads).expect("apply");
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, fit_overhead);
criterion_main!(benches);
