//! Issue 6: one training step of every documented experiment through the public crates, each
//! beside its hand-fused floor; the same steps traced (`traced/`, issue 14); issue 3's `dense_sgd_step` and `mlp_step`; and the scaling
//! benches (full-batch linear regression over n and features, MLP over width and batch) with
//! throughput in samples. Ratios to the floor: `cargo run --release -p tapegrad-benches
//! --example table` (or `cargo xtask bench-peers`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tapegrad::{optim::Sgd, prelude::Tensor};
use tapegrad_benches::{
    linear_data, linear_mse_floor, linear_mse_floor_exact, scaling_is_large, two_weights_data,
    two_weights_floor, DenseFloor, DenseNet, LinearMse, TwoWeights, SCALING_BATCHES,
    SCALING_FEATURES, SCALING_SAMPLES, SCALING_WIDTHS,
};

fn quick<'a>(
    c: &'a mut Criterion,
    name: &str,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    g
}

fn documented(c: &mut Criterion) {
    let mut g = quick(c, "documented");
    let model = TwoWeights::new().expect("data");
    g.bench_function("two-weights", |b| b.iter(|| model.step().expect("step")));
    let (x, y) = two_weights_data();
    let (mut a, mut bb) = (0.0f32, 0.0f32);
    g.bench_function("two-weights/floor", |b| {
        b.iter(|| two_weights_floor(black_box(&x), black_box(&y), &mut a, &mut bb))
    });
    for (name, model) in [
        ("scratch-regression", LinearMse::scratch_regression()),
        ("tape-regression", LinearMse::tape_regression()),
        ("custom-training", LinearMse::custom_training()),
    ] {
        let model = model.expect("data");
        g.bench_function(name, |b| b.iter(|| model.step().expect("step")));
        let n = match name {
            "scratch-regression" => 100,
            "tape-regression" => 8000,
            _ => 1000,
        };
        let (x, y) = linear_data(n);
        let lr = model.learning_rate() as f32;
        let (mut w, mut bb) = (0.0f32, 0.0f32);
        g.bench_function(format!("{name}/floor"), |b| {
            b.iter(|| linear_mse_floor(black_box(&x), black_box(&y), &mut w, &mut bb, lr))
        });
        if !model.uses_pow() {
            // the floor that gives the crates' bits: one pass, the eager summation order
            let (mut w, mut bb) = (0.0f32, 0.0f32);
            g.bench_function(format!("{name}/exact-floor"), |b| {
                b.iter(|| linear_mse_floor_exact(black_box(&x), black_box(&y), &mut w, &mut bb, lr))
            });
        }
    }
    for (name, batch, features, hidden, lr) in [
        ("depth-dense-sgd", 1, 3, 0, 0.1),
        ("depth-dense-minibatch", 3, 3, 0, 0.1),
        ("depth-mlp", 1, 10, 10, 0.01),
    ] {
        let mut model = DenseNet::new(batch, features, hidden, lr).expect("model");
        g.bench_function(name, |b| b.iter(|| model.step().expect("step")));
        let mut floor = DenseFloor::new(batch, features, hidden, lr as f32);
        g.bench_function(format!("{name}/floor"), |b| b.iter(|| floor.step()));
    }
    g.finish();
}

/// The documented steps through `tapegrad::function` (traced at the first call, replayed
/// after), beside `documented/`'s eager ones; `benches/tests/traced.rs` shows both give the
/// same bits.
fn traced(c: &mut Criterion) {
    let mut g = quick(c, "traced");
    let model = TwoWeights::new().expect("data");
    let mut step = tapegrad::function(|_: &mut (), _: &[Tensor]| Ok(model.step_loss()?));
    g.bench_function("two-weights", |b| {
        b.iter(|| step.call(&mut (), &[]).expect("step"))
    });
    for (name, model) in [
        ("scratch-regression", LinearMse::scratch_regression()),
        ("tape-regression", LinearMse::tape_regression()),
        ("custom-training", LinearMse::custom_training()),
    ] {
        let model = model.expect("data");
        let mut step = tapegrad::function(|_: &mut (), _: &[Tensor]| Ok(model.step_loss()?));
        g.bench_function(name, |b| b.iter(|| step.call(&mut (), &[]).expect("step")));
    }
    for (name, batch, features, hidden, lr) in [
        ("depth-dense-sgd", 1, 3, 0, 0.1),
        ("depth-dense-minibatch", 3, 3, 0, 0.1),
        ("depth-mlp", 1, 10, 10, 0.01),
    ] {
        let model = DenseNet::new(batch, features, hidden, lr).expect("model");
        let mut sgd = Sgd::new(lr);
        let mut step = tapegrad::function(|opt: &mut Sgd, _: &[Tensor]| {
            model
                .step_with(opt)
                .map_err(|e| tapegrad::Error::Function(e.to_string()))
        });
        g.bench_function(name, |b| b.iter(|| step.call(&mut sgd, &[]).expect("step")));
    }
    g.finish();
}

fn issue3(c: &mut Criterion) {
    let mut g = quick(c, "issue3");
    let mut dense = DenseNet::dense_sgd().expect("model");
    g.bench_function("dense_sgd_step", |b| b.iter(|| dense.step().expect("step")));
    let mut mlp = DenseNet::mlp().expect("model");
    g.bench_function("mlp_step", |b| b.iter(|| mlp.step().expect("step")));
    g.finish();
}

fn scaling(c: &mut Criterion) {
    let mut g = quick(c, "scaling/linear");
    for n in SCALING_SAMPLES {
        for f in SCALING_FEATURES {
            g.throughput(Throughput::Elements(n as u64));
            g.sample_size(if scaling_is_large(n, f, 0) { 10 } else { 30 });
            if f == 1 {
                let model = LinearMse::new(n, 0.01, false).expect("data");
                g.bench_with_input(BenchmarkId::new("crates", n), &n, |b, _| {
                    b.iter(|| model.step().expect("step"))
                });
                let (x, y) = linear_data(n);
                let (mut w, mut bb) = (0.0f32, 0.0f32);
                g.bench_with_input(BenchmarkId::new("floor", n), &n, |b, _| {
                    b.iter(|| linear_mse_floor(black_box(&x), black_box(&y), &mut w, &mut bb, 0.01))
                });
            } else {
                let id = format!("{n}x{f}");
                let mut model = DenseNet::new(n, f, 0, 0.01).expect("model");
                g.bench_function(BenchmarkId::new("crates", &id), |b| {
                    b.iter(|| model.step().expect("step"))
                });
                drop(model);
                let mut floor = DenseFloor::new(n, f, 0, 0.01);
                g.bench_function(BenchmarkId::new("floor", &id), |b| b.iter(|| floor.step()));
            }
        }
    }
    g.finish();
    let mut g = quick(c, "scaling/mlp");
    for width in SCALING_WIDTHS {
        for batch in SCALING_BATCHES {
            g.throughput(Throughput::Elements(batch as u64));
            g.sample_size(if scaling_is_large(batch, width, width) {
                10
            } else {
                30
            });
            let id = format!("w{width}_b{batch}");
            let mut model = DenseNet::new(batch, width, width, 0.001).expect("model");
            g.bench_function(BenchmarkId::new("crates", &id), |b| {
                b.iter(|| model.step().expect("step"))
            });
            let mut floor = DenseFloor::new(batch, width, width, 0.001);
            g.bench_function(BenchmarkId::new("floor", &id), |b| b.iter(|| floor.step()));
        }
    }
    g.finish();
}

criterion_group!(benches, documented, traced, issue3, scaling);
criterion_main!(benches);
